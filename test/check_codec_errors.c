/* SPDX-License-Identifier: MIT */
/* The codec's failure paths: a table of malformed inputs with their messages,
 * bool/handle/fd edge cases, the depth cap, every prefix and every bit flip of
 * valid encodings (with talloc block counts), encode errors, buffer sizes. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <talloc.h>

#include "parley/data.h"
#include "check_codec.h"
#include "codec_values.h"
#include "zoo.h"

/* ---- malformed inputs -------------------------------------------------------------- */

static const parley_type fd_seq_type = PARLEY_SEQUENCE_TYPE("fdseq", parley_type_fd, 0);
static const parley_type int_seq_type = PARLEY_SEQUENCE_TYPE("ints", parley_type_int32, 0);
static const parley_type pts8_type = PARLEY_SEQUENCE_TYPE("pts8", zoo_point_type, 8);

typedef struct bad_case {
    const char *what;
    const parley_type *type;
    const uint8_t *data;
    size_t len;
    parley_status status;
    const char *message;    /* the whole expected parley_error_message(), or a prefix ending in '*' */
} bad_case;

static const bad_case bad_cases[] = {
    { "truncated count", &zoo_node_type, BYTES(0, 0, 0, 0, 1, 0), PARLEY_ERR_MALFORMED,
      "decode zoo_node.children: truncated: 4 bytes needed, 2 remain" },
    { "empty input", &zoo_node_type, (const uint8_t *)"", 0, PARLEY_ERR_MALFORMED,
      "decode zoo_node.key: truncated: 4 bytes needed, 0 remain" },
    { "key beyond bound", &zoo_node_type, BYTES(1, 1, 0, 0), PARLEY_ERR_MALFORMED,
      "decode zoo_node.key: string longer than its bound 256" },
    { "string beyond input", &zoo_node_type, BYTES(5, 0, 0, 0, 'a'), PARLEY_ERR_MALFORMED,
      "decode zoo_node.key: truncated: 5 bytes needed, 1 remain" },
    { "huge count", &zoo_node_type, BYTES(0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0),
      PARLEY_ERR_MALFORMED,
      "decode zoo_node.children: sequence of 4294967295 items needs at least 9 bytes each, 1 remain" },
    { "huge int count", &int_seq_type, BYTES(0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4),
      PARLEY_ERR_MALFORMED,
      "decode ints: sequence of 2147483647 items needs at least 4 bytes each, 4 remain" },
    { "count beyond bound", &pts8_type, BYTES(9, 0, 0, 0), PARLEY_ERR_MALFORMED,
      "decode pts8: sequence of 9 items longer than its bound 8" },
    { "presence 2", &zoo_node_type, BYTES(0, 0, 0, 0, 0, 0, 0, 0, 2), PARLEY_ERR_MALFORMED,
      "decode zoo_node.next: presence byte 2 is not 0 or 1" },
    { "nested path", &zoo_node_type,
      BYTES(0, 0, 0, 0, 2, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0,
            2, 0, 0, 0, 0xc0, 0x80, 0, 0, 0, 0, 0,
            0),
      PARLEY_ERR_MALFORMED, "decode zoo_node.children[1].key: invalid UTF-8 at byte 0" },
    { "path through next", &zoo_node_type,
      BYTES(0, 0, 0, 0, 0, 0, 0, 0, 1,  1, 0, 0, 0, 0xff, 0, 0, 0, 0, 0),
      PARLEY_ERR_MALFORMED, "decode zoo_node.next.key: invalid UTF-8 at byte 0" },
    { "embedded NUL", &zoo_node_type, BYTES(3, 0, 0, 0, 'a', 0, 'b', 0, 0, 0, 0, 0),
      PARLEY_ERR_MALFORMED, "decode zoo_node.key: embedded NUL at byte 1" },
    { "overlong 2-byte", &zoo_node_type, BYTES(3, 0, 0, 0, 'a', 0xc1, 0xbf, 0, 0, 0, 0, 0),
      PARLEY_ERR_MALFORMED, "decode zoo_node.key: invalid UTF-8 at byte 1" },
    { "overlong 3-byte", &zoo_node_type, BYTES(3, 0, 0, 0, 0xe0, 0x9f, 0xbf, 0, 0, 0, 0, 0),
      PARLEY_ERR_MALFORMED, "decode zoo_node.key: invalid UTF-8 at byte 0" },
    { "overlong 4-byte", &zoo_node_type, BYTES(4, 0, 0, 0, 0xf0, 0x8f, 0xbf, 0xbf, 0, 0, 0, 0, 0),
      PARLEY_ERR_MALFORMED, "decode zoo_node.key: invalid UTF-8 at byte 0" },
    { "surrogate", &zoo_node_type, BYTES(4, 0, 0, 0, 'x', 0xed, 0xa0, 0x80, 0, 0, 0, 0, 0),
      PARLEY_ERR_MALFORMED, "decode zoo_node.key: invalid UTF-8 at byte 1" },
    { "beyond U+10FFFF", &zoo_node_type, BYTES(4, 0, 0, 0, 0xf4, 0x90, 0x80, 0x80, 0, 0, 0, 0, 0),
      PARLEY_ERR_MALFORMED, "decode zoo_node.key: invalid UTF-8 at byte 0" },
    { "lone continuation", &zoo_node_type, BYTES(2, 0, 0, 0, 'a', 0x80, 0, 0, 0, 0, 0),
      PARLEY_ERR_MALFORMED, "decode zoo_node.key: invalid UTF-8 at byte 1" },
    { "cut sequence", &zoo_node_type, BYTES(3, 0, 0, 0, 'a', 0xe2, 0x82, 0, 0, 0, 0, 0),
      PARLEY_ERR_MALFORMED, "decode zoo_node.key: invalid UTF-8 at byte 1" },
    { "bad continuation", &zoo_node_type, BYTES(3, 0, 0, 0, 0xe2, 0x28, 0xa1, 0, 0, 0, 0, 0),
      PARLEY_ERR_MALFORMED, "decode zoo_node.key: invalid UTF-8 at byte 0" },
    { "byte F5", &zoo_node_type, BYTES(1, 0, 0, 0, 0xf5, 0, 0, 0, 0, 0),
      PARLEY_ERR_MALFORMED, "decode zoo_node.key: invalid UTF-8 at byte 0" },
    { "trailing bytes", &zoo_node_type, BYTES(0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4),
      PARLEY_ERR_MALFORMED, "decode zoo_node: 4 trailing bytes" },
    { "enum 5", &zoo_color_type, BYTES(5, 0, 0, 0), PARLEY_ERR_MALFORMED,
      "decode zoo_color: value 5 is not a declared zoo_color" },
    { "flags unknown bit", &zoo_perm_type, BYTES(9, 0, 0, 0), PARLEY_ERR_MALFORMED,
      "decode zoo_perm: value 9 is not an OR of zoo_perm flags" },
    { "unknown discriminator", &zoo_value_type, BYTES(5, 0, 0, 0), PARLEY_ERR_MALFORMED,
      "decode zoo_value: discriminator 5 is not a declared arm" },
    { "arm bytes beyond bound", &zoo_num_type, BYTES(2, 0, 9, 0, 0, 0), PARLEY_ERR_MALFORMED,
      "decode zoo_num.b: bytes longer than their bound 8" },
    { "fd index out of range", &fd_seq_type, BYTES(1, 0, 0, 0, 4, 0, 0, 0), PARLEY_ERR_MALFORMED,
      "decode fdseq[0]: fd index 4 out of range (4 fds)" },
    { "fd index reused", &fd_seq_type, BYTES(2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0),
      PARLEY_ERR_MALFORMED, "decode fdseq[1]: fd index 1 used twice" },
    { "unknown handle", &zoo_res_type, BYTES(100, 0, 0, 0, 0, 0, 0, 0, 0),
      PARLEY_ERR_INVALID_HANDLE,
      "decode zoo_res.cursor: handle cursor id 100 rejected: invalid handle" },
    { "optional unknown handle", &zoo_res_type, BYTES(1, 0, 0, 0, 1, 0xff, 0, 0, 0, 0, 0, 0, 0),
      PARLEY_ERR_INVALID_HANDLE,
      "decode zoo_res.maybe: handle cursor id 255 rejected: invalid handle" },
};

#define N_BAD_CASES (sizeof(bad_cases) / sizeof(bad_cases[0]))

/* Each case in both decode modes (default, compact): same status, same message. */
START_TEST(test_malformed_table)
{
    const bad_case *c = &bad_cases[(size_t)_i % N_BAD_CASES];
    int fds[4] = { 10, 11, 12, 13 };
    parley_codec codec = PARLEY_CODEC_INIT;
    void *v = (void *)&codec;
    uint8_t junk[sizeof(zoo_all)];
    size_t n = strlen(c->message);
    parley_status st;

    codec.handles = &codec_test_handle_ops;
    codec.fds = fds;
    codec.n_fds = 4;
    codec.flags = (size_t)_i >= N_BAD_CASES ? PARLEY_DECODE_COMPACT : 0;
    st = parley_data_decode(codec_root, c->type, c->data, c->len, &codec, &v);
    ck_assert_msg(st == c->status, "%s: got %s (%s)", c->what, parley_status_name(st),
                  parley_error_message());
    ck_assert_ptr_eq(v, (void *)&codec);    /* untouched on failure */
    if (c->message[n - 1] == '*')
        ck_assert_msg(strncmp(parley_error_message(), c->message, n - 1) == 0, "%s: %s",
                      c->what, parley_error_message());
    else
        ck_assert_msg(strcmp(parley_error_message(), c->message) == 0, "%s: %s", c->what,
                      parley_error_message());
    ck_assert_int_eq(talloc_total_blocks(codec_root), 1);

    memset(junk, 0x5a, sizeof(junk));
    st = parley_data_decode_into(codec_root, c->type, c->data, c->len, &codec, junk);
    ck_assert_int_eq(st, c->status);
    for (size_t i = 0; i < c->type->size; i++)
        ck_assert_uint_eq(junk[i], 0);
    ck_assert_int_eq(talloc_total_blocks(codec_root), 1);
}
END_TEST

START_TEST(test_malformed_bool_and_unsupported)
{
    zoo_all *a = codec_test_rich_all(codec_root);
    zoo_res r = { codec_test_handle(1), NULL, 3 };
    uint8_t *data;
    size_t len;
    void *v = NULL;
    int fds[1] = { 3 };
    parley_codec codec = PARLEY_CODEC_INIT;

    data = codec_encode_ok(&zoo_all_type, a, NULL, &len);
    ck_assert_uint_eq(data[30], 1);          /* b follows 30 bytes of integers */
    data[30] = 2;
    ck_assert_int_eq(parley_data_decode(codec_root, &zoo_all_type, data, len, NULL, &v),
                     PARLEY_ERR_MALFORMED);
    ck_assert_str_eq(parley_error_message(), "decode zoo_all.b: bool byte 2 is not 0 or 1");
    talloc_free(data);
    talloc_free(a);

    /* handles and fds without means */
    ck_assert_int_eq(parley_data_decode(codec_root, &zoo_res_type, BYTES(1, 0, 0, 0, 0, 0, 0, 0, 0),
                                        NULL, &v), PARLEY_ERR_UNSUPPORTED);
    ck_assert_str_eq(parley_error_message(),
                     "decode zoo_res.cursor: handle cursor without codec handle hooks");
    ck_assert_int_eq(parley_data_size(&zoo_res_type, &r, NULL, &len), PARLEY_ERR_UNSUPPORTED);
    codec.handles = &codec_test_handle_ops;
    ck_assert_int_eq(parley_data_size(&zoo_res_type, &r, &codec, &len), PARLEY_ERR_UNSUPPORTED);
    ck_assert_str_eq(parley_error_message(), "encode zoo_res.fd: fd without a codec fd array");
    ck_assert_int_eq(parley_data_decode(codec_root, &zoo_res_type, BYTES(1, 0, 0, 0, 0, 0, 0, 0, 0),
                                        &codec, &v), PARLEY_ERR_UNSUPPORTED);
    codec.fds = fds;
    codec.max_fds = 0;
    ck_assert_int_eq(parley_data_size(&zoo_res_type, &r, &codec, &len), PARLEY_ERR_OVERFLOW);
    ck_assert_str_eq(parley_error_message(), "encode zoo_res.fd: more than 0 fds");
    codec.max_fds = 1;
    ck_assert_int_eq(parley_data_size(&zoo_res_type, &r, &codec, &len), PARLEY_OK);
    ck_assert_uint_eq(codec.n_fds, 1);
    r.cursor = (parley_handle *)(void *)&codec;     /* not one of ours */
    ck_assert_int_eq(parley_data_encode(codec_root, &zoo_res_type, &r, &codec, &data, &len),
                     PARLEY_ERR_INVALID_HANDLE);
    ck_assert_str_eq(parley_error_message(),
                     "encode zoo_res.cursor: handle cursor rejected: invalid handle");
    r.cursor = NULL;
    ck_assert_int_eq(parley_data_size(&zoo_res_type, &r, &codec, &len),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(parley_error_message(), "encode zoo_res.cursor: handle is NULL");
}
END_TEST

/* ---- depth cap -------------------------------------------------------------------- */

START_TEST(test_depth_cap)
{
    /* A chain of n nodes nests n - 1 optionals. */
    zoo_node *ok = codec_test_node_chain(codec_root, PARLEY_DEFAULT_MAX_DEPTH + 1);
    zoo_node *deep = codec_test_node_chain(codec_root, PARLEY_DEFAULT_MAX_DEPTH + 2);
    parley_codec codec = PARLEY_CODEC_INIT;
    uint8_t *data;
    size_t len;
    void *v = NULL;

    data = codec_encode_ok(&zoo_node_type, ok, NULL, &len);
    talloc_free(codec_decode_ok(&zoo_node_type, data, len, NULL));
    talloc_free(data);

    ck_assert_int_eq(parley_data_size(&zoo_node_type, deep, NULL, &len), PARLEY_ERR_OVERFLOW);
    ck_assert_msg(strstr(parley_error_message(), "nested deeper than 64 levels") != NULL, "%s",
                  parley_error_message());
    codec.max_depth = 100;
    ck_assert_int_eq(parley_data_encode(codec_root, &zoo_node_type, deep, &codec, &data, &len),
                     PARLEY_OK);
    ck_assert_int_eq(parley_data_decode(codec_root, &zoo_node_type, data, len, NULL, &v),
                     PARLEY_ERR_OVERFLOW);
    ck_assert_msg(strncmp(parley_error_message(), "decode zoo_node.next.next.next", 30) == 0,
                  "%s", parley_error_message());
    ck_assert_int_eq(talloc_total_blocks(codec_root), 2 + 2 * (PARLEY_DEFAULT_MAX_DEPTH + 1) +
                                                    2 * (PARLEY_DEFAULT_MAX_DEPTH + 2));
    ck_assert_int_eq(parley_data_decode(codec_root, &zoo_node_type, data, len, &codec, &v), PARLEY_OK);
    talloc_free(v);
    for (int compact = 0; compact <= 1; compact++) {
        codec.flags = compact ? PARLEY_DECODE_COMPACT : 0;
        codec.max_depth = 3;
        ck_assert_int_eq(parley_data_decode(codec_root, &zoo_node_type, data, len, &codec, &v),
                         PARLEY_ERR_OVERFLOW);
        ck_assert_str_eq(parley_error_message(),
                         "decode zoo_node.next.next.next.next: nested deeper than 3 levels");
        codec.max_depth = 100;
        ck_assert_int_eq(parley_data_decode(codec_root, &zoo_node_type, data, len, &codec, &v),
                         PARLEY_OK);
        talloc_free(v);
    }
    talloc_free(data);
    talloc_free(ok);
    talloc_free(deep);
}
END_TEST

/* ---- prefixes and bit flips -------------------------------------------------------- */

static void check_prefixes(const parley_type *t, const uint8_t *data, size_t len,
                           bool compact)
{
    parley_codec codec = codec_mode(NULL, compact);

    for (size_t n = 0; n < len; n++) {
        void *v = NULL;
        parley_status st = parley_data_decode(codec_root, t, data, n, &codec, &v);
        ck_assert_msg(st == PARLEY_ERR_MALFORMED, "prefix %zu of %zu: %s", n, len,
                      parley_status_name(st));
        ck_assert_ptr_null(v);
        ck_assert_int_eq(talloc_total_blocks(codec_root), 2);
    }
}

static void check_flips(const parley_type *t, const uint8_t *data, size_t len,
                        const parley_codec *codec_in, bool compact)
{
    uint8_t *copy = talloc_memdup(codec_root, data, len);
    size_t ok = 0;
    parley_codec mode = codec_mode(codec_in, compact);
    parley_codec *codec = codec_in != NULL || compact ? &mode : NULL;

    for (size_t bit = 0; bit < len * 8; bit++) {
        void *v = NULL;
        parley_status st;
        copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        st = parley_data_decode(codec_root, t, copy, len, codec, &v);
        ck_assert_msg(st == PARLEY_OK || st == PARLEY_ERR_MALFORMED ||
                      (codec_in != NULL && st == PARLEY_ERR_INVALID_HANDLE),
                      "bit %zu: %s (%s)", bit, parley_status_name(st), parley_error_message());
        if (st == PARLEY_OK) {
            ok++;
            talloc_free(v);
        }
        ck_assert_int_eq(talloc_total_blocks(codec_root), 3);
        copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    ck_assert_uint_gt(ok, 0);    /* flips inside integers decode */
    talloc_free(copy);
}

/* Every prefix and bit flip, in both decode modes (_i: 1 = compact). */
START_TEST(test_prefixes_and_flips)
{
    bool compact = _i == 1;
    zoo_all *a = codec_test_rich_all(NULL);
    zoo_node *tree = codec_test_node_tree(NULL, 2, 3);
    zoo_res r = { codec_test_handle(7), codec_test_handle(8), 5 };
    int fds[2];
    parley_codec codec = PARLEY_CODEC_INIT;
    size_t len;
    uint8_t *data;

    codec.handles = &codec_test_handle_ops;
    codec.fds = fds;
    codec.max_fds = 2;

    data = codec_encode_ok(&zoo_all_type, a, NULL, &len);
    check_prefixes(&zoo_all_type, data, len, compact);
    check_flips(&zoo_all_type, data, len, NULL, compact);
    talloc_free(data);

    data = codec_encode_ok(&zoo_node_type, tree, NULL, &len);
    check_prefixes(&zoo_node_type, data, len, compact);
    check_flips(&zoo_node_type, data, len, NULL, compact);
    talloc_free(data);

    data = codec_encode_ok(&zoo_res_type, &r, &codec, &len);
    check_flips(&zoo_res_type, data, len, &codec, compact);
    talloc_free(data);
    talloc_free(a);
    talloc_free(tree);
}
END_TEST

/* ---- encode errors ---------------------------------------------------------------- */

static void expect_encode_error(const zoo_all *a, parley_status st, const char *message)
{
    size_t len = 12345;
    uint8_t *data = NULL;
    uint8_t buf[1024];

    ck_assert_int_eq(parley_data_size(&zoo_all_type, a, NULL, &len), st);
    ck_assert_str_eq(parley_error_message(), message);
    ck_assert_uint_eq(len, 12345);
    ck_assert_int_eq(parley_data_encode(codec_root, &zoo_all_type, a, NULL, &data, &len), st);
    ck_assert_str_eq(parley_error_message(), message);
    ck_assert_ptr_null(data);
    ck_assert_int_eq(parley_data_encode_to(&zoo_all_type, a, NULL, buf, sizeof(buf), &len), st);
    ck_assert_str_eq(parley_error_message(), message);
    ck_assert_uint_eq(len, 12345);
}

START_TEST(test_encode_errors)
{
    zoo_all *a = codec_test_rich_all(codec_root);
    zoo_all b = *a;
    char *words[2] = { "x", NULL };

    b.text = NULL;
    expect_encode_error(&b, PARLEY_ERR_INVALID_ARGUMENT, "encode zoo_all.text: string is NULL");
    b = *a;
    b.name = "0123456789abcdefg";
    expect_encode_error(&b, PARLEY_ERR_INVALID_ARGUMENT,
                        "encode zoo_all.name: string longer than its bound 16");
    b = *a;
    b.text = "a\xc3(";
    expect_encode_error(&b, PARLEY_ERR_INVALID_ARGUMENT,
                        "encode zoo_all.text: invalid UTF-8 at byte 1");
    b = *a;
    b.color = (zoo_color)5;
    expect_encode_error(&b, PARLEY_ERR_INVALID_ARGUMENT,
                        "encode zoo_all.color: value 5 is not a declared zoo_color");
    b = *a;
    b.perm = (zoo_perm)16;
    expect_encode_error(&b, PARLEY_ERR_INVALID_ARGUMENT,
                        "encode zoo_all.perm: value 16 is not an OR of zoo_perm flags");
    b = *a;
    b.value.kind = (zoo_color)5;
    expect_encode_error(&b, PARLEY_ERR_INVALID_ARGUMENT,
                        "encode zoo_all.value: discriminator 5 is not a declared arm");
    b = *a;
    b.value.kind = ZOO_BLACK;   /* a declared color with no arm and no default */
    expect_encode_error(&b, PARLEY_ERR_INVALID_ARGUMENT,
                        "encode zoo_all.value: discriminator -3 is not a declared arm");
    b = *a;
    b.n_points = 9;
    expect_encode_error(&b, PARLEY_ERR_INVALID_ARGUMENT,
                        "encode zoo_all.points: sequence of 9 items longer than its bound 8");
    b = *a;
    b.points = NULL;
    expect_encode_error(&b, PARLEY_ERR_INVALID_ARGUMENT,
                        "encode zoo_all.points: 3 items at a NULL pointer");
    b = *a;
    b.n_words = 2;
    b.words = words;
    expect_encode_error(&b, PARLEY_ERR_INVALID_ARGUMENT,
                        "encode zoo_all.words[1]: string is NULL");
    b = *a;
    b.blob.len = 65;
    expect_encode_error(&b, PARLEY_ERR_INVALID_ARGUMENT,
                        "encode zoo_all.blob: bytes longer than their bound 64");
    b = *a;
    b.num.tag = 2;
    b.num.u.b.len = 1;
    b.num.u.b.data = NULL;
    expect_encode_error(&b, PARLEY_ERR_INVALID_ARGUMENT,
                        "encode zoo_all.num.b: 1 bytes at a NULL pointer");
    talloc_free(a);
}
END_TEST

START_TEST(test_encode_to_buffer_sizes)
{
    zoo_all *a = codec_test_rich_all(codec_root);
    size_t size, len;
    uint8_t *buf;

    ck_assert_int_eq(parley_data_size(&zoo_all_type, a, NULL, &size), PARLEY_OK);
    buf = talloc_size(codec_root, size);
    for (size_t cap = 0; cap < size; cap++) {
        len = 777;
        ck_assert_int_eq(parley_data_encode_to(&zoo_all_type, a, NULL, buf, cap, &len),
                         PARLEY_ERR_OVERFLOW);
        ck_assert_uint_eq(len, 777);
        ck_assert_msg(strstr(parley_error_message(), "encoding longer than the buffer") != NULL,
                      "%s", parley_error_message());
    }
    ck_assert_int_eq(parley_data_encode_to(&zoo_all_type, a, NULL, buf, size, &len), PARLEY_OK);
    ck_assert_uint_eq(len, size);
    ck_assert_int_eq(parley_data_encode_to(&zoo_all_type, a, NULL, NULL, 0, &len),
                     PARLEY_ERR_OVERFLOW);
    ck_assert_int_eq(parley_data_encode_to(&zoo_all_type, a, NULL, NULL, 5, &len),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_data_size(NULL, a, NULL, &len), PARLEY_ERR_INVALID_ARGUMENT);
    {
        /* an empty struct encodes to nothing */
        static const parley_type empty_type = { .kind = PARLEY_KIND_STRUCT, .name = "empty",
                                                .size = 1 };
        uint8_t one = 0;
        uint8_t *data = NULL;
        void *v = NULL;
        ck_assert_int_eq(parley_data_encode(codec_root, &empty_type, &one, NULL, &data, &len),
                         PARLEY_OK);
        ck_assert_uint_eq(len, 0);
        ck_assert_ptr_nonnull(data);
        ck_assert_uint_eq(talloc_get_size(data), 0);
        ck_assert_int_eq(parley_data_decode(codec_root, &empty_type, data, 0, NULL, &v), PARLEY_OK);
        talloc_free(v);
        ck_assert_int_eq(parley_data_decode(codec_root, &empty_type, NULL, 0, NULL, &v), PARLEY_OK);
        talloc_free(data);
        talloc_free(v);
    }
    ck_assert_int_eq(parley_data_decode(codec_root, &zoo_all_type, NULL, 3, NULL, (void **)&buf),
                     PARLEY_ERR_INVALID_ARGUMENT);
    talloc_free(buf);
    talloc_free(a);
}
END_TEST

/* decode_into hangs what it allocates under mem_ctx, nothing under the object. */

/* The descriptors this file writes by hand are valid. */
START_TEST(test_error_descriptors_check)
{
    const parley_type *local[] = { &fd_seq_type, &int_seq_type, &pts8_type };
    for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
        ck_assert_msg(parley_type_check(local[i]) == PARLEY_OK, "%s: %s", local[i]->name,
                      parley_error_message());
}
END_TEST

void codec_add_error_tests(TCase *tc)
{
    tcase_add_loop_test(tc, test_malformed_table, 0, 2 * (int)N_BAD_CASES);
    tcase_add_test(tc, test_malformed_bool_and_unsupported);
    tcase_add_test(tc, test_depth_cap);
    tcase_add_loop_test(tc, test_prefixes_and_flips, 0, 2);
    tcase_add_test(tc, test_encode_errors);
    tcase_add_test(tc, test_encode_to_buffer_sizes);
    tcase_add_test(tc, test_error_descriptors_check);
}
