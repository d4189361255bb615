/* SPDX-License-Identifier: MIT */
/* channel-client NAME: MESSIP's messip_channel_connect (the channel is
 * found by name through parleyd), then synchronous messages with a
 * deadline, and asynchronous ones on one acquired call; a synchronous
 * message of type 0 ends the server.  It is synchronous on purpose: its reply comes after the
 * server took every message before it (one session is received in order),
 * whereas messages still queued when a session ends are dropped. */
#include <stdio.h>
#include <string.h>
#include "channel.h"

static parley_bytes text(const char *s)
{
    return (parley_bytes){ strlen(s), (uint8_t *)s };
}

int main(int argc, char **argv)      /* channel-client NAME */
{
    TALLOC_CTX *mem = talloc_new(NULL);
    char endpoint[200];
    parley_peer *peer;
    parley_session *session;
    parley_call *call = NULL;
    parley_status st = PARLEY_ERR_INVALID_ARGUMENT;
    const char *words[] = { "hello", "channel" };

    if (argc != 2) {
        fprintf(stderr, "usage: channel-client NAME\n");
        talloc_free(mem);
        return 2;
    }
    snprintf(endpoint, sizeof(endpoint), "name:%.150s", argv[1]);   /* the channel's name */
    if ((st = parley_peer_new(mem, &channel_protocol, &peer)) != PARLEY_OK ||
        (st = parley_peer_add_connect_endpoint(peer, endpoint)) != PARLEY_OK ||
        (st = parley_peer_connect(peer, &session)) != PARLEY_OK)
        goto out;
    /* synchronous: wait at most 2 s for each reply */
    for (unsigned i = 0; i < 2; i++) {
        channel_send_request in = { i + 1, text(words[i]) };
        channel_send_reply *rep;

        if ((st = channel_send_timeout(session, &in, 2000, mem, &rep)) != PARLEY_OK)
            goto out;
        printf("reply %d: %.*s\n", rep->status, (int)rep->reply.len,
               (const char *)rep->reply.data);
    }
    /* asynchronous: queued and gone, in order, on one call handle */
    if ((st = parley_session_acquire_call(session, &call)) != PARLEY_OK)
        goto out;
    for (unsigned i = 1; i <= 3; i++) {
        char buf[32];
        channel_post_request in = { i, text(buf) };

        snprintf(buf, sizeof(buf), "event %u", i);
        in.data = text(buf);
        if ((st = channel_post_send(call, &in, NULL, NULL)) != PARLEY_OK)
            goto out;
    }
    {
        channel_send_request quit = { 0, text("quit") };
        channel_send_reply *rep;

        if ((st = channel_send_timeout(session, &quit, 2000, mem, &rep)) == PARLEY_OK)
            printf("reply %d: %.*s\n", rep->status, (int)rep->reply.len,
                   (const char *)rep->reply.data);
    }
out:
    if (st != PARLEY_OK)
        fprintf(stderr, "channel-client: %s: %s\n", parley_status_name(st),
                parley_error_message());
    parley_call_release(call);
    talloc_free(mem);                /* the peer: its output is sent before it closes */
    return st == PARLEY_OK ? 0 : 1;
}
