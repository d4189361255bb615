/* SPDX-License-Identifier: MIT */
/* parley-idl --describe: the canonical shape and fingerprint of every type
 * and method, one per line (the format is documented in doc/idl.md):
 *
 *   protocol kv 1
 *   type kv_entry 0x1f0c...  {s<256>,y<1048576>,...}
 *   method 2 kv.get 0x9a41...  m({s})->({?{...}})
 *
 * Types are listed by C name, in load order (imports first), followed by the
 * request and reply struct of every method.  A typedef that only renames a
 * type has no descriptor of its own: its line reads
 *   alias kv_id parley_type_uint32 0x... u32
 * naming the descriptor it stands for. */
#include "config.h"

#include <inttypes.h>

#include <talloc.h>

#include "gen.h"

static void line(char **buf, const char *what, const char *name, const char *shape)
{
    gen_printf(buf, "%s %s 0x%016" PRIx64 " %s\n", what, name, idl_fnv1a(shape), shape);
}

char *idl_describe(void *mem_ctx, idl_unit *u)
{
    void *tmp = gen_must(talloc_new(NULL));
    char *buf = gen_must(talloc_asprintf(tmp, "protocol %s %u\n", u->main->protocol,
                                         u->main->version));
    size_t n = gen_methods(u, NULL, 0);
    const idl_method **ms = gen_must(talloc_array(tmp, const idl_method *, n + 1));
    char *out;

    gen_methods(u, ms, n);
    for (idl_decl *d = u->decls; d != NULL; d = d->unit_next) {
        char *shape;
        if (!idl_decl_is_type(d))
            continue;
        shape = idl_shape_decl(tmp, u, d);
        if (shape == NULL)
            shape = "(too long)";
        if (gen_typedef_is_alias(d)) {
            /* name the descriptor at the end of a chain of aliases */
            const idl_decl *t = d;
            int guard = 0;
            while (t->alias->type->base == IDL_BASE_NAMED && guard++ < 1000 &&
                   gen_typedef_is_alias(t->alias->type->target))
                t = t->alias->type->target;
            line(&buf, "alias", gen_must(talloc_asprintf(tmp, "%s %s", d->cname,
                                                          gen_alias_target(tmp, t))), shape);
        }
        else
            line(&buf, "type", d->cname, shape);
    }
    for (size_t i = 0; i < n; i++) {
        const idl_method *m = ms[i];
        char *s = idl_shape_members(tmp, u, m->args);
        line(&buf, "type", gen_must(talloc_asprintf(tmp, "%s_%s_request", u->main->protocol,
                                                    m->cname)), s ? s : "(too long)");
        if (!m->oneway) {
            s = idl_shape_members(tmp, u, m->results);
            line(&buf, "type", gen_must(talloc_asprintf(tmp, "%s_%s_reply", u->main->protocol,
                                                        m->cname)), s ? s : "(too long)");
        }
    }
    for (size_t i = 0; i < n; i++) {
        const idl_method *m = ms[i];
        char *s = idl_shape_method(tmp, u, m);
        gen_printf(&buf, "method %u %s.%s 0x%016" PRIx64 " %s\n", m->id_value, m->iface->name,
                   m->name, m->fingerprint, s ? s : "(too long)");
    }
    out = gen_must(talloc_strdup(mem_ctx, buf));
    talloc_free(tmp);
    return out;
}
