/* SPDX-License-Identifier: MIT */
/* TLS on a peer: the settings (credentials built here, handed to lib/io as
 * an opaque parley__tls_config), the handshake of a connect and of an
 * admitted connection on a tls: listener, and the identity of a session. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fork.h"
#include "listen.h"
#include "session.h"
#include "status.h"
#include "tls.h"

/* Under nothing: the settings are made before the peer starts. */
static parley_status config_of(parley_peer *peer, const char *fn, parley__tls_config **ret_cfg)
{
    parley_status st = PARLEY_OK;

    pthread_mutex_lock(&peer->lock);
    if (peer->started)
        st = parley__error(PARLEY_ERR_INVALID_STATE, "%s: TLS settings are made before the "
                           "peer starts", fn);
    else if (peer->tls == NULL)
        st = parley__tls_config_new(peer, &peer->tls);
    if (st == PARLEY_OK)
        *ret_cfg = peer->tls;
    pthread_mutex_unlock(&peer->lock);
    return st;
}

PARLEY_PUBLIC parley_status parley_peer_set_tls_certificate(parley_peer *peer,
                                                            const char *cert_file,
                                                            const char *key_file)
{
    parley__tls_config *cfg;
    parley_status st;

    if (peer == NULL || cert_file == NULL || key_file == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_set_tls_certificate needs a peer, a certificate file "
                             "and a key file");
    PARLEY__FORK_GUARD(peer);
    st = config_of(peer, __func__, &cfg);
    if (st != PARLEY_OK)
        return st;
    return parley__tls_config_set_certificate(cfg, cert_file, key_file);
}

PARLEY_PUBLIC parley_status parley_peer_set_tls_trust(parley_peer *peer, const char *ca_file,
                                                      const char *crl_file)
{
    parley__tls_config *cfg;
    parley_status st;

    if (peer == NULL || ca_file == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_set_tls_trust needs a peer and a CA file");
    PARLEY__FORK_GUARD(peer);
    st = config_of(peer, __func__, &cfg);
    if (st != PARLEY_OK)
        return st;
    return parley__tls_config_set_trust(cfg, ca_file, crl_file);
}

PARLEY_PUBLIC parley_status parley_peer_set_tls_verify(parley_peer *peer, unsigned flags)
{
    parley__tls_config *cfg;
    parley_status st;

    if (peer == NULL || (flags & ~PARLEY_TLS_REQUIRE_CLIENT_CERT) != 0)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_set_tls_verify needs a peer and flags of "
                             "PARLEY_TLS_REQUIRE_CLIENT_CERT");
    PARLEY__FORK_GUARD(peer);
    st = config_of(peer, __func__, &cfg);
    if (st != PARLEY_OK)
        return st;
    parley__tls_config_set_require_client_cert(cfg, (flags & PARLEY_TLS_REQUIRE_CLIENT_CERT) != 0);
    return PARLEY_OK;
}

PARLEY_PUBLIC parley_status parley_peer_set_tls_psk(parley_peer *peer, const char *identity,
                                                    const char *key_hex)
{
    parley__tls_config *cfg;
    parley_status st;

    if (peer == NULL || identity == NULL || key_hex == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_set_tls_psk needs a peer, an identity and a key");
    PARLEY__FORK_GUARD(peer);
    st = config_of(peer, __func__, &cfg);
    if (st != PARLEY_OK)
        return st;
    return parley__tls_config_set_psk(cfg, identity, key_hex);
}

PARLEY_PUBLIC parley_status parley_peer_set_tls_priority(parley_peer *peer, const char *priority)
{
    parley__tls_config *cfg;
    parley_status st;

    if (peer == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_set_tls_priority needs a peer");
    PARLEY__FORK_GUARD(peer);
    st = config_of(peer, __func__, &cfg);
    if (st != PARLEY_OK)
        return st;
    return parley__tls_config_set_priority(cfg, priority);
}

PARLEY_PUBLIC parley_status parley_session_get_tls_identity(parley_session *session,
                                                            TALLOC_CTX *mem_ctx,
                                                            parley_tls_identity **ret_identity)
{
    parley_tls_identity *id;
    const parley__tls_info *info;

    if (session == NULL || ret_identity == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_session_get_tls_identity needs a session and ret_identity");
    PARLEY__FORK_GUARD_GEN(session->fork_generation);
    info = session->tls;
    if (session->transport != PARLEY_TRANSPORT_TLS || info == NULL)
        return parley__error(PARLEY_ERR_UNSUPPORTED, "the session is not on TLS: no TLS identity");
    id = talloc_zero(mem_ctx, parley_tls_identity);
    if (id == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory");
    if ((info->subject != NULL && (id->subject = talloc_strdup(id, info->subject)) == NULL) ||
        (info->sans != NULL && (id->sans = talloc_strdup(id, info->sans)) == NULL) ||
        (info->fingerprint != NULL &&
         (id->fingerprint = talloc_strdup(id, info->fingerprint)) == NULL) ||
        (info->psk_identity != NULL &&
         (id->psk_identity = talloc_strdup(id, info->psk_identity)) == NULL)) {
        talloc_free(id);
        return parley__error(PARLEY_ERR_NOMEM, "out of memory");
    }
    *ret_identity = id;
    return PARLEY_OK;
}

/* The peer's TLS threads, created at first use. */
static parley_status group_of(parley_peer *peer, parley__tls_group **ret_group)
{
    parley_status st = PARLEY_OK;

    pthread_mutex_lock(&peer->lock);
    if (peer->destroying)
        st = parley__error(PARLEY_ERR_INVALID_STATE, "the peer is being freed");
    else if (peer->tls_group == NULL)
        st = parley__tls_group_new(peer, &peer->tls_group);
    if (st == PARLEY_OK)
        *ret_group = peer->tls_group;
    pthread_mutex_unlock(&peer->lock);
    return st;
}

void parley__peer_tls_stop(parley_peer *peer)
{
    parley__tls_group *group;

    pthread_mutex_lock(&peer->lock);
    group = peer->tls_group;
    peer->tls_group = NULL;
    pthread_mutex_unlock(&peer->lock);
    talloc_free(group);
}

void parley__peer_tls_abort_accepts(parley_peer *peer)
{
    parley__tls_group *group;

    pthread_mutex_lock(&peer->lock);
    group = peer->tls_group;      /* lives until the peer's destructor */
    pthread_mutex_unlock(&peer->lock);
    if (group != NULL)
        parley__tls_abort_accepts(group);
}

parley_status parley__peer_tls_connect(parley_peer *peer, const parley__endpoint *ep, int tcp_fd,
                                       parley_session **ret_session)
{
    parley__tls_group *group;
    parley__tls_info *info = NULL;
    parley_session *session;
    parley_status st;
    int fd = -1;

    st = parley__tls_config_check(peer->tls, false, ep->text);
    if (st == PARLEY_OK)
        st = group_of(peer, &group);
    if (st != PARLEY_OK) {
        close(tcp_fd);
        return st;
    }
    st = parley__tls_connect(group, peer->tls, ep->text, ep->server_name, tcp_fd,
                             __atomic_load_n(&peer->establish_ms, __ATOMIC_RELAXED), NULL,
                             &info, &fd);
    if (st != PARLEY_OK)
        return st;
    st = parley__session_new_tls(peer, fd, false, info, &session);
    if (st != PARLEY_OK)
        return st;
    st = parley__session_wait_ready(session);
    if (st != PARLEY_OK)
        return st;
    *ret_session = session;
    return PARLEY_OK;
}

/* The TLS thread, after the handshake: the admitted connection's slot
 * (held since admission) goes to its session, or is freed. */
static void accepted(void *data, int fd, parley__tls_info *info)
{
    parley_peer *peer = data;

    pthread_mutex_lock(&peer->lock);
    peer->n_incoming--;
    if (fd < 0) {
        pthread_cond_broadcast(&peer->cond);
        parley__limits_slot_freed_locked(peer);
    }
    pthread_mutex_unlock(&peer->lock);
    if (fd >= 0 && parley__session_new_tls(peer, fd, true, info, NULL) != PARLEY_OK) {
        /* No session (the peer is being freed, out of memory): the slot
         * is free for a waiting connection. */
        pthread_mutex_lock(&peer->lock);
        pthread_cond_broadcast(&peer->cond);
        parley__limits_slot_freed_locked(peer);
        pthread_mutex_unlock(&peer->lock);
    }
}

void parley__peer_tls_accept(parley_peer *peer, int tcp_fd)
{
    parley__tls_group *group;
    parley_status st;

    st = group_of(peer, &group);
    if (st != PARLEY_OK) {
        close(tcp_fd);
        return;
    }
    /* The handshake holds an incoming slot: admission counts it like a
     * session. */
    pthread_mutex_lock(&peer->lock);
    peer->n_incoming++;
    pthread_mutex_unlock(&peer->lock);
    st = parley__tls_accept(group, peer->tls, tcp_fd,
                            __atomic_load_n(&peer->establish_ms, __ATOMIC_RELAXED), accepted,
                            peer);
    if (st != PARLEY_OK) {
        pthread_mutex_lock(&peer->lock);
        peer->n_incoming--;
        pthread_cond_broadcast(&peer->cond);
        parley__limits_slot_freed_locked(peer);
        pthread_mutex_unlock(&peer->lock);
    }
}
