/* SPDX-License-Identifier: MIT */
/* Test helper: run test/peer_server in a child process, in a per-test
 * temporary directory. */
#ifndef PARLEY_TEST_SERVER_PROC_H
#define PARLEY_TEST_SERVER_PROC_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct tp_server {
    pid_t pid;
    int stdin_fd;           /* closing it ends the server */
    char endpoint[320];     /* what it printed after READY */
} tp_server;

/* A fresh temporary directory (under $TMPDIR or /tmp); the path is static
 * storage overwritten by the next call. */
const char *tp_tmpdir(void);
/* Remove the directory made by tp_tmpdir() and what is in it. */
void tp_tmpdir_remove(const char *dir);

/* Start peer_server with args (NULL-terminated; args[0] is the variant).
 * keep_fd >= 0 is left open in the child (for --fd).  Waits (bounded) for
 * its READY line.  Returns false if it did not come up.  With
 * PARLEY_TEST_SERVER_WRAPPER set (e.g. to a valgrind command line) the server
 * runs under that command. */
bool tp_server_start(tp_server *s, const char *const *args, int keep_fd);
/* Close its stdin and wait for it (bounded; SIGKILL after 30 s).  Returns its
 * exit status as from waitpid, or -1. */
int tp_server_stop(tp_server *s);

#endif
