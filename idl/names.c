/* SPDX-License-Identifier: MIT */
/* parley-idl: C names.  Every IDL name is mapped to the C identifiers the
 * generator writes (doc/idl.md, "C mapping"); names that are C or C++
 * keywords, and distinct IDL names that map to one C identifier, are errors. */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <talloc.h>

#include "ast.h"

static const char *const reserved_words[] = {
    /* C11 */
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
    "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
    "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch",
    "typedef", "union", "unsigned", "void", "volatile", "while",
    /* C++ */
    "alignas", "alignof", "and", "and_eq", "asm", "bitand", "bitor", "bool", "catch",
    "char16_t", "char32_t", "char8_t", "class", "compl", "concept", "consteval",
    "constexpr", "constinit", "const_cast", "co_await", "co_return", "co_yield",
    "decltype", "delete", "dynamic_cast", "explicit", "export", "false", "friend",
    "mutable", "namespace", "new", "noexcept", "not", "not_eq", "nullptr", "operator", "or",
    "or_eq", "private", "protected", "public", "reinterpret_cast", "requires",
    "static_assert", "static_cast", "template", "this", "thread_local", "throw", "true",
    "try", "typeid", "typename", "using", "virtual", "wchar_t", "xor", "xor_eq",
    /* names the generated code has in scope */
    "NULL", "size_t", "offsetof", "errno", "int8_t", "int16_t", "int32_t", "int64_t",
    "uint8_t", "uint16_t", "uint32_t", "uint64_t",
};

bool idl_is_reserved_word(const char *name)
{
    for (size_t i = 0; i < sizeof(reserved_words) / sizeof(reserved_words[0]); i++)
        if (strcmp(reserved_words[i], name) == 0)
            return true;
    return false;
}

char *idl_upper(void *ctx, const char *s)
{
    char *r = talloc_strdup(ctx, s);
    if (r != NULL)
        for (char *p = r; *p; p++)
            *p = (char)toupper((unsigned char)*p);
    return r;
}

static char *mangle(void *ctx, const char *prefix, const char *name)
{
    size_t n = strlen(prefix);

    if (n == 0 || strcmp(name, prefix) == 0 || (strncmp(name, prefix, n) == 0 && name[n] == '_'))
        return talloc_strdup(ctx, name);
    return talloc_asprintf(ctx, "%s_%s", prefix, name);
}

static void *must(idl_unit *u, void *p)
{
    if (p == NULL) {
        fprintf(stderr, "parley-idl: fatal: out of memory\n");
        exit(2);
    }
    (void)u;
    return p;
}

void idl_names_assign(idl_unit *u)
{
    for (idl_decl *d = u->decls; d != NULL; d = d->unit_next) {
        const char *prefix = d->file->protocol != NULL ? d->file->protocol : "";
        if (d->kind == IDL_INTERFACE) {
            for (idl_method *m = d->methods; m != NULL; m = m->next)
                if (m->cname == NULL)
                    m->cname = m->name;
            continue;
        }
        d->cname = must(u, mangle(d, prefix, d->name));
        if (d->kind == IDL_CONST)
            d->cname = must(u, idl_upper(d, d->cname));
        if (d->kind == IDL_ENUM) {
            char *up = must(u, idl_upper(d, d->cname));
            for (idl_enumval *v = d->values; v != NULL; v = v->next)
                v->cname = must(u, talloc_asprintf(d, "%s_%s", up,
                                                   (char *)must(u, idl_upper(d, v->name))));
        }
    }
}

/* ---- identifier spelling ------------------------------------------------- */

static void check_ident(idl_unit *u, idl_loc loc, const char *name, bool raw)
{
    if (strstr(name, "__") != NULL)
        idl_error(u, loc, "'%s' contains '__', which is reserved for generated names", name);
    else if (name[strlen(name) - 1] == '_')
        idl_error(u, loc, "'%s' ends in '_', which is reserved for generated names", name);
    else if (raw && idl_is_reserved_word(name))
        idl_error(u, loc, "'%s' is a C or C++ keyword (or a standard name) and cannot be "
                  "used here", name);
}

static void check_member_idents(idl_unit *u, const idl_member *m)
{
    for (; m != NULL; m = m->next)
        check_ident(u, m->loc, m->name, true);
}

/* ---- collisions ------------------------------------------------------------ */

typedef struct cident {
    const char *cname;
    const char *what;
    idl_loc loc;
    size_t seq;
} cident;

typedef struct cset {
    cident *v;
    size_t n, cap;
} cset;

static void add(idl_unit *u, cset *s, idl_loc loc, const char *what, const char *cname)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->v = must(u, talloc_realloc(u, s->v, cident, s->cap));
    }
    s->v[s->n].cname = cname;
    s->v[s->n].what = what;
    s->v[s->n].loc = loc;
    s->v[s->n].seq = s->n;
    s->n++;
}

static int cmp_cident(const void *a, const void *b)
{
    const cident *x = a, *y = b;
    int c = strcmp(x->cname, y->cname);
    if (c != 0)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Whether a comes before b in the source (files in load order). */
static bool before(const cident *a, const cident *b)
{
    if (a->loc.file != b->loc.file)
        return a->seq < b->seq;
    if (a->loc.line != b->loc.line)
        return a->loc.line < b->loc.line;
    return a->loc.col < b->loc.col;
}

#define F(...) must(u, talloc_asprintf(tmp, __VA_ARGS__))

void idl_names_check(idl_unit *u)
{
    void *tmp = must(u, talloc_new(NULL));
    cset s = { NULL, 0, 0 };
    int errors_before = u->errors;

    for (idl_file *f = u->files; f != NULL; f = f->next) {
        if (!f->has_protocol)
            continue;
        check_ident(u, f->protocol_loc, f->protocol, true);
        add(u, &s, f->protocol_loc, F("the protocol of %s", f->name),
            F("%s_protocol", f->protocol));
    }
    for (idl_decl *d = u->decls; d != NULL; d = d->unit_next) {
        const char *kind = idl_decl_kind_name(d->kind);
        check_ident(u, d->loc, d->name, false);
        switch (d->kind) {
        case IDL_STRUCT:
            check_member_idents(u, d->members);
            break;
        case IDL_UNION:
            check_member_idents(u, d->disc);
            for (idl_arm *a = d->arms; a != NULL; a = a->next)
                if (a->member != NULL)
                    check_member_idents(u, a->member);
            break;
        case IDL_ENUM:
            for (idl_enumval *v = d->values; v != NULL; v = v->next) {
                check_ident(u, v->loc, v->name, false);
                add(u, &s, v->loc, F("value '%s' of enum '%s'", v->name, d->name), v->cname);
            }
            break;
        case IDL_INTERFACE:
            if (d->file != u->main)
                break;
            for (idl_method *m = d->methods; m != NULL; m = m->next) {
                const char *p = d->file->protocol, *mw = F("method '%s'", m->name);
                char *up = must(u, idl_upper(tmp, p));
                char *mup = must(u, idl_upper(tmp, m->cname));
                check_ident(u, m->loc, m->cname, true);
                check_member_idents(u, m->args);
                check_member_idents(u, m->results);
                add(u, &s, m->loc, mw, F("%s_%s", p, m->cname));
                add(u, &s, m->loc, mw, F("%s_%s_request", p, m->cname));
                add(u, &s, m->loc, mw, F("%s_%s_request_type", p, m->cname));
                add(u, &s, m->loc, mw, F("%s_%s_handler", p, m->cname));
                add(u, &s, m->loc, mw, F("%s_METHOD_%s", up, mup));
                add(u, &s, m->loc, mw, F("%s_%s_send", p, m->cname));
                if (!m->oneway) {
                    add(u, &s, m->loc, mw, F("%s_%s_timeout", p, m->cname));
                    add(u, &s, m->loc, mw, F("%s_%s_reply", p, m->cname));
                    add(u, &s, m->loc, mw, F("%s_%s_reply_type", p, m->cname));
                }
            }
            continue;
        default:
            break;
        }
        if (d->cname == NULL)
            continue;
        if (d->kind != IDL_HANDLE)      /* a handle's C name is only in its descriptor's */
            add(u, &s, d->loc, F("%s '%s'", kind, d->name), d->cname);
        if (idl_decl_is_type(d))
            add(u, &s, d->loc, F("%s '%s'", kind, d->name), F("%s_type", d->cname));
    }
    if (u->main != NULL && u->main->has_protocol) {
        idl_loc l = u->main->protocol_loc;
        const char *p = u->main->protocol;
        add(u, &s, l, "the protocol", F("%s_handlers", p));
        add(u, &s, l, "the protocol", F("%s_register", p));
    }
    if (errors_before > 0)
        s.n = 0;    /* collisions of declarations with errors would only be noise */
    if (s.n > 0)
        qsort(s.v, s.n, sizeof(s.v[0]), cmp_cident);
    /* collect the collisions, one per pair of declarations, then report
     * them in source order */
    {
        cident *late = must(u, talloc_array(tmp, cident, s.n + 1));
        const cident **early = must(u, talloc_array(tmp, const cident *, s.n + 1));
        size_t nc = 0;
        for (size_t i = 1; i < s.n; i++) {
            size_t first = i - 1;
            bool seen = false;
            if (strcmp(s.v[i].cname, s.v[first].cname) != 0)
                continue;
            while (first > 0 && strcmp(s.v[first - 1].cname, s.v[i].cname) == 0)
                first--;
            if (strcmp(s.v[i].what, s.v[first].what) == 0)
                continue;
            for (size_t k = 0; k < nc && !seen; k++)
                seen = strcmp(late[k].what, s.v[i].what) == 0 &&
                       strcmp(early[k]->what, s.v[first].what) == 0;
            if (seen)
                continue;
            late[nc] = s.v[i];
            early[nc] = &s.v[first];
            nc++;
        }
        for (size_t k = 0; k < nc; k++) {
            /* selection of the next in source order; nc is small */
            size_t best = k;
            for (size_t j = k + 1; j < nc; j++)
                if (before(&late[j], &late[best]))
                    best = j;
            if (best != k) {
                cident t = late[k];
                const cident *te = early[k];
                late[k] = late[best];
                early[k] = early[best];
                late[best] = t;
                early[best] = te;
            }
            idl_error(u, late[k].loc, "%s collides with %s: both are '%s' in C", late[k].what,
                      early[k]->what, late[k].cname);
            idl_note(u, early[k]->loc, "%s is declared here", early[k]->what);
            if (strncmp(late[k].what, "method ", 7) == 0 ||
                strncmp(early[k]->what, "method ", 7) == 0)
                idl_note(u, strncmp(late[k].what, "method ", 7) == 0 ? late[k].loc
                                                                     : early[k]->loc,
                         "[c_name(NAME)] before the method gives it other C names");
        }
    }
    talloc_free(s.v);
    talloc_free(tmp);
}
