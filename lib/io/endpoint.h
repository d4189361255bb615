/* SPDX-License-Identifier: MIT */
/* Internal: endpoint strings ("unix:/path", "unix:@name", "tcp:HOST:PORT",
 * "tcp:HOST:PORT?public", "tls:HOST:PORT", "tls:HOST:PORT?name=NAME"). */
#ifndef PARLEY_LIB_ENDPOINT_H
#define PARLEY_LIB_ENDPOINT_H

#include <stdbool.h>
#include <talloc.h>

#define PARLEY__EP_INET(ep) ((ep)->kind == PARLEY__EP_TCP || (ep)->kind == PARLEY__EP_TLS)

#include "parley/status.h"

typedef enum parley__endpoint_kind {
    PARLEY__EP_UNIX = 1,      /* filesystem path */
    PARLEY__EP_ABSTRACT = 2,  /* Linux abstract namespace */
    PARLEY__EP_TCP = 3,
    PARLEY__EP_TLS = 4        /* TCP with TLS below the connection (tls.h) */
} parley__endpoint_kind;

typedef struct parley__endpoint {
    parley__endpoint_kind kind;
    char *text;     /* the string as given */
    char *path;     /* UNIX: the path; ABSTRACT: the name without '@' */
    char *host;     /* TCP: host or address, brackets removed */
    char *port;     /* TCP: decimal port */
    bool public_ok; /* TCP: "?public": may listen outside loopback (TLS: always) */
    char *server_name; /* TLS: "?name=NAME", else host: the name the server's
                        * certificate must carry */
} parley__endpoint;

/* Parse an endpoint string.  INVALID_ARGUMENT with a sentence for a string
 * that is not one of the forms above (or too long for a sockaddr_un). */
parley_status parley__endpoint_parse(TALLOC_CTX *mem_ctx, const char *text,
                                     parley__endpoint **ret_ep);

#endif
