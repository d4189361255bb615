/* Calls: outgoing dispatch and reply matching, incoming handling. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parley/data.h"
#include "fds.h"
#include "frame_fds.h"
#include "runtime.h"
#include "status.h"

/* ---- encoding into a per-thread buffer ---------------------------------- */

/* Requests and replies are encoded into a buffer that belongs to the thread
 * and is reused: no allocation per call, and no page faults for a fresh
 * large buffer each time.  A buffer above SCRATCH_KEEP is freed after use. */
#define SCRATCH_KEEP ((2u << 20) + 4096u)

typedef struct scratch {
    uint8_t *buf;
    size_t cap;
} scratch;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_destroy(void *p)
{
    scratch *s = p;

    free(s->buf);
    free(s);
}

static void scratch_init(void)
{
    (void)pthread_key_create(&scratch_key, scratch_destroy);
}

/* Encode value; *ret_buf is valid until this thread's next encode_scratch()
 * or scratch_done(). */
static parley_status encode_scratch(const parley_type *type, const void *value,
                                    uint8_t **ret_buf, size_t *ret_len, parley_codec *codec)
{
    scratch *s;
    size_t n = 0, len = 0;
    parley_status st;

    pthread_once(&scratch_once, scratch_init);
    st = parley_data_size(type, value, codec, &n);
    if (st != PARLEY_OK)
        return st;
    s = pthread_getspecific(scratch_key);
    if (s == NULL) {
        s = calloc(1, sizeof(*s));
        if (s == NULL || pthread_setspecific(scratch_key, s) != 0) {
            free(s);
            return parley__error(PARLEY_ERR_NOMEM, "out of memory encoding");
        }
    }
    if (s->cap < n || s->buf == NULL) {
        size_t cap = n < 256 ? 256 : n;
        uint8_t *b = realloc(s->buf, cap);

        if (b == NULL)
            return parley__error(PARLEY_ERR_NOMEM, "out of memory encoding %zu bytes", n);
        s->buf = b;
        s->cap = cap;
    }
    st = parley_data_encode_to(type, value, codec, s->buf, s->cap, &len);
    if (st != PARLEY_OK)
        return st;
    *ret_buf = s->buf;
    *ret_len = len;
    return PARLEY_OK;
}

/* A codec for a value sent on session: fds into fds[PARLEY__FDS_HARD_MAX]
 * up to the peer's max, or none over a socket that cannot carry them. */
static void codec_for_send(parley_session *session, parley_codec *codec, int *fds)
{
    parley__session_codec(session, codec);   /* handle hooks */
    if (parley__conn_is_unix(session->conn)) {
        codec->fds = fds;
        codec->max_fds = parley__peer_max_fds(session->peer);
    }
}

/* Say why an fd did not encode over a socket that cannot carry it. */
static parley_status fd_encode_error(parley_session *session, parley_status st)
{
    if (st == PARLEY_ERR_UNSUPPORTED && !parley__conn_is_unix(session->conn))
        return parley__error(st, "fds travel only over unix sockets, not this session's: %s",
                             parley_error_message());
    if (st == PARLEY_ERR_OVERFLOW && parley__conn_is_unix(session->conn))
        return parley__error(st, "%s (the max fds per frame is %u)", parley_error_message(),
                             parley__peer_max_fds(session->peer));
    return st;
}

/* A codec for a value received with the frame now being delivered. */
static void codec_for_receive(parley_session *session, parley_codec *codec, int *dummy)
{
    int *fds;
    size_t n;

    parley__session_codec(session, codec);   /* handle hooks */
    parley__frame_fds_get(&fds, &n);
    codec->fds = fds != NULL ? fds : dummy;
    codec->n_fds = n;
}

/* The value decoded from the frame now being delivered takes its fds. */
static parley_status adopt_frame_fds(void *value)
{
    int *fds;
    size_t n;

    parley__frame_fds_get(&fds, &n);
    return parley__fds_adopt(value, fds, n);
}

/* The encoded bytes are no longer needed: drop an oversized buffer. */
static void scratch_done(void)
{
    scratch *s = pthread_getspecific(scratch_key);

    if (s != NULL && s->cap > SCRATCH_KEEP) {
        free(s->buf);
        s->buf = NULL;
        s->cap = 0;
    }
}

/* ---- outgoing --------------------------------------------------------- */

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

PARLEY_PUBLIC parley_status parley_session_acquire_call(parley_session *session,
                                                        parley_call **ret_call)
{
    parley_call *call;

    if (session == NULL || ret_call == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_session_acquire_call needs a session and ret_call");
    pthread_mutex_lock(&session->lock);
    if (session->state == PARLEY__SESSION_CLOSED || session->peer == NULL) {
        pthread_mutex_unlock(&session->lock);
        return parley__error(PARLEY_ERR_CONNECTION_CLOSED, "the session is closed: %s",
                             session->close_why);
    }
    session->refs++;
    pthread_mutex_unlock(&session->lock);
    call = talloc_zero(NULL, parley_call);
    if (call == NULL || (call->replies = talloc_new(call)) == NULL) {
        talloc_free(call);
        parley__session_unref(session);
        return parley__error(PARLEY_ERR_NOMEM, "out of memory acquiring a call");
    }
    call->session = session;
    call->state = PARLEY__CALL_IDLE;
    call->timeout_ms = PARLEY_TIMEOUT_DEFAULT;
    pthread_cond_init(&call->cond, NULL);
    talloc_set_destructor(call, call_destructor);
    *ret_call = call;
    return PARLEY_OK;
}

PARLEY_PUBLIC parley_session *parley_call_get_session(parley_call *call)
{
    return call != NULL ? call->session : NULL;
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
    call->completed = false;
    call->state = PARLEY__CALL_IDLE;
    done = call->done;
    done_data = call->done_data;
    call->done = NULL;
    traced = call->traced;
    call->traced = false;
    pthread_mutex_unlock(&session->lock);

    if (traced)
        parley__trace_end(call, st);
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
    bool oneway, alone, traced;
    uint64_t deadline = 0;
    parley_codec codec;
    int fds[PARLEY__FDS_HARD_MAX];

    if (call == NULL || call->incoming || in == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_call_dispatch needs an acquired call and a request");
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
    method = parley_protocol_find_method(peer->protocol, method_id);
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

    codec_for_send(session, &codec, fds);
    st = encode_scratch(method->request, in, &buf, &len, &codec);
    if (st != PARLEY_OK)
        return parley__error_prefix(fd_encode_error(session, st), "request of %s", method->name);

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
        parley__trace_begin(call);

    pthread_mutex_lock(&session->lock);
    if (session->state != PARLEY__SESSION_READY) {
        pthread_mutex_unlock(&session->lock);
        st = parley__error(PARLEY_ERR_CONNECTION_CLOSED, "the session is closed: %s",
                           session->close_why);
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
        scratch_done();
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
    scratch_done();
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
    if (alone)
        (void)parley__conn_wait_reply(session->conn, call->id, &call->completed, &session->lock,
                                      deadline);
    pthread_mutex_lock(&session->lock);
    while (call->state != PARLEY__CALL_COMPLETED)
        pthread_cond_wait(&call->cond, &session->lock);
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
    return st;
failed:
    scratch_done();
    call->traced = false;
    if (traced)
        parley__trace_end(call, st);
    return st;
}

/* The handle goes: free it and drop its session reference. */
static void free_call(parley_call *call)
{
    parley_session *session = call->session;

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
    bool cancel = false, deliver = false, keep = false, on_loop;
    uint32_t id = 0;
    char text[PARLEY__ERROR_MAX];

    on_loop = session->peer != NULL && parley__loop_in_thread(session->peer->loop);
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
        if (call->cb_running && !on_loop) {
            /* Its callback runs on the I/O thread: wait for it, then look
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

void parley__call_on_reply(parley_session *session, const parley__frame_header *hdr,
                           const uint8_t *payload)
{
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

        codec_for_receive(session, &codec, &dummy);
        if (parley_data_decode(NULL, method->reply, payload, hdr->length, &codec,
                               &reply) != PARLEY_OK) {
            st = PARLEY_ERR_MALFORMED;
            snprintf(text, sizeof(text), "reply of %s: %s", method->name,
                     parley_error_message());
        } else if (adopt_frame_fds(reply) != PARLEY_OK) {
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
}

/* ---- incoming --------------------------------------------------------- */

/* msg cut to at most room bytes (at a UTF-8 character boundary), as a new
 * string under mem_ctx; NULL when out of memory. */
static char *fit_text(TALLOC_CTX *mem_ctx, const char *msg, size_t room)
{
    size_t n = strlen(msg);

    if (n > room) {
        n = room;
        /* msg[n] is the first byte left out: not inside a character. */
        while (n > 0 && ((unsigned char)msg[n] & 0xC0) == 0x80)
            n--;
    }
    return talloc_strndup(mem_ctx, msg, n);
}

/* The room for a message's text in a payload of at most the other end's
 * max message size, after `overhead` bytes. */
static size_t text_room(parley_session *session, size_t overhead)
{
    uint32_t max;

    pthread_mutex_lock(&session->lock);
    max = session->remote_max_message;
    pthread_mutex_unlock(&session->lock);
    return max > overhead ? max - overhead : 0;
}

/* An error REPLY: {string message}, cut to the other end's max message. */
static void send_error_reply(parley_session *session, uint32_t id, parley_status st,
                             const char *msg)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char *text = fit_text(NULL, msg, text_room(session, 4));

    if (text != NULL && parley__message_encode(NULL, text, &buf, &len) == PARLEY_OK)
        (void)parley__conn_send(session->conn, PARLEY__FRAME_REPLY, id, (uint32_t)st, buf, len);
    talloc_free(buf);
    talloc_free(text);
}

/* The REPLY of an application error: {i32 code, string message}, the
 * message cut to the other end's max message. */
static void send_remote_reply(parley_call *call)
{
    parley_session *session = call->session;
    char text[PARLEY__ERROR_MAX];
    const char *msg = call->remote_message;
    char *fitted;
    uint8_t *buf = NULL;
    size_t len = 0;

    if (!call->remote_set || msg == NULL) {
        snprintf(text, sizeof(text), "the handler of %s failed with an application error",
                 call->method->name);
        msg = text;
    }
    fitted = fit_text(NULL, msg, text_room(session, 8));
    if (fitted != NULL && parley__remote_encode(NULL, call->remote_set ? call->remote_code : 0,
                                                fitted, &buf, &len) == PARLEY_OK)
        (void)parley__conn_send(session->conn, PARLEY__FRAME_REPLY, call->id,
                                (uint32_t)PARLEY_ERR_REMOTE, buf, len);
    else
        send_error_reply(session, call->id, PARLEY_ERR_NOMEM, "the server is out of memory");
    talloc_free(buf);
    talloc_free(fitted);
}

/* Send the reply of an incoming call and free it.  Any thread; the call is
 * no longer in session->incoming_calls. */
void parley__call_finish_incoming(parley_call *call, parley_status st)
{
    parley_session *session = call->session;
    const parley_method *m = call->method;
    char text[PARLEY__ERROR_MAX];
    parley_status traced_st = st;

    if (__atomic_load_n(&session->close_requested, __ATOMIC_RELAXED)) {
        /* parley_session_close() ran: nothing more is sent. */
    } else if ((m->flags & PARLEY_METHOD_ONEWAY) == 0 && st == PARLEY_ERR_REMOTE) {
        send_remote_reply(call);
    } else if ((m->flags & PARLEY_METHOD_ONEWAY) == 0) {
        if (st == PARLEY_OK) {
            uint8_t *buf = NULL;
            size_t len = 0;
            parley_codec codec;
            int fds[PARLEY__FDS_HARD_MAX];
            parley_status est;

            codec_for_send(session, &codec, fds);
            est = encode_scratch(m->reply, call->out, &buf, &len, &codec);
            if (est != PARLEY_OK)
                est = fd_encode_error(session, est);

            if (est == PARLEY_OK && len > session->remote_max_message) {
                est = parley__error(PARLEY_ERR_OVERFLOW,
                                    "%zu bytes, the other end accepts at most %u",
                                    len, session->remote_max_message);
            }
            if (est == PARLEY_OK) {
                est = parley__conn_send_fds(session->conn, PARLEY__FRAME_REPLY, call->id,
                                            PARLEY_OK, buf, len, codec.fds,
                                            (unsigned)codec.n_fds);
                if (est == PARLEY_ERR_CONNECTION_CLOSED)
                    est = PARLEY_OK;   /* nobody to tell */
            }
            if (est != PARLEY_OK) {
                snprintf(text, sizeof(text), "the reply of %s does not encode on the server: %s",
                         m->name, parley_error_message());
                traced_st = (est == PARLEY_ERR_OVERFLOW || est == PARLEY_ERR_UNSUPPORTED ||
                             est == PARLEY_ERR_INVALID_ARGUMENT) ? est : PARLEY_ERR_INTERNAL;
                send_error_reply(session, call->id, traced_st, text);
                parley__exception(session, traced_st, "%s", text);
            }
            scratch_done();
        } else {
            if (st == PARLEY_PENDING)
                snprintf(text, sizeof(text),
                         "the handler of %s returned PENDING, which needs parley_call_pend()",
                         m->name);
            else
                snprintf(text, sizeof(text), "the handler of %s failed: %s", m->name,
                         parley_status_string(st));
            if (st == PARLEY_PENDING) {
                st = PARLEY_ERR_INTERNAL;
                parley__exception(session, st, "%s", text);
            }
            traced_st = st;
            send_error_reply(session, call->id, st, text);
        }
    }
    if (call->traced)
        parley__trace_end(call, traced_st);
    talloc_free(call);
    parley__session_touch(session);
    parley__session_call_done(session);
}

/* The peer whose handler runs on this thread (NULL: none). */
static __thread parley_peer *handler_peer;

bool parley__in_handler_of(const parley_peer *peer)
{
    return handler_peer == peer;
}

static void run_handler(void *data)
{
    parley_call *call = data;
    parley_peer *outer = handler_peer;
    parley_status st;

    call->traced = parley__trace_wanted(call->session->peer);
    if (call->traced)
        parley__trace_begin(call);
    handler_peer = call->session->peer;
    st = call->entry->handler(call, call->in, call->out, call->entry->data);
    handler_peer = outer;

    /* The request is freed with the call, once the reply is sent. */
    parley__call_handler_returned(call, st);
}

/* A worker (or the I/O thread): the session's queued oneway messages, one
 * after the other, in the order received. */
static void run_oneways(void *data)
{
    parley_session *session = data;

    for (;;) {
        parley_call *call;

        pthread_mutex_lock(&session->lock);
        call = session->oneway_head;
        if (call == NULL) {
            session->oneway_active = false;
            pthread_mutex_unlock(&session->lock);
            break;
        }
        session->oneway_head = call->inext_oneway;
        if (session->oneway_head == NULL)
            session->oneway_tail = NULL;
        pthread_mutex_unlock(&session->lock);
        run_handler(call);
    }
    parley__session_unref(session);   /* the drain's */
}

void parley__call_on_call(parley_session *session, const parley__frame_header *hdr,
                          const uint8_t *payload)
{
    parley_peer *peer = session->peer;
    const parley_method *m = parley_protocol_find_method(peer->protocol, hdr->code);
    bool oneway = hdr->kind == PARLEY__FRAME_ONEWAY;
    const parley__dispatch_entry *entry = NULL;
    parley_call *call;
    char text[PARLEY__ERROR_MAX];
    parley_status st;
    bool queued = false, drain = false;

    if (m != NULL)
        entry = &peer->dispatch[m - peer->protocol->methods];
    if (m == NULL || entry->handler == NULL) {
        if (!oneway) {
            snprintf(text, sizeof(text), "method %u is not served by this peer (protocol %s)",
                     hdr->code, peer->protocol->name);
            send_error_reply(session, hdr->call_id, PARLEY_ERR_NOT_FOUND, text);
        }
        return;
    }
    if (oneway != ((m->flags & PARLEY_METHOD_ONEWAY) != 0)) {
        if (!oneway) {
            snprintf(text, sizeof(text), "method %s is oneway but came in a CALL frame", m->name);
            send_error_reply(session, hdr->call_id, PARLEY_ERR_MALFORMED, text);
        }
        return;
    }
    call = talloc_zero(NULL, parley_call);
    if (call == NULL) {
        if (!oneway)
            send_error_reply(session, hdr->call_id, PARLEY_ERR_NOMEM,
                             "the server is out of memory");
        return;
    }
    call->incoming = true;
    call->session = session;
    call->id = hdr->call_id;
    call->method = m;
    call->entry = entry;
    call->state = PARLEY__CALL_RUNNING;
    {
        parley_codec codec;
        int dummy = -1;

        codec_for_receive(session, &codec, &dummy);
        /* the runtime owns the request and frees it whole: one arena will do */
        codec.flags |= PARLEY_DECODE_COMPACT;
        st = parley_data_decode(call, m->request, payload, hdr->length, &codec, &call->in);
        if (st == PARLEY_OK)
            st = adopt_frame_fds(call->in);
    }
    if (st != PARLEY_OK) {
        if (!oneway) {
            snprintf(text, sizeof(text), "request of %s: %s", m->name, parley_error_message());
            send_error_reply(session, hdr->call_id,
                             st == PARLEY_ERR_NOMEM || st == PARLEY_ERR_INVALID_HANDLE ? st :
                             PARLEY_ERR_MALFORMED, text);
        }
        talloc_free(call);
        return;
    }
    if (!oneway) {
        call->out = talloc_zero_size(call, m->reply->size > 0 ? m->reply->size : 1);
        if (call->out == NULL) {
            send_error_reply(session, hdr->call_id, PARLEY_ERR_NOMEM,
                             "the server is out of memory");
            talloc_free(call);
            return;
        }
    }
    /* At most peer->max_outstanding calls run at once: a call beyond is
     * refused with BUSY.  A oneway message is never refused (its sender
     * would not know): it waits its turn, and reading the connection pauses
     * until the session is below the limit again, so the sender feels it. */
    pthread_mutex_lock(&session->lock);
    if (!oneway && session->n_running >= peer->max_outstanding) {
        unsigned n = session->n_running;

        pthread_mutex_unlock(&session->lock);
        snprintf(text, sizeof(text), "%s: the session has %u calls running, the most "
                 "allowed", m->name, n);
        send_error_reply(session, hdr->call_id, PARLEY_ERR_BUSY, text);
        talloc_free(call);
        return;
    }
    session->n_running++;
    session->refs++;                         /* the call's, dropped in finish_incoming */
    parley__call_incoming_link_locked(call);
    if (oneway && session->n_running >= peer->max_outstanding && !session->read_paused) {
        /* Told to the connection under the lock, so that a resume (from
         * parley__session_call_done()) cannot overtake it. */
        session->read_paused = true;
        parley__conn_set_read_paused(session->conn, true);
    }
    if (oneway && (entry->mode == PARLEY_BLOCKING || session->oneway_head != NULL ||
                   session->oneway_active)) {
        /* In order: one oneway message of the session at a time, on a worker. */
        call->inext_oneway = NULL;
        if (session->oneway_tail != NULL)
            session->oneway_tail->inext_oneway = call;
        else
            session->oneway_head = call;
        session->oneway_tail = call;
        queued = true;
        if (!session->oneway_active) {
            session->oneway_active = true;
            session->refs++;                 /* the drain's */
            drain = true;
        }
    }
    pthread_mutex_unlock(&session->lock);
    if (queued) {
        if (drain && parley__workers_submit(peer->workers, run_oneways, session) != PARLEY_OK)
            run_oneways(session);
        return;
    }
    if (entry->mode == PARLEY_NONBLOCKING ||
        parley__workers_submit(peer->workers, run_handler, call) != PARLEY_OK)
        run_handler(call);
}
