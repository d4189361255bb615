/* SPDX-License-Identifier: MIT */
/**
 * @file parley/receive.h
 * @brief Queued receive: incoming calls that wait in a bounded queue until
 *        the application's own thread takes them.
 *
 * Instead of a handler, the methods given to parley_peer_add_queue() are
 * served by the peer's queue: each incoming call of them is decoded and
 * queued, and a thread of the application takes the next one with
 * parley_peer_receive(), reads its method and request, fills its reply and
 * answers with parley_call_complete():
 *
 * @code
 * parley_call *call;
 * while (parley_peer_receive(peer, 1000, &call) == PARLEY_OK) {
 *     const parley_method *m = parley_call_get_method(call);
 *     const void *in;
 *     void *out = NULL;                          // stays NULL for a oneway method
 *     parley_call_get_request(call, NULL, &in);
 *     parley_call_get_reply(call, NULL, &out);
 *     ...                                        // fill out, under out
 *     parley_call_complete(call, PARLEY_OK);
 * }
 * @endcode
 *
 * Backpressure: when the queue holds `capacity` calls, the session whose
 * call filled it stops being read (its requests wait in the kernel's socket
 * buffer and then in its sender's output queue) until a receive takes a call
 * again; the queue then holds at most `capacity` plus one call per session.
 * A call its caller cancels (parley_call_cancel(), its deadline) or whose
 * session ends while it is queued leaves the queue: no receiver sees it.
 * That holds for oneway messages too: messages still queued when their
 * session ends (the sender closed it, or freed its peer) are dropped, so a
 * sender that must know its messages were taken ends with a two-way call,
 * whose reply comes after every earlier message of the session was received
 * (one session's calls are queued in the order they were sent).
 */
#ifndef PARLEY_RECEIVE_H
#define PARLEY_RECEIVE_H

#include <stddef.h>
#include <stdint.h>

#include "parley/status.h"
#include "parley/call.h"
#include "parley/peer.h"

#ifdef __cplusplus
extern "C" {
#endif

/** parley_peer_receive(): wait until a call comes or the peer goes. */
#define PARLEY_RECEIVE_FOREVER (-1)

/**
 * @brief Serve methods through the peer's receive queue.
 *
 * Every incoming call of these methods (oneway ones included) waits in the
 * peer's queue for parley_peer_receive().  A peer has one queue: a second
 * call adds methods to it and must give the same capacity.
 *
 * @param[in] peer the peer, not started (as parley_peer_add_dispatch())
 * @param[in] method_ids n method ids of the peer's protocol
 * @param[in] n 1 or more
 * @param[in] capacity calls queued before reading pauses, 1..65536
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL, n 0, capacity out of range or
 *         not the queue's, an unknown method, a method registered already);
 *         INVALID_STATE (the peer started); NOMEM.
 *
 * Ownership: the queue belongs to the peer.  Threads: any, before start.
 * Errors: the statuses under @return, each with a sentence in
 * parley_error_message().
 */
PARLEY_PUBLIC parley_status parley_peer_add_queue(parley_peer *peer, const uint32_t *method_ids,
                                                  size_t n, unsigned capacity);

/**
 * @brief Take the next queued incoming call.
 *
 * Waits at most timeout_ms for one.  The call is then the caller's to
 * answer, exactly once, with parley_call_complete() (PARLEY_OK sends the
 * reply filled in through parley_call_get_reply() (peer.h); an error status is sent as it
 * is; PARLEY_ERR_REMOTE after parley_call_set_remote_error()); a oneway
 * call is completed too (its status is not sent), which frees it.  A call
 * cancelled by its caller after it was received is still completed (its
 * reply is dropped).  Several threads may receive from one peer; each call
 * goes to one of them.
 *
 * @param[in] peer the peer
 * @param[in] timeout_ms milliseconds to wait; 0 takes only a call already
 *            queued; PARLEY_RECEIVE_FOREVER waits without a deadline
 * @param[out] ret_call the call, set only on PARLEY_OK
 * @return PARLEY_OK; TIMEOUT (nothing came in time); INVALID_ARGUMENT (NULL,
 *         timeout below PARLEY_RECEIVE_FOREVER); INVALID_STATE (the peer has
 *         no queue, or this is the peer's I/O thread); CONNECTION_CLOSED (the
 *         peer is being freed: talloc_free() of the peer on another thread
 *         wakes every receiver with it, and waits for them to return).
 *
 * Ownership: the call is the runtime's; its request and reply live until
 * parley_call_complete().  Threads: any thread but the peer's I/O thread
 * (a blocking handler's worker included).
 * Errors: the statuses under @return, each with a sentence in
 * parley_error_message().
 */
PARLEY_PUBLIC parley_status parley_peer_receive(parley_peer *peer, int64_t timeout_ms,
                                                parley_call **ret_call);

#ifdef __cplusplus
}
#endif

#endif /* PARLEY_RECEIVE_H */
