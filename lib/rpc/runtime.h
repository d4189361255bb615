/* Internal: the objects of the runtime (peer, session, call) and how the
 * modules peer.c, session.c and call.c reach each other.
 *
 * Threads: one I/O thread (the loop) reads every connection and runs the
 * session callbacks; workers run blocking handlers and send their replies
 * straight to the socket; any thread may dispatch calls.
 *
 * Memory: the peer is the caller's talloc chunk.  Sessions and calls are
 * NULL-parented talloc trees (different threads allocate and free them at
 * once, and one talloc tree must not be touched by two threads), linked from
 * the peer by lists and freed explicitly; the peer's destructor frees what is
 * left.  A session is reference counted: its open connection, its user (an
 * outgoing session until parley_session_close()), and each call hold one.
 *
 * Locks: peer->lock before session->lock; no callback runs with a lock held.
 */
#ifndef PARLEY_LIB_RUNTIME_H
#define PARLEY_LIB_RUNTIME_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "parley/data.h"
#include "parley/peer.h"
#include "conn.h"
#include "endpoint.h"
#include "frame.h"
#include "loop.h"
#include "workers.h"

#define PARLEY__CALL_BUCKETS 64u
/* How long connect waits for the other end's HELLO (issue 5 makes it a setting). */
#define PARLEY__HANDSHAKE_TIMEOUT_MS 10000u

typedef struct parley__dispatch_entry {
    parley_handler_fn handler;
    parley_dispatch_mode mode;
    void *data;
} parley__dispatch_entry;

typedef struct parley__listener {
    struct parley__listener *next;
    parley_peer *peer;
    parley__endpoint *ep;
    unsigned mode;
    parley__io io;       /* io.fd < 0 when not listening */
    parley__timer pause; /* accepting paused (out of descriptors) */
    char *bound;         /* the bound endpoint string */
} parley__listener;

typedef struct parley__connect_ep {
    struct parley__connect_ep *next;
    parley__endpoint *ep;
} parley__connect_ep;

struct parley_peer {
    unsigned fork_generation;       /* parley__fork_generation() when created (fork.h) */
    const parley_protocol *protocol;
    pthread_mutex_t lock;
    pthread_cond_t cond;              /* incoming sessions gone */
    parley__loop *loop;
    parley__workers *workers;
    bool started;
    bool listening;
    bool destroying;
    unsigned n_workers;
    uint32_t max_message;
    parley__dispatch_entry *dispatch; /* by method index; handler NULL = not served */
    parley__listener *listeners, **listeners_tail;
    parley__connect_ep *connects, **connects_tail;
    parley_session *sessions;         /* every live session */
    unsigned n_incoming;
    /* Timeouts in ms, 0 = none (parley_peer_set_timeout(); atomic access).
     * establish_ms and idle_ms are enforced by the sessions code. */
    int64_t establish_ms;
    int64_t idle_ms;
    int64_t call_ms;

    /* Issue 5, "sessions": hooks and limits (hooks.c, handles.c). */
    parley_session_construct_fn session_construct;
    parley_session_destruct_fn session_destruct;
    void *session_fn_data;
    unsigned max_outstanding;         /* incoming calls running per session */
    unsigned max_handles;             /* registered handles per session */
    unsigned max_clients;             /* incoming sessions at once (limits.c) */
    unsigned listen_backlog;          /* accepted connections waiting for a slot */
    struct parley__waiting *waiting;  /* under lock */
    bool admit_posted;                /* under lock */
    /* fds (lib/fdpass.c, lib/spawn.c), under lock. */
    unsigned max_fds;
    bool max_fds_set;
    struct parley__child *children;   /* spawned children not yet reaped */
    unsigned n_reapers;               /* reaper threads still running */
    /* Exception and trace hooks (call_hooks.c; set before the peer starts). */
    parley_exception_fn exception_fn;
    void *exception_data;
    parley_trace_fn trace_begin, trace_end;
    void *trace_data;
};

typedef enum parley__session_state {
    PARLEY__SESSION_HANDSHAKE,
    PARLEY__SESSION_READY,
    PARLEY__SESSION_CLOSED
} parley__session_state;

struct parley_session {
    parley_peer *peer;
    parley_session *prev, *next;      /* peer->sessions, under peer->lock */
    parley__conn *conn;
    bool incoming;
    bool user_closed;                 /* the user's reference is gone */
    bool idle_closed;                 /* closed by our idle timeout: not an exception */
    pthread_mutex_t lock;
    pthread_cond_t cond;              /* handshake finished */
    unsigned refs;                    /* under lock */
    parley__session_state state;
    parley_status close_status;
    char close_why[256];
    uint32_t remote_max_message;
    uint32_t next_call_id;
    unsigned n_outstanding;
    parley_call *calls[PARLEY__CALL_BUCKETS];   /* outgoing calls awaiting a reply */

    /* Issue 5, "sessions" (hooks.c, handles.c). */
    void *session_data;               /* from the construct hook */
    bool constructed;                 /* the construct hook accepted it: destruct runs */
    bool ended;                       /* end hooks ran */
    bool have_creds;                  /* a unix socket: creds is valid */
    parley_credentials creds;
    unsigned n_running;               /* incoming calls not finished, under lock */
    struct parley__handle_table *handles;   /* under lock; NULL until the first */
    bool refused;                     /* the construct hook refused it: frames ignored */
    parley__timer timer;              /* establish, then idle (loop thread) */
    uint64_t last_activity_ms;        /* atomic: last frame or finished call */
    struct parley__proxy_table *proxies;    /* handles of the other end, under lock */
    /* Issue 5, calls: incoming calls not yet finished (under lock), and the
     * timer of outgoing calls' deadlines (loop thread; due under lock). */
    parley_call *incoming_calls;
    parley__timer call_timer;
    uint64_t timer_due;               /* under lock: 0 or when call_timer should fire */
    bool timer_armed;                 /* loop thread: armed, holds a reference */
};

typedef enum parley__call_state {
    PARLEY__CALL_IDLE,        /* outgoing: acquired, not dispatched */
    PARLEY__CALL_OUTSTANDING, /* outgoing: awaiting its reply */
    PARLEY__CALL_COMPLETED,   /* outgoing: reply or failure recorded */
    PARLEY__CALL_RUNNING,     /* incoming: handler running */
    PARLEY__CALL_PENDED       /* incoming: handler pended (issue 5) */
} parley__call_state;

struct parley_call {
    parley_session *session;
    bool incoming;
    parley__call_state state;         /* under session->lock */
    uint32_t id;
    const parley_method *method;
    parley_call *hnext;               /* bucket chain */

    /* Outgoing. */
    pthread_cond_t cond;              /* with session->lock: completed */
    TALLOC_CTX *mem_ctx;
    void **ret_out;
    parley_call_done_fn done;
    void *done_data;
    parley_status result;
    bool completed;                   /* under session->lock: result is set */
    void *reply;                      /* decoded reply, NULL-parented until handed over */
    char *message;                    /* the failure's sentence */

    /* Incoming. */
    const parley__dispatch_entry *entry;
    void *in;                         /* decoded request, under the call */
    void *out;                        /* zeroed reply, under the call */

    /* Issue 5 (call_async.c). */
    int64_t timeout_ms;               /* outgoing: PARLEY_TIMEOUT_DEFAULT or ms (0 none) */
    uint64_t deadline_ms;             /* outgoing, while outstanding: 0 or CLOCK_MONOTONIC ms */
    bool remote_set;                  /* a REMOTE error's code and message are here */
    int32_t remote_code;
    char *remote_message;             /* under the call */
    bool traced;                      /* begin trace ran: end trace runs once */
    /* Incoming, under session->lock. */
    parley_call *inext, *iprev;       /* session->incoming_calls */
    parley_call_cancel_fn cancel_fn;
    void *cancel_data;
    bool pended;                      /* parley_call_pend() ran */
    bool cancel_requested;            /* a CANCEL came, or the session ended */
    bool cancel_ran;
    bool finish_set;                  /* parley_call_complete() ran: finish_status */
    parley_status finish_status;
    unsigned holds;                   /* handler or cancel function running */
};

/* session.c */
parley_status parley__session_new(parley_peer *peer, int fd, bool incoming,
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
/* Free a session regardless of references (peer destructor, loop stopped). */
void parley__session_destroy(parley_session *session);

/* call.c: frames for calls, on the loop thread. */
void parley__call_on_call(parley_session *session, const parley__frame_header *hdr,
                          const uint8_t *payload);
void parley__call_on_reply(parley_session *session, const parley__frame_header *hdr,
                           const uint8_t *payload);
/* Fail every outstanding outgoing call of a closed session (loop thread). */
void parley__call_fail_all(parley_session *session, parley_status status, const char *why);

/* hooks.c: credentials, construct/destruct (issue 5). */
void parley__session_read_credentials(parley_session *session, int fd);
/* Run the construct hook of an incoming session; not OK: refuse it. */
parley_status parley__session_construct(parley_session *session);
/* The session is going away: clean its handles, run the destruct hook (once). */
void parley__session_end(parley_session *session);
/* session_timers.c: establish and idle timeouts (issue 5). */
void parley__session_timers_start(parley_session *session);   /* any thread */
void parley__session_timers_ready(parley_session *session);   /* loop thread, after HELLO */
void parley__session_timers_stop(parley_session *session);    /* loop thread, closed */
void parley__session_touch(parley_session *session);          /* any thread */
/* limits.c: max clients and the listen backlog (issue 5). */
void parley__limits_accept(parley_peer *peer, int fd);          /* loop thread */
void parley__limits_slot_freed_locked(parley_peer *peer);       /* under peer->lock */
void parley__limits_drop_waiting(parley_peer *peer);            /* closes waiting fds */
/* handles.c */
void parley__handles_cleanup(parley_session *session);
/* A codec whose handle hooks map handles to this session's wire ids. */
void parley__session_codec(parley_session *session, parley_codec *codec);
/* fdpass.c: the max fds per frame (default or set). */
unsigned parley__peer_max_fds(parley_peer *peer);
/* spawn.c: close the sessions of spawned children and reap them (peer
 * destructor, before the sessions go). */
void parley__spawn_reap_all(parley_peer *peer);
/* call.c, used by call_async.c. */
parley_call *parley__call_table_remove(parley_session *session, uint32_t id);
void parley__call_complete_outgoing(parley_call *call, parley_status st, void *reply,
                                    const char *msg);
/* Send the reply of an incoming call (unlinked already) and free it. */
void parley__call_finish_incoming(parley_call *call, parley_status st);

/* call_async.c (issue 5). */
/* Incoming: link a new call into the session (loop thread). */
void parley__call_incoming_link_locked(parley_call *call);   /* session->lock held */
/* The handler returned st: finish now, or leave a pended call waiting. */
void parley__call_handler_returned(parley_call *call, parley_status st);
/* A CANCEL frame for an incoming call (loop thread). */
void parley__call_on_cancel(parley_session *session, const parley__frame_header *hdr);
/* The session ended: run the cancel functions of its pended calls, stop its
 * call timer (loop thread). */
void parley__call_session_closed(parley_session *session);
/* Outgoing: the deadline of a call about to be sent (0: none). */
uint64_t parley__call_deadline(parley_call *call);
/* Outgoing: a call with deadline is in the table now (any thread). */
void parley__call_deadline_added(parley_session *session, uint64_t deadline_ms);

/* call_hooks.c (issue 5). */
/* Whether the peer has trace functions (begin or end). */
bool parley__trace_wanted(const parley_peer *peer);
/* Run the begin function, if any (the caller set call->traced). */
void parley__trace_begin(parley_call *call);
void parley__trace_end(parley_call *call, parley_status status);
void parley__exception(parley_session *session, parley_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* peer.c */
parley_status parley__peer_start(parley_peer *peer);
void parley__peer_session_gone(parley_peer *peer, parley_session *session);

#endif
