/* SPDX-License-Identifier: MIT */
/* Threads a peer starts: workers only when a blocking handler needs one;
 * peers sharing a context's I/O thread and workers. */
#include "config.h"

#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>

#include "server_proc.h"
#include "suites.h"
#include "test_proto.h"

/* Threads of this process (/proc/self/task). */
static int count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.')
            n++;
    }
    closedir(d);
    return n;
}

static void *nothing(void *arg)
{
    return arg;
}

/* Threads before the test: one thread started and joined first, so that a
 * sanitizer's runtime starts its own helper thread (TSan does so on the
 * first thread creation) before the count, not during the test. */
static int base_threads(void)
{
    pthread_t t;

    ck_assert_int_eq(pthread_create(&t, NULL, nothing, NULL), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    return count_threads();
}

static void call_add(parley_session *session)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_call *call;
    tp_pair pair = { 40, 2 };
    tp_int *sum = NULL;

    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(call, TP_ADD, &pair, mem, &sum, NULL, NULL), PARLEY_OK);
    ck_assert_int_eq(sum->v, 42);
    parley_call_release(call);
    talloc_free(mem);
}

static void call_echo(parley_session *session)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_call *call;
    tp_echo req = { (char *)"blocking", { 0, NULL } }, *rep = NULL;

    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(call, TP_ECHO, &req, mem, &rep, NULL, NULL), PARLEY_OK);
    ck_assert_str_eq(rep->text, "blocking");
    parley_call_release(call);
    talloc_free(mem);
}

START_TEST(test_workers_start_on_demand)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    int sv[2], base = base_threads();
    parley_peer *server, *client;
    parley_session *session;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &server), PARLEY_OK);
    ck_assert_int_eq(tp_serve(server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_workers(server, 2), PARLEY_OK);
    ck_assert_int_eq(parley_peer_accept_fd(server, sv[1]), PARLEY_OK);
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &client), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect_fd(client, sv[0], &session), PARLEY_OK);
    /* Two I/O threads, no worker yet. */
    ck_assert_int_eq(count_threads(), base + 2);
    call_add(session);   /* a non-blocking handler: on the I/O thread */
    ck_assert_int_eq(count_threads(), base + 2);
    call_echo(session);  /* a blocking one: the server's first worker */
    ck_assert_int_eq(count_threads(), base + 3);
    /* More blocking calls: never more workers than set (2). */
    for (int i = 0; i < 20; i++)
        call_echo(session);
    ck_assert_int_ge(count_threads(), base + 3);
    ck_assert_int_le(count_threads(), base + 4);
    talloc_free(mem);
    ck_assert_int_eq(count_threads(), base);
}
END_TEST

static void call_callback(parley_session *session)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_call *call;
    tp_int five = { 5 }, *rep = NULL;

    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(call, TP_CALLBACK, &five, mem, &rep, NULL, NULL),
                     PARLEY_OK);
    ck_assert_int_eq(rep->v, 11);   /* the server called ADD(5, 5) back */
    parley_call_release(call);
    talloc_free(mem);
}

/* Two peers of one context: one I/O thread and one pool between them. */
START_TEST(test_context_two_peers_share_threads)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    int sv[2], base = base_threads();
    parley_context *ctx;
    parley_peer *server, *client;
    parley_session *session;

    ck_assert_int_eq(parley_context_new(mem, &ctx), PARLEY_OK);
    ck_assert_int_eq(parley_context_set_workers(ctx, 1), PARLEY_OK);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(parley_peer_new_with_context(mem, ctx, tp_protocol(TP_V1), &server),
                     PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_workers(server, 2), PARLEY_ERR_INVALID_STATE);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "parley_context_set_workers"));
    ck_assert_int_eq(tp_serve(server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_new_with_context(mem, ctx, tp_protocol(TP_V1), &client),
                     PARLEY_OK);
    ck_assert_int_eq(tp_serve_client(client), PARLEY_OK);
    ck_assert_int_eq(count_threads(), base);   /* nothing started yet */
    ck_assert_int_eq(parley_peer_accept_fd(server, sv[1]), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect_fd(client, sv[0], &session), PARLEY_OK);
    ck_assert_int_eq(count_threads(), base + 1);   /* one I/O thread for both */
    ck_assert_int_eq(parley_context_set_workers(ctx, 2), PARLEY_ERR_INVALID_STATE);
    call_add(session);
    ck_assert_int_eq(count_threads(), base + 1);
    /* Blocking handlers on both peers (the server's CALLBACK, then the
     * client's ADD called back from it on the same I/O thread). */
    call_echo(session);
    call_callback(session);
    for (int i = 0; i < 10; i++)
        call_echo(session);
    ck_assert_int_eq(count_threads(), base + 2);   /* + the one shared worker */
    /* A context outlives its peers: freeing it now is refused. */
    ck_assert_int_eq(talloc_free(ctx), -1);
    parley_session_close(session);
    ck_assert_int_eq(talloc_free(client), 0);
    ck_assert_int_eq(count_threads(), base + 2);   /* the server's threads go on */
    ck_assert_int_eq(talloc_free(server), 0);
    ck_assert_int_eq(talloc_free(ctx), 0);
    ck_assert_int_eq(count_threads(), base);
    ck_assert_uint_eq(talloc_total_blocks(mem), 1);
    talloc_free(mem);
}
END_TEST

/* A peer of a context goes while the other serves on: its sessions, timers
 * and listeners go with it, the other's calls go on. */
START_TEST(test_context_peer_freed_while_other_serves)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    int a[2], b[2];
    parley_context *ctx;
    parley_peer *server, *c1, *c2;
    parley_session *s1, *s2;

    ck_assert_int_eq(parley_context_new(mem, &ctx), PARLEY_OK);
    ck_assert_int_eq(parley_peer_new_with_context(mem, ctx, tp_protocol(TP_V1), &server),
                     PARLEY_OK);
    ck_assert_int_eq(tp_serve(server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_new_with_context(mem, ctx, tp_protocol(TP_V1), &c1), PARLEY_OK);
    ck_assert_int_eq(parley_peer_new_with_context(mem, ctx, tp_protocol(TP_V1), &c2), PARLEY_OK);
    /* Timers armed on the shared loop: they must not outlive c1. */
    ck_assert_int_eq(parley_peer_set_timeout(c1, PARLEY_TIMEOUT_CALL, 60000), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_timeout(c1, PARLEY_TIMEOUT_IDLE, 60000), PARLEY_OK);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a), 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b), 0);
    ck_assert_int_eq(parley_peer_accept_fd(server, a[1]), PARLEY_OK);
    ck_assert_int_eq(parley_peer_accept_fd(server, b[1]), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect_fd(c1, a[0], &s1), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect_fd(c2, b[0], &s2), PARLEY_OK);
    call_echo(s1);
    call_echo(s2);
    talloc_free(c1);   /* its session, still open, goes with it */
    for (int i = 0; i < 5; i++) {
        call_add(s2);
        call_echo(s2);
    }
    talloc_free(c2);
    talloc_free(server);
    ck_assert_int_eq(talloc_free(ctx), 0);
    ck_assert_uint_eq(talloc_total_blocks(mem), 1);
    talloc_free(mem);
}
END_TEST

START_TEST(test_context_bad_arguments)
{
    parley_peer *peer = NULL;
    parley_context *ctx;

    ck_assert_int_eq(parley_context_new(NULL, NULL), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_new_with_context(NULL, NULL, tp_protocol(TP_V1), &peer),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(peer);
    ck_assert_int_eq(parley_context_new(NULL, &ctx), PARLEY_OK);
    ck_assert_int_eq(parley_context_set_workers(ctx, 0), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_context_set_workers(NULL, 1), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_new_with_context(NULL, ctx, NULL, &peer),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(talloc_free(ctx), 0);   /* never started: no thread */
}
END_TEST

/* ---- a peer driven by the application's loop ---- */

typedef struct async_add {
    parley_call *call;
    tp_int *sum;
    int done;
    parley_status st;
    pthread_t thread;
} async_add;

static void async_added(parley_call *call, parley_status st, void *data)
{
    async_add *a = data;

    (void)call;
    a->st = st;
    a->done++;
    a->thread = pthread_self();
}

static void pump_until(parley_peer *peer, const int *done, int want)
{
    int fd, ms;

    ck_assert_int_eq(parley_peer_get_fd(peer, &fd), PARLEY_OK);
    for (int rounds = 0; *done < want; rounds++) {
        struct pollfd p = { fd, POLLIN, 0 };

        ck_assert_int_lt(rounds, 100000);
        ck_assert_int_eq(parley_peer_get_timeout(peer, &ms), PARLEY_OK);
        ck_assert_int_ge(poll(&p, 1, ms < 0 || ms > 1000 ? 1000 : ms), 0);
        ck_assert_int_eq(parley_peer_process(peer), PARLEY_OK);
    }
}

START_TEST(test_app_loop_serves_and_calls_on_one_thread)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const char *dir = tp_tmpdir();
    char ep[512];
    int base = base_threads(), fd = -1, ms = -2;
    parley_peer *peer, *threaded;
    parley_session *session;
    async_add a[4];

    memset(a, 0, sizeof(a));
    ck_assert_ptr_nonnull(dir);
    snprintf(ep, sizeof(ep), "unix:%s/app.sock", dir);
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &peer), PARLEY_OK);
    ck_assert_int_eq(tp_serve(peer), PARLEY_OK);
    /* Not yet: it runs its own thread. */
    ck_assert_int_eq(parley_peer_get_fd(peer, &fd), PARLEY_ERR_INVALID_STATE);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "parley_peer_set_application_loop"));
    ck_assert_int_eq(parley_peer_process(peer), PARLEY_ERR_INVALID_STATE);
    ck_assert_int_eq(parley_peer_set_application_loop(peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_get_fd(peer, &fd), PARLEY_OK);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(parley_peer_get_timeout(peer, &ms), PARLEY_OK);
    ck_assert_int_eq(ms, -1);   /* nothing to do */
    ck_assert_int_eq(parley_peer_add_listen_endpoint(peer, ep, 0600), PARLEY_OK);
    ck_assert_int_eq(parley_peer_start_listen(peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_connect_endpoint(peer, ep), PARLEY_OK);
    /* The connect runs the loop itself: it serves its own HELLO. */
    ck_assert_msg(parley_peer_connect(peer, &session) == PARLEY_OK, "connect: %s",
                  parley_error_message());
    ck_assert_int_eq(parley_peer_set_application_loop(peer), PARLEY_ERR_INVALID_STATE);
    /* Synchronous calls, non-blocking and blocking handlers: all here. */
    call_add(session);
    call_echo(session);
    /* Asynchronous calls complete inside parley_peer_process(), here. */
    for (int i = 0; i < 4; i++) {
        tp_pair pair = { i, 1 };

        ck_assert_int_eq(parley_session_acquire_call(session, &a[i].call), PARLEY_OK);
        ck_assert_int_eq(parley_call_dispatch(a[i].call, TP_ADD, &pair, NULL, &a[i].sum,
                                              async_added, &a[i]),
                         PARLEY_PENDING);
    }
    for (int i = 0; i < 4; i++) {
        pump_until(peer, &a[i].done, 1);
        ck_assert_int_eq(a[i].st, PARLEY_OK);
        ck_assert_int_eq(a[i].sum->v, i + 1);
        ck_assert(pthread_equal(a[i].thread, pthread_self()));
        parley_call_release(a[i].call);
    }
    /* No thread of Parley's at any time. */
    ck_assert_int_eq(count_threads(), base);
    /* A peer with its own thread refuses the application's calls. */
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &threaded), PARLEY_OK);
    ck_assert_int_eq(parley_peer_get_timeout(threaded, &ms), PARLEY_ERR_INVALID_STATE);
    parley_session_close(session);
    ck_assert_int_eq(parley_peer_stop_listen(peer), PARLEY_OK);
    talloc_free(mem);
    ck_assert_int_eq(count_threads(), base);
    tp_tmpdir_remove(dir);
}
END_TEST

START_TEST(test_app_loop_not_for_context_peers)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_context *ctx;
    parley_peer *peer;

    ck_assert_int_eq(parley_context_new(mem, &ctx), PARLEY_OK);
    ck_assert_int_eq(parley_peer_new_with_context(mem, ctx, tp_protocol(TP_V1), &peer),
                     PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_application_loop(peer), PARLEY_ERR_INVALID_STATE);
    ck_assert_int_eq(parley_peer_set_application_loop(NULL), PARLEY_ERR_INVALID_ARGUMENT);
    talloc_free(peer);
    talloc_free(mem);
}
END_TEST

Suite *parley_threads_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("threads");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_workers_start_on_demand);
    tcase_add_test(tc, test_context_two_peers_share_threads);
    tcase_add_test(tc, test_context_peer_freed_while_other_serves);
    tcase_add_test(tc, test_context_bad_arguments);
    tcase_add_test(tc, test_app_loop_serves_and_calls_on_one_thread);
    tcase_add_test(tc, test_app_loop_not_for_context_peers);
    suite_add_tcase(s, tc);
    return s;
}
