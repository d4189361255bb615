/* SPDX-License-Identifier: MIT */
/* A test server of the every protocol (test/idl/ok/every.idl) for the
 * parley-call tests.
 *
 *   introspect_server [--no-introspection] ENDPOINT    listen; "READY" on stdout
 *   introspect_server [--no-introspection] --spawned   serve parley_peer_spawn()'s parent
 *   introspect_server --mute PATH                      accept on a unix socket, never answer
 *   introspect_server --zoo ENDPOINT                   the zoo protocol, introspection only
 *   introspect_server --tls-psk ID:HEXKEY tls:HOST:PORT  TLS with a pre-shared key;
 *                                                      "listening on ENDPOINT" first
 *
 * Methods served: prim_echo (the request back), nothing, multi (n = a; a
 * negative a is a remote error with code a), ping and notify (oneway), and
 * progress (sleeps `done` ms, then go_on = true).  Listening, it runs until
 * SIGTERM or SIGINT. */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "every.h"
#include "zoo.h"

/* --zoo: a protocol over the hand-written zoo descriptors and shapes that
 * one IDL declarator cannot write (a sequence of arrays, an array of
 * sequences, an optional optional), served for introspection only. */
typedef struct exotic {
    size_t n_grid;
    int32_t (*grid)[2];          /* int32[2] grid<> */
    parley_seq lists[2];         /* int32 lists<>[2] */
    int32_t **twice;             /* optional optional int32 */
} exotic;
static const parley_type pair_type = PARLEY_ARRAY_TYPE("int32[2]", int32_t, parley_type_int32, 2);
static const parley_type grid_type = PARLEY_SEQUENCE_TYPE("int32[2]<>", pair_type, 0);
static const parley_type list_type = PARLEY_SEQUENCE_TYPE("int32<>", parley_type_int32, 0);
static const parley_type lists_type = PARLEY_ARRAY_TYPE("int32<>[2]", parley_seq, list_type, 2);
static const parley_type opt_type = PARLEY_OPTIONAL_TYPE("optional int32", parley_type_int32);
static const parley_type twice_type = PARLEY_OPTIONAL_TYPE("optional optional int32", opt_type);
static const parley_field exotic_fields[] = {
    PARLEY_SEQ_FIELD(exotic, grid, grid_type),
    PARLEY_FIELD(exotic, lists, lists_type),
    PARLEY_FIELD(exotic, twice, twice_type),
};
static const parley_type exotic_type = PARLEY_STRUCT_TYPE(exotic, exotic_fields);
typedef struct zoo_req { zoo_all all; zoo_node node; } zoo_req;
typedef struct zoo_rep { zoo_value value; exotic e; zoo_num num; } zoo_rep;
static const parley_field zoo_req_fields[] = {
    PARLEY_FIELD(zoo_req, all, zoo_all_type),
    PARLEY_FIELD(zoo_req, node, zoo_node_type),
};
static const parley_field zoo_rep_fields[] = {
    PARLEY_FIELD(zoo_rep, value, zoo_value_type),
    PARLEY_FIELD(zoo_rep, e, exotic_type),
    PARLEY_FIELD(zoo_rep, num, zoo_num_type),
};
static const parley_type zoo_req_type = PARLEY_STRUCT_TYPE(zoo_req, zoo_req_fields);
static const parley_type zoo_rep_type = PARLEY_STRUCT_TYPE(zoo_rep, zoo_rep_fields);
static parley_method zoo_methods[] = {
    { 1, "everything", "zoo", &zoo_req_type, &zoo_rep_type, 0, 0 },
    { 7, "tell", "zoo_events", &zoo_rep_type, NULL, 0, PARLEY_METHOD_ONEWAY },
};
static const char *const zoo_interfaces[] = { "zoo", "zoo_events" };
static parley_protocol zoo_protocol = {
    PARLEY_ABI_VERSION, "zoo", 3, zoo_methods, 2, zoo_interfaces, 2, NULL, 0, NULL, NULL
};

static const parley_protocol *zoo(void)
{
    zoo_methods[0].fingerprint = parley_method_fingerprint(&zoo_req_type, &zoo_rep_type);
    zoo_methods[1].fingerprint = parley_method_fingerprint(&zoo_rep_type, NULL);
    /* the named types, but the handle: its name "cursor" is not one the
     * IDL of protocol zoo can give (it would be zoo_cursor) */
    zoo_protocol.types = zoo_types;
    zoo_protocol.n_types = zoo_n_types - 1;
    return &zoo_protocol;
}

static parley_status prim_echo(parley_call *call, const every_prim_echo_request *in,
                               every_prim_echo_reply *out, void *data)
{
    (void)call;
    (void)data;
    out->p = in->p;       /* the request lives until the reply is sent */
    return PARLEY_OK;
}

static parley_status nothing(parley_call *call, const every_nothing_request *in,
                             every_nothing_reply *out, void *data)
{
    (void)call;
    (void)in;
    (void)out;
    (void)data;
    return PARLEY_OK;
}

static parley_status multi(parley_call *call, const every_multi_request *in,
                           every_multi_reply *out, void *data)
{
    (void)data;
    if (in->a < 0) {
        parley_call_set_remote_error(call, in->a, "a is negative");
        return PARLEY_ERR_REMOTE;
    }
    out->n = in->a + (int32_t)in->n_b;
    return PARLEY_OK;
}

static parley_status ping(parley_call *call, const every_ping_request *in, void *data)
{
    (void)call;
    (void)in;
    (void)data;
    return PARLEY_OK;
}

static parley_status notify(parley_call *call, const every_notify_request *in, void *data)
{
    (void)call;
    (void)in;
    (void)data;
    return PARLEY_OK;
}

static parley_status progress(parley_call *call, const every_progress_request *in,
                              every_progress_reply *out, void *data)
{
    struct timespec ts = { in->done / 1000, (long)(in->done % 1000) * 1000000L };

    (void)call;
    (void)data;
    nanosleep(&ts, NULL);
    out->go_on = true;
    return PARLEY_OK;
}

static int fail(const char *what)
{
    fprintf(stderr, "introspect_server: %s: %s\n", what, parley_error_message());
    return 1;
}

/* Accept connections and never answer: a peer whose handshake never ends. */
static int mute(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int s = socket(AF_UNIX, SOCK_STREAM, 0);

    if (s < 0 || strlen(path) >= sizeof(sa.sun_path))
        return 1;
    memcpy(sa.sun_path, path, strlen(path));
    unlink(path);
    if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(s, 8) != 0)
        return 1;
    printf("READY\n");
    fflush(stdout);
    for (;;) {
        int c = accept(s, NULL, NULL);

        if (c < 0)
            return 1;
        /* kept open, never written */
    }
}

int main(int argc, char **argv)
{
    static const every_handlers handlers = {
        .prim_echo = { prim_echo, PARLEY_NONBLOCKING },
        .nothing = { nothing, PARLEY_NONBLOCKING },
        .multi = { multi, PARLEY_NONBLOCKING },
        .ping = { ping, PARLEY_NONBLOCKING },
        .notify = { notify, PARLEY_NONBLOCKING },
        .progress = { progress, PARLEY_BLOCKING },
    };
    TALLOC_CTX *mem = talloc_new(NULL);
    parley_peer *peer;
    const parley_protocol *protocol = &every_protocol;
    bool introspection = true;
    char *psk = NULL, *psk_key = NULL;
    int i = 1, status = 0;
    sigset_t set;
    int sig;

    /* before the peer's threads exist, so that they inherit the mask */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);

    if (argc > 2 && strcmp(argv[1], "--mute") == 0)
        return mute(argv[2]);
    if (i < argc && strcmp(argv[i], "--zoo") == 0) {
        protocol = zoo();
        i++;
    }
    if (i + 1 < argc && strcmp(argv[i], "--tls-psk") == 0) {
        psk = talloc_strdup(mem, argv[i + 1]);
        psk_key = psk != NULL ? strchr(psk, ':') : NULL;
        if (psk_key == NULL) {
            fprintf(stderr, "introspect_server: --tls-psk ID:HEXKEY\n");
            return 1;
        }
        *psk_key++ = '\0';
        i += 2;
    }
    if (i < argc && strcmp(argv[i], "--no-introspection") == 0) {
        introspection = false;
        i++;
    }
    if (i != argc - 1) {
        fprintf(stderr, "usage: introspect_server [--no-introspection] ENDPOINT|--spawned\n");
        return 1;
    }
    if (strcmp(argv[i], "--spawned") != 0)
        pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (parley_peer_new(mem, protocol, &peer) != PARLEY_OK)
        return fail("parley_peer_new");
    if (protocol == &every_protocol && every_register(peer, &handlers, NULL) != PARLEY_OK)
        return fail("every_register");
    if (parley_peer_set_introspection(peer, introspection) != PARLEY_OK)
        return fail("parley_peer_set_introspection");
    if (psk != NULL && parley_peer_set_tls_psk(peer, psk, psk_key) != PARLEY_OK)
        return fail("parley_peer_set_tls_psk");
    if (strcmp(argv[i], "--spawned") == 0) {
        if (parley_peer_serve_spawned(peer, argc, argv, &status) != PARLEY_OK)
            return fail("parley_peer_serve_spawned");
    } else {
        if (parley_peer_add_listen_endpoint(peer, argv[i], 0600) != PARLEY_OK ||
            parley_peer_start_listen(peer) != PARLEY_OK)
            return fail(argv[i]);
        if (psk != NULL) {
            char *name = NULL;

            if (parley_peer_get_listen_endpoint(peer, 0, mem, &name) != PARLEY_OK)
                return fail("parley_peer_get_listen_endpoint");
            printf("listening on %s\n", name);
        }
        printf("READY\n");
        fflush(stdout);
        sigwait(&set, &sig);
    }
    talloc_free(mem);
    return status;
}
