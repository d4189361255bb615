/* SPDX-License-Identifier: MIT */
/* Seeded random values over any descriptor (see random.h). */
#include "config.h"

#include <string.h>

#include "random.h"

/* Recursion below this depth makes optionals NULL and sequences empty. */
#define DEEP 5
/* At most this many items in a sequence, characters in a string. */
#define MAX_ITEMS 4
#define MAX_CHARS 24

static char fake_handles[8][16];

parley_handle *parley_test_fake_handle(unsigned k)
{
    return (parley_handle *)(void *)fake_handles[k % 8];
}

int parley_test_fake_handle_index(const parley_handle *h)
{
    for (unsigned k = 0; k < 8; k++)
        if ((const void *)h == (const void *)fake_handles[k])
            return (int)k;
    return -1;
}

uint64_t parley_test_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t parley_test_rand_below(uint64_t *state, uint64_t n)
{
    return parley_test_rand(state) % n;
}

static size_t pick_count(uint64_t *st, uint32_t bound, size_t cap, unsigned depth)
{
    size_t max = cap;
    if (bound && bound < max)
        max = bound;
    if (depth >= DEEP)
        return 0;
    return (size_t)parley_test_rand_below(st, max + 1);
}

/* A random UTF-8 string of at most maxbytes bytes, no NUL. */
static char *random_string(TALLOC_CTX *mem, uint64_t *st, uint32_t bound)
{
    size_t limit = bound && bound < MAX_CHARS * 4 ? bound : MAX_CHARS * 4;
    size_t want = (size_t)parley_test_rand_below(st, MAX_CHARS + 1);
    char *s = talloc_array(mem, char, limit + 1);
    size_t n = 0;

    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < want; i++) {
        uint32_t cp;
        unsigned char buf[4];
        size_t len;
        switch (parley_test_rand_below(st, 4)) {
        case 0: cp = 0x80 + (uint32_t)parley_test_rand_below(st, 0x780); break;
        case 1: cp = 0x800 + (uint32_t)parley_test_rand_below(st, 0xD800 - 0x800); break;
        case 2: cp = 0x10000 + (uint32_t)parley_test_rand_below(st, 0x100000); break;
        default: cp = 1 + (uint32_t)parley_test_rand_below(st, 0x7f); break;
        }
        if (cp < 0x80) {
            buf[0] = (unsigned char)cp; len = 1;
        } else if (cp < 0x800) {
            buf[0] = (unsigned char)(0xC0 | (cp >> 6));
            buf[1] = (unsigned char)(0x80 | (cp & 0x3F)); len = 2;
        } else if (cp < 0x10000) {
            buf[0] = (unsigned char)(0xE0 | (cp >> 12));
            buf[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            buf[2] = (unsigned char)(0x80 | (cp & 0x3F)); len = 3;
        } else {
            buf[0] = (unsigned char)(0xF0 | (cp >> 18));
            buf[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
            buf[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            buf[3] = (unsigned char)(0x80 | (cp & 0x3F)); len = 4;
        }
        if (n + len > limit)
            break;
        memcpy(s + n, buf, len);
        n += len;
    }
    s[n] = '\0';
    return s;
}

static int fill(TALLOC_CTX *mem, const parley_type *t, uint64_t *st, unsigned depth, void *v);

/* Items of a sequence or array: count elements of elem at items. */
static int fill_items(TALLOC_CTX *mem, const parley_type *elem, uint64_t *st, unsigned depth,
                      uint8_t *items, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (fill(mem, elem, st, depth, items + i * elem->size) != 0)
            return -1;
    return 0;
}

static int64_t union_default_value(const parley_type *t, uint64_t *st, bool *ok)
{
    /* A discriminator value no arm claims: for an enum, a declared one. */
    for (int tries = 0; tries < 64; tries++) {
        int64_t v;
        if (t->discriminator->kind == PARLEY_KIND_ENUM) {
            if (t->discriminator->n_values == 0)
                break;
            v = t->discriminator->values[parley_test_rand_below(st, t->discriminator->n_values)].value;
        } else if (t->discriminator->kind == PARLEY_KIND_BOOL) {
            v = (int64_t)parley_test_rand_below(st, 2);
        } else {
            v = (int64_t)parley_test_rand_below(st, 1000);
            if (t->discriminator->kind == PARLEY_KIND_INT8 || t->discriminator->kind == PARLEY_KIND_INT16 ||
                t->discriminator->kind == PARLEY_KIND_INT32 || t->discriminator->kind == PARLEY_KIND_INT64)
                v -= 500;
        }
        bool taken = false;
        for (size_t i = 0; i < t->n_arms; i++)
            if (t->arms[i].value == v)
                taken = true;
        if (!taken) {
            *ok = true;
            return v;
        }
    }
    *ok = false;
    return 0;
}

static void store_int(void *p, size_t size, int64_t v)
{
    switch (size) {
    case 1: { int8_t x = (int8_t)v; memcpy(p, &x, 1); break; }
    case 2: { int16_t x = (int16_t)v; memcpy(p, &x, 2); break; }
    case 4: { int32_t x = (int32_t)v; memcpy(p, &x, 4); break; }
    default: memcpy(p, &v, 8); break;
    }
}

static int fill(TALLOC_CTX *mem, const parley_type *t, uint64_t *st, unsigned depth, void *v)
{
    uint64_t r;

    switch (t->kind) {
    case PARLEY_KIND_INT8: case PARLEY_KIND_UINT8:
    case PARLEY_KIND_INT16: case PARLEY_KIND_UINT16:
    case PARLEY_KIND_INT32: case PARLEY_KIND_UINT32:
    case PARLEY_KIND_INT64: case PARLEY_KIND_UINT64:
    case PARLEY_KIND_FLOAT: case PARLEY_KIND_DOUBLE:
        r = parley_test_rand(st);
        memcpy(v, &r, t->size);
        return 0;
    case PARLEY_KIND_BOOL:
        *(bool *)v = parley_test_rand_below(st, 2) != 0;
        return 0;
    case PARLEY_KIND_ENUM: {
        int32_t val = 0;
        if (t->flags & PARLEY_TYPE_FLAGS) {
            for (size_t i = 0; i < t->n_values; i++)
                if (parley_test_rand_below(st, 2))
                    val |= t->values[i].value;
        } else if (t->n_values > 0) {
            val = t->values[parley_test_rand_below(st, t->n_values)].value;
        }
        store_int(v, t->size, val);
        return 0;
    }
    case PARLEY_KIND_STRING: {
        char *s = random_string(mem, st, t->bound);
        if (s == NULL)
            return -1;
        *(char **)v = s;
        return 0;
    }
    case PARLEY_KIND_BYTES: {
        parley_bytes *b = v;
        b->len = pick_count(st, t->bound, 40, 0);
        b->data = NULL;
        if (b->len) {
            b->data = talloc_array(mem, uint8_t, b->len);
            if (b->data == NULL)
                return -1;
            for (size_t i = 0; i < b->len; i++)
                b->data[i] = (uint8_t)parley_test_rand(st);
        }
        return 0;
    }
    case PARLEY_KIND_STRUCT:
        for (size_t i = 0; i < t->n_fields; i++)
            if (fill(mem, t->fields[i].type, st, depth + 1, (uint8_t *)v + t->fields[i].offset) != 0)
                return -1;
        return 0;
    case PARLEY_KIND_UNION: {
        size_t choices = t->n_arms + (t->default_arm ? 1 : 0);
        size_t pick = (size_t)parley_test_rand_below(st, choices ? choices : 1);
        const parley_arm *arm = NULL;
        int64_t dv = 0;
        if (pick < t->n_arms) {
            arm = &t->arms[pick];
            dv = arm->value;
        } else if (t->default_arm) {
            bool ok;
            dv = union_default_value(t, st, &ok);
            if (ok) {
                arm = t->default_arm;
            } else if (t->n_arms) {
                arm = &t->arms[0];
                dv = arm->value;
            }
        }
        store_int((uint8_t *)v + t->discriminator_offset, t->discriminator->size, dv);
        if (arm && arm->type)
            return fill(mem, arm->type, st, depth + 1, (uint8_t *)v + arm->offset);
        return 0;
    }
    case PARLEY_KIND_ARRAY:
        return fill_items(mem, t->elem, st, depth + 1, v, t->bound);
    case PARLEY_KIND_SEQUENCE: {
        parley_seq *s = v;
        s->n = pick_count(st, t->bound, MAX_ITEMS, depth);
        s->items = NULL;
        if (s->n) {
            s->items = talloc_zero_size(mem, s->n * t->elem->size);
            if (s->items == NULL)
                return -1;
            return fill_items(s->items, t->elem, st, depth + 1, s->items, s->n);
        }
        return 0;
    }
    case PARLEY_KIND_OPTIONAL: {
        void *p = NULL;
        if (t->elem->kind == PARLEY_KIND_STRING || t->elem->kind == PARLEY_KIND_HANDLE) {
            /* inline optional: the pointer itself, NULL = absent */
            *(void **)v = NULL;
            if (parley_test_rand_below(st, 2))
                return fill(mem, t->elem, st, depth + 1, v);
            return 0;
        }
        if (depth < DEEP && parley_test_rand_below(st, 2)) {
            p = talloc_zero_size(mem, t->elem->size);
            if (p == NULL || fill(p, t->elem, st, depth + 1, p) != 0)
                return -1;
        }
        *(void **)v = p;
        return 0;
    }
    case PARLEY_KIND_HANDLE:
        *(parley_handle **)v = parley_test_fake_handle((unsigned)parley_test_rand_below(st, 8));
        return 0;
    case PARLEY_KIND_FD:
        *(int *)v = (int)parley_test_rand_below(st, 3);
        return 0;
    }
    return -1;
}

int parley_test_random_fill(TALLOC_CTX *mem_ctx, const parley_type *type, uint64_t *state,
                            void *value)
{
    return fill(mem_ctx, type, state, 0, value);
}

void *parley_test_random_value(TALLOC_CTX *mem_ctx, const parley_type *type, uint64_t *state)
{
    void *v = talloc_zero_size(mem_ctx, type->size);
    if (v == NULL)
        return NULL;
    talloc_set_name_const(v, type->name);
    if (fill(v, type, state, 0, v) != 0) {
        talloc_free(v);
        return NULL;
    }
    return v;
}
