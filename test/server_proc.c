/* SPDX-License-Identifier: MIT */
/* Test helper: the peer_server child process. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "server_proc.h"

const char *tp_tmpdir(void)
{
    static char dir[256];
    const char *base = getenv("TMPDIR");

    snprintf(dir, sizeof(dir), "%s/parley-test-XXXXXX", base != NULL ? base : "/tmp");
    if (mkdtemp(dir) == NULL)
        return NULL;
    return dir;
}

void tp_tmpdir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

bool tp_server_start(tp_server *s, const char *const *args, int keep_fd)
{
    int in[2], out[2];
    char line[300];
    size_t used = 0;
    int n_args = 0;

    memset(s, 0, sizeof(*s));
    s->pid = -1;
    s->stdin_fd = -1;
    while (args[n_args] != NULL)
        n_args++;
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
        return false;
    s->pid = fork();
    if (s->pid < 0)
        return false;
    if (s->pid == 0) {
        char **argv = calloc((size_t)n_args + 2, sizeof(char *));

        dup2(in[0], 0);
        dup2(out[1], 1);
        if (keep_fd >= 0)
            fcntl(keep_fd, F_SETFD, 0);
        argv[0] = (char *)TEST_BUILDDIR "/peer_server";
        for (int i = 0; i < n_args; i++)
            argv[i + 1] = (char *)args[i];
        if (getenv("PARLEY_TEST_SERVER_WRAPPER") != NULL) {
            /* e.g. "valgrind -q --error-exitcode=9 --leak-check=full": the
             * server's exit status then reports its memory errors. */
            char **wargv = calloc((size_t)n_args + 5, sizeof(char *));

            wargv[0] = (char *)"/bin/sh";
            wargv[1] = (char *)"-c";
            wargv[2] = (char *)"exec $PARLEY_TEST_SERVER_WRAPPER \"$0\" \"$@\"";
            for (int i = 0; i <= n_args; i++)
                wargv[i + 3] = argv[i];
            execv(wargv[0], wargv);
            _exit(127);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    s->stdin_fd = in[1];
    /* Wait up to 30 s (valgrind is slow to start) for "READY <endpoint>\n". */
    for (int tries = 0; tries < 300 && used < sizeof(line) - 1; tries++) {
        struct pollfd p = { out[0], POLLIN, 0 };
        ssize_t n;

        if (poll(&p, 1, 100) <= 0)
            continue;
        n = read(out[0], line + used, sizeof(line) - 1 - used);
        if (n <= 0)
            break;
        used += (size_t)n;
        line[used] = '\0';
        if (strchr(line, '\n') != NULL)
            break;
    }
    close(out[0]);
    line[used] = '\0';
    if (strncmp(line, "READY ", 6) != 0 || strchr(line, '\n') == NULL) {
        tp_server_stop(s);
        return false;
    }
    *strchr(line, '\n') = '\0';
    snprintf(s->endpoint, sizeof(s->endpoint), "%s", line + 6);
    return true;
}

int tp_server_stop(tp_server *s)
{
    int status = -1;

    if (s->stdin_fd >= 0) {
        close(s->stdin_fd);
        s->stdin_fd = -1;
    }
    if (s->pid <= 0)
        return -1;
    for (int i = 0; i < 3000; i++) {
        pid_t r = waitpid(s->pid, &status, WNOHANG);

        if (r == s->pid) {
            s->pid = -1;
            return status;
        }
        usleep(10000);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &status, 0);
    s->pid = -1;
    return -1;
}
