/* Handles (issue 5): server objects registered in a session, looked up with
 * a type check, cleaned up when unregistered or when the session ends.
 *
 * A handle is a small chunk of the session's table; it stays allocated (as
 * a "closed" slot) until the session ends, so a stale pointer is detected
 * (INVALID_HANDLE) instead of being read after a free.  Its wire id is its
 * slot index + 1 (0 is never used), see doc/wire.md. */
#include "config.h"

#include <string.h>

#include "runtime.h"
#include "status.h"

struct parley_handle {
    parley_session *session;
    uint32_t id;                       /* slot index + 1 */
    bool live;
    char *type;
    void *object;
    parley_handle_cleanup_fn cleanup;
    void *data;
};

typedef struct parley__handle_table {
    parley_handle **slots;             /* every handle made, live or closed */
    uint32_t n_slots;
    unsigned n_live;
} parley__handle_table;

static bool handle_in(parley_session *session, parley_handle *h)
{
    parley__handle_table *t = session->handles;

    return t != NULL && h->id >= 1 && h->id <= t->n_slots && t->slots[h->id - 1] == h;
}

PARLEY_PUBLIC parley_status parley_session_register_handle(parley_session *session,
                                                           const char *type, void *object,
                                                           parley_handle_cleanup_fn cleanup,
                                                           void *data,
                                                           parley_handle **ret_handle)
{
    parley__handle_table *t;
    parley_handle *h;
    parley_status st = PARLEY_OK;
    unsigned max;

    if (session == NULL || type == NULL || ret_handle == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_session_register_handle needs a session, a type and "
                             "ret_handle");
    pthread_mutex_lock(&session->peer->lock);
    max = session->peer->max_handles;
    pthread_mutex_unlock(&session->peer->lock);
    pthread_mutex_lock(&session->lock);
    if (session->ended) {
        st = parley__error(PARLEY_ERR_INVALID_STATE, "the session has ended");
        goto done;
    }
    if (session->handles == NULL) {
        session->handles = talloc_zero(session, parley__handle_table);
        if (session->handles == NULL) {
            st = parley__error(PARLEY_ERR_NOMEM, "out of memory registering a handle");
            goto done;
        }
    }
    t = session->handles;
    if (t->n_live >= max) {
        st = parley__error(PARLEY_ERR_BUSY, "the session holds %u handles, the most allowed",
                           t->n_live);
        goto done;
    }
    if (t->n_slots >= 0x7fffffffu) {
        st = parley__error(PARLEY_ERR_BUSY, "the session's handle ids are used up");
        goto done;
    }
    h = talloc_zero(t, parley_handle);
    if (h != NULL)
        h->type = talloc_strdup(h, type);
    if (h == NULL || h->type == NULL) {
        talloc_free(h);
        st = parley__error(PARLEY_ERR_NOMEM, "out of memory registering a handle");
        goto done;
    }
    {
        parley_handle **slots = talloc_realloc(t, t->slots, parley_handle *, t->n_slots + 1);

        if (slots == NULL) {
            talloc_free(h);
            st = parley__error(PARLEY_ERR_NOMEM, "out of memory registering a handle");
            goto done;
        }
        t->slots = slots;
    }
    h->session = session;
    h->id = t->n_slots + 1;
    h->live = true;
    h->object = object;
    h->cleanup = cleanup;
    h->data = data;
    t->slots[t->n_slots++] = h;
    t->n_live++;
    *ret_handle = h;
done:
    pthread_mutex_unlock(&session->lock);
    return st;
}

PARLEY_PUBLIC parley_status parley_session_get_handle(parley_session *session,
                                                      parley_handle *handle, const char *type,
                                                      void **ret_object)
{
    parley_status st = PARLEY_OK;

    if (session == NULL || handle == NULL || type == NULL || ret_object == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_session_get_handle needs a session, a handle, a type and "
                             "ret_object");
    pthread_mutex_lock(&session->lock);
    if (!handle_in(session, handle))
        st = parley__error(PARLEY_ERR_INVALID_HANDLE, "the handle is not from this session");
    else if (!handle->live)
        st = parley__error(PARLEY_ERR_INVALID_HANDLE, "the handle (id %u) is closed",
                           handle->id);
    else if (strcmp(handle->type, type) != 0)
        st = parley__error(PARLEY_ERR_INVALID_HANDLE, "the handle (id %u) is a %s, not a %s",
                           handle->id, handle->type, type);
    else
        *ret_object = handle->object;
    pthread_mutex_unlock(&session->lock);
    return st;
}

PARLEY_PUBLIC parley_status parley_session_unregister_handle(parley_session *session,
                                                             parley_handle *handle)
{
    parley_handle_cleanup_fn cleanup = NULL;
    void *object = NULL, *data = NULL;
    parley_status st = PARLEY_OK;

    if (session == NULL || handle == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_session_unregister_handle needs a session and a handle");
    pthread_mutex_lock(&session->lock);
    if (!handle_in(session, handle) || !handle->live) {
        st = parley__error(PARLEY_ERR_INVALID_HANDLE,
                           "the handle is not registered in this session");
    } else {
        handle->live = false;
        session->handles->n_live--;
        cleanup = handle->cleanup;
        object = handle->object;
        data = handle->data;
        handle->object = NULL;
    }
    pthread_mutex_unlock(&session->lock);
    if (cleanup != NULL)
        cleanup(object, data);   /* no lock held */
    return st;
}

void parley__handles_cleanup(parley_session *session)
{
    parley__handle_table *t;

    pthread_mutex_lock(&session->lock);
    t = session->handles;
    session->handles = NULL;
    pthread_mutex_unlock(&session->lock);
    if (t == NULL)
        return;
    for (uint32_t i = 0; i < t->n_slots; i++) {
        parley_handle *h = t->slots[i];

        if (h->live && h->cleanup != NULL)
            h->cleanup(h->object, h->data);
        h->live = false;
    }
    talloc_free(t);
}
