/* SPDX-License-Identifier: MIT */
/* Internal: the worker pool that runs blocking handlers. */
#ifndef PARLEY_LIB_WORKERS_H
#define PARLEY_LIB_WORKERS_H

#include <stddef.h>
#include <talloc.h>

#include "parley/status.h"
#include "loop.h"

typedef struct parley__workers parley__workers;

/* A pool of at most n threads (n >= 1), none started yet: a thread starts
 * when a submitted task finds no idle one, up to n.  Freeing it runs what
 * is still queued, then joins every thread. */
parley_status parley__workers_new(TALLOC_CTX *mem_ctx, unsigned n, parley__workers **ret_w);
/* Queue fn(data) for a worker (starting one if none is idle and the pool
 * has room).  NOMEM; SYSTEM only when the pool has no thread and none could
 * be started; UNSUPPORTED, quietly, for a NULL pool (a peer driven by the
 * application's loop has none: the caller runs fn itself). */
parley_status parley__workers_submit(parley__workers *w, parley__task_fn fn, void *data);
/* Wait until the queue is empty and no thread but the caller's runs a
 * job: everything submitted before has finished (a pool shared by several
 * peers, when one of them goes). */
void parley__workers_flush(parley__workers *w);
/* Threads started so far. */
unsigned parley__workers_count(const parley__workers *w);
/* Threads at most (n of parley__workers_new()). */
unsigned parley__workers_max(const parley__workers *w);

#endif
