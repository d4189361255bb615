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
void parley__limits_accept(parley_peer *peer, int fd, bool tls);
/* Under peer->lock: an incoming session ended, its slot is free. */
void parley__limits_slot_freed_locked(parley_peer *peer);
/* Close the connections waiting for a slot. */
void parley__limits_drop_waiting(parley_peer *peer);

#endif
