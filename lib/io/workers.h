/* SPDX-License-Identifier: MIT */
/* Internal: the worker pool that runs blocking handlers. */
#ifndef PARLEY_LIB_WORKERS_H
#define PARLEY_LIB_WORKERS_H

#include <stddef.h>
#include <talloc.h>

#include "parley/status.h"
#include "loop.h"

typedef struct parley__workers parley__workers;

/* A pool of n threads (n >= 1), started at once.  Freeing it runs what is
 * still queued, then joins every thread. */
parley_status parley__workers_new(TALLOC_CTX *mem_ctx, unsigned n, parley__workers **ret_w);
/* Queue fn(data) for a worker.  NOMEM is the only failure. */
parley_status parley__workers_submit(parley__workers *w, parley__task_fn fn, void *data);
/* Number of threads. */
unsigned parley__workers_count(const parley__workers *w);

#endif
