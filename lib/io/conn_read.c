/* SPDX-License-Identifier: MIT */
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
#include "status.h"

/* The read side belongs to whoever claims it (no mutex: nobody waits for it,
 * and callbacks run without a Parley lock). */
static bool read_claim(parley__conn *conn)
{
    int free_ = 0;

    return __atomic_compare_exchange_n(&conn->read_owner, &free_, 1, false, __ATOMIC_ACQUIRE,
                                       __ATOMIC_RELAXED);
}

static void read_release(parley__conn *conn)
{
    __atomic_store_n(&conn->read_owner, 0, __ATOMIC_RELEASE);
}

/* A reason to stop reading is set (a relaxed look: the reason's owner
 * re-arms and kicks when it clears). */
static bool read_paused(const parley__conn *conn)
{
    return __atomic_load_n(&conn->read_pause, __ATOMIC_RELAXED) != 0;
}

/* Received descriptors waiting for their frame (read side owned). */
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
    parley__frame f = { h, payload, fds, fds != NULL ? h->nfds : 0 };

    conn->ops->frame(conn->data, &f);
    parley__fds_close(f.fds, f.n_fds);   /* what the layer above did not take */
}

/* ---- read side: its owner (the loop thread, or a caller reading its own
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

/* Loop thread: the frames a caller set aside, in order.  False once closed. */
/* A request frame (CALL, ONEWAY) waits at the front while reading is
 * paused (held) or not; the socket is read only while none is held. */
static void set_held(parley__conn *conn, bool held)
{
    if (__atomic_load_n(&conn->req_held, __ATOMIC_RELAXED) == held)
        return;
    pthread_mutex_lock(&conn->wlock);
    __atomic_store_n(&conn->req_held, held, __ATOMIC_RELAXED);
    parley__conn_arm_locked(conn);
    pthread_mutex_unlock(&conn->wlock);
}

static bool is_request(unsigned kind)
{
    return kind == PARLEY__FRAME_CALL || kind == PARLEY__FRAME_ONEWAY;
}

/* Loop thread: the frames a caller set aside, in order, up to a request
 * while reading is paused.  Returns 1 (all delivered), 0 (a request is
 * held), -1 (closed). */
static int drain_deferred(parley__conn *conn)
{
    for (;;) {
        deferred_frame *d;

        /* Nothing set aside (the usual case): no lock.  A caller that sets a
         * frame aside posts drain_task after, which finds it. */
        if (__atomic_load_n(&conn->deferred, __ATOMIC_ACQUIRE) == NULL)
            return conn->closed ? -1 : 1;
        pthread_mutex_lock(&conn->dlock);
        d = conn->deferred;
        if (d != NULL && read_paused(conn) && is_request(d->hdr.kind)) {
            pthread_mutex_unlock(&conn->dlock);
            set_held(conn, true);
            return conn->closed ? -1 : 0;
        }
        if (d != NULL) {
            __atomic_store_n(&conn->deferred, d->next, __ATOMIC_RELAXED);
            if (conn->deferred == NULL)
                conn->deferred_tail = &conn->deferred;
            conn->deferred_bytes -= sizeof(*d) + d->hdr.length;
        }
        pthread_mutex_unlock(&conn->dlock);
        if (d == NULL)
            return conn->closed ? -1 : 1;
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
    parley__conn *conn = data;

    if (!read_paused(conn))
        set_held(conn, false);
    (void)drain_deferred(conn);
}

/* The frame at the front of rbuf is a request. */
static bool front_is_request(const parley__conn *conn)
{
    return conn->rlen - conn->rpos >= PARLEY__FRAME_HEADER_SIZE &&
           is_request(conn->rbuf[conn->rpos + 4]);
}

/* Loop thread, read side owned: the frames a caller set aside, then
 * complete frames in rbuf.  While reading is paused, replies and the other
 * frames are still delivered, but a request stops the stream (held) until
 * reading resumes.  Returns false once closed. */
static bool process(parley__conn *conn)
{
    parley__frame_header h;
    const uint8_t *payload;
    parley_status st = PARLEY_OK;
    int fds[PARLEY__FDS_HARD_MAX];
    int r = 0, d;

    if (!read_paused(conn))
        set_held(conn, false);
    d = drain_deferred(conn);
    if (d <= 0)
        return d == 0;
    for (;;) {
        if (read_paused(conn) && front_is_request(conn)) {
            set_held(conn, true);
            break;
        }
        r = next_frame(conn, &h, &payload, fds, &st);
        if (r != 1)
            break;
        if (is_request(h.kind))
            set_held(conn, false);
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

    if (!read_claim(conn))
        return;   /* a caller reads its reply; EPOLLIN is re-armed when it is done */
    if (!process(conn))
        goto done;
    while (budget > 0 && !conn->closed && !__atomic_load_n(&conn->req_held, __ATOMIC_RELAXED)) {
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
            read_release(conn);
            parley__conn_do_close(conn, PARLEY_ERR_CONNECTION_CLOSED, why, false);
            return;
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
    read_release(conn);
    pthread_mutex_lock(&conn->wlock);
    if (!conn->closed && conn->head != NULL) {
        bool more;

        if (!parley__conn_flush_locked(conn)) {
            pthread_mutex_unlock(&conn->wlock);
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
}

void parley__conn_read_remaining(parley__conn *conn)
{
    if (conn->closed || conn->fd < 0 || __atomic_load_n(&conn->req_held, __ATOMIC_RELAXED) ||
        !read_claim(conn))
        return;
    /* Bounded: what is already buffered and a few reads more. */
    for (int i = 0; i < 4; i++) {
        if (!process(conn) || conn->closed || __atomic_load_n(&conn->req_held, __ATOMIC_RELAXED))
            break;
        if (fill(conn, conn->fd, false) <= 0)
            break;
    }
    if (!conn->closed && !__atomic_load_n(&conn->req_held, __ATOMIC_RELAXED))
        (void)process(conn);
    conn->corked = false;
    read_release(conn);
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
    bool kick = false, finished = false, full = false;

    if (parley__loop_in_thread(conn->loop) || !read_claim(conn))
        return false;
    pthread_mutex_lock(&conn->wlock);
    if (conn->closed || !conn->io.active || conn->read_pause != 0) {
        /* Reading is paused: the reply waits its turn behind the frames
         * before it; the loop thread delivers it once reading resumes. */
        pthread_mutex_unlock(&conn->wlock);
        read_release(conn);
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
        if (finished || read_paused(conn))
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
                conn->deferred_bytes += sizeof(*d) + h.length;
                full = conn->deferred_bytes >= conn->max_output;
                pthread_mutex_unlock(&conn->dlock);
                /* The loop thread handles it now (a callback may be what
                 * our own reply waits for). */
                (void)parley__loop_post(conn->loop, drain_task, conn);
                if (full) {
                    /* The other end sends faster than the loop thread
                     * takes the frames: stop reading; the loop thread
                     * reads on (and delivers our reply) at its pace. */
                    r = -1;
                    break;
                }
            }
        }
        if (finished || r < 0)
            break;   /* done, or a framing error the loop thread reports */
        /* Wait for the socket, the deadline (the I/O thread's timer then
         * completes the call) or a wake-up (a canceller: re-check done). */
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
    read_release(conn);
    if (kick)
        parley__conn_kick(conn);
    return finished;
}
void parley__conn_io(void *data, uint32_t events)
{
    parley__conn *conn = data;

    if (events & EPOLLOUT) {
        bool ok;

        pthread_mutex_lock(&conn->wlock);
        ok = conn->closed || parley__conn_flush_locked(conn);
        if (ok && !conn->closed && conn->head == NULL && conn->want_out) {
            conn->want_out = false;
            parley__conn_arm_locked(conn);
        }
        pthread_mutex_unlock(&conn->wlock);
        if (!ok) {
            parley__conn_do_close(conn, PARLEY_ERR_CONNECTION_CLOSED, "writing the connection failed", false);
            return;
        }
    }
    if ((events & (EPOLLHUP | EPOLLERR)) && __atomic_load_n(&conn->req_held, __ATOMIC_RELAXED) &&
        !conn->closed) {
        /* Not reading (a request is held), yet hang-up and error are
         * always reported: the other end is gone, and the requests it sent
         * last can no longer be answered. */
        parley__conn_do_close(conn, PARLEY_ERR_CONNECTION_CLOSED,
                              "the other end closed the connection", false);
        return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        conn_read(conn);
}
