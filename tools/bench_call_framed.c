/* SPDX-License-Identifier: MIT */
/*
 * parley-bench call: the framed raw echo, the baseline that does the least
 * per-message work an RPC system must do, and nothing else.
 *
 * Messages are framed as Parley's are (a 16-byte header: u32 payload length,
 * u8 kind, u8 flags, u16 fd count, u32 call id, u32 method or status; then
 * the payload, here a u32 byte count and the bytes), so the bytes on the
 * wire are exactly Parley's.  The server reads what the socket has, parses
 * each whole frame, dispatches it through a table of function pointers by
 * method id to an echo handler that memcpy's the request into the reply
 * buffer behind a reply header, and writes all replies of one read in one
 * write.  The client encodes each request (header + memcpy of the payload)
 * and parses each reply (header, id, length).  No allocation per message
 * on either side, no threads, no locks.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "bench_call.h"

#define HDR 16u
#define KIND_CALL 2u
#define KIND_REPLY 3u
/* Messages up to this size are written, then read, with blocking calls
 * (as the raw ping-pong does); larger ones go through the pipelined loop. */
#define BLOCKING_MAX (64u * 1024u + 64u)

typedef struct frame_hdr {
    uint32_t length;
    uint8_t kind, flags;
    uint16_t nfds;
    uint32_t id;
    uint32_t code;
} frame_hdr;

static void put_hdr(uint8_t *p, const frame_hdr *h)
{
    memcpy(p, &h->length, 4);
    p[4] = h->kind;
    p[5] = h->flags;
    memcpy(p + 6, &h->nfds, 2);
    memcpy(p + 8, &h->id, 4);
    memcpy(p + 12, &h->code, 4);
}

static void get_hdr(const uint8_t *p, frame_hdr *h)
{
    memcpy(&h->length, p, 4);
    h->kind = p[4];
    h->flags = p[5];
    memcpy(&h->nfds, p + 6, 2);
    memcpy(&h->id, p + 8, 4);
    memcpy(&h->code, p + 12, 4);
}

/* ---- server ------------------------------------------------------------------- */

/* A method: reads the request payload, writes the reply payload to out
 * (room for len bytes), returns its length, or -1 for a malformed request. */
typedef long (*framed_method)(const uint8_t *req, size_t len, uint8_t *out);

static long echo_method(const uint8_t *req, size_t len, uint8_t *out)
{
    uint32_t n;

    if (len < 4)
        return -1;
    memcpy(&n, req, 4);
    if (n != len - 4)
        return -1;
    memcpy(out, req, len);
    return (long)len;
}

static const framed_method methods[] = { NULL, echo_method };
#define N_METHODS (sizeof(methods) / sizeof(methods[0]))

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);

        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Make *buf hold at least want bytes, keeping what it holds. */
static int reserve(uint8_t **buf, size_t *cap, size_t want)
{
    uint8_t *p;
    size_t c = *cap;

    if (want <= c)
        return 0;
    while (c < want)
        c *= 2;
    p = realloc(*buf, c);
    if (p == NULL)
        return -1;
    *buf = p;
    *cap = c;
    return 0;
}

/* Serve one connection until it closes or breaks the protocol. */
static void serve(int fd, uint8_t **rbuf, size_t *rcap, uint8_t **obuf, size_t *ocap)
{
    size_t have = 0;

    for (;;) {
        ssize_t n = read(fd, *rbuf + have, *rcap - have);
        size_t off = 0, olen = 0;

        if (n <= 0)
            return;
        have += (size_t)n;
        while (have - off >= HDR) {
            frame_hdr h;
            long rlen;

            get_hdr(*rbuf + off, &h);
            if (HDR + (size_t)h.length > have - off) {
                if (reserve(rbuf, rcap, HDR + (size_t)h.length) != 0)
                    return;
                break;
            }
            if (h.kind != KIND_CALL || h.code >= N_METHODS || methods[h.code] == NULL ||
                reserve(obuf, ocap, olen + HDR + h.length) != 0)
                return;
            rlen = methods[h.code](*rbuf + off + HDR, h.length, *obuf + olen + HDR);
            if (rlen < 0)
                return;
            h.length = (uint32_t)rlen;
            h.kind = KIND_REPLY;
            h.code = 0;
            put_hdr(*obuf + olen, &h);
            olen += HDR + (size_t)rlen;
            off += HDR + h.length;
        }
        if (off > 0 && have > off)
            memmove(*rbuf, *rbuf + off, have - off);
        have -= off;
        if (olen > 0 && write_all(fd, *obuf, olen) != 0)
            return;
    }
}

static void framed_server_main(int lfd)
{
    size_t rcap = 64u * 1024u, ocap = 64u * 1024u;
    uint8_t *rbuf = malloc(rcap), *obuf = malloc(ocap);

    if (rbuf == NULL || obuf == NULL)
        _exit(1);
    for (;;) {
        int fd = bench_accept(lfd);

        if (fd < 0)
            _exit(errno == EINTR ? 0 : 1);
        serve(fd, &rbuf, &rcap, &obuf, &ocap);
        close(fd);
    }
}

/* ---- client ------------------------------------------------------------------- */

typedef struct framed_client {
    int fd;
    const uint8_t *payload;   /* the bytes each request carries */
    size_t n;                 /* payload bytes per message */
    uint8_t *wbuf, *rbuf;
    size_t wcap, rcap;
    uint32_t next_id;         /* id of the next request */
    uint32_t reply_id;        /* id the next reply must have */
} framed_client;

static size_t frame_bytes(const framed_client *c)
{
    return HDR + 4 + c->n;
}

static void encode_request(framed_client *c, uint8_t *p)
{
    frame_hdr h = { (uint32_t)(4 + c->n), KIND_CALL, 0, 0, c->next_id++, 1 };
    uint32_t n = (uint32_t)c->n;

    put_hdr(p, &h);
    memcpy(p + HDR, &n, 4);
    memcpy(p + HDR + 4, c->payload, c->n);
}

/* Parse the whole replies at the front of rbuf[0..have); returns how many
 * bytes they take, or -1 for a reply that is not the echo expected. */
static long parse_replies(framed_client *c, size_t have, uint64_t *done)
{
    size_t off = 0;

    while (have - off >= HDR) {
        frame_hdr h;
        uint32_t n;

        get_hdr(c->rbuf + off, &h);
        if (HDR + (size_t)h.length > have - off)
            break;
        memcpy(&n, c->rbuf + off + HDR, 4);
        if (h.kind != KIND_REPLY || h.code != 0 || h.id != c->reply_id ||
            h.length != 4 + c->n || n != c->n) {
            fprintf(stderr, "parley-bench call: framed echo: unexpected reply\n");
            return -1;
        }
        c->reply_id++;
        bench_sink += c->n > 0 ? c->rbuf[off + HDR + 4] : 0;
        off += HDR + h.length;
        (*done)++;
    }
    return (long)off;
}

/* n requests with up to inflight outstanding; 0 or -1. */
static int framed_pipelined(void *arg, unsigned inflight, uint64_t total)
{
    framed_client *c = arg;
    size_t f = frame_bytes(c), kmax = (4u << 20) / f, woff = 0, wlen = 0, have = 0;
    uint64_t sent = 0, done = 0;

    if (kmax < 1)
        kmax = 1;
    if (kmax > inflight)
        kmax = inflight;
    if (reserve(&c->wbuf, &c->wcap, kmax * f) != 0 ||
        reserve(&c->rbuf, &c->rcap, f > 64u * 1024u ? f : 64u * 1024u) != 0)
        return -1;
    while (done < total) {
        struct pollfd p = { c->fd, 0, 0 };

        if (woff == wlen && sent < total && sent - done < inflight) {
            uint64_t k = inflight - (sent - done);

            if (k > total - sent)
                k = total - sent;
            if (k > kmax)
                k = kmax;
            for (uint64_t i = 0; i < k; i++)
                encode_request(c, c->wbuf + i * f);
            woff = 0;
            wlen = (size_t)k * f;
            sent += k;
        }
        if (woff < wlen)
            p.events |= POLLOUT;
        if (sent > done)
            p.events |= POLLIN;
        if (poll(&p, 1, 5000) <= 0)
            return -1;
        if (p.revents & POLLOUT) {
            ssize_t w = send(c->fd, c->wbuf + woff, wlen - woff, MSG_DONTWAIT);

            if (w < 0 && errno != EAGAIN)
                return -1;
            if (w > 0)
                woff += (size_t)w;
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = recv(c->fd, c->rbuf + have, c->rcap - have, MSG_DONTWAIT);
            long used;

            if (r == 0 || (r < 0 && errno != EAGAIN))
                return -1;
            if (r > 0) {
                have += (size_t)r;
                used = parse_replies(c, have, &done);
                if (used < 0)
                    return -1;
                if (used > 0 && have > (size_t)used)
                    memmove(c->rbuf, c->rbuf + used, have - (size_t)used);
                have -= (size_t)used;
            }
        }
    }
    return 0;
}

/* One request and its reply. */
static int framed_pingpong_op(void *arg)
{
    framed_client *c = arg;
    size_t f = frame_bytes(c), have = 0;
    uint64_t done = 0;

    if (f > BLOCKING_MAX)
        return framed_pipelined(c, 1, 1);
    encode_request(c, c->wbuf);
    if (write_all(c->fd, c->wbuf, f) != 0)
        return -1;
    while (done == 0) {
        ssize_t r = read(c->fd, c->rbuf + have, c->rcap - have);

        if (r <= 0)
            return -1;
        have += (size_t)r;
        if (parse_replies(c, have, &done) < 0)
            return -1;
    }
    return 0;
}

static int framed_start(bench_end *e, int server_cpu)
{
    return bench_end_fork_server(e, server_cpu, framed_server_main);
}

static int framed_connect(bench_end *e)
{
    framed_client *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return -1;
    c->fd = -1;
    c->payload = e->bytes;
    c->wcap = c->rcap = 64u * 1024u + 64u;
    c->wbuf = malloc(c->wcap);
    c->rbuf = malloc(c->rcap);
    e->client = c;
    if (c->wbuf == NULL || c->rbuf == NULL)
        return -1;
    c->fd = bench_raw_connect(e->endpoint);
    if (c->fd < 0) {
        perror("parley-bench call: framed connect");
        return -1;
    }
    return 0;
}

static void framed_close(bench_end *e)
{
    framed_client *c = e->client;

    if (c != NULL) {
        if (c->fd >= 0)
            close(c->fd);
        free(c->wbuf);
        free(c->rbuf);
        free(c);
    }
    e->client = NULL;
    bench_end_stop_server(e);
}

static void framed_set_size(bench_end *e, size_t n)
{
    framed_client *c = e->client;

    c->n = n;
    /* The blocking ping-pong needs room for one whole frame each way. */
    if (frame_bytes(c) <= BLOCKING_MAX) {
        reserve(&c->wbuf, &c->wcap, frame_bytes(c));
        reserve(&c->rbuf, &c->rcap, frame_bytes(c));
    }
}

const bench_impl bench_impl_framed = {
    "raw-framed",
    "framed raw echo: header parse, dispatch by function pointer, memcpy echo",
    framed_start, framed_connect, framed_close, framed_set_size, framed_pingpong_op,
    framed_pipelined,
};
