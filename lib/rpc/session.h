/* SPDX-License-Identifier: MIT */
/* Internal: the session (session.c, session_timers.c, hooks.c, handles.c):
 * one connection, its state, references and timers, and the calls on it. */
#ifndef PARLEY_LIB_RPC_SESSION_H
#define PARLEY_LIB_RPC_SESSION_H

#include <sys/socket.h>

#include "peer.h"

#define PARLEY__CALL_BUCKETS 64u
/* How long connect waits for the other end's HELLO when PARLEY_TIMEOUT_ESTABLISH
 * is 0 (none set). */
#define PARLEY__HANDSHAKE_TIMEOUT_MS 10000u

typedef enum parley__session_state {
    PARLEY__SESSION_HANDSHAKE,
    PARLEY__SESSION_READY,
    PARLEY__SESSION_CLOSED
} parley__session_state;

struct parley_session {
    unsigned fork_generation;         /* its peer's (fork.h), set once at creation */
    parley_peer *peer;                /* NULL once the peer is freed (orphaned) */
    parley_session *prev, *next;      /* peer->sessions, under peer->lock */
    parley__conn *conn;               /* NULL once orphaned */
    bool incoming;
    pthread_mutex_t lock;

    /* Life: state, references and closing, under lock. */
    pthread_cond_t cond;              /* handshake finished; sends drained on close */
    parley__session_state state;
    unsigned refs;
    bool user_closed;                 /* the user's reference is gone */
    bool close_requested;             /* parley_session_close() ran (atomic reads) */
    bool idle_closed;                 /* closed by our idle timeout: not an exception */
    bool refused;                     /* the construct hook refused it: frames ignored */
    bool was_ready;                   /* the handshake completed: the close function runs */
    bool local_close;                 /* atomic: this end closes it (disconnect, stop, free) */
    bool bye_received;                /* loop thread: closed by the other end's BYE */
    parley_status close_status;
    char close_why[256];
    uint32_t remote_max_message;

    /* Timers: establish, then idle (loop thread), and outgoing deadlines. */
    parley__timer timer;
    uint64_t last_activity_ms;        /* atomic: last frame or finished call */
    parley__timer call_timer;
    uint64_t timer_due;               /* under lock: 0 or when call_timer should fire */
    bool timer_armed;                 /* under lock: armed, holds a reference */

    /* Outgoing calls, under lock. */
    uint32_t next_call_id;
    unsigned n_outstanding;
    unsigned n_sending;               /* dispatches between their check and send */
    parley_call *calls[PARLEY__CALL_BUCKETS];   /* awaiting a reply */
    parley_call *outcall_cache;       /* released calls kept for reuse (outcall.c) */
    unsigned n_outcall_cache;

    /* Incoming calls, under lock. */
    unsigned n_running;               /* not finished (oneway ones waiting included) */
    parley_call *incoming_calls;
    parley_call *oneway_head, *oneway_tail;   /* oneway messages waiting their turn */
    bool oneway_active;               /* a drain runs them (holds a reference) */
    bool read_paused;                 /* reading paused: max outstanding reached */
    parley_call *incall_cache;        /* finished incoming calls kept for reuse (incall.c) */
    unsigned n_incall_cache;

    /* Application data (hooks.c, handles.c). */
    void *session_data;               /* construct hook or set_data (under lock) */
    parley_session_data_free_fn data_free;   /* under lock: run at the end */
    bool constructed;                 /* the construct hook accepted it: destruct runs */
    bool ended;                       /* end hooks ran */
    bool have_creds;                  /* a unix socket: creds is valid */
    parley_credentials creds;
    parley_transport transport;       /* access.c: read once at creation */
    struct sockaddr_storage remote;   /* TCP, TLS: the other end's address */
    struct parley__tls_info *tls;     /* TLS: the verified identity (a child) */
    struct parley__handle_table *handles;   /* under lock; NULL until the first */
    struct parley__proxy_table *proxies;    /* handles of the other end, under lock */

    /* Debugging and monitors (debug.c, monitor.c). */
    uint32_t number;                  /* atomic: 0 until parley__session_number() */
    bool monitoring;                  /* in peer->monitors (monitor.c's lock) */
    uint64_t monitor_dropped;         /* atomic: events not sent to it */
    parley_monitor_fn monitor_fn;     /* this end watches the other (set once) */
    void *monitor_data;
};


/* session.c */
parley_status parley__session_new(parley_peer *peer, int fd, bool incoming,
                                   parley_session **ret_session);
/* The same with the socket options of the endpoint (NULL: the peer's). */
parley_status parley__session_new_opts(parley_peer *peer, int fd, bool incoming,
                                        const parley_socket_options *opts,
                                        parley_session **ret_session);
/* The same for a TLS connection's fd: info (consumed) gives the transport,
 * the remote address and the identity; no SO_PEERCRED credentials. */
parley_status parley__session_new_tls(parley_peer *peer, int fd, bool incoming,
                                      struct parley__tls_info *info,
                                      parley_session **ret_session);
void parley__session_ref(parley_session *session);
void parley__session_unref(parley_session *session);
/* An incoming call is done: n_running-- and its reference dropped under one lock. */
void parley__session_call_done(parley_session *session);
/* Wait (not on the loop thread) for the handshake; on failure drops the
 * user reference and returns the reason. */
parley_status parley__session_wait_ready(parley_session *session);
/* Close the session's connection (any thread). */
void parley__session_close_conn(parley_session *session, parley_status status, const char *why);
/* The peer goes (its loop stopped, every handler returned): end the session
 * and free it, or, while calls acquired by the application still point at
 * it, leave it closed with no peer and no connection until they are
 * released. */
void parley__session_orphan(parley_session *session);

/* hooks.c: credentials, construct/destruct. */
void parley__session_read_credentials(parley_session *session, int fd);
/* Run the construct hook of an incoming session; not OK: refuse it. */
parley_status parley__session_construct(parley_session *session);
/* The session is going away: clean its handles, run the destruct hook (once). */
void parley__session_end(parley_session *session);
/* monitor.c: the monitor method (either end), and the end of a call that
 * monitors are told about. */
bool parley__monitor_on_frame(parley_session *session, const parley__frame_header *hdr,
                              const uint8_t *payload);
const parley_method *parley__monitor_method(void);
void parley__monitor_session_end(parley_session *session);
void parley__monitor_call(parley_call *call, parley_status status, uint64_t duration_ns,
                          const char *request, const char *reply);
/* session_timers.c: establish and idle timeouts. */
void parley__session_timers_start(parley_session *session);   /* any thread */
void parley__session_timers_ready(parley_session *session);   /* loop thread, after HELLO */
void parley__session_timers_stop(parley_session *session);    /* loop thread, closed */
void parley__session_touch(parley_session *session);          /* any thread */
/* handles.c */
void parley__handles_cleanup(parley_session *session);
/* A codec whose handle hooks map handles to this session's wire ids. */
void parley__session_codec(parley_session *session, parley_codec *codec);
#endif
