/* SPDX-License-Identifier: MIT */
/* Type descriptors: parley_type_check, canonical shapes, fingerprints, protocols. */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include <check.h>
#include <talloc.h>

#include "parley/data.h"
#include "parley/protocol.h"
#include "parley/type.h"
#include "suites.h"
#include "zoo.h"

/* An independent FNV-1a 64, checked against the published test vector. */
static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

START_TEST(test_fnv_vector)
{
    ck_assert_uint_eq(fnv1a(""), 0xcbf29ce484222325ull);
    ck_assert_uint_eq(fnv1a("a"), 0xaf63dc4c8601ec8cull);
    ck_assert_uint_eq(fnv1a("foobar"), 0x85944171f73967e8ull);
}
END_TEST

START_TEST(test_zoo_passes_check)
{
    for (size_t i = 0; i < zoo_n_types; i++) {
        parley_status st = parley_type_check(zoo_types[i]);
        ck_assert_msg(st == PARLEY_OK, "%s: %s", zoo_types[i]->name, parley_error_message());
    }
    ck_assert_int_eq(parley_type_check(&parley_type_string), PARLEY_OK);
    ck_assert_int_eq(parley_type_check(&parley_type_fd), PARLEY_OK);
}
END_TEST

static const struct {
    const parley_type *type;
    const char *shape;
} shapes[] = {
    { &parley_type_int8, "i8" },
    { &parley_type_uint64, "u64" },
    { &parley_type_bool, "b" },
    { &parley_type_float, "f32" },
    { &parley_type_double, "f64" },
    { &parley_type_string, "s" },
    { &parley_type_bytes, "y" },
    { &parley_type_fd, "d" },
    { &zoo_color_type, "e{-3,0,1,7}" },
    { &zoo_perm_type, "E{1,2,4}" },
    { &zoo_point_type, "{i32,i32,i32,f64}" },
    { &zoo_value_type, "u(e{-3,0,1,7}){0:i64;1:s;7:v}" },
    { &zoo_num_type, "u(u16){1:f64;2:y<8>;3:{i32,i32,i32,f64};*:u32}" },
    { &zoo_node_type, "{s<256>,<>^1,?^1}" },
    { &zoo_res_type, "{h(cursor),?h(cursor),d}" },
};

START_TEST(test_shapes_and_fingerprints)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        char *s = parley_type_shape(mem, shapes[i].type);
        ck_assert_ptr_nonnull(s);
        ck_assert_str_eq(s, shapes[i].shape);
        ck_assert_uint_eq(parley_type_fingerprint(shapes[i].type), fnv1a(shapes[i].shape));
    }
    /* zoo_all is long: check its start, its sensitive field (names do not
     * count, so it looks like any string<32>) and its hash. */
    char *all = parley_type_shape(mem, &zoo_all_type);
    ck_assert_ptr_nonnull(all);
    ck_assert_str_eq(all, "{i8,i16,i32,i64,u8,u16,u32,u64,b,f32,f64,e{-3,0,1,7},E{1,2,4},s<16>,s,"
                          "y<64>,[3]i32,<8>{i32,i32,i32,f64},<>s,?{i32,i32,i32,f64},"
                          "u(e{-3,0,1,7}){0:i64;1:s;7:v},"
                          "u(u16){1:f64;2:y<8>;3:{i32,i32,i32,f64};*:u32},s<32>,"
                          "[2]{i32,u32,i64,u64},<>{i32,u32,i64,u64},<>i32}");
    ck_assert_uint_eq(parley_type_fingerprint(&zoo_all_type), fnv1a(all));
    ck_assert_uint_eq(parley_type_fingerprint(NULL), 0);
    ck_assert_ptr_null(parley_type_shape(mem, NULL));
    talloc_free(mem);
}
END_TEST

/* Recursion two levels down points at the outer aggregate: ^2. */
typedef struct tree { struct pair *pairs; } tree;
typedef struct pair { int32_t k; tree sub; } pair;
extern const parley_type tree_type;
static const parley_type pair_type_fwd;
static const parley_type pairs_opt = PARLEY_OPTIONAL_TYPE("pairs", pair_type_fwd);
static const parley_field tree_fields[] = { PARLEY_FIELD(tree, pairs, pairs_opt) };
const parley_type tree_type = PARLEY_STRUCT_TYPE(tree, tree_fields);
static const parley_field pair_fields[] = {
    PARLEY_FIELD(pair, k, parley_type_int32),
    PARLEY_FIELD(pair, sub, tree_type),
};
static const parley_type pair_type_fwd = PARLEY_STRUCT_TYPE(pair, pair_fields);

START_TEST(test_shape_recursion_distance)
{
    char *s = parley_type_shape(NULL, &tree_type);
    ck_assert_str_eq(s, "{?{i32,^2}}");
    talloc_free(s);
    ck_assert_int_eq(parley_type_check(&tree_type), PARLEY_OK);
}
END_TEST

/* ---- broken descriptors ---------------------------------------------------- */

typedef struct two { int32_t a; int32_t b; } two;
typedef struct holder { two t; char *s; } holder;

static const parley_field overlap_fields[] = {
    { "a", 0, &parley_type_int64, 0 },
    { "b", 4, &parley_type_int32, 0 },
};
static const parley_type overlap_type = PARLEY_STRUCT_TYPE(two, overlap_fields);

static const parley_field outside_fields[] = {
    { "a", 0, &parley_type_int32, 0 },
    { "b", 6, &parley_type_int32, 0 },
};
static const parley_type outside_type = PARLEY_STRUCT_TYPE(two, outside_fields);

static const parley_type bad_size_int = { .kind = PARLEY_KIND_INT32, .name = "i", .size = 2 };
static const parley_field bad_nested_fields[] = {
    { "t", offsetof(holder, t), &outside_type, 0 },
    { "s", offsetof(holder, s), &parley_type_string, 0 },
};
static const parley_type bad_nested_type = PARLEY_STRUCT_TYPE(holder, bad_nested_fields);

static const parley_type bad_array = { .kind = PARLEY_KIND_ARRAY, .name = "arr", .size = 8,
                                       .bound = 0, .elem = &parley_type_int32 };
static const parley_type bad_array_size = { .kind = PARLEY_KIND_ARRAY, .name = "arr", .size = 12,
                                            .bound = 2, .elem = &parley_type_int32 };
static const parley_type no_elem_seq = { .kind = PARLEY_KIND_SEQUENCE, .name = "seq",
                                         .size = sizeof(parley_seq) };
static const parley_type unknown_kind = { .kind = (parley_kind)99, .name = "x", .size = 4 };
static const parley_type no_name = { .kind = PARLEY_KIND_INT32, .size = 4 };

static const parley_enum_value dup_values[] = { { "A", 1 }, { "C", 2 }, { "B", 1 } };
static const parley_type dup_enum = { .kind = PARLEY_KIND_ENUM, .name = "dup", .size = 4,
                                      .values = dup_values, .n_values = 3 };
static const parley_type empty_enum = { .kind = PARLEY_KIND_ENUM, .name = "empty", .size = 4 };

static const parley_arm dup_arms[] = {
    PARLEY_ARM(zoo_value, ZOO_RED, i, parley_type_int64),
    PARLEY_ARM(zoo_value, ZOO_RED, s, parley_type_string),
};
static const parley_type dup_arm_union =
    PARLEY_UNION_TYPE(zoo_value, kind, zoo_color_type, dup_arms, NULL);
static const parley_arm undeclared_arms[] = { PARLEY_ARM(zoo_value, 5, i, parley_type_int64) };
static const parley_type undeclared_arm_union =
    PARLEY_UNION_TYPE(zoo_value, kind, zoo_color_type, undeclared_arms, NULL);
static const parley_arm str_disc_arms[] = { PARLEY_VOID_ARM(0) };
static const parley_type str_disc_union =
    PARLEY_UNION_TYPE(zoo_value, u.s, parley_type_string, str_disc_arms, NULL);
static const parley_arm wide_arms[] = { { 300, "i", offsetof(zoo_num, u.other), &parley_type_uint32, 0 } };
static const parley_type u8_disc = { .kind = PARLEY_KIND_UINT8, .name = "uint8", .size = 1 };
static const parley_type wide_arm_union =
    PARLEY_UNION_TYPE(zoo_num, tag, u8_disc, wide_arms, NULL);
static const parley_arm overlap_disc_arms[] = { { 1, "i", 0, &parley_type_int64, 0 } };
static const parley_type overlap_disc_union =
    PARLEY_UNION_TYPE(zoo_value, kind, zoo_color_type, overlap_disc_arms, NULL);

/* A struct that contains itself directly: an infinite type. */
typedef struct selfy { int32_t x; int32_t y; } selfy;
extern const parley_type selfy_type;
static const parley_field selfy_fields[] = { { "me", 0, &selfy_type, 0 } };
const parley_type selfy_type = PARLEY_STRUCT_TYPE(selfy, selfy_fields);

/* An optional whose element is itself: no struct in the cycle, no C type. */
extern const parley_type loop_opt_type;
const parley_type loop_opt_type = { .kind = PARLEY_KIND_OPTIONAL, .name = "loop",
                                    .size = sizeof(void *), .elem = &loop_opt_type };

static const struct {
    const char *what;
    const parley_type *type;
    const char *message;
} broken[] = {
    { "overlap", &overlap_type, "type check two: fields 'a' and 'b' overlap" },
    { "outside", &outside_type,
      "type check two.b: member at offset 6 of size 4 does not fit in 8 bytes" },
    { "nested path", &bad_nested_type,
      "type check holder.t.b: member at offset 6 of size 4 does not fit in 8 bytes" },
    { "kind size", &bad_size_int, "type check i: int32 'i' has size 2, expected 4" },
    { "array count", &bad_array, "type check arr: array 'arr' has no element count" },
    { "array size", &bad_array_size, "type check arr: array 'arr' has size 12, expected 2 x 4" },
    { "seq elem", &no_elem_seq, "type check seq: sequence 'seq' has no element type" },
    { "kind", &unknown_kind, "type check x: unknown kind 99" },
    { "no name", &no_name, "type check (unnamed): int32 type has no name" },
    { "empty enum", &empty_enum, "type check empty: enum has no values" },
    { "dup arm", &dup_arm_union, "type check zoo_value: arm value 0 appears twice" },
    { "undeclared arm", &undeclared_arm_union,
      "type check zoo_value: arm value 5 is not a value of the discriminator zoo_color" },
    { "string discriminator", &str_disc_union,
      "type check zoo_value: discriminator is a string, not an integer or enum" },
    { "arm too wide", &wide_arm_union,
      "type check zoo_num: arm value 300 is not a value of the discriminator uint8" },
    { "arm over discriminator", &overlap_disc_union,
      "type check zoo_value: arm 'i' overlaps the discriminator" },
    { "self", &selfy_type,
      "type check selfy.me: type 'selfy' contains itself (only an optional or a sequence "
      "may recurse)" },
    { "pointer loop", &loop_opt_type,
      "type check loop.*: type 'loop' recurses with no struct or union in the cycle" },
};

START_TEST(test_broken_descriptors)
{
    ck_assert_int_eq(parley_type_check(broken[_i].type), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_msg(strcmp(parley_error_message(), broken[_i].message) == 0,
                  "%s: got '%s'", broken[_i].what, parley_error_message());
}
END_TEST

/* Two names for one value (an alias, as C allows): valid, the shape lists the
 * value once, printing uses the first name, the codec accepts the value. */
START_TEST(test_enum_alias)
{
    void *mem = talloc_new(NULL);
    int32_t v = 1;
    char *text = NULL;

    ck_assert_msg(parley_type_check(&dup_enum) == PARLEY_OK, "%s", parley_error_message());
    ck_assert_str_eq(parley_type_shape(mem, &dup_enum), "e{1,2}");
    ck_assert_int_eq(parley_data_print(mem, &dup_enum, &v, &text), PARLEY_OK);
    ck_assert_str_eq(text, "A");
    talloc_free(mem);
}
END_TEST

START_TEST(test_check_null)
{
    ck_assert_int_eq(parley_type_check(NULL), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(parley_error_message(), "type check: NULL type");
}
END_TEST

/* ---- protocols ------------------------------------------------------------- */

typedef struct add_req { int32_t a, b; } add_req;
typedef struct add_rep { int64_t sum; } add_rep;
static const parley_field add_req_fields[] = {
    PARLEY_FIELD(add_req, a, parley_type_int32), PARLEY_FIELD(add_req, b, parley_type_int32),
};
static const parley_field add_rep_fields[] = { PARLEY_FIELD(add_rep, sum, parley_type_int64) };
static const parley_type add_req_type = PARLEY_STRUCT_TYPE(add_req, add_req_fields);
static const parley_type add_rep_type = PARLEY_STRUCT_TYPE(add_rep, add_rep_fields);

START_TEST(test_protocol)
{
    parley_method methods[] = {
        { 1, "add", "calc", &add_req_type, &add_rep_type, 0, 0 },
        { 3, "note", "calc", &add_req_type, NULL, 0, PARLEY_METHOD_ONEWAY },
    };
    parley_protocol p = { PARLEY_ABI_VERSION, "calc", 1, methods, 2, NULL, 0, NULL, 0, NULL, NULL };

    ck_assert_uint_eq(parley_method_fingerprint(&add_req_type, &add_rep_type),
                      fnv1a("m({i32,i32})->({i64})"));
    ck_assert_uint_eq(parley_method_fingerprint(&add_req_type, NULL), fnv1a("m({i32,i32})!"));

    /* stored fingerprints must match */
    ck_assert_int_eq(parley_protocol_check(&p), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "protocol calc: method add: stored fingerprint"));
    methods[0].fingerprint = parley_method_fingerprint(&add_req_type, &add_rep_type);
    methods[1].fingerprint = parley_method_fingerprint(&add_req_type, NULL);
    ck_assert_msg(parley_protocol_check(&p) == PARLEY_OK, "%s", parley_error_message());

    ck_assert_ptr_eq(parley_protocol_find_method(&p, 3), &methods[1]);
    ck_assert_ptr_eq(parley_protocol_find_method(&p, 1), &methods[0]);
    ck_assert_ptr_null(parley_protocol_find_method(&p, 2));
    ck_assert_ptr_null(parley_protocol_find_method(NULL, 1));

    methods[1].id = 1;
    ck_assert_int_eq(parley_protocol_check(&p), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(parley_error_message(), "protocol calc: methods add and note share the id 1");
    methods[1].id = 0;
    ck_assert_int_eq(parley_protocol_check(&p), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(parley_error_message(), "protocol calc: method note uses the reserved id 0");
    methods[1].id = 3;
    methods[1].reply = &add_rep_type;
    ck_assert_int_eq(parley_protocol_check(&p), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(parley_error_message(), "protocol calc: oneway method note has a reply type");
    methods[1].reply = NULL;
    methods[0].request = &overlap_type;
    ck_assert_int_eq(parley_protocol_check(&p), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(parley_error_message(),
                     "protocol calc: method add request: type check two: fields 'a' and 'b' overlap");
    ck_assert_int_eq(parley_protocol_check(NULL), PARLEY_ERR_INVALID_ARGUMENT);
}
END_TEST

/* A table without its descriptor ABI version, or from a newer header, is
 * refused with a sentence; so is a type that sets the reserved ext. */
START_TEST(test_abi_version)
{
    parley_protocol p = { 0, "calc", 1, NULL, 0, NULL, 0, NULL, 0, NULL, NULL };
    parley_type ext_set = PARLEY_STRUCT_TYPE(add_req, add_req_fields);

    ck_assert_int_eq(parley_protocol_check(&p), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "abi_version is not set"));
    p.abi_version = PARLEY_ABI_VERSION + 1;
    ck_assert_int_eq(parley_protocol_check(&p), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "built against a newer libparley"));
    p.abi_version = PARLEY_ABI_VERSION;
    ck_assert_msg(parley_protocol_check(&p) == PARLEY_OK, "%s", parley_error_message());

    ext_set.ext = &p;
    ck_assert_int_eq(parley_type_check(&ext_set), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "sets ext"));
}
END_TEST

Suite *parley_type_suite(void)
{
    Suite *s = suite_create("type");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fnv_vector);
    tcase_add_test(tc, test_zoo_passes_check);
    tcase_add_test(tc, test_shapes_and_fingerprints);
    tcase_add_test(tc, test_shape_recursion_distance);
    tcase_add_loop_test(tc, test_broken_descriptors, 0, (int)(sizeof(broken) / sizeof(broken[0])));
    tcase_add_test(tc, test_enum_alias);
    tcase_add_test(tc, test_check_null);
    tcase_add_test(tc, test_protocol);
    tcase_add_test(tc, test_abi_version);
    suite_add_tcase(s, tc);
    return s;
}
