/* SPDX-License-Identifier: MIT */
/* Tests: X.509 certificates and keys made at test time (GnuTLS), so that no
 * file checked in can expire. */
#ifndef PARLEY_TEST_TLS_CERTS_H
#define PARLEY_TEST_TLS_CERTS_H

/* Write into dir (PEM): ca.pem; server.pem/server.key (SAN DNS:localhost,
 * IP:127.0.0.1, signed by ca); client1.pem/.key (CN=client1) and
 * client2.pem/.key (CN=client2), signed by ca; other-ca.pem and
 * other.pem/.key (CN=client1, signed by other-ca); expired.pem/.key (a server
 * certificate like server.pem that expired yesterday).  ECDSA P-256 keys.
 * Returns 0, or a GnuTLS error code. */
int tls_certs_make(const char *dir);

#endif
