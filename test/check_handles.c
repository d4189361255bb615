/* SPDX-License-Identifier: MIT */
/* Runtime, integration (sessions): handles on the wire.  A
 * server's handle reaches the client as a proxy that can be sent back but not
 * looked up; the client's own handle goes out and comes back as itself; the
 * wrong type, another session and a closed handle give INVALID_HANDLE; a
 * session's handles are cleaned up when it ends (doc/wire.md 1.10). */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "server_proc.h"
#include "suites.h"
#include "test_proto.h"

static atomic_int server_cleanups;

enum { H_OPEN = 1, H_READ = 2, H_WRONG = 3, H_CLOSE = 4, H_BOUNCE = 5 };
typedef struct hp_h { parley_handle *h; } hp_h;

static const parley_type counter_type = PARLEY_HANDLE_TYPE("counter");
static const parley_type other_type = PARLEY_HANDLE_TYPE("other");
static const parley_field hint_fields[] = { PARLEY_FIELD(tp_int, v, parley_type_int32) };
static const parley_type hint_type = PARLEY_STRUCT_TYPE(tp_int, hint_fields);
static const parley_field hh_fields[] = { PARLEY_FIELD(hp_h, h, counter_type) };
static const parley_type hh_type = PARLEY_STRUCT_TYPE(hp_h, hh_fields);
static const parley_field ho_fields[] = { PARLEY_FIELD(hp_h, h, other_type) };
static const parley_type ho_type = PARLEY_STRUCT_TYPE(hp_h, ho_fields);
static parley_method h_methods[] = {
    { H_OPEN, "open", "handles", &hint_type, &hh_type, 0, 0 },
    { H_READ, "read", "handles", &hh_type, &hint_type, 0, 0 },
    { H_WRONG, "wrong", "handles", &ho_type, &hint_type, 0, 0 },
    { H_CLOSE, "close", "handles", &hh_type, &hint_type, 0, 0 },
    { H_BOUNCE, "bounce", "handles", &hh_type, &hh_type, 0, 0 },
};
static const char *const h_interfaces[] = { "handles" };
static parley_protocol h_protocol = { PARLEY_ABI_VERSION, "handles", 1, h_methods, 5,
                                      h_interfaces, 1, NULL, 0, NULL, NULL };

static const parley_protocol *hproto(void)
{
    for (size_t i = 0; i < 5; i++)
        h_methods[i].fingerprint = parley_method_fingerprint(h_methods[i].request,
                                                             h_methods[i].reply);
    return &h_protocol;
}

static void free_counter(void *object, void *data)
{
    (void)data;
    talloc_free(object);
    server_cleanups++;
}

static parley_status hh_open(parley_call *call, const void *in, void *out, void *data)
{
    const tp_int *req = in;
    hp_h *rep = out;
    int32_t *obj = talloc(NULL, int32_t);

    (void)data;
    if (obj == NULL)
        return PARLEY_ERR_NOMEM;
    *obj = req->v;
    return parley_session_register_handle(parley_call_get_session(call), "counter", obj,
                                          free_counter, NULL, &rep->h);
}

static parley_status hh_read(parley_call *call, const void *in, void *out, void *data)
{
    const hp_h *req = in;
    tp_int *rep = out;
    void *obj = NULL;
    parley_status st = parley_session_get_handle(parley_call_get_session(call), req->h,
                                                 "counter", &obj);

    (void)data;
    if (st == PARLEY_OK)
        rep->v = *(int32_t *)obj;
    return st;
}

static parley_status hh_close(parley_call *call, const void *in, void *out, void *data)
{
    const hp_h *req = in;

    (void)out;
    (void)data;
    return parley_session_unregister_handle(parley_call_get_session(call), req->h);
}

static parley_status hh_bounce(parley_call *call, const void *in, void *out, void *data)
{
    const hp_h *req = in;
    hp_h *rep = out;

    (void)call;
    (void)data;
    rep->h = req->h;
    return PARLEY_OK;
}

static parley_status hcall(parley_session *s, uint32_t method, const void *in, TALLOC_CTX *mem,
                           void *ret_out)
{
    parley_call *call;
    parley_status st;

    ck_assert_int_eq(parley_session_acquire_call(s, &call), PARLEY_OK);
    st = parley_call_dispatch(call, method, in, mem, ret_out, NULL, NULL);
    parley_call_release(call);
    return st;
}

static void count_cleanup(void *object, void *data)
{
    (void)object;
    (*(atomic_int *)data)++;
}

START_TEST(test_handles_on_the_wire)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const char *dir = tp_tmpdir();
    char ep[300];
    parley_peer *server, *client;
    parley_session *s, *s2;
    parley_dispatch table[] = {
        { H_OPEN, hh_open, PARLEY_BLOCKING },
        { H_READ, hh_read, PARLEY_BLOCKING },
        { H_CLOSE, hh_close, PARLEY_BLOCKING },
        { H_BOUNCE, hh_bounce, PARLEY_BLOCKING },
    };
    tp_int five = { 5 }, six = { 6 }, *iv = NULL;
    hp_h *h1 = NULL, *h2 = NULL, arg;
    parley_handle *mine;
    void *obj = NULL;
    atomic_int client_cleanups = 0;
    int marker = 1;

    server_cleanups = 0;
    snprintf(ep, sizeof(ep), "unix:%s/h.sock", dir);
    ck_assert_int_eq(parley_peer_new(mem, hproto(), &server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_dispatch(server, table, 4, NULL), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_listen_endpoint(server, ep, 0), PARLEY_OK);
    ck_assert_int_eq(parley_peer_start_listen(server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_new(mem, hproto(), &client), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_connect_endpoint(client, ep), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect(client, &s), PARLEY_OK);

    /* A server handle arrives as a proxy: usable to send back, not to look up. */
    ck_assert_int_eq(hcall(s, H_OPEN, &five, mem, &h1), PARLEY_OK);
    ck_assert_ptr_nonnull(h1->h);
    ck_assert_int_eq(parley_session_get_handle(s, h1->h, "counter", &obj),
                     PARLEY_ERR_INVALID_HANDLE);
    ck_assert_int_eq(hcall(s, H_READ, h1, mem, &iv), PARLEY_OK);
    ck_assert_int_eq(iv->v, 5);
    ck_assert_int_eq(hcall(s, H_OPEN, &six, mem, &h2), PARLEY_OK);
    ck_assert_ptr_ne(h2->h, h1->h);
    ck_assert_int_eq(hcall(s, H_READ, h2, mem, &iv), PARLEY_OK);
    ck_assert_int_eq(iv->v, 6);
    /* Bounced: the server sends it as its own again, the same proxy comes back. */
    {
        hp_h *b = NULL;

        ck_assert_int_eq(hcall(s, H_BOUNCE, h1, mem, &b), PARLEY_OK);
        ck_assert_ptr_eq(b->h, h1->h);
    }
    /* The client's own handle goes out and comes back as itself. */
    ck_assert_int_eq(parley_session_register_handle(s, "counter", &marker, count_cleanup,
                                                    &client_cleanups, &mine), PARLEY_OK);
    arg.h = mine;
    {
        hp_h *b = NULL;

        ck_assert_int_eq(hcall(s, H_BOUNCE, &arg, mem, &b), PARLEY_OK);
        ck_assert_ptr_eq(b->h, mine);
    }
    /* ... but the server cannot look up the client's handle. */
    ck_assert_int_eq(hcall(s, H_READ, &arg, mem, &iv), PARLEY_ERR_INVALID_HANDLE);
    /* Wrong type: refused when encoding. */
    ck_assert_int_eq(hcall(s, H_WRONG, h1, mem, &iv), PARLEY_ERR_INVALID_HANDLE);
    /* Another session: the handle does not belong there. */
    ck_assert_int_eq(parley_peer_connect(client, &s2), PARLEY_OK);
    ck_assert_int_eq(hcall(s2, H_READ, h1, mem, &iv), PARLEY_ERR_INVALID_HANDLE);
    parley_session_close(s2);
    /* Closed: its cleanup ran; using it again is INVALID_HANDLE. */
    ck_assert_int_eq(hcall(s, H_CLOSE, h1, mem, &iv), PARLEY_OK);
    ck_assert_int_eq(server_cleanups, 1);
    ck_assert_int_eq(hcall(s, H_READ, h1, mem, &iv), PARLEY_ERR_INVALID_HANDLE);
    ck_assert_int_eq(hcall(s, H_CLOSE, h1, mem, &iv), PARLEY_ERR_INVALID_HANDLE);
    /* The session ends: the server's remaining handle and the client's own go. */
    parley_session_close(s);
    ck_assert_int_eq(parley_peer_stop_listen(server), PARLEY_OK);
    ck_assert_int_eq(server_cleanups, 2);
    talloc_free(client);
    ck_assert_int_eq(client_cleanups, 1);
    talloc_free(server);
    talloc_free(mem);
    tp_tmpdir_remove(dir);
}
END_TEST

Suite *parley_handles_suite(void)
{
    Suite *s = suite_create("handles");
    TCase *tc = tcase_create("wire");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_handles_on_the_wire);
    suite_add_tcase(s, tc);
    return s;
}
