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
 * every session and listener, fails outstanding calls with CONNECTION_CLOSED,
 * joins the I/O thread and the workers and closes every fd.  Release your
 * calls before freeing the peer; session pointers are invalid afterwards.
 * Errors: as above, with a sentence in parley_error_message().
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
 * live server's is not.
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
 *         server on a unix path); SYSTEM (bind/listen failed, named); NOMEM.
 *         On failure nothing is left listening.
 *
 * Ownership: the sockets belong to the peer.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_peer_start_listen(parley_peer *peer);

/**
 * @brief Stop accepting and end every incoming session.
 *
 * Closes the listeners (unix socket files are removed), closes every incoming
 * connection, and returns once every incoming session is gone, i.e. once
 * handlers still running have returned.  Outgoing sessions are not touched.
 *
 * @param[in] peer the peer
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL); INVALID_STATE when called from
 *         a handler or callback of this peer (it would wait for itself).
 *
 * Ownership: nothing allocated.  Errors: as above.
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
 *         CONNECTION_CLOSED or the other end's BYE status; TIMEOUT (no HELLO
 *         within 10 s); SYSTEM; NOMEM.
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
    PARLEY_TIMEOUT_CALL       /**< default deadline of an outgoing call */
} parley_timeout;

/**
 * @brief Set one of the peer's timeouts, in milliseconds (0: none).
 *
 * PARLEY_TIMEOUT_CALL is the deadline of every outgoing call dispatched from
 * now on that does not set its own with parley_call_set_timeout(): when it
 * passes, the call completes with PARLEY_ERR_TIMEOUT and a CANCEL frame tells
 * the other end (default 0: calls wait for their reply as long as the session
 * lives).  May be changed at any time; calls already outstanding keep theirs.
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

/**
 * Exception function: an unexpected error on a session (a malformed or
 * oversized frame, a broken connection, a handler's reply that does not
 * encode, a handler returning PENDING without pending).  Runs on the I/O
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
