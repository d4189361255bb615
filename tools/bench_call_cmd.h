/* SPDX-License-Identifier: MIT */
/*
 * parley-bench call: what the command (tools/bench_call.c) shares with its
 * report (tools/bench_call_report.c): the rows, the options, the results.
 */
#ifndef PARLEY_BENCH_CALL_CMD_H
#define PARLEY_BENCH_CALL_CMD_H

#include <stdbool.h>
#include <stddef.h>

#include "bench_call.h"

/* The rows, in table order, and the payload sizes. */
enum { ROW_RAW, ROW_FRAMED, ROW_STUB, ROW_CALL, ROW_ONC, ROW_SDBUS, N_ROWS };
#define N_SIZES 4

/* A row: its name and implementation; one this build lacks has none, and why. */
typedef struct row_def {
    const char *name;
    const bench_impl *impl;
    const char *missing;     /* why impl is NULL */
} row_def;

extern const row_def bench_call_rows[N_ROWS];
/* "unix", "tcp": the names of transports 1 and 2 (index 0 and 1). */
extern const char *const bench_call_transports[2];

/* The options of one run. */
typedef struct call_opts {
    unsigned cpus;       /* bit 0: servers on the client's CPU; bit 1: on another */
    bool syscalls;       /* --syscalls */
    int transports;      /* 1 unix, 2 tcp, 3 both */
    unsigned inflight;
    unsigned idle;       /* sessions for the idle-memory figure, 0 = skip */
    unsigned rows;       /* bit i: bench_call_rows[i] is measured */
    size_t max_size;     /* largest payload measured */
    /* internal: the strace child */
    const char *count_mode;
    size_t count_size;
    unsigned count_n;
} call_opts;

/* What one run measured (0 = not measured). */
typedef struct call_results {
    double pp_us[2][N_SIZES][N_ROWS];       /* ping-pong µs per call */
    double pl_rate[2][N_SIZES][N_ROWS];     /* pipelined calls/s */
    double allocs_server[2][N_ROWS];        /* per 16-byte call; < 0 not counted */
    double allocs_client[2][N_ROWS];
    double syscalls[2][N_ROWS];             /* per 16-byte call; < 0 not counted */
} call_results;

/* Calls around which allocations are counted, and calls strace'd. */
#define ALLOC_CALLS 2000
#define SYSCALL_CALLS 2000

/* Print the per-call counts (syscalls, allocations) of res. */
void bench_call_print_counts(const call_opts *o, const call_results *res);
/* Print the target list for one placement (split: servers on another CPU). */
void bench_call_print_targets(const call_opts *o, const call_results *res, bool split);
/* Print a Parley server's memory per idle session with n unix sessions.
 * 0 or -1. */
int bench_call_report_idle(unsigned n, int server_cpu);

#endif /* PARLEY_BENCH_CALL_CMD_H */
