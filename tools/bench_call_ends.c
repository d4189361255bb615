/* SPDX-License-Identifier: MIT */
/*
 * parley-bench call: the two ends of each measurement: the echo protocol,
 * the raw and Parley servers, the raw and Parley clients (see bench_call.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <talloc.h>

#include "bench.h"
#include "bench_call.h"

/* PARLEY_BENCH_ACCESS set: the Parley server checks every call with this
 * (a rule by method name and transport, as doc/security.md's recipe). */
static bool bench_access(parley_session *session, const parley_method *method, void *data,
                         char *reason, size_t reason_size)
{
    (void)data;
    if (strcmp(method->name, "echo") == 0 &&
        parley_session_get_transport(session) != PARLEY_TRANSPORT_UNKNOWN)
        return true;
    snprintf(reason, reason_size, "not allowed");
    return false;
}

/* ---- the echo protocol ----------------------------------------------------- */


_Static_assert(sizeof(bench_echo_msg) == sizeof(bench_echo_echo_request) &&
                   sizeof(bench_echo_msg) == sizeof(bench_echo_echo_reply) &&
                   offsetof(bench_echo_msg, data) == offsetof(bench_echo_echo_request, data) &&
                   offsetof(bench_echo_msg, data) == offsetof(bench_echo_echo_reply, data),
               "bench_echo_msg has the shape of the generated echo request and reply");

/* Bytes Parley puts on the wire for one echo message of n payload bytes. */
size_t bench_echo_wire_bytes(size_t n)
{
    return 16 + 4 + n;
}

parley_status bench_echo_handler(parley_call *call, const bench_echo_echo_request *in,
                                 bench_echo_echo_reply *out, void *data)
{
    (void)call;
    (void)data;
    out->data.len = in->data.len;
    /* The request lives until the reply is sent: no copy needed. */
    out->data.data = in->data.data;
    return PARLEY_OK;
}

/* ---- servers ---------------------------------------------------------------- */


int bench_pin_to(int cpu)
{
    cpu_set_t one;

    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    return sched_setaffinity(0, sizeof(one), &one);
}

int bench_accept(int lfd)
{
    int fd = accept(lfd, NULL, NULL), one = 1;

    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));   /* fails on unix */
    return fd;
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

int bench_listen_socket(int transport, const char *path, char *ret_endpoint, size_t cap)
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

int bench_start_raw_server(int transport, const char *path, int cpu, bench_server *s,
                            char *ret_endpoint, size_t cap)
{
    int lfd = bench_listen_socket(transport, path, ret_endpoint, cap);

    if (lfd < 0) {
        fprintf(stderr, "parley-bench call: raw listen: %s\n", strerror(errno));
        return -1;
    }
    s->stdin_fd = s->reply_fd = -1;
    s->pid = fork();
    if (s->pid == 0) {
        if (cpu >= 0)
            bench_pin_to(cpu);
        raw_server_main(lfd);
        _exit(0);
    }
    close(lfd);
    return s->pid > 0 ? 0 : -1;
}

/* The Parley server's main thread: after its endpoint line, it answers each
 * 'a' on its stdin with its allocation count and ends at EOF. */
static void parley_server_control(int in_fd, int out_fd)
{
    char c, line[32];

    while (read(in_fd, &c, 1) > 0) {
        int n;

        if (c != 'a')
            continue;
        if (bench_alloc_available)
            n = snprintf(line, sizeof(line), "%llu\n", (unsigned long long)bench_alloc_count());
        else
            n = snprintf(line, sizeof(line), "-1\n");
        if (write(out_fd, line, (size_t)n) != n)
            break;
    }
}

int bench_start_parley_server(const char *endpoint, int cpu, bench_server *s, char *ret_endpoint,
                               size_t cap)
{
    int in[2], out[2];
    char line[300];
    ssize_t n;

    s->stdin_fd = s->reply_fd = -1;
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
        return -1;
    s->pid = fork();
    if (s->pid == 0) {
        TALLOC_CTX *mem = talloc_new(NULL);
        parley_peer *peer;
        static const bench_echo_handlers handlers = {
            .echo = { bench_echo_handler, PARLEY_NONBLOCKING },
        };
        char *bound = NULL;

        close(in[1]);
        close(out[0]);
        if (cpu >= 0)
            bench_pin_to(cpu);
        bench_alloc_start();
        if (parley_peer_new(mem, &bench_echo_protocol, &peer) != PARLEY_OK ||
            parley_peer_set_workers(peer, 1) != PARLEY_OK ||
            bench_echo_register(peer, &handlers, NULL) != PARLEY_OK ||
            (getenv("PARLEY_BENCH_ACCESS") != NULL &&
             parley_peer_set_access_function(peer, bench_access, NULL) != PARLEY_OK) ||
            parley_peer_add_listen_endpoint(peer, endpoint, 0600) != PARLEY_OK ||
            parley_peer_start_listen(peer) != PARLEY_OK ||
            parley_peer_get_listen_endpoint(peer, 0, mem, &bound) != PARLEY_OK) {
            fprintf(stderr, "parley-bench call: server: %s\n", parley_error_message());
            _exit(1);
        }
        dprintf(out[1], "%s\n", bound);
        parley_server_control(in[0], out[1]);
        talloc_free(mem);
        _exit(0);
    }
    close(in[0]);
    close(out[1]);
    s->stdin_fd = in[1];
    s->reply_fd = out[0];
    n = s->pid < 0 ? -1 : read(out[0], line, sizeof(line) - 1);
    if (n <= 0) {
        bench_stop_server(s);
        return -1;
    }
    line[n] = '\0';
    line[strcspn(line, "\n")] = '\0';
    snprintf(ret_endpoint, cap, "%s", line);
    return 0;
}

long bench_server_allocs(bench_server *s)
{
    char line[32];
    ssize_t n;

    if (s->pid <= 0 || s->stdin_fd < 0 || s->reply_fd < 0 || write(s->stdin_fd, "a", 1) != 1)
        return -1;
    n = read(s->reply_fd, line, sizeof(line) - 1);
    if (n <= 0)
        return -1;
    line[n] = '\0';
    return strtol(line, NULL, 10);
}

void bench_stop_server(bench_server *s)
{
    if (s->pid <= 0)
        return;
    if (s->stdin_fd >= 0)
        close(s->stdin_fd);
    else
        kill(s->pid, SIGTERM);
    if (s->reply_fd >= 0)
        close(s->reply_fd);
    waitpid(s->pid, NULL, 0);
    s->pid = -1;
    s->stdin_fd = s->reply_fd = -1;
}

long bench_rss_kib(pid_t pid)
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


int bench_raw_connect(const char *endpoint)
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
int bench_raw_pipelined(bench_raw_client *c, unsigned inflight, uint64_t n)
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

/* One message larger than the socket buffers and its echo, written and read
 * together (poll) so that it cannot deadlock with the server, straight from
 * and into c->buf (the echo overwrites bytes already sent with the same
 * bytes): no allocation and no copy per message, as for small ones. */
static int raw_pingpong_large(bench_raw_client *c)
{
    size_t woff = 0, roff = 0;

    while (roff < c->msg) {
        struct pollfd p = { c->fd, POLLIN, 0 };

        if (woff < c->msg)
            p.events |= POLLOUT;
        if (poll(&p, 1, 5000) <= 0)
            return -1;
        if (p.revents & POLLOUT) {
            ssize_t w = send(c->fd, c->buf + woff, c->msg - woff, MSG_DONTWAIT);

            if (w < 0 && errno != EAGAIN)
                return -1;
            if (w > 0)
                woff += (size_t)w;
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = recv(c->fd, c->buf + roff, c->msg - roff, MSG_DONTWAIT);

            if (r == 0 || (r < 0 && errno != EAGAIN))
                return -1;
            if (r > 0)
                roff += (size_t)r;
        }
    }
    bench_sink += c->buf[0];
    return 0;
}

/* One message and its echo. */
int bench_raw_pingpong_op(void *arg)
{
    bench_raw_client *c = arg;
    size_t off = 0;

    if (c->msg > RAW_BLOCKING_MAX)
        return raw_pingpong_large(c);
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


int bench_parley_pingpong_op(void *arg)
{
    bench_parley_client *c = arg;
    bench_echo_msg *rep = NULL;

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
    bench_echo_msg *req;
    bench_echo_msg **reps;
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
    if (again && parley_call_dispatch(call, 1, st->req, NULL, &st->reps[slot->i], pipe_done,
                                      slot) != PARLEY_PENDING) {
        pthread_mutex_lock(&st->lock);
        st->failed = 1;
        st->done++;
        pthread_cond_signal(&st->cond);
        pthread_mutex_unlock(&st->lock);
    }
}

int bench_parley_pipelined(bench_parley_client *c, unsigned inflight, uint64_t n)
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
        if (parley_call_dispatch(calls[i], 1, &c->req, NULL, &st.reps[i], pipe_done,
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
