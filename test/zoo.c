/* SPDX-License-Identifier: MIT */
/* Descriptors of the test zoo, written by hand with the PARLEY_* macros. */
#include "config.h"

#include "zoo.h"

static const parley_enum_value color_values[] = {
    { "ZOO_RED", ZOO_RED }, { "ZOO_GREEN", ZOO_GREEN },
    { "ZOO_BLUE", ZOO_BLUE }, { "ZOO_BLACK", ZOO_BLACK },
};
const parley_type zoo_color_type = PARLEY_ENUM_TYPE(zoo_color, color_values);

static const parley_enum_value perm_values[] = {
    { "ZOO_READ", ZOO_READ }, { "ZOO_WRITE", ZOO_WRITE }, { "ZOO_EXEC", ZOO_EXEC },
};
const parley_type zoo_perm_type = PARLEY_FLAGS_TYPE(zoo_perm, perm_values);

static const parley_field point_fields[] = {
    PARLEY_FIELD(zoo_point, x, parley_type_int32),
    PARLEY_FIELD(zoo_point, y, parley_type_int32),
    PARLEY_FIELD(zoo_point, z, parley_type_int32),
    PARLEY_FIELD(zoo_point, w, parley_type_double),
};
const parley_type zoo_point_type = PARLEY_STRUCT_TYPE(zoo_point, point_fields);

static const parley_field flat_fields[] = {
    PARLEY_FIELD(zoo_flat, a, parley_type_int32),
    PARLEY_FIELD(zoo_flat, b, parley_type_uint32),
    PARLEY_FIELD(zoo_flat, c, parley_type_int64),
    PARLEY_FIELD(zoo_flat, d, parley_type_uint64),
};
const parley_type zoo_flat_type = PARLEY_STRUCT_TYPE(zoo_flat, flat_fields);

static const parley_arm value_arms[] = {
    PARLEY_ARM(zoo_value, ZOO_RED, i, parley_type_int64),
    PARLEY_ARM(zoo_value, ZOO_GREEN, s, parley_type_string),
    PARLEY_VOID_ARM(ZOO_BLUE),
};
const parley_type zoo_value_type =
    PARLEY_UNION_TYPE(zoo_value, kind, zoo_color_type, value_arms, NULL);

static const parley_type bytes8_type = PARLEY_BYTES_TYPE("bytes8", 8);
static const parley_arm num_arms[] = {
    PARLEY_ARM(zoo_num, 1, d, parley_type_double),
    PARLEY_ARM(zoo_num, 2, b, bytes8_type),
    PARLEY_ARM(zoo_num, 3, p, zoo_point_type),
};
static const parley_arm num_default = PARLEY_ARM(zoo_num, 0, other, parley_type_uint32);
const parley_type zoo_num_type =
    PARLEY_UNION_TYPE(zoo_num, tag, parley_type_uint16, num_arms, &num_default);

static const parley_type name_type = PARLEY_STRING_TYPE("name", 16);
static const parley_type secret_type = PARLEY_STRING_TYPE("secret", 32);
static const parley_type blob_type = PARLEY_BYTES_TYPE("blob", 64);
static const parley_type fixed_type = PARLEY_ARRAY_TYPE("fixed", int32_t, parley_type_int32, 3);
static const parley_type points_type = PARLEY_SEQUENCE_TYPE("points", zoo_point_type, 8);
static const parley_type words_type = PARLEY_SEQUENCE_TYPE("words", parley_type_string, 0);
static const parley_type origin_type = PARLEY_OPTIONAL_TYPE("origin", zoo_point_type);
static const parley_type flats_type = PARLEY_ARRAY_TYPE("flats", zoo_flat, zoo_flat_type, 2);
static const parley_type flat_seq_type = PARLEY_SEQUENCE_TYPE("flat_seq", zoo_flat_type, 0);
static const parley_type nums_type = PARLEY_SEQUENCE_TYPE("nums", parley_type_int32, 0);

static const parley_field all_fields[] = {
    PARLEY_FIELD(zoo_all, i8, parley_type_int8),
    PARLEY_FIELD(zoo_all, i16, parley_type_int16),
    PARLEY_FIELD(zoo_all, i32, parley_type_int32),
    PARLEY_FIELD(zoo_all, i64, parley_type_int64),
    PARLEY_FIELD(zoo_all, u8, parley_type_uint8),
    PARLEY_FIELD(zoo_all, u16, parley_type_uint16),
    PARLEY_FIELD(zoo_all, u32, parley_type_uint32),
    PARLEY_FIELD(zoo_all, u64, parley_type_uint64),
    PARLEY_FIELD(zoo_all, b, parley_type_bool),
    PARLEY_FIELD(zoo_all, f, parley_type_float),
    PARLEY_FIELD(zoo_all, d, parley_type_double),
    PARLEY_FIELD(zoo_all, color, zoo_color_type),
    PARLEY_FIELD(zoo_all, perm, zoo_perm_type),
    PARLEY_FIELD(zoo_all, name, name_type),
    PARLEY_FIELD(zoo_all, text, parley_type_string),
    PARLEY_FIELD(zoo_all, blob, blob_type),
    PARLEY_FIELD(zoo_all, fixed, fixed_type),
    PARLEY_SEQ_FIELD(zoo_all, points, points_type),
    PARLEY_SEQ_FIELD(zoo_all, words, words_type),
    PARLEY_FIELD(zoo_all, origin, origin_type),
    PARLEY_FIELD(zoo_all, value, zoo_value_type),
    PARLEY_FIELD(zoo_all, num, zoo_num_type),
    PARLEY_SENSITIVE_FIELD(zoo_all, secret, secret_type),
    PARLEY_FIELD(zoo_all, flats, flats_type),
    PARLEY_SEQ_FIELD(zoo_all, flat_seq, flat_seq_type),
    PARLEY_SEQ_FIELD(zoo_all, nums, nums_type),
};
const parley_type zoo_all_type = PARLEY_STRUCT_TYPE(zoo_all, all_fields);

static const parley_type key_type = PARLEY_STRING_TYPE("key", 256);
extern const parley_type zoo_node_type;
static const parley_type children_type = PARLEY_SEQUENCE_TYPE("children", zoo_node_type, 0);
static const parley_type next_type = PARLEY_OPTIONAL_TYPE("next", zoo_node_type);
static const parley_field node_fields[] = {
    PARLEY_FIELD(zoo_node, key, key_type),
    PARLEY_SEQ_FIELD(zoo_node, children, children_type),
    PARLEY_FIELD(zoo_node, next, next_type),
};
const parley_type zoo_node_type = PARLEY_STRUCT_TYPE(zoo_node, node_fields);

static const parley_type cursor_type = PARLEY_HANDLE_TYPE("cursor");
static const parley_type maybe_cursor_type = PARLEY_OPTIONAL_TYPE("maybe_cursor", cursor_type);
static const parley_field res_fields[] = {
    PARLEY_FIELD(zoo_res, cursor, cursor_type),
    PARLEY_FIELD(zoo_res, maybe, maybe_cursor_type),
    PARLEY_FIELD(zoo_res, fd, parley_type_fd),
};
const parley_type zoo_res_type = PARLEY_STRUCT_TYPE(zoo_res, res_fields);

const parley_type *const zoo_types[] = {
    &zoo_color_type, &zoo_perm_type, &zoo_point_type, &zoo_flat_type, &zoo_value_type,
    &zoo_num_type, &zoo_all_type, &zoo_node_type, &zoo_res_type,
};
const size_t zoo_n_types = sizeof(zoo_types) / sizeof(zoo_types[0]);
