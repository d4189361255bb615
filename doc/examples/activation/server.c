/* SPDX-License-Identifier: MIT */
/* A socket-activated server (the hello protocol): under systemd it serves
 * the sockets of its .socket unit, started by hand the endpoints on its
 * command line.  It says on stderr how each session ended, and exits when
 * it has served `count` sessions (0: never).
 *
 *   activated-server [--count N] [ENDPOINT...] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hello.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done = PTHREAD_COND_INITIALIZER;
static unsigned ended, count;

static parley_status greet(parley_call *call, const hello_greet_request *in,
                           hello_greet_reply *out, void *data)
{
    const char *greeting = parley_call_get_dispatch_data(call);   /* == data */

    (void)data;
    out->text = talloc_asprintf(out, "%s, %s", greeting, in->name);
    return out->text != NULL ? PARLEY_OK : PARLEY_ERR_NOMEM;
}

/* Every session's end, on the I/O thread: must not block. */
static void session_ended(parley_session *session, parley_close_reason reason,
                          parley_status status, const char *message, void *data)
{
    (void)session; (void)data;
    fprintf(stderr, "session ended: %s (%s): %s\n", parley_close_reason_name(reason),
            parley_status_name(status), message);
    pthread_mutex_lock(&lock);
    if (++ended == count)
        pthread_cond_signal(&done);
    pthread_mutex_unlock(&lock);
}

int main(int argc, char **argv)
{
    static const hello_handlers handlers = { .greet = { greet, PARLEY_NONBLOCKING } };
    static char greeting[] = "hello";
    parley_socket_options opts;
    parley_peer *peer;
    size_t n = 0;
    int i = 1;

    if (argc > 2 && strcmp(argv[1], "--count") == 0) {
        count = (unsigned)strtoul(argv[2], NULL, 10);
        i = 3;
    }
    parley_socket_options_init(&opts);
    opts.keepalive = 1;              /* TCP peers that vanish are noticed */
    opts.keepalive_idle_s = 60;
    if (parley_peer_new(NULL, &hello_protocol, &peer) != PARLEY_OK ||
        hello_register(peer, &handlers, greeting) != PARLEY_OK ||
        parley_peer_set_socket_options(peer, &opts) != PARLEY_OK ||
        parley_peer_set_session_close_function(peer, session_ended, NULL) != PARLEY_OK ||
        parley_peer_add_systemd_listen_fds(peer, NULL, &n) != PARLEY_OK)
        goto fail;
    if (n == 0 && i >= argc) {
        fprintf(stderr, "activated-server: not socket-activated and no endpoint given\n");
        return 2;
    }
    for (; n == 0 && i < argc; i++)  /* started by hand */
        if (parley_peer_add_listen_endpoint(peer, argv[i], 0600) != PARLEY_OK)
            goto fail;
    if (parley_peer_start_listen(peer) != PARLEY_OK)
        goto fail;
    pthread_mutex_lock(&lock);
    while (count == 0 || ended < count)
        pthread_cond_wait(&done, &lock);
    pthread_mutex_unlock(&lock);
    talloc_free(peer);
    return 0;
fail:
    fprintf(stderr, "activated-server: %s\n", parley_error_message());
    return 1;
}
