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


struct parley_name_watcher {
    parley_peer *peer;
    parley_name_watch_fn fn;
    void *data;
    char *pattern;
    parley__names_hold h;        /* h.lock guards what follows too */
    parley_session *session;     /* replaced by the keeper thread only */
    bool thread_started, initialized;
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

/* Ask for the changes on session, then start its hold call.  Not locked. */
static parley_status start_watch(parley_name_watcher *w, parley_session *session)
{
    parley_names_watch_request in = { w->pattern };
    parley_names_watch_reply *out;
    TALLOC_CTX *tmp = talloc_new(NULL);
    parley_status st = parley__names_call(session, PARLEY_NAMES_METHOD_WATCH, &in, tmp, &out,
                                          "watching names");

    TALLOC_FREE(tmp);
    if (st != PARLEY_OK)
        return st;
    pthread_mutex_lock(&w->h.lock);
    st = parley__names_hold_start(&w->h, session);
    pthread_mutex_unlock(&w->h.lock);
    return st;
}

static void *keeper(void *arg)
{
    parley_name_watcher *w = arg;
    unsigned delay = PARLEY__NAMES_RETRY_FIRST_MS;

    pthread_mutex_lock(&w->h.lock);
    while (parley__names_hold_wait(&w->h, &delay)) {
        parley_session *old = w->session, *session = NULL;

        w->session = NULL;
        pthread_mutex_unlock(&w->h.lock);
        if (old != NULL)
            parley_session_close(old);
        if (parley_peer_connect(w->peer, &session) == PARLEY_OK)
            (void)start_watch(w, session);   /* failed: lost stays true, try again */
        pthread_mutex_lock(&w->h.lock);
        w->session = session;
    }
    pthread_mutex_unlock(&w->h.lock);
    return NULL;
}

static int watcher_destructor(parley_name_watcher *w)
{
    if (!w->initialized)
        return 0;
    pthread_mutex_lock(&w->h.lock);
    w->h.stop = true;
    pthread_cond_broadcast(&w->h.cond);
    pthread_mutex_unlock(&w->h.lock);
    if (w->thread_started)
        pthread_join(w->thread, NULL);
    /* joins the thread that runs fn; the hold call's callback runs first */
    TALLOC_FREE(w->peer);
    pthread_cond_destroy(&w->h.cond);
    pthread_mutex_destroy(&w->h.lock);
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
    pthread_mutex_init(&w->h.lock, NULL);
    pthread_cond_init(&w->h.cond, NULL);
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
