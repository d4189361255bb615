/* SPDX-License-Identifier: MIT */
/* Connections, write side and lifecycle: creation, sendmsg per frame, the
 * queue, closing.  The read side is in conn_read.c. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <fcntl.h>
#include <sys/eventfd.h>

#include "conn_private.h"
#include "fds.h"
#include "linger.h"
#include "socket.h"
#include "status.h"

static void item_free(wq_item *it)
{
    if (it->fds != NULL) {
        parley__fds_close(it->fds, it->nfds);
        free(it->fds);
    }
    free(it);
}

/* Point msg's control data at ctl, carrying fds[0..n) as SCM_RIGHTS. */
typedef union rights_buf {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * PARLEY__FDS_HARD_MAX)];
} rights_buf;

static void set_rights(struct msghdr *msg, rights_buf *ctl, const int *fds, unsigned n)
{
    struct cmsghdr *c;

    if (n == 0)
        return;
    memset(ctl, 0, sizeof(*ctl));
    msg->msg_control = ctl->buf;
    msg->msg_controllen = CMSG_SPACE(sizeof(int) * n);
    c = CMSG_FIRSTHDR(msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
}

static void queue_free(parley__conn *conn)
{
    while (conn->head != NULL) {
        wq_item *it = conn->head;

        conn->head = it->next;
        item_free(it);
    }
    conn->tail = NULL;
    conn->queued = 0;
}

static int conn_destructor(parley__conn *conn)
{
    if (conn->send_timer.armed)
        parley__loop_timer_cancel(conn->loop, &conn->send_timer);
    if (conn->fd >= 0) {
        parley__loop_del(conn->loop, &conn->io);
        close(conn->fd);
        conn->fd = -1;
    }
    queue_free(conn);
    free(conn->rbuf);
    while (conn->deferred != NULL) {
        deferred_frame *d = conn->deferred;

        conn->deferred = d->next;
        if (d->fds != NULL) {
            parley__fds_close(d->fds, d->hdr.nfds);
            free(d->fds);
        }
        free(d);
    }
    parley__fds_close(conn->rfds, conn->n_rfds);
    free(conn->rfds);
    if (conn->wake_fd >= 0)
        close(conn->wake_fd);
    pthread_cond_destroy(&conn->wcond);
    pthread_mutex_destroy(&conn->wlock);
    pthread_mutex_destroy(&conn->dlock);
    return 0;
}

parley_status parley__conn_new(TALLOC_CTX *mem_ctx, parley__loop *loop, int fd,
                               uint32_t max_payload, const parley__conn_ops *ops, void *data,
                               parley__conn **ret_conn)
{
    parley__conn *conn = talloc_zero(mem_ctx, parley__conn);

    if (conn == NULL) {
        close(fd);
        return parley__error(PARLEY_ERR_NOMEM, "out of memory creating a connection");
    }
    conn->loop = loop;
    conn->ops = ops;
    conn->data = data;
    conn->max_payload = max_payload;
    conn->fd = fd;
    conn->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (conn->wake_fd < 0) {
        parley_status st = parley__error_errno(PARLEY_ERR_SYSTEM, errno, "eventfd");

        close(fd);
        talloc_free(conn);
        return st;
    }
    pthread_mutex_init(&conn->wlock, NULL);
    pthread_mutex_init(&conn->dlock, NULL);
    {
        /* Senders wait for room against CLOCK_MONOTONIC deadlines. */
        pthread_condattr_t ca;

        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&conn->wcond, &ca);
        pthread_condattr_destroy(&ca);
    }
    conn->max_output = PARLEY__CONN_DEFAULT_MAX_OUTPUT;
    conn->send_timeout_ms = PARLEY__CONN_DEFAULT_SEND_TIMEOUT_MS;
    conn->deferred_tail = &conn->deferred;
    conn->deferred_fd = -1;
    conn->max_fds = PARLEY__FDS_DEFAULT_MAX;
    {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);

        conn->is_unix = getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
                        ss.ss_family == AF_UNIX;
    }
    talloc_set_destructor(conn, conn_destructor);
    conn->io.fd = fd;
    conn->io.fn = parley__conn_io;
    conn->io.data = conn;
    *ret_conn = conn;
    return PARLEY_OK;
}

parley_status parley__conn_start(parley__conn *conn)
{
    parley_status st;

    pthread_mutex_lock(&conn->wlock);
    conn->armed_events = (uint32_t)EPOLLIN |
                         (conn->want_out ? (uint32_t)EPOLLOUT : 0u);
    st = parley__loop_add(conn->loop, &conn->io, conn->armed_events);
    pthread_mutex_unlock(&conn->wlock);
    return st;
}

bool parley__conn_is_closed(parley__conn *conn)
{
    bool c;

    pthread_mutex_lock(&conn->wlock);
    c = conn->closed;
    pthread_mutex_unlock(&conn->wlock);
    return c;
}

int parley__conn_fd(parley__conn *conn)
{
    return conn->fd;
}

bool parley__conn_is_unix(parley__conn *conn)
{
    return conn->is_unix;
}

void parley__conn_set_not_unix(parley__conn *conn)
{
    conn->is_unix = false;
}

void parley__conn_set_max_fds(parley__conn *conn, unsigned n)
{
    conn->max_fds = n;
}

void parley__conn_set_max_payload(parley__conn *conn, uint32_t max_payload)
{
    conn->max_payload = max_payload;
}

void parley__conn_set_output(parley__conn *conn, size_t max_output, uint64_t send_timeout_ms)
{
    pthread_mutex_lock(&conn->wlock);
    conn->max_output = max_output > 0 ? max_output : 1;
    conn->send_timeout_ms = send_timeout_ms;
    pthread_mutex_unlock(&conn->wlock);
}

void parley__conn_output_stats(parley__conn *conn, size_t *ret_queued, size_t *ret_peak)
{
    pthread_mutex_lock(&conn->wlock);
    *ret_queued = conn->queued;
    *ret_peak = conn->peak_queued;
    pthread_mutex_unlock(&conn->wlock);
}

/* A thread that polled fd outside wlock lets go; wlock held. */
void parley__conn_release_fd_locked(parley__conn *conn)
{
    if (--conn->fd_users == 0 && conn->deferred_fd >= 0) {
        close(conn->deferred_fd);
        conn->deferred_fd = -1;
    }
}

/* Set the epoll interest from the state; wlock held.  The socket is read
 * only when no caller reads it and no request is held by a pause. */
void parley__conn_arm_locked(parley__conn *conn)
{
    bool held = conn->req_held && conn->read_pause != 0;
    uint32_t ev = (conn->reader_claimed || held ? 0u : (uint32_t)EPOLLIN) |
                  (conn->want_out ? (uint32_t)EPOLLOUT : 0u);

    if (!conn->io.active || conn->fd < 0 || ev == conn->armed_events)
        return;
    if (parley__loop_mod(conn->loop, &conn->io, ev) == PARLEY_OK)
        conn->armed_events = ev;
}

void parley__conn_pause_locked(parley__conn *conn, unsigned reason, bool on)
{
    unsigned before = conn->read_pause;

    /* Stored atomically: the read side looks without the lock. */
    __atomic_store_n(&conn->read_pause, on ? before | reason : before & ~reason,
                     __ATOMIC_RELAXED);
    if ((before == 0) == (conn->read_pause == 0))
        return;
    parley__conn_arm_locked(conn);
    if (conn->read_pause == 0 && !conn->closed)
        parley__conn_kick(conn);   /* frames already buffered are not in epoll's view */
}

/* The most any connection of the process ever queued (tests). */
static size_t peak_output_all;

size_t parley__conn_peak_output_all(void)
{
    return __atomic_load_n(&peak_output_all, __ATOMIC_RELAXED);
}

/* After the queue shrank or grew; wlock held: pause reading at the limit,
 * resume at half of it, wake senders waiting for room. */
static void output_changed_locked(parley__conn *conn)
{
    if (conn->queued > conn->peak_queued) {
        size_t seen = __atomic_load_n(&peak_output_all, __ATOMIC_RELAXED);

        conn->peak_queued = conn->queued;
        while (seen < conn->queued &&
               !__atomic_compare_exchange_n(&peak_output_all, &seen, conn->queued, true,
                                            __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            ;
    }
    if (conn->queued >= conn->max_output)
        parley__conn_pause_locked(conn, PARLEY__CONN_PAUSE_OUTPUT, true);
    else if (conn->queued <= conn->max_output / 2)
        parley__conn_pause_locked(conn, PARLEY__CONN_PAUSE_OUTPUT, false);
    if (conn->n_wwait > 0 && conn->queued < conn->max_output)
        pthread_cond_broadcast(&conn->wcond);
}

/* ---- the send timeout ---- */

/* Loop thread: output has waited; close the connection if nothing was
 * written for the send timeout. */
static void send_timer_fire(void *data)
{
    parley__conn *conn = data;
    uint64_t now = parley__now_ms(), due;
    char why[256];

    pthread_mutex_lock(&conn->wlock);
    conn->stimer_on = false;
    if (conn->closed || conn->head == NULL || conn->send_timeout_ms == 0) {
        pthread_mutex_unlock(&conn->wlock);
        return;
    }
    due = conn->last_progress_ms + conn->send_timeout_ms;
    if (now < due) {
        conn->stimer_on = true;
        parley__loop_timer_arm(conn->loop, &conn->send_timer, due, send_timer_fire, conn);
        pthread_mutex_unlock(&conn->wlock);
        return;
    }
    snprintf(why, sizeof(why),
             "the other end read nothing for %llu ms (the send timeout) while %zu bytes "
             "waited for it", (unsigned long long)(now - conn->last_progress_ms), conn->queued);
    pthread_mutex_unlock(&conn->wlock);
    parley__conn_do_close(conn, PARLEY_ERR_TIMEOUT, why, true);
}

static void send_timer_task(void *data)
{
    parley__conn *conn = data;

    pthread_mutex_lock(&conn->wlock);
    if (conn->stimer_on && !conn->closed && !conn->send_timer.armed)
        parley__loop_timer_arm(conn->loop, &conn->send_timer,
                               conn->last_progress_ms + conn->send_timeout_ms,
                               send_timer_fire, conn);
    pthread_mutex_unlock(&conn->wlock);
}

/* Output is waiting: make sure the send timer watches it; wlock held. */
static void send_timer_start_locked(parley__conn *conn)
{
    if (conn->stimer_on || conn->send_timeout_ms == 0 || !conn->io.active || conn->closed)
        return;
    conn->stimer_on = true;
    if (parley__loop_in_thread(conn->loop))
        parley__loop_timer_arm(conn->loop, &conn->send_timer,
                               conn->last_progress_ms + conn->send_timeout_ms,
                               send_timer_fire, conn);
    else if (parley__loop_post(conn->loop, send_timer_task, conn) != PARLEY_OK)
        conn->stimer_on = false;   /* the next frame queued tries again */
}

/* Try to write the queue; wlock held.  Returns false on a hard error. */
bool parley__conn_flush_locked(parley__conn *conn)
{
    while (conn->head != NULL) {
        struct iovec iov[FLUSH_IOV];
        struct msghdr msg;
        rights_buf ctl;
        wq_item *it = conn->head;
        int n_iov = 0;
        ssize_t n;

        /* Queued frames go out together: one sendmsg for up to FLUSH_IOV.
         * A frame with descriptors starts a sendmsg of its own, so that they
         * arrive with its first byte. */
        for (wq_item *q = it; q != NULL && n_iov < FLUSH_IOV; q = q->next, n_iov++) {
            if (q != it && q->nfds > 0)
                break;
            iov[n_iov].iov_base = q->bytes + q->off;
            iov[n_iov].iov_len = q->len - q->off;
        }
        memset(&msg, 0, sizeof(msg));
        msg.msg_iov = iov;
        msg.msg_iovlen = (size_t)n_iov;
        set_rights(&msg, &ctl, it->fds, it->nfds);
        n = sendmsg(conn->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0 && it->nfds > 0) {
            /* They left with the first byte. */
            parley__fds_close(it->fds, it->nfds);
            it->nfds = 0;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            output_changed_locked(conn);
            return errno == EAGAIN || errno == EWOULDBLOCK;
        }
        conn->queued -= (size_t)n;
        conn->last_progress_ms = parley__now_ms();
        while (n > 0) {
            size_t left = it->len - it->off;

            if ((size_t)n < left) {
                it->off += (size_t)n;
                output_changed_locked(conn);
                return true;   /* the socket is full */
            }
            n -= (ssize_t)left;
            conn->head = it->next;
            if (conn->head == NULL)
                conn->tail = NULL;
            item_free(it);
            it = conn->head;
        }
    }
    output_changed_locked(conn);
    return true;
}

/* A sender off the loop thread waits while the output is full, at most until
 * the send timeout passes without write progress; wlock held.  TIMEOUT (the
 * sentence set, *ret_why the reason for the BYE) if it passed. */
static parley_status wait_for_room_locked(parley__conn *conn, char *why, size_t why_len)
{
    parley_status st = PARLEY_OK;

    conn->n_wwait++;
    while (!conn->closed && conn->queued >= conn->max_output) {
        uint64_t now, due;
        struct timespec ts;

        if (conn->send_timeout_ms == 0) {
            pthread_cond_wait(&conn->wcond, &conn->wlock);
            continue;
        }
        now = parley__now_ms();
        due = conn->last_progress_ms + conn->send_timeout_ms;
        if (now >= due) {
            snprintf(why, why_len,
                     "the other end read nothing for %llu ms (the send timeout) while %zu "
                     "bytes waited for it", (unsigned long long)(now - conn->last_progress_ms),
                     conn->queued);
            st = parley__error(PARLEY_ERR_TIMEOUT, "%s", why);
            break;
        }
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += (time_t)((due - now) / 1000u);
        ts.tv_nsec += (long)((due - now) % 1000u) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        (void)pthread_cond_timedwait(&conn->wcond, &conn->wlock, &ts);
    }
    conn->n_wwait--;
    return st;
}

static void close_task(void *data);

typedef struct close_req {
    parley__conn *conn;
    parley_status status;
    bool bye;
    char why[];
} close_req;

parley_status parley__conn_send(parley__conn *conn, uint8_t kind, uint32_t call_id,
                                uint32_t code, const void *payload, size_t len)
{
    return parley__conn_send_fds(conn, kind, call_id, code, payload, len, NULL, 0);
}

parley_status parley__conn_send_fds(parley__conn *conn, uint8_t kind, uint32_t call_id,
                                    uint32_t code, const void *payload, size_t len,
                                    const int *fds, unsigned nfds)
{
    uint8_t hdr[PARLEY__FRAME_HEADER_SIZE];
    parley__frame_header h = { (uint32_t)len, kind, 0, (uint16_t)nfds, call_id, code };
    size_t total = sizeof(hdr) + len, done = 0;
    parley_status st = PARLEY_OK;
    bool broken = false, in_loop, timed_out = false;
    char timeout_why[256];
    int *dups = NULL;

    if (len > UINT32_MAX)
        return parley__error(PARLEY_ERR_OVERFLOW, "a frame payload of %zu bytes", len);
    if (nfds > 0) {
        if (nfds > PARLEY__FDS_HARD_MAX)
            return parley__error(PARLEY_ERR_OVERFLOW, "%u fds in one frame (at most %u)",
                                 nfds, PARLEY__FDS_HARD_MAX);
        if (!conn->is_unix)
            return parley__error(PARLEY_ERR_UNSUPPORTED,
                                 "fds travel only over unix sockets");
        for (unsigned i = 0; i < nfds; i++) {
            if (fcntl(fds[i], F_GETFD) < 0)
                return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                                     "fd %d is not an open descriptor", fds[i]);
        }
    }
    parley__frame_pack(&h, hdr);
    if (conn->ops->frame_sent != NULL)
        conn->ops->frame_sent(conn->data, &h);
    in_loop = parley__loop_in_thread(conn->loop);
    pthread_mutex_lock(&conn->wlock);
    /* Requests from a caller or a worker wait (bounded) while the output is
     * full.  Replies never wait: reading stopped at the limit, so only the
     * replies of requests already read can still come.  The loop thread
     * never waits: it is what empties the queue. */
    if (!in_loop && (kind == PARLEY__FRAME_CALL || kind == PARLEY__FRAME_ONEWAY) &&
        !conn->closed && conn->queued >= conn->max_output) {
        st = wait_for_room_locked(conn, timeout_why, sizeof(timeout_why));
        if (st != PARLEY_OK) {
            timed_out = true;
            goto done;
        }
    }
    if (conn->closed) {
        st = parley__error(PARLEY_ERR_CONNECTION_CLOSED, "the connection is closed");
        goto done;
    }
    if (conn->head == NULL &&
        !(nfds == 0 && total <= CORK_MAX && in_loop && conn->corked)) {
        struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)payload, len } };
        struct msghdr msg;
        rights_buf ctl;
        ssize_t n;

        memset(&msg, 0, sizeof(msg));
        msg.msg_iov = iov;
        msg.msg_iovlen = len > 0 ? 2 : 1;
        set_rights(&msg, &ctl, fds, nfds);
        do
            n = sendmsg(conn->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n < 0 && nfds > 0 && (errno == ETOOMANYREFS || errno == EBADF)) {
            st = parley__error_errno(PARLEY_ERR_SYSTEM, errno, "sending %u fds", nfds);
            goto done;
        }
        if (n > 0)
            nfds = 0;   /* the descriptors left with the first byte */
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            st = parley__error_errno(PARLEY_ERR_CONNECTION_CLOSED, errno, "sending a %s frame",
                                     parley__frame_kind_name(kind));
            broken = true;
            goto done;
        }
        done = n < 0 ? 0 : (size_t)n;
        if (done == total)
            goto done;
        /* The socket is full: the rest waits in the queue (nobody blocks on
         * the other end's reading). */
    }
    if (nfds > 0) {
        /* Not sent yet: the queue keeps duplicates until they leave. */
        dups = malloc(sizeof(int) * nfds);
        if (dups == NULL) {
            st = parley__error(PARLEY_ERR_NOMEM, "out of memory queueing fds");
            goto done;
        }
        for (unsigned i = 0; i < nfds; i++) {
            dups[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);
            if (dups[i] < 0) {
                st = parley__error_errno(PARLEY_ERR_SYSTEM, errno, "duplicating fd %d", fds[i]);
                parley__fds_close(dups, i);
                free(dups);
                dups = NULL;
                goto done;
            }
        }
    }
    {
        wq_item *it = malloc(sizeof(*it) + (total - done));

        if (it == NULL) {
            st = parley__error(PARLEY_ERR_NOMEM, "out of memory queueing a frame");
            if (done > 0)
                broken = true;   /* a partial frame went out: the stream is unusable */
            if (dups != NULL) {
                parley__fds_close(dups, nfds);
                free(dups);
            }
            goto done;
        }
        it->next = NULL;
        it->fds = dups;
        it->nfds = dups != NULL ? nfds : 0;
        it->len = total - done;
        it->off = 0;
        it->begun = done > 0;
        if (done < sizeof(hdr)) {
            memcpy(it->bytes, hdr + done, sizeof(hdr) - done);
            if (len > 0)
                memcpy(it->bytes + sizeof(hdr) - done, payload, len);
        } else {
            memcpy(it->bytes, (const uint8_t *)payload + (done - sizeof(hdr)), total - done);
        }
        if (conn->tail != NULL) {
            conn->tail->next = it;
        } else {
            conn->head = it;
            /* Output starts to wait: the send timeout counts from now. */
            conn->last_progress_ms = parley__now_ms();
        }
        conn->tail = it;
        conn->queued += it->len;
        if (!conn->want_out && !(in_loop && conn->corked)) {
            conn->want_out = true;
            parley__conn_arm_locked(conn);
        }
        send_timer_start_locked(conn);
        output_changed_locked(conn);
    }
done:
    pthread_mutex_unlock(&conn->wlock);
    if (broken)
        parley__conn_close(conn, PARLEY_ERR_CONNECTION_CLOSED, parley_error_message(), false);
    if (timed_out) {
        parley__conn_close(conn, PARLEY_ERR_TIMEOUT, timeout_why, true);
        (void)parley__error(PARLEY_ERR_TIMEOUT, "%s", timeout_why);
    }
    return st;
}

/* Loop thread, wlock held, the socket ours alone: the last bytes go out
 * (the rest of a frame already begun, then the BYE) as the other end makes
 * room, for a bounded time (parley__linger_start()).  Frames not begun are
 * dropped.  The fd passes to the linger: false (nothing done) if the BYE
 * does not encode. */
static bool close_with_bye_locked(parley__conn *conn, parley_status status, const char *why)
{
    uint8_t *msg = NULL, *bytes;
    size_t msg_len, rest = 0, len;
    parley__frame_header h;
    uint64_t ms;

    (void)parley__conn_flush_locked(conn);
    if (conn->head != NULL && (conn->head->begun || conn->head->off > 0))
        rest = conn->head->len - conn->head->off;
    if (parley__message_encode(NULL, why, &msg, &msg_len) != PARLEY_OK)
        return false;
    len = rest + PARLEY__FRAME_HEADER_SIZE + msg_len;
    bytes = talloc_size(msg, len);
    if (bytes == NULL) {
        talloc_free(msg);
        return false;
    }
    if (rest > 0)
        memcpy(bytes, conn->head->bytes + conn->head->off, rest);
    h = (parley__frame_header){ (uint32_t)msg_len, PARLEY__FRAME_BYE, 0, 0, 0, (uint32_t)status };
    parley__frame_pack(&h, bytes + rest);
    memcpy(bytes + rest + PARLEY__FRAME_HEADER_SIZE, msg, msg_len);
    /* As long as the send timeout (a second without one), at most 10 s. */
    ms = conn->send_timeout_ms == 0 ? 1000u :
         conn->send_timeout_ms > 10000u ? 10000u : conn->send_timeout_ms;
    parley__loop_del(conn->loop, &conn->io);
    parley__linger_start(conn->loop, conn->fd, bytes, len, ms);
    conn->fd = -1;
    talloc_free(msg);
    return true;
}

/* Loop thread: close now. */
void parley__conn_do_close(parley__conn *conn, parley_status status, const char *why, bool bye)
{
    /* Closing because the other end went (a failed write, an end of file):
     * what it sent before it went is delivered first, its BYE above all,
     * so that the reason it gave wins over "connection closed". */
    if (!bye && status == PARLEY_ERR_CONNECTION_CLOSED)
        parley__conn_read_remaining(conn);
    pthread_mutex_lock(&conn->wlock);
    if (conn->closed) {
        pthread_mutex_unlock(&conn->wlock);
        return;
    }
    conn->closed = true;
    conn->stimer_on = false;
    parley__loop_timer_cancel(conn->loop, &conn->send_timer);
    if (bye && conn->fd >= 0 && conn->fd_users == 0 &&
        close_with_bye_locked(conn, status, why != NULL ? why : "")) {
        /* the socket is the linger's now */
    } else if (bye && conn->fd >= 0 && parley__conn_flush_locked(conn) && conn->head == NULL) {
        parley__socket_send_bye(conn->fd, status, why);
    }
    if (conn->fd >= 0 && conn->fd_users > 0) {
        /* Another thread polls the socket: wake it; it closes the fd when it
         * lets go (parley__conn_release_fd_locked()). */
        parley__loop_del(conn->loop, &conn->io);
        shutdown(conn->fd, SHUT_RDWR);
        conn->deferred_fd = conn->fd;
        conn->fd = -1;
    } else if (conn->fd >= 0) {
        uint8_t sink[4096];

        parley__loop_del(conn->loop, &conn->io);
        shutdown(conn->fd, SHUT_WR);
        /* Drain what we have not read, so TCP does not reset over the BYE. */
        for (int i = 0; i < 64 && recv(conn->fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
            ;
        close(conn->fd);
        conn->fd = -1;
    }
    queue_free(conn);
    pthread_cond_broadcast(&conn->wcond);
    pthread_mutex_unlock(&conn->wlock);
    if (!conn->closed_cb_done) {
        conn->closed_cb_done = true;
        conn->ops->closed(conn->data, status, why != NULL ? why : "");
    }
}

static void close_task(void *data)
{
    close_req *req = data;

    parley__conn_do_close(req->conn, req->status, req->why, req->bye);
    free(req);
}

void parley__conn_close(parley__conn *conn, parley_status status, const char *why, bool bye)
{
    size_t n;
    close_req *req;

    if (parley__loop_in_thread(conn->loop)) {
        parley__conn_do_close(conn, status, why, bye);
        return;
    }
    n = why != NULL ? strlen(why) : 0;
    req = malloc(sizeof(*req) + n + 1);
    if (req == NULL) {
        /* Cannot queue the close: at least stop the socket; the loop sees EOF. */
        pthread_mutex_lock(&conn->wlock);
        if (conn->fd >= 0)
            shutdown(conn->fd, SHUT_RDWR);
        pthread_mutex_unlock(&conn->wlock);
        return;
    }
    req->conn = conn;
    req->status = status;
    req->bye = bye;
    memcpy(req->why, why != NULL ? why : "", n + 1);
    /* The task holds no reference: the conn stays valid for it because it
     * is queued before the conn's free.  The owner frees the conn (through
     * a task, parley__conn_free_later()) only after `closed` ran, which is
     * after parley__conn_do_close() set conn->closed under wlock.  So: post
     * under wlock while the conn is open, and never once it is closed (the
     * close has nothing left to do, and the free may be queued already). */
    pthread_mutex_lock(&conn->wlock);
    if (conn->closed || parley__loop_post(conn->loop, close_task, req) != PARLEY_OK) {
        pthread_mutex_unlock(&conn->wlock);
        free(req);
        return;
    }
    pthread_mutex_unlock(&conn->wlock);
}

void parley__conn_wake_waiters(parley__conn *conn)
{
    uint64_t one = 1;

    /* EAGAIN (the counter is full) still leaves it readable. */
    (void)!write(conn->wake_fd, &one, sizeof(one));
}

void parley__conn_set_read_paused(parley__conn *conn, bool paused)
{
    pthread_mutex_lock(&conn->wlock);
    parley__conn_pause_locked(conn, PARLEY__CONN_PAUSE_CALLS, paused);
    pthread_mutex_unlock(&conn->wlock);
}

void parley__conn_set_queue_paused(parley__conn *conn, bool paused)
{
    pthread_mutex_lock(&conn->wlock);
    parley__conn_pause_locked(conn, PARLEY__CONN_PAUSE_QUEUE, paused);
    pthread_mutex_unlock(&conn->wlock);
}

static void free_task(void *data)
{
    talloc_free(data);
}

void parley__conn_free_later(parley__conn *conn)
{
    if (parley__loop_post(conn->loop, free_task, conn) != PARLEY_OK)
        talloc_free(conn);
}
