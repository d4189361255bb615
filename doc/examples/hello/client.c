/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include "hello.h"

int main(int argc, char **argv)      /* client unix:/tmp/hello.sock world */
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    parley_session *session;
    hello_greet_reply *out;
    parley_status st = PARLEY_ERR_INVALID_ARGUMENT;

    if (argc == 3 && (st = parley_peer_new(mem, &hello_protocol, &peer)) == PARLEY_OK &&
        (st = parley_peer_add_connect_endpoint(peer, argv[1])) == PARLEY_OK &&
        (st = parley_peer_connect(peer, &session)) == PARLEY_OK &&
        (st = hello_greet(session, &(hello_greet_request){ argv[2] }, mem, &out)) == PARLEY_OK)
        printf("%s\n", out->text);
    else
        fprintf(stderr, "client: %s: %s\n", parley_status_name(st), parley_error_message());
    talloc_free(mem);                /* the peer, its session and the reply */
    return st == PARLEY_OK ? 0 : 1;
}
