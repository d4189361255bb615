/* SPDX-License-Identifier: MIT */
/* parley-idl: what the ONC RPC front end does once a .x file is parsed,
 * when every name it declares is known: the C type names .x files use
 * (uint32_t, u_int, bool_t, ...) become primitives, netobj and des_block
 * become typedefs, names that %#define lines (or the rpc headers) give a
 * value become constants, and %#include of a header made from another .x
 * becomes an import of that file. */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <talloc.h>

#include "xdr.h"

#define NETOBJ_MAX 1024        /* MAX_NETOBJ_SZ of the rpc headers */

typedef struct fixer {
    idl_unit *u;
    idl_file *f;
    const xdr_lexer *lx;
    const char *const *refs;   /* names used as constants */
    size_t n_refs;
    const char **names;        /* sorted declared names (and enum values) */
    size_t n_names;
    unsigned macro_steps;      /* bounds the work on %#define values */
} fixer;

static void *must(void *p)
{
    if (p == NULL) {
        fprintf(stderr, "parley-idl: fatal: out of memory\n");
        exit(2);
    }
    return p;
}

#define NEW(type) ((type *)must(talloc_zero(p->f, type)))

static idl_decl *new_decl(fixer *p, idl_decl_kind kind, const char *name, idl_loc loc)
{
    idl_decl *d = NEW(idl_decl);
    d->kind = kind;
    d->name = name;
    d->loc = loc;
    return d;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The sorted names of the file's declarations (and enum values). */
static void build_names(fixer *p)
{
    size_t n = 0;

    for (idl_decl *d = p->f->decls; d != NULL; d = d->next) {
        n += d->kind != IDL_INTERFACE;
        for (idl_enumval *v = d->kind == IDL_ENUM ? d->values : NULL; v != NULL; v = v->next)
            n++;
    }
    p->names = must(talloc_array(p->f, const char *, n + 1));
    p->n_names = 0;
    for (idl_decl *d = p->f->decls; d != NULL; d = d->next) {
        if (d->kind != IDL_INTERFACE)
            p->names[p->n_names++] = d->name;
        for (idl_enumval *v = d->kind == IDL_ENUM ? d->values : NULL; v != NULL; v = v->next)
            p->names[p->n_names++] = v->name;
    }
    qsort(p->names, p->n_names, sizeof(p->names[0]), cmp_str);
}

static bool declared(fixer *p, const char *name)
{
    return bsearch(&name, p->names, p->n_names, sizeof(p->names[0]), cmp_str) != NULL;
}

/* Types of the rpc headers that .x files use: netobj (opaque netobj<MAX_NETOBJ_SZ>)
 * and des_block (8 bytes). */
static const struct { const char *name; bool fixed; int size; } builtin_types[] = {
    { "netobj", false, NETOBJ_MAX }, { "des_block", true, 8 },
};

/* Constants of the rpc headers that .x files use. */
static const struct { const char *name, *value; } builtin_consts[] = {
    { "MAX_NETOBJ_SZ", "1024" }, { "MAXNETNAMELEN", "255" }, { "MAX_AUTH_BYTES", "400" },
};

/* C names that .x files use as types (rpcgen passes them to C). */
static void fix_type(fixer *p, idl_type *t)
{
    static const struct { const char *name; parley_kind kind; } cnames[] = {
        { "int8_t", PARLEY_KIND_INT8 }, { "int16_t", PARLEY_KIND_INT16 },
        { "int32_t", PARLEY_KIND_INT32 }, { "int64_t", PARLEY_KIND_INT64 },
        { "uint8_t", PARLEY_KIND_UINT8 }, { "uint16_t", PARLEY_KIND_UINT16 },
        { "uint32_t", PARLEY_KIND_UINT32 }, { "uint64_t", PARLEY_KIND_UINT64 },
        { "u_int8_t", PARLEY_KIND_UINT8 }, { "u_int16_t", PARLEY_KIND_UINT16 },
        { "u_int32_t", PARLEY_KIND_UINT32 }, { "u_int64_t", PARLEY_KIND_UINT64 },
        { "u_char", PARLEY_KIND_UINT8 }, { "u_short", PARLEY_KIND_UINT16 },
        { "u_int", PARLEY_KIND_UINT32 }, { "u_long", PARLEY_KIND_UINT32 },
        { "quad_t", PARLEY_KIND_INT64 }, { "u_quad_t", PARLEY_KIND_UINT64 },
        { "bool_t", PARLEY_KIND_BOOL },
    };

    if (t == NULL || t->base != IDL_BASE_NAMED || declared(p, t->name))
        return;
    for (size_t i = 0; i < sizeof(cnames) / sizeof(cnames[0]); i++) {
        if (strcmp(t->name, cnames[i].name) == 0) {
            t->base = IDL_BASE_PRIM;
            t->prim = cnames[i].kind;
            return;
        }
    }
    for (size_t i = 0; i < sizeof(builtin_types) / sizeof(builtin_types[0]); i++) {
        if (strcmp(t->name, builtin_types[i].name) == 0) {
            idl_loc none = { p->f, 1, 1 };
            idl_decl *d = new_decl(p, IDL_TYPEDEF, builtin_types[i].name, none);
            idl_expr *n = must(idl_expr_int(p->f, none, builtin_types[i].size));
            d->alias = NEW(idl_member);
            d->alias->loc = none;
            d->alias->name = builtin_types[i].name;
            d->alias->type = NEW(idl_type);
            d->alias->type->loc = none;
            if (builtin_types[i].fixed) {
                d->alias->type->base = IDL_BASE_PRIM;
                d->alias->type->prim = PARLEY_KIND_UINT8;
                d->alias->declarator = IDL_DECLARATOR_ARRAY;
                d->alias->count = n;
            } else {
                d->alias->type->base = IDL_BASE_BYTES;
                d->alias->type->bound = n;
            }
            idl_file_add_decl(p->f, d);
            build_names(p);
        }
    }
}

static void fix_members(fixer *p, idl_member *m)
{
    for (; m != NULL; m = m->next)
        fix_type(p, m->type);
}

static void fix_types(fixer *p)
{
    for (idl_decl *d = p->f->decls; d != NULL; d = d->next) {
        switch (d->kind) {
        case IDL_STRUCT:
            fix_members(p, d->members);
            break;
        case IDL_UNION:
            fix_members(p, d->disc);
            for (idl_arm *a = d->arms; a != NULL; a = a->next)
                fix_members(p, a->member);
            break;
        case IDL_TYPEDEF:
            fix_members(p, d->alias);
            break;
        case IDL_INTERFACE:
            for (idl_method *m = d->methods; m != NULL; m = m->next) {
                fix_members(p, m->args);
                fix_members(p, m->results);
            }
            break;
        default:
            break;
        }
    }
}

/* ---- constants from C macros, imports from headers -------------------------- */

static const char *macro_text(fixer *p, const char *name, size_t len, idl_loc *ret_loc)
{
    for (size_t i = p->lx->n_macros; i-- > 0;) {
        if (strlen(p->lx->macros[i].name) == len && memcmp(p->lx->macros[i].name, name, len) == 0) {
            *ret_loc = p->lx->macros[i].loc;
            return p->lx->macros[i].value;
        }
    }
    for (size_t i = 0; i < sizeof(builtin_consts) / sizeof(builtin_consts[0]); i++) {
        if (strlen(builtin_consts[i].name) == len && memcmp(builtin_consts[i].name, name, len) == 0) {
            ret_loc->file = p->f;
            ret_loc->line = ret_loc->col = 1;
            return builtin_consts[i].value;
        }
    }
    return NULL;
}

/* The value of a macro's text: numbers and macro names joined by + and -
 * (what .x files put in a %#define); false for anything else. */
static bool macro_value(fixer *p, const char *s, int depth, int64_t *ret)
{
    int64_t sum = 0;
    int sign = 1;
    bool want_term = true;

    if (depth > 16 || ++p->macro_steps > 10000)
        return false;
    while (*s != '\0') {
        if (*s == ' ' || *s == '\t' || *s == '(' || *s == ')' || *s == '\r') {
            s++;
        } else if (*s == '/' && s[1] == '*') {
            break;    /* a trailing comment */
        } else if (!want_term && (*s == '+' || *s == '-')) {
            sign = *s == '-' ? -1 : 1;
            want_term = true;
            s++;
        } else if (want_term && isdigit((unsigned char)*s)) {
            char *end;
            long long v = strtoll(s, &end, 0);
            if (v > INT32_MAX)
                return false;
            sum += sign * v;
            s = end;
            want_term = false;
        } else if (want_term && (isalpha((unsigned char)*s) || *s == '_')) {
            size_t n = 0;
            idl_loc l;
            const char *t;
            int64_t v;
            while (isalnum((unsigned char)s[n]) || s[n] == '_')
                n++;
            t = macro_text(p, s, n, &l);
            if (t == NULL || !macro_value(p, t, depth + 1, &v))
                return false;
            sum += sign * v;
            s += n;
            want_term = false;
        } else {
            return false;
        }
    }
    if (want_term)
        return false;
    *ret = sum;
    return true;
}

static void macro_consts(fixer *p)
{
    for (size_t i = 0; i < p->n_refs; i++) {
        const char *name = p->refs[i];
        idl_loc loc;
        const char *text;
        int64_t v;
        if (declared(p, name) || (text = macro_text(p, name, strlen(name), &loc)) == NULL ||
            !macro_value(p, text, 0, &v))
            continue;
        {
            idl_decl *d = new_decl(p, IDL_CONST, name, loc);
            d->expr = must(idl_expr_int(p->f, loc, v));
            idl_file_add_decl(p->f, d);
            build_names(p);
        }
    }
}

static void header_imports(fixer *p)
{
    for (size_t i = 0; i < p->lx->n_headers; i++) {
        const char *base = p->lx->headers[i].base;
        char *path, *there;
        bool seen = strcmp(base, p->f->base) == 0;
        FILE *fp;
        for (idl_import *im = p->f->imports; im != NULL && !seen; im = im->next)
            seen = strncmp(im->path, base, strlen(base)) == 0 && strcmp(im->path + strlen(base), ".x") == 0;
        if (seen || p->u->opts->no_imports)
            continue;
        path = must(talloc_asprintf(p->f, "%s.x", base));
        there = must(talloc_asprintf(p->f, "%s%s%s", p->f->dir, p->f->dir[0] ? "/" : "", path));
        fp = fopen(there, "r");
        if (fp == NULL)
            continue;
        fclose(fp);
        {
            idl_import *im = NEW(idl_import);
            im->loc = p->lx->headers[i].loc;
            im->path = path;
            *p->f->imports_tail = im;
            p->f->imports_tail = &im->next;
        }
    }
}

void xdr_fixup(idl_file *f, const xdr_lexer *lx, const char *const *refs, size_t n_refs)
{
    fixer fx = { f->unit, f, lx, refs, n_refs, NULL, 0, 0 }, *p = &fx;

    build_names(p);
    fix_types(p);
    macro_consts(p);
    header_imports(p);
    talloc_free(p->names);
}
