/* SPDX-License-Identifier: MIT */
/* parley_data_print: human-readable text of a value. */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "parley/data.h"
#include "status.h"
#include "type.h"

/* Bytes shown in full up to this length; longer blobs show a prefix. */
#define PRINT_BYTES_MAX 32
#define PRINT_BYTES_PREFIX 16

struct printer {
    char *buf;          /* talloc buffer, NULL once out of memory */
    unsigned max_depth;
};

static void put(struct printer *p, const char *s)
{
    if (p->buf)
        p->buf = talloc_strdup_append_buffer(p->buf, s);
}

static void putf(struct printer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct printer *p, const char *fmt, ...)
{
    va_list ap;
    if (p->buf == NULL)
        return;
    va_start(ap, fmt);
    p->buf = talloc_vasprintf_append_buffer(p->buf, fmt, ap);
    va_end(ap);
}

static void print_string(struct printer *p, const char *s)
{
    if (s == NULL) {
        put(p, "NULL");
        return;
    }
    put(p, "\"");
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        switch (*c) {
        case '"': put(p, "\\\""); break;
        case '\\': put(p, "\\\\"); break;
        case '\n': put(p, "\\n"); break;
        case '\r': put(p, "\\r"); break;
        case '\t': put(p, "\\t"); break;
        default:
            if (*c < 0x20 || *c == 0x7f) {
                putf(p, "\\x%02x", *c);
            } else {
                char one[2] = { (char)*c, '\0' };
                put(p, one);
            }
        }
    }
    put(p, "\"");
}

static void print_bytes(struct printer *p, const parley_bytes *b)
{
    size_t shown = b->len <= PRINT_BYTES_MAX ? b->len : PRINT_BYTES_PREFIX;
    putf(p, "<%zu byte%s", b->len, b->len == 1 ? "" : "s");
    if (b->len)
        put(p, ":");
    for (size_t i = 0; i < shown && b->data; i++)
        putf(p, " %02x", b->data[i]);
    if (shown < b->len)
        put(p, " ...");
    put(p, ">");
}

static void print_enum(struct printer *p, const parley_type *t, int32_t v)
{
    if (t->flags & PARLEY_TYPE_FLAGS) {
        uint32_t left = (uint32_t)v;
        bool first = true;
        if (left == 0) {
            put(p, "0");
            return;
        }
        for (size_t i = 0; i < t->n_values; i++) {
            uint32_t bit = (uint32_t)t->values[i].value;
            if (bit && (left & bit) == bit) {
                putf(p, "%s%s", first ? "" : "|", t->values[i].name);
                left &= ~bit;
                first = false;
            }
        }
        if (left)
            putf(p, "%s0x%" PRIx32, first ? "" : "|", left);
        return;
    }
    for (size_t i = 0; i < t->n_values; i++) {
        if (t->values[i].value == v) {
            put(p, t->values[i].name);
            return;
        }
    }
    putf(p, "%" PRId32, v);
}

static bool print_value(struct printer *p, const parley_type *t, const void *v, unsigned depth);

static bool print_items(struct printer *p, const parley_type *elem, const void *items, size_t n,
                        unsigned depth)
{
    if (n == 0) {
        put(p, "[ ]");
        return true;
    }
    put(p, "[ ");
    for (size_t i = 0; i < n; i++) {
        if (i)
            put(p, ", ");
        if (!print_value(p, elem, (const uint8_t *)items + i * elem->size, depth + 1))
            return false;
    }
    put(p, " ]");
    return true;
}

static bool print_member(struct printer *p, const char *name, unsigned flags,
                         const parley_type *t, const void *v, unsigned depth)
{
    putf(p, "%s = ", name);
    if (flags & PARLEY_FIELD_SENSITIVE) {
        put(p, "<redacted>");
        return true;
    }
    return print_value(p, t, v, depth + 1);
}

static bool print_value(struct printer *p, const parley_type *t, const void *v, unsigned depth)
{
    if (depth > p->max_depth)
        return false;
    switch (t->kind) {
    case PARLEY_KIND_INT8: case PARLEY_KIND_INT16: case PARLEY_KIND_INT32: case PARLEY_KIND_INT64:
        putf(p, "%" PRId64, parley__load_int(v, t->kind));
        return true;
    case PARLEY_KIND_UINT8: case PARLEY_KIND_UINT16: case PARLEY_KIND_UINT32:
    case PARLEY_KIND_UINT64:
        putf(p, "%" PRIu64, (uint64_t)parley__load_int(v, t->kind));
        return true;
    case PARLEY_KIND_BOOL:
        put(p, *(const bool *)v ? "true" : "false");
        return true;
    case PARLEY_KIND_FLOAT:
        putf(p, "%.9g", (double)*(const float *)v);
        return true;
    case PARLEY_KIND_DOUBLE:
        putf(p, "%.17g", *(const double *)v);
        return true;
    case PARLEY_KIND_ENUM:
        print_enum(p, t, (int32_t)parley__load_int(v, PARLEY_KIND_ENUM));
        return true;
    case PARLEY_KIND_STRING:
        print_string(p, *(char *const *)v);
        return true;
    case PARLEY_KIND_BYTES:
        print_bytes(p, v);
        return true;
    case PARLEY_KIND_STRUCT:
        if (t->n_fields == 0) {
            put(p, "{ }");
            return true;
        }
        put(p, "{ ");
        for (size_t i = 0; i < t->n_fields; i++) {
            const parley_field *f = &t->fields[i];
            if (i)
                put(p, ", ");
            if (!print_member(p, f->name, f->flags, f->type, (const uint8_t *)v + f->offset, depth))
                return false;
        }
        put(p, " }");
        return true;
    case PARLEY_KIND_UNION: {
        const void *dp = (const uint8_t *)v + t->discriminator_offset;
        const parley_arm *arm = parley__union_arm(t, parley__load_int(dp, t->discriminator->kind));
        putf(p, "{ %s = ", t->discriminator_name ? t->discriminator_name : "(discriminator)");
        if (!print_value(p, t->discriminator, dp, depth + 1))
            return false;
        if (arm && arm->type) {
            put(p, ", ");
            if (!print_member(p, arm->name, arm->flags, arm->type,
                              (const uint8_t *)v + arm->offset, depth))
                return false;
        }
        put(p, " }");
        return true;
    }
    case PARLEY_KIND_ARRAY:
        return print_items(p, t->elem, v, t->bound, depth);
    case PARLEY_KIND_SEQUENCE: {
        const parley_seq *s = v;
        return print_items(p, t->elem, s->items, s->items ? s->n : 0, depth);
    }
    case PARLEY_KIND_OPTIONAL: {
        const void *target = *(void *const *)v;
        if (target != NULL && parley__optional_is_inline(t->elem))
            target = v; /* the optional is the string or handle pointer itself */
        if (target == NULL) {
            put(p, "NULL");
            return true;
        }
        return print_value(p, t->elem, target, depth + 1);
    }
    case PARLEY_KIND_HANDLE:
        if (*(parley_handle *const *)v == NULL)
            put(p, "NULL");
        else
            putf(p, "<%s handle>", t->name);
        return true;
    case PARLEY_KIND_FD:
        putf(p, "<fd %d>", *(const int *)v);
        return true;
    }
    return false;
}

PARLEY_PUBLIC parley_status parley_data_print(TALLOC_CTX *mem_ctx, const parley_type *type,
                                              const void *value, char **ret_text)
{
    struct printer p = { .max_depth = PARLEY__DATA_WALK_DEPTH };

    if (type == NULL || value == NULL || ret_text == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "print: NULL %s",
                             type == NULL ? "type" : value == NULL ? "value" : "ret_text");
    p.buf = talloc_strdup(NULL, "");
    if (!print_value(&p, type, value, 0)) {
        TALLOC_FREE(p.buf);
        return parley__error(PARLEY_ERR_OVERFLOW, "print %s: nested deeper than %u levels",
                             type->name, p.max_depth);
    }
    if (p.buf == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "print %s: out of memory", type->name);
    *ret_text = talloc_steal(mem_ctx, p.buf);
    return PARLEY_OK;
}
