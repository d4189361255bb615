/* SPDX-License-Identifier: MIT */
/* parley-idl: the generated source (kv.c): descriptors of every type, the
 * request and reply structs, the method table with fingerprints, and the
 * protocol.  It references the codec's primitive descriptors only: no peer,
 * session or call function, so a program that only uses the types links
 * without the runtime. */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <talloc.h>

#include "gen.h"

typedef struct genc {
    void *ctx;
    idl_unit *u;
    const char *p;          /* prefix */
    char *anon;             /* anonymous descriptors, in dependency order */
    char *body;             /* everything after them */
    char **inits;           /* anonymous initializers, for sharing */
    const char **names;
    size_t n, cap;
} genc;

#define F(...) gen_must(talloc_asprintf(g->ctx, __VA_ARGS__))

/* The name of an anonymous descriptor with this initializer (shared). */
static const char *intern(genc *g, const char *init)
{
    for (size_t i = 0; i < g->n; i++)
        if (strcmp(g->inits[i], init) == 0)
            return g->names[i];
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 64;
        g->inits = gen_must(talloc_realloc(g->ctx, g->inits, char *, g->cap));
        g->names = gen_must(talloc_realloc(g->ctx, g->names, const char *, g->cap));
    }
    g->inits[g->n] = gen_must(talloc_strdup(g->ctx, init));
    g->names[g->n] = F("%s_t%zu_", g->p, g->n + 1);
    gen_printf(&g->anon, "static const parley_type %s = %s;\n", g->names[g->n], init);
    return g->names[g->n++];
}

/* A descriptor object: named `own_type` (in the body) when own is set, else
 * anonymous.  Returns its C identifier. */
static const char *emit_desc(genc *g, const char *init, const char *own)
{
    if (own == NULL)
        return intern(g, init);
    gen_printf(&g->body, "const parley_type %s_type = %s;\n\n", own, init);
    return F("%s_type", own);
}

/* The descriptor of member m's full type (bound, optional, declarator).
 * own: the C name of a typedef whose descriptor this is (its outermost
 * constructor is then that typedef's own object), or NULL. */
static const char *desc_member(genc *g, const idl_member *m, const char *own)
{
    const idl_type *t = m->type;
    bool has_decl = m->declarator != IDL_DECLARATOR_NONE;
    const char *ref = NULL, *label = NULL, *init;

    switch (t->base) {
    case IDL_BASE_PRIM:
        ref = F("parley_type_%s", idl_prim_name(t->prim));
        label = idl_prim_name(t->prim);
        break;
    case IDL_BASE_STRING:
    case IDL_BASE_BYTES: {
        bool s = t->base == IDL_BASE_STRING;
        label = s ? "string" : "bytes";
        ref = s ? "parley_type_string" : "parley_type_bytes";
        if (t->bound != NULL) {
            const char *mine = !t->optional && !has_decl ? own : NULL;
            label = F("%s<%u>", label, t->bound_value);
            init = F("{ .kind = %s, .name = \"%s\", .size = sizeof(%s), .bound = %u }",
                     s ? "PARLEY_KIND_STRING" : "PARLEY_KIND_BYTES", mine ? mine : label,
                     s ? "char *" : "parley_bytes", t->bound_value);
            ref = emit_desc(g, init, mine);
        }
        break;
    }
    case IDL_BASE_NAMED:
        ref = F("%s_type", t->target->cname);
        label = t->target->cname;
        break;
    }
    if (t->optional) {
        const char *mine = !has_decl ? own : NULL;
        label = F("optional %s", label);
        init = F("{ .kind = PARLEY_KIND_OPTIONAL, .name = \"%s\", .size = sizeof(void *), "
                 ".elem = &%s }", mine ? mine : label, ref);
        ref = emit_desc(g, init, mine);
    }
    if (m->declarator == IDL_DECLARATOR_ARRAY) {
        label = F("%s[%u]", label, m->count_value);
        init = F("{ .kind = PARLEY_KIND_ARRAY, .name = \"%s\", .size = %u * sizeof(%s), "
                 ".bound = %u, .elem = &%s }", own ? own : label, m->count_value,
                 gen_ctype(g->ctx, t), m->count_value, ref);
        ref = emit_desc(g, init, own);
    } else if (m->declarator == IDL_DECLARATOR_SEQ) {
        label = m->count != NULL ? F("%s<%u>", label, m->count_value) : F("%s<>", label);
        init = F("{ .kind = PARLEY_KIND_SEQUENCE, .name = \"%s\", .size = sizeof(parley_seq), "
                 ".bound = %u, .elem = &%s }", own ? own : label,
                 m->count != NULL ? m->count_value : 0u, ref);
        ref = emit_desc(g, init, own);
    }
    return ref;
}

static void emit_fields(genc *g, const char *cname, const idl_member *list)
{
    size_t n = idl_members_count(list);

    if (n > 0) {
        char *fields = gen_must(talloc_asprintf(g->ctx, "static const parley_field %s_fields_[] = {\n",
                                                cname));
        for (const idl_member *m = list; m != NULL; m = m->next) {
            const char *ref = desc_member(g, m, NULL);
            gen_printf(&fields, "    { .name = \"%s\", .offset = offsetof(%s, %s%s), .type = &%s, "
                       ".flags = %s },\n", m->name, cname,
                       m->declarator == IDL_DECLARATOR_SEQ ? "n_" : "", m->name, ref,
                       m->attrs & IDL_ATTR_SENSITIVE ? "PARLEY_FIELD_SENSITIVE" : "0");
        }
        gen_printf(&g->body, "%s};\n", fields);
    }
    gen_printf(&g->body, "const parley_type %s_type = {\n    .kind = PARLEY_KIND_STRUCT, "
               ".name = \"%s\", .size = sizeof(%s),\n", cname, cname, cname);
    if (n > 0)
        gen_printf(&g->body, "    .fields = %s_fields_, .n_fields = %zu,\n", cname, n);
    gen_printf(&g->body, "};\n\n");
}

static const char *arm_init(genc *g, const char *cname, int64_t value, const idl_member *m)
{
    const char *v = gen_int_literal(g->ctx, value);
    if (m == NULL)
        return F("{ .value = %s }", v);
    return F("{ .value = %s, .name = \"%s\", .offset = offsetof(%s, u.%s), .type = &%s, "
             ".flags = %s }", v, m->name, cname, m->name, desc_member(g, m, NULL),
             m->attrs & IDL_ATTR_SENSITIVE ? "PARLEY_FIELD_SENSITIVE" : "0");
}

static void emit_union(genc *g, const idl_decl *d)
{
    const char *c = d->cname;
    const char *disc = desc_member(g, d->disc, NULL);
    char *arms = gen_must(talloc_asprintf(g->ctx, "static const parley_arm %s_arms_[] = {\n", c));
    char *def = NULL;
    size_t n = 0;

    for (const idl_arm *a = d->arms; a != NULL; a = a->next) {
        for (const idl_case *k = a->cases; k != NULL; k = k->next) {
            if (k->expr == NULL) {
                def = F("static const parley_arm %s_default_ = %s;\n", c,
                        arm_init(g, c, 0, a->member));
                continue;
            }
            gen_printf(&arms, "    %s,\n", arm_init(g, c, k->value, a->member));
            n++;
        }
    }
    if (n > 0)
        gen_printf(&g->body, "%s};\n", arms);
    if (def != NULL)
        gen_printf(&g->body, "%s", def);
    gen_printf(&g->body, "const parley_type %s_type = {\n    .kind = PARLEY_KIND_UNION, "
               ".name = \"%s\", .size = sizeof(%s),\n    .discriminator = &%s, "
               ".discriminator_offset = offsetof(%s, %s),\n", c, c, c, disc, c, d->disc->name);
    if (n > 0)
        gen_printf(&g->body, "    .arms = %s_arms_, .n_arms = %zu,\n", c, n);
    if (def != NULL)
        gen_printf(&g->body, "    .default_arm = &%s_default_,\n", c);
    gen_printf(&g->body, "};\n\n");
}

static void emit_enum(genc *g, const idl_decl *d)
{
    size_t n = 0;

    gen_printf(&g->body, "static const parley_enum_value %s_values_[] = {\n", d->cname);
    for (const idl_enumval *v = d->values; v != NULL; v = v->next, n++)
        gen_printf(&g->body, "    { \"%s\", %s },\n", v->cname, v->cname);
    gen_printf(&g->body, "};\nconst parley_type %s_type = {\n    .kind = PARLEY_KIND_ENUM, "
               ".name = \"%s\", .size = sizeof(%s),%s\n    .values = %s_values_, "
               ".n_values = %zu,\n};\n\n", d->cname, d->cname, d->cname,
               d->attrs & IDL_ATTR_FLAGS ? " .flags = PARLEY_TYPE_FLAGS," : "", d->cname, n);
}

static int cmp_method(const void *a, const void *b)
{
    const idl_method *x = *(const idl_method *const *)a, *y = *(const idl_method *const *)b;
    return x->id_value < y->id_value ? -1 : x->id_value > y->id_value;
}

static void emit_protocol(genc *g)
{
    idl_unit *u = g->u;
    size_t n = gen_methods(u, NULL, 0), ni = 0, nt = 0;
    const idl_method **ms = gen_must(talloc_array(g->ctx, const idl_method *, n + 1));

    gen_methods(u, ms, n);
    for (size_t i = 0; i < n; i++) {
        const idl_method *m = ms[i];
        emit_fields(g, F("%s_%s_request", g->p, m->cname), m->args);
        if (!m->oneway)
            emit_fields(g, F("%s_%s_reply", g->p, m->cname), m->results);
    }
    qsort(ms, n, sizeof(ms[0]), cmp_method);
    if (n > 0) {
        gen_printf(&g->body, "static const parley_method %s_methods_[] = {\n", g->p);
        for (size_t i = 0; i < n; i++) {
            const idl_method *m = ms[i];
            gen_printf(&g->body,
                       "    { .id = %u, .name = \"%s\", .interface = \"%s\",\n"
                       "      .request = &%s_%s_request_type, .reply = %s%s%s%s,\n"
                       "      .fingerprint = UINT64_C(0x%016" PRIx64 "), .flags = %s },\n",
                       m->id_value, m->name, m->iface->name, g->p, m->cname,
                       m->oneway ? "NULL" : "&", m->oneway ? "" : g->p,
                       m->oneway ? "" : "_", m->oneway ? "" : (char *)F("%s_reply_type", m->cname),
                       m->fingerprint, m->oneway ? "PARLEY_METHOD_ONEWAY" : "0");
        }
        gen_printf(&g->body, "};\n\n");
    }
    for (const idl_decl *d = u->main->decls; d != NULL; d = d->next) {
        if (d->kind != IDL_INTERFACE)
            continue;
        if (ni++ == 0)
            gen_printf(&g->body, "static const char *const %s_interfaces_[] = {\n", g->p);
        gen_printf(&g->body, "    \"%s\",\n", d->name);
    }
    if (ni > 0)
        gen_printf(&g->body, "};\n\n");
    for (const idl_decl *d = u->decls; d != NULL; d = d->unit_next) {
        if (!gen_has_descriptor(d))
            continue;
        if (nt++ == 0)
            gen_printf(&g->body, "static const parley_type *const %s_types_[] = {\n", g->p);
        gen_printf(&g->body, "    &%s_type,\n", d->cname);
    }
    if (nt > 0)
        gen_printf(&g->body, "};\n\n");
    gen_printf(&g->body, "const parley_protocol %s_protocol = {\n"
               "    .abi_version = PARLEY_ABI_VERSION,\n    .name = \"%s\",\n"
               "    .version = %u,\n", g->p, g->p, u->main->version);
    if (n > 0)
        gen_printf(&g->body, "    .methods = %s_methods_,\n    .n_methods = %zu,\n", g->p, n);
    if (ni > 0)
        gen_printf(&g->body, "    .interfaces = %s_interfaces_,\n    .n_interfaces = %zu,\n",
                   g->p, ni);
    if (nt > 0)
        gen_printf(&g->body, "    .types = %s_types_,\n    .n_types = %zu,\n", g->p, nt);
    for (int i = 0; i < 2; i++) {
        const char *name = i == 0 ? u->main->hello_client : u->main->hello_server;
        const idl_decl *d = name != NULL ? idl_lookup(u, name) : NULL;

        if (d != NULL)
            gen_printf(&g->body, "    .hello_%s = &%s,\n", i == 0 ? "client" : "server",
                       gen_has_descriptor(d)
                           ? (const char *)gen_must(talloc_asprintf(g->ctx, "%s_type", d->cname))
                           : gen_alias_target(g->ctx, d));
    }
    gen_printf(&g->body, "};\n");
}

char *idl_gen_source(void *mem_ctx, idl_unit *u, const char *version)
{
    genc gs, *g = &gs;
    char *out;

    memset(g, 0, sizeof(*g));
    g->ctx = gen_must(talloc_new(NULL));
    g->u = u;
    g->p = u->main->protocol;
    g->anon = gen_must(talloc_strdup(g->ctx, ""));
    g->body = gen_must(talloc_strdup(g->ctx, ""));
    for (const idl_decl *d = u->main->decls; d != NULL; d = d->next) {
        switch (d->kind) {
        case IDL_ENUM:
            emit_enum(g, d);
            break;
        case IDL_STRUCT:
            emit_fields(g, d->cname, d->members);
            break;
        case IDL_UNION:
            emit_union(g, d);
            break;
        case IDL_HANDLE:
            gen_printf(&g->body, "const parley_type %s_type = {\n    .kind = PARLEY_KIND_HANDLE, "
                       ".name = \"%s\", .size = sizeof(parley_handle *),\n};\n\n", d->cname,
                       d->cname);
            break;
        case IDL_TYPEDEF:
            if (!gen_typedef_is_alias(d))
                desc_member(g, d->alias, d->cname);
            break;
        default:
            break;
        }
    }
    emit_protocol(g);
    out = gen_must(talloc_asprintf(mem_ctx, "%s\n#include <stddef.h>\n#include <stdint.h>\n\n"
                                   "#include \"%s.h\"\n\n%s%s%s",
                                   gen_first_line(g->ctx, u, version), u->main->base, g->anon,
                                   g->anon[0] != '\0' ? "\n" : "", g->body));
    talloc_free(g->ctx);
    return out;
}
