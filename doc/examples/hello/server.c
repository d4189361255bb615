/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <unistd.h>
#include "hello.h"

static parley_status greet(parley_call *call, const hello_greet_request *in,
                           hello_greet_reply *out, void *data)
{
    (void)call; (void)data;
    out->text = talloc_asprintf(out, "hello, %s", in->name);   /* freed with the reply */
    return out->text != NULL ? PARLEY_OK : PARLEY_ERR_NOMEM;
}

int main(int argc, char **argv)      /* server unix:/tmp/hello.sock */
{
    static const hello_handlers handlers = { .greet = { greet, PARLEY_NONBLOCKING } };
    parley_peer *peer;

    if (argc != 2 || parley_peer_new(NULL, &hello_protocol, &peer) != PARLEY_OK ||
        hello_register(peer, &handlers, NULL) != PARLEY_OK ||
        parley_peer_add_listen_endpoint(peer, argv[1], 0600) != PARLEY_OK ||
        parley_peer_start_listen(peer) != PARLEY_OK) {
        fprintf(stderr, "server: %s\n", parley_error_message());
        return 1;
    }
    pause();                         /* calls are served on Parley's threads until a signal */
    return 0;
}
