/* SPDX-License-Identifier: MIT */
/* Spawned children: parley_peer_spawn() and parley_peer_spawn_child() start
 * a program with posix_spawn on a socketpair, record the child's identity
 * as the session's credentials, reap it and deliver its exit status;
 * parley_peer_serve_spawned() is the child's side. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
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

#if defined(__GLIBC__) && defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 34)
#define HAVE_SPAWN_CLOSEFROM 1
#endif
#endif

/* One spawned child, on peer->children (under peer->lock) from the spawn
 * until it is reaped, or, when waitable, until parley_peer_wait_child()
 * collects its status (or the peer is freed). */
typedef struct parley__child {
    struct parley__child *next;
    parley_peer *peer;
    parley_session *session;   /* a reference held until reaped, then NULL */
    pid_t pid;
    int pidfd;                 /* readable once the child exits; -1: none */
    bool waitable;             /* parley_peer_wait_child() may collect it */
    bool exited;               /* under peer->lock */
    int wait_status;           /* once exited: waitpid()'s status, or -1 */
    parley_child_exit_fn on_exit;
    void *on_exit_data;
} parley__child;

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void unlink_child_locked(parley_peer *peer, parley__child *c)
{
    for (parley__child **pp = &peer->children; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            c->next = NULL;
            return;
        }
    }
}

/* On the I/O thread: the application's exit callback, then the record goes. */
static void exit_task(void *p)
{
    parley__child *c = p;

    c->on_exit(c->peer, c->pid, c->wait_status, c->on_exit_data);
    free(c);
}

static void *reaper(void *p)
{
    parley__child *c = p;
    parley_peer *peer = c->peer;
    int64_t closed_at = -1;
    int sent = 0;
    int pidfd = c->pidfd;
    int ws = -1;
    bool keep, callback;
    parley_session *session;

    for (;;) {
        int status;
        pid_t r = waitpid(c->pid, &status, WNOHANG);
        bool closed;

        if (r == c->pid) {
            ws = status;
            break;
        }
        if (r < 0 && errno != EINTR)
            break;      /* reaped by the application (ECHILD): status unknown */
        /* Connected when it was recorded: not connected now is closed. */
        closed = !parley_session_is_connected(c->session);
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
    c->pidfd = -1;
    /* Off the list's view first, then the reference goes: the peer's end
     * (parley__spawn_reap_all()) closes the sessions it finds on the list
     * under peer->lock, and must not find one this unref may have freed. */
    pthread_mutex_lock(&peer->lock);
    session = c->session;
    c->session = NULL;
    pthread_mutex_unlock(&peer->lock);
    parley__session_unref(session);
    pthread_mutex_lock(&peer->lock);
    c->exited = true;
    c->wait_status = ws;
    keep = c->waitable;
    callback = c->on_exit != NULL;
    if (!keep)
        unlink_child_locked(peer, c);
    pthread_mutex_unlock(&peer->lock);
    /* Posted before the count drops: the peer's destructor waits for the
     * count, then stops the loop, which runs what is posted. */
    if (callback && parley__loop_post(peer->loop, exit_task, c) != PARLEY_OK)
        exit_task(c);   /* out of memory: on this thread rather than never */
    pthread_mutex_lock(&peer->lock);
    peer->n_reapers--;
    pthread_cond_broadcast(&peer->cond);
    pthread_mutex_unlock(&peer->lock);
    if (!keep && !callback)
        free(c);
    return NULL;
}

void parley__spawn_reap_all(parley_peer *peer)
{
    pthread_mutex_lock(&peer->lock);
    for (parley__child *c = peer->children; c != NULL; c = c->next) {
        if (c->session != NULL)
            parley__session_close_conn(c->session, PARLEY_ERR_CONNECTION_CLOSED,
                                       "the peer is shutting down");
    }
    while (peer->n_reapers > 0)
        pthread_cond_wait(&peer->cond, &peer->lock);
    /* What is left: exited children nobody waited for. */
    while (peer->children != NULL) {
        parley__child *c = peer->children;

        peer->children = c->next;
        free(c);
    }
    pthread_mutex_unlock(&peer->lock);
}

/* The child's effective uid and gid: those of this process, unless the
 * program is set-user-ID or set-group-ID (then /proc says). */
static void child_ids(pid_t pid, uint32_t *ret_uid, uint32_t *ret_gid)
{
    char path[64], line[256];
    FILE *f;

    *ret_uid = (uint32_t)geteuid();
    *ret_gid = (uint32_t)getegid();
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "re");
    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL) {
        unsigned v;

        if (sscanf(line, "Uid: %*u %u", &v) == 1)
            *ret_uid = v;
        else if (sscanf(line, "Gid: %*u %u", &v) == 1)
            *ret_gid = v;
    }
    fclose(f);
}

/* Whether the program exists (a path, or a name found in PATH): posix_spawn
 * reports the exec's ENOENT itself with glibc >= 2.24, but not where the
 * child does not share the parent's memory (an older C library, valgrind),
 * and the caller must get NOT_FOUND either way. */
static bool program_exists(const char *name)
{
    const char *path, *p;

    if (strchr(name, '/') != NULL)
        return access(name, F_OK) == 0;
    path = getenv("PATH");
    if (path == NULL)
        path = "/bin:/usr/bin";
    for (p = path;; p++) {
        const char *end = strchr(p, ':');
        size_t dlen = end != NULL ? (size_t)(end - p) : strlen(p);
        char full[PATH_MAX];
        int n = snprintf(full, sizeof(full), "%.*s%s%s", (int)dlen, p, dlen > 0 ? "/" : "",
                         name);

        if (n > 0 && (size_t)n < sizeof(full) && access(full, X_OK) == 0)
            return true;
        if (end == NULL)
            return false;
        p = end;
    }
}

/* posix_spawn the program with sock as CHILD_FD, nothing else above 2, an
 * empty signal mask and every signal at its default action.  sock is not
 * CHILD_FD itself (a dup2 onto itself would keep close-on-exec). */
static parley_status start_child(char *const argv[], char **envp, int sock, pid_t *ret_pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;
    pid_t pid = -1;
    int rc;

    if (!program_exists(argv[0]))
        return parley__error_errno(PARLEY_ERR_NOT_FOUND, ENOENT, "starting %s", argv[0]);
    rc = posix_spawn_file_actions_init(&fa);
    if (rc != 0)
        return parley__error_errno(PARLEY_ERR_NOMEM, rc, "spawning %s", argv[0]);
    rc = posix_spawnattr_init(&attr);
    if (rc != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return parley__error_errno(PARLEY_ERR_NOMEM, rc, "spawning %s", argv[0]);
    }
    sigemptyset(&none);
    sigfillset(&all);
    rc = posix_spawnattr_setsigmask(&attr, &none);
    if (rc == 0)
        rc = posix_spawnattr_setsigdefault(&attr, &all);
    if (rc == 0)
        rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&fa, sock, CHILD_FD);
#ifdef HAVE_SPAWN_CLOSEFROM
    if (rc == 0)
        rc = posix_spawn_file_actions_addclosefrom_np(&fa, CHILD_FD + 1);
#endif
    if (rc == 0) {
        if (strchr(argv[0], '/') != NULL)
            rc = posix_spawn(&pid, argv[0], &fa, &attr, argv, envp);
        else
            rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv, envp);
    }
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return parley__error_errno(rc == ENOENT ? PARLEY_ERR_NOT_FOUND : PARLEY_ERR_SYSTEM, rc,
                                   "starting %s", argv[0]);
    *ret_pid = pid;
    return PARLEY_OK;
}

static parley_status spawn(parley_peer *peer, char *const argv[], bool waitable,
                           parley_child_exit_fn on_exit, void *data,
                           parley_session **ret_session, pid_t *ret_pid)
{
    TALLOC_CTX *tmp = NULL;
    char **envp;
    size_t n_env = 0, k = 0;
    int sv[2] = { -1, -1 };
    parley_session *session = NULL;
    parley__child *c = NULL;
    pthread_t thread;
    pthread_attr_t attr;
    pid_t pid = -1;
    parley_status st;

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
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        st = parley__error_errno(PARLEY_ERR_SYSTEM, errno, "spawning %s", argv[0]);
        goto done;
    }
    if (sv[1] == CHILD_FD) {
        int moved = fcntl(sv[1], F_DUPFD_CLOEXEC, CHILD_FD + 1);

        if (moved < 0) {
            st = parley__error_errno(PARLEY_ERR_SYSTEM, errno, "spawning %s", argv[0]);
            goto done;
        }
        close(sv[1]);
        sv[1] = moved;
    }
    st = start_child(argv, envp, sv[1], &pid);
    if (st != PARLEY_OK)
        goto done;
    close(sv[1]);
    sv[1] = -1;
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
    /* SO_PEERCRED on a socketpair names its creator, this process: the
     * session's credentials are the child's instead. */
    {
        uint32_t uid, gid;

        child_ids(pid, &uid, &gid);
        pthread_mutex_lock(&session->lock);
        session->creds.pid = (int32_t)pid;
        session->creds.uid = uid;
        session->creds.gid = gid;
        session->have_creds = true;
        pthread_mutex_unlock(&session->lock);
    }
    c->peer = peer;
    c->session = session;
    c->pid = pid;
    c->pidfd = -1;
    c->waitable = waitable;
    c->wait_status = -1;
    c->on_exit = on_exit;
    c->on_exit_data = data;
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
        /* No reaper thread: reap here, now (no callback: the call fails). */
        pthread_attr_destroy(&attr);
        c->on_exit = NULL;
        c->waitable = false;
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
    if (ret_pid != NULL)
        *ret_pid = pid;
    st = PARLEY_OK;
done:
    free(c);
    for (int i = 0; i < 2; i++) {
        if (sv[i] >= 0)
            close(sv[i]);
    }
    talloc_free(tmp);
    return st;
}

PARLEY_PUBLIC parley_status parley_peer_spawn(parley_peer *peer, char *const argv[],
                                              parley_session **ret_session)
{
    if (peer == NULL || argv == NULL || argv[0] == NULL || ret_session == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_spawn needs a peer, a program (argv[0]) and ret_session");
    PARLEY__FORK_GUARD(peer);
    return spawn(peer, argv, false, NULL, NULL, ret_session, NULL);
}

PARLEY_PUBLIC parley_status parley_peer_spawn_child(parley_peer *peer, char *const argv[],
                                                    parley_child_exit_fn on_exit, void *data,
                                                    parley_session **ret_session, pid_t *ret_pid)
{
    if (peer == NULL || argv == NULL || argv[0] == NULL || ret_session == NULL ||
        ret_pid == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_spawn_child needs a peer, a program (argv[0]), "
                             "ret_session and ret_pid");
    PARLEY__FORK_GUARD(peer);
    return spawn(peer, argv, on_exit == NULL, on_exit, data, ret_session, ret_pid);
}

PARLEY_PUBLIC parley_status parley_peer_wait_child(parley_peer *peer, pid_t pid, int timeout_ms,
                                                   int *ret_wait_status)
{
    parley__child *c;
    struct timespec deadline;
    parley_status st = PARLEY_OK;
    bool timed_out = false;

    if (peer == NULL || ret_wait_status == NULL || pid <= 0 || timeout_ms < -1)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_wait_child needs a peer, a pid > 0, a timeout "
                             "(ms, -1 for none) and ret_wait_status");
    PARLEY__FORK_GUARD(peer);
    clock_gettime(CLOCK_REALTIME, &deadline);
    if (timeout_ms > 0) {
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&peer->lock);
    for (;;) {
        /* Looked up on each pass: another waiter may have collected it. */
        for (c = peer->children; c != NULL; c = c->next) {
            if (c->pid == pid && c->waitable)
                break;
        }
        if (c == NULL) {
            st = parley__error(PARLEY_ERR_NOT_FOUND,
                               "process %d is no child of this peer started by "
                               "parley_peer_spawn_child() without an exit callback, "
                               "or it was waited for already", (int)pid);
            break;
        }
        if (c->exited) {
            unlink_child_locked(peer, c);
            *ret_wait_status = c->wait_status;
            free(c);
            break;
        }
        if (timed_out) {
            st = parley__error(PARLEY_ERR_TIMEOUT, "process %d has not exited within %d ms",
                               (int)pid, timeout_ms);
            break;
        }
        if (timeout_ms < 0)
            pthread_cond_wait(&peer->cond, &peer->lock);
        else if (timeout_ms == 0 ||
                 pthread_cond_timedwait(&peer->cond, &peer->lock, &deadline) == ETIMEDOUT)
            timed_out = true;   /* one more look first */
    }
    pthread_mutex_unlock(&peer->lock);
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
