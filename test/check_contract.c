/* The callback, flow-control and teardown contract (doc/runtime.md), in
 * process: oneway messages are never dropped and arrive in order; a
 * completion callback runs once, on the I/O thread, after the API call that
 * caused it; release cancels on the wire and waits for a running callback;
 * cancel wakes a synchronous caller at once; session close, stop_listen and
 * peer free keep their word from any thread.  Races loop 300 times by
 * default, PARLEY_TEST_ITERATIONS times when set.  Timeouts only bound the
 * waits; nothing asserts a timing. */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "suites.h"
#include "test_proto.h"

/* ---- shared state (one test at a time per process) ---------------------- */

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* server */
    parley_peer *server;
    unsigned notes, out_of_order;
    uint32_t next_note;
    int entered, finished, pended, cancels;
    bool gate_open;
    parley_status stop_status;
    bool stop_ran;
    /* server calling back */
    int srv_pending, srv_cb_runs, srv_bad;
    /* client */
    int cb_runs;
} g;

static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void g_init(void)
{
    pthread_mutex_init(&g.lock, NULL);
    pthread_cond_init(&g.cond, NULL);
}

static void reset(void)
{
    pthread_once(&g_once, g_init);
    pthread_mutex_lock(&g.lock);
    g.server = NULL;
    g.notes = g.out_of_order = 0;
    g.next_note = 0;
    g.entered = g.finished = g.pended = g.cancels = 0;
    g.gate_open = false;
    g.stop_status = PARLEY_OK;
    g.stop_ran = false;
    g.srv_pending = g.srv_cb_runs = g.srv_bad = 0;
    g.cb_runs = 0;
    pthread_mutex_unlock(&g.lock);
}

static int iterations(int dflt)
{
    const char *e = getenv("PARLEY_TEST_ITERATIONS");
    int n = e != NULL ? atoi(e) : 0;

    return n > 0 ? n : dflt;
}

/* Wait (bounded: 30 s) until expr holds under g.lock; fail the test if not. */
#define WAIT_FOR(expr)                                                              \
    do {                                                                            \
        struct timespec dl_;                                                        \
        bool ok_;                                                                   \
                                                                                    \
        clock_gettime(CLOCK_REALTIME, &dl_);                                        \
        dl_.tv_sec += 30;                                                           \
        pthread_mutex_lock(&g.lock);                                                \
        while (!(expr) && pthread_cond_timedwait(&g.cond, &g.lock, &dl_) == 0)      \
            ;                                                                       \
        ok_ = (expr);                                                               \
        pthread_mutex_unlock(&g.lock);                                              \
        ck_assert_msg(ok_, "gave up waiting for " #expr " (notes %u, entered %d)",   \
                      g.notes, g.entered);                                          \
    } while (0)

static void bump(int *counter)
{
    pthread_mutex_lock(&g.lock);
    (*counter)++;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
}

static void open_gate(void)
{
    pthread_mutex_lock(&g.lock);
    g.gate_open = true;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
}

/* ---- server handlers ------------------------------------------------------ */

static parley_status h_note(parley_call *call, const void *in, void *out, void *data)
{
    const tp_echo *e = in;
    uint32_t seq = (uint32_t)strtoul(e->text, NULL, 10);

    (void)call; (void)out; (void)data;
    if (seq % 1000 == 999)
        usleep(1000);   /* a slow one now and then: the backlog grows */
    pthread_mutex_lock(&g.lock);
    if (seq != g.next_note)
        g.out_of_order++;
    g.next_note = seq + 1;
    g.notes++;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
    return PARLEY_OK;
}

static parley_status h_add(parley_call *call, const void *in, void *out, void *data)
{
    const tp_pair *p = in;

    (void)call; (void)data;
    ((tp_int *)out)->v = p->a + p->b;
    return PARLEY_OK;
}

/* BLOCKING: waits (bounded) for the gate. */
static parley_status h_gate(parley_call *call, const void *in, void *out, void *data)
{
    struct timespec dl;

    (void)call; (void)data;
    bump(&g.entered);
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 30;
    pthread_mutex_lock(&g.lock);
    while (!g.gate_open && pthread_cond_timedwait(&g.cond, &g.lock, &dl) == 0)
        ;
    g.finished++;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
    ((tp_tag *)out)->tag = ((const tp_sleep *)in)->tag;
    return PARLEY_OK;
}

static void pend_cancelled(parley_call *call, void *data)
{
    (void)data;
    (void)parley_call_complete(call, PARLEY_ERR_CANCELLED);
    bump(&g.cancels);
}

/* NONBLOCKING: pends until cancelled. */
static parley_status h_pend(parley_call *call, const void *in, void *out, void *data)
{
    parley_status st;

    (void)in; (void)out; (void)data;
    st = parley_call_pend(call, pend_cancelled, NULL);
    bump(&g.pended);
    return st;
}

/* Stops the server listening from inside a handler. */
static parley_status h_stop_listen(parley_call *call, const void *in, void *out, void *data)
{
    parley_status st = parley_peer_stop_listen(g.server);

    (void)call; (void)in; (void)data;
    pthread_mutex_lock(&g.lock);
    g.stop_status = st;
    g.stop_ran = true;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
    ((tp_int *)out)->v = (int32_t)st;
    return PARLEY_OK;
}

/* Closes its own (incoming) session. */
static parley_status h_close_mine(parley_call *call, const void *in, void *out, void *data)
{
    (void)in; (void)out; (void)data;
    parley_session_close(parley_call_get_session(call));
    return PARLEY_OK;
}

/* An application error whose message is v bytes long ("é" is two). */
static parley_status h_remote(parley_call *call, const void *in, void *out, void *data)
{
    int32_t v = ((const tp_int *)in)->v;
    char *msg = malloc((size_t)v + 1);

    (void)out; (void)data;
    for (int32_t i = 0; i + 1 < v; i += 2)
        memcpy(msg + i, "\xc3\xa9", 2);
    msg[v & ~1] = '\0';
    (void)parley_call_set_remote_error(call, 7, "%s", msg);
    free(msg);
    return PARLEY_ERR_REMOTE;
}

static void back_done(parley_call *call, parley_status status, void *data)
{
    (void)data;
    pthread_mutex_lock(&g.lock);
    if (status != PARLEY_OK && status != PARLEY_ERR_CONNECTION_CLOSED)
        g.srv_bad++;
    g.srv_cb_runs++;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
    parley_call_release(call);
}

/* NONBLOCKING: calls ADD back on the caller's session, asynchronously. */
static parley_status h_call_back(parley_call *call, const void *in, void *out, void *data)
{
    parley_call *back;
    tp_pair req = { ((const tp_int *)in)->v, 1 };
    static tp_int *rep;

    (void)data;
    ((tp_int *)out)->v = 0;
    if (parley_session_acquire_call(parley_call_get_session(call), &back) != PARLEY_OK)
        return PARLEY_OK;   /* the session is closing */
    if (parley_call_dispatch(back, TP_ADD, &req, NULL, &rep, back_done, NULL) ==
        PARLEY_PENDING) {
        bump(&g.srv_pending);
    } else {
        parley_call_release(back);
    }
    return PARLEY_OK;
}

/* ---- peers ---------------------------------------------------------------- */

typedef struct server_opts {
    unsigned max_outstanding;            /* 0: default */
    parley_dispatch_mode note_mode;
} server_opts;

static parley_peer *server_start(TALLOC_CTX *mem, const server_opts *o, char **ret_endpoint)
{
    parley_peer *peer;
    parley_dispatch table[] = {
        { TP_NOTE, h_note, o->note_mode },
        { TP_ADD, h_add, PARLEY_NONBLOCKING },
        { TP_SLEEP, h_gate, PARLEY_BLOCKING },
        { TP_PEND, h_pend, PARLEY_NONBLOCKING },
        { TP_FAIL, h_stop_listen, PARLEY_BLOCKING },
        { TP_CANCELS, h_stop_listen, PARLEY_NONBLOCKING },
        { TP_NOTES, h_close_mine, PARLEY_BLOCKING },
        { TP_REMOTE, h_remote, PARLEY_BLOCKING },
        { TP_CALLBACK, h_call_back, PARLEY_NONBLOCKING },
    };

    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_dispatch(peer, table, sizeof(table) / sizeof(table[0]),
                                              NULL), PARLEY_OK);
    if (o->max_outstanding > 0)
        ck_assert_int_eq(parley_peer_set_max_outstanding_calls(peer, o->max_outstanding),
                         PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_listen_endpoint(peer, "tcp:127.0.0.1:0", 0), PARLEY_OK);
    ck_assert_int_eq(parley_peer_start_listen(peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_get_listen_endpoint(peer, 0, mem, ret_endpoint), PARLEY_OK);
    pthread_mutex_lock(&g.lock);
    g.server = peer;
    pthread_mutex_unlock(&g.lock);
    return peer;
}

static parley_peer *client_new(TALLOC_CTX *mem, const char *endpoint, size_t max_message)
{
    parley_peer *peer;

    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &peer), PARLEY_OK);
    if (max_message > 0)
        ck_assert_int_eq(parley_peer_set_max_message_size(peer, max_message), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_connect_endpoint(peer, endpoint), PARLEY_OK);
    return peer;
}

static parley_session *connect_to(parley_peer *client)
{
    parley_session *session;

    ck_assert_msg(parley_peer_connect(client, &session) == PARLEY_OK, "connect: %s",
                  parley_error_message());
    return session;
}

static parley_status add_sync(parley_session *session, int32_t a, int32_t b, int32_t *ret)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    parley_call *call;
    tp_pair req = { a, b };
    tp_int *rep = NULL;
    parley_status st = parley_session_acquire_call(session, &call);

    if (st == PARLEY_OK) {
        st = parley_call_dispatch(call, TP_ADD, &req, tmp, &rep, NULL, NULL);
        if (st == PARLEY_OK && ret != NULL)
            *ret = rep->v;
        parley_call_release(call);
    }
    talloc_free(tmp);
    return st;
}

/* A callback that counts its runs in g.cb_runs (and in *data when set). */
static void count_done(parley_call *call, parley_status status, void *data)
{
    (void)call; (void)status;
    pthread_mutex_lock(&g.lock);
    if (data != NULL)
        (*(int *)data)++;
    g.cb_runs++;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
}

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

    reset();
    (void)server_start(mem, &o, &ep);
    client = client_new(mem, ep, 0);
    session = connect_to(client);
    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    for (unsigned i = 0; i < n; i++) {
        tp_echo note = { text, { 0, NULL } };

        snprintf(text, sizeof(text), "%u", i);
        ck_assert_int_eq(parley_call_dispatch(call, TP_NOTE, &note, NULL, NULL, NULL, NULL),
                         PARLEY_OK);
    }
    WAIT_FOR(g.notes == n);   /* notes */
    ck_assert_uint_eq(g.out_of_order, 0);
    ck_assert_uint_eq(g.next_note, n);
    /* The session is fine afterwards. */
    ck_assert_int_eq(add_sync(session, 2, 3, NULL), PARLEY_OK);
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
    int n = iterations(300) * 4;
    int *runs = talloc_zero_array(mem, int, n);
    int pending = 0;

    reset();
    (void)server_start(mem, &o, &ep);
    client = client_new(mem, ep, 0);
    session = connect_to(client);
    for (int i = 0; i < n; i++) {
        parley_call *call;
        tp_pair req = { i, 1 };
        tp_int *rep = NULL;

        ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
        ck_assert_int_eq(parley_call_dispatch(call, TP_ADD, &req, NULL, &rep, count_done,
                                              &runs[i]), PARLEY_PENDING);
        pending++;
        if (i % 3 == 1)
            sched_yield();   /* let some replies win the race */
        parley_call_release(call);
    }
    WAIT_FOR(g.cb_runs == pending);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(runs[i], 1);
    ck_assert_int_eq(add_sync(session, 1, 1, NULL), PARLEY_OK);
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
    pthread_mutex_lock(&g.lock);
    h->entered = true;
    pthread_cond_broadcast(&g.cond);
    while (!h->go && pthread_cond_timedwait(&g.cond, &g.lock, &dl) == 0)
        ;
    h->returned_before_exit = h->release_returned;
    pthread_mutex_unlock(&g.lock);
    /* Still ours: release has not freed it under us. */
    h->method_ok = parley_call_get_method(call) != NULL &&
                   parley_call_get_method(call)->id == TP_ADD;
}

static void *release_thread(void *arg)
{
    held *h = arg;

    parley_call_release(h->call);
    pthread_mutex_lock(&g.lock);
    h->release_returned = true;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
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

    reset();
    memset(&h, 0, sizeof(h));
    (void)server_start(mem, &o, &ep);
    client = client_new(mem, ep, 0);
    session = connect_to(client);
    ck_assert_int_eq(parley_session_acquire_call(session, &h.call), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(h.call, TP_ADD, &req, NULL, &rep, held_done, &h),
                     PARLEY_PENDING);
    /* The callback is running (and held) when release is called. */
    WAIT_FOR(h.entered);
    ck_assert_int_eq(pthread_create(&t, NULL, release_thread, &h), 0);
    usleep(100000);   /* gives release time to get stuck; asserts nothing */
    pthread_mutex_lock(&g.lock);
    ck_assert(!h.release_returned);
    h.go = true;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
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

    pthread_mutex_lock(&g.lock);
    if (status != PARLEY_OK || c->in_api)
        c->bad++;
    c->other_done = true;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
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

    reset();
    memset(&c, 0, sizeof(c));
    (void)server_start(mem, &o, &ep);
    client = client_new(mem, ep, 0);
    session = connect_to(client);
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

    reset();
    (void)server_start(mem, &o, &ep);
    client = client_new(mem, ep, 0);
    session = connect_to(client);
    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(call, TP_ADD, &req, mem, &rep, count_done, NULL),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "mem_ctx"));
    ck_assert_int_eq(g.cb_runs, 0);
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
    pthread_mutex_lock(&g.lock);
    if (status != PARLEY_OK)
        w->bad++;
    w->done++;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
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
            pthread_mutex_lock(&g.lock);
            done = w->done == i + 1;
            pthread_mutex_unlock(&g.lock);
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

    reset();
    (void)server_start(mem, &o, &ep);
    client = client_new(mem, ep, 0);
    for (int i = 0; i < 2; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].session = connect_to(client);
        w[i].ctx = talloc_new(NULL);
        w[i].n = iterations(300);
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
    static __thread tp_int *rep;

    r->st = parley_call_dispatch(r->call, TP_ADD, &req, NULL, &rep, count_done, &r->runs);
    return NULL;
}

START_TEST(test_dispatch_races_session_close)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    server_opts o = { 0, PARLEY_NONBLOCKING };
    char *ep;
    parley_peer *client;
    int n = iterations(300), pending = 0;

    reset();
    (void)server_start(mem, &o, &ep);
    client = client_new(mem, ep, 0);
    for (int i = 0; i < n; i++) {
        parley_session *session = connect_to(client);
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
    WAIT_FOR(g.cb_runs == pending);
    talloc_free(mem);
}
END_TEST

/* The same race from the server's side: a handler's callback call to the
 * client against the client closing the session. */
START_TEST(test_server_callback_races_session_close)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    server_opts o = { 0, PARLEY_NONBLOCKING };
    static const parley_dispatch client_table[] = { { TP_ADD, h_add, PARLEY_NONBLOCKING } };
    char *ep;
    parley_peer *client;
    int n = iterations(300);

    reset();
    (void)server_start(mem, &o, &ep);
    client = client_new(mem, ep, 0);
    ck_assert_int_eq(parley_peer_add_dispatch(client, client_table, 1, NULL), PARLEY_OK);
    for (int i = 0; i < n; i++) {
        parley_session *session = connect_to(client);
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
    WAIT_FOR(g.srv_pending == n);
    WAIT_FOR(g.srv_cb_runs == g.srv_pending);
    ck_assert_int_eq(g.srv_bad, 0);
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
    static __thread tp_int *rep;

    for (;;) {
        parley_call *call;
        tp_pair req = { 1, 1 };
        parley_status st = parley_session_acquire_call(f->session, &call);

        if (st == PARLEY_OK) {
            st = parley_call_dispatch(call, TP_ADD, &req, NULL, &rep, count_done, NULL);
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
    int n = iterations(300) / 10;

    reset();
    for (int i = 0; i < (n > 0 ? n : 1); i++) {
        TALLOC_CTX *mem = talloc_new(NULL);
        server_opts o = { 0, PARLEY_NONBLOCKING };
        char *ep;
        parley_peer *server, *client;
        flood f = { NULL, 0, 0, PARLEY_OK };
        pthread_t t;

        pthread_mutex_lock(&g.lock);
        g.cb_runs = 0;
        pthread_mutex_unlock(&g.lock);
        server = server_start(mem, &o, &ep);
        client = client_new(NULL, ep, 0);
        f.session = connect_to(client);
        ck_assert_int_eq(pthread_create(&t, NULL, flood_thread, &f), 0);
        usleep(1000 * (unsigned)(i % 5));
        talloc_free(server);   /* the other end goes away mid-flood */
        pthread_join(t, NULL);
        ck_assert_msg(f.last == PARLEY_ERR_CONNECTION_CLOSED, "%s",
                      parley_status_name(f.last));
        WAIT_FOR(g.cb_runs == f.pending);
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
    pthread_mutex_lock(&g.lock);
    s->finished_then = g.finished;
    s->returned = true;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
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

    reset();
    (void)server_start(mem, &o, &ep);
    client = client_new(mem, ep, 0);
    session = connect_to(client);
    /* A handler that sleeps (until the gate opens) and ignores the cancel. */
    ck_assert_int_eq(parley_session_acquire_call(session, &s.call), PARLEY_OK);
    ck_assert_int_eq(pthread_create(&t, NULL, sync_thread, &s), 0);
    WAIT_FOR(g.entered == 1);
    ck_assert_int_eq(parley_call_cancel(s.call), PARLEY_OK);
    WAIT_FOR(s.returned);
    pthread_join(t, NULL);
    ck_assert_int_eq(s.st, PARLEY_ERR_CANCELLED);
    ck_assert_int_eq(s.finished_then, 0);   /* before the handler finished */
    open_gate();
    WAIT_FOR(g.finished == 1);
    /* A pended handler: the server sees the cancel (its cancel function runs). */
    ck_assert_int_eq(parley_session_acquire_call(session, &p.call), PARLEY_OK);
    ck_assert_int_eq(pthread_create(&t, NULL, sync_thread, &p), 0);
    WAIT_FOR(g.pended == 1);
    ck_assert_int_eq(parley_call_cancel(p.call), PARLEY_OK);
    WAIT_FOR(p.returned);
    pthread_join(t, NULL);
    ck_assert_int_eq(p.st, PARLEY_ERR_CANCELLED);
    WAIT_FOR(g.cancels == 1);
    /* Both handles are reusable, and the session is fine. */
    ck_assert_int_eq(add_sync(session, 1, 1, NULL), PARLEY_OK);
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

    reset();
    (void)server_start(mem, &o, &ep);
    client = client_new(mem, ep, 0);
    session = connect_to(client);
    for (int round = 1; round <= 3; round++) {
        parley_call *calls[2];
        tp_sleep req = { 0, 1 };
        static tp_tag *rep;

        for (int i = 0; i < 2; i++) {
            ck_assert_int_eq(parley_session_acquire_call(session, &calls[i]), PARLEY_OK);
            ck_assert_int_eq(parley_call_dispatch(calls[i], TP_PEND, &req, NULL, &rep,
                                                  count_done, NULL), PARLEY_PENDING);
        }
        WAIT_FOR(g.pended == 2 * round);
        parley_call_release(calls[0]);
        parley_call_release(calls[1]);
        /* The server's pended calls are cancelled: their slots free. */
        WAIT_FOR(g.cancels == 2 * round);
        WAIT_FOR(g.cb_runs == 2 * round);
    }
    ck_assert_int_eq(add_sync(session, 20, 22, &sum), PARLEY_OK);
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

    reset();
    (void)server_start(mem, &o, &ep);
    client = client_new(mem, ep, 0);
    session = connect_to(client);
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
    ck_assert_int_eq(parley_call_dispatch(call, TP_ADD, &req, NULL, &rep, count_done, NULL),
                     PARLEY_ERR_CONNECTION_CLOSED);
    s.stop = true;
    pthread_join(t, NULL);
    ck_assert_int_eq(s.sent_after_close, 0);
    ck_assert_int_eq(g.cb_runs, 0);
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

    reset();
    (void)server_start(mem, &o, &ep);
    client = client_new(mem, ep, 0);
    a = connect_to(client);
    b = connect_to(client);
    ck_assert_int_eq(parley_session_acquire_call(a, &call), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(call, TP_NOTES, &req, mem, &rep, NULL, NULL),
                     PARLEY_ERR_CONNECTION_CLOSED);
    ck_assert_msg(strstr(parley_error_message(), "server closed the session") != NULL, "%s",
                  parley_error_message());
    ck_assert(!parley_session_is_connected(a));
    parley_call_release(call);
    /* The other client is not disturbed. */
    ck_assert(parley_session_is_connected(b));
    ck_assert_int_eq(add_sync(b, 1, 2, NULL), PARLEY_OK);
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

    reset();
    (void)server_start(mem, &o, &ep);
    client = client_new(mem, ep, 0);
    session = connect_to(client);
    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    st = parley_call_dispatch(call, method, &req, mem, &rep, NULL, NULL);
    /* The reply or the close, whichever the handler's return meets first. */
    ck_assert_msg(st == PARLEY_OK || st == PARLEY_ERR_CONNECTION_CLOSED, "%s",
                  parley_status_name(st));
    WAIT_FOR(g.stop_ran);
    ck_assert_int_eq(g.stop_status, PARLEY_OK);
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
    open_gate();
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

    reset();
    server = server_start(mem, &o, &ep);
    client = client_new(NULL, ep, 0);
    session = connect_to(client);
    /* Client side: three pended calls and one with a running handler. */
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(parley_session_acquire_call(session, &calls[i]), PARLEY_OK);
        ck_assert_int_eq(parley_call_dispatch(calls[i], i < 3 ? TP_PEND : TP_SLEEP, &req, NULL,
                                              &reps[i], count_done, &runs[i]), PARLEY_PENDING);
    }
    WAIT_FOR(g.pended == 3 && g.entered == 1);
    talloc_free(client);
    /* Every outstanding call completed once, before the free returned. */
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(runs[i], 1);
    /* The handles outlive the peer until released. */
    for (int i = 0; i < 4; i++) {
        ck_assert(!parley_session_is_connected(parley_call_get_session(calls[i])));
        ck_assert_int_eq(parley_call_dispatch(calls[i], TP_PEND, &req, NULL, &reps[i],
                                              count_done, NULL), PARLEY_ERR_CONNECTION_CLOSED);
        parley_call_release(calls[i]);
    }
    /* The server saw the client go: its pended calls were cancelled. */
    WAIT_FOR(g.cancels == 3);

    /* Server side: pended calls and a running handler when it is freed. */
    other = client_new(mem, ep, 0);
    os = connect_to(other);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(parley_session_acquire_call(os, &ocalls[i]), PARLEY_OK);
        ck_assert_int_eq(parley_call_dispatch(ocalls[i], i < 2 ? TP_PEND : TP_SLEEP, &req, NULL,
                                              &oreps[i], count_done, NULL), PARLEY_PENDING);
    }
    WAIT_FOR(g.pended == 5 && g.entered == 2);
    ck_assert_int_eq(pthread_create(&t, NULL, open_gate_later, NULL), 0);
    talloc_free(server);
    /* It waited for the running handler and cancelled the pended calls. */
    ck_assert_int_eq(g.finished, 2);
    ck_assert_int_eq(g.cancels, 5);
    pthread_join(t, NULL);
    for (int i = 0; i < 3; i++)
        parley_call_release(ocalls[i]);
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

    reset();
    (void)server_start(mem, &o, &ep);
    for (size_t k = 0; k < 2; k++) {
        parley_peer *client = client_new(mem, ep, limits[k]);
        parley_session *session = connect_to(client);
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
        ck_assert_int_eq(add_sync(session, 1, 2, NULL), PARLEY_OK);
        /* A method nobody serves: an error reply, also within the limit. */
        ck_assert_int_eq(parley_call_dispatch(call, TP_DIE, &req, mem, &rep, NULL, NULL),
                         PARLEY_ERR_NOT_FOUND);
        ck_assert_int_eq(add_sync(session, 1, 2, NULL), PARLEY_OK);
        parley_call_release(call);
    }
    talloc_free(mem);
}
END_TEST

Suite *parley_contract_suite(void)
{
    Suite *s = suite_create("contract");
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
    tc = tcase_create("teardown");
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
    suite_add_tcase(s, tc);
    return s;
}
