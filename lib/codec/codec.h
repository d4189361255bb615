/* SPDX-License-Identifier: MIT */
/* Internal: what the encoder and decoder share -- the field-path stack used
 * to build error sentences, little-endian wire helpers, UTF-8 validation, the
 * minimal wire size of a type, and the flat-copy analysis behind the memcpy
 * fast path. */
#ifndef PARLEY_LIB_CODEC_H
#define PARLEY_LIB_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "parley/data.h"
#include "parley/type.h"
#include "type.h"

/*
 * The path from the top value to the one being walked, kept as a linked stack
 * of nodes that live in the walkers' frames.  Formatted only on failure.
 * A node names a struct field or union arm (name != NULL) or an element index.
 * Optionals add no node: "zoo_node.next.key", not "zoo_node.next->key".
 */
typedef struct parley__path {
    const struct parley__path *up;
    const char *name;
    size_t index;
} parley__path;

/*
 * Set the thread's error to "<op> <top><path>: <message>" and return status.
 * op is "encode" or "decode"; top the top descriptor.
 */
parley_status parley__codec_error(parley_status status, const char *op,
                                  const parley_type *top, const parley__path *path,
                                  const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/*
 * Index of the first byte of s[0..len) that does not start a valid UTF-8
 * sequence (overlong forms, surrogates and code points past U+10FFFF are
 * invalid), or len when all of it is valid.
 */
size_t parley__utf8_check(const uint8_t *s, size_t len);

/* Is s[0..len) valid UTF-8 without a NUL byte?  One pass over ASCII text
 * (eight bytes at a time), for the decoder's compiled programs; the walk
 * finds out which check failed and where. */
bool parley__text_ok(const uint8_t *s, size_t len);

/*
 * The fewest wire bytes any value of type can take; at least 1 so that
 * "count * min" bounds are safe to divide by.  Saturates at SIZE_MAX.
 */
size_t parley__min_wire_size(const parley_type *type);

/* Longest copy plan kept; types needing more runs take the generic walk. */
#define PARLEY__PLAN_MAX_RUNS 16

/*
 * A flat type: fixed-width integers, float and double, and structs and arrays
 * of those.  On a little-endian host each is copied between memory and wire
 * as a few (memory offset, wire offset, length) runs.  `identical` means one
 * run covering the whole object: wire form == memory form, so a sequence or
 * array of them is one memcpy.
 *
 * Otherwise elements are copied run by run with 16-byte moves that may
 * overshoot a run's end: `runs` are in wire order, so on encode an overshoot
 * only lands on wire bytes a later run (or the next element) rewrites.  On
 * decode `pieces` are the runs plus the padding gaps (zero = 1, copied from a
 * zero block) in memory order, with the same property.  The last few
 * elements, whose overshoot would leave the block, are copied exactly.
 */
typedef struct parley__run {
    uint32_t mem_off;
    uint32_t wire_off;
    uint32_t len;
    uint32_t zero;      /* pieces: a padding gap, written with zeros */
} parley__run;

/* A decode step of exactly 16 bytes: mem[mem_off..+16) =
 * wire[wire_off..+16) & (m0, m1).  A run and the padding after it become one
 * op whose mask zeroes the padding; a lone gap is an op with a zero mask. */
typedef struct parley__op {
    uint32_t mem_off;
    uint32_t wire_off;
    uint64_t m0, m1;
} parley__op;

typedef struct parley__plan {
    size_t size;            /* memory size of one object (type->size) */
    size_t wire_size;       /* wire size of one object */
    bool identical;
    unsigned n_runs;
    unsigned n_pieces;
    size_t encode_tail;     /* trailing elements to copy exactly on encode */
    size_t decode_tail;     /* ... and on decode */
    parley__run runs[PARLEY__PLAN_MAX_RUNS];
    parley__run pieces[2 * PARLEY__PLAN_MAX_RUNS + 1];
    unsigned n_ops;         /* 0: some piece is longer than 16 bytes */
    parley__op ops[2 * PARLEY__PLAN_MAX_RUNS + 1];
} parley__plan;

/* Build the plan of a flat type (runs, identical, encode_tail); false if the
 * type is not flat (or needs too many runs, or the host is not
 * little-endian).  The generic walk computes plans per call on the stack; a
 * compiled program (program.h) keeps the plans of its sequences. */
bool parley__plan_build(const parley_type *type, parley__plan *plan);
/* Add what decode needs (pieces, ops, decode_tail) to a built plan; false if
 * the type cannot be decoded by plan (overlapping fields, a gap over 48). */
bool parley__plan_prepare_decode(parley__plan *plan);

/* Copy n elements memory -> wire (encode) or wire -> memory (decode) with a
 * plan that is not `identical`. */
void parley__plan_encode(const parley__plan *plan, uint8_t *wire, const uint8_t *mem, size_t n);
void parley__plan_decode(const parley__plan *plan, uint8_t *mem, const uint8_t *wire, size_t n);

/* Store v into an integer-kind or enum object (truncated to its size).
 * (Loads, enum checks and arm selection are in lib/type.h.) */
void parley__store_int(const parley_type *type, void *obj, int64_t v);
/* Wire width of a fixed-width kind: integers, bool, float, double, enum (4). */
static inline size_t parley__scalar_wire_size(const parley_type *type)
{
    switch (type->kind) {
    case PARLEY_KIND_INT8: case PARLEY_KIND_UINT8: case PARLEY_KIND_BOOL: return 1;
    case PARLEY_KIND_INT16: case PARLEY_KIND_UINT16: return 2;
    case PARLEY_KIND_INT64: case PARLEY_KIND_UINT64: case PARLEY_KIND_DOUBLE: return 8;
    default: return 4;   /* INT32, UINT32, FLOAT, ENUM */
    }
}
/* Integers, float and double: copied as their little-endian bytes. */
static inline bool parley__kind_is_fixed(parley_kind k)
{
    return (k >= PARLEY_KIND_INT8 && k <= PARLEY_KIND_UINT64) || k == PARLEY_KIND_FLOAT ||
           k == PARLEY_KIND_DOUBLE;
}

/* Is the integer kind signed (enums are)? */
bool parley__int_is_signed(const parley_type *type);

/* Little-endian loads and stores of the wire. */
static inline void parley__put_u16(uint8_t *p, uint16_t v)
{
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap16(v);
#endif
    memcpy(p, &v, 2);
}

static inline void parley__put_u32(uint8_t *p, uint32_t v)
{
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    memcpy(p, &v, 4);
}

static inline void parley__put_u64(uint8_t *p, uint64_t v)
{
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    memcpy(p, &v, 8);
}

static inline uint16_t parley__get_u16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap16(v);
#endif
    return v;
}

static inline uint32_t parley__get_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

static inline uint64_t parley__get_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* An integer of w bytes (1, 2, 4 or 8) at p, sign-extended if sgn. */
static inline int64_t parley__get_int(const uint8_t *p, size_t w, bool sgn)
{
    switch (w) {
    case 1: return sgn ? (int64_t)(int8_t)p[0] : (int64_t)p[0];
    case 2: { uint16_t x = parley__get_u16(p); return sgn ? (int64_t)(int16_t)x : (int64_t)x; }
    case 4: { uint32_t x = parley__get_u32(p); return sgn ? (int64_t)(int32_t)x : (int64_t)x; }
    default: return (int64_t)parley__get_u64(p);
    }
}

/* Store the low w bytes (1, 2, 4 or 8) of v at p, little-endian. */
static inline void parley__put_int(uint8_t *p, size_t w, uint64_t v)
{
    switch (w) {
    case 1: p[0] = (uint8_t)v; break;
    case 2: parley__put_u16(p, (uint16_t)v); break;
    case 4: parley__put_u32(p, (uint32_t)v); break;
    default: parley__put_u64(p, v); break;
    }
}

/* Copy len bytes; short ones inline (no call): two overlapping moves cover
 * any length from 4 to 32, and neither reads outside src[0..len). */
static inline void parley__copy_short(uint8_t *dst, const uint8_t *src, size_t len)
{
    if (len > 16 && len <= 32) {
        uint64_t a[2], b[2];
        memcpy(a, src, 16);
        memcpy(b, src + len - 16, 16);
        memcpy(dst, a, 16);
        memcpy(dst + len - 16, b, 16);
    } else if (len >= 8 && len <= 16) {
        uint64_t a, b;
        memcpy(&a, src, 8);
        memcpy(&b, src + len - 8, 8);
        memcpy(dst, &a, 8);
        memcpy(dst + len - 8, &b, 8);
    } else if (len >= 4 && len < 8) {
        uint32_t a, b;
        memcpy(&a, src, 4);
        memcpy(&b, src + len - 4, 4);
        memcpy(dst, &a, 4);
        memcpy(dst + len - 4, &b, 4);
    } else if (len < 4) {
        for (size_t i = 0; i < len; i++)
            dst[i] = src[i];
    } else {
        memcpy(dst, src, len);
    }
}

#endif
