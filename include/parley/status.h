/* SPDX-License-Identifier: MIT */
/**
 * @file parley/status.h
 * @brief Status codes and the calling thread's last error message.
 *
 * Every public Parley function returns a ::parley_status (or a pointer that is
 * NULL on its only failure).  Status numbers cross the wire in REPLY and BYE
 * frames, so a released number never changes meaning: new codes are appended.
 */
#ifndef PARLEY_STATUS_H
#define PARLEY_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && !defined(PARLEY_PUBLIC)
#  define PARLEY_PUBLIC __attribute__((visibility("default")))
#elif !defined(PARLEY_PUBLIC)
#  define PARLEY_PUBLIC
#endif

/**
 * The one list of status codes: X(NAME, number, "description").
 * It generates ::parley_status, parley_status_name() and
 * parley_status_string().  Append only; never renumber.
 */
#define PARLEY_STATUS_MAP(X)                                                   \
    X(OK,                      0, "success")                                  \
    X(PENDING,                 1, "operation pending")                        \
    X(ERR_NOMEM,               2, "out of memory")                            \
    X(ERR_INVALID_ARGUMENT,    3, "invalid argument")                         \
    X(ERR_INVALID_STATE,       4, "invalid state")                            \
    X(ERR_MALFORMED,           5, "malformed data")                           \
    X(ERR_OVERFLOW,            6, "limit exceeded")                           \
    X(ERR_TIMEOUT,             7, "timed out")                                \
    X(ERR_CANCELLED,           8, "cancelled")                                \
    X(ERR_CONNECTION_REFUSED,  9, "connection refused")                       \
    X(ERR_CONNECTION_CLOSED,  10, "connection closed")                        \
    X(ERR_PROTOCOL_MISMATCH,  11, "protocol mismatch")                        \
    X(ERR_ACCESS_DENIED,      12, "access denied")                            \
    X(ERR_NOT_FOUND,          13, "not found")                                \
    X(ERR_INVALID_HANDLE,     14, "invalid handle")                           \
    X(ERR_BUSY,               15, "busy")                                     \
    X(ERR_UNSUPPORTED,        16, "unsupported")                              \
    X(ERR_SYSTEM,             17, "system error")                             \
    X(ERR_REMOTE,             18, "remote application error")                 \
    X(ERR_INTERNAL,           19, "internal error")                          \
    X(ERR_PERMISSION_DENIED,  20, "permission denied")                        \
    X(ERR_EXISTS,             21, "already exists")

/** A Parley status code.  PARLEY_OK (0) is success. */
typedef enum parley_status {
#define PARLEY__STATUS_ENUM(name, num, str) PARLEY_##name = num,
    PARLEY_STATUS_MAP(PARLEY__STATUS_ENUM)
#undef PARLEY__STATUS_ENUM
} parley_status;

/**
 * @brief The symbolic name of a status, e.g. "PARLEY_ERR_MALFORMED".
 * @param[in] status any value
 * @return a static string; "PARLEY_ERR_UNKNOWN" for a number that is not a
 *         known code (e.g. one from a newer peer).
 *
 * Ownership: static storage, never freed.  Errors: none.
 */
PARLEY_PUBLIC const char *parley_status_name(parley_status status);

/**
 * @brief A short description of a status, e.g. "malformed data".
 * @param[in] status any value
 * @return a static string; "unknown status" for an unknown number.
 *
 * Ownership: static storage, never freed.  Errors: none.
 */
PARLEY_PUBLIC const char *parley_status_string(parley_status status);

/**
 * @brief The calling thread's sentence about its last failure.
 *
 * Every Parley function that fails sets it, naming what was wrong
 * ("decode kv_entry.children[3].key: string longer than its bound 256").
 * Successful calls leave it alone, so read it right after the failure.
 *
 * @return a NUL-terminated string, "" if nothing failed yet on this thread.
 *
 * Ownership: thread-local storage owned by Parley; valid until the thread's
 * next failing Parley call.  Errors: none.
 */
PARLEY_PUBLIC const char *parley_error_message(void);

#ifdef __cplusplus
}
#endif

#endif /* PARLEY_STATUS_H */
