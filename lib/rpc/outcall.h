/* SPDX-License-Identifier: MIT */
/* Internal: outgoing calls (outcall.c).  The call's life, under
 * session->lock:
 *
 *   IDLE --dispatch--> OUTSTANDING (in the table) --completer--> COMPLETED --> IDLE
 *
 * The completer is whoever removes the call from the table (its reply, its
 * deadline, cancel, release, the session's end) and records the outcome in
 * the same lock hold. */
#ifndef PARLEY_LIB_OUTCALL_H
#define PARLEY_LIB_OUTCALL_H

#include "call.h"

/* Loop thread: a REPLY frame. */
void parley__call_on_reply(parley_session *session, const parley__frame *frame);
/* Loop thread, the session closed: fail every outstanding call (their
 * callbacks are posted) and stop the deadline timer. */
void parley__call_fail_all(parley_session *session, parley_status status, const char *why);

/* Under session->lock: unlink the call with this id; NULL if none. */
parley_call *parley__call_table_remove(parley_session *session, uint32_t id);
/* Under session->lock: record the outcome of an outgoing call just removed
 * from the table (reply NULL-parented or NULL; msg the failure's sentence)
 * and wake a synchronous dispatcher.  True: an asynchronous call whose
 * callback the caller must hand to parley__call_deliver() once unlocked. */
bool parley__call_record_locked(parley_call *call, parley_status st, void *reply,
                                const char *msg);
/* No lock held: run the recorded call's callback on the I/O thread; here if
 * direct (an I/O thread event, not an API call) and on it, else posted. */
void parley__call_deliver(parley_call *call, bool direct);

/* The session is being freed: free the released calls kept for reuse. */
void parley__outcall_cache_free(parley_session *session);

/* The deadline of a call about to be sent (0: none). */
uint64_t parley__call_deadline(parley_call *call);
/* A call with a deadline is in the table now (any thread). */
void parley__call_deadline_added(parley_session *session, uint64_t deadline_ms);
/* Loop thread: disarm the deadline timer and drop its reference. */
void parley__call_timer_stop(parley_session *session);

#endif
