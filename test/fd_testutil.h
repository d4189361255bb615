/* SPDX-License-Identifier: MIT */
/* Helpers of the fd and spawn tests. */
#ifndef PARLEY_TEST_FD_TESTUTIL_H
#define PARLEY_TEST_FD_TESTUTIL_H

#include <stdint.h>
#include <sys/types.h>

#include "fd_proto.h"

#define FDT_CHILD TEST_BUILDDIR "/fd_child"

/* Monotonic milliseconds. */
int64_t fdt_now_ms(void);
/* Descriptors open in this process (/proc/self/fd). */
int fdt_count_fds(void);
/* Wait (at most max_ms) until pid no longer exists (reaped: a zombie still
 * answers kill 0).  Returns the ms waited, or -1. */
int64_t fdt_wait_gone(pid_t pid, int64_t max_ms);
/* A new "fdtest" peer under mem and a session with test/fd_child started
 * with up to three arguments (NULL ends them). */
void fdt_spawn(TALLOC_CTX *mem, const char *a1, const char *a2, const char *a3,
               parley_peer **ret_peer, parley_session **ret_session);
/* The pid of the process serving session (FDT_SLEEP 0). */
pid_t fdt_child_pid(parley_session *session);
/* One synchronous call on a fresh call object. */
parley_status fdt_call(parley_session *session, uint32_t id, const void *in, TALLOC_CTX *mem,
                       void *ret_out);
/* Read fd to EOF (5 s per read at most) into a string under mem. */
char *fdt_read_to_eof(TALLOC_CTX *mem, int fd);
/* The read end of a pipe holding text (the write end closed). */
int fdt_make_pipe_with(const char *text);

#endif
