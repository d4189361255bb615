/* SPDX-License-Identifier: MIT */
/* Spawned children over real processes: this test spawns test/fd_child with
 * parley_peer_spawn(), calls it, drops it, kills it. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "fd_testutil.h"
#include "server_proc.h"
#include "suites.h"


/* ---- spawned children ---- */

START_TEST(test_spawn_serves_and_exits_when_dropped)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const char *dir = tp_tmpdir();
    char marker[512];
    parley_peer *peer;
    parley_session *session;
    struct stat sb;
    pid_t pid;
    int before = fdt_count_fds();

    ck_assert_ptr_nonnull(dir);
    snprintf(marker, sizeof(marker), "%s/exited", dir);
    fdt_spawn(mem, "--marker", marker, NULL, &peer, &session);
    pid = fdt_child_pid(session);
    ck_assert(parley_session_is_connected(session));
    parley_session_close(session);
    /* It exits by itself (the marker is written only when its serve
     * returned, not when a signal ends it) and is reaped. */
    ck_assert_int_ge(fdt_wait_gone(pid, 10000), 0);
    ck_assert_int_eq(stat(marker, &sb), 0);
    talloc_free(mem);
    ck_assert_int_eq(fdt_count_fds(), before);
    tp_tmpdir_remove(dir);
}
END_TEST

START_TEST(test_spawn_peer_free_reaps)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    parley_session *s1, *s2;
    pid_t p1, p2;
    char *argv[] = { (char *)FDT_CHILD, NULL };

    fdt_spawn(mem, NULL, NULL, NULL, &peer, &s1);
    ck_assert_int_eq(parley_peer_spawn(peer, argv, &s2), PARLEY_OK);
    p1 = fdt_child_pid(s1);
    p2 = fdt_child_pid(s2);
    ck_assert_int_ne(p1, p2);
    talloc_free(mem);   /* closes both sessions and waits for the children */
    ck_assert_int_eq(kill(p1, 0), -1);
    ck_assert_int_eq(kill(p2, 0), -1);
}
END_TEST

START_TEST(test_spawn_no_fd_leaks_into_child)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    parley_session *session;
    fdt_u32 req = { 0 };
    fdt_list *rep = NULL;
    int p[2];
    const uint32_t *fds;

    /* Not close-on-exec, and numbered far above what the child opens
     * itself: only the spawn's own closing keeps these out. */
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(dup2(p[0], 200), 200);
    ck_assert_int_eq(dup2(p[1], 201), 201);
    close(p[0]);
    close(p[1]);
    p[0] = 200;
    p[1] = 201;
    fdt_spawn(mem, NULL, NULL, NULL, &peer, &session);
    ck_assert_int_eq(fdt_call(session, FDT_OPENFDS, &req, mem, &rep), PARLEY_OK);
    fds = rep->fds.items;
    ck_assert_uint_ge(rep->fds.n, 1);
    {
        bool has3 = false;

        for (size_t i = 0; i < rep->fds.n; i++) {
            /* stdin/out/err, the session socket (3), and the child's own
             * epoll, eventfd and the like, opened after exec */
            ck_assert_uint_lt(fds[i], 100);
            has3 = has3 || fds[i] == 3;
        }
        ck_assert(has3);
    }
    close(p[0]);
    close(p[1]);
    talloc_free(mem);
}
END_TEST

static void *sleeper(void *arg)
{
    parley_session *session = arg;
    TALLOC_CTX *tmp = talloc_new(NULL);
    fdt_u32 req = { 10000 }, *rep = NULL;
    parley_status st = fdt_call(session, FDT_SLEEP, &req, tmp, &rep);

    talloc_free(tmp);
    return (void *)(intptr_t)st;
}

START_TEST(test_spawn_child_killed_mid_call)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    parley_session *session;
    pthread_t t;
    void *res;
    pid_t pid;

    fdt_spawn(mem, NULL, NULL, NULL, &peer, &session);
    pid = fdt_child_pid(session);
    ck_assert_int_eq(pthread_create(&t, NULL, sleeper, session), 0);
    usleep(300000);
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    ck_assert_int_eq(pthread_join(t, &res), 0);
    ck_assert_int_eq((int)(intptr_t)res, PARLEY_ERR_CONNECTION_CLOSED);
    /* CONNECTION_CLOSED, not the reply: before the handler (a 10 s sleep)
     * finished. */
    ck_assert(!parley_session_is_connected(session));
    ck_assert_int_ge(fdt_wait_gone(pid, 5000), 0);   /* reaped */
    talloc_free(mem);
}
END_TEST

START_TEST(test_spawn_child_that_will_not_exit)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    parley_session *session;
    pid_t pid;
    int64_t waited;

    fdt_spawn(mem, "--linger", NULL, NULL, &peer, &session);
    pid = fdt_child_pid(session);
    parley_session_close(session);
    /* SIGTERM (ignored) after 2 s, SIGKILL after 4 s. */
    waited = fdt_wait_gone(pid, 15000);
    ck_assert_int_ge(waited, 3000);
    ck_assert_int_lt(waited, 12000);
    talloc_free(mem);
}
END_TEST

START_TEST(test_spawn_missing_program)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    parley_session *session = NULL;
    char *argv[] = { (char *)TEST_BUILDDIR "/no-such-program", NULL };
    int before = fdt_count_fds();

    ck_assert_int_eq(parley_peer_new(mem, fdt_protocol(), &peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_spawn(peer, argv, &session), PARLEY_ERR_NOT_FOUND);
    ck_assert_ptr_null(session);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "no-such-program"));
    talloc_free(mem);
    ck_assert_int_eq(fdt_count_fds(), before);
}
END_TEST

START_TEST(test_serve_spawned_without_parent)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    int status = -1;

    unsetenv("PARLEY_SPAWN_FD");
    ck_assert_int_eq(parley_peer_new(mem, fdt_protocol(), &peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_serve_spawned(peer, 0, NULL, &status), PARLEY_ERR_INVALID_STATE);
    ck_assert_int_eq(status, -1);
    talloc_free(mem);
}
END_TEST

/* ---- pid, exit status, credentials (parley_peer_spawn_child) ---- */

static parley_status spawn_child(parley_peer *peer, const char *a1, const char *a2,
                                 parley_child_exit_fn fn, void *data,
                                 parley_session **ret_session, pid_t *ret_pid)
{
    char *argv[] = { (char *)FDT_CHILD, (char *)a1, (char *)a2, NULL };

    return parley_peer_spawn_child(peer, argv, fn, data, ret_session, ret_pid);
}

START_TEST(test_spawn_child_pid_credentials_exit_status)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    parley_session *session = NULL;
    parley_credentials cr;
    pid_t pid = 0;
    int ws = -2;

    ck_assert_int_eq(parley_peer_new(mem, fdt_protocol(), &peer), PARLEY_OK);
    ck_assert_msg(spawn_child(peer, "--status", "7", NULL, NULL, &session, &pid) == PARLEY_OK,
                  "spawn: %s", parley_error_message());
    ck_assert_int_gt(pid, 0);
    /* The pid the child reports of itself. */
    ck_assert_int_eq(fdt_child_pid(session), pid);
    /* The child's credentials, not this process's (SO_PEERCRED on a
     * socketpair would name this process). */
    ck_assert_int_eq(parley_session_get_credentials(session, &cr), PARLEY_OK);
    ck_assert_int_eq(cr.pid, pid);
    ck_assert_uint_eq(cr.uid, (uint32_t)geteuid());
    ck_assert_uint_eq(cr.gid, (uint32_t)getegid());
    /* Still running: a look (0 ms) and a short wait time out. */
    ck_assert_int_eq(parley_peer_wait_child(peer, pid, 0, &ws), PARLEY_ERR_TIMEOUT);
    ck_assert_int_eq(parley_peer_wait_child(peer, pid, 50, &ws), PARLEY_ERR_TIMEOUT);
    ck_assert_int_eq(ws, -2);
    parley_session_close(session);
    ck_assert_msg(parley_peer_wait_child(peer, pid, 20000, &ws) == PARLEY_OK, "wait: %s",
                  parley_error_message());
    ck_assert(WIFEXITED(ws));
    ck_assert_int_eq(WEXITSTATUS(ws), 7);
    /* Collected: gone. */
    ck_assert_int_eq(parley_peer_wait_child(peer, pid, 0, &ws), PARLEY_ERR_NOT_FOUND);
    ck_assert_int_eq(kill(pid, 0), -1);
    talloc_free(mem);
}
END_TEST

START_TEST(test_spawn_wait_child_bad_arguments)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    parley_session *session = NULL;
    pid_t pid = 0;
    int ws;
    char *argv[] = { (char *)FDT_CHILD, NULL };

    ck_assert_int_eq(parley_peer_new(mem, fdt_protocol(), &peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_wait_child(peer, getpid(), 0, &ws), PARLEY_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "no child"));
    ck_assert_int_eq(parley_peer_wait_child(peer, 0, 0, &ws), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_wait_child(peer, 1, -2, &ws), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_wait_child(NULL, 1, 0, &ws), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_spawn_child(peer, argv, NULL, NULL, &session, NULL),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(session);
    /* A child of parley_peer_spawn() (no pid given out) is not waitable. */
    ck_assert_int_eq(parley_peer_spawn(peer, argv, &session), PARLEY_OK);
    pid = fdt_child_pid(session);
    ck_assert_int_eq(parley_peer_wait_child(peer, pid, 0, &ws), PARLEY_ERR_NOT_FOUND);
    talloc_free(mem);
}
END_TEST

typedef struct exit_seen {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int calls;
    pid_t pid;
    int status;
    pthread_t thread;
    parley_peer *peer;
} exit_seen;

static void on_child_exit(parley_peer *peer, pid_t pid, int wait_status, void *data)
{
    exit_seen *e = data;

    pthread_mutex_lock(&e->lock);
    e->calls++;
    e->peer = peer;
    e->pid = pid;
    e->status = wait_status;
    e->thread = pthread_self();
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->lock);
}

static bool wait_exit_seen(exit_seen *e, int ms)
{
    struct timespec t;
    bool ok;

    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += ms / 1000;
    pthread_mutex_lock(&e->lock);
    while (e->calls == 0) {
        if (pthread_cond_timedwait(&e->cond, &e->lock, &t) != 0)
            break;
    }
    ok = e->calls > 0;
    pthread_mutex_unlock(&e->lock);
    return ok;
}

START_TEST(test_spawn_child_exit_callback_signal)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    parley_session *session = NULL;
    pid_t pid = 0;
    int ws;
    exit_seen e = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

    ck_assert_int_eq(parley_peer_new(mem, fdt_protocol(), &peer), PARLEY_OK);
    ck_assert_int_eq(spawn_child(peer, NULL, NULL, on_child_exit, &e, &session, &pid),
                     PARLEY_OK);
    ck_assert_int_eq(fdt_child_pid(session), pid);
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    ck_assert(wait_exit_seen(&e, 20000));
    ck_assert_int_eq(e.calls, 1);
    ck_assert_ptr_eq(e.peer, peer);
    ck_assert_int_eq(e.pid, pid);
    ck_assert(WIFSIGNALED(e.status));
    ck_assert_int_eq(WTERMSIG(e.status), SIGKILL);
    ck_assert(!pthread_equal(e.thread, pthread_self()));   /* the I/O thread */
    /* With an exit function, nothing is kept for a wait. */
    ck_assert_int_eq(parley_peer_wait_child(peer, pid, 0, &ws), PARLEY_ERR_NOT_FOUND);
    ck_assert(!parley_session_is_connected(session));
    talloc_free(mem);
    ck_assert_int_eq(e.calls, 1);
}
END_TEST

START_TEST(test_spawn_child_exit_callback_on_peer_free)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    parley_session *session = NULL;
    pid_t pid = 0;
    exit_seen e = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

    ck_assert_int_eq(parley_peer_new(mem, fdt_protocol(), &peer), PARLEY_OK);
    ck_assert_int_eq(spawn_child(peer, "--status", "5", on_child_exit, &e, &session, &pid),
                     PARLEY_OK);
    talloc_free(mem);   /* ends the session; the child exits; its exit function runs */
    ck_assert_int_eq(e.calls, 1);
    ck_assert_int_eq(e.pid, pid);
    ck_assert(WIFEXITED(e.status));
    ck_assert_int_eq(WEXITSTATUS(e.status), 5);
}
END_TEST

START_TEST(test_spawn_child_exits_at_once)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    parley_session *session = NULL;
    pid_t pid = 0;
    int before = fdt_count_fds();
    exit_seen e = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

    ck_assert_int_eq(parley_peer_new(mem, fdt_protocol(), &peer), PARLEY_OK);
    ck_assert_int_eq(spawn_child(peer, "--exit-now", "3", on_child_exit, &e, &session, &pid),
                     PARLEY_ERR_CONNECTION_CLOSED);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "fd_child"));
    ck_assert_ptr_null(session);
    ck_assert_int_eq(pid, 0);
    talloc_free(mem);
    ck_assert_int_eq(e.calls, 0);   /* a failed spawn calls nothing */
    ck_assert_int_eq(fdt_count_fds(), before);
}
END_TEST

START_TEST(test_spawn_child_signals_reset)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    parley_session *session = NULL;
    pid_t pid = 0;
    int ws = -1;
    sigset_t block, saved;

    /* What a parent commonly has: SIGPIPE ignored, signals blocked, a
     * handler; none of it reaches the child. */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGTERM);
    ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &block, &saved), 0);
    ck_assert_int_eq(parley_peer_new(mem, fdt_protocol(), &peer), PARLEY_OK);
    ck_assert_msg(spawn_child(peer, "--check-signals", NULL, NULL, NULL, &session, &pid) ==
                      PARLEY_OK, "spawn: %s", parley_error_message());
    parley_session_close(session);
    ck_assert_int_eq(parley_peer_wait_child(peer, pid, 20000, &ws), PARLEY_OK);
    ck_assert(WIFEXITED(ws));
    ck_assert_int_eq(WEXITSTATUS(ws), 0);
    talloc_free(mem);
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    signal(SIGINT, SIG_DFL);
}
END_TEST

START_TEST(test_spawn_child_missing_program_in_path)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    parley_session *session = NULL;
    pid_t pid = 0;
    char *argv[] = { (char *)"parley-no-such-program-anywhere", NULL };

    ck_assert_int_eq(parley_peer_new(mem, fdt_protocol(), &peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_spawn_child(peer, argv, NULL, NULL, &session, &pid),
                     PARLEY_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "parley-no-such-program-anywhere"));
    ck_assert_ptr_null(session);
    ck_assert_int_eq(pid, 0);
    talloc_free(mem);
}
END_TEST

Suite *parley_spawn_suite(void)
{
    Suite *s = suite_create("spawn");
    TCase *tc = tcase_create("spawn");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_spawn_serves_and_exits_when_dropped);
    tcase_add_test(tc, test_spawn_peer_free_reaps);
    tcase_add_test(tc, test_spawn_no_fd_leaks_into_child);
    tcase_add_test(tc, test_spawn_child_killed_mid_call);
    tcase_add_test(tc, test_spawn_child_that_will_not_exit);
    tcase_add_test(tc, test_spawn_missing_program);
    tcase_add_test(tc, test_serve_spawned_without_parent);
    tcase_add_test(tc, test_spawn_child_pid_credentials_exit_status);
    tcase_add_test(tc, test_spawn_wait_child_bad_arguments);
    tcase_add_test(tc, test_spawn_child_exit_callback_signal);
    tcase_add_test(tc, test_spawn_child_exit_callback_on_peer_free);
    tcase_add_test(tc, test_spawn_child_exits_at_once);
    tcase_add_test(tc, test_spawn_child_signals_reset);
    tcase_add_test(tc, test_spawn_child_missing_program_in_path);
    suite_add_tcase(s, tc);
    return s;
}
