/* SPDX-License-Identifier: MIT */
/* The program the spawn tests start with parley_peer_spawn():
 *
 *   fd_child [--max-fds N] [--marker PATH] [--linger] [--status N]
 *            [--exit-now N] [--check-signals]
 *
 * Serves "fdtest" on the socket its parent gave it.  When that session ends
 * it writes PATH (if given) and exits 0 (or N of --status); with --linger it
 * then ignores SIGTERM and sleeps 30 s instead (a child that will not exit).
 * --exit-now N exits with N before serving; --check-signals exits with 9
 * before serving unless its signal mask is empty and SIGPIPE, SIGUSR1 and
 * SIGINT are at their default actions. */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd_proto.h"

int main(int argc, char **argv)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    const char *marker = NULL;
    int status = 1;
    int linger = 0;
    int final_status = -1;

    if (parley_peer_new(mem, fdt_protocol(), &peer) != PARLEY_OK || fdt_serve(peer) != PARLEY_OK)
        goto fail;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--max-fds") == 0 && i + 1 < argc) {
            if (parley_peer_set_max_fds(peer, (unsigned)atoi(argv[++i])) != PARLEY_OK)
                goto fail;
        } else if (strcmp(argv[i], "--marker") == 0 && i + 1 < argc) {
            marker = argv[++i];
        } else if (strcmp(argv[i], "--linger") == 0) {
            linger = 1;
        } else if (strcmp(argv[i], "--status") == 0 && i + 1 < argc) {
            final_status = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--exit-now") == 0 && i + 1 < argc) {
            _exit(atoi(argv[++i]));
        } else if (strcmp(argv[i], "--check-signals") == 0) {
            sigset_t mask;
            const int sigs[] = { SIGPIPE, SIGUSR1, SIGINT };

            if (sigprocmask(SIG_SETMASK, NULL, &mask) != 0 || !sigisemptyset(&mask))
                _exit(9);
            for (size_t k = 0; k < sizeof(sigs) / sizeof(sigs[0]); k++) {
                struct sigaction sa;

                if (sigaction(sigs[k], NULL, &sa) != 0 || sa.sa_handler != SIG_DFL)
                    _exit(9);
            }
        }
    }
    if (parley_peer_serve_spawned(peer, argc, argv, &status) != PARLEY_OK)
        goto fail;
    if (final_status >= 0)
        status = final_status;
    talloc_free(mem);
    if (marker != NULL) {
        int fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

        if (fd >= 0)
            close(fd);
    }
    if (linger) {
        signal(SIGTERM, SIG_IGN);
        sleep(30);
    }
    return status;
fail:
    fprintf(stderr, "fd_child: %s\n", parley_error_message());
    talloc_free(mem);
    return 1;
}
