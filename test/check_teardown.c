/* SPDX-License-Identifier: MIT */
/* Cancellation and teardown that keep their word (doc/runtime.md, "Closing
 * and teardown"), in process: dispatch racing session close (client and
 * server side) and the other end's peer being freed; cancel of a synchronous
 * call whose handler sleeps; release sends CANCEL; session close is
 * synchronous, also for one incoming session; stop_listen from handlers;
 * freeing peers with calls in flight.  Races loop 300 times by default,
 * PARLEY_TEST_ITERATIONS times when set; nothing asserts a timing. */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "contract.h"
#include "suites.h"
#include "test_proto.h"

/* ---- races with teardown ---------------------------------------------------- */

typedef struct racer {
    parley_call *call;
    parley_status st;
    int runs;
} racer;

static void *dispatch_thread(void *arg)
{
    racer *r = arg;
    tp_pair req = { 1, 2 };
    static tp_int *rep;   /* written by the callbacks, on the I/O thread, after this returns */

    r->st = parley_call_dispatch(r->call, TP_ADD, &req, NULL, &rep, ct_count_done, &r->runs);
    return NULL;
}

START_TEST(test_dispatch_races_session_close)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    server_opts o = { 0, PARLEY_NONBLOCKING };
    char *ep;
    parley_peer *client;
    int n = ct_iterations(300), pending = 0;

    ct_reset();
    (void)ct_server_start(mem, &o, &ep);
    client = ct_client_new(mem, ep, 0);
    for (int i = 0; i < n; i++) {
        parley_session *session = ct_connect_to(client);
        racer r = { NULL, PARLEY_OK, 0 };
        pthread_t t;

        ck_assert_int_eq(parley_session_acquire_call(session, &r.call), PARLEY_OK);
        ck_assert_int_eq(pthread_create(&t, NULL, dispatch_thread, &r), 0);
        parley_session_close(session);
        pthread_join(t, NULL);
        ck_assert_msg(r.st == PARLEY_PENDING || r.st == PARLEY_ERR_CONNECTION_CLOSED,
                      "dispatch: %s", parley_status_name(r.st));
        if (r.st == PARLEY_PENDING) {
            pending++;
            WAIT_FOR(r.runs == 1);
        }
        ck_assert(!parley_session_is_connected(parley_call_get_session(r.call)));
        parley_call_release(r.call);
        ck_assert_int_le(r.runs, 1);
    }
    WAIT_FOR(ct.cb_runs == pending);
    talloc_free(mem);
}
END_TEST

/* The same race from the server's side: a handler's callback call to the
 * client against the client closing the session. */
START_TEST(test_server_callback_races_session_close)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    server_opts o = { 0, PARLEY_NONBLOCKING };
    static const parley_dispatch client_table[] = { { TP_ADD, ct_h_add, PARLEY_NONBLOCKING } };
    char *ep;
    parley_peer *client;
    int n = ct_iterations(300);

    ct_reset();
    (void)ct_server_start(mem, &o, &ep);
    client = ct_client_new(mem, ep, 0);
    ck_assert_int_eq(parley_peer_add_dispatch(client, client_table, 1, NULL), PARLEY_OK);
    for (int i = 0; i < n; i++) {
        parley_session *session = ct_connect_to(client);
        parley_call *call;
        tp_int req = { i }, *rep = NULL;
        parley_status st;

        ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
        st = parley_call_dispatch(call, TP_CALLBACK, &req, mem, &rep, NULL, NULL);
        ck_assert_msg(st == PARLEY_OK, "%s", parley_error_message());
        parley_session_close(session);
        parley_call_release(call);
    }
    /* Every callback call the server started completed exactly once. */
    WAIT_FOR(ct.srv_pending == n);
    WAIT_FOR(ct.srv_cb_runs == ct.srv_pending);
    ck_assert_int_eq(ct.srv_bad, 0);
    talloc_free(mem);
}
END_TEST

typedef struct flood {
    parley_session *session;
    int pending, stopped;
    parley_status last;
} flood;

static void *flood_thread(void *arg)
{
    flood *f = arg;
    static tp_int *rep;   /* written by the callbacks, on the I/O thread, after this returns */

    for (;;) {
        parley_call *call;
        tp_pair req = { 1, 1 };
        parley_status st = parley_session_acquire_call(f->session, &call);

        if (st == PARLEY_OK) {
            st = parley_call_dispatch(call, TP_ADD, &req, NULL, &rep, ct_count_done, NULL);
            parley_call_release(call);
        }
        if (st != PARLEY_PENDING) {
            f->last = st;
            break;
        }
        f->pending++;
    }
    return NULL;
}

START_TEST(test_dispatch_races_peer_kill)
{
    int n = ct_iterations(300) / 10;

    ct_reset();
    for (int i = 0; i < (n > 0 ? n : 1); i++) {
        TALLOC_CTX *mem = talloc_new(NULL);
        server_opts o = { 0, PARLEY_NONBLOCKING };
        char *ep;
        parley_peer *server, *client;
        flood f = { NULL, 0, 0, PARLEY_OK };
        pthread_t t;

        pthread_mutex_lock(&ct.lock);
        ct.cb_runs = 0;
        pthread_mutex_unlock(&ct.lock);
        server = ct_server_start(mem, &o, &ep);
        client = ct_client_new(NULL, ep, 0);
        f.session = ct_connect_to(client);
        ck_assert_int_eq(pthread_create(&t, NULL, flood_thread, &f), 0);
        usleep(1000 * (unsigned)(i % 5));
        talloc_free(server);   /* the other end goes away mid-flood */
        pthread_join(t, NULL);
        ck_assert_msg(f.last == PARLEY_ERR_CONNECTION_CLOSED, "%s",
                      parley_status_name(f.last));
        WAIT_FOR(ct.cb_runs == f.pending);
        talloc_free(client);
        talloc_free(mem);
    }
}
END_TEST

/* ---- cancellation and teardown ---------------------------------------------- */

typedef struct sync_caller {
    parley_call *call;
    uint32_t method;
    parley_status st;
    bool returned;
    int finished_then;   /* server handlers finished when it returned */
} sync_caller;

static void *sync_thread(void *arg)
{
    sync_caller *s = arg;
    tp_sleep req = { 0, 5 };
    tp_tag *rep = NULL;
    TALLOC_CTX *tmp = talloc_new(NULL);

    s->st = parley_call_dispatch(s->call, s->method, &req, tmp, &rep, NULL, NULL);
    talloc_free(tmp);
    pthread_mutex_lock(&ct.lock);
    s->finished_then = ct.finished;
    s->returned = true;
    pthread_cond_broadcast(&ct.cond);
    pthread_mutex_unlock(&ct.lock);
    return NULL;
}

START_TEST(test_cancel_sync_call_at_once)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    server_opts o = { 0, PARLEY_NONBLOCKING };
    char *ep;
    parley_peer *client;
    parley_session *session;
    sync_caller s = { NULL, TP_SLEEP, PARLEY_OK, false, 0 };
    sync_caller p = { NULL, TP_PEND, PARLEY_OK, false, 0 };
    pthread_t t;

    ct_reset();
    (void)ct_server_start(mem, &o, &ep);
    client = ct_client_new(mem, ep, 0);
    session = ct_connect_to(client);
    /* A handler that sleeps (until the gate opens) and ignores the cancel. */
    ck_assert_int_eq(parley_session_acquire_call(session, &s.call), PARLEY_OK);
    ck_assert_int_eq(pthread_create(&t, NULL, sync_thread, &s), 0);
    WAIT_FOR(ct.entered == 1);
    ck_assert_int_eq(parley_call_cancel(s.call), PARLEY_OK);
    WAIT_FOR(s.returned);
    pthread_join(t, NULL);
    ck_assert_int_eq(s.st, PARLEY_ERR_CANCELLED);
    ck_assert_int_eq(s.finished_then, 0);   /* before the handler finished */
    ct_open_gate();
    WAIT_FOR(ct.finished == 1);
    /* A pended handler: the server sees the cancel (its cancel function runs). */
    ck_assert_int_eq(parley_session_acquire_call(session, &p.call), PARLEY_OK);
    ck_assert_int_eq(pthread_create(&t, NULL, sync_thread, &p), 0);
    WAIT_FOR(ct.pended == 1);
    ck_assert_int_eq(parley_call_cancel(p.call), PARLEY_OK);
    WAIT_FOR(p.returned);
    pthread_join(t, NULL);
    ck_assert_int_eq(p.st, PARLEY_ERR_CANCELLED);
    WAIT_FOR(ct.cancels == 1);
    /* Both handles are reusable, and the session is fine. */
    ck_assert_int_eq(ct_add_sync(session, 1, 1, NULL), PARLEY_OK);
    parley_call_release(s.call);
    parley_call_release(p.call);
    talloc_free(mem);
}
END_TEST

START_TEST(test_release_sends_cancel)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    server_opts o = { 2, PARLEY_NONBLOCKING };
    char *ep;
    parley_peer *client;
    parley_session *session;
    int32_t sum = 0;

    ct_reset();
    (void)ct_server_start(mem, &o, &ep);
    client = ct_client_new(mem, ep, 0);
    session = ct_connect_to(client);
    for (int round = 1; round <= 3; round++) {
        parley_call *calls[2];
        tp_sleep req = { 0, 1 };
        static tp_tag *rep;

        for (int i = 0; i < 2; i++) {
            ck_assert_int_eq(parley_session_acquire_call(session, &calls[i]), PARLEY_OK);
            ck_assert_int_eq(parley_call_dispatch(calls[i], TP_PEND, &req, NULL, &rep,
                                                  ct_count_done, NULL), PARLEY_PENDING);
        }
        WAIT_FOR(ct.pended == 2 * round);
        parley_call_release(calls[0]);
        parley_call_release(calls[1]);
        /* The server's pended calls are cancelled: their slots free. */
        WAIT_FOR(ct.cancels == 2 * round);
        WAIT_FOR(ct.cb_runs == 2 * round);
    }
    ck_assert_int_eq(ct_add_sync(session, 20, 22, &sum), PARLEY_OK);
    ck_assert_int_eq(sum, 42);
    talloc_free(mem);
}
END_TEST

typedef struct spammer {
    parley_call *call;
    atomic_bool closed, stop;
    int sent_after_close;
} spammer;

static void *spam_thread(void *arg)
{
    spammer *s = arg;
    parley_call *call = s->call;
    TALLOC_CTX *tmp = talloc_new(NULL);

    while (!s->stop) {
        bool closed = s->closed;
        tp_pair req = { 1, 1 };
        tp_int *rep = NULL;
        parley_status st = parley_call_dispatch(call, TP_ADD, &req, tmp, &rep, NULL, NULL);

        if (closed && st == PARLEY_OK)
            s->sent_after_close++;
        if (st == PARLEY_ERR_CONNECTION_CLOSED)
            break;
        talloc_free_children(tmp);
    }
    parley_call_release(call);
    talloc_free(tmp);
    return NULL;
}

START_TEST(test_session_close_is_synchronous)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    server_opts o = { 0, PARLEY_NONBLOCKING };
    char *ep;
    parley_peer *client;
    parley_session *session;
    parley_call *call;
    tp_pair req = { 1, 2 };
    tp_int *rep = NULL;
    spammer s;
    pthread_t t;

    ct_reset();
    (void)ct_server_start(mem, &o, &ep);
    client = ct_client_new(mem, ep, 0);
    session = ct_connect_to(client);
    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(call, TP_ADD, &req, mem, &rep, NULL, NULL), PARLEY_OK);
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(parley_session_acquire_call(session, &s.call), PARLEY_OK);
    ck_assert_int_eq(pthread_create(&t, NULL, spam_thread, &s), 0);
    usleep(2000);
    parley_session_close(session);
    s.closed = true;
    /* At once: not connected, nothing can be sent. */
    ck_assert(!parley_session_is_connected(parley_call_get_session(call)));
    ck_assert_int_eq(parley_call_dispatch(call, TP_ADD, &req, mem, &rep, NULL, NULL),
                     PARLEY_ERR_CONNECTION_CLOSED);
    ck_assert_int_eq(parley_call_dispatch(call, TP_ADD, &req, NULL, &rep, ct_count_done, NULL),
                     PARLEY_ERR_CONNECTION_CLOSED);
    s.stop = true;
    pthread_join(t, NULL);
    ck_assert_int_eq(s.sent_after_close, 0);
    ck_assert_int_eq(ct.cb_runs, 0);
    parley_call_release(call);
    talloc_free(mem);
}
END_TEST

START_TEST(test_server_closes_one_session)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    server_opts o = { 0, PARLEY_NONBLOCKING };
    char *ep;
    parley_peer *client;
    parley_session *a, *b;
    parley_call *call;
    tp_int req = { 0 }, *rep = NULL;

    ct_reset();
    (void)ct_server_start(mem, &o, &ep);
    client = ct_client_new(mem, ep, 0);
    a = ct_connect_to(client);
    b = ct_connect_to(client);
    ck_assert_int_eq(parley_session_acquire_call(a, &call), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(call, TP_NOTES, &req, mem, &rep, NULL, NULL),
                     PARLEY_ERR_CONNECTION_CLOSED);
    ck_assert_msg(strstr(parley_error_message(), "server closed the session") != NULL, "%s",
                  parley_error_message());
    ck_assert(!parley_session_is_connected(a));
    parley_call_release(call);
    /* The other client is not disturbed. */
    ck_assert(parley_session_is_connected(b));
    ck_assert_int_eq(ct_add_sync(b, 1, 2, NULL), PARLEY_OK);
    talloc_free(mem);
}
END_TEST

static void stop_listen_from_handler(uint32_t method)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    server_opts o = { 0, PARLEY_NONBLOCKING };
    char *ep;
    parley_peer *client;
    parley_session *session, *late;
    parley_call *call;
    tp_int req = { 0 }, *rep = NULL;
    parley_status st;

    ct_reset();
    (void)ct_server_start(mem, &o, &ep);
    client = ct_client_new(mem, ep, 0);
    session = ct_connect_to(client);
    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    st = parley_call_dispatch(call, method, &req, mem, &rep, NULL, NULL);
    /* The reply or the close, whichever the handler's return meets first. */
    ck_assert_msg(st == PARLEY_OK || st == PARLEY_ERR_CONNECTION_CLOSED, "%s",
                  parley_status_name(st));
    WAIT_FOR(ct.stop_ran);
    ck_assert_int_eq(ct.stop_status, PARLEY_OK);
    parley_call_release(call);
    /* Stopped: the session ends, and nobody listens any more. */
    for (int i = 0; i < 3000 && parley_session_is_connected(session); i++)
        usleep(10000);
    ck_assert(!parley_session_is_connected(session));
    ck_assert_int_eq(parley_peer_connect(client, &late), PARLEY_ERR_CONNECTION_REFUSED);
    talloc_free(mem);
}

START_TEST(test_stop_listen_from_blocking_handler)
{
    stop_listen_from_handler(TP_FAIL);
}
END_TEST

START_TEST(test_stop_listen_from_nonblocking_handler)
{
    stop_listen_from_handler(TP_CANCELS);
}
END_TEST

static void *open_gate_later(void *arg)
{
    (void)arg;
    usleep(100000);   /* the free is under way (or about to be) */
    ct_open_gate();
    return NULL;
}

START_TEST(test_free_peers_with_calls_in_flight)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    server_opts o = { 0, PARLEY_NONBLOCKING };
    char *ep;
    parley_peer *server, *client, *other;
    parley_session *session, *os;
    parley_call *calls[4], *ocalls[3];
    int runs[4] = { 0, 0, 0, 0 };
    tp_sleep req = { 0, 9 };
    static tp_tag *reps[4], *oreps[3];
    pthread_t t;

    ct_reset();
    server = ct_server_start(mem, &o, &ep);
    client = ct_client_new(NULL, ep, 0);
    session = ct_connect_to(client);
    /* Client side: three pended calls and one with a running handler. */
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(parley_session_acquire_call(session, &calls[i]), PARLEY_OK);
        ck_assert_int_eq(parley_call_dispatch(calls[i], i < 3 ? TP_PEND : TP_SLEEP, &req, NULL,
                                              &reps[i], ct_count_done, &runs[i]), PARLEY_PENDING);
    }
    WAIT_FOR(ct.pended == 3 && ct.entered == 1);
    talloc_free(client);
    /* Every outstanding call completed once, before the free returned. */
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(runs[i], 1);
    /* The handles outlive the peer until released. */
    for (int i = 0; i < 4; i++) {
        ck_assert(!parley_session_is_connected(parley_call_get_session(calls[i])));
        ck_assert_int_eq(parley_call_dispatch(calls[i], TP_PEND, &req, NULL, &reps[i],
                                              ct_count_done, NULL), PARLEY_ERR_CONNECTION_CLOSED);
        parley_call_release(calls[i]);
    }
    /* The server saw the client go: its pended calls were cancelled. */
    WAIT_FOR(ct.cancels == 3);

    /* Server side: pended calls and a running handler when it is freed. */
    other = ct_client_new(mem, ep, 0);
    os = ct_connect_to(other);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(parley_session_acquire_call(os, &ocalls[i]), PARLEY_OK);
        ck_assert_int_eq(parley_call_dispatch(ocalls[i], i < 2 ? TP_PEND : TP_SLEEP, &req, NULL,
                                              &oreps[i], ct_count_done, NULL), PARLEY_PENDING);
    }
    WAIT_FOR(ct.pended == 5 && ct.entered == 2);
    ck_assert_int_eq(pthread_create(&t, NULL, open_gate_later, NULL), 0);
    talloc_free(server);
    /* It waited for the running handler and cancelled the pended calls. */
    ck_assert_int_eq(ct.finished, 2);
    ck_assert_int_eq(ct.cancels, 5);
    pthread_join(t, NULL);
    for (int i = 0; i < 3; i++)
        parley_call_release(ocalls[i]);
    talloc_free(mem);
}
END_TEST

static void release_in_callback(parley_call *call, parley_status status, void *data)
{
    (void)status;
    parley_call_release(call);
    ct_bump((int *)data);
}

/* Callbacks that run while the peer is being freed may release their calls. */
START_TEST(test_free_peer_callbacks_release)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    server_opts o = { 0, PARLEY_NONBLOCKING };
    char *ep;
    parley_peer *client;
    parley_session *session;
    tp_sleep req = { 0, 3 };
    static tp_tag *reps[2];
    int runs = 0;

    ct_reset();
    (void)ct_server_start(mem, &o, &ep);
    client = ct_client_new(NULL, ep, 0);
    session = ct_connect_to(client);
    for (int i = 0; i < 2; i++) {
        parley_call *call;

        ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
        ck_assert_int_eq(parley_call_dispatch(call, TP_PEND, &req, NULL, &reps[i],
                                              release_in_callback, &runs), PARLEY_PENDING);
    }
    WAIT_FOR(ct.pended == 2);
    talloc_free(client);
    ck_assert_int_eq(runs, 2);
    talloc_free(mem);
}
END_TEST

Suite *parley_teardown_suite(void)
{
    Suite *s = suite_create("teardown");
    TCase *tc = tcase_create("teardown");

    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_dispatch_races_session_close);
    tcase_add_test(tc, test_server_callback_races_session_close);
    tcase_add_test(tc, test_dispatch_races_peer_kill);
    tcase_add_test(tc, test_cancel_sync_call_at_once);
    tcase_add_test(tc, test_release_sends_cancel);
    tcase_add_test(tc, test_session_close_is_synchronous);
    tcase_add_test(tc, test_server_closes_one_session);
    tcase_add_test(tc, test_stop_listen_from_blocking_handler);
    tcase_add_test(tc, test_stop_listen_from_nonblocking_handler);
    tcase_add_test(tc, test_free_peers_with_calls_in_flight);
    tcase_add_test(tc, test_free_peer_callbacks_release);
    suite_add_tcase(s, tc);
    return s;
}
