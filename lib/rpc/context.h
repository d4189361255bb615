/* SPDX-License-Identifier: MIT */
/* Internal: what a peer made with a context (context.c) asks of it. */
#ifndef PARLEY_LIB_CONTEXT_H
#define PARLEY_LIB_CONTEXT_H

#include "parley/context.h"
#include "loop.h"
#include "workers.h"

/* A new peer of ctx: counted (the context cannot be freed before it); its
 * loop is the context's. */
parley__loop *parley__context_attach(parley_context *ctx);
/* The peer is gone (its destructor's last step). */
void parley__context_detach(parley_context *ctx);
/* A peer of ctx starts: the loop runs (started by the first), and
 * *ret_workers is the shared pool. */
parley_status parley__context_start(parley_context *ctx, parley__workers **ret_workers);

#endif
