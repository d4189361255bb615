/* SPDX-License-Identifier: MIT */
/*
 * parley-bench idl: time parley-idl on a generated protocol of about 5,000
 * lines (the target: well under one second).
 *
 * The protocol is written into a new temporary directory: units of consts,
 * enums, structs (bounded strings, bytes, fixed arrays, sequences, optional
 * recursion, a link to the previous unit), unions, typedefs, handles and one
 * interface per unit, until the line count is reached.  One timed operation
 * is a whole compile: fork, exec `parley-idl -o OUT FILE`, wait.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <talloc.h>

#include "bench.h"

#define DEFAULT_LINES 5000

typedef struct idl_options {
    long lines;
    const char *idl;      /* parley-idl to run; NULL = find it */
    bool keep;            /* keep the temporary directory */
} idl_options;

typedef struct idl_state {
    const char *idl;
    char *src;            /* the generated .idl */
    char *out;            /* the -o directory */
    int devnull;
} idl_state;

void bench_idl_usage(FILE *out)
{
    fputs("  Write a protocol of about 5,000 lines (enums, structs, unions, typedefs,\n"
          "  handles and interfaces with methods) into a new temporary directory and\n"
          "  time parley-idl compiling it to C (one operation = fork, exec, wait).\n"
          "  Reports milliseconds per compile, input lines per second, and the\n"
          "  compiler's CPU time and peak memory.  Target: well under one second.\n"
          "\n"
          "  -n, --lines=N         size of the generated protocol in lines (default 5000)\n"
          "  -I, --idl=PATH        the parley-idl to run (default: $PARLEY_IDL, then the\n"
          "                        one in the build tree, then the installed one)\n"
          "  -k, --keep            keep the temporary directory and print its name\n",
          out);
}

static int handle_idl_option(int opt, const char *arg, void *data)
{
    idl_options *o = data;
    char *end;

    switch (opt) {
    case 'n':
        errno = 0;
        o->lines = strtol(arg, &end, 10);
        if (errno != 0 || end == arg || *end != '\0' || o->lines < 100 || o->lines > 10000000) {
            fprintf(stderr, "parley-bench idl: --lines wants a number from 100 to 10000000, "
                            "not '%s'\n", arg);
            return BENCH_EXIT_USAGE;
        }
        return 0;
    case 'I':
        o->idl = arg;
        return 0;
    case 'k':
        o->keep = true;
        return 0;
    default:
        return BENCH_EXIT_USAGE;
    }
}

/* Write one unit of the protocol; returns the number of lines written. */
static long write_unit(FILE *f, unsigned k)
{
    long lines = 0;

#define L(...) (fprintf(f, __VA_ARGS__), fputc('\n', f), lines++)
#define BLANK() (fputc('\n', f), lines++)
    BLANK();
    L("// ---- unit %u: a directory of items with a cursor-based listing", k);
    L("const U%u_MAX_NAME = %u;", k, 64 + k % 192);
    L("const U%u_MAX_ITEMS = 0x%x;", k, 100 + k % 50);
    BLANK();
    L("enum u%u_state {", k);
    L("    U%u_IDLE = 0,", k);
    L("    U%u_BUSY = 1,", k);
    L("    U%u_DONE = 2,", k);
    L("    U%u_FAILED = -1", k);
    L("};");
    BLANK();
    L("struct u%u_stamp {", k);
    L("    int64 sec;");
    L("    uint32 nsec;");
    L("};");
    BLANK();
    L("struct u%u_item {", k);
    L("    string<U%u_MAX_NAME> name;    // bounded by a const", k);
    L("    uint64 id;");
    L("    int32 scores[4];");
    L("    bytes<4096> payload;");
    L("    u%u_state state;", k);
    L("    u%u_stamp created;", k);
    L("    optional u%u_stamp deleted;", k);
    L("    string tags<16>;");
    L("    optional u%u_item next;       /* recursion through optional */", k);
    if (k > 0)
        L("    u%u_item previous_unit<>;", k - 1);
    L("};");
    BLANK();
    L("union u%u_result switch (u%u_state kind) {", k, k);
    L("    case U%u_IDLE: void;", k);
    L("    case U%u_BUSY: uint32 progress;", k);
    L("    case U%u_DONE: u%u_item item;", k, k);
    L("    case U%u_FAILED: string<256> reason;", k);
    L("};");
    BLANK();
    L("typedef u%u_item u%u_items<U%u_MAX_ITEMS>;", k, k, k);
    L("typedef uint8 u%u_digest[32];", k);
    L("handle u%u_cursor;", k);
    BLANK();
    L("struct u%u_page {", k);
    L("    u%u_items items;", k);
    L("    optional u%u_cursor more;", k);
    L("    u%u_digest digest;", k);
    L("    uint32 total;");
    L("};");
    BLANK();
    L("interface u%u_service {", k);
    L("    u%u_get(uint64 id) -> (u%u_result r) = %u;", k, k, k * 8 + 1);
    L("    u%u_put(u%u_item item, bool replace) -> (uint64 id, u%u_stamp at) = %u;", k, k, k,
      k * 8 + 2);
    L("    u%u_list(string<U%u_MAX_NAME> prefix, uint32 max) -> (u%u_page page) = %u;", k, k, k,
      k * 8 + 3);
    L("    u%u_next(u%u_cursor c, uint32 max) -> (u%u_page page) = %u;", k, k, k, k * 8 + 4);
    L("    u%u_close(u%u_cursor c) -> () = %u;", k, k, k * 8 + 5);
    L("    u%u_export(uint64 id, fd out) -> (uint64 written) = %u;", k, k * 8 + 6);
    L("    oneway u%u_touch(uint64 id) = %u;", k, k * 8 + 7);
    L("};");
#undef L
#undef BLANK
    return lines;
}

/* Write the protocol into path; 0 and the line count, or -1. */
static int write_protocol(const char *path, long want, long *ret_lines)
{
    FILE *f = fopen(path, "w");
    long lines = 0;
    unsigned k = 0;

    if (f == NULL) {
        fprintf(stderr, "parley-bench idl: %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(f, "// generated by parley-bench idl: a large protocol to time parley-idl on\n");
    fprintf(f, "protocol bench 1;\n");
    lines = 2;
    while (lines < want)
        lines += write_unit(f, k++);
    if (fclose(f) != 0) {
        fprintf(stderr, "parley-bench idl: %s: %s\n", path, strerror(errno));
        return -1;
    }
    *ret_lines = lines;
    return 0;
}

/* Run the compiler once; 0 on exit status 0.  ru gets its resource usage. */
static int compile(idl_state *s, bool quiet, struct rusage *ru)
{
    pid_t pid;
    int status;

    pid = fork();
    if (pid < 0) {
        fprintf(stderr, "parley-bench idl: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        if (quiet) {
            dup2(s->devnull, STDOUT_FILENO);
            dup2(s->devnull, STDERR_FILENO);
        }
        if (strchr(s->idl, '/') != NULL)
            execl(s->idl, s->idl, "-o", s->out, s->src, (char *)NULL);
        else
            execlp(s->idl, s->idl, "-o", s->out, s->src, (char *)NULL);
        fprintf(stderr, "parley-bench idl: cannot run %s: %s (give --idl PATH or set "
                        "PARLEY_IDL)\n", s->idl, strerror(errno));
        _exit(127);
    }
    while (wait4(pid, &status, 0, ru) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "parley-bench idl: wait: %s\n", strerror(errno));
            return -1;
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "parley-bench idl: %s failed on %s (%s %d)\n", s->idl, s->src,
                WIFEXITED(status) ? "exit status" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        return -1;
    }
    return 0;
}

static int compile_op(void *arg)
{
    struct rusage ru;

    if (compile(arg, true, &ru) != 0)
        return -1;
    bench_sink += (uint64_t)ru.ru_maxrss;
    return 0;
}

/* The compiler to run: --idl, $PARLEY_IDL, the build tree's, the installed one. */
static const char *find_idl(const idl_options *o)
{
    const char *env = getenv("PARLEY_IDL");

    if (o->idl != NULL)
        return o->idl;
    if (env != NULL && *env != '\0')
        return env;
#ifdef PARLEY_IDL_BUILD_PATH
    if (access(PARLEY_IDL_BUILD_PATH, X_OK) == 0)
        return PARLEY_IDL_BUILD_PATH;
#endif
#ifdef PARLEY_IDL_INSTALL_PATH
    if (access(PARLEY_IDL_INSTALL_PATH, X_OK) == 0)
        return PARLEY_IDL_INSTALL_PATH;
#endif
    return "parley-idl";
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static off_t file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? st.st_size : -1;
}

int bench_idl_main(int argc, char **argv)
{
    static const struct option own[] = {
        { "lines", required_argument, NULL, 'n' },
        { "idl", required_argument, NULL, 'I' },
        { "keep", no_argument, NULL, 'k' },
        { NULL, 0, NULL, 0 },
    };
    TALLOC_CTX *tmp = NULL;
    idl_options o = { DEFAULT_LINES, NULL, false };
    idl_state s = { NULL, NULL, NULL, -1 };
    bench_config cfg;
    bench_result r;
    struct rusage ru;
    const char *tmpdir = getenv("TMPDIR");
    char *dir = NULL;
    bool help = false;
    long lines;
    int rc, cpu;

    bench_config_init(&cfg);
    rc = bench_parse_options(argc, argv, own, "n:I:k", handle_idl_option, &o, &cfg, &help);
    if (rc != 0)
        return rc;
    if (help) {
        printf("Usage: parley-bench idl [OPTION]...\n");
        bench_idl_usage(stdout);
        printf("\nOptions for every command:\n");
        bench_common_usage(stdout);
        return BENCH_EXIT_OK;
    }
    if (bench_pin_cpu(&cfg, &cpu) != 0)
        return BENCH_EXIT_FAILED;

    rc = BENCH_EXIT_FAILED;
    tmp = talloc_new(NULL);
    if (tmp == NULL)
        goto done;
    dir = talloc_asprintf(tmp, "%s/parley-bench-idl.XXXXXX",
                          tmpdir != NULL && *tmpdir != '\0' ? tmpdir : "/tmp");
    if (dir == NULL || mkdtemp(dir) == NULL) {
        fprintf(stderr, "parley-bench idl: cannot make a temporary directory: %s\n",
                strerror(errno));
        dir = NULL;
        goto done;
    }
    s.idl = find_idl(&o);
    s.src = talloc_asprintf(tmp, "%s/bench.idl", dir);
    s.out = talloc_asprintf(tmp, "%s/out", dir);
    if (s.src == NULL || s.out == NULL)
        goto done;
    if (mkdir(s.out, 0700) != 0) {
        fprintf(stderr, "parley-bench idl: %s: %s\n", s.out, strerror(errno));
        goto done;
    }
    s.devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (s.devnull < 0 || write_protocol(s.src, o.lines, &lines) != 0)
        goto done;

    printf("parley-bench idl: parley-idl on a generated protocol\n");
    bench_print_machine(stdout);
    printf("cpu: pinned to CPU %d (the compiler inherits it)\n", cpu);
    printf("timing: median of %u runs, each at least %g s (CLOCK_MONOTONIC)\n", cfg.runs,
           cfg.min_time);
    printf("compiler: %s\n", s.idl);
    printf("input: %ld lines, %lld bytes%s%s\n", lines, (long long)file_size(s.src),
           o.keep ? " in " : "", o.keep ? s.src : "");

    /* One compile with its diagnostics shown, to check it works and get its usage. */
    fflush(stdout);
    if (compile(&s, false, &ru) != 0)
        goto done;
    {
        char *h = talloc_asprintf(tmp, "%s/bench.h", s.out);
        char *c = talloc_asprintf(tmp, "%s/bench.c", s.out);

        if (h == NULL || c == NULL)
            goto done;
        printf("output: bench.h %lld bytes, bench.c %lld bytes\n", (long long)file_size(h),
               (long long)file_size(c));
    }
    if (bench_measure(&cfg, compile_op, &s, &r) != 0)
        goto done;

    printf("\n  %12s %12s %8s %12s %12s %10s\n", "ms/compile", "lines/s", "spread", "user ms",
           "sys ms", "max RSS");
    printf("  %12.2f %12.0f %7.1f%% %12.2f %12.2f %7ld KiB\n", r.ns_per_op / 1e6,
           (double)lines * 1e9 / r.ns_per_op, 100.0 * (r.max_ns - r.min_ns) / r.ns_per_op,
           ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3,
           ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3, ru.ru_maxrss);
    printf("  (user, sys and max RSS of one compile; ms/compile includes fork and exec)\n");
    printf("\ntargets (reported, not enforced):\n");
    printf("  %-40s %7.2f ms  %s\n", "compile of the protocol < 1000 ms", r.ns_per_op / 1e6,
           r.ns_per_op < 1e9 ? "met" : "NOT MET");
    rc = BENCH_EXIT_OK;
done:
    if (s.devnull >= 0)
        close(s.devnull);
    if (dir != NULL && !o.keep)
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    TALLOC_FREE(tmp);
    return rc;
}
