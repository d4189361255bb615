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
    PARLEY_TRANSPORT_TCP = 2,       /**< plain TCP, IPv4 or IPv6 */
    PARLEY_TRANSPORT_TLS = 3        /**< TLS over TCP (a tls: endpoint) */
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
 * @brief The other end's address of a TCP or TLS session, as text.
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
 *         a TCP or TLS session); OVERFLOW (buf too small; nothing written).
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

/* ---- TLS (tls:HOST:PORT endpoints) ---------------------------------------
 *
 * A tls: endpoint is TCP with TLS (GnuTLS; TLS 1.3 by default).  A server
 * needs a certificate or a PSK; a client needs trusted CAs (it verifies the
 * server's certificate for the endpoint's host, or for NAME in
 * tls:HOST:PORT?name=NAME) or a PSK.  A tls: listener may listen on any
 * address (no ?public needed).  Every setting below is made before the peer
 * starts (INVALID_STATE after) and applies to every tls: endpoint of the
 * peer, listening and connecting.  Files are PEM.  Errors name the file and
 * say what GnuTLS found wrong. */

/** parley_peer_set_tls_verify(): a server refuses a client without a
 *  certificate signed by a CA of parley_peer_set_tls_trust(). */
#define PARLEY_TLS_REQUIRE_CLIENT_CERT 1u

/**
 * @brief The peer's own certificate (chain) and private key.
 *
 * A server shows it to clients; a client shows it to a server that asks
 * (mutual authentication).
 *
 * @param[in] peer the peer, not started
 * @param[in] cert_file PEM certificate, then any intermediate CAs
 * @param[in] key_file PEM private key matching the certificate
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL, not PEM, or the key does not
 *         match the certificate); NOT_FOUND / ACCESS_DENIED (a file missing
 *         or unreadable); INVALID_STATE (started).
 *
 * Any thread.  Ownership: the files are read now; nothing kept.
 */
PARLEY_PUBLIC parley_status parley_peer_set_tls_certificate(parley_peer *peer,
                                                            const char *cert_file,
                                                            const char *key_file);

/**
 * @brief The CAs trusted to sign the other end's certificate, and an
 *        optional revocation list.
 *
 * @param[in] peer the peer, not started
 * @param[in] ca_file PEM CA certificates (at least one)
 * @param[in] crl_file PEM CRLs, or NULL
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL peer or ca_file, no certificate
 *         in it, unreadable PEM); NOT_FOUND / ACCESS_DENIED (a file missing or
 *         unreadable); INVALID_STATE (started).
 *
 * Any thread.  May be called more than once (the CAs add up).
 */
PARLEY_PUBLIC parley_status parley_peer_set_tls_trust(parley_peer *peer, const char *ca_file,
                                                      const char *crl_file);

/**
 * @brief Verification flags: 0 or PARLEY_TLS_REQUIRE_CLIENT_CERT.
 *
 * Without the flag a server with trusted CAs asks for a client certificate
 * and, when one is shown, refuses it unless it verifies; a client without
 * one is let in (its identity is then empty).  A client always verifies the
 * server's certificate (or uses a PSK).
 *
 * @param[in] peer the peer, not started
 * @param[in] flags 0 or PARLEY_TLS_REQUIRE_CLIENT_CERT
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL peer, unknown flag);
 *         INVALID_STATE (started).
 *
 * Ownership: nothing allocated.  Threads: any, before the peer starts.
 * Errors: as above, with a sentence in parley_error_message().
 */
PARLEY_PUBLIC parley_status parley_peer_set_tls_verify(parley_peer *peer, unsigned flags);

/**
 * @brief A pre-shared key: the identity and its key, for small deployments
 *        without certificates.
 *
 * A client offers this identity; a server accepts only this identity with
 * this key (a wrong key fails the handshake).  Adds ECDHE-PSK and PSK to the
 * default priority string.
 *
 * @param[in] peer the peer, not started
 * @param[in] identity 1 to 255 bytes of text
 * @param[in] key_hex the key in hexadecimal, at least 16 bytes (32 digits)
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL, empty or bad hex, key too
 *         short); INVALID_STATE (started).
 *
 * Any thread.  Ownership: both are copied.
 */
PARLEY_PUBLIC parley_status parley_peer_set_tls_psk(parley_peer *peer, const char *identity,
                                                    const char *key_hex);

/**
 * @brief The GnuTLS priority string; the default is
 *        "NORMAL:-VERS-ALL:+VERS-TLS1.3" (with a PSK,
 *        ":+ECDHE-PSK:+DHE-PSK:+PSK" appended).
 *
 * "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2" also allows TLS 1.2.
 *
 * @param[in] peer the peer, not started
 * @param[in] priority the string; NULL: back to the default
 * @return PARLEY_OK; INVALID_ARGUMENT (GnuTLS does not accept the string:
 *         the sentence says where); INVALID_STATE (started).
 */
PARLEY_PUBLIC parley_status parley_peer_set_tls_priority(parley_peer *peer,
                                                         const char *priority);

/** Who the other end of a TLS session is, verified by the handshake. */
typedef struct parley_tls_identity {
    /** The verified certificate's subject DN (RFC 4514), or NULL (PSK, or a
     *  client that showed no certificate). */
    const char *subject;
    /** Its subject alternative names, "DNS:name", "IP:address",
     *  "email:x", "URI:x", comma-separated; NULL when none. */
    const char *sans;
    /** SHA-256 of the certificate (DER), 64 lowercase hex digits, or NULL. */
    const char *fingerprint;
    /** The PSK identity the session was made with, or NULL. */
    const char *psk_identity;
} parley_tls_identity;

/**
 * @brief The verified identity of the other end of a TLS session.
 *
 * Known from the construct hook on (the handshake completes before the
 * session exists), so the construct hook and the access function may use it.
 *
 * @param[in] session a TLS session (parley_session_get_transport() gives
 *            PARLEY_TRANSPORT_TLS)
 * @param[in] mem_ctx talloc parent of the result
 * @param[out] ret_identity one talloc allocation with its strings as
 *             children; free with talloc_free()
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL); UNSUPPORTED (not a TLS
 *         session); NOMEM.
 *
 * Any thread.
 */
PARLEY_PUBLIC parley_status parley_session_get_tls_identity(parley_session *session,
                                                            TALLOC_CTX *mem_ctx,
                                                            parley_tls_identity **ret_identity);

#ifdef __cplusplus
}
#endif

#endif
