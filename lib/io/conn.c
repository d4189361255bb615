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
#include <unistd.h>

#include <fcntl.h>
#include <sys/eventfd.h>

#include "conn_private.h"
#include "fds.h"
#include "frame_fds.h"
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
    pthread_mutex_destroy(&conn->rlock);
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
    pthread_mutex_init(&conn->rlock, NULL);
    pthread_mutex_init(&conn->dlock, NULL);
    pthread_cond_init(&conn->wcond, NULL);
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
    st = parley__loop_add(conn->loop, &conn->io,
                          EPOLLIN | (conn->want_out ? EPOLLOUT : 0u));
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

void parley__conn_set_max_fds(parley__conn *conn, unsigned n)
{
    conn->max_fds = n;
}

void parley__conn_set_max_payload(parley__conn *conn, uint32_t max_payload)
{
    conn->max_payload = max_payload;
}

/* A thread that polled fd outside wlock lets go; wlock held. */
void parley__conn_release_fd_locked(parley__conn *conn)
{
    if (--conn->fd_users == 0 && conn->deferred_fd >= 0) {
        close(conn->deferred_fd);
        conn->deferred_fd = -1;
    }
}

/* Set the epoll interest from the state; wlock held. */
void parley__conn_arm_locked(parley__conn *conn)
{
    (void)parley__loop_mod(conn->loop, &conn->io,
                           (conn->reader_claimed ||
                            __atomic_load_n(&conn->read_paused, __ATOMIC_ACQUIRE) ?
                            0u : (uint32_t)EPOLLIN) |
                           (conn->want_out ? (uint32_t)EPOLLOUT : 0u));
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
            return errno == EAGAIN || errno == EWOULDBLOCK;
        }
        conn->queued -= (size_t)n;
        while (n > 0) {
            size_t left = it->len - it->off;

            if ((size_t)n < left) {
                it->off += (size_t)n;
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
    return true;
}

/* Finish a frame of which `done` bytes went out, polling for POLLOUT with
 * wlock released (writing keeps other senders and the flushers off the
 * socket); then flush what others queued meanwhile.  wlock held on entry and
 * exit. */
static parley_status write_rest(parley__conn *conn, const uint8_t *hdr, const void *payload,
                                size_t len, size_t done, bool *broken)
{
    size_t total = PARLEY__FRAME_HEADER_SIZE + len;
    int fd = conn->fd;
    parley_status st = PARLEY_OK;

    conn->writing = true;
    conn->fd_users++;
    while (done < total) {
        struct pollfd p = { fd, POLLOUT, 0 };
        struct iovec iov[2];
        struct msghdr msg;
        int n_iov = 0;
        ssize_t n;

        pthread_mutex_unlock(&conn->wlock);
        (void)poll(&p, 1, -1);
        pthread_mutex_lock(&conn->wlock);
        if (conn->closed) {
            st = parley__error(PARLEY_ERR_CONNECTION_CLOSED,
                               "the connection closed while a frame was being sent");
            break;
        }
        if (done < PARLEY__FRAME_HEADER_SIZE) {
            iov[n_iov].iov_base = (void *)(hdr + done);
            iov[n_iov++].iov_len = PARLEY__FRAME_HEADER_SIZE - done;
            iov[n_iov].iov_base = (void *)payload;
            iov[n_iov++].iov_len = len;
        } else {
            iov[n_iov].iov_base = (uint8_t *)payload + (done - PARLEY__FRAME_HEADER_SIZE);
            iov[n_iov++].iov_len = total - done;
        }
        memset(&msg, 0, sizeof(msg));
        msg.msg_iov = iov;
        msg.msg_iovlen = (size_t)n_iov;
        n = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            st = parley__error_errno(PARLEY_ERR_CONNECTION_CLOSED, errno, "sending a frame");
            *broken = true;
            break;
        }
        done += (size_t)n;
    }
    conn->writing = false;
    parley__conn_release_fd_locked(conn);
    if (!conn->closed && conn->head != NULL) {
        if (!parley__conn_flush_locked(conn))
            *broken = true;
        else if (conn->head != NULL && !conn->want_out) {
            conn->want_out = true;
            parley__conn_arm_locked(conn);
        }
    }
    pthread_cond_broadcast(&conn->wcond);
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
    bool broken = false;
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
    pthread_mutex_lock(&conn->wlock);
    while (!conn->closed && conn->queued > PARLEY__CONN_HIGH_WATER &&
           !parley__loop_in_thread(conn->loop))
        pthread_cond_wait(&conn->wcond, &conn->wlock);
    if (conn->closed) {
        st = parley__error(PARLEY_ERR_CONNECTION_CLOSED, "the connection is closed");
        goto done;
    }
    if (conn->head == NULL && !conn->writing &&
        !(nfds == 0 && total <= CORK_MAX && parley__loop_in_thread(conn->loop) && conn->corked)) {
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
        if (total - done > DIRECT_MIN && conn->io.active && nfds == 0 &&
            !parley__loop_in_thread(conn->loop)) {
            /* A large frame from a caller or worker: finish writing it here
             * rather than copy it into the queue. */
            st = write_rest(conn, hdr, payload, len, done, &broken);
            goto done;
        }
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
        if (done < sizeof(hdr)) {
            memcpy(it->bytes, hdr + done, sizeof(hdr) - done);
            if (len > 0)
                memcpy(it->bytes + sizeof(hdr) - done, payload, len);
        } else {
            memcpy(it->bytes, (const uint8_t *)payload + (done - sizeof(hdr)), total - done);
        }
        if (conn->tail != NULL)
            conn->tail->next = it;
        else
            conn->head = it;
        conn->tail = it;
        conn->queued += it->len;
        if (!conn->want_out && !(parley__loop_in_thread(conn->loop) && conn->corked)) {
            conn->want_out = true;
            if (conn->io.active)
                parley__conn_arm_locked(conn);
        }
    }
done:
    pthread_mutex_unlock(&conn->wlock);
    if (broken)
        parley__conn_close(conn, PARLEY_ERR_CONNECTION_CLOSED, parley_error_message(), false);
    return st;
}

/* Loop thread: close now. */
void parley__conn_do_close(parley__conn *conn, parley_status status, const char *why, bool bye)
{
    pthread_mutex_lock(&conn->wlock);
    if (conn->closed) {
        pthread_mutex_unlock(&conn->wlock);
        return;
    }
    conn->closed = true;
    if (bye && conn->fd >= 0 && !conn->writing && parley__conn_flush_locked(conn) &&
        conn->head == NULL)
        parley__socket_send_bye(conn->fd, status, why);
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
    if (parley__loop_post(conn->loop, close_task, req) != PARLEY_OK)
        free(req);
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
    if (__atomic_load_n(&conn->read_paused, __ATOMIC_RELAXED) != paused) {
        __atomic_store_n(&conn->read_paused, paused, __ATOMIC_RELEASE);
        if (!conn->closed && conn->io.active)
            parley__conn_arm_locked(conn);
    }
    pthread_mutex_unlock(&conn->wlock);
    if (!paused) {
        parley__conn_wake_waiters(conn);
        parley__conn_kick(conn);   /* frames read before the pause */
    }
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
