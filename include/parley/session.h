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

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief End an outgoing session.
 *
 * Closes the connection (outstanding calls complete with CONNECTION_CLOSED);
 * the session is freed once its calls are released.
 *
 * @param[in] session an outgoing session from parley_peer_connect() or
 *            parley_peer_connect_fd() (NULL is ignored)
 *
 * Ownership: the pointer is invalid afterwards.  Errors: none.
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

#ifdef __cplusplus
}
#endif

#endif /* PARLEY_SESSION_H */
