/* SPDX-License-Identifier: MIT */
/*
 * parley-bench call: Parley calls beside the baselines a user would compare
 * them with, all in the same process and the same run, over unix and TCP
 * loopback sockets, for payloads of 16 B, 1 KiB, 64 KiB and 1 MiB.
 *
 * Each row of the table is one way of making an echo call (bench_impl, in
 * tools/bench_call_rows.c and beside it); each has its own server, forked
 * from this process, and its client here:
 *   raw          raw socket echo of Parley's wire bytes (ping-pong baseline);
 *                pipelined, a bulk byte echo with no framing
 *   raw-framed   framed raw echo: per-message parse, dispatch through a
 *                function pointer, memcpy echo (pipelined baseline)
 *   parley-stub  the generated synchronous stub (acquire, dispatch, release
 *                per call, as users do)
 *   parley-call  one acquired call reused; pipelined: asynchronous dispatch
 *   onc-rpc      ONC RPC (rpcgen + libtirpc, clnt_call; svc_run server)
 *   sd-bus       sd-bus peer to peer (sd_bus_call; pipelined sd_bus_call_async)
 * For each payload it measures ping-pong latency (one call, wait for its
 * reply, repeat) and calls per second with --inflight calls in flight on one
 * connection, and prints each figure with its ratio to the right baseline.
 * Runs of the rows of one payload are interleaved, so a burst of load from
 * elsewhere hits all of them alike.  Optionally it counts syscalls per call
 * with strace -c -f (--syscalls), and always (when the build can) the
 * allocations per call of the Parley server and client.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <talloc.h>

#include "parley.h"
#include "bench.h"
#include "bench_call.h"
#include "bench_call_cmd.h"

/* ---- the rows ----------------------------------------------------------------- */

const row_def bench_call_rows[N_ROWS] = {
    { "raw", &bench_impl_raw, NULL },
    { "raw-framed", &bench_impl_framed, NULL },
    { "parley-stub", &bench_impl_parley_stub, NULL },
    { "parley-call", &bench_impl_parley_call, NULL },
#ifdef HAVE_XDR
    { "onc-rpc", &bench_impl_onc, NULL },
#else
    { "onc-rpc", NULL, "not built: configure found no libtirpc or rpcgen" },
#endif
#ifdef HAVE_SDBUS
    { "sd-bus", &bench_impl_sdbus, NULL },
#else
    { "sd-bus", NULL, "not built: configure found no libsystemd" },
#endif
};

static const size_t sizes[N_SIZES] = { 16, 1024, 64 * 1024, 1024 * 1024 };
const char *const bench_call_transports[2] = { "unix", "tcp" };

/* ---- options ---------------------------------------------------------------- */

enum { OPT_CPUS = 1000, OPT_SYSCALLS, OPT_TRANSPORT, OPT_INFLIGHT, OPT_IDLE, OPT_ROWS,
       OPT_MAX_SIZE, OPT_COUNT };

static const struct option call_options[] = {
    { "cpus", required_argument, NULL, OPT_CPUS },
    { "syscalls", no_argument, NULL, OPT_SYSCALLS },
    { "transport", required_argument, NULL, OPT_TRANSPORT },
    { "inflight", required_argument, NULL, OPT_INFLIGHT },
    { "idle", required_argument, NULL, OPT_IDLE },
    { "rows", required_argument, NULL, OPT_ROWS },
    { "max-size", required_argument, NULL, OPT_MAX_SIZE },
    { "count-syscalls-of", required_argument, NULL, OPT_COUNT },
    { NULL, 0, NULL, 0 },
};

static int row_index(const char *name, size_t len)
{
    for (size_t i = 0; i < N_ROWS; i++)
        if (strlen(bench_call_rows[i].name) == len &&
            strncmp(bench_call_rows[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

/* "a,b,c" → bit set of rows; 0 on a name that is not a row. */
static unsigned parse_rows(const char *arg)
{
    unsigned set = 0;

    if (strcmp(arg, "all") == 0)
        return (1u << N_ROWS) - 1;
    while (*arg != '\0') {
        size_t len = strcspn(arg, ",");
        int i = row_index(arg, len);

        if (i < 0)
            return 0;
        set |= 1u << i;
        arg += len;
        if (*arg == ',')
            arg++;
    }
    return set;
}

static int handle_opt(int opt, const char *arg, void *data)
{
    call_opts *o = data;
    char *end;

    switch (opt) {
    case OPT_CPUS:
        if (strcmp(arg, "same") == 0)
            o->cpus = 1;
        else if (strcmp(arg, "split") == 0)
            o->cpus = 2;
        else if (strcmp(arg, "both") == 0)
            o->cpus = 3;
        else
            goto bad;
        return 0;
    case OPT_SYSCALLS:
        o->syscalls = true;
        return 0;
    case OPT_TRANSPORT:
        if (strcmp(arg, "unix") == 0)
            o->transports = 1;
        else if (strcmp(arg, "tcp") == 0)
            o->transports = 2;
        else if (strcmp(arg, "both") == 0)
            o->transports = 3;
        else
            goto bad;
        return 0;
    case OPT_INFLIGHT:
        o->inflight = (unsigned)strtoul(arg, &end, 10);
        if (*end != '\0' || o->inflight < 1 || o->inflight > 1024)
            goto bad;
        return 0;
    case OPT_IDLE:
        o->idle = (unsigned)strtoul(arg, &end, 10);
        if (*end != '\0' || o->idle > 100000)
            goto bad;
        return 0;
    case OPT_ROWS:
        o->rows = parse_rows(arg);
        if (o->rows == 0)
            goto bad;
        return 0;
    case OPT_MAX_SIZE:
        o->max_size = strtoul(arg, &end, 10);
        if (*end != '\0' || o->max_size < sizes[0])
            goto bad;
        return 0;
    case OPT_COUNT: {
        /* ROW,TRANSPORT,SIZE,N (internal, used by --syscalls) */
        static char buf[128];
        char *p;

        snprintf(buf, sizeof(buf), "%s", arg);
        o->count_mode = buf;
        p = strchr(buf, ',');
        if (p == NULL)
            goto bad;
        *p++ = '\0';
        o->transports = strncmp(p, "unix", 4) == 0 ? 1 : 2;
        p = strchr(p, ',');
        if (p == NULL)
            goto bad;
        o->count_size = strtoul(p + 1, &p, 10);
        if (*p != ',')
            goto bad;
        o->count_n = (unsigned)strtoul(p + 1, &p, 10);
        return 0;
    }
    default:
        break;
    }
bad:
    fprintf(stderr, "parley-bench call: bad value '%s' for an option (see --help)\n", arg);
    return BENCH_EXIT_USAGE;
}

void bench_call_usage(FILE *out)
{
    fputs("  Echo calls of 16 B, 1 KiB, 64 KiB and 1 MiB over unix and TCP loopback\n"
          "  sockets, each way of calling in its own row, all in the same run: raw\n"
          "  (raw socket echo of the same bytes; pipelined: a bulk byte echo),\n"
          "  raw-framed (framed raw echo: per-message parse, dispatch through a\n"
          "  function pointer, memcpy echo), parley-stub (the generated synchronous\n"
          "  stub: a call acquired, dispatched and released per call), parley-call\n"
          "  (one acquired call reused; pipelined: asynchronous dispatch), onc-rpc\n"
          "  (rpcgen + libtirpc, ping-pong) and sd-bus (peer to peer).  Prints\n"
          "  ping-pong latency with its ratio to raw, calls per second with\n"
          "  --inflight in flight with the ratios to raw-framed and to the bulk echo,\n"
          "  Parley's allocations per call, and the targets, which are reported,\n"
          "  never enforced.\n"
          "\n"
          "      --cpus=same|split|both  same: client and servers pinned to one\n"
          "                         CPU (default); split: servers on another CPU;\n"
          "                         both: one table for each, in the same run\n"
          "      --transport=unix|tcp|both   (default both)\n"
          "      --rows=LIST        measure only these rows (comma-separated names\n"
          "                         from the list above, or all; default all)\n"
          "      --max-size=BYTES   skip payloads larger than BYTES (default: none)\n"
          "      --inflight=N       calls in flight in the pipelined test (default 32)\n"
          "      --idle=N           server memory per idle session with N sessions\n"
          "                         (default 1000; 0 skips)\n"
          "      --syscalls         also count syscalls per 16-byte ping-pong call of\n"
          "                         each row (client and server together) with\n"
          "                         strace -c -f\n",
          out);
}

/* ---- the rows' ends ------------------------------------------------------------- */

/* Start the servers of the rows in `set` (all first, as bench_impl says),
 * then connect their clients; open[i] says which are up.  0, or -1 with
 * whatever was opened left for close_rows(). */
static int open_rows(unsigned set, int transport, int server_cpu, uint8_t *bytes,
                     bench_end *ends, bool *open)
{
    for (size_t i = 0; i < N_ROWS; i++) {
        open[i] = false;
        if (!(set & (1u << i)) || bench_call_rows[i].impl == NULL)
            continue;
        bench_end_init(&ends[i], bench_call_rows[i].name, transport, bytes);
        open[i] = true;
        if (bench_call_rows[i].impl->start(&ends[i], server_cpu) != 0) {
            fprintf(stderr, "parley-bench call: %s: the server did not start\n",
                    bench_call_rows[i].name);
            return -1;
        }
    }
    for (size_t i = 0; i < N_ROWS; i++)
        if (open[i] && bench_call_rows[i].impl->connect(&ends[i]) != 0) {
            fprintf(stderr, "parley-bench call: %s: the client did not connect\n",
                    bench_call_rows[i].name);
            return -1;
        }
    return 0;
}

/* Close in the reverse order: a server forked later holds copies of the
 * pipes of those forked before it, which see their end only once it is gone. */
static void close_rows(bench_end *ends, bool *open)
{
    for (size_t i = N_ROWS; i-- > 0;)
        if (open[i]) {
            bench_call_rows[i].impl->close(&ends[i]);
            open[i] = false;
        }
}

/* ---- pipelined measurements ------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Size a run of fn to last about min_time: the number of calls (at least
 * inflight, so that every run fills the pipeline). */
static int calibrate_pipelined(const bench_config *cfg, bench_pipe_fn fn, void *client,
                               unsigned inflight, uint64_t *ret_n)
{
    uint64_t n = inflight, dt;
    double want = cfg->min_time * 1e9, per;

    for (;;) {
        uint64_t t0 = bench_now_ns();

        if (fn(client, inflight, n) != 0)
            return -1;
        dt = bench_now_ns() - t0;
        if ((double)dt >= want / 4 || n > (1u << 26))
            break;
        n *= 2;
    }
    per = (double)dt / (double)n;
    n = per > 0 ? (uint64_t)(want / per) : n * 4;
    *ret_n = n > inflight ? n : inflight;
    return 0;
}

/* Calls per second with `inflight` in flight for k clients, their runs
 * interleaved: median, slowest and fastest of cfg->runs. */
static int measure_pipelined(const bench_config *cfg, size_t k, const bench_pipe_fn *fns,
                             void *const *clients, unsigned inflight, bench_result *ret)
{
    double rate[N_ROWS][BENCH_MAX_RUNS];
    uint64_t n[N_ROWS];
    unsigned runs = cfg->runs < BENCH_MAX_RUNS ? cfg->runs : BENCH_MAX_RUNS;

    for (size_t j = 0; j < k; j++)
        if (calibrate_pipelined(cfg, fns[j], clients[j], inflight, &n[j]) != 0)
            return -1;
    for (unsigned r = 0; r < runs; r++)
        for (size_t j = 0; j < k; j++) {
            uint64_t t0 = bench_now_ns();

            if (fns[j](clients[j], inflight, n[j]) != 0)
                return -1;
            rate[j][r] = (double)n[j] / ((double)(bench_now_ns() - t0) / 1e9);
        }
    for (size_t j = 0; j < k; j++) {
        qsort(rate[j], runs, sizeof(double), cmp_double);
        ret[j].ns_per_op = runs % 2 ? rate[j][runs / 2]
                                    : (rate[j][runs / 2 - 1] + rate[j][runs / 2]) / 2;
        ret[j].min_ns = rate[j][0];
        ret[j].max_ns = rate[j][runs - 1];
        ret[j].ops = n[j] * runs;
    }
    return 0;
}

/* ---- results ----------------------------------------------------------------------- */

/* (slowest - fastest) / median in %; for rates the min/max fields hold the
 * lowest and highest rate. */
static double spread(const bench_result *r)
{
    return r->ns_per_op > 0 ? (r->max_ns - r->min_ns) / r->ns_per_op * 100.0 : 0;
}

static void print_ratio(double v)
{
    if (v > 0)
        printf(" %8.2fx", v);
    else
        printf(" %9s", "-");
}

/* ---- allocations per call ---------------------------------------------------------- */


/* Allocations per 16-byte ping-pong call of a Parley row, in its server (all
 * threads) and in this process (all threads), in the steady state: after
 * the timed runs, the counts around ALLOC_CALLS more calls. */
static void count_allocs(const bench_impl *impl, bench_end *e, double *ret_server,
                         double *ret_client)
{
    long s0, s1;
    uint64_t c0, c1;

    *ret_server = *ret_client = -1;
    impl->set_size(e, 16);
    s0 = bench_server_allocs(&e->srv);
    bench_alloc_start();
    c0 = bench_alloc_count();
    for (unsigned i = 0; i < ALLOC_CALLS; i++)
        if (impl->pingpong(e->client) != 0) {
            bench_alloc_stop();
            return;
        }
    c1 = bench_alloc_count();
    bench_alloc_stop();
    s1 = bench_server_allocs(&e->srv);
    if (s0 >= 0 && s1 >= 0)
        *ret_server = (double)(s1 - s0) / ALLOC_CALLS;
    if (bench_alloc_available)
        *ret_client = (double)(c1 - c0) / ALLOC_CALLS;
}

/* ---- one transport -------------------------------------------------------------------- */

static int run_transport(const bench_config *cfg, const call_opts *o, int t, int server_cpu,
                         call_results *res)
{
    bench_end ends[N_ROWS];
    bool open[N_ROWS] = { false };
    uint8_t *bytes = calloc(1, (1u << 20) + 64);
    int status = BENCH_EXIT_FAILED;

    if (bytes == NULL)
        return BENCH_EXIT_FAILED;
    for (size_t i = 0; i < (1u << 20); i++)
        bytes[i] = (uint8_t)(i * 7 + 1);
    if (open_rows(o->rows, t + 1, server_cpu, bytes, ends, open) != 0)
        goto done;
    for (size_t z = 0; z < N_SIZES && sizes[z] <= o->max_size; z++) {
        bench_op_fn pp_ops[N_ROWS];
        void *pp_args[N_ROWS];
        bench_pipe_fn pl_fns[N_ROWS];
        void *pl_args[N_ROWS];
        bench_result pp[N_ROWS], pl[N_ROWS];
        size_t pp_row[N_ROWS], pl_row[N_ROWS], n_pp = 0, n_pl = 0;
        double raw_us = 0, bulk = 0, framed = 0;

        for (size_t i = 0; i < N_ROWS; i++) {
            const bench_impl *impl = bench_call_rows[i].impl;

            if (!open[i])
                continue;
            impl->set_size(&ends[i], sizes[z]);
            pp_row[n_pp] = i;
            pp_ops[n_pp] = impl->pingpong;
            pp_args[n_pp++] = ends[i].client;
            if (impl->pipelined != NULL) {
                pl_row[n_pl] = i;
                pl_fns[n_pl] = impl->pipelined;
                pl_args[n_pl++] = ends[i].client;
            }
        }
        if (bench_measure_interleaved(cfg, n_pp, pp_ops, pp_args, pp) != 0 ||
            measure_pipelined(cfg, n_pl, pl_fns, pl_args, o->inflight, pl) != 0)
            goto done;
        for (size_t j = 0; j < n_pp; j++)
            res->pp_us[t][z][pp_row[j]] = pp[j].ns_per_op / 1000.0;
        for (size_t j = 0; j < n_pl; j++)
            res->pl_rate[t][z][pl_row[j]] = pl[j].ns_per_op;
        raw_us = res->pp_us[t][z][ROW_RAW];
        bulk = res->pl_rate[t][z][ROW_RAW];
        framed = res->pl_rate[t][z][ROW_FRAMED];
        for (size_t i = 0, jp = 0, jl = 0; i < N_ROWS; i++) {
            double us = res->pp_us[t][z][i], rate = res->pl_rate[t][z][i];

            if (!(o->rows & (1u << i)))
                continue;
            printf("%-5s %8zu  %-12s", bench_call_transports[t], sizes[z],
                   bench_call_rows[i].name);
            if (!open[i]) {
                printf("  (%s)\n", bench_call_rows[i].missing);
                continue;
            }
            printf(" %10.1f %6.1f%%", us, spread(&pp[jp++]));
            print_ratio(raw_us > 0 ? us / raw_us : 0);
            if (rate > 0) {
                printf("  %11.0f %6.1f%%", rate, spread(&pl[jl++]));
                print_ratio(framed > 0 ? rate / framed : 0);
                print_ratio(bulk > 0 ? rate / bulk : 0);
            }
            printf("\n");
        }
        fflush(stdout);
    }
    for (size_t i = ROW_STUB; i <= ROW_CALL; i++)
        if (open[i])
            count_allocs(bench_call_rows[i].impl, &ends[i], &res->allocs_server[t][i],
                         &res->allocs_client[t][i]);
    status = BENCH_EXIT_OK;
done:
    close_rows(ends, open);
    free(bytes);
    return status;
}

/* ---- syscalls ------------------------------------------------------------- */

/* The internal mode run under strace: open one row, do n calls, close. */
static int count_child(const call_opts *o)
{
    int i = row_index(o->count_mode, strlen(o->count_mode));
    uint8_t *bytes = calloc(1, o->count_size + 64);
    bench_end ends[N_ROWS];
    bool open[N_ROWS] = { false };
    int rc = 1;

    if (i < 0 || bytes == NULL ||
        open_rows(1u << i, o->transports, -1, bytes, ends, open) != 0)
        goto done;
    bench_call_rows[i].impl->set_size(&ends[i], o->count_size);
    rc = 0;
    for (unsigned k = 0; k < o->count_n && rc == 0; k++)
        if (bench_call_rows[i].impl->pingpong(ends[i].client) != 0)
            rc = 1;
done:
    close_rows(ends, open);
    free(bytes);
    return rc;
}

/* Total syscalls of a strace'd run of the internal mode; -1 on failure. */
static long strace_total(const char *mode, const char *transport, size_t size, unsigned n)
{
    char out[128], spec[128], cmd[1024], line[256];
    long total = -1;
    FILE *f;

    snprintf(out, sizeof(out), "/tmp/parley-bench-strace-%d.txt", (int)getpid());
    snprintf(spec, sizeof(spec), "%s,%s,%zu,%u", mode, transport, size, n);
    snprintf(cmd, sizeof(cmd), "strace -f -c -o %s /proc/%d/exe call --count-syscalls-of %s "
             ">/dev/null 2>&1", out, (int)getpid(), spec);
    if (system(cmd) != 0)
        return -1;
    f = fopen(out, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        double pct, secs;
        long usecs, calls;

        if (strstr(line, "total") != NULL &&
            sscanf(line, "%lf %lf %ld %ld", &pct, &secs, &usecs, &calls) == 4)
            total = calls;
    }
    fclose(f);
    unlink(out);
    return total;
}


static void count_syscalls(const call_opts *o, call_results *res)
{
    for (int t = 0; t < 2; t++) {
        if (!(o->transports & (1 << t)))
            continue;
        for (size_t i = 0; i < N_ROWS; i++) {
            const char *row = bench_call_rows[i].name, *tn = bench_call_transports[t];
            long n0, n1;

            res->syscalls[t][i] = -1;
            if (!(o->rows & (1u << i)) || bench_call_rows[i].impl == NULL)
                continue;
            n0 = strace_total(row, tn, 16, 0);
            n1 = strace_total(row, tn, 16, SYSCALL_CALLS);
            if (n0 >= 0 && n1 >= 0)
                res->syscalls[t][i] = (double)(n1 - n0) / SYSCALL_CALLS;
        }
    }
}

/* ---- main --------------------------------------------------------------------- */

/* Another CPU of the allowed set (taken before pinning), or -1. */
static int other_cpu(const cpu_set_t *allowed, int cpu)
{
    for (int i = 1; i < CPU_SETSIZE; i++) {
        int c = (cpu + i) % CPU_SETSIZE;

        if (CPU_ISSET(c, allowed))
            return c;
    }
    return -1;
}

static void print_header(const bench_config *cfg, const call_opts *o, int cpu, int split_cpu)
{
    printf("parley-bench call: Parley calls beside raw, framed raw, ONC RPC and sd-bus echoes\n");
    bench_print_machine(stdout);
    printf("cpu: pinned to CPU %d", cpu);
    if (o->cpus & 1)
        printf(", servers on CPU %d (--cpus same)", cpu);
    if (o->cpus & 2)
        printf("%s servers on CPU %d (--cpus split)", o->cpus & 1 ? "; then" : ",", split_cpu);
    printf("\n");
    printf("call: echo of N payload bytes (%zu + N bytes on the wire each way for raw, "
           "raw-framed and Parley); median of %u runs of >= %.2f s, the rows of a payload "
           "interleaved\n",
           bench_echo_wire_bytes(0), cfg->runs, cfg->min_time);
    printf("rows:\n");
    for (size_t i = 0; i < N_ROWS; i++)
        if (o->rows & (1u << i))
            printf("  %-12s %s\n", bench_call_rows[i].name,
                   bench_call_rows[i].impl != NULL ? bench_call_rows[i].impl->what
                                                   : bench_call_rows[i].missing);
    printf("ping-pong: microseconds per call, vs raw = latency / raw's (lower is better);\n"
           "pipelined: calls per second with %u in flight on one connection, vs framed and\n"
           "vs bulk = rate / raw-framed's and / raw's bulk echo (higher is better)\n",
           o->inflight);
}

static void print_table_header(bool split, int server_cpu)
{
    printf("\n--cpus %s: servers on CPU %d\n", split ? "split" : "same", server_cpu);
    printf("%-5s %8s  %-12s %10s %7s %9s  %11s %7s %9s %9s\n", "", "bytes", "row", "us/call",
           "spread", "vs raw", "calls/s", "spread", "vs framed", "vs bulk");
}

int bench_call_main(int argc, char **argv)
{
    bench_config cfg;
    call_opts o;
    call_results *res;
    bool help = false;
    int cpu, split_cpu = -1, st, first = -1;
    cpu_set_t allowed;

    memset(&o, 0, sizeof(o));
    o.cpus = 1;
    o.transports = 3;
    o.inflight = 32;
    o.idle = 1000;
    o.rows = (1u << N_ROWS) - 1;
    o.max_size = SIZE_MAX;
    bench_config_init(&cfg);
    st = bench_parse_options(argc, argv, call_options, "", handle_opt, &o, &cfg, &help);
    if (st != 0)
        return st;
    if (help) {
        printf("Usage: parley-bench call [OPTION]...\n");
        bench_call_usage(stdout);
        printf("\nOptions for every command:\n");
        bench_common_usage(stdout);
        return BENCH_EXIT_OK;
    }
    signal(SIGPIPE, SIG_IGN);
    if (o.count_mode != NULL)
        return count_child(&o) == 0 ? BENCH_EXIT_OK : BENCH_EXIT_FAILED;
    /* The baselines the ratios need are always measured. */
    o.rows |= 1u << ROW_RAW;
    if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
        CPU_ZERO(&allowed);
    if (bench_pin_cpu(&cfg, &cpu) != 0)
        return BENCH_EXIT_FAILED;
    if (o.cpus & 2) {
        split_cpu = other_cpu(&allowed, cpu);
        if (split_cpu < 0) {
            fprintf(stderr, "parley-bench call: --cpus split needs a second allowed CPU\n");
            return BENCH_EXIT_FAILED;
        }
    }
    /* res[0]: servers on the client's CPU; res[1]: on split_cpu. */
    res = calloc(2, sizeof(*res));
    if (res == NULL)
        return BENCH_EXIT_FAILED;
    for (int p = 0; p < 2; p++)
        for (int t = 0; t < 2; t++)
            for (size_t i = 0; i < N_ROWS; i++)
                res[p].allocs_server[t][i] = res[p].allocs_client[t][i] =
                    res[p].syscalls[t][i] = -1;
    print_header(&cfg, &o, cpu, split_cpu);
    for (int p = 0; p < 2; p++) {
        int server_cpu = p == 0 ? cpu : split_cpu;

        if (!(o.cpus & (1u << p)))
            continue;
        if (first < 0)
            first = p;
        print_table_header(p == 1, server_cpu);
        for (int t = 0; t < 2; t++) {
            if (!(o.transports & (1 << t)))
                continue;
            st = run_transport(&cfg, &o, t, server_cpu, &res[p]);
            if (st != BENCH_EXIT_OK)
                goto done;
        }
    }
    /* Syscalls are counted once (strace'd runs, not pinned); allocations
     * are shown from the first placement measured. */
    if (o.syscalls)
        count_syscalls(&o, &res[first]);
    bench_call_print_counts(&o, &res[first]);
    for (int p = 0; p < 2; p++) {
        if (!(o.cpus & (1u << p)))
            continue;
        if (p != first)
            memcpy(res[p].syscalls, res[first].syscalls, sizeof(res[p].syscalls));
        bench_call_print_targets(&o, &res[p], p == 1);
    }
    st = BENCH_EXIT_OK;
    if (o.idle > 1 && bench_call_report_idle(o.idle, first == 0 ? cpu : split_cpu) != 0)
        st = BENCH_EXIT_FAILED;
done:
    free(res);
    return st;
}
