/* SPDX-License-Identifier: MIT */
/* Internal: peers and fork().
 *
 * A peer's threads (I/O loop, workers, reapers) exist only in the process
 * that created the peer; after fork() the child has copies of the peer's
 * memory, fds and locks (possibly held) but none of its threads.  A
 * pthread_atfork() child handler counts forks; a peer remembers the count
 * at parley_peer_new(), and the public entry points that need the peer's
 * threads or locks start with PARLEY__FORK_GUARD(peer), which returns
 * PARLEY_ERR_INVALID_STATE with a sentence in a child instead of hanging.
 * The check is one relaxed atomic load: no system call on the call path. */
#ifndef PARLEY_LIB_FORK_H
#define PARLEY_LIB_FORK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#include "parley/status.h"

/* Forks this process has been through since the first parley_peer_new()
 * (in the child's copy of memory, the count the child sees). */
extern atomic_uint parley__forks;

/* Registers the pthread_atfork() handler once; then the current count.
 * Called by parley_peer_new(). */
unsigned parley__fork_generation(void);

/* Sets the error sentence for fn used in a forked child; returns
 * PARLEY_ERR_INVALID_STATE. */
parley_status parley__fork_error(const char *fn);

/* Returns from the calling function with INVALID_STATE when peer (may be
 * NULL: no check) was created before a fork() this process came out of. */
#define PARLEY__FORK_GUARD(peer) \
    do { \
        const struct parley_peer *fg_peer_ = (peer); \
        if (fg_peer_ != NULL && atomic_load_explicit(&parley__forks, memory_order_relaxed) != \
                                    fg_peer_->fork_generation) \
            return parley__fork_error(__func__); \
    } while (0)

/* The same for an entry point that owns fd whatever happens: closes it. */
#define PARLEY__FORK_GUARD_FD(peer, fd) \
    do { \
        const struct parley_peer *fg_peer_ = (peer); \
        if (fg_peer_ != NULL && atomic_load_explicit(&parley__forks, memory_order_relaxed) != \
                                    fg_peer_->fork_generation) { \
            if ((fd) >= 0) \
                close(fd); \
            return parley__fork_error(__func__); \
        } \
    } while (0)

/* The same for an object that copied its peer's fork_generation when it
 * was made (a session: its peer pointer may be cleared meanwhile). */
#define PARLEY__FORK_GUARD_GEN(generation) \
    do { \
        if (atomic_load_explicit(&parley__forks, memory_order_relaxed) != (generation)) \
            return parley__fork_error(__func__); \
    } while (0)

/* True in a child forked after peer was created. */
#define PARLEY__FORKED(peer) \
    (atomic_load_explicit(&parley__forks, memory_order_relaxed) != (peer)->fork_generation)

#endif
