/* SPDX-License-Identifier: MIT */
/* Handles: server objects registered in a session, looked up with
 * a type check, cleaned up when unregistered or when the session ends.
 *
 * A parley_handle pointer is never dereferenced: its value is a process-wide
 * serial number (1, 2, ...), so a handle of another session, an unregistered
 * one or one of a session that has ended is recognised as such
 * (INVALID_HANDLE) without reading freed memory.  A session's entries are
 * kept in registration order (serials increase), found by binary search,
 * and stay as "closed" slots until the session ends.  The wire id of a
 * handle is its slot index + 1 (0 is never used), see doc/wire.md. */
#include "config.h"

#include <string.h>

#include "session.h"
#include "status.h"

typedef struct handle_entry {
    uintptr_t serial;                  /* the parley_handle pointer's value */
    uint32_t id;                       /* slot index + 1 */
    bool live;
    char *type;
    void *object;
    parley_handle_cleanup_fn cleanup;
    void *data;
} handle_entry;

static uintptr_t next_serial = 1;      /* atomic */

typedef struct parley__handle_table {
    handle_entry **slots;              /* every handle made, live or closed */
    uint32_t n_slots;
    unsigned n_live;
} parley__handle_table;

/* The entry of handle h in the session's table, or NULL.  Under lock. */
static handle_entry *handle_find(parley_session *session, parley_handle *h)
{
    parley__handle_table *t = session->handles;
    uintptr_t serial = (uintptr_t)h;
    uint32_t lo = 0, hi;

    if (t == NULL)
        return NULL;
    hi = t->n_slots;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;

        if (t->slots[mid]->serial < serial)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < t->n_slots && t->slots[lo]->serial == serial ? t->slots[lo] : NULL;
}

PARLEY_PUBLIC parley_status parley_session_register_handle(parley_session *session,
                                                           const char *type, void *object,
                                                           parley_handle_cleanup_fn cleanup,
                                                           void *data,
                                                           parley_handle **ret_handle)
{
    parley__handle_table *t;
    handle_entry *h;
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
    h = talloc_zero(t, handle_entry);
    if (h != NULL)
        h->type = talloc_strdup(h, type);
    if (h == NULL || h->type == NULL) {
        talloc_free(h);
        st = parley__error(PARLEY_ERR_NOMEM, "out of memory registering a handle");
        goto done;
    }
    {
        handle_entry **slots = talloc_realloc(t, t->slots, handle_entry *, t->n_slots + 1);

        if (slots == NULL) {
            talloc_free(h);
            st = parley__error(PARLEY_ERR_NOMEM, "out of memory registering a handle");
            goto done;
        }
        t->slots = slots;
    }
    h->serial = __atomic_fetch_add(&next_serial, 1, __ATOMIC_RELAXED);
    h->id = t->n_slots + 1;
    h->live = true;
    h->object = object;
    h->cleanup = cleanup;
    h->data = data;
    t->slots[t->n_slots++] = h;
    t->n_live++;
    *ret_handle = (parley_handle *)h->serial;
done:
    pthread_mutex_unlock(&session->lock);
    return st;
}

PARLEY_PUBLIC parley_status parley_session_get_handle(parley_session *session,
                                                      parley_handle *handle, const char *type,
                                                      void **ret_object)
{
    parley_status st = PARLEY_OK;
    handle_entry *e;

    if (session == NULL || handle == NULL || type == NULL || ret_object == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_session_get_handle needs a session, a handle, a type and "
                             "ret_object");
    pthread_mutex_lock(&session->lock);
    e = handle_find(session, handle);
    if (e == NULL)
        st = parley__error(PARLEY_ERR_INVALID_HANDLE, "the handle is not from this session");
    else if (!e->live)
        st = parley__error(PARLEY_ERR_INVALID_HANDLE, "the handle (id %u) is closed", e->id);
    else if (strcmp(e->type, type) != 0)
        st = parley__error(PARLEY_ERR_INVALID_HANDLE, "the handle (id %u) is a %s, not a %s",
                           e->id, e->type, type);
    else
        *ret_object = e->object;
    pthread_mutex_unlock(&session->lock);
    return st;
}

PARLEY_PUBLIC parley_status parley_session_unregister_handle(parley_session *session,
                                                             parley_handle *handle)
{
    parley_handle_cleanup_fn cleanup = NULL;
    void *object = NULL, *data = NULL;
    parley_status st = PARLEY_OK;
    handle_entry *e;

    if (session == NULL || handle == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_session_unregister_handle needs a session and a handle");
    pthread_mutex_lock(&session->lock);
    e = handle_find(session, handle);
    if (e == NULL || !e->live) {
        st = parley__error(PARLEY_ERR_INVALID_HANDLE,
                           "the handle is not registered in this session");
    } else {
        e->live = false;
        session->handles->n_live--;
        cleanup = e->cleanup;
        object = e->object;
        data = e->data;
        e->object = NULL;
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
        handle_entry *h = t->slots[i];

        if (h->live && h->cleanup != NULL)
            h->cleanup(h->object, h->data);
        h->live = false;
    }
    talloc_free(t);
}

/* ---- on the wire -------------------------------------------------------
 * A handle travels as a u32.  Bit 31 says whose table the id indexes, seen
 * from the sender: 0 = the sender's own handle (its slot id), 1 = a handle
 * of the receiver being sent back (the id the receiver gave it).  So either
 * end may send its own handles and return the other's.  A handle received
 * from the other end is a proxy: a serial in the session's proxy list,
 * usable only to send it back (parley_session_get_handle() on it gives
 * INVALID_HANDLE).  Proxies count against max handles and go with the
 * session. */

#define HANDLE_YOURS 0x80000000u

typedef struct proxy_entry {
    uintptr_t serial;
    uint32_t remote_id;
    const char *type;            /* the IDL type name (static) */
} proxy_entry;

typedef struct parley__proxy_table {
    proxy_entry *proxies;
    uint32_t n;
} parley__proxy_table;

static parley_status to_wire(void *data, const parley_type *type, parley_handle *h,
                             uint32_t *ret_id)
{
    parley_session *session = data;
    parley_status st = PARLEY_ERR_INVALID_HANDLE;
    handle_entry *e;

    pthread_mutex_lock(&session->lock);
    e = handle_find(session, h);
    if (e != NULL) {
        if (e->live && type->name != NULL && strcmp(e->type, type->name) == 0) {
            *ret_id = e->id;
            st = PARLEY_OK;
        }
    } else if (session->proxies != NULL) {
        parley__proxy_table *pt = session->proxies;

        for (uint32_t i = 0; i < pt->n; i++) {
            if (pt->proxies[i].serial == (uintptr_t)h) {
                if (type->name != NULL && strcmp(pt->proxies[i].type, type->name) == 0) {
                    *ret_id = pt->proxies[i].remote_id | HANDLE_YOURS;
                    st = PARLEY_OK;
                }
                break;
            }
        }
    }
    pthread_mutex_unlock(&session->lock);
    return st;
}

static parley_status from_wire(void *data, const parley_type *type, uint32_t id,
                               parley_handle **ret_h)
{
    parley_session *session = data;
    parley_status st = PARLEY_ERR_INVALID_HANDLE;
    uint32_t local = id & ~HANDLE_YOURS;

    if (type->name == NULL || local == 0)
        return PARLEY_ERR_INVALID_HANDLE;
    pthread_mutex_lock(&session->lock);
    if ((id & HANDLE_YOURS) != 0) {
        parley__handle_table *t = session->handles;

        if (t != NULL && local <= t->n_slots && t->slots[local - 1]->live &&
            strcmp(t->slots[local - 1]->type, type->name) == 0) {
            *ret_h = (parley_handle *)t->slots[local - 1]->serial;
            st = PARLEY_OK;
        }
    } else {
        parley__proxy_table *pt = session->proxies;
        unsigned max;

        if (pt == NULL) {
            pt = session->proxies = talloc_zero(session, parley__proxy_table);
            if (pt == NULL) {
                st = PARLEY_ERR_NOMEM;
                goto done;
            }
        }
        for (uint32_t i = 0; i < pt->n; i++) {
            if (pt->proxies[i].remote_id == local) {
                if (strcmp(pt->proxies[i].type, type->name) == 0) {
                    *ret_h = (parley_handle *)pt->proxies[i].serial;
                    st = PARLEY_OK;
                }
                goto done;
            }
        }
        max = __atomic_load_n(&session->peer->max_handles, __ATOMIC_RELAXED);
        if (pt->n >= max) {
            st = PARLEY_ERR_BUSY;
            goto done;
        }
        {
            proxy_entry *p = talloc_realloc(pt, pt->proxies, proxy_entry, pt->n + 1);

            if (p == NULL) {
                st = PARLEY_ERR_NOMEM;
                goto done;
            }
            pt->proxies = p;
            p[pt->n].serial = __atomic_fetch_add(&next_serial, 1, __ATOMIC_RELAXED);
            p[pt->n].remote_id = local;
            p[pt->n].type = type->name;
            *ret_h = (parley_handle *)p[pt->n].serial;
            pt->n++;
            st = PARLEY_OK;
        }
    }
done:
    pthread_mutex_unlock(&session->lock);
    return st;
}

static const parley_handle_ops session_handle_ops = { to_wire, from_wire };

void parley__session_codec(parley_session *session, parley_codec *codec)
{
    memset(codec, 0, sizeof(*codec));
    codec->handles = &session_handle_ops;
    codec->handle_data = session;
}
