/* SPDX-License-Identifier: MIT */
/**
 * @file parley/peer.h
 * @brief Peers: one object that is client and server at once.
 */
#ifndef PARLEY_PEER_H
#define PARLEY_PEER_H

#include <stddef.h>
#include <stdint.h>
#include <talloc.h>

#include "parley/status.h"
#include "parley/protocol.h"
#include "parley/call.h"
#include "parley/session.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A peer (opaque). */
typedef struct parley_peer parley_peer;

/** How a handler runs. */
typedef enum parley_dispatch_mode {
    PARLEY_BLOCKING = 0,    /**< on the worker pool; may block */
    PARLEY_NONBLOCKING = 1  /**< on the I/O thread; must not block */
} parley_dispatch_mode;

/** One entry of a dispatch table. */
typedef struct parley_dispatch {
    uint32_t method_id;          /**< the method served */
    parley_handler_fn handler;   /**< its handler */
    parley_dispatch_mode mode;   /**< blocking or not */
} parley_dispatch;

/**
 * @brief Register a dispatch table: these methods are served by this peer.
 * @param[in] peer the peer (not yet listening or connected)
 * @param[in] table n entries; copied
 * @param[in] n number of entries
 * @param[in] data passed to every handler of this table
 * @return PARLEY_OK; INVALID_ARGUMENT (a method id not in the protocol, a
 *         oneway mismatch, a NULL handler, an id registered twice);
 *         INVALID_STATE (peer already active); NOMEM.
 *
 * Ownership: the table is copied; data is borrowed and must outlive the peer.
 * Errors: the statuses under @return, each with a sentence in
 * parley_error_message().
 */
PARLEY_PUBLIC parley_status parley_peer_add_dispatch(parley_peer *peer,
                                                     const parley_dispatch *table, size_t n,
                                                     void *data);


/** Default number of worker threads running blocking handlers. */
#define PARLEY_DEFAULT_WORKERS 4u
/** Default maximum payload of one frame, in bytes (both directions). */
#define PARLEY_DEFAULT_MAX_MESSAGE (16u << 20)
/** Default file mode of a unix listen socket when 0 is given. */
#define PARLEY_DEFAULT_SOCKET_MODE 0600u

/**
 * @brief Create a peer speaking one protocol.
 *
 * A peer is client and server at once: register dispatch tables, listen
 * endpoints and connect endpoints, then start listening and/or connect.  Its
 * I/O thread and worker pool start with the first start_listen, connect,
 * connect_fd or accept_fd.
 *
 * @code
 * parley_peer *peer;
 * parley_session *session;
 * parley_peer_new(mem, &kv_protocol, &peer);
 * parley_peer_add_connect_endpoint(peer, "unix:/run/kv.sock");
 * if (parley_peer_connect(peer, &session) != PARLEY_OK)
 *     fprintf(stderr, "%s\n", parley_error_message());
 * ...
 * talloc_free(peer);   // closes every session, joins every thread
 * @endcode
 *
 * @param[in] mem_ctx talloc parent of the peer
 * @param[in] protocol the protocol (borrowed; must outlive the peer)
 * @param[out] ret_peer the new peer, set only on success
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL, or a protocol that fails
 *         parley_protocol_check(), named); SYSTEM; NOMEM.
 *
 * Ownership: the peer is a talloc chunk under mem_ctx; talloc_free() closes
 * every session and listener, completes outstanding calls with
 * CONNECTION_CLOSED (their callbacks run before it returns), runs the cancel
 * functions of pended incoming calls and waits until every incoming call
 * has finished (running handlers returned, pended calls completed from
 * their cancel functions or any thread), joins the I/O thread and the
 * workers and closes every fd.  Session pointers are invalid afterwards; a call handle
 * still acquired stays valid until released (its dispatch gives
 * CONNECTION_CLOSED).  Not from a handler or callback of the peer.
 * Errors: as above, with a sentence in parley_error_message().
 *
 * Threads and signals: every thread the library starts blocks every signal,
 * whatever the creating thread's mask, so signals go to the application's
 * threads (its handlers, its sigwait() loop) and never to Parley's.
 *
 * fork(): a peer belongs to the process that created it.  In a child forked
 * after parley_peer_new(), the peer's threads do not exist and its locks may
 * be held, so parley_peer_start_listen(), parley_peer_stop_listen(),
 * parley_peer_connect(), parley_peer_connect_fd(), parley_peer_accept_fd()
 * (both close the fd), parley_peer_disconnect(), parley_peer_spawn(),
 * parley_session_acquire_call(), parley_call_dispatch(), parley_call_cancel(),
 * parley_call_pend() and parley_call_complete() on it return
 * INVALID_STATE with a sentence, and talloc_free() of it fails (returns -1)
 * and leaves it alone.  A child may create and use peers of its own, exec,
 * or exit; the parent's peers are not disturbed by the fork.
 */
PARLEY_PUBLIC parley_status parley_peer_new(TALLOC_CTX *mem_ctx, const parley_protocol *protocol,
                                            parley_peer **ret_peer);

/**
 * @brief Set the number of worker threads for blocking handlers.
 * @param[in] peer the peer, not yet started
 * @param[in] n threads, 1..1024 (default PARLEY_DEFAULT_WORKERS)
 * @return PARLEY_OK; INVALID_ARGUMENT; INVALID_STATE once started.
 *
 * Ownership: nothing allocated.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_set_workers(parley_peer *peer, unsigned n);

/**
 * @brief Set the largest frame payload this peer accepts and announces.
 *
 * The limit is sent in the HELLO; each end refuses to send a message larger
 * than the other end's limit (the call fails with OVERFLOW) and closes a
 * connection that sends it one (BYE with OVERFLOW).
 *
 * @param[in] peer the peer, not yet started
 * @param[in] bytes 64..4 GiB-1 (default PARLEY_DEFAULT_MAX_MESSAGE)
 * @return PARLEY_OK; INVALID_ARGUMENT; INVALID_STATE once started.
 *
 * Ownership: nothing allocated.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_set_max_message_size(parley_peer *peer, size_t bytes);

/**
 * @brief Add an endpoint to listen on (before parley_peer_start_listen()).
 *
 * Forms: `unix:/path`, `unix:@name` (abstract), `tcp:HOST:PORT` with an IPv6
 * address in brackets (`tcp:[::1]:0`); port 0 picks a free port, see
 * parley_peer_get_listen_endpoint().  A unix socket file gets `mode` before
 * anyone can connect; a stale socket file of a dead server is replaced, a
 * live server's is not.  Plain TCP listens only on loopback addresses
 * unless the endpoint ends in `?public` (`tcp:0.0.0.0:4000?public`), an
 * opt-in to be called by anyone who reaches the port (doc/security.md).
 *
 * @param[in] peer the peer
 * @param[in] endpoint the endpoint string (copied)
 * @param[in] mode file mode of a unix socket (0: PARLEY_DEFAULT_SOCKET_MODE;
 *            ignored otherwise)
 * @return PARLEY_OK; INVALID_ARGUMENT (bad endpoint string, named);
 *         INVALID_STATE (already listening); NOMEM.
 *
 * Ownership: the string is copied.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_add_listen_endpoint(parley_peer *peer,
                                                            const char *endpoint,
                                                            unsigned mode);

/**
 * @brief The endpoint a listener is bound to, e.g. "tcp:127.0.0.1:40123".
 * @param[in] peer a listening peer
 * @param[in] index the listen endpoint, in the order added
 * @param[in] mem_ctx talloc parent of the string
 * @param[out] ret_endpoint the endpoint string, set only on success
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL, index out of range);
 *         INVALID_STATE (not listening); NOMEM.
 *
 * Ownership: *ret_endpoint is a talloc string under mem_ctx.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_get_listen_endpoint(parley_peer *peer, size_t index,
                                                            TALLOC_CTX *mem_ctx,
                                                            char **ret_endpoint);

/**
 * @brief Start accepting connections on every listen endpoint.
 * @param[in] peer the peer with at least one listen endpoint
 * @return PARLEY_OK; INVALID_STATE (no endpoint, already listening, or a live
 *         server on a unix path); ACCESS_DENIED (a plain `tcp:` endpoint
 *         on an address that is not loopback, without `?public`; the
 *         sentence says how to opt in); SYSTEM (bind/listen failed,
 *         named); NOMEM.  On failure nothing is left listening.
 *
 * Ownership: the sockets belong to the peer.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_start_listen(parley_peer *peer);

/**
 * @brief Stop accepting and end every incoming session.
 *
 * Closes the listeners (unix socket files are removed) and every incoming
 * connection (with a BYE saying the server stopped listening).  Outgoing
 * sessions are not touched.
 *
 * From any other thread it returns once every incoming session is gone,
 * i.e. once handlers still running have returned.  From a handler of this
 * peer (BLOCKING or NONBLOCKING) or a callback on its I/O thread, where
 * waiting would wait for itself, it completes asynchronously: the listeners
 * and connections are closed on the I/O thread right after, and the
 * sessions end as their handlers return.  It never deadlocks.
 *
 * @param[in] peer the peer
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL); NOMEM (asynchronous case:
 *         nothing was stopped).
 *
 * Ownership: nothing allocated.  Threads: any.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_stop_listen(parley_peer *peer);

/**
 * @brief Add an endpoint to connect to; parley_peer_connect() tries them in
 *        the order added.
 * @param[in] peer the peer
 * @param[in] endpoint `unix:/path`, `unix:@name` or `tcp:HOST:PORT` (copied)
 * @return PARLEY_OK; INVALID_ARGUMENT (bad endpoint string, named); NOMEM.
 *
 * Ownership: the string is copied.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_add_connect_endpoint(parley_peer *peer,
                                                             const char *endpoint);

/**
 * @brief Connect to the first connect endpoint that answers and shake hands.
 *
 * Each call makes a new outgoing session.  The handshake compares protocol
 * names and the fingerprints of the methods both ends know.
 *
 * @param[in] peer the peer
 * @param[out] ret_session the new session, set only on success
 * @return PARLEY_OK; INVALID_STATE (no connect endpoint);
 *         CONNECTION_REFUSED (nobody listening; the sentence names every
 *         endpoint tried); PROTOCOL_MISMATCH (the sentence says what differs);
 *         CONNECTION_CLOSED or the other end's BYE status, notably
 *         ACCESS_DENIED (the server's construct hook refused us) and BUSY
 *         (the server serves its max clients and its backlog is full);
 *         TIMEOUT (no HELLO within the establish timeout, 10 s when unset);
 *         SYSTEM; NOMEM.
 *
 * Ownership: the session belongs to the peer; end it with
 * parley_session_close() or parley_peer_disconnect().  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_connect(parley_peer *peer, parley_session **ret_session);

/**
 * @brief Make an outgoing session on an already connected stream socket
 *        (e.g. one end of a socketpair) and shake hands.
 * @param[in] peer the peer
 * @param[in] fd a connected stream socket; on success it belongs to the session
 * @param[out] ret_session the new session, set only on success
 * @return as parley_peer_connect(), INVALID_ARGUMENT for a negative fd.  On
 *         failure the fd has been closed.
 *
 * Ownership: as parley_peer_connect(); the peer closes fd.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_connect_fd(parley_peer *peer, int fd,
                                                   parley_session **ret_session);

/**
 * @brief Serve an already connected stream socket as an incoming session.
 *
 * Returns at once; the handshake and the calls run on the I/O thread.
 *
 * @param[in] peer the peer
 * @param[in] fd a connected stream socket; it belongs to the peer from now on
 *            (closed on failure too)
 * @return PARLEY_OK; INVALID_ARGUMENT (negative fd); SYSTEM; NOMEM.
 *
 * Ownership: the peer owns and closes fd.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_accept_fd(parley_peer *peer, int fd);

/**
 * @brief Close every outgoing session of the peer.
 *
 * Outstanding calls on them complete with CONNECTION_CLOSED.
 *
 * @param[in] peer the peer
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL).
 *
 * Ownership: the sessions are freed once their calls are released.
 * Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_disconnect(parley_peer *peer);

/** Which timeout parley_peer_set_timeout() sets. */
typedef enum parley_timeout {
    PARLEY_TIMEOUT_ESTABLISH, /**< a connection's handshake must finish within it */
    PARLEY_TIMEOUT_IDLE,      /**< a session without outstanding calls this long is closed */
    PARLEY_TIMEOUT_CALL,      /**< default deadline of an outgoing call */
    PARLEY_TIMEOUT_SEND       /**< a connection whose output makes no progress this long is closed */
} parley_timeout;

/** Default send timeout (PARLEY_TIMEOUT_SEND), in milliseconds. */
#define PARLEY_DEFAULT_SEND_TIMEOUT_MS 30000

/**
 * @brief Set one of the peer's timeouts, in milliseconds (0: none).
 *
 * PARLEY_TIMEOUT_CALL is the deadline of every outgoing call dispatched from
 * now on that does not set its own with parley_call_set_timeout(): when it
 * passes, the call completes with PARLEY_ERR_TIMEOUT and a CANCEL frame tells
 * the other end (default 0: calls wait for their reply as long as the session
 * lives).  May be changed at any time; calls already outstanding keep theirs.
 *
 * PARLEY_TIMEOUT_ESTABLISH (default none on the server): an incoming
 * connection whose HELLO has not come within it is closed with a BYE
 * TIMEOUT; it also bounds how long parley_peer_connect() waits for the
 * server's HELLO (10 s when unset).  PARLEY_TIMEOUT_IDLE (default none): a
 * session with no call running or awaited and no frame for this long is
 * closed with a BYE TIMEOUT; the client sees it closed and must connect
 * again (see doc/runtime.md).
 *
 * PARLEY_TIMEOUT_SEND (default PARLEY_DEFAULT_SEND_TIMEOUT_MS, 30 s): when a
 * connection's output waits (the other end does not read) and nothing of it
 * is written for this long, the connection is closed with a BYE TIMEOUT
 * whose sentence says so; its outstanding calls fail, and a caller waiting
 * for room to send a request (see parley_peer_set_max_output()) gets
 * TIMEOUT.  0: no send timeout (such a caller then waits as long as the
 * other end does not read).  Applies to sessions created afterwards.
 *
 * @param[in] peer the peer
 * @param[in] which the timeout
 * @param[in] ms milliseconds, 0 for none, at most one day
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL peer, unknown timeout, negative or
 *         over a day).
 *
 * Ownership: nothing allocated.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_set_timeout(parley_peer *peer, parley_timeout which,
                                                    int64_t ms);
/** Default output limit per connection (parley_peer_set_max_output()). */
#define PARLEY_DEFAULT_MAX_OUTPUT (4u << 20)
/** Smallest output limit parley_peer_set_max_output() accepts. */
#define PARLEY_MIN_MAX_OUTPUT 4096u
/** Largest output limit parley_peer_set_max_output() accepts (1 GiB). */
#define PARLEY_MAX_MAX_OUTPUT (1u << 30)

/**
 * @brief Bound the output waiting on each connection (flow control).
 *
 * What a connection's socket does not take at once waits in the
 * connection's queue.  When `bytes` wait, the peer stops reading that
 * connection (no new requests are read, so no new replies are made) until
 * the other end has taken half of them; other connections are not
 * affected.  A request (a call or a oneway message) sent from your thread or
 * a handler's worker while the output is full waits for room, at most for
 * the send timeout (PARLEY_TIMEOUT_SEND) without progress, then fails with
 * TIMEOUT and the connection is closed; replies never wait, and neither
 * does the I/O thread.  A connection whose output makes no progress for the
 * send timeout is closed with a BYE TIMEOUT carrying a sentence.
 *
 * The queue may exceed `bytes` by what was already under way when the limit
 * was reached: the rest of the frame being sent, the replies of requests
 * already read (at most one batch of frames, and the calls already running:
 * see parley_peer_set_max_outstanding_calls()), and requests sent from the
 * I/O thread (completion callbacks), which never wait.  doc/runtime.md
 * ("Flow control") gives the bound.
 *
 * @param[in] peer the peer
 * @param[in] bytes PARLEY_MIN_MAX_OUTPUT..PARLEY_MAX_MAX_OUTPUT (default
 *            PARLEY_DEFAULT_MAX_OUTPUT, 4 MiB)
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL peer, bytes out of range).
 *
 * Ownership: nothing allocated.  Errors: as above.  Threads: any; applies to
 * sessions created afterwards.
 */
PARLEY_PUBLIC parley_status parley_peer_set_max_output(parley_peer *peer, size_t bytes);

/** Default limit of incoming sessions served at once. */
#define PARLEY_DEFAULT_MAX_CLIENTS 1024u
/** Default number of accepted connections that wait for a free slot. */
#define PARLEY_DEFAULT_LISTEN_BACKLOG 128u

/**
 * @brief Limit the incoming sessions served at once.
 *
 * A connection accepted while max clients sessions exist waits, unserved (no
 * HELLO: the client's parley_peer_connect() keeps waiting, up to its
 * establish timeout), until a session ends; see parley_peer_set_listen_backlog().
 *
 * @param[in] peer the peer, not yet listening
 * @param[in] n 1..1048576 (default PARLEY_DEFAULT_MAX_CLIENTS)
 * @return PARLEY_OK; INVALID_ARGUMENT; INVALID_STATE (listening).
 *
 * Ownership: nothing allocated.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_set_max_clients(parley_peer *peer, unsigned n);

/**
 * @brief Set how many accepted connections may wait for a free slot.
 *
 * Beyond it a new connection is told BUSY in a BYE frame and closed: the
 * client's parley_peer_connect() fails with BUSY (not a reset, not a hang).
 * Waiting connections are served oldest first.
 *
 * @param[in] peer the peer, not yet listening
 * @param[in] n 0..65536 (default PARLEY_DEFAULT_LISTEN_BACKLOG; 0: never wait)
 * @return PARLEY_OK; INVALID_ARGUMENT; INVALID_STATE (listening).
 *
 * Ownership: nothing allocated.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_set_listen_backlog(parley_peer *peer, unsigned n);

/** Default limit of incoming calls running at once per session. */
#define PARLEY_DEFAULT_MAX_OUTSTANDING_CALLS 1024u
/** Default limit of handles registered per session. */
#define PARLEY_DEFAULT_MAX_HANDLES 4096u

/**
 * @brief Limit the incoming calls one session may have running at once.
 *
 * A CALL beyond the limit is not run: its caller gets BUSY at once (the
 * session stays up).  Oneway messages beyond it are dropped.
 *
 * @param[in] peer the peer
 * @param[in] n 1..1048576 (default PARLEY_DEFAULT_MAX_OUTSTANDING_CALLS)
 * @return PARLEY_OK; INVALID_ARGUMENT.
 *
 * Ownership: nothing allocated.  Errors: as above.  Takes effect for calls
 * arriving afterwards.
 */
PARLEY_PUBLIC parley_status parley_peer_set_max_outstanding_calls(parley_peer *peer, unsigned n);

/**
 * @brief Limit the handles one session may hold registered at once.
 * @param[in] peer the peer
 * @param[in] n 1..16777215 (default PARLEY_DEFAULT_MAX_HANDLES)
 * @return PARLEY_OK; INVALID_ARGUMENT.
 *
 * Ownership: nothing allocated.  Errors: as above; registering beyond the
 * limit fails with BUSY.
 */
PARLEY_PUBLIC parley_status parley_peer_set_max_handles(parley_peer *peer, unsigned n);

/**
 * Construct hook: runs on the I/O thread (or the thread calling
 * parley_peer_accept_fd()) for each incoming connection, before the
 * handshake, with the credentials readable.  Return PARLEY_OK and set
 * *ret_session_data (optional) to accept; any other status refuses the
 * client, whose parley_peer_connect() fails with ACCESS_DENIED.
 */
typedef parley_status (*parley_session_construct_fn)(parley_session *session, void *data,
                                                     void **ret_session_data);
/** Destruct hook: runs once when an accepted session ends, after its handles were cleaned up. */
typedef void (*parley_session_destruct_fn)(parley_session *session, void *session_data,
                                           void *data);

/**
 * @brief Set the hooks run for each incoming session.
 * @param[in] peer the peer, not yet started
 * @param[in] construct accepts or refuses a client, makes its data (may be NULL)
 * @param[in] destruct frees that data when the session ends (may be NULL)
 * @param[in] data passed to both
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL peer); INVALID_STATE (started).
 *
 * Ownership: data is borrowed and must outlive the peer.  Errors: as above.
 * A session refused by construct gets no destruct.
 */
PARLEY_PUBLIC parley_status parley_peer_set_session_functions(parley_peer *peer,
                                                              parley_session_construct_fn construct,
                                                              parley_session_destruct_fn destruct,
                                                              void *data);
/**
 * @brief Set the most file descriptors one frame may carry (default 32).
 *
 * `fd` values travel over unix sockets only, beside the frame's bytes
 * (SCM_RIGHTS).  Sending a request or reply with more than n fds fails at
 * encode with OVERFLOW; a received frame announcing more than n is a
 * protocol violation (BYE, connection closed).  Applies to sessions created
 * after the call.
 *
 * @param[in] peer the peer
 * @param[in] n 0 (no fds at all) .. 253 (the kernel's SCM_MAX_FD)
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL peer, n > 253).
 *
 * Ownership: nothing changes hands.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_set_max_fds(parley_peer *peer, unsigned n);

/**
 * @brief Start a program as a child process and connect to it.
 *
 * Creates a unix socketpair and forks; the child keeps its end as
 * descriptor 3 and finds it through the environment variable
 * `PARLEY_SPAWN_FD` (set to "3"); every other descriptor above 2 is closed
 * before exec (close_range, or a close loop), so nothing else of the parent
 * leaks into the child.  The child's signal mask and dispositions are reset.
 * argv[0] is searched in PATH unless it contains a '/'.  The child is
 * expected to call parley_peer_serve_spawned().  Returns once the handshake
 * with the child is done.
 *
 * The parent reaps the child (no zombies).  When the session ends (the
 * parent calls parley_session_close(), or frees the peer) the child sees
 * end of stream and should exit; one still running 2 s later gets SIGTERM,
 * and 2 s after that SIGKILL.  If the child dies first, the session closes
 * and its outstanding calls complete with CONNECTION_CLOSED.
 * Freeing the peer waits for its spawned children to be reaped (at most
 * about 4 s for one that ignores SIGTERM).  A program that reaps children itself with
 * waitpid(-1) or ignores SIGCHLD takes that over (the parent's reaper then
 * stops early).
 *
 * @param[in] peer the peer (started if it was not)
 * @param[in] argv the program and its arguments, NULL-terminated
 * @param[out] ret_session the session with the child
 * @return PARLEY_OK; INVALID_ARGUMENT; NOT_FOUND (no such program);
 *         SYSTEM (fork, exec, socketpair failed); the handshake's status
 *         (e.g. PROTOCOL_MISMATCH, CONNECTION_CLOSED if the child exited).
 *
 * Ownership: *ret_session is yours as from parley_peer_connect(); close it
 * with parley_session_close().  Errors: as above; on failure no child is
 * left running.
 */
PARLEY_PUBLIC parley_status parley_peer_spawn(parley_peer *peer, char *const argv[],
                                              parley_session **ret_session);

/**
 * @brief In a program started by parley_peer_spawn(): serve the parent.
 *
 * Takes the socket named by `PARLEY_SPAWN_FD` (and unsets the variable, so
 * programs this child starts do not inherit it), serves it as an incoming
 * session of peer with the dispatch tables added so far, and returns once
 * the peer has no incoming session left: normally that one session has
 * ended (the parent dropped it or went away); a child that also listens
 * returns when its other clients are gone too.  The caller
 * then frees the peer and exits with *ret_exit_status.  argc and argv are
 * accepted for future conventions and not read now.
 *
 * @param[in] peer the peer, with its dispatch tables added
 * @param[in] argc the program's argc
 * @param[in] argv the program's argv
 * @param[out] ret_exit_status 0 after the session ended
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL); INVALID_STATE (not started by
 *         parley_peer_spawn(): no usable PARLEY_SPAWN_FD); SYSTEM; NOMEM.
 *
 * Ownership: the peer owns the socket.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_serve_spawned(parley_peer *peer, int argc, char **argv,
                                                      int *ret_exit_status);

/**
 * Exception function: an unexpected error on a session (a malformed or
 * oversized frame, a broken connection, a handler's reply that does not
 * encode, a handler returning PENDING without pending, a oneway message
 * the access function refused (PERMISSION_DENIED; parley/security.h)).  Runs on the I/O
 * thread or on the thread that met the error, with no lock held; it must
 * not block.  session is borrowed for the call only; message is a sentence.
 */
typedef void (*parley_exception_fn)(parley_peer *peer, parley_session *session,
                                    parley_status status, const char *message, void *data);

/**
 * @brief Set the peer's exception function (default: none).
 * @param[in] peer the peer, not yet started
 * @param[in] fn the function, or NULL for none
 * @param[in] data passed to fn
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL peer); INVALID_STATE (started).
 *
 * Ownership: data is borrowed for the peer's life.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_set_exception_function(parley_peer *peer,
                                                               parley_exception_fn fn,
                                                               void *data);

/**
 * Trace function: a call begins (status PARLEY_OK) or ends (its final
 * status).  Read the method with parley_call_get_method() and the direction
 * with parley_call_get_direction().  An outgoing call begins when it is sent
 * and ends when it completes (reply, failure, cancel, timeout); an incoming
 * call begins before its handler runs and ends when its reply is sent (a
 * oneway call when its handler returns).  Runs on the thread where that
 * happens, with no lock held; it must be quick and must not block.
 */
typedef void (*parley_trace_fn)(parley_call *call, parley_status status, void *data);

/**
 * @brief Set the peer's trace functions (default: none, and no cost).
 * @param[in] peer the peer, not yet started
 * @param[in] begin run when a call begins (may be NULL)
 * @param[in] end run when a call ends (may be NULL)
 * @param[in] data passed to both
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL peer); INVALID_STATE (started).
 *
 * Ownership: data is borrowed for the peer's life.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_set_trace_functions(parley_peer *peer,
                                                            parley_trace_fn begin,
                                                            parley_trace_fn end, void *data);

#ifdef __cplusplus
}
#endif

#endif /* PARLEY_PEER_H */
