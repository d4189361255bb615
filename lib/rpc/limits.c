/* Max clients and the listen backlog.
 *
 * The kernel's accept queue is drained eagerly; the limits are kept here:
 * an accepted connection becomes a session while fewer than max_clients
 * incoming sessions exist; otherwise it waits, unserved (no HELLO, nothing
 * read), in a queue of at most listen_backlog connections, and is served
 * when a slot frees (oldest first); beyond that it is told BUSY in a BYE
 * frame and closed, so the client's connect fails with BUSY rather than
 * hanging or seeing a reset. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "session.h"
#include "socket.h"
#include "status.h"

/* Connections told BUSY stay open (write side shut) for a moment, so that
 * a client still sending its HELLO does not get EPIPE before it reads the
 * BYE; at most LINGER_MAX at once, closed LINGER_MS later. */
#define LINGER_MAX 256u
#define LINGER_MS 1000u

typedef struct parley__waiting {
    int *fds;          /* a ring of peer->listen_backlog entries */
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

void parley__limits_accept(parley_peer *peer, int fd)
{
    parley__waiting *w;
    unsigned max, backlog;

    pthread_mutex_lock(&peer->lock);
    max = peer->max_clients;
    backlog = peer->listen_backlog;
    if (peer->n_incoming < max && (peer->waiting == NULL || peer->waiting->n == 0)) {
        pthread_mutex_unlock(&peer->lock);
        (void)parley__session_new(peer, fd, true, NULL);
        return;
    }
    if (peer->waiting == NULL) {
        peer->waiting = talloc_zero(peer, parley__waiting);
        if (peer->waiting != NULL) {
            peer->waiting->fds = talloc_array(peer->waiting, int, backlog > 0 ? backlog : 1);
            peer->waiting->cap = backlog;
            if (peer->waiting->fds == NULL)
                TALLOC_FREE(peer->waiting);
        }
    }
    w = peer->waiting;
    if (w != NULL && w->n < w->cap) {
        w->fds[(w->head + w->n) % w->cap] = fd;
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
        w->head = (w->head + 1) % w->cap;
        w->n--;
        pthread_mutex_unlock(&peer->lock);
        (void)parley__session_new(peer, fd, true, NULL);
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
