/* SPDX-License-Identifier: MIT */
/* WSIPC-style client: says who it is in its HELLO and reads who the
 * server is from the session, then sends one delta. */
#include <stdio.h>
#include <stdlib.h>
#include "wsipc.h"

int main(int argc, char **argv)      /* client unix:/tmp/ws.sock SITE */
{
    TALLOC_CTX *mem = talloc_new(NULL);
    uint64_t vtime[2] = { 2, 5 };
    wsipc_host_info me = { "client-host", 0, 2, vtime };
    const void *v;
    const wsipc_host_info *server;
    parley_peer *peer;
    parley_session *session;
    wsipc_delta_reply *out;
    uint8_t bytes[3] = { 1, 2, 3 };
    parley_status st = PARLEY_ERR_INVALID_ARGUMENT;

    if (argc == 3)
        me.site = (uint32_t)strtoul(argv[2], NULL, 10);
    if (argc == 3 && (st = parley_peer_new(mem, &wsipc_protocol, &peer)) == PARLEY_OK &&
        (st = parley_peer_set_hello_values(peer, &me, NULL)) == PARLEY_OK &&
        (st = parley_peer_add_connect_endpoint(peer, argv[1])) == PARLEY_OK &&
        (st = parley_peer_connect(peer, &session)) == PARLEY_OK &&
        (st = parley_session_get_hello_value(session, &v)) == PARLEY_OK) {
        server = v;
        printf("connected to site %u on %s, vector time", server->site, server->host);
        for (size_t i = 0; i < server->n_vtime; i++)
            printf(" %llu", (unsigned long long)server->vtime[i]);
        printf("\n");
        st = wsipc_delta(session, &(wsipc_delta_request){ me.site, { 3, bytes } }, mem, &out);
        if (st == PARLEY_OK)
            printf("applied %llu bytes\n", (unsigned long long)out->applied);
    }
    if (st != PARLEY_OK)
        fprintf(stderr, "client: %s: %s\n", parley_status_name(st), parley_error_message());
    talloc_free(mem);                /* the peer, its session and the reply */
    return st == PARLEY_OK ? 0 : 1;
}
