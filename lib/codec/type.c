/* SPDX-License-Identifier: MIT */
/* Primitive descriptors, descriptor validation, canonical shapes and fingerprints. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <talloc.h>

#include "parley/type.h"
#include "status.h"
#include "type.h"

#define PRIM(var, kind_, name_, ctype)                                                  \
    PARLEY_PUBLIC const parley_type var = { .kind = (kind_), .name = (name_),          \
                                            .size = sizeof(ctype) }

PRIM(parley_type_int8, PARLEY_KIND_INT8, "int8", int8_t);
PRIM(parley_type_int16, PARLEY_KIND_INT16, "int16", int16_t);
PRIM(parley_type_int32, PARLEY_KIND_INT32, "int32", int32_t);
PRIM(parley_type_int64, PARLEY_KIND_INT64, "int64", int64_t);
PRIM(parley_type_uint8, PARLEY_KIND_UINT8, "uint8", uint8_t);
PRIM(parley_type_uint16, PARLEY_KIND_UINT16, "uint16", uint16_t);
PRIM(parley_type_uint32, PARLEY_KIND_UINT32, "uint32", uint32_t);
PRIM(parley_type_uint64, PARLEY_KIND_UINT64, "uint64", uint64_t);
PRIM(parley_type_bool, PARLEY_KIND_BOOL, "bool", bool);
PRIM(parley_type_float, PARLEY_KIND_FLOAT, "float", float);
PRIM(parley_type_double, PARLEY_KIND_DOUBLE, "double", double);
PRIM(parley_type_string, PARLEY_KIND_STRING, "string", char *);
PRIM(parley_type_bytes, PARLEY_KIND_BYTES, "bytes", parley_bytes);
PRIM(parley_type_fd, PARLEY_KIND_FD, "fd", int);

/* ---- value helpers shared by the walkers ---- */

int64_t parley__load_int(const void *p, parley_kind kind)
{
    switch (kind) {
    case PARLEY_KIND_INT8: { int8_t v; memcpy(&v, p, 1); return v; }
    case PARLEY_KIND_UINT8: { uint8_t v; memcpy(&v, p, 1); return v; }
    case PARLEY_KIND_INT16: { int16_t v; memcpy(&v, p, 2); return v; }
    case PARLEY_KIND_UINT16: { uint16_t v; memcpy(&v, p, 2); return v; }
    case PARLEY_KIND_INT32: case PARLEY_KIND_ENUM: { int32_t v; memcpy(&v, p, 4); return v; }
    case PARLEY_KIND_UINT32: { uint32_t v; memcpy(&v, p, 4); return v; }
    case PARLEY_KIND_INT64: case PARLEY_KIND_UINT64: { int64_t v; memcpy(&v, p, 8); return v; }
    default: return 0;
    }
}

const parley_arm *parley__union_arm(const parley_type *t, int64_t value)
{
    for (size_t i = 0; i < t->n_arms; i++)
        if (t->arms[i].value == value)
            return &t->arms[i];
    return t->default_arm;
}

/* ---- parley_type_check ---------------------------------------------------- */

/* One type on the walk: the indirection count when it was entered tells a
 * direct self-containment (infinite size) from recursion through a pointer. */
struct check_frame {
    const parley_type *type;
    unsigned indirections;
};

struct checker {
    struct check_frame stack[PARLEY__TYPE_CHECK_DEPTH];
    unsigned depth;
    unsigned indirections;
    const char *path[PARLEY__TYPE_CHECK_DEPTH];
    unsigned path_len;
    const parley_type **done;   /* types already checked whole (talloc array) */
    size_t n_done;
    bool nomem;
};

const char *parley_kind_name(parley_kind kind)
{
    switch (kind) {
    case PARLEY_KIND_INT8: return "int8";
    case PARLEY_KIND_INT16: return "int16";
    case PARLEY_KIND_INT32: return "int32";
    case PARLEY_KIND_INT64: return "int64";
    case PARLEY_KIND_UINT8: return "uint8";
    case PARLEY_KIND_UINT16: return "uint16";
    case PARLEY_KIND_UINT32: return "uint32";
    case PARLEY_KIND_UINT64: return "uint64";
    case PARLEY_KIND_BOOL: return "bool";
    case PARLEY_KIND_FLOAT: return "float";
    case PARLEY_KIND_DOUBLE: return "double";
    case PARLEY_KIND_ENUM: return "enum";
    case PARLEY_KIND_STRING: return "string";
    case PARLEY_KIND_BYTES: return "bytes";
    case PARLEY_KIND_STRUCT: return "struct";
    case PARLEY_KIND_UNION: return "union";
    case PARLEY_KIND_ARRAY: return "array";
    case PARLEY_KIND_SEQUENCE: return "sequence";
    case PARLEY_KIND_OPTIONAL: return "optional";
    case PARLEY_KIND_HANDLE: return "handle";
    case PARLEY_KIND_FD: return "fd";
    }
    return NULL;
}

const char *parley__kind_name(parley_kind kind)
{
    const char *n = parley_kind_name(kind);
    return n ? n : "unknown";
}

bool parley__kind_is_integer(parley_kind kind)
{
    return kind >= PARLEY_KIND_INT8 && kind <= PARLEY_KIND_UINT64;
}

/* The C size a kind requires, 0 when it depends on the descriptor. */
static size_t kind_size(parley_kind kind)
{
    switch (kind) {
    case PARLEY_KIND_INT8: case PARLEY_KIND_UINT8: return 1;
    case PARLEY_KIND_INT16: case PARLEY_KIND_UINT16: return 2;
    case PARLEY_KIND_INT32: case PARLEY_KIND_UINT32: return 4;
    case PARLEY_KIND_INT64: case PARLEY_KIND_UINT64: return 8;
    case PARLEY_KIND_BOOL: return sizeof(bool);
    case PARLEY_KIND_FLOAT: return sizeof(float);
    case PARLEY_KIND_DOUBLE: return sizeof(double);
    case PARLEY_KIND_ENUM: return sizeof(int32_t);
    case PARLEY_KIND_STRING: return sizeof(char *);
    case PARLEY_KIND_BYTES: return sizeof(parley_bytes);
    case PARLEY_KIND_SEQUENCE: return sizeof(parley_seq);
    case PARLEY_KIND_OPTIONAL: return sizeof(void *);
    case PARLEY_KIND_HANDLE: return sizeof(parley_handle *);
    case PARLEY_KIND_FD: return sizeof(int);
    default: return 0;
    }
}

bool parley__int_fits(parley_kind kind, int64_t v)
{
    switch (kind) {
    case PARLEY_KIND_INT8: return v >= INT8_MIN && v <= INT8_MAX;
    case PARLEY_KIND_INT16: return v >= INT16_MIN && v <= INT16_MAX;
    case PARLEY_KIND_INT32: case PARLEY_KIND_ENUM: return v >= INT32_MIN && v <= INT32_MAX;
    case PARLEY_KIND_INT64: return true;
    case PARLEY_KIND_UINT8: return v >= 0 && v <= UINT8_MAX;
    case PARLEY_KIND_UINT16: return v >= 0 && v <= UINT16_MAX;
    case PARLEY_KIND_UINT32: return v >= 0 && v <= (int64_t)UINT32_MAX;
    case PARLEY_KIND_UINT64: return true; /* stored as the int64 bit pattern */
    default: return false;
    }
}

bool parley__enum_has_value(const parley_type *t, int64_t v)
{
    if (t->flags & PARLEY_TYPE_FLAGS) {
        uint32_t all = 0;
        if (v < INT32_MIN || v > INT32_MAX)
            return false;
        for (size_t i = 0; i < t->n_values; i++)
            all |= (uint32_t)t->values[i].value;
        return ((uint32_t)(int32_t)v & ~all) == 0;
    }
    for (size_t i = 0; i < t->n_values; i++)
        if (t->values[i].value == v)
            return true;
    return false;
}

static parley_status check_fail(struct checker *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static parley_status check_fail(struct checker *c, const char *fmt, ...)
{
    char path[512] = "";
    size_t n = 0;
    char msg[512];
    va_list ap;

    for (unsigned i = 0; i < c->path_len && n < sizeof(path) - 1; i++) {
        int w = snprintf(path + n, sizeof(path) - n, "%s%s",
                         i == 0 || c->path[i][0] == '[' ? "" : ".", c->path[i]);
        if (w < 0)
            break;
        n += (size_t)w;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "type check %s: %s",
                         path[0] ? path : "(type)", msg);
}

static parley_status check_type(struct checker *c, const parley_type *t);

/* Check a member (field or arm) type placed at offset inside an object of size. */
static parley_status check_member(struct checker *c, const char *name, const parley_type *t,
                                  size_t offset, size_t size)
{
    parley_status st;

    if (c->path_len >= PARLEY__TYPE_CHECK_DEPTH)
        return check_fail(c, "nested deeper than %d", PARLEY__TYPE_CHECK_DEPTH);
    c->path[c->path_len++] = name ? name : "(unnamed)";
    if (name == NULL) {
        st = check_fail(c, "member has no name");
    } else if (t == NULL) {
        st = check_fail(c, "member has no type");
    } else if (offset > size || t->size > size - offset) {
        st = check_fail(c, "member at offset %zu of size %zu does not fit in %zu bytes",
                        offset, t->size, size);
    } else {
        st = check_type(c, t);
    }
    if (st == PARLEY_OK)
        c->path_len--;
    return st;
}

static bool ranges_overlap(size_t a, size_t alen, size_t b, size_t blen)
{
    return a < b + blen && b < a + alen;
}

static parley_status check_struct(struct checker *c, const parley_type *t)
{
    if (t->n_fields > 0 && t->fields == NULL)
        return check_fail(c, "struct has %zu fields but no field array", t->n_fields);
    for (size_t i = 0; i < t->n_fields; i++) {
        const parley_field *f = &t->fields[i];
        parley_status st = check_member(c, f->name, f->type, f->offset, t->size);
        if (st != PARLEY_OK)
            return st;
        for (size_t j = 0; j < i; j++) {
            const parley_field *g = &t->fields[j];
            if (ranges_overlap(f->offset, f->type->size, g->offset, g->type->size))
                return check_fail(c, "fields '%s' and '%s' overlap", g->name, f->name);
        }
    }
    return PARLEY_OK;
}

static parley_status check_arm(struct checker *c, const parley_type *t, const parley_arm *a)
{
    if (a->type == NULL)
        return PARLEY_OK; /* void arm */
    parley_status st = check_member(c, a->name, a->type, a->offset, t->size);
    if (st != PARLEY_OK)
        return st;
    if (ranges_overlap(a->offset, a->type->size, t->discriminator_offset, t->discriminator->size))
        return check_fail(c, "arm '%s' overlaps the discriminator", a->name);
    return PARLEY_OK;
}

static parley_status check_union(struct checker *c, const parley_type *t)
{
    const parley_type *d = t->discriminator;
    parley_status st;

    if (d == NULL)
        return check_fail(c, "union has no discriminator");
    if (!parley__kind_is_integer(d->kind) && d->kind != PARLEY_KIND_ENUM)
        return check_fail(c, "discriminator is a %s, not an integer or enum",
                          parley__kind_name(d->kind));
    st = check_member(c, "(discriminator)", d, t->discriminator_offset, t->size);
    if (st != PARLEY_OK)
        return st;
    if (t->n_arms > 0 && t->arms == NULL)
        return check_fail(c, "union has %zu arms but no arm array", t->n_arms);
    if (t->n_arms == 0 && t->default_arm == NULL)
        return check_fail(c, "union has no arms");
    for (size_t i = 0; i < t->n_arms; i++) {
        const parley_arm *a = &t->arms[i];
        bool ok = d->kind == PARLEY_KIND_ENUM ? parley__enum_has_value(d, a->value)
                                              : parley__int_fits(d->kind, a->value);
        if (!ok)
            return check_fail(c, "arm value %lld is not a value of the discriminator %s",
                              (long long)a->value, d->name ? d->name : "(unnamed)");
        for (size_t j = 0; j < i; j++)
            if (t->arms[j].value == a->value)
                return check_fail(c, "arm value %lld appears twice", (long long)a->value);
        st = check_arm(c, t, a);
        if (st != PARLEY_OK)
            return st;
    }
    if (t->default_arm)
        return check_arm(c, t, t->default_arm);
    return PARLEY_OK;
}

static parley_status check_enum(struct checker *c, const parley_type *t)
{
    if (t->n_values == 0 || t->values == NULL)
        return check_fail(c, "enum has no values");
    /* two names may share a value (an alias); printing uses the first */
    for (size_t i = 0; i < t->n_values; i++)
        if (t->values[i].name == NULL)
            return check_fail(c, "enum value %zu has no name", i);
    return PARLEY_OK;
}

static bool is_done(struct checker *c, const parley_type *t)
{
    for (size_t i = 0; i < c->n_done; i++)
        if (c->done[i] == t)
            return true;
    return false;
}

static void mark_done(struct checker *c, const parley_type *t)
{
    const parley_type **d = talloc_realloc(NULL, c->done, const parley_type *, c->n_done + 1);
    if (d == NULL) {
        c->nomem = true; /* only costs re-checking */
        return;
    }
    c->done = d;
    c->done[c->n_done++] = t;
}

static parley_status check_type(struct checker *c, const parley_type *t)
{
    size_t want;
    parley_status st = PARLEY_OK;
    bool indirect = false;

    if (t == NULL)
        return check_fail(c, "NULL type");
    if (is_done(c, t))
        return PARLEY_OK;
    for (unsigned i = 0; i < c->depth; i++) {
        if (c->stack[i].type == t) {
            if (c->stack[i].indirections == c->indirections)
                return check_fail(c, "type '%s' contains itself (only an optional or a "
                                  "sequence may recurse)", t->name ? t->name : "(unnamed)");
            /* recursion through a pointer: checked by the outer frame, but
             * only a struct or a union in the cycle gives it a C type (a
             * cycle of optionals and sequences alone never ends a walk) */
            for (unsigned j = i; j < c->depth; j++)
                if (c->stack[j].type->kind == PARLEY_KIND_STRUCT ||
                    c->stack[j].type->kind == PARLEY_KIND_UNION)
                    return PARLEY_OK;
            return check_fail(c, "type '%s' recurses with no struct or union in the cycle",
                              t->name ? t->name : "(unnamed)");
        }
    }
    if (parley_kind_name(t->kind) == NULL)
        return check_fail(c, "unknown kind %d", (int)t->kind);
    if (t->name == NULL)
        return check_fail(c, "%s type has no name", parley_kind_name(t->kind));
    if (t->ext != NULL)
        return check_fail(c, "%s '%s' sets ext, which this libparley does not know (built "
                          "for a newer libparley?)", parley_kind_name(t->kind), t->name);
    want = kind_size(t->kind);
    if (want != 0 && t->size != want)
        return check_fail(c, "%s '%s' has size %zu, expected %zu", parley_kind_name(t->kind), t->name,
                          t->size, want);
    if (c->depth >= PARLEY__TYPE_CHECK_DEPTH)
        return check_fail(c, "nested deeper than %d", PARLEY__TYPE_CHECK_DEPTH);
    c->stack[c->depth].type = t;
    c->stack[c->depth].indirections = c->indirections;
    c->depth++;

    switch (t->kind) {
    case PARLEY_KIND_ENUM:
        st = check_enum(c, t);
        break;
    case PARLEY_KIND_STRUCT:
        if (t->size == 0 && t->n_fields > 0)
            st = check_fail(c, "struct '%s' has size 0", t->name);
        else
            st = check_struct(c, t);
        break;
    case PARLEY_KIND_UNION:
        st = check_union(c, t);
        break;
    case PARLEY_KIND_ARRAY:
        if (t->bound == 0)
            st = check_fail(c, "array '%s' has no element count", t->name);
        else if (t->elem == NULL)
            st = check_fail(c, "array '%s' has no element type", t->name);
        else if (t->elem->size == 0 || t->size / t->bound != t->elem->size ||
                 t->size % t->bound != 0)
            st = check_fail(c, "array '%s' has size %zu, expected %u x %zu", t->name, t->size,
                            t->bound, t->elem->size);
        break;
    case PARLEY_KIND_SEQUENCE:
    case PARLEY_KIND_OPTIONAL:
        if (t->elem == NULL)
            st = check_fail(c, "%s '%s' has no element type", parley_kind_name(t->kind), t->name);
        else if (t->elem->size == 0)
            st = check_fail(c, "%s '%s' has an element of size 0", parley_kind_name(t->kind), t->name);
        indirect = true;
        break;
    default:
        break;
    }
    if (st == PARLEY_OK && t->elem &&
        (t->kind == PARLEY_KIND_ARRAY || t->kind == PARLEY_KIND_SEQUENCE ||
         t->kind == PARLEY_KIND_OPTIONAL)) {
        if (indirect)
            c->indirections++;
        if (c->path_len >= PARLEY__TYPE_CHECK_DEPTH) {
            st = check_fail(c, "nested deeper than %d", PARLEY__TYPE_CHECK_DEPTH);
        } else {
            c->path[c->path_len++] = t->kind == PARLEY_KIND_OPTIONAL ? "*" : "[]";
            st = check_type(c, t->elem);
            if (st == PARLEY_OK)
                c->path_len--;
        }
        if (indirect)
            c->indirections--;
    }
    c->depth--;
    if (st == PARLEY_OK)
        mark_done(c, t);
    return st;
}

PARLEY_PUBLIC parley_status parley_type_check(const parley_type *type)
{
    struct checker *c;
    parley_status st;

    if (type == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "type check: NULL type");
    c = talloc_zero(NULL, struct checker);
    if (c == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "type check: out of memory");
    c->path[c->path_len++] = type->name ? type->name : "(unnamed)";
    st = check_type(c, type);
    talloc_free(c->done);
    talloc_free(c);
    return st;
}

/* ---- canonical shapes and fingerprints ------------------------------------ */

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

struct shaper {
    uint64_t hash;
    char *text;                         /* talloc buffer, or NULL: hash only */
    bool nomem;
    const parley_type *aggregates[PARLEY__TYPE_CHECK_DEPTH];
    unsigned n_aggregates;
};

static void emit(struct shaper *s, const char *str)
{
    for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
        s->hash ^= *p;
        s->hash *= FNV_PRIME;
    }
    if (s->text && !s->nomem) {
        char *t = talloc_strdup_append_buffer(s->text, str);
        if (t == NULL)
            s->nomem = true;
        else
            s->text = t;
    }
}

static void emitf(struct shaper *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emitf(struct shaper *s, const char *fmt, ...)
{
    char buf[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    emit(s, buf);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int cmp_arm(const void *a, const void *b)
{
    int64_t x = (*(const parley_arm *const *)a)->value;
    int64_t y = (*(const parley_arm *const *)b)->value;
    return (x > y) - (x < y);
}

static void shape(struct shaper *s, const parley_type *t);

static void shape_enum(struct shaper *s, const parley_type *t)
{
    int32_t stackbuf[64];
    int32_t *vals = t->n_values <= 64 ? stackbuf : talloc_array(NULL, int32_t, t->n_values);

    if (vals == NULL) {
        s->nomem = true;
        return;
    }
    for (size_t i = 0; i < t->n_values; i++)
        vals[i] = t->values[i].value;
    qsort(vals, t->n_values, sizeof(int32_t), cmp_i32);
    emit(s, (t->flags & PARLEY_TYPE_FLAGS) ? "E{" : "e{");
    for (size_t i = 0; i < t->n_values; i++)    /* an alias adds no value */
        if (i == 0 || vals[i] != vals[i - 1])
            emitf(s, i ? ",%ld" : "%ld", (long)vals[i]);
    emit(s, "}");
    if (vals != stackbuf)
        talloc_free(vals);
}

static void shape_arm_body(struct shaper *s, const parley_arm *a)
{
    if (a->type)
        shape(s, a->type);
    else
        emit(s, "v");
}

static void shape_union(struct shaper *s, const parley_type *t)
{
    const parley_arm *stackbuf[64];
    const parley_arm **arms = t->n_arms <= 64 ? stackbuf
                                               : talloc_array(NULL, const parley_arm *, t->n_arms);
    if (arms == NULL) {
        s->nomem = true;
        return;
    }
    for (size_t i = 0; i < t->n_arms; i++)
        arms[i] = &t->arms[i];
    qsort(arms, t->n_arms, sizeof(*arms), cmp_arm);
    emit(s, "u(");
    shape(s, t->discriminator);
    emit(s, "){");
    for (size_t i = 0; i < t->n_arms; i++) {
        emitf(s, i ? ";%lld:" : "%lld:", (long long)arms[i]->value);
        shape_arm_body(s, arms[i]);
    }
    if (t->default_arm) {
        emit(s, t->n_arms ? ";*:" : "*:");
        shape_arm_body(s, t->default_arm);
    }
    emit(s, "}");
    if (arms != stackbuf)
        talloc_free(arms);
}

static void shape(struct shaper *s, const parley_type *t)
{
    static const char *const prim[] = {
        [PARLEY_KIND_INT8] = "i8", [PARLEY_KIND_INT16] = "i16", [PARLEY_KIND_INT32] = "i32",
        [PARLEY_KIND_INT64] = "i64", [PARLEY_KIND_UINT8] = "u8", [PARLEY_KIND_UINT16] = "u16",
        [PARLEY_KIND_UINT32] = "u32", [PARLEY_KIND_UINT64] = "u64", [PARLEY_KIND_BOOL] = "b",
        [PARLEY_KIND_FLOAT] = "f32", [PARLEY_KIND_DOUBLE] = "f64", [PARLEY_KIND_FD] = "d",
    };

    if (t == NULL) {
        emit(s, "!");
        return;
    }
    switch (t->kind) {
    case PARLEY_KIND_INT8: case PARLEY_KIND_INT16: case PARLEY_KIND_INT32:
    case PARLEY_KIND_INT64: case PARLEY_KIND_UINT8: case PARLEY_KIND_UINT16:
    case PARLEY_KIND_UINT32: case PARLEY_KIND_UINT64: case PARLEY_KIND_BOOL:
    case PARLEY_KIND_FLOAT: case PARLEY_KIND_DOUBLE: case PARLEY_KIND_FD:
        emit(s, prim[t->kind]);
        return;
    case PARLEY_KIND_HANDLE:
        emit(s, "h(");
        emit(s, t->name ? t->name : "");
        emit(s, ")");
        return;
    case PARLEY_KIND_ENUM:
        shape_enum(s, t);
        return;
    case PARLEY_KIND_STRING:
    case PARLEY_KIND_BYTES:
        emit(s, t->kind == PARLEY_KIND_STRING ? "s" : "y");
        if (t->bound)
            emitf(s, "<%u>", t->bound);
        return;
    case PARLEY_KIND_ARRAY:
        emitf(s, "[%u]", t->bound);
        shape(s, t->elem);
        return;
    case PARLEY_KIND_SEQUENCE:
        if (t->bound)
            emitf(s, "<%u>", t->bound);
        else
            emit(s, "<>");
        shape(s, t->elem);
        return;
    case PARLEY_KIND_OPTIONAL:
        emit(s, "?");
        shape(s, t->elem);
        return;
    case PARLEY_KIND_STRUCT:
    case PARLEY_KIND_UNION:
        for (unsigned i = s->n_aggregates; i-- > 0;) {
            if (s->aggregates[i] == t) {
                emitf(s, "^%u", s->n_aggregates - i);
                return;
            }
        }
        if (s->n_aggregates >= PARLEY__TYPE_CHECK_DEPTH) {
            emit(s, "!");
            return;
        }
        s->aggregates[s->n_aggregates++] = t;
        if (t->kind == PARLEY_KIND_UNION) {
            shape_union(s, t);
        } else {
            emit(s, "{");
            for (size_t i = 0; i < t->n_fields; i++) {
                if (i)
                    emit(s, ",");
                shape(s, t->fields[i].type);
            }
            emit(s, "}");
        }
        s->n_aggregates--;
        return;
    }
    emit(s, "!");
}

PARLEY_PUBLIC uint64_t parley_type_fingerprint(const parley_type *type)
{
    struct shaper s = { .hash = FNV_OFFSET };
    if (type == NULL)
        return 0;
    shape(&s, type);
    return s.hash;
}

PARLEY_PUBLIC char *parley_type_shape(void *mem_ctx, const parley_type *type)
{
    struct shaper s = { .hash = FNV_OFFSET };
    if (type == NULL) {
        parley__error(PARLEY_ERR_INVALID_ARGUMENT, "type shape: NULL type");
        return NULL;
    }
    s.text = talloc_strdup(mem_ctx, "");
    if (s.text == NULL) {
        parley__error(PARLEY_ERR_NOMEM, "type shape: out of memory");
        return NULL;
    }
    shape(&s, type);
    if (s.nomem) {
        talloc_free(s.text);
        parley__error(PARLEY_ERR_NOMEM, "type shape: out of memory");
        return NULL;
    }
    return s.text;
}

uint64_t parley__method_fingerprint(const parley_type *request, const parley_type *reply)
{
    struct shaper s = { .hash = FNV_OFFSET };
    emit(&s, "m(");
    shape(&s, request);
    if (reply) {
        emit(&s, ")->(");
        shape(&s, reply);
        emit(&s, ")");
    } else {
        emit(&s, ")!");
    }
    return s.hash;
}
