/* SPDX-License-Identifier: MIT */
/**
 * @file parley/context.h
 * @brief Contexts: one I/O thread and one worker pool shared by several peers.
 */
#ifndef PARLEY_CONTEXT_H
#define PARLEY_CONTEXT_H

#include <talloc.h>

#include "parley/status.h"
#include "parley/protocol.h"
#include "parley/peer.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A context owns one I/O thread (an epoll loop) and one worker pool, and
 * lends them to the peers created with it: several peers of one process
 * (a client of a manager and a server, peers of different protocols) then
 * cost one I/O thread and the workers their blocking handlers need,
 * instead of one I/O thread and a pool each.
 */
typedef struct parley_context parley_context;

/**
 * @brief Create a context: nothing started yet.
 *
 * Its I/O thread starts when the first of its peers starts (listens,
 * connects, accepts, spawns); its workers start one by one when a blocking
 * handler of any of its peers finds none idle, up to
 * parley_context_set_workers() (default PARLEY_DEFAULT_WORKERS).  Both stop
 * when the context is freed.
 *
 * @param[in] mem_ctx talloc parent
 * @param[out] ret_ctx the context
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL ret_ctx); NOMEM; SYSTEM
 *         (epoll_create1, eventfd).
 *
 * Ownership: a talloc child of mem_ctx.  It must outlive its peers:
 * talloc_free() of a context that still has peers fails (returns -1) and
 * leaves it alone, so free the peers first (a parent owning both frees the
 * peers first when they were created after the context, as they must be).
 * Threads: any.  Errors: as above, with a sentence.
 */
PARLEY_PUBLIC parley_status parley_context_new(TALLOC_CTX *mem_ctx, parley_context **ret_ctx);

/**
 * @brief Set the most worker threads the context's peers share.
 * @param[in] ctx the context, none of whose peers has started
 * @param[in] n threads at most, 1..1024
 * @return PARLEY_OK; INVALID_ARGUMENT; INVALID_STATE (a peer has started).
 *
 * Ownership: nothing allocated.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_context_set_workers(parley_context *ctx, unsigned n);

/**
 * @brief parley_peer_new() for a peer that uses ctx's I/O thread and workers.
 *
 * The peer behaves as any other: its own sessions, listeners, dispatch
 * tables, limits and hooks; only its threads are the context's.  Its
 * non-blocking handlers, completion callbacks and hooks run on the
 * context's one I/O thread, so a slow one delays every peer of the
 * context.  parley_peer_set_workers() on it fails with INVALID_STATE (the
 * pool is the context's).  Freeing the peer closes its sessions and
 * listeners and waits for its handlers, as for any peer, and leaves the
 * context's threads running for the other peers.
 *
 * @param[in] mem_ctx talloc parent of the peer
 * @param[in] ctx the context (borrowed: it must outlive the peer)
 * @param[in] protocol as for parley_peer_new()
 * @param[out] ret_peer the peer
 * @return as parley_peer_new(); INVALID_ARGUMENT also for a NULL ctx.
 *
 * Ownership: as parley_peer_new().  Threads: any.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_new_with_context(TALLOC_CTX *mem_ctx, parley_context *ctx,
                                                         const parley_protocol *protocol,
                                                         parley_peer **ret_peer);

#ifdef __cplusplus
}
#endif

#endif
