/* SPDX-License-Identifier: MIT */
/* The fd tests' protocol "fdtest", written by hand, and its handlers (used by
 * test/fd_child, the program the spawn tests start, and by in-process
 * servers in test/check_fds.c). */
#ifndef PARLEY_TEST_FD_PROTO_H
#define PARLEY_TEST_FD_PROTO_H

#include <stdint.h>

#include "parley.h"

enum {
    FDT_WRITE = 1,    /* writes text to fd, returns the bytes written */
    FDT_PIPE = 2,     /* returns the read end of a pipe holding text */
    FDT_READALL = 3,  /* reads opt's fd, then each of fds, to EOF; returns all of it */
    FDT_OPENFDS = 4,  /* the descriptors open in the serving process */
    FDT_SLEEP = 5,    /* sleeps v ms, returns the serving process's pid */
    FDT_ECHO = 6      /* returns the fd it was given */
};

typedef struct fdt_write { int fd; char *text; } fdt_write;
typedef struct fdt_u32 { uint32_t v; } fdt_u32;
typedef struct fdt_text { char *text; } fdt_text;
typedef struct fdt_fd { int fd; char *text; } fdt_fd;
typedef struct fdt_box { int fd; } fdt_box;
typedef struct fdt_nested { fdt_box *opt; parley_seq fds; } fdt_nested;   /* fds: int */
typedef struct fdt_list { parley_seq fds; } fdt_list;                      /* uint32 */

const parley_protocol *fdt_protocol(void);
parley_status fdt_serve(parley_peer *peer);

#endif
