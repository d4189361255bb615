/* SPDX-License-Identifier: MIT */
/* Helpers of the fd and spawn tests (test/check_fds.c, test/check_spawn.c). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "fd_testutil.h"

int64_t fdt_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Descriptors open in this process. */
int fdt_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d))
            n++;
    }
    closedir(d);
    return n;
}

/* Wait (at most max_ms) until pid no longer exists (reaped: a zombie still
 * answers kill 0).  Returns the ms waited, or -1. */
int64_t fdt_wait_gone(pid_t pid, int64_t max_ms)
{
    int64_t t0 = fdt_now_ms();

    while (kill(pid, 0) == 0 || errno != ESRCH) {
        if (fdt_now_ms() - t0 > max_ms)
            return -1;
        usleep(20000);
    }
    return fdt_now_ms() - t0;
}

void fdt_spawn(TALLOC_CTX *mem, const char *a1, const char *a2, const char *a3,
                  parley_peer **ret_peer, parley_session **ret_session)
{
    char *argv[] = { (char *)FDT_CHILD, (char *)a1, (char *)a2, (char *)a3, NULL };

    ck_assert_int_eq(parley_peer_new(mem, fdt_protocol(), ret_peer), PARLEY_OK);
    ck_assert_msg(parley_peer_spawn(*ret_peer, argv, ret_session) == PARLEY_OK, "spawn: %s",
                  parley_error_message());
}

pid_t fdt_child_pid(parley_session *session)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    parley_call *call;
    fdt_u32 req = { 0 }, *rep = NULL;
    pid_t pid;

    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(call, FDT_SLEEP, &req, tmp, &rep, NULL, NULL),
                     PARLEY_OK);
    pid = (pid_t)rep->v;
    parley_call_release(call);
    talloc_free(tmp);
    ck_assert_int_gt(pid, 0);
    ck_assert_int_ne(pid, getpid());
    return pid;
}

parley_status fdt_call(parley_session *session, uint32_t id, const void *in, TALLOC_CTX *mem,
                          void *ret_out)
{
    parley_call *c;
    parley_status st;

    ck_assert_int_eq(parley_session_acquire_call(session, &c), PARLEY_OK);
    st = parley_call_dispatch(c, id, in, mem, ret_out, NULL, NULL);
    parley_call_release(c);
    return st;
}

char *fdt_read_to_eof(TALLOC_CTX *mem, int fd)
{
    char *acc = talloc_strdup(mem, "");
    char buf[128];
    ssize_t n;

    for (;;) {
        struct pollfd p = { fd, POLLIN, 0 };

        ck_assert_int_eq(poll(&p, 1, 5000), 1);
        n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        acc = talloc_strndup_append(acc, buf, (size_t)n);
    }
    return acc;
}

int fdt_make_pipe_with(const char *text)
{
    int p[2];

    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(write(p[1], text, strlen(text)), (ssize_t)strlen(text));
    close(p[1]);
    return p[0];
}
