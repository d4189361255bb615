/* SPDX-License-Identifier: MIT */
/* parley-bench: the harness shared by every command. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <talloc.h>

#include "bench.h"

volatile uint64_t bench_sink;

void bench_config_init(bench_config *cfg)
{
    cfg->min_time = BENCH_DEFAULT_TIME;
    cfg->runs = BENCH_DEFAULT_RUNS;
    cfg->cpu = -1;
}

uint64_t bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

int bench_timer_init(const bench_config *cfg, bench_op_fn op, void *arg, bench_timer *t)
{
    uint64_t run_ns = (uint64_t)(cfg->min_time * 1e9);
    uint64_t warm_ns = run_ns < 50000000u ? run_ns : 50000000u;
    uint64_t start, now, n = 0;

    memset(t, 0, sizeof(*t));
    t->op = op;
    t->arg = arg;
    if (cfg->runs < 1 || cfg->runs > BENCH_MAX_RUNS || run_ns == 0)
        return -1;

    /* Warm up (caches, allocator, branch predictors) and estimate one op. */
    start = bench_now_ns();
    do {
        if (op(arg) != 0)
            return -1;
        n++;
        now = bench_now_ns();
    } while (n < 3 || now - start < warm_ns);

    /* Read the clock about a hundred times per run, never per tiny op. */
    t->batch = (uint64_t)((double)run_ns / 100.0 / ((double)(now - start) / (double)n));
    if (t->batch < 1)
        t->batch = 1;
    return 0;
}

int bench_timer_run(const bench_config *cfg, bench_timer *t)
{
    uint64_t run_ns = (uint64_t)(cfg->min_time * 1e9);
    uint64_t start, now, count = 0;

    if (t->runs >= BENCH_MAX_RUNS)
        return -1;
    start = bench_now_ns();
    do {
        for (uint64_t i = 0; i < t->batch; i++)
            if (t->op(t->arg) != 0)
                return -1;
        count += t->batch;
        now = bench_now_ns();
    } while (now - start < run_ns);
    t->per_run[t->runs++] = (double)(now - start) / (double)count;
    t->ops += count;
    return 0;
}

void bench_timer_result(const bench_timer *t, bench_result *ret)
{
    double sorted[BENCH_MAX_RUNS];
    unsigned runs = t->runs;

    memcpy(sorted, t->per_run, runs * sizeof(sorted[0]));
    qsort(sorted, runs, sizeof(sorted[0]), cmp_double);
    ret->ns_per_op = runs % 2 ? sorted[runs / 2]
                              : (sorted[runs / 2 - 1] + sorted[runs / 2]) / 2.0;
    ret->min_ns = sorted[0];
    ret->max_ns = sorted[runs - 1];
    ret->ops = t->ops;
}

int bench_measure(const bench_config *cfg, bench_op_fn op, void *arg, bench_result *ret)
{
    return bench_measure_interleaved(cfg, 1, &op, &arg, ret);
}

int bench_measure_interleaved(const bench_config *cfg, size_t n, const bench_op_fn *ops,
                              void *const *args, bench_result *ret)
{
    bench_timer *timers = talloc_array(NULL, bench_timer, n);
    int rc = -1;

    if (timers == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (bench_timer_init(cfg, ops[i], args[i], &timers[i]) != 0)
            goto done;
    for (unsigned r = 0; r < cfg->runs; r++)
        for (size_t i = 0; i < n; i++)
            if (bench_timer_run(cfg, &timers[i]) != 0)
                goto done;
    for (size_t i = 0; i < n; i++)
        bench_timer_result(&timers[i], &ret[i]);
    rc = 0;
done:
    talloc_free(timers);
    return rc;
}

int bench_pin_cpu(const bench_config *cfg, int *ret_cpu)
{
    cpu_set_t allowed, one;
    int cpu = cfg->cpu;

    if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) {
        fprintf(stderr, "parley-bench: sched_getaffinity: %s\n", strerror(errno));
        return -1;
    }
    if (cpu < 0)
        cpu = sched_getcpu();
    if (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &allowed)) {
        fprintf(stderr, "parley-bench: CPU %d is not one this process may run on "
                        "(allowed: %d CPUs)\n", cpu, CPU_COUNT(&allowed));
        return -1;
    }
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (sched_setaffinity(0, sizeof(one), &one) != 0) {
        fprintf(stderr, "parley-bench: cannot pin to CPU %d: %s\n", cpu, strerror(errno));
        return -1;
    }
    *ret_cpu = cpu;
    return 0;
}

void bench_print_machine(FILE *out)
{
    char line[512], model[256] = "unknown CPU";
    FILE *f = fopen("/proc/cpuinfo", "r");

    if (f != NULL) {
        while (fgets(line, sizeof(line), f) != NULL) {
            char *colon;

            if (strncmp(line, "model name", 10) != 0 || (colon = strchr(line, ':')) == NULL)
                continue;
            colon++;
            colon += strspn(colon, " \t");
            colon[strcspn(colon, "\n")] = '\0';
            snprintf(model, sizeof(model), "%s", colon);
            break;
        }
        fclose(f);
    }
    fprintf(out, "machine: %s, %ld CPUs online\n", model, sysconf(_SC_NPROCESSORS_ONLN));
}

void bench_common_usage(FILE *out)
{
    fputs("  -t, --time=SECONDS    make each timed run last at least SECONDS (default 0.3)\n"
          "  -r, --runs=N          time N runs of every measurement and report the\n"
          "                        median (1 to 99, default 5)\n"
          "  -c, --cpu=N           pin the process to CPU N (default: the CPU it starts\n"
          "                        on); the output says which\n"
          "  -h, --help            print this help and exit\n",
          out);
}

static int parse_number(const char *cmd, const char *opt, const char *arg, double lo, double hi,
                        double *ret)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(arg, &end);
    if (errno != 0 || end == arg || *end != '\0' || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "parley-bench %s: %s wants a number from %g to %g, not '%s'\n", cmd, opt,
                lo, hi, arg);
        return BENCH_EXIT_USAGE;
    }
    *ret = v;
    return 0;
}

int bench_parse_options(int argc, char **argv, const struct option *own, const char *own_short,
                        int (*handle_own)(int opt, const char *arg, void *data), void *data,
                        bench_config *cfg, bool *ret_help)
{
    static const struct option common[] = {
        { "time", required_argument, NULL, 't' },
        { "runs", required_argument, NULL, 'r' },
        { "cpu", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
    };
    const size_t n_common = sizeof(common) / sizeof(common[0]);
    struct option opts[64];
    char shorts[64];
    size_t n = 0;
    bool help = false;
    int opt, rc = 0;

    memcpy(opts, common, sizeof(common));
    n = n_common;
    for (size_t i = 0; own != NULL && own[i].name != NULL; i++) {
        if (n + 1 >= sizeof(opts) / sizeof(opts[0]))
            return BENCH_EXIT_USAGE;
        opts[n++] = own[i];
    }
    memset(&opts[n], 0, sizeof(opts[n]));
    snprintf(shorts, sizeof(shorts), ":t:r:c:h%s", own_short != NULL ? own_short : "");

    optind = 1;
    opterr = 0;
    while (rc == 0 && (opt = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
        double v;

        switch (opt) {
        case 't':
            rc = parse_number(argv[0], "--time", optarg, 1e-6, 3600, &cfg->min_time);
            break;
        case 'r':
            if ((rc = parse_number(argv[0], "--runs", optarg, 1, BENCH_MAX_RUNS, &v)) == 0) {
                if (v != floor(v)) {
                    fprintf(stderr, "parley-bench %s: --runs wants a whole number, not '%s'\n",
                            argv[0], optarg);
                    rc = BENCH_EXIT_USAGE;
                }
                cfg->runs = (unsigned)v;
            }
            break;
        case 'c':
            if ((rc = parse_number(argv[0], "--cpu", optarg, 0, CPU_SETSIZE - 1, &v)) == 0) {
                if (v != floor(v)) {
                    fprintf(stderr, "parley-bench %s: --cpu wants a CPU number, not '%s'\n",
                            argv[0], optarg);
                    rc = BENCH_EXIT_USAGE;
                }
                cfg->cpu = (int)v;
            }
            break;
        case 'h':
            help = true;
            break;
        case ':':
            fprintf(stderr, "parley-bench %s: option '%s' needs a value\n", argv[0],
                    argv[optind - 1]);
            rc = BENCH_EXIT_USAGE;
            break;
        case '?':
            if (optopt != 0)
                fprintf(stderr, "parley-bench %s: unknown option '-%c'\n", argv[0], optopt);
            else
                fprintf(stderr, "parley-bench %s: unknown option '%s'\n", argv[0],
                        argv[optind - 1]);
            rc = BENCH_EXIT_USAGE;
            break;
        default:
            rc = handle_own != NULL ? handle_own(opt, optarg, data) : BENCH_EXIT_USAGE;
            break;
        }
    }
    if (rc == 0 && optind < argc) {
        fprintf(stderr, "parley-bench %s: unexpected argument '%s'\n", argv[0], argv[optind]);
        rc = BENCH_EXIT_USAGE;
    }
    if (rc != 0)
        fprintf(stderr, "Try 'parley-bench --help'.\n");
    else
        *ret_help = help;
    return rc;
}
