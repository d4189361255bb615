/* SPDX-License-Identifier: MIT */
/* Internal: the receive queue (receive.c), for tests. */
#ifndef PARLEY_LIB_RPC_RECEIVE_H
#define PARLEY_LIB_RPC_RECEIVE_H

#include "peer.h"

/* How many calls wait in the peer's queue, and how many threads are inside
 * parley_peer_receive() (both 0 without a queue). */
void parley__receive_state(parley_peer *peer, unsigned *ret_queued, unsigned *ret_receivers);

#endif
