/* SPDX-License-Identifier: MIT */
/* Runtime, integration (sessions): construct/destruct hooks and
 * per-session data, refusal (ACCESS_DENIED), SO_PEERCRED credentials (and
 * UNSUPPORTED on TCP), max outstanding calls (BUSY), handles in a session
 * (type check, other session, closed, max, cleanup at session end, a killed
 * client), establish and idle timeouts, max clients and backlog.  Handles on
 * the wire: check_handles.c. */
#include "config.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "server_proc.h"
#include "suites.h"
#include "test_proto.h"

/* ---- shared server state (one test at a time per process) ------------- */

static atomic_int n_construct, n_destruct, n_cleanup, n_entered;
static atomic_bool refuse;
static atomic_int destruct_data_ok;
static parley_credentials seen_creds;
static parley_status seen_creds_status;
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_open;
static parley_handle *first_handle;   /* from the first session's ADD */
static parley_session *first_session;
/* Handlers of several sessions run at once on the workers. */
static pthread_mutex_t first_lock = PTHREAD_MUTEX_INITIALIZER;

static void reset_state(void)
{
    n_construct = n_destruct = n_cleanup = n_entered = 0;
    refuse = false;
    destruct_data_ok = 0;
    memset(&seen_creds, 0, sizeof(seen_creds));
    seen_creds_status = PARLEY_OK;
    gate_open = false;
    first_handle = NULL;
    first_session = NULL;
}

static parley_status on_construct(parley_session *session, void *data, void **ret_session_data)
{
    int *tag = data;

    seen_creds_status = parley_session_get_credentials(session, &seen_creds);
    n_construct++;
    if (refuse)
        return PARLEY_ERR_ACCESS_DENIED;
    *ret_session_data = tag;
    return PARLEY_OK;
}

static void on_destruct(parley_session *session, void *session_data, void *data)
{
    (void)session;
    if (session_data == data)
        destruct_data_ok++;
    n_destruct++;
}

static void cleanup_count(void *object, void *data)
{
    (void)data;
    ck_assert_int_eq(*(int *)object, 7);
    n_cleanup++;
}

static int the_object = 7;

/* ADD: checks the session data, registers a handle, exercises the lookups. */
static parley_status h_add(parley_call *call, const void *in, void *out, void *data)
{
    const tp_pair *p = in;
    tp_int *r = out;
    parley_session *session = parley_call_get_session(call);
    parley_handle *h, *h2;
    void *obj = NULL;

    if (parley_session_get_data(session) != data)
        return PARLEY_ERR_INTERNAL;
    parley_status st = parley_session_register_handle(session, "thing", &the_object,
                                                      cleanup_count, NULL, &h);

    if (st != PARLEY_OK)
        return st;
    if (parley_session_get_handle(session, h, "thing", &obj) != PARLEY_OK || obj != &the_object)
        return PARLEY_ERR_INTERNAL;
    if (parley_session_get_handle(session, h, "other", &obj) != PARLEY_ERR_INVALID_HANDLE)
        return PARLEY_ERR_INTERNAL;
    pthread_mutex_lock(&first_lock);
    if (first_handle == NULL) {
        first_handle = h;
        first_session = session;
    } else if (session != first_session &&
               parley_session_get_handle(session, first_handle, "thing", &obj) !=
               PARLEY_ERR_INVALID_HANDLE) {
        pthread_mutex_unlock(&first_lock);
        return PARLEY_ERR_INTERNAL;
    }
    pthread_mutex_unlock(&first_lock);
    /* A second one, unregistered at once: its cleanup runs now, then it is closed. */
    st = parley_session_register_handle(session, "thing", &the_object, cleanup_count, NULL,
                                        &h2);
    if (st != PARLEY_OK)
        return st;
    if (parley_session_unregister_handle(session, h2) != PARLEY_OK ||
        parley_session_unregister_handle(session, h2) != PARLEY_ERR_INVALID_HANDLE ||
        parley_session_get_handle(session, h2, "thing", &obj) != PARLEY_ERR_INVALID_HANDLE)
        return PARLEY_ERR_INTERNAL;
    r->v = p->a + p->b;
    return PARLEY_OK;
}

/* ECHO: waits at the gate (for the outstanding-calls limit). */
static parley_status h_echo(parley_call *call, const void *in, void *out, void *data)
{
    const tp_echo *e = in;
    tp_echo *r = out;

    (void)data;
    n_entered++;
    pthread_mutex_lock(&gate_lock);
    while (!gate_open)
        pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
    r->text = talloc_strdup(out, e->text);
    (void)call;
    return PARLEY_OK;
}

static int server_tag = 42;

static int server_exceptions;

static void count_exception(parley_peer *peer, parley_session *session, parley_status status,
                            const char *message, void *data)
{
    (void)peer; (void)session; (void)status; (void)message; (void)data;
    __atomic_add_fetch(&server_exceptions, 1, __ATOMIC_SEQ_CST);
}

static parley_peer *server_new(TALLOC_CTX *mem, const char *endpoint)
{
    parley_peer *server;
    parley_dispatch table[] = {
        { TP_ADD, h_add, PARLEY_BLOCKING },
        { TP_ECHO, h_echo, PARLEY_BLOCKING },
    };

    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_dispatch(server, table, 2, &server_tag), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_session_functions(server, on_construct, on_destruct,
                                                       &server_tag), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_exception_function(server, count_exception, NULL),
                     PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_listen_endpoint(server, endpoint, 0), PARLEY_OK);
    ck_assert_int_eq(parley_peer_start_listen(server), PARLEY_OK);
    return server;
}

static parley_peer *client_new(TALLOC_CTX *mem, parley_peer *server)
{
    parley_peer *client;
    char *ep = NULL;

    ck_assert_int_eq(parley_peer_get_listen_endpoint(server, 0, mem, &ep), PARLEY_OK);
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &client), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_connect_endpoint(client, ep), PARLEY_OK);
    talloc_free(ep);
    return client;
}

static parley_status call_add(parley_session *session, int32_t a, int32_t b, int32_t *ret)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_call *call;
    tp_pair pair = { a, b };
    tp_int *sum = NULL;
    parley_status st;

    st = parley_session_acquire_call(session, &call);
    if (st != PARLEY_OK) {
        talloc_free(mem);
        return st;
    }
    st = parley_call_dispatch(call, TP_ADD, &pair, mem, &sum, NULL, NULL);
    if (st == PARLEY_OK)
        *ret = sum->v;
    parley_call_release(call);
    talloc_free(mem);
    return st;
}

START_TEST(test_hooks_and_credentials)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const char *dir = tp_tmpdir();
    char ep[300];
    parley_peer *server, *client;
    parley_session *s1, *s2;
    int32_t v = 0;

    reset_state();
    ck_assert_ptr_nonnull(dir);
    snprintf(ep, sizeof(ep), "unix:%s/s.sock", dir);
    server = server_new(mem, ep);
    ck_assert_int_eq(parley_peer_set_session_functions(server, NULL, NULL, NULL),
                     PARLEY_ERR_INVALID_STATE);
    client = client_new(mem, server);
    ck_assert_int_eq(parley_peer_connect(client, &s1), PARLEY_OK);
    ck_assert_int_eq(n_construct, 1);
    ck_assert_int_eq(seen_creds_status, PARLEY_OK);
    ck_assert_uint_eq(seen_creds.uid, (uint32_t)getuid());
    ck_assert_uint_eq(seen_creds.gid, (uint32_t)getgid());
    ck_assert_int_eq(seen_creds.pid, (int32_t)getpid());
    /* The client's own (outgoing) session has credentials too, no data. */
    {
        parley_credentials c;

        ck_assert_int_eq(parley_session_get_credentials(s1, &c), PARLEY_OK);
        ck_assert_int_eq(c.pid, (int32_t)getpid());
        ck_assert_ptr_null(parley_session_get_data(s1));
    }
    /* The handler sees its session's data, registers handles. */
    ck_assert_int_eq(call_add(s1, 40, 2, &v), PARLEY_OK);
    ck_assert_int_eq(v, 42);
    ck_assert_int_eq(n_cleanup, 1);   /* the one unregistered at once */
    ck_assert_int_eq(parley_peer_connect(client, &s2), PARLEY_OK);
    ck_assert_int_eq(call_add(s2, 1, 2, &v), PARLEY_OK);   /* s1's handle is INVALID in s2 */
    ck_assert_int_eq(v, 3);
    ck_assert_int_eq(n_cleanup, 2);

    /* A refused client gets ACCESS_DENIED; no destruct for it. */
    refuse = true;
    ck_assert_int_eq(parley_peer_connect(client, &s2 /* unchanged on failure */),
                     PARLEY_ERR_ACCESS_DENIED);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "refused the client"));
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "PARLEY_ERR_ACCESS_DENIED"));
    ck_assert_int_eq(n_construct, 3);
    refuse = false;

    /* Ending the sessions cleans their handles, then destruct runs. */
    parley_session_close(s1);
    parley_session_close(s2);
    ck_assert_int_eq(parley_peer_stop_listen(server), PARLEY_OK);
    ck_assert_int_eq(n_cleanup, 4);
    ck_assert_int_eq(n_destruct, 2);
    ck_assert_int_eq(destruct_data_ok, 2);
    talloc_free(client);
    talloc_free(server);
    ck_assert_uint_eq(talloc_total_blocks(mem), 1);
    talloc_free(mem);
    tp_tmpdir_remove(dir);
}
END_TEST

START_TEST(test_credentials_tcp_unsupported)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *server, *client;
    parley_session *s;
    parley_credentials c;

    reset_state();
    server = server_new(mem, "tcp:127.0.0.1:0");
    client = client_new(mem, server);
    ck_assert_int_eq(parley_peer_connect(client, &s), PARLEY_OK);
    ck_assert_int_eq(seen_creds_status, PARLEY_ERR_UNSUPPORTED);
    ck_assert_int_eq(parley_session_get_credentials(s, &c), PARLEY_ERR_UNSUPPORTED);
    ck_assert_int_eq(parley_session_get_credentials(NULL, &c), PARLEY_ERR_INVALID_ARGUMENT);
    parley_session_close(s);
    talloc_free(client);
    talloc_free(server);
    talloc_free(mem);
}
END_TEST

static atomic_int n_done;
static atomic_int n_done_ok;

static void echo_done(parley_call *call, parley_status status, void *data)
{
    (void)call;
    (void)data;
    if (status == PARLEY_OK)
        n_done_ok++;
    n_done++;
}

static void wait_for(atomic_int *counter, int value)
{
    for (int i = 0; i < 1000 && *counter < value; i++)
        usleep(5000);
    ck_assert_int_ge(*counter, value);
}

START_TEST(test_max_outstanding_busy)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const char *dir = tp_tmpdir();
    char ep[300];
    parley_peer *server, *client;
    parley_session *s;
    parley_call *calls[3];
    tp_echo req = { (char *)"x", { 0, NULL } };
    tp_echo *reps[3] = { NULL, NULL, NULL };

    reset_state();
    n_done = n_done_ok = 0;
    snprintf(ep, sizeof(ep), "unix:%s/s.sock", dir);
    server = server_new(mem, ep);
    ck_assert_int_eq(parley_peer_set_max_outstanding_calls(server, 0),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_set_max_outstanding_calls(server, 2), PARLEY_OK);
    client = client_new(mem, server);
    ck_assert_int_eq(parley_peer_connect(client, &s), PARLEY_OK);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(parley_session_acquire_call(s, &calls[i]), PARLEY_OK);
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(parley_call_dispatch(calls[i], TP_ECHO, &req, NULL, &reps[i], echo_done,
                                              NULL), PARLEY_PENDING);
    wait_for(&n_entered, 2);
    /* Both slots are taken: the third is refused at once, the session stays. */
    ck_assert_int_eq(parley_call_dispatch(calls[2], TP_ECHO, &req, mem, &reps[2], NULL, NULL),
                     PARLEY_ERR_BUSY);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "2 calls running"));
    ck_assert(parley_session_is_connected(s));
    pthread_mutex_lock(&gate_lock);
    gate_open = true;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
    wait_for(&n_done, 2);
    ck_assert_int_eq(n_done_ok, 2);
    /* Slots free again. */
    ck_assert_int_eq(parley_call_dispatch(calls[2], TP_ECHO, &req, mem, &reps[2], NULL, NULL),
                     PARLEY_OK);
    ck_assert_str_eq(reps[2]->text, "x");
    for (int i = 0; i < 3; i++)
        parley_call_release(calls[i]);
    parley_session_close(s);
    talloc_free(client);
    talloc_free(server);
    talloc_free(mem);
    tp_tmpdir_remove(dir);
}
END_TEST

START_TEST(test_max_handles)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const char *dir = tp_tmpdir();
    char ep[300];
    parley_peer *server, *client;
    parley_session *s;
    int32_t v = 0;

    reset_state();
    snprintf(ep, sizeof(ep), "unix:%s/s.sock", dir);
    server = server_new(mem, ep);
    ck_assert_int_eq(parley_peer_set_max_handles(server, 0), PARLEY_ERR_INVALID_ARGUMENT);
    /* Each ADD keeps one handle and briefly holds a second. */
    ck_assert_int_eq(parley_peer_set_max_handles(server, 3), PARLEY_OK);
    client = client_new(mem, server);
    ck_assert_int_eq(parley_peer_connect(client, &s), PARLEY_OK);
    ck_assert_int_eq(call_add(s, 1, 1, &v), PARLEY_OK);
    ck_assert_int_eq(call_add(s, 1, 1, &v), PARLEY_OK);
    ck_assert_int_eq(call_add(s, 1, 1, &v), PARLEY_ERR_BUSY);   /* 2 kept + 1: the 4th fails */
    ck_assert_int_eq(n_cleanup, 2);
    parley_session_close(s);
    ck_assert_int_eq(parley_peer_stop_listen(server), PARLEY_OK);
    ck_assert_int_eq(n_cleanup, 5);   /* 2 at unregister, 3 kept at the end */
    talloc_free(client);
    talloc_free(server);
    talloc_free(mem);
    tp_tmpdir_remove(dir);
}
END_TEST

/* A client process holding handles is killed: the server cleans them up. */
START_TEST(test_killed_client_handles)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const char *dir = tp_tmpdir();
    char ep[300];
    parley_peer *server;
    int ready[2], go[2];
    pid_t pid;
    char c = 0;
    int status = 0;

    reset_state();
    snprintf(ep, sizeof(ep), "unix:%s/s.sock", dir);
    /* Fork before the server peer starts its threads: a child forked from a
     * multi-threaded process may inherit a lock another thread held (malloc,
     * the runtime's own) and hang.  The child waits for "go". */
    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(go), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        parley_peer *client;
        parley_session *s;
        int32_t v = 0;
        int ok = 1;
        char g;

        close(ready[0]);
        close(go[1]);
        prctl(PR_SET_PDEATHSIG, SIGKILL);   /* never outlive a failed test */
        if (read(go[0], &g, 1) != 1)
            _exit(2);
        if (parley_peer_new(NULL, tp_protocol(TP_V1), &client) != PARLEY_OK ||
            parley_peer_add_connect_endpoint(client, ep) != PARLEY_OK ||
            parley_peer_connect(client, &s) != PARLEY_OK)
            ok = 0;
        for (int i = 0; ok && i < 3; i++)
            if (call_add(s, i, i, &v) != PARLEY_OK)
                ok = 0;
        {
            /* 'y', or 'n' and the failure's sentence for the parent's assertion */
            char msg[512];
            int n = snprintf(msg, sizeof(msg), "%c%s", ok ? 'y' : 'n',
                             ok ? "" : parley_error_message());
            if (write(ready[1], msg, (size_t)n) != n)
                _exit(2);
        }
        for (;;)
            pause();
    }
    close(ready[1]);
    close(go[0]);
    server = server_new(mem, ep);
    ck_assert_int_eq(write(go[1], "g", 1), 1);
    close(go[1]);
    {
        char msg[512] = "";
        ssize_t n = read(ready[0], msg, sizeof(msg) - 1);
        ck_assert_int_ge(n, 1);
        c = msg[0];
        ck_assert_msg(c == 'y', "the client process failed: %s", msg + 1);
    }
    close(ready[0]);
    ck_assert_int_eq(n_cleanup, 3);   /* the unregistered ones */
    /* The construct hook saw the client process's credentials. */
    ck_assert_int_eq(seen_creds_status, PARLEY_OK);
    ck_assert_int_eq(seen_creds.pid, (int32_t)pid);
    ck_assert_uint_eq(seen_creds.uid, (uint32_t)getuid());
    kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    wait_for(&n_destruct, 1);
    ck_assert_int_eq(n_cleanup, 6);   /* cleanups ran before destruct */
    talloc_free(server);
    talloc_free(mem);
    tp_tmpdir_remove(dir);
}
END_TEST

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int raw_connect(const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    ck_assert_uint_lt(strlen(path), sizeof(sa.sun_path));
    memcpy(sa.sun_path, path, strlen(path) + 1);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* Read until EOF (or an error), at most limit_s; true if the end came. */
static bool read_until_eof(int fd, double limit_s)
{
    double end = now_s() + limit_s;
    char buf[4096];

    while (now_s() < end) {
        struct pollfd p = { fd, POLLIN, 0 };
        ssize_t n;

        if (poll(&p, 1, 100) <= 0)
            continue;
        n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            return true;
    }
    return false;
}

/* A client that connects and sends nothing is closed after the establish
 * timeout; a client that waits for a silent server gets TIMEOUT. */
START_TEST(test_establish_timeout)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const char *dir = tp_tmpdir();
    char ep[320], path[300], silent[300];
    parley_peer *server, *client;
    parley_session *s;
    int fd, lfd;
    double t0, dt;
    struct sockaddr_un sa;

    reset_state();
    snprintf(path, sizeof(path), "%s/s.sock", dir);
    snprintf(ep, sizeof(ep), "unix:%s", path);
    server = server_new(mem, ep);
    ck_assert_int_eq(parley_peer_set_timeout(server, PARLEY_TIMEOUT_ESTABLISH, 500), PARLEY_OK);
    t0 = now_s();
    fd = raw_connect(path);
    ck_assert(read_until_eof(fd, 5.0));
    dt = now_s() - t0;
    ck_assert_msg(dt >= 0.49, "closed before the establish timeout, after %.3f s", dt);
    close(fd);
    /* The server is fine for a real client. */
    client = client_new(mem, server);
    ck_assert_int_eq(parley_peer_connect(client, &s), PARLEY_OK);
    parley_session_close(s);

    /* Client side: a listener that never answers. */
    snprintf(silent, sizeof(silent), "%s/silent.sock", dir);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    ck_assert_uint_lt(strlen(silent), sizeof(sa.sun_path));
    memcpy(sa.sun_path, silent, strlen(silent) + 1);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(lfd, 4), 0);
    {
        parley_peer *c2;
        char cep[320];

        snprintf(cep, sizeof(cep), "unix:%s", silent);
        ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &c2), PARLEY_OK);
        ck_assert_int_eq(parley_peer_add_connect_endpoint(c2, cep), PARLEY_OK);
        ck_assert_int_eq(parley_peer_set_timeout(c2, PARLEY_TIMEOUT_ESTABLISH, 300), PARLEY_OK);
        t0 = now_s();
        ck_assert_int_eq(parley_peer_connect(c2, &s), PARLEY_ERR_TIMEOUT);
        dt = now_s() - t0;
        ck_assert_msg(dt >= 0.29, "TIMEOUT before the establish timeout, after %.3f s", dt);
        talloc_free(c2);
    }
    close(lfd);
    talloc_free(client);
    talloc_free(server);
    ck_assert_int_eq(n_construct, 2);
    ck_assert_int_eq(n_destruct, 2);
    talloc_free(mem);
    tp_tmpdir_remove(dir);
}
END_TEST

/* An idle session is closed by the server; calls running keep it open; the
 * client's next call fails with CONNECTION_CLOSED and it reconnects itself. */
START_TEST(test_idle_timeout)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const char *dir = tp_tmpdir();
    char ep[300];
    parley_peer *server, *client;
    parley_session *s;
    parley_call *call;
    tp_echo req = { (char *)"x", { 0, NULL } };
    tp_echo *rep = NULL;
    int32_t v = 0;

    reset_state();
    n_done = n_done_ok = 0;
    snprintf(ep, sizeof(ep), "unix:%s/s.sock", dir);
    server = server_new(mem, ep);
    ck_assert_int_eq(parley_peer_set_timeout(server, PARLEY_TIMEOUT_IDLE, 400), PARLEY_OK);
    __atomic_store_n(&server_exceptions, 0, __ATOMIC_SEQ_CST);
    client = client_new(mem, server);
    ck_assert_int_eq(parley_peer_connect(client, &s), PARLEY_OK);

    /* A call running for longer than the idle period keeps the session. */
    ck_assert_int_eq(parley_session_acquire_call(s, &call), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(call, TP_ECHO, &req, NULL, &rep, echo_done, NULL),
                     PARLEY_PENDING);
    wait_for(&n_entered, 1);
    usleep(1000 * 1000);
    ck_assert(parley_session_is_connected(s));
    pthread_mutex_lock(&gate_lock);
    gate_open = true;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
    wait_for(&n_done, 1);
    ck_assert_int_eq(n_done_ok, 1);
    parley_call_release(call);

    /* Then nothing happens: the idle timeout closes it (bounded wait). */
    for (int i = 0; i < 2000 && parley_session_is_connected(s); i++)
        usleep(5000);
    ck_assert(!parley_session_is_connected(s));
    ck_assert_int_eq(call_add(s, 1, 2, &v), PARLEY_ERR_CONNECTION_CLOSED);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "idle"));
    /* a configured idle close is not an unexpected error on the server */
    ck_assert_int_eq(__atomic_load_n(&server_exceptions, __ATOMIC_SEQ_CST), 0);
    parley_session_close(s);
    /* No automatic reconnect: a new session works. */
    ck_assert_int_eq(parley_peer_connect(client, &s), PARLEY_OK);
    ck_assert_int_eq(call_add(s, 1, 2, &v), PARLEY_OK);
    ck_assert_int_eq(v, 3);
    parley_session_close(s);
    talloc_free(client);
    talloc_free(server);
    talloc_free(mem);
    tp_tmpdir_remove(dir);
}
END_TEST

/* ---- 200 connections against max clients 50 and backlog 20 ------------ */

#define N_CONN 200

typedef struct storm {
    parley_peer *client;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int ok, busy, other, finished;
    bool release;
} storm;

static void *storm_thread(void *data)
{
    storm *st = data;
    parley_session *s = NULL;
    parley_status rc = parley_peer_connect(st->client, &s);
    int32_t v = 0;

    pthread_mutex_lock(&st->lock);
    if (rc == PARLEY_OK)
        st->ok++;
    else if (rc == PARLEY_ERR_BUSY)
        st->busy++;
    else {
        st->other++;
        fprintf(stderr, "storm: connect gave %s: %s\n", parley_status_name(rc),
                parley_error_message());
    }
    pthread_cond_broadcast(&st->cond);
    while (rc == PARLEY_OK && !st->release)
        pthread_cond_wait(&st->cond, &st->lock);
    pthread_mutex_unlock(&st->lock);
    if (rc == PARLEY_OK) {
        if (call_add(s, 2, 3, &v) != PARLEY_OK || v != 5) {
            pthread_mutex_lock(&st->lock);
            st->other++;
            pthread_mutex_unlock(&st->lock);
        }
        parley_session_close(s);
    }
    pthread_mutex_lock(&st->lock);
    st->finished++;
    pthread_cond_broadcast(&st->cond);
    pthread_mutex_unlock(&st->lock);
    return NULL;
}

/* The child process: N_CONN connects at once; the served ones hold their
 * session until every connect not waiting for a slot has an answer. */
static void storm_child(const char *ep, int go_fd, int out_fd)
{
    storm st;
    pthread_t th[N_CONN];
    struct timespec deadline;
    char c;
    char line[64];
    int n;

    memset(&st, 0, sizeof(st));
    pthread_mutex_init(&st.lock, NULL);
    pthread_cond_init(&st.cond, NULL);
    if (read(go_fd, &c, 1) != 1)
        _exit(3);
    /* Waiting for a slot may take long under valgrind: wait up to 60 s. */
    if (parley_peer_new(NULL, tp_protocol(TP_V1), &st.client) != PARLEY_OK ||
        parley_peer_add_connect_endpoint(st.client, ep) != PARLEY_OK ||
        parley_peer_set_timeout(st.client, PARLEY_TIMEOUT_ESTABLISH, 60000) != PARLEY_OK)
        _exit(4);
    for (int i = 0; i < N_CONN; i++)
        if (pthread_create(&th[i], NULL, storm_thread, &st) != 0)
            _exit(5);
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 20;
    pthread_mutex_lock(&st.lock);
    while (st.ok + st.busy + st.other < N_CONN - 20 &&
           pthread_cond_timedwait(&st.cond, &st.lock, &deadline) == 0)
        ;
    st.release = true;
    pthread_cond_broadcast(&st.cond);
    pthread_mutex_unlock(&st.lock);
    for (int i = 0; i < N_CONN; i++)
        pthread_join(th[i], NULL);
    n = snprintf(line, sizeof(line), "%d %d %d %d\n", st.ok, st.busy, st.other, st.finished);
    if (write(out_fd, line, (size_t)n) != n)
        _exit(6);
    talloc_free(st.client);
    _exit(0);
}

START_TEST(test_max_clients_and_backlog)
{
    TALLOC_CTX *mem;   /* made after the fork: the child frees what it makes */
    const char *dir = tp_tmpdir();
    char ep[300], line[64];
    parley_peer *server;
    int go[2], out[2];
    int ok = -1, busy = -1, other = -1, finished = -1, status = 0;
    pid_t pid;
    ssize_t n;

    reset_state();
    snprintf(ep, sizeof(ep), "unix:%s/s.sock", dir);
    ck_assert_int_eq(pipe(go), 0);
    ck_assert_int_eq(pipe(out), 0);
    pid = fork();   /* before the server's threads exist */
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(go[1]);
        close(out[0]);
        storm_child(ep, go[0], out[1]);
    }
    close(go[0]);
    close(out[1]);
    mem = talloc_new(NULL);
    {
        parley_peer *srv;
        parley_dispatch table[] = { { TP_ADD, h_add, PARLEY_BLOCKING } };

        ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &srv), PARLEY_OK);
        ck_assert_int_eq(parley_peer_add_dispatch(srv, table, 1, NULL), PARLEY_OK);
        ck_assert_int_eq(parley_peer_set_max_clients(srv, 0), PARLEY_ERR_INVALID_ARGUMENT);
        ck_assert_int_eq(parley_peer_set_max_clients(srv, 50), PARLEY_OK);
        ck_assert_int_eq(parley_peer_set_listen_backlog(srv, 20), PARLEY_OK);
        ck_assert_int_eq(parley_peer_add_listen_endpoint(srv, ep, 0), PARLEY_OK);
        ck_assert_int_eq(parley_peer_start_listen(srv), PARLEY_OK);
        ck_assert_int_eq(parley_peer_set_max_clients(srv, 10), PARLEY_ERR_INVALID_STATE);
        server = srv;
    }
    ck_assert_int_eq(write(go[1], "g", 1), 1);
    {
        struct pollfd p = { out[0], POLLIN, 0 };

        ck_assert_msg(poll(&p, 1, 120000) == 1, "the clients did not finish in 120 s");
    }
    n = read(out[0], line, sizeof(line) - 1);
    ck_assert_int_gt(n, 0);
    line[n] = '\0';
    ck_assert_int_eq(sscanf(line, "%d %d %d %d", &ok, &busy, &other, &finished), 4);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "client process status %#x",
                  (unsigned)status);
    /* 50 served at once, 20 waited and were served, 130 told BUSY. */
    ck_assert_int_eq(finished, N_CONN);
    ck_assert_int_eq(other, 0);
    ck_assert_int_eq(ok, 70);
    ck_assert_int_eq(busy, 130);
    close(go[1]);
    close(out[0]);
    talloc_free(server);
    talloc_free(mem);
    tp_tmpdir_remove(dir);
}
END_TEST

/* Over TCP too, a client beyond max clients + backlog gets BUSY (not a
 * reset), and is served once the slot is free again. */
START_TEST(test_busy_tcp)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *server, *client;
    parley_session *s1, *s2 = NULL;
    parley_dispatch table[] = { { TP_ADD, h_add, PARLEY_BLOCKING } };
    parley_status st = PARLEY_ERR_BUSY;
    int32_t v = 0;

    reset_state();
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_dispatch(server, table, 1, NULL), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_max_clients(server, 1), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_listen_backlog(server, 0), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_listen_endpoint(server, "tcp:127.0.0.1:0", 0), PARLEY_OK);
    ck_assert_int_eq(parley_peer_start_listen(server), PARLEY_OK);
    client = client_new(mem, server);
    ck_assert_int_eq(parley_peer_connect(client, &s1), PARLEY_OK);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(parley_peer_connect(client, &s2), PARLEY_ERR_BUSY);
        ck_assert_ptr_nonnull(strstr(parley_error_message(), "busy"));
    }
    ck_assert_int_eq(call_add(s1, 2, 2, &v), PARLEY_OK);
    parley_session_close(s1);
    /* The slot frees once the server has seen the close. */
    for (int i = 0; i < 500 && st == PARLEY_ERR_BUSY; i++) {
        st = parley_peer_connect(client, &s2);
        if (st == PARLEY_ERR_BUSY)
            usleep(10000);
    }
    ck_assert_int_eq(st, PARLEY_OK);
    ck_assert_int_eq(call_add(s2, 2, 3, &v), PARLEY_OK);
    ck_assert_int_eq(v, 5);
    parley_session_close(s2);
    talloc_free(client);
    talloc_free(server);
    talloc_free(mem);
}
END_TEST

Suite *parley_sessions_suite(void)
{
    Suite *s = suite_create("sessions");
    TCase *tc = tcase_create("hooks");
    TCase *storm_tc = tcase_create("limits");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_hooks_and_credentials);
    tcase_add_test(tc, test_credentials_tcp_unsupported);
    tcase_add_test(tc, test_max_outstanding_busy);
    tcase_add_test(tc, test_max_handles);
    tcase_add_test(tc, test_killed_client_handles);
    tcase_add_test(tc, test_establish_timeout);
    tcase_add_test(tc, test_idle_timeout);
    suite_add_tcase(s, tc);
    /* 200 connections: seconds normally, longer under valgrind. */
    tcase_set_timeout(storm_tc, 150);
    tcase_add_test(storm_tc, test_max_clients_and_backlog);
    tcase_add_test(storm_tc, test_busy_tcp);
    suite_add_tcase(s, storm_tc);
    return s;
}
