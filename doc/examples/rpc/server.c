/* SPDX-License-Identifier: MIT */
/* The clock server on Parley, from the same clock.x (parley-idl --xdr):
 *   server unix:/tmp/clock.sock
 * Compare with rpcgen/server.c: the procedure is a handler that fills the
 * reply it is given (memory under it is freed with it), returns a status,
 * and is registered with clock_register() instead of rpcgen's main(). */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"

static parley_status null_1(parley_call *call, const clock_clock_null_1_request *in,
                            clock_clock_null_1_reply *out, void *data)
{
    (void)call; (void)in; (void)out; (void)data;
    return PARLEY_OK;
}

static parley_status now_1(parley_call *call, const clock_clock_now_1_request *in,
                           clock_clock_now_1_reply *out, void *data)
{
    struct timespec ts;

    (void)call; (void)data;
    if (strcmp(in->arg, "UTC") != 0) {
        out->res.status = CLOCK_STATUS_CLOCK_UNKNOWN_ZONE;
        return PARLEY_OK;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    out->res.status = CLOCK_STATUS_CLOCK_OK;
    out->res.u.now.seconds = ts.tv_sec;
    out->res.u.now.nanos = (uint32_t)ts.tv_nsec;
    return PARLEY_OK;
}

int main(int argc, char **argv)
{
    static const clock_handlers handlers = {
        .clock_null_1 = { null_1, PARLEY_NONBLOCKING },
        .clock_now_1 = { now_1, PARLEY_NONBLOCKING },
    };
    parley_peer *peer;

    if (argc != 2 || parley_peer_new(NULL, &clock_protocol, &peer) != PARLEY_OK ||
        clock_register(peer, &handlers, NULL) != PARLEY_OK ||
        parley_peer_add_listen_endpoint(peer, argv[1], 0600) != PARLEY_OK ||
        parley_peer_start_listen(peer) != PARLEY_OK) {
        fprintf(stderr, "server: %s\n", parley_error_message());
        return 1;
    }
    pause();                         /* calls are served on Parley's threads until a signal */
    return 0;
}
