/* SPDX-License-Identifier: MIT */
/* Internal: the client side of the name service (names.c, names_client.c). */
#ifndef PARLEY_LIB_NAMES_H
#define PARLEY_LIB_NAMES_H

#include <stdbool.h>
#include <talloc.h>

#include "parley/names.h"

typedef struct parley__names_client parley__names_client;
typedef struct parley__names_resolver parley__names_resolver;

/* A `name:NAME` or `name:NAME@SERVICE` connect endpoint: split it.
 * INVALID_ARGUMENT with a sentence for a bad name or service. */
parley_status parley__names_parse_endpoint(TALLOC_CTX *mem_ctx, const char *text,
                                           char **ret_name, char **ret_service);

/* Resolve a name and connect to the first of its endpoints that answers;
 * PROTOCOL_MISMATCH (naming both) when the name was registered with another
 * protocol than the peer's, before any connection to the service. */
parley_status parley__names_connect(parley_peer *peer, const char *name, const char *service,
                                    int *ret_fd);

/* Free a peer's registrations (its names vanish); first thing in the peer's
 * destructor.  NULL is ignored. */
void parley__names_client_free(struct parley__names_client *client);

/* Free a peer's cached names sessions (names.c).  NULL is ignored. */
void parley__names_resolver_free(struct parley__names_resolver *resolver);

/* Whether a name is valid; INVALID_ARGUMENT with a sentence otherwise. */
parley_status parley__names_check_name(const char *name);

#endif
