/* SPDX-License-Identifier: MIT */
/* Internal: listeners and admission (listen.c): listen endpoints,
 * accepting, and max clients with the listen backlog. */
#ifndef PARLEY_LIB_RPC_LISTEN_H
#define PARLEY_LIB_RPC_LISTEN_H

#include "peer.h"

/* Loop thread (or the loop stopped): close every listener, and the
 * connections waiting for a slot. */
void parley__listeners_close(parley_peer *peer);
/* Loop thread: an accepted connection; served, kept waiting, or told BUSY. */
void parley__limits_accept(parley_peer *peer, int fd, const parley_socket_options *opts,
                           bool tls);
/* Under peer->lock: an incoming session ended, its slot is free. */
void parley__limits_slot_freed_locked(parley_peer *peer);
/* Take listening descriptors (names: for messages, may be NULL): every one
 * is checked first, then all are added as listen endpoints (opened at once
 * while listening).  On failure none was taken (unless listening and
 * watching one failed: those before it were). */
parley_status parley__listen_adopt_fds(parley_peer *peer, const int *fds, const char *const *names,
                                      size_t n);
/* Close the connections waiting for a slot. */
void parley__limits_drop_waiting(parley_peer *peer);

#endif
