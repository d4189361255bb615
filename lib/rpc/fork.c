/* SPDX-License-Identifier: MIT */
/* Peers and fork(): count forks so that a child's use of a parent's peer
 * fails at once (fork.h). */
#include "config.h"

#include <pthread.h>

#include "fork.h"
#include "status.h"

atomic_uint parley__forks;

static pthread_once_t watch_once = PTHREAD_ONCE_INIT;

/* Runs in the child, the only thread there: no lock, nothing allocated. */
static void count_fork(void)
{
    atomic_fetch_add_explicit(&parley__forks, 1, memory_order_relaxed);
}

static void watch(void)
{
    /* Fails only for lack of memory; then children are not detected (a
     * child's use of the peer may hang, as without this file). */
    (void)pthread_atfork(NULL, NULL, count_fork);
}

unsigned parley__fork_generation(void)
{
    pthread_once(&watch_once, watch);
    return atomic_load_explicit(&parley__forks, memory_order_relaxed);
}

parley_status parley__fork_error(const char *fn)
{
    return parley__error(PARLEY_ERR_INVALID_STATE,
                         "%s: this process is a fork() child of the one that created the peer, "
                         "and a peer's threads do not survive fork(): create a new peer in the "
                         "child (or exec)", fn);
}
