/* SPDX-License-Identifier: MIT */
/* The test zoo: hand-written descriptors covering every kind, shared by the
 * codec suites (and a check that the PARLEY_*_TYPE macros are usable). */
#ifndef PARLEY_TEST_ZOO_H
#define PARLEY_TEST_ZOO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parley/type.h"

typedef enum zoo_color { ZOO_RED = 0, ZOO_GREEN = 1, ZOO_BLUE = 7, ZOO_BLACK = -3 } zoo_color;
typedef enum zoo_perm { ZOO_READ = 1, ZOO_WRITE = 2, ZOO_EXEC = 4 } zoo_perm; /* flags */

/* 4 bytes of padding before w: wire form (20 bytes) differs from memory (24). */
typedef struct zoo_point { int32_t x, y, z; double w; } zoo_point;
/* No padding: wire form equals memory form on little-endian hosts. */
typedef struct zoo_flat { int32_t a; uint32_t b; int64_t c; uint64_t d; } zoo_flat;

/* union switch (zoo_color kind) { RED: int64 i; GREEN: string s; BLUE: void; } */
typedef struct zoo_value {
    zoo_color kind;
    union { int64_t i; char *s; } u;
} zoo_value;

/* union switch (uint16 tag) { 1: double d; 2: bytes<8> b; 3: point p; default: uint32 other; } */
typedef struct zoo_num {
    uint16_t tag;
    union { double d; parley_bytes b; zoo_point p; uint32_t other; } u;
} zoo_num;

typedef struct zoo_all {
    int8_t i8; int16_t i16; int32_t i32; int64_t i64;
    uint8_t u8; uint16_t u16; uint32_t u32; uint64_t u64;
    bool b; float f; double d;
    zoo_color color;
    zoo_perm perm;
    char *name;                 /* string<16> */
    char *text;                 /* string */
    parley_bytes blob;          /* bytes<64> */
    int32_t fixed[3];           /* int32 fixed[3] */
    size_t n_points;            /* point points<8> */
    zoo_point *points;
    size_t n_words;             /* string words<> */
    char **words;
    zoo_point *origin;          /* optional point */
    zoo_value value;
    zoo_num num;
    char *secret;               /* [sensitive] string<32> */
    zoo_flat flats[2];          /* flat flats[2] */
    size_t n_flat_seq;          /* flat flat_seq<> */
    zoo_flat *flat_seq;
    size_t n_nums;              /* int32 nums<> */
    int32_t *nums;
} zoo_all;

/* Recursive through a sequence and an optional. */
typedef struct zoo_node {
    char *key;                  /* string<256> */
    size_t n_children;          /* node children<> */
    struct zoo_node *children;
    struct zoo_node *next;      /* optional node */
} zoo_node;

/* Handles and fds: need codec hooks. */
typedef struct zoo_res {
    parley_handle *cursor;      /* handle cursor */
    parley_handle *maybe;       /* optional cursor */
    int fd;                     /* fd */
} zoo_res;

extern const parley_type zoo_color_type, zoo_perm_type, zoo_point_type, zoo_flat_type,
    zoo_value_type, zoo_num_type, zoo_all_type, zoo_node_type, zoo_res_type;

/* Every zoo type, for loops over kinds. */
extern const parley_type *const zoo_types[];
extern const size_t zoo_n_types;

#endif
