/* SPDX-License-Identifier: MIT */
/* Runtime, wire level: frame headers, HELLO payloads, messages, endpoints. */
#include "config.h"

#include <string.h>

#include <check.h>

#include "endpoint.h"
#include "frame.h"
#include "handshake.h"
#include "suites.h"
#include "test_proto.h"

START_TEST(test_header_roundtrip)
{
    parley__frame_header h = { 300, PARLEY__FRAME_CALL, 0, 2, 0x01020304u, 7 }, g;
    uint8_t b[16];

    parley__frame_pack(&h, b);
    /* Little-endian, fixed layout. */
    ck_assert_uint_eq(b[0], 300 & 0xff);
    ck_assert_uint_eq(b[1], 300 >> 8);
    ck_assert_uint_eq(b[4], PARLEY__FRAME_CALL);
    ck_assert_uint_eq(b[6], 2);
    ck_assert_uint_eq(b[8], 0x04);
    ck_assert_uint_eq(b[11], 0x01);
    ck_assert_uint_eq(b[12], 7);
    ck_assert_int_eq(parley__frame_unpack(b, 1000, &g), PARLEY_OK);
    ck_assert_uint_eq(g.length, 300);
    ck_assert_uint_eq(g.kind, PARLEY__FRAME_CALL);
    ck_assert_uint_eq(g.nfds, 2);
    ck_assert_uint_eq(g.call_id, 0x01020304u);
    ck_assert_uint_eq(g.code, 7);
}
END_TEST

START_TEST(test_header_violations)
{
    parley__frame_header h = { 10, 0, 0, 0, 1, 1 }, g = { 0, 0, 0, 0, 0, 0 };
    uint8_t b[16];

    h.kind = 9;
    parley__frame_pack(&h, b);
    ck_assert_int_eq(parley__frame_unpack(b, 1000, &g), PARLEY_ERR_MALFORMED);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "unknown kind 9"));
    ck_assert_uint_eq(g.length, 0);   /* untouched on failure */
    h.kind = 0;
    parley__frame_pack(&h, b);
    ck_assert_int_eq(parley__frame_unpack(b, 1000, &g), PARLEY_ERR_MALFORMED);
    h.kind = PARLEY__FRAME_REPLY;
    h.flags = 0x80;
    parley__frame_pack(&h, b);
    ck_assert_int_eq(parley__frame_unpack(b, 1000, &g), PARLEY_ERR_MALFORMED);
    h.flags = 0;
    h.length = 1001;
    parley__frame_pack(&h, b);
    ck_assert_int_eq(parley__frame_unpack(b, 1000, &g), PARLEY_ERR_OVERFLOW);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "max message size 1000"));
    h.kind = PARLEY__FRAME_CANCEL;
    h.length = 4;
    parley__frame_pack(&h, b);
    ck_assert_int_eq(parley__frame_unpack(b, 1000, &g), PARLEY_ERR_MALFORMED);
    /* A HELLO may exceed a small max message size, but not the HELLO cap. */
    h.kind = PARLEY__FRAME_HELLO;
    h.length = 5000;
    parley__frame_pack(&h, b);
    ck_assert_int_eq(parley__frame_unpack(b, 1000, &g), PARLEY_OK);
    h.length = PARLEY__HELLO_MAX + 1;
    parley__frame_pack(&h, b);
    ck_assert_int_eq(parley__frame_unpack(b, 1000, &g), PARLEY_ERR_OVERFLOW);
}
END_TEST

START_TEST(test_hello_roundtrip_and_check)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    const parley_protocol *v1 = tp_protocol(TP_V1);
    uint8_t *buf;
    size_t len;
    parley__hello *h;

    ck_assert_int_eq(parley__hello_encode(mem, v1, 4096, 0, &buf, &len), PARLEY_OK);
    ck_assert_uint_eq(len, 24 + 4 + strlen("test") + v1->n_methods * 12);
    ck_assert_int_eq(parley__hello_decode(mem, buf, len, &h), PARLEY_OK);
    ck_assert_str_eq(h->protocol_name, "test");
    ck_assert_uint_eq(h->protocol_version, 1);
    ck_assert_uint_eq(h->max_message, 4096);
    ck_assert_uint_eq(h->n_methods, v1->n_methods);
    ck_assert_uint_eq(h->methods[1].id, TP_ADD);
    ck_assert(h->methods[1].fingerprint == v1->methods[1].fingerprint);
    /* Same protocol; a compatible newer version; a changed method; another name. */
    ck_assert_int_eq(parley__hello_check(h, v1), PARLEY_OK);
    ck_assert_int_eq(parley__hello_check(h, tp_protocol(TP_V2_COMPAT)), PARLEY_OK);
    ck_assert_int_eq(parley__hello_check(h, tp_protocol(TP_V2_ADD64)),
                     PARLEY_ERR_PROTOCOL_MISMATCH);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "method 2 (add)"));
    ck_assert_int_eq(parley__hello_check(h, tp_protocol(TP_OTHER)), PARLEY_ERR_PROTOCOL_MISMATCH);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "\"test\""));
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "\"other\""));

    /* Every truncation is MALFORMED, never a crash; nothing is left behind. */
    for (size_t cut = 0; cut < len; cut++) {
        size_t before = talloc_total_blocks(mem);

        ck_assert_int_ne(parley__hello_decode(mem, buf, cut, &h), PARLEY_OK);
        ck_assert_uint_eq(talloc_total_blocks(mem), before);
    }
    buf[0] ^= 1;
    ck_assert_int_eq(parley__hello_decode(mem, buf, len, &h), PARLEY_ERR_MALFORMED);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "magic"));
    buf[0] ^= 1;
    buf[4] = 9;   /* wire version */
    ck_assert_int_eq(parley__hello_decode(mem, buf, len, &h), PARLEY_ERR_PROTOCOL_MISMATCH);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "wire version 9"));
    talloc_free(mem);
}
END_TEST

START_TEST(test_messages)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    uint8_t *buf;
    size_t len;
    char *msg;
    int32_t code;

    ck_assert_int_eq(parley__message_encode(mem, "bad \x01 thing", &buf, &len), PARLEY_OK);
    ck_assert_uint_eq(len, 4 + 11);
    ck_assert_int_eq(parley__message_decode(mem, buf, len, &msg), PARLEY_OK);
    ck_assert_str_eq(msg, "bad ? thing");   /* control bytes are not passed on */
    ck_assert_int_eq(parley__message_decode(mem, buf, len - 1, &msg), PARLEY_ERR_MALFORMED);
    ck_assert_int_eq(parley__remote_encode(mem, -42, "no such key", &buf, &len), PARLEY_OK);
    ck_assert_int_eq(parley__remote_decode(mem, buf, len, &code, &msg), PARLEY_OK);
    ck_assert_int_eq(code, -42);
    ck_assert_str_eq(msg, "no such key");
    ck_assert_int_eq(parley__remote_decode(mem, buf, 7, &code, &msg), PARLEY_ERR_MALFORMED);
    talloc_free(mem);
}
END_TEST

START_TEST(test_endpoints)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley__endpoint *ep;
    static const char *bad[] = {
        "", "unix:", "unix:@", "tcp:", "tcp:host", "tcp::80", "tcp:host:", "tcp:host:65536",
        "tcp:host:-1", "tcp:::1:80", "tcp:[::1]80", "tcp:[::1", "http://x", "fd:3x",
    };
    char longpath[200];

    ck_assert_int_eq(parley__endpoint_parse(mem, "unix:/run/x.sock", &ep), PARLEY_OK);
    ck_assert_int_eq(ep->kind, PARLEY__EP_UNIX);
    ck_assert_str_eq(ep->path, "/run/x.sock");
    ck_assert_int_eq(parley__endpoint_parse(mem, "unix:@parley-abs", &ep), PARLEY_OK);
    ck_assert_int_eq(ep->kind, PARLEY__EP_ABSTRACT);
    ck_assert_str_eq(ep->path, "parley-abs");
    ck_assert_int_eq(parley__endpoint_parse(mem, "tcp:127.0.0.1:0", &ep), PARLEY_OK);
    ck_assert_int_eq(ep->kind, PARLEY__EP_TCP);
    ck_assert_str_eq(ep->host, "127.0.0.1");
    ck_assert_str_eq(ep->port, "0");
    ck_assert_int_eq(parley__endpoint_parse(mem, "tcp:[::1]:8080", &ep), PARLEY_OK);
    ck_assert_str_eq(ep->host, "::1");
    ck_assert_str_eq(ep->port, "8080");
    ck_assert_int_eq(parley__endpoint_parse(mem, "tcp:localhost:65535", &ep), PARLEY_OK);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t before = talloc_total_blocks(mem);

        ck_assert_msg(parley__endpoint_parse(mem, bad[i], &ep) == PARLEY_ERR_INVALID_ARGUMENT,
                      "accepted \"%s\"", bad[i]);
        ck_assert_uint_eq(talloc_total_blocks(mem), before);
        if (bad[i][0] != '\0')
            ck_assert_ptr_nonnull(strstr(parley_error_message(), bad[i]));
    }
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[sizeof(longpath) - 1] = '\0';
    memcpy(longpath, "unix:/", 6);
    ck_assert_int_eq(parley__endpoint_parse(mem, longpath, &ep), PARLEY_ERR_INVALID_ARGUMENT);
    talloc_free(mem);
}
END_TEST

Suite *parley_wire_suite(void)
{
    Suite *s = suite_create("wire");
    TCase *tc = tcase_create("frames");

    tcase_add_test(tc, test_header_roundtrip);
    tcase_add_test(tc, test_header_violations);
    tcase_add_test(tc, test_hello_roundtrip_and_check);
    tcase_add_test(tc, test_messages);
    tcase_add_test(tc, test_endpoints);
    suite_add_tcase(s, tc);
    return s;
}
