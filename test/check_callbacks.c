/* SPDX-License-Identifier: MIT */
/* The callback and flow-control contract (doc/runtime.md, "Callbacks"), in
 * process: oneway messages are never dropped and arrive in order; a
 * completion callback runs once, on the I/O thread, after the API call that
 * caused it; release cancels and waits for a running callback; a callback
 * may re-dispatch and release; the I/O thread never touches the caller's
 * talloc context; error replies fit the receiver's max message.  Races loop
 * 300 times by default, PARLEY_TEST_ITERATIONS times when set.  Timeouts
 * only bound the waits; nothing asserts a timing. */
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

/* ---- oneway --------------------------------------------------------------- */

static void oneway_flood(parley_dispatch_mode mode)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    server_opts o = { 8, mode };
    char *ep, text[16];
    parley_peer *client;
    parley_session *session;
    parley_call *call;
    const unsigned n = 20000;

    ct_reset();
    (void)ct_server_start(mem, &o, &ep);
    client = ct_client_new(mem, ep, 0);
    session = ct_connect_to(client);
    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    for (unsigned i = 0; i < n; i++) {
        tp_echo note = { text, { 0, NULL } };

        snprintf(text, sizeof(text), "%u", i);
        ck_assert_int_eq(parley_call_dispatch(call, TP_NOTE, &note, NULL, NULL, NULL, NULL),
                         PARLEY_OK);
    }
    WAIT_FOR(ct.notes == n);   /* notes */
    ck_assert_uint_eq(ct.out_of_order, 0);
    ck_assert_uint_eq(ct.next_note, n);
    /* The session is fine afterwards. */
    ck_assert_int_eq(ct_add_sync(session, 2, 3, NULL), PARLEY_OK);
    parley_call_release(call);
    talloc_free(mem);
}

START_TEST(test_oneway_blocking_all_in_order)
{
    oneway_flood(PARLEY_BLOCKING);
}
END_TEST

START_TEST(test_oneway_nonblocking_all_in_order)
{
    oneway_flood(PARLEY_NONBLOCKING);
}
END_TEST

/* ---- callbacks -------------------------------------------------------------- */

START_TEST(test_release_races_completion)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    server_opts o = { 0, PARLEY_NONBLOCKING };
    char *ep;
    parley_peer *client;
    parley_session *session;
    int n = ct_iterations(300) * 4;
    int *runs = talloc_zero_array(mem, int, n);
    tp_int **reps = talloc_zero_array(mem, tp_int *, n);   /* valid until the callbacks ran */
    int pending = 0;

    ct_reset();
    (void)ct_server_start(mem, &o, &ep);
    client = ct_client_new(mem, ep, 0);
    session = ct_connect_to(client);
    for (int i = 0; i < n; i++) {
        parley_call *call;
        tp_pair req = { i, 1 };

        ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
        ck_assert_int_eq(parley_call_dispatch(call, TP_ADD, &req, NULL, &reps[i], ct_count_done,
                                              &runs[i]), PARLEY_PENDING);
        pending++;
        if (i % 3 == 1)
            sched_yield();   /* let some replies win the race */
        parley_call_release(call);
    }
    WAIT_FOR(ct.cb_runs == pending);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(runs[i], 1);
    ck_assert_int_eq(ct_add_sync(session, 1, 1, NULL), PARLEY_OK);
    talloc_free(mem);
}
END_TEST

typedef struct held {
    parley_call *call;
    bool entered, go, release_returned, returned_before_exit, method_ok;
} held;

static void held_done(parley_call *call, parley_status status, void *data)
{
    held *h = data;
    struct timespec dl;

    (void)status;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 30;
    pthread_mutex_lock(&ct.lock);
    h->entered = true;
    pthread_cond_broadcast(&ct.cond);
    while (!h->go && pthread_cond_timedwait(&ct.cond, &ct.lock, &dl) == 0)
        ;
    h->returned_before_exit = h->release_returned;
    pthread_mutex_unlock(&ct.lock);
    /* Still ours: release has not freed it under us. */
    h->method_ok = parley_call_get_method(call) != NULL &&
                   parley_call_get_method(call)->id == TP_ADD;
}

static void *release_thread(void *arg)
{
    held *h = arg;

    parley_call_release(h->call);
    pthread_mutex_lock(&ct.lock);
    h->release_returned = true;
    pthread_cond_broadcast(&ct.cond);
    pthread_mutex_unlock(&ct.lock);
    return NULL;
}

START_TEST(test_release_waits_for_running_callback)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    server_opts o = { 0, PARLEY_NONBLOCKING };
    char *ep;
    parley_peer *client;
    parley_session *session;
    held h;
    tp_pair req = { 1, 2 };
    tp_int *rep = NULL;
    pthread_t t;

    ct_reset();
    memset(&h, 0, sizeof(h));
    (void)ct_server_start(mem, &o, &ep);
    client = ct_client_new(mem, ep, 0);
    session = ct_connect_to(client);
    ck_assert_int_eq(parley_session_acquire_call(session, &h.call), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(h.call, TP_ADD, &req, NULL, &rep, held_done, &h),
                     PARLEY_PENDING);
    /* The callback is running (and held) when release is called. */
    WAIT_FOR(h.entered);
    ck_assert_int_eq(pthread_create(&t, NULL, release_thread, &h), 0);
    usleep(100000);   /* gives release time to get stuck; asserts nothing */
    pthread_mutex_lock(&ct.lock);
    ck_assert(!h.release_returned);
    h.go = true;
    pthread_cond_broadcast(&ct.cond);
    pthread_mutex_unlock(&ct.lock);
    pthread_join(t, NULL);
    ck_assert(h.release_returned);
    ck_assert(!h.returned_before_exit);
    ck_assert(h.method_ok);
    talloc_free(mem);
}
END_TEST

typedef struct chain {
    int rounds;          /* dispatches done from the callback */
    int bad;
    parley_call *other;
    bool other_done;
    bool in_api;         /* set by the test around its own API calls */
} chain;

static void other_done(parley_call *call, parley_status status, void *data)
{
    chain *c = data;

    pthread_mutex_lock(&ct.lock);
    if (status != PARLEY_OK || c->in_api)
        c->bad++;
    c->other_done = true;
    pthread_cond_broadcast(&ct.cond);
    pthread_mutex_unlock(&ct.lock);
    parley_call_release(call);
}

static tp_int *chain_rep;

static void chain_done(parley_call *call, parley_status status, void *data)
{
    chain *c = data;
    tp_pair req = { c->rounds, 100 };
    static tp_int *other_rep;

    if (status != PARLEY_OK || chain_rep == NULL || chain_rep->v != c->rounds - 1 + 100)
        c->bad++;
    if (c->rounds < 10) {
        /* Dispatch again on the same handle, from its own callback. */
        c->rounds++;
        if (parley_call_dispatch(call, TP_ADD, &req, NULL, &chain_rep, chain_done, c) !=
            PARLEY_PENDING)
            c->bad++;
        return;
    }
    /* Dispatch another call, then release this one, from the callback. */
    if (parley_session_acquire_call(parley_call_get_session(call), &c->other) != PARLEY_OK ||
        parley_call_dispatch(c->other, TP_ADD, &req, NULL, &other_rep, other_done, c) !=
            PARLEY_PENDING)
        c->bad++;
    parley_call_release(call);
}

START_TEST(test_callback_redispatches_and_releases)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    server_opts o = { 0, PARLEY_NONBLOCKING };
    char *ep;
    parley_peer *client;
    parley_session *session;
    parley_call *call;
    chain c;
    tp_pair req = { 0, 100 };

    ct_reset();
    memset(&c, 0, sizeof(c));
    (void)ct_server_start(mem, &o, &ep);
    client = ct_client_new(mem, ep, 0);
    session = ct_connect_to(client);
    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    c.rounds = 1;
    ck_assert_int_eq(parley_call_dispatch(call, TP_ADD, &req, NULL, &chain_rep, chain_done, &c),
                     PARLEY_PENDING);
    WAIT_FOR(c.other_done);
    ck_assert_int_eq(c.rounds, 10);
    ck_assert_int_eq(c.bad, 0);
    talloc_free(mem);
}
END_TEST

START_TEST(test_async_needs_null_mem_ctx)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    server_opts o = { 0, PARLEY_NONBLOCKING };
    char *ep;
    parley_peer *client;
    parley_session *session;
    parley_call *call;
    tp_pair req = { 1, 2 };
    tp_int *rep = NULL;

    ct_reset();
    (void)ct_server_start(mem, &o, &ep);
    client = ct_client_new(mem, ep, 0);
    session = ct_connect_to(client);
    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(call, TP_ADD, &req, mem, &rep, ct_count_done, NULL),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "mem_ctx"));
    ck_assert_int_eq(ct.cb_runs, 0);
    parley_call_release(call);
    talloc_free(mem);
}
END_TEST

/* Two threads, each with its own context, dispatch asynchronously while
 * they allocate under the context: the I/O thread never touches it; each
 * thread takes its replies itself. */
typedef struct ctx_worker {
    parley_session *session;
    TALLOC_CTX *ctx;
    int n, done, bad;
} ctx_worker;

static void ctx_done(parley_call *call, parley_status status, void *data)
{
    ctx_worker *w = data;

    (void)call;
    pthread_mutex_lock(&ct.lock);
    if (status != PARLEY_OK)
        w->bad++;
    w->done++;
    pthread_cond_broadcast(&ct.cond);
    pthread_mutex_unlock(&ct.lock);
}

static void *ctx_thread(void *arg)
{
    ctx_worker *w = arg;
    parley_call *call;

    if (parley_session_acquire_call(w->session, &call) != PARLEY_OK) {
        w->bad++;
        return NULL;
    }
    for (int i = 0; i < w->n; i++) {
        tp_pair req = { i, 1 };
        tp_int *rep = NULL;
        bool done = false;

        if (parley_call_dispatch(call, TP_ADD, &req, NULL, &rep, ctx_done, w) != PARLEY_PENDING) {
            w->bad++;
            break;
        }
        while (!done) {
            char *junk = talloc_asprintf(w->ctx, "junk %d", i);

            talloc_free(junk);
            pthread_mutex_lock(&ct.lock);
            done = w->done == i + 1;
            pthread_mutex_unlock(&ct.lock);
        }
        if (rep == NULL || rep->v != i + 1 || talloc_steal(w->ctx, rep) == NULL)
            w->bad++;
    }
    parley_call_release(call);
    return NULL;
}

START_TEST(test_async_reply_never_touches_caller_ctx)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    server_opts o = { 0, PARLEY_NONBLOCKING };
    char *ep;
    parley_peer *client;
    ctx_worker w[2];
    pthread_t t[2];

    ct_reset();
    (void)ct_server_start(mem, &o, &ep);
    client = ct_client_new(mem, ep, 0);
    for (int i = 0; i < 2; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].session = ct_connect_to(client);
        w[i].ctx = talloc_new(NULL);
        w[i].n = ct_iterations(300);
        ck_assert_int_eq(pthread_create(&t[i], NULL, ctx_thread, &w[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        ck_assert_int_eq(w[i].bad, 0);
        ck_assert_int_eq(w[i].done, w[i].n);
        /* The context itself and one chunk per reply it took. */
        ck_assert_uint_ge(talloc_total_blocks(w[i].ctx), (size_t)w[i].n + 1);
        talloc_free(w[i].ctx);
    }
    talloc_free(mem);
}
END_TEST

/* ---- error replies and the receiver's max message -------------------------- */

START_TEST(test_error_replies_fit_max_message)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    server_opts o = { 0, PARLEY_NONBLOCKING };
    char *ep;
    size_t limits[] = { 64, 1024 };

    ct_reset();
    (void)ct_server_start(mem, &o, &ep);
    for (size_t k = 0; k < 2; k++) {
        parley_peer *client = ct_client_new(mem, ep, limits[k]);
        parley_session *session = ct_connect_to(client);
        parley_call *call;
        tp_int req = { 5000 }, *rep = NULL;
        int32_t code = 0;
        const char *msg = NULL;

        ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
        ck_assert_int_eq(parley_call_dispatch(call, TP_REMOTE, &req, mem, &rep, NULL, NULL),
                         PARLEY_ERR_REMOTE);
        ck_assert_int_eq(parley_call_get_remote_error(call, &code, &msg), PARLEY_OK);
        ck_assert_int_eq(code, 7);
        ck_assert_uint_gt(strlen(msg), 0);
        ck_assert_uint_le(strlen(msg), limits[k]);
        ck_assert_uint_eq(strlen(msg) % 2, 0);   /* cut between characters */
        /* The session goes on. */
        ck_assert(parley_session_is_connected(session));
        ck_assert_int_eq(ct_add_sync(session, 1, 2, NULL), PARLEY_OK);
        /* A method nobody serves: an error reply, also within the limit. */
        ck_assert_int_eq(parley_call_dispatch(call, TP_DIE, &req, mem, &rep, NULL, NULL),
                         PARLEY_ERR_NOT_FOUND);
        ck_assert_int_eq(ct_add_sync(session, 1, 2, NULL), PARLEY_OK);
        parley_call_release(call);
    }
    talloc_free(mem);
}
END_TEST

Suite *parley_callbacks_suite(void)
{
    Suite *s = suite_create("callbacks");
    TCase *tc = tcase_create("callbacks");

    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_oneway_blocking_all_in_order);
    tcase_add_test(tc, test_oneway_nonblocking_all_in_order);
    tcase_add_test(tc, test_release_races_completion);
    tcase_add_test(tc, test_release_waits_for_running_callback);
    tcase_add_test(tc, test_callback_redispatches_and_releases);
    tcase_add_test(tc, test_async_needs_null_mem_ctx);
    tcase_add_test(tc, test_async_reply_never_touches_caller_ctx);
    tcase_add_test(tc, test_error_replies_fit_max_message);
    suite_add_tcase(s, tc);
    return s;
}
