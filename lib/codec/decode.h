/* SPDX-License-Identifier: MIT */
/* Internal to the decoder: its state and what its files share.
 * decode.c walks descriptors and holds the public entry points,
 * decode_alloc.c allocates (one chunk each, or the compact arena),
 * decode_prog.c runs compiled programs (program.h). */
#ifndef PARLEY_LIB_DECODE_H
#define PARLEY_LIB_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#include <talloc.h>

#include "codec.h"
#include "program.h"
#include "status.h"

typedef struct dec {
    const uint8_t *p, *end;
    parley_codec *codec;        /* may be NULL */
    unsigned max_depth;
    const parley_type *top;
    /* decode_into: everything decoded hangs under tmp until success, and
     * allocations made directly under it are listed here so that success can
     * move each of them under the caller's mem_ctx.  (decode has no tmp: the
     * top object is the root that a failure frees.) */
    TALLOC_CTX *tmp;
    bool record;
    void **allocs;
    size_t n_allocs;
    uint8_t *fd_used;           /* n_fds flags, allocated (under NULL) on the first fd */
    /* PARLEY_DECODE_COMPACT (see "compact mode" below): every allocation is
     * carved from arena blocks that hang under owner, never under a holder
     * (which is then an arena piece, not a talloc chunk). */
    bool compact;
    void *owner;                /* the top object, or tmp for decode_into */
    size_t len;                 /* the whole input's length */
    uint8_t *ar_lo, *ar_hi;     /* first block: text up from ar_lo, objects down
                                   from ar_hi; NULL until the first need */
    uint8_t *ob_p, *ob_end;     /* the current overflow block for objects */
    size_t ob_size;
} dec;

#define FAIL(d, st, path, ...) parley__codec_error((st), "decode", (d)->top, (path), __VA_ARGS__)


static inline size_t remain(const dec *d)
{
    return (size_t)(d->end - d->p);
}

static inline parley_status need(dec *d, const parley__path *path, size_t n)
{
    if (remain(d) < n)
        return FAIL(d, PARLEY_ERR_MALFORMED, path, "truncated: %zu bytes needed, %zu remain",
                    n, remain(d));
    return PARLEY_OK;
}

/* decode_alloc.c: an object (sequence array, optional target) of size bytes
 * under holder, zeroed if asked; text (a string with its NUL, a blob's
 * bytes); the NOMEM failure with its path. */
void *parley__dec_alloc(dec *d, void *holder, size_t size, const char *name, bool zero);
void *parley__dec_text(dec *d, void *holder, size_t size, const char *name);
parley_status parley__dec_nomem(dec *d, const parley__path *path, size_t size);

/* decode.c: decode one value of t into obj by walking the descriptor. */
parley_status parley__dec_value(dec *d, const parley_type *t, void *obj, void *holder,
                                const parley__path *path, unsigned depth);

/* decode_prog.c: decode by a compiled program; PARLEY__PROG_FALLBACK or a
 * bare status on failure (the caller re-walks for the message). */
parley_status parley__dec_prog(dec *d, const parley__prog *pg, uint8_t *o, void *holder,
                               unsigned depth);

#endif
