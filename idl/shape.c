/* SPDX-License-Identifier: MIT */
/* parley-idl: canonical shapes and fingerprints, computed from the syntax
 * tree exactly as doc/idl.md ("Fingerprints") defines them.  The runtime
 * computes the same strings from descriptors (lib/type.c); the IDL tests
 * check that both agree for every generated type and method. */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <talloc.h>

#include "ast.h"

#define MAX_STACK 256    /* enclosing structs and unions: PARLEY__TYPE_CHECK_DEPTH */
#define MAX_REC 1000     /* declarations followed (typedef chains included) */

typedef struct shaper {
    char *buf;
    size_t len, cap;
    bool over;                          /* longer than IDL_MAX_SHAPE */
    const idl_decl *stack[MAX_STACK];   /* enclosing structs and unions */
    size_t depth;
    int rec;                            /* recursion depth of shape_decl */
} shaper;

static void put(shaper *s, const char *text)
{
    size_t n = strlen(text);

    if (s->over)
        return;
    if (s->len + n > IDL_MAX_SHAPE) {
        s->over = true;
        return;
    }
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 64;
        char *nb;
        while (cap < s->len + n + 1)
            cap *= 2;
        nb = talloc_realloc(NULL, s->buf, char, cap);
        if (nb == NULL) {
            s->over = true;
            return;
        }
        s->buf = nb;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, text, n + 1);
    s->len += n;
}

/* Append before, the decimal v, then after. */
static void putn(shaper *s, const char *before, long long v, const char *after)
{
    char tmp[32];
    snprintf(tmp, sizeof(tmp), "%lld", v);
    put(s, before);
    put(s, tmp);
    put(s, after);
}

static void shape_member(shaper *s, const idl_member *m);
static void shape_decl(shaper *s, const idl_decl *d);

static const char *prim_code(parley_kind k)
{
    switch (k) {
    case PARLEY_KIND_INT8: return "i8";
    case PARLEY_KIND_INT16: return "i16";
    case PARLEY_KIND_INT32: return "i32";
    case PARLEY_KIND_INT64: return "i64";
    case PARLEY_KIND_UINT8: return "u8";
    case PARLEY_KIND_UINT16: return "u16";
    case PARLEY_KIND_UINT32: return "u32";
    case PARLEY_KIND_UINT64: return "u64";
    case PARLEY_KIND_BOOL: return "b";
    case PARLEY_KIND_FLOAT: return "f32";
    case PARLEY_KIND_DOUBLE: return "f64";
    case PARLEY_KIND_FD: return "d";
    default: return "?";
    }
}

static void shape_type(shaper *s, const idl_type *t)
{
    if (t->optional)
        put(s, "?");
    switch (t->base) {
    case IDL_BASE_PRIM:
        put(s, prim_code(t->prim));
        break;
    case IDL_BASE_STRING:
    case IDL_BASE_BYTES:
        put(s, t->base == IDL_BASE_STRING ? "s" : "y");
        if (t->bound != NULL)
            putn(s, "<", (long long)t->bound_value, ">");
        break;
    case IDL_BASE_NAMED:
        if (t->target != NULL)
            shape_decl(s, t->target);
        break;
    }
}

static void shape_member(shaper *s, const idl_member *m)
{
    if (m->declarator == IDL_DECLARATOR_ARRAY)
        putn(s, "[", (long long)m->count_value, "]");
    else if (m->declarator == IDL_DECLARATOR_SEQ && m->count != NULL)
        putn(s, "<", (long long)m->count_value, ">");
    else if (m->declarator == IDL_DECLARATOR_SEQ)
        put(s, "<>");
    shape_type(s, m->type);
}

static void shape_fields(shaper *s, const idl_member *m)
{
    put(s, "{");
    for (; m != NULL && !s->over; m = m->next) {
        shape_member(s, m);
        if (m->next != NULL)
            put(s, ",");
    }
    put(s, "}");
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct arm_ref {
    int64_t value;
    const idl_member *member;
} arm_ref;

static int cmp_arm(const void *a, const void *b)
{
    return cmp_i64(&((const arm_ref *)a)->value, &((const arm_ref *)b)->value);
}

static void shape_enum(shaper *s, const idl_decl *d)
{
    size_t n = 0, i = 0;
    int64_t *v;

    for (const idl_enumval *e = d->values; e != NULL; e = e->next)
        n++;
    v = talloc_array(NULL, int64_t, n + 1);
    if (v == NULL) {
        s->over = true;
        return;
    }
    for (const idl_enumval *e = d->values; e != NULL; e = e->next)
        v[i++] = e->value;
    qsort(v, n, sizeof(v[0]), cmp_i64);
    put(s, d->attrs & IDL_ATTR_FLAGS ? "E{" : "e{");
    /* each value once: an alias does not change the shape */
    for (i = 0; i < n; i++)
        if (i == 0 || v[i] != v[i - 1])
            putn(s, i == 0 ? "" : ",", (long long)v[i], "");
    put(s, "}");
    talloc_free(v);
}

static void shape_union(shaper *s, const idl_decl *d)
{
    size_t n = 0, i = 0;
    arm_ref *arms;
    const idl_arm *def = NULL;

    for (const idl_arm *a = d->arms; a != NULL; a = a->next)
        for (const idl_case *c = a->cases; c != NULL; c = c->next)
            n++;
    arms = talloc_array(NULL, arm_ref, n + 1);
    if (arms == NULL) {
        s->over = true;
        return;
    }
    for (const idl_arm *a = d->arms; a != NULL; a = a->next) {
        for (const idl_case *c = a->cases; c != NULL; c = c->next) {
            if (c->expr == NULL) {
                def = a;
                continue;
            }
            arms[i].value = c->value;
            arms[i].member = a->member;
            i++;
        }
    }
    n = i;
    qsort(arms, n, sizeof(arms[0]), cmp_arm);
    put(s, "u(");
    shape_member(s, d->disc);
    put(s, "){");
    for (i = 0; i < n && !s->over; i++) {
        putn(s, "", (long long)arms[i].value, ":");
        if (arms[i].member != NULL)
            shape_member(s, arms[i].member);
        else
            put(s, "v");
        if (i + 1 < n || def != NULL)
            put(s, ";");
    }
    if (def != NULL) {
        put(s, "*:");
        if (def->member != NULL)
            shape_member(s, def->member);
        else
            put(s, "v");
    }
    put(s, "}");
    talloc_free(arms);
}

static bool push(shaper *s, const idl_decl *d)
{
    if (s->depth == MAX_STACK) {
        s->over = true;
        return false;
    }
    s->stack[s->depth++] = d;
    return true;
}

static void shape_decl_in(shaper *s, const idl_decl *d);

static void shape_decl(shaper *s, const idl_decl *d)
{
    if (s->over)
        return;
    if (s->rec >= MAX_REC) {
        s->over = true;
        return;
    }
    s->rec++;
    shape_decl_in(s, d);
    s->rec--;
}

static void shape_decl_in(shaper *s, const idl_decl *d)
{
    switch (d->kind) {
    case IDL_ENUM:
        shape_enum(s, d);
        return;
    case IDL_HANDLE:
        put(s, "h(");
        put(s, d->cname != NULL ? d->cname : d->name);
        put(s, ")");
        return;
    case IDL_TYPEDEF:
        shape_member(s, d->alias);
        return;
    case IDL_STRUCT:
    case IDL_UNION:
        for (size_t i = s->depth; i > 0; i--) {
            if (s->stack[i - 1] == d) {
                putn(s, "^", (long long)(s->depth - i + 1), "");
                return;
            }
        }
        if (!push(s, d))
            return;
        if (d->kind == IDL_STRUCT)
            shape_fields(s, d->members);
        else
            shape_union(s, d);
        s->depth--;
        return;
    default:
        return;
    }
}

static char *finish(void *mem_ctx, shaper *s)
{
    char *r = NULL;

    if (!s->over) {
        if (s->buf == NULL)
            put(s, "");
        if (!s->over)
            r = talloc_strdup(mem_ctx, s->buf);
    }
    talloc_free(s->buf);
    talloc_free(s);
    return r;
}

char *idl_shape_decl(void *mem_ctx, idl_unit *u, idl_decl *d)
{
    shaper *s = talloc_zero(NULL, shaper);
    (void)u;
    if (s == NULL)
        return NULL;
    shape_decl(s, d);
    return finish(mem_ctx, s);
}

char *idl_shape_members(void *mem_ctx, idl_unit *u, const idl_member *m)
{
    shaper *s = talloc_zero(NULL, shaper);
    (void)u;
    if (s == NULL)
        return NULL;
    push(s, NULL);      /* the request/reply struct itself */
    shape_fields(s, m);
    return finish(mem_ctx, s);
}

char *idl_shape_method(void *mem_ctx, idl_unit *u, const idl_method *m)
{
    shaper *s = talloc_zero(NULL, shaper);
    (void)u;
    if (s == NULL)
        return NULL;
    put(s, "m(");
    push(s, NULL);
    shape_fields(s, m->args);
    s->depth--;
    put(s, ")");
    if (m->oneway) {
        put(s, "!");
    } else {
        put(s, "->(");
        push(s, NULL);
        shape_fields(s, m->results);
        s->depth--;
        put(s, ")");
    }
    return finish(mem_ctx, s);
}

uint64_t idl_fnv1a(const char *str)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
        h ^= *p;
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

void idl_shape_methods(idl_unit *u)
{
    for (idl_decl *d = u->main->decls; d != NULL; d = d->next) {
        if (d->kind != IDL_INTERFACE)
            continue;
        for (idl_method *m = d->methods; m != NULL; m = m->next) {
            char *shape = idl_shape_method(NULL, u, m);
            if (shape == NULL) {
                idl_error(u, m->loc, "the canonical shape of method '%s' is longer than %u "
                          "bytes (or nested deeper than %d)", m->name, IDL_MAX_SHAPE, MAX_STACK);
                continue;
            }
            m->fingerprint = idl_fnv1a(shape);
            talloc_free(shape);
        }
    }
}
