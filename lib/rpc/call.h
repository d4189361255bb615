/* SPDX-License-Identifier: MIT */
/* Internal: a call handle, outgoing (outcall.c) or incoming (incall.c). */
#ifndef PARLEY_LIB_RPC_CALL_H
#define PARLEY_LIB_RPC_CALL_H

#include "session.h"

typedef enum parley__call_state {
    PARLEY__CALL_IDLE,        /* outgoing: acquired, not dispatched */
    PARLEY__CALL_OUTSTANDING, /* outgoing: awaiting its reply */
    PARLEY__CALL_COMPLETED,   /* outgoing: reply or failure recorded */
    PARLEY__CALL_RUNNING,     /* incoming: handler running */
    PARLEY__CALL_PENDED       /* incoming: handler pended */
} parley__call_state;

struct parley_call {
    parley_session *session;
    bool incoming;
    parley__call_state state;         /* under session->lock */
    uint32_t id;
    const parley_method *method;
    parley_call *hnext;               /* bucket chain */
    bool traced;                      /* begin trace ran: end trace runs once */
    uint64_t trace_begin_ns;          /* CLOCK_MONOTONIC when the begin trace ran */
    char *trace_request;              /* outgoing: the request as text for debug
                                       * lines and monitors, NULL-parented */
    bool remote_set;                  /* a REMOTE error's code and message are here */
    int32_t remote_code;
    char *remote_message;             /* under the call */

    /* Outgoing: the dispatch. */
    pthread_cond_t cond;              /* with session->lock: completed, callback done */
    TALLOC_CTX *mem_ctx;              /* synchronous: parent of the reply */
    void **ret_out;
    parley_call_done_fn done;
    void *done_data;
    int64_t timeout_ms;               /* PARLEY_TIMEOUT_DEFAULT or ms (0 none) */
    uint64_t deadline_ms;             /* while outstanding: 0 or CLOCK_MONOTONIC ms */
    /* Outgoing: the outcome, under session->lock once recorded. */
    bool completed;                   /* result is set */
    parley_status result;
    void *reply;                      /* decoded reply, NULL-parented until handed over */
    char *message;                    /* the failure's sentence, NULL-parented */
    TALLOC_CTX *replies;              /* asynchronous: the reply's parent, under the call */
    /* Outgoing, asynchronous: who may touch the call (under session->lock). */
    bool dispatching;                 /* parley_call_dispatch() still uses it */
    bool cb_pending;                  /* outcome recorded, callback not run yet */
    bool cb_running;                  /* the callback runs, on cb_thread */
    pthread_t cb_thread;
    bool released;                    /* released meanwhile: freed after the callback */

    /* Incoming. */
    const parley__dispatch_entry *entry;
    void *in;                         /* decoded request, under the call */
    void *out;                        /* zeroed reply, under the call */
    /* Incoming, under session->lock. */
    parley_call *inext, *iprev;       /* session->incoming_calls */
    parley_call *inext_oneway;        /* session->oneway_head */
    parley_call_cancel_fn cancel_fn;
    void *cancel_data;
    bool pended;                      /* parley_call_pend() ran */
    bool cancel_requested;            /* a CANCEL came, or the session ended */
    bool cancel_ran;
    bool finish_set;                  /* parley_call_complete() ran: finish_status */
    parley_status finish_status;
    unsigned holds;                   /* handler or cancel function running */
};

#endif
