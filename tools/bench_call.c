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
 * The echo protocol is written by hand here (one method, bytes in, bytes
 * out) so that the benchmark does not depend on parley-idl.
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

/* ---- the echo protocol ----------------------------------------------------- */

typedef struct echo_msg {
    parley_bytes data;
} echo_msg;

static const parley_type echo_data_type = PARLEY_BYTES_TYPE("data", 0);
static const parley_field echo_fields[] = {
    { "data", offsetof(echo_msg, data), &echo_data_type, 0 },
};
static const parley_type echo_type = PARLEY_STRUCT_TYPE(echo_msg, echo_fields);
static parley_method echo_methods[] = {
    { 1, "echo", "bench", &echo_type, &echo_type, 0, 0 },
};
static const char *const echo_interfaces[] = { "bench" };
static const parley_protocol echo_protocol = {
    "bench_echo", 1, echo_methods, 1, echo_interfaces, 1, NULL, 0,
};

/* Bytes Parley puts on the wire for one echo message of n payload bytes. */
static size_t wire_bytes(size_t n)
{
    return 16 + 4 + n;
}

static parley_status echo_handler(parley_call *call, const void *in, void *out, void *data)
{
    const echo_msg *req = in;
    echo_msg *rep = out;

    (void)call;
    (void)data;
    rep->data.len = req->data.len;
    /* The request lives until the reply is sent: no copy needed. */
    rep->data.data = req->data.data;
    return PARLEY_OK;
}

/* ---- options ---------------------------------------------------------------- */

typedef struct call_opts {
    bool split;          /* --cpus split: server on another CPU */
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
    fprintf(out,
            "Options for 'call':\n"
            "      --cpus same|split  same: client and servers pinned to one CPU (default);\n"
            "                         split: servers on another CPU\n"
            "      --transport unix|tcp|both   (default both)\n"
            "      --inflight N       calls in flight in the pipelined test (default 32)\n"
            "      --idle N           measure server memory per idle session with N\n"
            "                         sessions (default 1000; 0 skips)\n"
            "      --syscalls         also count syscalls per call (client and server\n"
            "                         together) with strace -c -f\n");
}

/* ---- servers ---------------------------------------------------------------- */

typedef struct server {
    pid_t pid;
    int stdin_fd;   /* closing it ends a Parley server */
} server;

static int pin_to(int cpu)
{
    cpu_set_t one;

    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    return sched_setaffinity(0, sizeof(one), &one);
}

/* Raw byte echo: one connection at a time, every byte sent back. */
static void raw_server_main(int lfd)
{
    size_t cap = 2u << 20;
    uint8_t *buf = malloc(cap);

    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        int one = 1;

        if (fd < 0)
            _exit(errno == EINTR ? 0 : 1);
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        for (;;) {
            ssize_t n = read(fd, buf, cap), off = 0;

            if (n <= 0)
                break;
            while (off < n) {
                ssize_t w = write(fd, buf + off, (size_t)(n - off));

                if (w <= 0)
                    break;
                off += w;
            }
        }
        close(fd);
    }
}

static int listen_socket(int transport, const char *path, char *ret_endpoint, size_t cap)
{
    int fd;

    if (transport == 1) {
        struct sockaddr_un sun;

        memset(&sun, 0, sizeof(sun));
        sun.sun_family = AF_UNIX;
        snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
        unlink(path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 16) < 0)
            return -1;
        snprintf(ret_endpoint, cap, "unix:%s", path);
    } else {
        struct sockaddr_in sin;
        socklen_t sl = sizeof(sin);

        memset(&sin, 0, sizeof(sin));
        sin.sin_family = AF_INET;
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 16) < 0 ||
            getsockname(fd, (struct sockaddr *)&sin, &sl) < 0)
            return -1;
        snprintf(ret_endpoint, cap, "tcp:127.0.0.1:%u", ntohs(sin.sin_port));
    }
    return fd;
}

static int start_raw_server(int transport, const char *path, int cpu, server *s,
                            char *ret_endpoint, size_t cap)
{
    int lfd = listen_socket(transport, path, ret_endpoint, cap);

    if (lfd < 0) {
        fprintf(stderr, "parley-bench call: raw listen: %s\n", strerror(errno));
        return -1;
    }
    s->stdin_fd = -1;
    s->pid = fork();
    if (s->pid == 0) {
        if (cpu >= 0)
            pin_to(cpu);
        raw_server_main(lfd);
        _exit(0);
    }
    close(lfd);
    return s->pid > 0 ? 0 : -1;
}

static int start_parley_server(const char *endpoint, int cpu, server *s, char *ret_endpoint,
                               size_t cap)
{
    int in[2], out[2];
    char line[300];
    ssize_t n;

    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
        return -1;
    s->pid = fork();
    if (s->pid == 0) {
        TALLOC_CTX *mem = talloc_new(NULL);
        parley_peer *peer;
        static const parley_dispatch table[] = { { 1, echo_handler, PARLEY_NONBLOCKING } };
        char *bound = NULL, c;

        close(in[1]);
        close(out[0]);
        if (cpu >= 0)
            pin_to(cpu);
        if (parley_peer_new(mem, &echo_protocol, &peer) != PARLEY_OK ||
            parley_peer_set_workers(peer, 1) != PARLEY_OK ||
            parley_peer_add_dispatch(peer, table, 1, NULL) != PARLEY_OK ||
            parley_peer_add_listen_endpoint(peer, endpoint, 0600) != PARLEY_OK ||
            parley_peer_start_listen(peer) != PARLEY_OK ||
            parley_peer_get_listen_endpoint(peer, 0, mem, &bound) != PARLEY_OK) {
            fprintf(stderr, "parley-bench call: server: %s\n", parley_error_message());
            _exit(1);
        }
        dprintf(out[1], "%s\n", bound);
        while (read(in[0], &c, 1) > 0)
            ;
        talloc_free(mem);
        _exit(0);
    }
    close(in[0]);
    close(out[1]);
    s->stdin_fd = in[1];
    n = read(out[0], line, sizeof(line) - 1);
    close(out[0]);
    if (s->pid < 0 || n <= 0)
        return -1;
    line[n] = '\0';
    line[strcspn(line, "\n")] = '\0';
    snprintf(ret_endpoint, cap, "%s", line);
    return 0;
}

static void stop_server(server *s)
{
    if (s->pid <= 0)
        return;
    if (s->stdin_fd >= 0)
        close(s->stdin_fd);
    else
        kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
    s->pid = -1;
}

static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    long kib = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* ---- the raw client --------------------------------------------------------- */

/* Messages up to this size are written, then read, with blocking calls. */
#define RAW_BLOCKING_MAX (64u * 1024u + 64u)

typedef struct raw_client {
    int fd;
    uint8_t *buf;
    size_t msg;
} raw_client;

static int raw_connect(const char *endpoint)
{
    int fd, one = 1;

    if (strncmp(endpoint, "unix:", 5) == 0) {
        struct sockaddr_un sun;

        memset(&sun, 0, sizeof(sun));
        sun.sun_family = AF_UNIX;
        snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", endpoint + 5);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
            return -1;
    } else {
        struct sockaddr_in sin;

        memset(&sin, 0, sizeof(sin));
        sin.sin_family = AF_INET;
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sin.sin_port = htons((uint16_t)atoi(strrchr(endpoint, ':') + 1));
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
            return -1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    return fd;
}

/* n messages with up to inflight outstanding; returns 0 or -1.  Messages
 * are written back to back (as many as may be in flight, in one send) and
 * the echo is read in large chunks, so that the raw side does the least
 * work per message. */
static int raw_pipelined(raw_client *c, unsigned inflight, uint64_t n)
{
    uint64_t sent_bytes = 0, recv_bytes = 0, total = n * c->msg;
    size_t per = c->msg, k = inflight, wcap, rcap;
    uint8_t *wbuf, *rbuf;
    int rc = -1;

    if (k * per > (4u << 20))
        k = (4u << 20) / per > 0 ? (4u << 20) / per : 1;
    wcap = k * per;
    rcap = wcap > (1u << 16) ? wcap : (1u << 16);
    wbuf = malloc(wcap);
    rbuf = malloc(rcap);
    if (wbuf == NULL || rbuf == NULL)
        goto done;
    for (size_t i = 0; i < k; i++)
        memcpy(wbuf + i * per, c->buf, per);
    while (recv_bytes < total) {
        struct pollfd p = { c->fd, POLLIN, 0 };
        uint64_t room = (uint64_t)inflight * per - (sent_bytes - recv_bytes);

        if (sent_bytes < total && room > 0)
            p.events |= POLLOUT;
        if (poll(&p, 1, 5000) <= 0)
            goto done;
        if (p.revents & POLLOUT) {
            size_t off = (size_t)(sent_bytes % per);
            uint64_t want = total - sent_bytes < room ? total - sent_bytes : room;
            size_t len = want < wcap - off ? (size_t)want : wcap - off;
            ssize_t w = send(c->fd, wbuf + off, len, MSG_DONTWAIT);

            if (w < 0 && errno != EAGAIN)
                goto done;
            if (w > 0)
                sent_bytes += (uint64_t)w;
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = recv(c->fd, rbuf, rcap, MSG_DONTWAIT);

            if (r == 0 || (r < 0 && errno != EAGAIN))
                goto done;
            if (r > 0)
                recv_bytes += (uint64_t)r;
        }
    }
    bench_sink += rbuf[0];
    rc = 0;
done:
    free(wbuf);
    free(rbuf);
    return rc;
}

/* One message and its echo.  Written and read together (poll), so that a
 * message larger than the socket buffers cannot deadlock with the server. */
static int raw_pingpong_op(void *arg)
{
    raw_client *c = arg;
    size_t off = 0;

    if (c->msg > RAW_BLOCKING_MAX)
        return raw_pipelined(c, 1, 1);
    /* Small enough for the socket buffers: plain blocking write, then read. */
    while (off < c->msg) {
        ssize_t w = write(c->fd, c->buf + off, c->msg - off);

        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    off = 0;
    while (off < c->msg) {
        ssize_t r = read(c->fd, c->buf + off, c->msg - off);

        if (r <= 0)
            return -1;
        off += (size_t)r;
    }
    bench_sink += c->buf[0];
    return 0;
}

/* ---- the Parley client ------------------------------------------------------ */

typedef struct parley_client {
    parley_peer *peer;
    parley_session *session;
    parley_call *call;
    echo_msg req;
    TALLOC_CTX *mem;
} parley_client;

static int parley_pingpong_op(void *arg)
{
    parley_client *c = arg;
    echo_msg *rep = NULL;

    if (parley_call_dispatch(c->call, 1, &c->req, c->mem, &rep, NULL, NULL) != PARLEY_OK) {
        fprintf(stderr, "parley-bench call: echo: %s\n", parley_error_message());
        return -1;
    }
    if (rep->data.len != c->req.data.len) {
        fprintf(stderr, "parley-bench call: echo returned %zu bytes, not %zu\n",
                rep->data.len, c->req.data.len);
        return -1;
    }
    bench_sink += rep->data.len > 0 ? rep->data.data[0] : 0;
    talloc_free(rep);
    return 0;
}

typedef struct pipe_state {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint64_t started, done, target;
    int failed;
    echo_msg *req;
    echo_msg **reps;
    TALLOC_CTX *mem;
} pipe_state;

typedef struct pipe_slot {
    pipe_state *st;
    unsigned i;
} pipe_slot;

static void pipe_done(parley_call *call, parley_status status, void *data)
{
    pipe_slot *slot = data;
    pipe_state *st = slot->st;
    bool again;

    if (status == PARLEY_OK) {
        bench_sink += st->reps[slot->i]->data.len;
        TALLOC_FREE(st->reps[slot->i]);
    }
    pthread_mutex_lock(&st->lock);
    st->done++;
    if (status != PARLEY_OK)
        st->failed = 1;
    again = !st->failed && st->started < st->target;
    if (again)
        st->started++;
    else if (st->done == st->started)
        pthread_cond_signal(&st->cond);   /* only the last one wakes the waiter */
    pthread_mutex_unlock(&st->lock);
    if (again && parley_call_dispatch(call, 1, st->req, st->mem, &st->reps[slot->i], pipe_done,
                                      slot) != PARLEY_PENDING) {
        pthread_mutex_lock(&st->lock);
        st->failed = 1;
        st->done++;
        pthread_cond_signal(&st->cond);
        pthread_mutex_unlock(&st->lock);
    }
}

static int parley_pipelined(parley_client *c, unsigned inflight, uint64_t n)
{
    pipe_state st;
    parley_call **calls = calloc(inflight, sizeof(*calls));
    pipe_slot *slots = calloc(inflight, sizeof(*slots));
    unsigned started = 0;
    int rc = -1;

    memset(&st, 0, sizeof(st));
    pthread_mutex_init(&st.lock, NULL);
    pthread_cond_init(&st.cond, NULL);
    st.target = n;
    st.req = &c->req;
    st.mem = c->mem;
    st.reps = calloc(inflight, sizeof(*st.reps));
    if (calls == NULL || slots == NULL || st.reps == NULL)
        goto done;
    pthread_mutex_lock(&st.lock);
    for (unsigned i = 0; i < inflight && st.started < n; i++) {
        if (parley_session_acquire_call(c->session, &calls[i]) != PARLEY_OK)
            break;
        slots[i].st = &st;
        slots[i].i = i;
        st.started++;
        started++;
    }
    pthread_mutex_unlock(&st.lock);
    for (unsigned i = 0; i < started; i++)
        if (parley_call_dispatch(calls[i], 1, &c->req, c->mem, &st.reps[i], pipe_done,
                                 &slots[i]) != PARLEY_PENDING) {
            pthread_mutex_lock(&st.lock);
            st.failed = 1;
            st.done++;
            pthread_mutex_unlock(&st.lock);
        }
    pthread_mutex_lock(&st.lock);
    while (st.done < st.started)
        pthread_cond_wait(&st.cond, &st.lock);
    rc = st.failed ? -1 : 0;
    pthread_mutex_unlock(&st.lock);
done:
    for (unsigned i = 0; i < inflight; i++)
        if (calls != NULL && calls[i] != NULL)
            parley_call_release(calls[i]);
    free(calls);
    free(slots);
    free(st.reps);
    pthread_cond_destroy(&st.cond);
    pthread_mutex_destroy(&st.lock);
    if (rc != 0)
        fprintf(stderr, "parley-bench call: pipelined echo failed: %s\n", parley_error_message());
    return rc;
}

/* Calls per second with --inflight in flight: the median over cfg->runs
 * runs of about cfg->min_time each. */
typedef int (*pipe_fn)(void *client, unsigned inflight, uint64_t n);

static int pipe_raw(void *c, unsigned inflight, uint64_t n)
{
    return raw_pipelined(c, inflight, n);
}

static int pipe_parley(void *c, unsigned inflight, uint64_t n)
{
    return parley_pipelined(c, inflight, n);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static int measure_pipelined(const bench_config *cfg, pipe_fn fn, void *client,
                             unsigned inflight, double *ret_per_s)
{
    double rates[64];
    uint64_t n = inflight * 4u;
    unsigned runs = cfg->runs < 64 ? cfg->runs : 64;

    /* Warm up and size a run to last about min_time. */
    for (;;) {
        uint64_t t0 = bench_now_ns(), dt;

        if (fn(client, inflight, n) != 0)
            return -1;
        dt = bench_now_ns() - t0;
        if ((double)dt >= cfg->min_time * 1e9 / 4 || n > (1u << 26))
            break;
        n *= 2;
    }
    n *= 4;
    for (unsigned r = 0; r < runs; r++) {
        uint64_t t0 = bench_now_ns();

        if (fn(client, inflight, n) != 0)
            return -1;
        rates[r] = (double)n / ((double)(bench_now_ns() - t0) / 1e9);
    }
    qsort(rates, runs, sizeof(rates[0]), cmp_double);
    *ret_per_s = runs % 2 ? rates[runs / 2] : (rates[runs / 2 - 1] + rates[runs / 2]) / 2;
    return 0;
}

/* ---- syscalls ------------------------------------------------------------- */

/* The internal mode run under strace: start servers, do n calls, exit. */
static int count_child(const call_opts *o)
{
    char path[128], ep[300], pep[300];
    server raw = { -1, -1 }, srv = { -1, -1 };
    TALLOC_CTX *mem = talloc_new(NULL);
    uint8_t *bytes = calloc(1, o->count_size + 32);
    int rc = 1;

    snprintf(path, sizeof(path), "/tmp/parley-bench-count-%d.sock", (int)getpid());
    if (strcmp(o->count_mode, "raw") == 0) {
        raw_client c = { -1, bytes, wire_bytes(o->count_size) };

        if (start_raw_server(o->transports, path, -1, &raw, ep, sizeof(ep)) != 0 ||
            (c.fd = raw_connect(ep)) < 0)
            goto done;
        for (unsigned i = 0; i < o->count_n; i++)
            if (raw_pingpong_op(&c) != 0)
                goto done;
        close(c.fd);
    } else {
        parley_client c;

        memset(&c, 0, sizeof(c));
        snprintf(pep, sizeof(pep), o->transports == 1 ? "unix:%s" : "tcp:127.0.0.1:0", path);
        if (start_parley_server(pep, -1, &srv, ep, sizeof(ep)) != 0 ||
            parley_peer_new(mem, &echo_protocol, &c.peer) != PARLEY_OK ||
            parley_peer_set_workers(c.peer, 1) != PARLEY_OK ||
            parley_peer_add_connect_endpoint(c.peer, ep) != PARLEY_OK ||
            parley_peer_connect(c.peer, &c.session) != PARLEY_OK ||
            parley_session_acquire_call(c.session, &c.call) != PARLEY_OK)
            goto done;
        c.mem = mem;
        c.req.data.len = o->count_size;
        c.req.data.data = bytes;
        for (unsigned i = 0; i < o->count_n; i++)
            if (parley_pingpong_op(&c) != 0)
                goto done;
        parley_call_release(c.call);
    }
    rc = 0;
done:
    talloc_free(mem);
    stop_server(&srv);
    stop_server(&raw);
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
    server srv = { -1, -1 };
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
    if (start_parley_server(pep, server_cpu, &srv, ep, sizeof(ep)) != 0 ||
        parley_peer_new(mem, &echo_protocol, &peer) != PARLEY_OK ||
        parley_peer_add_connect_endpoint(peer, ep) != PARLEY_OK)
        goto done;
    /* One session first, so that lazily made things (buffers, threads) exist. */
    if (parley_peer_connect(peer, &s) != PARLEY_OK)
        goto done;
    usleep(100000);
    before = rss_kib(srv.pid);
    for (unsigned i = 1; i < n; i++) {
        if (parley_peer_connect(peer, &s) != PARLEY_OK) {
            fprintf(stderr, "parley-bench call: idle session %u: %s\n", i,
                    parley_error_message());
            goto done;
        }
    }
    usleep(200000);
    after = rss_kib(srv.pid);
    printf("\nserver memory per idle session: %.1f KiB (%u unix sessions, server RSS "
           "%ld -> %ld KiB; target <= 16 KiB)\n",
           (double)(after - before) / (double)(n - 1), n, before, after);
    rc = 0;
done:
    if (rc != 0)
        fprintf(stderr, "parley-bench call: idle sessions: %s\n", parley_error_message());
    talloc_free(mem);
    stop_server(&srv);
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
    server raw = { -1, -1 }, srv = { -1, -1 };
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_client pc;
    raw_client rc = { -1, NULL, 0 };
    uint8_t *bytes = calloc(1, (1u << 20) + 64);
    int status = BENCH_EXIT_FAILED;

    memset(&pc, 0, sizeof(pc));
    snprintf(path, sizeof(path), "/tmp/parley-bench-raw-%d.sock", (int)getpid());
    if (start_raw_server(t + 1, path, server_cpu, &raw, raw_ep, sizeof(raw_ep)) != 0)
        goto done;
    snprintf(path, sizeof(path), "/tmp/parley-bench-parley-%d.sock", (int)getpid());
    snprintf(pep, sizeof(pep), t == 0 ? "unix:%s" : "tcp:127.0.0.1:0", path);
    if (start_parley_server(pep, server_cpu, &srv, par_ep, sizeof(par_ep)) != 0)
        goto done;
    rc.fd = raw_connect(raw_ep);
    rc.buf = bytes;
    if (rc.fd < 0 ||
        parley_peer_new(mem, &echo_protocol, &pc.peer) != PARLEY_OK ||
        parley_peer_set_workers(pc.peer, 1) != PARLEY_OK ||
        parley_peer_add_connect_endpoint(pc.peer, par_ep) != PARLEY_OK ||
        parley_peer_connect(pc.peer, &pc.session) != PARLEY_OK ||
        parley_session_acquire_call(pc.session, &pc.call) != PARLEY_OK) {
        fprintf(stderr, "parley-bench call: client setup: %s\n", parley_error_message());
        goto done;
    }
    pc.mem = mem;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        bench_result r_raw, r_par;
        double p_raw = 0, p_par = 0;

        rc.msg = wire_bytes(sizes[i]);
        pc.req.data.len = sizes[i];
        pc.req.data.data = bytes;
        if (bench_measure(cfg, raw_pingpong_op, &rc, &r_raw) != 0 ||
            bench_measure(cfg, parley_pingpong_op, &pc, &r_par) != 0 ||
            measure_pipelined(cfg, pipe_raw, &rc, o->inflight, &p_raw) != 0 ||
            measure_pipelined(cfg, pipe_parley, &pc, o->inflight, &p_par) != 0)
            goto done;
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
    stop_server(&srv);
    stop_server(&raw);
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

    echo_methods[0].fingerprint = parley_method_fingerprint(&echo_type, &echo_type);
    memset(&o, 0, sizeof(o));
    o.transports = 3;
    o.inflight = 32;
    o.idle = 1000;
    bench_config_init(&cfg);
    st = bench_parse_options(argc, argv, call_options, "", handle_opt, &o, &cfg, &help);
    if (st != 0)
        return st;
    if (help) {
        bench_call_usage(stdout);
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
    bench_print_machine(stdout);
    printf("call: echo of N payload bytes (%zu + N bytes on the wire each way); client on "
           "CPU %d, servers on CPU %d (--cpus %s); median of %u runs of >= %.2f s\n",
           wire_bytes(0), cpu, server_cpu, o.split ? "split" : "same", cfg.runs, cfg.min_time);
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
