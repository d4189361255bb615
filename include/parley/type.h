/* SPDX-License-Identifier: MIT */
/**
 * @file parley/type.h
 * @brief Type descriptors: const data describing a C type for the codec.
 *
 * A ::parley_type says how a C object is laid out in memory and how it looks
 * on the wire.  `parley-idl` emits them for every IDL type; they are also meant
 * to be written by hand.  Descriptors are plain const data: no registration,
 * no allocation, safe to share between threads.
 *
 * Memory forms, by kind:
 *
 * | kind            | C object                       | wire form                          |
 * |-----------------|--------------------------------|------------------------------------|
 * | INT8..UINT64    | int8_t..uint64_t               | fixed width, little-endian         |
 * | BOOL            | bool                           | u8, 0 or 1                         |
 * | FLOAT, DOUBLE   | float, double                  | IEEE 754 binary32/64, little-endian|
 * | ENUM            | a C enum (int-sized)           | i32, one of the declared values    |
 * | STRING          | char * (NUL-terminated UTF-8)  | u32 length + bytes, no NUL         |
 * | BYTES           | ::parley_bytes                 | u32 length + bytes                 |
 * | STRUCT          | the struct                     | fields in order, no padding        |
 * | UNION           | struct {discriminator; union u}| discriminator + the selected arm   |
 * | ARRAY           | T x[N]                         | N elements, no count               |
 * | SEQUENCE        | ::parley_seq-shaped {size_t n; T *items;} | u32 count + items       |
 * | OPTIONAL        | T * (NULL allowed)             | u8 presence (0/1) + value          |
 * | HANDLE          | parley_handle *                | u32 session-local id               |
 * | FD              | int                            | u32 index into the frame's fds     |
 *
 * An optional string or handle is the pointer itself (`char *`,
 * `parley_handle *`) with NULL for absent, not a pointer to the pointer.
 *
 * A sequence (or bytes) member of a struct is the pair `size_t n_x; T *x;`
 * with the count immediately before the pointer; the field's offset is the
 * offset of the count.  (size_t and a pointer have the same size and
 * alignment on every Linux ABI, so the pair is laid out like ::parley_seq.)
 *
 * Writing a descriptor by hand:
 * @code
 * typedef struct point { int32_t x, y; } point;
 * typedef struct shape {
 *     char     *name;                  // string<64>
 *     size_t    n_points;              // point points<>
 *     point    *points;
 *     point    *origin;                // optional point
 * } shape;
 *
 * static const parley_field point_fields[] = {
 *     PARLEY_FIELD(point, x, parley_type_int32),
 *     PARLEY_FIELD(point, y, parley_type_int32),
 * };
 * static const parley_type point_type = PARLEY_STRUCT_TYPE(point, point_fields);
 * static const parley_type name_type  = PARLEY_STRING_TYPE("name", 64);
 * static const parley_type points_type = PARLEY_SEQUENCE_TYPE("points", point_type, 0);
 * static const parley_type origin_type = PARLEY_OPTIONAL_TYPE("origin", point_type);
 * static const parley_field shape_fields[] = {
 *     PARLEY_FIELD(shape, name, name_type),
 *     PARLEY_SEQ_FIELD(shape, points, points_type),
 *     PARLEY_FIELD(shape, origin, origin_type),
 * };
 * static const parley_type shape_type = PARLEY_STRUCT_TYPE(shape, shape_fields);
 * @endcode
 * Check it once with parley_type_check() (in a test, or at start-up).
 */
#ifndef PARLEY_TYPE_H
#define PARLEY_TYPE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "parley/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What a descriptor describes.  Numbers are part of the introspection format. */
typedef enum parley_kind {
    PARLEY_KIND_INT8 = 1,
    PARLEY_KIND_INT16,
    PARLEY_KIND_INT32,
    PARLEY_KIND_INT64,
    PARLEY_KIND_UINT8,
    PARLEY_KIND_UINT16,
    PARLEY_KIND_UINT32,
    PARLEY_KIND_UINT64,
    PARLEY_KIND_BOOL,
    PARLEY_KIND_FLOAT,
    PARLEY_KIND_DOUBLE,
    PARLEY_KIND_ENUM,
    PARLEY_KIND_STRING,
    PARLEY_KIND_BYTES,
    PARLEY_KIND_STRUCT,
    PARLEY_KIND_UNION,
    PARLEY_KIND_ARRAY,
    PARLEY_KIND_SEQUENCE,
    PARLEY_KIND_OPTIONAL,
    PARLEY_KIND_HANDLE,
    PARLEY_KIND_FD
} parley_kind;

/** A byte blob: the memory form of `bytes`. */
typedef struct parley_bytes {
    size_t len;       /**< number of bytes */
    uint8_t *data;    /**< the bytes; may be NULL when len is 0 */
} parley_bytes;

/** The memory form of a sequence: a count, then a pointer to the items. */
typedef struct parley_seq {
    size_t n;         /**< number of items */
    void *items;      /**< n items of the element type; may be NULL when n is 0 */
} parley_seq;

/** An opaque server object reference (see parley/session.h). */
typedef struct parley_handle parley_handle;

/** A type descriptor (struct parley_type below). */
typedef struct parley_type parley_type;

/** Field flag: redact the value in parley_data_print() and traces. */
#define PARLEY_FIELD_SENSITIVE 0x1u

/** One field of a struct. */
typedef struct parley_field {
    const char *name;          /**< field name, used in paths and printing */
    size_t offset;             /**< offsetof(struct, field); for a sequence or
                                    bytes member, the offset of its count */
    const parley_type *type;   /**< the field's type */
    unsigned flags;            /**< PARLEY_FIELD_* */
} parley_field;

/** One declared value of an enum. */
typedef struct parley_enum_value {
    const char *name;          /**< e.g. "KV_STATUS_OK" */
    int32_t value;             /**< the value, as on the wire */
} parley_enum_value;

/** One arm of a union: the member selected by a discriminator value. */
typedef struct parley_arm {
    int64_t value;             /**< discriminator value (ignored for the default arm) */
    const char *name;          /**< member name; NULL for a void arm */
    size_t offset;             /**< offsetof(union struct, u.member); 0 for void */
    const parley_type *type;   /**< member type; NULL for a void arm */
    unsigned flags;            /**< PARLEY_FIELD_* */
} parley_arm;

/** Enum flag: a bitmask; any OR of declared values (and 0) is valid. */
#define PARLEY_TYPE_FLAGS 0x1u

/**
 * Any kind: this descriptor may be freed or changed before the process
 * exits (it was built at run time, on the heap or the stack, or lives in a
 * module that is dlclose()d).  The codec then never caches a compiled
 * program for it, nor for any type that holds it, and walks it generically
 * each time.  Descriptors in static storage that live as long as the process
 * (what `parley-idl` emits, `static const` ones) leave it clear: their
 * programs are compiled once, on first use, and kept for the life of the
 * process, keyed by address.  Code that builds descriptors at run time sets
 * it on every descriptor it builds.
 */
#define PARLEY_TYPE_TRANSIENT 0x2u

/**
 * A type descriptor.  Only the members of its kind are used; leave the others
 * zero (designated initializers or the PARLEY_*_TYPE macros do that).
 */
struct parley_type {
    parley_kind kind;          /**< what this describes; selects the members used */
    const char *name;          /**< type name, used in paths, printing, errors */
    size_t size;               /**< sizeof the C object this describes */
    unsigned flags;            /**< PARLEY_TYPE_* */

    /** STRING, BYTES, SEQUENCE: maximum length/count, 0 = unbounded.
     *  ARRAY: the element count (required, > 0). */
    uint32_t bound;
    /** ARRAY, SEQUENCE, OPTIONAL: the element / pointee type. */
    const parley_type *elem;

    /** STRUCT: the fields, in wire order. */
    const parley_field *fields;
    size_t n_fields;           /**< number of entries in fields */

    /** ENUM: the declared values. */
    const parley_enum_value *values;
    size_t n_values;           /**< number of entries in values */

    /** UNION: the discriminator's type (an integer kind or ENUM) and offset. */
    const parley_type *discriminator;
    size_t discriminator_offset; /**< offsetof(union struct, discriminator) */
    /** UNION: the arms selected by value. */
    const parley_arm *arms;
    size_t n_arms;             /**< number of entries in arms */
    /** UNION: the arm for any other value; NULL = other values are invalid.
     *  A default arm whose type is NULL is a void default. */
    const parley_arm *default_arm;
    /** UNION: the discriminator member's name (for printing and paths). */
    const char *discriminator_name;
    /** Reserved for extensions (doc/abi.md): must be NULL. */
    const void *ext;
};

/** @name Primitive descriptors
 *  Shared, const descriptors of the primitive kinds.  Unbounded string and
 *  bytes; declare your own for a bound (PARLEY_STRING_TYPE()).
 *  @{ */
PARLEY_PUBLIC extern const parley_type parley_type_int8; /**< int8_t */
PARLEY_PUBLIC extern const parley_type parley_type_int16; /**< int16_t */
PARLEY_PUBLIC extern const parley_type parley_type_int32; /**< int32_t */
PARLEY_PUBLIC extern const parley_type parley_type_int64; /**< int64_t */
PARLEY_PUBLIC extern const parley_type parley_type_uint8; /**< uint8_t */
PARLEY_PUBLIC extern const parley_type parley_type_uint16; /**< uint16_t */
PARLEY_PUBLIC extern const parley_type parley_type_uint32; /**< uint32_t */
PARLEY_PUBLIC extern const parley_type parley_type_uint64; /**< uint64_t */
PARLEY_PUBLIC extern const parley_type parley_type_bool; /**< bool */
PARLEY_PUBLIC extern const parley_type parley_type_float; /**< float */
PARLEY_PUBLIC extern const parley_type parley_type_double; /**< double */
PARLEY_PUBLIC extern const parley_type parley_type_string; /**< char *, unbounded, UTF-8 without NUL */
PARLEY_PUBLIC extern const parley_type parley_type_bytes; /**< parley_bytes, unbounded */
PARLEY_PUBLIC extern const parley_type parley_type_fd; /**< int, a file descriptor passed with SCM_RIGHTS */
/** @} */

/** @name Initializer macros for hand-written descriptors
 *  @{ */
#define PARLEY__COUNT(a) (sizeof(a) / sizeof((a)[0]))
/** A struct field. */
#define PARLEY_FIELD(ctype, member, desc) \
    { #member, offsetof(ctype, member), &(desc), 0 }
/** A struct field redacted when printed. */
#define PARLEY_SENSITIVE_FIELD(ctype, member, desc) \
    { #member, offsetof(ctype, member), &(desc), PARLEY_FIELD_SENSITIVE }
/** A `size_t n_member; T *member;` pair (sequence or bytes-like). */
#define PARLEY_SEQ_FIELD(ctype, member, desc) \
    { #member, offsetof(ctype, n_##member), &(desc), 0 }
/** A struct type named after its C type. */
#define PARLEY_STRUCT_TYPE(ctype, field_array) \
    { PARLEY_KIND_STRUCT, #ctype, sizeof(ctype), 0, 0, NULL, \
      (field_array), PARLEY__COUNT(field_array), NULL, 0, NULL, 0, NULL, 0, NULL, NULL, NULL }
/** A string with a bound in bytes (0 = unbounded). */
#define PARLEY_STRING_TYPE(tname, maxlen) \
    { PARLEY_KIND_STRING, (tname), sizeof(char *), 0, (maxlen), NULL, \
      NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, NULL, NULL }
/** A byte blob with a bound (0 = unbounded). */
#define PARLEY_BYTES_TYPE(tname, maxlen) \
    { PARLEY_KIND_BYTES, (tname), sizeof(parley_bytes), 0, (maxlen), NULL, \
      NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, NULL, NULL }
/** A sequence of elem_desc with a bound (0 = unbounded). */
#define PARLEY_SEQUENCE_TYPE(tname, elem_desc, maxcount) \
    { PARLEY_KIND_SEQUENCE, (tname), sizeof(parley_seq), 0, (maxcount), &(elem_desc), \
      NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, NULL, NULL }
/** A fixed array of count elements of C type elem_ctype described by elem_desc. */
#define PARLEY_ARRAY_TYPE(tname, elem_ctype, elem_desc, count) \
    { PARLEY_KIND_ARRAY, (tname), (count) * sizeof(elem_ctype), 0, (count), &(elem_desc), \
      NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, NULL, NULL }
/** An optional (nullable pointer to) elem_desc. */
#define PARLEY_OPTIONAL_TYPE(tname, elem_desc) \
    { PARLEY_KIND_OPTIONAL, (tname), sizeof(void *), 0, 0, &(elem_desc), \
      NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, NULL, NULL }
/** An enum over a C enum type. */
#define PARLEY_ENUM_TYPE(ctype, value_array) \
    { PARLEY_KIND_ENUM, #ctype, sizeof(ctype), 0, 0, NULL, \
      NULL, 0, (value_array), PARLEY__COUNT(value_array), NULL, 0, NULL, 0, NULL, NULL, NULL }
/** A bitmask enum (PARLEY_TYPE_FLAGS). */
#define PARLEY_FLAGS_TYPE(ctype, value_array) \
    { PARLEY_KIND_ENUM, #ctype, sizeof(ctype), PARLEY_TYPE_FLAGS, 0, NULL, \
      NULL, 0, (value_array), PARLEY__COUNT(value_array), NULL, 0, NULL, 0, NULL, NULL, NULL }
/** A handle of the named handle type. */
#define PARLEY_HANDLE_TYPE(tname) \
    { PARLEY_KIND_HANDLE, (tname), sizeof(parley_handle *), 0, 0, NULL, \
      NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, NULL, NULL }
/** A union: ctype holds the discriminator member dmember (of type ddesc) and `u`. */
#define PARLEY_UNION_TYPE(ctype, dmember, ddesc, arm_array, default_arm_ptr) \
    { PARLEY_KIND_UNION, #ctype, sizeof(ctype), 0, 0, NULL, NULL, 0, NULL, 0, \
      &(ddesc), offsetof(ctype, dmember), (arm_array), PARLEY__COUNT(arm_array), \
      (default_arm_ptr), #dmember, NULL }
/** A union arm selected by value. */
#define PARLEY_ARM(ctype, value, member, desc) \
    { (value), #member, offsetof(ctype, u.member), &(desc), 0 }
/** A void union arm selected by value. */
#define PARLEY_VOID_ARM(value) { (value), NULL, 0, NULL, 0 }
/** @} */

/** Deepest nesting the codec follows unless told otherwise. */
#define PARLEY_DEFAULT_MAX_DEPTH 64

/**
 * @brief Validate a descriptor graph.
 *
 * Checks what the codec relies on: known kinds, sizes that match the kind,
 * struct fields inside the struct and not overlapping, sequence/bytes members
 * that fit their count+pointer pair, arrays with a count, a union
 * discriminator of an integer or enum kind inside the struct and not
 * overlapping the arms, no duplicate arm values, enum values that fit int32
 * (two names may share a value: an alias), handles with a name.  Recursion
 * through OPTIONAL and SEQUENCE is allowed; a type that contains itself
 * directly is not.
 *
 * @param[in] type the root descriptor
 * @return PARLEY_OK, or PARLEY_ERR_INVALID_ARGUMENT with parley_error_message()
 *         naming the first problem and its path ("shape.points: ...").
 *
 * Ownership: nothing allocated.  Errors: INVALID_ARGUMENT as above.
 */
PARLEY_PUBLIC parley_status parley_type_check(const parley_type *type);

/**
 * @brief The IDL spelling of a kind ("int8", "string", "struct", "fd", ...).
 * @param[in] kind any value
 * @return a static string, or NULL for a value that is not a parley_kind.
 *
 * Ownership: the string is static.  Threads: any.  Errors: none.
 */
PARLEY_PUBLIC const char *parley_kind_name(parley_kind kind);

/**
 * @brief The 64-bit fingerprint of a type's wire shape.
 *
 * FNV-1a 64 over the canonical shape string defined in doc/idl.md
 * ("Fingerprints"): field, type and value names do not count; kinds, bounds,
 * order, enum values, union arms and handle type names do.  `parley-idl`
 * computes the same number at compile time.
 *
 * @param[in] type a descriptor that passes parley_type_check()
 * @return the fingerprint (0 for NULL)
 *
 * Ownership: nothing allocated.  Errors: none.
 */
PARLEY_PUBLIC uint64_t parley_type_fingerprint(const parley_type *type);

/**
 * @brief The canonical shape string whose hash is parley_type_fingerprint().
 * @param[in] mem_ctx talloc parent of the result
 * @param[in] type the descriptor
 * @return a string under mem_ctx, or NULL when out of memory.
 *
 * Ownership: the caller frees the result with talloc_free().  Errors: NULL on
 * out of memory.
 */
PARLEY_PUBLIC char *parley_type_shape(void *mem_ctx, const parley_type *type);

#ifdef __cplusplus
}
#endif

#endif /* PARLEY_TYPE_H */
