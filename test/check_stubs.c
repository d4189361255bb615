/* Runtime through generated stubs: parley-idl's kv.h (test/idl/ok/kv.idl)
 * served and called over a real socketpair between two peers: synchronous
 * and asynchronous calls, a oneway method, a server calling back the client
 * (kv_watch.changed) from inside a handler, an unserved method. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <check.h>

#include "kv.h"

typedef struct server_state {
    pthread_mutex_t lock;
    int logs;
} server_state;

typedef struct client_state {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char key[64];
    uint64_t version;
    int changed;
    int done_runs;
    parley_status done_status;
} client_state;

static parley_status s_put(parley_call *call, const kv_put_request *in, kv_put_reply *out,
                           void *data)
{
    kv_changed_request note = { in->key, in->value.len + 1 };
    kv_changed_reply *rep = NULL;
    TALLOC_CTX *tmp = talloc_new(NULL);
    parley_status st;

    (void)data;
    out->version = in->value.len + 1;
    /* Tell the caller, on its own session, before replying. */
    st = kv_changed(parley_call_get_session(call), &note, tmp, &rep);
    talloc_free(tmp);
    return st;
}

static parley_status s_get(parley_call *call, const kv_get_request *in, kv_get_reply *out,
                           void *data)
{
    server_state *ss = data;
    kv_entry *e;

    (void)call;
    if (strcmp(in->key, "missing") == 0)
        return PARLEY_OK;   /* e stays NULL */
    e = talloc_zero(out, kv_entry);
    if (e == NULL)
        return PARLEY_ERR_NOMEM;
    e->key = talloc_strdup(e, in->key);
    e->secret = talloc_strdup(e, "hush");
    pthread_mutex_lock(&ss->lock);
    e->version = (uint64_t)ss->logs;
    pthread_mutex_unlock(&ss->lock);
    e->flags[3] = -1;
    out->e = e;
    return PARLEY_OK;
}

static parley_status s_log(parley_call *call, const kv_log_request *in, void *data)
{
    server_state *ss = data;

    (void)call; (void)in;
    pthread_mutex_lock(&ss->lock);
    ss->logs++;
    pthread_mutex_unlock(&ss->lock);
    return PARLEY_OK;
}

static parley_status c_changed(parley_call *call, const kv_changed_request *in,
                               kv_changed_reply *out, void *data)
{
    client_state *cs = data;

    (void)call; (void)out;
    pthread_mutex_lock(&cs->lock);
    snprintf(cs->key, sizeof(cs->key), "%s", in->key);
    cs->version = in->version;
    cs->changed++;
    pthread_mutex_unlock(&cs->lock);
    return PARLEY_OK;
}

static void get_done(parley_call *call, parley_status status, void *data)
{
    client_state *cs = data;

    (void)call;
    pthread_mutex_lock(&cs->lock);
    cs->done_runs++;
    cs->done_status = status;
    pthread_cond_signal(&cs->cond);
    pthread_mutex_unlock(&cs->lock);
}

START_TEST(test_kv_stubs)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    TALLOC_CTX *replies = talloc_new(NULL);
    server_state ss = { PTHREAD_MUTEX_INITIALIZER, 0 };
    client_state cs;
    kv_handlers sh, ch;
    parley_peer *server, *client;
    parley_session *session;
    parley_call *call;
    int sv[2];
    uint8_t value[5] = { 1, 2, 3, 4, 5 };
    kv_put_request put = { (char *)"alpha", { sizeof(value), value } };
    kv_put_reply *put_rep = NULL;
    kv_get_request get = { (char *)"alpha" };
    kv_get_reply *get_rep = NULL;
    kv_log_request log = { (char *)"a line" };
    kv_stat_request stat = { 0 };
    kv_stat_reply *stat_rep = NULL;

    memset(&cs, 0, sizeof(cs));
    pthread_mutex_init(&cs.lock, NULL);
    pthread_cond_init(&cs.cond, NULL);
    memset(&sh, 0, sizeof(sh));
    sh.put.fn = s_put;
    sh.put.mode = PARLEY_BLOCKING;
    sh.get.fn = s_get;
    sh.get.mode = PARLEY_NONBLOCKING;
    sh.log.fn = s_log;
    sh.log.mode = PARLEY_NONBLOCKING;
    memset(&ch, 0, sizeof(ch));
    ch.changed.fn = c_changed;
    ch.changed.mode = PARLEY_NONBLOCKING;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(parley_peer_new(mem, &kv_protocol, &server), PARLEY_OK);
    ck_assert_int_eq(kv_register(server, &sh, &ss), PARLEY_OK);
    ck_assert_int_eq(parley_peer_accept_fd(server, sv[1]), PARLEY_OK);
    ck_assert_int_eq(parley_peer_new(mem, &kv_protocol, &client), PARLEY_OK);
    ck_assert_int_eq(kv_register(client, &ch, &cs), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect_fd(client, sv[0], &session), PARLEY_OK);

    /* Synchronous put; the server calls changed back before it replies. */
    ck_assert_int_eq(kv_put(session, &put, replies, &put_rep), PARLEY_OK);
    ck_assert_uint_eq(put_rep->version, 6);
    ck_assert_int_eq(cs.changed, 1);
    ck_assert_str_eq(cs.key, "alpha");
    ck_assert_uint_eq(cs.version, 6);

    /* Oneway logs, then a get that runs after them on the server. */
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(kv_log(session, &log), PARLEY_OK);
    ck_assert_int_eq(kv_get(session, &get, replies, &get_rep), PARLEY_OK);
    ck_assert_ptr_nonnull(get_rep->e);
    ck_assert_str_eq(get_rep->e->key, "alpha");
    ck_assert_str_eq(get_rep->e->secret, "hush");
    ck_assert_uint_eq(get_rep->e->version, 3);
    ck_assert_int_eq(get_rep->e->flags[3], -1);
    ck_assert_ptr_eq(talloc_parent(get_rep), replies);
    TALLOC_FREE(get_rep);
    TALLOC_FREE(put_rep);
    ck_assert_uint_eq(talloc_total_blocks(replies), 1);   /* one free released each */

    /* Asynchronous get through the _send stub. */
    get.key = (char *)"missing";
    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    ck_assert_int_eq(kv_get_send(call, &get, replies, &get_rep, get_done, &cs), PARLEY_PENDING);
    pthread_mutex_lock(&cs.lock);
    while (cs.done_runs == 0)
        pthread_cond_wait(&cs.cond, &cs.lock);
    pthread_mutex_unlock(&cs.lock);
    ck_assert_int_eq(cs.done_runs, 1);
    ck_assert_int_eq(cs.done_status, PARLEY_OK);
    ck_assert_ptr_nonnull(get_rep);
    ck_assert_ptr_null(get_rep->e);
    parley_call_release(call);

    /* A method the server does not serve. */
    ck_assert_int_eq(kv_stat(session, &stat, replies, &stat_rep), PARLEY_ERR_NOT_FOUND);
    ck_assert_ptr_null(stat_rep);

    talloc_free(mem);   /* both peers: every session, thread and fd */
    talloc_free(replies);
    pthread_cond_destroy(&cs.cond);
    pthread_mutex_destroy(&cs.lock);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stubs");
    TCase *tc = tcase_create("kv");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_kv_stubs);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
