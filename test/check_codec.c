/* SPDX-License-Identifier: MIT */
/* The codec's encode and decode: exact bytes, round trips over the zoo (hand
 * built and random), flat copy plans, ownership, the fuzz seed corpus.  The
 * failure paths are in check_codec_errors.c. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <talloc.h>

#include "parley/data.h"
#include "codec_values.h"
#include "random.h"
#include "check_codec.h"
#include "suites.h"
#include "zoo.h"

void *codec_root;

void codec_setup(void)
{
    codec_root = talloc_new(NULL);
}

void codec_teardown(void)
{
    ck_assert_int_eq(talloc_total_blocks(codec_root), 1);
    TALLOC_FREE(codec_root);
}

/* Encode with every entry point and check they agree; return the bytes. */
uint8_t *codec_encode_ok(const parley_type *t, const void *v, parley_codec *codec,
                         size_t *ret_len)
{
    uint8_t *data = NULL;
    size_t len = 0, size = 0, len2 = 0;
    uint8_t *buf;

    ck_assert_msg(parley_data_size(t, v, codec, &size) == PARLEY_OK, "%s", parley_error_message());
    ck_assert_msg(parley_data_encode(codec_root, t, v, codec, &data, &len) == PARLEY_OK, "%s",
                  parley_error_message());
    ck_assert_uint_eq(len, size);
    ck_assert_uint_eq(talloc_get_size(data), len);
    buf = talloc_size(codec_root, len + 1);
    ck_assert_int_eq(parley_data_encode_to(t, v, codec, buf, len, &len2), PARLEY_OK);
    ck_assert_uint_eq(len2, len);
    ck_assert_mem_eq(buf, data, len);
    talloc_free(buf);
    *ret_len = len;
    return data;
}

parley_codec codec_mode(const parley_codec *codec, bool compact)
{
    parley_codec c = PARLEY_CODEC_INIT;

    if (codec != NULL)
        c = *codec;
    c.flags = compact ? (c.flags | PARLEY_DECODE_COMPACT) : (c.flags & ~PARLEY_DECODE_COMPACT);
    return c;
}

/* Decode (both entry points) in one mode, re-encode, and require the same bytes. */
static void *decode_ok_mode(const parley_type *t, const uint8_t *data, size_t len,
                            parley_codec *codec)
{
    void *v = NULL;
    void *into = talloc_zero_size(codec_root, t->size);
    void *into_mem = talloc_new(codec_root);
    uint8_t *again;
    size_t len2;

    ck_assert_msg(parley_data_decode(codec_root, t, data, len, codec, &v) == PARLEY_OK, "%s",
                  parley_error_message());
    ck_assert_ptr_eq(talloc_parent(v), codec_root);
    ck_assert_str_eq(talloc_get_name(v), t->name);
    again = codec_encode_ok(t, v, codec, &len2);
    ck_assert_uint_eq(len2, len);
    ck_assert_mem_eq(again, data, len);
    talloc_free(again);
    ck_assert_msg(parley_data_decode_into(into_mem, t, data, len, codec, into) == PARLEY_OK,
                  "%s", parley_error_message());
    again = codec_encode_ok(t, into, codec, &len2);
    ck_assert_uint_eq(len2, len);
    ck_assert_mem_eq(again, data, len);
    talloc_free(again);
    talloc_free(into_mem);
    talloc_free(into);
    return v;
}

void *codec_decode_ok(const parley_type *t, const uint8_t *data, size_t len,
                      parley_codec *codec)
{
    bool compact = codec != NULL && (codec->flags & PARLEY_DECODE_COMPACT) != 0;
    parley_codec other = codec_mode(codec, !compact);
    void *v, *w;

    /* the other mode first, so that codec's fd/handle state ends as the
     * caller's mode leaves it */
    w = decode_ok_mode(t, data, len, &other);
    v = decode_ok_mode(t, data, len, codec);
    ck_assert_msg(parley_data_equal(t, v, w), "%s: the two decode modes differ", t->name);
    talloc_free(w);
    return v;
}

/* ---- exact wire bytes ----------------------------------------------------------- */

static void assert_encodes_to(const parley_type *t, const void *v, const uint8_t *want, size_t n)
{
    size_t len;
    uint8_t *data = codec_encode_ok(t, v, NULL, &len);
    ck_assert_uint_eq(len, n);
    ck_assert_mem_eq(data, want, n);
    talloc_free(data);
}

START_TEST(test_wire_bytes)
{
    zoo_point p = { 1, -2, 3, 1.0 };
    zoo_value green = { ZOO_GREEN, { .s = "hi" } };
    zoo_value blue = { ZOO_BLUE, { .i = 0 } };
    zoo_value red = { ZOO_RED, { .i = -1 } };
    zoo_num other = { 9, { .other = 0x01020304 } };
    zoo_color black = ZOO_BLACK;
    zoo_perm rw = ZOO_READ | ZOO_WRITE;
    zoo_node child = { "c", 0, NULL, NULL };
    zoo_node next = { "", 0, NULL, NULL };
    zoo_node n = { "k", 1, &child, &next };

    assert_encodes_to(&zoo_point_type, &p,
                      BYTES(1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 3, 0, 0, 0,
                            0, 0, 0, 0, 0, 0, 0xf0, 0x3f));
    assert_encodes_to(&zoo_value_type, &green, BYTES(1, 0, 0, 0, 2, 0, 0, 0, 'h', 'i'));
    assert_encodes_to(&zoo_value_type, &blue, BYTES(7, 0, 0, 0));
    assert_encodes_to(&zoo_value_type, &red,
                      BYTES(0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
    assert_encodes_to(&zoo_num_type, &other, BYTES(9, 0, 4, 3, 2, 1));
    assert_encodes_to(&zoo_color_type, &black, BYTES(0xfd, 0xff, 0xff, 0xff));
    assert_encodes_to(&zoo_perm_type, &rw, BYTES(3, 0, 0, 0));
    assert_encodes_to(&zoo_node_type, &n,
                      BYTES(1, 0, 0, 0, 'k',                 /* key */
                            1, 0, 0, 0,                      /* 1 child */
                            1, 0, 0, 0, 'c', 0, 0, 0, 0, 0,  /* child: key, no children, no next */
                            1,                               /* next present */
                            0, 0, 0, 0, 0, 0, 0, 0, 0));     /* next: "", none, none */
}
END_TEST

/* ---- round trips ----------------------------------------------------------------- */

START_TEST(test_round_trip_rich_all)
{
    zoo_all *a = codec_test_rich_all(codec_root);
    size_t len;
    uint8_t *data = codec_encode_ok(&zoo_all_type, a, NULL, &len);
    zoo_all *b = codec_decode_ok(&zoo_all_type, data, len, NULL);

    ck_assert_int_eq(b->i8, a->i8);
    ck_assert_int_eq(b->i64, a->i64);
    ck_assert_uint_eq(b->u64, a->u64);
    ck_assert(b->b);
    ck_assert(b->f == a->f && b->d == a->d);
    ck_assert_int_eq(b->color, ZOO_BLACK);
    ck_assert_int_eq(b->perm, ZOO_READ | ZOO_EXEC);
    ck_assert_str_eq(b->name, a->name);
    ck_assert_str_eq(b->text, a->text);
    ck_assert_uint_eq(b->blob.len, 5);
    ck_assert_mem_eq(b->blob.data, a->blob.data, 5);
    ck_assert_mem_eq(b->fixed, a->fixed, sizeof(a->fixed));
    ck_assert_uint_eq(b->n_points, 3);
    ck_assert_mem_eq(b->points, a->points, 3 * sizeof(zoo_point));
    ck_assert_uint_eq(b->n_words, 3);
    ck_assert_str_eq(b->words[0], "");
    ck_assert_str_eq(b->words[2], a->words[2]);
    ck_assert_mem_eq(b->origin, a->origin, sizeof(zoo_point));
    ck_assert_int_eq(b->value.kind, ZOO_GREEN);
    ck_assert_str_eq(b->value.u.s, "green");
    ck_assert_uint_eq(b->num.tag, 42);
    ck_assert_uint_eq(b->num.u.other, 0xabcdef01u);
    ck_assert_str_eq(b->secret, "hunter2");
    ck_assert_mem_eq(b->flats, a->flats, sizeof(a->flats));
    ck_assert_mem_eq(b->flat_seq, a->flat_seq, 2 * sizeof(zoo_flat));
    ck_assert_mem_eq(b->nums, a->nums, 4 * sizeof(int32_t));
    /* the graph hangs under the top object and its arrays */
    ck_assert_ptr_eq(talloc_parent(b->name), b);
    ck_assert_ptr_eq(talloc_parent(b->points), b);
    ck_assert_ptr_eq(talloc_parent(b->words), b);
    ck_assert_ptr_eq(talloc_parent(b->words[1]), b->words);
    ck_assert_ptr_eq(talloc_parent(b->origin), b);
    ck_assert_ptr_eq(talloc_parent(b->value.u.s), b);
    talloc_free(b);
    talloc_free(data);
    talloc_free(a);
}
END_TEST

START_TEST(test_round_trip_empty_all)
{
    /* Empty strings, NULL optional, empty sequences and bytes, void union arm. */
    zoo_all a;
    size_t len;
    uint8_t *data;
    zoo_all *b;

    memset(&a, 0, sizeof(a));
    a.name = "";
    a.text = "";
    a.value.kind = ZOO_BLUE;
    a.num.tag = 3;
    a.num.u.p = (zoo_point){ 1, 2, 3, 4.5 };
    a.secret = "";
    data = codec_encode_ok(&zoo_all_type, &a, NULL, &len);
    b = codec_decode_ok(&zoo_all_type, data, len, NULL);
    ck_assert_ptr_null(b->origin);
    ck_assert_ptr_null(b->points);
    ck_assert_ptr_null(b->blob.data);
    ck_assert_uint_eq(b->n_words, 0);
    ck_assert_str_eq(b->name, "");
    ck_assert_int_eq(b->value.kind, ZOO_BLUE);
    ck_assert_mem_eq(&b->num.u.p, &a.num.u.p, sizeof(zoo_point));
    talloc_free(b);
    talloc_free(data);
}
END_TEST

START_TEST(test_round_trip_nodes)
{
    zoo_node *tree = codec_test_node_tree(codec_root, 4, 3);
    zoo_node *chain = codec_test_node_chain(codec_root, 60);
    size_t len;
    uint8_t *data = codec_encode_ok(&zoo_node_type, tree, NULL, &len);
    zoo_node *t2 = codec_decode_ok(&zoo_node_type, data, len, NULL);

    ck_assert_str_eq(t2->key, "d4");
    ck_assert_uint_eq(t2->n_children, 3);
    ck_assert_str_eq(t2->children[2].children[1].key, "d2");
    ck_assert_str_eq(t2->children[2].next->key, "next");
    ck_assert_ptr_eq(talloc_parent(t2->children[2].key), t2->children);
    talloc_free(t2);
    talloc_free(data);

    data = codec_encode_ok(&zoo_node_type, chain, NULL, &len);
    t2 = codec_decode_ok(&zoo_node_type, data, len, NULL);
    ck_assert_str_eq(t2->next->next->key, "3");
    talloc_free(t2);
    talloc_free(data);
    talloc_free(tree);
    talloc_free(chain);
}
END_TEST

START_TEST(test_round_trip_handles_fds)
{
    int fds[4] = { -1, -1, -1, -1 };
    parley_codec codec = PARLEY_CODEC_INIT;
    zoo_res r = { codec_test_handle(5), NULL, 42 };
    zoo_res *back;
    uint8_t *data;
    size_t len;

    codec.handles = &codec_test_handle_ops;
    codec.fds = fds;
    codec.max_fds = 4;
    data = codec_encode_ok(&zoo_res_type, &r, &codec, &len);
    ck_assert_uint_eq(codec.n_fds, 1);
    ck_assert_int_eq(fds[0], 42);
    ck_assert_uint_eq(len, 4 + 1 + 4);
    back = codec_decode_ok(&zoo_res_type, data, len, &codec);
    ck_assert_ptr_eq(back->cursor, codec_test_handle(5));
    ck_assert_ptr_null(back->maybe);
    ck_assert_int_eq(back->fd, 42);
    talloc_free(back);
    talloc_free(data);

    r.maybe = codec_test_handle(99);
    data = codec_encode_ok(&zoo_res_type, &r, &codec, &len);
    ck_assert_uint_eq(len, 4 + 1 + 4 + 4);
    back = codec_decode_ok(&zoo_res_type, data, len, &codec);
    ck_assert_ptr_eq(back->maybe, codec_test_handle(99));
    talloc_free(back);
    talloc_free(data);
}
END_TEST

/* Sequences and arrays of flat structs take the copy plans; check them
 * against the generic walk's rules element by element. */
START_TEST(test_flat_runs)
{
    static const parley_type pts = PARLEY_SEQUENCE_TYPE("pts", zoo_point_type, 0);
    static const parley_type flats = PARLEY_SEQUENCE_TYPE("flats", zoo_flat_type, 0);
    parley_seq s;
    zoo_point *p = talloc_array(codec_root, zoo_point, 1000);
    zoo_flat *f = talloc_array(codec_root, zoo_flat, 1000);
    uint8_t *data;
    size_t len;
    parley_seq *back;

    memset(p, 0xAA, 1000 * sizeof(*p));     /* padding must not reach the wire */
    for (int i = 0; i < 1000; i++) {
        p[i].x = i; p[i].y = -i; p[i].z = i * 7; p[i].w = (i / 3.0 + 0.1);
        f[i] = (zoo_flat){ i, (uint32_t)i * 3, -i, (uint64_t)i << 40 };
    }
    s.n = 1000;
    s.items = p;
    data = codec_encode_ok(&pts, &s, NULL, &len);
    ck_assert_uint_eq(len, 4 + 1000 * 20);
    for (int i = 0; i < 1000; i++) {
        int32_t x, z; double w;
        memcpy(&x, data + 4 + 20 * i, 4);
        memcpy(&z, data + 4 + 20 * i + 8, 4);
        memcpy(&w, data + 4 + 20 * i + 12, 8);
        ck_assert_int_eq(x, i);
        ck_assert_int_eq(z, i * 7);
        ck_assert(w == (i / 3.0 + 0.1));
    }
    back = codec_decode_ok(&pts, data, len, NULL);
    for (int i = 0; i < 1000; i++) {
        zoo_point want;
        memset(&want, 0, sizeof(want));     /* decoded padding is zero */
        want.x = i; want.y = -i; want.z = i * 7; want.w = (i / 3.0 + 0.1);
        ck_assert_mem_eq(&((zoo_point *)back->items)[i], &want, sizeof(want));
    }
    talloc_free(back);
    talloc_free(data);

    s.items = f;
    data = codec_encode_ok(&flats, &s, NULL, &len);
    ck_assert_uint_eq(len, 4 + 1000 * sizeof(zoo_flat));
    ck_assert_mem_eq(data + 4, f, 1000 * sizeof(zoo_flat));
    back = codec_decode_ok(&flats, data, len, NULL);
    ck_assert_mem_eq(back->items, f, 1000 * sizeof(zoo_flat));
    talloc_free(back);
    talloc_free(data);
    talloc_free(p);
    talloc_free(f);
}
END_TEST

/* A flat struct with padding in three places and a byte array at its end:
 * its copy plan has 4 runs and 3 gaps, unlike zoo_point's 2 + 1. */
typedef struct pad_rec { int8_t a; int32_t b; int16_t c; double d; uint8_t e[3]; } pad_rec;
static const parley_type e3_type = PARLEY_ARRAY_TYPE("e3", uint8_t, parley_type_uint8, 3);
static const parley_field pad_fields[] = {
    PARLEY_FIELD(pad_rec, a, parley_type_int8),
    PARLEY_FIELD(pad_rec, b, parley_type_int32),
    PARLEY_FIELD(pad_rec, c, parley_type_int16),
    PARLEY_FIELD(pad_rec, d, parley_type_double),
    PARLEY_FIELD(pad_rec, e, e3_type),
};
static const parley_type pad_rec_type = PARLEY_STRUCT_TYPE(pad_rec, pad_fields);
static const parley_type pad_seq_type = PARLEY_SEQUENCE_TYPE("pads", pad_rec_type, 0);
static const parley_type pt3_type = PARLEY_ARRAY_TYPE("pt3", zoo_point, zoo_point_type, 3);

START_TEST(test_flat_plans_with_padding)
{
    static const size_t counts[] = { 1, 2, 3, 5, 17, 100 };

    for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
        size_t n = counts[k], len;
        pad_rec *r = talloc_array(codec_root, pad_rec, n);
        uint8_t *want = talloc_size(codec_root, 4 + 18 * n);
        parley_seq s = { n, r }, *back;
        uint8_t *data;

        memset(r, 0xee, n * sizeof(*r));
        want[0] = (uint8_t)n; want[1] = want[2] = want[3] = 0;
        for (size_t i = 0; i < n; i++) {
            uint8_t *w = want + 4 + 18 * i;
            r[i].a = (int8_t)-i; r[i].b = (int32_t)(i * 100003); r[i].c = (int16_t)(i * 7);
            r[i].d = i * 1.5; r[i].e[0] = (uint8_t)i; r[i].e[1] = 0x55; r[i].e[2] = (uint8_t)~i;
            memcpy(w, &r[i].a, 1); memcpy(w + 1, &r[i].b, 4); memcpy(w + 5, &r[i].c, 2);
            memcpy(w + 7, &r[i].d, 8); memcpy(w + 15, r[i].e, 3);
        }
        data = codec_encode_ok(&pad_seq_type, &s, NULL, &len);
        ck_assert_uint_eq(len, 4 + 18 * n);
        ck_assert_mem_eq(data, want, len);
        back = codec_decode_ok(&pad_seq_type, data, len, NULL);
        for (size_t i = 0; i < n; i++) {
            pad_rec expect;
            memset(&expect, 0, sizeof(expect));
            expect.a = r[i].a; expect.b = r[i].b; expect.c = r[i].c; expect.d = r[i].d;
            memcpy(expect.e, r[i].e, 3);
            ck_assert_mem_eq(&((pad_rec *)back->items)[i], &expect, sizeof(expect));
        }
        talloc_free(back);
        talloc_free(data);
        talloc_free(want);
        talloc_free(r);
    }
}
END_TEST

START_TEST(test_flat_array_of_padded)
{
    zoo_point p[3] = { { 1, 2, 3, 4.0 }, { 5, 6, 7, 8.0 }, { 9, 10, 11, 12.0 } };
    zoo_point *back;
    uint8_t *data;
    size_t len;

    data = codec_encode_ok(&pt3_type, p, NULL, &len);
    ck_assert_uint_eq(len, 60);
    for (int i = 0; i < 3; i++) {
        int32_t z; double w;
        memcpy(&z, data + 20 * i + 8, 4);
        memcpy(&w, data + 20 * i + 12, 8);
        ck_assert_int_eq(z, p[i].z);
        ck_assert(w == p[i].w);
    }
    back = codec_decode_ok(&pt3_type, data, len, NULL);
    for (int i = 0; i < 3; i++)
        ck_assert(back[i].x == p[i].x && back[i].w == p[i].w);
    talloc_free(back);
    talloc_free(data);
}
END_TEST

START_TEST(test_decode_into_ownership)
{
    zoo_all *a = codec_test_rich_all(codec_root);
    zoo_all into;
    void *mem = talloc_new(codec_root);
    uint8_t *data;
    size_t len;

    data = codec_encode_ok(&zoo_all_type, a, NULL, &len);
    ck_assert_int_eq(parley_data_decode_into(mem, &zoo_all_type, data, len, NULL, &into),
                     PARLEY_OK);
    ck_assert_ptr_eq(talloc_parent(into.name), mem);
    ck_assert_ptr_eq(talloc_parent(into.words), mem);
    ck_assert_ptr_eq(talloc_parent(into.words[2]), into.words);
    ck_assert_ptr_eq(talloc_parent(into.origin), mem);
    ck_assert_str_eq(into.value.u.s, "green");
    talloc_free(mem);
    talloc_free(data);
    talloc_free(a);
}
END_TEST

/* ---- compact mode ----------------------------------------------------------------- */

/* A rich zoo_all with n words. */
static zoo_all *many_words(TALLOC_CTX *mem, unsigned n)
{
    zoo_all *a = codec_test_rich_all(mem);

    a->n_words = n;
    a->words = talloc_array(a, char *, n);
    for (unsigned i = 0; i < n; i++)
        a->words[i] = talloc_asprintf(a->words, "word %u", i);
    return a;
}

/* Compact decode makes a small number of chunks however many strings the
 * value holds; the default mode makes one per string.  Memory stays within
 * about twice the input. */
START_TEST(test_compact_chunks)
{
    static const unsigned counts[] = { 10, 100, 1000, 3000 };
    size_t compact_chunks[4];

    for (size_t k = 0; k < 4; k++) {
        zoo_all *a = many_words(codec_root, counts[k]);
        parley_codec codec = PARLEY_CODEC_INIT;
        void *v = NULL, *w = NULL;
        uint8_t *data;
        size_t len;

        data = codec_encode_ok(&zoo_all_type, a, NULL, &len);
        ck_assert_int_eq(parley_data_decode(codec_root, &zoo_all_type, data, len, NULL, &w),
                         PARLEY_OK);
        ck_assert_uint_gt(talloc_total_blocks(w), counts[k]);
        codec.flags = PARLEY_DECODE_COMPACT;
        ck_assert_int_eq(parley_data_decode(codec_root, &zoo_all_type, data, len, &codec, &v),
                         PARLEY_OK);
        ck_assert(parley_data_equal(&zoo_all_type, a, v));
        ck_assert_str_eq(((zoo_all *)v)->words[counts[k] - 1], a->words[counts[k] - 1]);
        ck_assert_ptr_eq(talloc_parent(v), codec_root);
        ck_assert_str_eq(talloc_get_name(v), "zoo_all");
        compact_chunks[k] = talloc_total_blocks(v);
        /* the top object, the arena; a big words array (3000 pointers) its own */
        ck_assert_msg(compact_chunks[k] <= 3, "%u words: %zu chunks", counts[k],
                      compact_chunks[k]);
        ck_assert_msg(talloc_total_size(v) <= sizeof(zoo_all) + 2 * len + 8192,
                      "%u words: %zu bytes for %zu input bytes", counts[k],
                      talloc_total_size(v), len);
        talloc_free(v);
        talloc_free(w);
        talloc_free(data);
        talloc_free(a);
    }
    ck_assert_uint_eq(compact_chunks[0], compact_chunks[1]);
    ck_assert_uint_eq(compact_chunks[1], compact_chunks[2]);
}
END_TEST

/* decode_into in compact mode hangs a few arena chunks under mem_ctx;
 * unknown flag bits are refused before anything is allocated. */
START_TEST(test_compact_into_and_flags)
{
    zoo_all *a = many_words(codec_root, 50);
    zoo_all into;
    void *mem = talloc_new(codec_root);
    parley_codec codec = PARLEY_CODEC_INIT;
    void *v = &codec;
    uint8_t *data;
    size_t len;

    data = codec_encode_ok(&zoo_all_type, a, NULL, &len);
    codec.flags = PARLEY_DECODE_COMPACT;
    ck_assert_int_eq(parley_data_decode_into(mem, &zoo_all_type, data, len, &codec, &into),
                     PARLEY_OK);
    ck_assert(parley_data_equal(&zoo_all_type, a, &into));
    ck_assert_msg(talloc_total_blocks(mem) <= 3, "%zu chunks", talloc_total_blocks(mem));
    talloc_free(mem);

    codec.flags = PARLEY_DECODE_COMPACT | 0x10;
    ck_assert_int_eq(parley_data_decode(codec_root, &zoo_all_type, data, len, &codec, &v),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(parley_error_message(), "parley_data_decode: unknown codec flags 0x10");
    ck_assert_ptr_eq(v, &codec);
    memset(&into, 0x5a, sizeof(into));
    ck_assert_int_eq(parley_data_decode_into(codec_root, &zoo_all_type, data, len, &codec,
                                             &into), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(into.name);
    ck_assert_uint_eq(into.n_words, 0);
    /* encode ignores the decode flags */
    talloc_free(data);
    ck_assert_int_eq(parley_data_encode(codec_root, &zoo_all_type, a, &codec, &data, &len),
                     PARLEY_OK);
    talloc_free(data);
    talloc_free(a);
}
END_TEST

/* ---- random round trips ---------------------------------------------------------- */

static parley_status fake_to_wire(void *data, const parley_type *type, parley_handle *h,
                                  uint32_t *ret_id)
{
    int k = parley_test_fake_handle_index(h);
    (void)data; (void)type;
    if (k < 0)
        return PARLEY_ERR_INVALID_HANDLE;
    *ret_id = (uint32_t)k;
    return PARLEY_OK;
}

static parley_status fake_from_wire(void *data, const parley_type *type, uint32_t id,
                                    parley_handle **ret_h)
{
    (void)data; (void)type;
    if (id >= 8)
        return PARLEY_ERR_INVALID_HANDLE;
    *ret_h = parley_test_fake_handle(id);
    return PARLEY_OK;
}

static const parley_handle_ops fake_ops = { fake_to_wire, fake_from_wire };

#define RANDOM_SEEDS 150

/* Random values of every zoo type: encode, decode (both ways, in both
 * modes), compare with parley_data_equal, and re-encode to the same bytes. */
START_TEST(test_random_round_trips)
{
    const parley_type *t = zoo_types[_i / 2];
    bool compact = _i % 2 == 1;

    for (uint64_t seed = 1; seed <= RANDOM_SEEDS; seed++) {
        uint64_t state = seed * 0x9e3779b97f4a7c15ull;
        int fds[8];
        parley_codec codec = PARLEY_CODEC_INIT;
        void *mem = talloc_new(codec_root);
        void *v = parley_test_random_value(mem, t, &state);
        void *back = NULL, *into = talloc_zero_size(mem, t->size);
        uint8_t *data, *again;
        size_t len, len2;
        parley_status st;

        codec.handles = &fake_ops;
        codec.fds = fds;
        codec.max_fds = 8;
        codec.flags = compact ? PARLEY_DECODE_COMPACT : 0;
        ck_assert_ptr_nonnull(v);
        st = parley_data_encode(mem, t, v, &codec, &data, &len);
        ck_assert_msg(st == PARLEY_OK, "%s seed %llu: encode: %s", t->name,
                      (unsigned long long)seed, parley_error_message());
        st = parley_data_decode(mem, t, data, len, &codec, &back);
        ck_assert_msg(st == PARLEY_OK, "%s seed %llu%s: decode: %s", t->name,
                      (unsigned long long)seed, compact ? " compact" : "",
                      parley_error_message());
        if (compact)    /* the top object and a few arena blocks */
            ck_assert_msg(talloc_total_blocks(back) <= 8, "%s seed %llu: %zu chunks", t->name,
                          (unsigned long long)seed, talloc_total_blocks(back));
        ck_assert_msg(parley_data_equal(t, v, back), "%s seed %llu: decoded value differs",
                      t->name, (unsigned long long)seed);
        st = parley_data_decode_into(mem, t, data, len, &codec, into);
        ck_assert_msg(st == PARLEY_OK && parley_data_equal(t, v, into),
                      "%s seed %llu: decode_into differs", t->name, (unsigned long long)seed);
        st = parley_data_encode(mem, t, back, &codec, &again, &len2);
        ck_assert_msg(st == PARLEY_OK && len2 == len && memcmp(again, data, len) == 0,
                      "%s seed %llu: re-encoding differs", t->name, (unsigned long long)seed);
        talloc_free(mem);
    }
}
END_TEST

/* The descriptors this file writes by hand are valid. */
START_TEST(test_local_descriptors_check)
{
    const parley_type *local[] = { &pad_rec_type, &pad_seq_type, &pt3_type };
    for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
        ck_assert_msg(parley_type_check(local[i]) == PARLEY_OK, "%s: %s", local[i]->name,
                      parley_error_message());
}
END_TEST

/* ---- the fuzz seed corpus -------------------------------------------------------- */

/* test/fuzz/corpus/decode holds valid encodings of these values.  The test
 * checks the committed files still match; PARLEY_WRITE_FUZZ_CORPUS=1
 * rewrites them. */
static void corpus_file(const char *name, const parley_type *t, const void *v,
                        parley_codec *codec)
{
    char path[1024];
    size_t len;
    uint8_t *data = codec_encode_ok(t, v, codec, &len);
    uint8_t *file = talloc_size(codec_root, len + 1);
    FILE *f;

    snprintf(path, sizeof(path), "%s/fuzz/corpus/decode/%s", TEST_SRCDIR, name);
    if (getenv("PARLEY_WRITE_FUZZ_CORPUS") != NULL) {
        f = fopen(path, "wb");
        ck_assert_msg(f != NULL, "%s", path);
        ck_assert_uint_eq(fwrite(data, 1, len, f), len);
        ck_assert_int_eq(fclose(f), 0);
    }
    f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s missing: run with PARLEY_WRITE_FUZZ_CORPUS=1", path);
    ck_assert_msg(fread(file, 1, len + 1, f) == len, "%s: length differs", path);
    fclose(f);
    ck_assert_msg(memcmp(file, data, len) == 0, "%s: bytes differ", path);
    talloc_free(file);
    talloc_free(data);
}

START_TEST(test_fuzz_corpus)
{
    zoo_all *a = codec_test_rich_all(codec_root);
    zoo_all empty;
    zoo_node *tree = codec_test_node_tree(codec_root, 2, 3);
    zoo_node *chain = codec_test_node_chain(codec_root, 20);
    zoo_node leaf = { "", 0, NULL, NULL };
    int fds[2];
    parley_codec codec = PARLEY_CODEC_INIT;
    zoo_res r = { codec_test_handle(3), codec_test_handle(4), 9 };

    memset(&empty, 0, sizeof(empty));
    empty.name = empty.text = empty.secret = "";
    empty.value.kind = ZOO_BLUE;
    empty.num.tag = 1;
    codec.handles = &codec_test_handle_ops;
    codec.fds = fds;
    codec.max_fds = 2;
    corpus_file("all-rich", &zoo_all_type, a, NULL);
    corpus_file("all-empty", &zoo_all_type, &empty, NULL);
    corpus_file("node-tree", &zoo_node_type, tree, NULL);
    corpus_file("node-chain", &zoo_node_type, chain, NULL);
    corpus_file("node-leaf", &zoo_node_type, &leaf, NULL);
    corpus_file("res", &zoo_res_type, &r, &codec);
    talloc_free(a);
    talloc_free(tree);
    talloc_free(chain);
}
END_TEST

Suite *parley_codec_suite(void)
{
    Suite *s = suite_create("codec");
    TCase *tc = tcase_create("encode-decode");

    tcase_add_checked_fixture(tc, codec_setup, codec_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_wire_bytes);
    tcase_add_test(tc, test_round_trip_rich_all);
    tcase_add_test(tc, test_round_trip_empty_all);
    tcase_add_test(tc, test_round_trip_nodes);
    tcase_add_test(tc, test_round_trip_handles_fds);
    tcase_add_test(tc, test_flat_runs);
    tcase_add_test(tc, test_flat_plans_with_padding);
    tcase_add_test(tc, test_flat_array_of_padded);
    codec_add_error_tests(tc);
    tcase_add_test(tc, test_decode_into_ownership);
    tcase_add_test(tc, test_fuzz_corpus);
    tcase_add_loop_test(tc, test_random_round_trips, 0, 2 * (int)zoo_n_types);
    tcase_add_test(tc, test_compact_chunks);
    tcase_add_test(tc, test_compact_into_and_flags);
    tcase_add_test(tc, test_local_descriptors_check);
    suite_add_tcase(s, tc);
    return s;
}

