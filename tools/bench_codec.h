/* SPDX-License-Identifier: MIT */
/*
 * parley-bench codec: the three cases, described once, and the interface each
 * implementation (Parley in bench_codec_parley.c, XDR in bench_codec_xdr.c)
 * offers.  Each implementation builds the same logical value in its own C
 * types from the data here.
 *
 * (c) in IDL (tools/bench_types.idl, which parley-idl compiles to the Parley
 * side's types and descriptors; the .x file has the same shape):
 *
 *     enum file_kind { REGULAR = 1, DIRECTORY = 2, SYMLINK = 3, DEVICE = 4, FIFO = 5 };
 *     struct timestamp { int64 sec; uint32 nsec; };
 *     struct regular_info { uint64 blocks; uint32 nlink; };
 *     struct device_id { uint32 dev_major; uint32 dev_minor; };
 *     union file_info switch (file_kind kind) {
 *         case REGULAR:   regular_info reg;
 *         case DIRECTORY: uint32 n_children;
 *         case SYMLINK:   string<4096> target;
 *         case DEVICE:    device_id dev;
 *         case FIFO:      void;
 *     };
 *     struct xattr { string<255> name; bytes<65536> value; };
 *     struct dir_entry {
 *         string<255> name; string<64> owner; string<64> group;
 *         uint64 inode; uint64 size; uint32 mode;
 *         timestamp mtime;
 *         optional timestamp btime;     // birth time: not every filesystem has one
 *         file_info info;
 *         xattr xattrs<16>;
 *     };
 */
#ifndef PARLEY_BENCH_CODEC_H
#define PARLEY_BENCH_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include <talloc.h>

#include "bench.h"

/** The cases, in output order. */
typedef enum bench_case {
    BENCH_CASE_BYTES,    /**< (a) one 1 MiB byte blob */
    BENCH_CASE_POINTS,   /**< (b) 10,000 flat structs {int32 x, y, z; double w} */
    BENCH_CASE_DIRENT,   /**< (c) a directory entry (see above) */
    BENCH_N_CASES
} bench_case;

#define BENCH_BYTES_LEN (1024u * 1024u)
#define BENCH_N_POINTS 10000u
#define BENCH_N_XATTRS 4u

/** The logical value of case (c). */
typedef struct bench_dirent_spec {
    const char *name, *owner, *group;
    uint64_t inode, size;
    uint32_t mode;
    int64_t mtime_sec;
    uint32_t mtime_nsec;
    int64_t btime_sec;
    uint32_t btime_nsec;
    uint64_t blocks;      /* file_info: REGULAR, reg */
    uint32_t nlink;
    struct {
        const char *name;
        const uint8_t *value;
        size_t len;
    } xattrs[BENCH_N_XATTRS];
} bench_dirent_spec;

extern const bench_dirent_spec bench_dirent;

/** (a): byte i of the blob (a fixed pseudo-random pattern). */
void bench_fill_bytes(uint8_t *p, size_t n);

/** (b): point i. */
void bench_point_at(size_t i, int32_t *x, int32_t *y, int32_t *z, double *w);

/**
 * One implementation prepared for one case: the value built, encoded once and
 * checked to round-trip.  encode/decode each do one whole operation on arg.
 */
typedef struct bench_subject {
    const char *impl;         /**< "parley", "xdr" */
    bench_op_fn encode;
    bench_op_fn decode;
    void *arg;
    size_t wire_len;          /**< bytes of one encoding */
    const uint8_t *wire;      /**< one encoding (lives as long as arg) */
    size_t decode_allocs;     /**< allocations one decode makes; 0 = not known */
    bench_op_fn decode_compact;   /**< a second decode mode (Parley's
                                       PARLEY_DECODE_COMPACT), or NULL */
    size_t decode_compact_allocs; /**< allocations one such decode makes */
} bench_subject;

/**
 * Prepare impl for case c under mem_ctx.  Returns 0, or -1 after printing to
 * stderr what failed (encoding, decoding, or a round trip that differs).
 */
typedef int (*bench_prepare_fn)(TALLOC_CTX *mem_ctx, bench_case c, bench_subject *ret);

int bench_codec_parley_prepare(TALLOC_CTX *mem_ctx, bench_case c, bench_subject *ret);
#ifdef HAVE_XDR
int bench_codec_xdr_prepare(TALLOC_CTX *mem_ctx, bench_case c, bench_subject *ret);
#endif

#endif /* PARLEY_BENCH_CODEC_H */
