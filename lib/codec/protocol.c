/* SPDX-License-Identifier: MIT */
/* Protocol tables: lookup, method fingerprints and validation. */
#include "config.h"

#include <string.h>

#include "parley/protocol.h"
#include "status.h"
#include "type.h"

PARLEY_PUBLIC const parley_method *parley_protocol_find_method(const parley_protocol *protocol,
                                                               uint32_t id)
{
    if (protocol == NULL)
        return NULL;
    /* Generated tables are sorted by id: binary search, linear if not. */
    size_t lo = 0, hi = protocol->n_methods;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t mid_id = protocol->methods[mid].id;
        if (mid_id == id)
            return &protocol->methods[mid];
        if (mid_id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = 0; i < protocol->n_methods; i++)
        if (protocol->methods[i].id == id)
            return &protocol->methods[i];
    return NULL;
}

PARLEY_PUBLIC uint64_t parley_method_fingerprint(const parley_type *request,
                                                 const parley_type *reply)
{
    return parley__method_fingerprint(request, reply);
}

static parley_status check_method(const parley_protocol *p, const parley_method *m)
{
    const char *name = m->name ? m->name : "(unnamed)";

    if (m->name == NULL || m->name[0] == '\0')
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "protocol %s: method %u has no name", p->name, m->id);
    if (m->id == PARLEY_METHOD_INTROSPECT || m->id == PARLEY_METHOD_MONITOR)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "protocol %s: method %s uses the reserved id %u", p->name, name,
                             m->id);
    if (m->request == NULL || m->request->kind != PARLEY_KIND_STRUCT)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "protocol %s: method %s: the request is not a struct", p->name, name);
    if (m->flags & PARLEY_METHOD_ONEWAY) {
        if (m->reply != NULL)
            return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                                 "protocol %s: oneway method %s has a reply type", p->name, name);
    } else if (m->reply == NULL || m->reply->kind != PARLEY_KIND_STRUCT) {
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "protocol %s: method %s: the reply is not a struct", p->name, name);
    }
    if (parley_type_check(m->request) != PARLEY_OK)
        return parley__error_prefix(PARLEY_ERR_INVALID_ARGUMENT, "protocol %s: method %s request",
                                    p->name, name);
    if (m->reply && parley_type_check(m->reply) != PARLEY_OK)
        return parley__error_prefix(PARLEY_ERR_INVALID_ARGUMENT, "protocol %s: method %s reply",
                                    p->name, name);
    uint64_t fp = parley__method_fingerprint(m->request, m->reply);
    if (fp != m->fingerprint)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "protocol %s: method %s: stored fingerprint %016llx, its types give "
                             "%016llx", p->name, name, (unsigned long long)m->fingerprint,
                             (unsigned long long)fp);
    return PARLEY_OK;
}

PARLEY_PUBLIC parley_status parley_protocol_check(const parley_protocol *protocol)
{
    if (protocol == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "protocol check: NULL protocol");
    if (protocol->abi_version == 0 || protocol->abi_version > PARLEY_ABI_VERSION)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "protocol check: the protocol table has descriptor ABI version %u, "
                             "and this libparley reads versions 1 to %u (%s)",
                             (unsigned)protocol->abi_version, (unsigned)PARLEY_ABI_VERSION,
                             protocol->abi_version == 0
                                 ? "abi_version is not set: regenerate the code with parley-idl, "
                                   "or set it to PARLEY_ABI_VERSION"
                                 : "the program was built against a newer libparley");
    if (protocol->name == NULL || protocol->name[0] == '\0')
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "protocol check: the protocol has no name");
    if (protocol->n_methods > 0 && protocol->methods == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "protocol %s: %zu methods but no method table", protocol->name,
                             protocol->n_methods);
    for (size_t i = 0; i < protocol->n_methods; i++) {
        const parley_method *m = &protocol->methods[i];
        parley_status st = check_method(protocol, m);
        if (st != PARLEY_OK)
            return st;
        for (size_t j = 0; j < i; j++) {
            if (protocol->methods[j].id == m->id)
                return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                                     "protocol %s: methods %s and %s share the id %u",
                                     protocol->name, protocol->methods[j].name, m->name, m->id);
        }
    }
    for (size_t i = 0; i < protocol->n_types; i++) {
        if (protocol->types == NULL || parley_type_check(protocol->types[i]) != PARLEY_OK)
            return parley__error_prefix(PARLEY_ERR_INVALID_ARGUMENT, "protocol %s: type %zu",
                                        protocol->name, i);
    }
    if (protocol->abi_version >= 2) {
        const parley_type *hello[2] = { protocol->hello_client, protocol->hello_server };

        for (int i = 0; i < 2; i++)
            if (hello[i] != NULL && parley_type_check(hello[i]) != PARLEY_OK)
                return parley__error_prefix(PARLEY_ERR_INVALID_ARGUMENT,
                                            "protocol %s: %s hello type", protocol->name,
                                            i == 0 ? "client" : "server");
    }
    return PARLEY_OK;
}
