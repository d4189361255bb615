/* SPDX-License-Identifier: MIT */
/*
 * channel-client NAME MESSAGE: MESSIP's messip_channel_connect, then a
 * synchronous send (prints the reply) and an asynchronous post.
 */
#include <stdio.h>
#include <string.h>

#include "channel.h"

int main(int argc, char **argv)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    char endpoint[160];
    parley_peer *peer;
    parley_session *s;
    channel_send_reply *reply;
    parley_status st;

    if (argc != 3) {
        fprintf(stderr, "usage: channel-client NAME MESSAGE\n");
        return 2;
    }
    channel_send_request in = { { strlen(argv[2]), (uint8_t *)argv[2] } };
    channel_post_request post = { { strlen(argv[2]), (uint8_t *)argv[2] } };

    snprintf(endpoint, sizeof(endpoint), "name:%s", argv[1]);   /* the channel's name */
    if ((st = parley_peer_new(mem, &channel_protocol, &peer)) != PARLEY_OK ||
        (st = parley_peer_add_connect_endpoint(peer, endpoint)) != PARLEY_OK ||
        (st = parley_peer_connect(peer, &s)) != PARLEY_OK ||
        (st = channel_send(s, &in, mem, &reply)) != PARLEY_OK ||
        (st = channel_post(s, &post)) != PARLEY_OK) {
        fprintf(stderr, "channel-client: %s: %s\n", parley_status_name(st), parley_error_message());
        talloc_free(mem);
        return 1;
    }
    printf("reply: %.*s\n", (int)reply->reply.len, (const char *)reply->reply.data);
    talloc_free(mem);
    return 0;
}
