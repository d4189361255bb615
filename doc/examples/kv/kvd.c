/* SPDX-License-Identifier: MIT */
/*
 * kvd: the demo key-value server (doc/examples/kv/kv.idl).
 *
 *   kvd [-l ENDPOINT]... [-w WORKERS] [-n NAME]
 *
 * Listens on every -l endpoint (default unix:kvd.sock), prints one line
 * "listening on ENDPOINT" per endpoint on stdout once it accepts calls, logs
 * to stderr, and stops on SIGINT or SIGTERM.  With -n it registers NAME with
 * the name service (parleyd(8)) and prints "registered as NAME".
 *
 * What it shows:
 *   - blocking handlers (put, del, snapshot: on the worker pool) and
 *     non-blocking ones (get, scan, next, close, watch, log: on the I/O thread);
 *   - an asynchronous handler: wait pends its call until the key changes and
 *     is told when the caller gives up (timeout, cancel, disconnect);
 *   - an application error: get of a missing key (code KV_NOT_FOUND);
 *   - a handle: scan returns a cursor the server holds for the session;
 *   - calls back to clients: watchers get kv_watch.changed on every change;
 *   - a descriptor from the client: snapshot writes the store into it;
 *   - per-session data with the peer's credentials, limits, timeouts and a
 *     trace hook that logs every call.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <talloc.h>

#include "kv.h"

/* ---- the store ---------------------------------------------------------- */

typedef struct item {
    char *key;
    parley_bytes value;
    uint64_t version;
} item;

typedef struct client client;
typedef struct waiter waiter;

typedef struct kvd {
    pthread_mutex_t lock;
    item **items;           /* sorted by key, a talloc array under the kvd */
    size_t n_items;
    uint64_t version;       /* bumped by every put and del */
    unsigned next_client_id;
    client *clients;        /* every session, watching or not */
    waiter *waiters;        /* pended wait calls */
} kvd;

/* Per-session data (parley_peer_set_session_functions). */
struct client {
    client *prev, *next;
    kvd *kvd;
    parley_session *session;
    unsigned id;
    char *watch_prefix;     /* NULL until the client calls watch */
};

/* A pended wait call. */
struct waiter {
    waiter *prev, *next;
    kvd *kvd;
    parley_call *call;
    kv_wait_reply *out;
    char *key;
    uint64_t after;
};

/* A scan in progress: the server side of a kv_cursor handle. */
typedef struct cursor {
    kvd *kvd;
    char *prefix;
    char *last;             /* the last key returned; NULL before the first */
} cursor;

#define CURSOR_TYPE "kv_cursor"     /* the handle's type name: its C name */

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
    char line[1200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "kvd: %s\n", line);   /* one write per line */
}

/* Doubly linked lists through prev/next members. */
#define LIST_ADD(head, x) do {                                  \
        (x)->prev = NULL;                                       \
        (x)->next = (head);                                     \
        if ((head) != NULL)                                     \
            (head)->prev = (x);                                 \
        (head) = (x);                                           \
    } while (0)
#define LIST_DEL(head, x) do {                                  \
        if ((x)->prev != NULL)                                  \
            (x)->prev->next = (x)->next;                        \
        else                                                    \
            (head) = (x)->next;                                 \
        if ((x)->next != NULL)                                  \
            (x)->next->prev = (x)->prev;                        \
        (x)->prev = (x)->next = NULL;                           \
    } while (0)

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Index of the first item whose key is >= key.  Lock held. */
static size_t lower_bound(kvd *k, const char *key)
{
    size_t lo = 0, hi = k->n_items;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(k->items[mid]->key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static item *find(kvd *k, const char *key)
{
    size_t i = lower_bound(k, key);

    return i < k->n_items && strcmp(k->items[i]->key, key) == 0 ? k->items[i] : NULL;
}

/* Copy an item into a reply entry allocated under mem. */
static bool fill_entry(TALLOC_CTX *mem, kv_entry *e, const item *it)
{
    e->key = talloc_strdup(mem, it->key);
    e->value.len = it->value.len;
    e->value.data = talloc_memdup(mem, it->value.data, it->value.len ? it->value.len : 1);
    e->version = it->version;
    return e->key != NULL && e->value.data != NULL;
}

/* ---- telling others about a change -------------------------------------- */

/* One kv_watch.changed call in flight; freed by its completion callback. */
typedef struct note {
    parley_call *call;
    kv_changed_request in;
    kv_changed_reply *out;
    unsigned client_id;
} note;

static void note_done(parley_call *call, parley_status status, void *data)
{
    note *n = data;

    if (status != PARLEY_OK)
        logf_("session %u: changed(%s) failed: %s", n->client_id, n->in.key,
              parley_status_name(status));
    parley_call_release(call);
    talloc_free(n);
}

typedef struct wake {
    struct wake *next;
    parley_call *call;
} wake;

/*
 * After a put or del of key: complete the wait calls it satisfies and call
 * kv_watch.changed on every session watching a matching prefix.  Calls are
 * acquired under the lock (an acquired call keeps its session allocated) and
 * dispatched after it is dropped, so no Parley call is made with it held.
 */
static void changed(kvd *k, const char *key, uint64_t version, bool deleted)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    note *notes[64];
    size_t n_notes = 0;
    wake *wakes = NULL;

    pthread_mutex_lock(&k->lock);
    for (waiter *w = k->waiters, *nx; w != NULL; w = nx) {
        item *it = find(k, key);
        wake *wk;

        nx = w->next;
        if (strcmp(w->key, key) != 0 || it == NULL || it->version <= w->after)
            continue;
        if (!fill_entry(w->out, &w->out->e, it) || (wk = talloc(tmp, wake)) == NULL)
            continue;   /* out of memory: it waits on */
        LIST_DEL(k->waiters, w);
        wk->call = w->call;
        wk->next = wakes;
        wakes = wk;
    }
    for (client *c = k->clients; c != NULL && n_notes < 64; c = c->next) {
        note *n;

        if (c->watch_prefix == NULL || !has_prefix(key, c->watch_prefix))
            continue;
        n = talloc_zero(NULL, note);
        if (n == NULL || (n->in.key = talloc_strdup(n, key)) == NULL) {
            talloc_free(n);
            continue;
        }
        n->in.version = version;
        n->in.deleted = deleted;
        n->client_id = c->id;
        if (parley_session_acquire_call(c->session, &n->call) != PARLEY_OK) {
            talloc_free(n);  /* that client is going away */
            continue;
        }
        notes[n_notes++] = n;
    }
    pthread_mutex_unlock(&k->lock);

    for (wake *wk = wakes; wk != NULL; wk = wk->next)
        parley_call_complete(wk->call, PARLEY_OK);   /* the waiter is freed with its call */
    for (size_t i = 0; i < n_notes; i++) {
        note *n = notes[i];
        parley_status st = kv_changed_send(n->call, &n->in, NULL, &n->out, note_done, n);
        if (st != PARLEY_PENDING)
            note_done(n->call, st, n);   /* the callback never runs on failure */
    }
    talloc_free(tmp);
}

/* ---- handlers ------------------------------------------------------------- */

/* put: blocking (it calls watchers back). */
static parley_status do_put(parley_call *call, const kv_put_request *in, kv_put_reply *out,
                            void *data)
{
    kvd *k = data;
    item *it;
    uint64_t version;

    (void)call;
    pthread_mutex_lock(&k->lock);
    it = find(k, in->key);
    if (it == NULL) {
        size_t at = lower_bound(k, in->key);
        item **items = talloc_realloc(k, k->items, item *, k->n_items + 1);

        if (items == NULL || (it = talloc_zero(k, item)) == NULL ||
            (it->key = talloc_strdup(it, in->key)) == NULL) {
            if (items != NULL)
                k->items = items;
            talloc_free(it);
            pthread_mutex_unlock(&k->lock);
            return PARLEY_ERR_NOMEM;
        }
        k->items = items;
        memmove(&items[at + 1], &items[at], (k->n_items - at) * sizeof(*items));
        items[at] = it;
        k->n_items++;
    }
    talloc_free(it->value.data);
    it->value.len = in->value.len;
    it->value.data = talloc_memdup(it, in->value.data, in->value.len ? in->value.len : 1);
    it->version = version = ++k->version;
    pthread_mutex_unlock(&k->lock);

    out->version = version;
    changed(k, in->key, version, false);
    return PARLEY_OK;
}

/* del: blocking (it calls watchers back). */
static parley_status do_del(parley_call *call, const kv_del_request *in, kv_del_reply *out,
                            void *data)
{
    kvd *k = data;
    size_t at;
    uint64_t version = 0;

    (void)call;
    pthread_mutex_lock(&k->lock);
    at = lower_bound(k, in->key);
    if (at < k->n_items && strcmp(k->items[at]->key, in->key) == 0) {
        talloc_free(k->items[at]);
        memmove(&k->items[at], &k->items[at + 1], (k->n_items - at - 1) * sizeof(item *));
        k->n_items--;
        version = ++k->version;
        out->existed = true;
    }
    pthread_mutex_unlock(&k->lock);
    if (out->existed)
        changed(k, in->key, version, true);
    return PARLEY_OK;
}

/* get: non-blocking; a missing key is kv's application error NOT_FOUND. */
static parley_status do_get(parley_call *call, const kv_get_request *in, kv_get_reply *out,
                            void *data)
{
    kvd *k = data;
    parley_status st = PARLEY_OK;
    item *it;

    pthread_mutex_lock(&k->lock);
    it = find(k, in->key);
    if (it == NULL)
        st = parley_call_set_remote_error(call, KV_NOT_FOUND, "no key '%s'", in->key) == PARLEY_OK
             ? PARLEY_ERR_REMOTE : PARLEY_ERR_NOMEM;
    else if (!fill_entry(out, &out->e, it))
        st = PARLEY_ERR_NOMEM;
    pthread_mutex_unlock(&k->lock);
    return st;
}

static void cursor_cleanup(void *object, void *data)
{
    (void)data;
    talloc_free(object);
}

/* scan: a cursor handle for the session; freed by close or when the session ends. */
static parley_status do_scan(parley_call *call, const kv_scan_request *in, kv_scan_reply *out,
                             void *data)
{
    cursor *cur = talloc_zero(NULL, cursor);
    parley_status st;

    if (cur == NULL || (cur->prefix = talloc_strdup(cur, in->prefix)) == NULL) {
        talloc_free(cur);
        return PARLEY_ERR_NOMEM;
    }
    cur->kvd = data;
    st = parley_session_register_handle(parley_call_get_session(call), CURSOR_TYPE, cur,
                                        cursor_cleanup, NULL, &out->c);
    if (st != PARLEY_OK)
        talloc_free(cur);   /* BUSY or OVERFLOW past the handle limit reaches the client */
    return st;
}

/* next: up to max entries after the cursor's position, in key order. */
static parley_status do_next(parley_call *call, const kv_next_request *in, kv_next_reply *out,
                             void *data)
{
    kvd *k = data;
    cursor *cur;
    size_t i, max = in->max < 1 ? 1 : in->max > 100 ? 100 : in->max;
    parley_status st;

    st = parley_session_get_handle(parley_call_get_session(call), in->c, CURSOR_TYPE,
                                   (void **)&cur);
    if (st != PARLEY_OK)
        return st;
    out->items = talloc_zero_array(out, kv_entry, max);
    if (out->items == NULL)
        return PARLEY_ERR_NOMEM;
    pthread_mutex_lock(&k->lock);
    i = lower_bound(k, cur->last != NULL ? cur->last : cur->prefix);
    if (cur->last != NULL && i < k->n_items && strcmp(k->items[i]->key, cur->last) == 0)
        i++;
    for (; i < k->n_items && out->n_items < max && has_prefix(k->items[i]->key, cur->prefix); i++)
        if (!fill_entry(out, &out->items[out->n_items++], k->items[i]))
            st = PARLEY_ERR_NOMEM;
    pthread_mutex_unlock(&k->lock);
    if (st == PARLEY_OK && out->n_items > 0) {
        talloc_free(cur->last);
        cur->last = talloc_strdup(cur, out->items[out->n_items - 1].key);
        if (cur->last == NULL)
            st = PARLEY_ERR_NOMEM;
    }
    return st;
}

static parley_status do_close(parley_call *call, const kv_close_request *in, kv_close_reply *out,
                              void *data)
{
    (void)out; (void)data;
    return parley_session_unregister_handle(parley_call_get_session(call), in->c);
}

/* watch: from now on this session gets kv_watch.changed for keys with the prefix. */
static parley_status do_watch(parley_call *call, const kv_watch_request *in,
                              kv_watch_reply *out, void *data)
{
    kvd *k = data;
    client *c = parley_session_get_data(parley_call_get_session(call));
    char *prefix;

    (void)out;
    if ((prefix = talloc_strdup(c, in->prefix)) == NULL)
        return PARLEY_ERR_NOMEM;
    pthread_mutex_lock(&k->lock);
    talloc_free(c->watch_prefix);
    c->watch_prefix = prefix;
    pthread_mutex_unlock(&k->lock);
    logf_("session %u: watching '%s'", c->id, prefix);
    return PARLEY_OK;
}

/* The caller gave up on a pended wait (its timeout, a cancel, or it went away). */
static void wait_cancelled(parley_call *call, void *data)
{
    waiter *w = data;
    kvd *k = w->kvd;
    bool mine = false;

    pthread_mutex_lock(&k->lock);
    for (waiter *x = k->waiters; x != NULL; x = x->next)
        if (x == w) {
            LIST_DEL(k->waiters, w);
            mine = true;
            break;
        }
    pthread_mutex_unlock(&k->lock);
    if (mine) {
        logf_("wait for '%s' cancelled by the caller", w->key);
        parley_call_complete(call, PARLEY_ERR_CANCELLED);
    }
}

/* wait: non-blocking and asynchronous: pends until the key has a newer version. */
static parley_status do_wait(parley_call *call, const kv_wait_request *in, kv_wait_reply *out,
                             void *data)
{
    kvd *k = data;
    waiter *w;
    item *it;
    parley_status st;

    pthread_mutex_lock(&k->lock);
    it = find(k, in->key);
    if (it != NULL && it->version > in->after) {
        st = fill_entry(out, &out->e, it) ? PARLEY_OK : PARLEY_ERR_NOMEM;
        pthread_mutex_unlock(&k->lock);
        return st;
    }
    /* The waiter lives under the reply, so it goes with the call. */
    if ((w = talloc_zero(out, waiter)) == NULL || (w->key = talloc_strdup(w, in->key)) == NULL) {
        pthread_mutex_unlock(&k->lock);
        return PARLEY_ERR_NOMEM;
    }
    w->kvd = k;
    w->call = call;
    w->out = out;
    w->after = in->after;
    st = parley_call_pend(call, wait_cancelled, w);
    if (st == PARLEY_PENDING)
        LIST_ADD(k->waiters, w);
    pthread_mutex_unlock(&k->lock);
    return st;
}

/* snapshot: blocking (file I/O): the store as "key=value" lines into the client's fd. */
static parley_status do_snapshot(parley_call *call, const kv_snapshot_request *in,
                                 kv_snapshot_reply *out, void *data)
{
    kvd *k = data;
    int fd = parley_take_fd(in, in->out);   /* ours now: we close it */
    FILE *f;
    parley_status st = PARLEY_OK;

    if (fd < 0)
        return parley_call_set_remote_error(call, EBADF, "no descriptor received") == PARLEY_OK
               ? PARLEY_ERR_REMOTE : PARLEY_ERR_NOMEM;
    if ((f = fdopen(fd, "w")) == NULL) {
        close(fd);
        return PARLEY_ERR_NOMEM;
    }
    pthread_mutex_lock(&k->lock);
    for (size_t i = 0; i < k->n_items; i++) {
        fprintf(f, "%s=%.*s\n", k->items[i]->key, (int)k->items[i]->value.len,
                (const char *)k->items[i]->value.data);
        out->count++;
    }
    pthread_mutex_unlock(&k->lock);
    if (fclose(f) != 0)
        st = parley_call_set_remote_error(call, errno, "writing the snapshot: %s",
                                          strerror(errno)) == PARLEY_OK
             ? PARLEY_ERR_REMOTE : PARLEY_ERR_NOMEM;
    return st;
}

static parley_status do_log(parley_call *call, const kv_log_request *in, void *data)
{
    client *c = parley_session_get_data(parley_call_get_session(call));

    (void)data;
    logf_("session %u says: %s", c->id, in->line);
    return PARLEY_OK;
}

/* ---- sessions and hooks --------------------------------------------------- */

static parley_status session_new(parley_session *session, void *data, void **ret_session_data)
{
    kvd *k = data;
    client *c = talloc_zero(NULL, client);
    parley_credentials cred;

    if (c == NULL)
        return PARLEY_ERR_NOMEM;
    c->kvd = k;
    c->session = session;
    pthread_mutex_lock(&k->lock);
    c->id = ++k->next_client_id;
    LIST_ADD(k->clients, c);
    pthread_mutex_unlock(&k->lock);
    if (parley_session_get_credentials(session, &cred) == PARLEY_OK)
        logf_("session %u: connected, uid %u gid %u pid %d", c->id, (unsigned)cred.uid,
              (unsigned)cred.gid, (int)cred.pid);
    else
        logf_("session %u: connected (no credentials: %s)", c->id, parley_error_message());
    *ret_session_data = c;
    return PARLEY_OK;
}

static void session_end(parley_session *session, void *session_data, void *data)
{
    kvd *k = data;
    client *c = session_data;

    (void)session;
    pthread_mutex_lock(&k->lock);
    LIST_DEL(k->clients, c);
    pthread_mutex_unlock(&k->lock);
    logf_("session %u: ended", c->id);
    talloc_free(c);
}

/* The trace hook: one line per call, once it is done. */
static void trace_end(parley_call *call, parley_status status, void *data)
{
    const parley_method *m = parley_call_get_method(call);
    client *c = parley_session_get_data(parley_call_get_session(call));

    (void)data;
    logf_("session %u: %s %s.%s: %s", c != NULL ? c->id : 0,
          parley_call_get_direction(call) == PARLEY_CALL_INCOMING ? "served" : "called back",
          m->interface, m->name, parley_status_name(status));
}

static void exception(parley_peer *peer, parley_session *session, parley_status status,
                      const char *message, void *data)
{
    client *c = session != NULL ? parley_session_get_data(session) : NULL;

    (void)peer; (void)data;
    logf_("session %u: %s: %s", c != NULL ? c->id : 0, parley_status_name(status), message);
}

/* ---- main ------------------------------------------------------------------ */

static const kv_handlers handlers = {
    .put = { do_put, PARLEY_BLOCKING },
    .del = { do_del, PARLEY_BLOCKING },
    .snapshot = { do_snapshot, PARLEY_BLOCKING },
    .get = { do_get, PARLEY_NONBLOCKING },
    .scan = { do_scan, PARLEY_NONBLOCKING },
    .next = { do_next, PARLEY_NONBLOCKING },
    .close = { do_close, PARLEY_NONBLOCKING },
    .watch = { do_watch, PARLEY_NONBLOCKING },
    .wait = { do_wait, PARLEY_NONBLOCKING },
    .log = { do_log, PARLEY_NONBLOCKING },
};

int main(int argc, char **argv)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    kvd *k = talloc_zero(mem, kvd);
    const char *endpoints[16];
    size_t n_endpoints = 0;
    unsigned workers = 4;
    const char *name = NULL;   /* -n: registered with parleyd (doc/names.md) */
    parley_peer *peer;
    parley_status st = PARLEY_ERR_NOMEM;
    sigset_t stop;
    int opt, sig;

    while ((opt = getopt(argc, argv, "l:w:n:h")) != -1) {
        switch (opt) {
        case 'l':
            if (n_endpoints < 16)
                endpoints[n_endpoints++] = optarg;
            break;
        case 'w':
            workers = (unsigned)atoi(optarg);
            break;
        case 'n':
            name = optarg;
            break;
        default:
            fprintf(stderr, "usage: kvd [-l ENDPOINT]... [-w WORKERS] [-n NAME]\n");
            talloc_free(mem);
            return opt == 'h' ? 0 : 2;
        }
    }
    if (n_endpoints == 0)
        endpoints[n_endpoints++] = "unix:kvd.sock";
    if (k == NULL)
        goto done;
    pthread_mutex_init(&k->lock, NULL);

    /* SIGINT and SIGTERM are taken by sigwait() below: block them before any
     * thread starts, so that every Parley thread inherits the mask. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    if ((st = parley_peer_new(mem, &kv_protocol, &peer)) != PARLEY_OK)
        goto done;
    /* Limits and timeouts: a few clients, bounded work per client. */
    if ((st = parley_peer_set_workers(peer, workers)) != PARLEY_OK ||
        (st = parley_peer_set_max_clients(peer, 64)) != PARLEY_OK ||
        (st = parley_peer_set_listen_backlog(peer, 16)) != PARLEY_OK ||
        (st = parley_peer_set_max_outstanding_calls(peer, 32)) != PARLEY_OK ||
        (st = parley_peer_set_max_handles(peer, 8)) != PARLEY_OK ||
        (st = parley_peer_set_max_fds(peer, 1)) != PARLEY_OK ||
        (st = parley_peer_set_max_message_size(peer, 1u << 20)) != PARLEY_OK ||
        (st = parley_peer_set_timeout(peer, PARLEY_TIMEOUT_ESTABLISH, 5000)) != PARLEY_OK ||
        (st = parley_peer_set_timeout(peer, PARLEY_TIMEOUT_IDLE, 600000)) != PARLEY_OK ||
        (st = parley_peer_set_timeout(peer, PARLEY_TIMEOUT_CALL, 2000)) != PARLEY_OK)
        goto done;
    /* Hooks: per-session data with credentials, a log line per call. */
    if ((st = parley_peer_set_session_functions(peer, session_new, session_end, k)) != PARLEY_OK ||
        (st = parley_peer_set_trace_functions(peer, NULL, trace_end, NULL)) != PARLEY_OK ||
        (st = parley_peer_set_exception_function(peer, exception, NULL)) != PARLEY_OK ||
        (st = kv_register(peer, &handlers, k)) != PARLEY_OK)
        goto done;
    for (size_t i = 0; i < n_endpoints; i++)
        if ((st = parley_peer_add_listen_endpoint(peer, endpoints[i], 0600)) != PARLEY_OK)
            goto done;
    if ((st = parley_peer_start_listen(peer)) != PARLEY_OK)
        goto done;
    for (size_t i = 0; i < n_endpoints; i++) {
        char *where;
        if (parley_peer_get_listen_endpoint(peer, i, mem, &where) == PARLEY_OK)
            printf("listening on %s\n", where);
    }
    /* A name clients find it by (`kv -e name:kv`); it vanishes with us. */
    if (name != NULL) {
        if ((st = parley_peer_register_name(peer, name, 0)) != PARLEY_OK)
            goto done;
        printf("registered as %s\n", name);
    }
    fflush(stdout);

    sigwait(&stop, &sig);
    logf_("%s: stopping", strsignal(sig));
done:
    if (st != PARLEY_OK)
        fprintf(stderr, "kvd: %s: %s\n", parley_status_name(st), parley_error_message());
    talloc_free(mem);   /* the peer: every session, listener and thread */
    return st == PARLEY_OK ? 0 : 1;
}
