/* SPDX-License-Identifier: MIT */
/* Allocation failure injection: see failmalloc.h. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "failmalloc.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FAILMALLOC_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FAILMALLOC_OFF 1
#endif
#endif

#if defined(__GLIBC__) && !defined(FAILMALLOC_OFF) && !defined(PARLEY_NO_FAILMALLOC)

/* glibc's allocator under its own names (exported, not in any header). */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void __libc_free(void *p);

const bool failmalloc_available = true;

static atomic_bool armed;
static pthread_t armed_thread;      /* written before armed is set */
static atomic_long countdown;
static atomic_long failures;
static atomic_long live;            /* blocks allocated and not freed */

void failmalloc_arm(pthread_t thread, long n)
{
    armed_thread = thread;
    atomic_store(&countdown, n);
    atomic_store(&failures, 0);
    atomic_store(&armed, true);
}

long failmalloc_disarm(void)
{
    atomic_store(&armed, false);
    return atomic_load(&failures);
}

long failmalloc_live(void)
{
    return atomic_load(&live);
}

static void *counted(void *p)
{
    if (p != NULL)
        atomic_fetch_add_explicit(&live, 1, memory_order_relaxed);
    return p;
}

/* True when this allocation is the one to fail. */
static bool fail_now(void)
{
    if (!atomic_load_explicit(&armed, memory_order_acquire) ||
        !pthread_equal(pthread_self(), armed_thread))
        return false;
    if (atomic_fetch_sub(&countdown, 1) != 1)
        return false;
    atomic_fetch_add(&failures, 1);
    errno = ENOMEM;
    return true;
}

/* The replacements (prototyped here: <stdlib.h> would declare them with
 * attributes that do not fit a definition).  The aligned ones never fail
 * but are counted, so that every block free() sees was counted. */
void *malloc(size_t size);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t size);
void free(void *p);
int posix_memalign(void **ret, size_t align, size_t size);
void *aligned_alloc(size_t align, size_t size);
void *memalign(size_t align, size_t size);

void *malloc(size_t size)
{
    return fail_now() ? NULL : counted(__libc_malloc(size));
}

void *calloc(size_t n, size_t size)
{
    return fail_now() ? NULL : counted(__libc_calloc(n, size));
}

void *realloc(void *p, size_t size)
{
    void *q;

    if (p == NULL)
        return malloc(size);
    if (size == 0) {
        free(p);
        return NULL;
    }
    if (fail_now())
        return NULL;
    q = __libc_realloc(p, size);
    return q;   /* p moved or stayed: the count is the same */
}

void free(void *p)
{
    if (p != NULL)
        atomic_fetch_sub_explicit(&live, 1, memory_order_relaxed);
    __libc_free(p);
}

int posix_memalign(void **ret, size_t align, size_t size)
{
    void *p;

    if (align < sizeof(void *) || (align & (align - 1)) != 0)
        return EINVAL;
    p = counted(__libc_memalign(align, size));
    if (p == NULL)
        return ENOMEM;
    *ret = p;
    return 0;
}

void *aligned_alloc(size_t align, size_t size)
{
    return counted(__libc_memalign(align, size));
}

void *memalign(size_t align, size_t size)
{
    return counted(__libc_memalign(align, size));
}

#else

const bool failmalloc_available = false;

void failmalloc_arm(pthread_t thread, long n)
{
    (void)thread; (void)n;
}

long failmalloc_disarm(void)
{
    return 0;
}

long failmalloc_live(void)
{
    return 0;
}

#endif
