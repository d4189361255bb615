/* SPDX-License-Identifier: MIT */
/* The consumer: encode and decode a generated type through the installed
 * library, check the generated protocol table, then serve the protocol on a
 * unix socket in a temporary directory and call it from a second peer in the
 * same program.  Exit 0 when every check holds; otherwise print what failed
 * and exit 1. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <parley.h>
#include <talloc.h>

#include "greet.h"

static int failures;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s (%s)\n", __FILE__,        \
                    __LINE__, #cond, parley_error_message());                  \
            failures++;                                                        \
        }                                                                      \
    } while (0)

static void codec_round_trip(void)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    int32_t xs[3] = { -1, 0, 70000 };
    greet_note tail = { .who = "tail", .m = GREET_MOOD_CALM, .n = 2 };
    greet_note head = { .who = "head", .m = GREET_MOOD_GLAD, .n = 1,
                        .n_xs = 3, .xs = xs, .next = &tail };
    uint8_t *wire = NULL;
    size_t len = 0;
    greet_note *back = NULL;
    char *text = NULL;

    CHECK(parley_data_encode(mem, &greet_note_type, &head, NULL, &wire, &len) == PARLEY_OK);
    CHECK(len > 0);
    CHECK(parley_data_decode(mem, &greet_note_type, wire, len, NULL, (void **)&back)
          == PARLEY_OK);
    if (back != NULL) {
        CHECK(parley_data_equal(&greet_note_type, &head, back));
        CHECK(strcmp(back->who, "head") == 0 && back->n_xs == 3 && back->xs[2] == 70000);
        CHECK(back->next != NULL && strcmp(back->next->who, "tail") == 0);
        CHECK(parley_data_print(mem, &greet_note_type, back, &text) == PARLEY_OK);
        if (text != NULL)
            printf("decoded: %s\n", text);
        /* one free releases the whole decoded graph */
        talloc_free(back);
    }
    /* a truncated encoding is refused with a sentence, not a crash */
    back = NULL;
    CHECK(parley_data_decode(mem, &greet_note_type, wire, len - 1, NULL, (void **)&back)
          == PARLEY_ERR_MALFORMED);
    CHECK(back == NULL);
    CHECK(strlen(parley_error_message()) > 0);
    talloc_free(text);
    talloc_free(wire);
    CHECK(talloc_total_blocks(mem) == 1);
    talloc_free(mem);
}

static void protocol_table(void)
{
    const parley_method *m;

    CHECK(strcmp(greet_protocol.name, "greet") == 0);
    CHECK(greet_protocol.version == 1);
    m = parley_protocol_find_method(&greet_protocol, GREET_METHOD_HELLO);
    CHECK(m != NULL);
    if (m != NULL)
        CHECK(strcmp(m->name, "hello") == 0);
}

/* ---- a server and a client over a unix socket ------------------------------ */

typedef struct greeter {
    uint32_t count;
} greeter;

static parley_status hello_impl(parley_call *call, const greet_hello_request *in,
                                greet_hello_reply *out, void *data)
{
    greeter *g = data;

    (void)call;
    out->text = talloc_asprintf(out, "hello, %s", in->name);
    if (out->text == NULL)
        return PARLEY_ERR_NOMEM;
    out->count = ++g->count;
    return PARLEY_OK;
}

static parley_status echo_impl(parley_call *call, const greet_echo_request *in,
                               greet_echo_reply *out, void *data)
{
    (void)call;
    (void)data;
    out->back.who = talloc_strdup(out, in->n.who);
    if (out->back.who == NULL)
        return PARLEY_ERR_NOMEM;
    out->back.m = in->n.m;
    out->back.n = in->n.n + 1;
    return PARLEY_OK;
}

static void call_over_socket(void)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    char dir[] = "/tmp/greet-app.XXXXXX";
    char *endpoint = NULL, *path = NULL;
    parley_peer *server = NULL, *client = NULL;
    parley_session *session = NULL;
    greeter g = { 0 };
    const greet_handlers handlers = {
        .hello = { hello_impl, PARLEY_NONBLOCKING },
        .echo = { echo_impl, PARLEY_BLOCKING },
    };
    greet_hello_request hello = { .name = (char *)"consumer" };
    greet_hello_reply *hello_out = NULL;
    greet_echo_request echo = { .n = { .who = (char *)"me", .m = GREET_MOOD_GLAD, .n = 41 } };
    greet_echo_reply *echo_out = NULL;
    struct stat sb;

    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        failures++;
        talloc_free(mem);
        return;
    }
    path = talloc_asprintf(mem, "%s/greet.sock", dir);
    endpoint = talloc_asprintf(mem, "unix:%s", path);

    CHECK(parley_peer_new(mem, &greet_protocol, &server) == PARLEY_OK);
    CHECK(parley_peer_new(mem, &greet_protocol, &client) == PARLEY_OK);
    if (server == NULL || client == NULL)
        goto done;
    CHECK(greet_register(server, &handlers, &g) == PARLEY_OK);
    CHECK(parley_peer_add_listen_endpoint(server, endpoint, 0600) == PARLEY_OK);
    CHECK(parley_peer_start_listen(server) == PARLEY_OK);
    CHECK(stat(path, &sb) == 0 && S_ISSOCK(sb.st_mode) && (sb.st_mode & 0777) == 0600);

    CHECK(parley_peer_add_connect_endpoint(client, endpoint) == PARLEY_OK);
    CHECK(parley_peer_connect(client, &session) == PARLEY_OK);
    if (session == NULL)
        goto done;

    for (uint32_t i = 1; i <= 3; i++) {
        hello_out = NULL;
        CHECK(greet_hello(session, &hello, mem, &hello_out) == PARLEY_OK);
        if (hello_out != NULL) {
            CHECK(strcmp(hello_out->text, "hello, consumer") == 0);
            CHECK(hello_out->count == i);
            if (i == 3)
                printf("call: %s (%u)\n", hello_out->text, (unsigned)hello_out->count);
            talloc_free(hello_out);
        }
    }
    CHECK(greet_echo(session, &echo, mem, &echo_out) == PARLEY_OK);
    if (echo_out != NULL) {
        CHECK(strcmp(echo_out->back.who, "me") == 0);
        CHECK(echo_out->back.m == GREET_MOOD_GLAD && echo_out->back.n == 42);
        talloc_free(echo_out);
    }

    /* once the server stops, its socket file is gone and calls fail cleanly */
    CHECK(parley_peer_stop_listen(server) == PARLEY_OK);
    CHECK(stat(path, &sb) != 0);
    hello_out = NULL;
    CHECK(greet_hello(session, &hello, mem, &hello_out) != PARLEY_OK);
    CHECK(hello_out == NULL);

done:
    talloc_free(client);
    talloc_free(server);
    unlink(path);
    rmdir(dir);
    talloc_free(mem);
}

int main(void)
{
    codec_round_trip();
    protocol_table();
    call_over_socket();
    if (failures != 0) {
        fprintf(stderr, "greet-app: %d check(s) failed\n", failures);
        return 1;
    }
    printf("greet-app: ok\n");
    return 0;
}
