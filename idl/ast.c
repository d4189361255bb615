/* SPDX-License-Identifier: MIT */
/* parley-idl: syntax tree constructors and small helpers. */
#include "config.h"

#include <string.h>

#include <talloc.h>

#include "ast.h"

idl_expr *idl_expr_int(void *ctx, idl_loc loc, int64_t v)
{
    idl_expr *e = talloc_zero(ctx, idl_expr);
    if (e == NULL)
        return NULL;
    e->kind = IDL_EXPR_INT;
    e->loc = loc;
    e->value = v;
    e->depth = 1;
    return e;
}

idl_expr *idl_expr_ref(void *ctx, idl_loc loc, const char *name)
{
    idl_expr *e = talloc_zero(ctx, idl_expr);
    if (e == NULL)
        return NULL;
    e->kind = IDL_EXPR_REF;
    e->loc = loc;
    e->name = name;
    e->depth = 1;
    return e;
}

static void check_depth(idl_unit *u, idl_expr *e)
{
    /* Report once, at the level that first crosses the limit. */
    if (e->depth == IDL_MAX_EXPR_DEPTH + 1)
        idl_error(u, e->loc, "constant expression nested too deeply (the limit is %d)",
                  IDL_MAX_EXPR_DEPTH);
}

idl_expr *idl_expr_unary(idl_unit *u, idl_loc loc, int op, idl_expr *a)
{
    idl_expr *e = talloc_zero(a, idl_expr);
    if (e == NULL)
        return NULL;
    e->kind = IDL_EXPR_UNARY;
    e->loc = loc;
    e->op = op;
    e->a = a;
    e->depth = a->depth + 1;
    check_depth(u, e);
    return e;
}

idl_expr *idl_expr_binary(idl_unit *u, idl_loc loc, int op, idl_expr *a, idl_expr *b)
{
    idl_expr *e = talloc_zero(a, idl_expr);
    if (e == NULL)
        return NULL;
    e->kind = IDL_EXPR_BINARY;
    e->loc = loc;
    e->op = op;
    e->a = a;
    e->b = b;
    e->depth = (a->depth > b->depth ? a->depth : b->depth) + 1;
    check_depth(u, e);
    return e;
}

void idl_file_add_decl(idl_file *f, idl_decl *d)
{
    d->file = f;
    *f->decls_tail = d;
    f->decls_tail = &d->next;
}

#define REVERSE(fn, type)                 \
    type *fn(type *l)                     \
    {                                     \
        type *r = NULL;                   \
        while (l != NULL) {               \
            type *next = l->next;         \
            l->next = r;                  \
            r = l;                        \
            l = next;                     \
        }                                 \
        return r;                         \
    }

REVERSE(idl_members_reverse, idl_member)
REVERSE(idl_enumvals_reverse, idl_enumval)
REVERSE(idl_cases_reverse, idl_case)
REVERSE(idl_arms_reverse, idl_arm)
REVERSE(idl_methods_reverse, idl_method)
REVERSE(idl_reserved_reverse, idl_reserved)

size_t idl_members_count(const idl_member *m)
{
    size_t n = 0;
    for (; m != NULL; m = m->next)
        n++;
    return n;
}

const char *idl_prim_name(parley_kind k)
{
    switch (k) {
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
    case PARLEY_KIND_STRING: return "string";
    case PARLEY_KIND_BYTES: return "bytes";
    case PARLEY_KIND_FD: return "fd";
    default: return "?";
    }
}

const char *idl_decl_kind_name(idl_decl_kind k)
{
    switch (k) {
    case IDL_CONST: return "constant";
    case IDL_ENUM: return "enum";
    case IDL_STRUCT: return "struct";
    case IDL_UNION: return "union";
    case IDL_TYPEDEF: return "typedef";
    case IDL_HANDLE: return "handle";
    case IDL_INTERFACE: return "interface";
    }
    return "?";
}

bool idl_decl_is_type(const idl_decl *d)
{
    return d->kind != IDL_CONST && d->kind != IDL_INTERFACE;
}

idl_decl *idl_type_resolve(const idl_type *t)
{
    idl_decl *d;
    int guard = 0;

    if (t->base != IDL_BASE_NAMED)
        return NULL;
    d = t->target;
    /* typedef cycles are reported by the checks; the guard keeps this total */
    while (d != NULL && d->kind == IDL_TYPEDEF && guard++ < 1000) {
        const idl_member *a = d->alias;
        if (a->declarator != IDL_DECLARATOR_NONE || a->type->optional ||
            a->type->base != IDL_BASE_NAMED)
            return d;
        d = a->type->target;
    }
    return d;
}
