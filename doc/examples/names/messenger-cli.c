/* SPDX-License-Identifier: MIT */
/*
 * messenger: Vczh Messenger's client on Parley.  The "host" is the host's
 * parleyd, run with a broker port; programs attach to it under a name and
 * are addressed as ip\port\name, port being parleyd's TCP port.
 *
 *   messenger attach NAME            attach (CONNECT_TO_HOST), print what comes
 *   messenger send IP\PORT\NAME FROM MESSAGE      COMMUNICATE
 *   messenger list IP\PORT           REQUEST_LIST: the names attached there
 *
 * An attached program listens nowhere: parleyd hands it each connection
 * made for it on the broker port (one port per host).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "messenger.h"

static parley_status on_communicate(parley_call *call, const messenger_communicate_request *in,
                                    messenger_communicate_reply *out, void *data)
{
    (void)call; (void)out; (void)data;
    printf("from %s: %.*s\n", in->from, (int)in->msg.len, (const char *)in->msg.data);
    fflush(stdout);
    return PARLEY_OK;
}

static int fail(TALLOC_CTX *mem, parley_status st)
{
    fprintf(stderr, "messenger: %s: %s\n", parley_status_name(st), parley_error_message());
    talloc_free(mem);
    return 1;
}

int main(int argc, char **argv)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    parley_status st;
    char ip[64], port[16], name[PARLEY_NAME_MAX + 1], where[256];

    if (argc == 3 && strcmp(argv[1], "attach") == 0) {
        static const messenger_handlers handlers = {
            .communicate = { on_communicate, PARLEY_NONBLOCKING },
        };
        sigset_t stop;
        int sig;

        sigemptyset(&stop);
        sigaddset(&stop, SIGINT);
        sigaddset(&stop, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &stop, NULL);
        if ((st = parley_peer_new(mem, &messenger_protocol, &peer)) != PARLEY_OK ||
            (st = messenger_register(peer, &handlers, NULL)) != PARLEY_OK ||
            (st = parley_peer_register_name(peer, argv[2], PARLEY_NAME_BROKERED)) != PARLEY_OK)
            return fail(mem, st);
        printf("attached as %s\n", argv[2]);
        fflush(stdout);
        sigwait(&stop, &sig);
    } else if (argc == 5 && strcmp(argv[1], "send") == 0 &&
               sscanf(argv[2], "%63[^\\]\\%15[^\\]\\%128s", ip, port, name) == 3) {
        messenger_communicate_request in = { argv[3], { strlen(argv[4]), (uint8_t *)argv[4] } };
        messenger_communicate_reply *out;
        parley_session *s;

        snprintf(where, sizeof(where), "name:%s@tcp:%s:%s", name, ip, port);
        if ((st = parley_peer_new(mem, &messenger_protocol, &peer)) != PARLEY_OK ||
            (st = parley_peer_add_connect_endpoint(peer, where)) != PARLEY_OK ||
            (st = parley_peer_connect(peer, &s)) != PARLEY_OK ||
            (st = messenger_communicate(s, &in, mem, &out)) != PARLEY_OK)
            return fail(mem, st);
    } else if (argc == 3 && strcmp(argv[1], "list") == 0 &&
               sscanf(argv[2], "%63[^\\]\\%15s", ip, port) == 2) {
        parley_name_info *infos;
        size_t n;

        snprintf(where, sizeof(where), "tcp:%s:%s", ip, port);
        if ((st = parley_name_list(mem, where, "*", &infos, &n)) != PARLEY_OK)
            return fail(mem, st);
        for (size_t i = 0; i < n; i++)
            printf("%s\\%s\\%s (%s, pid %d)\n", ip, port, infos[i].name, infos[i].protocol,
                   (int)infos[i].pid);
    } else {
        fprintf(stderr, "usage: messenger attach NAME | send IP\\PORT\\NAME FROM MESSAGE | "
                "list IP\\PORT\n");
        talloc_free(mem);
        return 2;
    }
    talloc_free(mem);
    return 0;
}
