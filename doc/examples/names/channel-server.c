/* SPDX-License-Identifier: MIT */
/* channel-server NAME: MESSIP's messip_channel_create and messip_receive.
 * The channel is a name registered with parleyd (it vanishes with this
 * process); there are no handlers: the main thread receives each message in
 * turn with a timeout (parley_peer_receive) and answers the synchronous ones
 * itself.  A synchronous message of type 0 ends it. */
#include <stdio.h>
#include <string.h>
#include "channel.h"

enum { QUEUE_CAPACITY = 16 };

/* A synchronous message: the reply is the data upper-cased. */
static parley_status answer(parley_call *call)
{
    const void *req;
    void *rep;

    if (parley_call_get_request(call, NULL, &req) != PARLEY_OK ||
        parley_call_get_reply(call, NULL, &rep) != PARLEY_OK)
        return PARLEY_ERR_INTERNAL;
    const channel_send_request *in = req;
    channel_send_reply *out = rep;

    printf("send %u: %.*s\n", in->type, (int)in->data.len, (const char *)in->data.data);
    out->reply.data = talloc_size(out, in->data.len + 1);
    if (out->reply.data == NULL)
        return PARLEY_ERR_NOMEM;
    for (size_t i = 0; i < in->data.len; i++)
        out->reply.data[i] = (uint8_t)(in->data.data[i] >= 'a' && in->data.data[i] <= 'z' ?
                                       in->data.data[i] - 'a' + 'A' : in->data.data[i]);
    out->reply.len = in->data.len;
    out->status = (int32_t)in->type;
    return PARLEY_OK;
}

int main(int argc, char **argv)      /* channel-server NAME */
{
    const uint32_t methods[] = { CHANNEL_METHOD_SEND, CHANNEL_METHOD_POST };
    char endpoint[200];
    parley_peer *peer;
    unsigned timeouts = 0;
    int done = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: channel-server NAME\n");
        return 2;
    }
    /* where the channel listens matters to nobody: clients find it by name */
    snprintf(endpoint, sizeof(endpoint), "unix:@channel-%.150s", argv[1]);
    if (parley_peer_new(NULL, &channel_protocol, &peer) != PARLEY_OK ||
        parley_peer_add_queue(peer, methods, 2, QUEUE_CAPACITY) != PARLEY_OK ||
        parley_peer_add_listen_endpoint(peer, endpoint, 0) != PARLEY_OK ||
        parley_peer_start_listen(peer) != PARLEY_OK ||
        parley_peer_register_name(peer, argv[1], 0) != PARLEY_OK) {   /* the channel */
        fprintf(stderr, "channel-server: %s\n", parley_error_message());
        return 1;
    }
    printf("channel %s created\n", argv[1]);
    fflush(stdout);
    while (!done) {
        parley_call *call;
        parley_status st = parley_peer_receive(peer, 500, &call);

        if (st == PARLEY_ERR_TIMEOUT) {          /* nothing for 500 ms: do other work */
            timeouts++;
            continue;
        }
        if (st != PARLEY_OK) {
            fprintf(stderr, "channel-server: %s\n", parley_error_message());
            break;
        }
        const void *req = NULL;

        parley_call_get_request(call, NULL, &req);
        if (parley_call_get_method(call)->id == CHANNEL_METHOD_SEND) {
            st = answer(call);
            done = ((const channel_send_request *)req)->type == 0;
        } else {
            const channel_post_request *in = req;

            printf("post %u: %.*s\n", in->type, (int)in->data.len, (const char *)in->data.data);
            st = PARLEY_OK;
        }
        parley_call_complete(call, st);          /* sends the reply; frees the call */
        fflush(stdout);
    }
    printf("done\n");
    fprintf(stderr, "channel-server: %u receive timeouts\n", timeouts);
    talloc_free(peer);
    return done ? 0 : 1;
}
