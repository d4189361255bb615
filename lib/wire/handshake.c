/* SPDX-License-Identifier: MIT */
/* The HELLO payload: encode, decode (untrusted bytes), compare with our
 * protocol. */
#include "config.h"

#include <string.h>

#include <talloc.h>

#include "handshake.h"
#include "status.h"

#define HELLO_FIXED 24u   /* magic, wire version, protocol version, max, features, n_methods */
#define HELLO_METHOD 12u  /* u32 id + u64 fingerprint */

#define HELLO_DATA 20u    /* u64 client type fp, u64 server type fp, u32 value length */

const parley_type *parley__protocol_hello_type(const parley_protocol *protocol, bool client)
{
    if (protocol == NULL || protocol->abi_version < 2)
        return NULL;   /* built against a header without the fields */
    return client ? protocol->hello_client : protocol->hello_server;
}

static uint64_t hello_type_fp(const parley_protocol *protocol, bool client)
{
    const parley_type *t = parley__protocol_hello_type(protocol, client);

    return t != NULL ? parley_type_fingerprint(t) : 0;
}

parley_status parley__hello_encode(TALLOC_CTX *mem_ctx, const parley_protocol *protocol,
                                   uint32_t max_message, uint32_t features,
                                   uint8_t **ret_buf, size_t *ret_len)
{
    return parley__hello_encode_value(mem_ctx, protocol, max_message, features, NULL, 0,
                                      ret_buf, ret_len);
}

parley_status parley__hello_encode_value(TALLOC_CTX *mem_ctx, const parley_protocol *protocol,
                                         uint32_t max_message, uint32_t features,
                                         const uint8_t *value, size_t value_len,
                                         uint8_t **ret_buf, size_t *ret_len)
{
    size_t name_len = strlen(protocol->name);
    size_t len = HELLO_FIXED + 4 + name_len + protocol->n_methods * HELLO_METHOD;
    bool data = parley__protocol_hello_type(protocol, true) != NULL ||
                parley__protocol_hello_type(protocol, false) != NULL;
    uint8_t *buf, *p;

    if (data) {
        if (value_len > PARLEY__HELLO_VALUE_MAX)
            return parley__error(PARLEY_ERR_OVERFLOW,
                                 "the hello value of protocol %s takes %zu bytes, more than "
                                 "the %u a HELLO carries", protocol->name, value_len,
                                 PARLEY__HELLO_VALUE_MAX);
        features |= PARLEY__HELLO_FEATURE_DATA;
        len += HELLO_DATA + value_len;
    } else {
        features &= ~PARLEY__HELLO_FEATURE_DATA;
    }

    if (len > PARLEY__HELLO_MAX)
        return parley__error(PARLEY_ERR_OVERFLOW, "protocol %s is too large for a HELLO",
                             protocol->name);
    buf = talloc_size(mem_ctx, len);
    if (buf == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory encoding a HELLO");
    p = buf;
    parley__put_u32(p, PARLEY__HELLO_MAGIC); p += 4;
    parley__put_u32(p, PARLEY__WIRE_VERSION); p += 4;
    parley__put_u32(p, protocol->version); p += 4;
    parley__put_u32(p, max_message); p += 4;
    parley__put_u32(p, features); p += 4;
    parley__put_u32(p, (uint32_t)name_len); p += 4;
    memcpy(p, protocol->name, name_len); p += name_len;
    parley__put_u32(p, (uint32_t)protocol->n_methods); p += 4;
    for (size_t i = 0; i < protocol->n_methods; i++) {
        parley__put_u32(p, protocol->methods[i].id);
        parley__put_u64(p + 4, protocol->methods[i].fingerprint);
        p += HELLO_METHOD;
    }
    if (data) {
        parley__put_u64(p, hello_type_fp(protocol, true));
        parley__put_u64(p + 8, hello_type_fp(protocol, false));
        parley__put_u32(p + 16, (uint32_t)value_len);
        p += HELLO_DATA;
        if (value_len > 0)
            memcpy(p, value, value_len);
    }
    *ret_buf = buf;
    *ret_len = len;
    return PARLEY_OK;
}

parley_status parley__hello_decode(TALLOC_CTX *mem_ctx, const uint8_t *buf, size_t len,
                                   parley__hello **ret_hello)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    parley__hello *h;
    parley_status st = PARLEY_OK;
    const uint8_t *p = buf, *end = buf + len;
    uint32_t name_len, n;

    if (tmp == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory decoding a HELLO");
    h = talloc_zero(tmp, parley__hello);
    if (h == NULL) {
        st = parley__error(PARLEY_ERR_NOMEM, "out of memory decoding a HELLO");
        goto done;
    }
    if (len < 20 || parley__get_u32(p) != PARLEY__HELLO_MAGIC) {
        st = parley__error(PARLEY_ERR_MALFORMED, "HELLO without the Parley magic");
        goto done;
    }
    h->wire_version = parley__get_u32(p + 4);
    h->protocol_version = parley__get_u32(p + 8);
    h->max_message = parley__get_u32(p + 12);
    h->features = parley__get_u32(p + 16);
    p += 20;
    if (h->wire_version != PARLEY__WIRE_VERSION) {
        st = parley__error(PARLEY_ERR_PROTOCOL_MISMATCH,
                           "the other end speaks wire version %u, this end version %u",
                           h->wire_version, PARLEY__WIRE_VERSION);
        goto done;
    }
    if (end - p < 4) {
        st = parley__error(PARLEY_ERR_MALFORMED, "HELLO truncated before the protocol name");
        goto done;
    }
    name_len = parley__get_u32(p);
    p += 4;
    if ((size_t)(end - p) < name_len || name_len > 1024) {
        st = parley__error(PARLEY_ERR_MALFORMED, "HELLO protocol name of bad length %u",
                           name_len);
        goto done;
    }
    if (memchr(p, 0, name_len) != NULL) {
        st = parley__error(PARLEY_ERR_MALFORMED, "HELLO protocol name with a NUL byte");
        goto done;
    }
    h->protocol_name = talloc_strndup(h, (const char *)p, name_len);
    if (h->protocol_name == NULL) {
        st = parley__error(PARLEY_ERR_NOMEM, "out of memory decoding a HELLO");
        goto done;
    }
    p += name_len;
    if (end - p < 4) {
        st = parley__error(PARLEY_ERR_MALFORMED, "HELLO truncated before the method table");
        goto done;
    }
    n = parley__get_u32(p);
    p += 4;
    if (!(h->features & PARLEY__HELLO_FEATURE_DATA) &&
        (size_t)(end - p) != (size_t)n * HELLO_METHOD) {
        st = parley__error(PARLEY_ERR_MALFORMED,
                           "HELLO method table of %u entries does not fill the %zu bytes left",
                           n, (size_t)(end - p));
        goto done;
    }
    if ((h->features & PARLEY__HELLO_FEATURE_DATA) &&
        (size_t)(end - p) < (size_t)n * HELLO_METHOD + HELLO_DATA) {
        st = parley__error(PARLEY_ERR_MALFORMED,
                           "HELLO method table of %u entries and its handshake data do not "
                           "fit the %zu bytes left", n, (size_t)(end - p));
        goto done;
    }
    h->n_methods = n;
    if (n > 0) {
        h->methods = talloc_array(h, parley__hello_method, n);
        if (h->methods == NULL) {
            st = parley__error(PARLEY_ERR_NOMEM, "out of memory decoding a HELLO");
            goto done;
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        h->methods[i].id = parley__get_u32(p);
        h->methods[i].fingerprint = parley__get_u64(p + 4);
        p += HELLO_METHOD;
    }
    if (h->features & PARLEY__HELLO_FEATURE_DATA) {
        uint32_t vlen;

        h->client_type_fp = parley__get_u64(p);
        h->server_type_fp = parley__get_u64(p + 8);
        vlen = parley__get_u32(p + 16);
        p += HELLO_DATA;
        if (vlen > PARLEY__HELLO_VALUE_MAX) {
            st = parley__error(PARLEY_ERR_MALFORMED,
                               "HELLO value of %u bytes, more than the %u allowed",
                               vlen, PARLEY__HELLO_VALUE_MAX);
            goto done;
        }
        if ((size_t)(end - p) != vlen) {
            st = parley__error(PARLEY_ERR_MALFORMED,
                               "HELLO value of %u bytes does not fill the %zu bytes left",
                               vlen, (size_t)(end - p));
            goto done;
        }
        h->value_len = vlen;
        if (vlen > 0) {
            h->value = talloc_memdup(h, p, vlen);
            if (h->value == NULL) {
                st = parley__error(PARLEY_ERR_NOMEM, "out of memory decoding a HELLO");
                goto done;
            }
        }
    }
    *ret_hello = talloc_steal(mem_ctx, h);
done:
    talloc_free(tmp);
    return st;
}

parley_status parley__hello_check(const parley__hello *hello, const parley_protocol *protocol)
{
    if (strcmp(hello->protocol_name, protocol->name) != 0)
        return parley__error(PARLEY_ERR_PROTOCOL_MISMATCH,
                             "the other end speaks protocol \"%s\", this end \"%s\"",
                             hello->protocol_name, protocol->name);
    for (int client = 1; client >= 0; client--) {
        uint64_t ours = hello_type_fp(protocol, client != 0);
        uint64_t theirs = (hello->features & PARLEY__HELLO_FEATURE_DATA)
                              ? (client ? hello->client_type_fp : hello->server_type_fp)
                              : 0;

        if (ours != theirs)
            return parley__error(PARLEY_ERR_PROTOCOL_MISMATCH,
                                 "the %s hello type of protocol %s has fingerprint %016llx "
                                 "at the other end and %016llx here (0: none declared)",
                                 client ? "client" : "server", protocol->name,
                                 (unsigned long long)theirs, (unsigned long long)ours);
    }
    for (size_t i = 0; i < hello->n_methods; i++) {
        const parley_method *m = parley_protocol_find_method(protocol, hello->methods[i].id);

        if (m != NULL && m->fingerprint != hello->methods[i].fingerprint)
            return parley__error(PARLEY_ERR_PROTOCOL_MISMATCH,
                                 "method %u (%s) of protocol %s has fingerprint %016llx "
                                 "at the other end (version %u) and %016llx here "
                                 "(version %u): its request or reply differs",
                                 m->id, m->name, protocol->name,
                                 (unsigned long long)hello->methods[i].fingerprint,
                                 hello->protocol_version,
                                 (unsigned long long)m->fingerprint, protocol->version);
    }
    return PARLEY_OK;
}
