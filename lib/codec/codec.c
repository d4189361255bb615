/* SPDX-License-Identifier: MIT */
/* Shared codec helpers: error paths, UTF-8, minimal wire sizes, flat plans. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "status.h"

/* ---- error sentences with the field path ----------------------------------- */

/* Write the path into buf backwards from its end; return where it starts.
 * A path too long for buf keeps its innermost part behind a "...". */
static const char *format_path(const parley__path *path, char *buf, size_t cap)
{
    char *start = buf + cap - 1;
    char piece[48];

    *start = '\0';
    for (const parley__path *p = path; p != NULL; p = p->up) {
        int n;
        if (p->name != NULL)
            n = snprintf(piece, sizeof(piece), ".%s", p->name);
        else
            n = snprintf(piece, sizeof(piece), "[%zu]", p->index);
        if (n < 0)
            n = 0;
        if ((size_t)n >= sizeof(piece))
            n = (int)sizeof(piece) - 1;
        if ((size_t)(start - buf) < (size_t)n + 4) {
            start -= 3;
            memcpy(start, "...", 3);
            break;
        }
        start -= n;
        memcpy(start, piece, (size_t)n);
    }
    return start;
}

parley_status parley__codec_error(parley_status status, const char *op,
                                  const parley_type *top, const parley__path *path,
                                  const char *fmt, ...)
{
    char pathbuf[PARLEY__ERROR_MAX / 2];
    char msg[PARLEY__ERROR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return parley__error(status, "%s %s%s: %s", op,
                         top != NULL && top->name != NULL ? top->name : "value",
                         format_path(path, pathbuf, sizeof(pathbuf)), msg);
}

/* ---- UTF-8 ------------------------------------------------------------------ */

/* Is s[0..len) all ASCII?  Whole words only: the last one overlaps the
 * one before it rather than leaving a byte tail (len >= 8). */
static inline bool ascii_words(const uint8_t *s, size_t len)
{
    uint64_t acc, w;

    memcpy(&acc, s + len - 8, 8);
    for (size_t i = 0; i + 8 <= len; i += 8) {
        memcpy(&w, s + i, 8);
        acc |= w;
    }
    return (acc & UINT64_C(0x8080808080808080)) == 0;
}

size_t parley__utf8_check(const uint8_t *s, size_t len)
{
    size_t i = 0;

    if (len >= 8 && ascii_words(s, len))
        return len;     /* the common case: plain ASCII text */

    while (i < len) {
        uint8_t c = s[i];
        size_t n;

        if (c < 0x80) {
            /* ASCII runs, eight bytes at a time. */
            while (i + 8 <= len) {
                uint64_t w;
                memcpy(&w, s + i, 8);
                if (w & UINT64_C(0x8080808080808080))
                    break;
                i += 8;
            }
            while (i < len && s[i] < 0x80)
                i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            n = 2;
        else if (c >= 0xE0 && c <= 0xEF)
            n = 3;
        else if (c >= 0xF0 && c <= 0xF4)
            n = 4;
        else
            return i;   /* continuation byte, overlong C0/C1, or F5..FF */
        if (len - i < n)
            return i;
        for (size_t k = 1; k < n; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
        /* The second byte's range excludes overlong forms, surrogates
         * (ED A0..BF) and code points beyond U+10FFFF. */
        if ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] > 0x9F) ||
            (c == 0xF0 && s[i + 1] < 0x90) || (c == 0xF4 && s[i + 1] > 0x8F))
            return i;
        i += n;
    }
    return len;
}

bool parley__text_ok(const uint8_t *s, size_t len)
{
    const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
    size_t i = 0;

    if (len >= 8) {
        /* whole words, the last one overlapping: ASCII without a zero byte */
        uint64_t acc, w;
        memcpy(&w, s + len - 8, 8);
        acc = w | ((w - ones) & ~w);
        for (size_t k = 0; k + 8 <= len; k += 8) {
            memcpy(&w, s + k, 8);
            acc |= w | ((w - ones) & ~w);
        }
        if ((acc & highs) == 0)
            return true;
    }
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        /* a high bit set, or a zero byte ((w - ones) & ~w & highs) */
        if (((w | ((w - ones) & ~w)) & highs) != 0)
            break;
    }
    for (; i < len; i++) {
        if (s[i] == 0)
            return false;
        if (s[i] >= 0x80)
            break;
    }
    if (i == len)
        return true;
    /* s[0..i) is ASCII: check the rest in full */
    return memchr(s + i, 0, len - i) == NULL && parley__utf8_check(s + i, len - i) == len - i;
}

/* ---- integers and enums ------------------------------------------------------- */

bool parley__int_is_signed(const parley_type *type)
{
    switch (type->kind) {
    case PARLEY_KIND_INT8: case PARLEY_KIND_INT16: case PARLEY_KIND_INT32:
    case PARLEY_KIND_INT64: case PARLEY_KIND_ENUM:
        return true;
    default:
        return false;
    }
}

void parley__store_int(const parley_type *type, void *obj, int64_t v)
{
    switch (type->size) {
    case 1: { uint8_t x = (uint8_t)v; memcpy(obj, &x, 1); break; }
    case 2: { uint16_t x = (uint16_t)v; memcpy(obj, &x, 2); break; }
    case 4: { uint32_t x = (uint32_t)v; memcpy(obj, &x, 4); break; }
    default: { uint64_t x = (uint64_t)v; memcpy(obj, &x, 8); break; }
    }
}

/* ---- minimal wire sizes --------------------------------------------------------- */

static size_t sat_add(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static size_t sat_mul(size_t a, size_t b)
{
    return b != 0 && a > SIZE_MAX / b ? SIZE_MAX : a * b;
}

/* Descriptors that pass parley_type_check() recurse only through SEQUENCE and
 * OPTIONAL, whose minimum does not look inside; the depth guard only keeps a
 * broken descriptor from recursing forever. */
static size_t min_wire(const parley_type *t, unsigned guard)
{
    size_t n = 0;

    if (guard > 64)
        return 1;
    switch (t->kind) {
    case PARLEY_KIND_INT8: case PARLEY_KIND_UINT8: case PARLEY_KIND_BOOL:
    case PARLEY_KIND_OPTIONAL:
        return 1;
    case PARLEY_KIND_INT16: case PARLEY_KIND_UINT16:
        return 2;
    case PARLEY_KIND_INT32: case PARLEY_KIND_UINT32: case PARLEY_KIND_FLOAT:
    case PARLEY_KIND_ENUM: case PARLEY_KIND_STRING: case PARLEY_KIND_BYTES:
    case PARLEY_KIND_SEQUENCE: case PARLEY_KIND_HANDLE: case PARLEY_KIND_FD:
        return 4;
    case PARLEY_KIND_INT64: case PARLEY_KIND_UINT64: case PARLEY_KIND_DOUBLE:
        return 8;
    case PARLEY_KIND_STRUCT:
        for (size_t i = 0; i < t->n_fields; i++)
            n = sat_add(n, min_wire(t->fields[i].type, guard + 1));
        return n;
    case PARLEY_KIND_UNION: {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i < t->n_arms; i++) {
            size_t a = t->arms[i].type ? min_wire(t->arms[i].type, guard + 1) : 0;
            if (a < best)
                best = a;
        }
        if (t->default_arm != NULL) {
            size_t a = t->default_arm->type ? min_wire(t->default_arm->type, guard + 1) : 0;
            if (a < best)
                best = a;
        }
        if (best == SIZE_MAX)
            best = 0;
        return sat_add(parley__scalar_wire_size(t->discriminator), best);
    }
    case PARLEY_KIND_ARRAY:
        return sat_mul(t->bound, min_wire(t->elem, guard + 1));
    }
    return 1;
}

size_t parley__min_wire_size(const parley_type *type)
{
    size_t n = min_wire(type, 0);
    return n == 0 ? 1 : n;
}

/* ---- flat-copy plans ------------------------------------------------------------ */

static bool plan_add(parley__plan *plan, size_t mem_off, size_t len)
{
    parley__run *last = plan->n_runs ? &plan->runs[plan->n_runs - 1] : NULL;

    if (mem_off > UINT32_MAX || len > UINT32_MAX || plan->wire_size > UINT32_MAX - len)
        return false;
    if (last != NULL && last->mem_off + last->len == mem_off) {
        last->len += (uint32_t)len;
    } else {
        if (plan->n_runs == PARLEY__PLAN_MAX_RUNS)
            return false;
        plan->runs[plan->n_runs++] = (parley__run){ (uint32_t)mem_off,
                                                    (uint32_t)plan->wire_size, (uint32_t)len, 0 };
    }
    plan->wire_size += len;
    return true;
}

static bool plan_walk(const parley_type *t, size_t base, parley__plan *plan, unsigned guard)
{
    if (guard > 16)
        return false;
    switch (t->kind) {
    case PARLEY_KIND_INT8: case PARLEY_KIND_UINT8: case PARLEY_KIND_INT16:
    case PARLEY_KIND_UINT16: case PARLEY_KIND_INT32: case PARLEY_KIND_UINT32:
    case PARLEY_KIND_INT64: case PARLEY_KIND_UINT64: case PARLEY_KIND_FLOAT:
    case PARLEY_KIND_DOUBLE:
        return t->size == parley__scalar_wire_size(t) && plan_add(plan, base, t->size);
    case PARLEY_KIND_STRUCT:
        for (size_t i = 0; i < t->n_fields; i++)
            if (!plan_walk(t->fields[i].type, base + t->fields[i].offset, plan, guard + 1))
                return false;
        return true;
    case PARLEY_KIND_ARRAY: {
        parley__plan sub;
        if (t->bound == 0 || !parley__plan_build(t->elem, &sub) ||
            sub.size > UINT32_MAX / t->bound)
            return false;
        if (sub.identical)
            return plan_add(plan, base, sub.size * t->bound);
        for (size_t i = 0; i < t->bound; i++)
            for (unsigned r = 0; r < sub.n_runs; r++)
                if (!plan_add(plan, base + i * sub.size + sub.runs[r].mem_off, sub.runs[r].len))
                    return false;
        return true;
    }
    default:
        return false;
    }
}

/* Wide moves: 16 bytes at a time, possibly past len. */
#define WIDE 16
/* Zeros for the padding pieces: gaps are at most ZERO_MAX bytes. */
#define ZERO_MAX 48
static const uint8_t zeros[ZERO_MAX + WIDE];

static size_t round_wide(size_t len)
{
    return (len + WIDE - 1) / WIDE * WIDE;
}

/* Elements at the end whose overshoot (reach past stride) would leave the block. */
static size_t tail_count(size_t reach, size_t stride)
{
    return reach <= stride ? 0 : (reach - stride + stride - 1) / stride;
}

/* The mask keeping the first `keep` of 16 bytes (little-endian words). */
static void keep_mask(size_t keep, uint64_t *m0, uint64_t *m1)
{
    *m0 = keep >= 8 ? UINT64_MAX : keep == 0 ? 0 : (UINT64_C(1) << (8 * keep)) - 1;
    *m1 = keep >= 16 ? UINT64_MAX : keep <= 8 ? 0 : (UINT64_C(1) << (8 * (keep - 8))) - 1;
}

/* Decode ops from the pieces: each run swallows the gap after it when both
 * fit in 16 bytes; no ops at all when some piece does not fit. */
static void build_ops(parley__plan *plan)
{
    unsigned n = 0;

    for (unsigned r = 0; r < plan->n_pieces; r++) {
        const parley__run *x = &plan->pieces[r];
        parley__op *op = &plan->ops[n++];
        size_t keep = x->zero ? 0 : x->len;

        if (x->len > WIDE) {
            plan->n_ops = 0;
            return;
        }
        op->mem_off = x->mem_off;
        op->wire_off = x->zero ? 0 : x->wire_off;
        if (!x->zero && r + 1 < plan->n_pieces && plan->pieces[r + 1].zero &&
            x->len + plan->pieces[r + 1].len <= WIDE)
            r++;    /* the gap is zeroed by this op's mask */
        keep_mask(keep, &op->m0, &op->m1);
    }
    plan->n_ops = n;
}

bool parley__plan_build(const parley_type *type, parley__plan *plan)
{
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    (void)type;
    (void)plan;
    return false;
#else
    size_t wire_reach = 0, read_reach = 0;

    memset(plan, 0, offsetof(parley__plan, runs));
    plan->size = type->size;
    if (type->size == 0 || !plan_walk(type, 0, plan, 0) || plan->n_runs == 0)
        return false;
    plan->identical = plan->n_runs == 1 && plan->runs[0].mem_off == 0 &&
                      plan->runs[0].len == type->size;
    if (plan->identical)
        return true;
    for (unsigned r = 0; r < plan->n_runs; r++) {
        const parley__run *x = &plan->runs[r];
        size_t w = x->wire_off + round_wide(x->len), m = x->mem_off + round_wide(x->len);
        wire_reach = w > wire_reach ? w : wire_reach;
        read_reach = m > read_reach ? m : read_reach;
    }
    plan->encode_tail = tail_count(wire_reach, plan->wire_size);
    if (tail_count(read_reach, plan->size) > plan->encode_tail)
        plan->encode_tail = tail_count(read_reach, plan->size);
    return true;
#endif
}

bool parley__plan_prepare_decode(parley__plan *plan)
{
    size_t at = 0, mem_reach = 0, read_reach = 0;
    unsigned n = 0;

    if (plan->identical)
        return true;
    /* Decode pieces: runs in memory order (insertion sort: few runs, mostly
     * in order already), and the gaps between them. */
    {
        parley__run sorted[PARLEY__PLAN_MAX_RUNS];
        for (unsigned r = 0; r < plan->n_runs; r++) {
            unsigned k = r;
            while (k > 0 && sorted[k - 1].mem_off > plan->runs[r].mem_off) {
                sorted[k] = sorted[k - 1];
                k--;
            }
            sorted[k] = plan->runs[r];
        }
        for (unsigned r = 0; r <= plan->n_runs; r++) {
            size_t next = r < plan->n_runs ? sorted[r].mem_off : plan->size;
            if (next < at)
                return false;       /* overlapping fields: not flat */
            if (next > at) {
                if (next - at > ZERO_MAX)
                    return false;
                plan->pieces[n++] = (parley__run){ (uint32_t)at, 0, (uint32_t)(next - at), 1 };
            }
            if (r < plan->n_runs) {
                plan->pieces[n++] = sorted[r];
                at = (size_t)sorted[r].mem_off + sorted[r].len;
            }
        }
    }
    plan->n_pieces = n;
    build_ops(plan);

    for (unsigned r = 0; r < n; r++) {
        const parley__run *x = &plan->pieces[r];
        size_t m = x->mem_off + round_wide(x->len);
        mem_reach = m > mem_reach ? m : mem_reach;
        if (!x->zero) {
            size_t w = x->wire_off + round_wide(x->len);
            read_reach = w > read_reach ? w : read_reach;
        }
    }
    for (unsigned r = 0; r < plan->n_ops; r++) {
        size_t m = (size_t)plan->ops[r].mem_off + WIDE, w = (size_t)plan->ops[r].wire_off + WIDE;
        mem_reach = m > mem_reach ? m : mem_reach;
        read_reach = w > read_reach ? w : read_reach;
    }
    plan->decode_tail = tail_count(mem_reach, plan->size);
    if (tail_count(read_reach, plan->wire_size) > plan->decode_tail)
        plan->decode_tail = tail_count(read_reach, plan->wire_size);
    return true;
}

static inline void copy_wide(uint8_t *dst, const uint8_t *src, size_t len)
{
    size_t k = 0;
    do {
        memcpy(dst + k, src + k, WIDE);
        k += WIDE;
    } while (k < len);
}

/* Encode kernel for k runs of at most 16 bytes each (k a constant after
 * inlining).  Offsets and strides are copied into locals: the stores go
 * through uint8_t pointers, which may alias anything, so fields read through
 * the plan pointer would be reloaded on every element. */
static inline __attribute__((always_inline)) void
encode_k(const parley__plan *pl, unsigned k, uint8_t *wire, const uint8_t *mem, size_t n)
{
    const size_t ws = pl->wire_size, ms = pl->size;
    size_t wo[4], mo[4];

    for (unsigned r = 0; r < k; r++) {
        wo[r] = pl->runs[r].wire_off;
        mo[r] = pl->runs[r].mem_off;
    }
    for (size_t i = 0; i < n; i++, wire += ws, mem += ms)
        for (unsigned r = 0; r < k; r++)
            memcpy(wire + wo[r], mem + mo[r], WIDE);
}

void parley__plan_encode(const parley__plan *pl, uint8_t *wire, const uint8_t *mem, size_t n)
{
    size_t wide = n > pl->encode_tail ? n - pl->encode_tail : 0;
    size_t i = 0;
    bool small = pl->n_runs <= 4;

    for (unsigned r = 0; r < pl->n_runs && small; r++)
        small = pl->runs[r].len <= WIDE;
    if (small && wide > 0) {
        switch (pl->n_runs) {
        case 1: encode_k(pl, 1, wire, mem, wide); break;
        case 2: encode_k(pl, 2, wire, mem, wide); break;
        case 3: encode_k(pl, 3, wire, mem, wide); break;
        default: encode_k(pl, 4, wire, mem, wide); break;
        }
        i = wide;
        wire += wide * pl->wire_size;
        mem += wide * pl->size;
    }
    for (; i < wide; i++, wire += pl->wire_size, mem += pl->size)
        for (unsigned r = 0; r < pl->n_runs; r++)
            copy_wide(wire + pl->runs[r].wire_off, mem + pl->runs[r].mem_off, pl->runs[r].len);
    for (; i < n; i++, wire += pl->wire_size, mem += pl->size)
        for (unsigned r = 0; r < pl->n_runs; r++)
            memcpy(wire + pl->runs[r].wire_off, mem + pl->runs[r].mem_off, pl->runs[r].len);
}

/* 16 bytes as one vector (GCC vector extension: SSE2 on x86-64, NEON on
 * arm64, plain words elsewhere). */
typedef uint64_t v16 __attribute__((vector_size(16)));

/* Decode kernel for k masked 16-byte ops (k a constant after inlining). */
static inline __attribute__((always_inline)) void
decode_k(const parley__plan *pl, unsigned k, uint8_t *mem, const uint8_t *wire, size_t n)
{
    const size_t ws = pl->wire_size, ms = pl->size;
    size_t wo[4], mo[4];
    v16 m[4];

    for (unsigned r = 0; r < k; r++) {
        wo[r] = pl->ops[r].wire_off;
        mo[r] = pl->ops[r].mem_off;
        m[r] = (v16){ pl->ops[r].m0, pl->ops[r].m1 };
    }
    /* unrolled: parley-bench (b) decode 7.2-7.7 -> 6.3-7.4 us */
#pragma GCC unroll 4
    for (size_t i = 0; i < n; i++, mem += ms, wire += ws)
        for (unsigned r = 0; r < k; r++) {
            v16 x;
            memcpy(&x, wire + wo[r], WIDE);
            x &= m[r];
            memcpy(mem + mo[r], &x, WIDE);
        }
}

static inline void masked16(uint8_t *dst, const uint8_t *src, uint64_t m0, uint64_t m1)
{
    v16 x;
    memcpy(&x, src, WIDE);
    x &= (v16){ m0, m1 };
    memcpy(dst, &x, WIDE);
}

void parley__plan_decode(const parley__plan *pl, uint8_t *mem, const uint8_t *wire, size_t n)
{
    size_t wide = n > pl->decode_tail ? n - pl->decode_tail : 0;
    size_t i = 0;

    if (pl->n_ops > 0 && pl->n_ops <= 4 && wide > 0) {
        switch (pl->n_ops) {
        case 1: decode_k(pl, 1, mem, wire, wide); break;
        case 2: decode_k(pl, 2, mem, wire, wide); break;
        case 3: decode_k(pl, 3, mem, wire, wide); break;
        default: decode_k(pl, 4, mem, wire, wide); break;
        }
        i = wide;
        mem += wide * pl->size;
        wire += wide * pl->wire_size;
    } else if (pl->n_ops > 0) {
        for (; i < wide; i++, mem += pl->size, wire += pl->wire_size)
            for (unsigned r = 0; r < pl->n_ops; r++)
                masked16(mem + pl->ops[r].mem_off, wire + pl->ops[r].wire_off, pl->ops[r].m0,
                         pl->ops[r].m1);
    }
    for (; i < wide; i++, mem += pl->size, wire += pl->wire_size)
        for (unsigned r = 0; r < pl->n_pieces; r++) {
            const parley__run *x = &pl->pieces[r];
            copy_wide(mem + x->mem_off, x->zero ? zeros : wire + x->wire_off, x->len);
        }
    for (; i < n; i++, mem += pl->size, wire += pl->wire_size)
        for (unsigned r = 0; r < pl->n_pieces; r++) {
            const parley__run *x = &pl->pieces[r];
            memcpy(mem + x->mem_off, x->zero ? zeros : wire + x->wire_off, x->len);
        }
}
