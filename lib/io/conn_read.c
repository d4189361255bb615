/* Connections, read side: buffered reads, framing, the frames a waiting
 * caller sets aside, and the caller that reads its own reply. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn_private.h"
#include "fds.h"
#include "frame_fds.h"
#include "status.h"

/* Received descriptors waiting for their frame (rlock held). */
static bool rfds_push(parley__conn *conn, const int *fds, size_t n)
{
    if (n == 0)
        return true;
    if (conn->n_rfds + n > conn->cap_rfds) {
        size_t cap = conn->cap_rfds * 2 < conn->n_rfds + n ? conn->n_rfds + n + 16 : conn->cap_rfds * 2;
        int *nf = realloc(conn->rfds, cap * sizeof(int));

        if (nf == NULL)
            return false;
        conn->rfds = nf;
        conn->cap_rfds = cap;
    }
    memcpy(conn->rfds + conn->n_rfds, fds, n * sizeof(int));
    conn->n_rfds += n;
    return true;
}

/* Take the first n queued descriptors into out[0..n). */
static void rfds_pop(parley__conn *conn, int *out, size_t n)
{
    if (n == 0)
        return;
    memcpy(out, conn->rfds, n * sizeof(int));
    memmove(conn->rfds, conn->rfds + n, (conn->n_rfds - n) * sizeof(int));
    conn->n_rfds -= n;
}

void parley__conn_deliver(parley__conn *conn, const parley__frame_header *h,
                          const uint8_t *payload, int *fds)
{
    parley__frame_fds_set(fds, fds != NULL ? h->nfds : 0);
    conn->ops->frame(conn->data, h, payload);
    parley__frame_fds_clear();
}

/* ---- read side: under rlock (the loop thread, or a caller reading its own
 * reply in parley__conn_wait_reply()) ---- */

/* The next complete frame in rbuf: 1 (consumed; *payload points into rbuf),
 * 0 (need more bytes; room is made for the whole frame), -1 (the header
 * breaks the framing: *ret_st, and the sentence is set). */
static int next_frame(parley__conn *conn, parley__frame_header *h, const uint8_t **payload,
                      int *fds, parley_status *ret_st)
{
    size_t need;
    parley_status st;

    if (conn->rfds_broken) {
        *ret_st = parley__error(PARLEY_ERR_OVERFLOW, "more fds arrived than fit in a frame");
        return -1;
    }
    if (conn->rlen == conn->rpos && conn->n_rfds > 0) {
        /* Descriptors come with their frame's first byte: these belong to
         * no frame. */
        *ret_st = parley__error(PARLEY_ERR_MALFORMED, "%zu fds arrived with no frame claiming them",
                                conn->n_rfds);
        return -1;
    }
    if (conn->rlen - conn->rpos < PARLEY__FRAME_HEADER_SIZE)
        return 0;
    st = parley__frame_unpack(conn->rbuf + conn->rpos, conn->max_payload, h);
    if (st != PARLEY_OK) {
        *ret_st = st;
        return -1;
    }
    need = PARLEY__FRAME_HEADER_SIZE + h->length;
    if (conn->rlen - conn->rpos < need) {
        if (conn->rcap - conn->rpos < need) {
            size_t have = conn->rlen - conn->rpos;

            if (conn->rcap >= need) {
                /* Room enough once the partial frame moves to the front. */
                memmove(conn->rbuf, conn->rbuf + conn->rpos, have);
            } else {
                size_t cap = need < RBUF_INITIAL ? RBUF_INITIAL : need;
                uint8_t *nb = malloc(cap);

                if (nb == NULL) {
                    *ret_st = parley__error(PARLEY_ERR_NOMEM, "out of memory receiving a frame");
                    return -1;
                }
                memcpy(nb, conn->rbuf + conn->rpos, have);
                free(conn->rbuf);
                conn->rbuf = nb;
                conn->rcap = cap;
            }
            conn->rpos = 0;
            conn->rlen = have;
        }
        return 0;
    }
    if (h->nfds > conn->max_fds) {
        *ret_st = parley__error(PARLEY_ERR_OVERFLOW,
                                "a %s frame with %u fds exceeds the max fds per frame %u",
                                parley__frame_kind_name(h->kind), (unsigned)h->nfds,
                                conn->max_fds);
        return -1;
    }
    if (h->nfds > conn->n_rfds) {
        *ret_st = parley__error(PARLEY_ERR_MALFORMED,
                                "a %s frame says it carries %u fds but %zu arrived with it",
                                parley__frame_kind_name(h->kind), (unsigned)h->nfds,
                                conn->n_rfds);
        return -1;
    }
    rfds_pop(conn, fds, h->nfds);
    conn->rpos += need;
    *payload = conn->rbuf + conn->rpos - h->length;
    conn->last_small = need <= RBUF_KEEP / 2;
    return 1;
}

/* recv once into rbuf (waiting for data if block): > 0 bytes read, 0 EOF,
 * -1 nothing to read now, -2 error (errno kept). */
static ssize_t fill(parley__conn *conn, int fd, bool block)
{
    ssize_t n;

    if (conn->rbuf == NULL) {
        conn->rbuf = malloc(RBUF_INITIAL);
        if (conn->rbuf == NULL) {
            errno = ENOMEM;
            return -2;
        }
        conn->rcap = RBUF_INITIAL;
    }
    if (conn->rpos == conn->rlen) {
        conn->rpos = conn->rlen = 0;
    } else if (conn->rlen == conn->rcap && conn->rpos > 0) {
        memmove(conn->rbuf, conn->rbuf + conn->rpos, conn->rlen - conn->rpos);
        conn->rlen -= conn->rpos;
        conn->rpos = 0;
    }
    {
        union {
            struct cmsghdr align;
            char buf[CMSG_SPACE(sizeof(int) * PARLEY__FDS_HARD_MAX)];
        } ctl;
        struct iovec iov = { conn->rbuf + conn->rlen, conn->rcap - conn->rlen };
        struct msghdr msg;

        memset(&msg, 0, sizeof(msg));
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        if (conn->is_unix) {
            msg.msg_control = ctl.buf;
            msg.msg_controllen = sizeof(ctl.buf);
        }
        do
            n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | (block ? 0 : MSG_DONTWAIT));
        while (n < 0 && errno == EINTR);
        if (n >= 0 && msg.msg_controllen > 0) {
            for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
                size_t k;
                int got[PARLEY__FDS_HARD_MAX];

                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                    continue;
                k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                if (k > PARLEY__FDS_HARD_MAX)
                    k = PARLEY__FDS_HARD_MAX;
                memcpy(got, CMSG_DATA(c), k * sizeof(int));
                if (!rfds_push(conn, got, k)) {
                    parley__fds_close(got, k);
                    conn->rfds_broken = true;
                }
            }
        }
        if (n >= 0 && (msg.msg_flags & MSG_CTRUNC))
            conn->rfds_broken = true;
    }
    if (n > 0) {
        conn->rlen += (size_t)n;
        return n;
    }
    if (n == 0)
        return 0;
    return (errno == EAGAIN || errno == EWOULDBLOCK) ? -1 : -2;
}

static void shrink_idle(parley__conn *conn)
{
    /* An idle connection keeps a small buffer; one that just carried a large
     * frame keeps its buffer until a small frame comes (no malloc and page
     * faults per large frame). */
    if (conn->rpos == conn->rlen && conn->rcap > RBUF_KEEP && conn->last_small) {
        free(conn->rbuf);
        conn->rbuf = NULL;
        conn->rcap = conn->rpos = conn->rlen = 0;
    }
}

static bool paused(parley__conn *conn)
{
    return __atomic_load_n(&conn->read_paused, __ATOMIC_ACQUIRE);
}

/* Loop thread: the frames a caller set aside, in order.  False once closed. */
static bool drain_deferred(parley__conn *conn)
{
    for (;;) {
        deferred_frame *d;

        if (paused(conn))
            return !conn->closed;   /* they wait, in order, for the resume */
        /* Nothing set aside (the usual case): no lock.  A caller that sets a
         * frame aside posts drain_task after, which finds it. */
        if (__atomic_load_n(&conn->deferred, __ATOMIC_ACQUIRE) == NULL)
            return !conn->closed;
        pthread_mutex_lock(&conn->dlock);
        d = conn->deferred;
        if (d != NULL) {
            __atomic_store_n(&conn->deferred, d->next, __ATOMIC_RELAXED);
            if (conn->deferred == NULL)
                conn->deferred_tail = &conn->deferred;
        }
        pthread_mutex_unlock(&conn->dlock);
        if (d == NULL)
            return !conn->closed;
        if (!conn->closed)
            parley__conn_deliver(conn, &d->hdr, d->payload, d->fds);
        if (d->fds != NULL) {
            parley__fds_close(d->fds, d->hdr.nfds);
            free(d->fds);
        }
        free(d);
    }
}

static void drain_task(void *data)
{
    (void)drain_deferred(data);
}

/* Loop thread, rlock held: the frames a caller set aside, then complete
 * frames in rbuf.  Returns false once closed. */
static bool process(parley__conn *conn)
{
    parley__frame_header h;
    const uint8_t *payload;
    parley_status st = PARLEY_OK;
    int fds[PARLEY__FDS_HARD_MAX];
    int r = 0;

    if (!drain_deferred(conn))
        return false;
    while (!paused(conn) && (r = next_frame(conn, &h, &payload, fds, &st)) == 1) {
        /* More frames waiting: replies queue up and leave together. */
        conn->corked = conn->rlen - conn->rpos >= PARLEY__FRAME_HEADER_SIZE;
        parley__conn_deliver(conn, &h, payload, fds);
        if (conn->closed)
            return false;
    }
    conn->corked = false;
    if (r < 0) {
        char why[PARLEY__ERROR_MAX];

        snprintf(why, sizeof(why), "%s", parley_error_message());
        parley__conn_do_close(conn, st, why, true);
        return false;
    }
    return true;
}

/* Loop thread. */
static void conn_read(parley__conn *conn)
{
    size_t budget = READ_BUDGET;

    if (pthread_mutex_trylock(&conn->rlock) != 0)
        return;   /* a caller reads its reply; EPOLLIN is re-armed when it is done */
    if (!process(conn))
        goto done;
    /* Paused: a hangup is reported all the same, so this may run again
     * before the resume; it reads nothing. */
    while (budget > 0 && !conn->closed && !paused(conn)) {
        size_t room = conn->rcap - conn->rlen;
        ssize_t n = fill(conn, conn->fd, false);

        if (n == -1)
            break;
        if (n <= 0) {
            char why[256];

            if (n == 0)
                snprintf(why, sizeof(why), "the other end closed the connection");
            else
                snprintf(why, sizeof(why), "reading the connection: %s", strerror(errno));
            parley__conn_do_close(conn, PARLEY_ERR_CONNECTION_CLOSED, why, false);
            goto done;
        }
        budget = (size_t)n >= budget ? 0 : budget - (size_t)n;
        if (!process(conn))
            goto done;
        /* A short read drained the socket: epoll (level-triggered) reports more. */
        if (room > 0 && (size_t)n < room)
            break;
    }
    shrink_idle(conn);
done:
    conn->corked = false;
    pthread_mutex_lock(&conn->wlock);
    if (!conn->closed && conn->head != NULL && !conn->writing) {
        bool more;

        if (!parley__conn_flush_locked(conn)) {
            pthread_mutex_unlock(&conn->wlock);
            pthread_mutex_unlock(&conn->rlock);
            parley__conn_do_close(conn, PARLEY_ERR_CONNECTION_CLOSED, "writing the connection failed", false);
            return;
        }
        more = conn->head != NULL;
        if (more != conn->want_out) {
            conn->want_out = more;
            parley__conn_arm_locked(conn);
        }
    }
    pthread_mutex_unlock(&conn->wlock);
    pthread_mutex_unlock(&conn->rlock);
}

static void kick_task(void *data)
{
    parley__conn *conn = data;

    if (!conn->closed && conn->fd >= 0)
        conn_read(conn);
}

void parley__conn_kick(parley__conn *conn)
{
    (void)parley__loop_post(conn->loop, kick_task, conn);
}

bool parley__conn_wait_reply(parley__conn *conn, uint32_t call_id, bool *done,
                             pthread_mutex_t *done_lock, uint64_t deadline_ms)
{
    int fd;
    bool kick = false, finished = false;

    if (parley__loop_in_thread(conn->loop) || pthread_mutex_trylock(&conn->rlock) != 0)
        return false;
    pthread_mutex_lock(&conn->wlock);
    if (conn->closed || !conn->io.active) {
        pthread_mutex_unlock(&conn->wlock);
        pthread_mutex_unlock(&conn->rlock);
        return false;
    }
    fd = conn->fd;
    conn->reader_claimed = true;
    conn->fd_users++;
    parley__conn_arm_locked(conn);
    pthread_mutex_unlock(&conn->wlock);

    for (;;) {
        parley__frame_header h;
        const uint8_t *payload;
        parley_status st;
        int fds[PARLEY__FDS_HARD_MAX];
        int r;
        ssize_t n;

        pthread_mutex_lock(done_lock);
        finished = *done;
        pthread_mutex_unlock(done_lock);
        if (finished)
            break;
        /* Frames already here: ours is handled now, others set aside in order. */
        while ((r = next_frame(conn, &h, &payload, fds, &st)) == 1) {
            if (h.kind == PARLEY__FRAME_REPLY && h.call_id == call_id) {
                parley__conn_deliver(conn, &h, payload, fds);
                finished = true;
                break;
            }
            {
                deferred_frame *d = malloc(sizeof(*d) + h.length);
                int *dfds = h.nfds > 0 ? malloc(sizeof(int) * h.nfds) : NULL;

                if (d == NULL || (h.nfds > 0 && dfds == NULL)) {
                    /* Put it back for the loop thread and stop reading. */
                    free(d);
                    free(dfds);
                    conn->rpos -= PARLEY__FRAME_HEADER_SIZE + h.length;
                    /* Its fds are lost: the loop thread finds the frame
                     * short of them and closes the connection. */
                    parley__fds_close(fds, h.nfds);
                    r = -1;
                    break;
                }
                if (dfds != NULL)
                    memcpy(dfds, fds, sizeof(int) * h.nfds);
                d->fds = dfds;
                d->hdr = h;
                d->next = NULL;
                memcpy(d->payload, payload, h.length);
                pthread_mutex_lock(&conn->dlock);
                __atomic_store_n(conn->deferred_tail, d, __ATOMIC_RELEASE);
                conn->deferred_tail = &d->next;
                pthread_mutex_unlock(&conn->dlock);
                /* The loop thread handles it now (a callback may be what
                 * our own reply waits for). */
                (void)parley__loop_post(conn->loop, drain_task, conn);
            }
        }
        if (finished || r < 0)
            break;   /* done, or a framing error the loop thread reports */
        /* Wait for the socket, the deadline (the I/O thread's timer then
         * completes the call) or a wake-up (a canceller: re-check done). */
        if (paused(conn))
            break;   /* the loop thread reads again on the resume */
        {
            struct pollfd pfd[2] = { { .fd = fd, .events = POLLIN, .revents = 0 },
                                     { .fd = conn->wake_fd, .events = POLLIN, .revents = 0 } };
            int timeout = -1, pr;

            if (deadline_ms != 0) {
                uint64_t now = parley__now_ms();

                if (now >= deadline_ms)
                    break;
                timeout = (int)(deadline_ms - now);
            }
            pr = poll(pfd, 2, timeout);
            if (pr == 0)
                break;
            if (pr < 0 && errno != EINTR)
                break;
            if (pr < 0)
                continue;
            if (pfd[1].revents & POLLIN) {
                uint64_t junk;

                (void)!read(conn->wake_fd, &junk, sizeof(junk));
            }
            if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;   /* woken: look at done again */
        }
        n = fill(conn, fd, true);
        if (n == 0 || n == -2)
            break;   /* EOF or error: the loop thread closes the connection */
    }

    pthread_mutex_lock(&conn->wlock);
    conn->reader_claimed = false;
    if (!conn->closed)
        parley__conn_arm_locked(conn);
    parley__conn_release_fd_locked(conn);
    pthread_mutex_unlock(&conn->wlock);
    kick = conn->rpos != conn->rlen;
    if (!kick)
        shrink_idle(conn);
    pthread_mutex_unlock(&conn->rlock);
    if (kick)
        (void)parley__loop_post(conn->loop, kick_task, conn);
    return finished;
}
void parley__conn_io(void *data, uint32_t events)
{
    parley__conn *conn = data;

    if (events & EPOLLOUT) {
        bool ok;

        pthread_mutex_lock(&conn->wlock);
        ok = conn->closed || conn->writing || parley__conn_flush_locked(conn);
        if (ok && !conn->closed && (conn->head == NULL || conn->writing) && conn->want_out) {
            /* Drained; or a sender is finishing a frame and flushes after it. */
            conn->want_out = false;
            parley__conn_arm_locked(conn);
        }
        if (conn->queued <= PARLEY__CONN_HIGH_WATER)
            pthread_cond_broadcast(&conn->wcond);
        pthread_mutex_unlock(&conn->wlock);
        if (!ok) {
            parley__conn_do_close(conn, PARLEY_ERR_CONNECTION_CLOSED, "writing the connection failed", false);
            return;
        }
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        conn_read(conn);
}
