/* SPDX-License-Identifier: MIT */
/* The clock client on Parley, from the same clock.x (parley-idl --xdr):
 *   client unix:/tmp/clock.sock UTC
 * Compare with rpcgen/client.c: a peer and a session instead of
 * clnt_create(), a status instead of a NULL result, talloc_free() instead of
 * clnt_freeres(). */
#include <stdio.h>
#include "clock.h"

int main(int argc, char **argv)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    parley_session *session;
    clock_clock_now_1_reply *out;
    parley_status st = PARLEY_ERR_INVALID_ARGUMENT;

    if (argc == 3 && (st = parley_peer_new(mem, &clock_protocol, &peer)) == PARLEY_OK &&
        (st = parley_peer_add_connect_endpoint(peer, argv[1])) == PARLEY_OK &&
        (st = parley_peer_connect(peer, &session)) == PARLEY_OK &&
        (st = clock_clock_now_1(session, &(clock_clock_now_1_request){ argv[2] }, mem,
                                &out)) == PARLEY_OK) {
        if (out->res.status == CLOCK_STATUS_CLOCK_OK)
            printf("%s %lld.%09u\n", argv[2], (long long)out->res.u.now.seconds,
                   (unsigned)out->res.u.now.nanos);
        else
            printf("%s: unknown zone\n", argv[2]);
    } else {
        fprintf(stderr, "client: %s: %s\n", parley_status_name(st), parley_error_message());
    }
    talloc_free(mem);                /* the peer, its session and the reply */
    return st == PARLEY_OK ? 0 : 1;
}
