/* SPDX-License-Identifier: MIT */
/*
 * parley-bench names: the name service (doc/names.md).  Starts its own
 * parleyd on a socket in a temporary directory and measures
 *   - register + unregister of a name (parley_peer_register_name and
 *     parley_peer_unregister_name: two round trips to parleyd),
 *   - resolve over an open session (the parley_names stub),
 *   - a connect + close by `name:` against the same by the unix endpoint,
 *     each by one long-lived client peer (its names session to parleyd is
 *     kept: a resolve more than a direct connect) and by a fresh peer each
 *     time (the peer's first `name:` connect also connects to parleyd).
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <talloc.h>

#include "bench.h"
#include "parley.h"
#include "parley_names.h"

static const parley_protocol svc_protocol = {
    PARLEY_ABI_VERSION, "bench_svc", 1, NULL, 0, NULL, 0, NULL, 0, NULL, NULL,
};

static const char *parleyd_path;

static const struct option own_options[] = {
    { "parleyd", required_argument, NULL, 'P' },
    { NULL, 0, NULL, 0 },
};

void bench_names_usage(FILE *out)
{
    fprintf(out,
            "  Registrations and resolves per second through a parleyd of its own,\n"
            "  and the cost of a name: connect beside a direct one (unix sockets).\n"
            "  --parleyd PATH   the parleyd to start (default: $PARLEYD, else\n"
            "                   the build tree's daemon/parleyd, else parleyd on PATH)\n");
}

static int handle_own(int opt, const char *arg, void *data)
{
    (void)data;
    if (opt == 'P') {
        parleyd_path = arg;
        return 0;
    }
    return BENCH_EXIT_USAGE;
}

typedef struct ctx {
    TALLOC_CTX *mem;
    parley_peer *svc;
    parley_session *names;
    parley_peer *by_path;     /* long-lived clients */
    parley_peer *by_name;
    char direct[300];
} ctx;

static int op_register(void *arg)
{
    ctx *c = arg;

    if (parley_peer_register_name(c->svc, "bench-tmp", 0) != PARLEY_OK ||
        parley_peer_unregister_name(c->svc, "bench-tmp") != PARLEY_OK) {
        fprintf(stderr, "parley-bench names: %s\n", parley_error_message());
        return -1;
    }
    return 0;
}

static int op_resolve(void *arg)
{
    ctx *c = arg;
    TALLOC_CTX *tmp = talloc_new(NULL);
    parley_names_resolve_request in = { (char *)"bench" };
    parley_names_resolve_reply *out;
    parley_status st = parley_names_resolve(c->names, &in, tmp, &out);

    if (st == PARLEY_OK)
        bench_sink += out->e.reg.n_endpoints;
    talloc_free(tmp);
    if (st != PARLEY_OK) {
        fprintf(stderr, "parley-bench names: resolve: %s\n", parley_error_message());
        return -1;
    }
    return 0;
}

static int connect_once(const char *endpoint)
{
    parley_peer *peer;
    parley_session *s;
    parley_status st = parley_peer_new(NULL, &svc_protocol, &peer);

    if (st == PARLEY_OK && (st = parley_peer_set_workers(peer, 1)) == PARLEY_OK &&
        (st = parley_peer_add_connect_endpoint(peer, endpoint)) == PARLEY_OK)
        st = parley_peer_connect(peer, &s);
    talloc_free(peer);
    if (st != PARLEY_OK) {
        fprintf(stderr, "parley-bench names: connect %s: %s\n", endpoint, parley_error_message());
        return -1;
    }
    return 0;
}

static int op_connect_direct(void *arg)
{
    return connect_once(((ctx *)arg)->direct);
}

static int op_connect_name(void *arg)
{
    (void)arg;
    return connect_once("name:bench");
}

static int op_connect_direct_kept(void *arg)
{
    ctx *c = arg;
    parley_session *s;

    if (parley_peer_connect_endpoint(c->by_path, c->direct, &s) != PARLEY_OK) {
        fprintf(stderr, "parley-bench names: connect %s: %s\n", c->direct,
                parley_error_message());
        return -1;
    }
    parley_session_close(s);
    return 0;
}

static int op_connect_name_kept(void *arg)
{
    ctx *c = arg;
    parley_session *s;

    if (parley_peer_connect(c->by_name, &s) != PARLEY_OK) {
        fprintf(stderr, "parley-bench names: connect name:bench: %s\n", parley_error_message());
        return -1;
    }
    parley_session_close(s);
    return 0;
}

static pid_t start_parleyd(const char *path, const char *endpoint)
{
    int out[2];
    pid_t pid;
    char line[300];
    size_t n = 0;

    if (pipe(out) != 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, 2);
        execlp(path, "parleyd", "-c", "/dev/null", "-l", endpoint, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    while (pid > 0 && n + 1 < sizeof(line)) {
        struct pollfd p = { out[0], POLLIN, 0 };

        if (poll(&p, 1, 10000) <= 0 || read(out[0], &line[n], 1) != 1) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            pid = -1;
            break;
        }
        if (line[n++] == '\n')
            break;
    }
    close(out[0]);
    return pid;
}

int bench_names_main(int argc, char **argv)
{
    bench_config cfg;
    bool help = false;
    char dir[] = "/tmp/parley-bench-names.XXXXXX", names_ep[200], self[512], guess[600];
    ctx c = { 0 };
    pid_t daemon = -1;
    parley_peer *np = NULL;
    bench_result r[6];
    int rc = BENCH_EXIT_FAILED, cpu;
    ssize_t len;

    bench_config_init(&cfg);
    rc = bench_parse_options(argc, argv, own_options, "", handle_own, NULL, &cfg, &help);
    if (rc != 0 || help) {
        if (help)
            bench_names_usage(stdout);
        return rc;
    }
    rc = BENCH_EXIT_FAILED;
    if (parleyd_path == NULL)
        parleyd_path = getenv("PARLEYD");
    if (parleyd_path == NULL && (len = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
        self[len] = '\0';
        *strrchr(self, '/') = '\0';
        /* the build tree: tools/parley-bench, or libtool's tools/.libs/ */
        snprintf(guess, sizeof(guess), "%s/../daemon/parleyd", self);
        if (access(guess, X_OK) != 0)
            snprintf(guess, sizeof(guess), "%s/../../daemon/parleyd", self);
        if (access(guess, X_OK) == 0)
            parleyd_path = guess;
    }
    if (parleyd_path == NULL)
        parleyd_path = "parleyd";
    if (mkdtemp(dir) == NULL || bench_pin_cpu(&cfg, &cpu) != 0)
        return BENCH_EXIT_FAILED;
    signal(SIGPIPE, SIG_IGN);
    snprintf(names_ep, sizeof(names_ep), "unix:%s/names.sock", dir);
    setenv("PARLEY_NAMES", names_ep, 1);
    daemon = start_parleyd(parleyd_path, names_ep);
    if (daemon < 0) {
        fprintf(stderr, "parley-bench names: cannot start %s (--parleyd PATH)\n", parleyd_path);
        goto done;
    }
    c.mem = talloc_new(NULL);
    snprintf(c.direct, sizeof(c.direct), "unix:%s/svc.sock", dir);
    if (parley_peer_new(c.mem, &svc_protocol, &c.svc) != PARLEY_OK ||
        parley_peer_add_listen_endpoint(c.svc, c.direct, 0) != PARLEY_OK ||
        parley_peer_start_listen(c.svc) != PARLEY_OK ||
        parley_peer_register_name(c.svc, "bench", 0) != PARLEY_OK ||
        parley_peer_new(c.mem, &parley_names_protocol, &np) != PARLEY_OK ||
        parley_peer_add_connect_endpoint(np, names_ep) != PARLEY_OK ||
        parley_peer_connect(np, &c.names) != PARLEY_OK ||
        parley_peer_new(c.mem, &svc_protocol, &c.by_path) != PARLEY_OK ||
        parley_peer_set_workers(c.by_path, 1) != PARLEY_OK ||
        parley_peer_new(c.mem, &svc_protocol, &c.by_name) != PARLEY_OK ||
        parley_peer_set_workers(c.by_name, 1) != PARLEY_OK ||
        parley_peer_add_connect_endpoint(c.by_name, "name:bench") != PARLEY_OK) {
        fprintf(stderr, "parley-bench names: %s\n", parley_error_message());
        goto done;
    }
    bench_print_machine(stdout);
    printf("cpu: pinned to CPU %d; parleyd: %s on %s\n", cpu, parleyd_path, names_ep);
    if (bench_measure(&cfg, op_register, &c, &r[0]) != 0 ||
        bench_measure(&cfg, op_resolve, &c, &r[1]) != 0) {
        goto done;
    }
    {
        const bench_op_fn ops[4] = { op_connect_direct_kept, op_connect_name_kept,
                                     op_connect_direct, op_connect_name };
        void *const args[4] = { &c, &c, &c, &c };

        if (bench_measure_interleaved(&cfg, 4, ops, args, &r[2]) != 0)
            goto done;
    }
    printf("%-34s %12s %12s\n", "operation", "us/op", "per second");
    printf("%-34s %12.1f %12.0f\n", "register + unregister", r[0].ns_per_op / 1e3,
           1e9 / r[0].ns_per_op);
    printf("%-34s %12.1f %12.0f\n", "resolve (open session)", r[1].ns_per_op / 1e3,
           1e9 / r[1].ns_per_op);
    printf("%-34s %12.1f %12.0f\n", "connect+close unix:PATH", r[2].ns_per_op / 1e3,
           1e9 / r[2].ns_per_op);
    printf("%-34s %12.1f %12.0f\n", "connect+close name:bench", r[3].ns_per_op / 1e3,
           1e9 / r[3].ns_per_op);
    printf("%-34s %12.1f %12.0f\n", "new peer+connect unix:PATH", r[4].ns_per_op / 1e3,
           1e9 / r[4].ns_per_op);
    printf("%-34s %12.1f %12.0f\n", "new peer+connect name:bench", r[5].ns_per_op / 1e3,
           1e9 / r[5].ns_per_op);
    printf("name: connect costs %.2fx a direct one (%.2fx with a new peer each time)\n",
           r[3].ns_per_op / r[2].ns_per_op, r[5].ns_per_op / r[4].ns_per_op);
    rc = BENCH_EXIT_OK;
done:
    talloc_free(c.mem);
    if (daemon > 0) {
        kill(daemon, SIGTERM);
        waitpid(daemon, NULL, 0);
    }
    snprintf(guess, sizeof(guess), "%s/names.sock", dir);
    unlink(guess);
    snprintf(guess, sizeof(guess), "%s/svc.sock", dir);
    unlink(guess);
    rmdir(dir);
    return rc;
}
