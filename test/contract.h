/* SPDX-License-Identifier: MIT */
/* Shared by the contract tests (check_callbacks.c, check_teardown.c): one
 * in-process server peer with handlers that record what they saw, client
 * peers, and bounded waits on the shared state. */
#ifndef PARLEY_TEST_CONTRACT_H
#define PARLEY_TEST_CONTRACT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <check.h>

#include "parley.h"

/* What the handlers and callbacks saw, under lock (one test at a time per
 * process). */
typedef struct contract_state {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* server */
    parley_peer *server;
    unsigned notes, out_of_order;
    uint32_t next_note;
    int entered, finished, pended, cancels;
    bool gate_open;
    parley_status stop_status;
    bool stop_ran;
    /* server calling back */
    int srv_pending, srv_cb_runs, srv_bad;
    /* client */
    int cb_runs;
} contract_state;

extern contract_state ct;

/* Before each test. */
void ct_reset(void);
/* dflt, or PARLEY_TEST_ITERATIONS when set. */
int ct_iterations(int dflt);
/* (*counter)++ under ct.lock, and wake the waiters. */
void ct_bump(int *counter);
/* Let the BLOCKING handlers waiting at the gate (TP_SLEEP) go. */
void ct_open_gate(void);

/* Wait (bounded: 30 s) until expr holds under ct.lock; fail the test if not. */
#define WAIT_FOR(expr)                                                              \
    do {                                                                            \
        struct timespec dl_;                                                        \
        bool ok_;                                                                   \
                                                                                    \
        clock_gettime(CLOCK_REALTIME, &dl_);                                        \
        dl_.tv_sec += 30;                                                           \
        pthread_mutex_lock(&ct.lock);                                                \
        while (!(expr) && pthread_cond_timedwait(&ct.cond, &ct.lock, &dl_) == 0)      \
            ;                                                                       \
        ok_ = (expr);                                                               \
        pthread_mutex_unlock(&ct.lock);                                              \
        ck_assert_msg(ok_, "gave up waiting for " #expr " (notes %u, entered %d)",   \
                      ct.notes, ct.entered);                                          \
    } while (0)

typedef struct server_opts {
    unsigned max_outstanding;            /* 0: default */
    parley_dispatch_mode note_mode;
} server_opts;

/* The server: TP_NOTE (in o->note_mode; checks the order), TP_ADD, TP_SLEEP
 * (waits at the gate), TP_PEND (pends until cancelled), TP_FAIL (BLOCKING)
 * and TP_CANCELS (NONBLOCKING) stop listening, TP_NOTES closes its session,
 * TP_REMOTE (an application error of v bytes), TP_CALLBACK (calls ADD back,
 * asynchronously). */
parley_peer *ct_server_start(TALLOC_CTX *mem, const server_opts *o, char **ret_endpoint);
parley_peer *ct_client_new(TALLOC_CTX *mem, const char *endpoint, size_t max_message);
parley_session *ct_connect_to(parley_peer *client);
parley_status ct_add_sync(parley_session *session, int32_t a, int32_t b, int32_t *ret);
/* Counts its runs in ct.cb_runs (and in *(int *)data when set). */
void ct_count_done(parley_call *call, parley_status status, void *data);
/* NONBLOCKING ADD. */
parley_status ct_h_add(parley_call *call, const void *in, void *out, void *data);

#endif
