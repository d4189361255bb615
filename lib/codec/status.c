/* SPDX-License-Identifier: MIT */
/* Status names, descriptions and the thread-local last-error sentence. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "status.h"

static __thread char last_error[PARLEY__ERROR_MAX];

PARLEY_PUBLIC const char *parley_status_name(parley_status status)
{
    switch (status) {
#define X(name, num, str) case PARLEY_##name: return "PARLEY_" #name;
    PARLEY_STATUS_MAP(X)
#undef X
    }
    return "PARLEY_ERR_UNKNOWN";
}

PARLEY_PUBLIC const char *parley_status_string(parley_status status)
{
    switch (status) {
#define X(name, num, str) case PARLEY_##name: return str;
    PARLEY_STATUS_MAP(X)
#undef X
    }
    return "unknown status";
}

PARLEY_PUBLIC const char *parley_error_message(void)
{
    return last_error;
}

static void mark_truncated(int n)
{
    if (n >= (int)sizeof(last_error))
        memcpy(last_error + sizeof(last_error) - 4, "...", 4);
}

parley_status parley__verror(parley_status status, const char *fmt, va_list ap)
{
    char tmp[PARLEY__ERROR_MAX];
    /* fmt's arguments may point into last_error (prefixing); format aside. */
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    if (n < 0)
        n = 0;
    memcpy(last_error, tmp, sizeof(last_error));
    mark_truncated(n);
    return status;
}

parley_status parley__error(parley_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    parley__verror(status, fmt, ap);
    va_end(ap);
    return status;
}

parley_status parley__error_errno(parley_status status, int err, const char *fmt, ...)
{
    char what[PARLEY__ERROR_MAX / 2];
    char buf[128];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    /* GNU strerror_r returns the message, not always in buf. */
    return parley__error(status, "%s: %s", what, strerror_r(err, buf, sizeof(buf)));
}

parley_status parley__error_prefix(parley_status status, const char *fmt, ...)
{
    char prefix[PARLEY__ERROR_MAX / 2];
    char old[PARLEY__ERROR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, last_error, sizeof(old));
    return parley__error(status, "%s: %s", prefix, old);
}
