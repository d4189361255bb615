/* SPDX-License-Identifier: MIT */
/* Internal: socket options of connections (parley_socket_options). */
#ifndef PARLEY_LIB_SOCKOPT_H
#define PARLEY_LIB_SOCKOPT_H

#include "parley/peer.h"

/* Defaults: TCP_NODELAY on, the rest the kernel's. */
void parley__sockopt_defaults(parley_socket_options *o);
/* Copy a caller's options (of o->size bytes) over the defaults, checked:
 * INVALID_ARGUMENT with a sentence naming the field. */
parley_status parley__sockopt_copy(parley_socket_options *dst, const parley_socket_options *src);
/* Apply to a connected socket (TCP fields to TCP only): SYSTEM naming the
 * option the kernel refused. */
parley_status parley__sockopt_apply(int fd, const parley_socket_options *o);

#endif
