/* Peers: creation, dispatch tables, listeners, connecting, teardown. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fds.h"
#include "fork.h"
#include "runtime.h"
#include "socket.h"
#include "status.h"

#define LISTEN_BACKLOG 4096   /* the kernel's; the real backlog is limits.c's */
#define ACCEPT_BATCH 64

static void close_listeners(parley_peer *peer)
{
    for (parley__listener *l = peer->listeners; l != NULL; l = l->next) {
        if (l->io.fd < 0)
            continue;
        parley__loop_timer_cancel(peer->loop, &l->pause);
        parley__loop_del(peer->loop, &l->io);
        close(l->io.fd);
        l->io.fd = -1;
        if (l->ep->kind == PARLEY__EP_UNIX)
            unlink(l->ep->path);
        TALLOC_FREE(l->bound);
    }
    parley__limits_drop_waiting(peer);
}

/* Loop thread: close every session (or only incoming ones). */
typedef struct close_all {
    parley_peer *peer;
    bool incoming_only;
    bool listeners;
    const char *why;
} close_all;

static void close_all_task(void *data)
{
    close_all *ca = data;
    parley_peer *peer = ca->peer;
    parley__conn **conns = NULL;
    size_t n = 0;

    if (ca->listeners)
        close_listeners(peer);
    /* Collect first: closing may free sessions (and edit the list). */
    pthread_mutex_lock(&peer->lock);
    for (parley_session *s = peer->sessions; s != NULL; s = s->next)
        n++;
    conns = talloc_array(NULL, parley__conn *, n > 0 ? n : 1);
    n = 0;
    for (parley_session *s = peer->sessions; conns != NULL && s != NULL; s = s->next)
        if (!ca->incoming_only || s->incoming)
            conns[n++] = s->conn;
    pthread_mutex_unlock(&peer->lock);
    /* Conns are freed only by tasks after this one, so they stay valid here. */
    for (size_t i = 0; i < n; i++)
        parley__conn_close(conns[i], PARLEY_ERR_CONNECTION_CLOSED, ca->why, true);
    talloc_free(conns);
}

static int peer_destructor(parley_peer *peer)
{
    if (PARLEY__FORKED(peer))
        return -1;      /* a child: its locks may be held, it has no threads (peer.h) */
    pthread_mutex_lock(&peer->lock);
    peer->destroying = true;
    pthread_mutex_unlock(&peer->lock);
    parley__spawn_reap_all(peer);
    if (peer->started) {
        close_all ca = { peer, false, true, "the peer is shutting down" };

        parley__loop_call(peer->loop, close_all_task, &ca);
        TALLOC_FREE(peer->workers);      /* runs queued handlers, joins */
        parley__loop_stop(peer->loop);   /* runs what is still posted */
    }
    close_listeners(peer);
    while (peer->sessions != NULL) {
        parley_session *s = peer->sessions;

        peer->sessions = s->next;
        parley__session_destroy(s);
    }
    TALLOC_FREE(peer->loop);
    pthread_cond_destroy(&peer->cond);
    pthread_mutex_destroy(&peer->lock);
    return 0;
}

PARLEY_PUBLIC parley_status parley_peer_new(TALLOC_CTX *mem_ctx, const parley_protocol *protocol,
                                            parley_peer **ret_peer)
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
    peer->fork_generation = parley__fork_generation();
    peer->n_workers = PARLEY_DEFAULT_WORKERS;
    peer->max_message = PARLEY_DEFAULT_MAX_MESSAGE;
    peer->max_outstanding = PARLEY_DEFAULT_MAX_OUTSTANDING_CALLS;
    peer->max_handles = PARLEY_DEFAULT_MAX_HANDLES;
    peer->max_clients = PARLEY_DEFAULT_MAX_CLIENTS;
    peer->listen_backlog = PARLEY_DEFAULT_LISTEN_BACKLOG;
    peer->listeners_tail = &peer->listeners;
    peer->connects_tail = &peer->connects;
    peer->dispatch = talloc_zero_array(peer, parley__dispatch_entry,
                                       protocol->n_methods > 0 ? protocol->n_methods : 1);
    if (peer->dispatch == NULL) {
        talloc_free(peer);
        return parley__error(PARLEY_ERR_NOMEM, "out of memory creating a peer");
    }
    st = parley__loop_new(peer, &peer->loop);
    if (st != PARLEY_OK) {
        talloc_free(peer);
        return st;
    }
    pthread_mutex_init(&peer->lock, NULL);
    pthread_cond_init(&peer->cond, NULL);
    talloc_set_destructor(peer, peer_destructor);
    *ret_peer = peer;
    return PARLEY_OK;
}

parley_status parley__peer_start(parley_peer *peer)
{
    parley_status st = PARLEY_OK;

    pthread_mutex_lock(&peer->lock);
    if (!peer->started) {
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
    if (peer->started)
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
    parley_status st = PARLEY_OK;

    if (peer == NULL || (table == NULL && n > 0))
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_add_dispatch needs a peer and a table");
    pthread_mutex_lock(&peer->lock);
    if (peer->started) {
        st = parley__error(PARLEY_ERR_INVALID_STATE,
                           "dispatch tables are added before the peer starts");
        goto done;
    }
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

        e->handler = table[i].handler;
        e->mode = table[i].mode;
        e->data = data;
    }
done:
    pthread_mutex_unlock(&peer->lock);
    return st;
}

PARLEY_PUBLIC parley_status parley_peer_add_listen_endpoint(parley_peer *peer,
                                                            const char *endpoint,
                                                            unsigned mode)
{
    parley__listener *l;
    parley_status st;

    if (peer == NULL || endpoint == NULL || mode > 07777)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_add_listen_endpoint needs a peer, an endpoint and "
                             "a file mode up to 07777");
    pthread_mutex_lock(&peer->lock);
    if (peer->listening) {
        st = parley__error(PARLEY_ERR_INVALID_STATE,
                           "listen endpoints are added before parley_peer_start_listen()");
        goto done;
    }
    l = talloc_zero(peer, parley__listener);
    if (l == NULL) {
        st = parley__error(PARLEY_ERR_NOMEM, "out of memory adding a listen endpoint");
        goto done;
    }
    st = parley__endpoint_parse(l, endpoint, &l->ep);
    if (st != PARLEY_OK) {
        talloc_free(l);
        goto done;
    }
    l->peer = peer;
    l->mode = mode != 0 ? mode : PARLEY_DEFAULT_SOCKET_MODE;
    l->io.fd = -1;
    *peer->listeners_tail = l;
    peer->listeners_tail = &l->next;
done:
    pthread_mutex_unlock(&peer->lock);
    return st;
}

PARLEY_PUBLIC parley_status parley_peer_get_listen_endpoint(parley_peer *peer, size_t index,
                                                            TALLOC_CTX *mem_ctx,
                                                            char **ret_endpoint)
{
    parley__listener *l;
    parley_status st = PARLEY_OK;

    if (peer == NULL || ret_endpoint == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_get_listen_endpoint needs a peer and ret_endpoint");
    pthread_mutex_lock(&peer->lock);
    l = peer->listeners;
    for (size_t i = 0; l != NULL && i < index; i++)
        l = l->next;
    if (l == NULL) {
        st = parley__error(PARLEY_ERR_INVALID_ARGUMENT, "no listen endpoint number %zu", index);
    } else if (l->bound == NULL) {
        st = parley__error(PARLEY_ERR_INVALID_STATE, "listen endpoint %s is not listening",
                           l->ep->text);
    } else {
        char *s = talloc_strdup(mem_ctx, l->bound);

        if (s == NULL)
            st = parley__error(PARLEY_ERR_NOMEM, "out of memory");
        else
            *ret_endpoint = s;
    }
    pthread_mutex_unlock(&peer->lock);
    return st;
}

static void listener_resume(void *data)
{
    parley__listener *l = data;

    if (l->io.fd >= 0)
        (void)parley__loop_mod(l->peer->loop, &l->io, EPOLLIN);
}

static void listener_io(void *data, uint32_t events)
{
    parley__listener *l = data;

    (void)events;
    for (int i = 0; i < ACCEPT_BATCH && l->io.fd >= 0; i++) {
        int fd = accept4(l->io.fd, NULL, NULL, SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of descriptors or memory: the pending connection stays
                 * in the backlog; stop watching for a moment instead of
                 * spinning on a listener that stays readable. */
                (void)parley__loop_mod(l->peer->loop, &l->io, 0);
                parley__loop_timer_arm(l->peer->loop, &l->pause, parley__now_ms() + 100,
                                       listener_resume, l);
            }
            break;   /* EAGAIN: drained */
        }
        parley__limits_accept(l->peer, fd);
    }
}

static void unlisten_task(void *data)
{
    close_listeners(data);
}

PARLEY_PUBLIC parley_status parley_peer_start_listen(parley_peer *peer)
{
    parley_status st;

    if (peer == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "parley_peer_start_listen needs a peer");
    PARLEY__FORK_GUARD(peer);
    if (peer->listeners == NULL)
        return parley__error(PARLEY_ERR_INVALID_STATE,
                             "parley_peer_start_listen: no listen endpoint was added");
    st = parley__peer_start(peer);
    if (st != PARLEY_OK)
        return st;
    pthread_mutex_lock(&peer->lock);
    if (peer->listening) {
        pthread_mutex_unlock(&peer->lock);
        return parley__error(PARLEY_ERR_INVALID_STATE, "the peer is already listening");
    }
    for (parley__listener *l = peer->listeners; l != NULL; l = l->next) {
        int fd = -1;

        st = parley__socket_listen(l->ep, (mode_t)l->mode, LISTEN_BACKLOG, &fd);
        if (st == PARLEY_OK) {
            st = parley__socket_bound_name(l, l->ep, fd, &l->bound);
            if (st != PARLEY_OK)
                close(fd);
        }
        if (st == PARLEY_OK) {
            l->io.fd = fd;
            l->io.fn = listener_io;
            l->io.data = l;
            st = parley__loop_add(peer->loop, &l->io, EPOLLIN);
            if (st != PARLEY_OK) {
                close(fd);
                l->io.fd = -1;
            }
        }
        if (st != PARLEY_OK) {
            char why[PARLEY__ERROR_MAX];

            snprintf(why, sizeof(why), "%s", parley_error_message());
            pthread_mutex_unlock(&peer->lock);
            parley__loop_call(peer->loop, unlisten_task, peer);
            return parley__error(st, "%s", why);
        }
    }
    peer->listening = true;
    pthread_mutex_unlock(&peer->lock);
    return PARLEY_OK;
}

PARLEY_PUBLIC parley_status parley_peer_stop_listen(parley_peer *peer)
{
    close_all ca;

    if (peer == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "parley_peer_stop_listen needs a peer");
    PARLEY__FORK_GUARD(peer);
    if (!peer->started)
        return PARLEY_OK;
    if (parley__loop_in_thread(peer->loop))
        return parley__error(PARLEY_ERR_INVALID_STATE,
                             "parley_peer_stop_listen from the I/O thread would wait for itself");
    ca.peer = peer;
    ca.incoming_only = true;
    ca.listeners = true;
    ca.why = "the server stopped listening";
    parley__loop_call(peer->loop, close_all_task, &ca);
    pthread_mutex_lock(&peer->lock);
    while (peer->n_incoming > 0)
        pthread_cond_wait(&peer->cond, &peer->lock);
    peer->listening = false;
    pthread_mutex_unlock(&peer->lock);
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

static parley_status connect_session(parley_peer *peer, int fd, parley_session **ret_session)
{
    parley_session *session;
    parley_status st = parley__session_new(peer, fd, false, &session);

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

        st = parley__socket_connect(c->ep, &fd);
        if (st == PARLEY_OK)
            return connect_session(peer, fd, ret_session);
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
    return connect_session(peer, fd, ret_session);
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

/* ---- timeouts (issue 5) ---------------------------------------------------- */

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
    default:
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "no timeout %d", (int)which);
    }
    __atomic_store_n(field, ms, __ATOMIC_RELAXED);
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
