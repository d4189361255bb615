/* SPDX-License-Identifier: MIT */
/*
 * parley-bench call: the two ends of each measurement (tools/bench_call_ends.c)
 * used by the command itself (tools/bench_call.c): the hand-written echo
 * protocol, the raw and Parley servers run in child processes, and the raw
 * and Parley clients.
 */
#ifndef PARLEY_BENCH_CALL_H
#define PARLEY_BENCH_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "parley.h"
#include "bench.h"

/* ---- the echo protocol: method 1, bytes in, the same bytes out ---- */

/* The protocol, the generated stub bench_echo_echo() and bench_echo_register()
 * come from tools/bench_echo.idl (parley-idl, at build time). */
#include "bench_echo.h"

/* One echo message; request and reply have this shape (checked in
 * tools/bench_call_ends.c against the generated structs). */
typedef struct bench_echo_msg {
    parley_bytes data;
} bench_echo_msg;

/* Bytes Parley puts on the wire for one echo message of n payload bytes. */
size_t bench_echo_wire_bytes(size_t n);
/* The echo handler (non-blocking: it returns the request's bytes). */
parley_status bench_echo_handler(parley_call *call, const bench_echo_echo_request *in,
                                 bench_echo_echo_reply *out, void *data);

/* ---- servers (child processes) ---- */

typedef struct bench_server {
    pid_t pid;
    int stdin_fd;   /* closing it ends a Parley bench_server */
    int reply_fd;   /* a Parley server's answers to bench_server_allocs(); else -1 */
} bench_server;

/* A server not started yet (or stopped). */
#define BENCH_SERVER_NONE { -1, -1, -1 }

/* Pin the calling thread (and threads it starts later) to cpu. */
int bench_pin_to(int cpu);
/* A listening socket for transport 1 (unix, at path) or 2 (TCP loopback,
 * port chosen by the kernel); its endpoint string goes to ret_endpoint.
 * The fd, or -1 with errno set. */
int bench_listen_socket(int transport, const char *path, char *ret_endpoint, size_t cap);
/* accept() on lfd, with TCP_NODELAY on a TCP connection (as Parley and the
 * raw server set it).  The fd, or -1. */
int bench_accept(int lfd);
/* A raw byte-echo server for transport 1 (unix, at path) or 2 (TCP
 * loopback); its endpoint string goes to ret_endpoint.  0 or -1. */
int bench_start_raw_server(int transport, const char *path, int cpu, bench_server *s,
                           char *ret_endpoint, size_t cap);
/* A Parley peer serving echo on endpoint (tcp port 0 allowed); the bound
 * endpoint goes to ret_endpoint.  0 or -1. */
int bench_start_parley_server(const char *endpoint, int cpu, bench_server *s, char *ret_endpoint,
                              size_t cap);
/* Stop a server and reap it. */
void bench_stop_server(bench_server *s);
/* Allocations a Parley server has made since it started counting (just
 * before it started listening), all threads together: -1 if the server does
 * not count (another kind of server, or a build without the counter). */
long bench_server_allocs(bench_server *s);
/* VmRSS of a process in KiB, or -1. */
long bench_rss_kib(pid_t pid);

/* ---- clients ---- */

typedef struct bench_raw_client {
    int fd;
    uint8_t *buf;
    size_t msg;
} bench_raw_client;

/* A connected raw socket to a raw server's endpoint, or -1. */
int bench_raw_connect(const char *endpoint);
/* One message and its echo (a bench_op_fn on a bench_raw_client). */
int bench_raw_pingpong_op(void *arg);
/* n messages, up to inflight outstanding. 0 or -1. */
int bench_raw_pipelined(bench_raw_client *c, unsigned inflight, uint64_t n);

typedef struct bench_parley_client {
    parley_peer *peer;
    parley_session *session;
    parley_call *call;
    bench_echo_msg req;
    TALLOC_CTX *mem;
} bench_parley_client;

/* One synchronous echo call (a bench_op_fn on a bench_parley_client). */
int bench_parley_pingpong_op(void *arg);
/* n asynchronous echo calls, up to inflight outstanding.  0 or -1. */
int bench_parley_pipelined(bench_parley_client *c, unsigned inflight, uint64_t n);

/* ---- the rows of the table: one per implementation ---- */

/* pipelined(client, inflight, n): n calls, up to inflight outstanding. 0 or -1. */
typedef int (*bench_pipe_fn)(void *client, unsigned inflight, uint64_t n);

/* One implementation's ends: its server (a child process) and its client. */
typedef struct bench_end {
    bench_server srv;
    char path[128];        /* its unix socket, removed by bench_end_close() */
    char endpoint[300];    /* where its server listens ("unix:PATH", "tcp:127.0.0.1:PORT") */
    void *client;          /* the implementation's client state */
    uint8_t *bytes;        /* payload source (1 MiB + 64 bytes, owned by the caller) */
    int transport;         /* 1 unix, 2 TCP loopback */
} bench_end;

/* Ways of calling an echo: one row of the table.  Every server of a run is
 * started before any client connects, so that no server is forked from a
 * process that already runs a client peer's threads. */
typedef struct bench_impl {
    const char *name;      /* row label, also the --syscalls mode */
    const char *what;      /* one line for the legend */
    /* Fork the server, pinned to server_cpu (-1: not pinned), listening on
     * e->endpoint.  0, or -1 after printing why. */
    int (*start)(bench_end *e, int server_cpu);
    /* Connect the client (e->client).  0, or -1 after printing why. */
    int (*connect)(bench_end *e);
    /* Free the client, stop the server (either may be missing). */
    void (*close)(bench_end *e);
    /* Make the next calls carry n payload bytes. */
    void (*set_size)(bench_end *e, size_t n);
    bench_op_fn pingpong;          /* one call and its reply; arg: e->client */
    bench_pipe_fn pipelined;       /* NULL: not measured pipelined */
} bench_impl;

/* Set e up for row `name` (its unix socket path, no server, no client). */
void bench_end_init(bench_end *e, const char *name, int transport, uint8_t *bytes);
/* Fork a server for e: a listening socket on e->endpoint, then, in the child
 * pinned to server_cpu, serve(listening fd), which must not return.  0 or -1. */
int bench_end_fork_server(bench_end *e, int server_cpu, void (*serve)(int lfd));
/* Stop e's server and remove its socket. */
void bench_end_stop_server(bench_end *e);

extern const bench_impl bench_impl_raw;           /* tools/bench_call_rows.c */
extern const bench_impl bench_impl_parley_stub;
extern const bench_impl bench_impl_parley_call;
extern const bench_impl bench_impl_framed;        /* tools/bench_call_framed.c */
#ifdef HAVE_XDR
extern const bench_impl bench_impl_onc;           /* tools/bench_call_onc.c */
#endif
#ifdef HAVE_SDBUS
extern const bench_impl bench_impl_sdbus;         /* tools/bench_call_sdbus.c */
#endif

/* ---- allocation counting (tools/bench_alloc.c) ---- */

/* Whether malloc and friends are counted in this build. */
extern const bool bench_alloc_available;
/* Start counting this process's allocations (every thread). */
void bench_alloc_start(void);
/* Stop counting (the count stays). */
void bench_alloc_stop(void);
/* Allocations counted so far (malloc, calloc, realloc, aligned forms). */
uint64_t bench_alloc_count(void);

#endif /* PARLEY_BENCH_CALL_H */
