/* SPDX-License-Identifier: MIT */
/**
 * @file parley/peer.h
 * @brief Peers: one object that is client and server at once.
 */
#ifndef PARLEY_PEER_H
#define PARLEY_PEER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
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
 * May be called at any time, also after the peer started and while calls
 * run on other threads: a method becomes served for calls that arrive
 * after this returns (a call that arrived before got NOT_FOUND).  An entry
 * once added is never removed or replaced.
 *
 * @param[in] peer the peer
 * @param[in] table n entries; copied
 * @param[in] n number of entries
 * @param[in] data passed to every handler of this table (see also
 *            parley_call_get_dispatch_data() and parley_peer_get_dispatch_data())
 * @return PARLEY_OK; INVALID_ARGUMENT (a method id not in the protocol, a
 *         oneway mismatch, a NULL handler, an id registered twice); NOMEM.
 *         On failure nothing of the table was added.
 *
 * Ownership: the table is copied; data is borrowed and must outlive the peer.
 * Threads: any.  Errors: the statuses under @return, each with a sentence in
 * parley_error_message().
 */
PARLEY_PUBLIC parley_status parley_peer_add_dispatch(parley_peer *peer,
                                                     const parley_dispatch *table, size_t n,
                                                     void *data);

/**
 * @brief parley_peer_add_dispatch() where the handlers get other data than
 *        the dispatch-data getters return (generated code: the handlers are
 *        trampolines that get their registration, the application's data
 *        is what parley_call_get_dispatch_data() returns).
 * @param[in] peer the peer
 * @param[in] table n entries; copied
 * @param[in] n number of entries
 * @param[in] handler_data passed to every handler of this table
 * @param[in] dispatch_data returned by parley_call_get_dispatch_data() and
 *            parley_peer_get_dispatch_data() for the table's methods
 * @return as parley_peer_add_dispatch().
 *
 * Ownership: the table is copied; both pointers are borrowed and must
 * outlive the peer.  Threads: any.  Errors: as parley_peer_add_dispatch().
 */
PARLEY_PUBLIC parley_status parley_peer_add_dispatch_with_data(parley_peer *peer,
                                                               const parley_dispatch *table,
                                                               size_t n, void *handler_data,
                                                               void *dispatch_data);

/**
 * @brief The data registered with the dispatch table that serves a method.
 * @param[in] peer the peer
 * @param[in] method_id the method
 * @param[out] ret_data the table's data (parley_peer_add_dispatch()'s
 *             `data`, parley_peer_add_dispatch_with_data()'s `dispatch_data`,
 *             a generated X_register()'s `data`; may be NULL), set only on
 *             success
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL peer or ret_data); NOT_FOUND
 *         (the method is not served by this peer).
 *
 * Ownership: the data is the application's.  Threads: any.  Errors: as
 * above, with a sentence.
 */
PARLEY_PUBLIC parley_status parley_peer_get_dispatch_data(parley_peer *peer, uint32_t method_id,
                                                          void **ret_data);


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
 * endpoints and connect endpoints, then start listening and/or connect
 * (dispatch tables and listen endpoints may also be added later).  Its
 * I/O thread and worker pool start with the first start_listen, connect,
 * connect_endpoint, connect_fd or accept_fd.
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
 * parley_peer_add_listen_endpoint(), parley_peer_add_listen_fd(),
 * parley_peer_add_systemd_listen_fds(), parley_peer_connect_endpoint(),
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
 * @brief Set the most worker threads for blocking handlers.
 *
 * Workers start when a blocking handler's call finds no idle one, up to n,
 * and stay until the peer is freed: a peer whose handlers are all
 * PARLEY_NONBLOCKING (or that serves nothing) never starts one.
 *
 * @param[in] peer the peer, not yet started
 * @param[in] n threads at most, 1..1024 (default PARLEY_DEFAULT_WORKERS)
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
 * @brief Add an endpoint to listen on.
 *
 * Before parley_peer_start_listen() it is opened by it; while the peer
 * listens it is opened at once (and a failure to bind is returned here).
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
 *         while listening: INVALID_STATE (a live server on a unix path,
 *         address in use) or SYSTEM (bind/listen failed), the endpoint not
 *         added; NOMEM.
 *
 * Ownership: the string is copied.  Threads: any.  Errors: as above.
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

/**
 * @brief Listen on a socket that is already listening (e.g. inherited from
 *        a supervisor).
 *
 * The socket must be a stream socket in the listening state (listen()
 * called), unix (path, abstract or unnamed) or TCP (IPv4 or IPv6); the
 * kind is read from the socket.  The peer sets it non-blocking and
 * close-on-exec.  It counts as a listen endpoint: parley_peer_start_listen()
 * starts accepting on it, or accepting starts at once when the peer already
 * listens; parley_peer_get_listen_endpoint() names it ("unix:/path",
 * "tcp:127.0.0.1:4000").  parley_peer_stop_listen() closes it, and it is
 * not reopened by a later start; the peer never unlinks the socket file of
 * a descriptor passed in (it did not create it).
 *
 * @param[in] peer the peer
 * @param[in] fd the listening socket; on success it belongs to the peer
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL peer, negative fd, not a
 *         socket, not a stream socket, not listening, not unix or TCP:
 *         the sentence says which); SYSTEM; NOMEM.  On failure the fd is
 *         not taken: it stays the caller's, open.
 *
 * Ownership: the fd, on success.  Threads: any.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_add_listen_fd(parley_peer *peer, int fd);

/**
 * @brief Take the listening sockets systemd passed (socket activation).
 *
 * Reads `LISTEN_PID`, `LISTEN_FDS` and `LISTEN_FDNAMES` as sd_listen_fds()
 * does (no libsystemd needed): when LISTEN_PID is this process, the
 * LISTEN_FDS descriptors from 3 up are checked like
 * parley_peer_add_listen_fd() and added as listen endpoints.  With name
 * NULL every one is taken and the three variables are unset (so children
 * do not inherit them); with a name (a `FileDescriptorName=` of the
 * .socket unit) only the descriptors of that name are taken and the
 * variables are left for others (another peer of the process may take its
 * own name; unset them when done).  No variables, or another process's:
 * PARLEY_OK with *ret_n 0.
 *
 * @param[in] peer the peer
 * @param[in] name the descriptors' name, or NULL for all
 * @param[out] ret_n how many were taken (may be NULL)
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL peer; malformed LISTEN_FDS; a
 *         passed descriptor that is not a listening unix or TCP stream
 *         socket, named by number and name: then none is taken); SYSTEM;
 *         NOMEM.
 *
 * Ownership: the descriptors taken belong to the peer.  Threads: any; the
 * environment is read and written, so not while other threads call
 * getenv()/setenv().  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_add_systemd_listen_fds(parley_peer *peer,
                                                               const char *name, size_t *ret_n);

/**
 * @brief Connect to one given endpoint and shake hands.
 *
 * Unlike parley_peer_connect(), which tries the peer's connect endpoints,
 * this connects to `endpoint` only.  Any number of sessions, to any number
 * of addresses, at any time, from any number of threads at once.
 *
 * @param[in] peer the peer
 * @param[in] endpoint `unix:/path`, `unix:@name` or `tcp:HOST:PORT`
 * @param[out] ret_session the new session, set only on success
 * @return as parley_peer_connect(); INVALID_ARGUMENT (NULL, bad endpoint
 *         string, named).
 *
 * Ownership: as parley_peer_connect().  Threads: any.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_connect_endpoint(parley_peer *peer, const char *endpoint,
                                                         parley_session **ret_session);

/**
 * Socket settings of a peer's connections (parley_peer_set_socket_options()).
 *
 * Start from parley_socket_options_init(), which sets `size` and the
 * defaults, then change fields.  TCP fields apply to TCP connections
 * only; the buffer sizes apply to every connection.  0 in a field means
 * "leave the kernel's value" unless said otherwise.
 */
typedef struct parley_socket_options {
    size_t size;                  /**< sizeof(parley_socket_options) (set by init) */
    int nodelay;                  /**< TCP_NODELAY: 1 (default) or 0 */
    int keepalive;                /**< SO_KEEPALIVE on TCP: 0 (default) or 1 */
    int keepalive_idle_s;         /**< TCP_KEEPIDLE, seconds idle before probes (0: kernel's) */
    int keepalive_interval_s;     /**< TCP_KEEPINTVL, seconds between probes (0: kernel's) */
    int keepalive_count;          /**< TCP_KEEPCNT, probes before the connection is dropped (0: kernel's) */
    unsigned user_timeout_ms;     /**< TCP_USER_TIMEOUT, ms unacknowledged data may wait (0: kernel's) */
    int send_buffer;              /**< SO_SNDBUF bytes (0: kernel's; the kernel doubles it) */
    int receive_buffer;           /**< SO_RCVBUF bytes (0: kernel's; the kernel doubles it) */
} parley_socket_options;

/**
 * @brief Fill options with Parley's defaults (TCP_NODELAY on, the rest the
 *        kernel's) and set its size.
 * @param[out] options the options
 *
 * Ownership: nothing allocated.  Errors: none (NULL is ignored).
 */
PARLEY_PUBLIC void parley_socket_options_init(parley_socket_options *options);

/**
 * @brief Set the socket options of the peer's connections.
 *
 * Applied to every connection the peer makes or accepts afterwards
 * (parley_peer_connect(), parley_peer_connect_endpoint(), accepted
 * connections, and sockets given to parley_peer_connect_fd() and
 * parley_peer_accept_fd()), except those of an endpoint with options of
 * its own (parley_peer_add_listen_endpoint_with_options(),
 * parley_peer_connect_endpoint_with_options()); connections already up
 * keep theirs.  Whatever
 * the options, Parley also makes every socket close-on-exec, sets
 * SO_REUSEADDR on TCP listeners, and uses the socket in blocking mode with
 * MSG_DONTWAIT on the I/O thread (see doc/runtime.md, "Socket settings").
 * A setting the kernel refuses closes that connection with SYSTEM naming
 * the option.
 *
 * @param[in] peer the peer
 * @param[in] options the options (copied); options->size tells which
 *            fields are present (an older, smaller struct keeps the defaults
 *            for the fields it lacks)
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL, size too small, a negative or
 *         out-of-range value, named).
 *
 * Ownership: copied.  Threads: any.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_set_socket_options(parley_peer *peer,
                                                           const parley_socket_options *options);

/**
 * @brief parley_peer_add_listen_endpoint() with socket options of its own.
 *
 * The connections accepted on this endpoint get `options` instead of the
 * peer's (parley_peer_set_socket_options()); the whole struct replaces
 * the peer's, fields at their defaults included.
 *
 * @param[in] peer the peer
 * @param[in] endpoint as parley_peer_add_listen_endpoint()
 * @param[in] mode as parley_peer_add_listen_endpoint()
 * @param[in] options the options (copied), or NULL for the peer's
 * @return as parley_peer_add_listen_endpoint(); INVALID_ARGUMENT for bad
 *         options, as parley_peer_set_socket_options().
 *
 * Ownership: copied.  Threads: any.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_add_listen_endpoint_with_options(
    parley_peer *peer, const char *endpoint, unsigned mode, const parley_socket_options *options);

/**
 * @brief parley_peer_connect_endpoint() with socket options for this
 *        session (instead of the peer's; the whole struct replaces them).
 * @param[in] peer the peer
 * @param[in] endpoint as parley_peer_connect_endpoint()
 * @param[in] options the options (copied), or NULL for the peer's
 * @param[out] ret_session the new session, set only on success
 * @return as parley_peer_connect_endpoint(); INVALID_ARGUMENT for bad
 *         options, as parley_peer_set_socket_options().
 *
 * Ownership: as parley_peer_connect().  Threads: any.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_connect_endpoint_with_options(
    parley_peer *peer, const char *endpoint, const parley_socket_options *options,
    parley_session **ret_session);

/** Why a session ended (parley_session_close_fn). */
typedef enum parley_close_reason {
    PARLEY_CLOSE_LOCAL = 1,          /**< this end closed it: parley_session_close(),
                                          parley_peer_disconnect(), parley_peer_stop_listen(),
                                          the peer freed */
    PARLEY_CLOSE_BYE = 2,            /**< the other end sent a BYE; status is its status */
    PARLEY_CLOSE_EOF = 3,            /**< the connection ended without a BYE (end of file,
                                          reset, a failed write) */
    PARLEY_CLOSE_TIMEOUT = 4,        /**< our idle or send timeout */
    PARLEY_CLOSE_PROTOCOL_ERROR = 5  /**< the other end broke the protocol (a malformed or
                                          oversized frame); status says how */
} parley_close_reason;

/**
 * @brief The name of a close reason ("local", "bye", "eof", "timeout",
 *        "protocol error"; "unknown" otherwise).
 * @param[in] reason the reason
 * @return a static string.  Errors: none.
 */
PARLEY_PUBLIC const char *parley_close_reason_name(parley_close_reason reason);

/**
 * Close function: a session whose handshake had completed has ended.
 * Runs exactly once per such session, incoming and outgoing, on the I/O
 * thread, with no lock held, after the session's outstanding calls were
 * completed with CONNECTION_CLOSED, before its handles are cleaned up and
 * its destruct hook and data free function run.  session stays valid for
 * the call (parley_session_get_data() works); it must not be kept
 * afterwards unless it is an outgoing session not yet closed by the
 * application.  status: for BYE the other end's status (CONNECTION_CLOSED
 * for a plain close); otherwise why it ended (CONNECTION_CLOSED, TIMEOUT,
 * MALFORMED, OVERFLOW...).  message is a sentence, borrowed for the call.
 * It must not block; it may call parley_session_close() and dispatch
 * asynchronous calls on other sessions.
 */
typedef void (*parley_session_close_fn)(parley_session *session, parley_close_reason reason,
                                        parley_status status, const char *message, void *data);

/**
 * @brief Set the function told when each session ends (default: none).
 * @param[in] peer the peer, not yet started
 * @param[in] fn the function, or NULL for none
 * @param[in] data passed to fn
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL peer); INVALID_STATE (started).
 *
 * Ownership: data is borrowed for the peer's life.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_set_session_close_function(parley_peer *peer,
                                                                   parley_session_close_fn fn,
                                                                   void *data);

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
 * client, whose parley_peer_connect() fails with ACCESS_DENIED and the
 * sentence given to parley_session_set_refusal() (if the hook called it).
 *
 * When the protocol declares hello types (doc/idl.md), the hook runs on the
 * I/O thread after the client's HELLO arrived and before the server sends
 * its own: parley_session_get_hello_value() gives the client's value inside
 * the hook, and a refusal reaches the client with the status the hook
 * returned (not ACCESS_DENIED) and the parley_session_set_refusal() sentence.
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
 * @brief Set the values this peer sends in its HELLO (handshake data).
 *
 * For a protocol that declares hello types (`hello client T;`, `hello
 * server U;` in the IDL): client_value (a T) goes into the HELLO of each
 * session this peer connects, server_value (a U) into that of each session
 * it accepts.  Each is encoded now (a copy: the caller's object may go
 * away), and may be NULL to leave that value unset (a protocol without
 * that type, or a peer that never takes that role).  A peer whose protocol
 * declares a client type and has no client value fails parley_peer_connect()
 * with INVALID_STATE; one without a server value refuses each client with
 * INVALID_STATE and a sentence.
 *
 * @param[in] peer the peer, not yet started
 * @param[in] client_value a value of the client hello type, or NULL
 * @param[in] server_value a value of the server hello type, or NULL
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL peer, a value for a type the
 *         protocol does not declare); INVALID_STATE (started); OVERFLOW
 *         (an encoding larger than 4096 bytes, doc/wire.md); the encoder's
 *         status for a value that does not encode; INVALID_STATE also in a
 *         child forked after the peer was created.
 *
 * Ownership: the values are borrowed for the call only.  Threads: any,
 * before the peer starts.  Errors: as above, with a sentence.
 */
PARLEY_PUBLIC parley_status parley_peer_set_hello_values(parley_peer *peer,
                                                         const void *client_value,
                                                         const void *server_value);

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
 * Creates a unix socketpair and starts the program with posix_spawn(3) (no
 * code of the library runs in the child between fork and exec, so it is
 * safe in a threaded process).  The child gets:
 * - its end of the socketpair as descriptor 3, named by the environment
 *   variable `PARLEY_SPAWN_FD` (set to "3"; any value it had is replaced);
 * - descriptors 0, 1 and 2 as the parent has them; every other descriptor
 *   is closed (posix_spawn_file_actions_addclosefrom_np, glibc >= 2.34; with
 *   an older C library only the close-on-exec ones are);
 * - an empty signal mask and every signal at its default action (the
 *   library's threads block all signals; nothing of that is inherited);
 * - the parent's environment otherwise, and its working directory.
 *
 * argv[0] is searched in PATH unless it contains a '/'.  The child is
 * expected to call parley_peer_serve_spawned().  Returns once the handshake
 * with the child is done.  A program that does not exist fails this call
 * with NOT_FOUND (the exec failure is reported by posix_spawn, glibc >=
 * 2.24), and one that cannot be run with SYSTEM: no session is made.
 *
 * The session's credentials (parley_session_get_credentials()) are the
 * child's: its pid, and its effective uid and gid (read from /proc when the
 * handshake is done, so a set-user-ID program shows its own; the parent's
 * without /proc).  The kernel's SO_PEERCRED would name the parent itself,
 * which created the socketpair.
 *
 * The parent reaps the child (no zombies).  When the session ends (the
 * parent calls parley_session_close(), or frees the peer) the child sees
 * end of stream and should exit; one still running 2 s later gets SIGTERM,
 * and 2 s after that SIGKILL.  If the child dies first, the session closes
 * and its outstanding calls complete with CONNECTION_CLOSED.
 * Freeing the peer waits for its spawned children to be reaped (at most
 * about 4 s for one that ignores SIGTERM).  A program that reaps children itself with
 * waitpid(-1) or ignores SIGCHLD takes that over (the parent's reaper then
 * stops early, and the exit status is unknown: -1).
 *
 * One thread per running child reaps it (it sleeps on a pidfd, Linux >=
 * 5.3, else looks every 20 ms).  parley_peer_spawn_child() also gives the
 * child's pid and its exit status.
 *
 * @param[in] peer the peer (started if it was not)
 * @param[in] argv the program and its arguments, NULL-terminated
 * @param[out] ret_session the session with the child
 * @return PARLEY_OK; INVALID_ARGUMENT; NOT_FOUND (no such program);
 *         SYSTEM (posix_spawn or socketpair failed, e.g. EACCES); the
 *         handshake's status (e.g. PROTOCOL_MISMATCH, CONNECTION_CLOSED if
 *         the child exited at once).
 *
 * Ownership: *ret_session is yours as from parley_peer_connect(); close it
 * with parley_session_close().  Errors: as above; on failure no child is
 * left running.
 */
PARLEY_PUBLIC parley_status parley_peer_spawn(parley_peer *peer, char *const argv[],
                                              parley_session **ret_session);

/**
 * Exit function of a spawned child: runs once, on the peer's I/O thread,
 * after the child was reaped.  wait_status is waitpid(2)'s status (test it
 * with WIFEXITED()/WEXITSTATUS(), WIFSIGNALED()/WTERMSIG()), or -1 when the
 * application reaped the child itself.  It may call any Parley function
 * except freeing the peer; while the peer is being freed, the exit
 * functions of the children that the free ends still run, before the free
 * returns.
 */
typedef void (*parley_child_exit_fn)(parley_peer *peer, pid_t pid, int wait_status, void *data);

/**
 * @brief parley_peer_spawn(), also giving the child's pid and its exit status.
 *
 * Starts the child exactly as parley_peer_spawn() does.  Its exit status
 * goes to on_exit if given (on the I/O thread, see ::parley_child_exit_fn);
 * without on_exit it is kept until parley_peer_wait_child() collects it or
 * the peer is freed.  The pid stays the child's (it is not reused) until
 * the child is reaped, i.e. until the exit status is known.
 *
 * @param[in] peer the peer (started if it was not)
 * @param[in] argv the program and its arguments, NULL-terminated
 * @param[in] on_exit called with the exit status (may be NULL)
 * @param[in] data passed to on_exit
 * @param[out] ret_session the session with the child
 * @param[out] ret_pid the child's process id
 * @return as parley_peer_spawn(); INVALID_ARGUMENT also for a NULL ret_pid.
 *
 * Ownership: as parley_peer_spawn(); data is borrowed until on_exit ran.
 * Errors: as above; on failure on_exit is never called.
 */
PARLEY_PUBLIC parley_status parley_peer_spawn_child(parley_peer *peer, char *const argv[],
                                                    parley_child_exit_fn on_exit, void *data,
                                                    parley_session **ret_session, pid_t *ret_pid);

/**
 * @brief Wait for a child started by parley_peer_spawn_child() without an
 *        exit function, and collect its exit status.
 *
 * The child is not asked to exit: close its session first to end it (it
 * then gets SIGTERM after 2 s and SIGKILL 2 s later if it stays).  Once
 * collected, the status is gone: a second wait for the same pid gives
 * NOT_FOUND.  Any thread may wait, also the I/O thread (reaping does not
 * need it), though a long wait there stalls every session of the peer.
 *
 * @param[in] peer the peer that spawned it
 * @param[in] pid the pid from parley_peer_spawn_child()
 * @param[in] timeout_ms how long to wait: 0 only looks, -1 waits until it exits
 * @param[out] ret_wait_status waitpid(2)'s status, or -1 (reaped by the
 *             application itself); set only on PARLEY_OK
 * @return PARLEY_OK; INVALID_ARGUMENT; NOT_FOUND (not such a child of this
 *         peer, or collected already); TIMEOUT (still running).
 *
 * Ownership: nothing allocated.  Errors: as above, with a sentence.
 */
PARLEY_PUBLIC parley_status parley_peer_wait_child(parley_peer *peer, pid_t pid, int timeout_ms,
                                                   int *ret_wait_status);

/**
 * @brief Let the application's own event loop drive the peer: no I/O
 *        thread, no workers.
 *
 * Call it before the peer starts.  The peer then never starts a thread of
 * its own (its spawned children still get their reaper threads): the
 * application watches parley_peer_get_fd() for input, wakes up after
 * parley_peer_get_timeout() at the latest, and calls parley_peer_process()
 * on either.  Everything the I/O thread would do runs inside
 * parley_peer_process(), on the calling thread: accepting, reading,
 * non-blocking and blocking handlers alike (a blocking handler holds up
 * the loop for as long as it runs), completion callbacks, session hooks,
 * exit functions of spawned children.  A synchronous call, a connect and
 * parley_peer_stop_listen() made outside parley_peer_process() run the
 * loop themselves until they are done, so one thread can serve and call;
 * they run only this peer's loop (a synchronous call to another peer that
 * the same thread drives waits until its deadline: call such a peer
 * asynchronously).  Other threads may use the peer as usual; their work is
 * done in the next parley_peer_process().  doc/runtime.md shows the
 * attachment to poll, sd-event, GLib and libuv.
 *
 * @param[in] peer the peer, not started, not of a context
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL); INVALID_STATE (started
 *         already, or a peer of a context).
 *
 * Ownership: nothing allocated.  Errors: as above, with a sentence.
 */
PARLEY_PUBLIC parley_status parley_peer_set_application_loop(parley_peer *peer);

/**
 * @brief The descriptor to watch for input (POLLIN, EPOLLIN, G_IO_IN,
 *        UV_READABLE) for a peer driven by the application's loop.
 *
 * It is the peer's epoll descriptor: readable whenever
 * parley_peer_process() has something to do (a socket ready, a task that
 * another thread handed over).  It stays the same for the peer's life;
 * the application must not read, write or close it.
 *
 * @param[in] peer the peer (parley_peer_set_application_loop() called)
 * @param[out] ret_fd the descriptor
 * @return PARLEY_OK; INVALID_ARGUMENT; INVALID_STATE (the peer runs its
 *         own thread).
 *
 * Ownership: the peer owns the descriptor.  Threads: any.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_get_fd(parley_peer *peer, int *ret_fd);

/**
 * @brief How long the application's loop may sleep before it must call
 *        parley_peer_process() even if the descriptor stays quiet.
 *
 * Ask again after each parley_peer_process() (and after dispatching
 * calls with deadlines): timers (call deadlines, idle and send timeouts)
 * change it.
 *
 * @param[in] peer the peer (parley_peer_set_application_loop() called)
 * @param[out] ret_ms milliseconds; 0: at once; -1: no limit
 * @return PARLEY_OK; INVALID_ARGUMENT; INVALID_STATE (own thread).
 *
 * Ownership: nothing allocated.  Threads: any.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_get_timeout(parley_peer *peer, int *ret_ms);

/**
 * @brief Run what is ready: socket events, due timers, handed-over tasks.
 *
 * Never waits for more to happen.  Handlers, completion callbacks and hooks
 * run inside it, on the calling thread; they must not call it again
 * (INVALID_STATE) nor make synchronous calls (as on an I/O thread).
 * Calls from several threads are serialised.
 *
 * @param[in] peer the peer (parley_peer_set_application_loop() called)
 * @return PARLEY_OK; INVALID_ARGUMENT; INVALID_STATE (own thread, or
 *         called from inside itself).
 *
 * Ownership: nothing allocated.  Errors: as above, with a sentence.
 */
PARLEY_PUBLIC parley_status parley_peer_process(parley_peer *peer);

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
 * session is NULL for an error of no session: a registered name that could
 * not be registered again after parleyd restarted (parley/names.h).
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
 * happens, with no lock held; it must be quick and must not block.  The
 * call's values are at hand inside it: parley_call_get_request(),
 * parley_call_get_reply().
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

/**
 * @brief The request of the call a trace function was given, and its type.
 * @param[in] call the call passed to the trace function
 * @param[out] ret_type the request's STRUCT descriptor (may be NULL)
 * @param[out] ret_value the decoded request (a C struct of that type)
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL call or ret_value);
 *         INVALID_STATE (not inside a trace function of this call nor an
 *         incoming call still to be completed, or the request is not at
 *         hand: an outgoing call's end).
 *
 * The request is at hand in the begin function of an outgoing call (the
 * value given to parley_call_dispatch()) and in both functions of an
 * incoming call (the decoded request the handler got).  Outside trace
 * functions, an incoming call that is still to be completed (in its
 * handler, pended, or taken with parley_peer_receive()) gives its request
 * too, valid until the call is completed.
 *
 * Ownership: the value is borrowed, valid only until the trace function
 * returns; copy it (parley_data_copy()) to keep it.  Print it with
 * parley_data_print() or parley_json_encode(), which both redact fields
 * marked `[sensitive]`.  Threads: the trace function's.  Errors: as above,
 * with a sentence in parley_error_message().
 */
PARLEY_PUBLIC parley_status parley_call_get_request(parley_call *call, const parley_type **ret_type,
                                                    const void **ret_value);

/**
 * @brief The reply of the call a trace function was given, and its type.
 * @param[in] call the call passed to the end trace function
 * @param[out] ret_type the reply's STRUCT descriptor (may be NULL)
 * @param[out] ret_value the reply (a C struct of that type)
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL call or ret_value);
 *         INVALID_STATE (not inside the end function of this call, the call
 *         did not end with PARLEY_OK, or the method is oneway).
 *
 * The reply is at hand in the end function when the call ended with
 * PARLEY_OK: the decoded reply of an outgoing call, the reply the handler
 * filled in (and that was sent) for an incoming one; a trace function must
 * not change it.  Outside trace functions, an incoming call of a method
 * that is not oneway and is still to be completed (pended, or taken with
 * parley_peer_receive()) gives its zeroed reply struct to fill before
 * parley_call_complete() (allocate what it points to under it).
 *
 * Ownership, threads, errors: as parley_call_get_request().
 */
PARLEY_PUBLIC parley_status parley_call_get_reply(parley_call *call, const parley_type **ret_type,
                                                  void **ret_value);

/** Debug lines: one line per call (its end, with status and duration). */
#define PARLEY_DEBUG_CALLS  0x1u
/** Debug lines: one line per frame received or sent too. */
#define PARLEY_DEBUG_FRAMES 0x2u
/** Debug lines: call lines carry the request and reply, `[sensitive]` redacted. */
#define PARLEY_DEBUG_VALUES 0x4u

/**
 * Log function: receives the peer's debug lines (PARLEY_DEBUG,
 * parley_peer_set_debug()), one complete line per call, without the
 * trailing newline.  Runs on the thread where the call or frame was seen,
 * with no Parley lock held; it must be quick and must not block.  line is
 * borrowed for the call only.
 */
typedef void (*parley_log_fn)(parley_peer *peer, const char *line, void *data);

/**
 * @brief Send the peer's debug lines to fn instead of stderr.
 * @param[in] peer the peer, not yet started
 * @param[in] fn the function, or NULL for stderr (the default)
 * @param[in] data passed to fn
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL peer); INVALID_STATE (started).
 *
 * Setting a log function does not turn debug lines on: PARLEY_DEBUG in the
 * environment when the peer was created, or parley_peer_set_debug(), does.
 * The line format is in parley(7) and doc/runtime.md ("Debugging").
 *
 * Ownership: data is borrowed for the peer's life.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_set_log_function(parley_peer *peer, parley_log_fn fn,
                                                         void *data);

/**
 * @brief Choose the peer's debug lines (what PARLEY_DEBUG chose, replaced).
 * @param[in] peer the peer, not yet started
 * @param[in] flags PARLEY_DEBUG_CALLS, PARLEY_DEBUG_FRAMES, PARLEY_DEBUG_VALUES
 *            ored (FRAMES and VALUES imply CALLS), or 0 for none
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL peer, unknown flag);
 *         INVALID_STATE (started).
 *
 * With no flag set the lines cost one test per call.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_set_debug(parley_peer *peer, unsigned flags);

/** Who may monitor a peer (parley_peer_set_monitor()). */
typedef enum parley_monitor_access {
    /** Clients over a unix socket with the peer's effective uid (default). */
    PARLEY_MONITOR_SAME_UID = 0,
    /** Nobody: a monitor request gets ACCESS_DENIED. */
    PARLEY_MONITOR_OFF = 1,
    /** Any client that completed the handshake, over any transport. */
    PARLEY_MONITOR_ANYONE = 2
} parley_monitor_access;

/**
 * @brief Choose who may watch the calls this peer handles.
 * @param[in] peer the peer (started or not)
 * @param[in] access PARLEY_MONITOR_SAME_UID, PARLEY_MONITOR_OFF or PARLEY_MONITOR_ANYONE
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL peer, unknown access).
 *
 * Takes effect for later monitor requests; monitors already subscribed
 * stay until their session ends.  The values monitors see have
 * `[sensitive]` fields redacted, but the rest is the application's data:
 * open it to other uids only when that is harmless.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_set_monitor(parley_peer *peer,
                                                    parley_monitor_access access);

/** One call a monitored peer handled (parley_session_monitor()). */
typedef struct parley_monitor_event {
    int64_t time_ns;         /**< when the call ended, CLOCK_REALTIME nanoseconds */
    uint32_t session;        /**< the monitored peer's number for the call's session */
    bool outgoing;           /**< the monitored peer made the call (else it served it) */
    bool oneway;             /**< the method is oneway */
    uint32_t call_id;        /**< the call id on that session (0 for oneway) */
    uint32_t method_id;      /**< the method id */
    const char *method;      /**< the method name */
    parley_status status;    /**< how the call ended */
    uint64_t duration_ns;    /**< from begin to end */
    const char *request;     /**< the request as JSON, `[sensitive]` redacted; "" if not at hand */
    const char *reply;       /**< the reply as JSON, redacted; "" if none */
    uint64_t dropped;        /**< events the monitored peer dropped before this one */
} parley_monitor_event;

/**
 * Monitor function: one event.  Runs on the I/O thread with no lock held;
 * it must not block for long (the monitored peer drops events meanwhile).
 * event and its strings are borrowed for the call only.
 */
typedef void (*parley_monitor_fn)(parley_session *session, const parley_monitor_event *event,
                                  void *data);

/**
 * @brief Watch every call the peer at the other end of session handles.
 * @param[in] session a connected session (an introspector's will do)
 * @param[in] timeout_ms how long to wait for the answer (0: none,
 *            PARLEY_TIMEOUT_DEFAULT: the peer's call timeout)
 * @param[in] fn run for each event until the session closes
 * @param[in] data passed to fn
 * @return PARLEY_OK once subscribed; ACCESS_DENIED (the other end does not
 *         allow this client: parley_peer_set_monitor()); NOT_FOUND (it has
 *         no monitor: an older libparley); INVALID_STATE (already
 *         monitoring); the usual call failures.
 *
 * The other end then sends one event per call it handles or makes on
 * another session, from now on.  It never waits for a slow monitor: when
 * the monitor's connection has more than 64 KiB waiting, events are
 * dropped and counted, and the next event delivered carries the count.
 *
 * Ownership: data is borrowed while the session lives.  Threads: any
 * thread but the I/O thread.  Errors: as above, with a sentence.
 */
PARLEY_PUBLIC parley_status parley_session_monitor(parley_session *session, int64_t timeout_ms,
                                                   parley_monitor_fn fn, void *data);

#ifdef __cplusplus
}
#endif

#endif /* PARLEY_PEER_H */
