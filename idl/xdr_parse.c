/* SPDX-License-Identifier: MIT */
/* parley-idl: the parser of the ONC RPC language (recursive descent over
 * xdr_lex.c's tokens).  It builds the IDL's syntax tree, so every check and
 * generator is shared; the mapping is in doc/idl.md ("ONC RPC .x files").
 * After an error the parser skips to the ';' that ends the definition (at
 * brace depth 0) and goes on.  What needs the whole file (C type names,
 * constants from %#define lines, imports) is done after it (xdr_fixup.c). */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <talloc.h>

#include "xdr.h"

#define MAX_PROGRAMS 127       /* method id: ((program + 1) << 24) | version << 16 | proc */
#define MAX_VERSION 255
#define MAX_PROC 65535

typedef struct parser {
    idl_unit *u;
    idl_file *f;
    xdr_lexer lx;
    xdr_token tok;
    int depth;                 /* braces opened by the current definition */
    bool failed;               /* an error in the current definition */
    int expr_depth;
    int n_programs;
    bool have_version;
    const char **refs;         /* names used as constants */
    size_t n_refs;
} parser;

static void *must(void *p)
{
    if (p == NULL) {
        fprintf(stderr, "parley-idl: fatal: out of memory\n");
        exit(2);
    }
    return p;
}

#define NEW(type) ((type *)must(talloc_zero(p->f, type)))

static void next(parser *p)
{
    xdr_lex_next(&p->lx, &p->tok);
    if (p->tok.kind == '{')
        p->depth++;
    else if (p->tok.kind == '}')
        p->depth--;
}

static const char *describe(parser *p, const xdr_token *t)
{
    switch (t->kind) {
    case XT_EOF: return "end of file";
    case XT_IDENT: return must(talloc_asprintf(p->f, "'%s'", t->text));
    case XT_INT: return "a number";
    case XT_STRING: return "a string";
    case XT_SHL: return "'<<'";
    case XT_SHR: return "'>>'";
    default: return must(talloc_asprintf(p->f, "'%c'", t->kind));
    }
}

/* Report once per definition. */
static void fail(parser *p, idl_loc loc, const char *what)
{
    if (!p->failed)
        idl_error(p->u, loc, "expected %s, found %s", what, describe(p, &p->tok));
    p->failed = true;
}

static bool is_word(const parser *p, const char *w)
{
    return p->tok.kind == XT_IDENT && strcmp(p->tok.text, w) == 0;
}

static bool accept(parser *p, int kind)
{
    if (p->failed || p->tok.kind != kind)
        return false;
    next(p);
    return true;
}

static void expect(parser *p, int kind, const char *what)
{
    if (p->failed)
        return;
    if (p->tok.kind != kind)
        fail(p, p->tok.loc, what);
    else
        next(p);
}

static const char *const keywords[] = {
    "bool", "case", "const", "default", "double", "quadruple", "enum", "float", "hyper",
    "int", "opaque", "string", "struct", "switch", "typedef", "union", "unsigned", "void",
    "program", "version",
};

static bool is_keyword(const char *s)
{
    for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
        if (strcmp(keywords[i], s) == 0)
            return true;
    return false;
}

/* An identifier that is not a keyword; NULL after an error. */
static const char *ident(parser *p, const char *what, idl_loc *ret_loc)
{
    const char *s;

    if (p->failed)
        return NULL;
    if (p->tok.kind != XT_IDENT) {
        fail(p, p->tok.loc, what);
        return NULL;
    }
    if (is_keyword(p->tok.text)) {
        idl_error(p->u, p->tok.loc, "'%s' is a keyword of the RPC language and cannot be %s",
                  p->tok.text, what);
        p->failed = true;
        return NULL;
    }
    s = p->tok.text;
    if (ret_loc != NULL)
        *ret_loc = p->tok.loc;
    next(p);
    return s;
}

/* ---- values: constants, names and (as rpcgen passes them to C) arithmetic */

static idl_expr *expr(parser *p, int prec);

static idl_expr *primary(parser *p)
{
    idl_loc loc = p->tok.loc;
    idl_expr *e = NULL;

    if (p->failed)
        return NULL;
    if (++p->expr_depth > IDL_MAX_EXPR_DEPTH) {
        idl_error(p->u, loc, "constant expression nested too deeply (the limit is %d)",
                  IDL_MAX_EXPR_DEPTH);
        p->failed = true;
        p->expr_depth--;
        return NULL;
    }
    if (p->tok.kind == XT_INT) {
        e = must(idl_expr_int(p->f, loc, p->tok.value));
        next(p);
    } else if (p->tok.kind == XT_IDENT && !is_keyword(p->tok.text)) {
        e = must(idl_expr_ref(p->f, loc, p->tok.text));
        p->refs = must(talloc_realloc(p->f, p->refs, const char *, p->n_refs + 1));
        p->refs[p->n_refs++] = p->tok.text;
        next(p);
    } else if (accept(p, '(')) {
        e = expr(p, 0);
        expect(p, ')', "')'");
    } else if (p->tok.kind == '-' || p->tok.kind == '+' || p->tok.kind == '~') {
        int op = p->tok.kind;
        idl_expr *a;
        next(p);
        a = primary(p);
        if (a != NULL)
            e = must(idl_expr_unary(p->u, loc, op, a));
    } else {
        fail(p, loc, "a constant");
    }
    p->expr_depth--;
    return p->failed ? NULL : e;
}

static int binary_prec(int kind, int *ret_op)
{
    switch (kind) {
    case '|': *ret_op = '|'; return 1;
    case '^': *ret_op = '^'; return 2;
    case '&': *ret_op = '&'; return 3;
    case XT_SHL: *ret_op = 'l'; return 4;
    case XT_SHR: *ret_op = 'r'; return 4;
    case '+': case '-': *ret_op = kind; return 5;
    case '*': case '/': *ret_op = kind; return 6;
    default: return 0;
    }
}

static idl_expr *expr(parser *p, int prec)
{
    idl_expr *a = primary(p);
    int op = 0, q;

    while (a != NULL && !p->failed && (q = binary_prec(p->tok.kind, &op)) > prec) {
        idl_loc loc = p->tok.loc;
        idl_expr *b;
        next(p);
        b = expr(p, q);
        if (b == NULL)
            return NULL;
        a = must(idl_expr_binary(p->u, loc, op, a, b));
    }
    return a;
}

/* A value needed while parsing (program, version and procedure numbers):
 * literals and constants declared above, through the same arithmetic on
 * 32-bit unsigned values (the checks range-test the result). */
static bool eval_now(parser *p, const idl_expr *e, int depth, int64_t *ret)
{
    int64_t sa, sb;
    uint64_t a, b, r;

    if (depth > IDL_MAX_EXPR_DEPTH)
        return false;   /* reported where the expression was parsed */
    switch (e->kind) {
    case IDL_EXPR_INT:
        *ret = e->value;
        return true;
    case IDL_EXPR_REF:
        /* each constant is evaluated once (state: 0 unseen, 1 busy, 2 done,
         * 3 failed; reset for the checks after the parse) */
        for (idl_decl *d = p->f->decls; d != NULL; d = d->next) {
            if (d->kind != IDL_CONST || d->expr == NULL || strcmp(d->name, e->name) != 0)
                continue;
            if (d->state == 0) {
                d->state = 1;
                d->state = eval_now(p, d->expr, 0, &d->value) ? 2 : 3;
            } else if (d->state == 1) {
                idl_error(p->u, e->loc, "constant '%s' is defined through itself", e->name);
                d->state = 3;
            }
            *ret = d->value;
            return d->state == 2;
        }
        idl_error(p->u, e->loc, "unknown constant '%s' (it must be declared above)", e->name);
        return false;
    case IDL_EXPR_UNARY:
        if (!eval_now(p, e->a, depth + 1, &sa))
            return false;
        a = (uint64_t)sa & UINT32_MAX;
        *ret = e->op == '-' ? -(int64_t)a : e->op == '~' ? (int64_t)(~a & UINT32_MAX) : (int64_t)a;
        return true;
    case IDL_EXPR_BINARY:
        if (!eval_now(p, e->a, depth + 1, &sa) || !eval_now(p, e->b, depth + 1, &sb))
            return false;
        a = (uint64_t)sa & UINT32_MAX;
        b = (uint64_t)sb & UINT32_MAX;
        switch (e->op) {
        case '+': r = a + b; break;
        case '-': r = a - b; break;
        case '*': r = a * b; break;
        case '/': r = b != 0 ? a / b : 0; break;
        case '&': r = a & b; break;
        case '|': r = a | b; break;
        case '^': r = a ^ b; break;
        case 'l': r = b < 32 ? a << b : 0; break;
        case 'r': r = b < 32 ? a >> b : 0; break;
        default: r = 0;
        }
        *ret = (int64_t)(r & UINT32_MAX);
        return true;
    }
    return false;
}

/* ---- types and declarations ------------------------------------------------ */

static idl_type *prim(parser *p, idl_loc loc, parley_kind k)
{
    idl_type *t = NEW(idl_type);
    t->loc = loc;
    t->base = IDL_BASE_PRIM;
    t->prim = k;
    return t;
}

/* type-specifier; string_ok: a bare `string` (procedure arguments and results). */
static idl_type *type_spec(parser *p, bool string_ok)
{
    idl_loc loc = p->tok.loc;
    idl_type *t;

    if (p->failed)
        return NULL;
    if (p->tok.kind != XT_IDENT) {
        fail(p, loc, "a type");
        return NULL;
    }
    if (is_word(p, "unsigned")) {
        parley_kind k = PARLEY_KIND_UINT32;
        next(p);
        if (is_word(p, "int") || is_word(p, "long"))
            next(p);
        else if (is_word(p, "hyper"))
            k = PARLEY_KIND_UINT64, next(p);
        else if (is_word(p, "short"))
            k = PARLEY_KIND_UINT16, next(p);
        else if (is_word(p, "char"))
            k = PARLEY_KIND_UINT8, next(p);
        return prim(p, loc, k);
    }
    static const struct { const char *word; parley_kind kind; } prims[] = {
        { "int", PARLEY_KIND_INT32 }, { "long", PARLEY_KIND_INT32 },
        { "hyper", PARLEY_KIND_INT64 }, { "short", PARLEY_KIND_INT16 },
        { "char", PARLEY_KIND_INT8 }, { "float", PARLEY_KIND_FLOAT },
        { "double", PARLEY_KIND_DOUBLE }, { "bool", PARLEY_KIND_BOOL },
    };
    for (size_t i = 0; i < sizeof(prims) / sizeof(prims[0]); i++) {
        if (is_word(p, prims[i].word)) {
            next(p);
            return prim(p, loc, prims[i].kind);
        }
    }
    if (is_word(p, "quadruple")) {
        idl_error(p->u, loc, "'quadruple' (128-bit floating point) is not supported: Parley "
                  "has no such type; use 'opaque x[16]' and convert in C");
        p->failed = true;
        return NULL;
    }
    if (is_word(p, "string") && string_ok) {
        next(p);
        t = NEW(idl_type);
        t->loc = loc;
        t->base = IDL_BASE_STRING;
        return t;
    }
    if (is_word(p, "struct") || is_word(p, "union") || is_word(p, "enum")) {
        next(p);
        if (p->tok.kind == '{') {
            idl_error(p->u, p->tok.loc, "a struct, union or enum body inside a declaration is "
                      "not supported: declare it on its own with a name");
            p->failed = true;
            return NULL;
        }
    } else if (is_keyword(p->tok.text)) {
        fail(p, loc, "a type");
        return NULL;
    }
    t = NEW(idl_type);
    t->loc = p->tok.loc;
    t->base = IDL_BASE_NAMED;
    t->name = ident(p, "a type name", NULL);
    return p->failed ? NULL : t;
}

/* [ '<' [value] '>' ] after a name; true if present (*ret_bound NULL: <>). */
static bool angle(parser *p, idl_expr **ret_bound)
{
    *ret_bound = NULL;
    if (!accept(p, '<'))
        return false;
    if (p->tok.kind != '>')
        *ret_bound = expr(p, 0);
    expect(p, '>', "'>'");
    return true;
}

/* declaration; NULL for `void` (*ret_void set) or after an error. */
static idl_member *declaration(parser *p, bool void_ok, bool *ret_void)
{
    idl_member *m;
    idl_loc loc = p->tok.loc;

    if (ret_void != NULL)
        *ret_void = false;
    if (p->failed)
        return NULL;
    if (is_word(p, "void")) {
        if (!void_ok) {
            idl_error(p->u, loc, "'void' is only allowed as a union arm or a procedure's "
                      "argument or result");
            p->failed = true;
            return NULL;
        }
        next(p);
        *ret_void = true;
        return NULL;
    }
    m = NEW(idl_member);
    if (is_word(p, "opaque") || is_word(p, "string")) {
        bool opaque = is_word(p, "opaque");
        idl_expr *bound;
        next(p);
        m->name = ident(p, "a name", &m->loc);
        if (p->failed)
            return NULL;
        if (opaque && accept(p, '[')) {
            m->type = prim(p, loc, PARLEY_KIND_UINT8);
            m->declarator = IDL_DECLARATOR_ARRAY;
            m->count = expr(p, 0);
            expect(p, ']', "']'");
        } else if (angle(p, &bound)) {
            m->type = NEW(idl_type);
            m->type->loc = loc;
            m->type->base = opaque ? IDL_BASE_BYTES : IDL_BASE_STRING;
            m->type->bound = bound;
        } else {
            fail(p, p->tok.loc, opaque ? "'[' or '<' after an opaque name"
                                       : "'<' after a string name");
        }
        return p->failed ? NULL : m;
    }
    m->type = type_spec(p, false);
    if (accept(p, '*')) {
        if (m->type != NULL)
            m->type->optional = true;
    }
    m->name = ident(p, "a name", &m->loc);
    if (p->failed)
        return NULL;
    if (accept(p, '[')) {
        m->declarator = IDL_DECLARATOR_ARRAY;
        m->count = expr(p, 0);
        expect(p, ']', "']'");
    } else if (angle(p, &m->count)) {
        m->declarator = IDL_DECLARATOR_SEQ;
    }
    if (m->type->optional && m->declarator != IDL_DECLARATOR_NONE && !p->failed) {
        idl_error(p->u, m->loc, "optional data ('*') cannot also be an array");
        p->failed = true;
    }
    return p->failed ? NULL : m;
}

/* ---- definitions ----------------------------------------------------------- */

static idl_decl *new_decl(parser *p, idl_decl_kind kind, const char *name, idl_loc loc)
{
    idl_decl *d = NEW(idl_decl);
    d->kind = kind;
    d->name = name;
    d->loc = loc;
    return d;
}

static void add(parser *p, idl_decl *d)
{
    if (!p->failed)
        idl_file_add_decl(p->f, d);
}

static void def_const(parser *p)
{
    idl_loc loc;
    const char *name = ident(p, "a constant name", &loc);
    idl_decl *d;

    expect(p, '=', "'='");
    if (p->failed)
        return;
    d = new_decl(p, IDL_CONST, name, loc);
    if (p->tok.kind == XT_STRING) {
        d->str = p->tok.text;
        next(p);
    } else {
        d->expr = expr(p, 0);
    }
    expect(p, ';', "';'");
    add(p, d);
}

static void def_enum(parser *p)
{
    idl_loc loc;
    const char *name = ident(p, "an enum name", &loc);
    idl_enumval *vals = NULL, **tail = &vals;

    expect(p, '{', "'{'");
    while (!p->failed) {
        idl_enumval *v = NEW(idl_enumval);
        v->name = ident(p, "an enum value name", &v->loc);
        if (accept(p, '='))
            v->expr = expr(p, 0);
        *tail = v;
        tail = &v->next;
        if (!accept(p, ','))
            break;
        if (p->tok.kind == '}')
            break;     /* a trailing comma, as C allows */
    }
    expect(p, '}', "',' or '}'");
    expect(p, ';', "';'");
    if (!p->failed) {
        idl_decl *d = new_decl(p, IDL_ENUM, name, loc);
        d->values = vals;
        add(p, d);
    }
}

static void def_struct(parser *p)
{
    idl_loc loc;
    const char *name = ident(p, "a struct name", &loc);
    idl_member *list = NULL, **tail = &list;

    expect(p, '{', "'{'");
    do {
        idl_member *m = declaration(p, false, NULL);
        expect(p, ';', "';'");
        if (m != NULL) {
            *tail = m;
            tail = &m->next;
        }
    } while (!p->failed && p->tok.kind != '}');
    expect(p, '}', "'}'");
    expect(p, ';', "';'");
    if (!p->failed) {
        idl_decl *d = new_decl(p, IDL_STRUCT, name, loc);
        d->members = list;
        add(p, d);
    }
}

/* TRUE and FALSE in case labels: rpcgen leaves them to C's <rpc/types.h>. */
static idl_expr *case_value(parser *p)
{
    if (p->tok.kind == XT_IDENT && (strcmp(p->tok.text, "TRUE") == 0 ||
                                    strcmp(p->tok.text, "FALSE") == 0)) {
        idl_expr *e = must(idl_expr_int(p->f, p->tok.loc, p->tok.text[0] == 'T'));
        next(p);
        return e;
    }
    return expr(p, 0);
}

static void def_union(parser *p)
{
    idl_loc loc;
    const char *name = ident(p, "a union name", &loc);
    idl_decl *d = new_decl(p, IDL_UNION, name, loc);
    idl_arm **tail = &d->arms;
    bool dv;

    if (!p->failed && !is_word(p, "switch"))
        fail(p, p->tok.loc, "'switch'");
    else
        accept(p, XT_IDENT);
    expect(p, '(', "'('");
    d->disc = declaration(p, false, &dv);
    /* a bool discriminant is an int32 (rpcgen's bool_t is an int) */
    if (d->disc != NULL && d->disc->type->base == IDL_BASE_PRIM &&
        d->disc->type->prim == PARLEY_KIND_BOOL)
        d->disc->type->prim = PARLEY_KIND_INT32;
    expect(p, ')', "')'");
    expect(p, '{', "'{'");
    while (!p->failed && p->tok.kind != '}') {
        idl_arm *a = NEW(idl_arm);
        idl_case **ct = &a->cases;
        bool is_void;
        a->loc = p->tok.loc;
        while (!p->failed && (is_word(p, "case") || is_word(p, "default"))) {
            idl_case *c = NEW(idl_case);
            bool def = is_word(p, "default");
            c->loc = p->tok.loc;
            next(p);
            if (!def) {
                c->loc = p->tok.loc;
                c->expr = case_value(p);
            }
            expect(p, ':', "':'");
            *ct = c;
            ct = &c->next;
        }
        if (a->cases == NULL && !p->failed)
            fail(p, p->tok.loc, "'case', 'default' or '}'");
        a->member = declaration(p, true, &is_void);
        expect(p, ';', "';'");
        *tail = a;
        tail = &a->next;
    }
    expect(p, '}', "'}'");
    expect(p, ';', "';'");
    if (d->arms == NULL && !p->failed)
        fail(p, loc, "at least one arm");
    add(p, d);
}

static void def_typedef(parser *p)
{
    idl_member *m = declaration(p, false, NULL);

    expect(p, ';', "';'");
    /* `typedef struct x x;` restates what rpcgen's C declares anyway */
    if (m != NULL && !p->failed && m->type->base == IDL_BASE_NAMED && !m->type->optional &&
        m->declarator == IDL_DECLARATOR_NONE && strcmp(m->type->name, m->name) == 0)
        return;
    if (m != NULL && !p->failed) {
        idl_decl *d = new_decl(p, IDL_TYPEDEF, m->name, m->loc);
        d->alias = m;
        add(p, d);
    }
}

static char *lower(void *ctx, const char *s)
{
    char *r = must(talloc_strdup(ctx, s));
    for (char *q = r; *q; q++)
        *q = (char)tolower((unsigned char)*q);
    return r;
}

/* A number that must fit [0, max] for the method id scheme. */
static bool number(parser *p, const idl_expr *e, int64_t max, const char *what, int64_t *ret)
{
    if (!eval_now(p, e, 0, ret))
        return false;
    if (*ret < 0 || *ret > max) {
        idl_error(p->u, e->loc, "%s %lld is out of range 0..%lld (Parley method ids are "
                  "((program + 1) << 24) | version << 16 | procedure)", what,
                  (long long)*ret, (long long)max);
        return false;
    }
    return true;
}

static idl_member *param(parser *p, idl_type *t, const char *name)
{
    idl_member *m = NEW(idl_member);
    m->loc = t->loc;
    m->name = name;
    m->type = t;
    return m;
}

/* A procedure's argument or result: void or a type-specifier. */
static idl_type *proc_type(parser *p)
{
    if (is_word(p, "void")) {
        next(p);
        return NULL;
    }
    return type_spec(p, true);
}

typedef struct proc {
    idl_method *m;
    idl_expr *num;
    struct proc *next;
} proc;

static void def_version(parser *p, int prog_index, idl_decl **ifaces_tail)
{
    idl_loc loc;
    const char *name;
    proc *procs = NULL, **tail = &procs;
    idl_expr *vnum;
    int64_t vers = 0;

    next(p);        /* 'version' */
    name = ident(p, "a version name", &loc);
    expect(p, '{', "'{'");
    while (!p->failed && p->tok.kind != '}') {
        proc *pr = NEW(proc);
        idl_method *m = NEW(idl_method);
        idl_type *ret = proc_type(p), *arg;
        const char *pname;
        int n = 0;
        pname = ident(p, "a procedure name", &m->loc);
        expect(p, '(', "'('");
        m->name = pname;
        if (ret != NULL)
            m->results = param(p, ret, "res");
        if (!p->failed) {
            idl_member **at = &m->args;
            do {
                arg = proc_type(p);
                if (arg != NULL) {
                    *at = param(p, arg, "arg");
                    at = &(*at)->next;
                    n++;
                }
            } while (accept(p, ','));
            if (n > 1) {
                int i = 1;
                for (idl_member *a = m->args; a != NULL; a = a->next)
                    a->name = must(talloc_asprintf(p->f, "arg%d", i++));
            }
        }
        expect(p, ')', "')'");
        expect(p, '=', "'='");
        pr->num = p->failed ? NULL : expr(p, 0);
        expect(p, ';', "';'");
        pr->m = m;
        *tail = pr;
        tail = &pr->next;
    }
    expect(p, '}', "'}'");
    expect(p, '=', "'='");
    vnum = p->failed ? NULL : expr(p, 0);
    expect(p, ';', "';'");
    if (p->failed)
        return;
    if (!number(p, vnum, MAX_VERSION, "version number", &vers))
        return;     /* reported; its procedures are left out */
    {
        idl_decl *d = new_decl(p, IDL_INTERFACE, lower(p->f, name), loc);
        idl_method **mt = &d->methods;
        if (!p->have_version) {
            p->have_version = true;
            p->f->version = (uint32_t)vers;
            p->f->version_expr = vnum;
        }
        for (proc *pr = procs; pr != NULL; pr = pr->next) {
            int64_t num;
            idl_method *m = pr->m;
            /* a procedure whose number was reported is left out */
            if (!number(p, pr->num, MAX_PROC, "procedure number", &num))
                continue;
            m->name = must(talloc_asprintf(p->f, "%s_%lld", lower(p->f, m->name),
                                           (long long)vers));
            m->iface = d;
            m->id = must(idl_expr_int(p->f, pr->num->loc,
                                      ((int64_t)(prog_index + 1) << 24) | (vers << 16) | num));
            *mt = m;
            mt = &m->next;
        }
        *ifaces_tail = d;
    }
}

static void def_program(parser *p)
{
    idl_loc loc;
    idl_decl *ifaces = NULL, **tail = &ifaces;
    int index = p->n_programs++;
    idl_expr *pnum;
    int64_t number_value;

    ident(p, "a program name", &loc);
    expect(p, '{', "'{'");
    if (!p->failed && index >= MAX_PROGRAMS) {
        idl_error(p->u, loc, "too many programs in one file (the limit is %d)", MAX_PROGRAMS);
        p->failed = true;
    }
    do {
        if (!p->failed && !is_word(p, "version")) {
            fail(p, p->tok.loc, "'version'");
            break;
        }
        def_version(p, index, tail);
        if (*tail != NULL)
            tail = &(*tail)->next;
    } while (!p->failed && p->tok.kind != '}');
    expect(p, '}', "'}'");
    expect(p, '=', "'='");
    pnum = p->failed ? NULL : expr(p, 0);
    expect(p, ';', "';'");
    /* the program number is not on Parley's wire (doc/idl.md), but an
     * unknown constant in it is still an error */
    if (p->failed || !eval_now(p, pnum, 0, &number_value))
        return;
    while (ifaces != NULL) {
        idl_decl *nx = ifaces->next;
        ifaces->next = NULL;
        idl_file_add_decl(p->f, ifaces);
        ifaces = nx;
    }
}

static void definition(parser *p)
{
    static const struct { const char *word; void (*fn)(parser *); } defs[] = {
        { "const", def_const }, { "enum", def_enum }, { "struct", def_struct },
        { "union", def_union }, { "typedef", def_typedef },
    };

    p->failed = false;
    p->depth = 0;
    if (is_word(p, "program")) {
        next(p);
        def_program(p);
    } else {
        size_t i;
        for (i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
            if (is_word(p, defs[i].word))
                break;
        if (i == sizeof(defs) / sizeof(defs[0])) {
            fail(p, p->tok.loc, "a definition (const, enum, struct, union, typedef or "
                 "program)");
        } else {
            next(p);
            defs[i].fn(p);
        }
    }
    if (p->failed) {
        /* skip to the ';' that ends this definition (a '}' ending it at
         * depth 0 is also taken as its end) */
        while (p->tok.kind != XT_EOF && !(p->tok.kind == ';' && p->depth <= 0))
            next(p);
        if (p->tok.kind == ';')
            next(p);
    }
}

/* The protocol's name: the file's base name, made a C identifier. */
static const char *protocol_name(parser *p)
{
    char *s = must(talloc_strdup(p->f, p->f->base[0] != '\0' ? p->f->base : "x"));

    for (char *q = s; *q; q++)
        if (!isalnum((unsigned char)*q) && *q != '_')
            *q = '_';
    if (isdigit((unsigned char)s[0]))
        s = must(talloc_asprintf(p->f, "x%s", s));
    return s;
}

void idl_parse_xdr(idl_file *f)
{
    parser ps, *p = &ps;

    memset(p, 0, sizeof(*p));
    p->u = f->unit;
    p->f = f;
    f->xdr = true;
    xdr_lex_init(&p->lx, f);
    next(p);
    while (p->tok.kind != XT_EOF)
        definition(p);
    for (idl_decl *d = f->decls; d != NULL; d = d->next)
        d->state = 0;
    xdr_fixup(f, &p->lx, p->refs, p->n_refs);
    f->has_protocol = true;
    f->protocol_loc.file = f;
    f->protocol_loc.line = 1;
    f->protocol_loc.col = 1;
    f->protocol = protocol_name(p);
    if (f->version_expr == NULL)
        f->version_expr = must(idl_expr_int(f, f->protocol_loc, 1));
}
