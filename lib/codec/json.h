/* SPDX-License-Identifier: MIT */
/* Internal to the JSON module: what json.c (entry points), json_encode.c
 * and json_decode.c (the walkers, built with jansson only) share. */
#ifndef PARLEY_LIB_JSON_H
#define PARLEY_LIB_JSON_H

#include <stdint.h>

#include <talloc.h>

#include "parley/json.h"
#include "codec.h"

/* Integers of 64-bit kinds are JSON numbers below this magnitude, decimal
 * strings from it on (what a double holds exactly: JavaScript's and jq's
 * numbers). */
#define PARLEY__JSON_SAFE_INT ((int64_t)1 << 53)

/* The key of the object written for a redacted [sensitive] field. */
#define PARLEY__JSON_REDACTED "$redacted"

/* A type's name for messages and handle objects (its kind when unnamed). */
#define TNAME(t) ((t)->name != NULL ? (t)->name : parley__kind_name((t)->kind))

/* The walkers; arguments checked, codec may be NULL. */
parley_status parley__json_encode(TALLOC_CTX *mem_ctx, const parley_type *type,
                                  const void *value, const parley_codec *codec,
                                  unsigned flags, char **ret_json);
parley_status parley__json_decode(TALLOC_CTX *mem_ctx, const parley_type *type,
                                  const char *json, size_t len, const parley_codec *codec,
                                  void **ret_value);

/* Standard base64 (RFC 4648, with padding) of data[0..len) into out, which
 * holds PARLEY__BASE64_LEN(len) + 1 bytes; NUL-terminated. */
#define PARLEY__BASE64_LEN(len) (((len) + 2) / 3 * 4)
void parley__base64_encode(const uint8_t *data, size_t len, char *out);
/* Decode base64 text s[0..len) (the standard or URL-safe alphabet, padding
 * optional) into out, which holds len / 4 * 3 + 3 bytes.  Returns the
 * number of bytes, or -1 and the offset of the first bad character. */
long parley__base64_decode(const char *s, size_t len, uint8_t *out, size_t *ret_bad);

#endif
