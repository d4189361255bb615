/* Calls: outgoing dispatch and reply matching, incoming handling. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parley/data.h"
#include "fds.h"
#include "frame_fds.h"
#include "fork.h"
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

static int call_destructor(parley_call *call)
{
    if (!call->incoming)
        pthread_cond_destroy(&call->cond);
    return 0;
}

PARLEY_PUBLIC parley_status parley_session_acquire_call(parley_session *session,
                                                        parley_call **ret_call)
{
    parley_call *call;

    if (session == NULL || ret_call == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_session_acquire_call needs a session and ret_call");
    PARLEY__FORK_GUARD(session->peer);
    pthread_mutex_lock(&session->lock);
    if (session->state == PARLEY__SESSION_CLOSED) {
        pthread_mutex_unlock(&session->lock);
        return parley__error(PARLEY_ERR_CONNECTION_CLOSED, "the session is closed: %s",
                             session->close_why);
    }
    session->refs++;
    pthread_mutex_unlock(&session->lock);
    call = talloc_zero(NULL, parley_call);
    if (call == NULL) {
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

/* Record the outcome of an outgoing call that was removed from the table.
 * Loop thread (or the dispatching thread for a oneway, or a canceller).
 * reply is a NULL-parented decoded reply (or NULL). */
static void complete_outgoing(parley_call *call, parley_status st, void *reply, const char *msg)
{
    parley_session *session = call->session;

    if (call->traced) {
        call->traced = false;
        parley__trace_end(call, st);
    }
    if (call->done != NULL) {
        parley_call_done_fn done = call->done;
        void *data = call->done_data;

        if (st == PARLEY_OK) {
            if (call->ret_out != NULL)
                *call->ret_out = talloc_steal(call->mem_ctx, reply);
            else
                talloc_free(reply);
        } else {
            talloc_free(reply);
            parley__error(st, "%s", msg);
        }
        pthread_mutex_lock(&session->lock);
        call->state = PARLEY__CALL_IDLE;
        call->done = NULL;
        pthread_cond_broadcast(&call->cond);
        pthread_mutex_unlock(&session->lock);
        /* Not touched after this: done may release or re-dispatch it. */
        done(call, st, data);
        return;
    }
    pthread_mutex_lock(&session->lock);
    call->result = st;
    call->reply = reply;
    call->message = NULL;
    if (st != PARLEY_OK)
        call->message = talloc_strdup(call, msg);
    call->state = PARLEY__CALL_COMPLETED;
    call->completed = true;
    pthread_cond_signal(&call->cond);
    pthread_mutex_unlock(&session->lock);
}

void parley__call_complete_outgoing(parley_call *call, parley_status st, void *reply,
                                    const char *msg)
{
    complete_outgoing(call, st, reply, msg);
}

static void oneway_done_task(void *data)
{
    complete_outgoing(data, PARLEY_OK, NULL, "");
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
    PARLEY__FORK_GUARD(call->session->peer);
    session = call->session;
    peer = session->peer;
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

    pthread_mutex_lock(&session->lock);
    if (call->state != PARLEY__CALL_IDLE) {
        pthread_mutex_unlock(&session->lock);
        st = parley__error(PARLEY_ERR_INVALID_STATE, "the call is already outstanding");
        goto done;
    }
    call->remote_set = false;
    TALLOC_FREE(call->remote_message);
    if (session->state != PARLEY__SESSION_READY) {
        pthread_mutex_unlock(&session->lock);
        st = parley__error(PARLEY_ERR_CONNECTION_CLOSED, "the session is closed: %s",
                           session->close_why);
        goto done;
    }
    if (len > session->remote_max_message) {
        uint32_t max = session->remote_max_message;

        pthread_mutex_unlock(&session->lock);
        st = parley__error(PARLEY_ERR_OVERFLOW,
                           "request of %s is %zu bytes, the other end accepts at most %u",
                           method->name, len, max);
        goto done;
    }
    call->method = method;
    if (oneway) {
        call->traced = parley__trace_wanted(peer);
        pthread_mutex_unlock(&session->lock);
        if (call->traced)
            parley__trace_begin(call);
        st = parley__conn_send_fds(session->conn, PARLEY__FRAME_ONEWAY, 0, method_id, buf, len,
                                   codec.fds, (unsigned)codec.n_fds);
        if ((st != PARLEY_OK || done == NULL) && call->traced) {
            call->traced = false;
            parley__trace_end(call, st);
        }
        if (st == PARLEY_OK && done != NULL) {
            /* Completes on the I/O thread once queued; id 0 is in no table. */
            pthread_mutex_lock(&session->lock);
            call->id = 0;
            call->state = PARLEY__CALL_OUTSTANDING;
            call->done = done;
            call->done_data = data;
            call->ret_out = NULL;
            pthread_mutex_unlock(&session->lock);
            st = parley__loop_post(peer->loop, oneway_done_task, call);
            if (st == PARLEY_OK) {
                st = PARLEY_PENDING;
            } else {
                pthread_mutex_lock(&session->lock);
                call->state = PARLEY__CALL_IDLE;
                call->done = NULL;
                pthread_mutex_unlock(&session->lock);
            }
        }
        goto done;
    }
    call->id = session->next_call_id++;
    if (session->next_call_id == 0)
        session->next_call_id = 1;
    call->mem_ctx = mem_ctx;
    call->ret_out = ret_out;
    call->done = done;
    call->done_data = data;
    call->reply = NULL;
    call->state = PARLEY__CALL_OUTSTANDING;
    call->completed = false;
    deadline = parley__call_deadline(call);
    call->deadline_ms = deadline;
    /* Marked before the call is visible to a canceller or the timer, so
     * that its end trace runs exactly once whoever completes it. */
    call->traced = parley__trace_wanted(peer);
    traced = call->traced;
    table_insert(session, call);
    alone = session->n_outstanding == 1;
    pthread_mutex_unlock(&session->lock);
    if (traced)
        parley__trace_begin(call);
    if (deadline != 0)
        parley__call_deadline_added(session, deadline);

    st = parley__conn_send_fds(session->conn, PARLEY__FRAME_CALL, call->id, method_id, buf, len,
                               codec.fds, (unsigned)codec.n_fds);
    scratch_done();
    if (st != PARLEY_OK) {
        parley_call *mine;

        pthread_mutex_lock(&session->lock);
        mine = table_remove(session, call->id);
        if (mine != NULL) {
            call->state = PARLEY__CALL_IDLE;
            call->done = NULL;
            pthread_mutex_unlock(&session->lock);
            if (call->traced) {
                call->traced = false;
                parley__trace_end(call, st);
            }
            return st;   /* not sent: done never runs */
        }
        pthread_mutex_unlock(&session->lock);
        /* Someone (the connection closing) completes it: fall through. */
    }
    if (done != NULL)
        return PARLEY_PENDING;

    /* The only call waiting: read the reply on this thread (no hop through
     * the I/O thread).  Otherwise, or if the read side is busy, wait. */
    if (alone)
        (void)parley__conn_wait_reply(session->conn, call->id, &call->completed, &session->lock,
                                      deadline);
    pthread_mutex_lock(&session->lock);
    while (call->state != PARLEY__CALL_COMPLETED)
        pthread_cond_wait(&call->cond, &session->lock);
    call->state = PARLEY__CALL_IDLE;
    pthread_mutex_unlock(&session->lock);
    st = call->result;
    if (st == PARLEY_OK) {
        *(void **)ret_out = talloc_steal(mem_ctx, call->reply);
    } else {
        parley__error(st, "%s", call->message != NULL ? call->message : "");
        TALLOC_FREE(call->message);
    }
    call->reply = NULL;
    return st;
done:
    scratch_done();
    return st;
}

PARLEY_PUBLIC void parley_call_release(parley_call *call)
{
    parley_session *session;
    bool cancel = false;

    if (call == NULL)
        return;
    session = call->session;
    if (call->incoming)
        return;   /* incoming calls belong to the runtime */
    pthread_mutex_lock(&session->lock);
    if (call->state == PARLEY__CALL_OUTSTANDING) {
        if (table_remove(session, call->id) == call) {
            cancel = true;
        } else {
            /* Being completed on the I/O thread right now: let it finish. */
            while (call->state == PARLEY__CALL_OUTSTANDING)
                pthread_cond_wait(&call->cond, &session->lock);
        }
    }
    pthread_mutex_unlock(&session->lock);
    if (cancel && call->done != NULL) {
        /* The reply, if it comes, is dropped; the callback still runs once. */
        parley__error(PARLEY_ERR_CANCELLED, "the call was released while outstanding");
        call->done(call, PARLEY_ERR_CANCELLED, call->done_data);
    }
    talloc_free(call->reply);
    talloc_free(call);
    parley__session_unref(session);
}

void parley__call_on_reply(parley_session *session, const parley__frame_header *hdr,
                           const uint8_t *payload)
{
    parley_call *call;
    parley_status st = (parley_status)hdr->code;
    void *reply = NULL;
    char *msg = NULL;
    char text[PARLEY__ERROR_MAX];

    pthread_mutex_lock(&session->lock);
    call = table_remove(session, hdr->call_id);
    pthread_mutex_unlock(&session->lock);
    if (call == NULL)
        return;   /* a late reply to a released or cancelled call */
    text[0] = '\0';
    if (st == PARLEY_OK) {
        parley_codec codec;
        int dummy = -1;

        codec_for_receive(session, &codec, &dummy);
        if (parley_data_decode(NULL, call->method->reply, payload, hdr->length, &codec,
                               &reply) != PARLEY_OK) {
            st = PARLEY_ERR_MALFORMED;
            snprintf(text, sizeof(text), "reply of %s: %s", call->method->name,
                     parley_error_message());
        } else if (adopt_frame_fds(reply) != PARLEY_OK) {
            st = PARLEY_ERR_NOMEM;
            snprintf(text, sizeof(text), "reply of %s: %s", call->method->name,
                     parley_error_message());
            TALLOC_FREE(reply);
        }
    } else if (st == PARLEY_ERR_REMOTE) {
        int32_t code;

        if (parley__remote_decode(NULL, payload, hdr->length, &code, &msg) == PARLEY_OK) {
            snprintf(text, sizeof(text), "%s failed with application error %d: %s",
                     call->method->name, (int)code, msg);
            /* Nobody else touches the call while it is outstanding. */
            talloc_free(call->remote_message);
            call->remote_message = talloc_steal(call, msg);
            call->remote_code = code;
            call->remote_set = true;
            msg = NULL;
        } else
            snprintf(text, sizeof(text), "%s failed with an unreadable application error",
                     call->method->name);
    } else {
        if (parley__message_decode(NULL, payload, hdr->length, &msg) == PARLEY_OK)
            snprintf(text, sizeof(text), "%s", msg);
        else
            snprintf(text, sizeof(text), "%s failed: %s", call->method->name,
                     parley_status_string(st));
    }
    talloc_free(msg);
    complete_outgoing(call, st, reply, text);
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
            c->hnext = list;
            list = c;
            session->n_outstanding--;
        }
    }
    pthread_mutex_unlock(&session->lock);
    while (list != NULL) {
        parley_call *c = list;

        list = c->hnext;
        c->hnext = NULL;
        snprintf(text, sizeof(text), "%s: %s", c->method->name, why);
        complete_outgoing(c, status, NULL, text);
    }
}

/* ---- incoming --------------------------------------------------------- */

static void send_error_reply(parley_session *session, uint32_t id, parley_status st,
                             const char *msg)
{
    uint8_t *buf = NULL;
    size_t len = 0;

    if (parley__message_encode(NULL, msg, &buf, &len) == PARLEY_OK)
        (void)parley__conn_send(session->conn, PARLEY__FRAME_REPLY, id, (uint32_t)st, buf, len);
    talloc_free(buf);
}

/* The REPLY of an application error: {i32 code, string message}. */
static void send_remote_reply(parley_call *call)
{
    parley_session *session = call->session;
    char text[PARLEY__ERROR_MAX];
    const char *msg = call->remote_message;
    uint8_t *buf = NULL;
    size_t len = 0;

    if (!call->remote_set || msg == NULL) {
        snprintf(text, sizeof(text), "the handler of %s failed with an application error",
                 call->method->name);
        msg = text;
    }
    if (parley__remote_encode(NULL, call->remote_set ? call->remote_code : 0, msg, &buf,
                              &len) == PARLEY_OK)
        (void)parley__conn_send(session->conn, PARLEY__FRAME_REPLY, call->id,
                                (uint32_t)PARLEY_ERR_REMOTE, buf, len);
    else
        send_error_reply(session, call->id, PARLEY_ERR_NOMEM, "the server is out of memory");
    talloc_free(buf);
}

/* Send the reply of an incoming call and free it.  Any thread; the call is
 * no longer in session->incoming_calls. */
void parley__call_finish_incoming(parley_call *call, parley_status st)
{
    parley_session *session = call->session;
    const parley_method *m = call->method;
    char text[PARLEY__ERROR_MAX];
    parley_status traced_st = st;

    if ((m->flags & PARLEY_METHOD_ONEWAY) == 0 && st == PARLEY_ERR_REMOTE) {
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

static void run_handler(void *data)
{
    parley_call *call = data;
    parley_status st = call->entry->handler(call, call->in, call->out, call->entry->data);

    /* The request is freed with the call, once the reply is sent. */
    parley__call_handler_returned(call, st);
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
    /* Issue 5: at most peer->max_outstanding incoming calls run at once. */
    pthread_mutex_lock(&session->lock);
    if (session->n_running >= peer->max_outstanding) {
        unsigned n = session->n_running;

        pthread_mutex_unlock(&session->lock);
        if (!oneway) {
            snprintf(text, sizeof(text), "%s: the session has %u calls running, the most "
                     "allowed", m->name, n);
            send_error_reply(session, hdr->call_id, PARLEY_ERR_BUSY, text);
        }
        talloc_free(call);
        return;
    }
    session->n_running++;
    session->refs++;                         /* the call's, dropped in finish_incoming */
    parley__call_incoming_link_locked(call);
    pthread_mutex_unlock(&session->lock);
    call->traced = parley__trace_wanted(peer);
    if (call->traced)
        parley__trace_begin(call);
    if (entry->mode == PARLEY_NONBLOCKING ||
        parley__workers_submit(peer->workers, run_handler, call) != PARLEY_OK)
        run_handler(call);
}
