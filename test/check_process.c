/* SPDX-License-Identifier: MIT */
/* Runtime, process hygiene: library threads block every signal, and a
 * peer used in a fork()ed child fails with INVALID_STATE instead of hanging. */
#include "config.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "suites.h"
#include "test_proto.h"

/* A server and a client peer in this process on a socketpair, one call made:
 * both peers' I/O threads and workers are running. */
static parley_session *two_peers(TALLOC_CTX *mem, parley_peer **ret_client)
{
    parley_peer *server, *client;
    parley_session *session;
    int sv[2];
    tp_pair pair = { 40, 2 };
    tp_int *sum = NULL;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &server), PARLEY_OK);
    ck_assert_int_eq(tp_serve(server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_accept_fd(server, sv[1]), PARLEY_OK);
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &client), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect_fd(client, sv[0], &session), PARLEY_OK);
    {
        parley_call *call;
        ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
        ck_assert_msg(parley_call_dispatch(call, TP_ADD, &pair, mem, &sum, NULL, NULL) ==
                      PARLEY_OK, "%s", parley_error_message());
        parley_call_release(call);
    }
    ck_assert_int_eq(sum->v, 42);
    if (ret_client != NULL)
        *ret_client = client;
    return session;
}

/* The thread ids in /proc/self/task, as a 0-terminated list under mem. */
static pid_t *task_ids(TALLOC_CTX *mem)
{
    DIR *d = opendir("/proc/self/task");
    pid_t *ids = talloc_array(mem, pid_t, 1);
    size_t n = 0;
    struct dirent *e;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        ids = talloc_realloc(mem, ids, pid_t, n + 2);
        ids[n++] = (pid_t)atoi(e->d_name);
    }
    closedir(d);
    ids[n] = 0;
    return ids;
}

static bool listed(const pid_t *ids, pid_t id)
{
    for (; *ids != 0; ids++)
        if (*ids == id)
            return true;
    return false;
}

/* SigBlk of one thread of this process. */
static unsigned long long blocked_of(pid_t tid)
{
    char path[64], line[256];
    unsigned long long mask = 0;
    bool found = false;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
    f = fopen(path, "r");
    if (f == NULL)
        return ~0ULL;   /* the thread has ended: nothing to check */
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "SigBlk: %llx", &mask) == 1)
            found = true;
    fclose(f);
    ck_assert_msg(found, "no SigBlk line in %s", path);
    return mask;
}

/* Every thread the library started blocks every signal that can be blocked
 * (not SIGKILL and SIGSTOP; glibc keeps its two internal signals 32 and 33
 * to itself); the application thread's mask is what it was. */
START_TEST(test_library_threads_block_signals)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    pid_t *before = task_ids(mem), *after;
    sigset_t mine, now;
    size_t checked = 0;

    sigemptyset(&mine);
    sigaddset(&mine, SIGUSR2);
    ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, &mine, NULL), 0);
    two_peers(mem, NULL);
    ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, NULL, &now), 0);
    ck_assert(sigismember(&now, SIGUSR2) && !sigismember(&now, SIGUSR1) &&
              !sigismember(&now, SIGTERM));
    after = task_ids(mem);
    for (pid_t *t = after; *t != 0; t++) {
        unsigned long long mask;
        if (listed(before, *t))
            continue;
        mask = blocked_of(*t);
        for (int sig = 1; sig <= 64; sig++) {
            if (sig == SIGKILL || sig == SIGSTOP || sig == 32 || sig == 33)
                continue;
            if (sig == 64 && getenv("PARLEY_TEST_VALGRIND") != NULL)
                continue;   /* valgrind's own signal: it never lets a thread block it */
            ck_assert_msg(mask & (1ULL << (sig - 1)),
                          "library thread %d does not block signal %d (SigBlk %016llx)",
                          (int)*t, sig, mask);
        }
        checked++;
    }
    /* two I/O threads (workers start only when a blocking handler needs
     * one; test/check_loop.c checks a worker's mask) */
    ck_assert_uint_ge(checked, 2);
    sigemptyset(&mine);
    pthread_sigmask(SIG_SETMASK, &mine, NULL);
    talloc_free(mem);
}
END_TEST

/* The child of a fork() gets INVALID_STATE and a sentence from every entry
 * point that needs the peer's threads, at once; the parent's peers keep
 * working.  An alarm in the child turns a hang into a failure. */
START_TEST(test_fork_child_invalid_state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *client;
    parley_session *session = two_peers(mem, &client);
    int status, report[2];
    char why[512] = "";
    ssize_t got;
    pid_t pid;

    /* the child's failure sentence comes back through a pipe (a child's
     * stderr may be silenced, as under valgrind) */
    ck_assert_int_eq(pipe(report), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        parley_call *call = NULL;
        parley_session *other = NULL;
        int bad = 0;

        alarm(20);
        if (parley_session_acquire_call(session, &call) != PARLEY_ERR_INVALID_STATE ||
            strstr(parley_error_message(), "fork") == NULL ||
            strstr(parley_error_message(), "parley_session_acquire_call") == NULL)
            bad |= 1;
        if (call != NULL)
            bad |= 2;
        if (parley_peer_connect(client, &other) !=
            PARLEY_ERR_INVALID_STATE || other != NULL)
            bad |= 4;
        if (parley_peer_stop_listen(client) !=
            PARLEY_ERR_INVALID_STATE)
            bad |= 8;
        /* freeing a parent's peer in the child is refused, not a hang */
        if (talloc_free(client) != -1)
            bad |= 16;
        if (bad != 0)
            dprintf(report[1], "failures %#x: %s", bad, parley_error_message());
        else
            dprintf(report[1], "ok");
        _exit(bad);
    }
    close(report[1]);
    got = read(report[0], why, sizeof(why) - 1);
    why[got > 0 ? got : 0] = '\0';
    close(report[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status), "the child did not exit (signal %d: a hang?)",
                  WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    /* judged by its report, not its exit status: under valgrind that is
     * valgrind's (a fork()ed child's leak report sees none of the parent's
     * other threads' stacks, so their buffers look lost) */
    ck_assert_msg(strcmp(why, "ok") == 0, "child: %s", why);
    /* the parent's peers are untouched */
    {
        parley_call *call;
        tp_pair pair = { 1, 2 };
        tp_int *sum = NULL;
        ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
        ck_assert_int_eq(parley_call_dispatch(call, TP_ADD, &pair, mem, &sum, NULL, NULL),
                         PARLEY_OK);
        parley_call_release(call);
        ck_assert_int_eq(sum->v, 3);
    }
    talloc_free(mem);
}
END_TEST

Suite *parley_process_suite(void)
{
    Suite *s = suite_create("process");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_library_threads_block_signals);
    tcase_add_test(tc, test_fork_child_invalid_state);
    suite_add_tcase(s, tc);
    return s;
}
