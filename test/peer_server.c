/* SPDX-License-Identifier: MIT */
/* A test server process for the runtime's integration tests.
 *
 *   peer_server VARIANT [--workers N] [--max-message N] ENDPOINT...   listen
 *   peer_server VARIANT --fd N                                        serve fd N
 *
 * VARIANT: v1, v2, add64, other.  Prints "READY <first bound endpoint>" on
 * stdout once listening, then serves until its stdin reaches EOF, frees the
 * peer and exits 0.  Any failure: a message on stderr and exit 1. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_proto.h"

static int fail(const char *what)
{
    fprintf(stderr, "peer_server: %s: %s\n", what, parley_error_message());
    return 1;
}

int main(int argc, char **argv)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    tp_variant v;
    int fd = -1, n_ep = 0;
    char *bound = NULL;
    char buf[64];

    if (argc < 3) {
        fprintf(stderr, "usage: peer_server VARIANT [--fd N | ENDPOINT...]\n");
        return 1;
    }
    if (strcmp(argv[1], "v1") == 0)
        v = TP_V1;
    else if (strcmp(argv[1], "v2") == 0)
        v = TP_V2_COMPAT;
    else if (strcmp(argv[1], "add64") == 0)
        v = TP_V2_ADD64;
    else
        v = TP_OTHER;
    if (parley_peer_new(mem, tp_protocol(v), &peer) != PARLEY_OK)
        return fail("parley_peer_new");
    if (v != TP_V2_ADD64 && tp_serve(peer) != PARLEY_OK)
        return fail("tp_serve");
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--fd") == 0 && i + 1 < argc) {
            fd = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
            if (parley_peer_set_workers(peer, (unsigned)atoi(argv[++i])) != PARLEY_OK)
                return fail("set_workers");
        } else if (strcmp(argv[i], "--max-message") == 0 && i + 1 < argc) {
            if (parley_peer_set_max_message_size(peer, (size_t)atol(argv[++i])) != PARLEY_OK)
                return fail("set_max_message_size");
        } else {
            if (parley_peer_add_listen_endpoint(peer, argv[i], 0600) != PARLEY_OK)
                return fail(argv[i]);
            n_ep++;
        }
    }
    if (fd >= 0) {
        if (parley_peer_accept_fd(peer, fd) != PARLEY_OK)
            return fail("accept_fd");
        printf("READY fd:%d\n", fd);
    } else {
        if (n_ep == 0 || parley_peer_start_listen(peer) != PARLEY_OK)
            return fail("start_listen");
        if (parley_peer_get_listen_endpoint(peer, 0, mem, &bound) != PARLEY_OK)
            return fail("get_listen_endpoint");
        printf("READY %s\n", bound);
    }
    fflush(stdout);
    while (read(0, buf, sizeof(buf)) > 0)
        ;
    talloc_free(mem);
    return 0;
}
