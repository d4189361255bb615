/* SPDX-License-Identifier: MIT */
/**
 * @file parley/json.h
 * @brief JSON text <-> typed values, for any type descriptor.
 *
 * parley_json_encode() turns a value described by a ::parley_type into JSON
 * text; parley_json_decode() turns JSON text back into a value, checked as
 * strictly as parley_data_decode() checks wire bytes (bounds, UTF-8, no NUL
 * in strings, declared enum values, union discriminators), so that whatever
 * it returns encodes.  The mapping, kind by kind, is in doc/json.md:
 *
 * | kind                | JSON                                                       |
 * |---------------------|------------------------------------------------------------|
 * | int8..uint32        | number                                                     |
 * | int64, uint64       | number when below 2^53 in magnitude, else a decimal string |
 * | bool                | true / false                                               |
 * | float, double       | number; "NaN", "Infinity", "-Infinity" as strings          |
 * | enum                | the declared name ("KV_STATUS_OK"); "OK" and numbers accepted |
 * | flags enum          | an array of names (["ZOO_READ", "ZOO_EXEC"]); numbers accepted |
 * | string              | string                                                     |
 * | bytes               | base64 string (RFC 4648, with padding)                     |
 * | struct              | object with every field by name                            |
 * | union               | object: the discriminator by its name, and the arm by its name |
 * | array, sequence     | array                                                      |
 * | optional            | null, or the value                                         |
 * | handle              | {"handle": "cursor", "id": 7} (the id only with handle hooks) |
 * | fd                  | {"fd": 3}: a descriptor number of the calling process      |
 *
 * Fields marked `[sensitive]` are written as `{"$redacted": true}` unless
 * PARLEY_JSON_SENSITIVE is given; decode refuses that marker.
 *
 * Every failure names the JSON path and what was expected, e.g.
 * "JSON decode kv_put_request.entries[3].key: expected a string of at most
 * 256 bytes, found a string of 300 bytes".
 *
 * JSON support is built when configure finds jansson.  Without it every
 * function here exists, parley_json_available() returns false and the
 * others return PARLEY_ERR_UNSUPPORTED with a sentence saying so.
 *
 * @code
 * char *text;
 * if (parley_json_encode(mem, &kv_entry_type, entry, PARLEY_JSON_PRETTY, &text) == PARLEY_OK)
 *     puts(text);
 * kv_entry *back;
 * if (parley_json_decode(mem, &kv_entry_type, text, strlen(text), 0, (void **)&back) != PARLEY_OK)
 *     fprintf(stderr, "%s\n", parley_error_message());
 * @endcode
 */
#ifndef PARLEY_JSON_H
#define PARLEY_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <talloc.h>

#include "parley/status.h"
#include "parley/type.h"
#include "parley/data.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Encode flag: indented output, two spaces a level (default: one line). */
#define PARLEY_JSON_PRETTY     0x1u
/** Encode flag: write `[sensitive]` fields instead of redacting them. */
#define PARLEY_JSON_SENSITIVE  0x2u

/**
 * @brief Is JSON support built in (was jansson found at configure time)?
 * @return true if the other parley_json_* functions work; false if they all
 *         return PARLEY_ERR_UNSUPPORTED.
 *
 * Ownership: nothing allocated.  Threads: any.  Errors: none.
 */
PARLEY_PUBLIC bool parley_json_available(void);

/**
 * @brief A value as JSON text.
 *
 * The value is checked as parley_data_encode() checks it, so the text always
 * decodes back: a NULL non-optional string or handle, a length or count
 * beyond its bound, invalid UTF-8, an undeclared enum value or union
 * discriminator, a negative fd are refused.  Object members come in field
 * order.  Handles are written without an id (there are no handle hooks:
 * see parley_json_encode_codec()).
 *
 * @param[in] mem_ctx talloc parent of the text
 * @param[in] type descriptor of value
 * @param[in] value the C object
 * @param[in] flags PARLEY_JSON_PRETTY, PARLEY_JSON_SENSITIVE, or 0
 * @param[out] ret_json the NUL-terminated JSON text, set only on success
 * @return PARLEY_OK; INVALID_ARGUMENT for a NULL argument, an unknown flag or
 *         a value that cannot be encoded (as above); OVERFLOW for a value
 *         nested deeper than PARLEY_DEFAULT_MAX_DEPTH present optionals and
 *         non-empty sequences; NOMEM; UNSUPPORTED without JSON support.
 *
 * Ownership: *ret_json is a talloc string under mem_ctx; free it with
 * talloc_free().  Nothing is left allocated on failure.  Threads: any; the
 * value must not change during the call.  Errors: as above, each with a
 * sentence naming the path in parley_error_message().
 */
PARLEY_PUBLIC parley_status parley_json_encode(TALLOC_CTX *mem_ctx, const parley_type *type,
                                               const void *value, unsigned flags,
                                               char **ret_json);

/**
 * @brief JSON text as a new value of a type.
 *
 * The text must be one JSON value (objects may not repeat a key) matching the
 * mapping of doc/json.md: every struct field present (an optional one may be
 * left out, meaning null), no unknown field, numbers in range, strings and
 * blobs within their bounds.  64-bit integers may be numbers or decimal
 * strings; every integer kind accepts both.
 *
 * @param[in] mem_ctx talloc parent of the result
 * @param[in] type descriptor of the value
 * @param[in] json the JSON text (UTF-8); need not be NUL-terminated
 * @param[in] len its length in bytes
 * @param[in] flags 0 (PARLEY_JSON_PRETTY and PARLEY_JSON_SENSITIVE are
 *            accepted and ignored, so one flags word serves both directions)
 * @param[out] ret_value the new object (type->size bytes), set only on success
 * @return PARLEY_OK; MALFORMED for text that is not JSON, or JSON that does
 *         not match the type (wrong JSON type, out of range, beyond a bound,
 *         missing or unknown field, undeclared enum name or value, no arm for
 *         the discriminator, bad base64, a redacted marker); OVERFLOW for a
 *         value nested deeper than PARLEY_DEFAULT_MAX_DEPTH present optionals
 *         and non-empty sequences; UNSUPPORTED for a handle (a handle needs
 *         hooks: parley_json_decode_codec()) or without JSON support;
 *         INVALID_ARGUMENT for a NULL argument or an unknown flag; NOMEM.
 *
 * Ownership: *ret_value is a talloc chunk under mem_ctx named after the
 * type, holding the whole graph (each string, blob, sequence array and
 * optional hangs under the object that holds it), as parley_data_decode()
 * makes it: one talloc_free() releases it.  An fd in the value is the number
 * written in the JSON, taken to name a descriptor the caller owns: nothing
 * is opened, duplicated or closed.  Nothing is left allocated on failure.
 * Threads: any.  Errors: as above, with the JSON path and what was expected
 * in parley_error_message().
 */
PARLEY_PUBLIC parley_status parley_json_decode(TALLOC_CTX *mem_ctx, const parley_type *type,
                                               const char *json, size_t len, unsigned flags,
                                               void **ret_value);

/**
 * @brief parley_json_encode() with codec settings: handle ids and a depth cap.
 *
 * With codec->handles, each handle is written with its wire id from
 * handles->to_wire: `{"handle": "cursor", "id": 7}`.  codec->max_depth
 * replaces the default depth cap.  The fd array and flags of the codec are
 * not used (an fd is written as its number).
 *
 * @param[in] mem_ctx talloc parent of the text
 * @param[in] type descriptor of value
 * @param[in] value the C object
 * @param[in] codec settings, or NULL (then this is parley_json_encode())
 * @param[in] flags PARLEY_JSON_PRETTY, PARLEY_JSON_SENSITIVE, or 0
 * @param[out] ret_json the NUL-terminated JSON text, set only on success
 * @return as parley_json_encode(), plus the status of handles->to_wire
 *         (INVALID_HANDLE) for a handle it refuses.
 *
 * Ownership: as parley_json_encode().  Threads: any, with hooks that allow
 * it.  Errors: as above, with the path in parley_error_message().
 */
PARLEY_PUBLIC parley_status parley_json_encode_codec(TALLOC_CTX *mem_ctx, const parley_type *type,
                                                     const void *value, parley_codec *codec,
                                                     unsigned flags, char **ret_json);

/**
 * @brief parley_json_decode() with codec settings: handles and a depth cap.
 *
 * With codec->handles, a handle written as `{"handle": "cursor", "id": 7}`
 * becomes the handle handles->from_wire returns for id 7 (the session's
 * handle with that wire id, for the runtime's hooks).  codec->max_depth
 * replaces the default depth cap.  The fd array and flags of the codec are
 * not used.
 *
 * @param[in] mem_ctx talloc parent of the result
 * @param[in] type descriptor of the value
 * @param[in] json the JSON text; need not be NUL-terminated
 * @param[in] len its length in bytes
 * @param[in] codec settings, or NULL (then this is parley_json_decode())
 * @param[in] flags as parley_json_decode()
 * @param[out] ret_value the new object, set only on success
 * @return as parley_json_decode(), plus INVALID_HANDLE from the hooks.
 *
 * Ownership: as parley_json_decode().  Threads: any, with hooks that allow
 * it.  Errors: as above, with the path in parley_error_message().
 */
PARLEY_PUBLIC parley_status parley_json_decode_codec(TALLOC_CTX *mem_ctx, const parley_type *type,
                                                     const char *json, size_t len,
                                                     parley_codec *codec, unsigned flags,
                                                     void **ret_value);

#ifdef __cplusplus
}
#endif

#endif /* PARLEY_JSON_H */
