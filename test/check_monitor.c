/* SPDX-License-Identifier: MIT */
/* Seeing what goes over a connection: trace functions reading the call's
 * values, debug lines (parley_peer_set_debug(), the log function,
 * PARLEY_DEBUG), and monitors (parley_session_monitor()): a monitor sees
 * other clients' calls with [sensitive] fields redacted; turned off or
 * another uid, it is refused. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <talloc.h>

#include "parley.h"
#include "kv.h"

#define SECRET "hunter2-the-secret"

static parley_status get_impl(parley_call *call, const kv_get_request *in, kv_get_reply *out,
                              void *data)
{
    (void)call;
    (void)data;
    out->e = talloc_zero(out, kv_entry);
    if (out->e == NULL)
        return PARLEY_ERR_NOMEM;
    out->e->key = talloc_strdup(out->e, in->key);
    out->e->secret = talloc_strdup(out->e, SECRET);
    out->e->version = 42;
    return PARLEY_OK;
}

static void socket_path(TALLOC_CTX *mem, char *ep, size_t size)
{
    snprintf(ep, size, "unix:/tmp/parley-monitor-%d-%p.sock", (int)getpid(), (void *)mem);
}

static parley_peer *server_new(TALLOC_CTX *mem, const char *ep, mode_t mode)
{
    static const kv_handlers handlers = { .get = { get_impl, PARLEY_NONBLOCKING } };
    parley_peer *server = NULL;

    ck_assert_int_eq(parley_peer_new(mem, &kv_protocol, &server), PARLEY_OK);
    ck_assert_int_eq(kv_register(server, &handlers, NULL), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_listen_endpoint(server, ep, mode), PARLEY_OK);
    return server;
}

static parley_session *client_new(TALLOC_CTX *mem, const char *ep, parley_peer **ret_peer)
{
    parley_session *s = NULL;

    ck_assert_int_eq(parley_peer_new(mem, &kv_protocol, ret_peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_connect_endpoint(*ret_peer, ep), PARLEY_OK);
    ck_assert_msg(parley_peer_connect(*ret_peer, &s) == PARLEY_OK, "%s", parley_error_message());
    return s;
}

static void call_get(parley_session *s, const char *key)
{
    kv_get_request in = { .key = (char *)key };
    kv_get_reply *out = NULL;

    ck_assert_msg(kv_get(s, &in, NULL, &out) == PARLEY_OK, "%s", parley_error_message());
    ck_assert_str_eq(out->e->secret, SECRET);   /* the client does get it */
    talloc_free(out);
}

/* ---- trace functions with values ------------------------------------------ */

typedef struct traced {
    pthread_mutex_t lock;
    int begins, ends;
    char request[512], reply[512];
    parley_status outside;
} traced;

static void trace_begin(parley_call *call, parley_status st, void *data)
{
    traced *t = data;
    const parley_type *type = NULL;
    const void *value = NULL;
    char *text = NULL;

    (void)st;
    ck_assert_int_eq(parley_call_get_request(call, &type, &value), PARLEY_OK);
    ck_assert_ptr_eq(type, &kv_get_request_type);
    ck_assert_int_eq(parley_data_print(NULL, type, value, &text), PARLEY_OK);
    /* no reply yet */
    ck_assert_int_eq(parley_call_get_reply(call, &type, (void **)&value), PARLEY_ERR_INVALID_STATE);
    pthread_mutex_lock(&t->lock);
    t->begins++;
    snprintf(t->request, sizeof(t->request), "%s", text);
    pthread_mutex_unlock(&t->lock);
    talloc_free(text);
}

static void trace_end(parley_call *call, parley_status st, void *data)
{
    traced *t = data;
    const parley_type *type = NULL;
    const void *value = NULL;
    char *text = NULL;

    ck_assert_int_eq(st, PARLEY_OK);
    ck_assert_int_eq(parley_call_get_reply(call, &type, (void **)&value), PARLEY_OK);
    ck_assert_ptr_eq(type, &kv_get_reply_type);
    ck_assert_int_eq(parley_data_print(NULL, type, value, &text), PARLEY_OK);
    pthread_mutex_lock(&t->lock);
    t->ends++;
    snprintf(t->reply, sizeof(t->reply), "%s", text);
    pthread_mutex_unlock(&t->lock);
    talloc_free(text);
}

START_TEST(test_trace_values)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    traced st = { .lock = PTHREAD_MUTEX_INITIALIZER }, ct = { .lock = PTHREAD_MUTEX_INITIALIZER };
    char ep[200];
    parley_peer *server, *client = NULL;
    parley_session *s;
    const void *value = NULL;

    socket_path(mem, ep, sizeof(ep));
    server = server_new(mem, ep, 0600);
    ck_assert_int_eq(parley_peer_set_trace_functions(server, trace_begin, trace_end, &st),
                     PARLEY_OK);
    ck_assert_int_eq(parley_peer_start_listen(server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_new(mem, &kv_protocol, &client), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_trace_functions(client, trace_begin, trace_end, &ct),
                     PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_connect_endpoint(client, ep), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect(client, &s), PARLEY_OK);
    call_get(s, "apple");
    parley_session_close(s);
    talloc_free(client);
    talloc_free(server);   /* every handler and trace done */

    ck_assert_int_eq(st.begins, 1);
    ck_assert_int_eq(st.ends, 1);
    ck_assert_int_eq(ct.begins, 1);
    ck_assert_int_eq(ct.ends, 1);
    ck_assert_ptr_nonnull(strstr(st.request, "apple"));
    ck_assert_ptr_nonnull(strstr(ct.request, "apple"));
    /* the reply, printed redacted on both ends */
    ck_assert_ptr_nonnull(strstr(st.reply, "apple"));
    ck_assert_ptr_nonnull(strstr(ct.reply, "apple"));
    ck_assert_ptr_nonnull(strstr(st.reply, "<redacted>"));
    ck_assert_ptr_null(strstr(st.reply, SECRET));
    ck_assert_ptr_null(strstr(ct.reply, SECRET));
    /* outside a trace function: refused */
    ck_assert_int_eq(parley_call_get_request(NULL, NULL, &value), PARLEY_ERR_INVALID_ARGUMENT);
    talloc_free(mem);
}
END_TEST

/* ---- debug lines ------------------------------------------------------------ */

typedef struct lines {
    pthread_mutex_t lock;
    char *all;    /* under a NULL context */
} lines;

static void log_line(parley_peer *peer, const char *line, void *data)
{
    lines *l = data;

    (void)peer;
    ck_assert_ptr_null(strchr(line, '\n'));
    pthread_mutex_lock(&l->lock);
    l->all = talloc_asprintf_append(l->all, "%s\n", line);
    pthread_mutex_unlock(&l->lock);
}

START_TEST(test_debug_lines)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    lines l = { .lock = PTHREAD_MUTEX_INITIALIZER, .all = talloc_strdup(NULL, "") };
    char ep[200];
    parley_peer *server, *client = NULL;
    parley_session *s;

    socket_path(mem, ep, sizeof(ep));
    server = server_new(mem, ep, 0600);
    ck_assert_int_eq(parley_peer_set_debug(server, 0x80), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_set_debug(server, PARLEY_DEBUG_FRAMES | PARLEY_DEBUG_VALUES),
                     PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_log_function(server, log_line, &l), PARLEY_OK);
    ck_assert_int_eq(parley_peer_start_listen(server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_debug(server, 0), PARLEY_ERR_INVALID_STATE);
    s = client_new(mem, ep, &client);
    call_get(s, "pear");
    parley_session_close(s);
    talloc_free(client);
    talloc_free(server);

    ck_assert_msg(strstr(l.all, " dir=in kind=call id=") != NULL, "%s", l.all);
    ck_assert_msg(strstr(l.all, " method=get status=OK time_us=") != NULL, "%s", l.all);
    ck_assert_msg(strstr(l.all, "kind=frame frame=HELLO") != NULL, "%s", l.all);
    ck_assert_msg(strstr(l.all, "dir=in kind=frame frame=CALL") != NULL, "%s", l.all);
    /* the server's own frames: its HELLO and the reply */
    ck_assert_msg(strstr(l.all, "dir=out kind=frame frame=HELLO") != NULL, "%s", l.all);
    ck_assert_msg(strstr(l.all, "dir=out kind=frame frame=REPLY") != NULL, "%s", l.all);
    ck_assert_msg(strstr(l.all, "pear") != NULL, "%s", l.all);
    ck_assert_msg(strstr(l.all, SECRET) == NULL, "%s", l.all);
    if (parley_json_available())
        ck_assert_msg(strstr(l.all, "$redacted") != NULL, "%s", l.all);
    talloc_free(l.all);
    talloc_free(mem);
}
END_TEST

/* PARLEY_DEBUG read when the peer is created; lines to the log function. */
START_TEST(test_debug_env)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    lines l = { .lock = PTHREAD_MUTEX_INITIALIZER, .all = talloc_strdup(NULL, "") };
    char ep[200];
    parley_peer *server, *client = NULL;
    parley_session *s;

    socket_path(mem, ep, sizeof(ep));
    setenv("PARLEY_DEBUG", "calls,nonsense", 1);
    server = server_new(mem, ep, 0600);
    unsetenv("PARLEY_DEBUG");
    ck_assert_int_eq(parley_peer_set_log_function(server, log_line, &l), PARLEY_OK);
    ck_assert_int_eq(parley_peer_start_listen(server), PARLEY_OK);
    s = client_new(mem, ep, &client);
    call_get(s, "plum");
    parley_session_close(s);
    talloc_free(client);
    talloc_free(server);
    ck_assert_msg(strstr(l.all, " method=get status=OK") != NULL, "%s", l.all);
    ck_assert_msg(strstr(l.all, "kind=frame") == NULL, "%s", l.all);   /* calls only */
    ck_assert_msg(strstr(l.all, "plum") == NULL, "%s", l.all);         /* no values */
    talloc_free(l.all);
    talloc_free(mem);
}
END_TEST

/* ---- monitors ---------------------------------------------------------------- */

typedef struct watched {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int n;
    char method[64], request[512], reply[512];
    bool outgoing;
    parley_status status;
} watched;

static void on_event(parley_session *session, const parley_monitor_event *ev, void *data)
{
    watched *w = data;

    (void)session;
    pthread_mutex_lock(&w->lock);
    w->n++;
    snprintf(w->method, sizeof(w->method), "%s", ev->method);
    snprintf(w->request, sizeof(w->request), "%s", ev->request);
    snprintf(w->reply, sizeof(w->reply), "%s", ev->reply);
    w->outgoing = ev->outgoing;
    w->status = ev->status;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static parley_status monitor(TALLOC_CTX *mem, const char *ep, parley_peer **ret_peer,
                             parley_session **ret_session, watched *w)
{
    ck_assert_int_eq(parley_peer_new_introspector(mem, ret_peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_connect_endpoint(*ret_peer, ep), PARLEY_OK);
    ck_assert_msg(parley_peer_connect(*ret_peer, ret_session) == PARLEY_OK, "%s",
                  parley_error_message());
    return parley_session_monitor(*ret_session, 10000, on_event, w);
}

START_TEST(test_monitor_sees_others)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    watched w = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
    char ep[200];
    parley_peer *server, *client = NULL, *mon = NULL;
    parley_session *s, *ms = NULL;
    struct timespec ts;

    socket_path(mem, ep, sizeof(ep));
    server = server_new(mem, ep, 0600);
    ck_assert_int_eq(parley_peer_start_listen(server), PARLEY_OK);
    ck_assert_msg(monitor(mem, ep, &mon, &ms, &w) == PARLEY_OK, "%s", parley_error_message());
    ck_assert_int_eq(parley_session_monitor(ms, 1000, on_event, &w), PARLEY_ERR_INVALID_STATE);
    s = client_new(mem, ep, &client);
    call_get(s, "quince");

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 20;
    pthread_mutex_lock(&w.lock);
    while (w.n == 0 && pthread_cond_timedwait(&w.cond, &w.lock, &ts) == 0)
        ;
    ck_assert_int_ge(w.n, 1);
    ck_assert_str_eq(w.method, "get");
    ck_assert_int_eq(w.status, PARLEY_OK);
    ck_assert(!w.outgoing);
    ck_assert_msg(strstr(w.request, "quince") != NULL, "%s", w.request);
    ck_assert_msg(strstr(w.reply, "quince") != NULL, "%s", w.reply);
    ck_assert_msg(strstr(w.reply, SECRET) == NULL, "%s", w.reply);
    pthread_mutex_unlock(&w.lock);

    parley_session_close(s);
    parley_session_close(ms);
    talloc_free(client);
    talloc_free(mon);
    talloc_free(server);
    talloc_free(mem);
}
END_TEST

/* A monitor that stops reading costs the server nothing: its calls go on,
 * events are dropped, and the next event delivered says how many. */
typedef struct slow {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stalled, release;
    unsigned long long events, dropped;
} slow;

static void on_event_slow(parley_session *session, const parley_monitor_event *ev, void *data)
{
    slow *w = data;

    (void)session;
    pthread_mutex_lock(&w->lock);
    w->events++;
    w->dropped += ev->dropped;
    w->stalled = true;
    pthread_cond_broadcast(&w->cond);
    while (!w->release)   /* the monitor's I/O thread stops reading */
        pthread_cond_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

START_TEST(test_monitor_slow_drops)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    slow w = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
    char ep[200], key[201];
    parley_peer *server, *client = NULL, *mon = NULL;
    parley_session *s, *ms = NULL;
    struct timespec ts;
    unsigned long long dropped = 0;

    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    socket_path(mem, ep, sizeof(ep));
    server = server_new(mem, ep, 0600);
    ck_assert_int_eq(parley_peer_start_listen(server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_new_introspector(mem, &mon), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_connect_endpoint(mon, ep), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect(mon, &ms), PARLEY_OK);
    ck_assert_msg(parley_session_monitor(ms, 10000, on_event_slow, &w) == PARLEY_OK, "%s",
                  parley_error_message());
    s = client_new(mem, ep, &client);
    /* ~1 KiB per event: 4000 calls are far beyond the socket buffers and
     * the 64 KiB backlog; every call completes all the same */
    for (int i = 0; i < 4000; i++)
        call_get(s, key);

    pthread_mutex_lock(&w.lock);
    ck_assert(w.stalled);
    w.release = true;
    pthread_cond_broadcast(&w.cond);
    pthread_mutex_unlock(&w.lock);
    /* calls until an event carries the count of those dropped */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    for (int i = 0; i < 2000 && dropped == 0; i++) {
        struct timespec now;

        call_get(s, "after");
        usleep(5000);
        pthread_mutex_lock(&w.lock);
        dropped = w.dropped;
        pthread_mutex_unlock(&w.lock);
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - ts.tv_sec > 30)
            break;
    }
    ck_assert_msg(dropped > 0, "no event said it followed dropped ones (%llu events)", w.events);
    ck_assert_uint_lt(w.events, 4000);
    parley_session_close(s);
    parley_session_close(ms);
    talloc_free(client);
    talloc_free(mon);
    talloc_free(server);
    talloc_free(mem);
}
END_TEST

START_TEST(test_monitor_off)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    watched w = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
    char ep[200];
    parley_peer *server, *mon = NULL;
    parley_session *ms = NULL;

    socket_path(mem, ep, sizeof(ep));
    server = server_new(mem, ep, 0600);
    ck_assert_int_eq(parley_peer_set_monitor(server, (parley_monitor_access)7),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_set_monitor(server, PARLEY_MONITOR_OFF), PARLEY_OK);
    ck_assert_int_eq(parley_peer_start_listen(server), PARLEY_OK);
    ck_assert_int_eq(monitor(mem, ep, &mon, &ms, &w), PARLEY_ERR_ACCESS_DENIED);
    ck_assert_msg(strstr(parley_error_message(), "turned off") != NULL, "%s",
                  parley_error_message());
    parley_session_close(ms);
    talloc_free(mon);
    talloc_free(server);
    talloc_free(mem);
}
END_TEST

/* A client of another uid is refused (as root: the monitor runs setuid
 * 65534 in a child). */
START_TEST(test_monitor_other_uid)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    char ep[200];
    parley_peer *server;
    pid_t pid;
    int status = 0;

    if (geteuid() != 0) {
        fprintf(stderr, "SKIP: monitor refused to another uid: needs root (setuid)\n");
        talloc_free(mem);
        return;
    }
    socket_path(mem, ep, sizeof(ep));
    /* the child is forked before any thread exists; it waits for the socket */
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        watched w = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
        parley_peer *mon = NULL;
        parley_session *ms = NULL;
        parley_status st;
        struct stat sb;
        int code = 0;

        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(3);
        for (int i = 0; i < 400 && stat(ep + strlen("unix:"), &sb) != 0; i++)
            usleep(50000);
        for (int i = 0; ms == NULL; i++) {   /* bound, maybe not listening yet */
            talloc_free(mon);
            mon = NULL;
            if (parley_peer_new_introspector(NULL, &mon) != PARLEY_OK ||
                parley_peer_add_connect_endpoint(mon, ep) != PARLEY_OK)
                _exit(4);
            if (parley_peer_connect(mon, &ms) != PARLEY_OK) {
                ms = NULL;
                if (i == 100)
                    _exit(4);
                usleep(50000);
            }
        }
        st = parley_session_monitor(ms, 10000, on_event, &w);
        if (st != PARLEY_ERR_ACCESS_DENIED)
            code = 5;
        else if (strstr(parley_error_message(), "65534") == NULL)
            code = 6;
        parley_session_close(ms);
        talloc_free(mon);
        talloc_free(mem);
        _exit(code);
    }
    server = server_new(mem, ep, 0666);
    ck_assert_int_eq(parley_peer_start_listen(server), PARLEY_OK);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    talloc_free(server);
    talloc_free(mem);
}
END_TEST

static Suite *monitor_suite(void)
{
    Suite *s = suite_create("monitor");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_trace_values);
    tcase_add_test(tc, test_debug_lines);
    tcase_add_test(tc, test_debug_env);
    tcase_add_test(tc, test_monitor_sees_others);
    tcase_add_test(tc, test_monitor_slow_drops);
    tcase_add_test(tc, test_monitor_off);
    tcase_add_test(tc, test_monitor_other_uid);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(monitor_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
