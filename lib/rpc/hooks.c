/* SPDX-License-Identifier: MIT */
/* Session hooks and credentials: the construct hook that may
 * refuse a client, the destruct hook, per-session data, SO_PEERCRED. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "access.h"
#include "session.h"
#include "status.h"

PARLEY_PUBLIC parley_status parley_peer_set_session_functions(parley_peer *peer,
                                                              parley_session_construct_fn construct,
                                                              parley_session_destruct_fn destruct,
                                                              void *data)
{
    parley_status st = PARLEY_OK;

    if (peer == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_set_session_functions needs a peer");
    pthread_mutex_lock(&peer->lock);
    if (peer->started) {
        st = parley__error(PARLEY_ERR_INVALID_STATE,
                           "session functions are set before the peer starts");
    } else {
        peer->session_construct = construct;
        peer->session_destruct = destruct;
        peer->session_fn_data = data;
    }
    pthread_mutex_unlock(&peer->lock);
    return st;
}

void parley__session_read_credentials(parley_session *session, int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    struct ucred uc;
    socklen_t ul = sizeof(uc);

    parley__session_read_address(session, fd);
    memset(&ss, 0, sizeof(ss));
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 || ss.ss_family != AF_UNIX)
        return;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) != 0 || ul != sizeof(uc))
        return;
    session->creds.uid = (uint32_t)uc.uid;
    session->creds.gid = (uint32_t)uc.gid;
    session->creds.pid = (int32_t)uc.pid;
    session->have_creds = true;
}

parley_status parley__session_construct(parley_session *session)
{
    parley_peer *peer = session->peer;
    void *sdata = NULL;
    parley_status st;

    if (peer->session_construct == NULL) {
        session->constructed = true;
        return PARLEY_OK;
    }
    st = peer->session_construct(session, peer->session_fn_data, &sdata);
    if (st != PARLEY_OK)
        return st;
    session->session_data = sdata;
    session->constructed = true;
    return PARLEY_OK;
}

void parley__session_end(parley_session *session)
{
    parley_peer *peer = session->peer;
    parley_session_data_free_fn free_fn;
    void *sdata;

    if (session->ended)
        return;
    session->ended = true;
    parley__monitor_session_end(session);
    parley__handles_cleanup(session);
    if (session->incoming && session->constructed && peer != NULL &&
        peer->session_destruct != NULL)
        peer->session_destruct(session, parley_session_get_data(session),
                               peer->session_fn_data);
    pthread_mutex_lock(&session->lock);
    free_fn = session->data_free;
    sdata = session->session_data;
    session->data_free = NULL;
    pthread_mutex_unlock(&session->lock);
    if (free_fn != NULL)
        free_fn(sdata);
}

PARLEY_PUBLIC void *parley_session_get_data(parley_session *session)
{
    void *data;

    if (session == NULL)
        return NULL;
    pthread_mutex_lock(&session->lock);
    data = session->session_data;
    pthread_mutex_unlock(&session->lock);
    return data;
}

PARLEY_PUBLIC parley_status parley_session_set_data(parley_session *session, void *data,
                                                    parley_session_data_free_fn free_fn)
{
    if (session == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_session_set_data needs a session");
    pthread_mutex_lock(&session->lock);
    session->session_data = data;
    session->data_free = free_fn;
    pthread_mutex_unlock(&session->lock);
    return PARLEY_OK;
}

PARLEY_PUBLIC parley_status parley_session_get_credentials(parley_session *session,
                                                           parley_credentials *ret_creds)
{
    if (session == NULL || ret_creds == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_session_get_credentials needs a session and ret_creds");
    if (!session->have_creds)
        return parley__error(PARLEY_ERR_UNSUPPORTED,
                             "the session is not on a unix socket: no peer credentials");
    *ret_creds = session->creds;
    return PARLEY_OK;
}

PARLEY_PUBLIC parley_status parley_peer_set_max_outstanding_calls(parley_peer *peer, unsigned n)
{
    if (peer == NULL || n < 1 || n > (1u << 20))
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_set_max_outstanding_calls needs a peer and 1..1048576");
    pthread_mutex_lock(&peer->lock);
    peer->max_outstanding = n;
    pthread_mutex_unlock(&peer->lock);
    return PARLEY_OK;
}

PARLEY_PUBLIC parley_status parley_peer_set_max_handles(parley_peer *peer, unsigned n)
{
    if (peer == NULL || n < 1 || n > 0xffffffu)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_set_max_handles needs a peer and 1..16777215");
    pthread_mutex_lock(&peer->lock);
    peer->max_handles = n;
    pthread_mutex_unlock(&peer->lock);
    return PARLEY_OK;
}
