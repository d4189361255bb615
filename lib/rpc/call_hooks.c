/* SPDX-License-Identifier: MIT */
/* Call hooks: the exception function and the trace functions, which also
 * feed debug lines (debug.c) and monitors (monitor.c).  All are set before
 * the peer starts (monitors: an atomic count), so the hot path reads them
 * without a lock; with none set a call costs one test per begin and end.
 * The values a trace function may read are kept in a thread-local for the
 * time it runs. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

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

/* The values of the call whose trace function runs on this thread. */
static __thread struct trace_values {
    const parley_call *call;
    const void *request;
    const void *reply;
} trace_now;

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool parley__trace_wanted(const parley_peer *peer)
{
    return peer->trace_begin != NULL || peer->trace_end != NULL || peer->debug != 0 ||
           __atomic_load_n(&peer->n_monitors, __ATOMIC_RELAXED) > 0;
}

/* Whether the values are rendered as text at all (debug values, monitors). */
static bool values_wanted(const parley_peer *peer)
{
    return (peer->debug & PARLEY_DEBUG_VALUES) != 0 ||
           __atomic_load_n(&peer->n_monitors, __ATOMIC_RELAXED) > 0;
}

void parley__trace_begin_request(parley_call *call, const void *request)
{
    parley_peer *peer = call->session->peer;

    call->trace_begin_ns = now_ns();
    if (!call->incoming && request != NULL && values_wanted(peer))
        call->trace_request = parley__value_text(NULL, call->method->request, request);
    if (peer->trace_begin != NULL) {
        struct trace_values outer = trace_now;

        trace_now = (struct trace_values){ call, request, NULL };
        peer->trace_begin(call, PARLEY_OK, peer->trace_data);
        trace_now = outer;
    }
}

void parley__trace_begin(parley_call *call)
{
    parley__trace_begin_request(call, call->incoming ? call->in : NULL);
}

void parley__trace_end_reply(parley_call *call, parley_status status, const void *reply)
{
    parley_peer *peer = call->session->peer;
    const parley_method *m = call->method;
    const void *request = call->incoming ? call->in : NULL;
    uint64_t duration = now_ns() - call->trace_begin_ns;
    char *req_text = NULL, *rep_text = NULL;

    if (status != PARLEY_OK || (m->flags & PARLEY_METHOD_ONEWAY) != 0)
        reply = NULL;
    if (peer->trace_end != NULL) {
        struct trace_values outer = trace_now;

        trace_now = (struct trace_values){ call, request, reply };
        peer->trace_end(call, status, peer->trace_data);
        trace_now = outer;
    }
    if (peer->debug != 0 || __atomic_load_n(&peer->n_monitors, __ATOMIC_RELAXED) > 0) {
        if (values_wanted(peer)) {
            req_text = call->incoming ? parley__value_text(NULL, m->request, request)
                                      : call->trace_request;
            if (reply != NULL)
                rep_text = parley__value_text(NULL, m->reply, reply);
        }
        if (peer->debug != 0)
            parley__debug_call(call, status, duration, req_text, rep_text);
        if (__atomic_load_n(&peer->n_monitors, __ATOMIC_RELAXED) > 0)
            parley__monitor_call(call, status, duration, req_text, rep_text);
        if (call->incoming)
            talloc_free(req_text);
        talloc_free(rep_text);
    }
    TALLOC_FREE(call->trace_request);
}

void parley__trace_end(parley_call *call, parley_status status)
{
    parley__trace_end_reply(call, status, call->incoming ? call->out : call->reply);
}

static parley_status trace_value(parley_call *call, bool reply, const parley_type **ret_type,
                                 const void **ret_value)
{
    const void *v;

    if (call == NULL || ret_value == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "%s needs a call and ret_value",
                             reply ? "parley_call_get_reply" : "parley_call_get_request");
    if (trace_now.call == call)
        v = reply ? trace_now.reply : trace_now.request;
    else if (call->incoming && call->in != NULL)
        /* held by a handler, pended or received: until it is completed */
        v = reply ? (call->method->reply != NULL ? call->out : NULL) : call->in;
    else
        v = NULL;
    if (v == NULL)
        return parley__error(PARLEY_ERR_INVALID_STATE,
                             "the %s of a call is at hand only in its trace functions (%s) and "
                             "in an incoming call still to be completed",
                             reply ? "reply" : "request",
                             reply ? "the end function of a call that succeeded and is not oneway"
                                   : "an incoming call's, or an outgoing call's begin function");
    if (ret_type != NULL)
        *ret_type = reply ? call->method->reply : call->method->request;
    *ret_value = v;
    return PARLEY_OK;
}

PARLEY_PUBLIC parley_status parley_call_get_request(parley_call *call, const parley_type **ret_type,
                                                    const void **ret_value)
{
    return trace_value(call, false, ret_type, ret_value);
}

PARLEY_PUBLIC parley_status parley_call_get_reply(parley_call *call, const parley_type **ret_type,
                                                  void **ret_value)
{
    const void *v = NULL;
    parley_status st = trace_value(call, true, ret_type, ret_value != NULL ? &v : NULL);

    if (st == PARLEY_OK)
        *ret_value = (void *)v;
    return st;
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
