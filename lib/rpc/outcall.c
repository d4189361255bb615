/* SPDX-License-Identifier: MIT */
/* Outgoing calls: acquire, dispatch and release; reply matching; the
 * completion callback's delivery on the I/O thread; cancel, application
 * errors and deadlines (one timer per session, on the I/O thread, armed for
 * the earliest deadline of its outstanding calls; while armed it holds a
 * reference to the session). */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parley/data.h"
#include "call_codec.h"
#include "fds.h"
#include "fork.h"
#include "outcall.h"
#include "introspect.h"
#include "call.h"
#include "status.h"

/* An outgoing call's life, under session->lock:
 *
 *   IDLE --dispatch--> OUTSTANDING (in the table) --completer--> COMPLETED --> IDLE
 *
 * The completer is whoever removes the call from the table (its reply, its
 * deadline, cancel, release, the session's end); it records the outcome in
 * the same lock hold.  A synchronous dispatcher takes the outcome on its own
 * thread.  An asynchronous call's callback runs on the I/O thread with no
 * lock held and never inside an API call: straight from the reply or the
 * deadline, otherwise from a posted task; while `dispatching`, the
 * dispatcher posts it itself once it no longer touches the call.  Release
 * never frees a call whose callback is pending or running on another
 * thread's behalf: it marks it released and the callback's runner frees it. */

static int call_destructor(parley_call *call)
{
    if (!call->incoming) {
        pthread_cond_destroy(&call->cond);
        talloc_free(call->reply);
        talloc_free(call->message);
    }
    return 0;
}

/* Released calls a session keeps for the next acquire (each a small talloc
 * pool for its replies context): a synchronous caller's steady state
 * allocates only the reply graph.  Bounded, emptied when the session
 * closes, freed with it. */
#define OUTCALL_CACHE_MAX 16u
#define OUTCALL_POOL_BYTES 256u

/* Zero every field but the condition variable, which stays initialised. */
static void outcall_clear(parley_call *call)
{
    size_t a = offsetof(parley_call, cond), b = a + sizeof(call->cond);

    memset(call, 0, a);
    memset((char *)call + b, 0, sizeof(*call) - b);
}

/* Frees the list; with the session's lock held or the session unreachable. */
static void outcall_cache_drop_locked(parley_session *session)
{
    while (session->outcall_cache != NULL) {
        parley_call *call = session->outcall_cache;

        session->outcall_cache = call->hnext;
        talloc_free(call);
    }
    session->n_outcall_cache = 0;
}

void parley__outcall_cache_free(parley_session *session)
{
    outcall_cache_drop_locked(session);
}

PARLEY_PUBLIC parley_status parley_session_acquire_call(parley_session *session,
                                                        parley_call **ret_call)
{
    parley_call *call;

    if (session == NULL || ret_call == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_session_acquire_call needs a session and ret_call");
    PARLEY__FORK_GUARD_GEN(session->fork_generation);
    pthread_mutex_lock(&session->lock);
    if (session->state == PARLEY__SESSION_CLOSED || session->peer == NULL) {
        char why[sizeof(session->close_why)];

        memcpy(why, session->close_why, sizeof(why));
        pthread_mutex_unlock(&session->lock);
        return parley__error(PARLEY_ERR_CONNECTION_CLOSED, "the session is closed: %s", why);
    }
    session->refs++;
    call = session->outcall_cache;
    if (call != NULL) {
        session->outcall_cache = call->hnext;
        session->n_outcall_cache--;
    }
    pthread_mutex_unlock(&session->lock);
    if (call != NULL) {
        /* Reused: its destructor is set and its condition initialised. */
        outcall_clear(call);
    } else {
        call = talloc_pooled_object(NULL, parley_call, 1, OUTCALL_POOL_BYTES);
        if (call != NULL) {
            memset(call, 0, sizeof(*call));
            pthread_cond_init(&call->cond, NULL);
            talloc_set_destructor(call, call_destructor);
        }
    }
    if (call == NULL || (call->replies = talloc_new(call)) == NULL) {
        talloc_free(call);
        parley__session_unref(session);
        return parley__error(PARLEY_ERR_NOMEM, "out of memory acquiring a call");
    }
    call->session = session;
    call->state = PARLEY__CALL_IDLE;
    call->timeout_ms = PARLEY_TIMEOUT_DEFAULT;
    *ret_call = call;
    return PARLEY_OK;
}

/* Under session->lock. */
static void table_insert(parley_session *session, parley_call *call)
{
    parley_call **b = &session->calls[call->id % PARLEY__CALL_BUCKETS];

    call->hnext = *b;
    *b = call;
    session->n_outstanding++;
}

/* Under session->lock: the call with this id, or NULL. */
static parley_call *table_find(parley_session *session, uint32_t id)
{
    for (parley_call *c = session->calls[id % PARLEY__CALL_BUCKETS]; c != NULL; c = c->hnext)
        if (c->id == id)
            return c;
    return NULL;
}

/* Under session->lock: unlink the call with this id; NULL if none. */
static parley_call *table_remove(parley_session *session, uint32_t id)
{
    for (parley_call **pp = &session->calls[id % PARLEY__CALL_BUCKETS]; *pp != NULL;
         pp = &(*pp)->hnext) {
        parley_call *c = *pp;

        if (c->id == id) {
            *pp = c->hnext;
            c->hnext = NULL;
            session->n_outstanding--;
            return c;
        }
    }
    return NULL;
}

parley_call *parley__call_table_remove(parley_session *session, uint32_t id)
{
    return table_remove(session, id);
}

bool parley__call_record_locked(parley_call *call, parley_status st, void *reply,
                                const char *msg)
{
    call->result = st;
    call->reply = reply;
    TALLOC_FREE(call->message);
    if (st != PARLEY_OK)
        call->message = talloc_strdup(NULL, msg != NULL ? msg : "");
    call->completed = true;
    call->state = PARLEY__CALL_COMPLETED;
    call->deadline_ms = 0;
    pthread_cond_broadcast(&call->cond);
    if (call->done == NULL)
        return false;
    call->cb_pending = true;
    return !call->dispatching;
}

static void free_released(parley_call *call);

/* I/O thread, no lock held: run the callback of a call whose outcome is
 * recorded (cb_pending). */
static void run_callback(void *data)
{
    parley_call *call = data;
    parley_session *session = call->session;
    parley_call_done_fn done;
    void *done_data, *reply;
    char *message;
    parley_status st;
    bool traced, released;

    pthread_mutex_lock(&session->lock);
    st = call->result;
    reply = call->reply;
    message = call->message;
    call->reply = NULL;
    call->message = NULL;
    call->cb_pending = false;
    call->cb_running = true;
    call->cb_thread = pthread_self();
    call->completed = false;
    call->state = PARLEY__CALL_IDLE;
    done = call->done;
    done_data = call->done_data;
    call->done = NULL;
    traced = call->traced;
    call->traced = false;
    pthread_mutex_unlock(&session->lock);

    if (traced)
        parley__trace_end_reply(call, st, reply);
    /* Nobody else touches the call's talloc tree now: the reply goes under it. */
    if (st == PARLEY_OK && reply != NULL && call->ret_out != NULL)
        *call->ret_out = talloc_steal(call->replies, reply);
    else
        talloc_free(reply);
    if (st != PARLEY_OK)
        parley__error(st, "%s", message != NULL ? message : "");
    talloc_free(message);
    done(call, st, done_data);

    pthread_mutex_lock(&session->lock);
    call->cb_running = false;
    released = call->released;
    pthread_cond_broadcast(&call->cond);
    pthread_mutex_unlock(&session->lock);
    if (released)
        free_released(call);
}

void parley__call_deliver(parley_call *call, bool direct)
{
    parley__loop *loop = call->session->peer->loop;

    if (direct && parley__loop_in_thread(loop)) {
        run_callback(call);
        return;
    }
    /* Out of memory posting: run it here rather than never. */
    if (parley__loop_post(loop, run_callback, call) != PARLEY_OK)
        run_callback(call);
}

/* The dispatcher is done with an asynchronous call: post its callback if a
 * completer recorded the outcome meanwhile. */
static void dispatch_done_async(parley_call *call)
{
    parley_session *session = call->session;
    bool deliver;

    pthread_mutex_lock(&session->lock);
    call->dispatching = false;
    deliver = call->cb_pending;
    pthread_mutex_unlock(&session->lock);
    if (deliver)
        parley__call_deliver(call, false);
}

/* Under session->lock: a send is over; session_close() waits for none. */
static void sending_done_locked(parley_session *session)
{
    if (--session->n_sending == 0 && session->state == PARLEY__SESSION_CLOSED)
        pthread_cond_broadcast(&session->cond);
}

PARLEY_PUBLIC parley_status parley_call_dispatch(parley_call *call, uint32_t method_id,
                                                 const void *in, TALLOC_CTX *mem_ctx,
                                                 void *ret_out, parley_call_done_fn done,
                                                 void *data)
{
    parley_session *session;
    parley_peer *peer;
    const parley_method *method;
    uint8_t *buf = NULL;
    size_t len = 0;
    parley_status st;
    bool oneway, alone, traced, released;
    uint64_t deadline = 0;
    parley_codec codec;
    int fds[PARLEY__FDS_HARD_MAX];

    if (call == NULL || call->incoming || in == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_call_dispatch needs an acquired call and a request");
    PARLEY__FORK_GUARD_GEN(call->session->fork_generation);
    if (done != NULL && mem_ctx != NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "an asynchronous parley_call_dispatch takes mem_ctx NULL: the "
                             "reply is allocated under the call (talloc_steal() it on a "
                             "thread that owns your context)");
    session = call->session;
    pthread_mutex_lock(&session->lock);
    peer = session->peer;
    if (peer == NULL || call->state != PARLEY__CALL_IDLE || call->cb_pending ||
        call->released) {
        pthread_mutex_unlock(&session->lock);
        if (peer == NULL)
            return parley__error(PARLEY_ERR_CONNECTION_CLOSED,
                                 "the session is closed: its peer was freed");
        return parley__error(PARLEY_ERR_INVALID_STATE, "the call is already outstanding");
    }
    pthread_mutex_unlock(&session->lock);
    method = method_id == PARLEY_METHOD_INTROSPECT ? parley__introspect_method()
             : method_id == PARLEY_METHOD_MONITOR  ? parley__monitor_method()
                                                   : parley_protocol_find_method(peer->protocol,
                                                                                 method_id);
    if (method == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "protocol %s has no method %u",
                             peer->protocol->name, method_id);
    oneway = (method->flags & PARLEY_METHOD_ONEWAY) != 0;
    if (!oneway && ret_out == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "method %s has a reply: parley_call_dispatch needs ret_out",
                             method->name);
    if (done == NULL && !oneway && parley__loop_in_thread(peer->loop))
        return parley__error(PARLEY_ERR_INVALID_STATE,
                             "a synchronous call of %s from the I/O thread (a non-blocking "
                             "handler or a completion callback) would wait for itself",
                             method->name);

    parley__codec_for_send(session, &codec, fds);
    st = parley__encode_scratch(method->request, in, &buf, &len, &codec);
    if (st != PARLEY_OK)
        return parley__error_prefix(parley__fd_encode_error(session, st), "request of %s", method->name);

    /* The previous outcome goes now: the call is idle and ours. */
    call->remote_set = false;
    TALLOC_FREE(call->remote_message);
    talloc_free_children(call->replies);
    TALLOC_FREE(call->reply);
    TALLOC_FREE(call->message);
    call->method = method;
    /* The begin trace runs before the call is visible to a completer, so
     * that its end trace runs exactly once, after it. */
    traced = parley__trace_wanted(peer);
    call->traced = traced;
    if (traced)
        parley__trace_begin_request(call, in);

    pthread_mutex_lock(&session->lock);
    if (session->state != PARLEY__SESSION_READY) {
        char why[sizeof(session->close_why)];

        memcpy(why, session->close_why, sizeof(why));
        pthread_mutex_unlock(&session->lock);
        st = parley__error(PARLEY_ERR_CONNECTION_CLOSED, "the session is closed: %s", why);
        goto failed;
    }
    if (len > session->remote_max_message) {
        uint32_t max = session->remote_max_message;

        pthread_mutex_unlock(&session->lock);
        st = parley__error(PARLEY_ERR_OVERFLOW,
                           "request of %s is %zu bytes, the other end accepts at most %u",
                           method->name, len, max);
        goto failed;
    }
    session->n_sending++;
    if (oneway) {
        pthread_mutex_unlock(&session->lock);
        st = parley__conn_send_fds(session->conn, PARLEY__FRAME_ONEWAY, 0, method_id, buf, len,
                                   codec.fds, (unsigned)codec.n_fds);
        parley__scratch_done();
        pthread_mutex_lock(&session->lock);
        sending_done_locked(session);
        if (st == PARLEY_OK && done != NULL) {
            /* Completes once queued: the callback runs on the I/O thread. */
            call->id = 0;
            call->done = done;
            call->done_data = data;
            call->ret_out = NULL;
            call->dispatching = true;
            (void)parley__call_record_locked(call, PARLEY_OK, NULL, NULL);
            pthread_mutex_unlock(&session->lock);
            dispatch_done_async(call);
            return PARLEY_PENDING;
        }
        call->traced = false;
        pthread_mutex_unlock(&session->lock);
        if (traced)
            parley__trace_end(call, st);
        return st;
    }
    call->id = session->next_call_id++;
    if (session->next_call_id == 0)
        session->next_call_id = 1;
    call->mem_ctx = mem_ctx;
    call->ret_out = ret_out;
    call->done = done;
    call->done_data = data;
    call->dispatching = done != NULL;
    call->state = PARLEY__CALL_OUTSTANDING;
    call->completed = false;
    deadline = parley__call_deadline(call);
    call->deadline_ms = deadline;
    table_insert(session, call);
    alone = session->n_outstanding == 1;
    pthread_mutex_unlock(&session->lock);
    if (deadline != 0)
        parley__call_deadline_added(session, deadline);

    st = parley__conn_send_fds(session->conn, PARLEY__FRAME_CALL, call->id, method_id, buf, len,
                               codec.fds, (unsigned)codec.n_fds);
    parley__scratch_done();
    pthread_mutex_lock(&session->lock);
    sending_done_locked(session);
    if (st != PARLEY_OK && table_remove(session, call->id) == call) {
        /* Not sent: done never runs. */
        call->state = PARLEY__CALL_IDLE;
        call->done = NULL;
        call->dispatching = false;
        call->deadline_ms = 0;
        call->traced = false;
        pthread_mutex_unlock(&session->lock);
        if (traced)
            parley__trace_end(call, st);
        return st;
    }
    pthread_mutex_unlock(&session->lock);
    /* Sent, or someone (the connection closing) completes it. */
    if (done != NULL) {
        dispatch_done_async(call);
        return PARLEY_PENDING;
    }

    /* The only call waiting: read the reply on this thread (no hop through
     * the I/O thread).  Otherwise, or if the read side is busy, wait; a
     * canceller wakes either way. */
    if (alone && !parley__loop_is_external(peer->loop))
        (void)parley__conn_wait_reply(session->conn, call->id, &call->completed, &session->lock,
                                      deadline);
    pthread_mutex_lock(&session->lock);
    while (call->state != PARLEY__CALL_COMPLETED) {
        /* A peer driven by the application's loop has no I/O thread: the
         * waiting thread runs the loop itself (peer_loop.c). */
        if (parley__loop_is_external(peer->loop)) {
            pthread_mutex_unlock(&session->lock);
            (void)parley__loop_drive(peer->loop, 50);
            pthread_mutex_lock(&session->lock);
            continue;
        }
        pthread_cond_wait(&call->cond, &session->lock);
    }
    call->state = PARLEY__CALL_IDLE;
    call->completed = false;
    traced = call->traced;
    call->traced = false;
    pthread_mutex_unlock(&session->lock);
    st = call->result;
    if (traced)
        parley__trace_end(call, st);
    if (st == PARLEY_OK) {
        *(void **)ret_out = talloc_steal(mem_ctx, call->reply);
        call->reply = NULL;
    } else {
        parley__error(st, "%s", call->message != NULL ? call->message : "");
        TALLOC_FREE(call->message);
        TALLOC_FREE(call->reply);
    }
    pthread_mutex_lock(&session->lock);
    released = call->released;
    pthread_mutex_unlock(&session->lock);
    if (released)
        free_released(call);   /* released meanwhile by another thread (a misuse) */
    return st;
failed:
    parley__scratch_done();
    call->traced = false;
    if (traced)
        parley__trace_end(call, st);
    return st;
}

/* The handle goes (nobody else holds it): keep it for the next acquire or
 * free it, and drop its session reference. */
static void free_call(parley_call *call)
{
    parley_session *session = call->session;
    bool keep;

    TALLOC_FREE(call->reply);
    TALLOC_FREE(call->message);
    talloc_free_children(call);   /* the replies context and what is under it */
    call->replies = NULL;
    call->remote_message = NULL;
    pthread_mutex_lock(&session->lock);
    keep = session->n_outcall_cache < OUTCALL_CACHE_MAX &&
           session->state != PARLEY__SESSION_CLOSED && session->peer != NULL;
    if (keep) {
        call->hnext = session->outcall_cache;
        session->outcall_cache = call;
        session->n_outcall_cache++;
    }
    pthread_mutex_unlock(&session->lock);
    if (!keep)
        talloc_free(call);
    parley__session_unref(session);
}

/* Give up an outstanding call on the wire: a CANCEL frame (best effort: a
 * closed connection has nobody left to tell). */
static void send_cancel(parley_session *session, uint32_t id)
{
    if (session->conn != NULL)
        (void)parley__conn_send(session->conn, PARLEY__FRAME_CANCEL, id, 0, NULL, 0);
}

/* Release a call (any thread; the runner of its callback included).  Takes
 * and drops session->lock. */
static void release_call(parley_call *call)
{
    parley_session *session = call->session;
    bool cancel = false, deliver = false, keep = false;
    uint32_t id = 0;
    char text[PARLEY__ERROR_MAX];

    pthread_mutex_lock(&session->lock);
    for (;;) {
        if (call->state == PARLEY__CALL_OUTSTANDING && call->id != 0) {
            if (table_remove(session, call->id) != call) {
                /* A completer holds it between removal and record (never
                 * for long, and never running user code): wait. */
                pthread_cond_wait(&call->cond, &session->lock);
                continue;
            }
            cancel = true;
            id = call->id;
            snprintf(text, sizeof(text), "the call of %s was released while outstanding",
                     call->method->name);
            deliver = parley__call_record_locked(call, PARLEY_ERR_CANCELLED, NULL, text);
        }
        if (call->cb_running && !pthread_equal(call->cb_thread, pthread_self())) {
            /* Its callback runs on another thread: wait for it, then look
             * again (it may have dispatched the call again). */
            pthread_cond_wait(&call->cond, &session->lock);
            continue;
        }
        if (call->cb_running || call->cb_pending) {
            /* Pending, or we are inside the callback: its runner frees it. */
            call->released = true;
            keep = true;
        } else if (call->state == PARLEY__CALL_COMPLETED || call->dispatching) {
            /* A synchronous dispatch on another thread still owns it: a
             * misuse, but not a crash; it is freed when that returns. */
            call->released = true;
            keep = true;
        }
        break;
    }
    pthread_mutex_unlock(&session->lock);
    if (cancel)
        send_cancel(session, id);
    if (deliver)
        parley__call_deliver(call, false);
    if (!keep)
        free_call(call);
}

static void free_released(parley_call *call)
{
    pthread_mutex_lock(&call->session->lock);
    call->released = false;
    pthread_mutex_unlock(&call->session->lock);
    release_call(call);
}

PARLEY_PUBLIC void parley_call_release(parley_call *call)
{
    if (call == NULL || call->incoming)
        return;   /* incoming calls belong to the runtime */
    release_call(call);
}

void parley__call_on_reply(parley_session *session, const parley__frame *frame)
{
    const parley__frame_header *hdr = frame->hdr;
    const uint8_t *payload = frame->payload;
    parley_call *call;
    const parley_method *method;
    parley_status st = (parley_status)hdr->code;
    void *reply = NULL;
    char *msg = NULL, *remote = NULL;
    int32_t code = 0;
    bool remote_set = false, deliver, direct;
    char text[PARLEY__ERROR_MAX];

    pthread_mutex_lock(&session->lock);
    call = table_find(session, hdr->call_id);
    method = call != NULL ? call->method : NULL;
    direct = call != NULL && call->done != NULL;
    pthread_mutex_unlock(&session->lock);
    if (call == NULL)
        return;   /* a late reply to a released or cancelled call */
    /* The call may be cancelled meanwhile: only the method is used until it
     * is removed below. */
    text[0] = '\0';
    if (st == PARLEY_OK) {
        parley_codec codec;
        int dummy = -1;

        parley_status dst;

        parley__codec_for_receive(session, frame, &codec, &dummy);
        dst = parley_data_decode(NULL, method->reply, payload, hdr->length, &codec, &reply);
        if (dst != PARLEY_OK) {
            /* Our memory running out is not the other end's fault. */
            st = dst == PARLEY_ERR_NOMEM ? PARLEY_ERR_NOMEM : PARLEY_ERR_MALFORMED;
            snprintf(text, sizeof(text), "reply of %s: %s", method->name,
                     parley_error_message());
        } else if (parley__adopt_frame_fds(frame, reply) != PARLEY_OK) {
            st = PARLEY_ERR_NOMEM;
            snprintf(text, sizeof(text), "reply of %s: %s", method->name,
                     parley_error_message());
            TALLOC_FREE(reply);
        }
    } else if (st == PARLEY_ERR_REMOTE) {
        if (parley__remote_decode(NULL, payload, hdr->length, &code, &remote) == PARLEY_OK) {
            snprintf(text, sizeof(text), "%s failed with application error %d: %s",
                     method->name, (int)code, remote);
            remote_set = true;
        } else
            snprintf(text, sizeof(text), "%s failed with an unreadable application error",
                     method->name);
    } else {
        if (parley__message_decode(NULL, payload, hdr->length, &msg) == PARLEY_OK)
            snprintf(text, sizeof(text), "%s", msg);
        else
            snprintf(text, sizeof(text), "%s failed: %s", method->name,
                     parley_status_string(st));
    }
    talloc_free(msg);
    pthread_mutex_lock(&session->lock);
    if (table_find(session, hdr->call_id) != call) {
        /* Cancelled, released or timed out meanwhile. */
        pthread_mutex_unlock(&session->lock);
        talloc_free(reply);
        talloc_free(remote);
        return;
    }
    (void)table_remove(session, hdr->call_id);
    if (remote_set) {
        /* The call is outstanding: nobody else touches its tree. */
        talloc_free(call->remote_message);
        call->remote_message = talloc_steal(call, remote);
        call->remote_code = code;
        call->remote_set = true;
        remote = NULL;
    }
    deliver = parley__call_record_locked(call, st, reply, text);
    pthread_mutex_unlock(&session->lock);
    talloc_free(remote);
    if (deliver)
        parley__call_deliver(call, direct);
}

void parley__call_fail_all(parley_session *session, parley_status status, const char *why)
{
    parley_call *list = NULL;
    char text[PARLEY__ERROR_MAX];

    pthread_mutex_lock(&session->lock);
    outcall_cache_drop_locked(session);   /* the session is closed: no acquire succeeds */
    for (unsigned b = 0; b < PARLEY__CALL_BUCKETS; b++) {
        while (session->calls[b] != NULL) {
            parley_call *c = session->calls[b];

            session->calls[b] = c->hnext;
            c->hnext = NULL;
            session->n_outstanding--;
            snprintf(text, sizeof(text), "%s: %s", c->method->name, why);
            /* Callbacks are posted: the session may be closing inside an
             * API call on the I/O thread. */
            if (parley__call_record_locked(c, status, NULL, text)) {
                c->hnext = list;
                list = c;
            }
        }
    }
    pthread_mutex_unlock(&session->lock);
    while (list != NULL) {
        parley_call *c = list;

        list = c->hnext;
        c->hnext = NULL;
        parley__call_deliver(c, false);
    }
    parley__call_timer_stop(session);
}

/* ---- application errors, cancel, deadlines -------------------------------- */

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
    bool deliver = false;
    uint32_t id = 0;

    if (call == NULL || call->incoming)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_call_cancel needs an outgoing call");
    PARLEY__FORK_GUARD_GEN(call->session->fork_generation);
    session = call->session;
    pthread_mutex_lock(&session->lock);
    if (call->state == PARLEY__CALL_OUTSTANDING && call->id != 0)
        mine = parley__call_table_remove(session, call->id);
    if (mine == call) {
        id = call->id;
        snprintf(text, sizeof(text), "the call of %s was cancelled", call->method->name);
        deliver = parley__call_record_locked(call, PARLEY_ERR_CANCELLED, NULL, text);
    }
    pthread_mutex_unlock(&session->lock);
    if (mine != call)
        return parley__error(PARLEY_ERR_INVALID_STATE,
                             "parley_call_cancel: the call is not outstanding");
    /* Best effort: a closed connection has nobody left to tell. */
    (void)parley__conn_send(session->conn, PARLEY__FRAME_CANCEL, id, 0, NULL, 0);
    if (deliver)
        parley__call_deliver(call, false);
    else
        parley__conn_wake_waiters(session->conn);   /* a synchronous caller reading */
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

void parley__call_timer_stop(parley_session *session)
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

/* Calls expired per firing at most; more are left for the next one, due at
 * once. */
#define CANCEL_BATCH 64u

static void timer_fire(void *data)
{
    parley_session *session = data;
    parley_call *expired = NULL;
    uint64_t now = parley__now_ms(), next = 0;
    char text[PARLEY__ERROR_MAX];
    uint32_t cancel_ids[CANCEL_BATCH];
    unsigned n_cancel = 0;
    bool closed, wake = false;

    pthread_mutex_lock(&session->lock);
    session->timer_armed = false;   /* fired: its reference is ours now */
    for (unsigned b = 0; b < PARLEY__CALL_BUCKETS; b++) {
        parley_call **pp = &session->calls[b];

        while (*pp != NULL) {
            parley_call *c = *pp;

            if (c->deadline_ms != 0 && c->deadline_ms <= now && n_cancel < CANCEL_BATCH) {
                *pp = c->hnext;
                session->n_outstanding--;
                c->hnext = NULL;
                cancel_ids[n_cancel++] = c->id;
                snprintf(text, sizeof(text), "the call of %s timed out after its deadline",
                         c->method->name);
                if (parley__call_record_locked(c, PARLEY_ERR_TIMEOUT, NULL, text)) {
                    c->hnext = expired;
                    expired = c;
                } else {
                    wake = true;
                }
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
    for (unsigned i = 0; i < n_cancel; i++)
        (void)parley__conn_send(session->conn, PARLEY__FRAME_CANCEL, cancel_ids[i], 0, NULL, 0);
    if (wake)
        parley__conn_wake_waiters(session->conn);
    while (expired != NULL) {
        parley_call *c = expired;

        expired = c->hnext;
        c->hnext = NULL;
        parley__call_deliver(c, true);
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
