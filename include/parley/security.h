/* SPDX-License-Identifier: MIT */
/**
 * @file parley/security.h
 * @brief Who is calling: a session's transport and remote address, and an
 *        access check run before every incoming call.
 *
 * A unix socket session also has the caller's uid, gid and pid
 * (parley_session_get_credentials() in parley/session.h).  A TCP session has
 * only the other end's address, which says nothing about who is there:
 * listening on TCP outside loopback needs an explicit opt-in
 * (`tcp:HOST:PORT?public`, see parley_peer_add_listen_endpoint()).
 */
#ifndef PARLEY_SECURITY_H
#define PARLEY_SECURITY_H

#include <stddef.h>
#include <stdbool.h>

#include "parley/status.h"
#include "parley/protocol.h"
#include "parley/peer.h"
#include "parley/session.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The kind of connection a session runs on. */
typedef enum parley_transport {
    PARLEY_TRANSPORT_UNKNOWN = 0,   /**< a descriptor of another kind (connect_fd/accept_fd) */
    PARLEY_TRANSPORT_UNIX = 1,      /**< a unix socket (paths, abstract names, socketpairs) */
    PARLEY_TRANSPORT_TCP = 2        /**< plain TCP, IPv4 or IPv6 */
} parley_transport;

/**
 * @brief The transport of a session's connection, read when it was made.
 * @param[in] session the session
 * @return the transport; PARLEY_TRANSPORT_UNKNOWN for NULL or a descriptor
 *         that is neither a unix nor a TCP socket.
 *
 * Any thread.  Ownership: nothing allocated.  Errors: none.
 */
PARLEY_PUBLIC parley_transport parley_session_get_transport(parley_session *session);

/**
 * @brief The other end's address of a TCP session, as text.
 *
 * "192.0.2.7:40312" for IPv4, "[2001:db8::7]:40312" for IPv6 (an IPv4-mapped
 * IPv6 address is given as IPv4), read when the connection was made.  The
 * address is where the packets came from, not who sent them: use it for
 * logs and coarse rules, not as an identity.
 *
 * @param[in] session the session
 * @param[out] buf filled with a NUL-terminated string only on success
 * @param[in] size the size of buf; 64 bytes always suffice
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL session or buf); UNSUPPORTED (not
 *         a TCP session); OVERFLOW (buf too small; nothing written).
 *
 * Any thread.  Ownership: nothing allocated.  Errors: as above, with a
 * sentence.
 */
PARLEY_PUBLIC parley_status parley_session_get_remote_address(parley_session *session,
                                                              char *buf, size_t size);

/**
 * @brief Decides whether an incoming call may run.
 *
 * Called before the request of each incoming call is decoded, on the I/O
 * thread, with no Parley lock held; it must not block.  It may read the
 * session (parley_session_get_credentials(), parley_session_get_transport(),
 * parley_session_get_remote_address(), parley_session_get_data()).
 *
 * @param[in] session the session the call came in on
 * @param[in] method the method called (its id and name)
 * @param[in] data the pointer given to parley_peer_set_access_function()
 * @param[out] reason a buffer of reason_size bytes, an empty string on entry;
 *             a refusal may write a sentence into it (NUL-terminated), which
 *             the caller gets in its error message
 * @param[in] reason_size the size of reason (at least 128)
 * @return true: the call runs; false: refused.  A refused call gets the
 *         reply PERMISSION_DENIED ("permission denied for METHOD: reason"),
 *         its handler does not run, and the session goes on.  A refused
 *         oneway message is dropped (it has no reply) and the exception
 *         function is told (PERMISSION_DENIED, with the same sentence).
 */
typedef bool (*parley_access_fn)(parley_session *session, const parley_method *method,
                                 void *data, char *reason, size_t reason_size);

/**
 * @brief Set the access check run before every incoming call.
 *
 * Without one every served method is open to every session the construct
 * hook accepted.  Introspection, while the peer serves it, is checked too,
 * as the method id PARLEY_METHOD_INTROSPECT (0) named "introspect" (allow
 * it where parley-call should work); a method the peer does not serve is
 * NOT_FOUND without a check.
 *
 * @param[in] peer the peer, before it starts (listens, connects or spawns)
 * @param[in] fn the check; NULL: every call runs
 * @param[in] data passed to fn
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL peer); INVALID_STATE (the peer
 *         has started).
 *
 * Ownership: data stays the caller's and must outlive the peer.
 * Errors: as above, with a sentence.
 */
PARLEY_PUBLIC parley_status parley_peer_set_access_function(parley_peer *peer,
                                                            parley_access_fn fn, void *data);

#ifdef __cplusplus
}
#endif

#endif
