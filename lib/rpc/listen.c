/* SPDX-License-Identifier: MIT */
/* Listeners and admission: listen endpoints, accepting, stopping, and the
 * max clients and listen backlog.
 *
 * The kernel's accept queue is drained eagerly; the limits are kept here:
 * an accepted connection becomes a session while fewer than max_clients
 * incoming sessions exist; otherwise it waits, unserved (no HELLO, nothing
 * read), in a queue of at most listen_backlog connections, and is served
 * when a slot frees (oldest first); beyond that it is told BUSY in a BYE
 * frame and closed, so the client's connect fails with BUSY rather than
 * hanging or seeing a reset. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fork.h"
#include "incall.h"
#include "listen.h"
#include "session.h"
#include "socket.h"
#include "sockopt.h"
#include "status.h"
#include "tls.h"

/* Connections told BUSY stay open (write side shut) for a moment, so that
 * a client still sending its HELLO does not get EPIPE before it reads the
 * BYE; at most LINGER_MAX at once, closed LINGER_MS later. */
#define LINGER_MAX 256u
#define LINGER_MS 1000u

typedef struct parley__waiting {
    int *fds;          /* a ring of peer->listen_backlog entries */
    const parley_socket_options **opts;   /* their listeners' options, or NULL */
    bool *tls;         /* fds[i] came from a tls: listener */
    unsigned head, n, cap;
    int linger_fd[LINGER_MAX];          /* loop thread only */
    uint64_t linger_until[LINGER_MAX];
    unsigned n_linger;
    parley__timer linger_timer;
} parley__waiting;

PARLEY_PUBLIC parley_status parley_peer_set_max_clients(parley_peer *peer, unsigned n)
{
    parley_status st = PARLEY_OK;

    if (peer == NULL || n < 1 || n > (1u << 20))
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_set_max_clients needs a peer and 1..1048576");
    pthread_mutex_lock(&peer->lock);
    if (peer->listening)
        st = parley__error(PARLEY_ERR_INVALID_STATE,
                           "max clients is set before parley_peer_start_listen()");
    else
        peer->max_clients = n;
    pthread_mutex_unlock(&peer->lock);
    return st;
}

PARLEY_PUBLIC parley_status parley_peer_set_listen_backlog(parley_peer *peer, unsigned n)
{
    parley_status st = PARLEY_OK;

    if (peer == NULL || n > (1u << 16))
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_set_listen_backlog needs a peer and 0..65536");
    pthread_mutex_lock(&peer->lock);
    if (peer->listening)
        st = parley__error(PARLEY_ERR_INVALID_STATE,
                           "the listen backlog is set before parley_peer_start_listen()");
    else
        peer->listen_backlog = n;
    pthread_mutex_unlock(&peer->lock);
    return st;
}

/* Tell a connection we will not serve it BUSY, then close it.  The bytes it
 * sent (its HELLO) are read first so that closing does not reset a TCP
 * connection before the BYE is read. */
static void send_busy(int fd, unsigned max_clients, unsigned backlog)
{
    char why[160];
    uint8_t junk[4096];

    for (int i = 0; i < 16 && recv(fd, junk, sizeof(junk), MSG_DONTWAIT) > 0; i++)
        ;
    snprintf(why, sizeof(why), "the server is busy: %u clients served and %u waiting",
             max_clients, backlog);
    parley__socket_send_bye(fd, PARLEY_ERR_BUSY, why);
    shutdown(fd, SHUT_WR);
}

static void linger_fire(void *data)
{
    parley_peer *peer = data;
    parley__waiting *w = peer->waiting;
    uint64_t now = parley__now_ms();
    unsigned keep = 0;

    for (unsigned i = 0; i < w->n_linger; i++) {
        if (w->linger_until[i] <= now) {
            close(w->linger_fd[i]);
        } else {
            w->linger_fd[keep] = w->linger_fd[i];
            w->linger_until[keep++] = w->linger_until[i];
        }
    }
    w->n_linger = keep;
    if (keep > 0)
        parley__loop_timer_arm(peer->loop, &w->linger_timer, w->linger_until[0], linger_fire,
                               peer);
}

/* Loop thread: keep fd open a moment, or close it now when too many linger. */
static void linger(parley_peer *peer, int fd)
{
    parley__waiting *w = peer->waiting;

    if (w == NULL || w->n_linger >= LINGER_MAX) {
        close(fd);
        return;
    }
    w->linger_fd[w->n_linger] = fd;
    w->linger_until[w->n_linger] = parley__now_ms() + LINGER_MS;
    if (w->n_linger++ == 0)
        parley__loop_timer_arm(peer->loop, &w->linger_timer, w->linger_until[0], linger_fire,
                               peer);
}

/* An admitted connection: a session now, or (tls:) after its handshake,
 * with the socket options of its listener (NULL: the peer's). */
static void admit(parley_peer *peer, int fd, const parley_socket_options *opts, bool tls)
{
    if (tls) {
        parley_socket_options o;

        if (opts != NULL) {
            o = *opts;
        } else {
            pthread_mutex_lock(&peer->lock);
            o = peer->sockopts;
            pthread_mutex_unlock(&peer->lock);
        }
        if (parley__sockopt_apply(fd, &o) != PARLEY_OK) {
            close(fd);
            pthread_mutex_lock(&peer->lock);
            parley__limits_slot_freed_locked(peer);
            pthread_mutex_unlock(&peer->lock);
            return;
        }
        parley__peer_tls_accept(peer, fd);
    } else {
        (void)parley__session_new_opts(peer, fd, true, opts, NULL);
    }
}

void parley__limits_accept(parley_peer *peer, int fd, const parley_socket_options *opts, bool tls)
{
    parley__waiting *w;
    unsigned max, backlog;

    pthread_mutex_lock(&peer->lock);
    max = peer->max_clients;
    backlog = peer->listen_backlog;
    if (peer->n_incoming < max && (peer->waiting == NULL || peer->waiting->n == 0)) {
        pthread_mutex_unlock(&peer->lock);
        admit(peer, fd, opts, tls);
        return;
    }
    if (peer->waiting == NULL) {
        peer->waiting = talloc_zero(peer, parley__waiting);
        if (peer->waiting != NULL) {
            peer->waiting->fds = talloc_array(peer->waiting, int, backlog > 0 ? backlog : 1);
            peer->waiting->opts = talloc_array(peer->waiting, const parley_socket_options *,
                                               backlog > 0 ? backlog : 1);
            peer->waiting->tls = talloc_array(peer->waiting, bool, backlog > 0 ? backlog : 1);
            peer->waiting->cap = backlog;
            if (peer->waiting->fds == NULL || peer->waiting->opts == NULL ||
                peer->waiting->tls == NULL)
                TALLOC_FREE(peer->waiting);
        }
    }
    w = peer->waiting;
    if (w != NULL && w->n < w->cap) {
        w->fds[(w->head + w->n) % w->cap] = fd;
        w->opts[(w->head + w->n) % w->cap] = opts;
        w->tls[(w->head + w->n) % w->cap] = tls;
        w->n++;
        pthread_mutex_unlock(&peer->lock);
        return;
    }
    pthread_mutex_unlock(&peer->lock);
    send_busy(fd, max, backlog);
    linger(peer, fd);
}

/* Loop thread: serve waiting connections while there are free slots. */
static void admit_task(void *data)
{
    parley_peer *peer = data;

    for (;;) {
        parley__waiting *w;
        const parley_socket_options *opts;
        bool tls;
        int fd;

        pthread_mutex_lock(&peer->lock);
        w = peer->waiting;
        peer->admit_posted = false;
        if (peer->destroying || w == NULL || w->n == 0 ||
            peer->n_incoming >= peer->max_clients) {
            pthread_mutex_unlock(&peer->lock);
            return;
        }
        fd = w->fds[w->head];
        opts = w->opts[w->head];
        tls = w->tls[w->head];
        w->head = (w->head + 1) % w->cap;
        w->n--;
        pthread_mutex_unlock(&peer->lock);
        admit(peer, fd, opts, tls);
    }
}

void parley__limits_slot_freed_locked(parley_peer *peer)
{
    if (peer->waiting == NULL || peer->waiting->n == 0 || peer->destroying ||
        peer->admit_posted)
        return;
    if (parley__loop_post(peer->loop, admit_task, peer) == PARLEY_OK)
        peer->admit_posted = true;
}

void parley__limits_drop_waiting(parley_peer *peer)
{
    pthread_mutex_lock(&peer->lock);
    if (peer->waiting != NULL) {
        parley__waiting *w = peer->waiting;

        for (unsigned i = 0; i < w->n; i++)
            close(w->fds[(w->head + i) % w->cap]);
        w->n = 0;
        w->head = 0;
        parley__loop_timer_cancel(peer->loop, &w->linger_timer);
        for (unsigned i = 0; i < w->n_linger; i++)
            close(w->linger_fd[i]);
        w->n_linger = 0;
    }
    pthread_mutex_unlock(&peer->lock);
}

/* ---- listeners ------------------------------------------------------------- */

#define LISTEN_BACKLOG 4096   /* the kernel's; the real backlog is limits.c's */
#define ACCEPT_BATCH 64

void parley__listeners_close(parley_peer *peer)
{
    /* Under the lock: listeners may be added from other threads meanwhile. */
    pthread_mutex_lock(&peer->lock);
    for (parley__listener *l = peer->listeners; l != NULL; l = l->next) {
        if (l->adopted && l->adopted_fd >= 0) {
            close(l->adopted_fd);   /* passed in, never listened on */
            l->adopted_fd = -1;
        }
        if (l->io.fd < 0)
            continue;
        parley__loop_timer_cancel(peer->loop, &l->pause);
        parley__loop_del(peer->loop, &l->io);
        close(l->io.fd);
        l->io.fd = -1;
        if (l->ep->kind == PARLEY__EP_UNIX && !l->adopted)
            unlink(l->ep->path);
        TALLOC_FREE(l->bound);
    }
    pthread_mutex_unlock(&peer->lock);
    parley__limits_drop_waiting(peer);
}

static void listener_io(void *data, uint32_t events);

/* Under peer->lock: open a listener (or take its adopted descriptor) and
 * watch it.  An adopted listener closed before is left closed (OK). */
static parley_status listener_open_locked(parley_peer *peer, parley__listener *l)
{
    parley_status st = PARLEY_OK;
    int fd = -1;

    if (l->io.fd >= 0)
        return PARLEY_OK;
    if (l->adopted) {
        if (l->adopted_fd < 0)
            return PARLEY_OK;   /* stopped once: not reopened (peer.h) */
        fd = l->adopted_fd;
        l->adopted_fd = -1;
        if (l->bound == NULL && (l->bound = talloc_strdup(l, l->ep->text)) == NULL) {
            close(fd);
            return parley__error(PARLEY_ERR_NOMEM, "out of memory listening");
        }
    } else {
        if (l->ep->kind == PARLEY__EP_TLS)
            st = parley__tls_config_check(peer->tls, true, l->ep->text);
        if (st == PARLEY_OK)
            st = parley__socket_listen(l->ep, (mode_t)l->mode, LISTEN_BACKLOG, &fd);
        if (st == PARLEY_OK) {
            st = parley__socket_bound_name(l, l->ep, fd, &l->bound);
            if (st != PARLEY_OK)
                close(fd);
        }
        if (st != PARLEY_OK)
            return st;
    }
    l->io.fd = fd;
    l->io.fn = listener_io;
    l->io.data = l;
    st = parley__loop_add(peer->loop, &l->io, EPOLLIN);
    if (st != PARLEY_OK) {
        l->io.fd = -1;
        TALLOC_FREE(l->bound);
        if (l->adopted) {
            l->adopted_fd = fd;   /* still the caller's if this fails its adding */
        } else {
            close(fd);
            if (l->ep->kind == PARLEY__EP_UNIX)
                unlink(l->ep->path);
        }
    }
    return st;
}

/* Under peer->lock: append a listener; while listening, open it now (on
 * failure it is freed and not added). */
static parley_status listener_add_locked(parley_peer *peer, parley__listener *l)
{
    if (peer->listening) {
        parley_status st = listener_open_locked(peer, l);

        if (st != PARLEY_OK) {
            talloc_free(l);
            return st;
        }
    }
    *peer->listeners_tail = l;
    peer->listeners_tail = &l->next;
    return PARLEY_OK;
}

PARLEY_PUBLIC parley_status parley_peer_add_listen_endpoint(parley_peer *peer,
                                                            const char *endpoint,
                                                            unsigned mode)
{
    return parley_peer_add_listen_endpoint_with_options(peer, endpoint, mode, NULL);
}

PARLEY_PUBLIC parley_status parley_peer_add_listen_endpoint_with_options(
    parley_peer *peer, const char *endpoint, unsigned mode, const parley_socket_options *options)
{
    parley_socket_options o;
    parley__listener *l;
    parley_status st;

    if (peer == NULL || endpoint == NULL || mode > 07777)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_add_listen_endpoint needs a peer, an endpoint and "
                             "a file mode up to 07777");
    PARLEY__FORK_GUARD(peer);
    if (options != NULL && (st = parley__sockopt_copy(&o, options)) != PARLEY_OK)
        return st;
    pthread_mutex_lock(&peer->lock);
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
    l->adopted_fd = -1;
    if (options != NULL) {
        l->sockopts = o;
        l->has_sockopts = true;
    }
    st = listener_add_locked(peer, l);
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
        parley__limits_accept(l->peer, fd, l->has_sockopts ? &l->sockopts : NULL,
                              l->ep->kind == PARLEY__EP_TLS);
    }
}

static void unlisten_task(void *data)
{
    parley__listeners_close(data);
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
        st = listener_open_locked(peer, l);
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

/* Loop thread: no more listening, no more incoming sessions. */
static void stop_task(void *data)
{
    parley_peer *peer = data;

    parley__listeners_close(peer);
    parley__peer_tls_abort_accepts(peer);
    parley__peer_close_sessions(peer, true, "the server stopped listening");
}

/* Loop thread: stop_listen() from a handler, done here. */
static void stop_async_task(void *data)
{
    parley_peer *peer = data;

    stop_task(peer);
    pthread_mutex_lock(&peer->lock);
    peer->listening = false;
    peer->stopping_listen = false;
    pthread_mutex_unlock(&peer->lock);
}

PARLEY_PUBLIC parley_status parley_peer_stop_listen(parley_peer *peer)
{
    if (peer == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "parley_peer_stop_listen needs a peer");
    PARLEY__FORK_GUARD(peer);
    if (!peer->started)
        return PARLEY_OK;
    if (parley__loop_in_thread(peer->loop) || parley__in_handler_of(peer)) {
        /* A handler (or callback) waiting for the incoming sessions to end
         * would wait for itself: the work is done on the I/O thread. */
        pthread_mutex_lock(&peer->lock);
        if (peer->stopping_listen || !peer->listening) {
            pthread_mutex_unlock(&peer->lock);
            return PARLEY_OK;
        }
        peer->stopping_listen = true;
        pthread_mutex_unlock(&peer->lock);
        if (parley__loop_post(peer->loop, stop_async_task, peer) != PARLEY_OK) {
            pthread_mutex_lock(&peer->lock);
            peer->stopping_listen = false;
            pthread_mutex_unlock(&peer->lock);
            return parley__error(PARLEY_ERR_NOMEM, "out of memory stopping to listen");
        }
        return PARLEY_OK;
    }
    parley__loop_call(peer->loop, stop_task, peer);
    pthread_mutex_lock(&peer->lock);
    while (peer->n_incoming > 0) {
        if (parley__loop_is_external(peer->loop)) {
            /* No I/O thread: this thread runs the loop (peer_loop.c). */
            pthread_mutex_unlock(&peer->lock);
            (void)parley__loop_drive(peer->loop, 50);
            pthread_mutex_lock(&peer->lock);
            continue;
        }
        pthread_cond_wait(&peer->cond, &peer->lock);
    }
    peer->listening = false;
    pthread_mutex_unlock(&peer->lock);
    return PARLEY_OK;
}

/* ---- descriptors passed in --------------------------------------------------- */

/* Under peer->lock or not yet shared: a listener for an adopted fd. */
static parley_status listener_adopt(parley_peer *peer, int fd, parley__listener **ret_l)
{
    parley__listener *l = talloc_zero(peer, parley__listener);
    parley_status st;

    if (l == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory adding a listening descriptor");
    st = parley__socket_describe_listener(l, fd, &l->ep);
    if (st != PARLEY_OK) {
        talloc_free(l);
        return st;
    }
    l->peer = peer;
    l->io.fd = -1;
    l->adopted = true;
    l->adopted_fd = fd;
    *ret_l = l;
    return PARLEY_OK;
}

parley_status parley__listen_adopt_fds(parley_peer *peer, const int *fds, const char *const *names,
                                      size_t n)
{
    parley__listener **ls;
    parley_status st = PARLEY_OK;
    size_t i;

    ls = talloc_zero_array(NULL, parley__listener *, n > 0 ? n : 1);
    if (ls == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory adding listening descriptors");
    pthread_mutex_lock(&peer->lock);
    /* Every one checked before any is taken. */
    for (i = 0; i < n && st == PARLEY_OK; i++) {
        st = listener_adopt(peer, fds[i], &ls[i]);
        if (st != PARLEY_OK && names != NULL && names[i] != NULL) {
            char why[PARLEY__ERROR_MAX];

            snprintf(why, sizeof(why), "%s", parley_error_message());
            st = parley__error(st, "%s (named \"%s\")", why, names[i]);
        }
    }
    for (i = 0; i < n && st == PARLEY_OK; i++)
        st = parley__socket_adopt_listener(fds[i]);
    if (st != PARLEY_OK) {
        for (i = 0; i < n; i++)
            talloc_free(ls[i]);
        goto done;
    }
    for (i = 0; i < n; i++) {
        st = listener_add_locked(peer, ls[i]);   /* on failure: freed, fd not closed */
        if (st != PARLEY_OK) {
            /* Those added stay (they are listening); the rest are not taken. */
            for (size_t j = i + 1; j < n; j++)
                talloc_free(ls[j]);
            break;
        }
    }
done:
    pthread_mutex_unlock(&peer->lock);
    talloc_free(ls);
    return st;
}

PARLEY_PUBLIC parley_status parley_peer_add_listen_fd(parley_peer *peer, int fd)
{
    if (peer == NULL || fd < 0)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_add_listen_fd needs a peer and a descriptor");
    PARLEY__FORK_GUARD(peer);
    return parley__listen_adopt_fds(peer, &fd, NULL, 1);
}
