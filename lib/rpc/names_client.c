/* SPDX-License-Identifier: MIT */
/*
 * Registering a peer's names with parleyd and keeping them registered.
 *
 * A peer's first parley_peer_register_name() creates its names client: an
 * internal peer speaking parley_names (its own I/O thread and one worker),
 * one session to parleyd, and a thread that registers again when that
 * session is lost.  The session carries a `hold` call that parleyd never
 * answers: its completion (CONNECTION_CLOSED) is how the client learns that
 * parleyd went away, without heartbeats.  parleyd ties the names to the
 * session, so they vanish when this process does.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "parley/peer.h"
#include "parley/session.h"
#include "parley/call.h"
#include "parley/names.h"
#include "../codec/status.h"
#include "../io/thread.h"
#include "fork.h"
#include "peer.h"
#include "name_service.h"
#include "name_service_private.h"
#include "parley_names.h"


typedef struct reg_name {
    struct reg_name *next;
    char *name;
    unsigned flags;
} reg_name;

struct parley__names_client {
    parley_peer *owner;          /* the registering peer */
    /* Held by whoever uses or replaces the session (register, unregister,
     * the keeper's reconnect), never while holding lock, and never by the
     * names peer's I/O thread: the hold call's end takes h.lock only. */
    pthread_mutex_t call_lock;
    parley__names_hold h;        /* h.lock guards everything below too */
    parley_peer *np;             /* the internal parley_names peer */
    parley_session *session;     /* to parleyd; NULL while lost */
    reg_name *names;             /* every name to keep registered */
    bool thread_started;
    pthread_t thread;
};

static bool names_equal(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

/* The registration of one name, under mem_ctx. */
static parley_status build_reg(parley__names_client *c, TALLOC_CTX *mem_ctx, const char *name,
                               unsigned flags, parley_names_registration *reg)
{
    const parley_protocol *p = c->owner->protocol;
    char *ep;

    memset(reg, 0, sizeof(*reg));
    reg->name = (char *)name;
    reg->protocol = (char *)p->name;
    reg->version = p->version;
    reg->flags = flags;
    reg->endpoints = talloc_zero_array(mem_ctx, char *, PARLEY_NAMES_MAX_ENDPOINTS);
    reg->methods = talloc_zero_array(mem_ctx, parley_names_method_print,
                                     p->n_methods > 0 ? p->n_methods : 1);
    if (reg->endpoints == NULL || reg->methods == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory registering a name");
    for (size_t i = 0; i < PARLEY_NAMES_MAX_ENDPOINTS &&
         parley_peer_get_listen_endpoint(c->owner, i, mem_ctx, &ep) == PARLEY_OK; i++) {
        /* a relative unix path means nothing to another process */
        if (strncmp(ep, "unix:", 5) == 0 && ep[5] != '/' && ep[5] != '@') {
            char cwd[PATH_MAX];

            if (getcwd(cwd, sizeof(cwd)) == NULL)
                return parley__error(PARLEY_ERR_SYSTEM, "getcwd failed registering a name: %s",
                                     strerror(errno));
            ep = talloc_asprintf(mem_ctx, "unix:%s/%s", cwd, ep + 5);
            if (ep == NULL)
                return parley__error(PARLEY_ERR_NOMEM, "out of memory registering a name");
        }
        reg->endpoints[reg->n_endpoints++] = ep;
    }
    if (reg->n_endpoints == 0 && !(flags & PARLEY_NAME_BROKERED))
        return parley__error(PARLEY_ERR_INVALID_STATE,
                             "parley_peer_register_name: the peer is not listening "
                             "(call parley_peer_start_listen() first)");
    for (size_t i = 0; i < p->n_methods && i < PARLEY_NAMES_MAX_METHODS; i++) {
        reg->methods[i].id = p->methods[i].id;
        reg->methods[i].fingerprint = p->methods[i].fingerprint;
        reg->n_methods++;
    }
    return PARLEY_OK;
}

/* parleyd passes a connection accepted on its broker port for one of our
 * brokered names: serve it as an incoming session of the owner. */
static parley_status on_incoming(parley_call *call, const parley_names_incoming_request *in,
                                 parley_names_incoming_reply *out, void *data)
{
    parley__names_client *c = data;
    int fd = parley_take_fd(in, in->conn);

    (void)call; (void)out;
    if (fd < 0)
        return PARLEY_ERR_INVALID_ARGUMENT;
    return parley_peer_accept_fd(c->owner, fd);   /* closes fd on failure */
}

static const parley_names_handlers broker_handlers = {
    .incoming = { on_incoming, PARLEY_NONBLOCKING },
};

static parley_status send_add(parley__names_client *c, parley_session *session,
                              const char *name, unsigned flags)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    parley_names_add_request in;
    parley_names_add_reply *out;
    parley_status st = build_reg(c, tmp, name, flags, &in.reg);

    if (st == PARLEY_OK)
        st = parley__names_call(session, PARLEY_NAMES_METHOD_ADD, &in, tmp, &out,
                                "registering the name");
    TALLOC_FREE(tmp);
    return st;
}

/* A name parleyd refused to register again (another process took it while
 * parleyd was away): the owner is told, and it is not tried again. */
typedef struct refused {
    struct refused *next;
    parley_status status;
    char *message;
} refused;

/* Connect again and register every name; the lock is held on entry and
 * exit, dropped while talking to parleyd. */
static void reregister_locked(parley__names_client *c, TALLOC_CTX *mem, refused **told);

static void reregister(parley__names_client *c)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    refused *told = NULL;
    parley_exception_fn fn;
    void *fn_data;

    pthread_mutex_unlock(&c->h.lock);
    pthread_mutex_lock(&c->call_lock);
    pthread_mutex_lock(&c->h.lock);
    if (!c->h.stop && c->h.lost)
        reregister_locked(c, mem, &told);
    pthread_mutex_unlock(&c->h.lock);
    pthread_mutex_unlock(&c->call_lock);
    /* the owner's exception function, with no lock held */
    pthread_mutex_lock(&c->owner->lock);
    fn = c->owner->exception_fn;
    fn_data = c->owner->exception_data;
    pthread_mutex_unlock(&c->owner->lock);
    for (refused *t = told; t != NULL && fn != NULL; t = t->next)
        fn(c->owner, NULL, t->status, t->message, fn_data);
    talloc_free(mem);
    pthread_mutex_lock(&c->h.lock);
}

/* Whether a failed registration is parleyd's refusal (the name is taken,
 * or not allowed any more), not a lost connection to try again. */
static bool refusal(parley_status st)
{
    return st != PARLEY_ERR_CONNECTION_CLOSED && st != PARLEY_ERR_CONNECTION_REFUSED &&
           st != PARLEY_ERR_TIMEOUT && st != PARLEY_ERR_NOMEM && st != PARLEY_ERR_CANCELLED;
}

/* call_lock and lock held. */
static void reregister_locked(parley__names_client *c, TALLOC_CTX *mem, refused **told)
{
    parley_session *old = c->session, *session = NULL;
    parley_status st;

    c->session = NULL;
    pthread_mutex_unlock(&c->h.lock);
    if (old != NULL)
        parley_session_close(old);
    st = parley_peer_connect(c->np, &session);
    pthread_mutex_lock(&c->h.lock);
    if (st != PARLEY_OK || c->h.stop) {
        if (session != NULL)
            parley_session_close(session);
        return;
    }
    c->session = session;
    if (parley__names_hold_start(&c->h, session) != PARLEY_OK)
        return;     /* the hold call never started: lost stays true, try again */
    for (reg_name **pp = &c->names; *pp != NULL;) {
        reg_name *r = *pp;
        refused *t;

        pthread_mutex_unlock(&c->h.lock);
        st = send_add(c, session, r->name, r->flags);
        pthread_mutex_lock(&c->h.lock);
        if (st == PARLEY_OK || !refusal(st)) {
            pp = &r->next;     /* registered, or the session is lost again */
            continue;
        }
        /* taken meanwhile: told once, tried no more (only this thread and
         * holders of call_lock change the list) */
        t = talloc_zero(mem, refused);
        if (t != NULL) {
            t->status = st;
            t->message = talloc_asprintf(t, "the name '%s' could not be registered again "
                                         "when parleyd came back, and is no longer this "
                                         "peer's: %s", r->name, parley_error_message());
            t->next = *told;
            *told = t;
        }
        *pp = r->next;
        talloc_free(r);
    }
}

static void *keeper(void *arg)
{
    parley__names_client *c = arg;
    unsigned delay = PARLEY__NAMES_RETRY_FIRST_MS;

    pthread_mutex_lock(&c->h.lock);
    while (parley__names_hold_wait(&c->h, &delay))
        reregister(c);
    pthread_mutex_unlock(&c->h.lock);
    return NULL;
}

void parley__names_client_free(parley__names_client *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->h.lock);
    c->h.stop = true;
    pthread_cond_broadcast(&c->h.cond);
    pthread_mutex_unlock(&c->h.lock);
    if (c->thread_started)
        pthread_join(c->thread, NULL);
    /* Closes the session (parleyd drops the names) and completes the hold
     * call; its callback runs before this returns. */
    TALLOC_FREE(c->np);
    pthread_cond_destroy(&c->h.cond);
    pthread_mutex_destroy(&c->h.lock);
    pthread_mutex_destroy(&c->call_lock);
    talloc_free(c);
}

/* The peer's names client, made on first use.  NULL-parented: the peer's
 * destructor frees it first (peer.c). */
static parley_status get_client(parley_peer *peer, parley__names_client **ret)
{
    parley__names_client *c;
    parley_session *session;
    parley_status st;

    pthread_mutex_lock(&peer->lock);
    c = peer->names;
    pthread_mutex_unlock(&peer->lock);
    if (c != NULL) {
        *ret = c;
        return PARLEY_OK;
    }
    c = talloc_zero(NULL, parley__names_client);
    if (c == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory registering a name");
    c->owner = peer;
    pthread_mutex_init(&c->call_lock, NULL);
    pthread_mutex_init(&c->h.lock, NULL);
    pthread_cond_init(&c->h.cond, NULL);
    st = parley__names_open(c, NULL, &broker_handlers, c, &c->np, &session);
    if (st != PARLEY_OK) {
        parley__names_client_free(c);
        return st;
    }
    pthread_mutex_lock(&c->h.lock);
    c->session = session;
    st = parley__names_hold_start(&c->h, session);
    pthread_mutex_unlock(&c->h.lock);
    if (st == PARLEY_OK && parley__thread_create(&c->thread, NULL, keeper, c) == 0)
        c->thread_started = true;
    else if (st == PARLEY_OK)
        st = parley__error(PARLEY_ERR_SYSTEM, "cannot start the thread that keeps names registered");
    if (st != PARLEY_OK) {
        parley__names_client_free(c);
        return st;
    }
    pthread_mutex_lock(&peer->lock);
    if (peer->names == NULL) {
        peer->names = c;
        c = NULL;
    }
    *ret = peer->names;
    pthread_mutex_unlock(&peer->lock);
    parley__names_client_free(c);   /* another thread was first */
    return PARLEY_OK;
}

PARLEY_PUBLIC parley_status parley_peer_register_name(parley_peer *peer, const char *name,
                                                      unsigned flags)
{
    parley__names_client *c = NULL;
    parley_session *session;
    reg_name *r;
    parley_status st;

    if (peer == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_register_name needs a peer and a name");
    PARLEY__FORK_GUARD(peer);
    st = parley__names_check_name(name);
    if (st != PARLEY_OK)
        return parley__error_prefix(st, "parley_peer_register_name");
    if ((flags & ~PARLEY_NAME_BROKERED) != 0)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_register_name: unknown flags 0x%x", flags);
    pthread_mutex_lock(&peer->lock);
    st = peer->listening || (flags & PARLEY_NAME_BROKERED) ? PARLEY_OK
                         : parley__error(PARLEY_ERR_INVALID_STATE,
                                         "parley_peer_register_name: the peer is not listening "
                                         "(call parley_peer_start_listen() first)");
    pthread_mutex_unlock(&peer->lock);
    if (st != PARLEY_OK)
        return st;
    st = get_client(peer, &c);
    if (st != PARLEY_OK)
        return parley__error_prefix(st, "parley_peer_register_name '%s'", name);
    pthread_mutex_lock(&c->call_lock);   /* the session stays while we use it */
    pthread_mutex_lock(&c->h.lock);
    session = c->session;
    for (r = c->names; r != NULL; r = r->next)
        if (names_equal(r->name, name))
            break;
    pthread_mutex_unlock(&c->h.lock);
    if (r != NULL) {
        st = parley__error(PARLEY_ERR_EXISTS,
                           "parley_peer_register_name: this peer registered '%s' already", name);
        goto done;
    }
    if (session == NULL) {
        st = parley__error(PARLEY_ERR_CONNECTION_CLOSED,
                           "parley_peer_register_name '%s': the name service is gone "
                           "(this peer's names are registered again when it is back)", name);
        goto done;
    }
    st = send_add(c, session, name, flags);
    if (st != PARLEY_OK) {
        st = parley__error_prefix(st, "parley_peer_register_name '%s'", name);
        goto done;
    }
    r = talloc_zero(c, reg_name);
    if (r == NULL || (r->name = talloc_strdup(r, name)) == NULL) {
        talloc_free(r);
        st = parley__error(PARLEY_ERR_NOMEM, "out of memory registering a name");
        goto done;
    }
    r->flags = flags;
    pthread_mutex_lock(&c->h.lock);
    r->next = c->names;
    c->names = r;
    pthread_mutex_unlock(&c->h.lock);
done:
    pthread_mutex_unlock(&c->call_lock);
    return st;
}

PARLEY_PUBLIC parley_status parley_peer_unregister_name(parley_peer *peer, const char *name)
{
    parley__names_client *c;
    parley_session *session = NULL;
    reg_name **pp, *r = NULL;
    parley_names_remove_request in = { (char *)name };
    parley_names_remove_reply *out;
    TALLOC_CTX *tmp;
    parley_status st;

    if (peer == NULL || name == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_unregister_name needs a peer and a name");
    PARLEY__FORK_GUARD(peer);
    pthread_mutex_lock(&peer->lock);
    c = peer->names;
    pthread_mutex_unlock(&peer->lock);
    if (c == NULL)
        return parley__error(PARLEY_ERR_NOT_FOUND,
                             "parley_peer_unregister_name: this peer has not registered '%.*s'",
                             PARLEY_NAME_MAX, name);
    pthread_mutex_lock(&c->call_lock);   /* the session stays while we use it */
    pthread_mutex_lock(&c->h.lock);
    for (pp = &c->names; *pp != NULL; pp = &(*pp)->next)
        if (names_equal((*pp)->name, name)) {
            r = *pp;
            *pp = r->next;
            break;
        }
    session = c->session;
    pthread_mutex_unlock(&c->h.lock);
    if (r == NULL) {
        st = parley__error(PARLEY_ERR_NOT_FOUND,
                           "parley_peer_unregister_name: this peer has not registered '%.*s'",
                           PARLEY_NAME_MAX, name);
    } else if (session == NULL) {
        st = parley__error(PARLEY_ERR_CONNECTION_CLOSED,
                           "parley_peer_unregister_name: the name service is gone, "
                           "and '%s' with it", name);
    } else {
        tmp = talloc_new(NULL);
        st = parley__names_call(session, PARLEY_NAMES_METHOD_REMOVE, &in, tmp, &out,
                                "parley_peer_unregister_name");
        TALLOC_FREE(tmp);
    }
    talloc_free(r);
    pthread_mutex_unlock(&c->call_lock);
    return st;
}
