/* SPDX-License-Identifier: MIT */
/*
 * kv: the command-line client of the demo key-value service (kvd).
 *
 *   kv [-e ENDPOINT] [-t MS] COMMAND [ARG]...
 *
 * The source is kv-client.c, not kv.c: parley-idl makes kv.c and kv.h from
 * kv.idl, and the two must not share a name.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <talloc.h>

#include "kv.h"

static const char usage_text[] =
    "usage: kv [-e ENDPOINT] [-t MS] COMMAND [ARG]...\n"
    "  put KEY VALUE       store VALUE under KEY\n"
    "  get KEY             print KEY's value\n"
    "  del KEY             delete KEY\n"
    "  scan [PREFIX]       list the keys with PREFIX, through a cursor\n"
    "  watch [-n N] [PREFIX]  print changes of keys with PREFIX (N of them, then exit)\n"
    "  wait KEY [VERSION]  wait until KEY has a version newer than VERSION\n"
    "  snapshot FILE       have the server write the store into FILE\n"
    "  log LINE            send a line to the server's log (oneway)\n"
    "  -e ENDPOINT  the server (default: $KV_ENDPOINT, else unix:kvd.sock)\n"
    "  -t MS        give up on a call after MS milliseconds (default: none)\n";

typedef struct kv_client {
    TALLOC_CTX *mem;
    parley_peer *peer;
    parley_session *session;
    parley_call *call;      /* every command's calls go through this one */
    const char *what;       /* the command, for messages */
    /* watch: the callbacks received */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned changes;
} kv_client;

/* Print why a call failed: the status by name, then the sentence. */
static int failed(kv_client *c, parley_status st)
{
    int32_t code;
    const char *message;

    if (st == PARLEY_ERR_REMOTE && c->call != NULL &&
        parley_call_get_remote_error(c->call, &code, &message) == PARLEY_OK)
        fprintf(stderr, "kv: %s: %s: %s (code %d)\n", c->what, parley_status_name(st), message,
                (int)code);
    else
        fprintf(stderr, "kv: %s: %s: %s\n", c->what, parley_status_name(st),
                parley_error_message());
    return 1;
}

static void print_entry(const kv_entry *e)
{
    printf("%s = %.*s (version %llu)\n", e->key, (int)e->value.len, (const char *)e->value.data,
           (unsigned long long)e->version);
}

static int cmd_put(kv_client *c, char **args)
{
    kv_put_request in = { args[0], { strlen(args[1]), (uint8_t *)args[1] } };
    kv_put_reply *out;
    parley_status st = kv_put_send(c->call, &in, c->mem, &out, NULL, NULL);

    if (st != PARLEY_OK)
        return failed(c, st);
    printf("put %s: version %llu\n", args[0], (unsigned long long)out->version);
    return 0;
}

static int cmd_get(kv_client *c, char **args)
{
    kv_get_request in = { args[0] };
    kv_get_reply *out;
    parley_status st = kv_get_send(c->call, &in, c->mem, &out, NULL, NULL);

    if (st != PARLEY_OK)
        return failed(c, st);
    print_entry(&out->e);
    return 0;
}

static int cmd_del(kv_client *c, char **args)
{
    kv_del_request in = { args[0] };
    kv_del_reply *out;
    parley_status st = kv_del_send(c->call, &in, c->mem, &out, NULL, NULL);

    if (st != PARLEY_OK)
        return failed(c, st);
    printf("del %s: %s\n", args[0], out->existed ? "deleted" : "no such key");
    return 0;
}

/* scan: a cursor handle from the server, read two entries at a time. */
static int cmd_scan(kv_client *c, char **args)
{
    kv_scan_request in = { args[0] != NULL ? args[0] : (char *)"" };
    kv_scan_reply *cur;
    kv_next_reply *batch;
    unsigned batches = 0, n = 0;
    parley_status st = kv_scan_send(c->call, &in, c->mem, &cur, NULL, NULL);

    if (st != PARLEY_OK)
        return failed(c, st);
    for (;;) {
        kv_next_request next = { cur->c, 2 };
        if ((st = kv_next_send(c->call, &next, c->mem, &batch, NULL, NULL)) != PARLEY_OK)
            return failed(c, st);
        if (batch->n_items == 0)
            break;
        batches++;
        for (size_t i = 0; i < batch->n_items; i++, n++)
            print_entry(&batch->items[i]);
        talloc_free(batch);
    }
    {
        kv_close_request close_in = { cur->c };
        kv_close_reply *closed;
        if ((st = kv_close_send(c->call, &close_in, c->mem, &closed, NULL, NULL)) != PARLEY_OK)
            return failed(c, st);
    }
    printf("%u entries with prefix '%s' (%u batches through a cursor)\n", n, in.prefix, batches);
    return 0;
}

/* kv_watch.changed: the server calls it on this client (on the I/O thread). */
static parley_status on_changed(parley_call *call, const kv_changed_request *in,
                                kv_changed_reply *out, void *data)
{
    kv_client *c = data;

    (void)call; (void)out;
    printf("changed: %s %s (version %llu)\n", in->key, in->deleted ? "deleted" : "set",
           (unsigned long long)in->version);
    fflush(stdout);
    pthread_mutex_lock(&c->lock);
    c->changes++;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
    return PARLEY_OK;
}

static int cmd_watch(kv_client *c, char **args)
{
    unsigned want = 0;   /* 0: forever */
    kv_watch_request in = { (char *)"" };
    kv_watch_reply *out;
    parley_status st;

    if (args[0] != NULL && strcmp(args[0], "-n") == 0 && args[1] != NULL) {
        want = (unsigned)atoi(args[1]);
        args += 2;
    }
    if (args[0] != NULL)
        in.prefix = args[0];
    if ((st = kv_watch_send(c->call, &in, c->mem, &out, NULL, NULL)) != PARLEY_OK)
        return failed(c, st);
    printf("watching keys with prefix '%s'\n", in.prefix);
    fflush(stdout);
    pthread_mutex_lock(&c->lock);
    while ((want == 0 || c->changes < want) && parley_session_is_connected(c->session)) {
        struct timespec again;
        clock_gettime(CLOCK_REALTIME, &again);
        again.tv_sec += 1;   /* look at the session again now and then */
        pthread_cond_timedwait(&c->cond, &c->lock, &again);
    }
    pthread_mutex_unlock(&c->lock);
    return want != 0 && c->changes >= want ? 0 : 1;
}

static int cmd_wait(kv_client *c, char **args)
{
    kv_wait_request in = { args[0], args[1] != NULL ? strtoull(args[1], NULL, 10) : 0 };
    kv_wait_reply *out;
    parley_status st = kv_wait_send(c->call, &in, c->mem, &out, NULL, NULL);

    if (st != PARLEY_OK)
        return failed(c, st);
    print_entry(&out->e);
    return 0;
}

/* snapshot: the descriptor travels with the request (SCM_RIGHTS). */
static int cmd_snapshot(kv_client *c, char **args)
{
    int fd = open(args[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    kv_snapshot_request in = { fd };
    kv_snapshot_reply *out;
    parley_status st;

    if (fd < 0) {
        fprintf(stderr, "kv: snapshot: %s: %s\n", args[0], strerror(errno));
        return 1;
    }
    st = kv_snapshot_send(c->call, &in, c->mem, &out, NULL, NULL);
    close(fd);   /* the server has its own copy */
    if (st != PARLEY_OK)
        return failed(c, st);
    printf("snapshot: %u %s written to %s\n", (unsigned)out->count,
           out->count == 1 ? "entry" : "entries", args[0]);
    return 0;
}

static int cmd_log(kv_client *c, char **args)
{
    kv_log_request in = { args[0] };
    parley_status st = kv_log(c->session, &in);

    return st != PARLEY_OK ? failed(c, st) : 0;
}

static const struct command {
    const char *name;
    int min_args, max_args;
    int (*run)(kv_client *c, char **args);
} commands[] = {
    { "put", 2, 2, cmd_put },
    { "get", 1, 1, cmd_get },
    { "del", 1, 1, cmd_del },
    { "scan", 0, 1, cmd_scan },
    { "watch", 0, 3, cmd_watch },
    { "wait", 1, 2, cmd_wait },
    { "snapshot", 1, 1, cmd_snapshot },
    { "log", 1, 1, cmd_log },
};

int main(int argc, char **argv)
{
    kv_client c = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
    const char *endpoint = getenv("KV_ENDPOINT");
    const struct command *cmd = NULL;
    int64_t timeout_ms = 0;
    kv_handlers callbacks = { .changed = { on_changed, PARLEY_NONBLOCKING } };
    parley_status st;
    int opt, nargs, ret = 1;

    while ((opt = getopt(argc, argv, "+e:t:h")) != -1) {
        switch (opt) {
        case 'e':
            endpoint = optarg;
            break;
        case 't':
            timeout_ms = atoll(optarg);
            break;
        default:
            fputs(usage_text, opt == 'h' ? stdout : stderr);
            return opt == 'h' ? 0 : 2;
        }
    }
    for (size_t i = 0; optind < argc && i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[optind], commands[i].name) == 0)
            cmd = &commands[i];
    nargs = argc - optind - 1;
    if (cmd == NULL || nargs < cmd->min_args || nargs > cmd->max_args) {
        fputs(usage_text, stderr);
        return 2;
    }
    c.what = argv[optind];
    if (endpoint == NULL)
        endpoint = "unix:kvd.sock";

    c.mem = talloc_new(NULL);
    if ((st = parley_peer_new(c.mem, &kv_protocol, &c.peer)) != PARLEY_OK ||
        (st = kv_register(c.peer, &callbacks, &c)) != PARLEY_OK ||   /* we serve kv_watch */
        (st = parley_peer_add_connect_endpoint(c.peer, endpoint)) != PARLEY_OK ||
        (st = parley_peer_connect(c.peer, &c.session)) != PARLEY_OK ||
        (st = parley_session_acquire_call(c.session, &c.call)) != PARLEY_OK ||
        (timeout_ms > 0 && (st = parley_call_set_timeout(c.call, timeout_ms)) != PARLEY_OK)) {
        ret = failed(&c, st);
        goto done;
    }
    ret = cmd->run(&c, &argv[optind + 1]);
done:
    parley_call_release(c.call);
    talloc_free(c.mem);   /* the peer, its session, every reply */
    return ret;
}
