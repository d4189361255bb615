/* SPDX-License-Identifier: MIT */
/* Spawned children: parley_peer_spawn() starts a program on a socketpair
 * and reaps it; parley_peer_serve_spawned() is the child's side. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fork.h"
#include "session.h"
#include "status.h"
#include "thread.h"

extern char **environ;

/* The child's end of the socketpair, and the variable naming it. */
#define CHILD_FD 3
#define SPAWN_ENV "PARLEY_SPAWN_FD"
/* After the session ends: SIGTERM after this long, SIGKILL as long again later. */
#define GRACE_MS 2000
#define POLL_MS 20
/* While the session is up, the reaper checks it this often (the child's exit
 * wakes it at once where pidfds exist). */
#define IDLE_POLL_MS 200

typedef struct parley__child {
    struct parley__child *next;
    parley_peer *peer;
    parley_session *session;   /* a reference held until reaped */
    pid_t pid;
    int pidfd;                 /* readable once the child exits; -1: none */
} parley__child;

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *reaper(void *p)
{
    parley__child *c = p;
    parley_peer *peer = c->peer;
    int64_t closed_at = -1;
    int sent = 0;
    int pidfd = c->pidfd;

    for (;;) {
        int status;
        pid_t r = waitpid(c->pid, &status, WNOHANG);
        bool closed;

        if (r == c->pid || (r < 0 && errno != EINTR))
            break;
        pthread_mutex_lock(&c->session->lock);
        closed = c->session->state == PARLEY__SESSION_CLOSED;
        pthread_mutex_unlock(&c->session->lock);
        if (closed) {
            int64_t t = now_ms();

            if (closed_at < 0)
                closed_at = t;
            if (sent == 0 && t - closed_at >= GRACE_MS) {
                kill(c->pid, SIGTERM);
                sent = 1;
            } else if (sent == 1 && t - closed_at >= 2 * GRACE_MS) {
                kill(c->pid, SIGKILL);
                sent = 2;
            }
        }
        if (pidfd >= 0) {
            struct pollfd pfd = { pidfd, POLLIN, 0 };

            (void)poll(&pfd, 1, closed ? POLL_MS : IDLE_POLL_MS);
        } else {
            struct timespec ts = { 0, POLL_MS * 1000000L };

            nanosleep(&ts, NULL);
        }
    }
    if (pidfd >= 0)
        close(pidfd);
    pthread_mutex_lock(&peer->lock);
    for (parley__child **pp = &peer->children; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    pthread_mutex_unlock(&peer->lock);
    parley__session_unref(c->session);
    pthread_mutex_lock(&peer->lock);
    peer->n_reapers--;
    pthread_cond_broadcast(&peer->cond);
    pthread_mutex_unlock(&peer->lock);
    free(c);
    return NULL;
}

void parley__spawn_reap_all(parley_peer *peer)
{
    pthread_mutex_lock(&peer->lock);
    for (parley__child *c = peer->children; c != NULL; c = c->next)
        parley__session_close_conn(c->session, PARLEY_ERR_CONNECTION_CLOSED,
                                   "the peer is shutting down");
    while (peer->n_reapers > 0)
        pthread_cond_wait(&peer->cond, &peer->lock);
    pthread_mutex_unlock(&peer->lock);
}

/* Child, after fork: only async-signal-safe calls. */
static void close_from(int lo, int except)
{
    long max;

#ifdef SYS_close_range
    if (except > lo) {
        if (syscall(SYS_close_range, (unsigned)lo, (unsigned)except - 1, 0) == 0 &&
            syscall(SYS_close_range, (unsigned)except + 1, ~0u, 0) == 0)
            return;
    } else if (syscall(SYS_close_range, (unsigned)lo, ~0u, 0) == 0) {
        return;
    }
#endif
    max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536)
        max = 65536;
    for (int fd = lo; fd < max; fd++) {
        if (fd != except)
            close(fd);
    }
}

static void child_exec(char *const argv[], char **envp, int sock, int errw)
{
    sigset_t none;
    int e, err;

    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    for (int s = 1; s < NSIG; s++) {
        if (s != SIGKILL && s != SIGSTOP)
            signal(s, SIG_DFL);
    }
    /* The error pipe moves above CHILD_FD, the socket onto it. */
    e = fcntl(errw, F_DUPFD_CLOEXEC, CHILD_FD + 8);
    if (e < 0)
        _exit(127);
    if (sock == CHILD_FD) {
        if (fcntl(sock, F_SETFD, 0) < 0)
            goto fail;
    } else if (dup2(sock, CHILD_FD) < 0) {
        goto fail;
    }
    close_from(CHILD_FD + 1, e);
    if (strchr(argv[0], '/') != NULL)
        execve(argv[0], argv, envp);
    else
        execvpe(argv[0], argv, envp);
fail:
    err = errno;
    (void)!write(e, &err, sizeof(err));
    _exit(127);
}

PARLEY_PUBLIC parley_status parley_peer_spawn(parley_peer *peer, char *const argv[],
                                              parley_session **ret_session)
{
    TALLOC_CTX *tmp = NULL;
    char **envp;
    size_t n_env = 0, k = 0;
    int sv[2] = { -1, -1 }, ep[2] = { -1, -1 };
    parley_session *session = NULL;
    parley__child *c = NULL;
    pthread_t thread;
    pthread_attr_t attr;
    pid_t pid;
    parley_status st;
    int err = 0;
    ssize_t n;

    if (peer == NULL || argv == NULL || argv[0] == NULL || ret_session == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_spawn needs a peer, a program (argv[0]) and ret_session");
    PARLEY__FORK_GUARD(peer);
    tmp = talloc_new(NULL);
    if (tmp == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory spawning %s", argv[0]);
    while (environ != NULL && environ[n_env] != NULL)
        n_env++;
    envp = talloc_array(tmp, char *, n_env + 2);
    c = calloc(1, sizeof(*c));
    if (envp == NULL || c == NULL) {
        st = parley__error(PARLEY_ERR_NOMEM, "out of memory spawning %s", argv[0]);
        goto done;
    }
    for (size_t i = 0; i < n_env; i++) {
        if (strncmp(environ[i], SPAWN_ENV "=", sizeof(SPAWN_ENV)) != 0)
            envp[k++] = environ[i];
    }
    envp[k++] = talloc_asprintf(tmp, "%s=%d", SPAWN_ENV, CHILD_FD);
    envp[k] = NULL;
    if (envp[k - 1] == NULL) {
        st = parley__error(PARLEY_ERR_NOMEM, "out of memory spawning %s", argv[0]);
        goto done;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
        pipe2(ep, O_CLOEXEC) < 0) {
        st = parley__error_errno(PARLEY_ERR_SYSTEM, errno, "spawning %s", argv[0]);
        goto done;
    }
    pid = fork();
    if (pid < 0) {
        st = parley__error_errno(PARLEY_ERR_SYSTEM, errno, "forking for %s", argv[0]);
        goto done;
    }
    if (pid == 0)
        child_exec(argv, envp, sv[1], ep[1]);
    close(sv[1]);
    sv[1] = -1;
    close(ep[1]);
    ep[1] = -1;
    do
        n = read(ep[0], &err, sizeof(err));
    while (n < 0 && errno == EINTR);
    if (n == (ssize_t)sizeof(err)) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        st = parley__error_errno(err == ENOENT ? PARLEY_ERR_NOT_FOUND : PARLEY_ERR_SYSTEM, err,
                                 "starting %s", argv[0]);
        goto done;
    }
    st = parley_peer_connect_fd(peer, sv[0], &session);
    sv[0] = -1;   /* the session's now, also on failure */
    if (st != PARLEY_OK) {
        char why[PARLEY__ERROR_MAX];

        snprintf(why, sizeof(why), "%s", parley_error_message());
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        st = parley__error(st, "the spawned %s: %s", argv[0], why);
        goto done;
    }
    c->peer = peer;
    c->session = session;
    c->pid = pid;
    c->pidfd = -1;
#ifdef SYS_pidfd_open
    /* Lets the reaper sleep until the child exits (close-on-exec). */
    c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
    parley__session_ref(session);
    pthread_mutex_lock(&peer->lock);
    c->next = peer->children;
    peer->children = c;
    peer->n_reapers++;
    pthread_mutex_unlock(&peer->lock);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (parley__thread_create(&thread, &attr, reaper, c) != 0) {
        /* No reaper thread: reap here, now. */
        pthread_attr_destroy(&attr);
        parley_session_close(session);
        kill(pid, SIGKILL);
        reaper(c);
        c = NULL;
        st = parley__error(PARLEY_ERR_SYSTEM, "no thread to reap %s", argv[0]);
        goto done;
    }
    pthread_attr_destroy(&attr);
    c = NULL;
    *ret_session = session;
    st = PARLEY_OK;
done:
    free(c);
    for (int i = 0; i < 2; i++) {
        if (sv[i] >= 0)
            close(sv[i]);
        if (ep[i] >= 0)
            close(ep[i]);
    }
    talloc_free(tmp);
    return st;
}

PARLEY_PUBLIC parley_status parley_peer_serve_spawned(parley_peer *peer, int argc, char **argv,
                                                      int *ret_exit_status)
{
    const char *v = getenv(SPAWN_ENV);
    char *end = NULL;
    long fd;
    parley_status st;

    (void)argc;
    (void)argv;
    if (peer == NULL || ret_exit_status == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_serve_spawned needs a peer and ret_exit_status");
    if (v == NULL)
        return parley__error(PARLEY_ERR_INVALID_STATE,
                             "not started by parley_peer_spawn (%s is not set)", SPAWN_ENV);
    errno = 0;
    fd = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || fd < 0 || fd > INT_MAX ||
        fcntl((int)fd, F_GETFD) < 0)
        return parley__error(PARLEY_ERR_INVALID_STATE, "%s=%s is not an open descriptor",
                             SPAWN_ENV, v);
    (void)unsetenv(SPAWN_ENV);   /* not inherited by what this child starts */
    (void)fcntl((int)fd, F_SETFD, FD_CLOEXEC);
    st = parley_peer_accept_fd(peer, (int)fd);
    if (st != PARLEY_OK)
        return st;
    pthread_mutex_lock(&peer->lock);
    while (peer->n_incoming > 0)
        pthread_cond_wait(&peer->cond, &peer->lock);
    pthread_mutex_unlock(&peer->lock);
    *ret_exit_status = 0;
    return PARLEY_OK;
}
