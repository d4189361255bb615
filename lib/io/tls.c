/* SPDX-License-Identifier: MIT */
/* The TLS transport (GnuTLS): settings, handshakes, and the pump between a
 * TLS session and the socketpair its connection reads and writes. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/socket.h>
#include <gnutls/x509.h>

#include "frame.h"
#include "loop.h"
#include "socket.h"
#include "status.h"
#include "thread.h"
#include "tls.h"

#define TLS_DEFAULT_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3"
#define TLS_PSK_PRIORITY ":+ECDHE-PSK:+DHE-PSK:+PSK"
#define TLS_CONNECT_DEFAULT_MS 30000   /* a client handshake without an establish timeout */
#define PUMP_BUF (256 * 1024)          /* bytes buffered each way per connection */
#define REFUSE_LINGER_MS 1000          /* a plain client told "this is TLS": time to read it */

struct parley__tls_config {
    gnutls_certificate_credentials_t x509;
    gnutls_psk_client_credentials_t psk_client;
    gnutls_psk_server_credentials_t psk_server;
    gnutls_priority_t priority;
    char *priority_text;        /* NULL: the default */
    char *psk_identity;
    gnutls_datum_t psk_key;     /* binary, gnutls_free()d */
    bool has_cert, has_trust, require_client_cert;
};

struct parley__tls_group {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop_fd;                /* eventfd: readable when the group stops */
    unsigned n_threads;
    struct tls_conn *accepting; /* accepted connections in their handshake */
    unsigned accept_gen;        /* +1 by parley__tls_abort_accepts() */
};

/* One TLS connection: its handshake, then its pump. */
typedef struct tls_conn {
    parley__tls_group *group;
    parley__tls_config *cfg;
    gnutls_session_t session;
    int tcp, pair;              /* pair: the pump's end of the socketpair */
    int64_t timeout_ms;
    bool got_byte;              /* the first byte from the other end ... */
    uint8_t first_byte;         /* ... to tell TLS from a plain Parley HELLO */
    uint8_t head[512];          /* the first bytes received (a BYE from a busy server) */
    size_t head_len;
    parley__tls_accepted_fn accepted;
    void *data;
    struct tls_conn *next, *prev;   /* group->accepting, under group->lock */
    unsigned gen;                   /* group->accept_gen when accepted */
    bool listed;
} tls_conn;

/* ---- settings ------------------------------------------------------------ */

static int config_destructor(parley__tls_config *cfg)
{
    if (cfg->priority != NULL)
        gnutls_priority_deinit(cfg->priority);
    if (cfg->x509 != NULL)
        gnutls_certificate_free_credentials(cfg->x509);
    if (cfg->psk_client != NULL)
        gnutls_psk_free_client_credentials(cfg->psk_client);
    if (cfg->psk_server != NULL)
        gnutls_psk_free_server_credentials(cfg->psk_server);
    if (cfg->psk_key.data != NULL) {
        gnutls_memset(cfg->psk_key.data, 0, cfg->psk_key.size);
        gnutls_free(cfg->psk_key.data);
    }
    return 0;
}

static parley_status set_priority(parley__tls_config *cfg)
{
    const char *err = NULL;
    char *text;
    gnutls_priority_t prio;
    int rc;

    if (cfg->priority_text != NULL)
        text = talloc_strdup(cfg, cfg->priority_text);
    else
        text = talloc_asprintf(cfg, "%s%s", TLS_DEFAULT_PRIORITY,
                               cfg->psk_identity != NULL ? TLS_PSK_PRIORITY : "");
    if (text == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory setting a TLS priority");
    rc = gnutls_priority_init(&prio, text, &err);
    if (rc < 0) {
        parley_status st = parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                                         "TLS priority string \"%s\": %s (at \"%s\")", text,
                                         gnutls_strerror(rc), err != NULL ? err : "");

        talloc_free(text);
        return st;
    }
    talloc_free(text);
    if (cfg->priority != NULL)
        gnutls_priority_deinit(cfg->priority);
    cfg->priority = prio;
    return PARLEY_OK;
}

parley_status parley__tls_config_new(TALLOC_CTX *mem_ctx, parley__tls_config **ret_cfg)
{
    parley__tls_config *cfg = talloc_zero(mem_ctx, parley__tls_config);
    parley_status st;

    if (cfg == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory for TLS settings");
    talloc_set_destructor(cfg, config_destructor);
    if (gnutls_certificate_allocate_credentials(&cfg->x509) < 0) {
        talloc_free(cfg);
        return parley__error(PARLEY_ERR_NOMEM, "out of memory for TLS credentials");
    }
    st = set_priority(cfg);
    if (st != PARLEY_OK) {
        talloc_free(cfg);
        return st;
    }
    *ret_cfg = cfg;
    return PARLEY_OK;
}

static parley_status readable(const char *what, const char *file)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return parley__error(errno == EACCES ? PARLEY_ERR_ACCESS_DENIED : PARLEY_ERR_NOT_FOUND,
                             "TLS %s %s: %s", what, file, strerror(errno));
    close(fd);
    return PARLEY_OK;
}

parley_status parley__tls_config_set_certificate(parley__tls_config *cfg, const char *cert_file,
                                                 const char *key_file)
{
    parley_status st;
    int rc;

    if ((st = readable("certificate", cert_file)) != PARLEY_OK ||
        (st = readable("key", key_file)) != PARLEY_OK)
        return st;
    rc = gnutls_certificate_set_x509_key_file(cfg->x509, cert_file, key_file,
                                              GNUTLS_X509_FMT_PEM);
    if (rc == GNUTLS_E_CERTIFICATE_KEY_MISMATCH)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "TLS key %s does not match the certificate %s: %s", key_file,
                             cert_file, gnutls_strerror(rc));
    if (rc < 0)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "TLS certificate %s with key %s: %s (PEM files expected)",
                             cert_file, key_file, gnutls_strerror(rc));
    cfg->has_cert = true;
    return PARLEY_OK;
}

parley_status parley__tls_config_set_trust(parley__tls_config *cfg, const char *ca_file,
                                           const char *crl_file)
{
    parley_status st;
    int rc;

    if ((st = readable("CA file", ca_file)) != PARLEY_OK)
        return st;
    rc = gnutls_certificate_set_x509_trust_file(cfg->x509, ca_file, GNUTLS_X509_FMT_PEM);
    if (rc <= 0)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "TLS CA file %s: %s", ca_file,
                             rc < 0 ? gnutls_strerror(rc) : "no certificate in it");
    if (crl_file != NULL) {
        if ((st = readable("CRL file", crl_file)) != PARLEY_OK)
            return st;
        rc = gnutls_certificate_set_x509_crl_file(cfg->x509, crl_file, GNUTLS_X509_FMT_PEM);
        if (rc < 0)
            return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "TLS CRL file %s: %s", crl_file,
                                 gnutls_strerror(rc));
    }
    cfg->has_trust = true;
    return PARLEY_OK;
}

void parley__tls_config_set_require_client_cert(parley__tls_config *cfg, bool require)
{
    cfg->require_client_cert = require;
}

static int psk_server_key(gnutls_session_t session, const char *username, gnutls_datum_t *key)
{
    parley__tls_config *cfg = gnutls_session_get_ptr(session);

    if (cfg == NULL || cfg->psk_identity == NULL || strcmp(username, cfg->psk_identity) != 0)
        return -1;
    key->data = gnutls_malloc(cfg->psk_key.size);
    if (key->data == NULL)
        return -1;
    memcpy(key->data, cfg->psk_key.data, cfg->psk_key.size);
    key->size = cfg->psk_key.size;
    return 0;
}

parley_status parley__tls_config_set_psk(parley__tls_config *cfg, const char *identity,
                                         const char *key_hex)
{
    gnutls_datum_t hex = { (unsigned char *)(uintptr_t)key_hex, (unsigned)strlen(key_hex) };
    gnutls_datum_t key = { NULL, 0 };
    int rc;

    if (identity[0] == '\0' || strlen(identity) > 255)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "TLS PSK identity: 1 to 255 bytes expected");
    rc = gnutls_hex_decode2(&hex, &key);
    if (rc < 0 || key.size < 16) {
        if (key.data != NULL)
            gnutls_free(key.data);
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "TLS PSK key for \"%s\": at least 16 bytes in hexadecimal expected"
                             "%s%s", identity, rc < 0 ? ": " : "",
                             rc < 0 ? gnutls_strerror(rc) : "");
    }
    if (cfg->psk_client == NULL && gnutls_psk_allocate_client_credentials(&cfg->psk_client) < 0)
        goto nomem;
    if (cfg->psk_server == NULL) {
        if (gnutls_psk_allocate_server_credentials(&cfg->psk_server) < 0)
            goto nomem;
        gnutls_psk_set_server_credentials_function(cfg->psk_server, psk_server_key);
    }
    rc = gnutls_psk_set_client_credentials(cfg->psk_client, identity, &key, GNUTLS_PSK_KEY_RAW);
    if (rc < 0) {
        gnutls_free(key.data);
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "TLS PSK for \"%s\": %s", identity,
                             gnutls_strerror(rc));
    }
    talloc_free(cfg->psk_identity);
    cfg->psk_identity = talloc_strdup(cfg, identity);
    if (cfg->psk_key.data != NULL)
        gnutls_free(cfg->psk_key.data);
    cfg->psk_key = key;
    if (cfg->psk_identity == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory setting a TLS PSK");
    return set_priority(cfg);
nomem:
    gnutls_free(key.data);
    return parley__error(PARLEY_ERR_NOMEM, "out of memory for TLS PSK credentials");
}

parley_status parley__tls_config_set_priority(parley__tls_config *cfg, const char *priority)
{
    char *old = cfg->priority_text;
    parley_status st;

    cfg->priority_text = priority != NULL ? talloc_strdup(cfg, priority) : NULL;
    if (priority != NULL && cfg->priority_text == NULL) {
        cfg->priority_text = old;
        return parley__error(PARLEY_ERR_NOMEM, "out of memory setting a TLS priority");
    }
    st = set_priority(cfg);
    if (st != PARLEY_OK) {
        talloc_free(cfg->priority_text);
        cfg->priority_text = old;
        return st;
    }
    talloc_free(old);
    return PARLEY_OK;
}

parley_status parley__tls_config_check(const parley__tls_config *cfg, bool server,
                                       const char *endpoint)
{
    if (server && (cfg == NULL || (!cfg->has_cert && cfg->psk_identity == NULL)))
        return parley__error(PARLEY_ERR_INVALID_STATE,
                             "listen on %s: a TLS server needs a certificate "
                             "(parley_peer_set_tls_certificate) or a PSK "
                             "(parley_peer_set_tls_psk)", endpoint);
    if (!server && (cfg == NULL || (!cfg->has_trust && cfg->psk_identity == NULL)))
        return parley__error(PARLEY_ERR_INVALID_STATE,
                             "connect to %s: a TLS client needs trusted CAs to verify the "
                             "server (parley_peer_set_tls_trust) or a PSK "
                             "(parley_peer_set_tls_psk)", endpoint);
    if (server && cfg->require_client_cert && !cfg->has_trust)
        return parley__error(PARLEY_ERR_INVALID_STATE,
                             "listen on %s: requiring client certificates needs trusted CAs "
                             "(parley_peer_set_tls_trust)", endpoint);
    return PARLEY_OK;
}

/* ---- the group of threads -------------------------------------------------- */

static int group_destructor(parley__tls_group *group)
{
    uint64_t one = 1;

    (void)!write(group->stop_fd, &one, sizeof(one));
    pthread_mutex_lock(&group->lock);
    while (group->n_threads > 0)
        pthread_cond_wait(&group->cond, &group->lock);
    pthread_mutex_unlock(&group->lock);
    close(group->stop_fd);
    pthread_cond_destroy(&group->cond);
    pthread_mutex_destroy(&group->lock);
    return 0;
}

parley_status parley__tls_group_new(TALLOC_CTX *mem_ctx, parley__tls_group **ret_group)
{
    parley__tls_group *group = talloc_zero(mem_ctx, parley__tls_group);

    if (group == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory for TLS threads");
    group->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (group->stop_fd < 0) {
        int err = errno;

        talloc_free(group);
        return parley__error_errno(PARLEY_ERR_SYSTEM, err, "eventfd for TLS threads");
    }
    pthread_mutex_init(&group->lock, NULL);
    pthread_cond_init(&group->cond, NULL);
    talloc_set_destructor(group, group_destructor);
    *ret_group = group;
    return PARLEY_OK;
}

static void group_leave(parley__tls_group *group)
{
    pthread_mutex_lock(&group->lock);
    group->n_threads--;
    pthread_cond_broadcast(&group->cond);
    pthread_mutex_unlock(&group->lock);
}

/* Off group->accepting; false when parley__tls_abort_accepts() ran since
 * the connection was accepted. */
static bool accept_unlist(tls_conn *c)
{
    parley__tls_group *g = c->group;
    bool current;

    pthread_mutex_lock(&g->lock);
    if (c->listed) {
        if (c->prev != NULL)
            c->prev->next = c->next;
        else
            g->accepting = c->next;
        if (c->next != NULL)
            c->next->prev = c->prev;
        c->listed = false;
    }
    current = c->gen == g->accept_gen;
    pthread_mutex_unlock(&g->lock);
    return current;
}

void parley__tls_abort_accepts(parley__tls_group *group)
{
    pthread_mutex_lock(&group->lock);
    group->accept_gen++;
    for (tls_conn *c = group->accepting; c != NULL; c = c->next)
        shutdown(c->tcp, SHUT_RDWR);
    pthread_mutex_unlock(&group->lock);
}

/* ---- transport functions: plain send/recv, noting the first byte --------- */

static ssize_t tls_pull(gnutls_transport_ptr_t p, void *buf, size_t n)
{
    tls_conn *c = p;
    ssize_t r = recv(c->tcp, buf, n, MSG_DONTWAIT);

    if (r > 0 && !c->got_byte) {
        c->got_byte = true;
        c->first_byte = ((uint8_t *)buf)[0];
    }
    if (r > 0 && c->head_len < sizeof(c->head)) {
        size_t k = sizeof(c->head) - c->head_len < (size_t)r ? sizeof(c->head) - c->head_len
                                                              : (size_t)r;

        memcpy(c->head + c->head_len, buf, k);
        c->head_len += k;
    }
    if (r < 0)
        gnutls_transport_set_errno(c->session, errno);
    return r;
}

static ssize_t tls_push(gnutls_transport_ptr_t p, const void *buf, size_t n)
{
    tls_conn *c = p;
    ssize_t r = send(c->tcp, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);

    if (r < 0)
        gnutls_transport_set_errno(c->session, errno);
    return r;
}

static int tls_pull_timeout(gnutls_transport_ptr_t p, unsigned ms)
{
    tls_conn *c = p;
    struct pollfd pfd = { c->tcp, POLLIN, 0 };

    return poll(&pfd, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
}

static void conn_free(tls_conn *c)
{
    if (c->session != NULL)
        gnutls_deinit(c->session);
    if (c->tcp >= 0)
        close(c->tcp);
    if (c->pair >= 0)
        close(c->pair);
    talloc_free(c);
}

static parley_status session_init(tls_conn *c, bool server, const char *server_name)
{
    parley__tls_config *cfg = c->cfg;
    int rc = gnutls_init(&c->session, (server ? GNUTLS_SERVER : GNUTLS_CLIENT) |
                                          GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL);

    if (rc < 0) {
        c->session = NULL;
        return parley__error(PARLEY_ERR_NOMEM, "TLS session: %s", gnutls_strerror(rc));
    }
    gnutls_session_set_ptr(c->session, cfg);
    rc = gnutls_priority_set(c->session, cfg->priority);
    if (rc >= 0 && (!server || cfg->has_cert))
        rc = gnutls_credentials_set(c->session, GNUTLS_CRD_CERTIFICATE, cfg->x509);
    if (rc >= 0 && cfg->psk_identity != NULL)
        rc = gnutls_credentials_set(c->session, GNUTLS_CRD_PSK,
                                    server ? (void *)cfg->psk_server : (void *)cfg->psk_client);
    if (rc >= 0 && server && cfg->require_client_cert) {
        gnutls_certificate_server_set_request(c->session, GNUTLS_CERT_REQUIRE);
        gnutls_session_set_verify_cert(c->session, NULL, 0);
    } else if (rc >= 0 && server && cfg->has_trust) {
        gnutls_certificate_server_set_request(c->session, GNUTLS_CERT_REQUEST);
    }
    if (rc >= 0 && !server && cfg->has_trust) {
        struct in6_addr a6;
        struct in_addr a4;

        gnutls_session_set_verify_cert(c->session, server_name, 0);
        if (inet_pton(AF_INET, server_name, &a4) != 1 &&
            inet_pton(AF_INET6, server_name, &a6) != 1)
            rc = gnutls_server_name_set(c->session, GNUTLS_NAME_DNS, server_name,
                                        strlen(server_name));
    }
    if (rc < 0)
        return parley__error(PARLEY_ERR_INTERNAL, "TLS session setup: %s", gnutls_strerror(rc));
    gnutls_transport_set_ptr(c->session, c);
    gnutls_transport_set_pull_function(c->session, tls_pull);
    gnutls_transport_set_push_function(c->session, tls_push);
    gnutls_transport_set_pull_timeout_function(c->session, tls_pull_timeout);
    return PARLEY_OK;
}

/* Wait for fd to be ready for events (or the group to stop) until
 * deadline (0: none).  1 ready, 0 timed out, -1 stopped or failed. */
static int wait_fd(tls_conn *c, int fd, short events, uint64_t deadline)
{
    for (;;) {
        struct pollfd pfd[2] = { { fd, events, 0 }, { c->group->stop_fd, POLLIN, 0 } };
        int ms = -1, rc;

        if (deadline != 0) {
            uint64_t now = parley__now_ms();

            if (now >= deadline)
                return 0;
            ms = (int)(deadline - now);
        }
        rc = poll(pfd, 2, ms);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0 || (pfd[1].revents & POLLIN))
            return -1;
        if (rc == 0)
            return 0;
        return 1;
    }
}

/* The handshake until done, failed, timed out (GNUTLS_E_TIMEDOUT) or
 * stopped (GNUTLS_E_INTERRUPTED). */
static int handshake(tls_conn *c, uint64_t deadline)
{
    for (;;) {
        int rc = gnutls_handshake(c->session), w;

        if (rc == 0)
            return 0;
        if (rc != GNUTLS_E_AGAIN && rc != GNUTLS_E_INTERRUPTED && gnutls_error_is_fatal(rc))
            return rc;
        w = wait_fd(c, c->tcp, gnutls_record_get_direction(c->session) ? POLLOUT : POLLIN,
                    deadline);
        if (w == 0)
            return GNUTLS_E_TIMEDOUT;
        if (w < 0)
            return GNUTLS_E_INTERRUPTED;
    }
}

static char *hex(TALLOC_CTX *mem_ctx, const uint8_t *b, size_t n)
{
    char *s = talloc_array(mem_ctx, char, n * 2 + 1);

    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        snprintf(s + 2 * i, 3, "%02x", b[i]);
    s[n * 2] = '\0';
    return s;
}

/* The verified identity after a handshake. */
static parley_status read_identity(tls_conn *c, bool server, parley__tls_info *info)
{
    gnutls_credentials_type_t kind = gnutls_auth_get_type(c->session);
    const gnutls_datum_t *certs;
    unsigned n = 0;
    gnutls_x509_crt_t crt;
    gnutls_datum_t dn = { NULL, 0 };
    uint8_t digest[32];
    size_t dlen = sizeof(digest);

    if (kind == GNUTLS_CRD_PSK) {
        const char *id = server ? gnutls_psk_server_get_username(c->session)
                                : c->cfg->psk_identity;

        if (id != NULL && (info->psk_identity = talloc_strdup(info, id)) == NULL)
            return parley__error(PARLEY_ERR_NOMEM, "out of memory");
        return PARLEY_OK;
    }
    certs = gnutls_certificate_get_peers(c->session, &n);
    if (certs == NULL || n == 0)
        return PARLEY_OK;
    if (gnutls_x509_crt_init(&crt) < 0)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory");
    if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) < 0) {
        gnutls_x509_crt_deinit(crt);
        return parley__error(PARLEY_ERR_MALFORMED, "the peer's certificate cannot be read");
    }
    if (gnutls_x509_crt_get_dn3(crt, &dn, 0) >= 0) {
        info->subject = talloc_strndup(info, (const char *)dn.data, dn.size);
        gnutls_free(dn.data);
    }
    for (unsigned i = 0;; i++) {
        char buf[512];
        size_t size = sizeof(buf) - 1;
        int t = gnutls_x509_crt_get_subject_alt_name(crt, i, buf, &size, NULL);
        char text[INET6_ADDRSTRLEN + 8];
        const char *item = NULL;

        if (t == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
            break;
        if (t < 0)
            continue;
        buf[size] = '\0';
        if (t == GNUTLS_SAN_DNSNAME) {
            snprintf(text, sizeof(text), "DNS:");
            item = buf;
        } else if (t == GNUTLS_SAN_RFC822NAME) {
            snprintf(text, sizeof(text), "email:");
            item = buf;
        } else if (t == GNUTLS_SAN_URI) {
            snprintf(text, sizeof(text), "URI:");
            item = buf;
        } else if (t == GNUTLS_SAN_IPADDRESS && (size == 4 || size == 16)) {
            char a[INET6_ADDRSTRLEN];

            inet_ntop(size == 4 ? AF_INET : AF_INET6, buf, a, sizeof(a));
            snprintf(text, sizeof(text), "IP:%s", a);
            item = "";
        }
        if (item == NULL)
            continue;
        info->sans = info->sans == NULL ? talloc_asprintf(info, "%s%s", text, item)
                                        : talloc_asprintf_append(info->sans, ",%s%s", text, item);
    }
    if (gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, digest, &dlen) >= 0)
        info->fingerprint = hex(info, digest, dlen);
    gnutls_x509_crt_deinit(crt);
    return PARLEY_OK;
}

/* After the handshake: the other end's address, the identity, and the fd
 * the connection gets (kernel TLS: the TCP socket; else a socketpair end). */
static parley_status finish(tls_conn *c, bool server, TALLOC_CTX *mem_ctx,
                            parley__tls_info **ret_info, int *ret_fd)
{
    parley__tls_info *info = talloc_zero(mem_ctx, parley__tls_info);
    socklen_t sl = sizeof(info->remote);
    parley_status st;
    int sv[2];

    if (info == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory");
    if (getpeername(c->tcp, (struct sockaddr *)&info->remote, &sl) < 0)
        memset(&info->remote, 0, sizeof(info->remote));
    st = read_identity(c, server, info);
    if (st != PARLEY_OK) {
        talloc_free(info);
        return st;
    }
    if (gnutls_transport_is_ktls_enabled(c->session) == GNUTLS_KTLS_DUPLEX) {
        info->ktls = true;
        *ret_fd = c->tcp;
        c->tcp = -1;
        *ret_info = info;
        return PARLEY_OK;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        int err = errno;

        talloc_free(info);
        return parley__error_errno(PARLEY_ERR_SYSTEM, err, "socketpair for a TLS connection");
    }
    fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK);
    c->pair = sv[1];
    *ret_fd = sv[0];
    *ret_info = info;
    return PARLEY_OK;
}

/* ---- the pump ------------------------------------------------------------ */

/* The TLS session failed before a byte reached the connection: in TLS 1.3
 * a server refuses a client's certificate (or PSK) after the client's
 * handshake is done, so the client learns it here.  A BYE frame in the
 * socketpair gives its connect the reason. */
static void pump_failed(tls_conn *c, int rc)
{
    char why[256];

    if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED || rc == GNUTLS_E_WARNING_ALERT_RECEIVED)
        snprintf(why, sizeof(why), "the other end refused the TLS session: %s",
                 gnutls_alert_get_name(gnutls_alert_get(c->session)));
    else
        snprintf(why, sizeof(why), "the TLS session failed: %s", gnutls_strerror(rc));
    parley__socket_send_bye(c->pair, PARLEY_ERR_ACCESS_DENIED, why);
}

static void pump(tls_conn *c)
{
    bool delivered = false;     /* a byte went to the connection */
    uint8_t *in = talloc_array(c, uint8_t, PUMP_BUF);    /* TLS -> socketpair */
    uint8_t *out = talloc_array(c, uint8_t, PUMP_BUF);   /* socketpair -> TLS */
    size_t in_len = 0, in_off = 0, out_len = 0, out_off = 0;
    bool tls_eof = false, pair_eof = false, pair_shut = false;

    if (in == NULL || out == NULL)
        return;
    for (;;) {
        bool progress = false;
        struct pollfd pfd[3];
        ssize_t n;

        if (in_off < in_len) {
            n = send(c->pair, in + in_off, in_len - in_off, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0) {
                in_off += (size_t)n;
                progress = true;
                delivered = true;
            } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                return;     /* the connection is gone */
            }
        }
        if (in_off == in_len)
            in_off = in_len = 0;
        /* Records are appended while the buffer has room and none of it
         * has been passed on (no shifting): several records per write to
         * the socketpair when they come in bursts. */
        while (in_off == 0 && in_len < PUMP_BUF && !tls_eof) {
            n = gnutls_record_recv(c->session, in + in_len, PUMP_BUF - in_len);
            if (n > 0) {
                in_len += (size_t)n;
                progress = true;
                continue;
            }
            if (n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION) {
                tls_eof = true;
                progress = true;
            } else if (n != GNUTLS_E_AGAIN && n != GNUTLS_E_INTERRUPTED) {
                if (gnutls_error_is_fatal((int)n)) {
                    if (!delivered)
                        pump_failed(c, (int)n);
                    return;
                }
                progress = true;
            }
            break;
        }
        /* The other end's EOF, once what came before it is passed on. */
        if (tls_eof && !pair_shut && in_len == 0) {
            shutdown(c->pair, SHUT_WR);
            pair_shut = true;
        }
        if (out_off < out_len) {
            n = gnutls_record_send(c->session, out + out_off, out_len - out_off);
            if (n > 0) {
                out_off += (size_t)n;
                progress = true;
            } else if (n != GNUTLS_E_AGAIN && n != GNUTLS_E_INTERRUPTED) {
                if (!delivered) {
                    /* Refused: the reason may be an alert waiting to be read. */
                    ssize_t r = gnutls_record_recv(c->session, in, PUMP_BUF);

                    pump_failed(c, r < 0 && r != GNUTLS_E_AGAIN ? (int)r : (int)n);
                }
                return;
            }
        }
        if (out_off == out_len)
            out_off = out_len = 0;
        if (out_len == 0 && !pair_eof) {
            n = recv(c->pair, out, PUMP_BUF, MSG_DONTWAIT);
            if (n > 0) {
                out_len = (size_t)n;
                progress = true;
            } else if (n == 0) {
                pair_eof = true;
            } else if (errno != EAGAIN && errno != EINTR) {
                pair_eof = true;
            }
        }
        if (pair_eof && out_len == 0) {
            /* The connection closed: tell the other end, best effort. */
            (void)gnutls_bye(c->session, GNUTLS_SHUT_WR);
            return;
        }
        if (progress)
            continue;
        pfd[0].fd = c->tcp;
        pfd[0].events = (short)((in_off == 0 && in_len < PUMP_BUF && !tls_eof ? POLLIN : 0) |
                                (out_len > 0 ? POLLOUT : 0));
        pfd[1].fd = c->pair;
        pfd[1].events = (short)((out_len == 0 && !pair_eof ? POLLIN : 0) |
                                (in_len > 0 ? POLLOUT : 0));
        pfd[2].fd = c->group->stop_fd;
        pfd[2].events = POLLIN;
        pfd[0].revents = pfd[1].revents = pfd[2].revents = 0;
        if (poll(pfd, 3, -1) < 0 && errno != EINTR)
            return;
        if (pfd[2].revents & POLLIN)
            return;
        if ((pfd[0].revents & (POLLERR | POLLNVAL)) || (pfd[1].revents & (POLLERR | POLLNVAL)))
            return;
    }
}

static void *pump_thread(void *arg)
{
    tls_conn *c = arg;
    parley__tls_group *group = c->group;

    pump(c);
    conn_free(c);
    group_leave(group);
    return NULL;
}

static parley_status start_thread(tls_conn *c, void *(*fn)(void *))
{
    pthread_attr_t attr;
    pthread_t t;
    int rc;

    pthread_mutex_lock(&c->group->lock);
    c->group->n_threads++;
    pthread_mutex_unlock(&c->group->lock);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    rc = parley__thread_create(&t, &attr, fn, c);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        group_leave(c->group);
        return parley__error_errno(PARLEY_ERR_SYSTEM, rc, "starting a TLS thread");
    }
    return PARLEY_OK;
}

static void set_nodelay_nonblock(int fd)
{
    int one = 1;

    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* ---- client -------------------------------------------------------------- */

/* Read what else the other end sent (into head, up to its size), waiting a
 * moment for bytes sent in the same frame. */
static void fill_head(tls_conn *c)
{
    uint64_t until = parley__now_ms() + 200;

    while (c->head_len < sizeof(c->head)) {
        ssize_t r = recv(c->tcp, c->head + c->head_len, sizeof(c->head) - c->head_len,
                         MSG_DONTWAIT);

        if (r > 0) {
            c->head_len += (size_t)r;
            continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EINTR))
            return;
        if (c->head_len >= PARLEY__FRAME_HEADER_SIZE &&
            c->head_len >= PARLEY__FRAME_HEADER_SIZE + parley__get_u32(c->head))
            return;     /* a whole frame */
        if (wait_fd(c, c->tcp, POLLIN, until) <= 0)
            return;
    }
}

static parley_status handshake_error(tls_conn *c, const char *endpoint, int rc)
{
    if (rc == GNUTLS_E_TIMEDOUT)
        return parley__error(PARLEY_ERR_TIMEOUT,
                             "connect to %s: no TLS handshake within %lld ms", endpoint,
                             (long long)c->timeout_ms);
    if (c->got_byte && c->first_byte != 0x16 && c->first_byte != 0x15) {
        parley__frame_header h;
        char *msg = NULL;

        /* A Parley server that refused before TLS (max clients and backlog
         * full: BYE BUSY) answers in a plain BYE frame; GnuTLS read only
         * the first bytes of it. */
        fill_head(c);
        if (c->head_len >= PARLEY__FRAME_HEADER_SIZE &&
            parley__frame_unpack(c->head, sizeof(c->head), &h) == PARLEY_OK &&
            h.kind == PARLEY__FRAME_BYE && h.code != 0 &&
            c->head_len >= PARLEY__FRAME_HEADER_SIZE + h.length &&
            parley__message_decode(NULL, c->head + PARLEY__FRAME_HEADER_SIZE, h.length,
                                   &msg) == PARLEY_OK) {
            parley_status st = parley__error((parley_status)h.code, "connect to %s: %s",
                                             endpoint, msg);

            talloc_free(msg);
            return st;
        }
        return parley__error(PARLEY_ERR_PROTOCOL_MISMATCH,
                             "connect to %s: the server did not answer the TLS handshake: "
                             "is it a plain tcp: endpoint? (%s)", endpoint, gnutls_strerror(rc));
    }
    if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR || rc == GNUTLS_E_CERTIFICATE_ERROR) {
        gnutls_datum_t text = { NULL, 0 };
        unsigned status = gnutls_session_get_verify_cert_status(c->session);
        parley_status st;

        gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0);
        while (text.data != NULL && text.size > 0 && text.data[text.size - 1] == ' ')
            text.data[--text.size] = '\0';
        st = parley__error(PARLEY_ERR_ACCESS_DENIED,
                           "connect to %s: the server's certificate is not trusted: %s",
                           endpoint, text.data != NULL ? (const char *)text.data : "");
        gnutls_free(text.data);
        return st;
    }
    if (rc == GNUTLS_E_WARNING_ALERT_RECEIVED || rc == GNUTLS_E_FATAL_ALERT_RECEIVED)
        return parley__error(PARLEY_ERR_ACCESS_DENIED,
                             "connect to %s: the server refused the TLS handshake: %s", endpoint,
                             gnutls_alert_get_name(gnutls_alert_get(c->session)));
    if (!c->got_byte)
        return parley__error(PARLEY_ERR_CONNECTION_CLOSED,
                             "connect to %s: the server closed the connection during the TLS "
                             "handshake (%s)", endpoint, gnutls_strerror(rc));
    return parley__error(PARLEY_ERR_ACCESS_DENIED, "connect to %s: TLS handshake: %s", endpoint,
                         gnutls_strerror(rc));
}

parley_status parley__tls_connect(parley__tls_group *group, parley__tls_config *cfg,
                                  const char *endpoint, const char *server_name, int tcp_fd,
                                  int64_t timeout_ms, TALLOC_CTX *mem_ctx,
                                  parley__tls_info **ret_info, int *ret_fd)
{
    tls_conn *c = talloc_zero(NULL, tls_conn);
    parley__tls_info *info = NULL;
    parley_status st;
    int rc, fd = -1;

    if (c == NULL) {
        close(tcp_fd);
        return parley__error(PARLEY_ERR_NOMEM, "out of memory for a TLS connection");
    }
    c->group = group;
    c->cfg = cfg;
    c->tcp = tcp_fd;
    c->pair = -1;
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : TLS_CONNECT_DEFAULT_MS;
    set_nodelay_nonblock(tcp_fd);
    st = session_init(c, false, server_name);
    if (st != PARLEY_OK)
        goto fail;
    rc = handshake(c, parley__now_ms() + (uint64_t)c->timeout_ms);
    if (rc == GNUTLS_E_INTERRUPTED) {
        st = parley__error(PARLEY_ERR_INVALID_STATE, "connect to %s: the peer is being freed",
                           endpoint);
        goto fail;
    }
    if (rc < 0) {
        st = handshake_error(c, endpoint, rc);
        goto fail;
    }
    if (gnutls_auth_get_type(c->session) == GNUTLS_CRD_CERTIFICATE && !cfg->has_trust) {
        st = parley__error(PARLEY_ERR_ACCESS_DENIED,
                           "connect to %s: the server showed a certificate and no trusted CA "
                           "is set to verify it (parley_peer_set_tls_trust)", endpoint);
        goto fail;
    }
    st = finish(c, false, mem_ctx, &info, &fd);
    if (st != PARLEY_OK)
        goto fail;
    if (info->ktls) {
        conn_free(c);
    } else {
        st = start_thread(c, pump_thread);
        if (st != PARLEY_OK) {
            close(fd);
            talloc_free(info);
            goto fail;
        }
    }
    *ret_info = info;
    *ret_fd = fd;
    return PARLEY_OK;
fail:
    conn_free(c);
    return st;
}

/* ---- server -------------------------------------------------------------- */

/* A plain Parley client on a TLS listener: its HELLO is not a ClientHello.
 * Tell it in a BYE frame it can read, then close. */
static void linger_close(tls_conn *c);

static void refuse_plain(tls_conn *c)
{
    uint8_t junk[4096];

    while (recv(c->tcp, junk, sizeof(junk), MSG_DONTWAIT) > 0)
        ;
    parley__socket_send_bye(c->tcp, PARLEY_ERR_PROTOCOL_MISMATCH,
                            "this is a TLS endpoint: connect with tls:HOST:PORT");
    linger_close(c);
}

/* Shut our side and wait (a second at most) for the client to close, so
 * that what we sent last (a BYE, an alert) is read, not reset. */
static void linger_close(tls_conn *c)
{
    uint8_t junk[4096];
    uint64_t until = parley__now_ms() + REFUSE_LINGER_MS;

    shutdown(c->tcp, SHUT_WR);
    /* Until the client closes (or a second): closing with unread bytes would
     * reset the connection before the client reads the BYE. */
    while (wait_fd(c, c->tcp, POLLIN, until) > 0) {
        if (recv(c->tcp, junk, sizeof(junk), MSG_DONTWAIT) <= 0)
            break;
    }
}

static void *accept_thread(void *arg)
{
    tls_conn *c = arg;
    parley__tls_group *group = c->group;
    uint64_t deadline = c->timeout_ms > 0 ? parley__now_ms() + (uint64_t)c->timeout_ms : 0;
    parley__tls_info *info = NULL;
    int fd = -1, rc;
    bool ktls;
    uint8_t b;

    /* The first byte tells a TLS ClientHello (a handshake record, 0x16)
     * from a plain client's HELLO frame. */
    if (wait_fd(c, c->tcp, POLLIN, deadline) <= 0)
        goto fail;
    if (recv(c->tcp, &b, 1, MSG_PEEK | MSG_DONTWAIT) != 1)
        goto fail;
    if (b != 0x16) {
        refuse_plain(c);
        goto fail;
    }
    rc = handshake(c, deadline);
    if (rc < 0) {
        /* Tell the client why (an alert), best effort. */
        if (rc != GNUTLS_E_TIMEDOUT && rc != GNUTLS_E_INTERRUPTED) {
            (void)gnutls_alert_send_appropriate(c->session, rc);
            linger_close(c);
        }
        goto fail;
    }
    /* Not required but shown: a client certificate must verify. */
    if (!c->cfg->require_client_cert && c->cfg->has_trust &&
        gnutls_auth_get_type(c->session) == GNUTLS_CRD_CERTIFICATE &&
        gnutls_certificate_get_peers(c->session, &(unsigned){ 0 }) != NULL) {
        unsigned status = 0;

        if (gnutls_certificate_verify_peers3(c->session, NULL, &status) < 0 || status != 0) {
            (void)gnutls_alert_send(c->session, GNUTLS_AL_FATAL, GNUTLS_A_BAD_CERTIFICATE);
            linger_close(c);
            goto fail;
        }
    }
    if (finish(c, true, NULL, &info, &fd) != PARLEY_OK)
        goto fail;
    if (!accept_unlist(c)) {
        /* The listeners stopped during the handshake. */
        close(fd);
        talloc_free(info);
        goto fail;
    }
    ktls = info->ktls;
    c->accepted(c->data, fd, info);   /* owns fd and info now */
    if (!ktls)
        pump(c);
    conn_free(c);
    group_leave(group);
    return NULL;
fail:
    (void)accept_unlist(c);
    c->accepted(c->data, -1, NULL);
    conn_free(c);
    group_leave(group);
    return NULL;
}

parley_status parley__tls_accept(parley__tls_group *group, parley__tls_config *cfg, int tcp_fd,
                                 int64_t timeout_ms, parley__tls_accepted_fn accepted,
                                 void *data)
{
    tls_conn *c = talloc_zero(NULL, tls_conn);
    parley_status st;

    if (c == NULL) {
        close(tcp_fd);
        return parley__error(PARLEY_ERR_NOMEM, "out of memory for a TLS connection");
    }
    c->group = group;
    c->cfg = cfg;
    c->tcp = tcp_fd;
    c->pair = -1;
    c->timeout_ms = timeout_ms;
    c->accepted = accepted;
    c->data = data;
    set_nodelay_nonblock(tcp_fd);
    st = session_init(c, true, NULL);
    if (st != PARLEY_OK) {
        conn_free(c);
        return st;
    }
    pthread_mutex_lock(&group->lock);
    c->gen = group->accept_gen;
    c->next = group->accepting;
    if (c->next != NULL)
        c->next->prev = c;
    group->accepting = c;
    c->listed = true;
    pthread_mutex_unlock(&group->lock);
    st = start_thread(c, accept_thread);
    if (st != PARLEY_OK) {
        (void)accept_unlist(c);
        conn_free(c);
    }
    return st;
}
