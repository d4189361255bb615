/* SPDX-License-Identifier: MIT */
/*
 * parley-bench: shared harness for every command (timing, CPU pinning,
 * common options, machine description).  Commands live in tools/bench_*.c
 * and are listed in the command table of tools/parley-bench.c.
 *
 * A command is `int bench_<name>_main(int argc, char **argv)` (argv[0] is the
 * command name) returning an exit status: 0 done, 1 the benchmark failed,
 * 2 usage error; and `void bench_<name>_usage(FILE *out)` printing its own
 * part of the help text: an indented description and its own options (the
 * caller prints the synopsis line above it).
 */
#ifndef PARLEY_BENCH_H
#define PARLEY_BENCH_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/** Exit statuses of every command. */
#define BENCH_EXIT_OK 0
#define BENCH_EXIT_FAILED 1
#define BENCH_EXIT_USAGE 2

/** Settings every command takes (--time, --runs, --cpu). */
typedef struct bench_config {
    double min_time;  /**< seconds one timed run lasts at least */
    unsigned runs;    /**< timed runs per measurement; the median is reported */
    int cpu;          /**< CPU to pin to; -1 = the CPU the process starts on */
} bench_config;

#define BENCH_DEFAULT_TIME 0.3
#define BENCH_DEFAULT_RUNS 5

/** The defaults: 0.3 s runs, 5 runs, pin to the starting CPU. */
void bench_config_init(bench_config *cfg);

/**
 * One benchmarked operation: do it once, return 0, or -1 after printing why
 * to stderr (the measurement stops).  It should fold something from its result
 * into bench_sink so that the work stays observable.
 */
typedef int (*bench_op_fn)(void *arg);

/** Where operations fold a checksum of their results (keeps them live). */
extern volatile uint64_t bench_sink;

/** A measurement: the median and spread over the timed runs. */
typedef struct bench_result {
    double ns_per_op;   /**< median over the runs */
    double min_ns;      /**< fastest run */
    double max_ns;      /**< slowest run */
    uint64_t ops;       /**< operations timed in all runs together */
} bench_result;

/**
 * Measure op: warm up, then cfg->runs timed runs, each repeating op until at
 * least cfg->min_time has passed (CLOCK_MONOTONIC, read once per batch).
 * Returns 0 and fills *ret, or -1 if op failed.
 */
int bench_measure(const bench_config *cfg, bench_op_fn op, void *arg, bench_result *ret);

/**
 * Several measurements with their runs interleaved (run 1 of each, then run 2
 * of each, ...), so that a burst of load from elsewhere on the machine hits
 * every one of them rather than only the one that happened to be running:
 * use it for figures that are compared with each other.
 */
#define BENCH_MAX_RUNS 99
typedef struct bench_timer {
    bench_op_fn op;
    void *arg;
    uint64_t batch;                      /* ops per clock read */
    unsigned runs;                       /* timed runs done */
    double per_run[BENCH_MAX_RUNS];      /* ns/op of each run */
    uint64_t ops;
} bench_timer;

/** Warm op up and calibrate t for it.  0, or -1 if op failed. */
int bench_timer_init(const bench_config *cfg, bench_op_fn op, void *arg, bench_timer *t);
/** One timed run of t (at least cfg->min_time).  0, or -1 if op failed. */
int bench_timer_run(const bench_config *cfg, bench_timer *t);
/** The median and spread of t's runs so far (at least one). */
void bench_timer_result(const bench_timer *t, bench_result *ret);
/**
 * Measure n (op, arg) pairs with interleaved runs: init each, then cfg->runs
 * rounds of one run of each.  ret[i] gets the result of ops[i].  0, or -1 if
 * an op failed.
 */
int bench_measure_interleaved(const bench_config *cfg, size_t n, const bench_op_fn *ops,
                              void *const *args, bench_result *ret);

/** Monotonic time in nanoseconds. */
uint64_t bench_now_ns(void);

/**
 * Pin the calling thread (and so the single-threaded process) to cfg->cpu, or
 * to the CPU it runs on now when that is -1.  Returns 0 and the CPU in
 * *ret_cpu, or -1 after printing why (e.g. a CPU outside the allowed set).
 */
int bench_pin_cpu(const bench_config *cfg, int *ret_cpu);

/** Print "machine: MODEL, N CPUs online" (model from /proc/cpuinfo). */
void bench_print_machine(FILE *out);

/**
 * Parse argv (argv[0] is the command name) with getopt_long: the common
 * options plus the command's own `own` options (may be NULL; ended by a zero
 * entry), whose values go to handle_own(opt, optarg, data) (return 0 or
 * BENCH_EXIT_USAGE after printing why).  -h/--help sets *ret_help.
 * Returns 0, or BENCH_EXIT_USAGE after printing a message to stderr.
 * Positional arguments are a usage error.
 */
int bench_parse_options(int argc, char **argv, const struct option *own, const char *own_short,
                        int (*handle_own)(int opt, const char *arg, void *data), void *data,
                        bench_config *cfg, bool *ret_help);

/** The help text of the common options, for each command's usage. */
void bench_common_usage(FILE *out);

/** @name The commands
 *  @{ */
int bench_codec_main(int argc, char **argv);
void bench_codec_usage(FILE *out);
int bench_idl_main(int argc, char **argv);
void bench_idl_usage(FILE *out);
int bench_call_main(int argc, char **argv);
void bench_call_usage(FILE *out);
int bench_names_main(int argc, char **argv);
void bench_names_usage(FILE *out);
/** @} */

#endif /* PARLEY_BENCH_H */
