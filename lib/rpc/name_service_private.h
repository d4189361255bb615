/* SPDX-License-Identifier: MIT */
/* Internal to names.c and names_client.c: talking to parleyd. */
#ifndef PARLEY_LIB_NAMES_PRIVATE_H
#define PARLEY_LIB_NAMES_PRIVATE_H

#include <talloc.h>

#include "parley/peer.h"
#include "parley/call.h"

/* The address of parleyd: service if not NULL, else PARLEY_NAMES, else the
 * configuration file's `address` line, else the default.  NULL: no memory. */
char *parley__names_address(TALLOC_CTX *mem_ctx, const char *service);

/* A new internal peer speaking parley_names (one worker), serving handlers
 * (a parley_names_handlers, or NULL), connected to parleyd. */
parley_status parley__names_open(TALLOC_CTX *mem_ctx, const char *service,
                                 const void *handlers, void *handler_data,
                                 parley_peer **ret_peer, parley_session **ret_session);

/* A synchronous call to parleyd; a refusal (REMOTE with a status number as
 * its code) becomes that status with parleyd's sentence after `what`. */
parley_status parley__names_call(parley_session *session, uint32_t method, const void *in,
                                 TALLOC_CTX *mem_ctx, void *ret_out, const char *what);

/* The status and sentence of a failed call to parleyd (see above). */
parley_status parley__names_failed(parley_call *call, parley_status st, const char *what);

struct parley_names_entry;
struct parley_name_info;

/* Fill info from a parley_names entry (pointing into it). */
void parley__names_fill_info(struct parley_name_info *info, const struct parley_names_entry *e);

/* Check a name pattern; INVALID_ARGUMENT with a sentence. */
parley_status parley__names_check_pattern(const char *pattern);

#endif
