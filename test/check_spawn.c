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
    suite_add_tcase(s, tc);
    return s;
}
