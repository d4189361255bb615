/* SPDX-License-Identifier: MIT */
/* Internal: the peer (peer.c, spawn.c, call_hooks.c; listening in listen.h),
 * and the runtime's objects as a whole: the session is in session.h, the
 * call in call.h.
 *
 * Threads: one I/O thread (the loop) reads every connection and runs the
 * session callbacks; workers run blocking handlers and send their replies
 * straight to the socket; any thread may dispatch calls.
 *
 * Memory: the peer is the caller's talloc chunk.  Sessions and calls are
 * NULL-parented talloc trees (different threads allocate and free them at
 * once, and one talloc tree must not be touched by two threads), linked from
 * the peer by lists and freed explicitly; the peer's destructor frees what is
 * left (or orphans a session that acquired calls still point at).  A session
 * is reference counted: its open connection, its user (an outgoing session
 * until parley_session_close()), each call, and posted work hold one.
 *
 * Callbacks: none runs with a lock held or inside the API call that caused
 * it; outgoing calls' completion callbacks run on the I/O thread (outcall.c).
 *
 * Calls: outcall.h (outgoing), incall.h (incoming), call_codec.h (values
 * on the wire); call.c has what a handle says about itself.
 *
 * Locks: peer->lock before session->lock before the connection's locks
 * (parley__conn_set_read_paused() is called under session->lock).
 */
#ifndef PARLEY_LIB_RPC_PEER_H
#define PARLEY_LIB_RPC_PEER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "parley/data.h"
#include "parley/peer.h"
#include "parley/security.h"
#include "conn.h"
#include "endpoint.h"
#include "frame.h"
#include "loop.h"
#include "workers.h"

typedef struct parley__dispatch_entry {
    parley_handler_fn handler;
    parley_dispatch_mode mode;
    void *data;            /* to the handler */
    void *dispatch_data;   /* to the getters (parley_call_get_dispatch_data()) */
} parley__dispatch_entry;

typedef struct parley__listener {
    struct parley__listener *next;
    parley_peer *peer;
    parley__endpoint *ep;
    unsigned mode;
    parley__io io;       /* io.fd < 0 when not listening */
    parley__timer pause; /* accepting paused (out of descriptors) */
    char *bound;         /* the bound endpoint string */
    bool has_sockopts;   /* sockopts replace the peer's for its connections */
    parley_socket_options sockopts;
    bool adopted;        /* a descriptor passed in (parley_peer_add_listen_fd()) */
    int adopted_fd;      /* adopted: the descriptor until first listened on, then -1 */
} parley__listener;

typedef struct parley__connect_ep {
    struct parley__connect_ep *next;
    parley__endpoint *ep;   /* NULL for a name: endpoint */
    char *name;             /* name: endpoints: the name (names.c) */
    char *service;          /* and its name service, NULL for the default */
} parley__connect_ep;

/* The most monitors a peer feeds at once. */
#define PARLEY__MONITORS_MAX 16u

struct parley_peer {
    const parley_protocol *protocol;
    unsigned fork_generation;         /* parley__fork_generation() when created (fork.h) */
    pthread_mutex_t lock;
    pthread_cond_t cond;              /* incoming sessions gone */

    /* Threads. */
    parley__loop *loop;               /* the context's when it has one */
    parley__workers *workers;         /* the context's when it has one */
    unsigned n_workers;
    struct parley_context *context;   /* NULL: its own threads (context.c) */
    bool app_loop;                    /* no threads: the application runs the loop (peer_loop.c) */
    bool started;
    bool destroying;

    /* Serving: dispatch table, listeners and admission (listen.c). */
    /* By method index; handler NULL = not served.  Never reallocated, an
     * entry never changes once served: parley_peer_add_dispatch() fills
     * mode and data, then stores handler with release (under lock, which
     * orders writers); the I/O thread loads handler with acquire and reads
     * the rest without a lock, at any time, after the peer started too. */
    parley__dispatch_entry *dispatch;
    parley__listener *listeners, **listeners_tail;
    bool listening;
    bool stopping_listen;             /* an asynchronous stop_listen is posted */
    unsigned max_clients;             /* incoming sessions at once */
    unsigned listen_backlog;          /* accepted connections waiting for a slot */
    struct parley__waiting *waiting;  /* under lock */
    bool admit_posted;                /* under lock */

    /* Connecting. */
    parley__connect_ep *connects, **connects_tail;

    /* Registered names (names_client.c); under lock, freed first. */
    struct parley__names_client *names;
    /* The cached sessions `name:` connects resolve over (names.c); made on
     * first use under lock, freed with the peer. */
    struct parley__names_resolver *names_resolver;

    /* Sessions, under lock. */
    parley_session *sessions;         /* every live session */
    unsigned n_incoming;
    unsigned n_calls_in;              /* atomic: incoming calls not finished */

    /* Limits and timeouts.  Timeouts in ms, 0 = none, atomic access. */
    uint32_t max_message;
    unsigned max_outstanding;         /* incoming calls running per session */
    unsigned max_handles;             /* registered handles per session */
    unsigned max_fds;                 /* under lock (fdpass) */
    bool max_fds_set;
    int64_t establish_ms;
    int64_t idle_ms;
    int64_t call_ms;
    int64_t send_ms;                  /* enforced by the connection (lib/io/conn.c) */
    size_t max_output;                /* per connection (parley_peer_set_max_output()) */
    parley_socket_options sockopts;   /* under lock: applied to each new connection */

    /* Application hooks (hooks.c, call_hooks.c; set before the peer starts). */
    parley_session_construct_fn session_construct;
    /* Handshake values (hooks.c), encoded, under lock, set before start:
     * [0] sent as client (outgoing), [1] as server (incoming). */
    uint8_t *hello_bytes[2];
    size_t hello_len[2];
    bool hello_set[2];
    parley_session_destruct_fn session_destruct;
    void *session_fn_data;
    parley_exception_fn exception_fn;
    void *exception_data;
    parley_trace_fn trace_begin, trace_end;
    void *trace_data;
    parley_session_close_fn session_close_fn;   /* every session's end (session.c) */
    void *session_close_data;

    /* Debug lines (debug.c; set before the peer starts). */
    unsigned debug;                   /* PARLEY_DEBUG_* */
    parley_log_fn log_fn;             /* NULL: stderr */
    void *log_data;
    uint32_t next_session_number;     /* atomic: numbers sessions in lines and events */

    /* Monitors (monitor.c). */
    int monitor_access;               /* parley_monitor_access (atomic access) */
    unsigned n_monitors;              /* atomic reads; written under monitor.c's lock */
    parley_session *monitors[PARLEY__MONITORS_MAX];   /* under monitor.c's lock */
    parley_access_fn access_fn;       /* access.c: before each incoming call */
    struct parley__tls_config *tls;   /* peer_tls.c: set before the peer starts */
    struct parley__tls_group *tls_group;   /* its threads; created under lock */
    void *access_data;

    /* Introspection (introspect.c). */
    bool introspection_off;           /* method 0 gets NOT_FOUND (atomic access) */
    bool introspector;                /* any protocol's HELLO, method 0 only */
    struct parley__introspect_cache *introspect_cache;   /* under lock; NULL-parented */

    /* Spawned children (spawn.c), under lock. */
    struct parley__child *children;   /* not yet reaped */
    unsigned n_reapers;               /* reaper threads still running */

    /* The receive queue (receive.c); NULL until parley_peer_add_queue(). */
    struct parley__receive_queue *receive_queue;
};


/* peer_tls.c: the TLS handshake of a connect (tcp_fd consumed) and of an
 * admitted connection on a tls: listener (a session when it succeeds). */
parley_status parley__peer_tls_connect(parley_peer *peer, const parley__endpoint *ep, int tcp_fd,
                                       parley_session **ret_session);
void parley__peer_tls_accept(parley_peer *peer, int tcp_fd);
/* The listeners stopped: handshakes of accepted connections fail. */
void parley__peer_tls_abort_accepts(parley_peer *peer);
/* Stop the TLS threads and wait for them (the peer is being freed). */
void parley__peer_tls_stop(parley_peer *peer);

/* fdpass.c: the max fds per frame (default or set). */
unsigned parley__peer_max_fds(parley_peer *peer);
/* peer.c: parley_peer_new() and parley_peer_new_with_context() (ctx may be NULL). */
parley_status parley__peer_new(TALLOC_CTX *mem_ctx, struct parley_context *ctx,
                               const parley_protocol *protocol, parley_peer **ret_peer);
/* spawn.c: close the sessions of spawned children and reap them (peer
 * destructor, before the sessions go). */
void parley__spawn_reap_all(parley_peer *peer);
/* call_hooks.c. */
/* Whether a call's begin and end are wanted: trace functions, debug lines
 * or monitors. */
bool parley__trace_wanted(const parley_peer *peer);
/* Run the begin function, if any (the caller set call->traced).  An
 * outgoing call passes its request (the _request form). */
void parley__trace_begin(parley_call *call);
void parley__trace_begin_request(parley_call *call, const void *request);
/* The end: an outgoing call's reply is call->reply unless given (_reply). */
void parley__trace_end(parley_call *call, parley_status status);
void parley__trace_end_reply(parley_call *call, parley_status status, const void *reply);

/* debug.c: PARLEY_DEBUG and the log function. */
void parley__debug_init(parley_peer *peer);   /* parley_peer_new(): reads PARLEY_DEBUG */
/* A frame received on session (PARLEY_DEBUG_FRAMES). */
void parley__debug_frame(parley_session *session, const parley__frame_header *hdr);
/* The same for a frame this end sends (on the sending thread, no lock held). */
void parley__debug_frame_out(parley_session *session, const parley__frame_header *hdr);
/* The session's number in debug lines and monitor events (from 1). */
uint32_t parley__session_number(parley_session *session);
/* A call ended (PARLEY_DEBUG_CALLS): its line, with the values' text if any. */
void parley__debug_call(parley_call *call, parley_status status, uint64_t duration_ns,
                        const char *request, const char *reply);
/* A value as one line of text, `[sensitive]` redacted (JSON when built
 * with jansson, else parley_data_print()'s); never NULL unless out of
 * memory.  Leaves the thread's error sentence as it was. */
char *parley__value_text(TALLOC_CTX *mem_ctx, const parley_type *type, const void *value);
void parley__exception(parley_session *session, parley_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* peer.c */
parley_status parley__peer_start(parley_peer *peer);
/* An incoming call finished, its last touch of the peer and its session
 * (the destructor waits for the count to reach 0). */
void parley__peer_call_done(parley_peer *peer);
/* Loop thread: close the connections of every session (or of the incoming
 * ones) with a BYE carrying why. */
void parley__peer_close_sessions(parley_peer *peer, bool incoming_only, const char *why);
void parley__peer_session_gone(parley_peer *peer, parley_session *session);


#endif
