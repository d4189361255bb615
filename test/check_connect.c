/* SPDX-License-Identifier: MIT */
/* Runtime, connection control: listening descriptors passed in and the
 * systemd way (LISTEN_FDS in a forked child), connecting to given
 * endpoints (many, from several threads), dispatch tables and listen
 * endpoints added after start, socket options read back with getsockopt,
 * the close function with each reason on both ends, session data on
 * outgoing sessions, the dispatch-data getters. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>

#include "frame.h"
#include "handshake.h"
#include "server_proc.h"
#include "suites.h"
#include "test_proto.h"

/* ---- helpers ---- */

static int add_data = 17;   /* the ADD table's dispatch data */

/* ADD: a + b, checking its dispatch data through both getters. */
static parley_status h_add(parley_call *call, const void *in, void *out, void *data)
{
    const tp_pair *p = in;
    void *d = NULL;
    parley_session *session = parley_call_get_session(call);
    (void)session;

    if (data != &add_data || parley_call_get_dispatch_data(call) != &add_data)
        return PARLEY_ERR_INTERNAL;
    ((tp_int *)out)->v = p->a + p->b;
    (void)d;
    return PARLEY_OK;
}

static const parley_dispatch add_table[] = { { TP_ADD, h_add, PARLEY_NONBLOCKING } };

static parley_peer *server_new(TALLOC_CTX *mem)
{
    parley_peer *peer;

    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_dispatch(peer, add_table, 1, &add_data), PARLEY_OK);
    return peer;
}

static parley_status call_add(parley_session *session, int a, int b, int *ret)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_call *call;
    tp_pair pair = { a, b };
    tp_int *rep = NULL;
    parley_status st;

    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    st = parley_call_dispatch(call, TP_ADD, &pair, mem, &rep, NULL, NULL);
    if (st == PARLEY_OK)
        *ret = rep->v;
    parley_call_release(call);
    talloc_free(mem);
    return st;
}

static void expect_add(parley_session *session)
{
    int v = 0;

    ck_assert_msg(call_add(session, 40, 2, &v) == PARLEY_OK, "ADD: %s", parley_error_message());
    ck_assert_int_eq(v, 42);
}

static int unix_listener(const char *path)
{
    struct sockaddr_un sun;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    ck_assert_int_ge(fd, 0);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    ck_assert_int_eq(listen(fd, 16), 0);
    return fd;
}

static int tcp_listener(void)
{
    struct sockaddr_in sin;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    ck_assert_int_ge(fd, 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    ck_assert_int_eq(listen(fd, 16), 0);
    return fd;
}

/* ---- listening descriptors ---- */

START_TEST(test_listen_fd)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const char *dir = tp_tmpdir();
    char path[300], *name = NULL;
    parley_peer *server, *client;
    parley_session *s1, *s2;
    struct stat sb;
    int ufd, tfd;

    ck_assert_ptr_nonnull(dir);
    snprintf(path, sizeof(path), "%s/passed.sock", dir);
    ufd = unix_listener(path);
    tfd = tcp_listener();
    server = server_new(mem);
    ck_assert_int_eq(parley_peer_add_listen_fd(server, ufd), PARLEY_OK);
    ck_assert_int_eq(parley_peer_start_listen(server), PARLEY_OK);
    /* Added while listening: served at once. */
    ck_assert_int_eq(parley_peer_add_listen_fd(server, tfd), PARLEY_OK);
    ck_assert_int_eq(fcntl(ufd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    ck_assert_int_eq(parley_peer_get_listen_endpoint(server, 0, mem, &name), PARLEY_OK);
    ck_assert_str_eq(name + 5, path);
    ck_assert_int_eq(parley_peer_get_listen_endpoint(server, 1, mem, &name), PARLEY_OK);
    ck_assert_msg(strncmp(name, "tcp:127.0.0.1:", 14) == 0, "named %s", name);

    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &client), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect_endpoint(client, name, &s2), PARLEY_OK);
    ck_assert_int_eq(parley_peer_get_listen_endpoint(server, 0, mem, &name), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect_endpoint(client, name, &s1), PARLEY_OK);
    expect_add(s1);
    expect_add(s2);
    parley_session_close(s1);
    parley_session_close(s2);
    ck_assert_int_eq(parley_peer_stop_listen(server), PARLEY_OK);
    /* A socket file passed in is not the peer's to remove. */
    ck_assert_int_eq(stat(path, &sb), 0);
    /* Closed by stop_listen, not reopened. */
    ck_assert_int_eq(fcntl(ufd, F_GETFD), -1);
    talloc_free(mem);
    tp_tmpdir_remove(dir);
}
END_TEST

START_TEST(test_listen_fd_refused)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *server = server_new(mem);
    int unbound = socket(AF_INET, SOCK_STREAM, 0);
    int dgram = socket(AF_UNIX, SOCK_DGRAM, 0);
    int pipefd[2];

    ck_assert_int_eq(pipe(pipefd), 0);
    ck_assert_int_eq(parley_peer_add_listen_fd(server, unbound), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "not listening"));
    ck_assert_int_eq(parley_peer_add_listen_fd(server, dgram), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "not a stream socket"));
    ck_assert_int_eq(parley_peer_add_listen_fd(server, pipefd[0]), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "not a socket"));
    ck_assert_int_eq(parley_peer_add_listen_fd(server, -1), PARLEY_ERR_INVALID_ARGUMENT);
    /* Refused descriptors stay the caller's. */
    ck_assert_int_ge(fcntl(unbound, F_GETFD), 0);
    ck_assert_int_ge(fcntl(dgram, F_GETFD), 0);
    ck_assert_int_eq(parley_peer_start_listen(server), PARLEY_ERR_INVALID_STATE);
    close(unbound);
    close(dgram);
    close(pipefd[0]);
    close(pipefd[1]);
    talloc_free(mem);
}
END_TEST

/* In a forked child: listening sockets at 3 and 4 as systemd passes them.
 * Returns the exit code: 0 when every check held. */
static int systemd_child(const char *dir, const char *which)
{
    char p1[300], p2[300], pid[32];
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *server, *client;
    parley_session *s;
    size_t n = 99;
    int a, b, v = 0;

    snprintf(p1, sizeof(p1), "%s/%s-a.sock", dir, which);
    snprintf(p2, sizeof(p2), "%s/%s-b.sock", dir, which);
    /* Moved up first: one of them may be 3 or 4 already. */
    a = fcntl(unix_listener(p1), F_DUPFD, 100);
    b = fcntl(unix_listener(p2), F_DUPFD, 100);
    if (a < 0 || b < 0 || dup2(a, 3) != 3 || dup2(b, 4) != 4)
        return 10;
    close(a);
    close(b);
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    setenv("LISTEN_FDS", "2", 1);
    setenv("LISTEN_FDNAMES", "api:admin", 1);
    if (strcmp(which, "other") == 0) {
        /* Meant for another process: nothing taken, nothing unset. */
        setenv("LISTEN_PID", "1", 1);
        if (parley_peer_new(mem, tp_protocol(TP_V1), &server) != PARLEY_OK ||
            parley_peer_add_systemd_listen_fds(server, NULL, &n) != PARLEY_OK || n != 0 ||
            getenv("LISTEN_FDS") == NULL)
            return 11;
        talloc_free(mem);   /* (valgrind checks the child's leaks at its exit) */
        return 0;
    }
    setenv("LISTEN_PID", pid, 1);
    if (parley_peer_new(mem, tp_protocol(TP_V1), &server) != PARLEY_OK ||
        parley_peer_add_dispatch(server, add_table, 1, &add_data) != PARLEY_OK)
        return 12;
    if (strcmp(which, "named") == 0) {
        if (parley_peer_add_systemd_listen_fds(server, "admin", &n) != PARLEY_OK || n != 1)
            return 13;
        if (getenv("LISTEN_FDS") == NULL)
            return 14;   /* left for others */
        if (fcntl(3, F_GETFD) < 0 || (fcntl(4, F_GETFD) & FD_CLOEXEC) == 0)
            return 15;   /* 3 not taken; 4 taken and made close-on-exec */
    } else {
        if (parley_peer_add_systemd_listen_fds(server, NULL, &n) != PARLEY_OK || n != 2)
            return 16;
        if (getenv("LISTEN_FDS") != NULL || getenv("LISTEN_PID") != NULL ||
            getenv("LISTEN_FDNAMES") != NULL)
            return 17;
    }
    if (parley_peer_start_listen(server) != PARLEY_OK)
        return 18;
    if (parley_peer_new(mem, tp_protocol(TP_V1), &client) != PARLEY_OK)
        return 19;
    {
        char ep[310];

        snprintf(ep, sizeof(ep), "unix:%s", p2);
        if (parley_peer_connect_endpoint(client, ep, &s) != PARLEY_OK ||
            call_add(s, 1, 2, &v) != PARLEY_OK || v != 3)
            return 20;
        parley_session_close(s);
        if (strcmp(which, "all") == 0) {
            snprintf(ep, sizeof(ep), "unix:%s", p1);
            if (parley_peer_connect_endpoint(client, ep, &s) != PARLEY_OK ||
                call_add(s, 2, 2, &v) != PARLEY_OK || v != 4)
                return 21;
            parley_session_close(s);
        }
    }
    talloc_free(mem);
    return 0;
}

static void run_systemd_child(const char *which)
{
    const char *dir = tp_tmpdir();
    int status = 0;
    pid_t pid;

    ck_assert_ptr_nonnull(dir);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(systemd_child(dir, which));
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child (%s) exit status %d",
                  which, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    tp_tmpdir_remove(dir);
}

START_TEST(test_systemd_all)
{
    run_systemd_child("all");
}
END_TEST

START_TEST(test_systemd_named)
{
    run_systemd_child("named");
}
END_TEST

START_TEST(test_systemd_other_pid)
{
    run_systemd_child("other");
}
END_TEST

START_TEST(test_systemd_malformed)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *server = server_new(mem);
    char pid[32];
    size_t n = 5;

    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    setenv("LISTEN_PID", pid, 1);
    setenv("LISTEN_FDS", "two", 1);
    ck_assert_int_eq(parley_peer_add_systemd_listen_fds(server, NULL, &n),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "LISTEN_FDS"));
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    ck_assert_int_eq(parley_peer_add_systemd_listen_fds(server, NULL, &n), PARLEY_OK);
    ck_assert_uint_eq(n, 0);
    talloc_free(mem);
}
END_TEST

/* ---- connecting to given endpoints ---- */

typedef struct connect_job {
    parley_peer *client;
    const char *endpoints[3];
    int ok;
} connect_job;

static void *connect_thread(void *p)
{
    connect_job *job = p;

    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 3; i++) {
            parley_session *s;
            int v = 0;

            if (parley_peer_connect_endpoint(job->client, job->endpoints[i], &s) != PARLEY_OK)
                return NULL;
            if (call_add(s, i, round, &v) != PARLEY_OK || v != i + round)
                return NULL;
            parley_session_close(s);
        }
    }
    job->ok = 1;
    return NULL;
}

START_TEST(test_connect_many)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const char *dir = tp_tmpdir();
    char ep[300], abstract[64];
    char *eps[3];
    parley_peer *server, *client;
    connect_job jobs[4];
    pthread_t th[4];

    ck_assert_ptr_nonnull(dir);
    snprintf(ep, sizeof(ep), "unix:%s/many.sock", dir);
    snprintf(abstract, sizeof(abstract), "unix:@parley-connect-%d", (int)getpid());
    server = server_new(mem);
    ck_assert_int_eq(parley_peer_add_listen_endpoint(server, ep, 0), PARLEY_OK);
    ck_assert_int_eq(parley_peer_start_listen(server), PARLEY_OK);
    /* Added while listening. */
    ck_assert_int_eq(parley_peer_add_listen_endpoint(server, "tcp:127.0.0.1:0", 0), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_listen_endpoint(server, abstract, 0), PARLEY_OK);
    /* The same path again: refused now, not at some later start. */
    ck_assert_int_eq(parley_peer_add_listen_endpoint(server, ep, 0), PARLEY_ERR_INVALID_STATE);
    for (size_t i = 0; i < 3; i++)
        ck_assert_int_eq(parley_peer_get_listen_endpoint(server, i, mem, &eps[i]), PARLEY_OK);
    ck_assert_int_eq(parley_peer_get_listen_endpoint(server, 3, mem, &eps[0]),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &client), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect_endpoint(client, "bogus:x", (parley_session **)eps),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_connect_endpoint(client, "unix:/nonexistent/x.sock",
                                                  (parley_session **)eps),
                     PARLEY_ERR_CONNECTION_REFUSED);
    for (int t = 0; t < 4; t++) {
        jobs[t].client = client;
        jobs[t].ok = 0;
        for (int i = 0; i < 3; i++)
            jobs[t].endpoints[i] = eps[i];
        ck_assert_int_eq(pthread_create(&th[t], NULL, connect_thread, &jobs[t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        ck_assert_msg(jobs[t].ok, "thread %d failed: %s", t, parley_error_message());
    }
    talloc_free(mem);
    tp_tmpdir_remove(dir);
}
END_TEST

/* ---- dispatch tables added after start ---- */

static int echo_data = 5;

static parley_status h_echo(parley_call *call, const void *in, void *out, void *data)
{
    const tp_echo *req = in;
    tp_echo *rep = out;

    if (data != &echo_data || parley_call_get_dispatch_data(call) != &echo_data)
        return PARLEY_ERR_INTERNAL;
    rep->text = talloc_strdup(out, req->text);
    rep->data.len = 0;
    rep->data.data = NULL;
    return PARLEY_OK;
}

typedef struct adder_job {
    parley_session *session;
    atomic_int stop;
    int bad;
} adder_job;

static void *adder_thread(void *p)
{
    adder_job *job = p;

    while (!atomic_load(&job->stop)) {
        int v = 0;

        if (call_add(job->session, 1, 1, &v) != PARLEY_OK || v != 2)
            job->bad++;
    }
    return NULL;
}

START_TEST(test_dispatch_after_start)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    static const parley_dispatch echo_table[] = { { TP_ECHO, h_echo, PARLEY_BLOCKING } };
    parley_peer *server, *client;
    parley_session *s;
    parley_call *call;
    tp_echo req = { (char *)"late", { 0, NULL } }, *rep = NULL;
    adder_job job = { NULL, 0, 0 };
    pthread_t th;
    void *d = NULL;
    int sv[2];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    server = server_new(mem);
    ck_assert_int_eq(parley_peer_accept_fd(server, sv[1]), PARLEY_OK);
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &client), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect_fd(client, sv[0], &s), PARLEY_OK);
    job.session = s;
    ck_assert_int_eq(pthread_create(&th, NULL, adder_thread, &job), 0);

    ck_assert_int_eq(parley_peer_get_dispatch_data(server, TP_ECHO, &d), PARLEY_ERR_NOT_FOUND);
    ck_assert_int_eq(parley_session_acquire_call(s, &call), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(call, TP_ECHO, &req, mem, &rep, NULL, NULL),
                     PARLEY_ERR_NOT_FOUND);
    /* Added while ADD calls run on another thread. */
    ck_assert_int_eq(parley_peer_add_dispatch(server, echo_table, 1, &echo_data), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_dispatch(server, echo_table, 1, &echo_data),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_call_dispatch(call, TP_ECHO, &req, mem, &rep, NULL, NULL), PARLEY_OK);
    ck_assert_str_eq(rep->text, "late");
    parley_call_release(call);
    ck_assert_int_eq(parley_peer_get_dispatch_data(server, TP_ECHO, &d), PARLEY_OK);
    ck_assert_ptr_eq(d, &echo_data);
    ck_assert_int_eq(parley_peer_get_dispatch_data(server, TP_ADD, &d), PARLEY_OK);
    ck_assert_ptr_eq(d, &add_data);
    ck_assert_int_eq(parley_peer_get_dispatch_data(server, 999, &d), PARLEY_ERR_NOT_FOUND);
    ck_assert_int_eq(parley_peer_get_dispatch_data(NULL, TP_ADD, &d),
                     PARLEY_ERR_INVALID_ARGUMENT);
    atomic_store(&job.stop, 1);
    pthread_join(th, NULL);
    ck_assert_int_eq(job.bad, 0);
    parley_session_close(s);
    talloc_free(mem);
}
END_TEST

/* ---- socket options ---- */

static int int_opt(int fd, int level, int name)
{
    int v = -1;
    socklen_t l = sizeof(v);

    ck_assert_int_eq(getsockopt(fd, level, name, &v, &l), 0);
    return v;
}

/* The connected TCP socket of this process whose local (or, with peer,
 * remote) port is port; -1 if none. */
static int find_tcp(uint16_t port, bool peer_side)
{
    for (int fd = 3; fd < 4096; fd++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int r;

        if (fcntl(fd, F_GETFD) < 0)
            continue;
        r = peer_side ? getpeername(fd, (struct sockaddr *)&ss, &sl)
                      : getsockname(fd, (struct sockaddr *)&ss, &sl);
        if (r != 0 || ss.ss_family != AF_INET)
            continue;
        if (int_opt(fd, SOL_SOCKET, SO_ACCEPTCONN))
            continue;
        if (ntohs(((struct sockaddr_in *)&ss)->sin_port) == port)
            return fd;
    }
    return -1;
}

START_TEST(test_socket_options)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *server, *client;
    parley_socket_options so, co, bad;
    parley_session *s;
    char *name;
    int sfd, cfd;
    unsigned port;

    server = server_new(mem);
    parley_socket_options_init(&so);
    ck_assert_int_eq(so.nodelay, 1);
    so.keepalive = 1;
    so.keepalive_idle_s = 33;
    so.keepalive_interval_s = 7;
    so.keepalive_count = 4;
    so.user_timeout_ms = 9000;
    so.receive_buffer = 65536;
    ck_assert_int_eq(parley_peer_set_socket_options(server, &so), PARLEY_OK);
    parley_socket_options_init(&co);
    co.nodelay = 0;
    co.send_buffer = 32768;
    ck_assert_int_eq(parley_peer_add_listen_endpoint(server, "tcp:127.0.0.1:0", 0), PARLEY_OK);
    ck_assert_int_eq(parley_peer_start_listen(server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_get_listen_endpoint(server, 0, mem, &name), PARLEY_OK);
    ck_assert_int_eq(sscanf(name, "tcp:127.0.0.1:%u", &port), 1);

    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &client), PARLEY_OK);
    /* Defaults first: TCP_NODELAY on, no keepalive. */
    ck_assert_int_eq(parley_peer_connect_endpoint(client, name, &s), PARLEY_OK);
    expect_add(s);
    cfd = find_tcp((uint16_t)port, true);
    ck_assert_int_ge(cfd, 0);
    ck_assert_int_eq(int_opt(cfd, IPPROTO_TCP, TCP_NODELAY), 1);
    ck_assert_int_eq(int_opt(cfd, SOL_SOCKET, SO_KEEPALIVE), 0);
    sfd = find_tcp((uint16_t)port, false);
    ck_assert_int_ge(sfd, 0);
    ck_assert_int_eq(int_opt(sfd, SOL_SOCKET, SO_KEEPALIVE), 1);
    ck_assert_int_eq(int_opt(sfd, IPPROTO_TCP, TCP_KEEPIDLE), 33);
    ck_assert_int_eq(int_opt(sfd, IPPROTO_TCP, TCP_KEEPINTVL), 7);
    ck_assert_int_eq(int_opt(sfd, IPPROTO_TCP, TCP_KEEPCNT), 4);
    ck_assert_int_eq(int_opt(sfd, IPPROTO_TCP, TCP_USER_TIMEOUT), 9000);
    ck_assert_int_eq(int_opt(sfd, IPPROTO_TCP, TCP_NODELAY), 1);
    ck_assert_int_eq(int_opt(sfd, SOL_SOCKET, SO_RCVBUF), 2 * 65536);   /* the kernel doubles it */
    parley_session_close(s);

    ck_assert_int_eq(parley_peer_set_socket_options(client, &co), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect_endpoint(client, name, &s), PARLEY_OK);
    expect_add(s);
    /* The closed session's socket may still be around: take the newest. */
    cfd = -1;
    for (int fd = 4095; fd >= 3 && cfd < 0; fd--) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);

        if (fcntl(fd, F_GETFD) >= 0 && getpeername(fd, (struct sockaddr *)&ss, &sl) == 0 &&
            ss.ss_family == AF_INET && ntohs(((struct sockaddr_in *)&ss)->sin_port) == port &&
            int_opt(fd, IPPROTO_TCP, TCP_NODELAY) == 0)
            cfd = fd;
    }
    ck_assert_msg(cfd >= 0, "no client socket with TCP_NODELAY off");
    ck_assert_int_eq(int_opt(cfd, SOL_SOCKET, SO_SNDBUF), 2 * 32768);
    parley_session_close(s);

    /* Bad options, named. */
    bad = so;
    bad.size = 0;
    ck_assert_int_eq(parley_peer_set_socket_options(server, &bad), PARLEY_ERR_INVALID_ARGUMENT);
    bad = so;
    bad.keepalive_count = 500;
    ck_assert_int_eq(parley_peer_set_socket_options(server, &bad), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "keepalive_count"));
    bad = so;
    bad.send_buffer = -1;
    ck_assert_int_eq(parley_peer_set_socket_options(server, &bad), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_set_socket_options(server, NULL), PARLEY_ERR_INVALID_ARGUMENT);
    /* An older, smaller struct: the fields it lacks keep their defaults. */
    bad = so;
    bad.size = offsetof(parley_socket_options, keepalive);
    ck_assert_int_eq(parley_peer_set_socket_options(server, &bad), PARLEY_OK);
    talloc_free(mem);
}
END_TEST

START_TEST(test_socket_options_per_endpoint)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *server, *client;
    parley_socket_options peer_opts, ep_opts, conn_opts, bad;
    parley_session *s;
    char *name;
    int sfd, cfd;
    unsigned port;

    server = server_new(mem);
    parley_socket_options_init(&peer_opts);
    peer_opts.keepalive = 1;
    ck_assert_int_eq(parley_peer_set_socket_options(server, &peer_opts), PARLEY_OK);
    /* This endpoint's options replace the peer's: no keepalive, no nodelay. */
    parley_socket_options_init(&ep_opts);
    ep_opts.nodelay = 0;
    ck_assert_int_eq(parley_peer_add_listen_endpoint_with_options(server, "tcp:127.0.0.1:0", 0,
                                                                  &ep_opts), PARLEY_OK);
    bad = ep_opts;
    bad.keepalive = 7;
    ck_assert_int_eq(parley_peer_add_listen_endpoint_with_options(server, "tcp:127.0.0.1:0", 0,
                                                                  &bad),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_start_listen(server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_get_listen_endpoint(server, 0, mem, &name), PARLEY_OK);
    ck_assert_int_eq(parley_peer_get_listen_endpoint(server, 1, mem, &name),
                     PARLEY_ERR_INVALID_ARGUMENT);   /* the bad one was not added */
    ck_assert_int_eq(parley_peer_get_listen_endpoint(server, 0, mem, &name), PARLEY_OK);
    ck_assert_int_eq(sscanf(name, "tcp:127.0.0.1:%u", &port), 1);

    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &client), PARLEY_OK);
    parley_socket_options_init(&conn_opts);
    conn_opts.keepalive = 1;
    conn_opts.keepalive_idle_s = 44;
    ck_assert_int_eq(parley_peer_connect_endpoint_with_options(client, name, &bad, &s),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_connect_endpoint_with_options(client, name, &conn_opts, &s),
                     PARLEY_OK);
    expect_add(s);
    cfd = find_tcp((uint16_t)port, true);
    ck_assert_int_ge(cfd, 0);
    ck_assert_int_eq(int_opt(cfd, SOL_SOCKET, SO_KEEPALIVE), 1);
    ck_assert_int_eq(int_opt(cfd, IPPROTO_TCP, TCP_KEEPIDLE), 44);
    ck_assert_int_eq(int_opt(cfd, IPPROTO_TCP, TCP_NODELAY), 1);
    sfd = find_tcp((uint16_t)port, false);
    ck_assert_int_ge(sfd, 0);
    ck_assert_int_eq(int_opt(sfd, SOL_SOCKET, SO_KEEPALIVE), 0);
    ck_assert_int_eq(int_opt(sfd, IPPROTO_TCP, TCP_NODELAY), 0);
    parley_session_close(s);
    talloc_free(mem);
}
END_TEST

/* ---- close notifications ---- */

#define MAX_SEEN 16

typedef struct seen_close {
    parley_session *session;
    parley_close_reason reason;
    parley_status status;
    char message[256];
    void *data;          /* the session's data during the call */
} seen_close;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    seen_close seen[MAX_SEEN];
    int n;
} closes = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, { { 0 } }, 0 };

static atomic_int n_freed;
static void *last_freed;

static void on_close(parley_session *session, parley_close_reason reason, parley_status status,
                     const char *message, void *data)
{
    (void)data;
    pthread_mutex_lock(&closes.lock);
    if (closes.n < MAX_SEEN) {
        seen_close *c = &closes.seen[closes.n++];

        c->session = session;
        c->reason = reason;
        c->status = status;
        snprintf(c->message, sizeof(c->message), "%s", message);
        c->data = parley_session_get_data(session);
    }
    pthread_cond_broadcast(&closes.cond);
    pthread_mutex_unlock(&closes.lock);
}

static void free_data(void *data)
{
    /* After the close function, once. */
    pthread_mutex_lock(&closes.lock);
    last_freed = data;
    pthread_mutex_unlock(&closes.lock);
    atomic_fetch_add(&n_freed, 1);
}

static void closes_reset(void)
{
    pthread_mutex_lock(&closes.lock);
    closes.n = 0;
    memset(closes.seen, 0, sizeof(closes.seen));
    pthread_mutex_unlock(&closes.lock);
    n_freed = 0;
    last_freed = NULL;
}

/* Wait (10 s at most) for n notifications. */
static void closes_wait(int n)
{
    struct timespec t;

    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += 10;
    pthread_mutex_lock(&closes.lock);
    while (closes.n < n && pthread_cond_timedwait(&closes.cond, &closes.lock, &t) == 0)
        ;
    ck_assert_int_eq(closes.n, n);
    pthread_mutex_unlock(&closes.lock);
}

/* The notification about session (or, with NULL, not about other). */
static seen_close *closes_find(parley_session *session, parley_session *other)
{
    for (int i = 0; i < closes.n; i++)
        if (session != NULL ? closes.seen[i].session == session
                            : closes.seen[i].session != other)
            return &closes.seen[i];
    ck_abort_msg("no close notification for that session");
    return NULL;
}

static parley_peer *peer_with_close(TALLOC_CTX *mem, bool serve)
{
    parley_peer *peer;

    if (serve) {
        peer = server_new(mem);
    } else {
        ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &peer), PARLEY_OK);
    }
    ck_assert_int_eq(parley_peer_set_session_close_function(peer, on_close, NULL), PARLEY_OK);
    return peer;
}

static int tag_a = 1;

/* A pair of in-process peers on a socketpair; the client session. */
static parley_session *pair(TALLOC_CTX *mem, parley_peer **ret_server, parley_peer **ret_client)
{
    int sv[2];
    parley_session *s;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    *ret_server = peer_with_close(mem, true);
    *ret_client = peer_with_close(mem, false);
    ck_assert_int_eq(parley_peer_accept_fd(*ret_server, sv[1]), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect_fd(*ret_client, sv[0], &s), PARLEY_OK);
    ck_assert_int_eq(parley_session_set_data(s, &tag_a, free_data), PARLEY_OK);
    ck_assert_ptr_eq(parley_session_get_data(s), &tag_a);
    expect_add(s);
    return s;
}

START_TEST(test_close_local_and_bye)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *server, *client;
    parley_session *s;
    seen_close *c;

    closes_reset();
    s = pair(mem, &server, &client);
    parley_session_close(s);
    closes_wait(2);
    c = closes_find(s, NULL);
    ck_assert_int_eq(c->reason, PARLEY_CLOSE_LOCAL);
    ck_assert_ptr_eq(c->data, &tag_a);
    c = closes_find(NULL, s);
    ck_assert_int_eq(c->reason, PARLEY_CLOSE_BYE);
    ck_assert_int_eq(c->status, PARLEY_ERR_CONNECTION_CLOSED);
    ck_assert_ptr_nonnull(strstr(c->message, "client closed"));
    ck_assert_str_eq(parley_close_reason_name(PARLEY_CLOSE_BYE), "bye");
    /* The outgoing session's data is freed once, after its notification. */
    talloc_free(client);
    ck_assert_int_eq(n_freed, 1);
    ck_assert_ptr_eq(last_freed, &tag_a);
    ck_assert_int_eq(parley_peer_set_session_close_function(server, NULL, NULL),
                     PARLEY_ERR_INVALID_STATE);
    talloc_free(mem);
    /* Exactly once each. */
    ck_assert_int_eq(closes.n, 2);
}
END_TEST

START_TEST(test_close_peer_freed)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *server, *client;
    parley_session *s;
    seen_close *c;

    closes_reset();
    s = pair(mem, &server, &client);
    talloc_free(server);
    closes_wait(2);
    c = closes_find(s, NULL);
    ck_assert_int_eq(c->reason, PARLEY_CLOSE_BYE);
    ck_assert_ptr_nonnull(strstr(c->message, "shutting down"));
    c = closes_find(NULL, s);
    ck_assert_int_eq(c->reason, PARLEY_CLOSE_LOCAL);
    ck_assert(!parley_session_is_connected(s));
    parley_session_close(s);
    talloc_free(mem);
    ck_assert_int_eq(n_freed, 1);
}
END_TEST

START_TEST(test_close_timeout)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *server, *client;
    parley_session *s;
    seen_close *c;
    int sv[2];

    closes_reset();
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    server = peer_with_close(mem, true);
    client = peer_with_close(mem, false);
    ck_assert_int_eq(parley_peer_set_timeout(server, PARLEY_TIMEOUT_IDLE, 200), PARLEY_OK);
    ck_assert_int_eq(parley_peer_accept_fd(server, sv[1]), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect_fd(client, sv[0], &s), PARLEY_OK);
    closes_wait(2);
    c = closes_find(NULL, s);
    ck_assert_int_eq(c->reason, PARLEY_CLOSE_TIMEOUT);
    ck_assert_int_eq(c->status, PARLEY_ERR_TIMEOUT);
    c = closes_find(s, NULL);
    ck_assert_int_eq(c->reason, PARLEY_CLOSE_BYE);
    ck_assert_int_eq(c->status, PARLEY_ERR_TIMEOUT);
    parley_session_close(s);
    talloc_free(mem);
}
END_TEST

/* Frames by hand on the raw end of a socketpair. */
static void raw_send(int fd, uint8_t kind, uint32_t code, const void *payload, size_t n)
{
    parley__frame_header h = { (uint32_t)n, kind, 0, 0, 0, code };
    uint8_t b[PARLEY__FRAME_HEADER_SIZE];

    parley__frame_pack(&h, b);
    ck_assert_int_eq(write(fd, b, sizeof(b)), (ssize_t)sizeof(b));
    if (n > 0)
        ck_assert_int_eq(write(fd, payload, n), (ssize_t)n);
}

static void raw_hello(TALLOC_CTX *mem, int fd)
{
    uint8_t *hello;
    size_t len;

    ck_assert_int_eq(parley__hello_encode(mem, tp_protocol(TP_V1), 1u << 20, 0, &hello, &len),
                     PARLEY_OK);
    raw_send(fd, PARLEY__FRAME_HELLO, 0, hello, len);
}

/* A session of peer (incoming or outgoing) whose other end is raw: the
 * raw end's HELLO is sent first, so the handshake completes at once. */
static int raw_other_end(TALLOC_CTX *mem, parley_peer *peer, bool incoming,
                         parley_session **ret_session)
{
    int sv[2];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    raw_hello(mem, sv[1]);
    if (incoming) {
        ck_assert_int_eq(parley_peer_accept_fd(peer, sv[0]), PARLEY_OK);
        *ret_session = NULL;
    } else {
        ck_assert_int_eq(parley_peer_connect_fd(peer, sv[0], ret_session), PARLEY_OK);
    }
    return sv[1];
}

/* Read exactly n bytes within 10 s. */
static void raw_read(int fd, void *buf, size_t n)
{
    size_t got = 0;

    while (got < n) {
        struct pollfd p = { fd, POLLIN, 0 };
        ssize_t r;

        ck_assert_int_eq(poll(&p, 1, 10000), 1);
        r = read(fd, (uint8_t *)buf + got, n - got);
        ck_assert_int_gt(r, 0);
        got += (size_t)r;
    }
}

/* The raw end asks for a method nobody serves and waits for the error
 * REPLY: then the session is surely up at the other end. */
static void raw_wait_ready(int fd)
{
    uint8_t b[PARLEY__FRAME_HEADER_SIZE], payload[4096];
    parley__frame_header h;

    raw_send(fd, PARLEY__FRAME_CALL, 999, NULL, 0);
    do {
        raw_read(fd, b, sizeof(b));
        ck_assert_int_eq(parley__frame_unpack(b, UINT32_MAX, &h), PARLEY_OK);
        ck_assert_uint_le(h.length, sizeof(payload));
        raw_read(fd, payload, h.length);
    } while (h.kind != PARLEY__FRAME_REPLY);
}

START_TEST(test_close_eof_and_protocol_error)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *server = peer_with_close(mem, true);
    parley_peer *client = peer_with_close(mem, false);
    parley_session *s1, *s2, *none;
    uint8_t junk[16];
    seen_close *c;

    int fd;

    closes_reset();
    /* Outgoing: end of file, then a frame that makes no sense. */
    fd = raw_other_end(mem, client, false, &s1);
    close(fd);
    closes_wait(1);
    c = closes_find(s1, NULL);
    ck_assert_int_eq(c->reason, PARLEY_CLOSE_EOF);
    ck_assert_int_eq(c->status, PARLEY_ERR_CONNECTION_CLOSED);
    fd = raw_other_end(mem, client, false, &s2);
    memset(junk, 0xee, sizeof(junk));
    ck_assert_int_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
    closes_wait(2);
    c = closes_find(s2, NULL);
    ck_assert_int_eq(c->reason, PARLEY_CLOSE_PROTOCOL_ERROR);
    ck_assert_int_ne(c->status, PARLEY_ERR_CONNECTION_CLOSED);
    close(fd);
    parley_session_close(s1);
    parley_session_close(s2);

    /* Incoming: the same two. */
    fd = raw_other_end(mem, server, true, &none);
    raw_wait_ready(fd);
    close(fd);
    closes_wait(3);
    ck_assert_int_eq(closes.seen[2].reason, PARLEY_CLOSE_EOF);
    fd = raw_other_end(mem, server, true, &none);
    raw_wait_ready(fd);
    ck_assert_int_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
    closes_wait(4);
    ck_assert_int_eq(closes.seen[3].reason, PARLEY_CLOSE_PROTOCOL_ERROR);
    close(fd);
    talloc_free(mem);
    ck_assert_int_eq(closes.n, 4);
}
END_TEST

Suite *parley_connect_suite(void)
{
    Suite *s = suite_create("connect");
    TCase *listen = tcase_create("listen");
    TCase *conn = tcase_create("connect");
    TCase *close_tc = tcase_create("close");

    tcase_set_timeout(listen, 60);
    tcase_add_test(listen, test_listen_fd);
    tcase_add_test(listen, test_listen_fd_refused);
    tcase_add_test(listen, test_systemd_all);
    tcase_add_test(listen, test_systemd_named);
    tcase_add_test(listen, test_systemd_other_pid);
    tcase_add_test(listen, test_systemd_malformed);
    suite_add_tcase(s, listen);
    tcase_set_timeout(conn, 120);
    tcase_add_test(conn, test_connect_many);
    tcase_add_test(conn, test_dispatch_after_start);
    tcase_add_test(conn, test_socket_options);
    tcase_add_test(conn, test_socket_options_per_endpoint);
    suite_add_tcase(s, conn);
    tcase_set_timeout(close_tc, 60);
    tcase_add_test(close_tc, test_close_local_and_bye);
    tcase_add_test(close_tc, test_close_peer_freed);
    tcase_add_test(close_tc, test_close_timeout);
    tcase_add_test(close_tc, test_close_eof_and_protocol_error);
    suite_add_tcase(s, close_tc);
    return s;
}
