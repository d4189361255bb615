/* SPDX-License-Identifier: MIT */
/* Runtime, flow control: bounded output per connection, reading paused
 * while a connection's output is full, the send timeout, and many large
 * calls in flight.  Real peers over real unix sockets; the misbehaving
 * client speaks frames by hand and never reads. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "conn.h"
#include "conn_private.h"
#include "endpoint.h"
#include "frame.h"
#include "handshake.h"
#include "server_proc.h"
#include "socket.h"
#include "suites.h"
#include "test_proto.h"

/* ---- an in-process server that records why its sessions closed ---- */

typedef struct flow_srv {
    parley_peer *peer;
    char *endpoint;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int n_timeouts;              /* sessions closed by the send timeout */
    char why[512];               /* the sentence of the first of them */
} flow_srv;

static void on_exception(parley_peer *peer, parley_session *session, parley_status status,
                         const char *message, void *data)
{
    flow_srv *fs = data;

    (void)peer;
    (void)session;
    pthread_mutex_lock(&fs->lock);
    if (status == PARLEY_ERR_TIMEOUT) {
        if (fs->n_timeouts++ == 0)
            snprintf(fs->why, sizeof(fs->why), "%s", message);
        pthread_cond_broadcast(&fs->cond);
    }
    pthread_mutex_unlock(&fs->lock);
}

static void server_start(TALLOC_CTX *mem, flow_srv *fs, const char *dir, size_t max_output,
                         int64_t send_ms, unsigned workers, unsigned max_outstanding)
{
    char ep[400];

    memset(fs, 0, sizeof(*fs));
    pthread_mutex_init(&fs->lock, NULL);
    pthread_cond_init(&fs->cond, NULL);
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &fs->peer), PARLEY_OK);
    ck_assert_int_eq(tp_serve(fs->peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_workers(fs->peer, workers), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_max_output(fs->peer, max_output), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_timeout(fs->peer, PARLEY_TIMEOUT_SEND, send_ms), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_max_outstanding_calls(fs->peer, max_outstanding), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_exception_function(fs->peer, on_exception, fs), PARLEY_OK);
    snprintf(ep, sizeof(ep), "unix:%s/flow.sock", dir);
    ck_assert_int_eq(parley_peer_add_listen_endpoint(fs->peer, ep, 0600), PARLEY_OK);
    ck_assert_int_eq(parley_peer_start_listen(fs->peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_get_listen_endpoint(fs->peer, 0, mem, &fs->endpoint),
                     PARLEY_OK);
}

/* Wait (bounded: 30 s) until a session was closed by the send timeout. */
static bool wait_timeout_close(flow_srv *fs)
{
    struct timespec ts;
    bool got;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 30;
    pthread_mutex_lock(&fs->lock);
    while (fs->n_timeouts == 0 &&
           pthread_cond_timedwait(&fs->cond, &fs->lock, &ts) != ETIMEDOUT)
        ;
    got = fs->n_timeouts > 0;
    pthread_mutex_unlock(&fs->lock);
    return got;
}

static void server_stop(flow_srv *fs)
{
    talloc_free(fs->peer);
    pthread_cond_destroy(&fs->cond);
    pthread_mutex_destroy(&fs->lock);
}

/* ---- a raw client: frames by hand ---- */

static bool read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;

    while (got < n) {
        struct pollfd p = { fd, POLLIN, 0 };
        ssize_t r;

        if (poll(&p, 1, 10000) <= 0)
            return false;
        r = read(fd, (uint8_t *)buf + got, n - got);
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

static bool read_frame(TALLOC_CTX *mem, int fd, parley__frame_header *h, uint8_t **payload)
{
    uint8_t b[PARLEY__FRAME_HEADER_SIZE];

    if (!read_full(fd, b, sizeof(b)))
        return false;
    ck_assert_int_eq(parley__frame_unpack(b, UINT32_MAX, h), PARLEY_OK);
    *payload = talloc_zero_size(mem, h->length + 1);
    return read_full(fd, *payload, h->length);
}

static void write_frame(int fd, uint8_t kind, uint32_t id, uint32_t code, const void *payload,
                        size_t len)
{
    parley__frame_header h = { (uint32_t)len, kind, 0, 0, id, code };
    uint8_t b[PARLEY__FRAME_HEADER_SIZE];

    parley__frame_pack(&h, b);
    ck_assert_int_eq(write(fd, b, sizeof(b)), (ssize_t)sizeof(b));
    if (len > 0)
        ck_assert_int_eq(write(fd, payload, len), (ssize_t)len);
}

/* Connect and shake hands by hand. */
static int raw_session(TALLOC_CTX *mem, const char *endpoint)
{
    parley__endpoint *ep;
    parley__frame_header h;
    uint8_t *p, *hello;
    size_t len;
    int fd = -1;

    ck_assert_int_eq(parley__endpoint_parse(NULL, endpoint, &ep), PARLEY_OK);
    ck_assert_int_eq(parley__socket_connect(ep, &fd), PARLEY_OK);
    talloc_free(ep);
    ck_assert(read_frame(mem, fd, &h, &p));
    ck_assert_uint_eq(h.kind, PARLEY__FRAME_HELLO);
    ck_assert_int_eq(parley__hello_encode(mem, tp_protocol(TP_V1), 1u << 20, 0, &hello, &len),
                     PARLEY_OK);
    write_frame(fd, PARLEY__FRAME_HELLO, 0, 0, hello, len);
    return fd;
}

/* One encoded request of method. */
static void encode_request(TALLOC_CTX *mem, uint32_t method, const void *req, uint8_t **ret,
                           size_t *ret_len)
{
    const parley_method *m = parley_protocol_find_method(tp_protocol(TP_V1), method);

    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(parley_data_encode(mem, m->request, req, NULL, ret, ret_len), PARLEY_OK);
}

/* Send CALL frames of one request, never reading, until the server's queue
 * has reached `full` bytes (in this process: parley__conn_peak_output_all())
 * and the socket has stayed full for 500 ms since (the server stopped
 * reading), or max_bytes went out, or nothing went out for 60 s (a bound
 * only).  Returns the bytes sent. */
static size_t flood(int fd, uint32_t method, const uint8_t *req, size_t req_len, size_t full,
                    size_t max_bytes)
{
    size_t frame_len = PARLEY__FRAME_HEADER_SIZE + req_len, sent = 0, off = 0;
    uint8_t *frame = malloc(frame_len);
    uint32_t id = 1;
    int flags = fcntl(fd, F_GETFL), stalled_ms = 0;

    ck_assert_ptr_nonnull(frame);
    ck_assert_int_eq(fcntl(fd, F_SETFL, flags | O_NONBLOCK), 0);
    while (sent < max_bytes) {
        ssize_t n;

        if (off == 0) {
            parley__frame_header h = { (uint32_t)req_len, PARLEY__FRAME_CALL, 0, 0, id++, method };

            parley__frame_pack(&h, frame);
            memcpy(frame + PARLEY__FRAME_HEADER_SIZE, req, req_len);
        }
        n = send(fd, frame + off, frame_len - off, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p = { fd, POLLOUT, 0 };

            if (poll(&p, 1, 100) == 0) {
                stalled_ms += 100;
                if ((stalled_ms >= 500 && parley__conn_peak_output_all() >= full) ||
                    stalled_ms >= 60000)
                    break;   /* the server does not read */
            }
            continue;
        }
        ck_assert_int_gt(n, 0);
        stalled_ms = 0;
        sent += (size_t)n;
        off = (off + (size_t)n) % frame_len;
    }
    /* Finish the frame begun, so the stream stays framed (blocking). */
    ck_assert_int_eq(fcntl(fd, F_SETFL, flags), 0);
    while (off != 0) {
        struct pollfd p = { fd, POLLOUT, 0 };
        ssize_t n;

        if (poll(&p, 1, 100) == 0)
            break;   /* it stays short: the server drops it with the connection */
        n = send(fd, frame + off, frame_len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0)
            off = (off + (size_t)n) % frame_len;
    }
    free(frame);
    return sent;
}

/* Read replies until a BYE; true if it came, with its status and sentence. */
static bool read_until_bye(TALLOC_CTX *mem, int fd, parley_status *ret_st, char **ret_why,
                           unsigned *ret_replies)
{
    parley__frame_header h;
    uint8_t *p;

    *ret_replies = 0;
    while (read_frame(mem, fd, &h, &p)) {
        if (h.kind == PARLEY__FRAME_BYE) {
            *ret_st = (parley_status)h.code;
            ck_assert_int_eq(parley__message_decode(mem, p, h.length, ret_why), PARLEY_OK);
            return true;
        }
        ck_assert_uint_eq(h.kind, PARLEY__FRAME_REPLY);
        (*ret_replies)++;
        talloc_free(p);
    }
    return false;
}

static parley_session *good_client(TALLOC_CTX *mem, const char *endpoint)
{
    parley_peer *peer;
    parley_session *s;

    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_connect_endpoint(peer, endpoint), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect(peer, &s), PARLEY_OK);
    return s;
}

static void good_add(TALLOC_CTX *mem, parley_session *s, int32_t a)
{
    parley_call *call;
    tp_pair pair = { a, 1 };
    tp_int *rep = NULL;

    ck_assert_int_eq(parley_session_acquire_call(s, &call), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(call, TP_ADD, &pair, mem, &rep, NULL, NULL), PARLEY_OK);
    ck_assert_int_eq(rep->v, a + 1);
    talloc_free(rep);
    parley_call_release(call);
}

static void good_echo(TALLOC_CTX *mem, parley_session *s, size_t n)
{
    parley_call *call;
    uint8_t *bytes = talloc_zero_size(mem, n);
    tp_echo req = { "good", { n, bytes } }, *rep = NULL;

    ck_assert_int_eq(parley_session_acquire_call(s, &call), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(call, TP_ECHO, &req, mem, &rep, NULL, NULL), PARLEY_OK);
    ck_assert_str_eq(rep->text, "good");
    ck_assert_uint_eq(rep->data.len, n);
    talloc_free(rep);
    talloc_free(bytes);
    parley_call_release(call);
}

#define MAX_OUTPUT (64u * 1024u)

/* A client that sends calls and never reads its replies (NONBLOCKING
 * handler, replies made on the I/O thread): the server's queued output
 * stays within the limit plus one reply, another client is served all
 * along, and the offender gets a BYE TIMEOUT naming the reason. */
START_TEST(test_nonreading_client_nonblocking)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const char *dir = tp_tmpdir();
    flow_srv fs;
    parley_session *good;
    tp_pair pair = { 1, 2 };
    uint8_t *req;
    size_t req_len, sent, peak;
    parley_status bye_st = PARLEY_OK;
    char *why = NULL;
    unsigned replies;
    int fd;

    server_start(mem, &fs, dir, MAX_OUTPUT, 1500, 2, 1024);
    good = good_client(mem, fs.endpoint);
    good_add(mem, good, 1);
    fd = raw_session(mem, fs.endpoint);
    encode_request(mem, TP_ADD, &pair, &req, &req_len);
    /* Without flow control the server would keep reading these 64 MiB
     * of requests and queue 40 MiB of replies. */
    sent = flood(fd, TP_ADD, req, req_len, MAX_OUTPUT, 64u << 20);
    ck_assert_uint_lt(sent, 64u << 20);   /* the server stopped reading */
    peak = parley__conn_peak_output_all();
    ck_assert_msg(peak >= MAX_OUTPUT && peak <= MAX_OUTPUT + 1024,
                  "peak output %zu, limit %u", peak, MAX_OUTPUT);
    /* Others are served while the offender is stuck. */
    for (int i = 0; i < 20; i++)
        good_add(mem, good, i);
    /* It is closed by the send timeout; the BYE comes after its replies. */
    ck_assert(wait_timeout_close(&fs));
    ck_assert_ptr_nonnull(strstr(fs.why, "read nothing"));
    ck_assert(read_until_bye(mem, fd, &bye_st, &why, &replies));
    ck_assert_int_eq(bye_st, PARLEY_ERR_TIMEOUT);
    ck_assert_msg(strstr(why, "read nothing for") != NULL && strstr(why, "send timeout") != NULL,
                  "BYE reason: %s", why);
    ck_assert_uint_gt(replies, 0);
    close(fd);
    /* The server goes on. */
    good_add(mem, good, 7);
    ck_assert_uint_le(parley__conn_peak_output_all(), MAX_OUTPUT + 1024);
    server_stop(&fs);
    talloc_free(mem);
    tp_tmpdir_remove(dir);
}
END_TEST

/* The same attack on BLOCKING handlers with 8 KiB replies: no worker waits
 * on the offender's socket, so another client keeps being served; the
 * queue stays within the limit plus the replies of calls already running. */
START_TEST(test_nonreading_client_blocking)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const char *dir = tp_tmpdir();
    enum { DATA = 8192, RUNNING = 16 };
    flow_srv fs;
    parley_session *good;
    uint8_t *bytes = talloc_zero_size(mem, DATA);
    tp_echo echo = { "x", { DATA, bytes } };
    uint8_t *req;
    size_t req_len, sent, peak, bound;
    parley_status bye_st = PARLEY_OK;
    char *why = NULL;
    unsigned replies;
    int fd;

    server_start(mem, &fs, dir, MAX_OUTPUT, 3000, 2, RUNNING);
    good = good_client(mem, fs.endpoint);
    good_echo(mem, good, 100);
    fd = raw_session(mem, fs.endpoint);
    encode_request(mem, TP_ECHO, &echo, &req, &req_len);
    sent = flood(fd, TP_ECHO, req, req_len, MAX_OUTPUT, 256u << 20);
    ck_assert_uint_lt(sent, 256u << 20);
    /* Both workers are free for others. */
    for (int i = 0; i < 10; i++)
        good_echo(mem, good, 1000);
    /* The limit, plus the replies of the calls running when reading stopped
     * (at most RUNNING; more get a small BUSY reply), plus one batch's BUSY
     * replies. */
    bound = MAX_OUTPUT + RUNNING * (DATA + 64) + 16384;
    peak = parley__conn_peak_output_all();
    ck_assert_msg(peak >= MAX_OUTPUT && peak <= bound, "peak output %zu, bound %zu", peak, bound);
    ck_assert(wait_timeout_close(&fs));
    ck_assert(read_until_bye(mem, fd, &bye_st, &why, &replies));
    ck_assert_int_eq(bye_st, PARLEY_ERR_TIMEOUT);
    ck_assert_msg(strstr(why, "read nothing for") != NULL, "BYE reason: %s", why);
    close(fd);
    good_echo(mem, good, 10);
    ck_assert_uint_le(parley__conn_peak_output_all(), bound);
    server_stop(&fs);
    talloc_free(mem);
    tp_tmpdir_remove(dir);
}
END_TEST

/* ---- a server that never reads: the client's senders are bounded ---- */

/* The client's requests wait for room at most the send timeout: a
 * synchronous caller gets TIMEOUT (not a hang), the session is closed, and
 * the other end gets a BYE TIMEOUT after the frame in progress. */
START_TEST(test_server_never_reads)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    enum { DATA = 256 * 1024 };
    parley_peer *peer;
    parley_session *s;
    parley__frame_header h;
    uint8_t *p, *hello, *bytes = talloc_zero_size(mem, DATA);
    size_t len;
    parley_status st = PARLEY_OK;
    int sv[2], i;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    /* The other end: a HELLO, then it reads nothing. */
    ck_assert_int_eq(parley__hello_encode(mem, tp_protocol(TP_V1), 1u << 24, 0, &hello, &len),
                     PARLEY_OK);
    write_frame(sv[1], PARLEY__FRAME_HELLO, 0, 0, hello, len);
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_max_output(peer, MAX_OUTPUT), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_timeout(peer, PARLEY_TIMEOUT_SEND, 300), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect_fd(peer, sv[0], &s), PARLEY_OK);
    /* Oneway messages: nothing to wait for but room.  The first few fill
     * the socket and the queue; then one waits and times out. */
    for (i = 0; i < 1000; i++) {
        parley_call *call;
        tp_echo note = { "n", { DATA, bytes } };

        ck_assert_int_eq(parley_session_acquire_call(s, &call), PARLEY_OK);
        st = parley_call_dispatch(call, TP_NOTE, &note, NULL, NULL, NULL, NULL);
        parley_call_release(call);
        if (st != PARLEY_OK)
            break;
    }
    ck_assert_int_lt(i, 1000);
    ck_assert_msg(st == PARLEY_ERR_TIMEOUT || st == PARLEY_ERR_CONNECTION_CLOSED,
                  "dispatch gave %s", parley_status_name(st));
    ck_assert_uint_le(parley__conn_peak_output_all(), MAX_OUTPUT + DATA + 1024);
    /* Now read: the client's HELLO, its notes, and the BYE at the end. */
    {
        bool bye = false;

        while (read_frame(mem, sv[1], &h, &p)) {
            if (h.kind == PARLEY__FRAME_BYE) {
                char *why;

                ck_assert_uint_eq(h.code, PARLEY_ERR_TIMEOUT);
                ck_assert_int_eq(parley__message_decode(mem, p, h.length, &why), PARLEY_OK);
                ck_assert_ptr_nonnull(strstr(why, "read nothing"));
                bye = true;
                break;
            }
            talloc_free(p);
        }
        ck_assert(bye);
    }
    ck_assert(!parley_session_is_connected(s));
    parley_session_close(s);
    close(sv[1]);
    talloc_free(mem);
}
END_TEST

/* ---- many large calls in flight ---- */

typedef struct inflight {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done, failed;
} inflight;

static void inflight_done(parley_call *call, parley_status status, void *data)
{
    inflight *f = data;

    (void)call;
    pthread_mutex_lock(&f->lock);
    f->done++;
    if (status != PARLEY_OK)
        f->failed++;
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->lock);
}

/* 32 calls of 1 MiB each way in flight, round after round: the queue fills
 * past the limit and drains again and again; no dispatch ever hangs (each
 * round is bounded by a generous 120 s). */
START_TEST(test_32_large_calls_in_flight)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const char *dir = tp_tmpdir();
    enum { N = 32, DATA = 1 << 20, ROUNDS = 6 };
    flow_srv fs;
    parley_session *s;
    parley_call *calls[N];
    tp_echo *reps[N];
    uint8_t *bytes = talloc_zero_size(mem, DATA);
    tp_echo req = { "big", { DATA, bytes } };
    inflight f;

    server_start(mem, &fs, dir, PARLEY_DEFAULT_MAX_OUTPUT, PARLEY_DEFAULT_SEND_TIMEOUT_MS, 4,
                 1024);
    s = good_client(mem, fs.endpoint);
    pthread_mutex_init(&f.lock, NULL);
    pthread_cond_init(&f.cond, NULL);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(parley_session_acquire_call(s, &calls[i]), PARLEY_OK);
    for (int round = 0; round < ROUNDS; round++) {
        struct timespec ts;

        f.done = f.failed = 0;
        for (int i = 0; i < N; i++) {
            bytes[0] = (uint8_t)i;
            ck_assert_int_eq(parley_call_dispatch(calls[i], TP_ECHO, &req, NULL, &reps[i],
                                                  inflight_done, &f),
                             PARLEY_PENDING);
        }
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 120;
        pthread_mutex_lock(&f.lock);
        while (f.done < N && pthread_cond_timedwait(&f.cond, &f.lock, &ts) != ETIMEDOUT)
            ;
        pthread_mutex_unlock(&f.lock);
        ck_assert_msg(f.done == N, "round %d: %d of %d calls completed", round, f.done, N);
        ck_assert_int_eq(f.failed, 0);
        for (int i = 0; i < N; i++) {
            ck_assert_uint_eq(reps[i]->data.len, DATA);
            ck_assert_uint_eq(reps[i]->data.data[0], (uint8_t)i);
        }
        /* each reply lives under its call until the next dispatch */
    }
    for (int i = 0; i < N; i++)
        parley_call_release(calls[i]);
    pthread_cond_destroy(&f.cond);
    pthread_mutex_destroy(&f.lock);
    server_stop(&fs);
    talloc_free(mem);
    tp_tmpdir_remove(dir);
}
END_TEST

/* ---- the connection alone: two independent reasons to hold requests ---- */

typedef struct conn_rec {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int n;
    uint8_t kinds[16];
    uint32_t ids[16];
    bool closed;
} conn_rec;

static void rec_frame(void *data, const parley__frame *frame)
{
    conn_rec *r = data;
    const parley__frame_header *hdr = frame->hdr;

    pthread_mutex_lock(&r->lock);
    if (r->n < 16) {
        r->kinds[r->n] = hdr->kind;
        r->ids[r->n] = hdr->call_id;
    }
    r->n++;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static void rec_closed(void *data, parley_status status, const char *why)
{
    conn_rec *r = data;

    (void)status;
    (void)why;
    pthread_mutex_lock(&r->lock);
    r->closed = true;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static const parley__conn_ops rec_ops = { rec_frame, rec_closed, NULL };

/* Wait (bounded: 10 s) until n frames were delivered; then how many. */
static int rec_wait(conn_rec *r, int n)
{
    struct timespec ts;
    int got;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 10;
    pthread_mutex_lock(&r->lock);
    while (r->n < n && pthread_cond_timedwait(&r->cond, &r->lock, &ts) != ETIMEDOUT)
        ;
    got = r->n;
    pthread_mutex_unlock(&r->lock);
    return got;
}

static void pause_reason(parley__conn *conn, unsigned reason, bool on)
{
    pthread_mutex_lock(&conn->wlock);
    parley__conn_pause_locked(conn, reason, on);
    pthread_mutex_unlock(&conn->wlock);
}

/* While either reason is set, the read side stops at the next request and
 * holds it; frames before it are delivered.  Requests flow again only when
 * both reasons are cleared, in order. */
START_TEST(test_conn_pause_reasons_combine)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley__loop *loop;
    parley__conn *conn;
    conn_rec r;
    int sv[2];

    memset(&r, 0, sizeof(r));
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.cond, NULL);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(parley__loop_new(mem, &loop), PARLEY_OK);
    ck_assert_int_eq(parley__loop_start(loop), PARLEY_OK);
    ck_assert_int_eq(parley__conn_new(mem, loop, sv[0], 4096, &rec_ops, &r, &conn), PARLEY_OK);
    ck_assert_int_eq(parley__conn_start(conn), PARLEY_OK);

    pause_reason(conn, PARLEY__CONN_PAUSE_CALLS, true);
    write_frame(sv[1], PARLEY__FRAME_REPLY, 1, 0, NULL, 0);
    write_frame(sv[1], PARLEY__FRAME_CALL, 2, 1, NULL, 0);
    write_frame(sv[1], PARLEY__FRAME_REPLY, 3, 0, NULL, 0);
    write_frame(sv[1], PARLEY__FRAME_ONEWAY, 0, 1, NULL, 0);
    ck_assert_int_eq(rec_wait(&r, 1), 1);   /* the REPLY before the CALL */
    usleep(100000);
    ck_assert_int_eq(rec_wait(&r, 1), 1);   /* the CALL is held, and what follows it */

    pause_reason(conn, PARLEY__CONN_PAUSE_OUTPUT, true);
    pause_reason(conn, PARLEY__CONN_PAUSE_CALLS, false);
    usleep(100000);
    ck_assert_int_eq(rec_wait(&r, 1), 1);   /* the other reason still holds it */

    pause_reason(conn, PARLEY__CONN_PAUSE_OUTPUT, false);
    ck_assert_int_eq(rec_wait(&r, 4), 4);
    ck_assert_uint_eq(r.kinds[1], PARLEY__FRAME_CALL);
    ck_assert_uint_eq(r.ids[1], 2);
    ck_assert_uint_eq(r.kinds[2], PARLEY__FRAME_REPLY);
    ck_assert_uint_eq(r.ids[2], 3);
    ck_assert_uint_eq(r.kinds[3], PARLEY__FRAME_ONEWAY);

    /* Reading goes on normally afterwards. */
    write_frame(sv[1], PARLEY__FRAME_CALL, 5, 1, NULL, 0);
    ck_assert_int_eq(rec_wait(&r, 5), 5);

    parley__conn_close(conn, PARLEY_ERR_CONNECTION_CLOSED, "done", false);
    pthread_mutex_lock(&r.lock);
    while (!r.closed)
        pthread_cond_wait(&r.cond, &r.lock);
    pthread_mutex_unlock(&r.lock);
    parley__loop_stop(loop);
    talloc_free(conn);
    talloc_free(mem);
    close(sv[1]);
    pthread_cond_destroy(&r.cond);
    pthread_mutex_destroy(&r.lock);
}
END_TEST

/* The owner frees a conn from its closed callback, through a task (as the
 * session does).  A close that another thread asks for while that free is
 * queued (its pointer still valid: the free has not run) must not be queued
 * behind the free.  Deterministic: the loop thread waits in the callback
 * until the other thread has asked; ASan sees the use after free if the
 * close task runs after the free. */
typedef struct free_rec {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    parley__conn *conn;
    int stage;   /* 1 free posted, 2 the late close asked, 3 a later task ran */
} free_rec;

static void fr_frame(void *data, const parley__frame *frame)
{
    (void)data;
    (void)frame;
}

static void fr_set(free_rec *f, int stage)
{
    pthread_mutex_lock(&f->lock);
    f->stage = stage;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
}

/* Wait (bounded: 10 s) for stage; true if reached. */
static bool fr_wait(free_rec *f, int stage)
{
    struct timespec ts;
    bool ok;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 10;
    pthread_mutex_lock(&f->lock);
    while (f->stage < stage && pthread_cond_timedwait(&f->cond, &f->lock, &ts) != ETIMEDOUT)
        ;
    ok = f->stage >= stage;
    pthread_mutex_unlock(&f->lock);
    return ok;
}

static void fr_closed(void *data, parley_status status, const char *why)
{
    free_rec *f = data;

    (void)status;
    (void)why;
    parley__conn_free_later(f->conn);
    fr_set(f, 1);
    (void)fr_wait(f, 2);
}

static void fr_last_task(void *data)
{
    fr_set(data, 3);
}

static const parley__conn_ops fr_ops = { fr_frame, fr_closed, NULL };

START_TEST(test_conn_close_while_free_queued)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley__loop *loop;

    ck_assert_int_eq(parley__loop_new(mem, &loop), PARLEY_OK);
    ck_assert_int_eq(parley__loop_start(loop), PARLEY_OK);
    for (int i = 0; i < 50; i++) {
        free_rec f;
        int sv[2];

        memset(&f, 0, sizeof(f));
        pthread_mutex_init(&f.lock, NULL);
        pthread_cond_init(&f.cond, NULL);
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        ck_assert_int_eq(parley__conn_new(mem, loop, sv[0], 4096, &fr_ops, &f, &f.conn),
                         PARLEY_OK);
        ck_assert_int_eq(parley__conn_start(f.conn), PARLEY_OK);
        close(sv[1]);   /* EOF: the loop closes the conn, the callback queues its free */
        ck_assert(fr_wait(&f, 1));
        parley__conn_close(f.conn, PARLEY_ERR_CONNECTION_CLOSED, "late", true);
        fr_set(&f, 2);
        ck_assert_int_eq(parley__loop_post(loop, fr_last_task, &f), PARLEY_OK);
        ck_assert(fr_wait(&f, 3));   /* the free and anything posted before ran */
        pthread_cond_destroy(&f.cond);
        pthread_mutex_destroy(&f.lock);
    }
    parley__loop_stop(loop);
    ck_assert_uint_eq(talloc_total_blocks(mem), 2);   /* mem and the loop */
    talloc_free(mem);
}
END_TEST

START_TEST(test_flow_settings)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;

    ck_assert_int_eq(parley_peer_set_max_output(NULL, 1u << 20), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_max_output(peer, 100), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "parley_peer_set_max_output"));
    ck_assert_int_eq(parley_peer_set_max_output(peer, (size_t)PARLEY_MAX_MAX_OUTPUT + 1),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_set_max_output(peer, PARLEY_MIN_MAX_OUTPUT), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_timeout(peer, PARLEY_TIMEOUT_SEND, 0), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_timeout(peer, PARLEY_TIMEOUT_SEND, -1),
                     PARLEY_ERR_INVALID_ARGUMENT);
    talloc_free(mem);
}
END_TEST

Suite *parley_flow_suite(void)
{
    Suite *s = suite_create("flow");
    TCase *tc = tcase_create("flow");

    /* Bounds only (generous, for valgrind); nothing here asserts a timing. */
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_flow_settings);
    tcase_add_test(tc, test_conn_pause_reasons_combine);
    tcase_add_test(tc, test_conn_close_while_free_queued);
    tcase_add_test(tc, test_nonreading_client_nonblocking);
    tcase_add_test(tc, test_nonreading_client_blocking);
    tcase_add_test(tc, test_server_never_reads);
    tcase_add_test(tc, test_32_large_calls_in_flight);
    suite_add_tcase(s, tc);
    return s;
}
