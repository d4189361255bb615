/* SPDX-License-Identifier: MIT */
/*
 * parley-bench call: count heap allocations (bench_call.h).
 *
 * parley-bench defines malloc and its relatives itself; the dynamic linker
 * binds every library's calls (talloc's, libparley's, libc's own) to these,
 * which count and hand over to glibc's allocator through its __libc_*
 * entry points.  Counting is off until bench_alloc_start(): the servers
 * that report "allocations per call" turn it on in their child process.
 *
 * Not built in with sanitizers (their runtimes replace malloc themselves)
 * or with another C library: then bench_alloc_available is false and the
 * figures say "not counted".
 */
#include "config.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench_call.h"

#if defined(__GLIBC__) && !defined(BENCH_NO_ALLOC_COUNT)

#include <errno.h>

/* glibc's allocator under its own names (exported, not in any header). */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void __libc_free(void *p);

const bool bench_alloc_available = true;

static atomic_bool counting;
static atomic_uint_fast64_t allocs;

static inline void count(void)
{
    if (atomic_load_explicit(&counting, memory_order_relaxed))
        atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed);
}

void bench_alloc_start(void)
{
    atomic_store(&counting, true);
}

void bench_alloc_stop(void)
{
    atomic_store(&counting, false);
}

uint64_t bench_alloc_count(void)
{
    return atomic_load(&allocs);
}

/* The replacements (prototyped here: <stdlib.h> would declare them with
 * attributes that do not fit a definition). */
void *malloc(size_t size);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t size);
void free(void *p);
int posix_memalign(void **ret, size_t align, size_t size);
void *aligned_alloc(size_t align, size_t size);
void *memalign(size_t align, size_t size);

void *malloc(size_t size)
{
    count();
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    count();
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
    count();
    return __libc_realloc(p, size);
}

void free(void *p)
{
    __libc_free(p);
}

void *memalign(size_t align, size_t size)
{
    count();
    return __libc_memalign(align, size);
}

void *aligned_alloc(size_t align, size_t size)
{
    count();
    return __libc_memalign(align, size);
}

int posix_memalign(void **ret, size_t align, size_t size)
{
    void *p;

    if (align < sizeof(void *) || (align & (align - 1)) != 0)
        return EINVAL;
    count();
    p = __libc_memalign(align, size);
    if (p == NULL)
        return ENOMEM;
    *ret = p;
    return 0;
}

#else

const bool bench_alloc_available = false;

void bench_alloc_start(void)
{
}

void bench_alloc_stop(void)
{
}

uint64_t bench_alloc_count(void)
{
    return 0;
}

#endif
