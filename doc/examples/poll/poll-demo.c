/* SPDX-License-Identifier: MIT */
/* poll-demo unix:/tmp/adder.sock: one peer, driven by a plain poll() loop on
 * the main thread, serves "adder" on a socket and calls itself there:
 * asynchronous calls completed by the loop, then a synchronous one, which
 * runs the loop itself while it waits.  No thread is started. */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include "adder.h"

static pthread_t main_thread;
static int served_elsewhere;
static int pending;

static parley_status add(parley_call *call, const adder_add_request *in, adder_add_reply *out,
                         void *data)
{
    (void)call; (void)data;
    if (!pthread_equal(pthread_self(), main_thread))
        served_elsewhere++;
    out->sum = in->a + in->b;
    return PARLEY_OK;
}

static void added(parley_call *call, parley_status st, void *data)
{
    adder_add_reply **out = data;

    if (st == PARLEY_OK)
        printf("async: %d\n", (int)(*out)->sum);
    else
        printf("async: %s\n", parley_error_message());
    (void)call;
    pending--;
}

/* The application's loop: here plain poll(); with sd-event, GLib or libuv
 * the same descriptor and timeout go to their watchers (doc/runtime.md). */
static int run_until_done(parley_peer *peer)
{
    /* [snippet loop] */
    int fd, ms;

    if (parley_peer_get_fd(peer, &fd) != PARLEY_OK)
        return -1;
    while (pending > 0) {   /* the application's own condition */
        struct pollfd p = { fd, POLLIN, 0 };

        if (parley_peer_get_timeout(peer, &ms) != PARLEY_OK ||
            (poll(&p, 1, ms < 0 || ms > 10000 ? 10000 : ms) < 0) ||
            parley_peer_process(peer) != PARLEY_OK)
            return -1;
    }
    /* [/snippet] */
    return 0;
}

int main(int argc, char **argv)
{
    static const adder_handlers handlers = { .add = { add, PARLEY_BLOCKING } };
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    parley_session *session;
    parley_call *calls[3] = { NULL, NULL, NULL };
    adder_add_reply *replies[3] = { NULL, NULL, NULL }, *sync = NULL;
    parley_status st = PARLEY_ERR_INVALID_ARGUMENT;

    main_thread = pthread_self();
    if (argc != 2 || (st = parley_peer_new(mem, &adder_protocol, &peer)) != PARLEY_OK ||
        (st = adder_register(peer, &handlers, NULL)) != PARLEY_OK ||
        (st = parley_peer_set_application_loop(peer)) != PARLEY_OK ||
        (st = parley_peer_add_listen_endpoint(peer, argv[1], 0600)) != PARLEY_OK ||
        (st = parley_peer_start_listen(peer)) != PARLEY_OK ||
        (st = parley_peer_add_connect_endpoint(peer, argv[1])) != PARLEY_OK ||
        (st = parley_peer_connect(peer, &session)) != PARLEY_OK)   /* runs the loop */
        goto fail;
    for (int i = 0; i < 3; i++) {
        adder_add_request req = { i, 100 };

        if ((st = parley_session_acquire_call(session, &calls[i])) != PARLEY_OK)
            goto fail;
        st = adder_add_send(calls[i], &req, NULL, &replies[i], added, &replies[i]);
        if (st != PARLEY_PENDING)
            goto fail;
        pending++;
    }
    if (run_until_done(peer) != 0) {
        st = PARLEY_ERR_SYSTEM;
        goto fail;
    }
    for (int i = 0; i < 3; i++)
        parley_call_release(calls[i]);
    if ((st = adder_add(session, &(adder_add_request){ 20, 22 }, mem, &sync)) != PARLEY_OK)
        goto fail;
    printf("sync: %d\n", (int)sync->sum);
    printf("handlers on other threads: %d\n", served_elsewhere);
    parley_session_close(session);
    talloc_free(mem);
    return 0;
fail:
    fprintf(stderr, "poll-demo: %s: %s\n", parley_status_name(st), parley_error_message());
    talloc_free(mem);
    return 1;
}
