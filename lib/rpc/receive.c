/* SPDX-License-Identifier: MIT */
/* Queued receive: the methods given to parley_peer_add_queue() are served
 * by one handler of this module, which pends each incoming call and queues
 * it; parley_peer_receive() takes them on the application's thread, which
 * completes them with parley_call_complete().
 *
 * Backpressure: a call that leaves the queue at `capacity` or more pauses
 * the reading of its session (PARLEY__CONN_PAUSE_QUEUE, a reference on the
 * session held meanwhile); once the queue is below capacity again every
 * paused session resumes.  The handler runs on the I/O thread, between two
 * frames of the connection, so a paused session delivers no further request
 * and the queue holds at most capacity plus one call per session.
 *
 * Cancel: the cancel function (a CANCEL frame, or the session's end) takes
 * a still queued call out and completes it with CANCELLED; a call already
 * received is the receiver's to complete.
 *
 * Locks: the queue's lock before session->lock (a reference) and before the
 * connection's (a pause); nothing takes the queue's lock holding either. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "parley/receive.h"
#include "call.h"
#include "fork.h"
#include "peer.h"
#include "receive.h"
#include "status.h"

#define QUEUE_CAPACITY_MAX 65536u

typedef struct queued {
    struct queued *next, *prev;
    parley_call *call;
} queued;

typedef struct paused {
    struct paused *next;
    parley_session *session;     /* a reference held */
} paused;

typedef struct parley__receive_queue {
    pthread_mutex_t lock;
    pthread_cond_t cond;         /* a call queued, or closed */
    pthread_cond_t idle;         /* the last receiver left (closed) */
    unsigned capacity;
    unsigned n;                  /* calls queued */
    queued *head, *tail;
    paused *paused;              /* sessions paused by this queue */
    unsigned n_receivers;        /* inside parley_peer_receive() */
    bool closed;                 /* the peer goes */
} parley__receive_queue;

/* Under q->lock: resume every paused session once below capacity; returns
 * the list whose references the caller drops after unlocking. */
static paused *resume_locked(parley__receive_queue *q)
{
    paused *list = NULL;

    if (q->n < q->capacity) {
        list = q->paused;
        q->paused = NULL;
        for (paused *p = list; p != NULL; p = p->next)
            parley__conn_set_queue_paused(p->session->conn, false);
    }
    return list;
}

static void drop_paused(paused *list)
{
    while (list != NULL) {
        paused *next = list->next;

        parley__session_unref(list->session);
        free(list);
        list = next;
    }
}

/* Under q->lock: unlink one entry. */
static void unlink_locked(parley__receive_queue *q, queued *e)
{
    if (e->prev != NULL)
        e->prev->next = e->next;
    else
        q->head = e->next;
    if (e->next != NULL)
        e->next->prev = e->prev;
    else
        q->tail = e->prev;
    q->n--;
}

/* A queued call's cancel function: out of the queue, completed CANCELLED.
 * Not found: a receiver has it and completes it. */
static void queued_cancelled(parley_call *call, void *data)
{
    parley__receive_queue *q = data;
    queued *e;
    paused *resumed = NULL;

    pthread_mutex_lock(&q->lock);
    for (e = q->head; e != NULL && e->call != call; e = e->next)
        ;
    if (e != NULL) {
        unlink_locked(q, e);
        resumed = resume_locked(q);
    }
    pthread_mutex_unlock(&q->lock);
    drop_paused(resumed);
    if (e != NULL) {
        free(e);
        (void)parley_call_complete(call, PARLEY_ERR_CANCELLED);
    }
}

/* The handler of every queued method (non-blocking, on the I/O thread). */
static parley_status enqueue(parley_call *call, const void *in, void *out, void *data)
{
    parley__receive_queue *q = data;
    parley_session *session = parley_call_get_session(call);
    queued *e = calloc(1, sizeof(*e));
    paused *p = NULL;
    parley_status st;

    (void)in;
    (void)out;
    if (e == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory queueing a call of %s",
                             call->method->name);
    st = parley_call_pend(call, queued_cancelled, q);
    if (st != PARLEY_PENDING) {
        free(e);
        return st;
    }
    e->call = call;
    pthread_mutex_lock(&q->lock);
    if (q->closed) {
        pthread_mutex_unlock(&q->lock);
        free(e);
        (void)parley_call_complete(call, PARLEY_ERR_CONNECTION_CLOSED);
        return PARLEY_PENDING;
    }
    e->prev = q->tail;
    if (q->tail != NULL)
        q->tail->next = e;
    else
        q->head = e;
    q->tail = e;
    q->n++;
    if (q->n >= q->capacity) {
        bool already = false;

        for (paused *x = q->paused; x != NULL && !already; x = x->next)
            already = x->session == session;
        if (!already && (p = calloc(1, sizeof(*p))) != NULL) {
            parley__session_ref(session);
            p->session = session;
            p->next = q->paused;
            q->paused = p;
            parley__conn_set_queue_paused(session->conn, true);
        }
        /* Out of memory for the record: not paused; the queue still takes
         * the call (the sender's own limits bound it). */
    }
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->lock);
    return PARLEY_PENDING;
}

static int queue_destructor(parley__receive_queue *q)
{
    /* The peer's destructor ran: its sessions are closed (every queued call
     * was cancelled) and every incoming call finished.  Wake the receivers
     * and wait for them to leave. */
    pthread_mutex_lock(&q->lock);
    q->closed = true;
    pthread_cond_broadcast(&q->cond);
    while (q->n_receivers > 0)
        pthread_cond_wait(&q->idle, &q->lock);
    pthread_mutex_unlock(&q->lock);
    while (q->head != NULL) {
        queued *e = q->head;

        q->head = e->next;
        free(e);
    }
    for (paused *p = q->paused, *next; p != NULL; p = next) {
        next = p->next;
        free(p);       /* the session is orphaned with the peer */
    }
    pthread_cond_destroy(&q->cond);
    pthread_cond_destroy(&q->idle);
    pthread_mutex_destroy(&q->lock);
    return 0;
}

static parley_status queue_new(parley_peer *peer, unsigned capacity,
                               parley__receive_queue **ret)
{
    parley__receive_queue *q = talloc_zero(peer, parley__receive_queue);
    pthread_condattr_t attr;

    if (q == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory creating the receive queue");
    pthread_mutex_init(&q->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_cond_init(&q->idle, NULL);
    q->capacity = capacity;
    talloc_set_destructor(q, queue_destructor);
    *ret = q;
    return PARLEY_OK;
}

PARLEY_PUBLIC parley_status parley_peer_add_queue(parley_peer *peer, const uint32_t *method_ids,
                                                  size_t n, unsigned capacity)
{
    parley__receive_queue *q;
    parley_dispatch *table;
    parley_status st;
    bool created = false;

    if (peer == NULL || method_ids == NULL || n == 0)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_add_queue needs a peer and at least one method id");
    if (capacity == 0 || capacity > QUEUE_CAPACITY_MAX)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_add_queue: capacity %u is not in 1..%u", capacity,
                             QUEUE_CAPACITY_MAX);
    PARLEY__FORK_GUARD(peer);
    /* Like every setting of the peer: before it starts, from one thread. */
    q = peer->receive_queue;
    if (q != NULL && q->capacity != capacity)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_add_queue: the peer's queue has capacity %u, not %u",
                             q->capacity, capacity);
    if (q == NULL) {
        st = queue_new(peer, capacity, &q);
        if (st != PARLEY_OK)
            return st;
        created = true;
    }
    table = talloc_zero_array(NULL, parley_dispatch, n);
    if (table == NULL) {
        if (created)
            talloc_free(q);
        return parley__error(PARLEY_ERR_NOMEM, "out of memory adding a receive queue");
    }
    for (size_t i = 0; i < n; i++) {
        table[i].method_id = method_ids[i];
        table[i].handler = enqueue;
        table[i].mode = PARLEY_NONBLOCKING;
    }
    st = parley_peer_add_dispatch(peer, table, n, q);
    talloc_free(table);
    if (st != PARLEY_OK) {
        if (created)
            talloc_free(q);
        return parley__error_prefix(st, "parley_peer_add_queue");
    }
    peer->receive_queue = q;
    return PARLEY_OK;
}

PARLEY_PUBLIC parley_status parley_peer_receive(parley_peer *peer, int64_t timeout_ms,
                                                parley_call **ret_call)
{
    parley__receive_queue *q;
    struct timespec until;
    queued *e = NULL;
    paused *resumed = NULL;
    parley_status st = PARLEY_OK;

    if (peer == NULL || ret_call == NULL || timeout_ms < PARLEY_RECEIVE_FOREVER)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_receive needs a peer, ret_call and a timeout of "
                             "0 or more ms (or PARLEY_RECEIVE_FOREVER)");
    PARLEY__FORK_GUARD(peer);
    q = peer->receive_queue;
    if (q == NULL)
        return parley__error(PARLEY_ERR_INVALID_STATE,
                             "parley_peer_receive: the peer has no queue "
                             "(parley_peer_add_queue())");
    if (parley__loop_in_thread(peer->loop))
        return parley__error(PARLEY_ERR_INVALID_STATE,
                             "parley_peer_receive would block the peer's I/O thread");
    if (timeout_ms > 0) {
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += (time_t)(timeout_ms / 1000);
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&q->lock);
    q->n_receivers++;
    for (;;) {
        if (q->closed) {
            st = parley__error(PARLEY_ERR_CONNECTION_CLOSED,
                               "parley_peer_receive: the peer is being freed");
            break;
        }
        if (q->head != NULL) {
            e = q->head;
            unlink_locked(q, e);
            resumed = resume_locked(q);
            break;
        }
        if (timeout_ms == 0 ||
            (timeout_ms > 0 && pthread_cond_timedwait(&q->cond, &q->lock, &until) == ETIMEDOUT &&
             q->head == NULL && !q->closed)) {
            st = parley__error(PARLEY_ERR_TIMEOUT, "parley_peer_receive: no call came within "
                               "%lld ms", (long long)timeout_ms);
            break;
        }
        if (timeout_ms < 0)
            pthread_cond_wait(&q->cond, &q->lock);
    }
    if (--q->n_receivers == 0 && q->closed)
        pthread_cond_broadcast(&q->idle);
    pthread_mutex_unlock(&q->lock);
    drop_paused(resumed);
    if (e != NULL) {
        *ret_call = e->call;
        free(e);
    }
    return st;
}

void parley__receive_state(parley_peer *peer, unsigned *ret_queued, unsigned *ret_receivers)
{
    parley__receive_queue *q = peer->receive_queue;

    *ret_queued = *ret_receivers = 0;
    if (q == NULL)
        return;
    pthread_mutex_lock(&q->lock);
    *ret_queued = q->n;
    *ret_receivers = q->n_receivers;
    pthread_mutex_unlock(&q->lock);
}
