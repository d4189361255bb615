/* SPDX-License-Identifier: MIT */
/* The runtime tests' protocol, written by hand (no parley-idl needed):
 * echo, add, sleep, fail, note (oneway), notes, callback, die. */
#ifndef PARLEY_TEST_PROTO_H
#define PARLEY_TEST_PROTO_H

#include <stdint.h>

#include "parley.h"

enum {
    TP_ECHO = 1,      /* blocking: returns its text and data */
    TP_ADD = 2,       /* non-blocking: a + b */
    TP_SLEEP = 3,     /* blocking: sleeps ms, returns tag */
    TP_FAIL = 4,      /* blocking: returns the status it is given */
    TP_NOTE = 5,      /* oneway: counts notes */
    TP_NOTES = 6,     /* returns the number of notes seen */
    TP_CALLBACK = 7,  /* calls ADD(n, n) back on the caller's session, returns it + 1 */
    TP_DIE = 8,       /* the server process exits at once */
    /* Calls: pended handlers, errors, cancellation (ids 20..29). */
    TP_PEND = 20,     /* non-blocking, tp_sleep: pends; ms 0: completes only when
                       * cancelled (CANCELLED); else a thread completes it after
                       * ms (odd tag: application error code tag, else tag) */
    TP_CANCELS = 21,  /* returns how many cancel functions ran */
    TP_REMOTE = 22,   /* blocking, tp_int: application error code v ("refused v");
                       * v 0: returns REMOTE without setting one */
    TP_PEND_NOW = 23  /* blocking, tp_int: pends and completes inside the handler
                       * with v + 1 */
};

typedef struct tp_echo { char *text; parley_bytes data; } tp_echo;
typedef struct tp_pair { int32_t a, b; } tp_pair;
typedef struct tp_int { int32_t v; } tp_int;
typedef struct tp_sleep { uint32_t ms; uint32_t tag; } tp_sleep;
typedef struct tp_tag { uint32_t tag; } tp_tag;

/* Variants for the handshake tests. */
typedef enum tp_variant {
    TP_V1,          /* "test" version 1 */
    TP_V2_COMPAT,   /* "test" version 2: adds method 9, the rest unchanged */
    TP_V2_ADD64,    /* "test" version 2: ADD takes int64s (fingerprint differs) */
    TP_OTHER        /* protocol "other" */
} tp_variant;

/* The protocol of a variant (fingerprints filled in on first use). */
const parley_protocol *tp_protocol(tp_variant v);

/* Register the test server's handlers on a peer. */
parley_status tp_serve(parley_peer *peer);
/* Register the client side's handler (ADD, for callbacks). */
parley_status tp_serve_client(parley_peer *peer);

#endif
