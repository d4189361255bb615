/* SPDX-License-Identifier: MIT */
/* A peer driven by the application's own event loop: no I/O thread, no
 * workers; the application watches one descriptor and calls
 * parley_peer_process(). */
#include "config.h"

#include <pthread.h>

#include "fork.h"
#include "peer.h"
#include "status.h"

PARLEY_PUBLIC parley_status parley_peer_set_application_loop(parley_peer *peer)
{
    parley_status st = PARLEY_OK;

    if (peer == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_set_application_loop needs a peer");
    PARLEY__FORK_GUARD(peer);
    pthread_mutex_lock(&peer->lock);
    if (peer->context != NULL)
        st = parley__error(PARLEY_ERR_INVALID_STATE,
                           "a peer of a context runs on the context's I/O thread");
    else if (peer->started)
        st = parley__error(PARLEY_ERR_INVALID_STATE,
                           "the peer has started already (with its own I/O thread)");
    else if (!peer->app_loop) {
        peer->app_loop = true;
        parley__loop_set_external(peer->loop);
    }
    pthread_mutex_unlock(&peer->lock);
    return st;
}

static parley_status check(parley_peer *peer, const char *fn)
{
    bool app;

    pthread_mutex_lock(&peer->lock);
    app = peer->app_loop;
    pthread_mutex_unlock(&peer->lock);
    if (!app)
        return parley__error(PARLEY_ERR_INVALID_STATE,
                             "%s: the peer runs its own I/O thread "
                             "(parley_peer_set_application_loop() was not called)", fn);
    return PARLEY_OK;
}

PARLEY_PUBLIC parley_status parley_peer_get_fd(parley_peer *peer, int *ret_fd)
{
    parley_status st;

    if (peer == NULL || ret_fd == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "parley_peer_get_fd needs a peer and ret_fd");
    PARLEY__FORK_GUARD(peer);
    st = check(peer, "parley_peer_get_fd");
    if (st == PARLEY_OK)
        *ret_fd = parley__loop_fd(peer->loop);
    return st;
}

PARLEY_PUBLIC parley_status parley_peer_get_timeout(parley_peer *peer, int *ret_ms)
{
    parley_status st;

    if (peer == NULL || ret_ms == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_get_timeout needs a peer and ret_ms");
    PARLEY__FORK_GUARD(peer);
    st = check(peer, "parley_peer_get_timeout");
    if (st == PARLEY_OK)
        *ret_ms = parley__loop_timeout(peer->loop);
    return st;
}

PARLEY_PUBLIC parley_status parley_peer_process(parley_peer *peer)
{
    parley_status st;

    if (peer == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "parley_peer_process needs a peer");
    PARLEY__FORK_GUARD(peer);
    st = check(peer, "parley_peer_process");
    if (st == PARLEY_OK)
        st = parley__loop_process(peer->loop, 0);
    return st;
}
