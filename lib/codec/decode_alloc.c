/* SPDX-License-Identifier: MIT */
/* Decoder allocations: a talloc chunk each, or carved from the compact arena. */
#include "config.h"

#include <string.h>

#include <talloc.h>

#include "decode.h"

/* A new chunk of size bytes under holder, named name; for decode_into, one
 * made directly under tmp is recorded so that success can move it. */
static void *chunk_new(dec *d, void *holder, size_t size, const char *name)
{
    void *p = talloc_named_const(holder, size, name);

    if (p == NULL)
        return NULL;
    if (d->record && holder == d->tmp) {
        if ((d->n_allocs & (d->n_allocs + 1)) == 0 || d->allocs == NULL) {
            /* grow at 1, 2, 4, 8, ... entries */
            void **a = talloc_realloc(d->tmp, d->allocs, void *, (d->n_allocs + 1) * 2);
            if (a == NULL) {
                talloc_free(p);
                return NULL;
            }
            d->allocs = a;
        }
        d->allocs[d->n_allocs++] = p;
    }
    return p;
}

/*
 * ---- compact mode (PARLEY_DECODE_COMPACT) ----------------------------------------
 *
 * Strings and blobs ("text") are carved from the front of one arena block,
 * sequence arrays and optionals ("objects") from its back, 16-byte aligned.
 *
 * The block is made at the first need, with room for that need, for
 * remain() more bytes of text, and as many more as the input has, up to
 * ARENA_SLACK_MAX (room for objects).  That is enough for
 * every later string and blob: each takes at most as many arena bytes as it
 * took input bytes (L + 1 for a string's 4 + L, L for a blob's 4 + L).  An
 * object is carved from the back only if it leaves ar_hi >= ar_lo + remain(),
 * and as neither a text allocation nor reading input can make ar_lo +
 * remain() grow, that holds for the rest of the decode: text never runs out.
 * Objects that do not fit go to overflow blocks that double in size (from
 * 1 KiB up to 64 KiB); an object bigger than ARENA_BIG gets a block of its
 * own.  Every block hangs under owner, so freeing the top object (or, for
 * decode_into, mem_ctx) releases them all.
 */
#define ARENA_ALIGN 16u
#define ARENA_SLACK_MAX 16384u
#define ARENA_BIG 16384u
#define ARENA_OB_MIN 1024u
#define ARENA_OB_MAX 65536u
#define ARENA_NAME "parley compact arena"

static inline size_t arena_slack(const dec *d)
{
    return (d->len < ARENA_SLACK_MAX ? d->len : ARENA_SLACK_MAX) + 64;
}

/* The first block: room for need bytes now and remain() + slack after. */
static bool arena_first(dec *d, size_t need)
{
    size_t size = remain(d) + arena_slack(d);
    uint8_t *b;

    if (need > SIZE_MAX - ARENA_ALIGN - size)
        return false;
    size += need + ARENA_ALIGN;
    b = chunk_new(d, d->owner, size, ARENA_NAME);
    if (b == NULL)
        return false;
    d->ar_lo = b;
    d->ar_hi = b + size;
    return true;
}

/* size bytes of text (no alignment): a string with its NUL, a blob. */
static void *arena_text(dec *d, size_t size)
{
    void *p;

    if (d->ar_lo == NULL && !arena_first(d, size))
        return NULL;
    if ((size_t)(d->ar_hi - d->ar_lo) < size)   /* cannot happen (see above) */
        return chunk_new(d, d->owner, size, ARENA_NAME);
    p = d->ar_lo;
    d->ar_lo += size;
    return p;
}

/* size bytes for an object, 16-byte aligned. */
static void *arena_obj(dec *d, size_t size)
{
    uintptr_t hi, q;
    uint8_t *p;

    if (size > ARENA_BIG)
        return chunk_new(d, d->owner, size, ARENA_NAME);
    if (d->ar_lo == NULL && !arena_first(d, size))
        return NULL;
    hi = (uintptr_t)d->ar_hi;
    if (hi - (uintptr_t)d->ar_lo >= size) {
        q = (hi - size) & ~(uintptr_t)(ARENA_ALIGN - 1);
        if (q >= (uintptr_t)d->ar_lo && q - (uintptr_t)d->ar_lo >= remain(d)) {
            d->ar_hi = (uint8_t *)q;
            return d->ar_hi;
        }
    }
    if (d->ob_p != NULL) {
        q = ((uintptr_t)d->ob_p + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1);
        if (q <= (uintptr_t)d->ob_end && (uintptr_t)d->ob_end - q >= size) {
            d->ob_p = (uint8_t *)q + size;
            return (uint8_t *)q;
        }
    }
    d->ob_size = d->ob_size == 0 ? ARENA_OB_MIN
                                 : d->ob_size < ARENA_OB_MAX ? 2 * d->ob_size : ARENA_OB_MAX;
    while (d->ob_size < size)
        d->ob_size *= 2;
    p = chunk_new(d, d->owner, d->ob_size, ARENA_NAME);
    if (p == NULL)
        return NULL;
    d->ob_p = p + size;
    d->ob_end = p + d->ob_size;
    return p;
}

/* An object (sequence array, optional) of size bytes under holder, named
 * name, zeroed if asked. */
void *parley__dec_alloc(dec *d, void *holder, size_t size, const char *name, bool zero)
{
    void *p = d->compact ? arena_obj(d, size) : chunk_new(d, holder, size, name);

    if (p != NULL && zero)
        memset(p, 0, size);
    return p;
}

/* Text (a string with its NUL, a blob's bytes) of size bytes under holder. */
void *parley__dec_text(dec *d, void *holder, size_t size, const char *name)
{
    return d->compact ? arena_text(d, size) : chunk_new(d, holder, size, name);
}

parley_status parley__dec_nomem(dec *d, const parley__path *path, size_t size)
{
    return FAIL(d, PARLEY_ERR_NOMEM, path, "out of memory for %zu bytes", size);
}

