/* SPDX-License-Identifier: MIT */
/*
 * parley-bench call: the onc-rpc row: ONC RPC (libtirpc) echoing opaque<>
 * bytes, ping-pong only.
 *
 * Server (a child process): svc_vc_create() on the listening socket (unix or
 * TCP loopback), svc_register() with a hand-written dispatch function (not
 * announced to rpcbind), svc_run().  Client: clnt_vc_create() on a connected
 * socket, then clnt_call() per call and clnt_freeres() of the reply, as a
 * user of rpcgen's client stub does.  The XDR filter comes from rpcgen
 * (tools/bench_echo_onc.x) at build time.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "bench_call.h"
#include "bench_echo_onc.h"

static const struct timeval onc_timeout = { 25, 0 };

/* ---- server ------------------------------------------------------------------- */

static void onc_dispatch(struct svc_req *rq, SVCXPRT *xprt)
{
    bench_onc_msg msg;

    switch (rq->rq_proc) {
    case BENCH_ONC_ECHO:
        memset(&msg, 0, sizeof(msg));
        if (!svc_getargs(xprt, (xdrproc_t)xdr_bench_onc_msg, (caddr_t)&msg)) {
            svcerr_decode(xprt);
            return;
        }
        if (!svc_sendreply(xprt, (xdrproc_t)xdr_bench_onc_msg, (caddr_t)&msg))
            svcerr_systemerr(xprt);
        svc_freeargs(xprt, (xdrproc_t)xdr_bench_onc_msg, (caddr_t)&msg);
        return;
    default:
        svcerr_noproc(xprt);
        return;
    }
}

static void onc_server_main(int lfd)
{
    SVCXPRT *xprt = svc_vc_create(lfd, 0, 0);

    if (xprt == NULL) {
        fprintf(stderr, "parley-bench call: onc-rpc: svc_vc_create failed\n");
        _exit(1);
    }
    /* Protocol 0: served on this transport only, not registered with rpcbind. */
    if (!svc_register(xprt, BENCH_ONC_PROG, BENCH_ONC_VERS, onc_dispatch, 0)) {
        fprintf(stderr, "parley-bench call: onc-rpc: svc_register failed\n");
        _exit(1);
    }
    svc_run();
}

/* ---- client ------------------------------------------------------------------- */

typedef struct onc_client {
    int fd;
    CLIENT *clnt;
    bench_onc_msg req;
} onc_client;

static int onc_pingpong_op(void *arg)
{
    onc_client *c = arg;
    bench_onc_msg rep;
    enum clnt_stat st;
    int rc = 0;

    memset(&rep, 0, sizeof(rep));
    st = clnt_call(c->clnt, BENCH_ONC_ECHO, (xdrproc_t)xdr_bench_onc_msg, (caddr_t)&c->req,
                   (xdrproc_t)xdr_bench_onc_msg, (caddr_t)&rep, onc_timeout);
    if (st != RPC_SUCCESS) {
        fprintf(stderr, "parley-bench call: onc-rpc: %s\n", clnt_sperrno(st));
        return -1;
    }
    if (rep.data.data_len != c->req.data.data_len) {
        fprintf(stderr, "parley-bench call: onc-rpc echo returned %u bytes, not %u\n",
                rep.data.data_len, c->req.data.data_len);
        rc = -1;
    } else {
        bench_sink += rep.data.data_len > 0 ? (uint8_t)rep.data.data_val[0] : 0;
    }
    clnt_freeres(c->clnt, (xdrproc_t)xdr_bench_onc_msg, (caddr_t)&rep);
    return rc;
}

static int onc_start(bench_end *e, int server_cpu)
{
    return bench_end_fork_server(e, server_cpu, onc_server_main);
}

static int onc_connect(bench_end *e)
{
    onc_client *c = calloc(1, sizeof(*c));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    struct netbuf nb;

    if (c == NULL)
        return -1;
    c->req.data.data_val = (char *)e->bytes;
    e->client = c;
    c->fd = bench_raw_connect(e->endpoint);
    if (c->fd < 0 || getpeername(c->fd, (struct sockaddr *)&ss, &sl) != 0) {
        perror("parley-bench call: onc-rpc connect");
        return -1;
    }
    nb.len = nb.maxlen = sl;
    nb.buf = &ss;
    c->clnt = clnt_vc_create(c->fd, &nb, BENCH_ONC_PROG, BENCH_ONC_VERS, 0, 0);
    if (c->clnt == NULL) {
        fprintf(stderr, "parley-bench call: onc-rpc: %s\n", clnt_spcreateerror("clnt_vc_create"));
        return -1;
    }
    return 0;
}

static void onc_close(bench_end *e)
{
    onc_client *c = e->client;

    if (c != NULL) {
        if (c->clnt != NULL)
            clnt_destroy(c->clnt);
        if (c->fd >= 0)
            close(c->fd);
        free(c);
    }
    e->client = NULL;
    bench_end_stop_server(e);
}

static void onc_set_size(bench_end *e, size_t n)
{
    onc_client *c = e->client;

    c->req.data.data_len = (u_int)n;
}

const bench_impl bench_impl_onc = {
    "onc-rpc", "ONC RPC (rpcgen + libtirpc): clnt_call, svc_run server; ping-pong only",
    onc_start, onc_connect, onc_close, onc_set_size, onc_pingpong_op, NULL,
};
