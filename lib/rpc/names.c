/* SPDX-License-Identifier: MIT */
/*
 * The client side of the name service: finding parleyd, `name:` endpoints,
 * list and watch.  Registration is in names_client.c.  Each request to
 * parleyd goes over a session of a small internal peer speaking
 * parley_names (data/parley_names.idl, generated into parley_names.c).
 * A peer's `name:` connects share one such internal peer and keep their
 * sessions to parleyd (one per parleyd address, a few at most): a connect
 * by name costs one resolve call more than a direct one.
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "parley/peer.h"
#include "parley/session.h"
#include "parley/call.h"
#include "parley/names.h"
#include "../codec/status.h"
#include "../io/endpoint.h"
#include "../io/socket.h"
#include "peer.h"
#include "name_service.h"
#include "name_service_private.h"
#include "parley_names.h"

parley_status parley__names_check_name(const char *name)
{
    size_t n;

    if (name == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "a name is needed");
    n = strlen(name);
    if (n == 0 || n > PARLEY_NAME_MAX)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "a name has 1 to %d bytes, not %zu", PARLEY_NAME_MAX, n);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];

        if (!isalnum(c) && c != '_' && c != '.' && c != '-')
            return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                                 "name '%.*s' has the character 0x%02x at byte %zu; "
                                 "names use A-Z a-z 0-9 _ . - only",
                                 (int)(n < 64 ? n : 64), name, c, i);
    }
    return PARLEY_OK;
}

parley_status parley__names_check_pattern(const char *pattern)
{
    size_t n;

    if (pattern == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "a name pattern is needed");
    n = strlen(pattern);
    if (n == 0 || n > PARLEY_NAMES_MAX_PATTERN)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "a name pattern has 1 to %d bytes, not %zu",
                             PARLEY_NAMES_MAX_PATTERN, n);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)pattern[i];

        if (!isalnum(c) && c != '_' && c != '.' && c != '-' && c != '*' && c != '?')
            return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                                 "name pattern has the character 0x%02x at byte %zu; "
                                 "patterns use A-Z a-z 0-9 _ . - * ? only", c, i);
    }
    return PARLEY_OK;
}

/* The `address` line of the configuration file, or NULL. */
static char *conf_address(TALLOC_CTX *mem_ctx)
{
    const char *path = getenv("PARLEY_NAMES_CONF");
    char line[1024];
    char *found = NULL;
    FILE *f;

    f = fopen(path != NULL && path[0] != '\0' ? path : PARLEY_NAMES_CONF_FILE, "re");
    if (f == NULL)
        return NULL;
    while (found == NULL && fgets(line, sizeof(line), f) != NULL) {
        char *p = line, *end;

        while (isspace((unsigned char)*p))
            p++;
        if (strncmp(p, "address", 7) != 0 || !isspace((unsigned char)p[7]))
            continue;
        p += 7;
        while (isspace((unsigned char)*p))
            p++;
        end = p + strlen(p);
        while (end > p && isspace((unsigned char)end[-1]))
            *--end = '\0';
        if (*p != '\0')
            found = talloc_strdup(mem_ctx, p);
    }
    fclose(f);
    return found;
}

char *parley__names_address(TALLOC_CTX *mem_ctx, const char *service)
{
    const char *env = getenv("PARLEY_NAMES");
    char *conf;

    if (service != NULL)
        return talloc_strdup(mem_ctx, service);
    if (env != NULL && env[0] != '\0')
        return talloc_strdup(mem_ctx, env);
    conf = conf_address(mem_ctx);
    if (conf != NULL)
        return conf;
    return talloc_strdup(mem_ctx, PARLEY_NAMES_DEFAULT_ADDRESS);
}

parley_status parley__names_open(TALLOC_CTX *mem_ctx, const char *service,
                                 const void *handlers, void *handler_data,
                                 parley_peer **ret_peer, parley_session **ret_session)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    char *address = parley__names_address(tmp, service);
    parley_peer *peer = NULL;
    parley_session *session;
    parley_status st;

    if (address == NULL) {
        st = parley__error(PARLEY_ERR_NOMEM, "out of memory finding parleyd");
        goto done;
    }
    st = parley_peer_new(tmp, &parley_names_protocol, &peer);
    if (st == PARLEY_OK)
        st = parley_peer_set_workers(peer, 1);
    if (st == PARLEY_OK && handlers != NULL)
        st = parley_names_register(peer, handlers, handler_data);
    if (st == PARLEY_OK)
        st = parley_peer_add_connect_endpoint(peer, address);
    if (st != PARLEY_OK) {
        st = parley__error_prefix(st, "the name service address '%s'", address);
        goto done;
    }
    st = parley_peer_connect(peer, &session);
    if (st != PARLEY_OK) {
        st = parley__error_prefix(st, "no name service (parleyd) at %s", address);
        goto done;
    }
    talloc_steal(mem_ctx, peer);
    *ret_peer = peer;
    if (ret_session != NULL)
        *ret_session = session;
done:
    TALLOC_FREE(tmp);
    return st;
}

parley_status parley__names_failed(parley_call *call, parley_status st, const char *what)
{
    int32_t code;
    const char *message;

    if (st == PARLEY_ERR_REMOTE &&
        parley_call_get_remote_error(call, &code, &message) == PARLEY_OK) {
        parley_status remote = (parley_status)code;

        if (strcmp(parley_status_name(remote), "PARLEY_ERR_UNKNOWN") == 0 ||
            remote == PARLEY_OK || remote == PARLEY_PENDING)
            remote = PARLEY_ERR_REMOTE;
        return parley__error(remote, "%s: %s", what, message);
    }
    return parley__error_prefix(st, "%s", what);
}

parley_status parley__names_call(parley_session *session, uint32_t method, const void *in,
                                 TALLOC_CTX *mem_ctx, void *ret_out, const char *what)
{
    parley_call *call;
    parley_status st = parley_session_acquire_call(session, &call);

    if (st != PARLEY_OK)
        return parley__error_prefix(st, "%s", what);
    st = parley_call_dispatch(call, method, in, mem_ctx, ret_out, NULL, NULL);
    if (st != PARLEY_OK)
        st = parley__names_failed(call, st, what);
    parley_call_release(call);
    return st;
}

parley_status parley__names_parse_endpoint(TALLOC_CTX *mem_ctx, const char *text,
                                           char **ret_name, char **ret_service)
{
    const char *at;
    char *name, *service = NULL;
    parley_status st;

    if (strncmp(text, "name:", 5) != 0)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "'%s' is not a name: endpoint", text);
    text += 5;
    at = strchr(text, '@');
    name = at != NULL ? talloc_strndup(mem_ctx, text, (size_t)(at - text))
                      : talloc_strdup(mem_ctx, text);
    if (name == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory parsing a name: endpoint");
    st = parley__names_check_name(name);
    if (st != PARLEY_OK) {
        talloc_free(name);
        return parley__error_prefix(st, "endpoint 'name:%s'", text);
    }
    if (at != NULL) {
        parley__endpoint *ep;

        st = parley__endpoint_parse(NULL, at + 1, &ep);
        if (st != PARLEY_OK) {
            talloc_free(name);
            return parley__error_prefix(st, "the name service of endpoint 'name:%s'", text);
        }
        talloc_free(ep);
        service = talloc_strdup(mem_ctx, at + 1);
        if (service == NULL) {
            talloc_free(name);
            return parley__error(PARLEY_ERR_NOMEM, "out of memory parsing a name: endpoint");
        }
    }
    *ret_name = name;
    *ret_service = service;
    return PARLEY_OK;
}

/* ---- the cached names sessions of `name:` connects ----------------------- */

#define RESOLVER_SLOTS 4          /* parleyd addresses kept at once */
#define RESOLVE_TIMEOUT_MS 5000   /* the most a resolve call waits */

struct parley__names_resolver {
    pthread_mutex_t lock;         /* guards what follows; held while connecting */
    parley_peer *np;              /* the internal parley_names peer (one I/O thread) */
    struct {
        char *address;            /* parleyd's address, or NULL: a free slot */
        parley_session *session;  /* our reference, or NULL */
        uint64_t used;            /* for replacing the least recently used */
    } slots[RESOLVER_SLOTS];
    uint64_t clock;
};

void parley__names_resolver_free(parley__names_resolver *r)
{
    if (r == NULL)
        return;
    /* closes the sessions; calls in flight (none: the peer is being freed)
     * would end with CONNECTION_CLOSED */
    TALLOC_FREE(r->np);
    pthread_mutex_destroy(&r->lock);
    talloc_free(r);
}

/* The peer's resolver, made on first use. */
static parley_status get_resolver(parley_peer *peer, parley__names_resolver **ret)
{
    parley__names_resolver *r;
    parley_status st;

    pthread_mutex_lock(&peer->lock);
    r = peer->names_resolver;
    pthread_mutex_unlock(&peer->lock);
    if (r != NULL) {
        *ret = r;
        return PARLEY_OK;
    }
    r = talloc_zero(NULL, parley__names_resolver);
    if (r == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory connecting by name");
    st = parley_peer_new(r, &parley_names_protocol, &r->np);
    if (st == PARLEY_OK)
        st = parley_peer_set_workers(r->np, 1);
    if (st != PARLEY_OK) {
        talloc_free(r);
        return st;
    }
    pthread_mutex_init(&r->lock, NULL);
    pthread_mutex_lock(&peer->lock);
    if (peer->names_resolver == NULL) {
        peer->names_resolver = r;
        r = NULL;
    }
    *ret = peer->names_resolver;
    pthread_mutex_unlock(&peer->lock);
    parley__names_resolver_free(r);   /* another thread was first */
    return PARLEY_OK;
}

/* A call on the live cached session to address, made (or made again) when
 * there is none.  fresh: make a new session even if one looks alive. */
static parley_status resolver_call(parley__names_resolver *r, const char *address, bool fresh,
                                   parley_call **ret_call)
{
    size_t i, pick = 0;
    parley_session *session;
    parley_call *call;
    parley_status st;

    pthread_mutex_lock(&r->lock);
    r->clock++;
    for (i = 0; i < RESOLVER_SLOTS; i++)
        if (r->slots[i].address != NULL && strcmp(r->slots[i].address, address) == 0)
            break;
    if (i == RESOLVER_SLOTS) {
        /* a free slot, else the least recently used one */
        for (i = 0; i < RESOLVER_SLOTS; i++) {
            if (r->slots[i].address == NULL)
                break;
            if (r->slots[i].used < r->slots[pick].used)
                pick = i;
        }
        if (i == RESOLVER_SLOTS)
            i = pick;
        /* calls still acquired on the old session keep it until released */
        parley_session_close(r->slots[i].session);
        r->slots[i].session = NULL;
        TALLOC_FREE(r->slots[i].address);
        r->slots[i].address = talloc_strdup(r, address);
        if (r->slots[i].address == NULL) {
            pthread_mutex_unlock(&r->lock);
            return parley__error(PARLEY_ERR_NOMEM, "out of memory connecting by name");
        }
    }
    r->slots[i].used = r->clock;
    session = r->slots[i].session;
    if (session != NULL && (fresh || !parley_session_is_connected(session))) {
        parley_session_close(session);
        r->slots[i].session = session = NULL;
    }
    if (session == NULL) {
        st = parley_peer_connect_endpoint(r->np, address, &session);
        if (st != PARLEY_OK) {
            pthread_mutex_unlock(&r->lock);
            return parley__error_prefix(st, "no name service (parleyd) at %s", address);
        }
        r->slots[i].session = session;
    }
    st = parley_session_acquire_call(session, &call);
    pthread_mutex_unlock(&r->lock);
    if (st != PARLEY_OK)
        return parley__error_prefix(st, "the name service at %s", address);
    st = parley_call_set_timeout(call, RESOLVE_TIMEOUT_MS);
    if (st != PARLEY_OK) {
        parley_call_release(call);
        return st;
    }
    *ret_call = call;
    return PARLEY_OK;
}

/* Resolve name over the peer's cached session to parleyd; the reply under
 * mem_ctx.  A session parleyd closed meanwhile (it restarted) is made again
 * once. */
static parley_status resolve(parley_peer *peer, const char *name, const char *service,
                             TALLOC_CTX *mem_ctx, parley_names_resolve_reply **ret_out)
{
    parley_names_resolve_request in = { (char *)name };
    parley__names_resolver *r = NULL;
    char *address = parley__names_address(mem_ctx, service);
    parley_status st;

    if (address == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory finding parleyd");
    st = get_resolver(peer, &r);
    if (st != PARLEY_OK)
        return st;
    for (int attempt = 0; attempt < 2; attempt++) {
        parley_call *call = NULL;

        st = resolver_call(r, address, attempt > 0, &call);
        if (st == PARLEY_ERR_CONNECTION_CLOSED && attempt == 0)
            continue;   /* closed between the look and the acquire: once more, fresh */
        if (st != PARLEY_OK)
            break;
        st = parley_call_dispatch(call, PARLEY_NAMES_METHOD_RESOLVE, &in, mem_ctx, ret_out,
                                  NULL, NULL);
        if (st != PARLEY_OK)
            st = parley__names_failed(call, st, "resolving");
        parley_call_release(call);
        if (st != PARLEY_ERR_CONNECTION_CLOSED)
            break;
    }
    return st;
}

/* The host part of a `tcp:HOST:PORT` service, brackets kept, or NULL. */
static char *service_host(TALLOC_CTX *mem_ctx, const char *service)
{
    const char *colon;

    if (service == NULL || strncmp(service, "tcp:", 4) != 0)
        return NULL;
    colon = strrchr(service + 4, ':');
    if (colon == NULL)
        return NULL;
    return talloc_strndup(mem_ctx, service + 4, (size_t)(colon - service - 4));
}

/* A registered endpoint as a client reaches it: a wildcard TCP address
 * becomes the host the name service was reached on (loopback for a local
 * one). */
static char *reachable(TALLOC_CTX *mem_ctx, const char *ep, const char *host)
{
    static const char *const any[] = { "tcp:0.0.0.0:", "tcp:[::]:" };

    for (size_t i = 0; i < 2; i++) {
        size_t n = strlen(any[i]);

        if (strncmp(ep, any[i], n) == 0)
            return talloc_asprintf(mem_ctx, "tcp:%s:%s",
                                   host != NULL ? host : (i == 0 ? "127.0.0.1" : "[::1]"),
                                   ep + n);
    }
    return talloc_strdup(mem_ctx, ep);
}

#define BROKER_WAIT_MS 10000

static int64_t mono_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Wait for fd to be ready for events until deadline; false on timeout. */
static bool wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd p = { fd, events, 0 };
        int64_t left = deadline - mono_ms();
        int n;

        if (left <= 0)
            return false;
        n = poll(&p, 1, (int)left);
        if (n > 0)
            return true;
        if (n == 0 || errno != EINTR)
            return false;
    }
}

/* Through parleyd's broker port: connect, send the preamble naming the
 * service, read parleyd's one-line answer (doc/wire.md, "Brokered
 * connections").  On OK the socket is the service's. */
static parley_status broker_connect(const char *broker, const char *name, int *ret_fd)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    parley__endpoint *ep;
    char *preamble = talloc_asprintf(tmp, "PARLEY-NAME %s\n", name);
    char line[512];
    size_t n = 0, sent = 0;
    int64_t deadline = mono_ms() + BROKER_WAIT_MS;
    int fd = -1;
    parley_status st;

    if (preamble == NULL) {
        st = parley__error(PARLEY_ERR_NOMEM, "out of memory connecting through a broker");
        goto done;
    }
    st = parley__endpoint_parse(tmp, broker, &ep);
    if (st == PARLEY_OK)
        st = parley__socket_connect(ep, &fd);
    if (st != PARLEY_OK)
        goto done;
    while (sent < strlen(preamble)) {
        ssize_t w = send(fd, preamble + sent, strlen(preamble) - sent,
                         MSG_NOSIGNAL | MSG_DONTWAIT);

        if (w > 0) {
            sent += (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EINTR) &&
                   wait_fd(fd, POLLOUT, deadline)) {
            continue;
        } else {
            st = parley__error(PARLEY_ERR_CONNECTION_CLOSED,
                               "the broker at %s closed the connection", broker);
            goto done;
        }
    }
    /* byte by byte: what follows the line is the service's HELLO */
    for (;;) {
        ssize_t r;

        if (!wait_fd(fd, POLLIN, deadline)) {
            st = parley__error(PARLEY_ERR_TIMEOUT, "the broker at %s did not answer within %d ms",
                               broker, BROKER_WAIT_MS);
            goto done;
        }
        r = recv(fd, &line[n], 1, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (r != 1) {
            st = parley__error(PARLEY_ERR_CONNECTION_CLOSED,
                               "the broker at %s closed the connection", broker);
            goto done;
        }
        if (line[n] == '\n' || n + 2 >= sizeof(line))
            break;
        n++;
    }
    line[n] = '\0';
    if (strcmp(line, "OK") == 0) {
        *ret_fd = fd;
        fd = -1;
        st = PARLEY_OK;
    } else if (strncmp(line, "ERR ", 4) == 0) {
        char *end;
        long code = strtol(line + 4, &end, 10);
        parley_status remote = (parley_status)code;

        if (strcmp(parley_status_name(remote), "PARLEY_ERR_UNKNOWN") == 0 || code <= 1)
            remote = PARLEY_ERR_REMOTE;
        st = parley__error(remote, "the broker at %s: %s", broker, *end == ' ' ? end + 1 : end);
    } else {
        st = parley__error(PARLEY_ERR_MALFORMED, "the broker at %s answered '%.60s'", broker, line);
    }
done:
    if (fd >= 0)
        close(fd);
    TALLOC_FREE(tmp);
    return st;
}

parley_status parley__names_connect(parley_peer *peer, const char *name, const char *service,
                                    int *ret_fd)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    parley_names_resolve_reply *out;
    const parley_names_registration *reg;
    char tried[PARLEY__ERROR_MAX];
    size_t used = 0;
    char here[256];
    bool same_host;
    char *host = service_host(tmp, service);
    parley_status st;

    tried[0] = '\0';
    st = resolve(peer, name, service, tmp, &out);
    if (st != PARLEY_OK) {
        st = parley__error_prefix(st, "name '%s'", name);
        goto done;
    }
    reg = &out->e.reg;
    /* an introspector (parley-call) speaks to any protocol */
    if (!peer->introspector && strcmp(reg->protocol, peer->protocol->name) != 0) {
        st = parley__error(PARLEY_ERR_PROTOCOL_MISMATCH,
                           "name '%s' is registered with protocol '%s' version %u; "
                           "this peer speaks '%s' version %u",
                           name, reg->protocol, reg->version, peer->protocol->name,
                           peer->protocol->version);
        goto done;
    }
    if (gethostname(here, sizeof(here)) != 0)
        here[0] = '\0';
    here[sizeof(here) - 1] = '\0';
    same_host = service == NULL || strcmp(out->e.host, here) == 0;
    /* Unix endpoints first when on the same host; only TCP ones otherwise. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < reg->n_endpoints; i++) {
            bool is_unix = strncmp(reg->endpoints[i], "unix:", 5) == 0;
            parley__endpoint *ep;
            char *text;
            int fd = -1;

            if ((pass == 0) != is_unix || (is_unix && !same_host))
                continue;
            text = reachable(tmp, reg->endpoints[i], same_host ? NULL : host);
            if (text == NULL || parley__endpoint_parse(tmp, text, &ep) != PARLEY_OK)
                continue;
            st = parley__socket_connect(ep, &fd);
            if (st == PARLEY_OK) {
                *ret_fd = fd;
                goto done;
            }
            if (used < sizeof(tried)) {
                int n = snprintf(tried + used, sizeof(tried) - used, "%s%s",
                                 used > 0 ? "; " : "", parley_error_message());

                used += n > 0 ? (size_t)n : 0;
            }
        }
    }
    /* A brokered service: through parleyd's broker port. */
    if (out->e.broker[0] != '\0') {
        char *text = reachable(tmp, out->e.broker, same_host ? NULL : host);

        if (text == NULL) {
            st = parley__error(PARLEY_ERR_NOMEM, "out of memory connecting by name");
            goto done;
        }
        st = broker_connect(text, name, ret_fd);
        if (st != PARLEY_ERR_CONNECTION_REFUSED)
            goto done;
        if (used < sizeof(tried)) {
            int n = snprintf(tried + used, sizeof(tried) - used, "%s%s",
                             used > 0 ? "; " : "", parley_error_message());

            used += n > 0 ? (size_t)n : 0;
        }
    }
    st = parley__error(PARLEY_ERR_CONNECTION_REFUSED, "name '%s': %s", name,
                       used > 0 ? tried : "no endpoint reachable from this host");
done:
    TALLOC_FREE(tmp);
    return st;
}

/* ---- list (watch: names_watch.c) -------------------------------------------------------- */

void parley__names_fill_info(parley_name_info *info, const parley_names_entry *e)
{
    info->name = e->reg.name;
    info->protocol = e->reg.protocol;
    info->version = e->reg.version;
    info->endpoints = (const char *const *)e->reg.endpoints;
    info->n_endpoints = e->reg.n_endpoints;
    info->pid = e->pid;
    info->uid = e->uid;
    info->host = e->host;
    info->registered_ms = e->registered_ms;
    info->flags = e->reg.flags;
}

PARLEY_PUBLIC parley_status parley_name_list(TALLOC_CTX *mem_ctx, const char *service,
                                             const char *pattern,
                                             parley_name_info **ret_infos, size_t *ret_n)
{
    TALLOC_CTX *tmp;
    parley_peer *np;
    parley_session *session;
    parley_names_list_request in = { (char *)pattern };
    parley_names_list_reply *out;
    parley_name_info *infos;
    parley_status st;

    if (ret_infos == NULL || ret_n == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_name_list needs ret_infos and ret_n");
    st = parley__names_check_pattern(pattern);
    if (st != PARLEY_OK)
        return st;
    tmp = talloc_new(NULL);
    st = parley__names_open(tmp, service, NULL, NULL, &np, &session);
    if (st == PARLEY_OK)
        st = parley__names_call(session, PARLEY_NAMES_METHOD_LIST, &in, tmp, &out, "listing names");
    if (st != PARLEY_OK)
        goto done;
    TALLOC_FREE(np);
    infos = talloc_zero_array(tmp, parley_name_info, out->n_entries > 0 ? out->n_entries : 1);
    if (infos == NULL) {
        st = parley__error(PARLEY_ERR_NOMEM, "out of memory listing names");
        goto done;
    }
    talloc_steal(infos, out);
    for (size_t i = 0; i < out->n_entries; i++)
        parley__names_fill_info(&infos[i], &out->entries[i]);
    *ret_infos = talloc_steal(mem_ctx, infos);
    *ret_n = out->n_entries;
done:
    TALLOC_FREE(tmp);
    return st;
}

/* ---- the hold call and the keeper's backoff ------------------------------ */

#define RETRY_MAX_MS 2000u

static void hold_done(parley_call *call, parley_status status, void *data)
{
    parley__names_hold *h = data;

    (void)status;
    pthread_mutex_lock(&h->lock);
    if (h->call == call) {
        h->call = NULL;
        h->lost = true;
        pthread_cond_broadcast(&h->cond);
    }
    pthread_mutex_unlock(&h->lock);
    parley_call_release(call);
}

parley_status parley__names_hold_start(parley__names_hold *h, parley_session *session)
{
    static const parley_names_hold_request in;
    parley_call *call;
    parley_status st = parley_session_acquire_call(session, &call);

    if (st != PARLEY_OK)
        return st;
    h->call = call;
    st = parley_call_dispatch(call, PARLEY_NAMES_METHOD_HOLD, &in, NULL, &h->out, hold_done, h);
    if (st != PARLEY_PENDING) {
        h->call = NULL;
        parley_call_release(call);
        return st == PARLEY_OK ? PARLEY_ERR_INTERNAL : st;
    }
    h->lost = false;
    return PARLEY_OK;
}

bool parley__names_hold_wait(parley__names_hold *h, unsigned *delay_ms)
{
    while (!h->stop) {
        struct timespec t;

        if (!h->lost) {
            *delay_ms = PARLEY__NAMES_RETRY_FIRST_MS;
            pthread_cond_wait(&h->cond, &h->lock);
            continue;
        }
        /* Wait first: a parleyd that just stopped is not back yet. */
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_sec += *delay_ms / 1000;
        t.tv_nsec += (long)(*delay_ms % 1000) * 1000000L;
        if (t.tv_nsec >= 1000000000L) {
            t.tv_sec++;
            t.tv_nsec -= 1000000000L;
        }
        (void)pthread_cond_timedwait(&h->cond, &h->lock, &t);
        if (h->stop || !h->lost)
            continue;
        *delay_ms = *delay_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : *delay_ms * 2;
        return true;
    }
    return false;
}
