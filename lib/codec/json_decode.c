/* SPDX-License-Identifier: MIT */
/* JSON decode: JSON text -> jansson values -> a C object graph under talloc,
 * checked as the wire decoder checks (doc/json.md). */
#include "config.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "json.h"
#include "status.h"

typedef struct jdec {
    const parley_type *top;
    const parley_codec *codec;  /* may be NULL */
    unsigned max_depth;
} jdec;

#define FAIL(d, st, path, ...) \
    parley__codec_error((st), "JSON decode", (d)->top, (path), __VA_ARGS__)

/* Room for what a type expects, with a list of names. */
#define EXPECT_MAX 320

static parley_status dec_value(jdec *d, const parley_type *t, const json_t *j, void *obj,
                               void *holder, const parley__path *path, unsigned depth);

/* ---- messages ------------------------------------------------------------------ */

static const char *found(const json_t *j, char *buf, size_t cap)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY:
        snprintf(buf, cap, "an array of %zu item%s", json_array_size(j),
                 json_array_size(j) == 1 ? "" : "s");
        return buf;
    case JSON_STRING:
        if (json_string_length(j) <= 40 &&
            memchr(json_string_value(j), 0, json_string_length(j)) == NULL)
            snprintf(buf, cap, "\"%s\"", json_string_value(j));
        else
            snprintf(buf, cap, "a string of %zu bytes", json_string_length(j));
        return buf;
    case JSON_INTEGER:
        snprintf(buf, cap, "%lld", (long long)json_integer_value(j));
        return buf;
    case JSON_REAL:
        snprintf(buf, cap, "%.17g", json_real_value(j));
        return buf;
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    case JSON_NULL: return "null";
    }
    return "something else";
}

/* The range of an integer kind. */
static void int_range(parley_kind k, int64_t *min, uint64_t *max)
{
    switch (k) {
    case PARLEY_KIND_INT8: *min = INT8_MIN; *max = INT8_MAX; break;
    case PARLEY_KIND_INT16: *min = INT16_MIN; *max = INT16_MAX; break;
    case PARLEY_KIND_INT32: *min = INT32_MIN; *max = INT32_MAX; break;
    case PARLEY_KIND_INT64: *min = INT64_MIN; *max = INT64_MAX; break;
    case PARLEY_KIND_UINT8: *min = 0; *max = UINT8_MAX; break;
    case PARLEY_KIND_UINT16: *min = 0; *max = UINT16_MAX; break;
    case PARLEY_KIND_UINT32: *min = 0; *max = UINT32_MAX; break;
    default: *min = 0; *max = UINT64_MAX; break;
    }
}

/* "ZOO_RED, ZOO_GREEN, ..." into buf, cut short with "..." */
static void names(const parley_type *t, char *buf, size_t cap)
{
    size_t len = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < t->n_values; i++) {
        int n = snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", t->values[i].name);
        if (n < 0 || (size_t)n >= cap - len - 4) {
            snprintf(buf + len, cap - len, "%s...", i ? ", " : "");
            return;
        }
        len += (size_t)n;
    }
}

/* What a value of type t must look like, for "expected ..." */
static const char *expected(const parley_type *t, char *buf, size_t cap)
{
    char list[EXPECT_MAX / 2];
    int64_t min;
    uint64_t max;

    switch (t->kind) {
    case PARLEY_KIND_INT8: case PARLEY_KIND_INT16: case PARLEY_KIND_INT32:
    case PARLEY_KIND_INT64: case PARLEY_KIND_UINT8: case PARLEY_KIND_UINT16:
    case PARLEY_KIND_UINT32: case PARLEY_KIND_UINT64:
        int_range(t->kind, &min, &max);
        snprintf(buf, cap, "an integer from %lld to %llu", (long long)min,
                 (unsigned long long)max);
        return buf;
    case PARLEY_KIND_BOOL: return "true or false";
    case PARLEY_KIND_FLOAT: case PARLEY_KIND_DOUBLE:
        return "a number (or \"NaN\", \"Infinity\", \"-Infinity\")";
    case PARLEY_KIND_ENUM:
        names(t, list, sizeof(list));
        if (t->flags & PARLEY_TYPE_FLAGS)
            snprintf(buf, cap, "%s flags: an array of names (%s) or a number", TNAME(t), list);
        else
            snprintf(buf, cap, "a %s name (%s) or its number", TNAME(t), list);
        return buf;
    case PARLEY_KIND_STRING:
        if (t->bound == 0)
            return "a string";
        snprintf(buf, cap, "a string of at most %u bytes", (unsigned)t->bound);
        return buf;
    case PARLEY_KIND_BYTES:
        if (t->bound == 0)
            return "a base64 string";
        snprintf(buf, cap, "a base64 string of at most %u bytes", (unsigned)t->bound);
        return buf;
    case PARLEY_KIND_STRUCT:
        snprintf(buf, cap, "an object (%s)", TNAME(t));
        return buf;
    case PARLEY_KIND_UNION:
        snprintf(buf, cap, "an object (%s) with its discriminator \"%s\"", TNAME(t),
                 t->discriminator_name ? t->discriminator_name : "discriminator");
        return buf;
    case PARLEY_KIND_ARRAY:
        snprintf(buf, cap, "an array of %u items", (unsigned)t->bound);
        return buf;
    case PARLEY_KIND_SEQUENCE:
        if (t->bound == 0)
            return "an array";
        snprintf(buf, cap, "an array of at most %u items", (unsigned)t->bound);
        return buf;
    case PARLEY_KIND_OPTIONAL: {
        char inner[EXPECT_MAX];
        snprintf(buf, cap, "null or %s", expected(t->elem, inner, sizeof(inner)));
        return buf;
    }
    case PARLEY_KIND_HANDLE:
        snprintf(buf, cap, "a handle object {\"handle\": \"%s\", \"id\": N}", TNAME(t));
        return buf;
    case PARLEY_KIND_FD:
        return "an fd object {\"fd\": N}";
    }
    return "a value of a known kind";
}

/* "expected <what t takes>, found <j>" */
static parley_status mismatch(jdec *d, const parley_type *t, const json_t *j,
                              const parley__path *path)
{
    char want[EXPECT_MAX], got[64];
    return FAIL(d, PARLEY_ERR_MALFORMED, path, "expected %s, found %s",
                expected(t, want, sizeof(want)), found(j, got, sizeof(got)));
}

static parley_status nomem(jdec *d, const parley__path *path, size_t size)
{
    return FAIL(d, PARLEY_ERR_NOMEM, path, "out of memory for %zu bytes", size);
}

/* ---- scalars ---------------------------------------------------------------------- */

enum int_form { INT_NOT, INT_OK, INT_HUGE };

/* j as an integer: a JSON integer, or a decimal string ("-12"). */
static enum int_form get_int(const json_t *j, bool *ret_neg, uint64_t *ret_mag)
{
    if (json_is_integer(j)) {
        json_int_t v = json_integer_value(j);
        *ret_neg = v < 0;
        *ret_mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
        return INT_OK;
    }
    if (json_is_string(j)) {
        const char *s = json_string_value(j);
        size_t len = json_string_length(j), i = 0;
        uint64_t mag = 0;
        bool huge = false;
        *ret_neg = len > 0 && s[0] == '-';
        i = *ret_neg ? 1 : 0;
        if (i == len)
            return INT_NOT;
        for (; i < len; i++) {
            if (s[i] < '0' || s[i] > '9')
                return INT_NOT;
            if (__builtin_mul_overflow(mag, 10, &mag) ||
                __builtin_add_overflow(mag, (uint64_t)(s[i] - '0'), &mag))
                huge = true;
        }
        *ret_mag = mag;
        return huge ? INT_HUGE : INT_OK;
    }
    return INT_NOT;
}

static parley_status dec_int(jdec *d, const parley_type *t, const json_t *j, void *obj,
                             const parley__path *path)
{
    bool neg = false;
    uint64_t mag = 0, max;
    int64_t min, v;
    enum int_form form = get_int(j, &neg, &mag);

    if (form == INT_NOT)
        return mismatch(d, t, j, path);
    int_range(t->kind, &min, &max);
    if (form == INT_HUGE || (neg && mag > (uint64_t)0 - (uint64_t)min) || (!neg && mag > max))
        return mismatch(d, t, j, path);
    v = neg ? (mag == 0 ? 0 : -(int64_t)(mag - 1) - 1) : (int64_t)mag;
    parley__store_int(t, obj, v);
    return PARLEY_OK;
}

static parley_status dec_real(jdec *d, const parley_type *t, const json_t *j, void *obj,
                              const parley__path *path)
{
    double v;

    if (json_is_number(j)) {
        v = json_number_value(j);
    } else if (json_is_string(j) && strcmp(json_string_value(j), "NaN") == 0) {
        v = NAN;
    } else if (json_is_string(j) && strcmp(json_string_value(j), "Infinity") == 0) {
        v = INFINITY;
    } else if (json_is_string(j) && strcmp(json_string_value(j), "-Infinity") == 0) {
        v = -INFINITY;
    } else {
        return mismatch(d, t, j, path);
    }
    if (t->kind == PARLEY_KIND_FLOAT) {
        float f;
        if (isfinite(v) && fabs(v) > FLT_MAX)
            return FAIL(d, PARLEY_ERR_MALFORMED, path,
                        "expected a number within float's range, found %g", v);
        f = (float)v;
        memcpy(obj, &f, sizeof(f));
    } else {
        memcpy(obj, &v, sizeof(v));
    }
    return PARLEY_OK;
}

/* Is name the IDL's short form of a declared name: the declared name is the
 * type's name in capitals, '_', then name ("OK" for kv_status's
 * "KV_STATUS_OK", as parley-idl names the constants)? */
static bool short_name_of(const parley_type *t, const char *declared, const char *name)
{
    size_t tl = t->name != NULL ? strlen(t->name) : 0;

    if (tl == 0 || strlen(declared) <= tl + 1 || declared[tl] != '_')
        return false;
    for (size_t i = 0; i < tl; i++) {
        char c = t->name[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (declared[i] != c)
            return false;
    }
    return strcmp(declared + tl + 1, name) == 0;
}

/* One enum value from a name (declared, or its short form) or a number;
 * false if j is none of these. */
static bool enum_one(const parley_type *t, const json_t *j, int64_t *ret)
{
    if (json_is_string(j)) {
        const char *name = json_string_value(j);
        for (size_t i = 0; i < t->n_values; i++)
            if (strcmp(t->values[i].name, name) == 0) {
                *ret = t->values[i].value;
                return true;
            }
        for (size_t i = 0; i < t->n_values; i++)
            if (short_name_of(t, t->values[i].name, name)) {
                *ret = t->values[i].value;
                return true;
            }
        return false;
    }
    if (json_is_integer(j)) {
        *ret = json_integer_value(j);
        return true;
    }
    return false;
}

static parley_status dec_enum(jdec *d, const parley_type *t, const json_t *j, void *obj,
                              const parley__path *path)
{
    int64_t v = 0;

    if ((t->flags & PARLEY_TYPE_FLAGS) && json_is_array(j)) {
        parley__path node = { path, NULL, 0 };
        size_t i;
        json_t *item;
        json_array_foreach(j, i, item) {
            int64_t one;
            node.index = i;
            if (!enum_one(t, item, &one) || !parley__enum_has_value(t, one))
                return mismatch(d, t, item, &node);
            v |= one;
        }
    } else if (!enum_one(t, j, &v) || !parley__enum_has_value(t, v)) {
        return mismatch(d, t, j, path);
    }
    parley__store_int(t, obj, v);
    return PARLEY_OK;
}

static parley_status dec_string(jdec *d, const parley_type *t, const json_t *j, void *obj,
                                void *holder, const parley__path *path)
{
    const char *src;
    size_t len, bad;
    const char *nul;
    char *s;

    if (!json_is_string(j))
        return mismatch(d, t, j, path);
    src = json_string_value(j);
    len = json_string_length(j);
    if (t->bound != 0 && len > t->bound) {
        char want[EXPECT_MAX];
        return FAIL(d, PARLEY_ERR_MALFORMED, path, "expected %s, found a string of %zu bytes",
                    expected(t, want, sizeof(want)), len);
    }
    nul = memchr(src, 0, len);
    if (nul != NULL)
        return FAIL(d, PARLEY_ERR_MALFORMED, path,
                    "expected a string without NUL, found \\u0000 at byte %zu",
                    (size_t)(nul - src));
    bad = parley__utf8_check((const uint8_t *)src, len);
    if (bad != len)
        return FAIL(d, PARLEY_ERR_MALFORMED, path, "invalid UTF-8 at byte %zu", bad);
    s = talloc_named_const(holder, len + 1, t->name);
    if (s == NULL)
        return nomem(d, path, len + 1);
    memcpy(s, src, len);
    s[len] = '\0';
    memcpy(obj, &s, sizeof(s));
    return PARLEY_OK;
}

static parley_status dec_bytes(jdec *d, const parley_type *t, const json_t *j, void *obj,
                               void *holder, const parley__path *path)
{
    parley_bytes b = { 0, NULL };
    const char *src;
    size_t len, bad = 0;
    uint8_t *buf;
    long n;

    if (!json_is_string(j))
        return mismatch(d, t, j, path);
    src = json_string_value(j);
    len = json_string_length(j);
    buf = talloc_named_const(holder, len / 4 * 3 + 3, t->name);
    if (buf == NULL)
        return nomem(d, path, len / 4 * 3 + 3);
    n = parley__base64_decode(src, len, buf, &bad);
    if (n < 0) {
        talloc_free(buf);
        return FAIL(d, PARLEY_ERR_MALFORMED, path,
                    "expected a base64 string, found a bad character or padding at byte %zu",
                    bad);
    }
    if (t->bound != 0 && (size_t)n > t->bound) {
        char want[EXPECT_MAX];
        talloc_free(buf);
        return FAIL(d, PARLEY_ERR_MALFORMED, path, "expected %s, found %ld bytes",
                    expected(t, want, sizeof(want)), n);
    }
    if (n == 0) {
        talloc_free(buf);
    } else {
        b.len = (size_t)n;
        b.data = talloc_realloc(holder, buf, uint8_t, b.len);
        if (b.data == NULL)
            b.data = buf;
        talloc_set_name_const(b.data, t->name);
    }
    memcpy(obj, &b, sizeof(b));
    return PARLEY_OK;
}

/* ---- members, structs, unions ----------------------------------------------------- */

/* The object encode writes for a redacted [sensitive] member. */
static bool is_redacted(const json_t *j)
{
    return json_is_object(j) && json_object_size(j) == 1 &&
           json_object_get(j, PARLEY__JSON_REDACTED) != NULL;
}

static parley_status dec_member(jdec *d, const parley_type *t, const json_t *j, void *obj,
                                void *holder, const parley__path *node, unsigned depth)
{
    if (j == NULL) {
        char want[EXPECT_MAX];
        if (t->kind == PARLEY_KIND_OPTIONAL)
            return PARLEY_OK;   /* left out: null */
        return FAIL(d, PARLEY_ERR_MALFORMED, node, "missing: expected %s",
                    expected(t, want, sizeof(want)));
    }
    if (is_redacted(j))
        return FAIL(d, PARLEY_ERR_MALFORMED, node,
                    "the value was redacted when it was encoded (encode with "
                    "PARLEY_JSON_SENSITIVE to keep it)");
    return dec_value(d, t, j, obj, holder, node, depth);
}

static parley_status dec_struct(jdec *d, const parley_type *t, const json_t *j, uint8_t *o,
                                void *holder, const parley__path *path, unsigned depth)
{
    parley__path node = { path, NULL, 0 };
    const char *key;
    json_t *val;

    if (!json_is_object(j))
        return mismatch(d, t, j, path);
    json_object_foreach((json_t *)j, key, val) {
        size_t i;
        for (i = 0; i < t->n_fields; i++)
            if (strcmp(t->fields[i].name, key) == 0)
                break;
        if (i == t->n_fields) {
            char list[EXPECT_MAX / 2];
            size_t len = 0;
            list[0] = '\0';
            for (size_t k = 0; k < t->n_fields && len + 4 < sizeof(list); k++) {
                int n = snprintf(list + len, sizeof(list) - len, "%s%s", k ? ", " : "",
                                 t->fields[k].name);
                if (n < 0 || (size_t)n >= sizeof(list) - len)
                    break;
                len += (size_t)n;
            }
            node.name = key;
            return FAIL(d, PARLEY_ERR_MALFORMED, &node, "unknown field of %s (its fields: %s)",
                        TNAME(t), t->n_fields ? list : "none");
        }
    }
    for (size_t i = 0; i < t->n_fields; i++) {
        const parley_field *f = &t->fields[i];
        parley_status st;
        node.name = f->name;
        st = dec_member(d, f->type, json_object_get(j, f->name), o + f->offset, holder, &node,
                        depth);
        if (st != PARLEY_OK)
            return st;
    }
    return PARLEY_OK;
}

static parley_status dec_union(jdec *d, const parley_type *t, const json_t *j, uint8_t *o,
                               void *holder, const parley__path *path, unsigned depth)
{
    const parley_type *dt = t->discriminator;
    const char *dname = t->discriminator_name != NULL ? t->discriminator_name : "discriminator";
    const char *aname;
    parley__path node = { path, dname, 0 };
    const parley_arm *arm;
    uint64_t dbuf = 0;
    const char *key;
    json_t *val;
    int64_t v;
    parley_status st;

    if (!json_is_object(j))
        return mismatch(d, t, j, path);
    st = dec_member(d, dt, json_object_get(j, dname), &dbuf, holder, &node, depth);
    if (st != PARLEY_OK)
        return st;
    v = parley__load_int(&dbuf, dt->kind);
    arm = parley__union_arm(t, v);
    if (arm == NULL)
        return FAIL(d, PARLEY_ERR_MALFORMED, &node,
                    "discriminator %lld is not a declared arm of %s",
                    (long long)v, TNAME(t));
    parley__store_int(dt, o + t->discriminator_offset, v);
    aname = arm->type == NULL ? NULL : arm->name != NULL ? arm->name : "default";
    json_object_foreach((json_t *)j, key, val) {
        if (strcmp(key, dname) == 0 || (aname != NULL && strcmp(key, aname) == 0))
            continue;
        node.name = key;
        if (aname == NULL)
            return FAIL(d, PARLEY_ERR_MALFORMED, &node,
                        "unknown field: %s %lld selects a void arm (only \"%s\")", dname,
                        (long long)v, dname);
        return FAIL(d, PARLEY_ERR_MALFORMED, &node,
                    "unknown field: %s %lld selects the arm \"%s\"", dname, (long long)v, aname);
    }
    if (aname == NULL)
        return PARLEY_OK;
    node.name = aname;
    return dec_member(d, arm->type, json_object_get(j, aname), o + arm->offset, holder, &node,
                      depth);
}

/* ---- arrays, sequences, optionals ------------------------------------------------- */

static parley_status dec_items(jdec *d, const parley_type *elem, const json_t *j, uint8_t *base,
                               void *holder, const parley__path *path, unsigned depth)
{
    parley__path node = { path, NULL, 0 };
    size_t i;
    json_t *item;

    json_array_foreach(j, i, item) {
        parley_status st;
        node.index = i;
        st = dec_value(d, elem, item, base + i * elem->size, holder, &node, depth);
        if (st != PARLEY_OK)
            return st;
    }
    return PARLEY_OK;
}

static parley_status dec_sequence(jdec *d, const parley_type *t, const json_t *j, void *obj,
                                  void *holder, const parley__path *path, unsigned depth)
{
    parley_seq s = { 0, NULL };
    size_t bytes;

    if (!json_is_array(j) || (t->bound != 0 && json_array_size(j) > t->bound))
        return mismatch(d, t, j, path);
    s.n = json_array_size(j);
    if (s.n > 0) {
        if (depth >= d->max_depth)
            return FAIL(d, PARLEY_ERR_OVERFLOW, path, "nested deeper than %u levels",
                        d->max_depth);
        if (__builtin_mul_overflow(s.n, t->elem->size, &bytes))
            return nomem(d, path, SIZE_MAX);
        s.items = talloc_zero_size(holder, bytes);
        if (s.items == NULL)
            return nomem(d, path, bytes);
        talloc_set_name_const(s.items, t->elem->name);
        memcpy(obj, &s, sizeof(s));
        return dec_items(d, t->elem, j, s.items, s.items, path, depth + 1);
    }
    memcpy(obj, &s, sizeof(s));
    return PARLEY_OK;
}

static parley_status dec_optional(jdec *d, const parley_type *t, const json_t *j, void *obj,
                                  void *holder, const parley__path *path, unsigned depth)
{
    const parley_type *et = t->elem;
    void *ptr;

    if (json_is_null(j))
        return PARLEY_OK;       /* obj is zero: absent */
    if (depth >= d->max_depth)
        return FAIL(d, PARLEY_ERR_OVERFLOW, path, "nested deeper than %u levels", d->max_depth);
    if (parley__optional_is_inline(et))
        return dec_value(d, et, j, obj, holder, path, depth + 1);
    ptr = talloc_named_const(holder, et->size, et->name);
    if (ptr == NULL)
        return nomem(d, path, et->size);
    memset(ptr, 0, et->size);
    memcpy(obj, &ptr, sizeof(ptr));
    return dec_value(d, et, j, ptr, ptr, path, depth + 1);
}

/* ---- handles and fds -------------------------------------------------------------- */

/* An object whose keys are among `keys` (NULL-terminated); false otherwise. */
static bool only_keys(const json_t *j, const char *const *keys)
{
    const char *key;
    json_t *val;

    if (!json_is_object(j))
        return false;
    json_object_foreach((json_t *)j, key, val) {
        const char *const *k;
        for (k = keys; *k != NULL; k++)
            if (strcmp(*k, key) == 0)
                break;
        if (*k == NULL)
            return false;
    }
    return true;
}

static parley_status dec_handle(jdec *d, const parley_type *t, const json_t *j, void *obj,
                                const parley__path *path)
{
    static const char *const keys[] = { "handle", "id", NULL };
    const json_t *name, *idj;
    parley_handle *h = NULL;
    json_int_t id;
    parley_status st;

    if (!only_keys(j, keys))
        return mismatch(d, t, j, path);
    name = json_object_get(j, "handle");
    idj = json_object_get(j, "id");
    if (name != NULL &&
        (!json_is_string(name) || strcmp(json_string_value(name), TNAME(t)) != 0))
        return mismatch(d, t, j, path);
    if (idj == NULL || !json_is_integer(idj) || json_integer_value(idj) < 0 ||
        json_integer_value(idj) > UINT32_MAX)
        return mismatch(d, t, j, path);
    id = json_integer_value(idj);
    if (d->codec == NULL || d->codec->handles == NULL || d->codec->handles->from_wire == NULL)
        return FAIL(d, PARLEY_ERR_UNSUPPORTED, path,
                    "handle %s id %lld: JSON names a handle only with codec handle hooks "
                    "(parley_json_decode_codec)", TNAME(t), (long long)id);
    st = d->codec->handles->from_wire(d->codec->handle_data, t, (uint32_t)id, &h);
    if (st == PARLEY_OK && h == NULL)
        st = PARLEY_ERR_INVALID_HANDLE;
    if (st != PARLEY_OK)
        return FAIL(d, st, path, "handle %s id %lld rejected: %s", TNAME(t), (long long)id,
                    parley_status_string(st));
    memcpy(obj, &h, sizeof(h));
    return PARLEY_OK;
}

static parley_status dec_fd(jdec *d, const parley_type *t, const json_t *j, void *obj,
                            const parley__path *path)
{
    static const char *const keys[] = { "fd", NULL };
    const json_t *n;
    int fd;

    if (!only_keys(j, keys))
        return mismatch(d, t, j, path);
    n = json_object_get(j, "fd");
    if (n == NULL || !json_is_integer(n) || json_integer_value(n) < 0 ||
        json_integer_value(n) > INT_MAX)
        return FAIL(d, PARLEY_ERR_MALFORMED, path,
                    "expected an fd object {\"fd\": N} with N from 0 to %d", INT_MAX);
    fd = (int)json_integer_value(n);
    memcpy(obj, &fd, sizeof(fd));
    return PARLEY_OK;
}

/* ---- the walk ---------------------------------------------------------------------- */

static parley_status dec_value(jdec *d, const parley_type *t, const json_t *j, void *obj,
                               void *holder, const parley__path *path, unsigned depth)
{
    switch (t->kind) {
    case PARLEY_KIND_INT8: case PARLEY_KIND_INT16: case PARLEY_KIND_INT32:
    case PARLEY_KIND_INT64: case PARLEY_KIND_UINT8: case PARLEY_KIND_UINT16:
    case PARLEY_KIND_UINT32: case PARLEY_KIND_UINT64:
        return dec_int(d, t, j, obj, path);
    case PARLEY_KIND_BOOL: {
        bool b;
        if (!json_is_boolean(j))
            return mismatch(d, t, j, path);
        b = json_is_true(j);
        memcpy(obj, &b, sizeof(b));
        return PARLEY_OK;
    }
    case PARLEY_KIND_FLOAT: case PARLEY_KIND_DOUBLE:
        return dec_real(d, t, j, obj, path);
    case PARLEY_KIND_ENUM:
        return dec_enum(d, t, j, obj, path);
    case PARLEY_KIND_STRING:
        return dec_string(d, t, j, obj, holder, path);
    case PARLEY_KIND_BYTES:
        return dec_bytes(d, t, j, obj, holder, path);
    case PARLEY_KIND_STRUCT:
        return dec_struct(d, t, j, obj, holder, path, depth);
    case PARLEY_KIND_UNION:
        return dec_union(d, t, j, obj, holder, path, depth);
    case PARLEY_KIND_ARRAY:
        if (!json_is_array(j) || json_array_size(j) != t->bound)
            return mismatch(d, t, j, path);
        return dec_items(d, t->elem, j, obj, holder, path, depth);
    case PARLEY_KIND_SEQUENCE:
        return dec_sequence(d, t, j, obj, holder, path, depth);
    case PARLEY_KIND_OPTIONAL:
        return dec_optional(d, t, j, obj, holder, path, depth);
    case PARLEY_KIND_HANDLE:
        return dec_handle(d, t, j, obj, path);
    case PARLEY_KIND_FD:
        return dec_fd(d, t, j, obj, path);
    }
    return FAIL(d, PARLEY_ERR_INVALID_ARGUMENT, path, "unknown type kind %d", (int)t->kind);
}

parley_status parley__json_decode(TALLOC_CTX *mem_ctx, const parley_type *type,
                                  const char *json, size_t len, const parley_codec *codec,
                                  void **ret_value)
{
    jdec d = { type, codec, PARLEY_DEFAULT_MAX_DEPTH };
    json_error_t err;
    json_t *root;
    void *obj;
    parley_status st;

    if (codec != NULL && codec->max_depth != 0)
        d.max_depth = codec->max_depth;
    /* one value of any JSON type; a repeated key is an error; \u0000 is
     * parsed so that a string holding it gets its own message */
    root = json_loadb(json, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
    if (root == NULL) {
        /* jansson fails without a reason only when it cannot set up its
         * lexer: out of memory */
        if (err.text[0] == '\0')
            return FAIL(&d, PARLEY_ERR_NOMEM, NULL, "out of memory parsing %zu bytes of JSON", len);
        switch (json_error_code(&err)) {
        case json_error_out_of_memory:
            return FAIL(&d, PARLEY_ERR_NOMEM, NULL, "out of memory parsing %zu bytes of JSON", len);
        case json_error_stack_overflow:
            return FAIL(&d, PARLEY_ERR_OVERFLOW, NULL,
                        "JSON nested too deeply at line %d, column %d",
                        err.line, err.column);
        case json_error_numeric_overflow:
            return FAIL(&d, PARLEY_ERR_MALFORMED, NULL,
                        "not valid JSON at line %d, column %d: %s (write integers beyond the "
                        "int64 range as decimal strings)", err.line, err.column, err.text);
        default:
            return FAIL(&d, PARLEY_ERR_MALFORMED, NULL, "not valid JSON at line %d, column %d: %s",
                        err.line, err.column, err.text);
        }
    }
    obj = talloc_named_const(NULL, type->size, type->name);
    if (obj == NULL) {
        json_decref(root);
        return nomem(&d, NULL, type->size);
    }
    memset(obj, 0, type->size);
    st = dec_value(&d, type, root, obj, obj, NULL, 0);
    json_decref(root);
    if (st != PARLEY_OK) {
        talloc_free(obj);
        return st;
    }
    *ret_value = talloc_steal(mem_ctx, obj);
    return PARLEY_OK;
}
