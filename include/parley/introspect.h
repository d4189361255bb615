/* SPDX-License-Identifier: MIT */
/**
 * @file parley/introspect.h
 * @brief Introspection: a peer's protocol as data, over the wire.
 *
 * Method id 0 (::PARLEY_METHOD_INTROSPECT) is answered by every peer with a
 * description of its own protocol: the name and version, every method (id,
 * name, interface, oneway, request and reply types, fingerprint), every type
 * reachable from them and the peer's limits.  The description is an ordinary
 * Parley value (its encoding is specified in doc/wire.md, "Introspection"),
 * and it carries enough to build, at run time, type descriptors that
 * parley_type_check() accepts and whose fingerprints equal the originals: a
 * client can encode the requests and decode the replies of any method
 * without the IDL.
 *
 * @code
 * const parley_protocol *proto;
 * TALLOC_CTX *mem = talloc_new(NULL);
 * if (parley_introspect(mem, "unix:/run/kv.sock", 5000, &proto, NULL) == PARLEY_OK) {
 *     for (size_t i = 0; i < proto->n_methods; i++)
 *         printf("%u %s\n", proto->methods[i].id, proto->methods[i].name);
 *     // parley_peer_new(mem, proto, &peer) now speaks the server's protocol
 * }
 * talloc_free(mem);
 * @endcode
 */
#ifndef PARLEY_INTROSPECT_H
#define PARLEY_INTROSPECT_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <talloc.h>

#include "parley/status.h"
#include "parley/protocol.h"
#include "parley/peer.h"
#include "parley/session.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The version of the description format this library writes and reads. */
#define PARLEY_DESCRIPTION_FORMAT 1u

/** The limits a peer announces in its description (0 = not known). */
typedef struct parley_limits {
    uint32_t max_message;      /**< largest message payload it accepts, bytes */
    uint32_t max_fds;          /**< most descriptors it accepts in one message */
    uint32_t max_outstanding;  /**< incoming calls it runs at once per session */
    uint32_t max_handles;      /**< handles it registers per session */
} parley_limits;

/**
 * @brief Encode the description of a protocol (what method 0 replies).
 *
 * @param[in] mem_ctx talloc parent of the bytes
 * @param[in] protocol a protocol that passes parley_protocol_check()
 * @param[in] limits the limits to announce, or NULL for none (all 0)
 * @param[out] ret_bytes the encoded description
 * @param[out] ret_len its length
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL, or a protocol that does not
 *         check); OVERFLOW (more than 65535 types or methods); NOMEM.
 *
 * Ownership: *ret_bytes is a talloc chunk under mem_ctx.  Threads: any.
 * Errors: as above, with a sentence in parley_error_message().
 */
PARLEY_PUBLIC parley_status parley_protocol_describe(TALLOC_CTX *mem_ctx,
                                                     const parley_protocol *protocol,
                                                     const parley_limits *limits,
                                                     uint8_t **ret_bytes, size_t *ret_len);

/**
 * @brief Decode a description and build the protocol it describes.
 *
 * The bytes are untrusted: a truncated or malformed encoding, a format
 * version this library does not read, a type index out of range, a type
 * that contains itself other than through an optional or a sequence, a
 * fixed array of more than 65536 elements or a type larger than 64 MiB in
 * memory, and descriptors that parley_type_check() or
 * parley_protocol_check() refuse (a stored fingerprint that its types do not
 * give, among others) are all refused.
 *
 * The C layout of the built descriptors (sizes and offsets) is the natural
 * one of this host, the one `parley-idl` would give; values of these types
 * are meant to be built and read through the descriptors (parley/data.h,
 * JSON), not through C structs.
 *
 * @param[in] mem_ctx talloc parent of the result
 * @param[in] bytes the encoded description (the reply of method 0)
 * @param[in] len its length
 * @param[out] ret_protocol the protocol: methods, interfaces, the named types
 * @param[out] ret_limits if not NULL, the limits announced in the description
 * @return PARLEY_OK; MALFORMED for an invalid description; UNSUPPORTED for a
 *         format version other than ::PARLEY_DESCRIPTION_FORMAT;
 *         INVALID_ARGUMENT for NULL arguments; NOMEM.
 *
 * Ownership: *ret_protocol is a talloc chunk under mem_ctx holding every
 * descriptor, name and table it points to; one talloc_free() releases it
 * (keep it alive as long as a peer uses it).  Threads: any.
 * Errors: as above, with a sentence in parley_error_message().
 */
PARLEY_PUBLIC parley_status parley_protocol_from_description(TALLOC_CTX *mem_ctx,
                                                             const void *bytes, size_t len,
                                                             const parley_protocol **ret_protocol,
                                                             parley_limits *ret_limits);

/**
 * @brief Serve introspection (method 0) or not.
 *
 * On by default: a peer answers method 0 with the description of its own
 * protocol, encoded once, the first time it is asked (the limits in it are
 * the ones set at that time).  A locked-down service turns it off; method 0
 * then gets NOT_FOUND like any method the peer does not serve.
 *
 * @param[in] peer the peer
 * @param[in] enabled true to serve it, false to refuse it
 * @return PARLEY_OK; INVALID_ARGUMENT for NULL.
 *
 * Ownership: nothing allocated.  Threads: any; calls already arrived are
 * answered with the setting they saw.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_set_introspection(parley_peer *peer, bool enabled);

/**
 * @brief A peer that connects to a peer of any protocol, to introspect it.
 *
 * Its HELLO names the reserved protocol "parley.introspect" with no methods,
 * which every Parley peer accepts, and it accepts the HELLO of any protocol.
 * Its sessions can call method 0 only (parley_session_introspect()); it
 * serves nothing, not even introspection.  Add connect endpoints, connect or
 * spawn (parley_peer_spawn()) as with any peer.
 *
 * @param[in] mem_ctx talloc parent of the peer
 * @param[out] ret_peer the peer
 * @return as parley_peer_new().
 *
 * Ownership: free the peer with talloc_free().  Errors: as parley_peer_new().
 */
PARLEY_PUBLIC parley_status parley_peer_new_introspector(TALLOC_CTX *mem_ctx,
                                                         parley_peer **ret_peer);

/**
 * @brief Call method 0 on a session and build the other end's protocol.
 *
 * Works on any outgoing session (of an introspector peer or of an ordinary
 * one).  Blocks until the reply comes or timeout_ms passes; do not call it
 * from the peer's I/O thread.
 *
 * @param[in] session the session
 * @param[in] mem_ctx talloc parent of the result
 * @param[in] timeout_ms the call's deadline in ms, 0 for none, negative for
 *            the peer's default
 * @param[out] ret_protocol the protocol, as parley_protocol_from_description()
 * @param[out] ret_limits if not NULL, the limits the other end announced
 * @return PARLEY_OK; NOT_FOUND (the other end has introspection turned off);
 *         PERMISSION_DENIED (the other end's access function refused it);
 *         TIMEOUT; CONNECTION_CLOSED; the statuses of
 *         parley_protocol_from_description().
 *
 * Ownership: *ret_protocol as in parley_protocol_from_description().
 * Errors: as above, with a sentence in parley_error_message().
 */
PARLEY_PUBLIC parley_status parley_session_introspect(parley_session *session,
                                                      TALLOC_CTX *mem_ctx, int64_t timeout_ms,
                                                      const parley_protocol **ret_protocol,
                                                      parley_limits *ret_limits);

/**
 * @brief Connect to an endpoint, introspect it, disconnect.
 *
 * An introspector peer (parley_peer_new_introspector()) connects to
 * endpoint (any form parley_peer_add_connect_endpoint() takes), calls
 * method 0 with the deadline timeout_ms, and is freed again.
 *
 * @param[in] mem_ctx talloc parent of the result
 * @param[in] endpoint e.g. "unix:/run/kv.sock", "tcp:localhost:7000"
 * @param[in] timeout_ms deadline of the handshake and of the call; 0 for
 *            none (the handshake then waits up to 10 s, as in
 *            parley_peer_connect())
 * @param[out] ret_protocol as parley_protocol_from_description()
 * @param[out] ret_limits if not NULL, the limits the other end announced
 * @return the statuses of parley_peer_connect() and
 *         parley_session_introspect().
 *
 * Ownership: *ret_protocol as in parley_protocol_from_description().
 * Threads: any but a peer's I/O thread.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_introspect(TALLOC_CTX *mem_ctx, const char *endpoint,
                                              int64_t timeout_ms,
                                              const parley_protocol **ret_protocol,
                                              parley_limits *ret_limits);

#ifdef __cplusplus
}
#endif

#endif /* PARLEY_INTROSPECT_H */
