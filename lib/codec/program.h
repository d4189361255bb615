/* SPDX-License-Identifier: MIT */
/* Internal: descriptors compiled once into flat programs for the codec.
 *
 * The generic codec walks a descriptor recursively, field by field.  A
 * program is the same walk done once ahead of time: nested structs are
 * flattened into one list of ops with absolute offsets, adjacent fixed-width
 * fields that are adjacent in memory too become one copy, and a sequence of
 * flat elements carries its copy plan.  Encode runs the program of the top
 * type and, on any failure, runs the generic walk again to report the error
 * with its field path.
 *
 * Programs live in a process-wide table keyed by descriptor address (see
 * program.c for why only descriptors in a loaded image's static storage are
 * compiled), published lock-free and never changed; types the programs do
 * not cover (handles, fds, big unrolled arrays, big-endian hosts) get no
 * program and take the generic walk. */
#ifndef PARLEY_LIB_PROGRAM_H
#define PARLEY_LIB_PROGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"

typedef enum parley__prog_code {
    PARLEY__OP_FIXED,       /* len bytes, memory form == wire form */
    PARLEY__OP_BOOL,
    PARLEY__OP_ENUM,
    PARLEY__OP_STRING,      /* char *, NULL is an error */
    PARLEY__OP_OPT_STRING,  /* optional string: the char * itself, NULL = absent */
    PARLEY__OP_BYTES,
    PARLEY__OP_SEQ,         /* u32 count + items: by plan, or by the element's program */
    PARLEY__OP_OPT,         /* u8 presence + the pointee's program */
    PARLEY__OP_UNION,       /* discriminator + the selected arm's program */
} parley__prog_code;

typedef struct parley__prog_op {
    uint32_t code;              /* parley__prog_code */
    uint32_t off;               /* memory offset from the program's object */
    uint32_t len;               /* FIXED: bytes; SEQ: the element's fewest wire bytes */
    const parley_type *type;    /* the value's descriptor */
    const parley__plan *plan;   /* SEQ: the element's flat plan, or NULL */
    const struct parley__prog *sub; /* SEQ, OPT: the element's program when known
                                       at compile time (NULL: look it up) */
    const struct parley__prog *const *arms; /* UNION: each arm's program (by arm
                                       index, then the default arm), NULL where
                                       unknown at compile time or void */
} parley__prog_op;

typedef struct parley__prog {
    const parley_type *type;
    size_t n_ops;
    parley__prog_op ops[];
} parley__prog;

/* The program of type, or NULL when it has none (then walk generically).
 * Thread-safe; compiles on first use. */
const parley__prog *parley__prog_get(const parley_type *type);

/* Tests: false makes parley__prog_get() return NULL, so that the generic
 * walk can be compared with the programs.  Not for concurrent use. */
extern bool parley__prog_enabled;

/* Status a program run returns when it meets a type without a program: the
 * caller starts over with the generic walk.  Never escapes the codec. */
#define PARLEY__PROG_FALLBACK ((parley_status)0x7fff)

#endif
