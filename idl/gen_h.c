/* SPDX-License-Identifier: MIT */
/* parley-idl: the generated header (kv.h): C types, descriptor declarations,
 * method ids and structs, the protocol, and the peer-facing code as static
 * inline functions (stubs, handler types, kv_handlers, kv_register). */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <string.h>

#include <talloc.h>

#include "gen.h"

enum { UNSEEN = 0, BUSY = 1, DONE = 2 };

/* ---- type definitions in dependency order --------------------------------- */

static void emit_def(char **buf, void *ctx, idl_unit *u, idl_decl *d);

/* Emit what member m of `from` needs defined before it: typedef names
 * always; structs and unions when held by value, except by a typedef without
 * declarator (a typedef may name an incomplete struct type). */
static void need_member(char **buf, void *ctx, idl_unit *u, const idl_decl *from,
                        const idl_member *m)
{
    const idl_type *t = m->type;
    idl_decl *d = t->target;
    bool complete = !t->optional && m->declarator != IDL_DECLARATOR_SEQ &&
                    !(from->kind == IDL_TYPEDEF && m->declarator == IDL_DECLARATOR_NONE);

    if (t->base != IDL_BASE_NAMED || d == NULL || d->file != from->file)
        return;
    if (d->kind == IDL_TYPEDEF && (complete || !gen_typedef_is_seq(d)))
        emit_def(buf, ctx, u, d);
    else if ((d->kind == IDL_STRUCT || d->kind == IDL_UNION) && complete)
        emit_def(buf, ctx, u, d);
}

static void emit_def(char **buf, void *ctx, idl_unit *u, idl_decl *d)
{
    if (d->mark != UNSEEN)
        return;
    d->mark = BUSY;
    switch (d->kind) {
    case IDL_STRUCT:
        for (const idl_member *m = d->members; m != NULL; m = m->next)
            need_member(buf, ctx, u, d, m);
        gen_printf(buf, "struct %s {\n", d->cname);
        for (const idl_member *m = d->members; m != NULL; m = m->next)
            gen_member(buf, ctx, m, "    ", false);
        if (d->members == NULL)
            gen_printf(buf, "    uint8_t _unused;    /* no members; keeps the struct valid C */\n");
        gen_printf(buf, "};\n\n");
        break;
    case IDL_UNION: {
        bool any = false;
        need_member(buf, ctx, u, d, d->disc);
        for (const idl_arm *a = d->arms; a != NULL; a = a->next)
            if (a->member != NULL)
                need_member(buf, ctx, u, d, a->member);
        gen_printf(buf, "struct %s {\n", d->cname);
        gen_member(buf, ctx, d->disc, "    ", false);
        gen_printf(buf, "    union {\n");
        for (const idl_arm *a = d->arms; a != NULL; a = a->next) {
            if (a->member != NULL) {
                gen_member(buf, ctx, a->member, "        ", true);
                any = true;
            }
        }
        if (!any)
            gen_printf(buf, "        uint8_t _unused;    /* only void arms */\n");
        gen_printf(buf, "    } u;\n};\n\n");
        break;
    }
    case IDL_TYPEDEF: {
        const idl_member *a = d->alias;
        need_member(buf, ctx, u, d, a);
        if (gen_typedef_is_seq(d)) {
            const char *ct = gen_ctype(ctx, a->type);
            gen_printf(buf, "struct %s {\n    size_t n;\n    %s%s*items;\n};\n\n", d->cname, ct,
                       ct[strlen(ct) - 1] == '*' ? "" : " ");
        } else if (a->declarator == IDL_DECLARATOR_ARRAY) {
            gen_printf(buf, "typedef %s[%u];\n\n",
                       gen_decl(ctx, gen_ctype(ctx, a->type), d->cname), a->count_value);
        } else {
            gen_printf(buf, "typedef %s;\n\n", gen_decl(ctx, gen_ctype(ctx, a->type), d->cname));
        }
        break;
    }
    default:
        break;
    }
    d->mark = DONE;
}

static void emit_types(char **buf, void *ctx, idl_unit *u)
{
    idl_file *f = u->main;
    bool any = false;

    for (idl_decl *d = f->decls; d != NULL; d = d->next) {
        if (d->kind != IDL_CONST)
            continue;
        if (!any)
            gen_printf(buf, "/* Constants. */\n");
        any = true;
        if (d->str != NULL)
            gen_printf(buf, "#define %s %s\n", d->cname, gen_c_string(ctx, d->str));
        else
            gen_printf(buf, "#define %s %s\n", d->cname, gen_int_literal(ctx, d->value));
    }
    if (any)
        gen_printf(buf, "\n");
    for (idl_decl *d = f->decls; d != NULL; d = d->next) {
        if (d->kind != IDL_ENUM)
            continue;
        gen_printf(buf, "typedef enum %s {\n", d->cname);
        for (const idl_enumval *v = d->values; v != NULL; v = v->next)
            gen_printf(buf, "    %s = %s%s\n", v->cname, gen_int_literal(ctx, v->value),
                       v->next != NULL ? "," : "");
        gen_printf(buf, "} %s;\n\n", d->cname);
    }
    any = false;
    for (idl_decl *d = f->decls; d != NULL; d = d->next) {
        if (d->kind == IDL_STRUCT || d->kind == IDL_UNION || gen_typedef_is_seq(d)) {
            gen_printf(buf, "typedef struct %s %s;\n", d->cname, d->cname);
            any = true;
        }
    }
    if (any)
        gen_printf(buf, "\n");
    for (idl_decl *d = f->decls; d != NULL; d = d->next)
        d->mark = UNSEEN;
    for (idl_decl *d = f->decls; d != NULL; d = d->next)
        if (d->kind == IDL_STRUCT || d->kind == IDL_UNION || d->kind == IDL_TYPEDEF)
            emit_def(buf, ctx, u, d);
    any = false;
    for (idl_decl *d = f->decls; d != NULL; d = d->next) {
        if (!idl_decl_is_type(d))
            continue;
        if (!any)
            gen_printf(buf, "/* Type descriptors (parley/type.h). */\n");
        any = true;
        if (gen_typedef_is_alias(d))
            gen_printf(buf, "#define %s_type %s\n", d->cname, gen_alias_target(ctx, d));
        else
            gen_printf(buf, "extern const parley_type %s_type;\n", d->cname);
    }
    if (any)
        gen_printf(buf, "\n");
}

/* ---- methods --------------------------------------------------------------- */

static void emit_struct(char **buf, void *ctx, const char *name, const idl_member *list)
{
    gen_printf(buf, "typedef struct %s {\n", name);
    for (const idl_member *m = list; m != NULL; m = m->next)
        gen_member(buf, ctx, m, "    ", false);
    if (list == NULL)
        gen_printf(buf, "    uint8_t _unused;    /* no members; keeps the struct valid C */\n");
    gen_printf(buf, "} %s;\nextern const parley_type %s_type;\n\n", name, name);
}

static void emit_methods(char **buf, void *ctx, idl_unit *u, const idl_method **ms, size_t n)
{
    const char *p = u->main->protocol;
    const char *P = gen_must(idl_upper(ctx, p));

    if (n == 0)
        return;
    gen_printf(buf, "/* Method ids. */\nenum {\n");
    for (size_t i = 0; i < n; i++)
        gen_printf(buf, "    %s_METHOD_%s = %u%s\n", P, (char *)gen_must(idl_upper(ctx, ms[i]->cname)),
                   ms[i]->id_value, i + 1 < n ? "," : "");
    gen_printf(buf, "};\n\n");
    for (size_t i = 0; i < n; i++) {
        const idl_method *m = ms[i];
        gen_printf(buf, "/* %s.%s = %u */\n", m->iface->name, m->name, m->id_value);
        emit_struct(buf, ctx, gen_must(talloc_asprintf(ctx, "%s_%s_request", p, m->cname)),
                    m->args);
        if (!m->oneway)
            emit_struct(buf, ctx, gen_must(talloc_asprintf(ctx, "%s_%s_reply", p, m->cname)),
                        m->results);
    }
}

static void emit_inline(char **buf, void *ctx, idl_unit *u, const idl_method **ms, size_t n)
{
    const char *p = u->main->protocol;
    const char *P = gen_must(idl_upper(ctx, p));

    if (n == 0)
        return;
    gen_printf(buf, "/* ---- calling and serving (the peer runtime; nothing here is referenced\n"
                    " *      until it is used) ---- */\n\n");
    for (size_t i = 0; i < n; i++) {
        const idl_method *m = ms[i];
        const char *M = gen_must(idl_upper(ctx, m->cname)), *nm = m->cname;
        if (m->oneway) {
            gen_printf(buf,
                "/* Send %s (oneway): returns once the request is queued. */\n"
                "static inline parley_status %s_%s(parley_session *s, const %s_%s_request *in)\n"
                "{\n"
                "    parley_call *call;\n"
                "    parley_status st = parley_session_acquire_call(s, &call);\n\n"
                "    if (st != PARLEY_OK)\n"
                "        return st;\n"
                "    st = parley_call_dispatch(call, %s_METHOD_%s, in, NULL, NULL, NULL, NULL);\n"
                "    parley_call_release(call);\n"
                "    return st;\n"
                "}\n\n"
                "/* Send %s (oneway) on an acquired call: PARLEY_OK once the request is\n"
                " * queued, or with done PARLEY_PENDING and done(call, status, data) runs\n"
                " * once later on the I/O thread. */\n"
                "static inline parley_status %s_%s_send(parley_call *call, const %s_%s_request *in,\n"
                "                                       parley_call_done_fn done, void *data)\n"
                "{\n"
                "    return parley_call_dispatch(call, %s_METHOD_%s, in, NULL, NULL, done, data);\n"
                "}\n\n"
                "typedef parley_status %s_%s_handler(parley_call *call, const %s_%s_request *in,\n"
                "                                    void *data);\n\n",
                nm, p, nm, p, nm, P, M, nm, p, nm, p, nm, P, M, p, nm, p, nm);
            continue;
        }
        gen_printf(buf,
            "/* Call %s and wait: on PARLEY_OK *ret_out is the reply, under mem_ctx. */\n"
            "static inline parley_status %s_%s(parley_session *s, const %s_%s_request *in,\n"
            "                                  TALLOC_CTX *mem_ctx, %s_%s_reply **ret_out)\n"
            "{\n"
            "    parley_call *call;\n"
            "    parley_status st = parley_session_acquire_call(s, &call);\n\n"
            "    if (st != PARLEY_OK)\n"
            "        return st;\n"
            "    st = parley_call_dispatch(call, %s_METHOD_%s, in, mem_ctx, ret_out, NULL, NULL);\n"
            "    parley_call_release(call);\n"
            "    return st;\n"
            "}\n\n"
            "/* Call %s and wait at most timeout_ms (0: no deadline; PARLEY_TIMEOUT_DEFAULT:\n"
            " * the peer's call timeout); PARLEY_ERR_TIMEOUT when it passes. */\n"
            "static inline parley_status %s_%s_timeout(parley_session *s, const %s_%s_request *in,\n"
            "                                          int64_t timeout_ms, TALLOC_CTX *mem_ctx,\n"
            "                                          %s_%s_reply **ret_out)\n"
            "{\n"
            "    parley_call *call;\n"
            "    parley_status st = parley_session_acquire_call(s, &call);\n\n"
            "    if (st != PARLEY_OK)\n"
            "        return st;\n"
            "    st = parley_call_set_timeout(call, timeout_ms);\n"
            "    if (st == PARLEY_OK)\n"
            "        st = parley_call_dispatch(call, %s_METHOD_%s, in, mem_ctx, ret_out, NULL, NULL);\n"
            "    parley_call_release(call);\n"
            "    return st;\n"
            "}\n\n"
            "/* Call %s on an acquired call; done(call, status, data) runs once when it\n"
            " * returned PARLEY_PENDING (with done, mem_ctx is NULL: the reply is under\n"
            " * the call). */\n"
            "static inline parley_status %s_%s_send(parley_call *call, const %s_%s_request *in,\n"
            "                                       TALLOC_CTX *mem_ctx, %s_%s_reply **ret_out,\n"
            "                                       parley_call_done_fn done, void *data)\n"
            "{\n"
            "    return parley_call_dispatch(call, %s_METHOD_%s, in, mem_ctx, ret_out, done, data);\n"
            "}\n\n"
            "typedef parley_status %s_%s_handler(parley_call *call, const %s_%s_request *in,\n"
            "                                    %s_%s_reply *out, void *data);\n\n",
            nm, p, nm, p, nm, p, nm, P, M,
            nm, p, nm, p, nm, p, nm, P, M,
            nm, p, nm, p, nm, p, nm, P, M,
            p, nm, p, nm, p, nm);
    }

    gen_printf(buf, "/* Handlers of every method; leave a slot NULL to not serve it. */\n"
                    "typedef struct %s_handlers {\n", p);
    for (size_t i = 0; i < n; i++)
        gen_printf(buf, "    struct { %s_%s_handler *fn; parley_dispatch_mode mode; } %s;\n", p,
                   ms[i]->cname, ms[i]->cname);
    gen_printf(buf, "} %s_handlers;\n\n", p);

    gen_printf(buf, "typedef struct %s_registration_ {\n    %s_handlers handlers;\n"
                    "    void *data;\n} %s_registration_;\n\n", p, p, p);
    for (size_t i = 0; i < n; i++) {
        const idl_method *m = ms[i];
        gen_printf(buf,
            "static inline parley_status %s_%s_trampoline_(parley_call *call, const void *in,\n"
            "                                              void *out, void *data)\n"
            "{\n"
            "    const %s_registration_ *reg = (const %s_registration_ *)data;\n",
            p, m->cname, p, p);
        if (m->oneway)
            gen_printf(buf,
                "    (void)out;\n"
                "    return reg->handlers.%s.fn(call, (const %s_%s_request *)in, reg->data);\n"
                "}\n\n", m->cname, p, m->cname);
        else
            gen_printf(buf,
                "    return reg->handlers.%s.fn(call, (const %s_%s_request *)in,\n"
                "                               (%s_%s_reply *)out, reg->data);\n"
                "}\n\n", m->cname, p, m->cname, p, m->cname);
    }
    gen_printf(buf,
        "/* Serve every method whose slot in handlers is set, on peer: handlers and data\n"
        " * are copied under the peer; parley_call_get_dispatch_data() gives data back.\n"
        " * Returns what parley_peer_add_dispatch() returns. */\n"
        "static inline parley_status %s_register(parley_peer *peer, const %s_handlers *handlers,\n"
        "                                        void *data)\n"
        "{\n"
        "    parley_dispatch table[%zu];\n"
        "    size_t n = 0;\n"
        "    %s_registration_ *reg;\n"
        "    parley_status st;\n\n"
        "    if (peer == NULL || handlers == NULL)\n"
        "        return PARLEY_ERR_INVALID_ARGUMENT;\n"
        "    reg = talloc_zero(peer, %s_registration_);\n"
        "    if (reg == NULL)\n"
        "        return PARLEY_ERR_NOMEM;\n"
        "    reg->handlers = *handlers;\n"
        "    reg->data = data;\n",
        p, p, n, p, p);
    for (size_t i = 0; i < n; i++)
        gen_printf(buf,
            "    if (handlers->%s.fn != NULL) {\n"
            "        table[n].method_id = %s_METHOD_%s;\n"
            "        table[n].handler = %s_%s_trampoline_;\n"
            "        table[n].mode = handlers->%s.mode;\n"
            "        n++;\n"
            "    }\n",
            ms[i]->cname, P, (char *)gen_must(idl_upper(ctx, ms[i]->cname)), p, ms[i]->cname, ms[i]->cname);
    gen_printf(buf,
        "    st = n > 0 ? parley_peer_add_dispatch_with_data(peer, table, n, reg, data) : PARLEY_OK;\n"
        "    if (st != PARLEY_OK || n == 0)\n"
        "        talloc_free(reg);\n"
        "    return st;\n"
        "}\n\n");
}

char *idl_gen_header(void *mem_ctx, idl_unit *u, const char *version)
{
    void *tmp = gen_must(talloc_new(NULL));
    char *buf = gen_must(talloc_strdup(tmp, gen_first_line(tmp, u, version)));
    char *guard = gen_must(talloc_asprintf(tmp, "PARLEY_GENERATED_%s_H", u->main->base));
    size_t n = gen_methods(u, NULL, 0);
    const idl_method **ms = gen_must(talloc_array(tmp, const idl_method *, n + 1));
    char *result;

    gen_methods(u, ms, n);
    for (char *q = guard; *q; q++)
        *q = isalnum((unsigned char)*q) ? (char)toupper((unsigned char)*q) : '_';
    gen_printf(&buf, "#ifndef %s\n#define %s\n\n", guard, guard);
    gen_printf(&buf, "#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n\n"
                     "#include <talloc.h>\n\n#include <parley.h>\n\n");
    for (const idl_import *im = u->main->imports; im != NULL; im = im->next) {
        size_t len = strlen(im->path);
        if (len > 4 && strcmp(im->path + len - 4, ".idl") == 0)
            len -= 4;
        else if (len > 2 && strcmp(im->path + len - 2, ".x") == 0)
            len -= 2;
        gen_printf(&buf, "#include \"%.*s.h\"\n", (int)len, im->path);
    }
    if (u->main->imports != NULL)
        gen_printf(&buf, "\n");
    if (u->main->passthrough != NULL)
        gen_printf(&buf, "/* %%-lines of %s.x, copied as written. */\n%s\n", u->main->base,
                   u->main->passthrough);
    gen_printf(&buf, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
    emit_types(&buf, tmp, u);
    emit_methods(&buf, tmp, u, ms, n);
    gen_printf(&buf, "/* The protocol: name, version, methods with fingerprints, types. */\n"
                     "extern const parley_protocol %s_protocol;\n\n", u->main->protocol);
    emit_inline(&buf, tmp, u, ms, n);
    gen_printf(&buf, "#ifdef __cplusplus\n}\n#endif\n\n#endif /* %s */\n", guard);
    result = gen_must(talloc_strdup(mem_ctx, buf));
    talloc_free(tmp);
    return result;
}
