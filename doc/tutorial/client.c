/* SPDX-License-Identifier: MIT */
/* The tutorial's client (doc/tutorial.md):
 *   notes-client [-t MS] ENDPOINT add TITLE TEXT | get ID | wait ID | add-all TITLE...
 * The [snippet] comments mark what the tutorial quotes. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "notes.h"

/* [snippet fail] */
/* Say why a call failed: the status by name, then the sentence. */
static int fail(parley_call *call, parley_status st)
{
    int32_t code;
    const char *message;

    if (st == PARLEY_ERR_REMOTE &&
        parley_call_get_remote_error(call, &code, &message) == PARLEY_OK)
        fprintf(stderr, "notes-client: %s: %s\n", parley_status_name(st), message);
    else
        fprintf(stderr, "notes-client: %s: %s\n", parley_status_name(st), parley_error_message());
    return 1;
}
/* [/snippet] */

/* [snippet progress] */
/* notes_progress.progress: the server calls it while add_all runs. */
static parley_status progress(parley_call *call, const notes_progress_request *in,
                              notes_progress_reply *out, void *data)
{
    (void)call; (void)out; (void)data;
    printf("progress: %u of %u\n", (unsigned)in->done, (unsigned)in->total);
    return PARLEY_OK;
}
/* [/snippet] */

static int run(parley_call *call, TALLOC_CTX *mem, int argc, char **argv)
{
    parley_status st;

    /* [snippet add] */
    if (strcmp(argv[0], "add") == 0 && argc == 3) {
        notes_add_request in = { { argv[1], argv[2] } };
        notes_add_reply *out;

        if ((st = notes_add_send(call, &in, mem, &out, NULL, NULL)) != PARLEY_OK)
            return fail(call, st);
        printf("added note %u\n", (unsigned)out->id);
        return 0;
    }
    /* [/snippet] */
    /* [snippet get] */
    if (strcmp(argv[0], "get") == 0 && argc == 2) {
        notes_get_request in = { (uint32_t)strtoul(argv[1], NULL, 10) };
        notes_get_reply *out;

        if ((st = notes_get_send(call, &in, mem, &out, NULL, NULL)) != PARLEY_OK)
            return fail(call, st);
        printf("%s: %s\n", out->n.title, out->n.text);
        return 0;
    }
    /* [/snippet] */
    /* [snippet wait] */
    if (strcmp(argv[0], "wait") == 0 && argc == 2) {
        notes_wait_request in = { (uint32_t)strtoul(argv[1], NULL, 10) };
        notes_wait_reply *out;

        if ((st = notes_wait_send(call, &in, mem, &out, NULL, NULL)) != PARLEY_OK)
            return fail(call, st);   /* with -t: PARLEY_ERR_TIMEOUT when nobody adds it */
        printf("%s: %s\n", out->n.title, out->n.text);
        return 0;
    }
    /* [/snippet] */
    /* [snippet add_all] */
    if (strcmp(argv[0], "add-all") == 0 && argc >= 2) {
        notes_note *items = talloc_zero_array(mem, notes_note, argc - 1);
        notes_add_all_request in = { (size_t)argc - 1, items };
        notes_add_all_reply *out;

        for (int i = 1; i < argc; i++)
            items[i - 1] = (notes_note){ argv[i], (char *)"" };
        if ((st = notes_add_all_send(call, &in, mem, &out, NULL, NULL)) != PARLEY_OK)
            return fail(call, st);
        printf("added notes %u to %u\n", (unsigned)out->first,
               (unsigned)(out->first + in.n_items - 1));
        return 0;
    }
    /* [/snippet] */
    fprintf(stderr, "usage: notes-client [-t MS] ENDPOINT add TITLE TEXT | get ID | wait ID"
            " | add-all TITLE...\n");
    return 2;
}

/* [snippet main] */
int main(int argc, char **argv)
{
    static const notes_handlers callbacks = { .progress = { progress, PARLEY_NONBLOCKING } };
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    parley_session *session;
    parley_call *call = NULL;
    long timeout_ms = 0;
    parley_status st;
    int opt, ret = 1;

    while ((opt = getopt(argc, argv, "+t:")) != -1)
        if (opt == 't')
            timeout_ms = atol(optarg);
    if (argc - optind < 2) {
        fprintf(stderr, "usage: notes-client [-t MS] ENDPOINT COMMAND [ARG]...\n");
        return 2;
    }
    if ((st = parley_peer_new(mem, &notes_protocol, &peer)) != PARLEY_OK ||
        (st = notes_register(peer, &callbacks, NULL)) != PARLEY_OK ||   /* we serve progress */
        (st = parley_peer_add_connect_endpoint(peer, argv[optind])) != PARLEY_OK ||
        (st = parley_peer_connect(peer, &session)) != PARLEY_OK ||
        (st = parley_session_acquire_call(session, &call)) != PARLEY_OK ||
        (timeout_ms > 0 && (st = parley_call_set_timeout(call, timeout_ms)) != PARLEY_OK))
        ret = fail(call, st);
    else
        ret = run(call, mem, argc - optind - 1, argv + optind + 1);
    parley_call_release(call);
    talloc_free(mem);             /* the peer, its session and every reply */
    return ret;
}
/* [/snippet] */
