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

/* ---- the echo protocol: method 1, bytes in, the same bytes out ---- */

typedef struct bench_echo_msg {
    parley_bytes data;
} bench_echo_msg;

extern const parley_type bench_echo_type;
/* Its fingerprint is filled in by bench_call_main() before first use. */
extern parley_method bench_echo_methods[];
extern const parley_protocol bench_echo_protocol;

/* Bytes Parley puts on the wire for one echo message of n payload bytes. */
size_t bench_echo_wire_bytes(size_t n);
/* The echo handler (non-blocking: it returns the request's bytes). */
parley_status bench_echo_handler(parley_call *call, const void *in, void *out, void *data);

/* ---- servers (child processes) ---- */

typedef struct bench_server {
    pid_t pid;
    int stdin_fd;   /* closing it ends a Parley bench_server */
} bench_server;

/* Pin the calling thread (and threads it starts later) to cpu. */
int bench_pin_to(int cpu);
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

#endif /* PARLEY_BENCH_CALL_H */
