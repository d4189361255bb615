/* SPDX-License-Identifier: MIT */
/* Decode: wire bytes -> a C object graph under talloc, never trusting the input. */
#include "config.h"

#include <string.h>

#include <talloc.h>

#include "decode.h"

static parley_status decode_fixed(dec *d, const parley_type *t, void *obj,
                                  const parley__path *path)
{
    size_t w = parley__scalar_wire_size(t);
    parley_status st = need(d, path, w);

    if (st != PARLEY_OK)
        return st;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(obj, d->p, w);
#else
    switch (w) {
    case 1: memcpy(obj, d->p, 1); break;
    case 2: { uint16_t v = parley__get_u16(d->p); memcpy(obj, &v, 2); break; }
    case 4: { uint32_t v = parley__get_u32(d->p); memcpy(obj, &v, 4); break; }
    default: { uint64_t v = parley__get_u64(d->p); memcpy(obj, &v, 8); break; }
    }
#endif
    d->p += w;
    return PARLEY_OK;
}

/* u32 length + bytes; returns where the bytes are and how many. */
static parley_status take_blob(dec *d, const parley_type *t, const parley__path *path,
                               const char *what, const uint8_t **ret_p, size_t *ret_len)
{
    uint32_t len;
    parley_status st = need(d, path, 4);

    if (st != PARLEY_OK)
        return st;
    len = parley__get_u32(d->p);
    if (t->bound != 0 && len > t->bound)
        return FAIL(d, PARLEY_ERR_MALFORMED, path, "%s longer than %s bound %u", what,
                    t->kind == PARLEY_KIND_STRING ? "its" : "their", (unsigned)t->bound);
    d->p += 4;
    st = need(d, path, len);
    if (st != PARLEY_OK)
        return st;
    *ret_p = d->p;
    *ret_len = len;
    d->p += len;
    return PARLEY_OK;
}

static parley_status decode_string(dec *d, const parley_type *t, void *obj, void *holder,
                                   const parley__path *path)
{
    const uint8_t *src;
    const uint8_t *nul;
    size_t len, bad;
    char *s;
    parley_status st = take_blob(d, t, path, "string", &src, &len);

    if (st != PARLEY_OK)
        return st;
    nul = memchr(src, 0, len);
    if (nul != NULL)
        return FAIL(d, PARLEY_ERR_MALFORMED, path, "embedded NUL at byte %zu",
                    (size_t)(nul - src));
    bad = parley__utf8_check(src, len);
    if (bad != len)
        return FAIL(d, PARLEY_ERR_MALFORMED, path, "invalid UTF-8 at byte %zu", bad);
    s = parley__dec_text(d, holder, len + 1, t->name);
    if (s == NULL)
        return parley__dec_nomem(d, path, len + 1);
    memcpy(s, src, len);
    s[len] = '\0';
    memcpy(obj, &s, sizeof(s));
    return PARLEY_OK;
}

static parley_status decode_bytes(dec *d, const parley_type *t, void *obj, void *holder,
                                  const parley__path *path)
{
    const uint8_t *src;
    parley_bytes b = { 0, NULL };
    parley_status st = take_blob(d, t, path, "bytes", &src, &b.len);

    if (st != PARLEY_OK)
        return st;
    if (b.len > 0) {
        b.data = parley__dec_text(d, holder, b.len, t->name);
        if (b.data == NULL)
            return parley__dec_nomem(d, path, b.len);
        memcpy(b.data, src, b.len);
    }
    memcpy(obj, &b, sizeof(b));
    return PARLEY_OK;
}

/* n consecutive elements of t at base, whose pointers hang under holder.
 * plan: the flat plan of t, or NULL for the generic walk. */
static parley_status decode_elems(dec *d, const parley_type *t, uint8_t *base, size_t n,
                                  void *holder, const parley__plan *plan,
                                  const parley__path *path, unsigned depth)
{
    parley__path node = { path, NULL, 0 };

    if (plan != NULL) {
        size_t total;
        parley_status st;
        if (n > SIZE_MAX / plan->wire_size)
            return FAIL(d, PARLEY_ERR_MALFORMED, path, "truncated: %zu items do not fit", n);
        total = n * plan->wire_size;
        st = need(d, path, total);
        if (st != PARLEY_OK)
            return st;
        if (plan->identical)
            memcpy(base, d->p, total);
        else
            parley__plan_decode(plan, base, d->p, n);
        d->p += total;
        return PARLEY_OK;
    }
    for (size_t i = 0; i < n; i++) {
        parley_status st;
        node.index = i;
        st = parley__dec_value(d, t, base + i * t->size, holder, &node, depth);
        if (st != PARLEY_OK)
            return st;
    }
    return PARLEY_OK;
}

static parley_status decode_sequence(dec *d, const parley_type *t, void *obj, void *holder,
                                     const parley__path *path, unsigned depth)
{
    const parley_type *et = t->elem;
    parley__plan plan;
    bool flat = false;
    parley_seq s = { 0, NULL };
    uint32_t n;
    size_t min;
    parley_status st = need(d, path, 4);

    if (st != PARLEY_OK)
        return st;
    n = parley__get_u32(d->p);
    if (t->bound != 0 && n > t->bound)
        return FAIL(d, PARLEY_ERR_MALFORMED, path,
                    "sequence of %u items longer than its bound %u", (unsigned)n,
                    (unsigned)t->bound);
    d->p += 4;
    if (n > 0) {
        if (depth >= d->max_depth)
            return FAIL(d, PARLEY_ERR_OVERFLOW, path, "nested deeper than %u levels",
                        d->max_depth);
        /* Never trust the count: the items must fit in what remains before
         * a single byte is allocated for them. */
        min = parley__min_wire_size(et);
        if (n > remain(d) / min)
            return FAIL(d, PARLEY_ERR_MALFORMED, path,
                        "sequence of %u items needs at least %zu bytes each, %zu remain",
                        (unsigned)n, min, remain(d));
        if (et->size != 0 && n > SIZE_MAX / et->size)
            return FAIL(d, PARLEY_ERR_MALFORMED, path, "sequence of %u items is too large",
                        (unsigned)n);
        flat = parley__plan_build(et, &plan) && parley__plan_prepare_decode(&plan);
        /* a plan writes every byte, padding included */
        s.items = parley__dec_alloc(d, holder, (size_t)n * et->size, et->name, !flat);
        if (s.items == NULL)
            return parley__dec_nomem(d, path, (size_t)n * et->size);
        s.n = n;
        memcpy(obj, &s, sizeof(s));
        st = decode_elems(d, et, s.items, n, s.items, flat ? &plan : NULL, path, depth + 1);
        if (st != PARLEY_OK)
            return st;
    }
    memcpy(obj, &s, sizeof(s));
    return PARLEY_OK;
}

static parley_status decode_optional(dec *d, const parley_type *t, void *obj, void *holder,
                                     const parley__path *path, unsigned depth)
{
    const parley_type *et = t->elem;
    void *ptr = NULL;
    uint8_t present;
    parley_status st = need(d, path, 1);

    if (st != PARLEY_OK)
        return st;
    present = *d->p;
    if (present > 1)
        return FAIL(d, PARLEY_ERR_MALFORMED, path, "presence byte %u is not 0 or 1",
                    (unsigned)present);
    d->p++;
    memcpy(obj, &ptr, sizeof(ptr));
    if (present == 0)
        return PARLEY_OK;
    if (depth >= d->max_depth)
        return FAIL(d, PARLEY_ERR_OVERFLOW, path, "nested deeper than %u levels", d->max_depth);
    if (parley__optional_is_inline(et))
        return parley__dec_value(d, et, obj, holder, path, depth + 1);
    ptr = parley__dec_alloc(d, holder, et->size, et->name, true);
    if (ptr == NULL)
        return parley__dec_nomem(d, path, et->size);
    memcpy(obj, &ptr, sizeof(ptr));
    return parley__dec_value(d, et, ptr, ptr, path, depth + 1);
}

static parley_status decode_union(dec *d, const parley_type *t, uint8_t *obj, void *holder,
                                  const parley__path *path, unsigned depth)
{
    const parley_type *dt = t->discriminator;
    size_t w = parley__scalar_wire_size(dt);
    bool sgn = parley__int_is_signed(dt);
    const parley_arm *arm;
    parley__path node = { path, NULL, 0 };
    int64_t v;
    parley_status st = need(d, path, w);

    if (st != PARLEY_OK)
        return st;
    v = parley__get_int(d->p, w, sgn);
    arm = parley__union_arm(t, v);
    if (arm == NULL)
        return FAIL(d, PARLEY_ERR_MALFORMED, path, "discriminator %lld is not a declared arm",
                    (long long)v);
    if (dt->kind == PARLEY_KIND_ENUM && !parley__enum_has_value(dt, v))
        return FAIL(d, PARLEY_ERR_MALFORMED, path,
                    "discriminator %lld is not a declared %s value", (long long)v, dt->name);
    d->p += w;
    parley__store_int(dt, obj + t->discriminator_offset, v);
    if (arm->type == NULL)
        return PARLEY_OK;
    node.name = arm->name != NULL ? arm->name : "default";
    return parley__dec_value(d, arm->type, obj + arm->offset, holder, &node, depth);
}

static parley_status decode_handle(dec *d, const parley_type *t, void *obj,
                                   const parley__path *path)
{
    parley_handle *h = NULL;
    uint32_t id;
    parley_status st = need(d, path, 4);

    if (st != PARLEY_OK)
        return st;
    if (d->codec == NULL || d->codec->handles == NULL || d->codec->handles->from_wire == NULL)
        return FAIL(d, PARLEY_ERR_UNSUPPORTED, path, "handle %s without codec handle hooks",
                    t->name);
    id = parley__get_u32(d->p);
    st = d->codec->handles->from_wire(d->codec->handle_data, t, id, &h);
    if (st == PARLEY_OK && h == NULL)
        st = PARLEY_ERR_INVALID_HANDLE;
    if (st != PARLEY_OK)
        return FAIL(d, st, path, "handle %s id %u rejected: %s", t->name, (unsigned)id,
                    parley_status_string(st));
    d->p += 4;
    memcpy(obj, &h, sizeof(h));
    return PARLEY_OK;
}

static parley_status decode_fd(dec *d, void *obj, const parley__path *path)
{
    uint32_t idx;
    parley_status st = need(d, path, 4);

    if (st != PARLEY_OK)
        return st;
    if (d->codec == NULL || d->codec->fds == NULL)
        return FAIL(d, PARLEY_ERR_UNSUPPORTED, path, "fd without a codec fd array");
    idx = parley__get_u32(d->p);
    if (idx >= d->codec->n_fds)
        return FAIL(d, PARLEY_ERR_MALFORMED, path, "fd index %u out of range (%zu fds)",
                    (unsigned)idx, d->codec->n_fds);
    if (d->fd_used == NULL) {
        d->fd_used = talloc_zero_size(NULL, d->codec->n_fds);
        if (d->fd_used == NULL)
            return parley__dec_nomem(d, path, d->codec->n_fds);
    }
    if (d->fd_used[idx])
        return FAIL(d, PARLEY_ERR_MALFORMED, path, "fd index %u used twice", (unsigned)idx);
    d->fd_used[idx] = 1;
    d->p += 4;
    memcpy(obj, &d->codec->fds[idx], sizeof(int));
    return PARLEY_OK;
}

parley_status parley__dec_value(dec *d, const parley_type *t, void *obj, void *holder,
                                  const parley__path *path, unsigned depth)
{
    uint8_t *o = obj;
    parley__path node = { path, NULL, 0 };
    parley_status st;

    switch (t->kind) {
    case PARLEY_KIND_INT8: case PARLEY_KIND_INT16: case PARLEY_KIND_INT32:
    case PARLEY_KIND_INT64: case PARLEY_KIND_UINT8: case PARLEY_KIND_UINT16:
    case PARLEY_KIND_UINT32: case PARLEY_KIND_UINT64: case PARLEY_KIND_FLOAT:
    case PARLEY_KIND_DOUBLE:
        return decode_fixed(d, t, obj, path);
    case PARLEY_KIND_BOOL:
        st = need(d, path, 1);
        if (st != PARLEY_OK)
            return st;
        if (d->p[0] > 1)
            return FAIL(d, PARLEY_ERR_MALFORMED, path, "bool byte %u is not 0 or 1",
                        (unsigned)d->p[0]);
        o[0] = *d->p++;
        return PARLEY_OK;
    case PARLEY_KIND_ENUM: {
        int32_t v;
        st = need(d, path, 4);
        if (st != PARLEY_OK)
            return st;
        v = (int32_t)parley__get_u32(d->p);
        if (!parley__enum_has_value(t, v))
            return FAIL(d, PARLEY_ERR_MALFORMED, path,
                        (t->flags & PARLEY_TYPE_FLAGS) ? "value %d is not an OR of %s flags"
                                                       : "value %d is not a declared %s",
                        (int)v, t->name);
        d->p += 4;
        parley__store_int(t, obj, v);
        return PARLEY_OK;
    }
    case PARLEY_KIND_STRING:
        return decode_string(d, t, obj, holder, path);
    case PARLEY_KIND_BYTES:
        return decode_bytes(d, t, obj, holder, path);
    case PARLEY_KIND_STRUCT:
        for (size_t i = 0; i < t->n_fields; i++) {
            const parley_type *ft = t->fields[i].type;
            node.name = t->fields[i].name;
            if (parley__kind_is_fixed(ft->kind))    /* the common case, without recursion */
                st = decode_fixed(d, ft, o + t->fields[i].offset, &node);
            else
                st = parley__dec_value(d, ft, o + t->fields[i].offset, holder, &node, depth);
            if (st != PARLEY_OK)
                return st;
        }
        return PARLEY_OK;
    case PARLEY_KIND_UNION:
        return decode_union(d, t, o, holder, path, depth);
    case PARLEY_KIND_ARRAY: {
        parley__plan plan;
        bool flat = parley__plan_build(t->elem, &plan) && parley__plan_prepare_decode(&plan);
        return decode_elems(d, t->elem, o, t->bound, holder, flat ? &plan : NULL, path, depth);
    }
    case PARLEY_KIND_SEQUENCE:
        return decode_sequence(d, t, obj, holder, path, depth);
    case PARLEY_KIND_OPTIONAL:
        return decode_optional(d, t, obj, holder, path, depth);
    case PARLEY_KIND_HANDLE:
        return decode_handle(d, t, obj, path);
    case PARLEY_KIND_FD:
        return decode_fd(d, obj, path);
    }
    return FAIL(d, PARLEY_ERR_INVALID_ARGUMENT, path, "unknown type kind %d", (int)t->kind);
}

static void dec_init(dec *d, const parley_type *type, const void *data, size_t len,
                     parley_codec *codec)
{
    memset(d, 0, sizeof(*d));
    d->p = data;
    d->end = d->p + len;
    d->codec = codec;
    d->max_depth = codec != NULL && codec->max_depth != 0 ? codec->max_depth
                                                          : PARLEY_DEFAULT_MAX_DEPTH;
    d->top = type;
    d->len = len;
    d->compact = codec != NULL && (codec->flags & PARLEY_DECODE_COMPACT) != 0;
}

/* Unknown bits in codec->flags: INVALID_ARGUMENT. */
static parley_status check_flags(const char *fn, const parley_codec *codec)
{
    if (codec != NULL && (codec->flags & ~PARLEY_DECODE_COMPACT) != 0)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "%s: unknown codec flags 0x%x", fn,
                             codec->flags & ~PARLEY_DECODE_COMPACT);
    return PARLEY_OK;
}

static parley_status check_trailing(dec *d)
{
    if (d->p != d->end)
        return FAIL(d, PARLEY_ERR_MALFORMED, NULL, "%zu trailing bytes", remain(d));
    return PARLEY_OK;
}

/*
 * The top object of a small decode is a talloc pool that its strings, blobs,
 * arrays and optionals are carved from: one malloc instead of one per chunk,
 * and freeing the graph frees the pool once.  Sized from the input: the
 * memory a value takes is about its wire size plus a talloc header per
 * chunk; what does not fit falls back to plain allocations.  Larger inputs
 * are dominated by their big chunks and take no pool (nor waste one).
 * parley-bench codec (c), 411 wire bytes, 14 chunks: decode 500 -> 445 ns.
 * Compact mode takes no pool: its graph is one or two arena chunks, and a
 * plain top chunk beside them costs less (callgrind, (c) decode + free:
 * 3,230 instructions with a pool, 2,870 without).
 */
#define POOL_MAX_INPUT 16384u

static void *alloc_top(TALLOC_CTX *mem_ctx, const parley_type *type, size_t len, bool compact)
{
    void *obj;

    if (len > 0 && len <= POOL_MAX_INPUT && !compact)
        obj = _talloc_pooled_object(mem_ctx, type->size, type->name,
                                    (unsigned)(len / 16 + 4), 2 * len + 64);
    else
        obj = talloc_named_const(mem_ctx, type->size, type->name);
    if (obj != NULL)
        memset(obj, 0, type->size);
    return obj;
}

PARLEY_PUBLIC parley_status parley_data_decode(TALLOC_CTX *mem_ctx, const parley_type *type,
                                               const void *data, size_t len,
                                               parley_codec *codec, void **ret_value)
{
    dec d;
    void *obj;
    const parley__prog *pg;
    parley_status st;

    if (type == NULL || ret_value == NULL || (data == NULL && len > 0))
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_data_decode: type, data and ret_value must not be NULL");
    st = check_flags("parley_data_decode", codec);
    if (st != PARLEY_OK)
        return st;
    dec_init(&d, type, data != NULL ? data : (const void *)"", len, codec);
    /* The top object is created under mem_ctx at once and is the failure
     * root: everything decoded hangs under it, so freeing it on failure
     * leaves nothing behind (no temporary context and steal). */
    obj = alloc_top(mem_ctx, type, len, d.compact);
    if (obj == NULL)
        return parley__dec_nomem(&d, NULL, type->size);
    d.owner = obj;
    pg = parley__prog_get(type);
    if (pg != NULL) {
        if (parley__dec_prog(&d, pg, obj, obj, 0) == PARLEY_OK && d.p == d.end) {
            *ret_value = obj;
            return PARLEY_OK;
        }
        /* again by the walk, for the message with its path */
        talloc_free(obj);
        dec_init(&d, type, data != NULL ? data : (const void *)"", len, codec);
        obj = alloc_top(mem_ctx, type, len, d.compact);
        if (obj == NULL)
            return parley__dec_nomem(&d, NULL, type->size);
        d.owner = obj;
    }
    st = parley__dec_value(&d, type, obj, obj, NULL, 0);
    if (st == PARLEY_OK)
        st = check_trailing(&d);
    if (st != PARLEY_OK) {
        talloc_free(obj);
        goto done;
    }
    *ret_value = obj;
done:
    TALLOC_FREE(d.fd_used);
    return st;
}

/* decode_into's state: value zeroed, a temporary context that records what
 * is allocated directly under it. */
static bool into_init(dec *d, const parley_type *type, const void *data, size_t len,
                      parley_codec *codec, void *value)
{
    memset(value, 0, type->size);
    dec_init(d, type, data != NULL ? data : (const void *)"", len, codec);
    d->tmp = talloc_new(NULL);
    d->record = true;
    d->owner = d->tmp;
    return d->tmp != NULL;
}

PARLEY_PUBLIC parley_status parley_data_decode_into(TALLOC_CTX *mem_ctx, const parley_type *type,
                                                    const void *data, size_t len,
                                                    parley_codec *codec, void *value)
{
    dec d;
    const parley__prog *pg;
    parley_status st;

    if (type == NULL || value == NULL || (data == NULL && len > 0))
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_data_decode_into: type, data and value must not be NULL");
    st = check_flags("parley_data_decode_into", codec);
    if (st != PARLEY_OK) {
        memset(value, 0, type->size);
        return st;
    }
    if (!into_init(&d, type, data, len, codec, value))
        return parley__error(PARLEY_ERR_NOMEM, "decode %s: out of memory", type->name);
    pg = parley__prog_get(type);
    if (pg != NULL) {
        st = parley__dec_prog(&d, pg, value, d.tmp, 0);
        if (st == PARLEY_OK && d.p == d.end)
            goto done_ok;
        /* again by the walk, for the message with its path */
        TALLOC_FREE(d.tmp);
        if (!into_init(&d, type, data, len, codec, value))
            return parley__error(PARLEY_ERR_NOMEM, "decode %s: out of memory", type->name);
    }
    st = parley__dec_value(&d, type, value, d.tmp, NULL, 0);
    if (st == PARLEY_OK)
        st = check_trailing(&d);
    if (st != PARLEY_OK) {
        memset(value, 0, type->size);
        goto done;
    }
done_ok:
    for (size_t i = 0; i < d.n_allocs; i++)
        talloc_steal(mem_ctx, d.allocs[i]);
done:
    TALLOC_FREE(d.fd_used);
    TALLOC_FREE(d.tmp);
    return st;
}
