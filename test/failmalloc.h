/* SPDX-License-Identifier: MIT */
/* Allocation failure injection for the tests: malloc, calloc and realloc
 * replaced by wrappers over glibc's allocator that fail the N-th allocation
 * made by one chosen thread while armed, and
 * a count of the blocks live.  Off by default; compiled out
 * (failmalloc_available false) under the sanitizers, whose runtimes own
 * malloc, and off glibc. */
#ifndef PARLEY_TEST_FAILMALLOC_H
#define PARLEY_TEST_FAILMALLOC_H

#include <pthread.h>
#include <stdbool.h>

extern const bool failmalloc_available;

/* From now on the n-th (n >= 1) allocation made by thread fails (NULL,
 * errno ENOMEM); those of other threads never do. */
void failmalloc_arm(pthread_t thread, long n);
/* Stop counting.  Returns how many allocations failed since the arm (0 or 1). */
long failmalloc_disarm(void);
/* Blocks allocated (by any thread, armed or not) and not yet freed. */
long failmalloc_live(void);

#endif
