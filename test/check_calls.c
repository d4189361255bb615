/* SPDX-License-Identifier: MIT */
/* Runtime, calls: pended handlers, application errors,
 * cancellation, call timeouts, exception and trace hooks.  Against the
 * peer_server process over real sockets, and an in-process peer for hooks. */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "endpoint.h"
#include "frame.h"
#include "server_proc.h"
#include "socket.h"
#include "suites.h"
#include "test_proto.h"

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static parley_peer *client(TALLOC_CTX *mem, const char *endpoint, parley_session **ret)
{
    parley_peer *peer;

    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_connect_endpoint(peer, endpoint), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect(peer, ret), PARLEY_OK);
    return peer;
}

static void start_server(tp_server *srv)
{
    const char *args[] = { "v1", "--workers", "8", "tcp:127.0.0.1:0", NULL };

    ck_assert(tp_server_start(srv, args, -1));
}

static int32_t sync_int(TALLOC_CTX *mem, parley_session *session, uint32_t method, int32_t v)
{
    parley_call *call;
    tp_int req = { v }, *rep = NULL;
    int32_t r;

    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(call, method, &req, mem, &rep, NULL, NULL), PARLEY_OK);
    r = rep->v;
    talloc_free(rep);
    parley_call_release(call);
    return r;
}

/* Wait (bounded: 5 s) until the server's cancel count reaches n. */
static int32_t wait_cancels(TALLOC_CTX *mem, parley_session *session, int32_t n)
{
    int32_t got = 0;

    for (int i = 0; i < 500; i++) {
        got = sync_int(mem, session, TP_CANCELS, 0);
        if (got >= n)
            break;
        usleep(10000);
    }
    return got;
}

typedef struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int runs;
    parley_status last;
    double at;
    int in_api;          /* runs that came inside an API call of this thread */
} waiter;

/* Set around an API call: a callback that sees it ran inside that call. */
static __thread bool in_api_call;

#define WAITER_INIT { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, PARLEY_OK, 0, 0 }

static void on_done(parley_call *call, parley_status status, void *data)
{
    waiter *w = data;

    (void)call;
    pthread_mutex_lock(&w->lock);
    w->runs++;
    w->last = status;
    w->at = now_s();
    if (in_api_call)
        w->in_api++;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

/* Wait (bounded: 10 s) for n completions; returns how many there were. */
static int wait_runs(waiter *w, int n)
{
    struct timespec dl;
    int runs;

    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    pthread_mutex_lock(&w->lock);
    while (w->runs < n && pthread_cond_timedwait(&w->cond, &w->lock, &dl) == 0)
        ;
    runs = w->runs;
    pthread_mutex_unlock(&w->lock);
    return runs;
}

static void ignore_done(parley_call *call, parley_status status, void *data)
{
    (void)call; (void)status; (void)data;
}

/* ---- application errors ---- */

START_TEST(test_remote_error)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    tp_server srv;
    parley_session *session;
    parley_call *call;
    tp_int req = { 42 }, *rep = NULL;
    tp_sleep preq = { 20, 7 };
    tp_tag *prep = NULL;
    int32_t code = 0;
    const char *msg = NULL;
    size_t blocks;
    waiter w = WAITER_INIT;

    start_server(&srv);
    client(mem, srv.endpoint, &session);
    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    ck_assert_int_eq(parley_call_get_remote_error(call, &code, &msg), PARLEY_ERR_INVALID_STATE);
    blocks = talloc_total_blocks(mem);

    /* A blocking handler's application error: code and message readable. */
    ck_assert_int_eq(parley_call_dispatch(call, TP_REMOTE, &req, mem, &rep, NULL, NULL),
                     PARLEY_ERR_REMOTE);
    ck_assert_ptr_null(rep);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "refused 42"));
    ck_assert_int_eq(parley_call_get_remote_error(call, &code, &msg), PARLEY_OK);
    ck_assert_int_eq(code, 42);
    ck_assert_str_eq(msg, "refused 42");
    ck_assert_uint_eq(talloc_total_blocks(mem), blocks);   /* nothing under mem */

    /* REMOTE without an error set: code 0 and a sentence naming the method. */
    req.v = 0;
    ck_assert_int_eq(parley_call_dispatch(call, TP_REMOTE, &req, mem, &rep, NULL, NULL),
                     PARLEY_ERR_REMOTE);
    ck_assert_int_eq(parley_call_get_remote_error(call, &code, &msg), PARLEY_OK);
    ck_assert_int_eq(code, 0);
    ck_assert_ptr_nonnull(strstr(msg, "remote"));

    /* A successful dispatch clears it. */
    ck_assert_int_eq(parley_call_dispatch(call, TP_PEND_NOW, &req, mem, &rep, NULL, NULL),
                     PARLEY_OK);
    ck_assert_int_eq(rep->v, 1);
    ck_assert_int_eq(parley_call_get_remote_error(call, &code, &msg), PARLEY_ERR_INVALID_STATE);

    /* A pended call completed with REMOTE from another thread, async. */
    ck_assert_int_eq(parley_call_dispatch(call, TP_PEND, &preq, NULL, &prep, on_done, &w),
                     PARLEY_PENDING);
    ck_assert_int_eq(wait_runs(&w, 1), 1);
    ck_assert_int_eq(w.last, PARLEY_ERR_REMOTE);
    ck_assert_int_eq(parley_call_get_remote_error(call, &code, &msg), PARLEY_OK);
    ck_assert_int_eq(code, 7);
    ck_assert_str_eq(msg, "odd tag 7");
    parley_call_release(call);
    ck_assert_int_eq(tp_server_stop(&srv), 0);
    talloc_free(mem);
}
END_TEST

/* ---- pended handlers ---- */

START_TEST(test_pend_complete)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    tp_server srv;
    parley_session *session;
    parley_call *calls[16];
    tp_tag *reps[16];
    tp_sleep reqs[16];
    waiter w = WAITER_INIT;

    start_server(&srv);
    client(mem, srv.endpoint, &session);
    /* Completed inside the handler, before it returns PENDING. */
    ck_assert_int_eq(sync_int(mem, session, TP_PEND_NOW, 41), 42);
    /* Completed later from other threads, many at once, each exactly once. */
    for (int i = 0; i < 16; i++) {
        reqs[i] = (tp_sleep){ (uint32_t)(10 + 5 * (i % 4)), (uint32_t)(2 * i) };
        reps[i] = NULL;
        ck_assert_int_eq(parley_session_acquire_call(session, &calls[i]), PARLEY_OK);
        ck_assert_int_eq(parley_call_dispatch(calls[i], TP_PEND, &reqs[i], NULL, &reps[i],
                                              on_done, &w), PARLEY_PENDING);
    }
    ck_assert_int_eq(wait_runs(&w, 16), 16);
    for (int i = 0; i < 16; i++) {
        ck_assert_ptr_nonnull(reps[i]);
        ck_assert_uint_eq(reps[i]->tag, (uint32_t)(2 * i));
        parley_call_release(calls[i]);
    }
    usleep(50000);
    ck_assert_int_eq(w.runs, 16);
    ck_assert_int_eq(sync_int(mem, session, TP_CANCELS, 0), 0);
    ck_assert_int_eq(tp_server_stop(&srv), 0);
    talloc_free(mem);
}
END_TEST

/* ---- cancellation ---- */

START_TEST(test_cancel)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    tp_server srv;
    parley_session *session;
    parley_call *call;
    tp_sleep req = { 0, 2 };
    tp_tag *rep = NULL;
    size_t blocks;
    waiter w = WAITER_INIT;

    start_server(&srv);
    client(mem, srv.endpoint, &session);
    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    ck_assert_int_eq(parley_call_cancel(call), PARLEY_ERR_INVALID_STATE);   /* idle */
    blocks = talloc_total_blocks(mem);
    ck_assert_int_eq(parley_call_dispatch(call, TP_PEND, &req, NULL, &rep, on_done, &w),
                     PARLEY_PENDING);
    in_api_call = true;
    ck_assert_int_eq(parley_call_cancel(call), PARLEY_OK);
    in_api_call = false;
    /* Completed once, on the I/O thread, after cancel returned. */
    ck_assert_int_eq(wait_runs(&w, 1), 1);
    ck_assert_int_eq(w.in_api, 0);
    ck_assert_int_eq(w.last, PARLEY_ERR_CANCELLED);
    ck_assert_ptr_null(rep);
    ck_assert_int_eq(parley_call_cancel(call), PARLEY_ERR_INVALID_STATE);
    /* The server ran the cancel function (which completed the call: its
     * late CANCELLED reply is dropped). */
    ck_assert_int_eq(wait_cancels(mem, session, 1), 1);
    usleep(50000);
    ck_assert_int_eq(w.runs, 1);
    ck_assert(parley_session_is_connected(session));
    ck_assert_uint_eq(talloc_total_blocks(mem), blocks);
    /* The call is reusable. */
    req.ms = 5;
    req.tag = 8;
    ck_assert_int_eq(parley_call_dispatch(call, TP_PEND, &req, mem, &rep, NULL, NULL),
                     PARLEY_OK);
    ck_assert_uint_eq(rep->tag, 8);
    parley_call_release(call);
    ck_assert_int_eq(tp_server_stop(&srv), 0);
    talloc_free(mem);
}
END_TEST

/* A synchronous caller reading its own reply, cancelled from another
 * thread: it returns CANCELLED (woken by the server's reply to the CANCEL). */
typedef struct pend_arg {
    parley_call *call;
    TALLOC_CTX *mem;
    parley_status st;
} pend_arg;

static void *sync_pend(void *p)
{
    pend_arg *a = p;
    tp_sleep req = { 0, 0 };
    tp_tag *rep = NULL;

    a->st = parley_call_dispatch(a->call, TP_PEND, &req, a->mem, &rep, NULL, NULL);
    return NULL;
}

START_TEST(test_cancel_sync_caller)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    tp_server srv;
    parley_session *session;
    pend_arg a = { NULL, NULL, PARLEY_OK };
    pthread_t t;
    int i;

    start_server(&srv);
    client(mem, srv.endpoint, &session);
    ck_assert_int_eq(parley_session_acquire_call(session, &a.call), PARLEY_OK);
    a.mem = mem;
    ck_assert_int_eq(pthread_create(&t, NULL, sync_pend, &a), 0);
    /* Bounded: until the call is outstanding (cancel then succeeds). */
    for (i = 0; i < 500 && parley_call_cancel(a.call) != PARLEY_OK; i++)
        usleep(10000);
    ck_assert_int_lt(i, 500);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_int_eq(a.st, PARLEY_ERR_CANCELLED);
    parley_call_release(a.call);
    ck_assert_int_eq(tp_server_stop(&srv), 0);
    talloc_free(mem);
}
END_TEST

/* A client process killed with pended calls: the server runs their cancel
 * functions. */
START_TEST(test_client_killed_with_pended_calls)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    tp_server srv;
    parley_session *session;
    int pfd[2], status;
    pid_t pid;
    char b = 0;

    start_server(&srv);
    ck_assert_int_eq(pipe(pfd), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* The child: three calls that never complete, then tell the parent. */
        TALLOC_CTX *cmem = talloc_new(NULL);
        parley_session *cs;
        parley_call *c[3];
        tp_tag *r[3];
        tp_sleep rq = { 0, 0 };

        close(pfd[0]);
        client(cmem, srv.endpoint, &cs);
        for (int i = 0; i < 3; i++) {
            if (parley_session_acquire_call(cs, &c[i]) != PARLEY_OK ||
                parley_call_dispatch(c[i], TP_PEND, &rq, NULL, &r[i], ignore_done, NULL) !=
                PARLEY_PENDING)
                _exit(1);
        }
        /* Frames are handled in order: once this returns they are pended. */
        (void)sync_int(cmem, cs, TP_NOTES, 0);
        if (write(pfd[1], "x", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    close(pfd[1]);
    ck_assert_int_eq(read(pfd[0], &b, 1), 1);
    close(pfd[0]);
    client(mem, srv.endpoint, &session);
    ck_assert_int_eq(sync_int(mem, session, TP_CANCELS, 0), 0);
    kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status));
    ck_assert_int_eq(wait_cancels(mem, session, 3), 3);
    ck_assert_int_eq(tp_server_stop(&srv), 0);
    talloc_free(mem);
}
END_TEST

/* ---- timeouts ---- */

typedef struct sync_arg {
    parley_session *session;
    TALLOC_CTX *mem;
    uint32_t ms;
    parley_status st;
    double took;
} sync_arg;

static void *sync_sleep(void *p)
{
    sync_arg *a = p;
    parley_call *call;
    tp_sleep req = { a->ms, 1 };
    tp_tag *rep = NULL;
    double t0 = now_s();

    if (parley_session_acquire_call(a->session, &call) != PARLEY_OK)
        return NULL;
    a->st = parley_call_dispatch(call, TP_SLEEP, &req, a->mem, &rep, NULL, NULL);
    a->took = now_s() - t0;
    parley_call_release(call);
    return NULL;
}

START_TEST(test_call_timeout)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    tp_server srv;
    parley_peer *peer;
    parley_session *session;
    parley_call *call, *pend;
    tp_sleep req = { 3000, 1 }, preq = { 0, 0 };
    tp_tag *rep = NULL, *prep = NULL;
    double t0, took;
    waiter w = WAITER_INIT;
    sync_arg a = { NULL, NULL, 3000, PARLEY_OK, 0 };
    pthread_t t;

    start_server(&srv);
    peer = client(mem, srv.endpoint, &session);
    ck_assert_int_eq(parley_peer_set_timeout(peer, PARLEY_TIMEOUT_CALL, 1000), PARLEY_OK);
    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);

    /* The test: a handler sleeping 3 s under a 1 s call timeout; a
     * lone synchronous caller (reads its own reply). */
    t0 = now_s();
    ck_assert_int_eq(parley_call_dispatch(call, TP_SLEEP, &req, mem, &rep, NULL, NULL),
                     PARLEY_ERR_TIMEOUT);
    took = now_s() - t0;
    /* TIMEOUT, not the reply: before the handler finished, and not before
     * the deadline. */
    ck_assert_msg(took >= 0.99, "TIMEOUT before the deadline, after %.3f s", took);
    ck_assert_ptr_null(rep);

    /* Two synchronous callers at once (one waits for the I/O thread). */
    a.session = session;
    a.mem = mem;
    ck_assert_int_eq(pthread_create(&t, NULL, sync_sleep, &a), 0);
    t0 = now_s();
    ck_assert_int_eq(parley_call_dispatch(call, TP_SLEEP, &req, mem, &rep, NULL, NULL),
                     PARLEY_ERR_TIMEOUT);
    took = now_s() - t0;
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_msg(took >= 0.99, "TIMEOUT before the deadline, after %.3f s", took);
    ck_assert_int_eq(a.st, PARLEY_ERR_TIMEOUT);
    ck_assert_msg(a.took >= 0.99, "TIMEOUT before the deadline, after %.3f s", a.took);

    /* Per call: 0 overrides the peer's default. */
    req.ms = 1300;
    req.tag = 9;
    ck_assert_int_eq(parley_call_set_timeout(call, 0), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(call, TP_SLEEP, &req, mem, &rep, NULL, NULL),
                     PARLEY_OK);
    ck_assert_uint_eq(rep->tag, 9);

    /* Per call, asynchronous, shorter: the callback gets TIMEOUT and the
     * CANCEL reaches the server (its cancel function runs). */
    ck_assert_int_eq(parley_session_acquire_call(session, &pend), PARLEY_OK);
    ck_assert_int_eq(parley_call_set_timeout(pend, 300), PARLEY_OK);
    t0 = now_s();
    ck_assert_int_eq(parley_call_dispatch(pend, TP_PEND, &preq, NULL, &prep, on_done, &w),
                     PARLEY_PENDING);
    ck_assert_int_eq(parley_call_set_timeout(pend, 10), PARLEY_ERR_INVALID_STATE);
    ck_assert_int_eq(wait_runs(&w, 1), 1);
    ck_assert_int_eq(w.last, PARLEY_ERR_TIMEOUT);
    /* The pended call never completes by itself: TIMEOUT came first. */
    ck_assert_msg(w.at - t0 >= 0.29, "TIMEOUT before the deadline, after %.3f s", w.at - t0);
    ck_assert_int_eq(wait_cancels(mem, session, 1), 1);
    /* Late replies (the sleeps, the cancelled pend) were dropped. */
    usleep(100000);
    ck_assert_int_eq(w.runs, 1);
    ck_assert(parley_session_is_connected(session));
    ck_assert_int_eq(sync_int(mem, session, TP_PEND_NOW, 1), 2);
    parley_call_release(pend);
    parley_call_release(call);
    ck_assert_int_eq(tp_server_stop(&srv), 0);
    talloc_free(mem);
}
END_TEST

/* ---- hooks ---- */

typedef struct hooks {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int begin_in, end_in, begin_out, end_out, exceptions, bad_method;
    parley_status end_status, exc_status;
    char exc_message[256];
} hooks;

static void trace_begin(parley_call *call, parley_status status, void *data)
{
    hooks *h = data;
    const parley_method *m = parley_call_get_method(call);

    pthread_mutex_lock(&h->lock);
    if (m == NULL || (strcmp(m->name, "remote") != 0 && strcmp(m->name, "pend") != 0) ||
        status != PARLEY_OK)
        h->bad_method++;
    if (parley_call_get_direction(call) == PARLEY_CALL_INCOMING)
        h->begin_in++;
    else
        h->begin_out++;
    pthread_mutex_unlock(&h->lock);
}

static void trace_end(parley_call *call, parley_status status, void *data)
{
    hooks *h = data;
    const parley_method *m = parley_call_get_method(call);

    pthread_mutex_lock(&h->lock);
    if (m == NULL || (strcmp(m->name, "remote") != 0 && strcmp(m->name, "pend") != 0))
        h->bad_method++;
    if (parley_call_get_direction(call) == PARLEY_CALL_INCOMING)
        h->end_in++;
    else
        h->end_out++;
    h->end_status = status;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

static void on_exception(parley_peer *peer, parley_session *session, parley_status status,
                         const char *message, void *data)
{
    hooks *h = data;

    (void)peer; (void)session;
    pthread_mutex_lock(&h->lock);
    h->exceptions++;
    h->exc_status = status;
    snprintf(h->exc_message, sizeof(h->exc_message), "%s", message);
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

START_TEST(test_hooks)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const char *dir = tp_tmpdir();
    char ep[300];
    parley_peer *server, *cpeer;
    parley_session *session;
    parley_call *call;
    hooks hs = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0, 0,
                 PARLEY_OK, PARLEY_OK, "" };
    hooks hc = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0, 0,
                 PARLEY_OK, PARLEY_OK, "" };
    tp_int req = { 5 }, *rep = NULL;
    parley__endpoint *pep;
    int fd = -1;
    struct timespec dl;

    ck_assert_ptr_nonnull(dir);
    snprintf(ep, sizeof(ep), "unix:%s/s", dir);
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &server), PARLEY_OK);
    ck_assert_int_eq(tp_serve(server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_trace_functions(server, trace_begin, trace_end, &hs),
                     PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_exception_function(server, on_exception, &hs), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_listen_endpoint(server, ep, 0), PARLEY_OK);
    ck_assert_int_eq(parley_peer_start_listen(server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_trace_functions(server, NULL, NULL, NULL),
                     PARLEY_ERR_INVALID_STATE);
    ck_assert_int_eq(parley_peer_set_exception_function(server, NULL, NULL),
                     PARLEY_ERR_INVALID_STATE);

    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &cpeer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_trace_functions(cpeer, trace_begin, trace_end, &hc),
                     PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_connect_endpoint(cpeer, ep), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect(cpeer, &session), PARLEY_OK);
    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    ck_assert_ptr_null(parley_call_get_method(call));
    ck_assert_int_eq(parley_call_get_direction(call), PARLEY_CALL_OUTGOING);
    ck_assert_int_eq(parley_call_dispatch(call, TP_REMOTE, &req, mem, &rep, NULL, NULL),
                     PARLEY_ERR_REMOTE);
    ck_assert_str_eq(parley_call_get_method(call)->name, "remote");
    /* The client's trace ran on this thread before dispatch returned. */
    ck_assert_int_eq(hc.begin_out, 1);
    ck_assert_int_eq(hc.end_out, 1);
    ck_assert_int_eq(hc.end_status, PARLEY_ERR_REMOTE);
    ck_assert_int_eq(hc.begin_in + hc.end_in + hc.bad_method, 0);
    /* The server's end trace runs once its reply is sent. */
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 5;
    pthread_mutex_lock(&hs.lock);
    while (hs.end_in == 0 && pthread_cond_timedwait(&hs.cond, &hs.lock, &dl) == 0)
        ;
    ck_assert_int_eq(hs.begin_in, 1);
    ck_assert_int_eq(hs.end_in, 1);
    ck_assert_int_eq(hs.end_status, PARLEY_ERR_REMOTE);
    ck_assert_int_eq(hs.begin_out + hs.end_out + hs.bad_method, 0);
    ck_assert_int_eq(hs.exceptions, 0);
    pthread_mutex_unlock(&hs.lock);
    /* A cancelled call ends exactly once, with CANCELLED. */
    {
        tp_sleep preq = { 0, 0 };
        tp_tag *prep = NULL;
        waiter w = WAITER_INIT;

        ck_assert_int_eq(parley_call_dispatch(call, TP_PEND, &preq, NULL, &prep, on_done, &w),
                         PARLEY_PENDING);
        ck_assert_int_eq(parley_call_cancel(call), PARLEY_OK);
        ck_assert_int_eq(wait_runs(&w, 1), 1);
        ck_assert_int_eq(hc.begin_out, 2);
        ck_assert_int_eq(hc.end_out, 2);
        ck_assert_int_eq(hc.end_status, PARLEY_ERR_CANCELLED);
        /* The server's pended call ends when its cancel function completes it. */
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += 5;
        pthread_mutex_lock(&hs.lock);
        while (hs.end_in < 2 && pthread_cond_timedwait(&hs.cond, &hs.lock, &dl) == 0)
            ;
        ck_assert_int_eq(hs.begin_in, 2);
        ck_assert_int_eq(hs.end_in, 2);
        ck_assert_int_eq(hs.end_status, PARLEY_ERR_CANCELLED);
        pthread_mutex_unlock(&hs.lock);
        ck_assert_int_eq(hc.bad_method + hs.bad_method, 0);
    }
    parley_call_release(call);

    /* Garbage on a connection: the server's exception function hears it. */
    ck_assert_int_eq(parley__endpoint_parse(mem, ep, &pep), PARLEY_OK);
    ck_assert_int_eq(parley__socket_connect(pep, &fd), PARLEY_OK);
    ck_assert_int_eq(write(fd, "GET / HTTP/1.0\r\n\r\n", 18), 18);
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 5;
    pthread_mutex_lock(&hs.lock);
    while (hs.exceptions == 0 && pthread_cond_timedwait(&hs.cond, &hs.lock, &dl) == 0)
        ;
    ck_assert_int_eq(hs.exceptions, 1);
    ck_assert_int_eq(hs.exc_status, PARLEY_ERR_MALFORMED);
    ck_assert(hs.exc_message[0] != '\0');
    pthread_mutex_unlock(&hs.lock);
    close(fd);
    talloc_free(cpeer);
    talloc_free(server);
    tp_tmpdir_remove(dir);
    talloc_free(mem);
}
END_TEST

/* ---- argument checks ---- */

START_TEST(test_calls_api_misuse)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    tp_server srv;
    parley_peer *peer;
    parley_session *session;
    parley_call *call;

    ck_assert_int_eq(parley_call_pend(NULL, NULL, NULL), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_call_complete(NULL, PARLEY_OK), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_call_set_remote_error(NULL, 1, "x"), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_call_get_remote_error(NULL, NULL, NULL),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_call_cancel(NULL), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_call_set_timeout(NULL, 0), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(parley_call_get_method(NULL));
    ck_assert_int_eq(parley_peer_set_timeout(NULL, PARLEY_TIMEOUT_CALL, 1),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_set_exception_function(NULL, NULL, NULL),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_set_trace_functions(NULL, NULL, NULL, NULL),
                     PARLEY_ERR_INVALID_ARGUMENT);

    start_server(&srv);
    peer = client(mem, srv.endpoint, &session);
    ck_assert_int_eq(parley_peer_set_timeout(peer, PARLEY_TIMEOUT_CALL, -1),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_set_timeout(peer, (parley_timeout)7, 1),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_set_timeout(peer, PARLEY_TIMEOUT_ESTABLISH, 5000), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_timeout(peer, PARLEY_TIMEOUT_IDLE, 0), PARLEY_OK);
    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    /* Incoming-only functions on an outgoing call. */
    ck_assert_int_eq(parley_call_pend(call, NULL, NULL), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_call_complete(call, PARLEY_OK), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_call_set_remote_error(call, 1, "x"), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_call_set_timeout(call, -2), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_call_set_timeout(call, PARLEY_TIMEOUT_DEFAULT), PARLEY_OK);
    parley_call_release(call);
    ck_assert_int_eq(tp_server_stop(&srv), 0);
    talloc_free(mem);
}
END_TEST

Suite *parley_calls_suite(void)
{
    Suite *s = suite_create("calls");
    TCase *tc = tcase_create("calls");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_remote_error);
    tcase_add_test(tc, test_pend_complete);
    tcase_add_test(tc, test_cancel);
    tcase_add_test(tc, test_cancel_sync_caller);
    tcase_add_test(tc, test_client_killed_with_pended_calls);
    tcase_add_test(tc, test_call_timeout);
    tcase_add_test(tc, test_hooks);
    tcase_add_test(tc, test_calls_api_misuse);
    suite_add_tcase(s, tc);
    return s;
}
