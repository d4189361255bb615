/* SPDX-License-Identifier: MIT */
/* Introspection in the runtime: serving method 0 with the peer's encoded
 * description, the introspector peer (any protocol, method 0 only), and
 * calling method 0 to build the other end's protocol. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "parley/call.h"
#include "parley/introspect.h"
#include "describe.h"
#include "fds.h"
#include "introspect.h"
#include "peer.h"
#include "session.h"
#include "status.h"

/* The protocol an introspector says it speaks: not an IDL name (it has a
 * dot), so no real protocol can be mistaken for it. */
#define INTROSPECT_PROTOCOL "parley.introspect"

static const parley_protocol introspector_protocol = {
    .abi_version = PARLEY_ABI_VERSION,
    .name = INTROSPECT_PROTOCOL,
    .version = PARLEY_DESCRIPTION_FORMAT,
};

static const parley_method introspect_method = {
    .id = PARLEY_METHOD_INTROSPECT,
    .name = "introspect",
    .interface = "parley",
    .request = &parley__introspect_request_type,
    .reply = &parley__description_type,
};

/* The peer's encoded description, built on the first request. */
struct parley__introspect_cache {
    uint8_t *bytes;
    size_t len;
};

const parley_method *parley__introspect_method(void)
{
    return &introspect_method;
}

bool parley__introspect_accepts_hello(const parley_peer *peer, const parley__hello *hello)
{
    if (peer->introspector)
        return true;
    return strcmp(hello->protocol_name, INTROSPECT_PROTOCOL) == 0 && hello->n_methods == 0;
}

static void send_error(parley_session *session, uint32_t call_id, parley_status st,
                       const char *msg)
{
    uint8_t *buf = NULL;
    size_t len = 0;

    if (parley__message_encode(NULL, msg, &buf, &len) == PARLEY_OK)
        (void)parley__conn_send(session->conn, PARLEY__FRAME_REPLY, call_id, (uint32_t)st, buf,
                                len);
    talloc_free(buf);
}

/* Under peer->lock: the cached description, encoding it the first time. */
static parley_status cached_locked(parley_peer *peer, struct parley__introspect_cache **ret)
{
    struct parley__introspect_cache *c = peer->introspect_cache;
    parley_limits limits = {
        .max_message = peer->max_message,
        .max_fds = peer->max_fds_set ? peer->max_fds : PARLEY__FDS_DEFAULT_MAX,
        .max_outstanding = peer->max_outstanding,
        .max_handles = peer->max_handles,
    };
    parley_status st;

    if (c == NULL) {
        /* NULL-parented: the peer's tree is the application's thread's
         * (runtime.h); the peer's destructor frees it */
        c = talloc_zero(NULL, struct parley__introspect_cache);
        if (c == NULL)
            return parley__error(PARLEY_ERR_NOMEM, "out of memory describing the protocol");
        st = parley_protocol_describe(c, peer->protocol, &limits, &c->bytes, &c->len);
        if (st != PARLEY_OK) {
            talloc_free(c);
            return st;
        }
        peer->introspect_cache = c;
    }
    *ret = c;
    return PARLEY_OK;
}

bool parley__introspect_serve(parley_session *session, const parley__frame_header *hdr)
{
    parley_peer *peer = session->peer;
    struct parley__introspect_cache *c = NULL;
    char text[PARLEY__ERROR_MAX];
    parley_status st;

    if (__atomic_load_n(&peer->introspection_off, __ATOMIC_RELAXED) || peer->introspector)
        return false;   /* NOT_FOUND, as any method not served */
    if (hdr->kind != PARLEY__FRAME_CALL)
        return true;    /* a oneway method 0: nothing to answer */
    pthread_mutex_lock(&peer->lock);
    st = cached_locked(peer, &c);
    pthread_mutex_unlock(&peer->lock);
    if (st != PARLEY_OK) {
        snprintf(text, sizeof(text), "introspection: %s", parley_error_message());
        send_error(session, hdr->call_id, st, text);
        return true;
    }
    if (c->len > session->remote_max_message) {
        snprintf(text, sizeof(text), "the description of protocol %s is %zu bytes, the other "
                 "end accepts at most %u", peer->protocol->name, c->len,
                 session->remote_max_message);
        send_error(session, hdr->call_id, PARLEY_ERR_OVERFLOW, text);
        return true;
    }
    (void)parley__conn_send(session->conn, PARLEY__FRAME_REPLY, hdr->call_id, PARLEY_OK,
                            c->bytes, c->len);
    return true;
}

PARLEY_PUBLIC parley_status parley_peer_set_introspection(parley_peer *peer, bool enabled)
{
    if (peer == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_set_introspection needs a peer");
    __atomic_store_n(&peer->introspection_off, !enabled, __ATOMIC_RELAXED);
    return PARLEY_OK;
}

PARLEY_PUBLIC parley_status parley_peer_new_introspector(TALLOC_CTX *mem_ctx,
                                                         parley_peer **ret_peer)
{
    parley_peer *peer;
    parley_status st;

    if (ret_peer == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_new_introspector needs ret_peer");
    st = parley_peer_new(mem_ctx, &introspector_protocol, &peer);
    if (st != PARLEY_OK)
        return st;
    peer->introspector = true;
    *ret_peer = peer;
    return PARLEY_OK;
}

PARLEY_PUBLIC parley_status parley_session_introspect(parley_session *session,
                                                      TALLOC_CTX *mem_ctx, int64_t timeout_ms,
                                                      const parley_protocol **ret_protocol,
                                                      parley_limits *ret_limits)
{
    parley__introspect_request in = { 0 };
    parley__description *d = NULL;
    parley_call *call = NULL;
    parley_limits limits;
    parley_status st;

    if (session == NULL || ret_protocol == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_session_introspect needs a session and ret_protocol");
    st = parley_session_acquire_call(session, &call);
    if (st != PARLEY_OK)
        return st;
    if (timeout_ms >= 0)
        st = parley_call_set_timeout(call, timeout_ms);
    if (st == PARLEY_OK)
        st = parley_call_dispatch(call, PARLEY_METHOD_INTROSPECT, &in, NULL, &d, NULL, NULL);
    if (st != PARLEY_OK) {
        st = parley__error_prefix(st, "introspection");
        goto done;
    }
    limits = d->limits;
    st = parley__protocol_from_desc(mem_ctx, d, ret_protocol);
    if (st == PARLEY_OK) {
        d = NULL;    /* the protocol has it */
        if (ret_limits)
            *ret_limits = limits;
    }
done:
    talloc_free(d);
    parley_call_release(call);
    return st;
}

PARLEY_PUBLIC parley_status parley_introspect(TALLOC_CTX *mem_ctx, const char *endpoint,
                                              int64_t timeout_ms,
                                              const parley_protocol **ret_protocol,
                                              parley_limits *ret_limits)
{
    parley_peer *peer = NULL;
    parley_session *session = NULL;
    parley_status st;

    if (endpoint == NULL || ret_protocol == NULL || timeout_ms < 0)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_introspect needs an endpoint, a timeout >= 0 and "
                             "ret_protocol");
    st = parley_peer_new_introspector(NULL, &peer);
    if (st == PARLEY_OK && timeout_ms > 0)
        st = parley_peer_set_timeout(peer, PARLEY_TIMEOUT_ESTABLISH, timeout_ms);
    if (st == PARLEY_OK)
        st = parley_peer_add_connect_endpoint(peer, endpoint);
    if (st == PARLEY_OK)
        st = parley_peer_connect(peer, &session);
    if (st == PARLEY_OK)
        st = parley_session_introspect(session, mem_ctx, timeout_ms, ret_protocol, ret_limits);
    if (session)
        parley_session_close(session);
    talloc_free(peer);
    return st;
}
