/* SPDX-License-Identifier: MIT */
/* Internal: a session's transport and remote address, the access check. */
#ifndef PARLEY_LIB_RPC_ACCESS_H
#define PARLEY_LIB_RPC_ACCESS_H

#include <stdbool.h>
#include <stddef.h>

#include "parley/security.h"

/* Read the transport and (TCP) the other end's address of a new session's
 * descriptor; on failure the transport stays UNKNOWN. */
void parley__session_read_address(parley_session *session, int fd);

/* Whether the peer's access function lets an incoming call of m run; when
 * not, text (size bytes) gets the refusal's sentence.  No lock held. */
bool parley__access_check(parley_session *session, const parley_method *m, char *text,
                          size_t size);

#endif
