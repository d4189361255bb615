/* SPDX-License-Identifier: MIT */
/* JSON <-> typed values: the public entry points and base64.  The walkers
 * are json_encode.c and json_decode.c, built when configure found jansson;
 * without it the entry points say JSON is unsupported. */
#include "config.h"

#include <string.h>

#include "json.h"
#include "status.h"

#define KNOWN_FLAGS (PARLEY_JSON_PRETTY | PARLEY_JSON_SENSITIVE)

PARLEY_PUBLIC bool parley_json_available(void)
{
#ifdef HAVE_JANSSON
    return true;
#else
    return false;
#endif
}

#ifndef HAVE_JANSSON
static parley_status unsupported(const char *fn)
{
    return parley__error(PARLEY_ERR_UNSUPPORTED,
                         "%s: this libparley was built without JSON support "
                         "(configure did not find jansson)", fn);
}
#endif

PARLEY_PUBLIC parley_status parley_json_encode_codec(TALLOC_CTX *mem_ctx, const parley_type *type,
                                                     const void *value, parley_codec *codec,
                                                     unsigned flags, char **ret_json)
{
    if (type == NULL || value == NULL || ret_json == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "parley_json_encode: NULL %s",
                             type == NULL ? "type" : value == NULL ? "value" : "ret_json");
    if (flags & ~KNOWN_FLAGS)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "parley_json_encode: unknown flags 0x%x",
                             flags & ~KNOWN_FLAGS);
#ifdef HAVE_JANSSON
    return parley__json_encode(mem_ctx, type, value, codec, flags, ret_json);
#else
    return unsupported("parley_json_encode");
#endif
}

PARLEY_PUBLIC parley_status parley_json_encode(TALLOC_CTX *mem_ctx, const parley_type *type,
                                               const void *value, unsigned flags,
                                               char **ret_json)
{
    return parley_json_encode_codec(mem_ctx, type, value, NULL, flags, ret_json);
}

PARLEY_PUBLIC parley_status parley_json_decode_codec(TALLOC_CTX *mem_ctx, const parley_type *type,
                                                     const char *json, size_t len,
                                                     parley_codec *codec, unsigned flags,
                                                     void **ret_value)
{
    if (type == NULL || ret_value == NULL || (json == NULL && len > 0))
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "parley_json_decode: NULL %s",
                             type == NULL ? "type" : ret_value == NULL ? "ret_value" : "json");
    if (flags & ~KNOWN_FLAGS)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "parley_json_decode: unknown flags 0x%x",
                             flags & ~KNOWN_FLAGS);
#ifdef HAVE_JANSSON
    return parley__json_decode(mem_ctx, type, json != NULL ? json : "", len, codec, ret_value);
#else
    return unsupported("parley_json_decode");
#endif
}

PARLEY_PUBLIC parley_status parley_json_decode(TALLOC_CTX *mem_ctx, const parley_type *type,
                                               const char *json, size_t len, unsigned flags,
                                               void **ret_value)
{
    return parley_json_decode_codec(mem_ctx, type, json, len, NULL, flags, ret_value);
}

/* ---- base64 (RFC 4648) -------------------------------------------------------- */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void parley__base64_encode(const uint8_t *data, size_t len, char *out)
{
    size_t i = 0;

    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
        *out++ = b64_alphabet[v >> 18];
        *out++ = b64_alphabet[(v >> 12) & 63];
        *out++ = b64_alphabet[(v >> 6) & 63];
        *out++ = b64_alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)data[i] << 16;
        *out++ = b64_alphabet[v >> 18];
        *out++ = b64_alphabet[(v >> 12) & 63];
        *out++ = '=';
        *out++ = '=';
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8;
        *out++ = b64_alphabet[v >> 18];
        *out++ = b64_alphabet[(v >> 12) & 63];
        *out++ = b64_alphabet[(v >> 6) & 63];
        *out++ = '=';
    }
    *out = '\0';
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

long parley__base64_decode(const char *s, size_t len, uint8_t *out, size_t *ret_bad)
{
    size_t data_len = len, n = 0;
    uint32_t acc = 0;
    unsigned bits = 0;

    /* Padding: up to two '=' at the end, only where they complete a quad. */
    while (data_len > 0 && len - data_len < 2 && s[data_len - 1] == '=')
        data_len--;
    if (data_len < len && len % 4 != 0) {
        *ret_bad = data_len;
        return -1;
    }
    if (data_len % 4 == 1) {            /* one char holds only 6 bits */
        *ret_bad = data_len - 1;
        return -1;
    }
    for (size_t i = 0; i < data_len; i++) {
        int v = b64_value(s[i]);
        if (v < 0) {
            *ret_bad = i;
            return -1;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return (long)n;
}
