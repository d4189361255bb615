/* SPDX-License-Identifier: MIT */
/* Sessions: the handshake, frame routing and the reference count. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "handshake.h"
#include "incall.h"
#include "introspect.h"
#include "outcall.h"
#include "call.h"
#include "socket.h"
#include "sockopt.h"
#include "tls.h"
#include "status.h"

static void session_frame(void *data, const parley__frame *frame);
static void session_closed(void *data, parley_status status, const char *why);

static void session_frame_sent(void *data, const parley__frame_header *hdr);

static const parley__conn_ops session_ops = {
    session_frame,
    session_closed,
    NULL,
};

/* The same, when the peer writes a debug line per frame (PARLEY_DEBUG=frames). */
static const parley__conn_ops session_ops_frames = {
    session_frame,
    session_closed,
    session_frame_sent,
};

static int session_destructor(parley_session *session)
{
    parley__call_cache_free(session);
    parley__outcall_cache_free(session);
    pthread_cond_destroy(&session->cond);
    pthread_mutex_destroy(&session->lock);
    return 0;
}

/* Our HELLO, with our hello value when the protocol declares hello types
 * (the peer's encoded value never changes once the peer started). */
static parley_status session_hello_encode(parley_session *session, uint8_t **ret_buf,
                                          size_t *ret_len)
{
    parley_peer *peer = session->peer;
    int side = session->incoming ? 1 : 0;

    return parley__hello_encode_value(NULL, peer->protocol, peer->max_message, 0,
                                      peer->hello_bytes[side], peer->hello_len[side],
                                      ret_buf, ret_len);
}

static parley_status session_create(parley_peer *peer, int fd, bool incoming,
                                    const parley_socket_options *opts, parley__tls_info *tls,
                                    parley_session **ret_session);

parley_status parley__session_new(parley_peer *peer, int fd, bool incoming,
                                  parley_session **ret_session)
{
    return session_create(peer, fd, incoming, NULL, NULL, ret_session);
}

parley_status parley__session_new_opts(parley_peer *peer, int fd, bool incoming,
                                       const parley_socket_options *opts,
                                       parley_session **ret_session)
{
    return session_create(peer, fd, incoming, opts, NULL, ret_session);
}

parley_status parley__session_new_tls(parley_peer *peer, int fd, bool incoming,
                                      parley__tls_info *info, parley_session **ret_session)
{
    return session_create(peer, fd, incoming, NULL, info, ret_session);
}

/* The socket options apply to a plain socket here; a TLS connection's were
 * set on its TCP socket before the handshake (listen.c, peer.c), fd being
 * one end of the pump's socketpair. */
static parley_status session_create(parley_peer *peer, int fd, bool incoming,
                                    const parley_socket_options *opts, parley__tls_info *tls,
                                    parley_session **ret_session)
{
    parley_session *session = NULL;
    bool refused = false;
    parley_status refuse_status = PARLEY_ERR_ACCESS_DENIED;
    char refuse_why[PARLEY__ERROR_MAX];
    uint8_t *hello = NULL;
    size_t hello_len = 0;
    parley_status st;
    /* Hello types (handshake data): our value, and whether an incoming
     * session reads the client's HELLO before its construct hook. */
    const parley_type *our_hello = parley__protocol_hello_type(peer->protocol, !incoming);
    bool hello_types = our_hello != NULL ||
                       parley__protocol_hello_type(peer->protocol, incoming) != NULL;
    bool hello_missing = false;

    if (our_hello != NULL) {
        pthread_mutex_lock(&peer->lock);
        hello_missing = !peer->hello_set[incoming ? 1 : 0];
        pthread_mutex_unlock(&peer->lock);
    }
    if (hello_missing && !incoming) {
        close(fd);
        talloc_free(tls);
        return parley__error(PARLEY_ERR_INVALID_STATE,
                             "protocol %s declares a client hello type and no client value "
                             "was set (parley_peer_set_hello_values())", peer->protocol->name);
    }

    st = parley__socket_prepare(fd);
    if (st == PARLEY_OK && tls == NULL) {
        parley_socket_options o;

        if (opts != NULL) {
            o = *opts;   /* the endpoint's: never changed once added */
        } else {
            pthread_mutex_lock(&peer->lock);
            o = peer->sockopts;
            pthread_mutex_unlock(&peer->lock);
        }
        st = parley__sockopt_apply(fd, &o);
    }
    if (st != PARLEY_OK) {
        close(fd);
        talloc_free(tls);
        return st;
    }
    session = talloc_zero(NULL, parley_session);
    if (session == NULL) {
        close(fd);
        talloc_free(tls);
        return parley__error(PARLEY_ERR_NOMEM, "out of memory creating a session");
    }
    pthread_mutex_init(&session->lock, NULL);
    pthread_cond_init(&session->cond, NULL);
    talloc_set_destructor(session, session_destructor);
    session->peer = peer;
    session->fork_generation = peer->fork_generation;
    session->incoming = incoming;
    session->refs = 2;     /* the connection + the user (incoming: this function) */
    session->user_closed = incoming;
    session->state = PARLEY__SESSION_HANDSHAKE;
    session->remote_max_message = PARLEY__HELLO_MAX;
    session->next_call_id = 1;
    if (tls != NULL) {
        /* The fd is a socketpair (or, with kernel TLS, the TCP socket): the
         * TCP peer's address and the TLS identity, never SO_PEERCRED. */
        session->tls = talloc_steal(session, tls);
        session->transport = PARLEY_TRANSPORT_TLS;
        session->remote = tls->remote;
    } else {
        parley__session_read_credentials(session, fd);
    }
    st = parley__conn_new(NULL, peer->loop, fd, peer->max_message,
                          (peer->debug & PARLEY_DEBUG_FRAMES) ? &session_ops_frames : &session_ops,
                          session,
                          &session->conn);
    if (st != PARLEY_OK) {
        talloc_free(session);
        return st;
    }
    if (tls != NULL)
        parley__conn_set_not_unix(session->conn);
    parley__conn_set_max_fds(session->conn, parley__peer_max_fds(peer));
    parley__conn_set_output(session->conn, __atomic_load_n(&peer->max_output, __ATOMIC_RELAXED),
                            (uint64_t)__atomic_load_n(&peer->send_ms, __ATOMIC_RELAXED));
    pthread_mutex_lock(&peer->lock);
    if (peer->destroying) {
        pthread_mutex_unlock(&peer->lock);
        st = parley__error(PARLEY_ERR_INVALID_STATE, "the peer is being freed");
        goto fail;
    }
    session->next = peer->sessions;
    if (peer->sessions != NULL)
        peer->sessions->prev = session;
    peer->sessions = session;
    if (incoming)
        peer->n_incoming++;
    pthread_mutex_unlock(&peer->lock);

    /* The construct hook runs before any frame is read (the credentials
     * are known already) -- unless the protocol declares hello types: then
     * it runs when the client's HELLO came (on_hello()). */
    session->hello_deferred = incoming && hello_types;
    if (incoming && hello_missing) {
        refused = true;
        session->refused = true;
        refuse_status = PARLEY_ERR_INVALID_STATE;
        snprintf(refuse_why, sizeof(refuse_why),
                 "the server set no hello value for protocol %s", peer->protocol->name);
    } else if (incoming && !session->hello_deferred) {
        parley_status cst = parley__session_construct(session);

        if (cst != PARLEY_OK) {
            refused = true;
            session->refused = true;
            if (session->refuse_reason[0] != '\0')
                snprintf(refuse_why, sizeof(refuse_why), "%s", session->refuse_reason);
            else
                snprintf(refuse_why, sizeof(refuse_why),
                         "the server refused the client (its session hook returned %s)",
                         parley_status_name(cst));
        }
    }
    st = parley__conn_start(session->conn);
    if (st != PARLEY_OK) {
        /* Listed already: close it the normal way, which drops the references. */
        char why[PARLEY__ERROR_MAX];

        snprintf(why, sizeof(why), "%s", parley_error_message());
        parley__session_close_conn(session, st, why);
        if (!incoming) {
            pthread_mutex_lock(&session->lock);
            session->user_closed = true;
            pthread_mutex_unlock(&session->lock);
        }
        parley__session_unref(session);
        return parley__error(st, "%s", why);
    }
    /* The construct hook may refuse the client: a BYE with ACCESS_DENIED
     * instead of our HELLO, so its connect fails with that status. */
    if (refused) {
        parley__session_close_conn(session, refuse_status, refuse_why);
        parley__session_unref(session);
        return PARLEY_OK;
    }
    parley__session_timers_start(session);
    /* Our HELLO goes first: the other end sends nothing but its HELLO before
     * it has ours.  A failure to send closes the connection, which drops
     * the references the normal way (an incoming session may be gone now). */
    if (ret_session != NULL)
        *ret_session = session;
    if (session->hello_deferred) {
        /* Our HELLO follows the client's and the construct hook (on_hello()). */
        parley__session_unref(session);   /* this function's reference */
        return PARLEY_OK;
    }
    st = session_hello_encode(session, &hello, &hello_len);
    if (st == PARLEY_OK) {
        st = parley__conn_send(session->conn, PARLEY__FRAME_HELLO, 0, 0, hello, hello_len);
        /* The other end closed first (a server refusing the session sends
         * a BYE and closes): the read side delivers that BYE and its
         * reason, which is what connect must report. */
        if (st == PARLEY_ERR_CONNECTION_CLOSED)
            st = PARLEY_OK;
    }
    talloc_free(hello);
    if (st != PARLEY_OK) {
        char why[sizeof(session->close_why)];

        snprintf(why, sizeof(why), "sending a HELLO: %s", parley_error_message());
        /* Closed now, not when the close reaches the I/O thread: the other
         * end's HELLO may come first, and connect must not take the session
         * for ready. */
        pthread_mutex_lock(&session->lock);
        if (session->state != PARLEY__SESSION_CLOSED) {
            __atomic_store_n(&session->state, PARLEY__SESSION_CLOSED, __ATOMIC_RELAXED);
            session->close_status = st;
            snprintf(session->close_why, sizeof(session->close_why), "%s", why);
            pthread_cond_broadcast(&session->cond);
        }
        pthread_mutex_unlock(&session->lock);
        parley__session_close_conn(session, st, why);
    }
    if (incoming)
        parley__session_unref(session);   /* this function's reference */
    return PARLEY_OK;
fail:
    {
        char why[PARLEY__ERROR_MAX];

        snprintf(why, sizeof(why), "%s", parley_error_message());
        talloc_free(session->conn);
        talloc_free(session);
        return parley__error(st, "%s", why);
    }
}

void parley__session_ref(parley_session *session)
{
    pthread_mutex_lock(&session->lock);
    session->refs++;
    pthread_mutex_unlock(&session->lock);
}

static void session_gone(parley_session *session)
{
    if (session->peer == NULL) {
        talloc_free(session);   /* orphaned by the peer's end: nothing else left */
        return;
    }
    parley__session_end(session);
    parley__peer_session_gone(session->peer, session);
    parley__conn_free_later(session->conn);
    talloc_free(session);
}

void parley__session_unref(parley_session *session)
{
    unsigned refs;

    pthread_mutex_lock(&session->lock);
    refs = --session->refs;
    pthread_mutex_unlock(&session->lock);
    if (refs == 0)
        session_gone(session);
}

void parley__session_call_done(parley_session *session)
{
    unsigned refs;

    pthread_mutex_lock(&session->lock);
    session->n_running--;
    refs = --session->refs;
    if (session->read_paused && session->peer != NULL &&
        session->n_running < session->peer->max_outstanding && refs > 0) {
        /* Under the lock, in order with the pause (refs 0: closed already). */
        session->read_paused = false;
        parley__conn_set_read_paused(session->conn, false);
    }
    pthread_mutex_unlock(&session->lock);
    if (refs == 0)
        session_gone(session);
}

void parley__session_orphan(parley_session *session)
{
    unsigned refs;

    /* Incoming calls still pended: nobody will complete them now. */
    pthread_mutex_lock(&session->lock);
    while (session->incoming_calls != NULL) {
        parley_call *call = session->incoming_calls;

        session->incoming_calls = call->inext;
        session->n_running--;
        session->refs--;
        talloc_free(call);
    }
    if (!session->user_closed) {
        session->user_closed = true;
        session->refs--;
    }
    if (session->timer_armed) {
        session->timer_armed = false;
        session->refs--;
    }
    __atomic_store_n(&session->state, PARLEY__SESSION_CLOSED, __ATOMIC_RELAXED);
    if (session->close_why[0] == '\0')
        snprintf(session->close_why, sizeof(session->close_why), "the peer was freed");
    refs = session->refs;
    pthread_mutex_unlock(&session->lock);
    parley__session_end(session);
    talloc_free(session->conn);
    pthread_mutex_lock(&session->lock);
    session->conn = NULL;
    session->peer = NULL;
    pthread_mutex_unlock(&session->lock);
    if (refs == 0)
        talloc_free(session);
}

void parley__session_close_conn(parley_session *session, parley_status status, const char *why)
{
    parley__conn_close(session->conn, status, why, true);
}

parley_status parley__session_wait_ready(parley_session *session)
{
    struct timespec deadline;
    parley_status st = PARLEY_OK;
    char why[sizeof(session->close_why)];
    int rc = 0;
    int64_t limit_ms = __atomic_load_n(&session->peer->establish_ms, __ATOMIC_RELAXED);

    if (limit_ms <= 0)
        limit_ms = PARLEY__HANDSHAKE_TIMEOUT_MS;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += (time_t)(limit_ms / 1000);
    deadline.tv_nsec += (long)(limit_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&session->lock);
    while (session->state == PARLEY__SESSION_HANDSHAKE && rc != ETIMEDOUT) {
        if (parley__loop_is_external(session->peer->loop) &&
            !parley__loop_in_thread(session->peer->loop)) {
            /* No I/O thread: this thread runs the loop (peer_loop.c). */
            struct timespec now;

            pthread_mutex_unlock(&session->lock);
            (void)parley__loop_drive(session->peer->loop, 50);
            pthread_mutex_lock(&session->lock);
            clock_gettime(CLOCK_REALTIME, &now);
            if (now.tv_sec > deadline.tv_sec ||
                (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec))
                rc = ETIMEDOUT;
            continue;
        }
        rc = pthread_cond_timedwait(&session->cond, &session->lock, &deadline);
    }
    if (session->state == PARLEY__SESSION_CLOSED) {
        st = session->close_status;
        memcpy(why, session->close_why, sizeof(why));
    } else if (session->state == PARLEY__SESSION_HANDSHAKE) {
        st = PARLEY_ERR_TIMEOUT;
        snprintf(why, sizeof(why), "no HELLO from the other end within %lld ms",
                 (long long)limit_ms);
    }
    pthread_mutex_unlock(&session->lock);
    if (st == PARLEY_OK)
        return PARLEY_OK;
    if (st == PARLEY_ERR_TIMEOUT)
        parley__session_close_conn(session, st, why);
    pthread_mutex_lock(&session->lock);
    session->user_closed = true;
    pthread_mutex_unlock(&session->lock);
    parley__session_unref(session);
    return parley__error(st, "%s", why);
}

/* The other end's hello value: decoded with the type the protocol declares
 * for that end, kept under the session. */
static parley_status on_hello_value(parley_session *session, const parley__hello *hello)
{
    const parley_type *t = parley__protocol_hello_type(session->peer->protocol,
                                                       session->incoming);
    void *value = NULL;
    parley_status st;

    if (t == NULL) {
        if (hello->value_len != 0)
            return parley__error(PARLEY_ERR_MALFORMED,
                                 "a hello value of %zu bytes where protocol %s declares no "
                                 "%s hello type", hello->value_len, session->peer->protocol->name,
                                 session->incoming ? "client" : "server");
        return PARLEY_OK;
    }
    st = parley_data_decode(session, t, hello->value, hello->value_len, NULL, &value);
    if (st != PARLEY_OK)
        return parley__error_prefix(PARLEY_ERR_MALFORMED, "the %s hello value",
                                    session->incoming ? "client's" : "server's");
    pthread_mutex_lock(&session->lock);
    session->hello_value = value;
    pthread_mutex_unlock(&session->lock);
    return PARLEY_OK;
}

/* A server with hello types has the client's HELLO: its construct hook
 * (which reads the client's value) accepts or refuses, then our HELLO. */
static parley_status on_hello_server(parley_session *session, char *why, size_t why_size)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    parley_status st = parley__session_construct(session);

    if (st != PARLEY_OK) {
        session->refused = true;
        pthread_mutex_lock(&session->lock);
        if (session->refuse_reason[0] != '\0')
            snprintf(why, why_size, "%s", session->refuse_reason);
        else
            snprintf(why, why_size, "the server refused the client (its session hook "
                     "returned %s)", parley_status_name(st));
        pthread_mutex_unlock(&session->lock);
        return st;
    }
    st = session_hello_encode(session, &buf, &len);
    if (st == PARLEY_OK)
        st = parley__conn_send(session->conn, PARLEY__FRAME_HELLO, 0, 0, buf, len);
    talloc_free(buf);
    if (st != PARLEY_OK)
        snprintf(why, why_size, "sending a HELLO: %s", parley_error_message());
    return st;
}

static void on_hello(parley_session *session, const parley__frame_header *hdr,
                     const uint8_t *payload)
{
    parley__hello *hello = NULL;
    parley_status st;
    char why[PARLEY__ERROR_MAX];

    if (session->state != PARLEY__SESSION_HANDSHAKE) {
        parley__session_close_conn(session, PARLEY_ERR_MALFORMED, "a second HELLO frame");
        return;
    }
    st = parley__hello_decode(NULL, payload, hdr->length, &hello);
    if (st == PARLEY_OK && !parley__introspect_accepts_hello(session->peer, hello)) {
        st = parley__hello_check(hello, session->peer->protocol);
        if (st == PARLEY_OK)
            st = on_hello_value(session, hello);
    }
    if (st == PARLEY_OK && session->hello_deferred)
        st = on_hello_server(session, why, sizeof(why));
    else if (st != PARLEY_OK)
        snprintf(why, sizeof(why), "%s", parley_error_message());
    if (st != PARLEY_OK) {
        talloc_free(hello);
        parley__session_close_conn(session, st, why);
        return;
    }
    pthread_mutex_lock(&session->lock);
    session->remote_max_message = hello->max_message;
    if (session->state == PARLEY__SESSION_HANDSHAKE) {
        __atomic_store_n(&session->state, PARLEY__SESSION_READY, __ATOMIC_RELAXED);
        session->was_ready = true;
    }
    pthread_cond_broadcast(&session->cond);
    pthread_mutex_unlock(&session->lock);
    talloc_free(hello);
    parley__session_timers_ready(session);
}

static void on_bye(parley_session *session, const parley__frame_header *hdr,
                   const uint8_t *payload)
{
    char *msg = NULL;
    char why[PARLEY__ERROR_MAX];
    parley_status st = (parley_status)hdr->code;

    if (parley__message_decode(NULL, payload, hdr->length, &msg) != PARLEY_OK)
        msg = NULL;
    if (st == PARLEY_OK)
        st = PARLEY_ERR_CONNECTION_CLOSED;
    snprintf(why, sizeof(why), "the other end closed the session (%s): %s",
             parley_status_name((parley_status)hdr->code), msg != NULL ? msg : "no reason given");
    talloc_free(msg);
    session->bye_received = true;   /* loop thread, as session_closed() */
    parley__conn_close(session->conn, st, why, false);
}

static void session_frame_sent(void *data, const parley__frame_header *hdr)
{
    parley__debug_frame_out(data, hdr);
}

static void session_frame(void *data, const parley__frame *frame)
{
    parley_session *session = data;
    const parley__frame_header *hdr = frame->hdr;
    const uint8_t *payload = frame->payload;
    char why[128];

    if (session->refused)
        return;   /* closing: the construct hook refused the client */
    if (__atomic_load_n(&session->close_requested, __ATOMIC_RELAXED))
        return;   /* parley_session_close() ran: the connection is closing */
    parley__session_touch(session);
    if (__builtin_expect(session->peer->debug != 0, 0))
        parley__debug_frame(session, hdr);
    switch (hdr->kind) {
    case PARLEY__FRAME_HELLO:
        on_hello(session, hdr, payload);
        return;
    case PARLEY__FRAME_BYE:
        on_bye(session, hdr, payload);
        return;
    default:
        break;
    }
    /* Written under the lock, by other threads too (parley_session_close()). */
    if (__atomic_load_n(&session->state, __ATOMIC_RELAXED) != PARLEY__SESSION_READY) {
        snprintf(why, sizeof(why), "a %s frame before the HELLO",
                 parley__frame_kind_name(hdr->kind));
        parley__session_close_conn(session, PARLEY_ERR_MALFORMED, why);
        return;
    }
    switch (hdr->kind) {
    case PARLEY__FRAME_CALL:
    case PARLEY__FRAME_ONEWAY:
        parley__call_on_call(session, frame);
        break;
    case PARLEY__FRAME_REPLY:
        parley__call_on_reply(session, frame);
        break;
    case PARLEY__FRAME_CANCEL:
        parley__call_on_cancel(session, hdr);
        break;
    default:
        break;
    }
}

/* Why the connection ended, for the close function. */
static parley_close_reason close_reason(parley_session *session, parley_status status,
                                        bool expected)
{
    if (session->bye_received)
        return PARLEY_CLOSE_BYE;
    if (__atomic_load_n(&session->close_requested, __ATOMIC_RELAXED) ||
        __atomic_load_n(&session->local_close, __ATOMIC_RELAXED))
        return PARLEY_CLOSE_LOCAL;
    if (expected || status == PARLEY_ERR_TIMEOUT)
        return PARLEY_CLOSE_TIMEOUT;
    if (status == PARLEY_OK || status == PARLEY_ERR_CONNECTION_CLOSED)
        return PARLEY_CLOSE_EOF;
    return PARLEY_CLOSE_PROTOCOL_ERROR;
}

static void session_closed(void *data, parley_status status, const char *why)
{
    parley_session *session = data;
    parley_peer *peer = session->peer;
    bool expected, notify;

    pthread_mutex_lock(&session->lock);
    expected = session->idle_closed;
    notify = session->was_ready;
    __atomic_store_n(&session->state, PARLEY__SESSION_CLOSED, __ATOMIC_RELAXED);
    session->close_status = status == PARLEY_OK ? PARLEY_ERR_CONNECTION_CLOSED : status;
    snprintf(session->close_why, sizeof(session->close_why), "%s", why);
    pthread_cond_broadcast(&session->cond);
    pthread_mutex_unlock(&session->lock);
    parley__session_timers_stop(session);
    parley__call_fail_all(session, PARLEY_ERR_CONNECTION_CLOSED, why);
    parley__call_session_closed(session);
    if (status != PARLEY_OK && status != PARLEY_ERR_CONNECTION_CLOSED && !expected)
        parley__exception(session, status, "%s", why);
    /* The connection's reference is still held: the session is valid for
     * the whole call, and this runs once (the connection closes once). */
    if (notify && peer != NULL && peer->session_close_fn != NULL)
        peer->session_close_fn(session, close_reason(session, status, expected),
                               status == PARLEY_OK ? PARLEY_ERR_CONNECTION_CLOSED : status, why,
                               peer->session_close_data);
    parley__session_unref(session);
}

static void close_task(void *data)
{
    parley_session *session = data;
    char why[sizeof(session->close_why)];

    /* A copy: closing writes session->close_why. */
    pthread_mutex_lock(&session->lock);
    memcpy(why, session->close_why, sizeof(why));
    pthread_mutex_unlock(&session->lock);
    parley__session_close_conn(session, PARLEY_ERR_CONNECTION_CLOSED, why);
    parley__session_unref(session);   /* the task's */
}

PARLEY_PUBLIC void parley_session_close(parley_session *session)
{
    bool drop_user;

    if (session == NULL)
        return;
    pthread_mutex_lock(&session->lock);
    if (__atomic_load_n(&session->close_requested, __ATOMIC_RELAXED) || session->peer == NULL) {
        pthread_mutex_unlock(&session->lock);
        return;
    }
    __atomic_store_n(&session->close_requested, true, __ATOMIC_RELAXED);
    drop_user = !session->user_closed;
    session->user_closed = true;
    if (session->state != PARLEY__SESSION_CLOSED) {
        __atomic_store_n(&session->state, PARLEY__SESSION_CLOSED, __ATOMIC_RELAXED);
        session->close_status = PARLEY_ERR_CONNECTION_CLOSED;
        snprintf(session->close_why, sizeof(session->close_why), "%s",
                 session->incoming ? "the server closed the session" :
                 "the client closed the session");
        pthread_cond_broadcast(&session->cond);
    }
    session->refs++;   /* the close task's */
    pthread_mutex_unlock(&session->lock);
    /* The connection closes (a BYE with the reason) on the I/O thread, so
     * that no callback (a cancel function, a completion) runs in here; a
     * sender waiting for room in the output wakes then. */
    if (parley__loop_post(session->peer->loop, close_task, session) != PARLEY_OK)
        close_task(session);   /* out of memory: here rather than never */
    /* A dispatch that passed its check before has sent (or failed) when this
     * returns.  Not on the I/O thread, which such a sender may be waiting
     * for: there the closed state alone stops later dispatches. */
    if (!parley__loop_in_thread(session->peer->loop)) {
        pthread_mutex_lock(&session->lock);
        while (session->n_sending > 0)
            pthread_cond_wait(&session->cond, &session->lock);
        pthread_mutex_unlock(&session->lock);
    }
    if (drop_user)
        parley__session_unref(session);
}

PARLEY_PUBLIC bool parley_session_is_connected(parley_session *session)
{
    bool up;

    if (session == NULL)
        return false;
    pthread_mutex_lock(&session->lock);
    up = session->state == PARLEY__SESSION_READY;
    pthread_mutex_unlock(&session->lock);
    return up;
}
