/* SPDX-License-Identifier: MIT */
/* Runtime, queued receive (parley/receive.h): calls taken by the
 * application's thread with and without a timeout, oneway messages in
 * order, backpressure when the queue is full, a call cancelled or a session
 * closed while queued, and a receiver woken by the peer's end.  Two peers
 * in this process on a socketpair. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>

#include "receive.h"
#include "suites.h"
#include "test_proto.h"

typedef struct pair {
    TALLOC_CTX *mem;
    parley_peer *server, *client;
    parley_session *session;
} pair;

static void pair_open(pair *p, unsigned capacity)
{
    const uint32_t ids[] = { TP_ADD, TP_NOTE, TP_PEND };
    int sv[2];

    memset(p, 0, sizeof(*p));
    p->mem = talloc_new(NULL);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(parley_peer_new(p->mem, tp_protocol(TP_V1), &p->server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_new(p->mem, tp_protocol(TP_V1), &p->client), PARLEY_OK);
    ck_assert_msg(parley_peer_add_queue(p->server, ids, 3, capacity) == PARLEY_OK, "%s",
                  parley_error_message());
    ck_assert_int_eq(parley_peer_accept_fd(p->server, sv[1]), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect_fd(p->client, sv[0], &p->session), PARLEY_OK);
}

static unsigned queued(parley_peer *peer)
{
    unsigned n, r;

    parley__receive_state(peer, &n, &r);
    return n;
}

/* Poll (bounded: 10 s) until the queue holds n calls. */
static bool wait_queued(parley_peer *peer, unsigned n)
{
    for (int i = 0; i < 1000; i++) {
        if (queued(peer) == n)
            return true;
        usleep(10000);
    }
    return false;
}

typedef struct done_box {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int runs;
    parley_status status;
} done_box;

#define DONE_BOX_INIT { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, PARLEY_OK }

static void on_done(parley_call *call, parley_status status, void *data)
{
    done_box *b = data;

    (void)call;
    pthread_mutex_lock(&b->lock);
    b->runs++;
    b->status = status;
    pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

static int done_wait(done_box *b, int n)
{
    struct timespec dl;
    int runs;

    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    pthread_mutex_lock(&b->lock);
    while (b->runs < n && pthread_cond_timedwait(&b->cond, &b->lock, &dl) == 0)
        ;
    runs = b->runs;
    pthread_mutex_unlock(&b->lock);
    return runs;
}

/* A received call's request, and its reply struct (NULL when oneway). */
static const void *request_of(parley_call *call)
{
    const void *v = NULL;

    ck_assert_int_eq(parley_call_get_request(call, NULL, &v), PARLEY_OK);
    return v;
}

static void *reply_of(parley_call *call)
{
    void *v = NULL;

    return parley_call_get_reply(call, NULL, &v) == PARLEY_OK ? v : NULL;
}

START_TEST(test_receive_arguments)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    parley_call *call = NULL;
    const uint32_t ids[] = { TP_ADD }, bad[] = { 999 }, both[] = { TP_ECHO, TP_ECHO };

    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_receive(peer, 0, &call), PARLEY_ERR_INVALID_STATE);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "no queue"));
    ck_assert_int_eq(parley_peer_add_queue(NULL, ids, 1, 4), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_add_queue(peer, NULL, 1, 4), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_add_queue(peer, ids, 0, 4), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_add_queue(peer, ids, 1, 0), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "capacity 0"));
    ck_assert_int_eq(parley_peer_add_queue(peer, ids, 1, 65537), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_add_queue(peer, bad, 1, 4), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "no method 999"));
    ck_assert_int_eq(parley_peer_add_queue(peer, both, 2, 4), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_receive(peer, 0, &call), PARLEY_ERR_INVALID_STATE);
    ck_assert_int_eq(parley_peer_add_queue(peer, ids, 1, 4), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_queue(peer, ids, 1, 4), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "registered twice"));
    {
        const uint32_t more[] = { TP_NOTE };
        ck_assert_int_eq(parley_peer_add_queue(peer, more, 1, 8), PARLEY_ERR_INVALID_ARGUMENT);
        ck_assert_ptr_nonnull(strstr(parley_error_message(), "capacity 4, not 8"));
        ck_assert_int_eq(parley_peer_add_queue(peer, more, 1, 4), PARLEY_OK);
    }
    ck_assert_int_eq(parley_peer_receive(NULL, 0, &call), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_receive(peer, 0, NULL), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_receive(peer, -2, &call), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_receive(peer, 0, &call), PARLEY_ERR_TIMEOUT);
    ck_assert_int_eq(parley_peer_receive(peer, 30, &call), PARLEY_ERR_TIMEOUT);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "within 30 ms"));
    ck_assert_ptr_null(call);
    {
        const void *v = NULL;
        void *r = NULL;

        ck_assert_int_eq(parley_call_get_request(NULL, NULL, &v), PARLEY_ERR_INVALID_ARGUMENT);
        ck_assert_int_eq(parley_call_get_reply(NULL, NULL, &r), PARLEY_ERR_INVALID_ARGUMENT);
    }
    talloc_free(mem);
}
END_TEST

START_TEST(test_receive_calls)
{
    pair p;
    parley_call *out, *in = NULL;
    tp_pair add = { 20, 22 };
    tp_int *sum = NULL;
    done_box box = DONE_BOX_INIT;

    pair_open(&p, 4);
    ck_assert_int_eq(parley_peer_receive(p.server, 0, &in), PARLEY_ERR_TIMEOUT);

    /* a two-way call: received with a timeout, answered from this thread */
    ck_assert_int_eq(parley_session_acquire_call(p.session, &out), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(out, TP_ADD, &add, NULL, &sum, on_done, &box),
                     PARLEY_PENDING);
    ck_assert_msg(parley_peer_receive(p.server, 10000, &in) == PARLEY_OK, "%s",
                  parley_error_message());
    ck_assert_uint_eq(parley_call_get_method(in)->id, TP_ADD);
    ck_assert_int_eq(parley_call_get_direction(in), PARLEY_CALL_INCOMING);
    ck_assert_ptr_nonnull(parley_call_get_session(in));
    {
        const tp_pair *req = request_of(in);
        tp_int *rep = reply_of(in);

        ck_assert_int_eq(req->a, 20);
        ck_assert_int_eq(req->b, 22);
        rep->v = req->a + req->b;
    }
    ck_assert_int_eq(parley_call_complete(in, PARLEY_OK), PARLEY_OK);
    ck_assert_int_eq(done_wait(&box, 1), 1);
    ck_assert_int_eq(box.status, PARLEY_OK);
    ck_assert_int_eq(sum->v, 42);

    /* an error status reaches the caller */
    ck_assert_int_eq(parley_call_dispatch(out, TP_ADD, &add, NULL, &sum, on_done, &box),
                     PARLEY_PENDING);
    ck_assert_int_eq(parley_peer_receive(p.server, PARLEY_RECEIVE_FOREVER, &in), PARLEY_OK);
    ck_assert_int_eq(parley_call_set_remote_error(in, 7, "refused %d", 7), PARLEY_OK);
    ck_assert_int_eq(parley_call_complete(in, PARLEY_ERR_REMOTE), PARLEY_OK);
    ck_assert_int_eq(done_wait(&box, 2), 2);
    ck_assert_int_eq(box.status, PARLEY_ERR_REMOTE);
    parley_call_release(out);

    /* oneway messages: received in order, no reply struct, completed */
    for (int i = 0; i < 3; i++) {
        char text[16];
        tp_echo note = { text, { 0, NULL } };

        snprintf(text, sizeof(text), "note %d", i);
        ck_assert_int_eq(parley_session_acquire_call(p.session, &out), PARLEY_OK);
        ck_assert_int_eq(parley_call_dispatch(out, TP_NOTE, &note, NULL, NULL, NULL, NULL),
                         PARLEY_OK);
        parley_call_release(out);
    }
    for (int i = 0; i < 3; i++) {
        char text[16];
        const tp_echo *note;

        snprintf(text, sizeof(text), "note %d", i);
        ck_assert_int_eq(parley_peer_receive(p.server, 10000, &in), PARLEY_OK);
        ck_assert_uint_eq(parley_call_get_method(in)->id, TP_NOTE);
        ck_assert_ptr_null(reply_of(in));
        note = request_of(in);
        ck_assert_str_eq(note->text, text);
        ck_assert_int_eq(parley_call_complete(in, PARLEY_OK), PARLEY_OK);
    }
    ck_assert_int_eq(parley_peer_receive(p.server, 0, &in), PARLEY_ERR_TIMEOUT);
    talloc_free(p.mem);
}
END_TEST

/* A full queue stops the reading of the session that filled it: the queue
 * never holds more than its capacity (one session), and every message comes
 * through once a receiver takes them. */
START_TEST(test_receive_backpressure)
{
    enum { CAPACITY = 3, N = 40 };
    pair p;
    parley_call *out, *in;

    pair_open(&p, CAPACITY);
    for (int i = 0; i < N; i++) {
        char text[16];
        tp_echo note = { text, { 0, NULL } };

        snprintf(text, sizeof(text), "%d", i);
        ck_assert_int_eq(parley_session_acquire_call(p.session, &out), PARLEY_OK);
        ck_assert_int_eq(parley_call_dispatch(out, TP_NOTE, &note, NULL, NULL, NULL, NULL),
                         PARLEY_OK);
        parley_call_release(out);
    }
    ck_assert(wait_queued(p.server, CAPACITY));
    usleep(200000);      /* had reading gone on, more would be queued by now */
    ck_assert_uint_eq(queued(p.server), CAPACITY);
    for (int i = 0; i < N; i++) {
        const tp_echo *note;

        ck_assert_int_eq(parley_peer_receive(p.server, 10000, &in), PARLEY_OK);
        ck_assert_uint_le(queued(p.server), CAPACITY);
        note = request_of(in);
        ck_assert_int_eq(atoi(note->text), i);
        ck_assert_int_eq(parley_call_complete(in, PARLEY_OK), PARLEY_OK);
    }
    ck_assert_int_eq(parley_peer_receive(p.server, 0, &in), PARLEY_ERR_TIMEOUT);
    talloc_free(p.mem);
}
END_TEST

/* Two sessions: each is paused when it finds the queue full, so the queue
 * holds at most its capacity plus one call of the other session; every
 * message of both arrives, each session's in order. */
START_TEST(test_receive_backpressure_sessions)
{
    enum { CAPACITY = 2, N = 20 };
    pair p;
    parley_peer *second;
    parley_session *s2;
    parley_call *out, *in;
    int sv[2], next[2] = { 0, 0 };

    pair_open(&p, CAPACITY);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(parley_peer_new(p.mem, tp_protocol(TP_V1), &second), PARLEY_OK);
    ck_assert_int_eq(parley_peer_accept_fd(p.server, sv[1]), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect_fd(second, sv[0], &s2), PARLEY_OK);
    for (int i = 0; i < 2 * N; i++) {
        char text[16];
        tp_echo note = { text, { 0, NULL } };

        snprintf(text, sizeof(text), "%d %d", i % 2, i / 2);
        ck_assert_int_eq(parley_session_acquire_call(i % 2 ? s2 : p.session, &out), PARLEY_OK);
        ck_assert_int_eq(parley_call_dispatch(out, TP_NOTE, &note, NULL, NULL, NULL, NULL),
                         PARLEY_OK);
        parley_call_release(out);
    }
    for (int i = 0; i < 1000 && queued(p.server) < CAPACITY; i++)
        usleep(10000);
    usleep(200000);
    ck_assert_uint_ge(queued(p.server), CAPACITY);
    ck_assert_uint_le(queued(p.server), CAPACITY + 1);
    for (int i = 0; i < 2 * N; i++) {
        const tp_echo *note;
        int who, seq;

        ck_assert_int_eq(parley_peer_receive(p.server, 10000, &in), PARLEY_OK);
        ck_assert_uint_le(queued(p.server), CAPACITY + 1);
        note = request_of(in);
        ck_assert_int_eq(sscanf(note->text, "%d %d", &who, &seq), 2);
        ck_assert_int_eq(seq, next[who]);
        next[who]++;
        ck_assert_int_eq(parley_call_complete(in, PARLEY_OK), PARLEY_OK);
    }
    ck_assert_int_eq(next[0], N);
    ck_assert_int_eq(next[1], N);
    talloc_free(p.mem);
}
END_TEST

/* A call cancelled by its caller, or whose deadline passed, or whose
 * session closed, leaves the queue: the receiver never sees it. */
START_TEST(test_receive_cancel)
{
    pair p;
    parley_call *out, *in;
    tp_pair add = { 1, 2 };
    tp_int *sum = NULL;
    done_box box = DONE_BOX_INIT;

    pair_open(&p, 4);
    ck_assert_int_eq(parley_session_acquire_call(p.session, &out), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(out, TP_ADD, &add, NULL, &sum, on_done, &box),
                     PARLEY_PENDING);
    ck_assert(wait_queued(p.server, 1));
    ck_assert_int_eq(parley_call_cancel(out), PARLEY_OK);
    ck_assert_int_eq(done_wait(&box, 1), 1);
    ck_assert_int_eq(box.status, PARLEY_ERR_CANCELLED);
    ck_assert(wait_queued(p.server, 0));
    ck_assert_int_eq(parley_peer_receive(p.server, 0, &in), PARLEY_ERR_TIMEOUT);

    /* the caller's deadline */
    ck_assert_int_eq(parley_call_set_timeout(out, 100), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(out, TP_ADD, &add, p.mem, &sum, NULL, NULL),
                     PARLEY_ERR_TIMEOUT);
    ck_assert(wait_queued(p.server, 0));
    ck_assert_int_eq(parley_peer_receive(p.server, 0, &in), PARLEY_ERR_TIMEOUT);
    ck_assert_int_eq(parley_call_set_timeout(out, PARLEY_TIMEOUT_DEFAULT), PARLEY_OK);

    /* the session's end */
    ck_assert_int_eq(parley_call_dispatch(out, TP_ADD, &add, NULL, &sum, on_done, &box),
                     PARLEY_PENDING);
    ck_assert(wait_queued(p.server, 1));
    parley_call_release(out);
    parley_session_close(p.session);
    ck_assert(wait_queued(p.server, 0));
    ck_assert_int_eq(parley_peer_receive(p.server, 0, &in), PARLEY_ERR_TIMEOUT);
    talloc_free(p.mem);
}
END_TEST

typedef struct receiver {
    parley_peer *peer;
    parley_status status;
} receiver;

static void *receive_thread(void *data)
{
    receiver *r = data;
    parley_call *call;

    r->status = parley_peer_receive(r->peer, PARLEY_RECEIVE_FOREVER, &call);
    return NULL;
}

/* Freeing the peer wakes a receiver waiting without a deadline. */
START_TEST(test_receive_peer_freed)
{
    pair p;
    receiver r;
    pthread_t t;
    unsigned n = 0, waiting = 0;

    pair_open(&p, 2);
    r.peer = p.server;
    r.status = PARLEY_OK;
    ck_assert_int_eq(pthread_create(&t, NULL, receive_thread, &r), 0);
    for (int i = 0; i < 1000 && waiting == 0; i++) {
        parley__receive_state(p.server, &n, &waiting);
        if (waiting == 0)
            usleep(10000);
    }
    ck_assert_uint_eq(waiting, 1);
    talloc_free(p.server);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_int_eq(r.status, PARLEY_ERR_CONNECTION_CLOSED);
    talloc_free(p.mem);
}
END_TEST

Suite *parley_receive_suite(void)
{
    Suite *s = suite_create("receive");
    TCase *tc = tcase_create("receive");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_receive_arguments);
    tcase_add_test(tc, test_receive_calls);
    tcase_add_test(tc, test_receive_backpressure);
    tcase_add_test(tc, test_receive_backpressure_sessions);
    tcase_add_test(tc, test_receive_cancel);
    tcase_add_test(tc, test_receive_peer_freed);
    suite_add_tcase(s, tc);
    return s;
}
