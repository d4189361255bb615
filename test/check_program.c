/* SPDX-License-Identifier: MIT */
/* Compiled codec programs (lib/program.c): they exist for what they cover,
 * give exactly the generic walk's bytes, statuses and error messages, and
 * are safe to build from several threads at once. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <check.h>
#include <talloc.h>

#include "parley/data.h"
#include "codec.h"
#include "program.h"
#include "random.h"
#include "suites.h"
#include "zoo.h"

static void *root;

static void setup(void)
{
    root = talloc_new(NULL);
    parley__prog_enabled = true;
}

static void teardown(void)
{
    parley__prog_enabled = true;
    ck_assert_int_eq(talloc_total_blocks(root), 1);
    talloc_free(root);
}

/* The outcome of one encode: status, message, bytes. */
typedef struct outcome {
    parley_status st;
    char msg[256];
    uint8_t *data;
    size_t len;
    size_t size;        /* parley_data_size */
    parley_status size_st;
} outcome;

static void encode_with(bool programs, const parley_type *t, const void *v, unsigned max_depth,
                        void *mem, outcome *o)
{
    parley_codec codec = PARLEY_CODEC_INIT;

    codec.max_depth = max_depth;
    parley__prog_enabled = programs;
    memset(o, 0, sizeof(*o));
    o->size_st = parley_data_size(t, v, &codec, &o->size);
    o->st = parley_data_encode(mem, t, v, &codec, &o->data, &o->len);
    snprintf(o->msg, sizeof(o->msg), "%s", o->st == PARLEY_OK ? "" : parley_error_message());
    parley__prog_enabled = true;
}

static void assert_same(const parley_type *t, const void *v, unsigned max_depth,
                        const char *what)
{
    void *mem = talloc_new(root);
    outcome a, b;

    encode_with(false, t, v, max_depth, mem, &a);
    encode_with(true, t, v, max_depth, mem, &b);
    ck_assert_msg(a.st == b.st, "%s %s: status %s by walk, %s by program", t->name, what,
                  parley_status_name(a.st), parley_status_name(b.st));
    ck_assert_msg(strcmp(a.msg, b.msg) == 0, "%s %s: \"%s\" by walk, \"%s\" by program",
                  t->name, what, a.msg, b.msg);
    ck_assert_msg(a.size_st == b.size_st && a.size == b.size, "%s %s: sizes differ", t->name,
                  what);
    if (a.st == PARLEY_OK) {
        ck_assert_msg(a.len == b.len && memcmp(a.data, b.data, a.len) == 0,
                      "%s %s: bytes differ", t->name, what);
        ck_assert_msg(a.size == a.len, "%s %s: size %zu, encoding %zu", t->name, what, a.size,
                      a.len);
        /* into a caller buffer: exact, and one byte short */
        {
            uint8_t *buf = talloc_size(mem, a.len + 1);
            size_t n1 = 0, n2 = 0;
            parley_status s1, s2;
            char m1[256];
            ck_assert_ptr_nonnull(buf);
            parley__prog_enabled = true;
            s1 = parley_data_encode_to(t, v, NULL, buf, a.len, &n1);
            ck_assert_msg(s1 == PARLEY_OK && n1 == a.len && memcmp(buf, a.data, a.len) == 0,
                          "%s %s: encode_to differs", t->name, what);
            if (a.len > 0) {
                s1 = parley_data_encode_to(t, v, NULL, buf, a.len - 1, &n1);
                snprintf(m1, sizeof(m1), "%s", parley_error_message());
                parley__prog_enabled = false;
                s2 = parley_data_encode_to(t, v, NULL, buf, a.len - 1, &n2);
                parley__prog_enabled = true;
                ck_assert_msg(s1 == PARLEY_ERR_OVERFLOW && s2 == PARLEY_ERR_OVERFLOW &&
                              strcmp(m1, parley_error_message()) == 0,
                              "%s %s: short buffer: \"%s\" vs \"%s\"", t->name, what, m1,
                              parley_error_message());
            }
        }
    }
    talloc_free(mem);
}

/* Programs exist for static descriptors without handles or fds, and not
 * for a transient descriptor (on the stack) nor for a type that holds one. */
START_TEST(test_which_types_compile)
{
    parley_type on_stack = PARLEY_SEQUENCE_TYPE("local", zoo_point_type, 0);
    static parley_type holder = PARLEY_OPTIONAL_TYPE("holder", zoo_point_type);

    on_stack.flags |= PARLEY_TYPE_TRANSIENT;
    holder.elem = &on_stack;
    ck_assert_ptr_null(parley__prog_get(&holder));

    ck_assert_ptr_nonnull(parley__prog_get(&zoo_point_type));
    ck_assert_ptr_nonnull(parley__prog_get(&zoo_all_type));
    ck_assert_ptr_nonnull(parley__prog_get(&zoo_node_type));
    ck_assert_ptr_nonnull(parley__prog_get(&zoo_value_type));
    ck_assert_ptr_null(parley__prog_get(&zoo_res_type));
    ck_assert_ptr_null(parley__prog_get(&on_stack));
    /* the answer is cached: asked again, the same program */
    ck_assert_ptr_eq(parley__prog_get(&zoo_all_type), parley__prog_get(&zoo_all_type));
    /* zoo_point {int32 x, y, z; double w}: x..z in one copy, w in another */
    {
        const parley__prog *pg = parley__prog_get(&zoo_point_type);
        ck_assert_uint_eq(pg->n_ops, 2);
        ck_assert_uint_eq(pg->ops[0].code, PARLEY__OP_FIXED);
        ck_assert_uint_eq(pg->ops[0].len, 12);
        ck_assert_uint_eq(pg->ops[1].len, 8);
    }
    parley__prog_enabled = false;
    ck_assert_ptr_null(parley__prog_get(&zoo_point_type));
}
END_TEST

#define SEEDS 150

/* Random values of every zoo type: the program's bytes are the walk's. */
START_TEST(test_random_values_same_bytes)
{
    const parley_type *t = zoo_types[_i];

    if (parley__prog_get(t) == NULL)
        return;     /* handles and fds: the walk only */
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        uint64_t state = seed * 0x9e3779b97f4a7c15ull;
        void *mem = talloc_new(root);
        void *v = parley_test_random_value(mem, t, &state);
        char what[32];

        ck_assert_ptr_nonnull(v);
        snprintf(what, sizeof(what), "seed %llu", (unsigned long long)seed);
        assert_same(t, v, 0, what);
        talloc_free(mem);
    }
}
END_TEST

/* Values the encoder refuses: the program reports the walk's error, field path
 * and all. */
START_TEST(test_errors_same_messages)
{
    uint64_t state = 7;
    zoo_all *a = parley_test_random_value(root, &zoo_all_type, &state);
    zoo_all saved;
    zoo_node chain[5];

    ck_assert_ptr_nonnull(a);
    saved = *a;
    a->name = NULL;
    assert_same(&zoo_all_type, a, 0, "NULL string");
    *a = saved;
    a->color = (zoo_color)12345;
    assert_same(&zoo_all_type, a, 0, "bad enum");
    *a = saved;
    a->text = "bad \xC0\x80 utf8";
    assert_same(&zoo_all_type, a, 0, "bad UTF-8");
    *a = saved;
    a->n_points = 9;
    assert_same(&zoo_all_type, a, 0, "sequence beyond its bound");
    *a = saved;
    a->n_nums = 3;
    a->nums = NULL;
    assert_same(&zoo_all_type, a, 0, "items at NULL");
    *a = saved;
    a->value.kind = (zoo_color)77;
    assert_same(&zoo_all_type, a, 0, "bad discriminator");
    *a = saved;
    a->blob.len = 65;
    assert_same(&zoo_all_type, a, 0, "bytes beyond their bound");

    /* the depth cap, counted the same way */
    for (size_t i = 0; i < 5; i++)
        chain[i] = (zoo_node){ "k", 0, NULL, i + 1 < 5 ? &chain[i + 1] : NULL };
    for (unsigned depth = 1; depth <= 6; depth++)
        assert_same(&zoo_node_type, &chain[0], depth, "chain of 5");
    talloc_free_children(root);
}
END_TEST

/* ---- decode ------------------------------------------------------------------------ */

/* Decode data both ways (walk, program), with decode and decode_into: same
 * status, same message, equal values with the same number of chunks; on
 * failure nothing left. */
static void assert_same_decode(const parley_type *t, const uint8_t *data, size_t len,
                               const char *what, bool compact)
{
    parley_codec codec = PARLEY_CODEC_INIT;
    void *mem = talloc_new(root);
    void *va = NULL, *vb = NULL;
    void *ia = talloc_zero_size(mem, t->size), *ib = talloc_zero_size(mem, t->size);
    void *ca = talloc_new(mem), *cb = talloc_new(mem);
    parley_status sa, sb, ja, jb;
    char ma[256], mb[256];

    ck_assert_ptr_nonnull(ia);
    ck_assert_ptr_nonnull(ib);
    codec.flags = compact ? PARLEY_DECODE_COMPACT : 0;
    parley__prog_enabled = false;
    sa = parley_data_decode(mem, t, data, len, &codec, &va);
    snprintf(ma, sizeof(ma), "%s", sa == PARLEY_OK ? "" : parley_error_message());
    ja = parley_data_decode_into(ca, t, data, len, &codec, ia);
    parley__prog_enabled = true;
    sb = parley_data_decode(mem, t, data, len, &codec, &vb);
    snprintf(mb, sizeof(mb), "%s", sb == PARLEY_OK ? "" : parley_error_message());
    ck_assert_msg(sa == sb && strcmp(ma, mb) == 0, "%s %s: walk %s \"%s\", program %s \"%s\"",
                  t->name, what, parley_status_name(sa), ma, parley_status_name(sb), mb);
    jb = parley_data_decode_into(cb, t, data, len, &codec, ib);
    ck_assert_msg(ja == sa && jb == sb, "%s %s: decode_into %s by walk, %s by program", t->name,
                  what, parley_status_name(ja), parley_status_name(jb));
    if (sa == PARLEY_OK) {
        ck_assert_msg(parley_data_equal(t, va, vb), "%s %s: values differ", t->name, what);
        ck_assert_msg(talloc_total_blocks(va) == talloc_total_blocks(vb),
                      "%s %s: %zu chunks by walk, %zu by program", t->name, what,
                      talloc_total_blocks(va), talloc_total_blocks(vb));
        ck_assert_msg(parley_data_equal(t, va, ib), "%s %s: decode_into value", t->name, what);
        ck_assert_int_eq(talloc_total_blocks(ca), talloc_total_blocks(cb));
    } else {
        /* nothing left: mem holds ia, ib, ca, cb only; ib zeroed */
        static const uint8_t zero[512];
        ck_assert_int_eq(talloc_total_blocks(mem), 5);
        ck_assert_int_eq(talloc_total_blocks(cb), 1);
        ck_assert(t->size > sizeof(zero) || memcmp(ib, zero, t->size) == 0);
    }
    talloc_free(mem);
}

/* Random values of every zoo type, and every prefix and single-bit flip of
 * their encodings: the program decodes as the walk does, in both decode
 * modes (odd _i: compact). */
START_TEST(test_decode_same)
{
    const parley_type *t = zoo_types[_i / 2];
    bool compact = _i % 2 == 1;

    if (parley__prog_get(t) == NULL)
        return;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        uint64_t state = seed * 0x9e3779b97f4a7c15ull;
        void *mem = talloc_new(root);
        void *v = parley_test_random_value(mem, t, &state);
        parley_codec none = PARLEY_CODEC_INIT;
        uint8_t *data;
        size_t len;
        char what[64];

        ck_assert_ptr_nonnull(v);
        ck_assert_int_eq(parley_data_encode(mem, t, v, &none, &data, &len), PARLEY_OK);
        snprintf(what, sizeof(what), "seed %llu", (unsigned long long)seed);
        assert_same_decode(t, data, len, what, compact);
        if (seed <= 4 && len <= 512) {
            for (size_t n = 0; n < len; n++) {
                snprintf(what, sizeof(what), "seed %llu prefix %zu", (unsigned long long)seed, n);
                assert_same_decode(t, data, n, what, compact);
            }
            for (size_t bit = 0; bit < len * 8; bit++) {
                data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
                snprintf(what, sizeof(what), "seed %llu flip %zu", (unsigned long long)seed, bit);
                assert_same_decode(t, data, len, what, compact);
                data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            }
        }
        talloc_free(mem);
    }
}
END_TEST

/* ---- text checks ------------------------------------------------------------------- */

/* A plain reference: the length of the valid UTF-8 prefix, code point by
 * code point (no overlongs, surrogates or values past U+10FFFF). */
static size_t ref_utf8(const uint8_t *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        uint32_t c = s[i], cp;
        size_t n;
        if (c < 0x80) { i++; continue; }
        if ((c & 0xE0) == 0xC0) { n = 2; cp = c & 0x1F; }
        else if ((c & 0xF0) == 0xE0) { n = 3; cp = c & 0x0F; }
        else if ((c & 0xF8) == 0xF0) { n = 4; cp = c & 0x07; }
        else return i;
        if (len - i < n)
            return i;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += n;
    }
    return len;
}

/* parley__utf8_check and parley__text_ok agree with the reference on random
 * text: mostly ASCII, with zero bytes, UTF-8 sequences and broken pieces at
 * every position and length up to 40 (word paths and byte tails). */
START_TEST(test_text_checks)
{
    static const uint8_t pieces[][4] = {
        { 'a' }, { 'z' }, { 0 }, { 0xC3, 0xA9 }, { 0xE2, 0x82, 0xAC }, { 0xF0, 0x9F, 0x98, 0x80 },
        { 0x80 }, { 0xC0, 0x80 }, { 0xED, 0xA0, 0x80 }, { 0xF4, 0x90, 0x80, 0x80 }, { 0xFF },
        { 0xE2, 0x82 },
    };
    static const size_t piece_len[] = { 1, 1, 1, 2, 3, 4, 1, 2, 3, 4, 1, 2 };
    uint64_t state = 42;

    for (int round = 0; round < 20000; round++) {
        uint8_t buf[48];
        size_t len = 0, want = parley_test_rand_below(&state, 41);
        while (len < want) {
            uint64_t r = parley_test_rand_below(&state, 100);
            size_t k = r < 85 ? (r & 1) : 2 + (size_t)parley_test_rand_below(&state, 10);
            if (r >= 85 && k == 2 && parley_test_rand_below(&state, 2))
                k = 0;
            for (size_t j = 0; j < piece_len[k] && len < want; j++)
                buf[len++] = pieces[k][j];
        }
        {
            size_t ref = ref_utf8(buf, len);
            bool ok = ref == len && memchr(buf, 0, len) == NULL;
            ck_assert_msg(parley__utf8_check(buf, len) == ref, "round %d: utf8_check", round);
            ck_assert_msg(parley__text_ok(buf, len) == ok, "round %d: text_ok", round);
        }
    }
}
END_TEST

/* ---- threads ------------------------------------------------------------------------- */

#define THREADS 4
#define THREAD_ROUNDS 20

typedef struct job {
    const uint8_t *expect[16];
    size_t expect_len[16];
    void *values[16];
    int failures;
} job;

static void *encode_all(void *arg)
{
    job *j = arg;

    for (int r = 0; r < THREAD_ROUNDS; r++)
        for (size_t i = 0; i < zoo_n_types && i < 16; i++) {
            uint8_t buf[4096];
            size_t len;
            parley_status st;
            if (j->values[i] == NULL)
                continue;
            st = parley_data_encode_to(zoo_types[i], j->values[i], NULL, buf, sizeof(buf), &len);
            if (st != PARLEY_OK || len != j->expect_len[i] ||
                memcmp(buf, j->expect[i], len) != 0)
                j->failures++;
        }
    return NULL;
}

/* Several threads meet uncompiled types at once (each test runs in a fresh
 * process under CK_FORK, so the table starts empty): all get the walk's bytes. */
START_TEST(test_threads_compile_at_once)
{
    job jobs[THREADS];
    pthread_t th[THREADS];
    job proto;

    memset(&proto, 0, sizeof(proto));
    for (size_t i = 0; i < zoo_n_types && i < 16; i++) {
        uint64_t state = 1000 + i;
        parley_codec none = PARLEY_CODEC_INIT;
        uint8_t *data;
        size_t len;
        if (zoo_types[i] == &zoo_res_type)
            continue;
        proto.values[i] = parley_test_random_value(root, zoo_types[i], &state);
        ck_assert_ptr_nonnull(proto.values[i]);
        parley__prog_enabled = false;
        ck_assert_int_eq(parley_data_encode(root, zoo_types[i], proto.values[i], &none, &data,
                                            &len), PARLEY_OK);
        parley__prog_enabled = true;
        if (len > 4096) {
            proto.values[i] = NULL;
            continue;
        }
        proto.expect[i] = data;
        proto.expect_len[i] = len;
    }
    for (int k = 0; k < THREADS; k++) {
        jobs[k] = proto;
        ck_assert_int_eq(pthread_create(&th[k], NULL, encode_all, &jobs[k]), 0);
    }
    for (int k = 0; k < THREADS; k++) {
        ck_assert_int_eq(pthread_join(th[k], NULL), 0);
        ck_assert_int_eq(jobs[k].failures, 0);
    }
    talloc_free_children(root);
}
END_TEST

Suite *parley_program_suite(void)
{
    Suite *s = suite_create("program");
    TCase *tc = tcase_create("program");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_which_types_compile);
    tcase_add_loop_test(tc, test_random_values_same_bytes, 0, (int)zoo_n_types);
    tcase_add_test(tc, test_errors_same_messages);
    tcase_add_test(tc, test_text_checks);
    tcase_add_loop_test(tc, test_decode_same, 0, 2 * (int)zoo_n_types);
    tcase_add_test(tc, test_threads_compile_at_once);
    suite_add_tcase(s, tc);
    return s;
}
