/* SPDX-License-Identifier: MIT */
/* parley_data_equal and parley_data_copy: deep comparison and deep copy. */
#include "config.h"

#include <string.h>

#include "parley/data.h"
#include "status.h"
#include "type.h"

/* ---- equal ----------------------------------------------------------------- */

static bool equal_value(const parley_type *t, const void *a, const void *b, unsigned depth);

static bool equal_items(const parley_type *elem, const void *a, const void *b, size_t n,
                        unsigned depth)
{
    for (size_t i = 0; i < n; i++)
        if (!equal_value(elem, (const uint8_t *)a + i * elem->size,
                         (const uint8_t *)b + i * elem->size, depth + 1))
            return false;
    return true;
}

static bool equal_value(const parley_type *t, const void *a, const void *b, unsigned depth)
{
    if (depth > PARLEY__DATA_WALK_DEPTH)
        return false;
    switch (t->kind) {
    case PARLEY_KIND_INT8: case PARLEY_KIND_INT16: case PARLEY_KIND_INT32:
    case PARLEY_KIND_INT64: case PARLEY_KIND_UINT8: case PARLEY_KIND_UINT16:
    case PARLEY_KIND_UINT32: case PARLEY_KIND_UINT64: case PARLEY_KIND_ENUM:
    case PARLEY_KIND_FLOAT: case PARLEY_KIND_DOUBLE: case PARLEY_KIND_FD:
        /* floats by bit pattern: what the wire carries */
        return memcmp(a, b, t->size) == 0;
    case PARLEY_KIND_BOOL:
        return *(const bool *)a == *(const bool *)b;
    case PARLEY_KIND_HANDLE:
        return *(parley_handle *const *)a == *(parley_handle *const *)b;
    case PARLEY_KIND_STRING: {
        const char *x = *(char *const *)a, *y = *(char *const *)b;
        if (x == NULL || y == NULL)
            return x == y;
        return strcmp(x, y) == 0;
    }
    case PARLEY_KIND_BYTES: {
        const parley_bytes *x = a, *y = b;
        if (x->len != y->len)
            return false;
        return x->len == 0 || (x->data && y->data && memcmp(x->data, y->data, x->len) == 0);
    }
    case PARLEY_KIND_STRUCT:
        for (size_t i = 0; i < t->n_fields; i++) {
            const parley_field *f = &t->fields[i];
            if (!equal_value(f->type, (const uint8_t *)a + f->offset,
                             (const uint8_t *)b + f->offset, depth + 1))
                return false;
        }
        return true;
    case PARLEY_KIND_UNION: {
        const parley_type *d = t->discriminator;
        int64_t da = parley__load_int((const uint8_t *)a + t->discriminator_offset, d->kind);
        int64_t db = parley__load_int((const uint8_t *)b + t->discriminator_offset, d->kind);
        const parley_arm *arm;
        if (da != db)
            return false;
        arm = parley__union_arm(t, da);
        if (arm == NULL || arm->type == NULL)
            return true;
        return equal_value(arm->type, (const uint8_t *)a + arm->offset,
                           (const uint8_t *)b + arm->offset, depth + 1);
    }
    case PARLEY_KIND_ARRAY:
        return equal_items(t->elem, a, b, t->bound, depth);
    case PARLEY_KIND_SEQUENCE: {
        const parley_seq *x = a, *y = b;
        if (x->n != y->n)
            return false;
        if (x->n == 0)
            return true;
        if (x->items == NULL || y->items == NULL)
            return x->items == y->items;
        return equal_items(t->elem, x->items, y->items, x->n, depth);
    }
    case PARLEY_KIND_OPTIONAL: {
        const void *x = *(void *const *)a, *y = *(void *const *)b;
        if (x == NULL || y == NULL)
            return x == y;
        if (parley__optional_is_inline(t->elem))
            return equal_value(t->elem, a, b, depth + 1);
        return equal_value(t->elem, x, y, depth + 1);
    }
    }
    return false;
}

PARLEY_PUBLIC bool parley_data_equal(const parley_type *type, const void *a, const void *b)
{
    if (type == NULL || a == NULL || b == NULL)
        return false;
    return equal_value(type, a, b, 0);
}

/* ---- copy ------------------------------------------------------------------ */

/* Copy the value at src into dst (type->size bytes, already a bitwise copy of
 * src); replace every pointer by a deep copy allocated under parent. */
static parley_status copy_value(TALLOC_CTX *parent, const parley_type *t, void *dst,
                                unsigned depth);

static parley_status copy_items(TALLOC_CTX *parent, const parley_type *elem, void *items,
                                size_t n, unsigned depth)
{
    for (size_t i = 0; i < n; i++) {
        parley_status st = copy_value(parent, elem, (uint8_t *)items + i * elem->size, depth + 1);
        if (st != PARLEY_OK)
            return st;
    }
    return PARLEY_OK;
}

/* Does a value of this type hold pointers that a deep copy must follow? */
static bool has_pointers(const parley_type *t, unsigned depth)
{
    if (depth > 32)
        return true; /* be safe on deep or recursive types */
    switch (t->kind) {
    case PARLEY_KIND_STRING: case PARLEY_KIND_BYTES: case PARLEY_KIND_SEQUENCE:
    case PARLEY_KIND_OPTIONAL:
        return true;
    case PARLEY_KIND_STRUCT:
        for (size_t i = 0; i < t->n_fields; i++)
            if (has_pointers(t->fields[i].type, depth + 1))
                return true;
        return false;
    case PARLEY_KIND_UNION:
        for (size_t i = 0; i < t->n_arms; i++)
            if (t->arms[i].type && has_pointers(t->arms[i].type, depth + 1))
                return true;
        return t->default_arm && t->default_arm->type &&
               has_pointers(t->default_arm->type, depth + 1);
    case PARLEY_KIND_ARRAY:
        return has_pointers(t->elem, depth + 1);
    default:
        return false; /* handles and fds are copied by value */
    }
}

static parley_status copy_value(TALLOC_CTX *parent, const parley_type *t, void *dst,
                                unsigned depth)
{
    if (depth > PARLEY__DATA_WALK_DEPTH)
        return PARLEY_ERR_OVERFLOW;
    switch (t->kind) {
    case PARLEY_KIND_STRING: {
        char **s = dst;
        if (*s && (*s = talloc_strdup(parent, *s)) == NULL)
            return PARLEY_ERR_NOMEM;
        return PARLEY_OK;
    }
    case PARLEY_KIND_BYTES: {
        parley_bytes *b = dst;
        if (b->len == 0 || b->data == NULL) {
            b->data = NULL;
            b->len = 0;
            return PARLEY_OK;
        }
        if ((b->data = talloc_memdup(parent, b->data, b->len)) == NULL)
            return PARLEY_ERR_NOMEM;
        return PARLEY_OK;
    }
    case PARLEY_KIND_STRUCT:
        for (size_t i = 0; i < t->n_fields; i++) {
            const parley_field *f = &t->fields[i];
            parley_status st = copy_value(parent, f->type, (uint8_t *)dst + f->offset, depth + 1);
            if (st != PARLEY_OK)
                return st;
        }
        return PARLEY_OK;
    case PARLEY_KIND_UNION: {
        int64_t d = parley__load_int((uint8_t *)dst + t->discriminator_offset,
                                     t->discriminator->kind);
        const parley_arm *arm = parley__union_arm(t, d);
        if (arm == NULL || arm->type == NULL)
            return PARLEY_OK;
        return copy_value(parent, arm->type, (uint8_t *)dst + arm->offset, depth + 1);
    }
    case PARLEY_KIND_ARRAY:
        if (!has_pointers(t->elem, 0))
            return PARLEY_OK;
        return copy_items(parent, t->elem, dst, t->bound, depth);
    case PARLEY_KIND_SEQUENCE: {
        parley_seq *s = dst;
        size_t bytes;
        if (s->n == 0 || s->items == NULL) {
            s->n = 0;
            s->items = NULL;
            return PARLEY_OK;
        }
        if (__builtin_mul_overflow(s->n, t->elem->size, &bytes))
            return PARLEY_ERR_OVERFLOW;
        s->items = talloc_memdup(parent, s->items, bytes);
        if (s->items == NULL)
            return PARLEY_ERR_NOMEM;
        talloc_set_name_const(s->items, t->name);
        if (!has_pointers(t->elem, 0))
            return PARLEY_OK;
        return copy_items(s->items, t->elem, s->items, s->n, depth);
    }
    case PARLEY_KIND_OPTIONAL: {
        void **p = dst;
        if (*p == NULL)
            return PARLEY_OK;
        if (parley__optional_is_inline(t->elem))
            return copy_value(parent, t->elem, dst, depth + 1);
        *p = talloc_memdup(parent, *p, t->elem->size);
        if (*p == NULL)
            return PARLEY_ERR_NOMEM;
        talloc_set_name_const(*p, t->elem->name);
        return copy_value(*p, t->elem, *p, depth + 1);
    }
    default:
        return PARLEY_OK; /* plain data: the bitwise copy is the copy */
    }
}

PARLEY_PUBLIC parley_status parley_data_copy(TALLOC_CTX *mem_ctx, const parley_type *type,
                                             const void *value, void **ret_copy)
{
    void *copy;
    parley_status st;

    if (type == NULL || value == NULL || ret_copy == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "copy: NULL %s",
                             type == NULL ? "type" : value == NULL ? "value" : "ret_copy");
    copy = talloc_memdup(NULL, value, type->size);
    if (copy == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "copy %s: out of memory", type->name);
    talloc_set_name_const(copy, type->name);
    st = copy_value(copy, type, copy, 0);
    if (st != PARLEY_OK) {
        talloc_free(copy);
        if (st == PARLEY_ERR_OVERFLOW)
            return parley__error(st, "copy %s: nested deeper than %u levels", type->name,
                                 PARLEY__DATA_WALK_DEPTH);
        return parley__error(st, "copy %s: out of memory", type->name);
    }
    *ret_copy = talloc_steal(mem_ctx, copy);
    return PARLEY_OK;
}
