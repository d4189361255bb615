/* SPDX-License-Identifier: MIT */
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
#include "parley/protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A session (opaque; see parley/session.h). */
typedef struct parley_session parley_session;
/** A call handle (opaque). */
typedef struct parley_call parley_call;

/**
 * Completion callback of an asynchronous dispatch.
 *
 * It runs exactly once per dispatch that returned PARLEY_PENDING, with the
 * call's final status, on the peer's I/O thread, with no Parley lock held,
 * and never inside the API call that caused it (not inside
 * parley_call_dispatch(), parley_call_cancel(), parley_call_release() or
 * parley_session_close()); it never runs when parley_call_dispatch()
 * returned anything else.  On PARLEY_OK the reply (`*ret_out`) is allocated
 * under the call (see parley_call_dispatch()); on failure
 * parley_error_message() holds the sentence while it runs.
 *
 * A callback may dispatch the same call again, release it, dispatch or
 * cancel other calls (asynchronously: a synchronous dispatch from the I/O
 * thread returns INVALID_STATE), and close the session.  It must not block:
 * it holds up the I/O thread, which serves every session of the peer.
 */
typedef void (*parley_call_done_fn)(parley_call *call, parley_status status, void *data);

/**
 * A method handler.  `in` is the decoded request (valid until the call
 * completes; decoded with PARLEY_DECODE_COMPACT, so its strings and blobs
 * are not talloc chunks of their own: copy what you keep); `out` is a zeroed reply struct owned by the call: allocate what
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
 * Errors: the statuses under @return, each with a sentence in
 * parley_error_message().
 */
PARLEY_PUBLIC parley_status parley_session_acquire_call(parley_session *session,
                                                        parley_call **ret_call);

/**
 * @brief Send a request and receive its reply.
 *
 * Synchronous (done == NULL): returns the final status; on PARLEY_OK
 * *ret_out points to the reply, allocated under mem_ctx on this thread (no
 * other thread touches mem_ctx).  Not from the I/O thread (a non-blocking
 * handler or a completion callback): INVALID_STATE.
 *
 * Asynchronous (done != NULL): mem_ctx must be NULL.  Returns
 * PARLEY_PENDING, and done runs later on the I/O thread (see
 * parley_call_done_fn); any other return value means done never runs.
 * Before done runs with PARLEY_OK, *ret_out is set to the reply, allocated
 * under the call itself: it stays valid until the call is dispatched again
 * or released.  To keep it, talloc_steal() it onto a context of your own on
 * a thread that owns that context (in the callback if that is the I/O
 * thread's context, otherwise after the callback told your thread).  The
 * I/O thread never touches any talloc context but the call's.
 *
 * A oneway method needs no mem_ctx or ret_out: it completes (PARLEY_OK, or
 * its callback runs with PARLEY_OK) once the request is queued.
 *
 * @param[in] call an acquired, idle call (no callback pending)
 * @param[in] method_id the method
 * @param[in] in the request struct of the method
 * @param[in] mem_ctx talloc parent of a synchronous call's reply; NULL for
 *            an asynchronous one
 * @param[out] ret_out where the reply pointer is stored (a `T **`)
 * @param[in] done completion callback, or NULL for a synchronous call
 * @param[in] data passed to done
 * @return PARLEY_OK, PENDING, or the call's failure: NOT_FOUND (method not
 *         served), MALFORMED, TIMEOUT, CANCELLED, CONNECTION_CLOSED (also
 *         once parley_session_close() returned, or the peer was freed),
 *         REMOTE (the handler's application error), INVALID_ARGUMENT (request
 *         does not encode; mem_ctx with done), INVALID_STATE (call busy; a
 *         synchronous call on the I/O thread), BUSY, OVERFLOW.
 *
 * Ownership: synchronous: the reply is a talloc graph under mem_ctx.
 * Asynchronous: under the call, as above.  Threads: any thread; one
 * dispatch at a time per call.
 * Errors: the statuses under @return, each with a sentence in
 * parley_error_message().
 */
PARLEY_PUBLIC parley_status parley_call_dispatch(parley_call *call, uint32_t method_id,
                                                 const void *in, TALLOC_CTX *mem_ctx,
                                                 void *ret_out, parley_call_done_fn done,
                                                 void *data);

/**
 * @brief Release a call handle acquired with parley_session_acquire_call().
 *
 * An outstanding call is given up: a CANCEL frame tells the other end (its
 * pended handler's cancel function runs and its slot frees), a late reply
 * is dropped, and the completion callback of an asynchronous call still runs
 * once, with PARLEY_ERR_CANCELLED, on the I/O thread after release returned
 * (never inside it); the handle is freed after that callback.  If the
 * callback is running on the I/O thread when release is called from another
 * thread, release waits for it to return.  Release from inside the call's
 * own callback is fine: the handle is freed when the callback returns.
 * Do not release a call that another thread is dispatching synchronously.
 *
 * @param[in] call the call (NULL and incoming calls are ignored)
 *
 * Ownership: the handle, and a reply still under it, are freed; the
 * dispatch's ret_out and the callback's data must stay valid until the
 * callback ran (it may still complete with PARLEY_OK if the reply won).  Threads: any.
 * Errors: none.
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

/**
 * @brief The data of the dispatch table that serves an incoming call (the
 *        `data` given to parley_peer_add_dispatch() or a generated
 *        X_register(), the `dispatch_data` of
 *        parley_peer_add_dispatch_with_data()).
 * @param[in] call the call
 * @return the data; NULL for an outgoing call or NULL.
 *
 * Ownership: the application's.  Threads: any, while the call is valid.
 * Errors: none.
 */
PARLEY_PUBLIC void *parley_call_get_dispatch_data(parley_call *call);

/* ---- asynchronous handlers, application errors, cancellation, timeouts ---- */

/**
 * Cancel function of a pended incoming call.  Runs at most once, when the
 * caller cancels the call (a CANCEL frame: the caller's parley_call_cancel()
 * or its deadline) or the session ends while the call is pended and not yet
 * completed: on the peer's I/O thread, or on the handler's thread right
 * after the handler returned if the cancel came while it ran.  It must not
 * block.  It never runs once parley_call_complete() was called.  The call
 * still has to be completed with parley_call_complete() (from the cancel
 * function itself or later; PARLEY_ERR_CANCELLED is the usual status).
 */
typedef void (*parley_call_cancel_fn)(parley_call *call, void *data);

/**
 * @brief In a handler: complete the call later.
 *
 * The handler returns the value returned here (PARLEY_PENDING).  From then on
 * the call completes only through parley_call_complete(), which any thread
 * may call, once; until then `in` and `out` stay valid.  The reply is sent
 * after both the handler has returned and parley_call_complete() ran, in
 * either order.
 *
 * @param[in] call the incoming call, from inside its handler
 * @param[in] cancel run if the caller cancels (may be NULL)
 * @param[in] data passed to cancel
 * @return PARLEY_PENDING; INVALID_ARGUMENT (NULL, or an outgoing call);
 *         INVALID_STATE (pended already, or not in its handler).
 *
 * Ownership: data is borrowed until the cancel function ran or the call
 * completed.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_call_pend(parley_call *call, parley_call_cancel_fn cancel,
                                             void *data);

/**
 * @brief Complete a pended incoming call: send its reply with status.
 *
 * With PARLEY_OK the reply is `out` as filled so far; with PARLEY_ERR_REMOTE
 * the error set with parley_call_set_remote_error(); any other status is
 * sent as it is.  Any thread; exactly once per pended call.  After it the
 * call handle must not be used (it is freed once the handler has returned).
 *
 * @param[in] call a call pended with parley_call_pend()
 * @param[in] status the call's outcome
 * @return PARLEY_OK (the reply is on its way or, the session being gone,
 *         dropped); INVALID_ARGUMENT (NULL, outgoing); INVALID_STATE (not
 *         pended, or completed already while the handler still runs).
 *
 * Ownership: the call and its request and reply are freed by the runtime.
 * Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_call_complete(parley_call *call, parley_status status);

/**
 * @brief Fail an incoming call with an application error.
 *
 * Sets the code and message the caller will read with
 * parley_call_get_remote_error(); the handler then returns (or completes
 * with) PARLEY_ERR_REMOTE.  A later call replaces the earlier error.  A
 * handler that returns PARLEY_ERR_REMOTE without setting one sends code 0
 * and a sentence naming the method.
 *
 * @param[in] call the incoming call (in its handler, or pended)
 * @param[in] code application-defined
 * @param[in] fmt printf format of the message
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL, outgoing call); NOMEM.
 *
 * Ownership: the message is copied into the call.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_call_set_remote_error(parley_call *call, int32_t code,
                                                         const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/**
 * @brief The application error of an outgoing call that completed with
 *        PARLEY_ERR_REMOTE.
 * @param[in] call the call
 * @param[out] ret_code the code (may be NULL), set only on success
 * @param[out] ret_message the message (may be NULL), set only on success
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL call, incoming call);
 *         INVALID_STATE (the call is outstanding, or its last completion was
 *         not REMOTE).
 *
 * Ownership: the message belongs to the call and lives until the call is
 * dispatched again or released.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_call_get_remote_error(parley_call *call, int32_t *ret_code,
                                                         const char **ret_message);

/**
 * @brief Cancel an outstanding outgoing call.
 *
 * The call completes with PARLEY_ERR_CANCELLED at once, whatever the other
 * end does: a synchronous caller blocked in parley_call_dispatch() on
 * another thread wakes and returns CANCELLED; an asynchronous call's
 * callback runs on the I/O thread after this returned.  A CANCEL frame
 * tells the other end, which runs the pended call's cancel function; its
 * late reply is dropped.
 *
 * @param[in] call an outstanding outgoing call (not oneway)
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL, incoming call); INVALID_STATE
 *         (not outstanding, or completed already).
 *
 * Ownership: the call stays acquired.  Threads: any, the I/O thread
 * included.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_call_cancel(parley_call *call);

/** parley_call_set_timeout(): use the peer's PARLEY_TIMEOUT_CALL. */
#define PARLEY_TIMEOUT_DEFAULT (-1)

/**
 * @brief Set the deadline of this call's next dispatches.
 *
 * When it passes, the call completes with PARLEY_ERR_TIMEOUT (a synchronous
 * caller returns, an asynchronous call's callback runs on the I/O thread)
 * and a CANCEL frame goes to the other end.  Oneway calls ignore it.
 *
 * @param[in] call an outgoing call, not outstanding
 * @param[in] ms milliseconds from dispatch, 0 for none, or
 *            PARLEY_TIMEOUT_DEFAULT (the initial value: the peer's
 *            PARLEY_TIMEOUT_CALL, see parley_peer_set_timeout())
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL, incoming, ms out of range);
 *         INVALID_STATE (outstanding).
 *
 * Ownership: nothing allocated.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_call_set_timeout(parley_call *call, int64_t ms);

/**
 * @brief The method of a call (for logging and trace functions).
 * @param[in] call the call
 * @return the method; NULL for NULL or an outgoing call never dispatched.
 *
 * Ownership: borrowed from the protocol.  Errors: none.
 */
PARLEY_PUBLIC const parley_method *parley_call_get_method(parley_call *call);

/** Which way a call goes. */
typedef enum parley_call_direction {
    PARLEY_CALL_OUTGOING, /**< dispatched by this peer */
    PARLEY_CALL_INCOMING  /**< handled by this peer */
} parley_call_direction;

/**
 * @brief Whether a call is outgoing or incoming.
 * @param[in] call the call (not NULL)
 * @return PARLEY_CALL_OUTGOING or PARLEY_CALL_INCOMING (OUTGOING for NULL).
 *
 * Ownership: none.  Errors: none.
 */
PARLEY_PUBLIC parley_call_direction parley_call_get_direction(parley_call *call);

#ifdef __cplusplus
}
#endif

#endif /* PARLEY_CALL_H */
