/* Calls, issue 5: pended handlers and their completion, application errors,
 * cancellation in both directions, and deadlines of outgoing calls.
 *
 * Incoming: every incoming call is linked in its session (incoming_calls)
 * until its reply is sent, so a CANCEL frame or the session's end can find
 * it.  `holds` counts what still runs with the call in hand (its handler, its
 * cancel function); the reply goes out when nothing holds it and, for a
 * pended call, parley_call_complete() ran.
 *
 * Outgoing deadlines: one timer per session, on the I/O thread, armed for the
 * earliest deadline of the session's outstanding calls; while armed it holds
 * a reference to the session. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fork.h"
#include "runtime.h"
#include "status.h"

/* ---- incoming ------------------------------------------------------------ */

/* Under session->lock. */
static void unlink_incoming(parley_session *session, parley_call *call)
{
    if (call->iprev != NULL)
        call->iprev->inext = call->inext;
    else if (session->incoming_calls == call)
        session->incoming_calls = call->inext;
    if (call->inext != NULL)
        call->inext->iprev = call->iprev;
    call->inext = call->iprev = NULL;
}

void parley__call_incoming_link_locked(parley_call *call)
{
    parley_session *session = call->session;

    call->holds = 1;   /* the handler */
    call->iprev = NULL;
    call->inext = session->incoming_calls;
    if (call->inext != NULL)
        call->inext->iprev = call;
    session->incoming_calls = call;
}


/* Unlink and send the reply (no lock held on entry). */
static void finish(parley_call *call, parley_status st)
{
    parley_session *session = call->session;

    pthread_mutex_lock(&session->lock);
    unlink_incoming(session, call);
    pthread_mutex_unlock(&session->lock);
    parley__call_finish_incoming(call, st);
}

/* Run the cancel function of a call on which the caller holds a new hold
 * (taken with cancel_ran set, under the lock), then drop that hold. */
static void run_cancel(parley_call *call)
{
    parley_session *session = call->session;
    bool done;
    parley_status st;

    call->cancel_fn(call, call->cancel_data);
    pthread_mutex_lock(&session->lock);
    done = --call->holds == 0 && call->finish_set;
    st = call->finish_status;
    pthread_mutex_unlock(&session->lock);
    if (done)
        finish(call, st);
}

/* Under session->lock: should the cancel function run now?  If so takes a
 * hold for it. */
static bool cancel_due(parley_call *call)
{
    if (!call->cancel_requested || call->cancel_ran || call->finish_set ||
        call->cancel_fn == NULL || call->state != PARLEY__CALL_PENDED)
        return false;
    call->cancel_ran = true;
    call->holds++;
    return true;
}

void parley__call_handler_returned(parley_call *call, parley_status st)
{
    parley_session *session = call->session;
    bool now, cancel = false;
    parley_status fst;

    pthread_mutex_lock(&session->lock);
    call->holds--;
    if (!call->pended) {
        /* The common case: one lock round for the return and the unlink. */
        unlink_incoming(session, call);
        pthread_mutex_unlock(&session->lock);
        parley__call_finish_incoming(call, st);
        return;
    }
    /* Pended: the return value is not the outcome; parley_call_complete() is. */
    call->state = PARLEY__CALL_PENDED;
    now = call->finish_set && call->holds == 0;
    fst = call->finish_status;
    if (!now)
        cancel = cancel_due(call);
    pthread_mutex_unlock(&session->lock);
    if (now)
        finish(call, fst);
    else if (cancel)
        run_cancel(call);
}

PARLEY_PUBLIC parley_status parley_call_pend(parley_call *call, parley_call_cancel_fn cancel,
                                             void *data)
{
    parley_session *session;
    parley_status st = PARLEY_PENDING;

    if (call == NULL || !call->incoming)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_call_pend needs an incoming call");
    PARLEY__FORK_GUARD(call->session->peer);
    session = call->session;
    pthread_mutex_lock(&session->lock);
    if (call->pended || call->state != PARLEY__CALL_RUNNING) {
        st = parley__error(PARLEY_ERR_INVALID_STATE,
                           "parley_call_pend: the call of %s is pended already",
                           call->method->name);
    } else {
        call->pended = true;
        call->cancel_fn = cancel;
        call->cancel_data = data;
    }
    pthread_mutex_unlock(&session->lock);
    return st;
}

PARLEY_PUBLIC parley_status parley_call_complete(parley_call *call, parley_status status)
{
    parley_session *session;
    bool now;

    if (call == NULL || !call->incoming)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_call_complete needs an incoming call");
    PARLEY__FORK_GUARD(call->session->peer);
    if (status == PARLEY_PENDING)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_call_complete needs a final status, not PENDING");
    session = call->session;
    pthread_mutex_lock(&session->lock);
    if (!call->pended || call->finish_set) {
        pthread_mutex_unlock(&session->lock);
        return parley__error(PARLEY_ERR_INVALID_STATE,
                             "parley_call_complete: the call of %s is %s", call->method->name,
                             call->pended ? "completed already" : "not pended");
    }
    call->finish_set = true;
    call->finish_status = status;
    now = call->holds == 0;
    pthread_mutex_unlock(&session->lock);
    if (now)
        finish(call, status);
    return PARLEY_OK;
}

PARLEY_PUBLIC parley_status parley_call_set_remote_error(parley_call *call, int32_t code,
                                                         const char *fmt, ...)
{
    va_list ap;
    char *msg;

    if (call == NULL || !call->incoming || fmt == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_call_set_remote_error needs an incoming call and a format");
    va_start(ap, fmt);
    msg = talloc_vasprintf(call, fmt, ap);
    va_end(ap);
    if (msg == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory setting an application error");
    talloc_free(call->remote_message);
    call->remote_message = msg;
    call->remote_code = code;
    call->remote_set = true;
    return PARLEY_OK;
}

/* Mark a call cancelled; returns whether its cancel function is to run now. */
static bool request_cancel(parley_call *call)
{
    call->cancel_requested = true;
    return cancel_due(call);
}

void parley__call_on_cancel(parley_session *session, const parley__frame_header *hdr)
{
    parley_call *call;
    bool run = false;

    pthread_mutex_lock(&session->lock);
    for (call = session->incoming_calls; call != NULL; call = call->inext) {
        if (call->id == hdr->call_id && (call->method->flags & PARLEY_METHOD_ONEWAY) == 0)
            break;
    }
    if (call != NULL)
        run = request_cancel(call);
    pthread_mutex_unlock(&session->lock);
    /* An unknown id: the reply crossed the CANCEL; nothing to do. */
    if (run)
        run_cancel(call);
}

static void timer_stop(parley_session *session);

void parley__call_session_closed(parley_session *session)
{
    for (;;) {
        parley_call *call, *found = NULL;

        pthread_mutex_lock(&session->lock);
        for (call = session->incoming_calls; call != NULL; call = call->inext) {
            if (!call->cancel_requested && request_cancel(call)) {
                found = call;
                break;
            }
        }
        pthread_mutex_unlock(&session->lock);
        if (found == NULL)
            break;
        run_cancel(found);
    }
    timer_stop(session);
}

PARLEY_PUBLIC const parley_method *parley_call_get_method(parley_call *call)
{
    return call != NULL ? call->method : NULL;
}

PARLEY_PUBLIC parley_call_direction parley_call_get_direction(parley_call *call)
{
    return call != NULL && call->incoming ? PARLEY_CALL_INCOMING : PARLEY_CALL_OUTGOING;
}

/* ---- outgoing: remote errors, cancel, deadlines --------------------------- */

PARLEY_PUBLIC parley_status parley_call_get_remote_error(parley_call *call, int32_t *ret_code,
                                                         const char **ret_message)
{
    parley_session *session;
    parley_status st = PARLEY_OK;

    if (call == NULL || call->incoming)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_call_get_remote_error needs an outgoing call");
    session = call->session;
    pthread_mutex_lock(&session->lock);
    if (call->state == PARLEY__CALL_OUTSTANDING || !call->remote_set) {
        st = parley__error(PARLEY_ERR_INVALID_STATE,
                           "the call has no application error (%s)",
                           call->state == PARLEY__CALL_OUTSTANDING ? "it is outstanding" :
                           "it did not complete with REMOTE");
    } else {
        if (ret_code != NULL)
            *ret_code = call->remote_code;
        if (ret_message != NULL)
            *ret_message = call->remote_message != NULL ? call->remote_message : "";
    }
    pthread_mutex_unlock(&session->lock);
    return st;
}

PARLEY_PUBLIC parley_status parley_call_cancel(parley_call *call)
{
    parley_session *session;
    parley_call *mine = NULL;
    char text[PARLEY__ERROR_MAX];

    if (call == NULL || call->incoming)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_call_cancel needs an outgoing call");
    PARLEY__FORK_GUARD(call->session->peer);
    session = call->session;
    pthread_mutex_lock(&session->lock);
    if (call->state == PARLEY__CALL_OUTSTANDING && call->id != 0)
        mine = parley__call_table_remove(session, call->id);
    pthread_mutex_unlock(&session->lock);
    if (mine != call)
        return parley__error(PARLEY_ERR_INVALID_STATE,
                             "parley_call_cancel: the call is not outstanding");
    /* Best effort: a closed connection has nobody left to tell. */
    (void)parley__conn_send(session->conn, PARLEY__FRAME_CANCEL, call->id, 0, NULL, 0);
    snprintf(text, sizeof(text), "the call of %s was cancelled", call->method->name);
    parley__call_complete_outgoing(call, PARLEY_ERR_CANCELLED, NULL, text);
    return PARLEY_OK;
}

#define CALL_TIMEOUT_MAX_MS (24 * 3600 * 1000LL)

PARLEY_PUBLIC parley_status parley_call_set_timeout(parley_call *call, int64_t ms)
{
    parley_session *session;
    parley_status st = PARLEY_OK;

    if (call == NULL || call->incoming || ms < PARLEY_TIMEOUT_DEFAULT ||
        ms > CALL_TIMEOUT_MAX_MS)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_call_set_timeout needs an outgoing call and "
                             "PARLEY_TIMEOUT_DEFAULT or 0..%lld ms",
                             (long long)CALL_TIMEOUT_MAX_MS);
    session = call->session;
    pthread_mutex_lock(&session->lock);
    if (call->state == PARLEY__CALL_OUTSTANDING)
        st = parley__error(PARLEY_ERR_INVALID_STATE,
                           "parley_call_set_timeout: the call is outstanding");
    else
        call->timeout_ms = ms;
    pthread_mutex_unlock(&session->lock);
    return st;
}

uint64_t parley__call_deadline(parley_call *call)
{
    int64_t ms = call->timeout_ms;

    if (ms == PARLEY_TIMEOUT_DEFAULT)
        ms = __atomic_load_n(&call->session->peer->call_ms, __ATOMIC_RELAXED);
    return ms > 0 ? parley__now_ms() + (uint64_t)ms : 0;
}

static void timer_fire(void *data);

/* Loop thread.  Arm (or move) the timer for session->timer_due. */
static void arm_for_due(parley_session *session)
{
    uint64_t due;

    pthread_mutex_lock(&session->lock);
    due = session->state == PARLEY__SESSION_CLOSED ? 0 : session->timer_due;
    if (due != 0 && !session->timer_armed) {
        session->timer_armed = true;
        session->refs++;
    }
    pthread_mutex_unlock(&session->lock);
    if (due != 0)
        parley__loop_timer_arm(session->peer->loop, &session->call_timer, due, timer_fire,
                               session);
}

/* Loop thread: the timer is disarmed; drop its reference. */
static void timer_stop(parley_session *session)
{
    bool had;

    pthread_mutex_lock(&session->lock);
    had = session->timer_armed;
    session->timer_armed = false;
    session->timer_due = 0;
    pthread_mutex_unlock(&session->lock);
    if (had) {
        parley__loop_timer_cancel(session->peer->loop, &session->call_timer);
        parley__session_unref(session);
    }
}

static void timer_fire(void *data)
{
    parley_session *session = data;
    parley_call *expired = NULL;
    uint64_t now = parley__now_ms(), next = 0;
    char text[PARLEY__ERROR_MAX];
    bool closed;

    pthread_mutex_lock(&session->lock);
    session->timer_armed = false;   /* fired: its reference is ours now */
    for (unsigned b = 0; b < PARLEY__CALL_BUCKETS; b++) {
        parley_call **pp = &session->calls[b];

        while (*pp != NULL) {
            parley_call *c = *pp;

            if (c->deadline_ms != 0 && c->deadline_ms <= now) {
                *pp = c->hnext;
                session->n_outstanding--;
                c->hnext = expired;
                expired = c;
                continue;
            }
            if (c->deadline_ms != 0 && (next == 0 || c->deadline_ms < next))
                next = c->deadline_ms;
            pp = &c->hnext;
        }
    }
    session->timer_due = next;
    closed = session->state == PARLEY__SESSION_CLOSED;
    pthread_mutex_unlock(&session->lock);
    if (next != 0 && !closed)
        arm_for_due(session);
    while (expired != NULL) {
        parley_call *c = expired;

        expired = c->hnext;
        c->hnext = NULL;
        (void)parley__conn_send(session->conn, PARLEY__FRAME_CANCEL, c->id, 0, NULL, 0);
        snprintf(text, sizeof(text), "the call of %s timed out after its deadline",
                 c->method->name);
        parley__call_complete_outgoing(c, PARLEY_ERR_TIMEOUT, NULL, text);
    }
    parley__session_unref(session);
}

static void rearm_task(void *data)
{
    parley_session *session = data;

    arm_for_due(session);
    parley__session_unref(session);   /* the task's reference */
}

void parley__call_deadline_added(parley_session *session, uint64_t deadline_ms)
{
    bool post = false;

    pthread_mutex_lock(&session->lock);
    if (session->timer_due == 0 || deadline_ms < session->timer_due) {
        session->timer_due = deadline_ms;
        session->refs++;   /* for the task */
        post = true;
    }
    pthread_mutex_unlock(&session->lock);
    if (post && parley__loop_post(session->peer->loop, rearm_task, session) != PARLEY_OK)
        parley__session_unref(session);
}
