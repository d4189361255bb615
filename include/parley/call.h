/**
 * @file parley/call.h
 * @brief Calls: one request and its reply, in either direction.
 *
 * Outgoing: acquire a call from a session, dispatch it (synchronously, or
 * with a completion callback), release it.  Incoming: a handler receives the
 * call with the decoded request and fills the reply.
 */
#ifndef PARLEY_CALL_H
#define PARLEY_CALL_H

#include <stddef.h>
#include <stdint.h>
#include <talloc.h>

#include "parley/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A session (opaque; see parley/session.h). */
typedef struct parley_session parley_session;
/** A call handle (opaque). */
typedef struct parley_call parley_call;

/**
 * Completion callback of an asynchronous dispatch.  Runs exactly once, on the
 * peer's I/O thread, with the call's final status; never runs when
 * parley_call_dispatch() itself returned an error.
 */
typedef void (*parley_call_done_fn)(parley_call *call, parley_status status, void *data);

/**
 * A method handler.  `in` is the decoded request (valid until the call
 * completes); `out` is a zeroed reply struct owned by the call: allocate what
 * it points to under `out` itself (talloc_strdup(out, ...)).  Return PARLEY_OK
 * to send the reply, PARLEY_PENDING after parley_call_pend() to complete later,
 * or an error status that the caller receives.  For a oneway method `out` is
 * NULL and the status is ignored.
 */
typedef parley_status (*parley_handler_fn)(parley_call *call, const void *in, void *out,
                                           void *data);

/**
 * @brief Acquire a call handle for an outgoing call on a session.
 * @param[in] session a connected session
 * @param[out] ret_call the call, set only on success
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL); CONNECTION_CLOSED (session gone);
 *         NOMEM.
 *
 * Ownership: release with parley_call_release().  A call may be dispatched
 * again after it completes.
 */
PARLEY_PUBLIC parley_status parley_session_acquire_call(parley_session *session,
                                                        parley_call **ret_call);

/**
 * @brief Send a request and receive its reply.
 *
 * With done == NULL the call is synchronous: it returns the final status and
 * on PARLEY_OK *ret_out points to the reply allocated under mem_ctx.  With a
 * done callback it returns PARLEY_PENDING at once and done runs later with
 * the final status, *ret_out being set before it runs; on any other return
 * value done never runs.  A oneway method needs no mem_ctx or ret_out and
 * completes once the request is queued.
 *
 * @param[in] call an acquired, idle call
 * @param[in] method_id the method
 * @param[in] in the request struct of the method
 * @param[in] mem_ctx talloc parent of the reply
 * @param[out] ret_out where the reply pointer is stored (a `T **`)
 * @param[in] done completion callback, or NULL for a synchronous call
 * @param[in] data passed to done
 * @return PARLEY_OK, PENDING, or the call's failure: NOT_FOUND (method not
 *         served), MALFORMED, TIMEOUT, CANCELLED, CONNECTION_CLOSED, REMOTE
 *         (the handler's application error), INVALID_ARGUMENT (request does not
 *         encode), INVALID_STATE (call busy), BUSY, OVERFLOW.
 *
 * Ownership: the reply is a talloc graph under mem_ctx.
 */
PARLEY_PUBLIC parley_status parley_call_dispatch(parley_call *call, uint32_t method_id,
                                                 const void *in, TALLOC_CTX *mem_ctx,
                                                 void *ret_out, parley_call_done_fn done,
                                                 void *data);

/**
 * @brief Release a call handle acquired with parley_session_acquire_call().
 * @param[in] call the call (NULL is ignored).  An outstanding asynchronous
 *            call is given up: its reply, if it comes, is dropped, and its
 *            completion callback runs once, at once, on the releasing thread
 *            with PARLEY_ERR_CANCELLED (unless it is running on the I/O thread
 *            right now, in which case release waits for it).  Release from
 *            the callback itself is fine.
 *
 * Ownership: the handle is freed.  Errors: none.
 */
PARLEY_PUBLIC void parley_call_release(parley_call *call);

/**
 * @brief The session a call belongs to.
 *
 * In a handler this is the incoming session, on which the handler may acquire
 * calls back to the caller (both ends may serve).
 *
 * @param[in] call the call
 * @return the session, or NULL for NULL.
 *
 * Ownership: borrowed; valid while the call is.  Errors: none.
 */
PARLEY_PUBLIC parley_session *parley_call_get_session(parley_call *call);

#ifdef __cplusplus
}
#endif

#endif /* PARLEY_CALL_H */
