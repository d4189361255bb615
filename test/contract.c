/* SPDX-License-Identifier: MIT */
/* Shared by the contract tests: see contract.h. */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "contract.h"
#include "suites.h"
#include "test_proto.h"

/* ---- shared state (one test at a time per process) ---------------------- */

contract_state ct;

static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void g_init(void)
{
    pthread_mutex_init(&ct.lock, NULL);
    pthread_cond_init(&ct.cond, NULL);
}

void ct_reset(void)
{
    pthread_once(&g_once, g_init);
    pthread_mutex_lock(&ct.lock);
    ct.server = NULL;
    ct.notes = ct.out_of_order = 0;
    ct.next_note = 0;
    ct.entered = ct.finished = ct.pended = ct.cancels = 0;
    ct.gate_open = false;
    ct.stop_status = PARLEY_OK;
    ct.stop_ran = false;
    ct.srv_pending = ct.srv_cb_runs = ct.srv_bad = 0;
    ct.cb_runs = 0;
    pthread_mutex_unlock(&ct.lock);
}

int ct_iterations(int dflt)
{
    const char *e = getenv("PARLEY_TEST_ITERATIONS");
    int n = e != NULL ? atoi(e) : 0;

    return n > 0 ? n : dflt;
}


void ct_bump(int *counter)
{
    pthread_mutex_lock(&ct.lock);
    (*counter)++;
    pthread_cond_broadcast(&ct.cond);
    pthread_mutex_unlock(&ct.lock);
}

void ct_open_gate(void)
{
    pthread_mutex_lock(&ct.lock);
    ct.gate_open = true;
    pthread_cond_broadcast(&ct.cond);
    pthread_mutex_unlock(&ct.lock);
}

/* ---- server handlers ------------------------------------------------------ */

static parley_status h_note(parley_call *call, const void *in, void *out, void *data)
{
    const tp_echo *e = in;
    uint32_t seq = (uint32_t)strtoul(e->text, NULL, 10);

    (void)call; (void)out; (void)data;
    if (seq % 1000 == 999)
        usleep(1000);   /* a slow one now and then: the backlog grows */
    pthread_mutex_lock(&ct.lock);
    if (seq != ct.next_note)
        ct.out_of_order++;
    ct.next_note = seq + 1;
    ct.notes++;
    pthread_cond_broadcast(&ct.cond);
    pthread_mutex_unlock(&ct.lock);
    return PARLEY_OK;
}

parley_status ct_h_add(parley_call *call, const void *in, void *out, void *data)
{
    const tp_pair *p = in;

    (void)call; (void)data;
    ((tp_int *)out)->v = p->a + p->b;
    return PARLEY_OK;
}

/* BLOCKING: waits (bounded) for the gate. */
static parley_status h_gate(parley_call *call, const void *in, void *out, void *data)
{
    struct timespec dl;

    (void)call; (void)data;
    ct_bump(&ct.entered);
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 30;
    pthread_mutex_lock(&ct.lock);
    while (!ct.gate_open && pthread_cond_timedwait(&ct.cond, &ct.lock, &dl) == 0)
        ;
    ct.finished++;
    pthread_cond_broadcast(&ct.cond);
    pthread_mutex_unlock(&ct.lock);
    ((tp_tag *)out)->tag = ((const tp_sleep *)in)->tag;
    return PARLEY_OK;
}

static void pend_cancelled(parley_call *call, void *data)
{
    (void)data;
    (void)parley_call_complete(call, PARLEY_ERR_CANCELLED);
    ct_bump(&ct.cancels);
}

/* NONBLOCKING: pends until cancelled. */
static parley_status h_pend(parley_call *call, const void *in, void *out, void *data)
{
    parley_status st;

    (void)in; (void)out; (void)data;
    st = parley_call_pend(call, pend_cancelled, NULL);
    ct_bump(&ct.pended);
    return st;
}

/* Stops the server listening from inside a handler. */
static parley_status h_stop_listen(parley_call *call, const void *in, void *out, void *data)
{
    parley_status st = parley_peer_stop_listen(ct.server);

    (void)call; (void)in; (void)data;
    pthread_mutex_lock(&ct.lock);
    ct.stop_status = st;
    ct.stop_ran = true;
    pthread_cond_broadcast(&ct.cond);
    pthread_mutex_unlock(&ct.lock);
    ((tp_int *)out)->v = (int32_t)st;
    return PARLEY_OK;
}

/* Closes its own (incoming) session. */
static parley_status h_close_mine(parley_call *call, const void *in, void *out, void *data)
{
    (void)in; (void)out; (void)data;
    parley_session_close(parley_call_get_session(call));
    return PARLEY_OK;
}

/* An application error whose message is v bytes long ("é" is two). */
static parley_status h_remote(parley_call *call, const void *in, void *out, void *data)
{
    int32_t v = ((const tp_int *)in)->v;
    char *msg = malloc((size_t)v + 1);

    (void)out; (void)data;
    for (int32_t i = 0; i + 1 < v; i += 2)
        memcpy(msg + i, "\xc3\xa9", 2);
    msg[v & ~1] = '\0';
    (void)parley_call_set_remote_error(call, 7, "%s", msg);
    free(msg);
    return PARLEY_ERR_REMOTE;
}

static void back_done(parley_call *call, parley_status status, void *data)
{
    (void)data;
    pthread_mutex_lock(&ct.lock);
    if (status != PARLEY_OK && status != PARLEY_ERR_CONNECTION_CLOSED)
        ct.srv_bad++;
    ct.srv_cb_runs++;
    pthread_cond_broadcast(&ct.cond);
    pthread_mutex_unlock(&ct.lock);
    parley_call_release(call);
}

/* NONBLOCKING: calls ADD back on the caller's session, asynchronously. */
static parley_status h_call_back(parley_call *call, const void *in, void *out, void *data)
{
    parley_call *back;
    tp_pair req = { ((const tp_int *)in)->v, 1 };
    static tp_int *rep;

    (void)data;
    ((tp_int *)out)->v = 0;
    if (parley_session_acquire_call(parley_call_get_session(call), &back) != PARLEY_OK)
        return PARLEY_OK;   /* the session is closing */
    if (parley_call_dispatch(back, TP_ADD, &req, NULL, &rep, back_done, NULL) ==
        PARLEY_PENDING) {
        ct_bump(&ct.srv_pending);
    } else {
        parley_call_release(back);
    }
    return PARLEY_OK;
}

/* ---- peers ---------------------------------------------------------------- */


parley_peer *ct_server_start(TALLOC_CTX *mem, const server_opts *o, char **ret_endpoint)
{
    parley_peer *peer;
    parley_dispatch table[] = {
        { TP_NOTE, h_note, o->note_mode },
        { TP_ADD, ct_h_add, PARLEY_NONBLOCKING },
        { TP_SLEEP, h_gate, PARLEY_BLOCKING },
        { TP_PEND, h_pend, PARLEY_NONBLOCKING },
        { TP_FAIL, h_stop_listen, PARLEY_BLOCKING },
        { TP_CANCELS, h_stop_listen, PARLEY_NONBLOCKING },
        { TP_NOTES, h_close_mine, PARLEY_BLOCKING },
        { TP_REMOTE, h_remote, PARLEY_BLOCKING },
        { TP_CALLBACK, h_call_back, PARLEY_NONBLOCKING },
    };

    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_dispatch(peer, table, sizeof(table) / sizeof(table[0]),
                                              NULL), PARLEY_OK);
    if (o->max_outstanding > 0)
        ck_assert_int_eq(parley_peer_set_max_outstanding_calls(peer, o->max_outstanding),
                         PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_listen_endpoint(peer, "tcp:127.0.0.1:0", 0), PARLEY_OK);
    ck_assert_int_eq(parley_peer_start_listen(peer), PARLEY_OK);
    ck_assert_int_eq(parley_peer_get_listen_endpoint(peer, 0, mem, ret_endpoint), PARLEY_OK);
    pthread_mutex_lock(&ct.lock);
    ct.server = peer;
    pthread_mutex_unlock(&ct.lock);
    return peer;
}

parley_peer *ct_client_new(TALLOC_CTX *mem, const char *endpoint, size_t max_message)
{
    parley_peer *peer;

    ck_assert_int_eq(parley_peer_new(mem, tp_protocol(TP_V1), &peer), PARLEY_OK);
    if (max_message > 0)
        ck_assert_int_eq(parley_peer_set_max_message_size(peer, max_message), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_connect_endpoint(peer, endpoint), PARLEY_OK);
    return peer;
}

parley_session *ct_connect_to(parley_peer *client)
{
    parley_session *session;

    ck_assert_msg(parley_peer_connect(client, &session) == PARLEY_OK, "connect: %s",
                  parley_error_message());
    return session;
}

parley_status ct_add_sync(parley_session *session, int32_t a, int32_t b, int32_t *ret)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    parley_call *call;
    tp_pair req = { a, b };
    tp_int *rep = NULL;
    parley_status st = parley_session_acquire_call(session, &call);

    if (st == PARLEY_OK) {
        st = parley_call_dispatch(call, TP_ADD, &req, tmp, &rep, NULL, NULL);
        if (st == PARLEY_OK && ret != NULL)
            *ret = rep->v;
        parley_call_release(call);
    }
    talloc_free(tmp);
    return st;
}

/* A callback that counts its runs in ct.cb_runs (and in *data when set). */
void ct_count_done(parley_call *call, parley_status status, void *data)
{
    (void)call; (void)status;
    pthread_mutex_lock(&ct.lock);
    if (data != NULL)
        (*(int *)data)++;
    ct.cb_runs++;
    pthread_cond_broadcast(&ct.cond);
    pthread_mutex_unlock(&ct.lock);
}
