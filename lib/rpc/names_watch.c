/* SPDX-License-Identifier: MIT */
/*
 * Watching names: parley_name_watch().  A watcher is an internal peer
 * speaking parley_names (its I/O thread runs the callback, plus one worker),
 * a session on which parleyd calls parley_names_watch.changed, and a thread
 * that watches again when parleyd comes back after a restart: as for
 * registrations (names_client.c), a `hold` call that parleyd never answers
 * tells it the session ended.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "parley/peer.h"
#include "parley/session.h"
#include "parley/call.h"
#include "parley/names.h"
#include "../codec/status.h"
#include "../io/thread.h"
#include "name_service.h"
#include "name_service_private.h"
#include "parley_names.h"

#define RETRY_FIRST_MS 50
#define RETRY_MAX_MS 2000

struct parley_name_watcher {
    parley_peer *peer;
    parley_name_watch_fn fn;
    void *data;
    char *pattern;
    pthread_mutex_t lock;        /* guards what follows */
    pthread_cond_t cond;
    parley_session *session;     /* replaced by the keeper thread only */
    parley_call *hold;
    parley_names_hold_reply *hold_out;
    bool lost, stop, thread_started, initialized;
    pthread_t thread;
};

static parley_status on_changed(parley_call *call, const parley_names_changed_request *in,
                                parley_names_changed_reply *out, void *data)
{
    parley_name_watcher *w = data;
    parley_name_info info;

    (void)call; (void)out;
    parley__names_fill_info(&info, &in->e);
    w->fn(&info, in->gone, w->data);
    return PARLEY_OK;
}

static const parley_names_handlers handlers = {
    .changed = { on_changed, PARLEY_NONBLOCKING },
};

static void hold_done(parley_call *call, parley_status status, void *data)
{
    parley_name_watcher *w = data;

    (void)status;
    pthread_mutex_lock(&w->lock);
    if (w->hold == call) {
        w->hold = NULL;
        w->lost = true;
        pthread_cond_broadcast(&w->cond);
    }
    pthread_mutex_unlock(&w->lock);
    parley_call_release(call);
}

/* Ask for the changes on session, then start its hold call.  Not locked. */
static parley_status start_watch(parley_name_watcher *w, parley_session *session)
{
    static const parley_names_hold_request hold_in;
    parley_names_watch_request in = { w->pattern };
    parley_names_watch_reply *out;
    TALLOC_CTX *tmp = talloc_new(NULL);
    parley_call *call;
    parley_status st = parley__names_call(session, PARLEY_NAMES_METHOD_WATCH, &in, tmp, &out,
                                          "watching names");

    TALLOC_FREE(tmp);
    if (st != PARLEY_OK)
        return st;
    st = parley_session_acquire_call(session, &call);
    if (st != PARLEY_OK)
        return st;
    pthread_mutex_lock(&w->lock);
    w->hold = call;
    st = parley_call_dispatch(call, PARLEY_NAMES_METHOD_HOLD, &hold_in, NULL, &w->hold_out,
                              hold_done, w);
    if (st != PARLEY_PENDING) {
        w->hold = NULL;
        pthread_mutex_unlock(&w->lock);
        parley_call_release(call);
        return st == PARLEY_OK ? PARLEY_ERR_INTERNAL : st;
    }
    w->lost = false;
    pthread_mutex_unlock(&w->lock);
    return PARLEY_OK;
}

static void *keeper(void *arg)
{
    parley_name_watcher *w = arg;
    unsigned delay = RETRY_FIRST_MS;

    pthread_mutex_lock(&w->lock);
    while (!w->stop) {
        struct timespec t;
        parley_session *old, *session = NULL;

        if (!w->lost) {
            delay = RETRY_FIRST_MS;
            pthread_cond_wait(&w->cond, &w->lock);
            continue;
        }
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_sec += delay / 1000;
        t.tv_nsec += (long)(delay % 1000) * 1000000L;
        if (t.tv_nsec >= 1000000000L) {
            t.tv_sec++;
            t.tv_nsec -= 1000000000L;
        }
        (void)pthread_cond_timedwait(&w->cond, &w->lock, &t);
        if (w->stop || !w->lost)
            continue;
        old = w->session;
        w->session = NULL;
        pthread_mutex_unlock(&w->lock);
        if (old != NULL)
            parley_session_close(old);
        if (parley_peer_connect(w->peer, &session) == PARLEY_OK &&
            start_watch(w, session) != PARLEY_OK) {
            /* lost stays true: try again */
        }
        pthread_mutex_lock(&w->lock);
        w->session = session;
        delay = delay * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : delay * 2;
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static int watcher_destructor(parley_name_watcher *w)
{
    if (!w->initialized)
        return 0;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    if (w->thread_started)
        pthread_join(w->thread, NULL);
    /* joins the thread that runs fn; the hold call's callback runs first */
    TALLOC_FREE(w->peer);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    return 0;
}

PARLEY_PUBLIC parley_status parley_name_watch(TALLOC_CTX *mem_ctx, const char *service,
                                              const char *pattern, parley_name_watch_fn fn,
                                              void *data, parley_name_watcher **ret_watcher)
{
    parley_name_watcher *w;
    parley_status st;

    if (fn == NULL || ret_watcher == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_name_watch needs a callback and ret_watcher");
    st = parley__names_check_pattern(pattern);
    if (st != PARLEY_OK)
        return st;
    w = talloc_zero(mem_ctx, parley_name_watcher);
    if (w == NULL || (w->pattern = talloc_strdup(w, pattern)) == NULL) {
        talloc_free(w);
        return parley__error(PARLEY_ERR_NOMEM, "out of memory making a names watcher");
    }
    w->fn = fn;
    w->data = data;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    w->initialized = true;
    talloc_set_destructor(w, watcher_destructor);
    st = parley__names_open(w, service, &handlers, w, &w->peer, &w->session);
    if (st == PARLEY_OK)
        st = start_watch(w, w->session);
    if (st == PARLEY_OK) {
        if (parley__thread_create(&w->thread, NULL, keeper, w) == 0)
            w->thread_started = true;
        else
            st = parley__error(PARLEY_ERR_SYSTEM, "cannot start the names watcher's thread");
    }
    if (st != PARLEY_OK) {
        talloc_free(w);
        return st;
    }
    *ret_watcher = w;
    return PARLEY_OK;
}
