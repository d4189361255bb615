/* SPDX-License-Identifier: MIT */
/* Runtime, integration (tls): tls: endpoints with certificates made at test
 * time: mutual TLS with the identity seen by the construct hook and the
 * access function; refusals (another CA, expired, no client certificate,
 * wrong name, wrong PSK key); plain and TLS mixed up both ways; a silent
 * client freed by the establish timeout; settings errors. */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>

#include "server_proc.h"
#include "status.h"
#include "suites.h"
#include "test_proto.h"
#include "tls_certs.h"

#define PSK_KEY "00112233445566778899aabbccddeeff"
#define PSK_OTHER "ffeeddccbbaa99887766554433221100"

static const char *dir;
static char path_buf[8][512];
static unsigned path_next;

static const char *path(const char *name)
{
    char *p = path_buf[path_next++ % 8];

    snprintf(p, sizeof(path_buf[0]), "%s/%s", dir, name);
    return p;
}

static void setup(void)
{
    dir = tp_tmpdir();
    ck_assert_ptr_nonnull(dir);
    ck_assert_int_eq(tls_certs_make(dir), 0);
}

static void teardown(void)
{
    tp_tmpdir_remove(dir);
}

/* ---- the server's hooks -------------------------------------------------- */

static atomic_int construct_transport;
static char construct_subject[256], construct_psk[64], construct_address[64];
static atomic_int construct_creds;

static parley_status on_construct(parley_session *session, void *data, void **ret_session_data)
{
    parley_tls_identity *id = NULL;
    parley_credentials creds;

    (void)data;
    *ret_session_data = NULL;
    construct_transport = (int)parley_session_get_transport(session);
    construct_creds = (int)parley_session_get_credentials(session, &creds);
    if (parley_session_get_remote_address(session, construct_address,
                                          sizeof(construct_address)) != PARLEY_OK)
        return PARLEY_ERR_INTERNAL;
    if (construct_transport != PARLEY_TRANSPORT_TLS)
        return PARLEY_OK;   /* the plain listener of test_tls_plain_mismatch */
    if (parley_session_get_tls_identity(session, NULL, &id) != PARLEY_OK)
        return PARLEY_ERR_INTERNAL;
    snprintf(construct_subject, sizeof(construct_subject), "%s",
             id->subject != NULL ? id->subject : "");
    snprintf(construct_psk, sizeof(construct_psk), "%s",
             id->psk_identity != NULL ? id->psk_identity : "");
    talloc_free(id);
    return PARLEY_OK;
}

/* "add" is open; "echo" only for a certificate with CN=client1 or the PSK
 * identity "dev1". */
static bool check_access(parley_session *session, const parley_method *method, void *data,
                         char *reason, size_t reason_size)
{
    parley_tls_identity *id = NULL;
    bool ok;

    (void)data;
    if (method->id != TP_ECHO)
        return true;
    if (parley_session_get_tls_identity(session, NULL, &id) != PARLEY_OK) {
        snprintf(reason, reason_size, "echo needs TLS");
        return false;
    }
    ok = (id->subject != NULL && strstr(id->subject, "CN=client1") != NULL) ||
         (id->psk_identity != NULL && strcmp(id->psk_identity, "dev1") == 0);
    if (!ok)
        snprintf(reason, reason_size, "%s may not echo",
                 id->subject != NULL ? id->subject : "this identity");
    talloc_free(id);
    return ok;
}

static void reset_state(void)
{
    construct_transport = -1;
    construct_creds = -1;
    construct_subject[0] = construct_psk[0] = construct_address[0] = '\0';
}

/* A server on tls:127.0.0.1:0 (or tcp: when plain); cert NULL: PSK only. */
static parley_peer *server_new(TALLOC_CTX *mem, bool plain, const char *cert, const char *key,
                               bool require_client, const char *psk_key)
{
    parley_peer *server;

    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &server), PARLEY_OK);
    ck_assert_int_eq(tp_serve(server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_access_function(server, check_access, NULL), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_session_functions(server, on_construct, NULL, NULL),
                     PARLEY_OK);
    if (cert != NULL)
        ck_assert_int_eq(parley_peer_set_tls_certificate(server, path(cert), path(key)),
                         PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_tls_trust(server, path("ca.pem"), NULL), PARLEY_OK);
    if (require_client)
        ck_assert_int_eq(parley_peer_set_tls_verify(server, PARLEY_TLS_REQUIRE_CLIENT_CERT),
                         PARLEY_OK);
    if (psk_key != NULL)
        ck_assert_int_eq(parley_peer_set_tls_psk(server, "dev1", psk_key), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_timeout(server, PARLEY_TIMEOUT_ESTABLISH, 5000), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_listen_endpoint(server, plain ? "tcp:127.0.0.1:0"
                                                                   : "tls:127.0.0.1:0", 0),
                     PARLEY_OK);
    ck_assert_int_eq(parley_peer_start_listen(server), PARLEY_OK);
    return server;
}

/* The port of the server's listener. */
static const char *port_of(TALLOC_CTX *mem, parley_peer *server)
{
    char *ep = NULL;

    ck_assert_int_eq(parley_peer_get_listen_endpoint(server, 0, mem, &ep), PARLEY_OK);
    return strrchr(ep, ':') + 1;
}

/* A client peer; cert NULL: none; ca NULL: no trust. */
static parley_peer *client_new(TALLOC_CTX *mem, const char *endpoint, const char *cert,
                               const char *key, const char *ca, const char *psk_key)
{
    parley_peer *client;

    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &client), PARLEY_OK);
    if (cert != NULL)
        ck_assert_int_eq(parley_peer_set_tls_certificate(client, path(cert), path(key)),
                         PARLEY_OK);
    if (ca != NULL)
        ck_assert_int_eq(parley_peer_set_tls_trust(client, path(ca), NULL), PARLEY_OK);
    if (psk_key != NULL)
        ck_assert_int_eq(parley_peer_set_tls_psk(client, "dev1", psk_key), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_timeout(client, PARLEY_TIMEOUT_ESTABLISH, 5000), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_connect_endpoint(client, endpoint), PARLEY_OK);
    return client;
}

static parley_status call_add(parley_session *session, int32_t a, int32_t b, int32_t *ret)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_call *call;
    tp_pair pair = { a, b };
    tp_int *sum = NULL;
    parley_status st;

    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    st = parley_call_dispatch(call, TP_ADD, &pair, mem, &sum, NULL, NULL);
    if (st == PARLEY_OK)
        *ret = sum->v;
    parley_call_release(call);
    talloc_free(mem);
    return st;
}

static parley_status call_echo(parley_session *session, const char *text, char *why,
                               size_t why_size)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_call *call;
    tp_echo in = { (char *)(uintptr_t)text, { 0, NULL } };
    tp_echo *out = NULL;
    parley_status st;

    ck_assert_int_eq(parley_session_acquire_call(session, &call), PARLEY_OK);
    st = parley_call_dispatch(call, TP_ECHO, &in, mem, &out, NULL, NULL);
    if (st == PARLEY_OK)
        ck_assert_str_eq(out->text, text);
    else
        snprintf(why, why_size, "%s", parley_error_message());
    parley_call_release(call);
    talloc_free(mem);
    return st;
}

/* Connect expecting a failure: its status, and its message in why. */
static parley_status connect_fails(parley_peer *client, char *why, size_t size)
{
    parley_session *s = NULL;
    parley_status st = parley_peer_connect(client, &s);

    ck_assert_int_ne(st, PARLEY_OK);
    snprintf(why, size, "%s", parley_error_message());
    return st;
}

/* ---- working ------------------------------------------------------------- */

START_TEST(test_tls_mutual)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *server, *client;
    parley_session *s;
    parley_tls_identity *id = NULL;
    parley_credentials creds;
    char ep[128], why[PARLEY__ERROR_MAX], addr[64];
    char *big;
    int32_t v = 0;

    reset_state();
    server = server_new(mem, false, "server.pem", "server.key", true, NULL);
    snprintf(ep, sizeof(ep), "tls:localhost:%s", port_of(mem, server));
    client = client_new(mem, ep, "client1.pem", "client1.key", "ca.pem", NULL);
    ck_assert_int_eq(parley_peer_connect(client, &s), PARLEY_OK);
    ck_assert_int_eq(call_add(s, 2, 3, &v), PARLEY_OK);
    ck_assert_int_eq(v, 5);
    ck_assert_int_eq(call_echo(s, "hello", why, sizeof(why)), PARLEY_OK);
    /* Bigger than the pump's buffers, both ways. */
    big = talloc_array(mem, char, 200001);
    memset(big, 'x', 200000);
    big[200000] = '\0';
    ck_assert_int_eq(call_echo(s, big, why, sizeof(why)), PARLEY_OK);
    /* The server's hook saw the client's identity. */
    ck_assert_int_eq(construct_transport, PARLEY_TRANSPORT_TLS);
    ck_assert_int_eq(construct_creds, PARLEY_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(construct_subject, "CN=client1"));
    ck_assert_ptr_eq(strstr(construct_address, "127.0.0.1:"), construct_address);
    /* The client sees the server's. */
    ck_assert_int_eq(parley_session_get_transport(s), PARLEY_TRANSPORT_TLS);
    ck_assert_int_eq(parley_session_get_credentials(s, &creds), PARLEY_ERR_UNSUPPORTED);
    ck_assert_int_eq(parley_session_get_remote_address(s, addr, sizeof(addr)), PARLEY_OK);
    ck_assert_ptr_eq(strstr(addr, "127.0.0.1:"), addr);
    ck_assert_int_eq(parley_session_get_tls_identity(s, mem, &id), PARLEY_OK);
    ck_assert_ptr_nonnull(strstr(id->subject, "CN=localhost"));
    ck_assert_str_eq(id->sans, "DNS:localhost,IP:127.0.0.1");
    ck_assert_uint_eq(strlen(id->fingerprint), 64);
    ck_assert_ptr_null(id->psk_identity);
    ck_assert_int_eq(parley_session_get_tls_identity(NULL, mem, &id),
                     PARLEY_ERR_INVALID_ARGUMENT);
    /* Settings are made before the peer starts. */
    ck_assert_int_eq(parley_peer_set_tls_psk(client, "x", PSK_KEY), PARLEY_ERR_INVALID_STATE);
    parley_session_close(s);
    talloc_free(client);

    /* Another client of the same CA: in, but the access function refuses
     * it echo by its certificate's subject. */
    client = client_new(mem, ep, "client2.pem", "client2.key", "ca.pem", NULL);
    ck_assert_int_eq(parley_peer_connect(client, &s), PARLEY_OK);
    ck_assert_int_eq(call_add(s, 1, 1, &v), PARLEY_OK);
    ck_assert_int_eq(call_echo(s, "hi", why, sizeof(why)), PARLEY_ERR_PERMISSION_DENIED);
    ck_assert_msg(strstr(why, "CN=client2") != NULL, "%s", why);
    ck_assert_int_eq(call_add(s, 1, 1, &v), PARLEY_OK);
    parley_session_close(s);
    talloc_free(client);
    talloc_free(server);
    talloc_free(mem);
}
END_TEST

START_TEST(test_tls_unix_has_no_identity)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *a;
    parley_session *s;
    parley_tls_identity *id = NULL;
    int sv[2];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &a), PARLEY_OK);
    ck_assert_int_eq(tp_serve(a), PARLEY_OK);
    ck_assert_int_eq(parley_peer_accept_fd(a, sv[1]), PARLEY_OK);
    {
        parley_peer *b;

        ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &b), PARLEY_OK);
        ck_assert_int_eq(parley_peer_connect_fd(b, sv[0], &s), PARLEY_OK);
        ck_assert_int_eq(parley_session_get_tls_identity(s, mem, &id), PARLEY_ERR_UNSUPPORTED);
        parley_session_close(s);
        talloc_free(b);
    }
    talloc_free(a);
    talloc_free(mem);
}
END_TEST

START_TEST(test_tls_psk)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *server, *client;
    parley_session *s;
    parley_tls_identity *id = NULL;
    char ep[128], why[PARLEY__ERROR_MAX];
    int32_t v = 0;

    reset_state();
    server = server_new(mem, false, NULL, NULL, false, PSK_KEY);
    snprintf(ep, sizeof(ep), "tls:127.0.0.1:%s", port_of(mem, server));
    client = client_new(mem, ep, NULL, NULL, NULL, PSK_KEY);
    ck_assert_int_eq(parley_peer_connect(client, &s), PARLEY_OK);
    ck_assert_int_eq(call_add(s, 4, 5, &v), PARLEY_OK);
    ck_assert_int_eq(v, 9);
    ck_assert_int_eq(call_echo(s, "psk", why, sizeof(why)), PARLEY_OK);
    ck_assert_str_eq(construct_psk, "dev1");
    ck_assert_int_eq(parley_session_get_tls_identity(s, mem, &id), PARLEY_OK);
    ck_assert_str_eq(id->psk_identity, "dev1");
    ck_assert_ptr_null(id->subject);
    parley_session_close(s);
    talloc_free(client);

    /* The wrong key: the handshake fails, with a sentence, no hang. */
    client = client_new(mem, ep, NULL, NULL, NULL, PSK_OTHER);
    ck_assert_int_eq(connect_fails(client, why, sizeof(why)), PARLEY_ERR_ACCESS_DENIED);
    ck_assert_msg(strstr(why, ep) != NULL, "%s", why);
    talloc_free(client);
    talloc_free(server);
    talloc_free(mem);
}
END_TEST

/* ---- refused ------------------------------------------------------------- */

START_TEST(test_tls_refusals)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *server, *client;
    char ep[160], why[PARLEY__ERROR_MAX];
    const char *port;

    server = server_new(mem, false, "server.pem", "server.key", true, NULL);
    port = port_of(mem, server);
    snprintf(ep, sizeof(ep), "tls:127.0.0.1:%s", port);

    /* A client certificate from another CA. */
    client = client_new(mem, ep, "other.pem", "other.key", "ca.pem", NULL);
    ck_assert_int_eq(connect_fails(client, why, sizeof(why)), PARLEY_ERR_ACCESS_DENIED);
    talloc_free(client);

    /* No client certificate where one is required. */
    client = client_new(mem, ep, NULL, NULL, "ca.pem", NULL);
    ck_assert_int_eq(connect_fails(client, why, sizeof(why)), PARLEY_ERR_ACCESS_DENIED);
    ck_assert_msg(strstr(why, "refused the TLS") != NULL, "%s", why);
    talloc_free(client);

    /* A server name the certificate does not carry. */
    snprintf(ep, sizeof(ep), "tls:127.0.0.1:%s?name=wrong.example", port);
    client = client_new(mem, ep, "client1.pem", "client1.key", "ca.pem", NULL);
    ck_assert_int_eq(connect_fails(client, why, sizeof(why)), PARLEY_ERR_ACCESS_DENIED);
    ck_assert_msg(strstr(why, "not trusted") != NULL && strstr(why, "name in the certificate") != NULL,
                  "%s", why);
    talloc_free(client);

    /* A server that does not trust this CA at all (the client trusts only
     * the other CA). */
    snprintf(ep, sizeof(ep), "tls:127.0.0.1:%s", port);
    client = client_new(mem, ep, "client1.pem", "client1.key", "other-ca.pem", NULL);
    ck_assert_int_eq(connect_fails(client, why, sizeof(why)), PARLEY_ERR_ACCESS_DENIED);
    ck_assert_msg(strstr(why, "not trusted") != NULL, "%s", why);
    talloc_free(client);
    talloc_free(server);

    /* An expired server certificate. */
    server = server_new(mem, false, "expired.pem", "expired.key", false, NULL);
    snprintf(ep, sizeof(ep), "tls:127.0.0.1:%s", port_of(mem, server));
    client = client_new(mem, ep, NULL, NULL, "ca.pem", NULL);
    ck_assert_int_eq(connect_fails(client, why, sizeof(why)), PARLEY_ERR_ACCESS_DENIED);
    ck_assert_msg(strstr(why, "expired") != NULL, "%s", why);
    talloc_free(client);
    talloc_free(server);
    talloc_free(mem);
}
END_TEST

START_TEST(test_tls_plain_mismatch)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *server, *client;
    char ep[160], why[PARLEY__ERROR_MAX];

    /* A plain client on a TLS listener. */
    server = server_new(mem, false, "server.pem", "server.key", false, NULL);
    snprintf(ep, sizeof(ep), "tcp:127.0.0.1:%s", port_of(mem, server));
    client = client_new(mem, ep, NULL, NULL, NULL, NULL);
    ck_assert_int_eq(connect_fails(client, why, sizeof(why)), PARLEY_ERR_PROTOCOL_MISMATCH);
    ck_assert_msg(strstr(why, "this is a TLS endpoint") != NULL, "%s", why);
    talloc_free(client);
    talloc_free(server);

    /* A TLS client on a plain listener. */
    server = server_new(mem, true, NULL, NULL, false, NULL);
    snprintf(ep, sizeof(ep), "tls:127.0.0.1:%s", port_of(mem, server));
    client = client_new(mem, ep, NULL, NULL, "ca.pem", NULL);
    ck_assert_int_eq(connect_fails(client, why, sizeof(why)), PARLEY_ERR_PROTOCOL_MISMATCH);
    ck_assert_msg(strstr(why, "is it a plain tcp: endpoint?") != NULL, "%s", why);
    talloc_free(client);
    talloc_free(server);
    talloc_free(mem);
}
END_TEST

/* A client that connects and sends nothing holds a slot only until the
 * establish timeout. */
START_TEST(test_tls_slowloris)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *server;
    struct addrinfo hints, *ai = NULL;
    struct pollfd pfd;
    char buf[64];
    int fd;

    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &server), PARLEY_OK);
    ck_assert_int_eq(tp_serve(server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_tls_certificate(server, path("server.pem"),
                                                     path("server.key")), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_timeout(server, PARLEY_TIMEOUT_ESTABLISH, 300), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_listen_endpoint(server, "tls:127.0.0.1:0", 0), PARLEY_OK);
    ck_assert_int_eq(parley_peer_start_listen(server), PARLEY_OK);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    ck_assert_int_eq(getaddrinfo("127.0.0.1", port_of(mem, server), &hints, &ai), 0);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, ai->ai_addr, ai->ai_addrlen), 0);
    freeaddrinfo(ai);
    /* Closed by the server well within the generous wait. */
    pfd.fd = fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    ck_assert_int_eq(poll(&pfd, 1, 20000), 1);
    ck_assert_int_le(recv(fd, buf, sizeof(buf), 0), 0);
    close(fd);
    talloc_free(server);
    talloc_free(mem);
}
END_TEST

/* A TLS handshake holds an admission slot: with one client at most and no
 * backlog, a TLS client arriving while a silent one is handshaking is told
 * BUSY (a plain BYE its handshake understands); once the silent one is freed
 * by the establish timeout, TLS clients get in again. */
START_TEST(test_tls_admission)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *server, *client;
    parley_session *s = NULL;
    struct addrinfo hints, *ai = NULL;
    struct pollfd pfd;
    char ep[128], why[PARLEY__ERROR_MAX], buf[64];
    const char *port;
    int fd;

    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &server), PARLEY_OK);
    ck_assert_int_eq(tp_serve(server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_tls_certificate(server, path("server.pem"),
                                                     path("server.key")), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_timeout(server, PARLEY_TIMEOUT_ESTABLISH, 500), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_max_clients(server, 1), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_listen_backlog(server, 0), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_listen_endpoint(server, "tls:127.0.0.1:0", 0), PARLEY_OK);
    ck_assert_int_eq(parley_peer_start_listen(server), PARLEY_OK);
    port = port_of(mem, server);
    snprintf(ep, sizeof(ep), "tls:127.0.0.1:%s", port);

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    ck_assert_int_eq(getaddrinfo("127.0.0.1", port, &hints, &ai), 0);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, ai->ai_addr, ai->ai_addrlen), 0);
    freeaddrinfo(ai);
    /* One byte of a TLS record: the handshake starts and holds the slot. */
    ck_assert_int_eq(send(fd, "\x16", 1, MSG_NOSIGNAL), 1);

    client = client_new(mem, ep, NULL, NULL, "ca.pem", NULL);
    {
        parley_status st = parley_peer_connect(client, &s);

        /* The silent client may have been freed already on a slow machine:
         * then this one got in. */
        if (st != PARLEY_OK) {
            ck_assert_int_eq(st, PARLEY_ERR_BUSY);
            ck_assert_msg(strstr(parley_error_message(), "busy") != NULL, "%s",
                          parley_error_message());
        } else {
            parley_session_close(s);
        }
    }
    /* The silent one is closed by the establish timeout... */
    pfd.fd = fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    ck_assert_int_eq(poll(&pfd, 1, 20000), 1);
    ck_assert_int_le(recv(fd, buf, sizeof(buf), 0), 0);
    close(fd);
    /* ... and its slot serves TLS clients again (a slot is freed when the
     * server has finished with the connection: a bounded retry). */
    for (int i = 0;; i++) {
        parley_status st = parley_peer_connect(client, &s);

        if (st == PARLEY_OK)
            break;
        snprintf(why, sizeof(why), "%s", parley_error_message());
        ck_assert_msg(st == PARLEY_ERR_BUSY && i < 200, "%s", why);
        usleep(50000);
    }
    ck_assert_int_eq(parley_session_get_transport(s), PARLEY_TRANSPORT_TLS);
    parley_session_close(s);
    talloc_free(client);
    talloc_free(server);
    talloc_free(mem);
}
END_TEST

/* Stopping the listeners ends handshakes in progress (no establish timeout
 * here: without that, stop_listen would wait for the silent client). */
START_TEST(test_tls_stop_listen_in_handshake)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *server;
    struct addrinfo hints, *ai = NULL;
    struct pollfd pfd;
    char buf[64];
    int fd;

    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &server), PARLEY_OK);
    ck_assert_int_eq(tp_serve(server), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_tls_certificate(server, path("server.pem"),
                                                     path("server.key")), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_listen_endpoint(server, "tls:127.0.0.1:0", 0), PARLEY_OK);
    ck_assert_int_eq(parley_peer_start_listen(server), PARLEY_OK);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    ck_assert_int_eq(getaddrinfo("127.0.0.1", port_of(mem, server), &hints, &ai), 0);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(connect(fd, ai->ai_addr, ai->ai_addrlen), 0);
    freeaddrinfo(ai);
    ck_assert_int_eq(send(fd, "\x16", 1, MSG_NOSIGNAL), 1);
    /* Accepted (the handshake waits for the rest of the ClientHello) or
     * still in the kernel's queue: either way stop_listen returns. */
    usleep(100000);
    ck_assert_int_eq(parley_peer_stop_listen(server), PARLEY_OK);
    pfd.fd = fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    ck_assert_int_eq(poll(&pfd, 1, 20000), 1);
    ck_assert_int_le(recv(fd, buf, sizeof(buf), 0), 0);
    close(fd);
    talloc_free(server);
    talloc_free(mem);
}
END_TEST

/* ---- settings ------------------------------------------------------------ */

START_TEST(test_tls_settings)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *p;
    parley_session *s;

    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &p), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_tls_certificate(p, path("missing.pem"), path("server.key")),
                     PARLEY_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "missing.pem"));
    ck_assert_int_eq(parley_peer_set_tls_certificate(p, path("server.pem"), path("client1.key")),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "does not match"));
    ck_assert_int_eq(parley_peer_set_tls_certificate(p, path("server.key"), path("server.key")),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_set_tls_trust(p, path("nothing.pem"), NULL),
                     PARLEY_ERR_NOT_FOUND);
    ck_assert_int_eq(parley_peer_set_tls_trust(p, path("server.key"), NULL),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "server.key"));
    ck_assert_int_eq(parley_peer_set_tls_psk(p, "dev1", "0011"), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_set_tls_psk(p, "dev1", "zz112233445566778899aabbccddeeff"),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_set_tls_psk(p, "", PSK_KEY), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_set_tls_priority(p, "NORMAL:+NO-SUCH-THING"),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_set_tls_priority(p, "NORMAL:-VERS-ALL:+VERS-TLS1.3:"
                                                     "+VERS-TLS1.2"), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_tls_verify(p, 0x80), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_add_listen_endpoint(p, "tls:127.0.0.1:0?public", 0),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_add_listen_endpoint(p, "tls:127.0.0.1", 0),
                     PARLEY_ERR_INVALID_ARGUMENT);
    /* A server without a certificate or PSK. */
    ck_assert_int_eq(parley_peer_add_listen_endpoint(p, "tls:127.0.0.1:0", 0), PARLEY_OK);
    ck_assert_int_eq(parley_peer_start_listen(p), PARLEY_ERR_INVALID_STATE);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "parley_peer_set_tls_certificate"));
    talloc_free(p);
    /* A client without trusted CAs or PSK (a listener is there). */
    {
        parley_peer *server = server_new(mem, false, "server.pem", "server.key", false, NULL);
        char ep[128];

        snprintf(ep, sizeof(ep), "tls:127.0.0.1:%s", port_of(mem, server));
        ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &p), PARLEY_OK);
        ck_assert_int_eq(parley_peer_add_connect_endpoint(p, ep), PARLEY_OK);
        ck_assert_int_eq(parley_peer_connect(p, &s), PARLEY_ERR_INVALID_STATE);
        ck_assert_ptr_nonnull(strstr(parley_error_message(), "parley_peer_set_tls_trust"));
        talloc_free(p);
        talloc_free(server);
    }
    talloc_free(mem);
}
END_TEST

Suite *parley_tls_suite(void)
{
    Suite *s = suite_create("tls");
    TCase *tc = tcase_create("tls");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_tls_mutual);
    tcase_add_test(tc, test_tls_unix_has_no_identity);
    tcase_add_test(tc, test_tls_psk);
    tcase_add_test(tc, test_tls_refusals);
    tcase_add_test(tc, test_tls_plain_mismatch);
    tcase_add_test(tc, test_tls_slowloris);
    tcase_add_test(tc, test_tls_admission);
    tcase_add_test(tc, test_tls_stop_listen_in_handshake);
    tcase_add_test(tc, test_tls_settings);
    suite_add_tcase(s, tc);
    return s;
}
