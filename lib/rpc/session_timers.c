/* SPDX-License-Identifier: MIT */
/* Establish and idle timeouts.  One loop timer per session, armed
 * and fired on the loop thread only:
 * - establish: an incoming connection whose HELLO has not arrived within
 *   peer->establish_ms is closed (BYE TIMEOUT), so silent or slow clients
 *   cannot hold a slot;
 * - idle: once the handshake is done, a session with no call running or
 *   awaited in either direction and no frame received for peer->idle_ms is
 *   closed (BYE TIMEOUT).  The timer is re-armed for the remaining time
 *   while there is activity. */
#include "config.h"

#include <stdio.h>

#include "session.h"
#include "status.h"

static int64_t load_ms(const int64_t *field)
{
    return __atomic_load_n(field, __ATOMIC_RELAXED);
}

void parley__session_touch(parley_session *session)
{
    /* Only worth a clock read when an idle timeout is set. */
    if (load_ms(&session->peer->idle_ms) > 0)
        __atomic_store_n(&session->last_activity_ms, parley__now_ms(), __ATOMIC_RELAXED);
}

static void idle_fire(void *data)
{
    parley_session *session = data;
    int64_t idle = load_ms(&session->peer->idle_ms);
    uint64_t now = parley__now_ms();
    uint64_t last = __atomic_load_n(&session->last_activity_ms, __ATOMIC_RELAXED);
    bool busy, ready;
    char why[128];

    pthread_mutex_lock(&session->lock);
    busy = session->n_running > 0 || session->n_outstanding > 0;
    ready = session->state == PARLEY__SESSION_READY;
    pthread_mutex_unlock(&session->lock);
    if (!ready || idle <= 0)
        return;
    if (busy) {
        parley__loop_timer_arm(session->peer->loop, &session->timer, now + (uint64_t)idle,
                               idle_fire, session);
        return;
    }
    if (now < last + (uint64_t)idle) {
        parley__loop_timer_arm(session->peer->loop, &session->timer, last + (uint64_t)idle,
                               idle_fire, session);
        return;
    }
    snprintf(why, sizeof(why), "the session was idle for %lld ms", (long long)idle);
    pthread_mutex_lock(&session->lock);
    session->idle_closed = true;   /* configured, expected: no exception */
    pthread_mutex_unlock(&session->lock);
    parley__session_close_conn(session, PARLEY_ERR_TIMEOUT, why);
}

static void establish_fire(void *data)
{
    parley_session *session = data;
    bool waiting;
    char why[128];

    pthread_mutex_lock(&session->lock);
    waiting = session->state == PARLEY__SESSION_HANDSHAKE;
    pthread_mutex_unlock(&session->lock);
    if (!waiting)
        return;
    snprintf(why, sizeof(why), "no HELLO within the establish timeout (%lld ms)",
             (long long)load_ms(&session->peer->establish_ms));
    parley__session_close_conn(session, PARLEY_ERR_TIMEOUT, why);
}

/* Loop thread (parley__loop_call): arm the establish timer. */
static void start_task(void *data)
{
    parley_session *session = data;
    int64_t ms = load_ms(&session->peer->establish_ms);
    bool open;

    pthread_mutex_lock(&session->lock);
    open = session->state == PARLEY__SESSION_HANDSHAKE;
    pthread_mutex_unlock(&session->lock);
    if (open && ms > 0)
        parley__loop_timer_arm(session->peer->loop, &session->timer,
                               parley__now_ms() + (uint64_t)ms, establish_fire, session);
}

void parley__session_timers_start(parley_session *session)
{
    parley__session_touch(session);
    if (session->incoming && load_ms(&session->peer->establish_ms) > 0)
        (void)parley__loop_call(session->peer->loop, start_task, session);
}

void parley__session_timers_ready(parley_session *session)
{
    int64_t ms = load_ms(&session->peer->idle_ms);

    __atomic_store_n(&session->last_activity_ms, parley__now_ms(), __ATOMIC_RELAXED);
    if (ms > 0)
        parley__loop_timer_arm(session->peer->loop, &session->timer,
                               parley__now_ms() + (uint64_t)ms, idle_fire, session);
    else
        parley__loop_timer_cancel(session->peer->loop, &session->timer);
}

void parley__session_timers_stop(parley_session *session)
{
    parley__loop_timer_cancel(session->peer->loop, &session->timer);
}
