/* SPDX-License-Identifier: MIT */
/* Incoming calls: decode, admission (max outstanding; oneway messages in
 * order), the handler on the I/O thread or a worker, pended calls and their
 * completion, application errors, CANCEL frames, and the reply.
 *
 * Every incoming call is linked in its session (incoming_calls) until its
 * reply is sent, so a CANCEL frame or the session's end can find it.
 * `holds` counts what still runs with the call in hand (its handler, its
 * cancel function); the reply goes out when nothing holds it and, for a
 * pended call, parley_call_complete() ran. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parley/data.h"
#include "access.h"
#include "call_codec.h"
#include "fds.h"
#include "fork.h"
#include "incall.h"
#include "introspect.h"
#include "call.h"
#include "status.h"

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

/* ---- the session's finished calls, kept for reuse ---------------------------
 *
 * Each incoming call is a talloc pool holding its request and reply (and what
 * a handler allocates under them, while it fits); a finished call's children
 * are freed, which empties the pool, and the call goes on its session's list,
 * so that a server's steady state allocates nothing per call.  The list is
 * bounded, emptied when the connection ends and freed with the session. */
#define INCALL_CACHE_MAX 16u
#define INCALL_POOL_BYTES 1024u

/* Loop thread: a zeroed call, reused or new; NULL when out of memory. */
static parley_call *incall_get(parley_session *session)
{
    parley_call *call;

    pthread_mutex_lock(&session->lock);
    call = session->incall_cache;
    if (call != NULL) {
        session->incall_cache = call->inext;
        session->n_incall_cache--;
    }
    pthread_mutex_unlock(&session->lock);
    if (call == NULL)
        call = talloc_pooled_object(NULL, parley_call, 4, INCALL_POOL_BYTES);
    if (call != NULL)
        memset(call, 0, sizeof(*call));
    return call;
}

/* Any thread, the call finished and unlinked: keep it for the next call or
 * free it.  The caller still holds the call's session reference. */
static void incall_put(parley_call *call)
{
    parley_session *session = call->session;
    bool keep;

    talloc_free_children(call);
    pthread_mutex_lock(&session->lock);
    keep = session->n_incall_cache < INCALL_CACHE_MAX &&
           session->state != PARLEY__SESSION_CLOSED && session->peer != NULL;
    if (keep) {
        call->inext = session->incall_cache;
        session->incall_cache = call;
        session->n_incall_cache++;
    }
    pthread_mutex_unlock(&session->lock);
    if (!keep)
        talloc_free(call);
}

/* Frees the list; with the session's lock held or the session unreachable. */
static void incall_cache_drop_locked(parley_session *session)
{
    while (session->incall_cache != NULL) {
        parley_call *call = session->incall_cache;

        session->incall_cache = call->inext;
        talloc_free(call);
    }
    session->n_incall_cache = 0;
}

void parley__call_cache_free(parley_session *session)
{
    incall_cache_drop_locked(session);
}

/* Send the reply of an incoming call and free it.  Any thread; the call is
 * no longer in session->incoming_calls. */
void parley__call_finish_incoming(parley_call *call, parley_status st)
{
    parley_session *session = call->session;
    parley_peer *peer = session->peer;
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

            parley__codec_for_send(session, &codec, fds);
            est = parley__encode_scratch(m->reply, call->out, &buf, &len, &codec);
            if (est != PARLEY_OK)
                est = parley__fd_encode_error(session, est);

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
            parley__scratch_done();
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
    incall_put(call);
    parley__session_touch(session);
    parley__session_call_done(session);
    parley__peer_call_done(peer);   /* last: the peer may be freed right after */
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

void parley__call_on_call(parley_session *session, const parley__frame *frame)
{
    const parley__frame_header *hdr = frame->hdr;
    const uint8_t *payload = frame->payload;
    parley_peer *peer = session->peer;
    const parley_method *m = parley_protocol_find_method(peer->protocol, hdr->code);
    bool oneway = hdr->kind == PARLEY__FRAME_ONEWAY;
    const parley__dispatch_entry *entry = NULL;
    parley_call *call;
    char text[PARLEY__ERROR_MAX];
    parley_status st;
    bool queued = false, drain = false;

    if (hdr->code == PARLEY_METHOD_INTROSPECT) {
        /* Served by the runtime, checked like any method when it is served. */
        if (peer->access_fn != NULL && !peer->introspector &&
            !__atomic_load_n(&peer->introspection_off, __ATOMIC_RELAXED) &&
            !parley__access_check(session, parley__introspect_method(), text, sizeof(text))) {
            if (!oneway)
                send_error_reply(session, hdr->call_id, PARLEY_ERR_PERMISSION_DENIED, text);
            return;
        }
        if (parley__introspect_serve(session, hdr))
            return;
    }
    if (hdr->code == PARLEY_METHOD_MONITOR && parley__monitor_on_frame(session, hdr, payload))
        return;
    if (m != NULL)
        entry = &peer->dispatch[m - peer->protocol->methods];
    /* Acquire: pairs with parley_peer_add_dispatch()'s release, so the
     * entry's mode and data are seen filled (peer.h, the dispatch table). */
    if (m == NULL || __atomic_load_n(&entry->handler, __ATOMIC_ACQUIRE) == NULL) {
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
    /* Before anything of the request is decoded. */
    if (peer->access_fn != NULL && !parley__access_check(session, m, text, sizeof(text))) {
        if (!oneway)
            send_error_reply(session, hdr->call_id, PARLEY_ERR_PERMISSION_DENIED, text);
        else
            parley__exception(session, PARLEY_ERR_PERMISSION_DENIED, "oneway %s dropped: %s",
                              m->name, text);
        return;
    }
    call = incall_get(session);
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

        parley__codec_for_receive(session, frame, &codec, &dummy);
        /* the runtime owns the request and frees it whole: one arena will do */
        codec.flags |= PARLEY_DECODE_COMPACT;
        st = parley_data_decode(call, m->request, payload, hdr->length, &codec, &call->in);
        if (st == PARLEY_OK)
            st = parley__adopt_frame_fds(frame, call->in);
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
    __atomic_add_fetch(&peer->n_calls_in, 1, __ATOMIC_RELAXED);
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

/* ---- pend, complete, cancel ------------------------------------------------ */

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
    PARLEY__FORK_GUARD_GEN(call->session->fork_generation);
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
    if (status == PARLEY_PENDING)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_call_complete needs a final status, not PENDING");
    PARLEY__FORK_GUARD_GEN(call->session->fork_generation);
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

void parley__call_session_closed(parley_session *session)
{
    /* The connection ended: no call comes any more. */
    pthread_mutex_lock(&session->lock);
    incall_cache_drop_locked(session);
    pthread_mutex_unlock(&session->lock);
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
}
