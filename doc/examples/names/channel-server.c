/* SPDX-License-Identifier: MIT */
/*
 * channel-server NAME: MESSIP's messip_channel_create + receive/reply loop.
 * The channel is a name registered with parleyd; it vanishes when this
 * process does.  Each `send` is answered with the message reversed; each
 * `post` is printed.  Stops on SIGINT or SIGTERM.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>

#include "channel.h"

static parley_status on_send(parley_call *call, const channel_send_request *in,
                             channel_send_reply *out, void *data)
{
    (void)call; (void)data;
    out->reply.len = in->msg.len;
    out->reply.data = talloc_size(out, in->msg.len + 1);
    if (out->reply.data == NULL)
        return PARLEY_ERR_NOMEM;
    for (size_t i = 0; i < in->msg.len; i++)
        out->reply.data[i] = in->msg.data[in->msg.len - 1 - i];
    return PARLEY_OK;
}

static parley_status on_post(parley_call *call, const channel_post_request *in, void *data)
{
    (void)call; (void)data;
    printf("posted: %.*s\n", (int)in->msg.len, (const char *)in->msg.data);
    fflush(stdout);
    return PARLEY_OK;
}

int main(int argc, char **argv)
{
    static const channel_handlers handlers = {
        .send = { on_send, PARLEY_BLOCKING },
        .post = { on_post, PARLEY_BLOCKING },
    };
    char endpoint[64];
    parley_peer *peer;
    sigset_t stop;
    int sig;

    if (argc != 2) {
        fprintf(stderr, "usage: channel-server NAME\n");
        return 2;
    }
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    snprintf(endpoint, sizeof(endpoint), "unix:@channel-%s", argv[1]);
    if (parley_peer_new(NULL, &channel_protocol, &peer) != PARLEY_OK ||
        channel_register(peer, &handlers, NULL) != PARLEY_OK ||
        parley_peer_add_listen_endpoint(peer, endpoint, 0) != PARLEY_OK ||
        parley_peer_start_listen(peer) != PARLEY_OK ||
        parley_peer_register_name(peer, argv[1], 0) != PARLEY_OK) {
        fprintf(stderr, "channel-server: %s\n", parley_error_message());
        return 1;
    }
    printf("channel %s created\n", argv[1]);
    fflush(stdout);
    sigwait(&stop, &sig);
    talloc_free(peer);
    return 0;
}
