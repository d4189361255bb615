/* SPDX-License-Identifier: MIT */
/* Allocation failure injection on the call path (doc/runtime.md): for N =
 * 1, 2, 3, ... one ECHO call runs with the N-th allocation of one thread
 * failing (test/failmalloc.c), until a run where none failed.  The thread
 * is the caller's (a synchronous call; the acquire and dispatch of an
 * asynchronous one), the client's I/O thread (reading the asynchronous
 * call's reply), the server's I/O thread (a NONBLOCKING handler) or the
 * server's one worker (a BLOCKING handler); an application error set on
 * the server's I/O thread; and a connect on the caller's thread (a session
 * it returns must work).  Each run must end with
 * PARLEY_OK, PARLEY_ERR_NOMEM with a sentence, or the session closed with a
 * sentence; nothing leaks (once both peers are freed, the blocks malloc'd
 * and not freed, and the descriptors, are what they were); every wait is
 * bounded; and the client still gets a call through afterwards (on the
 * same session, or on a new one when it was closed).  Each run builds and
 * frees its own server and client, in process.  Skipped under the
 * sanitizers, whose runtimes own malloc. */
#include "config.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "contract.h"
#include "failmalloc.h"
#include "suites.h"
#include "test_proto.h"

/* Runs past this many allocations mean the countdown never ran out. */
#define MAX_RUNS 5000

typedef enum oom_kind {
    OOM_SYNC, OOM_ASYNC, OOM_CLIENT_IO, OOM_SERVER, OOM_WORKER, OOM_CONNECT, OOM_REMOTE
} oom_kind;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static pthread_t g_server_thread;   /* the server's I/O thread, from its handler */
static pthread_t g_client_thread;   /* the client's I/O thread, from a callback */
static pthread_t g_echo_thread;     /* where the server's ECHO ran */
static bool g_done;                 /* the asynchronous call completed */
static parley_status g_status;
static char g_msg[512];

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

/* NONBLOCKING ADD that records the thread it runs on (the I/O thread). */
static parley_status h_add(parley_call *call, const void *in, void *out, void *data)
{
    pthread_mutex_lock(&g_lock);
    g_server_thread = pthread_self();
    pthread_mutex_unlock(&g_lock);
    return ct_h_add(call, in, out, data);
}

/* ECHO (NONBLOCKING, or BLOCKING on the one worker): its text and data,
 * allocated under the reply. */
static parley_status h_echo(parley_call *call, const void *in, void *out, void *data)
{
    const tp_echo *e = in;
    tp_echo *r = out;

    (void)call; (void)data;
    pthread_mutex_lock(&g_lock);
    g_echo_thread = pthread_self();
    pthread_mutex_unlock(&g_lock);
    r->text = talloc_strdup(out, e->text);
    r->data.len = e->data.len;
    r->data.data = talloc_memdup(out, e->data.data, e->data.len);
    if (r->text == NULL || r->data.data == NULL)
        return PARLEY_ERR_NOMEM;
    return PARLEY_OK;
}

/* NONBLOCKING REMOTE: the application error v, "refused v". */
static parley_status h_remote(parley_call *call, const void *in, void *out, void *data)
{
    (void)out; (void)data;
    (void)parley_call_set_remote_error(call, ((const tp_int *)in)->v, "refused %d",
                                       (int)((const tp_int *)in)->v);
    return PARLEY_ERR_REMOTE;
}

static parley_peer *server_start(TALLOC_CTX *mem, parley_dispatch_mode echo_mode,
                                 char **ret_endpoint)
{
    parley_peer *peer;
    parley_dispatch table[] = {
        { TP_ADD, h_add, PARLEY_NONBLOCKING },
        { TP_ECHO, h_echo, echo_mode },
        { TP_REMOTE, h_remote, PARLEY_NONBLOCKING },
    };

    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_workers(peer, 1), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_dispatch(peer, table, 3, NULL), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_listen_endpoint(peer, "tcp:127.0.0.1:0", 0), PARLEY_OK);
    ck_assert_int_eq(parley_peer_start_listen(peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_get_listen_endpoint(peer, 0, mem, ret_endpoint), PARLEY_OK);
    return peer;
}

static void async_done(parley_call *call, parley_status status, void *data)
{
    (void)call;
    pthread_mutex_lock(&g_lock);
    g_client_thread = pthread_self();
    g_status = status;
    snprintf(g_msg, sizeof(g_msg), "%s", status == PARLEY_OK ? "" : parley_error_message());
    g_done = true;
    pthread_cond_broadcast(&g_cond);
    pthread_mutex_unlock(&g_lock);
}

/* Wait (bounded: 30 s) for async_done. */
static bool wait_done(void)
{
    struct timespec dl;
    bool done;

    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 30;
    pthread_mutex_lock(&g_lock);
    while (!g_done && pthread_cond_timedwait(&g_cond, &g_lock, &dl) == 0)
        ;
    done = g_done;
    pthread_mutex_unlock(&g_lock);
    return done;
}

/* One call with the n-th allocation of the chosen thread failing.  Returns
 * whether an allocation failed. */
static bool run_one(oom_kind kind, long n)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    TALLOC_CTX *replies = talloc_new(NULL);
    char *ep;
    parley_peer *client;
    parley_session *session;
    parley_call *call = NULL;
    static uint8_t bytes[64] = { 1, 2, 3 };
    tp_echo req = { "hello, out of memory", { sizeof(bytes), bytes } };
    tp_echo *rep = NULL;
    parley_status st;
    pthread_t server_thread;
    long failed = 0;
    int32_t v = 0;

    (void)server_start(mem, kind == OOM_WORKER ? PARLEY_BLOCKING : PARLEY_NONBLOCKING, &ep);
    client = ct_client_new(mem, ep, 0);
    ck_assert_int_eq(parley_peer_set_timeout(client, PARLEY_TIMEOUT_CALL, 10000), PARLEY_OK);
    session = ct_connect_to(client);
    pthread_mutex_lock(&g_lock);
    g_done = false;
    pthread_mutex_unlock(&g_lock);
    if (kind == OOM_SERVER || kind == OOM_REMOTE) {   /* learns the server's I/O thread */
        ck_assert_int_eq(ct_add_sync(session, 1, 1, NULL), PARLEY_OK);
    } else if (kind == OOM_WORKER) {   /* learns the server's worker */
        ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
        ck_assert_int_eq(parley_call_dispatch(call, TP_ECHO, &req, replies, &rep, NULL, NULL),
                         PARLEY_OK);
        parley_call_release(call);
        call = NULL;
        TALLOC_FREE(rep);
    } else if (kind == OOM_CLIENT_IO) {   /* learns the client's I/O thread */
        ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
        ck_assert_int_eq(parley_call_dispatch(call, TP_ECHO, &req, NULL, &rep, async_done, NULL),
                         PARLEY_PENDING);
        ck_assert(wait_done());
        parley_call_release(call);
        call = NULL;
        rep = NULL;
    }
    pthread_mutex_lock(&g_lock);
    server_thread = kind == OOM_WORKER ? g_echo_thread : g_server_thread;
    g_done = false;
    g_status = PARLEY_OK;
    g_msg[0] = '\0';
    pthread_mutex_unlock(&g_lock);

    switch (kind) {
    case OOM_REMOTE: {   /* an application error from the server's I/O thread */
        tp_int rreq = { 7 };
        tp_int *rrep = NULL;
        int32_t code = 0;
        const char *rmsg = NULL;

        ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
        failmalloc_arm(server_thread, n);
        st = parley_call_dispatch(call, TP_REMOTE, &rreq, replies, &rrep, NULL, NULL);
        failed = failmalloc_disarm();
        snprintf(g_msg, sizeof(g_msg), "%s", parley_error_message());
        if (st == PARLEY_ERR_REMOTE) {
            ck_assert_int_eq(parley_call_get_remote_error(call, &code, &rmsg), PARLEY_OK);
            ck_assert_msg(code == 7 || code == 0, "run %ld: code %d", n, (int)code);
        } else {
            ck_assert_msg(st == PARLEY_ERR_NOMEM ||
                          (st == PARLEY_ERR_CONNECTION_CLOSED &&
                           !parley_session_is_connected(session)),
                          "run %ld: %s: %s", n, parley_status_name(st), g_msg);
            ck_assert_msg(failed > 0, "run %ld: %s with no allocation failed: %s", n,
                          parley_status_name(st), g_msg);
        }
        ck_assert_msg(g_msg[0] != '\0', "run %ld: %s without a sentence", n,
                      parley_status_name(st));
        parley_call_release(call);
        ck_assert_uint_eq(talloc_total_blocks(replies), 1);
        if (!parley_session_is_connected(session))
            session = ct_connect_to(client);
        ck_assert_int_eq(ct_add_sync(session, 20, 22, &v), PARLEY_OK);
        talloc_free(replies);
        talloc_free(mem);
        return failed > 0;
    }
    case OOM_CONNECT: {   /* a second session, connected under the countdown */
        parley_session *other = NULL;

        failmalloc_arm(pthread_self(), n);
        st = parley_peer_connect(client, &other);
        snprintf(g_msg, sizeof(g_msg), "%s", st == PARLEY_OK ? "" : parley_error_message());
        failed = failmalloc_disarm();
        if (st == PARLEY_OK) {
            parley_status st2 = ct_add_sync(other, 1, 2, &v);

            ck_assert_msg(st2 == PARLEY_OK, "run %ld: connected, then %s: %s", n,
                          parley_status_name(st2), parley_error_message());
            parley_session_close(other);
        }
        ck_assert_msg(st == PARLEY_OK || g_msg[0] != '\0', "run %ld: %s without a sentence", n,
                      parley_status_name(st));
        ck_assert_msg(failed > 0 || st == PARLEY_OK, "run %ld: %s with no allocation failed: %s",
                      n, parley_status_name(st), g_msg);
        ck_assert_int_eq(ct_add_sync(session, 20, 22, &v), PARLEY_OK);
        talloc_free(replies);
        talloc_free(mem);
        return failed > 0;
    }
    case OOM_SYNC:
        failmalloc_arm(pthread_self(), n);
        st = parley_session_acquire_call(session, &call);
        if (st == PARLEY_OK)
            st = parley_call_dispatch(call, TP_ECHO, &req, replies, &rep, NULL, NULL);
        snprintf(g_msg, sizeof(g_msg), "%s", st == PARLEY_OK ? "" : parley_error_message());
        parley_call_release(call);
        failed = failmalloc_disarm();
        break;
    case OOM_ASYNC:
    case OOM_CLIENT_IO:
        if (kind == OOM_ASYNC)
            failmalloc_arm(pthread_self(), n);
        st = parley_session_acquire_call(session, &call);
        if (kind == OOM_CLIENT_IO) {
            ck_assert_int_eq(st, PARLEY_OK);
            pthread_mutex_lock(&g_lock);
            g_done = false;
            pthread_mutex_unlock(&g_lock);
            failmalloc_arm(g_client_thread, n);
        }
        if (st == PARLEY_OK)
            st = parley_call_dispatch(call, TP_ECHO, &req, NULL, &rep, async_done, NULL);
        if (kind == OOM_ASYNC)
            failed = failmalloc_disarm();
        if (st == PARLEY_PENDING) {
            ck_assert_msg(wait_done(), "run %ld: the callback never ran", n);
            if (kind == OOM_CLIENT_IO)
                failed = failmalloc_disarm();
            pthread_mutex_lock(&g_lock);
            st = g_status;
            pthread_mutex_unlock(&g_lock);
            if (st == PARLEY_OK)
                rep = talloc_steal(replies, rep);
        } else {
            ck_assert_int_ne(st, PARLEY_OK);
            snprintf(g_msg, sizeof(g_msg), "%s", parley_error_message());
        }
        parley_call_release(call);
        break;
    case OOM_SERVER:
    case OOM_WORKER:
    default:
        ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
        failmalloc_arm(server_thread, n);
        st = parley_call_dispatch(call, TP_ECHO, &req, replies, &rep, NULL, NULL);
        failed = failmalloc_disarm();
        snprintf(g_msg, sizeof(g_msg), "%s", st == PARLEY_OK ? "" : parley_error_message());
        parley_call_release(call);
        break;
    }

    /* The outcome: the reply, NOMEM, or the session closed; with a sentence. */
    if (st == PARLEY_OK) {
        ck_assert_ptr_nonnull(rep);
        ck_assert_str_eq(rep->text, req.text);
        ck_assert_uint_eq(rep->data.len, sizeof(bytes));
        ck_assert_mem_eq(rep->data.data, bytes, sizeof(bytes));
    } else {
        ck_assert_msg(st == PARLEY_ERR_NOMEM ||
                      (st == PARLEY_ERR_CONNECTION_CLOSED && !parley_session_is_connected(session)),
                      "run %ld: %s: %s", n, parley_status_name(st), g_msg);
        ck_assert_msg(g_msg[0] != '\0', "run %ld: %s without a sentence", n,
                      parley_status_name(st));
    }
    ck_assert_msg(failed > 0 || st == PARLEY_OK, "run %ld: %s with no allocation failed: %s",
                  n, parley_status_name(st), g_msg);
    /* Nothing but the reply under the caller's context. */
    ck_assert_uint_eq(talloc_total_blocks(replies),
                      st == PARLEY_OK ? talloc_total_blocks(rep) + 1 : 1);

    /* The peer still serves: on this session, or on a new one. */
    if (!parley_session_is_connected(session))
        session = ct_connect_to(client);
    st = ct_add_sync(session, 20, 22, &v);
    ck_assert_msg(st == PARLEY_OK, "run %ld: the next call: %s: %s", n, parley_status_name(st),
                  parley_error_message());
    ck_assert_int_eq(v, 42);

    talloc_free(replies);
    talloc_free(mem);
    return failed > 0;
}

static void oom_loop(oom_kind kind)
{
    long blocks;
    int fds;
    long n;

    if (!failmalloc_available) {
        fprintf(stderr, "check_oom: skipped (malloc belongs to the sanitizers here)\n");
        return;
    }
    (void)run_one(kind, 1000000);   /* warm up: thread buffers, lazy state */
    blocks = failmalloc_live();
    fds = count_fds();
    for (n = 1; n < MAX_RUNS; n++) {
        bool failed = run_one(kind, n);

        ck_assert_msg(failmalloc_live() == blocks,
                      "run %ld: %ld blocks allocated, %ld before", n, failmalloc_live(), blocks);
        ck_assert_msg(count_fds() == fds, "run %ld: %d descriptors, %d before", n, count_fds(),
                      fds);
        if (!failed)
            break;
    }
    ck_assert_int_lt(n, MAX_RUNS);
}

START_TEST(test_oom_sync_call)
{
    oom_loop(OOM_SYNC);
}
END_TEST

START_TEST(test_oom_async_call)
{
    oom_loop(OOM_ASYNC);
}
END_TEST

START_TEST(test_oom_client_io_thread)
{
    oom_loop(OOM_CLIENT_IO);
}
END_TEST

START_TEST(test_oom_server_worker)
{
    oom_loop(OOM_WORKER);
}
END_TEST

START_TEST(test_oom_remote_error)
{
    oom_loop(OOM_REMOTE);
}
END_TEST

START_TEST(test_oom_connect)
{
    oom_loop(OOM_CONNECT);
}
END_TEST

START_TEST(test_oom_server_handler)
{
    oom_loop(OOM_SERVER);
}
END_TEST

Suite *parley_oom_suite(void)
{
    Suite *s = suite_create("oom");
    TCase *tc = tcase_create("calls");

    tcase_add_test(tc, test_oom_sync_call);
    tcase_add_test(tc, test_oom_async_call);
    tcase_add_test(tc, test_oom_client_io_thread);
    tcase_add_test(tc, test_oom_server_handler);
    tcase_add_test(tc, test_oom_server_worker);
    tcase_add_test(tc, test_oom_connect);
    tcase_add_test(tc, test_oom_remote_error);
    tcase_set_timeout(tc, 300);
    suite_add_tcase(s, tc);
    return s;
}
