/* SPDX-License-Identifier: MIT */
/* Internal to names.c, names_client.c and names_watch.c: talking to parleyd. */
#ifndef PARLEY_LIB_NAMES_PRIVATE_H
#define PARLEY_LIB_NAMES_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <talloc.h>

#include "parley/peer.h"
#include "parley/call.h"

/* The address of parleyd: service if not NULL, else PARLEY_NAMES, else the
 * configuration file's `address` line, else the default.  NULL: no memory. */
char *parley__names_address(TALLOC_CTX *mem_ctx, const char *service);

/* A new internal peer speaking parley_names (one worker), serving handlers
 * (a parley_names_handlers, or NULL), connected to parleyd. */
parley_status parley__names_open(TALLOC_CTX *mem_ctx, const char *service,
                                 const void *handlers, void *handler_data,
                                 parley_peer **ret_peer, parley_session **ret_session);

/* A synchronous call to parleyd; a refusal (REMOTE with a status number as
 * its code) becomes that status with parleyd's sentence after `what`. */
parley_status parley__names_call(parley_session *session, uint32_t method, const void *in,
                                 TALLOC_CTX *mem_ctx, void *ret_out, const char *what);

/* The status and sentence of a failed call to parleyd (see above). */
parley_status parley__names_failed(parley_call *call, parley_status st, const char *what);

struct parley_names_entry;
struct parley_name_info;

/* Fill info from a parley_names entry (pointing into it). */
void parley__names_fill_info(struct parley_name_info *info, const struct parley_names_entry *e);

/* A session kept to parleyd (registrations, watches): a `hold` call that
 * parleyd never answers ends (CONNECTION_CLOSED) when the session is lost,
 * and wakes the owner's keeper thread, which makes the session again after
 * a backoff from 50 ms doubling to 2 s.  lock guards the owner's state too. */
typedef struct parley__names_hold {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct parley_call *call;          /* the pending hold call, or NULL */
    void *out;                         /* where its (never sent) reply would go */
    bool lost;                         /* the session ended: make it again */
    bool stop;                         /* the owner is going: the keeper ends */
} parley__names_hold;

/* lock held: start the hold call on session; lost is false after success. */
parley_status parley__names_hold_start(parley__names_hold *h, parley_session *session);

/* The keeper, lock held: wait until the session is lost and then the
 * backoff (*delay_ms, doubled for the next time, back to the first after a
 * session that held); true when it is time to make the session again,
 * false when the owner stops. */
bool parley__names_hold_wait(parley__names_hold *h, unsigned *delay_ms);

/* The first backoff of parley__names_hold_wait(). */
#define PARLEY__NAMES_RETRY_FIRST_MS 50u

/* Check a name pattern; INVALID_ARGUMENT with a sentence. */
parley_status parley__names_check_pattern(const char *pattern);

#endif
