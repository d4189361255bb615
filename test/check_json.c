/* SPDX-License-Identifier: MIT */
/* JSON <-> typed values (parley/json.h): the mapping of every kind both
 * ways, its limits, and a clear error with the JSON path for bad input. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <talloc.h>
#ifdef HAVE_JANSSON
#include <jansson.h>
#endif

#include "parley/data.h"
#include "parley/json.h"
#include "codec_values.h"
#include "random.h"
#include "suites.h"
#include "zoo.h"

#define SEEDS 100

/* Skip a test that needs JSON support when it is not built. */
#define NEED_JSON()                   \
    do {                              \
        if (!parley_json_available()) \
            return;                   \
    } while (0)

/* Decode text as type; the status, and the value through *ret. */
static parley_status dec(TALLOC_CTX *mem, const parley_type *t, const char *text, void *ret)
{
    return parley_json_decode(mem, t, text, strlen(text), 0, (void **)ret);
}

/* Decoding text fails with st and a message containing want; nothing leaks. */
#define DECODE_FAILS(t, text, st, want)                                                   \
    do {                                                                                  \
        TALLOC_CTX *m_ = talloc_new(NULL);                                                \
        void *v_ = (void *)1;                                                             \
        ck_assert_int_eq(dec(m_, (t), (text), &v_), (st));                                \
        ck_assert_msg(strstr(parley_error_message(), (want)) != NULL,                     \
                      "message \"%s\" lacks \"%s\"", parley_error_message(), (want));     \
        ck_assert_ptr_eq(v_, (void *)1);                                                  \
        ck_assert_uint_eq(talloc_total_blocks(m_), 1);                                    \
        talloc_free(m_);                                                                  \
    } while (0)

/* Encode *value of t; the text must equal want. */
static void encodes_as(const parley_type *t, const void *value, unsigned flags, const char *want)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    char *text = NULL;

    ck_assert_msg(parley_json_encode(mem, t, value, flags, &text) == PARLEY_OK, "%s",
                  parley_error_message());
    ck_assert_str_eq(text, want);
    talloc_free(mem);
}

/* Handle hooks over the random generator's fake handles: id k is handle k. */
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

/* ---- without jansson ------------------------------------------------------------- */

START_TEST(test_available)
{
    int32_t x = 1;
    char *text = NULL;
    void *v = NULL;
#ifdef HAVE_JANSSON
    ck_assert(parley_json_available());
#else
    ck_assert(!parley_json_available());
    ck_assert_int_eq(parley_json_encode(NULL, &parley_type_int32, &x, 0, &text),
                     PARLEY_ERR_UNSUPPORTED);
    ck_assert(strstr(parley_error_message(), "without JSON support") != NULL);
    ck_assert_int_eq(parley_json_decode(NULL, &parley_type_int32, "1", 1, 0, &v),
                     PARLEY_ERR_UNSUPPORTED);
    ck_assert(strstr(parley_error_message(), "jansson") != NULL);
#endif
    /* arguments are checked either way */
    ck_assert_int_eq(parley_json_encode(NULL, NULL, &x, 0, &text), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_json_encode(NULL, &parley_type_int32, NULL, 0, &text),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_json_encode(NULL, &parley_type_int32, &x, 0, NULL),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_json_encode(NULL, &parley_type_int32, &x, 0x10, &text),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(parley_error_message(), "parley_json_encode: unknown flags 0x10");
    ck_assert_int_eq(parley_json_decode(NULL, NULL, "1", 1, 0, &v), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_json_decode(NULL, &parley_type_int32, NULL, 1, 0, &v),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_json_decode(NULL, &parley_type_int32, "1", 1, 0, NULL),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_json_decode(NULL, &parley_type_int32, "1", 1, 0x8, &v),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(text);
    ck_assert_ptr_null(v);
}
END_TEST

/* ---- the mapping, kind by kind ---------------------------------------------------- */

START_TEST(test_encode_all)
{
    NEED_JSON();
    TALLOC_CTX *mem = talloc_new(NULL);
    zoo_all *a = codec_test_rich_all(mem);
    static const char rich[] =
        "{\"i8\":-128,\"i16\":-2,\"i32\":305419896,\"i64\":\"-9223372036854775803\","
        "\"u8\":255,\"u16\":65535,\"u32\":3735928559,\"u64\":\"18446744073709551614\","
        "\"b\":true,\"f\":-1.5,\"d\":3.1415926535897931,\"color\":\"ZOO_BLACK\","
        "\"perm\":[\"ZOO_READ\",\"ZOO_EXEC\"],\"name\":\"0123456789abcdef\","
        "\"text\":\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\",\"blob\":\"AAH/gH8=\","
        "\"fixed\":[-1,0,1],"
        "\"points\":[{\"x\":0,\"y\":0,\"z\":0,\"w\":0.25},{\"x\":1,\"y\":-1,\"z\":1000,\"w\":1.25},"
        "{\"x\":2,\"y\":-2,\"z\":2000,\"w\":2.25}],"
        "\"words\":[\"\",\"two\",\"\xce\xbb\"],"
        "\"origin\":{\"x\":7,\"y\":8,\"z\":9,\"w\":-0.0},"
        "\"value\":{\"kind\":\"ZOO_GREEN\",\"s\":\"green\"},"
        "\"num\":{\"tag\":42,\"other\":2882400001},"
        "\"secret\":{\"$redacted\":true},"
        "\"flats\":[{\"a\":-1,\"b\":2,\"c\":-3,\"d\":4},{\"a\":5,\"b\":6,\"c\":7,\"d\":8}],"
        "\"flat_seq\":[{\"a\":1,\"b\":1,\"c\":1,\"d\":1},"
        "{\"a\":-2147483648,\"b\":4294967295,\"c\":\"9223372036854775807\",\"d\":0}],"
        "\"nums\":[-3,-2,1,6]}";

    encodes_as(&zoo_all_type, a, 0, rich);
    /* PARLEY_JSON_SENSITIVE shows the secret */
    {
        char *text;
        ck_assert_int_eq(parley_json_encode(mem, &zoo_all_type, a, PARLEY_JSON_SENSITIVE, &text),
                         PARLEY_OK);
        ck_assert_ptr_nonnull(strstr(text, "\"secret\":\"hunter2\""));
        ck_assert_ptr_null(strstr(text, "$redacted"));
    }
    talloc_free(mem);
}
END_TEST

START_TEST(test_pretty)
{
    NEED_JSON();
    TALLOC_CTX *mem = talloc_new(NULL);
    zoo_point p = { 1, 2, 3, 0.5 };
    zoo_point *back;
    char *text;

    ck_assert_int_eq(parley_json_encode(mem, &zoo_point_type, &p, PARLEY_JSON_PRETTY, &text),
                     PARLEY_OK);
    ck_assert_str_eq(text, "{\n  \"x\": 1,\n  \"y\": 2,\n  \"z\": 3,\n  \"w\": 0.5\n}");
    ck_assert_int_eq(dec(mem, &zoo_point_type, text, &back), PARLEY_OK);
    ck_assert(parley_data_equal(&zoo_point_type, &p, back));
    /* decode accepts (and ignores) the encode flags */
    ck_assert_int_eq(parley_json_decode(mem, &zoo_point_type, text, strlen(text),
                                        PARLEY_JSON_PRETTY | PARLEY_JSON_SENSITIVE,
                                        (void **)&back), PARLEY_OK);
    talloc_free(mem);
}
END_TEST

/* The value survives JSON, and the decoded value encodes to the same wire bytes. */
static void round_trip(const parley_type *t, const void *value, parley_codec *codec)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    char *text, *again;
    void *back;
    uint8_t *wire1, *wire2;
    size_t len1, len2;
    int fds1[8], fds2[8];
    parley_codec c1 = PARLEY_CODEC_INIT, c2 = PARLEY_CODEC_INIT;

    ck_assert_msg(parley_json_encode_codec(mem, t, value, codec, PARLEY_JSON_SENSITIVE, &text) ==
                  PARLEY_OK, "%s", parley_error_message());
    ck_assert_msg(parley_json_decode_codec(mem, t, text, strlen(text), codec, 0, &back) ==
                  PARLEY_OK, "%s: %s", text, parley_error_message());
    ck_assert_str_eq(talloc_get_name(back), t->name);
    /* the same text again (floats may be NaN, which compare by bits) */
    ck_assert_int_eq(parley_json_encode_codec(mem, t, back, codec, PARLEY_JSON_SENSITIVE, &again),
                     PARLEY_OK);
    ck_assert_str_eq(text, again);
    /* and the wire: the decoded value passes the binary encoder's checks */
    c1.handles = c2.handles = &fake_ops;
    c1.fds = fds1;
    c2.fds = fds2;
    c1.max_fds = c2.max_fds = 8;
    ck_assert_msg(parley_data_encode(mem, t, back, &c2, &wire2, &len2) == PARLEY_OK, "%s",
                  parley_error_message());
    ck_assert_int_eq(parley_data_encode(mem, t, value, &c1, &wire1, &len1), PARLEY_OK);
    ck_assert_uint_eq(len1, len2);
    ck_assert(memcmp(wire1, wire2, len1) == 0);
    /* one talloc_free releases the decoded graph */
    talloc_free(back);
    talloc_free(mem);
}

START_TEST(test_round_trip_rich)
{
    NEED_JSON();
    TALLOC_CTX *mem = talloc_new(NULL);
    zoo_all *a = codec_test_rich_all(mem);
    zoo_all *back;
    char *text;

    round_trip(&zoo_all_type, a, NULL);
    ck_assert_int_eq(parley_json_encode(mem, &zoo_all_type, a, PARLEY_JSON_SENSITIVE, &text),
                     PARLEY_OK);
    ck_assert_int_eq(dec(mem, &zoo_all_type, text, &back), PARLEY_OK);
    ck_assert(parley_data_equal(&zoo_all_type, a, back));
    ck_assert_ptr_eq(talloc_parent(back), mem);
    round_trip(&zoo_node_type, codec_test_node_tree(mem, 3, 3), NULL);
    round_trip(&zoo_node_type, codec_test_node_chain(mem, 60), NULL);
    talloc_free(mem);
}
END_TEST

START_TEST(test_round_trip_random)
{
    NEED_JSON();
    const parley_type *t = zoo_types[_i];
    parley_codec codec = PARLEY_CODEC_INIT;

    codec.handles = &fake_ops;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        TALLOC_CTX *mem = talloc_new(NULL);
        uint64_t state = seed * 7919 + (uint64_t)_i;
        void *v = parley_test_random_value(mem, t, &state);
        ck_assert_ptr_nonnull(v);
        round_trip(t, v, &codec);
        talloc_free(mem);
    }
}
END_TEST

START_TEST(test_int64_limits)
{
    NEED_JSON();
    TALLOC_CTX *mem = talloc_new(NULL);
    int64_t i;
    uint64_t u;
    int64_t *ip;
    uint64_t *up;
    const int64_t safe = ((int64_t)1 << 53) - 1;

    /* numbers below 2^53 in magnitude, strings from it on */
    i = safe;              encodes_as(&parley_type_int64, &i, 0, "9007199254740991");
    i = -safe;             encodes_as(&parley_type_int64, &i, 0, "-9007199254740991");
    i = safe + 1;          encodes_as(&parley_type_int64, &i, 0, "\"9007199254740992\"");
    i = -safe - 1;         encodes_as(&parley_type_int64, &i, 0, "\"-9007199254740992\"");
    i = INT64_MAX;         encodes_as(&parley_type_int64, &i, 0, "\"9223372036854775807\"");
    i = INT64_MIN;         encodes_as(&parley_type_int64, &i, 0, "\"-9223372036854775808\"");
    u = (uint64_t)safe;    encodes_as(&parley_type_uint64, &u, 0, "9007199254740991");
    u = (uint64_t)safe + 1; encodes_as(&parley_type_uint64, &u, 0, "\"9007199254740992\"");
    u = UINT64_MAX;        encodes_as(&parley_type_uint64, &u, 0, "\"18446744073709551615\"");
    u = 0;                 encodes_as(&parley_type_uint64, &u, 0, "0");

    /* input: numbers wherever exact, strings anywhere */
    ck_assert_int_eq(dec(mem, &parley_type_int64, "9223372036854775807", &ip), PARLEY_OK);
    ck_assert(*ip == INT64_MAX);
    ck_assert_int_eq(dec(mem, &parley_type_int64, "-9223372036854775808", &ip), PARLEY_OK);
    ck_assert(*ip == INT64_MIN);
    ck_assert_int_eq(dec(mem, &parley_type_int64, "\"-9223372036854775808\"", &ip), PARLEY_OK);
    ck_assert(*ip == INT64_MIN);
    ck_assert_int_eq(dec(mem, &parley_type_int64, "\"-0\"", &ip), PARLEY_OK);
    ck_assert(*ip == 0);
    ck_assert_int_eq(dec(mem, &parley_type_uint64, "\"18446744073709551615\"", &up), PARLEY_OK);
    ck_assert(*up == UINT64_MAX);
    ck_assert_int_eq(dec(mem, &parley_type_uint64, "9007199254740993", &up), PARLEY_OK);
    ck_assert(*up == (uint64_t)safe + 2);

    DECODE_FAILS(&parley_type_uint64, "18446744073709551615", PARLEY_ERR_MALFORMED,
                 "write integers beyond the int64 range as decimal strings");
    DECODE_FAILS(&parley_type_uint64, "\"18446744073709551616\"", PARLEY_ERR_MALFORMED,
                 "JSON decode uint64: expected an integer from 0 to 18446744073709551615, "
                 "found \"18446744073709551616\"");
    DECODE_FAILS(&parley_type_uint64, "-1", PARLEY_ERR_MALFORMED, "found -1");
    DECODE_FAILS(&parley_type_int64, "\"9223372036854775808\"", PARLEY_ERR_MALFORMED,
                 "expected an integer from -9223372036854775808 to 9223372036854775807");
    DECODE_FAILS(&parley_type_int64, "\"-9223372036854775809\"", PARLEY_ERR_MALFORMED,
                 "found \"-9223372036854775809\"");
    DECODE_FAILS(&parley_type_int64, "\"+1\"", PARLEY_ERR_MALFORMED, "found \"+1\"");
    DECODE_FAILS(&parley_type_int64, "\" 1\"", PARLEY_ERR_MALFORMED, "found \" 1\"");
    DECODE_FAILS(&parley_type_int64, "\"\"", PARLEY_ERR_MALFORMED, "found \"\"");
    DECODE_FAILS(&parley_type_int64, "\"-\"", PARLEY_ERR_MALFORMED, "found \"-\"");
    DECODE_FAILS(&parley_type_int64, "1.5", PARLEY_ERR_MALFORMED, "found 1.5");
    DECODE_FAILS(&parley_type_int64, "1e3", PARLEY_ERR_MALFORMED, "found 1000");
    talloc_free(mem);
}
END_TEST

START_TEST(test_small_int_limits)
{
    NEED_JSON();
    TALLOC_CTX *mem = talloc_new(NULL);
    static const struct { const parley_type *t; const char *lo, *hi, *below, *above; } k[] = {
        { &parley_type_int8, "-128", "127", "-129", "128" },
        { &parley_type_int16, "-32768", "32767", "-32769", "32768" },
        { &parley_type_int32, "-2147483648", "2147483647", "-2147483649", "2147483648" },
        { &parley_type_uint8, "0", "255", "-1", "256" },
        { &parley_type_uint16, "0", "65535", "-1", "65536" },
        { &parley_type_uint32, "0", "4294967295", "-1", "4294967296" },
    };

    for (size_t n = 0; n < sizeof(k) / sizeof(k[0]); n++) {
        void *v;
        char *text, quoted[32];
        char want[128];
        ck_assert_int_eq(dec(mem, k[n].t, k[n].lo, &v), PARLEY_OK);
        ck_assert_int_eq(parley_json_encode(mem, k[n].t, v, 0, &text), PARLEY_OK);
        ck_assert_str_eq(text, k[n].lo);
        ck_assert_int_eq(dec(mem, k[n].t, k[n].hi, &v), PARLEY_OK);
        ck_assert_int_eq(parley_json_encode(mem, k[n].t, v, 0, &text), PARLEY_OK);
        ck_assert_str_eq(text, k[n].hi);
        snprintf(quoted, sizeof(quoted), "\"%s\"", k[n].hi);   /* strings accepted too */
        ck_assert_int_eq(dec(mem, k[n].t, quoted, &v), PARLEY_OK);
        snprintf(want, sizeof(want), "expected an integer from %s to %s, found %s", k[n].lo,
                 k[n].hi, k[n].below);
        DECODE_FAILS(k[n].t, k[n].below, PARLEY_ERR_MALFORMED, want);
        snprintf(want, sizeof(want), "found %s", k[n].above);
        DECODE_FAILS(k[n].t, k[n].above, PARLEY_ERR_MALFORMED, want);
    }
    DECODE_FAILS(&parley_type_int32, "true", PARLEY_ERR_MALFORMED, "found true");
    DECODE_FAILS(&parley_type_int32, "null", PARLEY_ERR_MALFORMED, "found null");
    DECODE_FAILS(&parley_type_int32, "[1]", PARLEY_ERR_MALFORMED, "found an array of 1 item");
    talloc_free(mem);
}
END_TEST

START_TEST(test_floats_bools)
{
    NEED_JSON();
    TALLOC_CTX *mem = talloc_new(NULL);
    double d, *dp;
    float f, *fp;
    bool b, *bp;

    d = INFINITY;  encodes_as(&parley_type_double, &d, 0, "\"Infinity\"");
    d = -INFINITY; encodes_as(&parley_type_double, &d, 0, "\"-Infinity\"");
    d = NAN;       encodes_as(&parley_type_double, &d, 0, "\"NaN\"");
    d = 0.1;       encodes_as(&parley_type_double, &d, 0, "0.10000000000000001");
    d = 1e300;     encodes_as(&parley_type_double, &d, 0, "1.0000000000000001e300");
    d = 2;         encodes_as(&parley_type_double, &d, 0, "2.0");
    f = 0.1f;      encodes_as(&parley_type_float, &f, 0, "0.10000000149011612");
    b = true;      encodes_as(&parley_type_bool, &b, 0, "true");

    ck_assert_int_eq(dec(mem, &parley_type_double, "\"-Infinity\"", &dp), PARLEY_OK);
    ck_assert(isinf(*dp) && *dp < 0);
    ck_assert_int_eq(dec(mem, &parley_type_double, "\"NaN\"", &dp), PARLEY_OK);
    ck_assert(isnan(*dp));
    ck_assert_int_eq(dec(mem, &parley_type_double, "7", &dp), PARLEY_OK);
    ck_assert(*dp == 7.0);
    ck_assert_int_eq(dec(mem, &parley_type_double, "-0.0", &dp), PARLEY_OK);
    ck_assert(*dp == 0 && signbit(*dp));
    ck_assert_int_eq(dec(mem, &parley_type_float, "0.10000000149011612", &fp), PARLEY_OK);
    ck_assert(*fp == 0.1f);
    ck_assert_int_eq(dec(mem, &parley_type_float, "3.4028234663852886e+38", &fp), PARLEY_OK);
    ck_assert(*fp == 3.4028234663852886e+38f);
    DECODE_FAILS(&parley_type_float, "1e39", PARLEY_ERR_MALFORMED,
                 "JSON decode float: expected a number within float's range, found 1e+39");
    DECODE_FAILS(&parley_type_double, "\"nan\"", PARLEY_ERR_MALFORMED,
                 "expected a number (or \"NaN\", \"Infinity\", \"-Infinity\"), found \"nan\"");
    DECODE_FAILS(&parley_type_double, "1e999", PARLEY_ERR_MALFORMED, "not valid JSON");
    ck_assert_int_eq(dec(mem, &parley_type_bool, "false", &bp), PARLEY_OK);
    ck_assert(!*bp);
    DECODE_FAILS(&parley_type_bool, "0", PARLEY_ERR_MALFORMED,
                 "JSON decode bool: expected true or false, found 0");
    talloc_free(mem);
}
END_TEST

START_TEST(test_enums)
{
    NEED_JSON();
    TALLOC_CTX *mem = talloc_new(NULL);
    zoo_color c, *cp;
    zoo_perm p, *pp;

    c = ZOO_BLACK;                encodes_as(&zoo_color_type, &c, 0, "\"ZOO_BLACK\"");
    p = 0;                        encodes_as(&zoo_perm_type, &p, 0, "[]");
    p = ZOO_READ | ZOO_WRITE | ZOO_EXEC;
    encodes_as(&zoo_perm_type, &p, 0, "[\"ZOO_READ\",\"ZOO_WRITE\",\"ZOO_EXEC\"]");

    ck_assert_int_eq(dec(mem, &zoo_color_type, "\"ZOO_BLUE\"", &cp), PARLEY_OK);
    ck_assert_int_eq(*cp, ZOO_BLUE);
    ck_assert_int_eq(dec(mem, &zoo_color_type, "-3", &cp), PARLEY_OK);   /* numbers accepted */
    ck_assert_int_eq(*cp, ZOO_BLACK);
    ck_assert_int_eq(dec(mem, &zoo_perm_type, "[\"ZOO_EXEC\", 2]", &pp), PARLEY_OK);
    ck_assert_int_eq(*pp, ZOO_EXEC | ZOO_WRITE);
    ck_assert_int_eq(dec(mem, &zoo_perm_type, "5", &pp), PARLEY_OK);
    ck_assert_int_eq(*pp, ZOO_READ | ZOO_EXEC);
    ck_assert_int_eq(dec(mem, &zoo_perm_type, "\"ZOO_WRITE\"", &pp), PARLEY_OK);
    ck_assert_int_eq(*pp, ZOO_WRITE);

    /* the IDL's short names: the declared name less the type's name in capitals */
    {
        static const parley_enum_value kv_values[] = {
            { "KV_STATUS_OK", 0 }, { "KV_STATUS_NOT_FOUND", 1 }, { "OK_TOO", 2 },
        };
        static const parley_type kv_status_type = {
            .kind = PARLEY_KIND_ENUM, .name = "kv_status", .size = sizeof(int32_t),
            .values = kv_values, .n_values = 3,
        };
        int32_t *kp;
        ck_assert_int_eq(dec(mem, &kv_status_type, "\"NOT_FOUND\"", &kp), PARLEY_OK);
        ck_assert_int_eq(*kp, 1);
        ck_assert_int_eq(dec(mem, &kv_status_type, "\"KV_STATUS_OK\"", &kp), PARLEY_OK);
        ck_assert_int_eq(*kp, 0);
        ck_assert_int_eq(dec(mem, &kv_status_type, "\"OK_TOO\"", &kp), PARLEY_OK);
        ck_assert_int_eq(*kp, 2);
        encodes_as(&kv_status_type, kp, 0, "\"OK_TOO\"");
        *kp = 1;
        encodes_as(&kv_status_type, kp, 0, "\"KV_STATUS_NOT_FOUND\"");
        DECODE_FAILS(&kv_status_type, "\"STATUS_OK\"", PARLEY_ERR_MALFORMED, "found \"STATUS_OK\"");
        DECODE_FAILS(&kv_status_type, "\"ok\"", PARLEY_ERR_MALFORMED, "found \"ok\"");
        DECODE_FAILS(&kv_status_type, "\"\"", PARLEY_ERR_MALFORMED, "found \"\"");
    }
    DECODE_FAILS(&zoo_color_type, "\"ZOO_PURPLE\"", PARLEY_ERR_MALFORMED,
                 "JSON decode zoo_color: expected a zoo_color name (ZOO_RED, ZOO_GREEN, "
                 "ZOO_BLUE, ZOO_BLACK) or its number, found \"ZOO_PURPLE\"");
    DECODE_FAILS(&zoo_color_type, "2", PARLEY_ERR_MALFORMED, "found 2");
    DECODE_FAILS(&zoo_color_type, "\"zoo_red\"", PARLEY_ERR_MALFORMED, "found \"zoo_red\"");
    DECODE_FAILS(&zoo_perm_type, "8", PARLEY_ERR_MALFORMED,
                 "expected zoo_perm flags: an array of names (ZOO_READ, ZOO_WRITE, ZOO_EXEC) "
                 "or a number, found 8");
    DECODE_FAILS(&zoo_perm_type, "[\"ZOO_READ\", \"ZOO_RUN\"]", PARLEY_ERR_MALFORMED,
                 "JSON decode zoo_perm[1]: expected zoo_perm flags");
    /* an undeclared value in memory is refused on output too */
    c = 5;
    {
        char *text;
        ck_assert_int_eq(parley_json_encode(mem, &zoo_color_type, &c, 0, &text),
                         PARLEY_ERR_INVALID_ARGUMENT);
        ck_assert_str_eq(parley_error_message(),
                         "JSON encode zoo_color: value 5 is not a declared zoo_color");
    }
    talloc_free(mem);
}
END_TEST

START_TEST(test_strings_bytes)
{
    NEED_JSON();
    TALLOC_CTX *mem = talloc_new(NULL);
    static const parley_type s4 = PARLEY_STRING_TYPE("s4", 4);
    static const parley_type b4 = PARLEY_BYTES_TYPE("b4", 4);
    static const char *const b64[] = { "", "AA==", "AAE=", "AAEC", "AAECAw==" };
    char *s, **sp;
    parley_bytes b, *bp;
    uint8_t raw[4] = { 0, 1, 2, 3 };

    s = "tab\t\"q\"\\ \xc3\xa9";
    encodes_as(&parley_type_string, &s, 0, "\"tab\\t\\\"q\\\"\\\\ \xc3\xa9\"");
    ck_assert_int_eq(dec(mem, &parley_type_string, "\"a\\u00e9\\ud83d\\ude00\"", &sp), PARLEY_OK);
    ck_assert_str_eq(*sp, "a\xc3\xa9\xf0\x9f\x98\x80");
    ck_assert_ptr_eq(talloc_parent(*sp), sp);
    ck_assert_int_eq(dec(mem, &s4, "\"abcd\"", &sp), PARLEY_OK);
    DECODE_FAILS(&s4, "\"abcde\"", PARLEY_ERR_MALFORMED,
                 "JSON decode s4: expected a string of at most 4 bytes, found a string of 5 bytes");
    DECODE_FAILS(&s4, "\"\xc3\xa9\xc3\xa9\xc3\xa9\"", PARLEY_ERR_MALFORMED, "of 6 bytes");
    DECODE_FAILS(&parley_type_string, "\"a\\u0000b\"", PARLEY_ERR_MALFORMED,
                 "expected a string without NUL, found \\u0000 at byte 1");
    DECODE_FAILS(&parley_type_string, "\"\\ud800\"", PARLEY_ERR_MALFORMED, "not valid JSON");
    DECODE_FAILS(&parley_type_string, "\"\xff\"", PARLEY_ERR_MALFORMED, "not valid JSON");
    DECODE_FAILS(&parley_type_string, "5", PARLEY_ERR_MALFORMED,
                 "JSON decode string: expected a string, found 5");
    /* a NULL or invalid string in memory is refused on output */
    s = NULL;
    ck_assert_int_eq(parley_json_encode(mem, &parley_type_string, &s, 0, (char **)&sp),
                     PARLEY_ERR_INVALID_ARGUMENT);
    s = "\xc3";
    ck_assert_int_eq(parley_json_encode(mem, &parley_type_string, &s, 0, (char **)&sp),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(parley_error_message(), "JSON encode string: invalid UTF-8 at byte 0");

    /* base64, every tail length */
    for (size_t n = 0; n <= 4; n++) {
        char want[16];
        b.len = n;
        b.data = n ? raw : NULL;
        snprintf(want, sizeof(want), "\"%s\"", b64[n]);
        encodes_as(&b4, &b, 0, want);
        ck_assert_int_eq(dec(mem, &b4, want, &bp), PARLEY_OK);
        ck_assert(parley_data_equal(&b4, &b, bp));
    }
    /* URL-safe alphabet and no padding accepted */
    ck_assert_int_eq(dec(mem, &parley_type_bytes, "\"-_8\"", &bp), PARLEY_OK);
    ck_assert_uint_eq(bp->len, 2);
    ck_assert(bp->data[0] == 0xfb && bp->data[1] == 0xff);
    ck_assert_ptr_eq(talloc_parent(bp->data), bp);
    ck_assert_int_eq(dec(mem, &parley_type_bytes, "\"AAE\"", &bp), PARLEY_OK);
    ck_assert_uint_eq(bp->len, 2);
    DECODE_FAILS(&b4, "\"AAECAwQ=\"", PARLEY_ERR_MALFORMED,
                 "JSON decode b4: expected a base64 string of at most 4 bytes, found 5 bytes");
    DECODE_FAILS(&parley_type_bytes, "\"AA@=\"", PARLEY_ERR_MALFORMED,
                 "expected a base64 string, found a bad character or padding at byte 2");
    DECODE_FAILS(&parley_type_bytes, "\"A\"", PARLEY_ERR_MALFORMED, "at byte 0");
    DECODE_FAILS(&parley_type_bytes, "\"AA=\"", PARLEY_ERR_MALFORMED, "padding");
    DECODE_FAILS(&parley_type_bytes, "\"AA===\"", PARLEY_ERR_MALFORMED, "padding");
    DECODE_FAILS(&parley_type_bytes, "[0]", PARLEY_ERR_MALFORMED, "expected a base64 string");
    talloc_free(mem);
}
END_TEST

START_TEST(test_unions)
{
    NEED_JSON();
    TALLOC_CTX *mem = talloc_new(NULL);
    zoo_value v, *vp;
    zoo_num n, *np;

    v.kind = ZOO_RED; v.u.i = -5;
    encodes_as(&zoo_value_type, &v, 0, "{\"kind\":\"ZOO_RED\",\"i\":-5}");
    v.kind = ZOO_BLUE;
    encodes_as(&zoo_value_type, &v, 0, "{\"kind\":\"ZOO_BLUE\"}");
    n.tag = 2; n.u.b.len = 1; n.u.b.data = (uint8_t *)"\xff";
    encodes_as(&zoo_num_type, &n, 0, "{\"tag\":2,\"b\":\"/w==\"}");
    n.tag = 9; n.u.other = 3;
    encodes_as(&zoo_num_type, &n, 0, "{\"tag\":9,\"other\":3}");
    v.kind = ZOO_BLACK;
    ck_assert_int_eq(parley_json_encode(mem, &zoo_value_type, &v, 0, (char **)&vp),
                     PARLEY_ERR_INVALID_ARGUMENT);

    ck_assert_int_eq(dec(mem, &zoo_value_type, "{\"i\": \"12\", \"kind\": 0}", &vp), PARLEY_OK);
    ck_assert(vp->kind == ZOO_RED && vp->u.i == 12);
    ck_assert_int_eq(dec(mem, &zoo_value_type, "{\"kind\":\"ZOO_GREEN\",\"s\":\"x\"}", &vp),
                     PARLEY_OK);
    ck_assert_str_eq(vp->u.s, "x");
    ck_assert_int_eq(dec(mem, &zoo_num_type, "{\"tag\":3,\"p\":{\"x\":1,\"y\":2,\"z\":3,\"w\":4}}",
                         &np), PARLEY_OK);
    ck_assert(np->tag == 3 && np->u.p.w == 4.0);
    ck_assert_int_eq(dec(mem, &zoo_num_type, "{\"tag\":65535,\"other\":1}", &np), PARLEY_OK);
    ck_assert(np->tag == 65535 && np->u.other == 1);

    DECODE_FAILS(&zoo_value_type, "{\"kind\":\"ZOO_BLACK\"}", PARLEY_ERR_MALFORMED,
                 "JSON decode zoo_value.kind: discriminator -3 is not a declared arm of zoo_value");
    DECODE_FAILS(&zoo_value_type, "{\"s\":\"x\"}", PARLEY_ERR_MALFORMED,
                 "JSON decode zoo_value.kind: missing: expected a zoo_color name");
    DECODE_FAILS(&zoo_value_type, "{\"kind\":\"ZOO_GREEN\"}", PARLEY_ERR_MALFORMED,
                 "JSON decode zoo_value.s: missing: expected a string");
    DECODE_FAILS(&zoo_value_type, "{\"kind\":\"ZOO_RED\",\"s\":\"x\"}", PARLEY_ERR_MALFORMED,
                 "JSON decode zoo_value.s: unknown field: kind 0 selects the arm \"i\"");
    DECODE_FAILS(&zoo_value_type, "{\"kind\":\"ZOO_BLUE\",\"i\":1}", PARLEY_ERR_MALFORMED,
                 "zoo_value.i: unknown field: kind 7 selects a void arm");
    DECODE_FAILS(&zoo_num_type, "{\"tag\":70000,\"other\":1}", PARLEY_ERR_MALFORMED,
                 "JSON decode zoo_num.tag: expected an integer from 0 to 65535, found 70000");
    DECODE_FAILS(&zoo_num_type, "{\"tag\":2,\"b\":\"AAAAAAAAAAAA\"}", PARLEY_ERR_MALFORMED,
                 "zoo_num.b: expected a base64 string of at most 8 bytes, found 9 bytes");
    DECODE_FAILS(&zoo_num_type, "[2]", PARLEY_ERR_MALFORMED,
                 "expected an object (zoo_num) with its discriminator \"tag\"");
    talloc_free(mem);
}
END_TEST

START_TEST(test_structs_optional_sequences)
{
    NEED_JSON();
    TALLOC_CTX *mem = talloc_new(NULL);
    zoo_node *n;
    char key[300], text[600];
    size_t blocks;

    /* optional: null, left out, or the value */
    ck_assert_int_eq(dec(mem, &zoo_node_type, "{\"key\":\"a\",\"children\":[],\"next\":null}", &n),
                     PARLEY_OK);
    ck_assert_ptr_null(n->next);
    ck_assert_int_eq(dec(mem, &zoo_node_type, "{\"key\":\"a\",\"children\":[]}", &n), PARLEY_OK);
    ck_assert_ptr_null(n->next);
    ck_assert_ptr_null(n->children);
    ck_assert_int_eq(dec(mem, &zoo_node_type,
                         "{\"key\":\"a\",\"children\":[{\"key\":\"b\",\"children\":["
                         "{\"key\":\"c\",\"children\":[]}]}],"
                         "\"next\":{\"key\":\"d\",\"children\":[]}}", &n), PARLEY_OK);
    ck_assert_str_eq(n->children[0].children[0].key, "c");
    ck_assert_str_eq(n->next->key, "d");
    /* the graph hangs together: one free releases it */
    blocks = talloc_total_blocks(mem);
    ck_assert_ptr_eq(talloc_parent(n->next), n);
    ck_assert_ptr_eq(talloc_parent(n->children[0].key), n->children);
    talloc_free(n);
    ck_assert_uint_lt(talloc_total_blocks(mem), blocks - 6);

    /* the example of the issue: the path and what was expected */
    memset(key, 'k', 257);
    key[257] = '\0';
    snprintf(text, sizeof(text),
             "{\"key\":\"r\",\"children\":[{\"key\":\"0\",\"children\":[]},"
             "{\"key\":\"1\",\"children\":[]},{\"key\":\"2\",\"children\":[]},"
             "{\"key\":\"%s\",\"children\":[]}]}", key);
    DECODE_FAILS(&zoo_node_type, text, PARLEY_ERR_MALFORMED,
                 "JSON decode zoo_node.children[3].key: expected a string of at most 256 bytes, "
                 "found a string of 257 bytes");
    DECODE_FAILS(&zoo_node_type, "{\"key\":\"a\"}", PARLEY_ERR_MALFORMED,
                 "JSON decode zoo_node.children: missing: expected an array");
    DECODE_FAILS(&zoo_node_type, "{\"key\":\"a\",\"children\":[],\"nxt\":null}",
                 PARLEY_ERR_MALFORMED,
                 "JSON decode zoo_node.nxt: unknown field of zoo_node (its fields: key, "
                 "children, next)");
    DECODE_FAILS(&zoo_node_type, "{\"key\":\"a\",\"children\":{}}", PARLEY_ERR_MALFORMED,
                 "zoo_node.children: expected an array, found an object");
    DECODE_FAILS(&zoo_node_type,
                 "{\"key\":\"a\",\"children\":[],\"next\":{\"key\":1,\"children\":[]}}",
                 PARLEY_ERR_MALFORMED, "JSON decode zoo_node.next.key: expected a string");
    DECODE_FAILS(&zoo_point_type, "{\"x\":1,\"y\":2,\"z\":3}", PARLEY_ERR_MALFORMED,
                 "JSON decode zoo_point.w: missing: expected a number");
    DECODE_FAILS(&zoo_point_type, "[1,2,3,4]", PARLEY_ERR_MALFORMED,
                 "JSON decode zoo_point: expected an object (zoo_point), found an array of 4 "
                 "items");

    /* fixed arrays have exactly their count; sequences at most their bound */
    {
        zoo_all *a = codec_test_rich_all(mem);
        char *json, *p;
        ck_assert_int_eq(parley_json_encode(mem, &zoo_all_type, a, PARLEY_JSON_SENSITIVE, &json),
                         PARLEY_OK);
        p = strstr(json, "\"fixed\":[-1,0,1]");
        ck_assert_ptr_nonnull(p);
        memcpy(p, "\"fixed\":[-1,0  ]", 16);
        DECODE_FAILS(&zoo_all_type, json, PARLEY_ERR_MALFORMED,
                     "JSON decode zoo_all.fixed: expected an array of 3 items, found an array "
                     "of 2 items");
        a->n_points = 9;
        a->points = talloc_zero_array(a, zoo_point, 9);
        ck_assert_int_eq(parley_json_encode(mem, &zoo_all_type, a, 0, &json),
                         PARLEY_ERR_INVALID_ARGUMENT);
        ck_assert_str_eq(parley_error_message(),
                         "JSON encode zoo_all.points: sequence of 9 items longer than its bound 8");
        a->n_points = 8;
        ck_assert_int_eq(parley_json_encode(mem, &zoo_all_type, a, PARLEY_JSON_SENSITIVE, &json),
                         PARLEY_OK);
        {
            static const char dup[] = "{\"x\":0,\"y\":0,\"z\":0,\"w\":0,\"w\":0},";
            static const char one[] = "{\"x\":0,\"y\":0,\"z\":0,\"w\":0.00000},";
            ck_assert_uint_eq(sizeof(dup), sizeof(one));
            json = talloc_realloc(mem, json, char, strlen(json) + sizeof(dup));
            p = strstr(json, "\"points\":[") + strlen("\"points\":[");
            memmove(p + sizeof(dup) - 1, p, strlen(p) + 1);
            memcpy(p, dup, sizeof(dup) - 1);
            DECODE_FAILS(&zoo_all_type, json, PARLEY_ERR_MALFORMED, "duplicate object key");
            memcpy(p, one, sizeof(one) - 1);
        }
        DECODE_FAILS(&zoo_all_type, json, PARLEY_ERR_MALFORMED,
                     "JSON decode zoo_all.points: expected an array of at most 8 items, "
                     "found an array of 9 items");
        /* a redacted field does not decode as a value */
        ck_assert_int_eq(parley_json_encode(mem, &zoo_all_type, a, 0, &json), PARLEY_OK);
        DECODE_FAILS(&zoo_all_type, json, PARLEY_ERR_MALFORMED,
                     "JSON decode zoo_all.secret: the value was redacted when it was encoded "
                     "(encode with PARLEY_JSON_SENSITIVE to keep it)");
    }
    talloc_free(mem);
}
END_TEST

START_TEST(test_depth)
{
    NEED_JSON();
    TALLOC_CTX *mem = talloc_new(NULL);
    zoo_node *chain = codec_test_node_chain(mem, 70), *back;
    parley_codec codec = PARLEY_CODEC_INIT;
    char *text;

    ck_assert_int_eq(parley_json_encode(mem, &zoo_node_type, chain, 0, &text),
                     PARLEY_ERR_OVERFLOW);
    ck_assert(strstr(parley_error_message(), "nested deeper than 64 levels") != NULL);
    codec.max_depth = 100;
    ck_assert_int_eq(parley_json_encode_codec(mem, &zoo_node_type, chain, &codec, 0, &text),
                     PARLEY_OK);
    DECODE_FAILS(&zoo_node_type, text, PARLEY_ERR_OVERFLOW, "nested deeper than 64 levels");
    ck_assert_int_eq(parley_json_decode_codec(mem, &zoo_node_type, text, strlen(text), &codec, 0,
                                              (void **)&back), PARLEY_OK);
    ck_assert(parley_data_equal(&zoo_node_type, chain, back));
    talloc_free(mem);
}
END_TEST

START_TEST(test_malformed)
{
    NEED_JSON();
    static const char *const bad[] = {
        "", " ", "{", "[1,]", "{\"x\":1,}", "{} {}", "01", "nul", "'a'", "[1 2]",
        "{\"x\" 1}", "\"\\x\"", "{\"a\":1,\"a\":2}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        DECODE_FAILS(&zoo_point_type, bad[i], PARLEY_ERR_MALFORMED,
                     "JSON decode zoo_point: not valid JSON at line ");
    /* not NUL-terminated: only len bytes are read */
    {
        TALLOC_CTX *mem = talloc_new(NULL);
        int32_t *v;
        ck_assert_int_eq(parley_json_decode(mem, &parley_type_int32, "12345", 2, 0, (void **)&v),
                         PARLEY_OK);
        ck_assert_int_eq(*v, 12);
        talloc_free(mem);
    }
    /* deeper than jansson parses */
    {
        char deep[5000];
        memset(deep, '[', sizeof(deep) - 1);
        deep[sizeof(deep) - 1] = '\0';
        DECODE_FAILS(&zoo_point_type, deep, PARLEY_ERR_OVERFLOW, "JSON nested too deeply");
    }
}
END_TEST

START_TEST(test_handles_fds)
{
    NEED_JSON();
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_codec codec = PARLEY_CODEC_INIT;
    zoo_res r = { parley_test_fake_handle(3), NULL, 5 }, *back;
    char *text;

    encodes_as(&zoo_res_type, &r, 0,
               "{\"cursor\":{\"handle\":\"cursor\"},\"maybe\":null,\"fd\":{\"fd\":5}}");
    codec.handles = &fake_ops;
    r.maybe = parley_test_fake_handle(7);
    ck_assert_int_eq(parley_json_encode_codec(mem, &zoo_res_type, &r, &codec, 0, &text), PARLEY_OK);
    ck_assert_str_eq(text, "{\"cursor\":{\"handle\":\"cursor\",\"id\":3},"
                           "\"maybe\":{\"handle\":\"cursor\",\"id\":7},\"fd\":{\"fd\":5}}");
    ck_assert_int_eq(parley_json_decode_codec(mem, &zoo_res_type, text, strlen(text), &codec, 0,
                                              (void **)&back), PARLEY_OK);
    ck_assert(parley_data_equal(&zoo_res_type, &r, back));
    /* the id alone is enough */
    ck_assert_msg(parley_json_decode_codec(mem, &zoo_res_type,
                     "{\"cursor\":{\"id\":1},\"fd\":{\"fd\":0}}", 33, &codec, 0, (void **)&back) ==
                  PARLEY_OK, "%s", parley_error_message());
    ck_assert_ptr_eq(back->cursor, parley_test_fake_handle(1));
    ck_assert_ptr_null(back->maybe);
    /* without hooks: unsupported, with a sentence */
    DECODE_FAILS(&zoo_res_type, text, PARLEY_ERR_UNSUPPORTED,
                 "JSON decode zoo_res.cursor: handle cursor id 3: JSON names a handle only with "
                 "codec handle hooks");
    ck_assert_int_eq(parley_json_decode_codec(mem, &zoo_res_type,
                     "{\"cursor\":{\"id\":9},\"fd\":{\"fd\":0}}", 33, &codec, 0, (void **)&back),
                     PARLEY_ERR_INVALID_HANDLE);
    ck_assert_str_eq(parley_error_message(),
                     "JSON decode zoo_res.cursor: handle cursor id 9 rejected: invalid handle");
    DECODE_FAILS(&zoo_res_type, "{\"cursor\":{\"handle\":\"file\",\"id\":1},\"fd\":{\"fd\":0}}",
                 PARLEY_ERR_MALFORMED,
                 "JSON decode zoo_res.cursor: expected a handle object {\"handle\": \"cursor\", "
                 "\"id\": N}, found an object");
    DECODE_FAILS(&zoo_res_type, "{\"cursor\":null,\"fd\":{\"fd\":0}}", PARLEY_ERR_MALFORMED,
                 "zoo_res.cursor: expected a handle object");
    DECODE_FAILS(&parley_type_fd, "{\"fd\":-1}", PARLEY_ERR_MALFORMED,
                 "JSON decode fd: expected an fd object {\"fd\": N} with N from 0 to 2147483647");
    DECODE_FAILS(&parley_type_fd, "{\"fd\":2147483648}", PARLEY_ERR_MALFORMED, "with N from 0");
    DECODE_FAILS(&parley_type_fd, "{\"fd\":1,\"mode\":\"r\"}", PARLEY_ERR_MALFORMED,
                 "JSON decode fd: expected an fd object {\"fd\": N}, found an object");
    DECODE_FAILS(&parley_type_fd, "3", PARLEY_ERR_MALFORMED,
                 "JSON decode fd: expected an fd object {\"fd\": N}, found 3");
    {
        int *fdp;
        ck_assert_int_eq(dec(mem, &parley_type_fd, "{\"fd\":2147483647}", &fdp), PARLEY_OK);
        ck_assert_int_eq(*fdp, 2147483647);
    }
    /* what the binary encoder refuses, JSON refuses */
    r.fd = -1;
    ck_assert_int_eq(parley_json_encode(mem, &zoo_res_type, &r, 0, &text),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(parley_error_message(), "JSON encode zoo_res.fd: negative fd -1");
    r.fd = 0;
    r.cursor = NULL;
    ck_assert_int_eq(parley_json_encode(mem, &zoo_res_type, &r, 0, &text),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(parley_error_message(), "JSON encode zoo_res.cursor: handle is NULL");
    r.cursor = (parley_handle *)&r;
    ck_assert_int_eq(parley_json_encode_codec(mem, &zoo_res_type, &r, &codec, 0, &text),
                     PARLEY_ERR_INVALID_HANDLE);
    talloc_free(mem);
}
END_TEST

#ifdef HAVE_JANSSON
/* jansson's allocator, failing once `oom_left` allocations have been made. */
static long oom_left = -1;

static void *oom_malloc(size_t size)
{
    if (oom_left == 0)
        return NULL;
    if (oom_left > 0)
        oom_left--;
    return malloc(size);
}

/* Every jansson allocation failing in turn: NOMEM with a sentence (or, in
 * the parser, jansson's own parse error), nothing left allocated, and
 * success once the allocations are enough. */
START_TEST(test_out_of_memory)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    zoo_all *a = codec_test_rich_all(mem);
    char *json;
    size_t base = talloc_total_blocks(mem);
    bool enc_done = false, dec_done = false;

    ck_assert_int_eq(parley_json_encode(mem, &zoo_all_type, a, PARLEY_JSON_SENSITIVE, &json),
                     PARLEY_OK);
    base = talloc_total_blocks(mem);
    json_set_alloc_funcs(oom_malloc, free);
    for (long k = 0; k < 100000 && !(enc_done && dec_done); k++) {
        char *text = NULL;
        void *v = NULL;
        parley_status st;
        if (!enc_done) {
            oom_left = k;
            st = parley_json_encode(mem, &zoo_all_type, a, PARLEY_JSON_SENSITIVE, &text);
            oom_left = -1;
            if (st == PARLEY_OK) {
                ck_assert_str_eq(text, json);
                talloc_free(text);
                enc_done = true;
            } else {
                ck_assert_msg(st == PARLEY_ERR_NOMEM, "encode, %ld allocations: %s", k,
                              parley_error_message());
                ck_assert_ptr_nonnull(strstr(parley_error_message(), "out of memory"));
            }
        }
        if (!dec_done) {
            oom_left = k;
            st = parley_json_decode(mem, &zoo_all_type, json, strlen(json), 0, &v);
            oom_left = -1;
            if (st == PARLEY_OK) {
                ck_assert(parley_data_equal(&zoo_all_type, a, v));
                talloc_free(v);
                dec_done = true;
            } else {
                /* jansson's lexer reports a failed allocation as a syntax error */
                ck_assert_msg(st == PARLEY_ERR_NOMEM ||
                              (st == PARLEY_ERR_MALFORMED &&
                               strstr(parley_error_message(), "not valid JSON") != NULL),
                              "decode, %ld allocations: %s", k, parley_error_message());
                ck_assert_ptr_null(v);
            }
        }
        ck_assert_uint_eq(talloc_total_blocks(mem), base);
    }
    json_set_alloc_funcs(malloc, free);
    ck_assert(enc_done && dec_done);
    talloc_free(mem);
}
END_TEST
#endif

Suite *parley_json_suite(void)
{
    Suite *s = suite_create("json");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_available);
    tcase_add_test(tc, test_encode_all);
    tcase_add_test(tc, test_pretty);
    tcase_add_test(tc, test_round_trip_rich);
    tcase_add_loop_test(tc, test_round_trip_random, 0, (int)zoo_n_types);
    tcase_add_test(tc, test_int64_limits);
    tcase_add_test(tc, test_small_int_limits);
    tcase_add_test(tc, test_floats_bools);
    tcase_add_test(tc, test_enums);
    tcase_add_test(tc, test_strings_bytes);
    tcase_add_test(tc, test_unions);
    tcase_add_test(tc, test_structs_optional_sequences);
    tcase_add_test(tc, test_depth);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_handles_fds);
#ifdef HAVE_JANSSON
    tcase_add_test(tc, test_out_of_memory);
#endif
    suite_add_tcase(s, tc);
    return s;
}
