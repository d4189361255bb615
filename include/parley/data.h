/* SPDX-License-Identifier: MIT */
/**
 * @file parley/data.h
 * @brief The codec: encode, decode, print, compare and copy typed values.
 *
 * A value is a C object described by a ::parley_type (see parley/type.h).
 * The wire form is specified in doc/wire.md ("Data encoding").  Every failure
 * sets parley_error_message() to a sentence that names the field path, e.g.
 * "decode kv_entry.children[3].key: string longer than its bound 256".
 *
 * Decoded values are talloc graphs: the object and everything it points to
 * hang under one chunk, so one talloc_free() releases it all.
 */
#ifndef PARLEY_DATA_H
#define PARLEY_DATA_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <talloc.h>

#include "parley/status.h"
#include "parley/type.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * How handles cross the wire.  The session layer supplies these; a codec
 * without them rejects handles with PARLEY_ERR_UNSUPPORTED.
 */
typedef struct parley_handle_ops {
    /** Encode: the wire id of handle h of handle type `type` (a HANDLE
     *  descriptor); return INVALID_HANDLE for a handle that does not belong. */
    parley_status (*to_wire)(void *data, const parley_type *type,
                             parley_handle *h, uint32_t *ret_id);
    /** Decode: the handle with wire id `id`, checked against `type`;
     *  return INVALID_HANDLE for an unknown id or a wrong type. */
    parley_status (*from_wire)(void *data, const parley_type *type,
                               uint32_t id, parley_handle **ret_h);
} parley_handle_ops;

/**
 * Per-operation settings and the fd side channel.  Zero-initialise
 * (PARLEY_CODEC_INIT) and set what you need; pass NULL for all defaults
 * (no handles, no fds, depth 64).
 *
 * File descriptors: encode appends every `fd` value to fds[] (up to max_fds,
 * beyond which it fails with OVERFLOW) and writes its index; n_fds counts
 * them on return.  Decode reads fds[0..n_fds) and maps each index to its fd;
 * an index out of range or used twice is MALFORMED.  The codec never opens,
 * duplicates or closes a descriptor.
 */
typedef struct parley_codec {
    unsigned max_depth;                 /**< nesting cap, counted in present optionals
                                             and non-empty sequences on the path from
                                             the top value; 0 = PARLEY_DEFAULT_MAX_DEPTH */
    const parley_handle_ops *handles;   /**< NULL: handles unsupported */
    void *handle_data;                  /**< passed to handles->* */
    int *fds;                           /**< fd array (see above); NULL: fds unsupported */
    size_t n_fds;                       /**< encode: out; decode: in */
    size_t max_fds;                     /**< encode: capacity of fds */
    unsigned flags;                     /**< PARLEY_DECODE_* bits; 0 = defaults.
                                             Decode rejects unknown bits; encode
                                             ignores them */
} parley_codec;

/** Zero initialiser for ::parley_codec. */
#define PARLEY_CODEC_INIT { 0, NULL, NULL, NULL, 0, 0, 0 }

/**
 * parley_codec.flags: compact decode.  Decode carves the graph's strings and
 * blobs, and its sequence arrays and optionals up to 16 KiB each, out of a
 * few arena chunks instead of making each of them its own talloc chunk.
 * Faster (a value with many strings is a small constant number of chunks),
 * at the price of what the pointers inside the graph are:
 *
 * - One talloc_free() of the top object (parley_data_decode()) still
 *   releases everything, and with parley_data_decode_into() freeing mem_ctx
 *   does.  Only the top object is a talloc chunk you may use.
 * - No pointer inside the graph (a string, a blob's data, a sequence's items,
 *   an optional's target) is a talloc chunk, or one you may rely on: never
 *   talloc_free(), talloc_steal(), talloc_realloc() or talloc_reference() it,
 *   nor hang children under it, nor ask talloc_get_size() or
 *   talloc_get_name() of it.  Copy what you keep past the value's life
 *   (talloc_strdup(), parley_data_copy()).
 * - The arena is sized from the input (up to about its length more than the
 *   value needs, plus up to 16 KiB), and its memory is released only with
 *   the whole value: for a large input whose value holds few strings or
 *   blobs, compact mode can hold up to twice the memory.
 *
 * Everything else is as in the default mode: the same checks, statuses and
 * messages, nothing left allocated on failure, fds and handles.
 */
#define PARLEY_DECODE_COMPACT 0x1u

/**
 * @brief The number of bytes parley_data_encode() would produce.
 *
 * Validates the value as encode does.  In this pass fds are counted into
 * codec->n_fds (and checked against max_fds) but not stored, and handles are
 * not passed to handles->to_wire (only their presence is checked).
 *
 * @param[in] type descriptor of value
 * @param[in] value the C object
 * @param[in,out] codec settings, or NULL
 * @param[out] ret_size the encoded size
 * @return PARLEY_OK; INVALID_ARGUMENT for a value that cannot be encoded (NULL
 *         non-optional string or handle, count or length beyond its bound,
 *         items/data NULL with a non-zero count, undeclared enum value or
 *         discriminator, invalid UTF-8, negative fd); OVERFLOW past 4 GiB - 1
 *         bytes, past the depth cap or past max_fds; UNSUPPORTED for a handle
 *         or fd the codec was not given means for.
 *
 * Ownership: nothing allocated.  Errors: as above, with the field path.
 */
PARLEY_PUBLIC parley_status parley_data_size(const parley_type *type, const void *value,
                                             parley_codec *codec, size_t *ret_size);

/**
 * @brief Encode a value into a new talloc buffer.
 *
 * One pass into a buffer that grows as needed; the result is shrunk to fit
 * (talloc_get_size(*ret_data) == *ret_len).
 *
 * @param[in] mem_ctx talloc parent of the buffer
 * @param[in] type descriptor of value
 * @param[in] value the C object
 * @param[in,out] codec settings and fd output, or NULL
 * @param[out] ret_data the encoded bytes (set only on success)
 * @param[out] ret_len their number
 * @return as parley_data_size(), plus NOMEM, and the status of
 *         handles->to_wire (INVALID_HANDLE) for a handle it refuses.
 *
 * Ownership: *ret_data is a talloc chunk under mem_ctx; free it with
 * talloc_free().  Nothing is left allocated on failure.
 * Errors: as above, with the field path in parley_error_message().
 */
PARLEY_PUBLIC parley_status parley_data_encode(TALLOC_CTX *mem_ctx, const parley_type *type,
                                               const void *value, parley_codec *codec,
                                               uint8_t **ret_data, size_t *ret_len);

/**
 * @brief Encode a value into a caller buffer.
 * @param[in] type descriptor of value
 * @param[in] value the C object
 * @param[in,out] codec settings and fd output, or NULL
 * @param[out] buf where to write
 * @param[in] cap bytes available at buf
 * @param[out] ret_len bytes written (set only on success)
 * @return as parley_data_encode() without NOMEM; OVERFLOW if the encoding is
 *         longer than cap (buf's contents are then unspecified).
 *
 * Ownership: nothing allocated.  Errors: as above, with the field path.
 */
PARLEY_PUBLIC parley_status parley_data_encode_to(const parley_type *type, const void *value,
                                                  parley_codec *codec, void *buf, size_t cap,
                                                  size_t *ret_len);

/**
 * @brief Decode bytes into a new C object.
 *
 * Decode never trusts the input: lengths and counts are checked against what
 * remains before anything is allocated, nesting is capped, trailing bytes are
 * an error.
 *
 * @param[in] mem_ctx talloc parent of the result
 * @param[in] type descriptor of the value
 * @param[in] data the encoded bytes
 * @param[in] len their number
 * @param[in] codec settings and received fds, or NULL
 * @param[out] ret_value the new object (type->size bytes), set only on success
 * @return PARLEY_OK; MALFORMED for bytes that are not a valid encoding
 *         (truncated, trailing bytes, presence byte not 0/1, bool not 0/1,
 *         undeclared enum value, unknown discriminator, invalid UTF-8 or an
 *         embedded NUL in a string, a length or count beyond its bound, a bad fd
 *         index); OVERFLOW for nesting deeper than the cap; INVALID_HANDLE from
 *         the handle hooks; UNSUPPORTED for a handle or fd without means; NOMEM.
 *
 * Ownership: *ret_value is a talloc chunk under mem_ctx, named after the type,
 * holding the whole graph (each string, blob, sequence array and optional
 * hangs under the object that holds it); one talloc_free() releases it.
 * For a small input the top object is a talloc pool the graph is carved
 * from: a piece stolen out of the graph keeps the pool's memory until that
 * piece is freed too.  With PARLEY_DECODE_COMPACT in codec->flags only the
 * top object is a talloc chunk: the pointers inside the graph point into
 * arena chunks under it and must not be passed to talloc (see
 * PARLEY_DECODE_COMPACT).  Nothing is left allocated on failure.  Errors: as
 * above, with the field path in parley_error_message(); INVALID_ARGUMENT for
 * unknown bits in codec->flags.
 */
PARLEY_PUBLIC parley_status parley_data_decode(TALLOC_CTX *mem_ctx, const parley_type *type,
                                               const void *data, size_t len,
                                               parley_codec *codec, void **ret_value);

/**
 * @brief Decode bytes into a caller-provided object.
 *
 * Like parley_data_decode(), but fills `value` (type->size bytes, which the
 * caller owns) and hangs what it points to under mem_ctx.
 *
 * @param[in] mem_ctx talloc parent of everything the object points to
 * @param[in] type descriptor of the value
 * @param[in] data the encoded bytes
 * @param[in] len their number
 * @param[in] codec settings and received fds, or NULL
 * @param[out] value the object to fill; zeroed on failure
 * @return as parley_data_decode().
 *
 * Ownership: what value points to directly is a talloc child of mem_ctx
 * (deeper things hang under their holders, as in parley_data_decode()).
 * With PARLEY_DECODE_COMPACT, the graph lives in arena chunks under mem_ctx
 * that are not the pointers in value: release it by freeing mem_ctx (best a
 * context of its own), and pass no pointer of the graph to talloc.  On
 * failure nothing is left allocated and value is all zero.  Errors: as
 * parley_data_decode().
 */
PARLEY_PUBLIC parley_status parley_data_decode_into(TALLOC_CTX *mem_ctx, const parley_type *type,
                                                    const void *data, size_t len,
                                                    parley_codec *codec, void *value);

/**
 * @brief Human-readable text of a value.
 *
 * Fields are named (`{ key = "a", version = 3, next = NULL }`), strings quoted
 * with C escapes, bytes shown as hex (long ones elided with their length),
 * enums by name, unions with their arm, sensitive fields as `<redacted>`.
 *
 * @param[in] mem_ctx talloc parent of the text
 * @param[in] type descriptor of value
 * @param[in] value the C object
 * @param[out] ret_text the NUL-terminated text
 * @return PARLEY_OK, NOMEM, or OVERFLOW past the depth cap.
 *
 * Ownership: *ret_text is a talloc string under mem_ctx.
 * Errors: the statuses under @return, each with a sentence in
 * parley_error_message().
 */
PARLEY_PUBLIC parley_status parley_data_print(TALLOC_CTX *mem_ctx, const parley_type *type,
                                              const void *value, char **ret_text);

/**
 * @brief Deep equality of two values of one type (for tests and caches).
 *
 * Compares what the wire would carry: pointers by what they point to, floats
 * by bit pattern (so NaN equals the same NaN), handles and fds by value.
 *
 * @param[in] type descriptor of both values
 * @param[in] a first value
 * @param[in] b second value
 * @return true if equal.
 *
 * Ownership: nothing allocated.  Errors: none (a NULL type compares false).
 */
PARLEY_PUBLIC bool parley_data_equal(const parley_type *type, const void *a, const void *b);

/**
 * @brief Deep copy of a value into a new talloc graph.
 * @param[in] mem_ctx talloc parent of the copy
 * @param[in] type descriptor of value
 * @param[in] value the C object
 * @param[out] ret_copy the copy, set only on success
 * @return PARLEY_OK, NOMEM, OVERFLOW past the depth cap.
 *
 * Ownership: *ret_copy is a talloc chunk under mem_ctx holding the whole copy;
 * handles and fds are copied by value (not duplicated).
 * Errors: the statuses under @return, each with a sentence in
 * parley_error_message().
 */
PARLEY_PUBLIC parley_status parley_data_copy(TALLOC_CTX *mem_ctx, const parley_type *type,
                                             const void *value, void **ret_copy);

/**
 * @brief Take a received descriptor out of a decoded message.
 *
 * A request or reply decoded by the runtime owns the descriptors that came
 * with it (they arrive close-on-exec): they are closed when that value is
 * freed (a handler's `in` when the call ends, a reply when you free it).
 * Taking one makes it yours: it stays open and you close it.
 *
 * @param[in] decoded_value the top value the runtime decoded (a handler's
 *            `in`, or the reply a dispatch returned), not a part of it
 * @param[in] fd a descriptor found in that value
 * @return fd, now yours; -1 if that value does not own fd (never received
 *         with it, or taken already), with the thread's error set
 *         (NOT_FOUND; INVALID_ARGUMENT for NULL or a negative fd).
 *
 * Ownership: on success the descriptor passes to the caller.  Errors: as above.
 */
PARLEY_PUBLIC int parley_take_fd(const void *decoded_value, int fd);

#ifdef __cplusplus
}
#endif

#endif /* PARLEY_DATA_H */
