/* SPDX-License-Identifier: MIT */
/*
 * parley-bench call: the rows built on the ends of tools/bench_call_ends.c:
 *   raw          raw byte echo (ping-pong; pipelined: the bulk echo)
 *   parley-stub  the generated synchronous stub bench_echo_echo(): a call
 *                acquired, dispatched and released per call, as users do
 *   parley-call  one acquired call dispatched again and again (synchronous);
 *                pipelined: asynchronous dispatch on --inflight calls
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <talloc.h>

#include "bench.h"
#include "bench_call.h"

void bench_end_init(bench_end *e, const char *name, int transport, uint8_t *bytes)
{
    static const bench_server none = BENCH_SERVER_NONE;

    memset(e, 0, sizeof(*e));
    e->srv = none;
    e->bytes = bytes;
    e->transport = transport;
    snprintf(e->path, sizeof(e->path), "/tmp/parley-bench-%s-%d.sock", name, (int)getpid());
}

int bench_end_fork_server(bench_end *e, int server_cpu, void (*serve)(int lfd))
{
    int lfd = bench_listen_socket(e->transport, e->path, e->endpoint, sizeof(e->endpoint));

    if (lfd < 0) {
        fprintf(stderr, "parley-bench call: listen on %s: %s\n",
                e->transport == 1 ? e->path : "TCP loopback", strerror(errno));
        return -1;
    }
    e->srv.pid = fork();
    if (e->srv.pid == 0) {
        if (server_cpu >= 0)
            bench_pin_to(server_cpu);
        serve(lfd);
        _exit(1);
    }
    close(lfd);
    return e->srv.pid > 0 ? 0 : -1;
}

void bench_end_stop_server(bench_end *e)
{
    bench_stop_server(&e->srv);
    unlink(e->path);
}

/* ---- raw ---------------------------------------------------------------------- */

static int raw_start(bench_end *e, int server_cpu)
{
    return bench_start_raw_server(e->transport, e->path, server_cpu, &e->srv, e->endpoint,
                                  sizeof(e->endpoint));
}

static int raw_connect(bench_end *e)
{
    bench_raw_client *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return -1;
    c->buf = e->bytes;
    e->client = c;
    c->fd = bench_raw_connect(e->endpoint);
    if (c->fd < 0) {
        perror("parley-bench call: raw connect");
        return -1;
    }
    return 0;
}

static void raw_close(bench_end *e)
{
    bench_raw_client *c = e->client;

    if (c != NULL && c->fd >= 0)
        close(c->fd);
    free(c);
    e->client = NULL;
    bench_end_stop_server(e);
}

static void raw_set_size(bench_end *e, size_t n)
{
    bench_raw_client *c = e->client;

    c->msg = bench_echo_wire_bytes(n);
}

static int raw_pipelined(void *c, unsigned inflight, uint64_t n)
{
    return bench_raw_pipelined(c, inflight, n);
}

const bench_impl bench_impl_raw = {
    "raw", "raw socket echo of Parley's wire bytes; pipelined: bulk byte echo",
    raw_start, raw_connect, raw_close, raw_set_size, bench_raw_pingpong_op, raw_pipelined,
};

/* ---- Parley: a client peer connected to a Parley server ---------------------- */

static int parley_start(bench_end *e, int server_cpu)
{
    char lep[300];

    if (e->transport == 1)
        snprintf(lep, sizeof(lep), "unix:%s", e->path);
    else
        snprintf(lep, sizeof(lep), "tcp:127.0.0.1:0");
    if (bench_start_parley_server(lep, server_cpu, &e->srv, e->endpoint,
                                  sizeof(e->endpoint)) != 0) {
        fprintf(stderr, "parley-bench call: the Parley server did not start\n");
        return -1;
    }
    return 0;
}

/* A client peer connected to e's Parley server. */
static int parley_connect(bench_end *e, TALLOC_CTX *mem, parley_peer **ret_peer,
                          parley_session **ret_session)
{
    if (parley_peer_new(mem, &bench_echo_protocol, ret_peer) != PARLEY_OK ||
        parley_peer_set_workers(*ret_peer, 1) != PARLEY_OK ||
        parley_peer_add_connect_endpoint(*ret_peer, e->endpoint) != PARLEY_OK ||
        parley_peer_connect(*ret_peer, ret_session) != PARLEY_OK) {
        fprintf(stderr, "parley-bench call: client setup: %s\n", parley_error_message());
        return -1;
    }
    return 0;
}

/* -- parley-stub: the generated synchronous stub -- */

typedef struct stub_client {
    parley_peer *peer;
    parley_session *session;
    bench_echo_echo_request req;
    TALLOC_CTX *mem;
} stub_client;

static int stub_connect(bench_end *e)
{
    stub_client *c = talloc_zero(NULL, stub_client);

    if (c == NULL)
        return -1;
    c->mem = c;
    c->req.data.data = e->bytes;
    e->client = c;
    return parley_connect(e, c, &c->peer, &c->session);
}

static void stub_close(bench_end *e)
{
    TALLOC_FREE(e->client);
    bench_end_stop_server(e);
}
static void stub_set_size(bench_end *e, size_t n)
{
    stub_client *c = e->client;

    c->req.data.len = n;
}

static int stub_pingpong_op(void *arg)
{
    stub_client *c = arg;
    bench_echo_echo_reply *rep = NULL;
    parley_status st = bench_echo_echo(c->session, &c->req, c->mem, &rep);

    if (st != PARLEY_OK) {
        fprintf(stderr, "parley-bench call: bench_echo_echo: %s\n", parley_error_message());
        return -1;
    }
    if (rep->data.len != c->req.data.len) {
        fprintf(stderr, "parley-bench call: echo returned %zu bytes, not %zu\n", rep->data.len,
                c->req.data.len);
        return -1;
    }
    bench_sink += rep->data.len > 0 ? rep->data.data[0] : 0;
    talloc_free(rep);
    return 0;
}

const bench_impl bench_impl_parley_stub = {
    "parley-stub", "generated synchronous stub bench_echo_echo() (acquire, dispatch, release)",
    parley_start, stub_connect, stub_close, stub_set_size, stub_pingpong_op, NULL,
};

/* -- parley-call: one acquired call reused; pipelined: asynchronous dispatch -- */

static int call_connect(bench_end *e)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    bench_parley_client *c = talloc_zero(mem, bench_parley_client);

    if (mem == NULL || c == NULL) {
        talloc_free(mem);
        return -1;
    }
    c->mem = mem;
    c->req.data.data = e->bytes;
    e->client = c;
    if (parley_connect(e, mem, &c->peer, &c->session) != 0)
        return -1;
    if (parley_session_acquire_call(c->session, &c->call) != PARLEY_OK) {
        fprintf(stderr, "parley-bench call: acquire: %s\n", parley_error_message());
        return -1;
    }
    return 0;
}

static void call_close(bench_end *e)
{
    bench_parley_client *c = e->client;

    if (c != NULL) {
        if (c->call != NULL)
            parley_call_release(c->call);
        talloc_free(c->mem);
    }
    e->client = NULL;
    bench_end_stop_server(e);
}

static void call_set_size(bench_end *e, size_t n)
{
    bench_parley_client *c = e->client;

    c->req.data.len = n;
}

static int call_pipelined(void *c, unsigned inflight, uint64_t n)
{
    return bench_parley_pipelined(c, inflight, n);
}

const bench_impl bench_impl_parley_call = {
    "parley-call", "one acquired call dispatched again and again; pipelined: async dispatch",
    parley_start, call_connect, call_close, call_set_size, bench_parley_pingpong_op,
    call_pipelined,
};
