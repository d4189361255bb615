/* SPDX-License-Identifier: MIT */
/* Monitors: the built-in method PARLEY_METHOD_MONITOR (doc/wire.md,
 * "Monitoring").  A client calls it to subscribe; the peer checks who may
 * (parley_peer_set_monitor()), then sends the subscriber one ONEWAY frame of
 * that method per call it handles or makes, with the values as redacted
 * JSON.  It never waits for a subscriber: an event that would queue more
 * than MONITOR_BACKLOG bytes on the subscriber's connection is dropped and
 * counted, and the count rides on the next event that goes.
 *
 * Locks: one process-wide mutex guards every peer's subscriber list; it is
 * taken before a session's lock (the try-reference), never inside one. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "parley/data.h"
#include "call.h"
#include "fork.h"
#include "session.h"
#include "status.h"

/* Bytes waiting on a subscriber's connection past which events are dropped. */
#define MONITOR_BACKLOG (64u * 1024u)

#define EVENT_OUTGOING 0x1u
#define EVENT_ONEWAY   0x2u

static pthread_mutex_t monitor_lock = PTHREAD_MUTEX_INITIALIZER;

/* The subscription's request and reply: empty structs. */
typedef struct monitor_empty { uint8_t unused; } monitor_empty;
static const parley_type empty_type = {
    .kind = PARLEY_KIND_STRUCT, .name = "parley_monitor_request", .size = sizeof(monitor_empty),
};

/* One event on the wire (doc/wire.md). */
typedef struct monitor_wire {
    int64_t time_ns;
    uint32_t session;
    uint32_t flags;
    uint32_t call_id;
    uint32_t method_id;
    char *method;
    int32_t status;
    uint64_t duration_ns;
    char *request;
    char *reply;
    uint64_t dropped;
} monitor_wire;

static const parley_field wire_fields[] = {
    PARLEY_FIELD(monitor_wire, time_ns, parley_type_int64),
    PARLEY_FIELD(monitor_wire, session, parley_type_uint32),
    PARLEY_FIELD(monitor_wire, flags, parley_type_uint32),
    PARLEY_FIELD(monitor_wire, call_id, parley_type_uint32),
    PARLEY_FIELD(monitor_wire, method_id, parley_type_uint32),
    PARLEY_FIELD(monitor_wire, method, parley_type_string),
    PARLEY_FIELD(monitor_wire, status, parley_type_int32),
    PARLEY_FIELD(monitor_wire, duration_ns, parley_type_uint64),
    PARLEY_FIELD(monitor_wire, request, parley_type_string),
    PARLEY_FIELD(monitor_wire, reply, parley_type_string),
    PARLEY_FIELD(monitor_wire, dropped, parley_type_uint64),
};
static const parley_type wire_type = PARLEY_STRUCT_TYPE(monitor_wire, wire_fields);

static const parley_method monitor_method = {
    .id = PARLEY_METHOD_MONITOR,
    .name = "monitor",
    .interface = "parley",
    .request = &empty_type,
    .reply = &empty_type,
};

const parley_method *parley__monitor_method(void)
{
    return &monitor_method;
}

PARLEY_PUBLIC parley_status parley_peer_set_monitor(parley_peer *peer,
                                                    parley_monitor_access access)
{
    if (peer == NULL || (access != PARLEY_MONITOR_SAME_UID && access != PARLEY_MONITOR_OFF &&
                         access != PARLEY_MONITOR_ANYONE))
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_set_monitor needs a peer and a PARLEY_MONITOR_* value");
    PARLEY__FORK_GUARD(peer);
    __atomic_store_n(&peer->monitor_access, (int)access, __ATOMIC_RELAXED);
    return PARLEY_OK;
}

static void send_status(parley_session *session, uint32_t call_id, parley_status st,
                        const char *msg)
{
    uint8_t *buf = NULL;
    size_t len = 0;

    if (st == PARLEY_OK) {
        (void)parley__conn_send(session->conn, PARLEY__FRAME_REPLY, call_id, PARLEY_OK, NULL, 0);
        return;
    }
    if (parley__message_encode(NULL, msg, &buf, &len) == PARLEY_OK)
        (void)parley__conn_send(session->conn, PARLEY__FRAME_REPLY, call_id, (uint32_t)st, buf,
                                len);
    talloc_free(buf);
}

/* Who may subscribe: NULL if this session may, else why not. */
static const char *refusal(parley_session *session, char *text, size_t size)
{
    int access = __atomic_load_n(&session->peer->monitor_access, __ATOMIC_RELAXED);
    unsigned me = (unsigned)geteuid();

    if (access == PARLEY_MONITOR_ANYONE)
        return NULL;
    if (access == PARLEY_MONITOR_OFF) {
        snprintf(text, size, "monitoring is turned off on this peer");
        return text;
    }
    if (!session->have_creds) {
        snprintf(text, size, "monitoring is allowed only over a unix socket, to uid %u", me);
        return text;
    }
    if (session->creds.uid != me) {
        snprintf(text, size, "monitoring is allowed only to uid %u (the peer's); this client "
                 "is uid %u", me, (unsigned)session->creds.uid);
        return text;
    }
    return NULL;
}

static void subscribe(parley_session *session, uint32_t call_id)
{
    parley_peer *peer = session->peer;
    char text[256];
    const char *why = refusal(session, text, sizeof(text));
    parley_status st = PARLEY_OK;

    if (why != NULL) {
        send_status(session, call_id, PARLEY_ERR_ACCESS_DENIED, why);
        return;
    }
    pthread_mutex_lock(&monitor_lock);
    if (!session->monitoring) {
        if (peer->n_monitors >= PARLEY__MONITORS_MAX) {
            st = PARLEY_ERR_BUSY;
            snprintf(text, sizeof(text), "the peer feeds %u monitors already, its most",
                     PARLEY__MONITORS_MAX);
        } else {
            peer->monitors[peer->n_monitors] = session;
            session->monitoring = true;
            __atomic_store_n(&peer->n_monitors, peer->n_monitors + 1, __ATOMIC_RELAXED);
        }
    }
    pthread_mutex_unlock(&monitor_lock);
    send_status(session, call_id, st, text);
}

/* The watching end: one event. */
static void deliver(parley_session *session, const parley__frame_header *hdr,
                    const uint8_t *payload)
{
    parley_monitor_fn fn = __atomic_load_n(&session->monitor_fn, __ATOMIC_ACQUIRE);
    monitor_wire *w = NULL;
    parley_monitor_event ev;

    if (fn == NULL)
        return;   /* not watching: dropped */
    if (parley_data_decode(NULL, &wire_type, payload, hdr->length, NULL, (void **)&w) !=
        PARLEY_OK)
        return;   /* a newer format, or garbage: not ours to judge */
    memset(&ev, 0, sizeof(ev));
    ev.time_ns = w->time_ns;
    ev.session = w->session;
    ev.outgoing = (w->flags & EVENT_OUTGOING) != 0;
    ev.oneway = (w->flags & EVENT_ONEWAY) != 0;
    ev.call_id = w->call_id;
    ev.method_id = w->method_id;
    ev.method = w->method != NULL ? w->method : "";
    ev.status = (parley_status)w->status;
    ev.duration_ns = w->duration_ns;
    ev.request = w->request != NULL ? w->request : "";
    ev.reply = w->reply != NULL ? w->reply : "";
    ev.dropped = w->dropped;
    fn(session, &ev, session->monitor_data);
    talloc_free(w);
}

bool parley__monitor_on_frame(parley_session *session, const parley__frame_header *hdr,
                              const uint8_t *payload)
{
    if (hdr->kind == PARLEY__FRAME_CALL)
        subscribe(session, hdr->call_id);
    else
        deliver(session, hdr, payload);
    return true;
}

void parley__monitor_session_end(parley_session *session)
{
    parley_peer *peer = session->peer;

    if (peer == NULL)
        return;
    pthread_mutex_lock(&monitor_lock);
    if (session->monitoring) {
        for (unsigned i = 0; i < peer->n_monitors; i++) {
            if (peer->monitors[i] != session)
                continue;
            peer->monitors[i] = peer->monitors[peer->n_monitors - 1];
            __atomic_store_n(&peer->n_monitors, peer->n_monitors - 1, __ATOMIC_RELAXED);
            break;
        }
        session->monitoring = false;
    }
    pthread_mutex_unlock(&monitor_lock);
}

/* A reference on a subscriber that is still open, or false. */
static bool try_ref(parley_session *s)
{
    bool ok;

    pthread_mutex_lock(&s->lock);
    ok = s->refs > 0 && s->state == PARLEY__SESSION_READY && s->conn != NULL;
    if (ok)
        s->refs++;
    pthread_mutex_unlock(&s->lock);
    return ok;
}

static void send_event(parley_session *sub, monitor_wire *w)
{
    parley_peer *peer = sub->peer;
    uint8_t *buf = NULL;
    size_t len = 0, queued = 0, peak = 0, limit = MONITOR_BACKLOG;

    w->dropped = __atomic_exchange_n(&sub->monitor_dropped, 0, __ATOMIC_RELAXED);
    if (peer != NULL && peer->max_output / 2 < limit)
        limit = peer->max_output / 2;
    if (parley_data_encode(NULL, &wire_type, w, NULL, &buf, &len) == PARLEY_OK) {
        parley__conn_output_stats(sub->conn, &queued, &peak);
        if (queued + len <= limit && len <= sub->remote_max_message &&
            parley__conn_send(sub->conn, PARLEY__FRAME_ONEWAY, 0, PARLEY_METHOD_MONITOR, buf,
                              len) == PARLEY_OK) {
            talloc_free(buf);
            return;
        }
    }
    talloc_free(buf);
    __atomic_add_fetch(&sub->monitor_dropped, w->dropped + 1, __ATOMIC_RELAXED);
}

void parley__monitor_call(parley_call *call, parley_status status, uint64_t duration_ns,
                          const char *request, const char *reply)
{
    parley_peer *peer = call->session->peer;
    parley_session *subs[PARLEY__MONITORS_MAX];
    unsigned n = 0;
    monitor_wire w;
    struct timespec ts;
    char saved[PARLEY__ERROR_MAX];

    pthread_mutex_lock(&monitor_lock);
    for (unsigned i = 0; i < peer->n_monitors; i++)
        if (peer->monitors[i] != call->session && try_ref(peer->monitors[i]))
            subs[n++] = peer->monitors[i];
    pthread_mutex_unlock(&monitor_lock);
    if (n == 0)
        return;
    snprintf(saved, sizeof(saved), "%s", parley_error_message());
    clock_gettime(CLOCK_REALTIME, &ts);
    memset(&w, 0, sizeof(w));
    w.time_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    w.session = parley__session_number(call->session);
    w.flags = (call->incoming ? 0 : EVENT_OUTGOING) |
              ((call->method->flags & PARLEY_METHOD_ONEWAY) ? EVENT_ONEWAY : 0);
    w.call_id = call->id;
    w.method_id = call->method->id;
    w.method = (char *)call->method->name;
    w.status = (int32_t)status;
    w.duration_ns = duration_ns;
    w.request = (char *)(request != NULL ? request : "");
    w.reply = (char *)(reply != NULL ? reply : "");
    for (unsigned i = 0; i < n; i++) {
        send_event(subs[i], &w);
        parley__session_unref(subs[i]);
    }
    parley__error(PARLEY_OK, "%s", saved);
}

PARLEY_PUBLIC parley_status parley_session_monitor(parley_session *session, int64_t timeout_ms,
                                                   parley_monitor_fn fn, void *data)
{
    monitor_empty in = { 0 };
    monitor_empty *out = NULL;
    parley_call *call = NULL;
    parley_status st;

    if (session == NULL || fn == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_session_monitor needs a session and a function");
    PARLEY__FORK_GUARD_GEN(session->fork_generation);
    pthread_mutex_lock(&session->lock);
    if (session->monitor_fn != NULL) {
        pthread_mutex_unlock(&session->lock);
        return parley__error(PARLEY_ERR_INVALID_STATE, "the session monitors already");
    }
    session->monitor_data = data;
    __atomic_store_n(&session->monitor_fn, fn, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&session->lock);

    st = parley_session_acquire_call(session, &call);
    if (st == PARLEY_OK && timeout_ms != PARLEY_TIMEOUT_DEFAULT)
        st = parley_call_set_timeout(call, timeout_ms);
    if (st == PARLEY_OK)
        st = parley_call_dispatch(call, PARLEY_METHOD_MONITOR, &in, NULL, &out, NULL, NULL);
    talloc_free(out);
    if (call != NULL)
        parley_call_release(call);
    if (st != PARLEY_OK) {
        st = parley__error_prefix(st, "monitor");
        __atomic_store_n(&session->monitor_fn, NULL, __ATOMIC_RELEASE);
    }
    return st;
}
