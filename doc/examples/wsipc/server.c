/* SPDX-License-Identifier: MIT */
/* WSIPC-style server: accepts clients of known sites only, seeing each
 * client's identity (host, site, vector time) before the session exists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "wsipc.h"

static uint32_t known[16];
static size_t n_known;

/* [snippet hook] */
static parley_status construct(parley_session *session, void *data, void **ret_session_data)
{
    const void *v;
    const wsipc_host_info *client;
    char why[128];

    (void)data; (void)ret_session_data;
    if (parley_session_get_hello_value(session, &v) != PARLEY_OK)
        return PARLEY_ERR_INTERNAL;
    client = v;
    for (size_t i = 0; i < n_known; i++) {
        if (known[i] == client->site) {
            fprintf(stderr, "server: site %u on %s joined at a vector time of %zu entries\n",
                    client->site, client->host, client->n_vtime);
            return PARLEY_OK;
        }
    }
    snprintf(why, sizeof(why), "site %u is not a site of this working set", client->site);
    parley_session_set_refusal(session, why);
    return PARLEY_ERR_ACCESS_DENIED;
}
/* [/snippet] */

static parley_status delta(parley_call *call, const wsipc_delta_request *in,
                           wsipc_delta_reply *out, void *data)
{
    (void)call; (void)data; (void)in->site;
    out->applied = in->data.len;
    return PARLEY_OK;
}

int main(int argc, char **argv)      /* server unix:/tmp/ws.sock SITE... */
{
    static const wsipc_handlers handlers = { .delta = { delta, PARLEY_NONBLOCKING } };
    uint64_t vtime[2] = { 3, 1 };
    wsipc_host_info me = { "server-host", 1, 2, vtime };
    parley_peer *peer;

    for (int i = 2; i < argc && n_known < 16; i++)
        known[n_known++] = (uint32_t)strtoul(argv[i], NULL, 10);
    if (argc < 3 || parley_peer_new(NULL, &wsipc_protocol, &peer) != PARLEY_OK ||
        wsipc_register(peer, &handlers, NULL) != PARLEY_OK ||
        parley_peer_set_session_functions(peer, construct, NULL, NULL) != PARLEY_OK ||
        parley_peer_set_hello_values(peer, NULL, &me) != PARLEY_OK ||
        parley_peer_add_listen_endpoint(peer, argv[1], 0600) != PARLEY_OK ||
        parley_peer_start_listen(peer) != PARLEY_OK) {
        fprintf(stderr, "server: %s\n", parley_error_message());
        return 1;
    }
    pause();                         /* served on Parley's threads until a signal */
    return 0;
}
