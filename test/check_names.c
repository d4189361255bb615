/* SPDX-License-Identifier: MIT */
/*
 * The name service end to end: each test starts its own parleyd (the one
 * just built) on sockets under a temporary directory, points PARLEY_NAMES
 * at it, and stops it.  Every wait is bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <talloc.h>

#include "parley.h"
#include "parley_names.h"
#include "parley/security.h"   /* a session's transport and remote address */

#define WAIT_MS 10000

static const parley_protocol svc_protocol = {
    PARLEY_ABI_VERSION, "svc", 1, NULL, 0, NULL, 0, NULL, 0, NULL, NULL,
};
static const parley_protocol other_protocol = {
    PARLEY_ABI_VERSION, "other", 3, NULL, 0, NULL, 0, NULL, 0, NULL, NULL,
};

static char dir[64];
static char names_ep[128];
static char tcp_ep[256];
static char broker_ep[256];
static pid_t daemon_pid = -1;

static int64_t now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Read one line from fd within the deadline; false on EOF or timeout. */
static bool read_line(int fd, char *buf, size_t size, int64_t deadline)
{
    size_t n = 0;

    while (n + 1 < size) {
        struct pollfd p = { fd, POLLIN, 0 };
        int64_t left = deadline - now_ms();

        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return false;
        if (read(fd, &buf[n], 1) != 1)
            return false;
        if (buf[n] == '\n')
            break;
        n++;
    }
    buf[n] = '\0';
    return true;
}

/* Start parleyd on DIR/names.sock and tcp:127.0.0.1:0. */
static void start_daemon(void)
{
    char conf[128], line[256];
    int out[2];
    int64_t deadline = now_ms() + WAIT_MS;
    FILE *f;

    snprintf(conf, sizeof(conf), "%s/names.conf", dir);
    f = fopen(conf, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "# test configuration\nreserve sys.* 12345\n");
    fclose(f);
    ck_assert_int_eq(pipe(out), 0);
    daemon_pid = fork();
    ck_assert_int_ge(daemon_pid, 0);
    if (daemon_pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execl(PARLEYD_PATH, "parleyd", "-c", conf, "-l", names_ep,
              "-l", tcp_ep[0] != '\0' ? tcp_ep : "tcp:127.0.0.1:0",
              "-b", broker_ep[0] != '\0' ? broker_ep : "tcp:127.0.0.1:0", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    ck_assert_msg(read_line(out[0], line, sizeof(line), deadline), "parleyd did not start");
    ck_assert_str_eq(line + strlen("listening on "), names_ep);
    ck_assert_msg(read_line(out[0], line, sizeof(line), deadline), "parleyd did not start");
    snprintf(tcp_ep, sizeof(tcp_ep), "%s", line + strlen("listening on "));
    ck_assert_msg(read_line(out[0], line, sizeof(line), deadline), "parleyd did not start");
    ck_assert_msg(strncmp(line, "brokering on tcp:", 17) == 0, "%s", line);
    snprintf(broker_ep, sizeof(broker_ep), "%s", line + strlen("brokering on "));
    close(out[0]);
}

/* Wait for a child, at most WAIT_MS; false (and the child killed) if it
 * did not end by then. */
static bool wait_child(pid_t pid, int *status)
{
    int64_t deadline = now_ms() + WAIT_MS;

    while (waitpid(pid, status, WNOHANG) == 0) {
        if (now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, status, 0);
            return false;
        }
        usleep(10000);
    }
    return true;
}

static void stop_daemon(int sig)
{
    int status;

    if (daemon_pid <= 0)
        return;
    kill(daemon_pid, sig);
    (void)wait_child(daemon_pid, &status);   /* killed outright past WAIT_MS */
    daemon_pid = -1;
}

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/parley-names.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    chmod(dir, 0755);   /* the other-uid test connects from uid 65534 */
    snprintf(names_ep, sizeof(names_ep), "unix:%s/names.sock", dir);
    tcp_ep[0] = '\0';
    broker_ep[0] = '\0';
    setenv("PARLEY_NAMES", names_ep, 1);
    setenv("PARLEY_NAMES_CONF", "/nonexistent/names.conf", 1);
    start_daemon();
}

static void teardown(void)
{
    char cmd[128];

    stop_daemon(SIGTERM);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    (void)system(cmd);
}

/* A listening svc peer at DIR/<file>, registered as name. */
static parley_peer *serve(TALLOC_CTX *mem, const char *file, const char *name)
{
    parley_peer *peer;
    char ep[160];

    snprintf(ep, sizeof(ep), "unix:%s/%s", dir, file);
    ck_assert_int_eq(parley_peer_new(mem, &svc_protocol, &peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_listen_endpoint(peer, ep, 0), PARLEY_OK);
    ck_assert_int_eq(parley_peer_start_listen(peer), PARLEY_OK);
    if (name != NULL)
        ck_assert_msg(parley_peer_register_name(peer, name, 0) == PARLEY_OK, "%s",
                      parley_error_message());
    return peer;
}

static parley_status connect_to(TALLOC_CTX *mem, const parley_protocol *p, const char *ep)
{
    parley_peer *peer;
    parley_session *s;
    parley_status st;

    ck_assert_int_eq(parley_peer_new(mem, p, &peer), PARLEY_OK);
    st = parley_peer_add_connect_endpoint(peer, ep);
    if (st == PARLEY_OK)
        st = parley_peer_connect(peer, &s);
    talloc_free(peer);
    return st;
}

START_TEST(test_register_resolve_list)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_name_info *infos;
    size_t n;
    char want[300];

    serve(mem, "svc.sock", "svc");
    ck_assert_msg(connect_to(mem, &svc_protocol, "name:svc") == PARLEY_OK, "%s",
                  parley_error_message());
    ck_assert_int_eq(parley_name_list(mem, NULL, "s*", &infos, &n), PARLEY_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(infos[0].name, "svc");
    ck_assert_str_eq(infos[0].protocol, "svc");
    ck_assert_uint_eq(infos[0].version, 1);
    ck_assert_int_eq(infos[0].pid, getpid());
    ck_assert_uint_eq(infos[0].uid, getuid());
    ck_assert_uint_eq(infos[0].n_endpoints, 1);
    snprintf(want, sizeof(want), "unix:%s/svc.sock", dir);
    ck_assert_str_eq(infos[0].endpoints[0], want);
    ck_assert_uint_gt(infos[0].registered_ms, 0);
    /* an introspector (parley-call) connects by name whatever the protocol */
    {
        const parley_protocol *p;

        ck_assert_msg(parley_introspect(mem, "name:svc", WAIT_MS, &p, NULL) == PARLEY_OK, "%s",
                      parley_error_message());
        ck_assert_str_eq(p->name, "svc");
    }
    ck_assert_int_eq(parley_name_list(mem, NULL, "x*", &infos, &n), PARLEY_OK);
    ck_assert_uint_eq(n, 0);
    /* through the TCP listener of parleyd, as a client on the network would */
    snprintf(want, sizeof(want), "name:svc@%s", tcp_ep);
    ck_assert_msg(connect_to(mem, &svc_protocol, want) == PARLEY_OK, "%s", parley_error_message());
    talloc_free(mem);
}
END_TEST

START_TEST(test_unregister_and_exists)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *a = serve(mem, "a.sock", "svc");
    parley_peer *b = serve(mem, "b.sock", NULL);

    ck_assert_int_eq(parley_peer_register_name(a, "svc", 0), PARLEY_ERR_EXISTS);
    ck_assert_int_eq(parley_peer_register_name(b, "svc", 0), PARLEY_ERR_EXISTS);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "registered already"));
    ck_assert_int_eq(parley_peer_unregister_name(a, "svc"), PARLEY_OK);
    ck_assert_int_eq(parley_peer_unregister_name(a, "svc"), PARLEY_ERR_NOT_FOUND);
    ck_assert_int_eq(connect_to(mem, &svc_protocol, "name:svc"), PARLEY_ERR_NOT_FOUND);
    ck_assert_int_eq(parley_peer_register_name(b, "svc", 0), PARLEY_OK);
    ck_assert_int_eq(connect_to(mem, &svc_protocol, "name:svc"), PARLEY_OK);
    talloc_free(b);   /* its name goes with it */
    ck_assert_int_eq(connect_to(mem, &svc_protocol, "name:svc"), PARLEY_ERR_NOT_FOUND);
    talloc_free(mem);
}
END_TEST

START_TEST(test_wrong_protocol)
{
    TALLOC_CTX *mem = talloc_new(NULL);

    serve(mem, "svc.sock", "svc");
    ck_assert_int_eq(connect_to(mem, &other_protocol, "name:svc"), PARLEY_ERR_PROTOCOL_MISMATCH);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "'svc' version 1"));
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "'other' version 3"));
    talloc_free(mem);
}
END_TEST

START_TEST(test_bad_names)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer = serve(mem, "svc.sock", NULL);
    parley_peer *idle;
    char longname[PARLEY_NAME_MAX + 2];
    parley_name_info *infos;
    size_t n;

    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    ck_assert_int_eq(parley_peer_register_name(peer, "", 0), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_register_name(peer, "a b", 0), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "0x20"));
    ck_assert_int_eq(parley_peer_register_name(peer, "a/b", 0), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_register_name(peer, longname, 0), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_register_name(peer, NULL, 0), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_register_name(peer, "ok", 0x80), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_register_name(peer, "sys.x", 0), PARLEY_ERR_ACCESS_DENIED);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "reserved for uid 12345"));
    ck_assert_int_eq(parley_peer_new(mem, &svc_protocol, &idle), PARLEY_OK);
    ck_assert_int_eq(parley_peer_register_name(idle, "idle", 0), PARLEY_ERR_INVALID_STATE);
    ck_assert_int_eq(connect_to(mem, &svc_protocol, "name:"), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(connect_to(mem, &svc_protocol, "name:a b"), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(connect_to(mem, &svc_protocol, "name:a@nowhere"), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(connect_to(mem, &svc_protocol, "name:nobody"), PARLEY_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "nobody"));
    ck_assert_int_eq(parley_name_list(mem, NULL, "a b", &infos, &n), PARLEY_ERR_INVALID_ARGUMENT);
    talloc_free(mem);
}
END_TEST

/* Registrations made with the raw stubs, as a hostile client would. */
START_TEST(test_malformed_registrations)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    parley_session *s;
    char *eps[] = { (char *)"unix:/x", (char *)"ftp://x" };
    parley_names_add_request in = { { (char *)"ok", (char *)"svc", 1, 1, eps, 0, NULL, 0 } };
    parley_names_add_reply *out;
    parley_call *call;
    int32_t code;
    const char *msg;

    ck_assert_int_eq(parley_peer_new(mem, &parley_names_protocol, &peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_connect_endpoint(peer, names_ep), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect(peer, &s), PARLEY_OK);
    ck_assert_int_eq(parley_session_acquire_call(s, &call), PARLEY_OK);
#define EXPECT(status) do {                                                         \
        ck_assert_int_eq(parley_names_add_send(call, &in, mem, &out, NULL, NULL),     \
                         PARLEY_ERR_REMOTE);                                        \
        ck_assert_int_eq(parley_call_get_remote_error(call, &code, &msg), PARLEY_OK); \
        ck_assert_int_eq(code, status);                                             \
    } while (0)
    in.reg.name = (char *)"bad name";
    EXPECT(PARLEY_ERR_INVALID_ARGUMENT);
    in.reg.name = (char *)"ok";
    in.reg.protocol = (char *)"";
    EXPECT(PARLEY_ERR_INVALID_ARGUMENT);
    in.reg.protocol = (char *)"svc";
    in.reg.n_endpoints = 0;
    EXPECT(PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(msg, "no endpoint"));
    in.reg.n_endpoints = 2;
    EXPECT(PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(msg, "ftp://x"));
    in.reg.n_endpoints = 1;
    in.reg.flags = 0x100;
    EXPECT(PARLEY_ERR_INVALID_ARGUMENT);
#undef EXPECT
    parley_call_release(call);
    talloc_free(mem);
}
END_TEST

/* Registering over TCP is refused: TCP carries no credentials. */
START_TEST(test_tcp_register_refused)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;

    setenv("PARLEY_NAMES", tcp_ep, 1);
    peer = serve(mem, "svc.sock", NULL);
    ck_assert_int_eq(parley_peer_register_name(peer, "svc", 0), PARLEY_ERR_ACCESS_DENIED);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "over TCP"));
    talloc_free(mem);
}
END_TEST

typedef struct seen {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned appeared, vanished;
    int32_t pid;
} seen;

static void on_change(const parley_name_info *info, bool gone, void *data)
{
    seen *w = data;

    pthread_mutex_lock(&w->lock);
    if (gone)
        w->vanished++;
    else
        w->appeared++;
    w->pid = info->pid;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static bool wait_count_ms(seen *w, unsigned *counter, unsigned want, int64_t ms)
{
    int64_t deadline = now_ms() + ms;
    bool ok;

    pthread_mutex_lock(&w->lock);
    while (*counter < want && now_ms() < deadline) {
        struct timespec t;

        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += 50000000L;
        if (t.tv_nsec >= 1000000000L) {
            t.tv_sec++;
            t.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&w->cond, &w->lock, &t);
    }
    ok = *counter >= want;
    pthread_mutex_unlock(&w->lock);
    return ok;
}

static bool wait_count(seen *w, unsigned *counter, unsigned want)
{
    return wait_count_ms(w, counter, want, WAIT_MS);
}

/* A child that registers a name when told to, says so on a pipe and waits
 * to be killed.  It is forked before the test starts any thread (a child of
 * a threaded process may inherit a lock held by another thread, the
 * sanitizers' allocator lock among them) and told to go with go(). */
typedef struct service {
    pid_t pid;
    int go, ready;   /* the parent's ends */
} service;

static service fork_service(const char *name)
{
    int go[2], ready[2];
    service svc;

    ck_assert_int_eq(pipe(go), 0);
    ck_assert_int_eq(pipe(ready), 0);
    svc.pid = fork();
    ck_assert_int_ge(svc.pid, 0);
    if (svc.pid == 0) {
        TALLOC_CTX *mem = talloc_new(NULL);
        char c;

        close(go[1]);
        close(ready[0]);
        if (read(go[0], &c, 1) != 1)
            _exit(1);
        serve(mem, "child.sock", name);
        if (write(ready[1], "r", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(go[0]);
    close(ready[1]);
    svc.go = go[1];
    svc.ready = ready[0];
    return svc;
}

/* Tell the child to register, and wait (bounded) until it has. */
static void start_service(service *svc)
{
    struct pollfd pfd = { svc->ready, POLLIN, 0 };
    char c;

    ck_assert_int_eq(write(svc->go, "g", 1), 1);
    ck_assert_msg(poll(&pfd, 1, WAIT_MS) == 1, "the service child did not register");
    ck_assert_int_eq(read(svc->ready, &c, 1), 1);
    close(svc->go);
    close(svc->ready);
}

START_TEST(test_killed_service_vanishes)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    seen w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0 };
    parley_name_watcher *watcher;
    parley_name_info *infos;
    size_t n;
    pid_t pid;
    int status;
    service svc;

    svc = fork_service("svc-child");   /* before the watcher's threads */
    ck_assert_int_eq(parley_name_watch(mem, NULL, "svc*", on_change, &w, &watcher), PARLEY_OK);
    start_service(&svc);
    pid = svc.pid;
    ck_assert_msg(wait_count(&w, &w.appeared, 1), "the watcher was not told of the name");
    ck_assert_int_eq(w.pid, pid);
    ck_assert_int_eq(parley_name_list(mem, NULL, "svc-child", &infos, &n), PARLEY_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(connect_to(mem, &svc_protocol, "name:svc-child"), PARLEY_OK);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    ck_assert_msg(wait_count(&w, &w.vanished, 1), "the watcher was not told the name vanished");
    ck_assert_int_eq(parley_name_list(mem, NULL, "svc-child", &infos, &n), PARLEY_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(connect_to(mem, &svc_protocol, "name:svc-child"), PARLEY_ERR_NOT_FOUND);
    talloc_free(watcher);
    talloc_free(mem);
}
END_TEST

START_TEST(test_other_uid_cannot_take)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    pid_t pid;
    int status, go[2];
    char c;

    if (getuid() != 0) {
        fprintf(stderr, "check_names: other-uid test skipped: it needs root to setuid(65534)\n");
        talloc_free(mem);
        return;
    }
    /* Forked before serve() starts threads; it goes once "owned" is taken. */
    ck_assert_int_eq(pipe(go), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        parley_peer *peer;
        parley_session *s;
        parley_names_remove_request rm = { (char *)"owned" };
        parley_names_remove_reply *rm_out;
        parley_call *call;
        int32_t code = 0;
        TALLOC_CTX *cm = talloc_new(NULL);
        char ep[64];

        close(go[1]);
        if (read(go[0], &c, 1) != 1)
            _exit(9);
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(10);
        snprintf(ep, sizeof(ep), "unix:@parley-names-test-%d", (int)getpid());
        if (parley_peer_new(cm, &svc_protocol, &peer) != PARLEY_OK ||
            parley_peer_add_listen_endpoint(peer, ep, 0) != PARLEY_OK ||
            parley_peer_start_listen(peer) != PARLEY_OK)
            _exit(11);
        if (parley_peer_register_name(peer, "owned", 0) != PARLEY_ERR_ACCESS_DENIED)
            _exit(12);
        if (strstr(parley_error_message(), "belongs to uid 0") == NULL)
            _exit(13);
        if (parley_peer_register_name(peer, "mine", 0) != PARLEY_OK)
            _exit(14);
        if (parley_peer_new(cm, &parley_names_protocol, &peer) != PARLEY_OK ||
            parley_peer_add_connect_endpoint(peer, names_ep) != PARLEY_OK ||
            parley_peer_connect(peer, &s) != PARLEY_OK ||
            parley_session_acquire_call(s, &call) != PARLEY_OK)
            _exit(15);
        if (parley_names_remove_send(call, &rm, cm, &rm_out, NULL, NULL) != PARLEY_ERR_REMOTE ||
            parley_call_get_remote_error(call, &code, NULL) != PARLEY_OK ||
            code != PARLEY_ERR_ACCESS_DENIED)
            _exit(16);
        parley_call_release(call);
        talloc_free(cm);
        _exit(0);
    }
    close(go[0]);
    serve(mem, "svc.sock", "owned");
    ck_assert_int_eq(write(go[1], "g", 1), 1);
    close(go[1]);
    ck_assert_msg(wait_child(pid, &status), "the uid-65534 child did not finish");
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the uid-65534 child failed at step %d", WEXITSTATUS(status));
    ck_assert_int_eq(connect_to(mem, &svc_protocol, "name:owned"), PARLEY_OK);
    talloc_free(mem);
}
END_TEST

START_TEST(test_daemon_restart)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    seen w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0 };
    parley_name_watcher *watcher;
    int64_t deadline;
    parley_status st;
    bool told = false;

    ck_assert_int_eq(parley_name_watch(mem, NULL, "probe", on_change, &w, &watcher), PARLEY_OK);
    serve(mem, "svc.sock", "svc");
    ck_assert_int_eq(connect_to(mem, &svc_protocol, "name:svc"), PARLEY_OK);
    stop_daemon(SIGKILL);
    ck_assert_int_eq(connect_to(mem, &svc_protocol, "name:svc"), PARLEY_ERR_CONNECTION_REFUSED);
    start_daemon();
    deadline = now_ms() + WAIT_MS;
    do {
        st = connect_to(mem, &svc_protocol, "name:svc");
        if (st != PARLEY_OK)
            usleep(20000);
    } while (st != PARLEY_OK && now_ms() < deadline);
    ck_assert_msg(st == PARLEY_OK, "the service did not register again: %s",
                  parley_error_message());
    /* the watcher watches again too: a probe name appearing reaches it */
    deadline = now_ms() + WAIT_MS;
    while (!told && now_ms() < deadline) {
        TALLOC_CTX *probe = talloc_new(NULL);

        serve(probe, "probe.sock", "probe");
        pthread_mutex_lock(&w.lock);
        told = w.appeared > 0;
        pthread_mutex_unlock(&w.lock);
        if (!told)
            told = wait_count_ms(&w, &w.appeared, 1, 200);
        talloc_free(probe);
    }
    ck_assert_msg(told, "the watcher did not watch again after parleyd restarted");
    talloc_free(watcher);
    talloc_free(mem);
}
END_TEST

/* This process's threads (/proc/self/status). */
static size_t count_threads(void)
{
    char line[256];
    size_t n = 0;
    FILE *f = fopen("/proc/self/status", "re");

    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "Threads: %zu", &n) == 1)
            break;
    fclose(f);
    return n;
}

/* A peer's name: connects share one cached session to parleyd: no thread
 * per connect, and the session is made again after parleyd restarted. */
START_TEST(test_cached_names_session)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *client;
    parley_session *s;
    size_t threads;
    int64_t deadline;
    parley_status st;

    serve(mem, "svc.sock", "svc");
    ck_assert_int_eq(parley_peer_new(mem, &svc_protocol, &client), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_connect_endpoint(client, "name:svc"), PARLEY_OK);
    ck_assert_msg(parley_peer_connect(client, &s) == PARLEY_OK, "%s", parley_error_message());
    parley_session_close(s);
    threads = count_threads();
    for (int i = 0; i < 20; i++) {
        ck_assert_msg(parley_peer_connect(client, &s) == PARLEY_OK, "%s", parley_error_message());
        parley_session_close(s);
    }
    ck_assert_uint_eq(count_threads(), threads);
    /* parleyd goes away: refused, naming it; back: the session is made again */
    stop_daemon(SIGKILL);
    st = parley_peer_connect(client, &s);
    ck_assert_msg(st == PARLEY_ERR_CONNECTION_REFUSED, "%s: %s", parley_status_name(st),
                  parley_error_message());
    ck_assert_msg(strstr(parley_error_message(), names_ep) != NULL, "%s", parley_error_message());
    start_daemon();
    deadline = now_ms() + WAIT_MS;
    do {
        st = parley_peer_connect(client, &s);
        if (st != PARLEY_OK)
            usleep(20000);
    } while (st != PARLEY_OK && now_ms() < deadline);
    ck_assert_msg(st == PARLEY_OK, "no name: connect after parleyd restarted: %s",
                  parley_error_message());
    parley_session_close(s);
    talloc_free(mem);
}
END_TEST

typedef struct told {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int n;
    parley_status status;
    bool no_session;
    char message[512];
} told;

static void on_exception(parley_peer *peer, parley_session *session, parley_status status,
                         const char *message, void *data)
{
    told *t = data;

    (void)peer;
    pthread_mutex_lock(&t->lock);
    t->n++;
    t->status = status;
    t->no_session = session == NULL;
    snprintf(t->message, sizeof(t->message), "%s", message);
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
}

/* parleyd restarts and another peer takes the name before its owner
 * registers it again: the owner is told (its exception function, EXISTS)
 * and the name is no longer its own. */
START_TEST(test_reregister_refused)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    told t = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, false, "" };
    parley_peer *owner, *thief = NULL;
    char ep[160];
    bool taken = false;

    snprintf(ep, sizeof(ep), "unix:%s/owner.sock", dir);
    ck_assert_int_eq(parley_peer_new(mem, &svc_protocol, &owner), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_exception_function(owner, on_exception, &t), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_listen_endpoint(owner, ep, 0), PARLEY_OK);
    ck_assert_int_eq(parley_peer_start_listen(owner), PARLEY_OK);
    ck_assert_int_eq(parley_peer_register_name(owner, "svc", 0), PARLEY_OK);
    /* the owner retries after 50, 150, 350, 750, 1550 ms...: parleyd comes
     * back between two tries and the thief registers at once; should the
     * owner win the race, again */
    for (int attempt = 0; attempt < 5 && !taken; attempt++) {
        stop_daemon(SIGKILL);
        usleep(1000000);
        start_daemon();
        if (thief == NULL)
            thief = serve(mem, "thief.sock", NULL);
        taken = parley_peer_register_name(thief, "svc", 0) == PARLEY_OK;
    }
    ck_assert_msg(taken, "the owner registered again first five times");
    pthread_mutex_lock(&t.lock);
    {
        struct timespec until;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += WAIT_MS / 1000;
        while (t.n == 0 && pthread_cond_timedwait(&t.cond, &t.lock, &until) == 0) {
        }
    }
    ck_assert_int_eq(t.n, 1);
    ck_assert_int_eq(t.status, PARLEY_ERR_EXISTS);
    ck_assert(t.no_session);
    ck_assert_msg(strstr(t.message, "'svc'") != NULL, "%s", t.message);
    pthread_mutex_unlock(&t.lock);
    /* no longer the owner's: nothing to unregister, the thief keeps it */
    ck_assert_int_eq(parley_peer_unregister_name(owner, "svc"), PARLEY_ERR_NOT_FOUND);
    ck_assert_int_eq(parley_peer_unregister_name(thief, "svc"), PARLEY_OK);
    talloc_free(mem);
}
END_TEST

/* A TCP connection to the broker port. */
static int broker_socket(void)
{
    char host[64];
    int port, fd;
    struct sockaddr_in sa = { 0 };

    ck_assert_int_eq(sscanf(broker_ep, "tcp:%63[^:]:%d", host, &port), 2);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    ck_assert_int_eq(inet_pton(AF_INET, host, &sa.sin_addr), 1);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* Send a preamble to the broker port by hand; the answer line. */
static void raw_preamble(const char *preamble, char *answer, size_t size)
{
    int fd = broker_socket();

    ck_assert_int_eq(write(fd, preamble, strlen(preamble)), (ssize_t)strlen(preamble));
    ck_assert_msg(read_line(fd, answer, size, now_ms() + WAIT_MS), "no answer from the broker");
    close(fd);
}

/* What the brokered service saw of its incoming session. */
typedef struct incoming {
    pthread_mutex_t lock;        /* the hook runs on the service's thread */
    int n;
    parley_status creds;         /* parley_session_get_credentials() */
    int transport;               /* parley_session_get_transport() */
    char address[80];            /* parley_session_get_remote_address() */
} incoming;

static parley_status on_construct(parley_session *session, void *data, void **ret_data)
{
    incoming *in = data;
    parley_credentials creds;

    (void)ret_data;
    pthread_mutex_lock(&in->lock);
    in->n++;
    in->creds = parley_session_get_credentials(session, &creds);
    in->transport = (int)parley_session_get_transport(session);
    if (parley_session_get_remote_address(session, in->address, sizeof(in->address)) !=
        PARLEY_OK)
        snprintf(in->address, sizeof(in->address), "(none: %s)", parley_error_message());
    pthread_mutex_unlock(&in->lock);
    return PARLEY_OK;
}

/* One port per host: a service that listens nowhere gets its connections
 * from parleyd's broker port, as descriptors; parleyd relays nothing.  The
 * session is the client's own TCP socket: TCP, the client's address, no
 * credentials. */
START_TEST(test_brokered)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *svc, *client;
    parley_session *s;
    const parley_protocol *p;
    char ep[300], answer[256];
    incoming got = { PTHREAD_MUTEX_INITIALIZER, 0, PARLEY_OK, -1, "" };

    ck_assert_int_eq(parley_peer_new(mem, &svc_protocol, &svc), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_session_functions(svc, on_construct, NULL, &got),
                     PARLEY_OK);
    ck_assert_msg(parley_peer_register_name(svc, "hub", PARLEY_NAME_BROKERED) == PARLEY_OK, "%s",
                  parley_error_message());
    snprintf(ep, sizeof(ep), "name:hub@%s", tcp_ep);
    ck_assert_int_eq(parley_peer_new(mem, &svc_protocol, &client), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_connect_endpoint(client, ep), PARLEY_OK);
    ck_assert_msg(parley_peer_connect(client, &s) == PARLEY_OK, "%s", parley_error_message());
    ck_assert_int_eq(parley_session_introspect(s, mem, WAIT_MS, &p, NULL), PARLEY_OK);
    ck_assert_str_eq(p->name, "svc");
    /* the construct hook ran before the handshake the introspection needed */
    pthread_mutex_lock(&got.lock);
    ck_assert_int_eq(got.n, 1);
    ck_assert_int_eq(got.creds, PARLEY_ERR_UNSUPPORTED);   /* TCP: no credentials */
    ck_assert_int_eq(got.transport, PARLEY_TRANSPORT_TCP);
    ck_assert_msg(strncmp(got.address, "127.0.0.1:", 10) == 0, "remote address %s",
                  got.address);
    pthread_mutex_unlock(&got.lock);
    /* parleyd gone: the session goes on, nothing went through parleyd */
    stop_daemon(SIGKILL);
    ck_assert_int_eq(parley_session_introspect(s, mem, WAIT_MS, &p, NULL), PARLEY_OK);
    ck_assert(parley_session_is_connected(s));
    start_daemon();
    /* what the broker says to bad preambles */
    raw_preamble("PARLEY-NAME nobody\n", answer, sizeof(answer));
    ck_assert_msg(strncmp(answer, "ERR 13 ", 7) == 0, "%s", answer);
    raw_preamble("GET / HTTP/1.0\n", answer, sizeof(answer));
    ck_assert_msg(strncmp(answer, "ERR 5 ", 6) == 0, "%s", answer);
    raw_preamble("PARLEY-NAME a b\n", answer, sizeof(answer));
    ck_assert_msg(strncmp(answer, "ERR 3 ", 6) == 0, "%s", answer);
    talloc_free(mem);
}
END_TEST

/* The broker reads preambles concurrently: clients that send half a line
 * and wait do not hold up another client's brokered connect (the broker
 * has not answered them yet when it is served). */
START_TEST(test_broker_slow_clients)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *svc, *client;
    parley_session *s;
    const parley_protocol *p;
    char ep[300], byte;
    int slow[3];

    ck_assert_int_eq(parley_peer_new(mem, &svc_protocol, &svc), PARLEY_OK);
    ck_assert_msg(parley_peer_register_name(svc, "hub", PARLEY_NAME_BROKERED) == PARLEY_OK, "%s",
                  parley_error_message());
    for (int i = 0; i < 3; i++) {
        slow[i] = broker_socket();
        ck_assert_int_eq(write(slow[i], "PARLEY-NAME h", 13), 13);   /* and no newline */
    }
    snprintf(ep, sizeof(ep), "name:hub@%s", tcp_ep);
    ck_assert_int_eq(parley_peer_new(mem, &svc_protocol, &client), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_connect_endpoint(client, ep), PARLEY_OK);
    ck_assert_msg(parley_peer_connect(client, &s) == PARLEY_OK, "%s", parley_error_message());
    ck_assert_int_eq(parley_session_introspect(s, mem, WAIT_MS, &p, NULL), PARLEY_OK);
    ck_assert_str_eq(p->name, "svc");
    /* the slow clients are still waiting: neither answered nor closed */
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(recv(slow[i], &byte, 1, MSG_DONTWAIT), -1);
        ck_assert_int_eq(errno, EAGAIN);
    }
    /* and are told at their deadline (2 s) */
    {
        char answer[256];

        ck_assert_msg(read_line(slow[0], answer, sizeof(answer), now_ms() + WAIT_MS),
                      "no answer to a slow client");
        ck_assert_msg(strncmp(answer, "ERR 5 ", 6) == 0, "%s", answer);
    }
    for (int i = 0; i < 3; i++)
        close(slow[i]);
    talloc_free(mem);
}
END_TEST

/* Without PARLEY_NAMES, the configuration file's address line is used. */
START_TEST(test_conf_address)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    char conf[128];
    FILE *f;

    serve(mem, "svc.sock", "svc");
    snprintf(conf, sizeof(conf), "%s/client.conf", dir);
    f = fopen(conf, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "# where clients find parleyd\n  address   %s  \n", names_ep);
    fclose(f);
    unsetenv("PARLEY_NAMES");
    setenv("PARLEY_NAMES_CONF", conf, 1);
    ck_assert_msg(connect_to(mem, &svc_protocol, "name:svc") == PARLEY_OK, "%s",
                  parley_error_message());
    /* and a service named in the endpoint wins over both */
    setenv("PARLEY_NAMES_CONF", "/nonexistent/names.conf", 1);
    if (access("/run/parley/names.sock", F_OK) != 0) {   /* no system parleyd here */
        ck_assert_int_eq(connect_to(mem, &svc_protocol, "name:svc"),
                         PARLEY_ERR_CONNECTION_REFUSED);
        ck_assert_ptr_nonnull(strstr(parley_error_message(), "/run/parley/names.sock"));
    }
    {
        char ep[300];

        snprintf(ep, sizeof(ep), "name:svc@%s", tcp_ep);
        ck_assert_int_eq(connect_to(mem, &svc_protocol, ep), PARLEY_OK);
    }
    talloc_free(mem);
}
END_TEST

static Suite *names_suite(void)
{
    Suite *s = suite_create("names");
    TCase *tc = tcase_create("parleyd");
    /* tests whose forked children start threads (TSan cannot follow a
     * multi-threaded fork: .ci/run's tsan stage runs the parleyd case only) */
    TCase *forks = tcase_create("forks");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_register_resolve_list);
    tcase_add_test(tc, test_unregister_and_exists);
    tcase_add_test(tc, test_wrong_protocol);
    tcase_add_test(tc, test_bad_names);
    tcase_add_test(tc, test_malformed_registrations);
    tcase_add_test(tc, test_tcp_register_refused);
    tcase_add_test(tc, test_daemon_restart);
    tcase_add_test(tc, test_cached_names_session);
    tcase_add_test(tc, test_reregister_refused);
    tcase_add_test(tc, test_brokered);
    tcase_add_test(tc, test_broker_slow_clients);
    tcase_add_test(tc, test_conf_address);
    suite_add_tcase(s, tc);
    tcase_add_checked_fixture(forks, setup, teardown);
    tcase_set_timeout(forks, 60);
    tcase_add_test(forks, test_killed_service_vanishes);
    tcase_add_test(forks, test_other_uid_cannot_take);
    suite_add_tcase(s, forks);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(names_suite());
    int failed;

    signal(SIGPIPE, SIG_IGN);
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
