/* SPDX-License-Identifier: MIT */
/* Peers: creation, settings, dispatch tables, connecting, teardown.  Listening
 * is listen.c. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "context.h"
#include "fds.h"
#include "fork.h"
#include "listen.h"
#include "name_service.h"
#include "session.h"
#include "socket.h"
#include "sockopt.h"
#include "status.h"

void parley__peer_close_sessions(parley_peer *peer, bool incoming_only, const char *why)
{
    parley__conn **conns = NULL;
    size_t n = 0;

    /* Collect first: closing may free sessions (and edit the list). */
    pthread_mutex_lock(&peer->lock);
    for (parley_session *s = peer->sessions; s != NULL; s = s->next)
        n++;
    conns = talloc_array(NULL, parley__conn *, n > 0 ? n : 1);
    n = 0;
    for (parley_session *s = peer->sessions; conns != NULL && s != NULL; s = s->next)
        if (!incoming_only || s->incoming) {
            __atomic_store_n(&s->local_close, true, __ATOMIC_RELAXED);
            conns[n++] = s->conn;
        }
    pthread_mutex_unlock(&peer->lock);
    /* Conns are freed only by tasks after this one, so they stay valid here. */
    for (size_t i = 0; i < n; i++)
        parley__conn_close(conns[i], PARLEY_ERR_CONNECTION_CLOSED, why, true);
    talloc_free(conns);
}

/* Loop thread: the peer goes. */
static void shutdown_task(void *data)
{
    parley_peer *peer = data;

    parley__listeners_close(peer);
    parley__peer_close_sessions(peer, false, "the peer is shutting down");
}

void parley__peer_call_done(parley_peer *peer)
{
    if (__atomic_load_n(&peer->destroying, __ATOMIC_ACQUIRE)) {
        /* Under the lock: the destructor cannot go on before the unlock. */
        pthread_mutex_lock(&peer->lock);
        if (__atomic_sub_fetch(&peer->n_calls_in, 1, __ATOMIC_ACQ_REL) == 0)
            pthread_cond_broadcast(&peer->cond);
        pthread_mutex_unlock(&peer->lock);
        return;
    }
    /* The last touch of the peer (a destructor that starts meanwhile sees the
     * count drop on its next look). */
    __atomic_sub_fetch(&peer->n_calls_in, 1, __ATOMIC_ACQ_REL);
}

/* What the destructor frees once no thread of the peer runs any more (on
 * the context's loop thread for a peer of a context). */
static void release_task(void *data)
{
    parley_peer *peer = data;

    parley__listeners_close(peer);
    /* Every connection is closed, every outstanding call completed (its
     * callback ran), every handler returned.  Pended incoming calls that
     * their cancel functions did not complete are freed; a session that
     * calls still acquired by the application point at outlives the peer,
     * closed, until they are released. */
    while (peer->sessions != NULL) {
        parley_session *s = peer->sessions;

        peer->sessions = s->next;
        s->prev = s->next = NULL;
        /* A context's loop goes on: nothing of the session stays armed. */
        parley__loop_timer_cancel(peer->loop, &s->call_timer);
        parley__loop_timer_cancel(peer->loop, &s->timer);
        parley__session_orphan(s);
    }
}

static int peer_destructor(parley_peer *peer)
{
    if (PARLEY__FORKED(peer))
        return -1;      /* a child: its locks may be held, it has no threads (peer.h) */
    parley__names_client_free(peer->names);   /* the names vanish first */
    peer->names = NULL;
    parley__names_resolver_free(peer->names_resolver);
    peer->names_resolver = NULL;
    pthread_mutex_lock(&peer->lock);
    __atomic_store_n(&peer->destroying, true, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&peer->lock);
    /* TLS threads stop first: their sockets close, so handshakes and pumps
     * end (a session on a pump sees its connection close). */
    parley__peer_tls_stop(peer);
    parley__spawn_reap_all(peer);
    if (peer->started) {
        parley__loop_call(peer->loop, shutdown_task, peer);
        /* Every incoming call finishes: its handler returns, a pended one
         * is completed (by its cancel function, or by whoever completes it
         * later): nothing may complete a call of a freed peer. */
        pthread_mutex_lock(&peer->lock);
        while (__atomic_load_n(&peer->n_calls_in, __ATOMIC_ACQUIRE) > 0) {
            struct timespec t;

            /* Woken by the last call, or looks again every 10 ms (a call that
             * finished as the destructor started does not wake it). */
            clock_gettime(CLOCK_REALTIME, &t);
            t.tv_nsec += 10000000L;
            if (t.tv_nsec >= 1000000000L) {
                t.tv_sec++;
                t.tv_nsec -= 1000000000L;
            }
            (void)pthread_cond_timedwait(&peer->cond, &peer->lock, &t);
        }
        pthread_mutex_unlock(&peer->lock);
        if (peer->context == NULL) {
            TALLOC_FREE(peer->workers);      /* runs queued handlers, joins */
            parley__loop_stop(peer->loop);   /* runs what is still posted */
        } else {
            /* The threads are the context's and go on for its other
             * peers: what this peer queued finishes, and what is left of
             * it goes on the loop thread, after what it posted. */
            parley__workers_flush(peer->workers);
            parley__loop_call(peer->loop, release_task, peer);
        }
    }
    if (peer->context == NULL || !peer->started)
        release_task(peer);
    if (peer->context == NULL) {
        TALLOC_FREE(peer->loop);
    } else {
        peer->loop = NULL;
        peer->workers = NULL;
        parley__context_detach(peer->context);
    }
    TALLOC_FREE(peer->introspect_cache);   /* NULL-parented (introspect.c) */
    pthread_cond_destroy(&peer->cond);
    pthread_mutex_destroy(&peer->lock);
    return 0;
}

PARLEY_PUBLIC parley_status parley_peer_new(TALLOC_CTX *mem_ctx, const parley_protocol *protocol,
                                            parley_peer **ret_peer)
{
    return parley__peer_new(mem_ctx, NULL, protocol, ret_peer);
}

parley_status parley__peer_new(TALLOC_CTX *mem_ctx, parley_context *ctx,
                               const parley_protocol *protocol, parley_peer **ret_peer)
{
    parley_peer *peer;
    parley_status st;

    if (protocol == NULL || ret_peer == NULL || protocol->name == NULL ||
        (protocol->n_methods > 0 && protocol->methods == NULL))
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_new needs a protocol with a name, and ret_peer");
    st = parley_protocol_check(protocol);
    if (st != PARLEY_OK)
        return parley__error_prefix(st, "parley_peer_new");
    peer = talloc_zero(mem_ctx, parley_peer);
    if (peer == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory creating a peer");
    peer->protocol = protocol;
    parley__debug_init(peer);
    peer->fork_generation = parley__fork_generation();
    peer->n_workers = PARLEY_DEFAULT_WORKERS;
    peer->max_message = PARLEY_DEFAULT_MAX_MESSAGE;
    peer->max_outstanding = PARLEY_DEFAULT_MAX_OUTSTANDING_CALLS;
    peer->max_handles = PARLEY_DEFAULT_MAX_HANDLES;
    peer->max_output = PARLEY_DEFAULT_MAX_OUTPUT;
    peer->send_ms = PARLEY_DEFAULT_SEND_TIMEOUT_MS;
    peer->max_clients = PARLEY_DEFAULT_MAX_CLIENTS;
    peer->listen_backlog = PARLEY_DEFAULT_LISTEN_BACKLOG;
    parley__sockopt_defaults(&peer->sockopts);
    peer->listeners_tail = &peer->listeners;
    peer->connects_tail = &peer->connects;
    peer->dispatch = talloc_zero_array(peer, parley__dispatch_entry,
                                       protocol->n_methods > 0 ? protocol->n_methods : 1);
    if (peer->dispatch == NULL) {
        talloc_free(peer);
        return parley__error(PARLEY_ERR_NOMEM, "out of memory creating a peer");
    }
    if (ctx == NULL) {
        st = parley__loop_new(peer, &peer->loop);
        if (st != PARLEY_OK) {
            talloc_free(peer);
            return st;
        }
    }
    pthread_mutex_init(&peer->lock, NULL);
    pthread_cond_init(&peer->cond, NULL);
    if (ctx != NULL) {
        peer->context = ctx;
        peer->loop = parley__context_attach(ctx);
    }
    talloc_set_destructor(peer, peer_destructor);
    *ret_peer = peer;
    return PARLEY_OK;
}

parley_status parley__peer_start(parley_peer *peer)
{
    parley_status st = PARLEY_OK;

    pthread_mutex_lock(&peer->lock);
    if (!peer->started && peer->app_loop) {
        peer->started = true;   /* no thread, no pool: the application runs it */
    } else if (!peer->started && peer->context != NULL) {
        st = parley__context_start(peer->context, &peer->workers);
        if (st == PARLEY_OK)
            peer->started = true;
    } else if (!peer->started) {
        st = parley__workers_new(peer, peer->n_workers, &peer->workers);
        if (st == PARLEY_OK) {
            st = parley__loop_start(peer->loop);
            if (st != PARLEY_OK)
                TALLOC_FREE(peer->workers);
        }
        if (st == PARLEY_OK)
            peer->started = true;
    }
    pthread_mutex_unlock(&peer->lock);
    return st;
}

void parley__peer_session_gone(parley_peer *peer, parley_session *session)
{
    pthread_mutex_lock(&peer->lock);
    if (session->prev != NULL)
        session->prev->next = session->next;
    else if (peer->sessions == session)
        peer->sessions = session->next;
    if (session->next != NULL)
        session->next->prev = session->prev;
    session->prev = session->next = NULL;
    if (session->incoming) {
        peer->n_incoming--;
        pthread_cond_broadcast(&peer->cond);
        parley__limits_slot_freed_locked(peer);
    }
    pthread_mutex_unlock(&peer->lock);
}

PARLEY_PUBLIC parley_status parley_peer_set_workers(parley_peer *peer, unsigned n)
{
    parley_status st = PARLEY_OK;

    if (peer == NULL || n < 1 || n > 1024)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_set_workers needs a peer and 1..1024 threads");
    pthread_mutex_lock(&peer->lock);
    if (peer->context != NULL)
        st = parley__error(PARLEY_ERR_INVALID_STATE,
                           "the peer uses its context's workers: set them with "
                           "parley_context_set_workers()");
    else if (peer->started)
        st = parley__error(PARLEY_ERR_INVALID_STATE,
                           "the worker pool size is fixed once the peer has started");
    else
        peer->n_workers = n;
    pthread_mutex_unlock(&peer->lock);
    return st;
}

PARLEY_PUBLIC parley_status parley_peer_set_max_message_size(parley_peer *peer, size_t bytes)
{
    parley_status st = PARLEY_OK;

    if (peer == NULL || bytes < 64 || bytes > UINT32_MAX)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_set_max_message_size needs a peer and 64..%u bytes",
                             UINT32_MAX);
    pthread_mutex_lock(&peer->lock);
    if (peer->started)
        st = parley__error(PARLEY_ERR_INVALID_STATE,
                           "the max message size is fixed once the peer has started");
    else
        peer->max_message = (uint32_t)bytes;
    pthread_mutex_unlock(&peer->lock);
    return st;
}

PARLEY_PUBLIC parley_status parley_peer_add_dispatch(parley_peer *peer,
                                                     const parley_dispatch *table, size_t n,
                                                     void *data)
{
    return parley_peer_add_dispatch_with_data(peer, table, n, data, data);
}

PARLEY_PUBLIC parley_status parley_peer_add_dispatch_with_data(parley_peer *peer,
                                                               const parley_dispatch *table,
                                                               size_t n, void *data,
                                                               void *dispatch_data)
{
    parley_status st = PARLEY_OK;

    if (peer == NULL || (table == NULL && n > 0))
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_add_dispatch needs a peer and a table");
    pthread_mutex_lock(&peer->lock);
    for (size_t i = 0; i < n; i++) {
        const parley_method *m = parley_protocol_find_method(peer->protocol, table[i].method_id);

        if (m == NULL) {
            st = parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                               "dispatch entry %zu: protocol %s has no method %u", i,
                               peer->protocol->name, table[i].method_id);
            goto done;
        }
        if (table[i].handler == NULL ||
            (table[i].mode != PARLEY_BLOCKING && table[i].mode != PARLEY_NONBLOCKING)) {
            st = parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                               "dispatch entry %zu (%s): NULL handler or unknown mode", i,
                               m->name);
            goto done;
        }
        if (peer->dispatch[m - peer->protocol->methods].handler != NULL) {
            st = parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                               "dispatch entry %zu: method %s is registered twice", i, m->name);
            goto done;
        }
        for (size_t j = 0; j < i; j++) {
            if (table[j].method_id == table[i].method_id) {
                st = parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                                   "dispatch entry %zu: method %s is registered twice", i,
                                   m->name);
                goto done;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        const parley_method *m = parley_protocol_find_method(peer->protocol, table[i].method_id);
        parley__dispatch_entry *e = &peer->dispatch[m - peer->protocol->methods];

        e->mode = table[i].mode;
        e->data = data;
        e->dispatch_data = dispatch_data;
        /* Published last: a reader that sees the handler sees the rest. */
        __atomic_store_n(&e->handler, table[i].handler, __ATOMIC_RELEASE);
    }
done:
    pthread_mutex_unlock(&peer->lock);
    return st;
}

PARLEY_PUBLIC parley_status parley_peer_get_dispatch_data(parley_peer *peer, uint32_t method_id,
                                                          void **ret_data)
{
    const parley_method *m;
    const parley__dispatch_entry *e;

    if (peer == NULL || ret_data == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_get_dispatch_data needs a peer and ret_data");
    m = parley_protocol_find_method(peer->protocol, method_id);
    if (m == NULL)
        return parley__error(PARLEY_ERR_NOT_FOUND, "protocol %s has no method %u",
                             peer->protocol->name, method_id);
    e = &peer->dispatch[m - peer->protocol->methods];
    if (__atomic_load_n(&e->handler, __ATOMIC_ACQUIRE) == NULL)
        return parley__error(PARLEY_ERR_NOT_FOUND, "method %s is not served by this peer",
                             m->name);
    *ret_data = e->dispatch_data;
    return PARLEY_OK;
}

PARLEY_PUBLIC parley_status parley_peer_add_connect_endpoint(parley_peer *peer,
                                                             const char *endpoint)
{
    parley__connect_ep *c;
    parley_status st;

    if (peer == NULL || endpoint == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_add_connect_endpoint needs a peer and an endpoint");
    pthread_mutex_lock(&peer->lock);
    c = talloc_zero(peer, parley__connect_ep);
    if (c == NULL) {
        st = parley__error(PARLEY_ERR_NOMEM, "out of memory adding a connect endpoint");
        goto done;
    }
    if (strncmp(endpoint, "name:", 5) == 0)
        st = parley__names_parse_endpoint(c, endpoint, &c->name, &c->service);
    else
        st = parley__endpoint_parse(c, endpoint, &c->ep);
    if (st != PARLEY_OK) {
        talloc_free(c);
        goto done;
    }
    *peer->connects_tail = c;
    peer->connects_tail = &c->next;
done:
    pthread_mutex_unlock(&peer->lock);
    return st;
}

/* A session on a connected socket (fd consumed); ep, when given, says
 * whether it needs a TLS handshake first (tls:), with the socket options
 * (NULL: the peer's) set on the TCP socket before it. */
static parley_status connect_session(parley_peer *peer, int fd, const parley__endpoint *ep,
                                     const parley_socket_options *opts,
                                     parley_session **ret_session)
{
    parley_session *session;
    parley_status st;

    if (ep != NULL && ep->kind == PARLEY__EP_TLS) {
        parley_socket_options o;

        if (opts != NULL) {
            o = *opts;
        } else {
            pthread_mutex_lock(&peer->lock);
            o = peer->sockopts;
            pthread_mutex_unlock(&peer->lock);
        }
        st = parley__sockopt_apply(fd, &o);
        if (st != PARLEY_OK) {
            close(fd);
            return st;
        }
        return parley__peer_tls_connect(peer, ep, fd, ret_session);
    }
    st = parley__session_new_opts(peer, fd, false, opts, &session);

    if (st != PARLEY_OK)
        return st;
    st = parley__session_wait_ready(session);
    if (st != PARLEY_OK)
        return st;
    *ret_session = session;
    return PARLEY_OK;
}

PARLEY_PUBLIC parley_status parley_peer_connect(parley_peer *peer, parley_session **ret_session)
{
    char tried[PARLEY__ERROR_MAX];
    size_t used = 0;
    parley_status st;

    if (peer == NULL || ret_session == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_connect needs a peer and ret_session");
    PARLEY__FORK_GUARD(peer);
    if (peer->connects == NULL)
        return parley__error(PARLEY_ERR_INVALID_STATE,
                             "parley_peer_connect: no connect endpoint was added");
    st = parley__peer_start(peer);
    if (st != PARLEY_OK)
        return st;
    tried[0] = '\0';
    /* The list only grows, and only at its tail: walking it unlocked is safe. */
    for (parley__connect_ep *c = peer->connects; c != NULL; c = c->next) {
        int fd = -1;

        if (c->name != NULL)    /* resolved through parleyd (names.c) */
            st = parley__names_connect(peer, c->name, c->service, &fd);
        else
            st = parley__socket_connect(c->ep, &fd);
        if (st == PARLEY_OK)
            return connect_session(peer, fd, c->name == NULL ? c->ep : NULL, NULL, ret_session);
        if (st != PARLEY_ERR_CONNECTION_REFUSED)
            return st;
        if (used < sizeof(tried)) {
            int n = snprintf(tried + used, sizeof(tried) - used, "%s%s",
                             used > 0 ? "; " : "", parley_error_message());

            used += n > 0 ? (size_t)n : 0;
        }
    }
    return parley__error(PARLEY_ERR_CONNECTION_REFUSED, "%s", tried);
}

PARLEY_PUBLIC parley_status parley_peer_connect_endpoint(parley_peer *peer, const char *endpoint,
                                                         parley_session **ret_session)
{
    return parley_peer_connect_endpoint_with_options(peer, endpoint, NULL, ret_session);
}

PARLEY_PUBLIC parley_status parley_peer_connect_endpoint_with_options(
    parley_peer *peer, const char *endpoint, const parley_socket_options *options,
    parley_session **ret_session)
{
    parley__endpoint *ep = NULL;
    parley_socket_options o;
    parley_status st;
    int fd = -1;

    if (peer == NULL || endpoint == NULL || ret_session == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_connect_endpoint needs a peer, an endpoint and "
                             "ret_session");
    PARLEY__FORK_GUARD(peer);
    if (options != NULL && (st = parley__sockopt_copy(&o, options)) != PARLEY_OK)
        return st;
    /* Nothing of the peer is touched: any number of threads at once. */
    st = parley__endpoint_parse(NULL, endpoint, &ep);
    if (st != PARLEY_OK)
        return st;
    st = parley__peer_start(peer);
    if (st == PARLEY_OK)
        st = parley__socket_connect(ep, &fd);
    if (st == PARLEY_OK)
        st = connect_session(peer, fd, ep, options != NULL ? &o : NULL, ret_session);
    talloc_free(ep);
    return st;
}

PARLEY_PUBLIC parley_status parley_peer_connect_fd(parley_peer *peer, int fd,
                                                   parley_session **ret_session)
{
    parley_status st;

    if (peer == NULL || fd < 0 || ret_session == NULL) {
        if (fd >= 0)
            close(fd);
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_connect_fd needs a peer, a socket and ret_session");
    }
    PARLEY__FORK_GUARD_FD(peer, fd);
    st = parley__peer_start(peer);
    if (st != PARLEY_OK) {
        close(fd);
        return st;
    }
    return connect_session(peer, fd, NULL, NULL, ret_session);
}

PARLEY_PUBLIC parley_status parley_peer_accept_fd(parley_peer *peer, int fd)
{
    parley_status st;

    if (peer == NULL || fd < 0) {
        if (fd >= 0)
            close(fd);
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_accept_fd needs a peer and a socket");
    }
    PARLEY__FORK_GUARD_FD(peer, fd);
    st = parley__peer_start(peer);
    if (st != PARLEY_OK) {
        close(fd);
        return st;
    }
    return parley__session_new(peer, fd, true, NULL);
}

PARLEY_PUBLIC parley_status parley_peer_disconnect(parley_peer *peer)
{
    parley_session **list;
    size_t n = 0;

    if (peer == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "parley_peer_disconnect needs a peer");
    PARLEY__FORK_GUARD(peer);
    pthread_mutex_lock(&peer->lock);
    for (parley_session *s = peer->sessions; s != NULL; s = s->next)
        n++;
    list = talloc_array(NULL, parley_session *, n > 0 ? n : 1);
    n = 0;
    for (parley_session *s = peer->sessions; list != NULL && s != NULL; s = s->next) {
        pthread_mutex_lock(&s->lock);
        if (!s->incoming && !s->user_closed) {
            s->refs++;    /* keep it while we close it */
            list[n++] = s;
        }
        pthread_mutex_unlock(&s->lock);
    }
    pthread_mutex_unlock(&peer->lock);
    if (list == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory disconnecting");
    for (size_t i = 0; i < n; i++) {
        parley_session_close(list[i]);
        parley__session_unref(list[i]);
    }
    talloc_free(list);
    return PARLEY_OK;
}

/* ---- timeouts ---------------------------------------------------------------- */

#define TIMEOUT_MAX_MS (24 * 3600 * 1000LL)

PARLEY_PUBLIC parley_status parley_peer_set_timeout(parley_peer *peer, parley_timeout which,
                                                    int64_t ms)
{
    int64_t *field;

    if (peer == NULL || ms < 0 || ms > TIMEOUT_MAX_MS)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_set_timeout needs a peer and 0..%lld ms",
                             (long long)TIMEOUT_MAX_MS);
    switch (which) {
    case PARLEY_TIMEOUT_ESTABLISH: field = &peer->establish_ms; break;
    case PARLEY_TIMEOUT_IDLE: field = &peer->idle_ms; break;
    case PARLEY_TIMEOUT_CALL: field = &peer->call_ms; break;
    case PARLEY_TIMEOUT_SEND: field = &peer->send_ms; break;
    default:
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "no timeout %d", (int)which);
    }
    __atomic_store_n(field, ms, __ATOMIC_RELAXED);
    return PARLEY_OK;
}

/* ---- output per connection ---- */

PARLEY_PUBLIC parley_status parley_peer_set_max_output(parley_peer *peer, size_t bytes)
{
    if (peer == NULL || bytes < PARLEY_MIN_MAX_OUTPUT || bytes > PARLEY_MAX_MAX_OUTPUT)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_set_max_output needs a peer and %u..%u bytes",
                             PARLEY_MIN_MAX_OUTPUT, PARLEY_MAX_MAX_OUTPUT);
    __atomic_store_n(&peer->max_output, bytes, __ATOMIC_RELAXED);
    return PARLEY_OK;
}

/* ---- descriptors per frame ---- */

PARLEY_PUBLIC parley_status parley_peer_set_max_fds(parley_peer *peer, unsigned n)
{
    if (peer == NULL || n > PARLEY__FDS_HARD_MAX)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_set_max_fds needs a peer and 0..%u fds",
                             PARLEY__FDS_HARD_MAX);
    pthread_mutex_lock(&peer->lock);
    peer->max_fds = n;
    peer->max_fds_set = true;
    pthread_mutex_unlock(&peer->lock);
    return PARLEY_OK;
}

unsigned parley__peer_max_fds(parley_peer *peer)
{
    unsigned n;

    pthread_mutex_lock(&peer->lock);
    n = peer->max_fds_set ? peer->max_fds : PARLEY__FDS_DEFAULT_MAX;
    pthread_mutex_unlock(&peer->lock);
    return n;
}

/* ---- socket options ---- */

PARLEY_PUBLIC parley_status parley_peer_set_socket_options(parley_peer *peer,
                                                           const parley_socket_options *options)
{
    parley_socket_options o;
    parley_status st;

    if (peer == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_set_socket_options needs a peer");
    st = parley__sockopt_copy(&o, options);
    if (st != PARLEY_OK)
        return st;
    pthread_mutex_lock(&peer->lock);
    peer->sockopts = o;
    pthread_mutex_unlock(&peer->lock);
    return PARLEY_OK;
}

/* ---- the end of every session ---- */

PARLEY_PUBLIC parley_status parley_peer_set_session_close_function(parley_peer *peer,
                                                                   parley_session_close_fn fn,
                                                                   void *data)
{
    parley_status st = PARLEY_OK;

    if (peer == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_set_session_close_function needs a peer");
    pthread_mutex_lock(&peer->lock);
    if (peer->started) {
        st = parley__error(PARLEY_ERR_INVALID_STATE,
                           "the session close function is set before the peer starts");
    } else {
        peer->session_close_fn = fn;
        peer->session_close_data = data;
    }
    pthread_mutex_unlock(&peer->lock);
    return st;
}

PARLEY_PUBLIC const char *parley_close_reason_name(parley_close_reason reason)
{
    switch (reason) {
    case PARLEY_CLOSE_LOCAL: return "local";
    case PARLEY_CLOSE_BYE: return "bye";
    case PARLEY_CLOSE_EOF: return "eof";
    case PARLEY_CLOSE_TIMEOUT: return "timeout";
    case PARLEY_CLOSE_PROTOCOL_ERROR: return "protocol error";
    }
    return "unknown";
}
