/* SPDX-License-Identifier: MIT */
/* Call hooks: the exception function and the trace functions.  Both
 * are set before the peer starts, so the hot path reads them without a lock;
 * with none set a call costs one test per begin and end. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "call.h"
#include "status.h"

PARLEY_PUBLIC parley_status parley_peer_set_exception_function(parley_peer *peer,
                                                               parley_exception_fn fn,
                                                               void *data)
{
    parley_status st = PARLEY_OK;

    if (peer == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_set_exception_function needs a peer");
    pthread_mutex_lock(&peer->lock);
    if (peer->started) {
        st = parley__error(PARLEY_ERR_INVALID_STATE,
                           "the exception function is fixed once the peer has started");
    } else {
        peer->exception_fn = fn;
        peer->exception_data = data;
    }
    pthread_mutex_unlock(&peer->lock);
    return st;
}

PARLEY_PUBLIC parley_status parley_peer_set_trace_functions(parley_peer *peer,
                                                            parley_trace_fn begin,
                                                            parley_trace_fn end, void *data)
{
    parley_status st = PARLEY_OK;

    if (peer == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_set_trace_functions needs a peer");
    pthread_mutex_lock(&peer->lock);
    if (peer->started) {
        st = parley__error(PARLEY_ERR_INVALID_STATE,
                           "the trace functions are fixed once the peer has started");
    } else {
        peer->trace_begin = begin;
        peer->trace_end = end;
        peer->trace_data = data;
    }
    pthread_mutex_unlock(&peer->lock);
    return st;
}

bool parley__trace_wanted(const parley_peer *peer)
{
    return peer->trace_begin != NULL || peer->trace_end != NULL;
}

void parley__trace_begin(parley_call *call)
{
    parley_peer *peer = call->session->peer;

    if (peer->trace_begin != NULL)
        peer->trace_begin(call, PARLEY_OK, peer->trace_data);
}

void parley__trace_end(parley_call *call, parley_status status)
{
    parley_peer *peer = call->session->peer;

    if (peer->trace_end != NULL)
        peer->trace_end(call, status, peer->trace_data);
}

void parley__exception(parley_session *session, parley_status status, const char *fmt, ...)
{
    parley_peer *peer = session->peer;
    char text[PARLEY__ERROR_MAX];
    va_list ap;

    if (peer->exception_fn == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    peer->exception_fn(peer, session, status, text, peer->exception_data);
}
