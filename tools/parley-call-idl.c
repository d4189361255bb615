/* SPDX-License-Identifier: MIT */
/* parley-call: a protocol's descriptors printed back as IDL (doc/idl.md) that
 * parley-idl accepts and that gives the same fingerprints.
 *
 * Named types (the protocol's type table) and every struct, union, enum and
 * handle become declarations; other types are written as member declarators
 * (`T x[4]`, `T x<8>`, `optional T x`, `string<16> x`) and, where one
 * declarator cannot say it (a sequence of arrays, say), as a typedef with a
 * made-up name.  C names lose the protocol's prefix (`kv_entry` -> `entry`),
 * which parley-idl adds back; enum values lose their type's prefix. */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "parley-call.h"

typedef struct decl {
    const parley_type *type;
    char *name;             /* the IDL name */
    bool declared;          /* its declaration is written (in out) */
    bool synthetic;         /* a typedef we made up */
} decl;

struct pc_idl {
    const parley_protocol *p;
    decl *decls;
    size_t n_decls;
    unsigned n_synthetic;
    char *out;              /* declarations written so far */
    bool nomem;
};

static const char *const idl_keywords[] = {
    "protocol", "import", "const", "enum", "struct", "union", "switch", "case", "default",
    "void", "typedef", "handle", "interface", "oneway", "optional", "reserved", "string",
    "bytes", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool",
    "float", "double", "fd",
};

/* Names parley-idl refuses for members because the generated C or C++ would
 * not compile (doc/idl.md, "C mapping"). */
static const char *const c_words[] = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "else", "enum",
    "extern", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return",
    "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned",
    "void", "volatile", "while", "alignas", "alignof", "and", "and_eq", "asm", "bitand",
    "bitor", "catch", "char16_t", "char32_t", "char8_t", "class", "compl", "concept",
    "consteval", "constexpr", "constinit", "const_cast", "co_await", "co_return", "co_yield",
    "decltype", "delete", "dynamic_cast", "explicit", "export", "false", "friend", "mutable",
    "namespace", "new", "noexcept", "not", "not_eq", "nullptr", "operator", "or", "or_eq",
    "private", "protected", "public", "reinterpret_cast", "requires", "static_assert",
    "static_cast", "template", "this", "thread_local", "throw", "true", "try", "typeid",
    "typename", "using", "virtual", "wchar_t", "xor", "xor_eq", "NULL", "size_t", "offsetof",
    "errno", "int8_t", "int16_t", "int32_t", "int64_t", "uint8_t", "uint16_t", "uint32_t",
    "uint64_t",
};

static bool is_keyword(const char *s)
{
    for (size_t i = 0; i < sizeof(idl_keywords) / sizeof(idl_keywords[0]); i++)
        if (strcmp(idl_keywords[i], s) == 0)
            return true;
    for (size_t i = 0; i < sizeof(c_words) / sizeof(c_words[0]); i++)
        if (strcmp(c_words[i], s) == 0)
            return true;
    return false;
}

/* s as an IDL identifier: letters, digits and single underscores, starting
 * with a letter, not ending in '_', not a keyword. */
static char *identifier(TALLOC_CTX *mem, const char *s)
{
    char *r = talloc_strdup(mem, "");

    for (const char *c = s; r != NULL && *c; c++) {
        size_t n = strlen(r);
        char ch = isalnum((unsigned char)*c) ? *c : '_';

        if (ch == '_' && (n == 0 || r[n - 1] == '_'))
            continue;
        if (n == 0 && isdigit((unsigned char)ch))
            r = talloc_strdup_append(r, "n");
        if (r != NULL)
            r = talloc_asprintf_append(r, "%c", ch);
    }
    if (r == NULL)
        return NULL;
    while (r[0] && r[strlen(r) - 1] == '_')
        r[strlen(r) - 1] = '\0';
    if (r[0] == '\0' || is_keyword(r))
        r = talloc_strdup_append(r, "x");
    return r;
}

static char *strip_prefix(TALLOC_CTX *mem, const char *name, const char *prefix, bool upper)
{
    size_t n = strlen(prefix);

    if (n > 0 && strlen(name) > n + 1 && name[n] == '_') {
        bool same = true;

        for (size_t i = 0; i < n && same; i++)
            same = upper ? toupper((unsigned char)prefix[i]) == name[i] : prefix[i] == name[i];
        if (same)
            return identifier(mem, name + n + 1);
    }
    return identifier(mem, name);
}

static bool is_aggregate(const parley_type *t)
{
    return t->kind == PARLEY_KIND_STRUCT || t->kind == PARLEY_KIND_UNION ||
           t->kind == PARLEY_KIND_ENUM || t->kind == PARLEY_KIND_HANDLE;
}

static decl *find(pc_idl *w, const parley_type *t)
{
    for (size_t i = 0; i < w->n_decls; i++)
        if (w->decls[i].type == t)
            return &w->decls[i];
    return NULL;
}

static bool name_taken(pc_idl *w, const char *name)
{
    for (size_t i = 0; i < w->n_decls; i++)
        if (strcmp(w->decls[i].name, name) == 0)
            return true;
    return false;
}

static decl *add(pc_idl *w, const parley_type *t, const char *name, bool synthetic)
{
    decl *d = talloc_realloc(w, w->decls, decl, w->n_decls + 1);
    char *n;

    if (d == NULL) {
        w->nomem = true;
        return NULL;
    }
    w->decls = d;
    n = synthetic ? talloc_strdup(w, name) : strip_prefix(w, name, w->p->name, false);
    if (n == NULL) {
        w->nomem = true;
        return NULL;
    }
    while (name_taken(w, n) && n != NULL)
        n = talloc_asprintf_append(n, "%u", ++w->n_synthetic);
    if (n == NULL) {
        w->nomem = true;
        return NULL;
    }
    d = &w->decls[w->n_decls++];
    d->type = t;
    d->name = n;
    d->declared = false;
    d->synthetic = synthetic;
    return d;
}

/* Every struct, union, enum and handle reachable from t (not t itself when
 * skip_self: a method's request or reply is its argument list). */
static void collect(pc_idl *w, const parley_type *t, bool skip_self)
{
    if (t == NULL || (!skip_self && find(w, t) != NULL))
        return;
    if (!skip_self && is_aggregate(t) && add(w, t, t->name, false) == NULL)
        return;
    collect(w, t->elem, false);
    collect(w, t->discriminator, false);
    for (size_t i = 0; i < t->n_fields; i++)
        collect(w, t->fields[i].type, false);
    for (size_t i = 0; i < t->n_arms; i++)
        collect(w, t->arms[i].type, false);
    if (t->default_arm)
        collect(w, t->default_arm->type, false);
}

pc_idl *pc_idl_new(TALLOC_CTX *mem_ctx, const parley_protocol *p)
{
    pc_idl *w = talloc_zero(mem_ctx, pc_idl);

    if (w == NULL)
        return NULL;
    w->p = p;
    w->out = talloc_strdup(w, "");
    for (size_t i = 0; i < p->n_types; i++)
        if (find(w, p->types[i]) == NULL && add(w, p->types[i], p->types[i]->name, false))
            collect(w, p->types[i], true);
    for (size_t i = 0; i < p->n_methods; i++) {
        collect(w, p->methods[i].request, true);
        collect(w, p->methods[i].reply, true);
    }
    if (w->out == NULL || w->nomem) {
        talloc_free(w);
        return NULL;
    }
    return w;
}

static void append(pc_idl *w, char **buf, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(pc_idl *w, char **buf, const char *fmt, ...)
{
    va_list ap;
    char *r;

    if (*buf == NULL)
        return;
    va_start(ap, fmt);
    r = talloc_vasprintf_append_buffer(*buf, fmt, ap);
    va_end(ap);
    if (r == NULL)
        w->nomem = true;
    *buf = r;
}

static void declare(pc_idl *w, decl *d);

/* The base type text of t (written before the member name), or NULL when t
 * is a declarator form (array, sequence, optional) that is not named. */
static const char *base_name(pc_idl *w, const parley_type *t, char **tmp)
{
    decl *d = find(w, t);

    if (d != NULL) {
        declare(w, d);
        return d->name;
    }
    switch (t->kind) {
    case PARLEY_KIND_INT8: case PARLEY_KIND_INT16: case PARLEY_KIND_INT32:
    case PARLEY_KIND_INT64: case PARLEY_KIND_UINT8: case PARLEY_KIND_UINT16:
    case PARLEY_KIND_UINT32: case PARLEY_KIND_UINT64: case PARLEY_KIND_BOOL:
    case PARLEY_KIND_FLOAT: case PARLEY_KIND_DOUBLE: case PARLEY_KIND_FD:
        return parley_kind_name(t->kind);
    case PARLEY_KIND_STRING:
    case PARLEY_KIND_BYTES:
        if (t->bound == 0)
            return parley_kind_name(t->kind);
        *tmp = talloc_asprintf(w, "%s<%" PRIu32 ">", parley_kind_name(t->kind), t->bound);
        if (*tmp == NULL)
            w->nomem = true;
        return *tmp ? *tmp : "?";
    default:
        return NULL;
    }
}

/* "[optional] BASE" for t when one member type can say it, else NULL. */
static char *type_text(pc_idl *w, const parley_type *t)
{
    char *tmp = NULL, *r;
    const char *b = base_name(w, t, &tmp);

    if (b != NULL) {
        r = talloc_strdup(w, b);
    } else if (t->kind == PARLEY_KIND_OPTIONAL && find(w, t->elem) == NULL &&
               t->elem->kind == PARLEY_KIND_OPTIONAL) {
        r = NULL;                         /* optional optional: needs a typedef */
    } else if (t->kind == PARLEY_KIND_OPTIONAL) {
        char *inner = NULL;
        const char *ib = base_name(w, t->elem, &inner);

        r = ib ? talloc_asprintf(w, "optional %s", ib) : NULL;
        talloc_free(inner);
    } else {
        r = NULL;
    }
    talloc_free(tmp);
    return r;
}

/* A made-up typedef for t; returns its name. */
static const char *synthesize(pc_idl *w, const parley_type *t)
{
    char name[32];
    decl *d;

    snprintf(name, sizeof(name), "anon%u", ++w->n_synthetic);
    d = add(w, t, name, true);
    if (d == NULL)
        return "?";
    declare(w, d);
    return d->name;
}

/* "T name", "T name[4]", "T name<8>", "optional T name", with attributes. */
static char *member(pc_idl *w, const parley_type *t, const char *name, unsigned flags)
{
    const char *attr = (flags & PARLEY_FIELD_SENSITIVE) ? "[sensitive] " : "";
    char *id = identifier(w, name ? name : "x");
    char *r = NULL, *tt;

    if (id == NULL) {
        w->nomem = true;
        return NULL;
    }
    tt = type_text(w, t);
    if (tt != NULL) {
        r = talloc_asprintf(w, "%s%s %s", attr, tt, id);
    } else if (t->kind == PARLEY_KIND_ARRAY || t->kind == PARLEY_KIND_SEQUENCE) {
        char *et = type_text(w, t->elem);
        const char *e = et ? et : synthesize(w, t->elem);

        if (t->kind == PARLEY_KIND_ARRAY)
            r = talloc_asprintf(w, "%s%s %s[%" PRIu32 "]", attr, e, id, t->bound);
        else if (t->bound)
            r = talloc_asprintf(w, "%s%s %s<%" PRIu32 ">", attr, e, id, t->bound);
        else
            r = talloc_asprintf(w, "%s%s %s<>", attr, e, id);
        talloc_free(et);
    } else {
        /* an optional of something one member cannot say */
        r = talloc_asprintf(w, "%soptional %s %s", attr, synthesize(w, t->elem), id);
    }
    talloc_free(tt);
    talloc_free(id);
    if (r == NULL)
        w->nomem = true;
    return r;
}

static void print_int(char *buf, size_t size, int64_t v)
{
    if (v == INT64_MIN)
        snprintf(buf, size, "(-9223372036854775807 - 1)");
    else
        snprintf(buf, size, "%" PRId64, v);
}

static void declare_enum(pc_idl *w, decl *d, char **out)
{
    const parley_type *t = d->type;
    char *prefix = talloc_strdup(w, t->name);

    append(w, out, "%senum %s {", (t->flags & PARLEY_TYPE_FLAGS) ? "[flags] " : "", d->name);
    for (size_t i = 0; i < t->n_values; i++) {
        char *v = prefix ? strip_prefix(w, t->values[i].name, prefix, true) : NULL;

        append(w, out, "%s %s = %" PRId32, i ? "," : "", v ? v : "x", t->values[i].value);
        talloc_free(v);
    }
    append(w, out, " };\n");
    talloc_free(prefix);
}

static bool is_arm_name(const parley_type *t, const char *name)
{
    for (size_t i = 0; i < t->n_arms; i++)
        if (t->arms[i].name && strcmp(t->arms[i].name, name) == 0)
            return true;
    return t->default_arm && t->default_arm->name && strcmp(t->default_arm->name, name) == 0;
}

/* The discriminator's name; descriptors without one (parley-idl leaves it
 * out) get one that no arm uses. */
static char *disc_name(pc_idl *w, const parley_type *t)
{
    static const char *const fallback[] = { "kind", "tag", "which", "discriminator" };

    if (t->discriminator_name && t->discriminator_name[0] &&
        strcmp(t->discriminator_name, "u") != 0 && !is_arm_name(t, t->discriminator_name))
        return identifier(w, t->discriminator_name);
    for (size_t i = 0; i < sizeof(fallback) / sizeof(fallback[0]); i++)
        if (!is_arm_name(t, fallback[i]))
            return talloc_strdup(w, fallback[i]);
    return talloc_strdup(w, "discriminator2");
}

/* Arms with the same member (several labels) are written as one arm. */
static void declare_union(pc_idl *w, decl *d, char **out)
{
    const parley_type *t = d->type;
    char *dt = type_text(w, t->discriminator);
    char *dn = disc_name(w, t);
    bool *done = talloc_zero_array(w, bool, t->n_arms + 1);

    if (dt == NULL || dn == NULL || done == NULL) {
        w->nomem = true;
        return;
    }
    append(w, out, "union %s switch (%s %s) {\n", d->name, dt, dn);
    for (size_t i = 0; i < t->n_arms; i++) {
        const parley_arm *a = &t->arms[i];
        char label[64];
        char *m;

        if (done[i])
            continue;
        append(w, out, "   ");
        for (size_t j = i; j < t->n_arms; j++) {
            const parley_arm *b = &t->arms[j];

            if (done[j] || b->type != a->type || b->offset != a->offset ||
                (a->type && strcmp(a->name, b->name) != 0))
                continue;
            done[j] = true;
            print_int(label, sizeof(label), b->value);
            append(w, out, " case %s:", label);
        }
        m = a->type ? member(w, a->type, a->name, a->flags) : NULL;
        append(w, out, " %s;\n", m ? m : "void");
        talloc_free(m);
    }
    if (t->default_arm) {
        char *m = t->default_arm->type ? member(w, t->default_arm->type, t->default_arm->name,
                                                t->default_arm->flags) : NULL;

        append(w, out, "    default: %s;\n", m ? m : "void");
        talloc_free(m);
    }
    append(w, out, "};\n");
    talloc_free(dt);
    talloc_free(dn);
    talloc_free(done);
}

static void declare(pc_idl *w, decl *d)
{
    const parley_type *t = d->type;
    char *out = talloc_strdup(w, "");
    char *m;

    if (d->declared)
        return;
    d->declared = true;       /* first: recursion through members stops here */
    switch (t->kind) {
    case PARLEY_KIND_ENUM:
        declare_enum(w, d, &out);
        break;
    case PARLEY_KIND_HANDLE:
        append(w, &out, "handle %s;\n", d->name);
        break;
    case PARLEY_KIND_STRUCT:
        append(w, &out, "struct %s {\n", d->name);
        for (size_t i = 0; i < t->n_fields; i++) {
            m = member(w, t->fields[i].type, t->fields[i].name, t->fields[i].flags);
            append(w, &out, "    %s;\n", m ? m : "?");
            talloc_free(m);
        }
        append(w, &out, "};\n");
        break;
    case PARLEY_KIND_UNION:
        declare_union(w, d, &out);
        break;
    default: {
        /* a typedef: the declarator of t named d->name; find() must not
         * return d itself while its body is written */
        const parley_type *saved = d->type;

        d->type = NULL;
        m = member(w, saved, d->name, 0);
        d->type = saved;
        append(w, &out, "typedef %s;\n", m ? m : "?");
        talloc_free(m);
        break;
    }
    }
    append(w, &w->out, "%s\n", out ? out : "");
    talloc_free(out);
}

static char *args(pc_idl *w, const parley_type *s)
{
    char *r = talloc_strdup(w, "");

    for (size_t i = 0; s != NULL && i < s->n_fields; i++) {
        char *m = member(w, s->fields[i].type, s->fields[i].name, s->fields[i].flags);

        append(w, &r, "%s%s", i ? ", " : "", m ? m : "?");
        talloc_free(m);
    }
    return r;
}

char *pc_idl_signature(pc_idl *w, const parley_method *m)
{
    char *in = args(w, m->request), *out, *r;

    if (m->flags & PARLEY_METHOD_ONEWAY) {
        r = talloc_asprintf(w, "oneway %s(%s)", m->name, in ? in : "?");
    } else {
        out = args(w, m->reply);
        r = talloc_asprintf(w, "%s(%s) -> (%s)", m->name, in ? in : "?", out ? out : "?");
        talloc_free(out);
    }
    talloc_free(in);
    return r;
}

/* The interface blocks, with the methods selected by want (NULL: all). */
static char *interfaces(pc_idl *w, const bool *want)
{
    char *r = talloc_strdup(w, "");
    const char **names = talloc_zero_array(w, const char *,
                                           w->p->n_interfaces + w->p->n_methods + 1);
    size_t n_names = 0;

    if (names == NULL)
        return NULL;
    for (size_t i = 0; i < w->p->n_interfaces; i++)
        names[n_names++] = w->p->interfaces[i];
    for (size_t i = 0; i < w->p->n_methods; i++) {
        const char *in = w->p->methods[i].interface ? w->p->methods[i].interface : "main";
        bool seen = false;

        for (size_t j = 0; j < n_names && !seen; j++)
            seen = strcmp(names[j], in) == 0;
        if (!seen)
            names[n_names++] = in;
    }
    for (size_t k = 0; k < n_names; k++) {
        bool opened = false;

        for (size_t i = 0; i < w->p->n_methods; i++) {
            const parley_method *m = &w->p->methods[i];
            const char *in = m->interface ? m->interface : "main";
            char *sig;

            if (strcmp(in, names[k]) != 0 || (want && !want[i]))
                continue;
            if (!opened)
                append(w, &r, "interface %s {\n", names[k]);
            opened = true;
            sig = pc_idl_signature(w, m);
            append(w, &r, "    %s = %" PRIu32 ";    // fingerprint 0x%016" PRIx64 "\n",
                   sig ? sig : "?", m->id, m->fingerprint);
            talloc_free(sig);
        }
        if (opened)
            append(w, &r, "};\n\n");
    }
    talloc_free(names);
    return r;
}

static char *assemble(pc_idl *w, char *ifaces)
{
    char *r = talloc_asprintf(w, "// protocol %s, version %" PRIu32 ", by introspection\n"
                              "protocol %s %" PRIu32 ";\n\n%s%s", w->p->name, w->p->version,
                              w->p->name, w->p->version, w->out ? w->out : "",
                              ifaces ? ifaces : "");
    talloc_free(ifaces);
    if (w->nomem || w->out == NULL) {
        talloc_free(r);
        return NULL;
    }
    if (r != NULL) {
        size_t n = strlen(r);

        while (n >= 2 && r[n - 1] == '\n' && r[n - 2] == '\n')
            r[--n] = '\0';        /* one newline at the end */
    }
    return r;
}

char *pc_idl_protocol(pc_idl *w)
{
    char *ifaces;

    for (size_t i = 0; i < w->n_decls; i++)
        declare(w, &w->decls[i]);
    ifaces = interfaces(w, NULL);
    return assemble(w, ifaces);
}

char *pc_idl_select(pc_idl *w, char *const *names, int n_names, const char **ret_unknown)
{
    bool *want = talloc_zero_array(w, bool, w->p->n_methods + 1);
    bool any_method = false;
    char *ifaces;

    if (want == NULL)
        return NULL;
    for (int k = 0; k < n_names; k++) {
        bool found = false;

        for (size_t i = 0; i < w->p->n_methods; i++) {
            if (strcmp(w->p->methods[i].name, names[k]) == 0) {
                want[i] = found = any_method = true;
            }
        }
        for (size_t i = 0; i < w->n_decls && !found; i++) {
            if (!w->decls[i].synthetic && (strcmp(w->decls[i].name, names[k]) == 0 ||
                                           strcmp(w->decls[i].type->name, names[k]) == 0)) {
                declare(w, &w->decls[i]);
                found = true;
            }
        }
        if (!found) {
            *ret_unknown = names[k];
            talloc_free(want);
            return NULL;
        }
    }
    ifaces = any_method ? interfaces(w, want) : talloc_strdup(w, "");
    talloc_free(want);
    return assemble(w, ifaces);
}
