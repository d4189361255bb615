/* SPDX-License-Identifier: MIT */
/* JSON encode: a C object graph -> jansson values -> JSON text (doc/json.md). */
#include "config.h"

#include <math.h>
#include <string.h>

#include <jansson.h>

#include "json.h"
#include "status.h"

typedef struct jenc {
    const parley_type *top;
    const parley_codec *codec;  /* may be NULL */
    unsigned max_depth;
    unsigned flags;
} jenc;

#define FAIL(e, st, path, ...) \
    parley__codec_error((st), "JSON encode", (e)->top, (path), __VA_ARGS__)

static parley_status enc_value(jenc *e, const parley_type *t, const void *obj,
                               const parley__path *path, unsigned depth, json_t **ret);

static parley_status nomem(jenc *e, const parley__path *path)
{
    return FAIL(e, PARLEY_ERR_NOMEM, path, "out of memory");
}

/* Store a new jansson value (NULL: out of memory). */
static parley_status give(jenc *e, const parley__path *path, json_t *j, json_t **ret)
{
    if (j == NULL)
        return nomem(e, path);
    *ret = j;
    return PARLEY_OK;
}

static parley_status enc_int(jenc *e, const parley_type *t, const void *obj,
                             const parley__path *path, json_t **ret)
{
    int64_t v = parley__load_int(obj, t->kind);
    char digits[24];

    if (t->kind == PARLEY_KIND_UINT64) {
        uint64_t u = (uint64_t)v;
        if (u < (uint64_t)PARLEY__JSON_SAFE_INT)
            return give(e, path, json_integer((json_int_t)u), ret);
        snprintf(digits, sizeof(digits), "%llu", (unsigned long long)u);
        return give(e, path, json_string_nocheck(digits), ret);
    }
    if (t->kind == PARLEY_KIND_INT64 &&
        (v <= -PARLEY__JSON_SAFE_INT || v >= PARLEY__JSON_SAFE_INT)) {
        snprintf(digits, sizeof(digits), "%lld", (long long)v);
        return give(e, path, json_string_nocheck(digits), ret);
    }
    return give(e, path, json_integer((json_int_t)v), ret);
}

/* Floats: JSON has no NaN or infinities; they are strings. */
static parley_status enc_real(jenc *e, double d, const parley__path *path, json_t **ret)
{
    if (isnan(d))
        return give(e, path, json_string_nocheck("NaN"), ret);
    if (isinf(d))
        return give(e, path, json_string_nocheck(d > 0 ? "Infinity" : "-Infinity"), ret);
    return give(e, path, json_real(d), ret);
}

static parley_status enc_enum(jenc *e, const parley_type *t, const void *obj,
                              const parley__path *path, json_t **ret)
{
    int64_t v = parley__load_int(obj, PARLEY_KIND_ENUM);
    json_t *arr;
    uint32_t left;

    if (!parley__enum_has_value(t, v))
        return FAIL(e, PARLEY_ERR_INVALID_ARGUMENT, path,
                    (t->flags & PARLEY_TYPE_FLAGS) ? "value %lld is not an OR of %s flags"
                                                   : "value %lld is not a declared %s",
                    (long long)v, TNAME(t));
    if (!(t->flags & PARLEY_TYPE_FLAGS)) {
        for (size_t i = 0; i < t->n_values; i++)
            if (t->values[i].value == v)
                return give(e, path, json_string(t->values[i].name), ret);
        return FAIL(e, PARLEY_ERR_INTERNAL, path, "declared value %lld has no name", (long long)v);
    }
    /* flags: the names whose bits are all set, in declaration order */
    arr = json_array();
    if (arr == NULL)
        return nomem(e, path);
    left = (uint32_t)(int32_t)v;
    for (size_t i = 0; i < t->n_values && left != 0; i++) {
        uint32_t bit = (uint32_t)t->values[i].value;
        if (bit != 0 && (left & bit) == bit) {
            if (json_array_append_new(arr, json_string(t->values[i].name)) != 0) {
                json_decref(arr);
                return nomem(e, path);
            }
            left &= ~bit;
        }
    }
    if (left != 0) {
        /* bits only covered by overlapping names: write the rest as a number */
        if (json_array_append_new(arr, json_integer(left)) != 0) {
            json_decref(arr);
            return nomem(e, path);
        }
    }
    *ret = arr;
    return PARLEY_OK;
}

static parley_status enc_string(jenc *e, const parley_type *t, const char *s,
                                const parley__path *path, json_t **ret)
{
    size_t len, bad;

    if (s == NULL)
        return FAIL(e, PARLEY_ERR_INVALID_ARGUMENT, path, "string is NULL");
    len = strlen(s);
    if (t->bound != 0 && len > t->bound)
        return FAIL(e, PARLEY_ERR_INVALID_ARGUMENT, path,
                    "string of %zu bytes longer than its bound %u", len, (unsigned)t->bound);
    bad = parley__utf8_check((const uint8_t *)s, len);
    if (bad != len)
        return FAIL(e, PARLEY_ERR_INVALID_ARGUMENT, path, "invalid UTF-8 at byte %zu", bad);
    return give(e, path, json_stringn_nocheck(s, len), ret);
}

static parley_status enc_bytes(jenc *e, const parley_type *t, const void *obj,
                               const parley__path *path, json_t **ret)
{
    parley_bytes b;
    char *text;
    json_t *j;

    memcpy(&b, obj, sizeof(b));
    if (t->bound != 0 && b.len > t->bound)
        return FAIL(e, PARLEY_ERR_INVALID_ARGUMENT, path,
                    "%zu bytes longer than their bound %u", b.len, (unsigned)t->bound);
    if (b.len > 0 && b.data == NULL)
        return FAIL(e, PARLEY_ERR_INVALID_ARGUMENT, path, "%zu bytes at a NULL pointer", b.len);
    if (b.len > (SIZE_MAX - 4) / 4 * 3)
        return FAIL(e, PARLEY_ERR_OVERFLOW, path, "%zu bytes are too many for base64", b.len);
    text = talloc_size(NULL, PARLEY__BASE64_LEN(b.len) + 1);
    if (text == NULL)
        return nomem(e, path);
    parley__base64_encode(b.data, b.len, text);
    j = json_stringn_nocheck(text, PARLEY__BASE64_LEN(b.len));
    talloc_free(text);
    return give(e, path, j, ret);
}

/* A member of a struct or union: redacted, or the value. */
static parley_status enc_member(jenc *e, json_t *o, const char *name, unsigned mflags,
                                const parley_type *t, const void *obj,
                                const parley__path *node, unsigned depth)
{
    json_t *j = NULL;
    parley_status st;

    if ((mflags & PARLEY_FIELD_SENSITIVE) && !(e->flags & PARLEY_JSON_SENSITIVE)) {
        j = json_pack("{sb}", PARLEY__JSON_REDACTED, 1);
        if (j == NULL)
            return nomem(e, node);
    } else {
        st = enc_value(e, t, obj, node, depth, &j);
        if (st != PARLEY_OK)
            return st;
    }
    if (json_object_set_new(o, name, j) != 0) {         /* takes j, even on failure */
        if (parley__utf8_check((const uint8_t *)name, strlen(name)) != strlen(name))
            return FAIL(e, PARLEY_ERR_INVALID_ARGUMENT, node, "member name is not UTF-8");
        return nomem(e, node);
    }
    return PARLEY_OK;
}

static parley_status enc_struct(jenc *e, const parley_type *t, const uint8_t *o,
                                const parley__path *path, unsigned depth, json_t **ret)
{
    parley__path node = { path, NULL, 0 };
    json_t *obj = json_object();

    if (obj == NULL)
        return nomem(e, path);
    for (size_t i = 0; i < t->n_fields; i++) {
        const parley_field *f = &t->fields[i];
        parley_status st;
        node.name = f->name;
        st = enc_member(e, obj, f->name, f->flags, f->type, o + f->offset, &node, depth);
        if (st != PARLEY_OK) {
            json_decref(obj);
            return st;
        }
    }
    *ret = obj;
    return PARLEY_OK;
}

static parley_status enc_union(jenc *e, const parley_type *t, const uint8_t *o,
                               const parley__path *path, unsigned depth, json_t **ret)
{
    const parley_type *dt = t->discriminator;
    const char *dname = t->discriminator_name != NULL ? t->discriminator_name : "discriminator";
    int64_t v = parley__load_int(o + t->discriminator_offset, dt->kind);
    const parley_arm *arm = parley__union_arm(t, v);
    parley__path node = { path, dname, 0 };
    json_t *obj, *dj = NULL;
    parley_status st;

    if (arm == NULL)
        return FAIL(e, PARLEY_ERR_INVALID_ARGUMENT, path,
                    "discriminator %lld is not a declared arm",
                    (long long)v);
    st = enc_value(e, dt, o + t->discriminator_offset, &node, depth, &dj);
    if (st != PARLEY_OK)
        return st;
    obj = json_object();
    if (obj == NULL) {
        json_decref(dj);
        return nomem(e, path);
    }
    if (json_object_set_new(obj, dname, dj) != 0) {     /* takes dj, even on failure */
        json_decref(obj);
        return nomem(e, path);
    }
    if (arm->type != NULL) {
        node.name = arm->name != NULL ? arm->name : "default";
        st = enc_member(e, obj, node.name, arm->flags, arm->type, o + arm->offset, &node, depth);
        if (st != PARLEY_OK) {
            json_decref(obj);
            return st;
        }
    }
    *ret = obj;
    return PARLEY_OK;
}

static parley_status enc_items(jenc *e, const parley_type *elem, const uint8_t *items, size_t n,
                               const parley__path *path, unsigned depth, json_t **ret)
{
    parley__path node = { path, NULL, 0 };
    json_t *arr = json_array();

    if (arr == NULL)
        return nomem(e, path);
    for (size_t i = 0; i < n; i++) {
        json_t *j = NULL;
        parley_status st;
        node.index = i;
        st = enc_value(e, elem, items + i * elem->size, &node, depth, &j);
        if (st == PARLEY_OK && json_array_append_new(arr, j) != 0)
            st = nomem(e, &node);
        if (st != PARLEY_OK) {
            json_decref(arr);
            return st;
        }
    }
    *ret = arr;
    return PARLEY_OK;
}

static parley_status enc_handle(jenc *e, const parley_type *t, const void *obj,
                                const parley__path *path, json_t **ret)
{
    parley_handle *h;
    json_t *j;

    memcpy(&h, obj, sizeof(h));
    if (h == NULL)
        return FAIL(e, PARLEY_ERR_INVALID_ARGUMENT, path, "handle is NULL");
    j = json_pack("{ss}", "handle", TNAME(t));
    if (j == NULL)
        return nomem(e, path);
    if (e->codec != NULL && e->codec->handles != NULL && e->codec->handles->to_wire != NULL) {
        uint32_t id = 0;
        parley_status st = e->codec->handles->to_wire(e->codec->handle_data, t, h, &id);
        if (st != PARLEY_OK) {
            json_decref(j);
            return FAIL(e, st, path, "handle %s rejected: %s", TNAME(t),
                        parley_status_string(st));
        }
        if (json_object_set_new(j, "id", json_integer(id)) != 0) {
            json_decref(j);
            return nomem(e, path);
        }
    }
    *ret = j;
    return PARLEY_OK;
}

static parley_status enc_value(jenc *e, const parley_type *t, const void *obj,
                               const parley__path *path, unsigned depth, json_t **ret)
{
    switch (t->kind) {
    case PARLEY_KIND_INT8: case PARLEY_KIND_INT16: case PARLEY_KIND_INT32:
    case PARLEY_KIND_INT64: case PARLEY_KIND_UINT8: case PARLEY_KIND_UINT16:
    case PARLEY_KIND_UINT32: case PARLEY_KIND_UINT64:
        return enc_int(e, t, obj, path, ret);
    case PARLEY_KIND_BOOL:
        /* read as a byte: never load a bool that is not 0/1 */
        return give(e, path, json_boolean(*(const uint8_t *)obj != 0), ret);
    case PARLEY_KIND_FLOAT: {
        float f;
        memcpy(&f, obj, sizeof(f));
        return enc_real(e, (double)f, path, ret);
    }
    case PARLEY_KIND_DOUBLE: {
        double d;
        memcpy(&d, obj, sizeof(d));
        return enc_real(e, d, path, ret);
    }
    case PARLEY_KIND_ENUM:
        return enc_enum(e, t, obj, path, ret);
    case PARLEY_KIND_STRING: {
        const char *s;
        memcpy(&s, obj, sizeof(s));
        return enc_string(e, t, s, path, ret);
    }
    case PARLEY_KIND_BYTES:
        return enc_bytes(e, t, obj, path, ret);
    case PARLEY_KIND_STRUCT:
        return enc_struct(e, t, obj, path, depth, ret);
    case PARLEY_KIND_UNION:
        return enc_union(e, t, obj, path, depth, ret);
    case PARLEY_KIND_ARRAY:
        return enc_items(e, t->elem, obj, t->bound, path, depth, ret);
    case PARLEY_KIND_SEQUENCE: {
        parley_seq s;
        memcpy(&s, obj, sizeof(s));
        if (t->bound != 0 && s.n > t->bound)
            return FAIL(e, PARLEY_ERR_INVALID_ARGUMENT, path,
                        "sequence of %zu items longer than its bound %u", s.n,
                        (unsigned)t->bound);
        if (s.n > 0 && s.items == NULL)
            return FAIL(e, PARLEY_ERR_INVALID_ARGUMENT, path, "%zu items at a NULL pointer", s.n);
        if (s.n > 0 && depth >= e->max_depth)
            return FAIL(e, PARLEY_ERR_OVERFLOW, path, "nested deeper than %u levels",
                        e->max_depth);
        return enc_items(e, t->elem, s.items, s.n, path, depth + 1, ret);
    }
    case PARLEY_KIND_OPTIONAL: {
        const void *ptr;
        memcpy(&ptr, obj, sizeof(ptr));
        if (ptr == NULL)
            return give(e, path, json_null(), ret);
        if (depth >= e->max_depth)
            return FAIL(e, PARLEY_ERR_OVERFLOW, path, "nested deeper than %u levels",
                        e->max_depth);
        return enc_value(e, t->elem, parley__optional_is_inline(t->elem) ? obj : ptr, path,
                         depth + 1, ret);
    }
    case PARLEY_KIND_HANDLE:
        return enc_handle(e, t, obj, path, ret);
    case PARLEY_KIND_FD: {
        int fd;
        memcpy(&fd, obj, sizeof(fd));
        if (fd < 0)
            return FAIL(e, PARLEY_ERR_INVALID_ARGUMENT, path, "negative fd %d", fd);
        return give(e, path, json_pack("{si}", "fd", fd), ret);
    }
    }
    return FAIL(e, PARLEY_ERR_INVALID_ARGUMENT, path, "unknown type kind %d", (int)t->kind);
}

/* json_dump_callback sink: append to a talloc buffer (NULL once out of memory). */
struct sink {
    char *buf;
    size_t len;
};

static int sink_write(const char *data, size_t size, void *arg)
{
    struct sink *s = arg;
    char *nb;

    if (s->buf == NULL || size > SIZE_MAX - s->len - 1)
        return -1;
    if (s->len + size + 1 > talloc_get_size(s->buf)) {
        size_t cap = talloc_get_size(s->buf) * 2;
        if (cap < s->len + size + 1)
            cap = s->len + size + 1;
        nb = talloc_realloc(NULL, s->buf, char, cap);
        if (nb == NULL) {
            TALLOC_FREE(s->buf);
            return -1;
        }
        s->buf = nb;
    }
    memcpy(s->buf + s->len, data, size);
    s->len += size;
    s->buf[s->len] = '\0';
    return 0;
}

parley_status parley__json_encode(TALLOC_CTX *mem_ctx, const parley_type *type,
                                  const void *value, const parley_codec *codec,
                                  unsigned flags, char **ret_json)
{
    jenc e = { type, codec, PARLEY_DEFAULT_MAX_DEPTH, flags };
    struct sink sink = { NULL, 0 };
    size_t dump_flags = JSON_ENCODE_ANY | JSON_REAL_PRECISION(17);
    json_t *root = NULL;
    char *shrunk;
    parley_status st;

    if (codec != NULL && codec->max_depth != 0)
        e.max_depth = codec->max_depth;
    st = enc_value(&e, type, value, NULL, 0, &root);
    if (st != PARLEY_OK)
        return st;
    dump_flags |= (flags & PARLEY_JSON_PRETTY) ? JSON_INDENT(2) : JSON_COMPACT;
    sink.buf = talloc_array(NULL, char, 256);
    if (sink.buf != NULL)
        sink.buf[0] = '\0';
    if (sink.buf == NULL || json_dump_callback(root, sink_write, &sink, dump_flags) != 0) {
        TALLOC_FREE(sink.buf);
        json_decref(root);
        return nomem(&e, NULL);
    }
    json_decref(root);
    shrunk = talloc_realloc(NULL, sink.buf, char, sink.len + 1);
    *ret_json = talloc_steal(mem_ctx, shrunk != NULL ? shrunk : sink.buf);
    return PARLEY_OK;
}
