/* SPDX-License-Identifier: MIT */
/**
 * @file parley/session.h
 * @brief Sessions: one connection between two peers, with its calls and handles.
 */
#ifndef PARLEY_SESSION_H
#define PARLEY_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <talloc.h>

#include "parley/status.h"
#include "parley/call.h"
#include "parley/type.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief End a session, synchronously for the caller.
 *
 * When it returns, parley_session_is_connected() is false and every later
 * dispatch fails with CONNECTION_CLOSED; a dispatch on another thread that
 * had passed its checks has finished sending (or failed) by then, except
 * when close is called on the I/O thread, which such a sender may be
 * waiting for.
 * The connection then closes on the I/O thread with a BYE carrying the
 * reason: outstanding calls complete with CONNECTION_CLOSED (their
 * callbacks on the I/O thread), pended incoming calls get their cancel
 * functions, and frames that arrive meanwhile are ignored.
 *
 * On an outgoing session (parley_peer_connect(), parley_peer_connect_fd(),
 * parley_peer_spawn()) it also drops the caller's reference.  On an
 * incoming session (from parley_call_get_session() in a handler, say) it
 * closes that one client; the others are not disturbed.  Any thread, a
 * handler or callback included; a second call does nothing.
 *
 * @param[in] session the session (NULL is ignored)
 *
 * Ownership: an outgoing session's pointer may afterwards be used only
 * through calls still acquired on it (parley_call_get_session(),
 * parley_session_is_connected() on that); the session is freed once they
 * are released.  Errors: none.
 */
PARLEY_PUBLIC void parley_session_close(parley_session *session);

/**
 * @brief Whether the session's connection is still up.
 * @param[in] session the session
 * @return true while connected; false once closed (or for NULL).
 *
 * Ownership: nothing allocated.  Errors: none.
 */
PARLEY_PUBLIC bool parley_session_is_connected(parley_session *session);

/**
 * @brief The per-session data: what the peer's construct hook returned, or
 *        what parley_session_set_data() set last.
 * @param[in] session the session (NULL gives NULL)
 * @return the pointer, or NULL (none set, or NULL).
 *
 * Ownership: the data belongs to the application; the destruct hook (an
 * incoming session) gets it back when the session ends.  Threads: any.
 * Errors: none.
 */
PARLEY_PUBLIC void *parley_session_get_data(parley_session *session);

/** Frees session data when its session ends (parley_session_set_data()). */
typedef void (*parley_session_data_free_fn)(void *session_data);

/**
 * @brief Attach data to a session, incoming or outgoing.
 *
 * Replaces what parley_session_get_data() returns (the construct hook's
 * value included: an incoming session's destruct hook then gets the new
 * pointer).  When the session ends (after the close function and the
 * handles' cleanup, after the destruct hook of an incoming session) free_fn,
 * if not NULL, runs once with the data set last, on the thread that drops
 * the session's last reference (the I/O thread, or the thread calling
 * parley_session_close() or releasing its last call).  Setting new data
 * does not free the old: the caller owns what it replaces.
 *
 * @param[in] session the session
 * @param[in] data the data (borrowed)
 * @param[in] free_fn run with data when the session ends; may be NULL
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL session).
 *
 * Ownership: data stays the application's; free_fn is how it gets it back.
 * Threads: any.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_session_set_data(parley_session *session, void *data,
                                                    parley_session_data_free_fn free_fn);

/**
 * @brief The other end's handshake value (the hello types of doc/idl.md).
 *
 * On an outgoing session, the server's value (the protocol's server hello
 * type); on an incoming one, the client's (its client hello type).  Valid
 * once parley_peer_connect() returned the session, and for an incoming
 * session already inside the construct hook (which runs after the client's
 * HELLO when the protocol declares hello types).
 *
 * @param[in] session the session
 * @param[out] ret_value the decoded value, owned by the session: valid
 *             until the session is freed; do not modify or free it
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL argument); NOT_FOUND (the
 *         protocol declares no hello type for the other end, or the
 *         handshake has not delivered it yet); INVALID_STATE (in a child
 *         forked after the peer was created).
 *
 * Threads: any.  Errors: as above, with a sentence.
 */
PARLEY_PUBLIC parley_status parley_session_get_hello_value(parley_session *session,
                                                           const void **ret_value);

/**
 * @brief Give the sentence a refused client receives.
 *
 * Called inside the construct hook before it returns a status other than
 * PARLEY_OK: the client's parley_peer_connect() fails with that status
 * (ACCESS_DENIED for a protocol without hello types) and this sentence.
 * Control characters become spaces; longer than 199 bytes is cut.
 *
 * @param[in] session the incoming session the hook runs for
 * @param[in] reason the sentence (copied)
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL argument); INVALID_STATE (in a
 *         child forked after the peer was created).
 *
 * Threads: the construct hook's.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_session_set_refusal(parley_session *session, const char *reason);

/** The identity of the process at the other end of a unix socket. */
typedef struct parley_credentials {
    uint32_t uid;   /**< its effective user id when it connected */
    uint32_t gid;   /**< its effective group id when it connected */
    int32_t pid;    /**< its process id when it connected */
} parley_credentials;

/**
 * @brief The uid, gid and pid of the other end (SO_PEERCRED), read when the
 *        connection was made.
 * @param[in] session the session
 * @param[out] ret_creds filled only on success
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL); UNSUPPORTED (not a unix
 *         socket, e.g. TCP, or the kernel gave no credentials).
 *
 * Ownership: nothing allocated.  Errors: as above, with a sentence.
 */
PARLEY_PUBLIC parley_status parley_session_get_credentials(parley_session *session,
                                                           parley_credentials *ret_creds);

/** Cleans up a handle's object when it is unregistered or its session ends. */
typedef void (*parley_handle_cleanup_fn)(void *object, void *data);

/**
 * @brief Register a server object as a handle of this session.
 *
 * The handle can be sent to the other end in `handle` values and looked up
 * again (with a type check) when it comes back.  When the session ends every
 * handle still registered is cleaned up (its cleanup function runs once,
 * after the last handler of the session returned, before the destruct hook).
 *
 * @param[in] session the session the handle belongs to
 * @param[in] type the handle type's name (e.g. the IDL handle type; compared
 *            as a string; copied)
 * @param[in] object the object (borrowed until cleanup)
 * @param[in] cleanup run with (object, data) on unregister or session end; may be NULL
 * @param[in] data passed to cleanup
 * @param[out] ret_handle the handle, set only on success
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL session, type or ret_handle);
 *         INVALID_STATE (the session has ended); BUSY (the session holds the
 *         peer's max handles, see parley_peer_set_max_handles()); NOMEM.
 *
 * Ownership: the handle belongs to the session; it is invalid after
 * unregister or the session's end.  Errors: as above, with a sentence.
 */
PARLEY_PUBLIC parley_status parley_session_register_handle(parley_session *session,
                                                           const char *type, void *object,
                                                           parley_handle_cleanup_fn cleanup,
                                                           void *data,
                                                           parley_handle **ret_handle);

/**
 * @brief Look up a handle's object with a type check.
 * @param[in] session the session the handle should belong to
 * @param[in] handle the handle
 * @param[in] type the expected type name
 * @param[out] ret_object the object, set only on success
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL); INVALID_HANDLE (not registered
 *         in this session, already unregistered, or of another type).
 *
 * Ownership: the object stays the application's.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_session_get_handle(parley_session *session,
                                                      parley_handle *handle, const char *type,
                                                      void **ret_object);

/**
 * @brief Unregister a handle: its cleanup function runs now (on this thread).
 * @param[in] session the session the handle belongs to
 * @param[in] handle the handle
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL); INVALID_HANDLE (not registered
 *         in this session or already unregistered).
 *
 * Ownership: the handle pointer is invalid afterwards.  Errors: as above.
 */
PARLEY_PUBLIC parley_status parley_session_unregister_handle(parley_session *session,
                                                             parley_handle *handle);

#ifdef __cplusplus
}
#endif

#endif /* PARLEY_SESSION_H */
