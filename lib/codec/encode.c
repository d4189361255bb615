/* SPDX-License-Identifier: MIT */
/* Encode: C object graph -> wire bytes (size pass, caller buffer, talloc buffer). */
#include "config.h"

#include <string.h>

#include <talloc.h>

#include "codec.h"
#include "program.h"
#include "status.h"

/* The longest encoding: frames carry a u32 length. */
#define ENCODE_LIMIT ((size_t)UINT32_MAX)

typedef struct enc {
    uint8_t *buf;               /* NULL in the size pass */
    size_t len;                 /* bytes produced so far */
    size_t cap;                 /* bytes available at buf (or the limit) */
    bool growable;              /* buf is a talloc chunk reserve() may grow */
    parley_codec *codec;        /* may be NULL */
    unsigned max_depth;
    const parley_type *top;
    size_t n_fds;
} enc;

#define FAIL(e, st, path, ...) parley__codec_error((st), "encode", (e)->top, (path), __VA_ARGS__)

static parley_status encode_value(enc *e, const parley_type *t, const void *obj,
                                  const parley__path *path, unsigned depth);

/* Grow a growable buffer to hold n more bytes: at least double, and at once
 * to the size a large blob or flat run needs. */
static parley_status grow(enc *e, const parley__path *path, size_t n)
{
    size_t want, cap;
    uint8_t *nb;

    if (n > ENCODE_LIMIT - e->len)
        return FAIL(e, PARLEY_ERR_OVERFLOW, path, "encoding longer than 4 GiB");
    want = e->len + n;
    cap = e->cap > ENCODE_LIMIT / 2 ? ENCODE_LIMIT : e->cap * 2;
    if (cap < want)
        cap = want;
    nb = talloc_realloc_size(NULL, e->buf, cap);
    if (nb == NULL)
        return FAIL(e, PARLEY_ERR_NOMEM, path, "out of memory for %zu bytes", cap);
    e->buf = nb;
    e->cap = cap;
    return PARLEY_OK;
}

/* Claim n bytes of output; *ret_p is where to write them (NULL when sizing). */
static inline parley_status reserve(enc *e, const parley__path *path, size_t n, uint8_t **ret_p)
{
    if (n > e->cap - e->len) {
        if (e->growable) {
            parley_status st = grow(e, path, n);
            if (st != PARLEY_OK)
                return st;
        } else if (e->buf != NULL && e->cap < ENCODE_LIMIT) {
            return FAIL(e, PARLEY_ERR_OVERFLOW, path,
                        "encoding longer than the buffer of %zu bytes", e->cap);
        } else {
            return FAIL(e, PARLEY_ERR_OVERFLOW, path, "encoding longer than 4 GiB");
        }
    }
    *ret_p = e->buf != NULL ? e->buf + e->len : NULL;
    e->len += n;
    return PARLEY_OK;
}

static parley_status put_u32(enc *e, const parley__path *path, uint32_t v)
{
    uint8_t *p = NULL;
    parley_status st = reserve(e, path, 4, &p);
    if (st == PARLEY_OK && p != NULL)
        parley__put_u32(p, v);
    return st;
}

static parley_status put_blob(enc *e, const parley__path *path, const void *data, size_t len)
{
    uint8_t *p = NULL;
    parley_status st;

    if (len > ENCODE_LIMIT)
        return FAIL(e, PARLEY_ERR_OVERFLOW, path, "length %zu does not fit 32 bits", len);
    st = reserve(e, path, 4 + len, &p);
    if (st == PARLEY_OK && p != NULL) {
        parley__put_u32(p, (uint32_t)len);
        if (len > 0)
            memcpy(p + 4, data, len);
    }
    return st;
}

/* An integer, float or double: its memory bytes in little-endian order. */
static parley_status encode_fixed(enc *e, const parley_type *t, const void *obj,
                                  const parley__path *path)
{
    uint8_t *p = NULL;
    size_t w = parley__scalar_wire_size(t);
    parley_status st = reserve(e, path, w, &p);
    if (st != PARLEY_OK || p == NULL)
        return st;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, obj, w);
#else
    switch (w) {
    case 1: memcpy(p, obj, 1); break;
    case 2: { uint16_t v; memcpy(&v, obj, 2); parley__put_u16(p, v); break; }
    case 4: { uint32_t v; memcpy(&v, obj, 4); parley__put_u32(p, v); break; }
    default: { uint64_t v; memcpy(&v, obj, 8); parley__put_u64(p, v); break; }
    }
#endif
    return PARLEY_OK;
}

static parley_status encode_string(enc *e, const parley_type *t, const char *s,
                                   const parley__path *path)
{
    size_t len, bad;

    if (s == NULL)
        return FAIL(e, PARLEY_ERR_INVALID_ARGUMENT, path, "string is NULL");
    len = strlen(s);
    if (t->bound != 0 && len > t->bound)
        return FAIL(e, PARLEY_ERR_INVALID_ARGUMENT, path, "string longer than its bound %u",
                    (unsigned)t->bound);
    bad = parley__utf8_check((const uint8_t *)s, len);
    if (bad != len)
        return FAIL(e, PARLEY_ERR_INVALID_ARGUMENT, path, "invalid UTF-8 at byte %zu", bad);
    return put_blob(e, path, s, len);
}

static parley_status encode_bytes(enc *e, const parley_type *t, const void *obj,
                                  const parley__path *path)
{
    parley_bytes b;

    memcpy(&b, obj, sizeof(b));
    if (t->bound != 0 && b.len > t->bound)
        return FAIL(e, PARLEY_ERR_INVALID_ARGUMENT, path, "bytes longer than their bound %u",
                    (unsigned)t->bound);
    if (b.len > 0 && b.data == NULL)
        return FAIL(e, PARLEY_ERR_INVALID_ARGUMENT, path, "%zu bytes at a NULL pointer", b.len);
    return put_blob(e, path, b.data, b.len);
}

/* n consecutive elements of type t at base (an array or a sequence's items). */
static parley_status encode_elems(enc *e, const parley_type *t, const uint8_t *base, size_t n,
                                  const parley__path *path, unsigned depth)
{
    parley__plan plan;
    parley__path node = { path, NULL, 0 };

    if (n == 0)
        return PARLEY_OK;
    if (parley__plan_build(t, &plan)) {
        uint8_t *p = NULL;
        parley_status st;
        if (n > ENCODE_LIMIT / plan.wire_size)
            return FAIL(e, PARLEY_ERR_OVERFLOW, path, "encoding longer than 4 GiB");
        st = reserve(e, path, n * plan.wire_size, &p);
        if (st != PARLEY_OK || p == NULL)
            return st;
        if (plan.identical)
            memcpy(p, base, n * plan.size);
        else
            parley__plan_encode(&plan, p, base, n);
        return PARLEY_OK;
    }
    for (size_t i = 0; i < n; i++) {
        parley_status st;
        node.index = i;
        st = encode_value(e, t, base + i * t->size, &node, depth);
        if (st != PARLEY_OK)
            return st;
    }
    return PARLEY_OK;
}

static parley_status encode_union(enc *e, const parley_type *t, const uint8_t *obj,
                                  const parley__path *path, unsigned depth)
{
    const parley_type *dt = t->discriminator;
    int64_t v = parley__load_int(obj + t->discriminator_offset, dt->kind);
    const parley_arm *arm = parley__union_arm(t, v);
    parley__path node = { path, NULL, 0 };
    parley_status st;
    uint8_t *p = NULL;
    size_t w = parley__scalar_wire_size(dt);

    if (arm == NULL)
        return FAIL(e, PARLEY_ERR_INVALID_ARGUMENT, path,
                    "discriminator %lld is not a declared arm", (long long)v);
    if (dt->kind == PARLEY_KIND_ENUM && !parley__enum_has_value(dt, v))
        return FAIL(e, PARLEY_ERR_INVALID_ARGUMENT, path,
                    "discriminator %lld is not a declared %s value", (long long)v, dt->name);
    st = reserve(e, path, w, &p);
    if (st != PARLEY_OK)
        return st;
    if (p != NULL)
        parley__put_int(p, w, (uint64_t)v);
    if (arm->type == NULL)
        return PARLEY_OK;
    node.name = arm->name != NULL ? arm->name : "default";
    return encode_value(e, arm->type, obj + arm->offset, &node, depth);
}

static parley_status encode_handle(enc *e, const parley_type *t, const void *obj,
                                   const parley__path *path)
{
    parley_handle *h;
    uint32_t id = 0;

    memcpy(&h, obj, sizeof(h));
    if (e->codec == NULL || e->codec->handles == NULL || e->codec->handles->to_wire == NULL)
        return FAIL(e, PARLEY_ERR_UNSUPPORTED, path, "handle %s without codec handle hooks",
                    t->name);
    if (h == NULL)
        return FAIL(e, PARLEY_ERR_INVALID_ARGUMENT, path, "handle is NULL");
    if (e->buf != NULL) {
        parley_status st = e->codec->handles->to_wire(e->codec->handle_data, t, h, &id);
        if (st != PARLEY_OK)
            return FAIL(e, st, path, "handle %s rejected: %s", t->name, parley_status_string(st));
    }
    return put_u32(e, path, id);
}

static parley_status encode_fd(enc *e, const void *obj, const parley__path *path)
{
    int fd;

    memcpy(&fd, obj, sizeof(fd));
    if (e->codec == NULL || e->codec->fds == NULL)
        return FAIL(e, PARLEY_ERR_UNSUPPORTED, path, "fd without a codec fd array");
    if (fd < 0)
        return FAIL(e, PARLEY_ERR_INVALID_ARGUMENT, path, "fd %d is not a descriptor", fd);
    if (e->n_fds >= e->codec->max_fds)
        return FAIL(e, PARLEY_ERR_OVERFLOW, path, "more than %zu fds", e->codec->max_fds);
    if (e->buf != NULL)
        e->codec->fds[e->n_fds] = fd;
    return put_u32(e, path, (uint32_t)e->n_fds++);
}

static parley_status encode_value(enc *e, const parley_type *t, const void *obj,
                                  const parley__path *path, unsigned depth)
{
    const uint8_t *o = obj;
    parley__path node = { path, NULL, 0 };
    parley_status st;
    uint8_t *p = NULL;

    switch (t->kind) {
    case PARLEY_KIND_INT8: case PARLEY_KIND_INT16: case PARLEY_KIND_INT32:
    case PARLEY_KIND_INT64: case PARLEY_KIND_UINT8: case PARLEY_KIND_UINT16:
    case PARLEY_KIND_UINT32: case PARLEY_KIND_UINT64: case PARLEY_KIND_FLOAT:
    case PARLEY_KIND_DOUBLE:
        return encode_fixed(e, t, obj, path);
    case PARLEY_KIND_BOOL:
        st = reserve(e, path, 1, &p);
        if (st == PARLEY_OK && p != NULL)
            p[0] = o[0] != 0;   /* read as a byte: never load a bool that is not 0/1 */
        return st;
    case PARLEY_KIND_ENUM: {
        int64_t v = parley__load_int(obj, t->kind);
        if (!parley__enum_has_value(t, v))
            return FAIL(e, PARLEY_ERR_INVALID_ARGUMENT, path,
                        (t->flags & PARLEY_TYPE_FLAGS) ? "value %lld is not an OR of %s flags"
                                                       : "value %lld is not a declared %s",
                        (long long)v, t->name);
        return put_u32(e, path, (uint32_t)(int32_t)v);
    }
    case PARLEY_KIND_STRING: {
        const char *s;
        memcpy(&s, obj, sizeof(s));
        return encode_string(e, t, s, path);
    }
    case PARLEY_KIND_BYTES:
        return encode_bytes(e, t, obj, path);
    case PARLEY_KIND_STRUCT:
        for (size_t i = 0; i < t->n_fields; i++) {
            const parley_type *ft = t->fields[i].type;
            node.name = t->fields[i].name;
            if (parley__kind_is_fixed(ft->kind))    /* the common case, without recursion */
                st = encode_fixed(e, ft, o + t->fields[i].offset, &node);
            else
                st = encode_value(e, ft, o + t->fields[i].offset, &node, depth);
            if (st != PARLEY_OK)
                return st;
        }
        return PARLEY_OK;
    case PARLEY_KIND_UNION:
        return encode_union(e, t, o, path, depth);
    case PARLEY_KIND_ARRAY:
        return encode_elems(e, t->elem, o, t->bound, path, depth);
    case PARLEY_KIND_SEQUENCE: {
        parley_seq s;
        memcpy(&s, obj, sizeof(s));
        if (t->bound != 0 && s.n > t->bound)
            return FAIL(e, PARLEY_ERR_INVALID_ARGUMENT, path,
                        "sequence of %zu items longer than its bound %u", s.n,
                        (unsigned)t->bound);
        if (s.n > 0 && s.items == NULL)
            return FAIL(e, PARLEY_ERR_INVALID_ARGUMENT, path, "%zu items at a NULL pointer", s.n);
        if (s.n > ENCODE_LIMIT)
            return FAIL(e, PARLEY_ERR_OVERFLOW, path, "count %zu does not fit 32 bits", s.n);
        if (s.n > 0 && depth >= e->max_depth)
            return FAIL(e, PARLEY_ERR_OVERFLOW, path, "nested deeper than %u levels",
                        e->max_depth);
        st = put_u32(e, path, (uint32_t)s.n);
        if (st != PARLEY_OK)
            return st;
        return encode_elems(e, t->elem, s.items, s.n, path, depth + 1);
    }
    case PARLEY_KIND_OPTIONAL: {
        const void *ptr;
        memcpy(&ptr, obj, sizeof(ptr));
        st = reserve(e, path, 1, &p);
        if (st != PARLEY_OK)
            return st;
        if (p != NULL)
            p[0] = ptr != NULL;
        if (ptr == NULL)
            return PARLEY_OK;
        if (depth >= e->max_depth)
            return FAIL(e, PARLEY_ERR_OVERFLOW, path, "nested deeper than %u levels",
                        e->max_depth);
        return encode_value(e, t->elem, parley__optional_is_inline(t->elem) ? obj : ptr, path,
                            depth + 1);
    }
    case PARLEY_KIND_HANDLE:
        return encode_handle(e, t, obj, path);
    case PARLEY_KIND_FD:
        return encode_fd(e, obj, path);
    }
    return FAIL(e, PARLEY_ERR_INVALID_ARGUMENT, path, "unknown type kind %d", (int)t->kind);
}

/* ---- compiled programs (program.h) ------------------------------------------------
 *
 * The same encoding as encode_value(), op by op.  A failure returns its
 * status at once: the caller then runs encode_value() over the whole value,
 * which fails at the same place and reports it with the field path (the
 * programs cover no handle, so a second pass has no side effect). */

static parley_status run_prog(enc *e, const parley__prog *pg, const uint8_t *o, unsigned depth);

/* A value of type t at obj by its own program. */
static parley_status run_type(enc *e, const parley_type *t, const uint8_t *obj, unsigned depth)
{
    const parley__prog *pg = parley__prog_get(t);

    if (pg == NULL)
        return PARLEY__PROG_FALLBACK;
    return run_prog(e, pg, obj, depth);
}

static parley_status run_seq(enc *e, const parley__prog_op *op, const uint8_t *obj,
                             unsigned depth)
{
    const parley_type *t = op->type, *et = t->elem;
    parley_seq s;
    uint8_t *p = NULL;
    parley_status st;

    memcpy(&s, obj, sizeof(s));
    if ((t->bound != 0 && s.n > t->bound) || (s.n > 0 && s.items == NULL))
        return PARLEY_ERR_INVALID_ARGUMENT;
    if (s.n > ENCODE_LIMIT || (s.n > 0 && depth >= e->max_depth))
        return PARLEY_ERR_OVERFLOW;
    if (op->plan != NULL) {
        const parley__plan *pl = op->plan;
        if (s.n > (ENCODE_LIMIT - 4) / pl->wire_size)
            return PARLEY_ERR_OVERFLOW;
        st = reserve(e, NULL, 4 + s.n * pl->wire_size, &p);
        if (st != PARLEY_OK || p == NULL)
            return st;
        parley__put_u32(p, (uint32_t)s.n);
        if (s.n == 0)
            return PARLEY_OK;
        if (pl->identical)
            memcpy(p + 4, s.items, s.n * pl->size);
        else
            parley__plan_encode(pl, p + 4, s.items, s.n);
        return PARLEY_OK;
    }
    st = put_u32(e, NULL, (uint32_t)s.n);
    if (st != PARLEY_OK || s.n == 0)
        return st;
    {
        const parley__prog *pg = op->sub != NULL ? op->sub : parley__prog_get(et);
        const uint8_t *item = s.items;
        if (pg == NULL)
            return PARLEY__PROG_FALLBACK;
        for (size_t i = 0; i < s.n; i++, item += et->size) {
            st = run_prog(e, pg, item, depth + 1);
            if (st != PARLEY_OK)
                return st;
        }
    }
    return PARLEY_OK;
}

static parley_status run_union(enc *e, const parley_type *t, const parley__prog *const *arms,
                               const uint8_t *obj, unsigned depth)
{
    const parley__prog *sub;
    const parley_type *dt = t->discriminator;
    int64_t v = parley__load_int(obj + t->discriminator_offset, dt->kind);
    const parley_arm *arm = parley__union_arm(t, v);
    size_t w = parley__scalar_wire_size(dt);
    uint8_t *p = NULL;
    parley_status st;

    if (arm == NULL || (dt->kind == PARLEY_KIND_ENUM && !parley__enum_has_value(dt, v)))
        return PARLEY_ERR_INVALID_ARGUMENT;
    st = reserve(e, NULL, w, &p);
    if (st != PARLEY_OK)
        return st;
    if (p != NULL)
        parley__put_int(p, w, (uint64_t)v);
    if (arm->type == NULL)
        return PARLEY_OK;
    sub = arms[arm == t->default_arm ? t->n_arms : (size_t)(arm - t->arms)];
    if (sub != NULL)
        return run_prog(e, sub, obj + arm->offset, depth);
    return run_type(e, arm->type, obj + arm->offset, depth);
}

/* Make room for n more bytes at e->len (growing a growable buffer), without
 * claiming them; the failure statuses of reserve(). */
static parley_status make_room(enc *e, size_t n)
{
    uint8_t *p;
    parley_status st = reserve(e, NULL, n, &p);

    if (st == PARLEY_OK)
        e->len -= n;
    return st;
}

/* The output cursor lives in locals (len, room, out) while ops run, so that
 * stores through uint8_t pointers do not force it back to memory; it is
 * written back to e around calls that use e. */
#define CLAIM(n, ret_p)                                              \
    do {                                                             \
        if ((n) > room) {                                            \
            e->len = len;                                            \
            st = make_room(e, (n));                                  \
            if (st != PARLEY_OK)                                     \
                return st;                                           \
            out = e->buf;                                            \
            room = e->cap - len;                                     \
        }                                                            \
        (ret_p) = out != NULL ? out + len : NULL;                    \
        len += (n);                                                  \
        room -= (n);                                                 \
    } while (0)
#define SYNC_OUT() (e->len = len)
#define SYNC_IN() (len = e->len, out = e->buf, room = e->cap - e->len)

static parley_status run_prog(enc *e, const parley__prog *pg, const uint8_t *o, unsigned depth)
{
    const parley__prog_op *op = pg->ops, *end = pg->ops + pg->n_ops;
    parley_status st = PARLEY_OK;
    uint8_t *out = e->buf;
    size_t len = e->len, room = e->cap - e->len;

    for (; op < end; op++) {
        const uint8_t *obj = o + op->off;
        uint8_t *p;

        switch ((parley__prog_code)op->code) {
        case PARLEY__OP_FIXED:
            CLAIM(op->len, p);
            if (p != NULL)
                parley__copy_short(p, obj, op->len);
            break;
        case PARLEY__OP_BOOL:
            CLAIM(1, p);
            if (p != NULL)
                p[0] = obj[0] != 0;
            break;
        case PARLEY__OP_ENUM: {
            int32_t v;
            memcpy(&v, obj, 4);
            if (!parley__enum_has_value(op->type, v))
                return PARLEY_ERR_INVALID_ARGUMENT;
            CLAIM(4, p);
            if (p != NULL)
                parley__put_u32(p, (uint32_t)v);
            break;
        }
        case PARLEY__OP_STRING:
        case PARLEY__OP_OPT_STRING: {
            const char *s;
            size_t n;
            memcpy(&s, obj, sizeof(s));
            if (op->code == PARLEY__OP_OPT_STRING) {
                CLAIM(1, p);
                if (p != NULL)
                    p[0] = s != NULL;
                if (s == NULL)
                    break;
                if (depth >= e->max_depth)
                    return PARLEY_ERR_OVERFLOW;
            }
            if (s == NULL)
                return PARLEY_ERR_INVALID_ARGUMENT;
            n = strlen(s);
            if ((op->type->bound != 0 && n > op->type->bound) ||
                parley__utf8_check((const uint8_t *)s, n) != n)
                return PARLEY_ERR_INVALID_ARGUMENT;
            if (n > ENCODE_LIMIT - 4)
                return PARLEY_ERR_OVERFLOW;
            CLAIM(4 + n, p);
            if (p != NULL) {
                parley__put_u32(p, (uint32_t)n);
                parley__copy_short(p + 4, (const uint8_t *)s, n);
            }
            break;
        }
        case PARLEY__OP_BYTES: {
            parley_bytes b;
            memcpy(&b, obj, sizeof(b));
            if ((op->type->bound != 0 && b.len > op->type->bound) ||
                (b.len > 0 && b.data == NULL))
                return PARLEY_ERR_INVALID_ARGUMENT;
            if (b.len > ENCODE_LIMIT - 4)
                return PARLEY_ERR_OVERFLOW;
            CLAIM(4 + b.len, p);
            if (p != NULL) {
                parley__put_u32(p, (uint32_t)b.len);
                parley__copy_short(p + 4, b.data, b.len);
            }
            break;
        }
        case PARLEY__OP_SEQ:
            SYNC_OUT();
            st = run_seq(e, op, obj, depth);
            if (st != PARLEY_OK)
                return st;
            SYNC_IN();
            break;
        case PARLEY__OP_OPT: {
            const uint8_t *ptr;
            memcpy(&ptr, obj, sizeof(ptr));
            CLAIM(1, p);
            if (p != NULL)
                p[0] = ptr != NULL;
            if (ptr == NULL)
                break;
            if (depth >= e->max_depth)
                return PARLEY_ERR_OVERFLOW;
            SYNC_OUT();
            st = op->sub != NULL ? run_prog(e, op->sub, ptr, depth + 1)
                                 : run_type(e, op->type->elem, ptr, depth + 1);
            if (st != PARLEY_OK)
                return st;
            SYNC_IN();
            break;
        }
        case PARLEY__OP_UNION:
            SYNC_OUT();
            st = run_union(e, op->type, op->arms, obj, depth);
            if (st != PARLEY_OK)
                return st;
            SYNC_IN();
            break;
        }
    }
    SYNC_OUT();
    return PARLEY_OK;
}

#undef CLAIM
#undef SYNC_OUT
#undef SYNC_IN

/* The whole value: by its program when it has one, else (or to report a
 * failure with its path) by the generic walk. */
static parley_status encode_top(enc *e, const parley_type *type, const void *value)
{
    const parley__prog *pg = parley__prog_get(type);

    if (pg != NULL) {
        if (run_prog(e, pg, value, 0) == PARLEY_OK)
            return PARLEY_OK;
        e->len = 0;
        e->n_fds = 0;
    }
    return encode_value(e, type, value, NULL, 0);
}

static void enc_init(enc *e, const parley_type *type, parley_codec *codec, uint8_t *buf,
                     size_t cap)
{
    memset(e, 0, sizeof(*e));
    e->buf = buf;
    e->cap = cap < ENCODE_LIMIT || buf == NULL ? cap : ENCODE_LIMIT;
    e->codec = codec;
    e->max_depth = codec != NULL && codec->max_depth != 0 ? codec->max_depth
                                                          : PARLEY_DEFAULT_MAX_DEPTH;
    e->top = type;
}

PARLEY_PUBLIC parley_status parley_data_size(const parley_type *type, const void *value,
                                             parley_codec *codec, size_t *ret_size)
{
    enc e;
    parley_status st;

    if (type == NULL || value == NULL || ret_size == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_data_size: type, value and ret_size must not be NULL");
    enc_init(&e, type, codec, NULL, ENCODE_LIMIT);
    st = encode_top(&e, type, value);
    if (st != PARLEY_OK)
        return st;
    if (codec != NULL)
        codec->n_fds = e.n_fds;
    *ret_size = e.len;
    return PARLEY_OK;
}

PARLEY_PUBLIC parley_status parley_data_encode_to(const parley_type *type, const void *value,
                                                  parley_codec *codec, void *buf, size_t cap,
                                                  size_t *ret_len)
{
    static uint8_t empty[1];
    enc e;
    parley_status st;

    if (type == NULL || value == NULL || ret_len == NULL || (buf == NULL && cap > 0))
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_data_encode_to: type, value, buf and ret_len must not be NULL");
    enc_init(&e, type, codec, buf != NULL ? buf : empty, cap);
    st = encode_top(&e, type, value);
    if (st != PARLEY_OK)
        return st;
    if (codec != NULL)
        codec->n_fds = e.n_fds;
    *ret_len = e.len;
    return PARLEY_OK;
}

/* One pass into a buffer that grows geometrically (and straight to the size
 * of a large blob or flat run), then shrunk to fit.  Measured against sizing
 * first and writing once: the size pass costs about as much as the write
 * (367-byte zoo_all: 841 ns vs 468 ns for one pass), while growth adds a few
 * small reallocs; for a 1 MiB blob both allocate once. */
#define ENCODE_INITIAL 256

PARLEY_PUBLIC parley_status parley_data_encode(TALLOC_CTX *mem_ctx, const parley_type *type,
                                               const void *value, parley_codec *codec,
                                               uint8_t **ret_data, size_t *ret_len)
{
    enc e;
    parley_status st;

    if (type == NULL || value == NULL || ret_data == NULL || ret_len == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_data_encode: type, value, ret_data and ret_len must not be NULL");
    enc_init(&e, type, codec, NULL, 0);
    e.buf = talloc_named_const(NULL, ENCODE_INITIAL, "parley encoding");
    if (e.buf == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "encode %s: out of memory", type->name);
    e.cap = ENCODE_INITIAL;
    e.growable = true;
    st = encode_top(&e, type, value);
    if (st != PARLEY_OK)
        goto done;
    if (e.len < e.cap) {
        /* shrink to fit (a zero-size talloc_realloc would free the chunk) */
        uint8_t *nb = e.len > 0 ? talloc_realloc_size(NULL, e.buf, e.len)
                                : talloc_named_const(NULL, 0, "parley encoding");
        if (nb == NULL) {
            st = parley__error(PARLEY_ERR_NOMEM, "encode %s: out of memory", type->name);
            goto done;
        }
        if (nb != e.buf && e.len == 0)
            TALLOC_FREE(e.buf);
        e.buf = nb;
    }
    talloc_set_name_const(e.buf, "parley encoding");
    if (codec != NULL)
        codec->n_fds = e.n_fds;
    *ret_data = talloc_steal(mem_ctx, e.buf);
    *ret_len = e.len;
    e.buf = NULL;
done:
    TALLOC_FREE(e.buf);
    return st;
}
