/* SPDX-License-Identifier: MIT */
/*
 * parley-bench call: the sd-bus row: sd-bus (libsystemd) peer to peer, no
 * bus daemon, echoing a byte array ("ay").
 *
 * Server (a child process): for each accepted connection, a bus on its fd
 * with sd_bus_set_server() and an id, ANONYMOUS authentication allowed (the
 * same on unix and TCP sockets), an object with a vtable method Echo(ay) ->
 * ay that replies with the request's bytes, and the usual sd_bus_process() /
 * sd_bus_wait() loop.  Client: a bus on the connected socket; ping-pong with
 * sd_bus_call(); pipelined with sd_bus_call_async(), each reply's callback
 * sending the next call, and sd_bus_process() / sd_bus_wait() until done.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "bench.h"
#include "bench_call.h"

#define OBJ_PATH "/org/parley/Bench"
#define IFACE "org.parley.Bench"

/* ---- server ------------------------------------------------------------------- */

static int method_echo(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
    sd_bus_message *reply = NULL;
    const void *p;
    size_t n;
    int r;

    (void)userdata;
    (void)error;
    r = sd_bus_message_read_array(m, 'y', &p, &n);
    if (r < 0)
        return r;
    r = sd_bus_message_new_method_return(m, &reply);
    if (r >= 0)
        r = sd_bus_message_append_array(reply, 'y', p, n);
    if (r >= 0)
        r = sd_bus_send(sd_bus_message_get_bus(m), reply, NULL);
    sd_bus_message_unref(reply);
    return r < 0 ? r : 1;
}

static const sd_bus_vtable echo_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Echo", "ay", "ay", method_echo, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END,
};

static void serve(int fd)
{
    sd_bus *bus = NULL;
    sd_id128_t id;
    int r;

    r = sd_id128_randomize(&id);
    if (r >= 0)
        r = sd_bus_new(&bus);
    if (r >= 0)
        r = sd_bus_set_fd(bus, fd, fd);
    if (r >= 0)
        r = sd_bus_set_server(bus, 1, id);
    if (r >= 0)
        r = sd_bus_set_anonymous(bus, 1);
    if (r >= 0)
        r = sd_bus_add_object_vtable(bus, NULL, OBJ_PATH, IFACE, echo_vtable, NULL);
    if (r >= 0)
        r = sd_bus_start(bus);
    while (r >= 0) {
        r = sd_bus_process(bus, NULL);
        if (r == 0)
            r = sd_bus_wait(bus, UINT64_MAX);
    }
    if (bus != NULL)
        sd_bus_close_unref(bus);   /* closes fd */
    else
        close(fd);
}

static void sdbus_server_main(int lfd)
{
    for (;;) {
        int fd = bench_accept(lfd);

        if (fd < 0)
            _exit(errno == EINTR ? 0 : 1);
        serve(fd);
    }
}

/* ---- client ------------------------------------------------------------------- */

typedef struct sdbus_client {
    sd_bus *bus;
    const uint8_t *payload;
    size_t n;
    /* pipelined state */
    uint64_t started, done, target;
    int failed;
} sdbus_client;

static int check_reply(sdbus_client *c, sd_bus_message *reply)
{
    const void *p;
    size_t len;
    int r;

    if (sd_bus_message_is_method_error(reply, NULL)) {
        fprintf(stderr, "parley-bench call: sd-bus: %s\n",
                sd_bus_message_get_error(reply)->message);
        return -1;
    }
    r = sd_bus_message_read_array(reply, 'y', &p, &len);
    if (r < 0 || len != c->n) {
        fprintf(stderr, "parley-bench call: sd-bus echo: bad reply (%s)\n",
                r < 0 ? strerror(-r) : "length");
        return -1;
    }
    bench_sink += len > 0 ? ((const uint8_t *)p)[0] : 0;
    return 0;
}

static int new_call(sdbus_client *c, sd_bus_message **ret)
{
    int r = sd_bus_message_new_method_call(c->bus, ret, NULL, OBJ_PATH, IFACE, "Echo");

    if (r >= 0)
        r = sd_bus_message_append_array(*ret, 'y', c->payload, c->n);
    if (r < 0) {
        *ret = sd_bus_message_unref(*ret);
        fprintf(stderr, "parley-bench call: sd-bus message: %s\n", strerror(-r));
    }
    return r;
}

static int sdbus_pingpong_op(void *arg)
{
    sdbus_client *c = arg;
    sd_bus_message *m = NULL, *reply = NULL;
    sd_bus_error error = SD_BUS_ERROR_NULL;
    int r, rc = -1;

    if (new_call(c, &m) < 0)
        return -1;
    r = sd_bus_call(c->bus, m, 0, &error, &reply);
    if (r < 0)
        fprintf(stderr, "parley-bench call: sd-bus call: %s\n",
                error.message != NULL ? error.message : strerror(-r));
    else
        rc = check_reply(c, reply);
    sd_bus_error_free(&error);
    sd_bus_message_unref(reply);
    sd_bus_message_unref(m);
    return rc;
}

static int send_async(sdbus_client *c);

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
    sdbus_client *c = userdata;

    (void)error;
    c->done++;
    if (check_reply(c, reply) != 0)
        c->failed = 1;
    else if (c->started < c->target && send_async(c) < 0)
        c->failed = 1;
    return 0;
}

static int send_async(sdbus_client *c)
{
    sd_bus_message *m = NULL;
    int r = new_call(c, &m);

    if (r >= 0)
        r = sd_bus_call_async(c->bus, NULL, m, on_reply, c, 0);
    sd_bus_message_unref(m);
    if (r >= 0)
        c->started++;
    return r;
}

static int sdbus_pipelined(void *arg, unsigned inflight, uint64_t n)
{
    sdbus_client *c = arg;
    int r = 0;

    c->started = c->done = 0;
    c->target = n;
    c->failed = 0;
    for (unsigned i = 0; i < inflight && c->started < n; i++)
        if (send_async(c) < 0)
            return -1;
    while (c->done < c->started && !c->failed) {
        r = sd_bus_process(c->bus, NULL);
        if (r == 0)
            r = sd_bus_wait(c->bus, UINT64_MAX);
        if (r < 0) {
            fprintf(stderr, "parley-bench call: sd-bus: %s\n", strerror(-r));
            return -1;
        }
    }
    return c->failed ? -1 : 0;
}

static int sdbus_start(bench_end *e, int server_cpu)
{
    return bench_end_fork_server(e, server_cpu, sdbus_server_main);
}

static int sdbus_connect(bench_end *e)
{
    sdbus_client *c = calloc(1, sizeof(*c));
    int fd, r;

    if (c == NULL)
        return -1;
    c->payload = e->bytes;
    e->client = c;
    fd = bench_raw_connect(e->endpoint);
    if (fd < 0) {
        perror("parley-bench call: sd-bus connect");
        return -1;
    }
    r = sd_bus_new(&c->bus);
    if (r >= 0)
        r = sd_bus_set_fd(c->bus, fd, fd);
    if (r < 0)
        close(fd);
    if (r >= 0)
        r = sd_bus_set_anonymous(c->bus, 1);
    if (r >= 0)
        r = sd_bus_start(c->bus);
    if (r < 0) {
        fprintf(stderr, "parley-bench call: sd-bus client: %s\n", strerror(-r));
        return -1;
    }
    return 0;
}

static void sdbus_close(bench_end *e)
{
    sdbus_client *c = e->client;

    if (c != NULL) {
        if (c->bus != NULL)
            sd_bus_close_unref(c->bus);
        free(c);
    }
    e->client = NULL;
    bench_end_stop_server(e);
}

static void sdbus_set_size(bench_end *e, size_t n)
{
    sdbus_client *c = e->client;

    c->n = n;
}

const bench_impl bench_impl_sdbus = {
    "sd-bus", "sd-bus peer to peer (libsystemd): sd_bus_call; pipelined: sd_bus_call_async",
    sdbus_start, sdbus_connect, sdbus_close, sdbus_set_size, sdbus_pingpong_op, sdbus_pipelined,
};
