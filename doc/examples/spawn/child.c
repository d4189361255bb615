/* SPDX-License-Identifier: MIT */
/* node-child: started by node-parent with parley_peer_spawn_child(); serves
 * "node" on the socket it was given, then exits with the code asked for. */
#include <stdio.h>
#include <unistd.h>
#include "node.h"

static int exit_code;

static parley_status height(parley_call *call, const node_height_request *in,
                            node_height_reply *out, void *data)
{
    (void)call; (void)in; (void)data;
    out->height = 840000;
    out->pid = (uint32_t)getpid();
    return PARLEY_OK;
}

static parley_status stop(parley_call *call, const node_stop_request *in,
                          node_stop_reply *out, void *data)
{
    (void)call; (void)out; (void)data;
    exit_code = (int)in->code;
    return PARLEY_OK;
}

int main(int argc, char **argv)
{
    static const node_handlers handlers = {
        .height = { height, PARLEY_NONBLOCKING },
        .stop = { stop, PARLEY_NONBLOCKING },
    };
    parley_peer *peer;
    int status;

    if (parley_peer_new(NULL, &node_protocol, &peer) != PARLEY_OK ||
        node_register(peer, &handlers, NULL) != PARLEY_OK ||
        parley_peer_serve_spawned(peer, argc, argv, &status) != PARLEY_OK) {
        fprintf(stderr, "node-child: %s\n", parley_error_message());
        return 1;
    }
    talloc_free(peer);               /* returns once the parent dropped the session */
    return exit_code != 0 ? exit_code : status;
}
