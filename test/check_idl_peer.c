/* SPDX-License-Identifier: MIT */
/* The generated peer-facing code of kv.idl against the real runtime: two
 * peers in one process on a socketpair; kv_register on both sides (the
 * server serves kv, the client serves the kv_watch callback); sync, async
 * and oneway stubs, the oneway _send on an acquired call, the _timeout stub;
 * a callback from a server handler to the client. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>
#include <talloc.h>

#include "parley.h"

#include "kv.h"

/* A flag set from another thread and waited for (bounded by the test timeout). */
typedef struct signal_box {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int count;
    parley_status status;
    char text[64];
} signal_box;

static void box_init(signal_box *b)
{
    memset(b, 0, sizeof(*b));
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->cond, NULL);
}

static void box_post(signal_box *b, parley_status st, const char *text)
{
    pthread_mutex_lock(&b->lock);
    b->count++;
    b->status = st;
    if (text != NULL)
        snprintf(b->text, sizeof(b->text), "%s", text);
    pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

static void box_wait(signal_box *b, int count)
{
    pthread_mutex_lock(&b->lock);
    while (b->count < count)
        pthread_cond_wait(&b->cond, &b->lock);
    pthread_mutex_unlock(&b->lock);
}

/* ---- the server: a one-slot store ------------------------------------------ */

typedef struct store {
    uint64_t version;
    char key[64];
    signal_box logged;
    signal_box stat_cancelled;
} store;

static parley_status put_impl(parley_call *call, const kv_put_request *in, kv_put_reply *out,
                              void *data)
{
    store *st = data;
    parley_session *back = parley_call_get_session(call);
    kv_changed_request note;
    kv_changed_reply *ack = NULL;
    TALLOC_CTX *tmp = talloc_new(NULL);
    parley_status status;

    snprintf(st->key, sizeof(st->key), "%s", in->key);
    out->version = ++st->version;
    /* tell the client, through the callback interface it serves */
    note.key = in->key;
    note.version = out->version;
    status = kv_changed(back, &note, tmp, &ack);
    talloc_free(tmp);
    return status;
}

static parley_status get_impl(parley_call *call, const kv_get_request *in, kv_get_reply *out,
                              void *data)
{
    store *st = data;
    (void)call;
    if (strcmp(in->key, st->key) != 0)
        return PARLEY_OK;                       /* e stays NULL: absent */
    out->e = talloc_zero(out, kv_entry);
    out->e->key = talloc_strdup(out->e, st->key);
    out->e->version = st->version;
    out->e->flags[3] = 7;
    out->e->secret = talloc_strdup(out->e, "s");
    return PARLEY_OK;
}

static parley_status log_impl(parley_call *call, const kv_log_request *in, void *data)
{
    store *st = data;
    (void)call;
    box_post(&st->logged, PARLEY_OK, in->line);
    return PARLEY_OK;
}

/* stat never answers by itself: it waits for its caller's deadline (the
 * CANCEL frame runs the cancel function, which completes the call). */
static void stat_cancelled(parley_call *call, void *data)
{
    box_post(data, PARLEY_ERR_CANCELLED, NULL);
    (void)parley_call_complete(call, PARLEY_ERR_CANCELLED);
}

static parley_status stat_impl(parley_call *call, const kv_stat_request *in, kv_stat_reply *out,
                               void *data)
{
    store *st = data;
    (void)in;
    (void)out;
    return parley_call_pend(call, stat_cancelled, &st->stat_cancelled);
}

/* ---- the client's callback ------------------------------------------------- */

static parley_status changed_impl(parley_call *call, const kv_changed_request *in,
                                  kv_changed_reply *out, void *data)
{
    (void)call;
    (void)out;
    box_post(data, PARLEY_OK, in->key);
    return PARLEY_OK;
}

static void get_done(parley_call *call, parley_status status, void *data)
{
    (void)call;
    box_post(data, status, NULL);
}

START_TEST(test_generated_stubs)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *server, *client;
    parley_session *session;
    parley_call *call;
    store st;
    signal_box changed, done;
    int sv[2];
    size_t blocks;
    const kv_handlers server_handlers = {
        .put = { put_impl, PARLEY_BLOCKING },       /* it calls back: may block */
        .get = { get_impl, PARLEY_NONBLOCKING },
        .log = { log_impl, PARLEY_NONBLOCKING },
        .stat = { stat_impl, PARLEY_NONBLOCKING },
    };
    const kv_handlers client_handlers = {
        .changed = { changed_impl, PARLEY_NONBLOCKING },
    };
    const kv_handlers none = { .put = { NULL, PARLEY_BLOCKING } };
    kv_put_request put = { .key = (char *)"alpha", .value = { 0, NULL } };
    kv_put_reply *put_out = NULL;
    kv_get_request get = { .key = (char *)"alpha" };
    kv_get_reply *get_out = NULL, *async_out = NULL;
    kv_log_request line = { .line = (char *)"hello log" };

    memset(&st, 0, sizeof(st));
    box_init(&st.logged);
    box_init(&st.stat_cancelled);
    box_init(&changed);
    box_init(&done);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(parley_peer_new(mem, &kv_protocol, &server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_new(mem, &kv_protocol, &client), PARLEY_OK);

    /* argument checks; an empty table registers nothing and keeps nothing */
    ck_assert_int_eq(kv_register(NULL, &server_handlers, &st), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(kv_register(server, NULL, &st), PARLEY_ERR_INVALID_ARGUMENT);
    blocks = talloc_total_blocks(server);
    ck_assert_int_eq(kv_register(server, &none, &st), PARLEY_OK);
    ck_assert_uint_eq(talloc_total_blocks(server), blocks);

    ck_assert_int_eq(kv_register(server, &server_handlers, &st), PARLEY_OK);
    ck_assert_int_eq(kv_register(client, &client_handlers, &changed), PARLEY_OK);
    ck_assert_int_eq(parley_peer_accept_fd(server, sv[1]), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect_fd(client, sv[0], &session), PARLEY_OK);

    /* sync: put (which calls the client back before it replies), then get */
    ck_assert_msg(kv_put(session, &put, mem, &put_out) == PARLEY_OK, "%s",
                  parley_error_message());
    ck_assert_uint_eq(put_out->version, 1);
    ck_assert_ptr_eq(talloc_parent(put_out), mem);
    box_wait(&changed, 1);
    ck_assert_str_eq(changed.text, "alpha");
    ck_assert_msg(kv_get(session, &get, mem, &get_out) == PARLEY_OK, "%s",
                  parley_error_message());
    ck_assert_ptr_nonnull(get_out->e);
    ck_assert_str_eq(get_out->e->key, "alpha");
    ck_assert_uint_eq(get_out->e->version, 1);
    ck_assert_int_eq(get_out->e->flags[3], 7);
    ck_assert_ptr_null(get_out->e->next);
    talloc_free(get_out);
    get.key = (char *)"missing";
    ck_assert_int_eq(kv_get(session, &get, mem, &get_out), PARLEY_OK);
    ck_assert_ptr_null(get_out->e);
    talloc_free(get_out);

    /* async: the done callback runs once with the status */
    get.key = (char *)"alpha";
    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    ck_assert_int_eq(kv_get_send(call, &get, NULL, &async_out, get_done, &done), PARLEY_PENDING);
    box_wait(&done, 1);
    ck_assert_int_eq(done.status, PARLEY_OK);
    ck_assert_ptr_nonnull(async_out);
    ck_assert_str_eq(async_out->e->key, "alpha");
    parley_call_release(call);

    /* oneway */
    ck_assert_int_eq(kv_log(session, &line), PARLEY_OK);
    box_wait(&st.logged, 1);
    ck_assert_str_eq(st.logged.text, "hello log");

    /* oneway on an acquired call: synchronous (queued), then with a callback */
    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    line.line = (char *)"sent log";
    ck_assert_int_eq(kv_log_send(call, &line, NULL, NULL), PARLEY_OK);
    box_wait(&st.logged, 2);
    ck_assert_str_eq(st.logged.text, "sent log");
    line.line = (char *)"async log";
    ck_assert_int_eq(kv_log_send(call, &line, get_done, &done), PARLEY_PENDING);
    box_wait(&done, 2);
    ck_assert_int_eq(done.status, PARLEY_OK);
    box_wait(&st.logged, 3);
    ck_assert_str_eq(st.logged.text, "async log");
    parley_call_release(call);

    /* _timeout: no deadline, the peer's default, and one that passes */
    ck_assert_int_eq(kv_get_timeout(session, &get, 0, mem, &get_out), PARLEY_OK);
    ck_assert_str_eq(get_out->e->key, "alpha");
    talloc_free(get_out);
    ck_assert_int_eq(kv_get_timeout(session, &get, PARLEY_TIMEOUT_DEFAULT, mem, &get_out),
                     PARLEY_OK);
    talloc_free(get_out);
    ck_assert_int_eq(kv_get_timeout(session, &get, -5, mem, &get_out),
                     PARLEY_ERR_INVALID_ARGUMENT);
    {
        kv_stat_request sreq = { 0 };
        kv_stat_reply *sout = NULL;
        ck_assert_int_eq(kv_stat_timeout(session, &sreq, 100, mem, &sout), PARLEY_ERR_TIMEOUT);
        ck_assert_ptr_null(sout);
        box_wait(&st.stat_cancelled, 1);   /* the server saw the CANCEL */
    }

    /* a method nobody registered */
    {
        kv_scan_request scan = { .prefix = (char *)"a" };
        kv_scan_reply *scan_out = NULL;
        ck_assert_int_eq(kv_scan(session, &scan, mem, &scan_out), PARLEY_ERR_NOT_FOUND);
        ck_assert_ptr_null(scan_out);
    }

    talloc_free(mem);
}
END_TEST

static Suite *idl_peer_suite(void)
{
    Suite *s = suite_create("idl-peer");
    TCase *tc = tcase_create("stubs");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_generated_stubs);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(idl_peer_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
