/*
 * parley-bench call: Parley calls beside a raw socket ping-pong of the same
 * bytes, in the same run, over unix and TCP sockets.
 *
 * Two server processes are forked per transport: a raw byte-echo server and
 * a Parley peer serving `echo` (non-blocking handler).  The client (this
 * process) measures, for payloads of 16 B, 1 KiB, 64 KiB and 1 MiB:
 *   - ping-pong latency: one request, wait for its reply, repeat;
 *   - pipelined throughput: --inflight requests (default 32) kept in flight
 *     on one connection / one session (asynchronous dispatch);
 * and prints each beside its raw figure and the ratio.  The raw client sends
 * exactly as many bytes per message as Parley puts on the wire (16-byte
 * header + encoded request).  Optionally it counts syscalls per call with
 * strace -c -f (--syscalls) and measures server memory per idle session
 * (--idle N sessions).
 *
 * The echo protocol is written by hand (tools/bench_call_ends.c: one method,
 * bytes in, bytes out) so that the benchmark does not depend on parley-idl.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <talloc.h>

#include "parley.h"
#include "bench.h"
#include "bench_call.h"

/* ---- options ---------------------------------------------------------------- */

typedef struct call_opts {
    bool split;          /* --cpus split: servers on another CPU */
    bool syscalls;       /* --syscalls */
    int transports;      /* 1 unix, 2 tcp, 3 both */
    unsigned inflight;
    unsigned idle;       /* sessions for the idle-memory figure, 0 = skip */
    /* internal: the strace child */
    const char *count_mode;
    size_t count_size;
    unsigned count_n;
} call_opts;

enum { OPT_CPUS = 1000, OPT_SYSCALLS, OPT_TRANSPORT, OPT_INFLIGHT, OPT_IDLE, OPT_COUNT };

static const struct option call_options[] = {
    { "cpus", required_argument, NULL, OPT_CPUS },
    { "syscalls", no_argument, NULL, OPT_SYSCALLS },
    { "transport", required_argument, NULL, OPT_TRANSPORT },
    { "inflight", required_argument, NULL, OPT_INFLIGHT },
    { "idle", required_argument, NULL, OPT_IDLE },
    { "count-syscalls-of", required_argument, NULL, OPT_COUNT },
    { NULL, 0, NULL, 0 },
};

static int handle_opt(int opt, const char *arg, void *data)
{
    call_opts *o = data;
    char *end;

    switch (opt) {
    case OPT_CPUS:
        if (strcmp(arg, "same") == 0)
            o->split = false;
        else if (strcmp(arg, "split") == 0)
            o->split = true;
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
    case OPT_COUNT: {
        /* MODE,TRANSPORT,SIZE,N (internal, used by --syscalls) */
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
    fputs("  Echo calls of 16 B, 1 KiB, 64 KiB and 1 MiB between a client peer and a\n"
          "  Parley server in another process, over unix and TCP loopback sockets,\n"
          "  each beside a raw socket echo of the same bytes in the same run:\n"
          "  ping-pong latency (one call at a time) and calls per second with\n"
          "  --inflight calls in flight on one session.  Ratios are Parley / raw.\n"
          "  The targets (latency at most 1.2x raw for small calls and 1.3x for\n"
          "  64 KiB and 1 MiB, pipelined at least 0.7x raw, at most 16 KiB of server\n"
          "  memory per idle session) are reported, never enforced.\n"
          "\n"
          "      --cpus=same|split  same: client and servers pinned to one CPU\n"
          "                         (default); split: servers on another CPU\n"
          "      --transport=unix|tcp|both   (default both)\n"
          "      --inflight=N       calls in flight in the pipelined test (default 32)\n"
          "      --idle=N           server memory per idle session with N sessions\n"
          "                         (default 1000; 0 skips)\n"
          "      --syscalls         also count syscalls per call (client and server\n"
          "                         together) with strace -c -f\n",
          out);
}

typedef int (*pipe_fn)(void *client, unsigned inflight, uint64_t n);

static int pipe_raw(void *c, unsigned inflight, uint64_t n)
{
    return bench_raw_pipelined(c, inflight, n);
}

static int pipe_parley(void *c, unsigned inflight, uint64_t n)
{
    return bench_parley_pipelined(c, inflight, n);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Size a run of fn to last about min_time: the number of calls. */
static int calibrate_pipelined(const bench_config *cfg, pipe_fn fn, void *client,
                               unsigned inflight, uint64_t *ret_n)
{
    uint64_t n = inflight * 4u;

    for (;;) {
        uint64_t t0 = bench_now_ns(), dt;

        if (fn(client, inflight, n) != 0)
            return -1;
        dt = bench_now_ns() - t0;
        if ((double)dt >= cfg->min_time * 1e9 / 4 || n > (1u << 26))
            break;
        n *= 2;
    }
    *ret_n = n * 4;
    return 0;
}

static double median(double *v, unsigned n)
{
    qsort(v, n, sizeof(v[0]), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Calls per second with `inflight` in flight, raw and Parley, their runs
 * interleaved (a burst of load elsewhere hits both): medians of cfg->runs. */
static int measure_pipelined(const bench_config *cfg, void *raw, void *par, unsigned inflight,
                             double *ret_raw, double *ret_par)
{
    double r_raw[BENCH_MAX_RUNS], r_par[BENCH_MAX_RUNS];
    uint64_t n_raw, n_par;
    unsigned runs = cfg->runs < BENCH_MAX_RUNS ? cfg->runs : BENCH_MAX_RUNS;

    if (calibrate_pipelined(cfg, pipe_raw, raw, inflight, &n_raw) != 0 ||
        calibrate_pipelined(cfg, pipe_parley, par, inflight, &n_par) != 0)
        return -1;
    for (unsigned r = 0; r < runs; r++) {
        uint64_t t0 = bench_now_ns();

        if (pipe_raw(raw, inflight, n_raw) != 0)
            return -1;
        r_raw[r] = (double)n_raw / ((double)(bench_now_ns() - t0) / 1e9);
        t0 = bench_now_ns();
        if (pipe_parley(par, inflight, n_par) != 0)
            return -1;
        r_par[r] = (double)n_par / ((double)(bench_now_ns() - t0) / 1e9);
    }
    *ret_raw = median(r_raw, runs);
    *ret_par = median(r_par, runs);
    return 0;
}

/* ---- syscalls ------------------------------------------------------------- */

/* The internal mode run under strace: start servers, do n calls, exit. */
static int count_child(const call_opts *o)
{
    char path[128], ep[300], pep[300];
    bench_server raw = { -1, -1 }, srv = { -1, -1 };
    TALLOC_CTX *mem = talloc_new(NULL);
    uint8_t *bytes = calloc(1, o->count_size + 32);
    int rc = 1;

    snprintf(path, sizeof(path), "/tmp/parley-bench-count-%d.sock", (int)getpid());
    if (strcmp(o->count_mode, "raw") == 0) {
        bench_raw_client c = { -1, bytes, bench_echo_wire_bytes(o->count_size) };

        if (bench_start_raw_server(o->transports, path, -1, &raw, ep, sizeof(ep)) != 0 ||
            (c.fd = bench_raw_connect(ep)) < 0)
            goto done;
        for (unsigned i = 0; i < o->count_n; i++)
            if (bench_raw_pingpong_op(&c) != 0)
                goto done;
        close(c.fd);
    } else {
        bench_parley_client c;

        memset(&c, 0, sizeof(c));
        snprintf(pep, sizeof(pep), o->transports == 1 ? "unix:%s" : "tcp:127.0.0.1:0", path);
        if (bench_start_parley_server(pep, -1, &srv, ep, sizeof(ep)) != 0 ||
            parley_peer_new(mem, &bench_echo_protocol, &c.peer) != PARLEY_OK ||
            parley_peer_set_workers(c.peer, 1) != PARLEY_OK ||
            parley_peer_add_connect_endpoint(c.peer, ep) != PARLEY_OK ||
            parley_peer_connect(c.peer, &c.session) != PARLEY_OK ||
            parley_session_acquire_call(c.session, &c.call) != PARLEY_OK)
            goto done;
        c.mem = mem;
        c.req.data.len = o->count_size;
        c.req.data.data = bytes;
        for (unsigned i = 0; i < o->count_n; i++)
            if (bench_parley_pingpong_op(&c) != 0)
                goto done;
        parley_call_release(c.call);
    }
    rc = 0;
done:
    talloc_free(mem);
    bench_stop_server(&srv);
    bench_stop_server(&raw);
    unlink(path);
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

static void report_syscalls(int transports)
{
    static const char *const names[] = { "unix", "tcp" };

    printf("\nsyscalls per 16-byte ping-pong call, client and server together "
           "(strace -c -f, 2000 calls minus 0 calls):\n");
    printf("  %-9s %10s %10s\n", "transport", "raw", "parley");
    for (int t = 0; t < 2; t++) {
        long r0, r1, p0, p1;

        if (!(transports & (1 << t)))
            continue;
        r0 = strace_total("raw", names[t], 16, 0);
        r1 = strace_total("raw", names[t], 16, 2000);
        p0 = strace_total("parley", names[t], 16, 0);
        p1 = strace_total("parley", names[t], 16, 2000);
        if (r0 < 0 || r1 < 0 || p0 < 0 || p1 < 0) {
            printf("  %-9s (strace failed or is not installed)\n", names[t]);
            continue;
        }
        printf("  %-9s %10.2f %10.2f\n", names[t], (double)(r1 - r0) / 2000.0,
               (double)(p1 - p0) / 2000.0);
    }
}

/* ---- idle sessions ---------------------------------------------------------- */

static int report_idle(unsigned n, int server_cpu)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    char path[128], ep[300], pep[300];
    bench_server srv = { -1, -1 };
    parley_peer *peer;
    parley_session *s;
    struct rlimit rl;
    long before, after;
    int rc = -1;

    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < (rlim_t)n + 64) {
        rl.rlim_cur = rl.rlim_max < (rlim_t)n + 64 ? rl.rlim_max : (rlim_t)n + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    snprintf(path, sizeof(path), "/tmp/parley-bench-idle-%d.sock", (int)getpid());
    snprintf(pep, sizeof(pep), "unix:%s", path);
    if (bench_start_parley_server(pep, server_cpu, &srv, ep, sizeof(ep)) != 0 ||
        parley_peer_new(mem, &bench_echo_protocol, &peer) != PARLEY_OK ||
        parley_peer_add_connect_endpoint(peer, ep) != PARLEY_OK)
        goto done;
    /* One session first, so that lazily made things (buffers, threads) exist. */
    if (parley_peer_connect(peer, &s) != PARLEY_OK)
        goto done;
    usleep(100000);
    before = bench_rss_kib(srv.pid);
    for (unsigned i = 1; i < n; i++) {
        if (parley_peer_connect(peer, &s) != PARLEY_OK) {
            fprintf(stderr, "parley-bench call: idle session %u: %s\n", i,
                    parley_error_message());
            goto done;
        }
    }
    usleep(200000);
    after = bench_rss_kib(srv.pid);
    printf("\nserver memory per idle session: %.1f KiB (%u unix sessions, server RSS "
           "%ld -> %ld KiB; target <= 16 KiB)\n",
           (double)(after - before) / (double)(n - 1), n, before, after);
    rc = 0;
done:
    if (rc != 0)
        fprintf(stderr, "parley-bench call: idle sessions: %s\n", parley_error_message());
    talloc_free(mem);
    bench_stop_server(&srv);
    unlink(path);
    return rc;
}

/* ---- main --------------------------------------------------------------------- */

static const size_t sizes[] = { 16, 1024, 64 * 1024, 1024 * 1024 };

/* Another CPU of the allowed set (taken before pinning), or -1. */
static int other_cpu(const cpu_set_t *allowed_set, int cpu)
{
    const cpu_set_t *allowed = allowed_set;

    for (int i = 1; i < CPU_SETSIZE; i++) {
        int c = (cpu + i) % CPU_SETSIZE;

        if (CPU_ISSET(c, allowed))
            return c;
    }
    return -1;
}

static int run_transport(const bench_config *cfg, const call_opts *o, int t, int server_cpu)
{
    static const char *const names[] = { "unix", "tcp" };
    char path[128], raw_ep[300], pep[300], par_ep[300];
    bench_server raw = { -1, -1 }, srv = { -1, -1 };
    TALLOC_CTX *mem = talloc_new(NULL);
    bench_parley_client pc;
    bench_raw_client rc = { -1, NULL, 0 };
    uint8_t *bytes = calloc(1, (1u << 20) + 64);
    int status = BENCH_EXIT_FAILED;

    memset(&pc, 0, sizeof(pc));
    snprintf(path, sizeof(path), "/tmp/parley-bench-raw-%d.sock", (int)getpid());
    if (bench_start_raw_server(t + 1, path, server_cpu, &raw, raw_ep, sizeof(raw_ep)) != 0)
        goto done;
    snprintf(path, sizeof(path), "/tmp/parley-bench-parley-%d.sock", (int)getpid());
    snprintf(pep, sizeof(pep), t == 0 ? "unix:%s" : "tcp:127.0.0.1:0", path);
    if (bench_start_parley_server(pep, server_cpu, &srv, par_ep, sizeof(par_ep)) != 0)
        goto done;
    rc.fd = bench_raw_connect(raw_ep);
    rc.buf = bytes;
    if (rc.fd < 0 ||
        parley_peer_new(mem, &bench_echo_protocol, &pc.peer) != PARLEY_OK ||
        parley_peer_set_workers(pc.peer, 1) != PARLEY_OK ||
        parley_peer_add_connect_endpoint(pc.peer, par_ep) != PARLEY_OK ||
        parley_peer_connect(pc.peer, &pc.session) != PARLEY_OK ||
        parley_session_acquire_call(pc.session, &pc.call) != PARLEY_OK) {
        fprintf(stderr, "parley-bench call: client setup: %s\n", parley_error_message());
        goto done;
    }
    pc.mem = mem;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        static const bench_op_fn ops[2] = { bench_raw_pingpong_op, bench_parley_pingpong_op };
        void *const args[2] = { &rc, &pc };
        bench_result res[2], r_raw, r_par;
        double p_raw = 0, p_par = 0;

        rc.msg = bench_echo_wire_bytes(sizes[i]);
        pc.req.data.len = sizes[i];
        pc.req.data.data = bytes;
        if (bench_measure_interleaved(cfg, 2, ops, args, res) != 0 ||
            measure_pipelined(cfg, &rc, &pc, o->inflight, &p_raw, &p_par) != 0)
            goto done;
        r_raw = res[0];
        r_par = res[1];
        printf("%-5s %8zu %10.1f %10.1f %6.2fx   %11.0f %11.0f %6.2fx\n", names[t], sizes[i],
               r_raw.ns_per_op / 1000.0, r_par.ns_per_op / 1000.0,
               r_par.ns_per_op / r_raw.ns_per_op, p_raw, p_par, p_par / p_raw);
        fflush(stdout);
    }
    status = BENCH_EXIT_OK;
done:
    if (pc.call != NULL)
        parley_call_release(pc.call);
    talloc_free(mem);
    if (rc.fd >= 0)
        close(rc.fd);
    bench_stop_server(&srv);
    bench_stop_server(&raw);
    snprintf(path, sizeof(path), "/tmp/parley-bench-raw-%d.sock", (int)getpid());
    unlink(path);
    free(bytes);
    return status;
}

int bench_call_main(int argc, char **argv)
{
    bench_config cfg;
    call_opts o;
    bool help = false;
    int cpu, server_cpu, st;
    cpu_set_t allowed;

    bench_echo_methods[0].fingerprint =
        parley_method_fingerprint(&bench_echo_type, &bench_echo_type);
    memset(&o, 0, sizeof(o));
    o.transports = 3;
    o.inflight = 32;
    o.idle = 1000;
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
    if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
        CPU_ZERO(&allowed);
    if (bench_pin_cpu(&cfg, &cpu) != 0)
        return BENCH_EXIT_FAILED;
    server_cpu = o.split ? other_cpu(&allowed, cpu) : cpu;
    if (server_cpu < 0) {
        fprintf(stderr, "parley-bench call: --cpus split needs a second allowed CPU\n");
        return BENCH_EXIT_FAILED;
    }
    printf("parley-bench call: Parley calls beside a raw socket echo\n");
    bench_print_machine(stdout);
    printf("cpu: pinned to CPU %d, servers on CPU %d (--cpus %s)\n", cpu, server_cpu,
           o.split ? "split" : "same");
    printf("call: echo of N payload bytes (%zu + N bytes on the wire each way); "
           "median of %u runs of >= %.2f s, raw and Parley runs interleaved\n",
           bench_echo_wire_bytes(0), cfg.runs, cfg.min_time);
    printf("ping-pong: microseconds per call; pipelined: calls per second with %u in flight\n\n",
           o.inflight);
    printf("%-5s %8s %10s %10s %7s   %11s %11s %7s\n", "", "bytes", "raw us", "parley us",
           "ratio", "raw/s", "parley/s", "ratio");
    for (int t = 0; t < 2; t++) {
        if (!(o.transports & (1 << t)))
            continue;
        st = run_transport(&cfg, &o, t, server_cpu);
        if (st != BENCH_EXIT_OK)
            return st;
    }
    printf("\ntargets: latency ratio <= 1.2 (16 B, 1 KiB) and <= 1.3 (64 KiB, 1 MiB); "
           "pipelined ratio >= 0.7\n");
    if (o.syscalls)
        report_syscalls(o.transports);
    if (o.idle > 1 && report_idle(o.idle, server_cpu) != 0)
        return BENCH_EXIT_FAILED;
    return BENCH_EXIT_OK;
}
