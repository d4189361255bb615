/* INTERIM codec, only until the real one (lib/encode.c, lib/decode.c) lands on
 * main: integers, bool, float, double, enum, string, bytes, struct, array and
 * sequence, enough for the runtime's tests.  Deleted at that merge. */
#include "config.h"

#include <string.h>

#include "parley/data.h"
#include "status.h"

typedef struct wbuf {
    uint8_t *p;   /* NULL: count only */
    size_t len;
} wbuf;

static void put(wbuf *w, const void *src, size_t n)
{
    if (w->p != NULL && n > 0)
        memcpy(w->p + w->len, src, n);
    w->len += n;
}

static parley_status enc(const parley_type *t, const void *v, wbuf *w)
{
    switch (t->kind) {
    case PARLEY_KIND_INT8: case PARLEY_KIND_UINT8: case PARLEY_KIND_BOOL:
    case PARLEY_KIND_INT16: case PARLEY_KIND_UINT16: case PARLEY_KIND_INT32:
    case PARLEY_KIND_UINT32: case PARLEY_KIND_INT64: case PARLEY_KIND_UINT64:
    case PARLEY_KIND_FLOAT: case PARLEY_KIND_DOUBLE: case PARLEY_KIND_ENUM:
        put(w, v, t->size);   /* little-endian hosts only */
        return PARLEY_OK;
    case PARLEY_KIND_STRING: {
        const char *s = *(char *const *)v;
        uint32_t n = 0;

        if (s == NULL)
            return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "encode %s: NULL string", t->name);
        n = (uint32_t)strlen(s);
        if (t->bound != 0 && n > t->bound)
            return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "encode %s: string longer than its bound %u", t->name, t->bound);
        put(w, &n, 4);
        put(w, s, n);
        return PARLEY_OK;
    }
    case PARLEY_KIND_BYTES: {
        const parley_bytes *b = v;
        uint32_t n = (uint32_t)b->len;

        put(w, &n, 4);
        put(w, b->data, b->len);
        return PARLEY_OK;
    }
    case PARLEY_KIND_STRUCT:
        for (size_t i = 0; i < t->n_fields; i++) {
            parley_status st = enc(t->fields[i].type, (const uint8_t *)v + t->fields[i].offset, w);

            if (st != PARLEY_OK)
                return st;
        }
        return PARLEY_OK;
    case PARLEY_KIND_ARRAY:
        for (size_t i = 0; i < t->bound; i++) {
            parley_status st = enc(t->elem, (const uint8_t *)v + i * t->elem->size, w);

            if (st != PARLEY_OK)
                return st;
        }
        return PARLEY_OK;
    case PARLEY_KIND_SEQUENCE: {
        const parley_seq *s = v;
        uint32_t n = (uint32_t)s->n;

        put(w, &n, 4);
        for (size_t i = 0; i < s->n; i++) {
            parley_status st = enc(t->elem, (const uint8_t *)s->items + i * t->elem->size, w);

            if (st != PARLEY_OK)
                return st;
        }
        return PARLEY_OK;
    }
    default:
        return parley__error(PARLEY_ERR_UNSUPPORTED, "interim codec: kind %d", (int)t->kind);
    }
}

PARLEY_PUBLIC parley_status parley_data_size(const parley_type *type, const void *value,
                                             parley_codec *codec, size_t *ret_size)
{
    wbuf w = { NULL, 0 };
    parley_status st;

    (void)codec;
    st = enc(type, value, &w);
    if (st == PARLEY_OK)
        *ret_size = w.len;
    return st;
}

PARLEY_PUBLIC parley_status parley_data_encode_to(const parley_type *type, const void *value,
                                                  parley_codec *codec, void *buf, size_t cap,
                                                  size_t *ret_len)
{
    size_t n;
    parley_status st = parley_data_size(type, value, codec, &n);
    wbuf w = { buf, 0 };

    if (st != PARLEY_OK)
        return st;
    if (n > cap)
        return parley__error(PARLEY_ERR_OVERFLOW, "encode: %zu bytes do not fit in %zu", n, cap);
    st = enc(type, value, &w);
    if (st == PARLEY_OK)
        *ret_len = w.len;
    return st;
}

PARLEY_PUBLIC parley_status parley_data_encode(TALLOC_CTX *mem_ctx, const parley_type *type,
                                               const void *value, parley_codec *codec,
                                               uint8_t **ret_data, size_t *ret_len)
{
    size_t n, m;
    uint8_t *buf;
    parley_status st = parley_data_size(type, value, codec, &n);

    if (st != PARLEY_OK)
        return st;
    buf = talloc_size(mem_ctx, n > 0 ? n : 1);
    if (buf == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "encode: out of memory");
    st = parley_data_encode_to(type, value, codec, buf, n, &m);
    if (st != PARLEY_OK) {
        talloc_free(buf);
        return st;
    }
    *ret_data = buf;
    *ret_len = m;
    return PARLEY_OK;
}

typedef struct rbuf {
    const uint8_t *p;
    size_t len, pos;
} rbuf;

static parley_status take(rbuf *r, void *dst, size_t n, const char *name)
{
    if (r->len - r->pos < n)
        return parley__error(PARLEY_ERR_MALFORMED, "decode %s: truncated", name);
    if (dst != NULL)
        memcpy(dst, r->p + r->pos, n);
    r->pos += n;
    return PARLEY_OK;
}

static parley_status dec(TALLOC_CTX *ctx, const parley_type *t, void *v, rbuf *r)
{
    parley_status st;

    switch (t->kind) {
    case PARLEY_KIND_INT8: case PARLEY_KIND_UINT8: case PARLEY_KIND_BOOL:
    case PARLEY_KIND_INT16: case PARLEY_KIND_UINT16: case PARLEY_KIND_INT32:
    case PARLEY_KIND_UINT32: case PARLEY_KIND_INT64: case PARLEY_KIND_UINT64:
    case PARLEY_KIND_FLOAT: case PARLEY_KIND_DOUBLE: case PARLEY_KIND_ENUM:
        return take(r, v, t->size, t->name);
    case PARLEY_KIND_STRING: {
        uint32_t n = 0;
        char *s;

        if ((st = take(r, &n, 4, t->name)) != PARLEY_OK)
            return st;
        if (r->len - r->pos < n || (t->bound != 0 && n > t->bound))
            return parley__error(PARLEY_ERR_MALFORMED, "decode %s: bad string length %u", t->name, n);
        if (memchr(r->p + r->pos, 0, n) != NULL)
            return parley__error(PARLEY_ERR_MALFORMED, "decode %s: embedded NUL", t->name);
        s = talloc_strndup(ctx, (const char *)r->p + r->pos, n);
        if (s == NULL)
            return parley__error(PARLEY_ERR_NOMEM, "decode: out of memory");
        r->pos += n;
        *(char **)v = s;
        return PARLEY_OK;
    }
    case PARLEY_KIND_BYTES: {
        uint32_t n = 0;
        parley_bytes *b = v;

        if ((st = take(r, &n, 4, t->name)) != PARLEY_OK)
            return st;
        if (r->len - r->pos < n || (t->bound != 0 && n > t->bound))
            return parley__error(PARLEY_ERR_MALFORMED, "decode %s: bad bytes length %u", t->name, n);
        b->len = n;
        b->data = n > 0 ? talloc_memdup(ctx, r->p + r->pos, n) : NULL;
        if (n > 0 && b->data == NULL)
            return parley__error(PARLEY_ERR_NOMEM, "decode: out of memory");
        r->pos += n;
        return PARLEY_OK;
    }
    case PARLEY_KIND_STRUCT:
        for (size_t i = 0; i < t->n_fields; i++)
            if ((st = dec(ctx, t->fields[i].type, (uint8_t *)v + t->fields[i].offset, r)) != PARLEY_OK)
                return st;
        return PARLEY_OK;
    case PARLEY_KIND_ARRAY:
        for (size_t i = 0; i < t->bound; i++)
            if ((st = dec(ctx, t->elem, (uint8_t *)v + i * t->elem->size, r)) != PARLEY_OK)
                return st;
        return PARLEY_OK;
    case PARLEY_KIND_SEQUENCE: {
        uint32_t n = 0;
        parley_seq *s = v;

        if ((st = take(r, &n, 4, t->name)) != PARLEY_OK)
            return st;
        if ((t->bound != 0 && n > t->bound) || n > r->len - r->pos)
            return parley__error(PARLEY_ERR_MALFORMED, "decode %s: bad count %u", t->name, n);
        s->n = n;
        s->items = n > 0 ? talloc_zero_size(ctx, (size_t)n * t->elem->size) : NULL;
        if (n > 0 && s->items == NULL)
            return parley__error(PARLEY_ERR_NOMEM, "decode: out of memory");
        for (size_t i = 0; i < n; i++)
            if ((st = dec(s->items, t->elem, (uint8_t *)s->items + i * t->elem->size, r)) != PARLEY_OK)
                return st;
        return PARLEY_OK;
    }
    default:
        return parley__error(PARLEY_ERR_UNSUPPORTED, "interim codec: kind %d", (int)t->kind);
    }
}

PARLEY_PUBLIC parley_status parley_data_decode(TALLOC_CTX *mem_ctx, const parley_type *type,
                                               const void *data, size_t len,
                                               parley_codec *codec, void **ret_value)
{
    void *v = talloc_zero_size(NULL, type->size > 0 ? type->size : 1);
    rbuf r = { data, len, 0 };
    parley_status st;

    (void)codec;
    if (v == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "decode: out of memory");
    st = dec(v, type, v, &r);
    if (st == PARLEY_OK && r.pos != len)
        st = parley__error(PARLEY_ERR_MALFORMED, "decode %s: %zu trailing bytes", type->name, len - r.pos);
    if (st != PARLEY_OK) {
        talloc_free(v);
        return st;
    }
    *ret_value = talloc_steal(mem_ctx, v);
    return PARLEY_OK;
}
