/* SPDX-License-Identifier: MIT */
/* Handshake data (hello types): the values both ways, the construct hook
 * reading the client's value and refusing with a status and a sentence,
 * different hello types, a missing value, and malformed or oversized
 * values in hand-built HELLOs (doc/wire.md 2.3). */
#include "config.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>

#include "parley.h"
#include "frame.h"
#include "handshake.h"
#include "suites.h"

/* ---- the protocol: a client identity, a server identity, one method ---- */

typedef struct hl_ident {
    char *host;
    uint32_t site;
    parley_seq vtime;    /* uint64_t entries */
} hl_ident;
typedef struct hl_server { uint32_t site; } hl_server;
typedef struct hl_int { int32_t v; } hl_int;

static const parley_type host_type = PARLEY_STRING_TYPE("host", 64);
static const parley_type vtime_type = PARLEY_SEQUENCE_TYPE("vtime", parley_type_uint64, 64);
static const parley_field ident_fields[] = {
    PARLEY_FIELD(hl_ident, host, host_type),
    PARLEY_FIELD(hl_ident, site, parley_type_uint32),
    PARLEY_FIELD(hl_ident, vtime, vtime_type),
};
static const parley_type ident_type = PARLEY_STRUCT_TYPE(hl_ident, ident_fields);
static const parley_field server_fields[] = {
    PARLEY_FIELD(hl_server, site, parley_type_uint32),
};
static const parley_type server_type = PARLEY_STRUCT_TYPE(hl_server, server_fields);
static const parley_field int_fields[] = {
    PARLEY_FIELD(hl_int, v, parley_type_int32),
};
static const parley_type int_type = PARLEY_STRUCT_TYPE(hl_int, int_fields);

static parley_method methods[] = {
    { 1, "twice", "hl", &int_type, &int_type, 0, 0 },
};
static const char *const interfaces[] = { "hl" };

static parley_protocol proto_hello = {
    PARLEY_ABI_VERSION, "hl", 1, methods, 1, interfaces, 1, NULL, 0, &ident_type, &server_type,
};
/* The same protocol whose server sends a different type. */
static parley_protocol proto_other_server = {
    PARLEY_ABI_VERSION, "hl", 1, methods, 1, interfaces, 1, NULL, 0, &ident_type, &int_type,
};
/* The same protocol without hello types. */
static parley_protocol proto_plain = {
    PARLEY_ABI_VERSION, "hl", 1, methods, 1, interfaces, 1, NULL, 0, NULL, NULL,
};
/* A table built against the ABI version 1 header: the hello fields are
 * not read (whatever is there). */
static parley_protocol proto_v1 = {
    1, "hl", 1, methods, 1, interfaces, 1, NULL, 0, &ident_type, &server_type,
};

static void fix_fingerprints(void)
{
    methods[0].fingerprint = parley_method_fingerprint(&int_type, &int_type);
}

static parley_status h_twice(parley_call *call, const void *in, void *out, void *data)
{
    (void)call;
    (void)data;
    ((hl_int *)out)->v = 2 * ((const hl_int *)in)->v;
    return PARLEY_OK;
}

static const parley_dispatch table[] = { { 1, h_twice, PARLEY_NONBLOCKING } };

/* The construct hook: records the client's value; refuses site 13. */
typedef struct hook_seen {
    parley_status get_status;
    char host[64];
    uint32_t site;
    size_t n_vtime;
    uint64_t vtime0;
    int calls;
} hook_seen;

static parley_status construct(parley_session *session, void *data, void **ret_session_data)
{
    hook_seen *seen = data;
    const void *v = NULL;
    const hl_ident *id;

    (void)ret_session_data;
    seen->calls++;
    seen->get_status = parley_session_get_hello_value(session, &v);
    if (seen->get_status != PARLEY_OK)
        return PARLEY_ERR_INTERNAL;
    id = v;
    snprintf(seen->host, sizeof(seen->host), "%s", id->host);
    seen->site = id->site;
    seen->n_vtime = id->vtime.n;
    seen->vtime0 = id->vtime.n > 0 ? ((const uint64_t *)id->vtime.items)[0] : 0;
    if (id->site == 13) {
        parley_session_set_refusal(session, "site 13 is not a site of this working set");
        return PARLEY_ERR_NOT_FOUND;
    }
    return PARLEY_OK;
}

static parley_peer *server_new(TALLOC_CTX *mem, const parley_protocol *p, hook_seen *seen,
                               bool set_value)
{
    parley_peer *peer;
    hl_server sv = { 7 };

    fix_fingerprints();
    ck_assert_int_eq(parley_peer_new(mem, p, &peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_dispatch(peer, table, 1, NULL), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_session_functions(peer, construct, NULL, seen), PARLEY_OK);
    if (set_value)
        ck_assert_int_eq(parley_peer_set_hello_values(peer, NULL, &sv), PARLEY_OK);
    return peer;
}

static parley_peer *client_new(TALLOC_CTX *mem, const parley_protocol *p, uint32_t site)
{
    parley_peer *peer;
    uint64_t vt[3] = { 5, 0, 9 };
    hl_ident id = { "alpha", site, { 3, vt } };

    fix_fingerprints();
    ck_assert_int_eq(parley_peer_new(mem, p, &peer), PARLEY_OK);
    if (site != 0)
        ck_assert_int_eq(parley_peer_set_hello_values(peer, &id, NULL), PARLEY_OK);
    return peer;
}

/* Connect client to server over a socketpair. */
static parley_status pair_connect(parley_peer *server, parley_peer *client,
                                  parley_session **ret_session)
{
    int sv[2];
    parley_status st;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(parley_peer_accept_fd(server, sv[0]), PARLEY_OK);
    st = parley_peer_connect_fd(client, sv[1], ret_session);
    return st;
}

/* ---- both ways ---- */

START_TEST(test_values_both_ways)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    hook_seen seen;
    parley_peer *server, *client;
    parley_session *session = NULL;
    const void *v = NULL;
    parley_call *call;
    hl_int in = { 21 }, *out = NULL;

    memset(&seen, 0, sizeof(seen));
    server = server_new(mem, &proto_hello, &seen, true);
    client = client_new(mem, &proto_hello, 4);
    ck_assert_msg(pair_connect(server, client, &session) == PARLEY_OK, "connect: %s",
                  parley_error_message());
    /* The server's value at the client. */
    ck_assert_int_eq(parley_session_get_hello_value(session, &v), PARLEY_OK);
    ck_assert_uint_eq(((const hl_server *)v)->site, 7);
    /* The client's value in the server's construct hook. */
    ck_assert_int_eq(seen.calls, 1);
    ck_assert_int_eq(seen.get_status, PARLEY_OK);
    ck_assert_str_eq(seen.host, "alpha");
    ck_assert_uint_eq(seen.site, 4);
    ck_assert_uint_eq(seen.n_vtime, 3);
    ck_assert(seen.vtime0 == 5);
    /* The session works. */
    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    ck_assert_int_eq(parley_call_dispatch(call, 1, &in, mem, &out, NULL, NULL), PARLEY_OK);
    ck_assert_int_eq(out->v, 42);
    parley_call_release(call);
    parley_session_close(session);
    talloc_free(mem);
}
END_TEST

/* ---- refusal ---- */

START_TEST(test_refusal_with_reason)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    hook_seen seen;
    parley_peer *server, *client;
    parley_session *session = NULL;

    memset(&seen, 0, sizeof(seen));
    server = server_new(mem, &proto_hello, &seen, true);
    client = client_new(mem, &proto_hello, 13);
    ck_assert_int_eq(pair_connect(server, client, &session), PARLEY_ERR_NOT_FOUND);
    ck_assert_msg(strstr(parley_error_message(), "site 13 is not a site of this working set"),
                  "%s", parley_error_message());
    ck_assert_uint_eq(seen.site, 13);
    /* The server still serves others. */
    client = client_new(mem, &proto_hello, 5);
    ck_assert_int_eq(pair_connect(server, client, &session), PARLEY_OK);
    parley_session_close(session);
    talloc_free(mem);
}
END_TEST

/* Without hello types the hook refuses before the handshake: ACCESS_DENIED,
 * with the hook's sentence. */
static parley_status construct_plain(parley_session *session, void *data, void **ret)
{
    const void *v = NULL;

    (void)data;
    (void)ret;
    ck_assert_int_eq(parley_session_get_hello_value(session, &v), PARLEY_ERR_NOT_FOUND);
    parley_session_set_refusal(session, "no\nentry\there");
    return PARLEY_ERR_BUSY;
}

START_TEST(test_refusal_plain)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *server, *client;
    parley_session *session = NULL;
    hl_server sv = { 1 };

    fix_fingerprints();
    ck_assert_int_eq(parley_peer_new(mem, &proto_plain, &server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_session_functions(server, construct_plain, NULL, NULL),
                     PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_hello_values(server, NULL, &sv),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "declares no server hello type"));
    client = client_new(mem, &proto_plain, 0);
    ck_assert_int_eq(pair_connect(server, client, &session), PARLEY_ERR_ACCESS_DENIED);
    ck_assert_msg(strstr(parley_error_message(), "no entry here"), "%s", parley_error_message());
    /* Started: values are set before. */
    ck_assert_int_eq(parley_peer_set_hello_values(server, NULL, NULL), PARLEY_ERR_INVALID_STATE);
    ck_assert_int_eq(parley_session_set_refusal(NULL, "x"), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_session_get_hello_value(NULL, NULL), PARLEY_ERR_INVALID_ARGUMENT);
    talloc_free(mem);
}
END_TEST

/* ---- different hello types ---- */

START_TEST(test_mismatch)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    hook_seen seen;
    parley_peer *server, *client;
    parley_session *session = NULL;

    memset(&seen, 0, sizeof(seen));
    server = server_new(mem, &proto_hello, &seen, true);
    client = client_new(mem, &proto_other_server, 4);
    ck_assert_int_eq(pair_connect(server, client, &session), PARLEY_ERR_PROTOCOL_MISMATCH);
    ck_assert_msg(strstr(parley_error_message(), "hello type"), "%s", parley_error_message());
    /* A client without hello types, and one built against ABI version 1. */
    client = client_new(mem, &proto_plain, 0);
    ck_assert_int_eq(pair_connect(server, client, &session), PARLEY_ERR_PROTOCOL_MISMATCH);
    ck_assert_msg(strstr(parley_error_message(), "hello type"), "%s", parley_error_message());
    client = client_new(mem, &proto_v1, 0);
    ck_assert_int_eq(pair_connect(server, client, &session), PARLEY_ERR_PROTOCOL_MISMATCH);
    ck_assert_int_eq(seen.calls, 0);   /* the hook never saw them */
    talloc_free(mem);
}
END_TEST

/* ---- no value set ---- */

START_TEST(test_no_value)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    hook_seen seen;
    parley_peer *server, *client;
    parley_session *session = NULL;
    int sv[2];
    hl_int wrong = { 1 };

    memset(&seen, 0, sizeof(seen));
    server = server_new(mem, &proto_hello, &seen, true);
    client = client_new(mem, &proto_hello, 0);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(parley_peer_connect_fd(client, sv[1], &session), PARLEY_ERR_INVALID_STATE);
    ck_assert_msg(strstr(parley_error_message(), "no client value"), "%s",
                  parley_error_message());
    close(sv[0]);
    /* A value for a type the protocol does not declare. */
    client = client_new(mem, &proto_plain, 0);
    ck_assert_int_eq(parley_peer_set_hello_values(client, &wrong, NULL),
                     PARLEY_ERR_INVALID_ARGUMENT);
    /* A server without its value refuses each client with a sentence. */
    server = server_new(mem, &proto_hello, &seen, false);
    client = client_new(mem, &proto_hello, 4);
    ck_assert_int_eq(pair_connect(server, client, &session), PARLEY_ERR_INVALID_STATE);
    ck_assert_msg(strstr(parley_error_message(), "no hello value"), "%s",
                  parley_error_message());
    talloc_free(mem);
}
END_TEST

/* ---- hand-built HELLOs ---- */

static void raw_send(int fd, uint8_t kind, const void *payload, size_t n)
{
    parley__frame_header h = { (uint32_t)n, kind, 0, 0, 0, 0 };
    uint8_t b[PARLEY__FRAME_HEADER_SIZE];

    parley__frame_pack(&h, b);
    ck_assert_int_eq(write(fd, b, sizeof(b)), (ssize_t)sizeof(b));
    if (n > 0)
        ck_assert_int_eq(write(fd, payload, n), (ssize_t)n);
}

/* Read frames until a BYE (within 10 s); return its code and sentence. */
static int32_t raw_bye(int fd, char *why, size_t why_size)
{
    for (;;) {
        uint8_t b[PARLEY__FRAME_HEADER_SIZE], payload[4096];
        parley__frame_header h;
        size_t got = 0;

        while (got < sizeof(b)) {
            struct pollfd p = { fd, POLLIN, 0 };
            ssize_t r;

            ck_assert_int_eq(poll(&p, 1, 10000), 1);
            r = read(fd, b + got, sizeof(b) - got);
            ck_assert_int_gt(r, 0);
            got += (size_t)r;
        }
        ck_assert_int_eq(parley__frame_unpack(b, PARLEY__HELLO_MAX, &h), PARLEY_OK);
        ck_assert_uint_le(h.length, sizeof(payload));
        got = 0;
        while (got < h.length) {
            struct pollfd p = { fd, POLLIN, 0 };
            ssize_t r;

            ck_assert_int_eq(poll(&p, 1, 10000), 1);
            r = read(fd, payload + got, h.length - got);
            ck_assert_int_gt(r, 0);
            got += (size_t)r;
        }
        if (h.kind == PARLEY__FRAME_BYE) {
            char *msg = NULL;

            ck_assert_int_eq(parley__message_decode(NULL, payload, h.length, &msg), PARLEY_OK);
            snprintf(why, why_size, "%s", msg);
            talloc_free(msg);
            return (int32_t)h.code;
        }
    }
}

/* Send a HELLO with value (len bytes, claimed claimed_len) to a server. */
static int32_t send_bad_hello(const uint8_t *value, size_t len, uint32_t claimed_len,
                              char *why, size_t why_size)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    hook_seen seen;
    parley_peer *server;
    uint8_t *hello, *buf;
    size_t hlen;
    int sv[2];
    int32_t code;

    memset(&seen, 0, sizeof(seen));
    server = server_new(mem, &proto_hello, &seen, true);
    ck_assert_int_eq(parley__hello_encode_value(mem, &proto_hello, 1u << 20, 0, NULL, 0,
                                                &hello, &hlen), PARLEY_OK);
    buf = talloc_size(mem, hlen + len);
    memcpy(buf, hello, hlen);
    parley__put_u32(buf + hlen - 4, claimed_len);
    memcpy(buf + hlen, value, len);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(parley_peer_accept_fd(server, sv[0]), PARLEY_OK);
    raw_send(sv[1], PARLEY__FRAME_HELLO, buf, hlen + len);
    code = raw_bye(sv[1], why, why_size);
    ck_assert_int_eq(seen.calls, 0);
    close(sv[1]);
    talloc_free(mem);
    return code;
}

START_TEST(test_malformed_value)
{
    uint8_t junk[16];
    char why[256];

    /* Not an encoding of the client type: a string length far too long. */
    memset(junk, 0xff, sizeof(junk));
    ck_assert_int_eq(send_bad_hello(junk, sizeof(junk), sizeof(junk), why, sizeof(why)),
                     PARLEY_ERR_MALFORMED);
    ck_assert_msg(strstr(why, "hello value"), "%s", why);
    /* A length that does not match the bytes. */
    ck_assert_int_eq(send_bad_hello(junk, sizeof(junk), 3, why, sizeof(why)),
                     PARLEY_ERR_MALFORMED);
    ck_assert_msg(strstr(why, "does not fill"), "%s", why);
}
END_TEST

START_TEST(test_oversized_value)
{
    static uint8_t big[PARLEY__HELLO_VALUE_MAX + 1];
    char why[256];
    TALLOC_CTX *mem = talloc_new(NULL);
    uint8_t *buf;
    size_t len;
    parley_peer *client;
    hl_ident id = { NULL, 1, { 0, NULL } };
    char host[PARLEY__HELLO_VALUE_MAX + 8];

    ck_assert_int_eq(send_bad_hello(big, sizeof(big), sizeof(big), why, sizeof(why)),
                     PARLEY_ERR_MALFORMED);
    ck_assert_msg(strstr(why, "more than the 4096"), "%s", why);
    /* The encoder refuses it too. */
    ck_assert_int_eq(parley__hello_encode_value(mem, &proto_hello, 1u << 20, 0, big,
                                                sizeof(big), &buf, &len),
                     PARLEY_ERR_OVERFLOW);
    /* A value that does not encode (a host beyond its bound) is refused
     * when it is set. */
    memset(host, 'h', sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    id.host = host;
    client = client_new(mem, &proto_hello, 0);
    ck_assert_int_ne(parley_peer_set_hello_values(client, &id, NULL), PARLEY_OK);
    talloc_free(mem);
}
END_TEST

/* ---- the wire functions ---- */

START_TEST(test_wire_roundtrip)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const uint8_t value[5] = { 1, 2, 3, 4, 5 };
    uint8_t *buf;
    size_t len;
    parley__hello *h;

    fix_fingerprints();
    ck_assert_int_eq(parley__hello_encode_value(mem, &proto_hello, 4096, 0, value, 5, &buf,
                                                &len), PARLEY_OK);
    ck_assert_int_eq(parley__hello_decode(mem, buf, len, &h), PARLEY_OK);
    ck_assert_uint_eq(h->features & PARLEY__HELLO_FEATURE_DATA, PARLEY__HELLO_FEATURE_DATA);
    ck_assert(h->client_type_fp == parley_type_fingerprint(&ident_type));
    ck_assert(h->server_type_fp == parley_type_fingerprint(&server_type));
    ck_assert_uint_eq(h->value_len, 5);
    ck_assert_int_eq(memcmp(h->value, value, 5), 0);
    ck_assert_int_eq(parley__hello_check(h, &proto_hello), PARLEY_OK);
    ck_assert_int_eq(parley__hello_check(h, &proto_other_server), PARLEY_ERR_PROTOCOL_MISMATCH);
    ck_assert_int_eq(parley__hello_check(h, &proto_plain), PARLEY_ERR_PROTOCOL_MISMATCH);
    /* Every truncation fails, leaving nothing behind. */
    for (size_t cut = 0; cut < len; cut++) {
        size_t before = talloc_total_blocks(mem);

        ck_assert_int_ne(parley__hello_decode(mem, buf, cut, &h), PARLEY_OK);
        ck_assert_uint_eq(talloc_total_blocks(mem), before);
    }
    /* A plain protocol's HELLO has no data and no bit. */
    ck_assert_int_eq(parley__hello_encode_value(mem, &proto_plain, 4096, 0, value, 5, &buf,
                                                &len), PARLEY_OK);
    ck_assert_int_eq(parley__hello_decode(mem, buf, len, &h), PARLEY_OK);
    ck_assert_uint_eq(h->features, 0);
    ck_assert_uint_eq(h->value_len, 0);
    ck_assert_int_eq(parley__hello_check(h, &proto_hello), PARLEY_ERR_PROTOCOL_MISMATCH);
    ck_assert_int_eq(parley__hello_check(h, &proto_v1), PARLEY_OK);
    ck_assert_int_eq(parley_protocol_check(&proto_hello), PARLEY_OK);
    ck_assert_int_eq(parley_protocol_check(&proto_v1), PARLEY_OK);
    talloc_free(mem);
}
END_TEST

Suite *parley_hello_suite(void)
{
    Suite *s = suite_create("hello");
    TCase *tc = tcase_create("hello");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_wire_roundtrip);
    tcase_add_test(tc, test_values_both_ways);
    tcase_add_test(tc, test_refusal_with_reason);
    tcase_add_test(tc, test_refusal_plain);
    tcase_add_test(tc, test_mismatch);
    tcase_add_test(tc, test_no_value);
    tcase_add_test(tc, test_malformed_value);
    tcase_add_test(tc, test_oversized_value);
    suite_add_tcase(s, tc);
    return s;
}
