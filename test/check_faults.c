/* SPDX-License-Identifier: MIT */
/* Runtime, faults: bad frames, bad payloads, dead servers, missing sockets,
 * garbage instead of a HELLO, stop_listen, disconnect and freeing a peer
 * with calls outstanding, unix socket files. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "endpoint.h"
#include "frame.h"
#include "handshake.h"
#include "server_proc.h"
#include "socket.h"
#include "suites.h"
#include "test_proto.h"

/* ---- a raw client speaking frames by hand ---- */

static int raw_connect(const char *endpoint)
{
    parley__endpoint *ep;
    int fd = -1;

    ck_assert_int_eq(parley__endpoint_parse(NULL, endpoint, &ep), PARLEY_OK);
    ck_assert_int_eq(parley__socket_connect(ep, &fd), PARLEY_OK);
    talloc_free(ep);
    return fd;
}

/* Read exactly n bytes within 5 s; false on EOF, error or timeout. */
static bool raw_read(int fd, void *buf, size_t n)
{
    size_t got = 0;

    while (got < n) {
        struct pollfd p = { fd, POLLIN, 0 };
        ssize_t r;

        if (poll(&p, 1, 5000) <= 0)
            return false;
        r = read(fd, (uint8_t *)buf + got, n - got);
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

/* Read one frame; its payload (NUL-terminated) under mem. */
static bool raw_frame(TALLOC_CTX *mem, int fd, parley__frame_header *h, uint8_t **payload)
{
    uint8_t b[16];

    if (!raw_read(fd, b, 16))
        return false;
    ck_assert_int_eq(parley__frame_unpack(b, UINT32_MAX, h), PARLEY_OK);
    *payload = talloc_zero_size(mem, h->length + 1);
    return raw_read(fd, *payload, h->length);
}

static void raw_send(int fd, uint8_t kind, uint8_t flags, uint32_t id, uint32_t code,
                     uint32_t length, const void *payload, size_t n)
{
    parley__frame_header h = { length, kind, flags, 0, id, code };
    uint8_t b[16];

    parley__frame_pack(&h, b);
    ck_assert_int_eq(write(fd, b, 16), 16);
    if (n > 0)
        ck_assert_int_eq(write(fd, payload, n), (ssize_t)n);
}

/* Connect and do the handshake by hand. */
static int raw_session(TALLOC_CTX *mem, const char *endpoint)
{
    int fd = raw_connect(endpoint);
    parley__frame_header h;
    uint8_t *p, *hello;
    size_t len;

    ck_assert(raw_frame(mem, fd, &h, &p));
    ck_assert_uint_eq(h.kind, PARLEY__FRAME_HELLO);
    ck_assert_int_eq(parley__hello_encode(mem, tp_protocol(TP_V1), 1u << 20, 0, &hello, &len),
                     PARLEY_OK);
    raw_send(fd, PARLEY__FRAME_HELLO, 0, 0, 0, (uint32_t)len, hello, len);
    return fd;
}

/* Expect a BYE with status and a reason containing text, then EOF. */
static void expect_bye(TALLOC_CTX *mem, int fd, parley_status status, const char *text)
{
    parley__frame_header h;
    uint8_t *p;
    char *msg;
    char b;

    ck_assert(raw_frame(mem, fd, &h, &p));
    ck_assert_uint_eq(h.kind, PARLEY__FRAME_BYE);
    ck_assert_uint_eq(h.code, status);
    ck_assert_int_eq(parley__message_decode(mem, p, h.length, &msg), PARLEY_OK);
    ck_assert_msg(strstr(msg, text) != NULL, "BYE reason \"%s\" lacks \"%s\"", msg, text);
    ck_assert(!raw_read(fd, &b, 1));   /* closed */
}

static void check_alive(TALLOC_CTX *mem, parley_session *session)
{
    parley_call *call;
    tp_pair pair = { 2, 3 };
    tp_int *rep = NULL;

    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(call, TP_ADD, &pair, mem, &rep, NULL, NULL), PARLEY_OK);
    ck_assert_int_eq(rep->v, 5);
    parley_call_release(call);
}

static parley_peer *client(TALLOC_CTX *mem, const char *endpoint, parley_session **ret)
{
    parley_peer *peer;

    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_connect_endpoint(peer, endpoint), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect(peer, ret), PARLEY_OK);
    return peer;
}

START_TEST(test_bad_frames)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const char *args[] = { "v1", "--max-message", "4096", "tcp:127.0.0.1:0", NULL };
    tp_server srv;
    parley_session *good;
    parley__frame_header h;
    uint8_t *p, junk[3] = { 1, 2, 3 };
    char *msg;
    int fd;

    ck_assert(tp_server_start(&srv, args, -1));
    client(mem, srv.endpoint, &good);
    check_alive(mem, good);

    /* A request that does not decode: MALFORMED with the server's sentence,
     * and the session goes on. */
    fd = raw_session(mem, srv.endpoint);
    raw_send(fd, PARLEY__FRAME_CALL, 0, 7, TP_ADD, sizeof(junk), junk, sizeof(junk));
    ck_assert(raw_frame(mem, fd, &h, &p));
    ck_assert_uint_eq(h.kind, PARLEY__FRAME_REPLY);
    ck_assert_uint_eq(h.call_id, 7);
    ck_assert_uint_eq(h.code, PARLEY_ERR_MALFORMED);
    ck_assert_int_eq(parley__message_decode(mem, p, h.length, &msg), PARLEY_OK);
    ck_assert_ptr_nonnull(strstr(msg, "request of add"));
    /* Unknown method: NOT_FOUND, still the same session. */
    raw_send(fd, PARLEY__FRAME_CALL, 0, 8, 777, 0, NULL, 0);
    ck_assert(raw_frame(mem, fd, &h, &p));
    ck_assert_uint_eq(h.call_id, 8);
    ck_assert_uint_eq(h.code, PARLEY_ERR_NOT_FOUND);
    /* Unknown frame kind: BYE, closed. */
    raw_send(fd, 77, 0, 9, 0, 0, NULL, 0);
    expect_bye(mem, fd, PARLEY_ERR_MALFORMED, "unknown kind 77");
    close(fd);

    /* Oversize beyond the server's max message size. */
    fd = raw_session(mem, srv.endpoint);
    raw_send(fd, PARLEY__FRAME_CALL, 0, 1, TP_ECHO, 100000, NULL, 0);
    expect_bye(mem, fd, PARLEY_ERR_OVERFLOW, "max message size 4096");
    close(fd);

    /* Unknown flags. */
    fd = raw_session(mem, srv.endpoint);
    raw_send(fd, PARLEY__FRAME_CALL, 0x40, 1, TP_ADD, 0, NULL, 0);
    expect_bye(mem, fd, PARLEY_ERR_MALFORMED, "flags");
    close(fd);

    /* A CALL before the HELLO. */
    {
        uint8_t *hello;

        fd = raw_connect(srv.endpoint);
        ck_assert(raw_frame(mem, fd, &h, &hello));
        raw_send(fd, PARLEY__FRAME_CALL, 0, 1, TP_ADD, 0, NULL, 0);
        expect_bye(mem, fd, PARLEY_ERR_MALFORMED, "before the HELLO");
        close(fd);
    }

    /* Garbage instead of a HELLO: dropped; the listener keeps accepting. */
    for (int i = 0; i < 3; i++) {
        static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        char b[256];

        fd = raw_connect(srv.endpoint);
        ck_assert_int_eq(write(fd, http, sizeof(http) - 1), (ssize_t)sizeof(http) - 1);
        /* Its HELLO, maybe a BYE, then EOF. */
        for (int n = 0; n < 100; n++) {
            struct pollfd pf = { fd, POLLIN, 0 };

            ck_assert_int_eq(poll(&pf, 1, 5000), 1);
            if (read(fd, b, sizeof(b)) <= 0)
                break;
        }
        close(fd);
    }
    check_alive(mem, good);
    {
        parley_session *again;

        client(mem, srv.endpoint, &again);
        check_alive(mem, again);
    }
    talloc_free(mem);
    ck_assert_int_eq(tp_server_stop(&srv), 0);
}
END_TEST

/* ---- a server dying mid-call ---- */

typedef struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done, runs, closed;
} waiter;

static void count_done(parley_call *call, parley_status status, void *data)
{
    waiter *w = data;

    (void)call;
    pthread_mutex_lock(&w->lock);
    w->runs++;
    if (status == PARLEY_ERR_CONNECTION_CLOSED)
        w->closed++;
    w->done++;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static void wait_for(waiter *w, int n)
{
    pthread_mutex_lock(&w->lock);
    while (w->done < n)
        pthread_cond_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

START_TEST(test_server_dies_mid_call)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const char *args[] = { "v1", "--workers", "8", "tcp:127.0.0.1:0", NULL };
    tp_server srv;
    parley_session *session;
    parley_call *calls[5], *die;
    tp_sleep req = { 5000, 1 };
    tp_tag *reps[5];
    tp_int zero = { 0 }, *rep = NULL;
    waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0 };
    int status;

    ck_assert(tp_server_start(&srv, args, -1));
    client(mem, srv.endpoint, &session);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(parley_session_acquire_call(session, &calls[i]), PARLEY_OK);
        ck_assert_int_eq(parley_call_dispatch(calls[i], TP_SLEEP, &req, NULL, &reps[i],
                                              count_done, &w), PARLEY_PENDING);
    }
    ck_assert_int_eq(parley_session_acquire_call(session, &die), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(die, TP_DIE, &zero, mem, &rep, NULL, NULL),
                     PARLEY_ERR_CONNECTION_CLOSED);
    wait_for(&w, 5);
    ck_assert_int_eq(w.runs, 5);
    ck_assert_int_eq(w.closed, 5);
    ck_assert(!parley_session_is_connected(session));
    /* New calls fail at once. */
    ck_assert_int_eq(parley_call_dispatch(die, TP_NOTES, &zero, mem, &rep, NULL, NULL),
                     PARLEY_ERR_CONNECTION_CLOSED);
    parley_call_release(die);
    for (int i = 0; i < 5; i++)
        parley_call_release(calls[i]);
    status = tp_server_stop(&srv);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 3);
    talloc_free(mem);
}
END_TEST

/* A synchronous caller alone on its session reads its own reply: it must
 * still see the server die, and a disconnect from another thread. */
typedef struct sync_arg {
    parley_session *session;
    parley_status st;
} sync_arg;

static void *sync_sleeper(void *p)
{
    sync_arg *a = p;
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_call *call;
    tp_sleep req = { 2000, 5 };   /* would succeed after 2 s */
    tp_tag *rep = NULL;

    a->st = parley_session_acquire_call(a->session, &call);
    if (a->st == PARLEY_OK) {
        a->st = parley_call_dispatch(call, TP_SLEEP, &req, mem, &rep, NULL, NULL);
        parley_call_release(call);
    }
    talloc_free(mem);
    return NULL;
}

START_TEST(test_lone_sync_caller_sees_close)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const char *args[] = { "v1", "tcp:127.0.0.1:0", NULL };
    tp_server srv;
    parley_peer *peer;
    parley_session *session;
    parley_call *die;
    tp_int zero = { 0 }, *rep = NULL;
    pthread_t th;
    sync_arg a;
    int status;

    ck_assert(tp_server_start(&srv, args, -1));
    peer = client(mem, srv.endpoint, &session);
    ck_assert_int_eq(parley_session_acquire_call(session, &die), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(die, TP_DIE, &zero, mem, &rep, NULL, NULL),
                     PARLEY_ERR_CONNECTION_CLOSED);
    parley_call_release(die);
    status = tp_server_stop(&srv);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 3);

    /* A 2 s call ended early by parley_peer_disconnect() from this thread. */
    ck_assert(tp_server_start(&srv, args, -1));
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_connect_endpoint(peer, srv.endpoint), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect(peer, &session), PARLEY_OK);
    a.session = session;
    a.st = PARLEY_OK;
    ck_assert_int_eq(pthread_create(&th, NULL, sync_sleeper, &a), 0);
    usleep(100000);
    ck_assert_int_eq(parley_peer_disconnect(peer), PARLEY_OK);
    pthread_join(th, NULL);
    ck_assert_int_eq(a.st, PARLEY_ERR_CONNECTION_CLOSED);
    talloc_free(mem);
    ck_assert_int_eq(tp_server_stop(&srv), 0);
}
END_TEST

START_TEST(test_connect_refused_names_endpoint)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const char *dir = tp_tmpdir();
    char missing[300], live[300];
    parley_peer *server, *peer;
    parley_session *session;

    snprintf(missing, sizeof(missing), "unix:%s/missing.sock", dir);
    snprintf(live, sizeof(live), "unix:%s/live.sock", dir);
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_connect_endpoint(peer, missing), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect(peer, &session), PARLEY_ERR_CONNECTION_REFUSED);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), missing));
    /* Endpoints are tried in order: the second one answers. */
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &server), PARLEY_OK);
    ck_assert_int_eq(tp_serve(server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_listen_endpoint(server, live, 0), PARLEY_OK);
    ck_assert_int_eq(parley_peer_start_listen(server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_connect_endpoint(peer, live), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect(peer, &session), PARLEY_OK);
    check_alive(mem, session);
    talloc_free(mem);
    tp_tmpdir_remove(dir);
}
END_TEST

START_TEST(test_unix_socket_files)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const char *dir = tp_tmpdir();
    char ep[300];
    parley_peer *a, *b;
    parley_session *session;
    struct sockaddr_un sun;
    struct stat sb;
    int fd;

    snprintf(ep, sizeof(ep), "unix:%s/s.sock", dir);
    /* A stale socket file: bound, never listening, closed. */
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    ck_assert_uint_lt(strlen(ep + 5), sizeof(sun.sun_path));
    memcpy(sun.sun_path, ep + 5, strlen(ep + 5) + 1);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    close(fd);
    ck_assert_int_eq(stat(ep + 5, &sb), 0);

    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &a), PARLEY_OK);
    ck_assert_int_eq(tp_serve(a), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_listen_endpoint(a, ep, 0640), PARLEY_OK);
    ck_assert_msg(parley_peer_start_listen(a) == PARLEY_OK, "%s", parley_error_message());
    ck_assert_int_eq(stat(ep + 5, &sb), 0);
    ck_assert(S_ISSOCK(sb.st_mode));
    ck_assert_uint_eq(sb.st_mode & 07777, 0640);

    /* A live server's socket is not stolen. */
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &b), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_listen_endpoint(b, ep, 0), PARLEY_OK);
    ck_assert_int_eq(parley_peer_start_listen(b), PARLEY_ERR_INVALID_STATE);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "another server"));
    talloc_free(b);
    client(mem, ep, &session);
    check_alive(mem, session);

    /* A path that is not a socket is not replaced. */
    {
        char file[300];
        FILE *f;

        snprintf(file, sizeof(file), "%s/plain", dir);
        f = fopen(file, "w");
        fclose(f);
        snprintf(file, sizeof(file), "unix:%s/plain", dir);
        ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &b), PARLEY_OK);
        ck_assert_int_eq(parley_peer_add_listen_endpoint(b, file, 0), PARLEY_OK);
        ck_assert_int_eq(parley_peer_start_listen(b), PARLEY_ERR_INVALID_STATE);
        ck_assert_ptr_nonnull(strstr(parley_error_message(), "not a socket"));
    }
    talloc_free(mem);
    ck_assert_int_ne(stat(ep + 5, &sb), 0);   /* removed by the server */
    tp_tmpdir_remove(dir);
}
END_TEST

START_TEST(test_stop_listen)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const char *dir = tp_tmpdir();
    char ep[300];
    parley_peer *server, *peer;
    parley_session *session, *s2;
    parley_call *slow;
    tp_sleep req = { 300, 9 };
    tp_tag *rep = NULL;
    waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0 };

    snprintf(ep, sizeof(ep), "unix:%s/s.sock", dir);
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &server), PARLEY_OK);
    ck_assert_int_eq(tp_serve(server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_listen_endpoint(server, ep, 0), PARLEY_OK);
    ck_assert_int_eq(parley_peer_start_listen(server), PARLEY_OK);
    peer = client(mem, ep, &session);
    client(mem, ep, &s2);
    check_alive(mem, session);
    ck_assert_int_eq(parley_session_acquire_call(session, &slow), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(slow, TP_SLEEP, &req, NULL, &rep, count_done, &w),
                     PARLEY_PENDING);
    /* Returns once the incoming sessions are gone (the handler has returned). */
    ck_assert_int_eq(parley_peer_stop_listen(server), PARLEY_OK);
    wait_for(&w, 1);
    ck_assert_int_eq(w.runs, 1);
    ck_assert_int_eq(w.closed, 1);
    parley_call_release(slow);
    for (int i = 0; i < 500 && (parley_session_is_connected(session) ||
                                parley_session_is_connected(s2)); i++)
        usleep(10000);
    ck_assert(!parley_session_is_connected(session));
    ck_assert(!parley_session_is_connected(s2));
    ck_assert_int_eq(parley_peer_connect(peer, &session), PARLEY_ERR_CONNECTION_REFUSED);
    /* And it can listen again. */
    ck_assert_int_eq(parley_peer_start_listen(server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect(peer, &session), PARLEY_OK);
    check_alive(mem, session);
    talloc_free(mem);
    tp_tmpdir_remove(dir);
}
END_TEST

START_TEST(test_disconnect_and_free_with_calls_outstanding)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    TALLOC_CTX *replies = talloc_new(NULL);
    int sv[2];
    parley_peer *server, *peer;
    parley_session *session;
    parley_call *calls[4];
    tp_sleep req = { 200, 1 };
    tp_tag *reps[4];
    waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0 };

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &server), PARLEY_OK);
    ck_assert_int_eq(tp_serve(server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_accept_fd(server, sv[1]), PARLEY_OK);
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect_fd(peer, sv[0], &session), PARLEY_OK);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(parley_session_acquire_call(session, &calls[i]), PARLEY_OK);
        ck_assert_int_eq(parley_call_dispatch(calls[i], TP_SLEEP, &req, NULL, &reps[i],
                                              count_done, &w), PARLEY_PENDING);
    }
    ck_assert_int_eq(parley_peer_disconnect(peer), PARLEY_OK);
    wait_for(&w, 2);
    ck_assert_int_eq(w.closed, 2);
    ck_assert_int_eq(w.runs, 2);
    for (int i = 0; i < 2; i++)
        parley_call_release(calls[i]);

    /* Freeing the server with a client's calls outstanding: each completes
     * once with CONNECTION_CLOSED. */
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(parley_peer_accept_fd(server, sv[1]), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect_fd(peer, sv[0], &session), PARLEY_OK);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(parley_session_acquire_call(session, &calls[i]), PARLEY_OK);
        ck_assert_int_eq(parley_call_dispatch(calls[i], TP_SLEEP, &req, NULL, &reps[i],
                                              count_done, &w), PARLEY_PENDING);
    }
    talloc_free(server);
    wait_for(&w, 6);
    ck_assert_int_eq(w.closed, 6);
    ck_assert_int_eq(w.runs, 6);
    for (int i = 0; i < 4; i++)
        parley_call_release(calls[i]);
    talloc_free(peer);
    ck_assert_uint_eq(talloc_total_blocks(replies), 1);   /* no reply was delivered */
    ck_assert_uint_eq(talloc_total_blocks(mem), 1);
    talloc_free(replies);
    talloc_free(mem);
}
END_TEST

/* The other end of a connect_fd goes before its HELLO: closed at once, or
 * after garbage, before or while the connect runs.  Each connect fails with
 * a status and a sentence; a close posted by the connecting thread never
 * runs on a connection the loop freed already (run under ASan and TSan
 * with CK_FORK=no to see it). */
typedef struct early_end {
    int fd;
    bool garbage;
} early_end;

static void early_end_go(const early_end *e)
{
    static const uint8_t junk[24] = { 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4, 5, 6, 7,
                                      8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19 };

    if (e->garbage)
        (void)!write(e->fd, junk, sizeof(junk));
    close(e->fd);
}

static void *early_end_thread(void *p)
{
    early_end_go(p);
    return NULL;
}

START_TEST(test_connect_fd_other_end_gone)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    int rounds = getenv("PARLEY_TEST_VALGRIND") != NULL ? 60 : 3000;

    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &peer), PARLEY_OK);
    ck_assert_int_eq(tp_serve(peer), PARLEY_OK);
    for (int i = 0; i < rounds; i++) {
        parley_session *s = NULL;
        early_end e;
        pthread_t t;
        bool threaded = i % 4 >= 2;
        int sv[2];
        parley_status st;

        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        e.fd = sv[1];
        e.garbage = i % 2 == 1;
        if (threaded)
            ck_assert_int_eq(pthread_create(&t, NULL, early_end_thread, &e), 0);
        else
            early_end_go(&e);
        st = parley_peer_connect_fd(peer, sv[0], &s);
        ck_assert_msg(st != PARLEY_OK, "round %d: connect_fd succeeded with no other end", i);
        ck_assert_ptr_null(s);
        ck_assert_msg(parley_error_message()[0] != '\0', "round %d: no reason given", i);
        if (threaded)
            ck_assert_int_eq(pthread_join(t, NULL), 0);
    }
    talloc_free(peer);
    ck_assert_uint_eq(talloc_total_blocks(mem), 1);
    talloc_free(mem);
}
END_TEST

START_TEST(test_api_misuse)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    parley_session *session;
    char *s, abstract[64];
    static const parley_dispatch bad_id[] = { { 99, NULL, PARLEY_BLOCKING } };

    ck_assert_int_eq(parley_peer_new(mem, NULL, &peer), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_dispatch(peer, bad_id, 1, NULL), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "no method 99"));
    ck_assert_int_eq(tp_serve(peer), PARLEY_OK);
    ck_assert_int_eq(tp_serve(peer), PARLEY_ERR_INVALID_ARGUMENT);   /* twice */
    ck_assert_int_eq(parley_peer_add_listen_endpoint(peer, "udp:1.2.3.4:5", 0),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "udp:1.2.3.4:5"));
    ck_assert_int_eq(parley_peer_start_listen(peer), PARLEY_ERR_INVALID_STATE);
    ck_assert_int_eq(parley_peer_connect(peer, &session), PARLEY_ERR_INVALID_STATE);
    ck_assert_int_eq(parley_peer_set_workers(peer, 0), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_set_max_message_size(peer, 10), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_add_listen_endpoint(peer, "tcp:127.0.0.1:0", 0), PARLEY_OK);
    snprintf(abstract, sizeof(abstract), "unix:@parley-test-multi-%d", (int)getpid());
    ck_assert_int_eq(parley_peer_add_listen_endpoint(peer, abstract, 0), PARLEY_OK);
    ck_assert_int_eq(parley_peer_get_listen_endpoint(peer, 0, mem, &s), PARLEY_ERR_INVALID_STATE);
    ck_assert_int_eq(parley_peer_start_listen(peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_get_listen_endpoint(peer, 0, mem, &s), PARLEY_OK);
    ck_assert(strncmp(s, "tcp:127.0.0.1:", 14) == 0 && strcmp(s, "tcp:127.0.0.1:0") != 0);
    /* Both listen endpoints serve. */
    client(mem, s, &session);
    check_alive(mem, session);
    ck_assert_int_eq(parley_peer_get_listen_endpoint(peer, 1, mem, &s), PARLEY_OK);
    ck_assert_str_eq(s, abstract);
    client(mem, s, &session);
    check_alive(mem, session);
    ck_assert_int_eq(parley_peer_get_listen_endpoint(peer, 2, mem, &s),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_set_workers(peer, 2), PARLEY_ERR_INVALID_STATE);
    ck_assert_int_eq(parley_peer_start_listen(peer), PARLEY_ERR_INVALID_STATE);
    ck_assert_int_eq(parley_session_acquire_call(NULL, NULL), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_call_dispatch(NULL, 1, NULL, NULL, NULL, NULL, NULL),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_accept_fd(peer, -1), PARLEY_ERR_INVALID_ARGUMENT);
    parley_call_release(NULL);
    parley_session_close(NULL);
    talloc_free(mem);
}
END_TEST

Suite *parley_faults_suite(void)
{
    Suite *s = suite_create("faults");
    TCase *tc = tcase_create("faults");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_bad_frames);
    tcase_add_test(tc, test_server_dies_mid_call);
    tcase_add_test(tc, test_lone_sync_caller_sees_close);
    tcase_add_test(tc, test_connect_refused_names_endpoint);
    tcase_add_test(tc, test_unix_socket_files);
    tcase_add_test(tc, test_stop_listen);
    tcase_add_test(tc, test_disconnect_and_free_with_calls_outstanding);
    tcase_add_test(tc, test_api_misuse);
    tcase_add_test(tc, test_connect_fd_other_end_gone);
    suite_add_tcase(s, tc);
    return s;
}
