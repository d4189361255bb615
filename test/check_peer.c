/* SPDX-License-Identifier: MIT */
/* Runtime, integration: sessions and calls between real processes over unix,
 * abstract unix, TCP (v4, v6) and socketpairs; handshake; async dispatch;
 * oneway; callbacks; many threads on one session. */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "server_proc.h"
#include "suites.h"
#include "test_proto.h"

/* A client peer of variant v connected to endpoint. */
static parley_peer *connect_to(TALLOC_CTX *mem, tp_variant v, const char *endpoint,
                               parley_session **ret_session)
{
    parley_peer *peer;

    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(v), &peer), PARLEY_OK);
    ck_assert_int_eq(tp_serve_client(peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_connect_endpoint(peer, endpoint), PARLEY_OK);
    ck_assert_msg(parley_peer_connect(peer, ret_session) == PARLEY_OK, "connect %s: %s",
                  endpoint, parley_error_message());
    return peer;
}

/* Echo, add and fail on one session; the reply's talloc tree is exact. */
static void exercise(parley_session *session)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_call *call;
    uint8_t bytes[300];
    tp_echo req = { (char *)"hello, parley", { sizeof(bytes), bytes } };
    tp_echo *rep = NULL;
    tp_pair pair = { 40, 2 };
    tp_int *sum = NULL, fail = { PARLEY_ERR_ACCESS_DENIED };

    for (size_t i = 0; i < sizeof(bytes); i++)
        bytes[i] = (uint8_t)(i * 7);
    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(call, TP_ECHO, &req, mem, &rep, NULL, NULL), PARLEY_OK);
    ck_assert_str_eq(rep->text, req.text);
    ck_assert_uint_eq(rep->data.len, sizeof(bytes));
    ck_assert_mem_eq(rep->data.data, bytes, sizeof(bytes));
    ck_assert_ptr_eq(talloc_parent(rep), mem);
    /* mem, the reply, its text and its bytes: one free releases them. */
    ck_assert_uint_eq(talloc_total_blocks(mem), 4);
    talloc_free(rep);
    ck_assert_uint_eq(talloc_total_blocks(mem), 1);

    /* The call is reusable once complete. */
    ck_assert_int_eq(parley_call_dispatch(call, TP_ADD, &pair, mem, &sum, NULL, NULL), PARLEY_OK);
    ck_assert_int_eq(sum->v, 42);
    sum = NULL;
    ck_assert_int_eq(parley_call_dispatch(call, TP_FAIL, &fail, mem, &sum, NULL, NULL),
                     PARLEY_ERR_ACCESS_DENIED);
    ck_assert_ptr_null(sum);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "fail"));
    parley_call_release(call);
    talloc_free(mem);
}

static void serve_and_exercise(const char *const *args)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    tp_server srv;
    parley_session *session;

    ck_assert_msg(tp_server_start(&srv, args, -1), "server %s did not start", args[1]);
    connect_to(mem, TP_V1, srv.endpoint, &session);
    ck_assert(parley_session_is_connected(session));
    exercise(session);
    talloc_free(mem);
    ck_assert_int_eq(tp_server_stop(&srv), 0);
}

START_TEST(test_unix_path)
{
    const char *dir = tp_tmpdir();
    char ep[300];
    const char *args[] = { "v1", ep, NULL };
    struct stat sb;

    ck_assert_ptr_nonnull(dir);
    snprintf(ep, sizeof(ep), "unix:%s/s.sock", dir);
    serve_and_exercise(args);
    /* The server removed its socket file when it stopped. */
    ck_assert_int_ne(stat(ep + 5, &sb), 0);
    tp_tmpdir_remove(dir);
}
END_TEST

START_TEST(test_unix_abstract)
{
    char ep[100];
    const char *args[] = { "v1", ep, NULL };

    snprintf(ep, sizeof(ep), "unix:@parley-test-%d", (int)getpid());
    serve_and_exercise(args);
}
END_TEST

START_TEST(test_tcp_v4)
{
    const char *args[] = { "v1", "tcp:127.0.0.1:0", NULL };

    serve_and_exercise(args);
}
END_TEST

START_TEST(test_tcp_v6)
{
    const char *args[] = { "v1", "tcp:[::1]:0", NULL };
    int fd = socket(AF_INET6, SOCK_STREAM, 0);

    if (fd < 0)
        return;   /* no IPv6 on this machine */
    close(fd);
    serve_and_exercise(args);
}
END_TEST

START_TEST(test_socketpair_process)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    int sv[2];
    char fdarg[16];
    const char *args[] = { "v1", "--fd", fdarg, NULL };
    tp_server srv;
    parley_peer *peer;
    parley_session *session;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
    ck_assert(tp_server_start(&srv, args, sv[1]));
    close(sv[1]);
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect_fd(peer, sv[0], &session), PARLEY_OK);
    exercise(session);
    talloc_free(mem);
    ck_assert_int_eq(tp_server_stop(&srv), 0);
}
END_TEST

START_TEST(test_socketpair_in_process)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    int sv[2];
    parley_peer *server, *client;
    parley_session *session;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &server), PARLEY_OK);
    ck_assert_int_eq(tp_serve(server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_accept_fd(server, sv[1]), PARLEY_OK);
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &client), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect_fd(client, sv[0], &session), PARLEY_OK);
    exercise(session);
    parley_session_close(session);
    talloc_free(client);
    talloc_free(server);
    ck_assert_uint_eq(talloc_total_blocks(mem), 1);
    talloc_free(mem);
}
END_TEST

START_TEST(test_handshake_versions)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const char *args[] = { "v1", "tcp:127.0.0.1:0", NULL };
    tp_server srv;
    parley_peer *peer;
    parley_session *session;
    parley_call *call;
    tp_int one = { 1 }, *rep = NULL;

    ck_assert(tp_server_start(&srv, args, -1));

    /* Another protocol: refused, naming both. */
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_OTHER), &peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_connect_endpoint(peer, srv.endpoint), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect(peer, &session), PARLEY_ERR_PROTOCOL_MISMATCH);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "\"test\""));
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "\"other\""));
    talloc_free(peer);

    /* Same name, ADD changed: refused, naming the method. */
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V2_ADD64), &peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_connect_endpoint(peer, srv.endpoint), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect(peer, &session), PARLEY_ERR_PROTOCOL_MISMATCH);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "add"));
    talloc_free(peer);

    /* Version 2 with one more method: what both know keeps working; the new
     * method is NOT_FOUND at the old server, which keeps serving. */
    peer = connect_to(mem, TP_V2_COMPAT, srv.endpoint, &session);
    exercise(session);
    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(call, 9, &one, mem, &rep, NULL, NULL),
                     PARLEY_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "method 9"));
    parley_call_release(call);
    exercise(session);
    talloc_free(mem);
    ck_assert_int_eq(tp_server_stop(&srv), 0);
}
END_TEST

/* ---- async ---- */

typedef struct async_state {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
    int bad;
    int runs[64];
    tp_tag *replies[64];
    uint32_t tags[64];
} async_state;

typedef struct async_slot {
    async_state *st;
    int i;
} async_slot;

static void async_done(parley_call *call, parley_status status, void *data)
{
    async_slot *slot = data;
    async_state *st = slot->st;

    (void)call;
    pthread_mutex_lock(&st->lock);
    st->runs[slot->i]++;
    if (status != PARLEY_OK || st->replies[slot->i] == NULL ||
        st->replies[slot->i]->tag != st->tags[slot->i])
        st->bad++;
    st->done++;
    pthread_cond_signal(&st->cond);
    pthread_mutex_unlock(&st->lock);
}

START_TEST(test_async_in_flight)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const char *args[] = { "v1", "--workers", "8", "tcp:127.0.0.1:0", NULL };
    tp_server srv;
    parley_session *session;
    async_state st;
    async_slot slots[32];
    parley_call *calls[32];
    tp_sleep reqs[32];

    memset(&st, 0, sizeof(st));
    pthread_mutex_init(&st.lock, NULL);
    pthread_cond_init(&st.cond, NULL);
    ck_assert(tp_server_start(&srv, args, -1));
    connect_to(mem, TP_V1, srv.endpoint, &session);
    /* Later calls sleep less: replies come back out of order. */
    for (int i = 0; i < 32; i++) {
        slots[i].st = &st;
        slots[i].i = i;
        st.tags[i] = 1000u + (uint32_t)i;
        reqs[i].ms = (uint32_t)(32 - i) % 8;
        reqs[i].tag = st.tags[i];
        ck_assert_int_eq(parley_session_acquire_call(session, &calls[i]), PARLEY_OK);
        ck_assert_int_eq(parley_call_dispatch(calls[i], TP_SLEEP, &reqs[i], NULL, &st.replies[i],
                                              async_done, &slots[i]), PARLEY_PENDING);
    }
    pthread_mutex_lock(&st.lock);
    while (st.done < 32)
        pthread_cond_wait(&st.cond, &st.lock);
    pthread_mutex_unlock(&st.lock);
    ck_assert_int_eq(st.bad, 0);
    for (int i = 0; i < 32; i++) {
        ck_assert_int_eq(st.runs[i], 1);
        /* The reply is the call's until this thread takes it. */
        ck_assert_ptr_nonnull(talloc_steal(mem, st.replies[i]));
        parley_call_release(calls[i]);
        ck_assert_uint_eq(st.replies[i]->tag, st.tags[i]);
    }
    /* A dispatch that fails at once never runs its callback. */
    {
        parley_call *c;
        tp_echo bad = { NULL, { 0, NULL } };   /* NULL string does not encode */
        tp_echo *r = NULL;
        async_slot s = { &st, 0 };

        ck_assert_int_eq(parley_session_acquire_call(session, &c), PARLEY_OK);
        ck_assert_int_eq(parley_call_dispatch(c, TP_ECHO, &bad, NULL, &r, async_done, &s),
                         PARLEY_ERR_INVALID_ARGUMENT);
        parley_call_release(c);
        ck_assert_int_eq(st.runs[0], 1);
    }
    talloc_free(mem);
    ck_assert_int_eq(tp_server_stop(&srv), 0);
    pthread_cond_destroy(&st.cond);
    pthread_mutex_destroy(&st.lock);
}
END_TEST

START_TEST(test_oneway_and_callback)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const char *args[] = { "v1", "tcp:127.0.0.1:0", NULL };
    tp_server srv;
    parley_session *session;
    parley_call *call;
    tp_echo note = { (char *)"note", { 0, NULL } };
    tp_int zero = { 0 }, five = { 5 }, *rep = NULL;

    ck_assert(tp_server_start(&srv, args, -1));
    connect_to(mem, TP_V1, srv.endpoint, &session);
    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(parley_call_dispatch(call, TP_NOTE, &note, NULL, NULL, NULL, NULL),
                         PARLEY_OK);
    /* A oneway with a completion callback: PENDING, then done(OK) once. */
    {
        async_state st;
        async_slot slot = { &st, 0 };
        tp_tag dummy = { 0 };

        memset(&st, 0, sizeof(st));
        pthread_mutex_init(&st.lock, NULL);
        pthread_cond_init(&st.cond, NULL);
        st.replies[0] = &dummy;   /* async_done checks a reply; a oneway has none */
        ck_assert_int_eq(parley_call_dispatch(call, TP_NOTE, &note, NULL, NULL, async_done, &slot),
                         PARLEY_PENDING);
        pthread_mutex_lock(&st.lock);
        while (st.done < 1)
            pthread_cond_wait(&st.cond, &st.lock);
        pthread_mutex_unlock(&st.lock);
        ck_assert_int_eq(st.runs[0], 1);
        ck_assert_int_eq(st.bad, 0);
        pthread_cond_destroy(&st.cond);
        pthread_mutex_destroy(&st.lock);
    }
    /* Notes and NOTES run in order on the server's I/O thread. */
    ck_assert_int_eq(parley_call_dispatch(call, TP_NOTES, &zero, mem, &rep, NULL, NULL),
                     PARLEY_OK);
    ck_assert_int_eq(rep->v, 11);
    /* The server calls ADD(5, 5) back on this session while our call waits. */
    ck_assert_int_eq(parley_call_dispatch(call, TP_CALLBACK, &five, mem, &rep, NULL, NULL),
                     PARLEY_OK);
    ck_assert_int_eq(rep->v, 11);
    parley_call_release(call);
    talloc_free(mem);
    ck_assert_int_eq(tp_server_stop(&srv), 0);
}
END_TEST

/* ---- large messages: partial writes, queued frames, growing buffers ---- */

static void *big_echo_thread(void *p)
{
    parley_session *session = p;
    TALLOC_CTX *mem = talloc_new(NULL);
    size_t n = 700 * 1024;
    uint8_t *bytes = talloc_size(mem, n);
    tp_echo req = { (char *)"big", { n, bytes } };
    tp_echo *rep = NULL;
    parley_call *call;
    intptr_t bad = 0;

    for (size_t i = 0; i < n; i++)
        bytes[i] = (uint8_t)(i * 13 + 5);
    if (parley_session_acquire_call(session, &call) != PARLEY_OK)
        return (void *)1;
    for (int k = 0; k < 4; k++) {
        if (parley_call_dispatch(call, TP_ECHO, &req, mem, &rep, NULL, NULL) != PARLEY_OK ||
            rep->data.len != n || memcmp(rep->data.data, bytes, n) != 0)
            bad = 1;
        TALLOC_FREE(rep);
    }
    parley_call_release(call);
    talloc_free(mem);
    return (void *)bad;
}

START_TEST(test_large_messages)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const char *args[] = { "v1", "--max-message", "4000000", "tcp:127.0.0.1:0", NULL };
    const char *small[] = { "v1", "--max-message", "4096", "tcp:127.0.0.1:0", NULL };
    tp_server srv;
    parley_session *session;
    parley_call *call;
    size_t n = 3u << 20;
    uint8_t *bytes = talloc_size(mem, n);
    tp_echo req = { (char *)"x", { n, bytes } };
    tp_echo *rep = NULL;
    pthread_t th[3];

    for (size_t i = 0; i < n; i++)
        bytes[i] = (uint8_t)(i ^ (i >> 9));
    ck_assert(tp_server_start(&srv, args, -1));
    connect_to(mem, TP_V1, srv.endpoint, &session);
    /* One 3 MiB echo: far beyond the socket buffers both ways. */
    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(call, TP_ECHO, &req, mem, &rep, NULL, NULL), PARLEY_OK);
    ck_assert_uint_eq(rep->data.len, n);
    ck_assert(memcmp(rep->data.data, bytes, n) == 0);
    TALLOC_FREE(rep);
    /* Three threads sending 700 KiB frames at once on the session. */
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, big_echo_thread, session), 0);
    for (int i = 0; i < 3; i++) {
        void *bad;

        pthread_join(th[i], &bad);
        ck_assert_ptr_null(bad);
    }
    /* Small calls still work after large ones. */
    exercise(session);
    parley_call_release(call);
    ck_assert_int_eq(tp_server_stop(&srv), 0);

    /* Beyond what the other end accepts: OVERFLOW here, nothing sent. */
    ck_assert(tp_server_start(&srv, small, -1));
    connect_to(mem, TP_V1, srv.endpoint, &session);
    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    req.data.len = 5000;
    ck_assert_int_eq(parley_call_dispatch(call, TP_ECHO, &req, mem, &rep, NULL, NULL),
                     PARLEY_ERR_OVERFLOW);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "at most 4096"));
    req.data.len = 1000;
    ck_assert_int_eq(parley_call_dispatch(call, TP_ECHO, &req, mem, &rep, NULL, NULL), PARLEY_OK);
    ck_assert_uint_eq(rep->data.len, 1000);
    parley_call_release(call);
    talloc_free(mem);
    ck_assert_int_eq(tp_server_stop(&srv), 0);
}
END_TEST

/* ---- 8 threads x 1,000 calls on one session ---- */

typedef struct stress_arg {
    parley_session *session;
    unsigned seed;
    int thread;
    int mismatches;
    int failures;
} stress_arg;

static void *stress_thread(void *p)
{
    stress_arg *a = p;
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_call *call;

    if (parley_session_acquire_call(a->session, &call) != PARLEY_OK) {
        a->failures++;
        return NULL;
    }
    for (int i = 0; i < 1000; i++) {
        tp_sleep req = { (rand_r(&a->seed) % 16 == 0) ? 1u : 0u,
                         (uint32_t)(a->thread * 100000 + i) };
        tp_tag *rep = NULL;

        if (parley_call_dispatch(call, TP_SLEEP, &req, mem, &rep, NULL, NULL) != PARLEY_OK)
            a->failures++;
        else if (rep->tag != req.tag)
            a->mismatches++;
        talloc_free(rep);
    }
    parley_call_release(call);
    talloc_free(mem);
    return NULL;
}

START_TEST(test_stress_8x1000)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const char *args[] = { "v1", "--workers", "4", "tcp:127.0.0.1:0", NULL };
    tp_server srv;
    parley_session *session;
    pthread_t th[8];
    stress_arg a[8];

    ck_assert(tp_server_start(&srv, args, -1));
    connect_to(mem, TP_V1, srv.endpoint, &session);
    for (int i = 0; i < 8; i++) {
        a[i].session = session;
        a[i].seed = (unsigned)(i * 7919 + 1);
        a[i].thread = i;
        a[i].mismatches = a[i].failures = 0;
        ck_assert_int_eq(pthread_create(&th[i], NULL, stress_thread, &a[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(a[i].failures, 0);
        ck_assert_int_eq(a[i].mismatches, 0);
    }
    talloc_free(mem);
    ck_assert_int_eq(tp_server_stop(&srv), 0);
}
END_TEST

Suite *parley_peer_suite(void)
{
    Suite *s = suite_create("peer");
    TCase *tc = tcase_create("transports");
    TCase *calls = tcase_create("calls");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_unix_path);
    tcase_add_test(tc, test_unix_abstract);
    tcase_add_test(tc, test_tcp_v4);
    tcase_add_test(tc, test_tcp_v6);
    tcase_add_test(tc, test_socketpair_process);
    tcase_add_test(tc, test_socketpair_in_process);
    tcase_add_test(tc, test_handshake_versions);
    suite_add_tcase(s, tc);
    tcase_set_timeout(calls, 120);
    tcase_add_test(calls, test_async_in_flight);
    tcase_add_test(calls, test_oneway_and_callback);
    tcase_add_test(calls, test_stress_8x1000);
    tcase_add_test(calls, test_large_messages);
    suite_add_tcase(s, calls);
    return s;
}
