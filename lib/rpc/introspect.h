/* SPDX-License-Identifier: MIT */
/* Internal: the runtime's hooks for introspection (introspect.c). */
#ifndef PARLEY_LIB_INTROSPECT_H
#define PARLEY_LIB_INTROSPECT_H

#include <stdbool.h>

#include "parley/protocol.h"
#include "handshake.h"

struct parley_peer;
struct parley_session;

/* The method table entry of method 0 (request and reply descriptors), for
 * dispatching it on any session. */
const parley_method *parley__introspect_method(void);

/* Whether a HELLO is accepted without the protocol check: any HELLO at an
 * introspector peer, and an introspector's HELLO at any peer. */
bool parley__introspect_accepts_hello(const struct parley_peer *peer,
                                      const parley__hello *hello);

/* A CALL or ONEWAY of method 0 (loop thread): answer it and return true, or
 * return false when introspection is off (the caller answers NOT_FOUND). */
bool parley__introspect_serve(struct parley_session *session, const parley__frame_header *hdr);

#endif
