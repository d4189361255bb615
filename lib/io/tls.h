/* SPDX-License-Identifier: MIT */
/* Internal: the TLS transport, below the connection.
 *
 * A tls: connection runs its handshake (GnuTLS) on the TCP socket; then the
 * connection gets one end of a socketpair(AF_UNIX, SOCK_STREAM) and a pump
 * thread moves bytes between the other end and the TLS session, with a
 * bounded buffer each way (it stops reading one side while the other does
 * not take the bytes).  One thread per TLS connection: the handshake of an
 * accepted connection runs on it, then the pump.  EOF goes both ways: the
 * connection closing its end ends the TLS session (close_notify, best
 * effort); the other end closing ends the socketpair.  With kernel TLS
 * (when GnuTLS and the kernel enable it) the connection gets the TCP socket
 * itself and no pump runs. */
#ifndef PARLEY_LIB_TLS_H
#define PARLEY_LIB_TLS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <talloc.h>

#include "parley/status.h"

/* Credentials and settings of one peer: built by the setters before the
 * peer starts, read only after (any thread). */
typedef struct parley__tls_config parley__tls_config;

/* The TLS threads of one peer; freeing it stops them and waits for them. */
typedef struct parley__tls_group parley__tls_group;

/* What a handshake told: the TCP peer's address and the verified identity
 * (talloc children of this struct; NULL when not there). */
typedef struct parley__tls_info {
    struct sockaddr_storage remote;
    char *subject;       /* the verified certificate's subject DN */
    char *sans;          /* its subject alternative names, "DNS:x,IP:y" */
    char *fingerprint;   /* SHA-256 of its DER form, lowercase hex */
    char *psk_identity;  /* the PSK identity used */
    bool ktls;           /* kernel TLS: the fd is the TCP socket */
} parley__tls_info;

parley_status parley__tls_config_new(TALLOC_CTX *mem_ctx, parley__tls_config **ret_cfg);
/* PEM files; unreadable files and a key that does not match are errors
 * naming the file. */
parley_status parley__tls_config_set_certificate(parley__tls_config *cfg, const char *cert_file,
                                                 const char *key_file);
parley_status parley__tls_config_set_trust(parley__tls_config *cfg, const char *ca_file,
                                           const char *crl_file);
void parley__tls_config_set_require_client_cert(parley__tls_config *cfg, bool require);
/* key_hex: the key in hexadecimal, at least 16 bytes. */
parley_status parley__tls_config_set_psk(parley__tls_config *cfg, const char *identity,
                                         const char *key_hex);
parley_status parley__tls_config_set_priority(parley__tls_config *cfg, const char *priority);
/* Whether cfg can serve (a certificate or a PSK) / connect (trusted CAs or
 * a PSK); INVALID_STATE with a sentence naming what to set. */
parley_status parley__tls_config_check(const parley__tls_config *cfg, bool server,
                                       const char *endpoint);

parley_status parley__tls_group_new(TALLOC_CTX *mem_ctx, parley__tls_group **ret_group);

/* Client: the handshake on the connected TCP socket tcp_fd (consumed),
 * verifying the server's certificate for server_name, within timeout_ms;
 * then a pump.  *ret_fd is what the connection gets; *ret_info is on
 * mem_ctx.  Errors name endpoint; a server that answers with something
 * other than TLS is PROTOCOL_MISMATCH ("is it a plain tcp: endpoint?"). */
parley_status parley__tls_connect(parley__tls_group *group, parley__tls_config *cfg,
                                  const char *endpoint, const char *server_name, int tcp_fd,
                                  int64_t timeout_ms, TALLOC_CTX *mem_ctx,
                                  parley__tls_info **ret_info, int *ret_fd);

/* Server: called on the connection's thread after the handshake: fd >= 0
 * and info (the callee owns both), or fd < 0 and info NULL when it failed
 * (timed out, refused, not TLS, or the peer is being freed). */
typedef void (*parley__tls_accepted_fn)(void *data, int fd, parley__tls_info *info);

/* Server: start the thread for the accepted TCP socket tcp_fd (consumed):
 * the handshake within timeout_ms (0: no limit), then accepted(), then the
 * pump.  A client that sends something other than a TLS ClientHello is told
 * in a BYE frame that this is a tls: endpoint.  On an error return accepted
 * is not called. */
parley_status parley__tls_accept(parley__tls_group *group, parley__tls_config *cfg, int tcp_fd,
                                 int64_t timeout_ms, parley__tls_accepted_fn accepted,
                                 void *data);

/* The listeners stopped: every accepted connection still in its handshake
 * fails now (its socket is shut down), and one that finishes meanwhile
 * gets no session. */
void parley__tls_abort_accepts(parley__tls_group *group);

#endif
