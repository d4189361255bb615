/* SPDX-License-Identifier: MIT */
/* Internal: setting the thread's last error. */
#ifndef PARLEY_LIB_STATUS_H
#define PARLEY_LIB_STATUS_H

#include <stdarg.h>
#include "parley/status.h"

/* Longest error sentence kept; longer ones are truncated with "...". */
#define PARLEY__ERROR_MAX 1024

/*
 * Set the calling thread's error message from a printf format and return
 * status unchanged, so failures read: return parley__error(ST, "...", ...);
 */
parley_status parley__error(parley_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
parley_status parley__verror(parley_status status, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Set the message from errno: "<what>: <strerror(err)>", status SYSTEM unless given. */
parley_status parley__error_errno(parley_status status, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the current message: "<prefix>: <old message>". Returns status. */
parley_status parley__error_prefix(parley_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
