/* SPDX-License-Identifier: MIT */
/*
 * parley-bench: measure Parley beside baselines run in the same process.
 *
 * Usage: parley-bench COMMAND [OPTION]...   (see --help)
 *
 * Each command is one row of the table below: its entry point, its part of
 * the help text and a one-line summary.  To add one, write
 * tools/bench_<name>.c with bench_<name>_main() and bench_<name>_usage(),
 * declare them in tools/bench.h and add a row here.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "bench.h"

typedef struct bench_command {
    const char *name;
    int (*main)(int argc, char **argv);
    void (*usage)(FILE *out);
    const char *summary;
} bench_command;

static const bench_command commands[] = {
    { "codec", bench_codec_main, bench_codec_usage,
      "encode/decode speed beside ONC RPC XDR and memcpy" },
    { "idl", bench_idl_main, bench_idl_usage,
      "parley-idl compile time on a generated 5,000-line protocol" },
    { "call", bench_call_main, bench_call_usage,
      "calls beside raw, framed raw, ONC RPC and sd-bus echoes" },
    { "names", bench_names_main, bench_names_usage,
      "name service: registrations, resolves, name: connect beside a direct one" },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: parley-bench COMMAND [OPTION]...\n"
            "  or:  parley-bench --help | --version\n"
            "Measure the speed of Parley beside baselines (such as ONC RPC XDR and\n"
            "memcpy) run in the same process on the same pinned CPU, and print a\n"
            "table with the ratios.  This is a benchmark, not a test: targets are\n"
            "reported, never enforced.\n"
            "\n"
            "Commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nOptions for every command:\n");
    bench_common_usage(out);
    fprintf(out, "      --version         print the version and exit (without a command)\n");
    for (size_t i = 0; i < N_COMMANDS; i++) {
        fprintf(out, "\nCommand %s (parley-bench %s [OPTION]...):\n", commands[i].name,
                commands[i].name);
        commands[i].usage(out);
    }
    fprintf(out,
            "\n"
            "Measurement:\n"
            "  Each measurement warms up, then times --runs runs with CLOCK_MONOTONIC;\n"
            "  a run repeats the operation until --time seconds have passed, so every\n"
            "  figure is an average over many operations, and the median run is shown\n"
            "  with its spread ((slowest - fastest) / median).  Results are folded into\n"
            "  a checksum so that no work is optimised away.  The process is pinned to\n"
            "  one CPU with sched_setaffinity(2).\n"
            "\n"
            "Exit status:\n"
            "  0  the benchmark ran (whether or not a target was met)\n"
            "  1  it could not run (an operation failed, or a round trip differed)\n"
            "  2  usage error (unknown command or option)\n"
            "\n"
            "Example:\n"
            "  parley-bench codec --time 0.3 --runs 5 --cpu 1\n"
            "\n"
            "See doc/performance.md for recorded results.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return BENCH_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return BENCH_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("parley-bench (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
        return BENCH_EXIT_OK;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].main(argc - 1, argv + 1);

    fprintf(stderr, "parley-bench: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return BENCH_EXIT_USAGE;
}
