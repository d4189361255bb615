/* Connections: framing over a stream socket. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "conn.h"
#include "status.h"

#define RBUF_INITIAL 4096u
#define RBUF_KEEP (64u * 1024u)
#define READ_BUDGET (256u * 1024u)
#define FLUSH_IOV 64
/* While the loop thread handles a batch of frames, replies up to this size
 * are queued and leave in one sendmsg at the end of the batch. */
#define CORK_MAX (16u * 1024u)
/* A sender off the loop thread finishes a partly sent frame itself (instead
 * of copying the rest into the queue) when more than this is left. */
#define DIRECT_MIN (64u * 1024u)

typedef struct deferred_frame {
    struct deferred_frame *next;
    parley__frame_header hdr;
    uint8_t payload[];
} deferred_frame;

typedef struct wq_item {
    struct wq_item *next;
    size_t len, off;
    uint8_t bytes[];
} wq_item;

struct parley__conn {
    parley__loop *loop;
    parley__io io;
    const parley__conn_ops *ops;
    void *data;
    uint32_t max_payload;

    /* Read side, under rlock (the loop thread, or a caller reading its reply). */
    pthread_mutex_t rlock;
    uint8_t *rbuf;
    size_t rcap, rpos, rlen;
    pthread_mutex_t dlock;                       /* guards deferred */
    deferred_frame *deferred, **deferred_tail;   /* set aside by a caller, in order */
    bool closed_cb_done;                         /* loop thread */
    bool last_small;                             /* the last frame was small */

    /* Write side, under wlock. */
    pthread_mutex_t wlock;
    pthread_cond_t wcond;
    int fd;
    bool closed;
    bool want_out;
    bool corked;              /* loop thread only: more frames are buffered */
    bool reader_claimed;      /* a caller polls fd for its reply */
    bool writing;             /* a sender polls fd to finish its frame */
    int fd_users;             /* threads polling fd outside wlock: do not close it */
    int deferred_fd;          /* closed by the last of them (-1: none) */
    wq_item *head, *tail;
    size_t queued;
};

static void queue_free(parley__conn *conn)
{
    while (conn->head != NULL) {
        wq_item *it = conn->head;

        conn->head = it->next;
        free(it);
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
        free(d);
    }
    pthread_cond_destroy(&conn->wcond);
    pthread_mutex_destroy(&conn->wlock);
    pthread_mutex_destroy(&conn->rlock);
    pthread_mutex_destroy(&conn->dlock);
    return 0;
}

static void conn_io(void *data, uint32_t events);

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
    pthread_mutex_init(&conn->wlock, NULL);
    pthread_mutex_init(&conn->rlock, NULL);
    pthread_mutex_init(&conn->dlock, NULL);
    pthread_cond_init(&conn->wcond, NULL);
    conn->deferred_tail = &conn->deferred;
    conn->deferred_fd = -1;
    talloc_set_destructor(conn, conn_destructor);
    conn->io.fd = fd;
    conn->io.fn = conn_io;
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

void parley__conn_set_max_payload(parley__conn *conn, uint32_t max_payload)
{
    conn->max_payload = max_payload;
}

/* A thread that polled fd outside wlock lets go; wlock held. */
static void release_fd_locked(parley__conn *conn)
{
    if (--conn->fd_users == 0 && conn->deferred_fd >= 0) {
        close(conn->deferred_fd);
        conn->deferred_fd = -1;
    }
}

/* Set the epoll interest from the state; wlock held. */
static void arm_locked(parley__conn *conn)
{
    (void)parley__loop_mod(conn->loop, &conn->io,
                           (conn->reader_claimed ? 0u : (uint32_t)EPOLLIN) |
                           (conn->want_out ? (uint32_t)EPOLLOUT : 0u));
}

/* Try to write the queue; wlock held.  Returns false on a hard error. */
static bool flush_locked(parley__conn *conn)
{
    while (conn->head != NULL) {
        struct iovec iov[FLUSH_IOV];
        struct msghdr msg;
        wq_item *it = conn->head;
        int n_iov = 0;
        ssize_t n;

        /* Queued frames go out together: one sendmsg for up to FLUSH_IOV. */
        for (wq_item *q = it; q != NULL && n_iov < FLUSH_IOV; q = q->next, n_iov++) {
            iov[n_iov].iov_base = q->bytes + q->off;
            iov[n_iov].iov_len = q->len - q->off;
        }
        memset(&msg, 0, sizeof(msg));
        msg.msg_iov = iov;
        msg.msg_iovlen = (size_t)n_iov;
        n = sendmsg(conn->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
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
            free(it);
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
    release_fd_locked(conn);
    if (!conn->closed && conn->head != NULL) {
        if (!flush_locked(conn))
            *broken = true;
        else if (conn->head != NULL && !conn->want_out) {
            conn->want_out = true;
            arm_locked(conn);
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
    uint8_t hdr[PARLEY__FRAME_HEADER_SIZE];
    parley__frame_header h = { (uint32_t)len, kind, 0, 0, call_id, code };
    size_t total = sizeof(hdr) + len, done = 0;
    parley_status st = PARLEY_OK;
    bool broken = false;

    if (len > UINT32_MAX)
        return parley__error(PARLEY_ERR_OVERFLOW, "a frame payload of %zu bytes", len);
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
        !(total <= CORK_MAX && parley__loop_in_thread(conn->loop) && conn->corked)) {
        struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)payload, len } };
        struct msghdr msg;
        ssize_t n;

        memset(&msg, 0, sizeof(msg));
        msg.msg_iov = iov;
        msg.msg_iovlen = len > 0 ? 2 : 1;
        do
            n = sendmsg(conn->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            st = parley__error_errno(PARLEY_ERR_CONNECTION_CLOSED, errno, "sending a %s frame",
                                     parley__frame_kind_name(kind));
            broken = true;
            goto done;
        }
        done = n < 0 ? 0 : (size_t)n;
        if (done == total)
            goto done;
        if (total - done > DIRECT_MIN && conn->io.active && !parley__loop_in_thread(conn->loop)) {
            /* A large frame from a caller or worker: finish writing it here
             * rather than copy it into the queue. */
            st = write_rest(conn, hdr, payload, len, done, &broken);
            goto done;
        }
    }
    {
        wq_item *it = malloc(sizeof(*it) + (total - done));

        if (it == NULL) {
            st = parley__error(PARLEY_ERR_NOMEM, "out of memory queueing a frame");
            if (done > 0)
                broken = true;   /* a partial frame went out: the stream is unusable */
            goto done;
        }
        it->next = NULL;
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
                arm_locked(conn);
        }
    }
done:
    pthread_mutex_unlock(&conn->wlock);
    if (broken)
        parley__conn_close(conn, PARLEY_ERR_CONNECTION_CLOSED, parley_error_message(), false);
    return st;
}

/* Loop thread: close now. */
static void do_close(parley__conn *conn, parley_status status, const char *why, bool bye)
{
    pthread_mutex_lock(&conn->wlock);
    if (conn->closed) {
        pthread_mutex_unlock(&conn->wlock);
        return;
    }
    conn->closed = true;
    if (bye && conn->fd >= 0 && !conn->writing) {
        uint8_t *buf = NULL;
        size_t len = 0;

        if (flush_locked(conn) && conn->head == NULL &&
            parley__message_encode(NULL, why, &buf, &len) == PARLEY_OK) {
            uint8_t hdr[PARLEY__FRAME_HEADER_SIZE];
            parley__frame_header h = { (uint32_t)len, PARLEY__FRAME_BYE, 0, 0, 0,
                                       (uint32_t)status };
            struct iovec iov[2] = { { hdr, sizeof(hdr) }, { buf, len } };
            struct msghdr msg;

            parley__frame_pack(&h, hdr);
            memset(&msg, 0, sizeof(msg));
            msg.msg_iov = iov;
            msg.msg_iovlen = 2;
            (void)!sendmsg(conn->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        talloc_free(buf);
    }
    if (conn->fd >= 0 && conn->fd_users > 0) {
        /* Another thread polls the socket: wake it; it closes the fd when it
         * lets go (release_fd_locked()). */
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

    do_close(req->conn, req->status, req->why, req->bye);
    free(req);
}

void parley__conn_close(parley__conn *conn, parley_status status, const char *why, bool bye)
{
    size_t n;
    close_req *req;

    if (parley__loop_in_thread(conn->loop)) {
        do_close(conn, status, why, bye);
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

static void free_task(void *data)
{
    talloc_free(data);
}

void parley__conn_free_later(parley__conn *conn)
{
    if (parley__loop_post(conn->loop, free_task, conn) != PARLEY_OK)
        talloc_free(conn);
}

/* ---- read side: under rlock (the loop thread, or a caller reading its own
 * reply in parley__conn_wait_reply()) ---- */

/* The next complete frame in rbuf: 1 (consumed; *payload points into rbuf),
 * 0 (need more bytes; room is made for the whole frame), -1 (the header
 * breaks the framing: *ret_st, and the sentence is set). */
static int next_frame(parley__conn *conn, parley__frame_header *h, const uint8_t **payload,
                      parley_status *ret_st)
{
    size_t need;
    parley_status st;

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
    do
        n = recv(fd, conn->rbuf + conn->rlen, conn->rcap - conn->rlen,
                 block ? 0 : MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
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
static bool drain_deferred(parley__conn *conn)
{
    for (;;) {
        deferred_frame *d;

        pthread_mutex_lock(&conn->dlock);
        d = conn->deferred;
        if (d != NULL) {
            conn->deferred = d->next;
            if (conn->deferred == NULL)
                conn->deferred_tail = &conn->deferred;
        }
        pthread_mutex_unlock(&conn->dlock);
        if (d == NULL)
            return !conn->closed;
        if (!conn->closed)
            conn->ops->frame(conn->data, &d->hdr, d->payload);
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
    int r;

    if (!drain_deferred(conn))
        return false;
    while ((r = next_frame(conn, &h, &payload, &st)) == 1) {
        /* More frames waiting: replies queue up and leave together. */
        conn->corked = conn->rlen - conn->rpos >= PARLEY__FRAME_HEADER_SIZE;
        conn->ops->frame(conn->data, &h, payload);
        if (conn->closed)
            return false;
    }
    conn->corked = false;
    if (r < 0) {
        char why[PARLEY__ERROR_MAX];

        snprintf(why, sizeof(why), "%s", parley_error_message());
        do_close(conn, st, why, true);
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
    while (budget > 0 && !conn->closed) {
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
            do_close(conn, PARLEY_ERR_CONNECTION_CLOSED, why, false);
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

        if (!flush_locked(conn)) {
            pthread_mutex_unlock(&conn->wlock);
            pthread_mutex_unlock(&conn->rlock);
            do_close(conn, PARLEY_ERR_CONNECTION_CLOSED, "writing the connection failed", false);
            return;
        }
        more = conn->head != NULL;
        if (more != conn->want_out) {
            conn->want_out = more;
            arm_locked(conn);
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

bool parley__conn_wait_reply(parley__conn *conn, uint32_t call_id, bool *done,
                             pthread_mutex_t *done_lock)
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
    arm_locked(conn);
    pthread_mutex_unlock(&conn->wlock);

    for (;;) {
        parley__frame_header h;
        const uint8_t *payload;
        parley_status st;
        int r;
        ssize_t n;

        pthread_mutex_lock(done_lock);
        finished = *done;
        pthread_mutex_unlock(done_lock);
        if (finished)
            break;
        /* Frames already here: ours is handled now, others set aside in order. */
        while ((r = next_frame(conn, &h, &payload, &st)) == 1) {
            if (h.kind == PARLEY__FRAME_REPLY && h.call_id == call_id) {
                conn->ops->frame(conn->data, &h, payload);
                finished = true;
                break;
            }
            {
                deferred_frame *d = malloc(sizeof(*d) + h.length);

                if (d == NULL) {
                    /* Put it back for the loop thread and stop reading. */
                    conn->rpos -= PARLEY__FRAME_HEADER_SIZE + h.length;
                    r = -1;
                    break;
                }
                d->hdr = h;
                d->next = NULL;
                memcpy(d->payload, payload, h.length);
                pthread_mutex_lock(&conn->dlock);
                *conn->deferred_tail = d;
                conn->deferred_tail = &d->next;
                pthread_mutex_unlock(&conn->dlock);
                /* The loop thread handles it now (a callback may be what
                 * our own reply waits for). */
                (void)parley__loop_post(conn->loop, drain_task, conn);
            }
        }
        if (finished || r < 0)
            break;   /* done, or a framing error the loop thread reports */
        /* The socket is in blocking mode: wait in recv() itself. */
        n = fill(conn, fd, true);
        if (n == 0 || n == -2)
            break;   /* EOF or error: the loop thread closes the connection */
    }

    pthread_mutex_lock(&conn->wlock);
    conn->reader_claimed = false;
    if (!conn->closed)
        arm_locked(conn);
    release_fd_locked(conn);
    pthread_mutex_unlock(&conn->wlock);
    kick = conn->rpos != conn->rlen;
    if (!kick)
        shrink_idle(conn);
    pthread_mutex_unlock(&conn->rlock);
    if (kick)
        (void)parley__loop_post(conn->loop, kick_task, conn);
    return finished;
}
static void conn_io(void *data, uint32_t events)
{
    parley__conn *conn = data;

    if (events & EPOLLOUT) {
        bool ok;

        pthread_mutex_lock(&conn->wlock);
        ok = conn->closed || conn->writing || flush_locked(conn);
        if (ok && !conn->closed && (conn->head == NULL || conn->writing) && conn->want_out) {
            /* Drained; or a sender is finishing a frame and flushes after it. */
            conn->want_out = false;
            arm_locked(conn);
        }
        if (conn->queued <= PARLEY__CONN_HIGH_WATER)
            pthread_cond_broadcast(&conn->wcond);
        pthread_mutex_unlock(&conn->wlock);
        if (!ok) {
            do_close(conn, PARLEY_ERR_CONNECTION_CLOSED, "writing the connection failed", false);
            return;
        }
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        conn_read(conn);
}
