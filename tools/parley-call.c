/* SPDX-License-Identifier: MIT */
/*
 * parley-call: talk to any Parley peer without its IDL, by introspection.
 *
 *   parley-call info ADDRESS
 *   parley-call list ADDRESS
 *   parley-call introspect ADDRESS [METHOD|TYPE]...
 *   parley-call call [--json=pretty|short] [--oneway] ADDRESS METHOD [JSON|-]
 *   parley-call monitor [--json] [--count N] ADDRESS
 *
 * Common option: --timeout MS.  ADDRESS is any endpoint Parley connects to
 * (unix:/path, unix:@name, tcp:host:port, fd:N) or exec:PROGRAM [ARGS] (one
 * argument, split at spaces: the program is spawned as a Parley child).
 * parley-call(1) is the manual; the exit statuses are in parley-call.h.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <talloc.h>

#include "parley-call.h"

#define DEFAULT_TIMEOUT_MS 10000

typedef struct options {
    int64_t timeout_ms;
    bool pretty;
    bool oneway;
    bool json;            /* monitor: --json */
    long long count;      /* monitor: stop after this many events (0: never) */
} options;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: parley-call [--timeout MS] info ADDRESS\n"
            "       parley-call [--timeout MS] list ADDRESS\n"
            "       parley-call [--timeout MS] introspect ADDRESS [METHOD|TYPE]...\n"
            "       parley-call [--timeout MS] [--json=pretty|short] [--oneway] call ADDRESS "
            "METHOD [JSON|-]\n"
            "       parley-call [--timeout MS] [--json] [--count N] monitor ADDRESS\n"
            "       parley-call --help | --version\n"
            "ADDRESS: unix:/path, unix:@name, tcp:host:port, fd:N, name:SERVICE[@NAMES-ADDRESS],\n"
            "         or 'exec:PROGRAM [ARGS]'\n");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "parley-call: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    usage(stderr);
    return PC_EXIT_USAGE;
}

/* The exit status of a failure to connect or introspect. */
static int connect_status(parley_status st)
{
    switch (st) {
    case PARLEY_ERR_TIMEOUT: return PC_EXIT_TIMEOUT;
    case PARLEY_ERR_INVALID_ARGUMENT: return PC_EXIT_USAGE;
    case PARLEY_ERR_NOMEM: return PC_EXIT_FAILURE;
    default: return PC_EXIT_CONNECT;
    }
}

/* The exit status of a failed call (introspection included). */
static int call_status(parley_status st)
{
    switch (st) {
    case PARLEY_ERR_TIMEOUT: return PC_EXIT_TIMEOUT;
    case PARLEY_ERR_CONNECTION_CLOSED: return PC_EXIT_CONNECT;
    case PARLEY_ERR_INVALID_ARGUMENT: case PARLEY_ERR_NOMEM: return PC_EXIT_FAILURE;
    default: return PC_EXIT_REMOTE;
    }
}

static int fail(int code, parley_status st, const char *what)
{
    fprintf(stderr, "parley-call: %s: %s (%s)\n", what, parley_error_message(),
            parley_status_name(st));
    return code;
}

/* Split "exec:PROGRAM ARGS" at spaces into a NULL-terminated argv. */
static char **exec_argv(TALLOC_CTX *mem, const char *address)
{
    char *copy = talloc_strdup(mem, address + strlen("exec:"));
    char **argv = talloc_zero_array(mem, char *, 1);
    size_t n = 0;
    char *save = NULL;

    if (copy == NULL || argv == NULL)
        return NULL;
    for (char *tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        char **more = talloc_realloc(mem, argv, char *, n + 2);

        if (more == NULL)
            return NULL;
        argv = more;
        argv[n++] = tok;
        argv[n] = NULL;
    }
    return n > 0 ? argv : NULL;
}

/* A session of peer with ADDRESS: connected, or a spawned child. */
static int open_session(parley_peer *peer, const char *address, const options *o,
                        parley_session **ret_session)
{
    parley_status st = PARLEY_OK;

    if (o->timeout_ms > 0)
        st = parley_peer_set_timeout(peer, PARLEY_TIMEOUT_ESTABLISH, o->timeout_ms);
    if (st == PARLEY_OK)
        st = parley_peer_set_timeout(peer, PARLEY_TIMEOUT_CALL, o->timeout_ms);
    if (st != PARLEY_OK)
        return fail(PC_EXIT_USAGE, st, "--timeout");
    if (strncmp(address, "exec:", 5) == 0) {
        char **argv = exec_argv(peer, address);

        if (argv == NULL)
            return usage_error("'%s': exec: needs a program", address);
        st = parley_peer_spawn(peer, argv, ret_session);
        if (st != PARLEY_OK)
            return fail(connect_status(st), st, address);
        return PC_EXIT_OK;
    }
    if (strncmp(address, "fd:", 3) == 0) {
        /* an inherited, connected socket: one connection */
        char *end = NULL;
        long fd;

        errno = 0;
        fd = strtol(address + 3, &end, 10);
        if (errno || end == address + 3 || *end || fd < 0 || fd > INT_MAX)
            return usage_error("'%s': fd: needs a descriptor number", address);
        st = parley_peer_connect_fd(peer, (int)fd, ret_session);
        if (st != PARLEY_OK)
            return fail(connect_status(st), st, address);
        return PC_EXIT_OK;
    }
    st = parley_peer_add_connect_endpoint(peer, address);
    if (st != PARLEY_OK)
        return fail(PC_EXIT_USAGE, st, address);
    st = parley_peer_connect(peer, ret_session);
    if (st != PARLEY_OK)
        return fail(connect_status(st), st, address);
    return PC_EXIT_OK;
}

/* Introspect ADDRESS: the protocol (under mem) and the limits. */
static int introspect(TALLOC_CTX *mem, const char *address, const options *o,
                      const parley_protocol **ret_protocol, parley_limits *ret_limits)
{
    parley_peer *peer = NULL;
    parley_session *session = NULL;
    parley_status st;
    int rc;

    st = parley_peer_new_introspector(NULL, &peer);
    if (st != PARLEY_OK)
        return fail(PC_EXIT_FAILURE, st, "creating a peer");
    rc = open_session(peer, address, o, &session);
    if (rc == PC_EXIT_OK) {
        st = parley_session_introspect(session, mem, o->timeout_ms, ret_protocol, ret_limits);
        if (st != PARLEY_OK)
            rc = fail(call_status(st), st, address);
        parley_session_close(session);
    }
    talloc_free(peer);
    return rc;
}

static void print_limit(const char *what, uint32_t v, const char *unit)
{
    if (v == 0)
        printf("%s: not announced\n", what);
    else
        printf("%s: %u%s\n", what, v, unit);
}

static int cmd_info(TALLOC_CTX *mem, const char *address, const options *o)
{
    const parley_protocol *p = NULL;
    parley_limits limits;
    int rc = introspect(mem, address, o, &p, &limits);
    size_t oneway = 0;

    if (rc != PC_EXIT_OK)
        return rc;
    for (size_t i = 0; i < p->n_methods; i++)
        oneway += (p->methods[i].flags & PARLEY_METHOD_ONEWAY) != 0;
    printf("protocol: %s\n", p->name);
    printf("version: %u\n", p->version);
    printf("methods: %zu (%zu oneway)\n", p->n_methods, oneway);
    printf("interfaces:");
    for (size_t i = 0; i < p->n_interfaces; i++)
        printf(" %s", p->interfaces[i]);
    printf("\n");
    printf("types: %zu\n", p->n_types);
    print_limit("max message size", limits.max_message, " bytes");
    print_limit("max fds per message", limits.max_fds, "");
    print_limit("max outstanding calls per session", limits.max_outstanding, "");
    print_limit("max handles per session", limits.max_handles, "");
    return PC_EXIT_OK;
}

static int cmd_list(TALLOC_CTX *mem, const char *address, const options *o)
{
    const parley_protocol *p = NULL;
    pc_idl *w;
    int rc = introspect(mem, address, o, &p, NULL);

    if (rc != PC_EXIT_OK)
        return rc;
    w = pc_idl_new(mem, p);
    if (w == NULL)
        return fail(PC_EXIT_FAILURE, PARLEY_ERR_NOMEM, "list");
    for (size_t i = 0; i < p->n_methods; i++) {
        const parley_method *m = &p->methods[i];
        char *sig = pc_idl_signature(w, m);

        if (sig == NULL)
            return fail(PC_EXIT_FAILURE, PARLEY_ERR_NOMEM, "list");
        printf("%6u  %s.%s\n", m->id, m->interface ? m->interface : "main", sig);
        talloc_free(sig);
    }
    return PC_EXIT_OK;
}

static int cmd_introspect(TALLOC_CTX *mem, const char *address, char *const *names, int n,
                          const options *o)
{
    const parley_protocol *p = NULL;
    const char *unknown = NULL;
    pc_idl *w;
    char *text;
    int rc = introspect(mem, address, o, &p, NULL);

    if (rc != PC_EXIT_OK)
        return rc;
    w = pc_idl_new(mem, p);
    if (w == NULL)
        return fail(PC_EXIT_FAILURE, PARLEY_ERR_NOMEM, "introspect");
    text = n > 0 ? pc_idl_select(w, names, n, &unknown) : pc_idl_protocol(w);
    if (text == NULL && unknown != NULL) {
        fprintf(stderr, "parley-call: protocol %s has no method or type '%s'\n", p->name,
                unknown);
        return PC_EXIT_FAILURE;
    }
    if (text == NULL)
        return fail(PC_EXIT_FAILURE, PARLEY_ERR_NOMEM, "introspect");
    fputs(text, stdout);
    return PC_EXIT_OK;
}


static int cmd_call(TALLOC_CTX *mem, const char *address, const char *method, const char *json,
                    const options *o)
{
    const parley_protocol *p = NULL;
    parley_peer *peer = NULL;
    parley_session *session = NULL;
    const parley_method *m = NULL;
    parley_status st;
    int rc;

    if (!pc_have_json)
        return pc_call(mem, NULL, NULL, method, json, o->pretty, o->oneway);
    if (strncmp(address, "fd:", 3) == 0)
        return usage_error("call connects twice (to introspect, then to call); '%s' is one "
                           "connection", address);
    rc = introspect(mem, address, o, &p, NULL);
    if (rc != PC_EXIT_OK)
        return rc;
    for (size_t i = 0; i < p->n_methods && m == NULL; i++)
        if (strcmp(p->methods[i].name, method) == 0)
            m = &p->methods[i];
    if (m == NULL) {
        fprintf(stderr, "parley-call: protocol %s has no method '%s' (parley-call list %s)\n",
                p->name, method, address);
        return PC_EXIT_FAILURE;
    }
    if (o->oneway && !(m->flags & PARLEY_METHOD_ONEWAY)) {
        fprintf(stderr, "parley-call: --oneway: method %s has a reply; it is not oneway\n",
                method);
        return PC_EXIT_USAGE;
    }
    /* An ordinary peer with the protocol just built: its HELLO matches. */
    st = parley_peer_new(mem, p, &peer);
    if (st != PARLEY_OK)
        return fail(PC_EXIT_FAILURE, st, "creating a peer");
    rc = open_session(peer, address, o, &session);
    if (rc == PC_EXIT_OK) {
        rc = pc_call(mem, p, session, method, json, o->pretty, o->oneway);
        parley_session_close(session);
    }
    talloc_free(peer);
    return rc;
}

/* monitor: the events, printed as they come. */
typedef struct monitor_state {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    long long seen;
    long long count;
    bool json;
} monitor_state;

/* A value's text as a JSON member: as is when it is JSON (a server with
 * jansson), else as a JSON string. */
static void put_json_value(const char *text)
{
    if (text[0] == '\0') {
        fputs("null", stdout);
        return;
    }
    if (text[0] == '{' || text[0] == '[') {
        fputs(text, stdout);
        return;
    }
    putchar('"');
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c == '"' || *c == '\\')
            printf("\\%c", *c);
        else if (*c < 0x20)
            printf("\\u%04x", *c);
        else
            putchar(*c);
    }
    putchar('"');
}

static const char *short_status(parley_status st)
{
    const char *name = parley_status_name(st);

    return strncmp(name, "PARLEY_", 7) == 0 ? name + 7 : name;
}

static void on_event(parley_session *session, const parley_monitor_event *ev, void *data)
{
    monitor_state *ms = data;
    time_t secs = (time_t)(ev->time_ns / 1000000000);
    long usec = (long)((ev->time_ns % 1000000000) / 1000);
    char when[64];
    struct tm tm;

    (void)session;
    pthread_mutex_lock(&ms->lock);
    if (ms->count > 0 && ms->seen >= ms->count) {
        pthread_mutex_unlock(&ms->lock);
        return;
    }
    gmtime_r(&secs, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    if (ms->json) {
        printf("{\"time\":\"%s.%06ldZ\",\"session\":%u,\"direction\":\"%s\",\"method\":\"%s\","
               "\"method_id\":%u,\"call_id\":%u,\"oneway\":%s,\"status\":\"%s\","
               "\"duration_us\":%llu,\"request\":", when, usec, ev->session,
               ev->outgoing ? "out" : "in", ev->method, ev->method_id, ev->call_id,
               ev->oneway ? "true" : "false", short_status(ev->status),
               (unsigned long long)(ev->duration_ns / 1000u));
        put_json_value(ev->request);
        fputs(",\"reply\":", stdout);
        put_json_value(ev->reply);
        printf(",\"dropped\":%llu}\n", (unsigned long long)ev->dropped);
    } else {
        if (ev->dropped > 0)
            printf("(%llu events dropped: this monitor read too slowly)\n",
                   (unsigned long long)ev->dropped);
        printf("%s.%06ldZ session=%u %s %s id=%u %s %lluus", when, usec, ev->session,
               ev->outgoing ? "out" : "in", ev->method, ev->call_id, short_status(ev->status),
               (unsigned long long)(ev->duration_ns / 1000u));
        if (ev->request[0] != '\0')
            printf(" request=%s", ev->request);
        if (ev->reply[0] != '\0')
            printf(" reply=%s", ev->reply);
        putchar('\n');
    }
    fflush(stdout);
    ms->seen++;
    pthread_cond_broadcast(&ms->cond);
    pthread_mutex_unlock(&ms->lock);
}

static int cmd_monitor(const char *address, const options *o)
{
    monitor_state ms = { .count = o->count, .json = o->json };
    parley_peer *peer = NULL;
    parley_session *session = NULL;
    parley_status st;
    int rc;

    pthread_mutex_init(&ms.lock, NULL);
    pthread_cond_init(&ms.cond, NULL);
    st = parley_peer_new_introspector(NULL, &peer);
    if (st != PARLEY_OK)
        return fail(PC_EXIT_FAILURE, st, "creating a peer");
    rc = open_session(peer, address, o, &session);
    if (rc == PC_EXIT_OK) {
        st = parley_session_monitor(session, o->timeout_ms, on_event, &ms);
        if (st != PARLEY_OK) {
            rc = fail(call_status(st), st, address);
        } else {
            fprintf(stderr, "parley-call: monitoring %s\n", address);
            /* Until the count is reached or the other end goes. */
            pthread_mutex_lock(&ms.lock);
            while ((ms.count == 0 || ms.seen < ms.count) && parley_session_is_connected(session)) {
                struct timespec ts;

                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += 200000000L;
                if (ts.tv_nsec >= 1000000000L) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000L;
                }
                (void)pthread_cond_timedwait(&ms.cond, &ms.lock, &ts);
            }
            pthread_mutex_unlock(&ms.lock);
        }
        parley_session_close(session);
    }
    talloc_free(peer);
    pthread_cond_destroy(&ms.cond);
    pthread_mutex_destroy(&ms.lock);
    return rc;
}

/* JSON from the command line, "-" (stdin) or nothing ("{}"). */
static char *read_json(TALLOC_CTX *mem, const char *arg)
{
    char *buf;
    size_t n = 0;

    if (arg == NULL)
        return talloc_strdup(mem, "{}");
    if (strcmp(arg, "-") != 0)
        return talloc_strdup(mem, arg);
    buf = talloc_size(mem, 1);
    while (buf != NULL) {
        char chunk[4096];
        size_t got = fread(chunk, 1, sizeof(chunk), stdin);

        if (got == 0)
            break;
        buf = talloc_realloc_size(mem, buf, n + got + 1);
        if (buf != NULL) {
            memcpy(buf + n, chunk, got);
            n += got;
        }
    }
    if (buf == NULL || ferror(stdin)) {
        fprintf(stderr, "parley-call: reading the JSON request from stdin: %s\n",
                buf == NULL ? "out of memory" : strerror(errno));
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "timeout", required_argument, NULL, 't' },
        { "json", optional_argument, NULL, 'j' },
        { "count", required_argument, NULL, 'c' },
        { "oneway", no_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    options o = { .timeout_ms = DEFAULT_TIMEOUT_MS, .pretty = true };
    TALLOC_CTX *mem;
    const char *cmd, *address;
    int c, rc, nargs;

    while ((c = getopt_long(argc, argv, "ht:", longopts, NULL)) != -1) {
        switch (c) {
        case 't': {
            char *end = NULL;
            long long v;

            errno = 0;
            v = strtoll(optarg, &end, 10);
            if (errno || end == optarg || *end || v < 0 || v > 86400000)
                return usage_error("--timeout '%s': milliseconds from 0 (none) to 86400000",
                                   optarg);
            o.timeout_ms = v;
            break;
        }
        case 'c': {
            char *end = NULL;
            long long v;

            errno = 0;
            v = strtoll(optarg, &end, 10);
            if (errno || end == optarg || *end || v < 1)
                return usage_error("--count '%s': a number of events, from 1", optarg);
            o.count = v;
            break;
        }
        case 'j':
            o.json = true;
            if (optarg == NULL)
                break;
            if (strcmp(optarg, "pretty") == 0)
                o.pretty = true;
            else if (strcmp(optarg, "short") == 0)
                o.pretty = false;
            else
                return usage_error("--json='%s': pretty or short", optarg);
            break;
        case 'o':
            o.oneway = true;
            break;
        case 'h':
            usage(stdout);
            return PC_EXIT_OK;
        case 'V':
            printf("parley-call %s\n", PACKAGE_VERSION);
            return PC_EXIT_OK;
        default:
            usage(stderr);
            return PC_EXIT_USAGE;
        }
    }
    nargs = argc - optind;
    if (nargs < 2)
        return usage_error("%s", nargs == 0 ? "no command" : "no ADDRESS");
    cmd = argv[optind];
    address = argv[optind + 1];
    mem = talloc_new(NULL);
    if (mem == NULL)
        return PC_EXIT_FAILURE;
    if (strcmp(cmd, "info") == 0 || strcmp(cmd, "list") == 0) {
        if (nargs != 2)
            rc = usage_error("%s takes only an ADDRESS", cmd);
        else if (cmd[0] == 'i')
            rc = cmd_info(mem, address, &o);
        else
            rc = cmd_list(mem, address, &o);
    } else if (strcmp(cmd, "introspect") == 0) {
        rc = cmd_introspect(mem, address, argv + optind + 2, nargs - 2, &o);
    } else if (strcmp(cmd, "call") == 0) {
        char *json;

        if (nargs < 3 || nargs > 4) {
            rc = usage_error("%s", "call takes ADDRESS METHOD [JSON|-]");
        } else if ((json = read_json(mem, nargs == 4 ? argv[optind + 3] : NULL)) == NULL) {
            rc = PC_EXIT_FAILURE;
        } else {
            rc = cmd_call(mem, address, argv[optind + 2], json, &o);
        }
    } else if (strcmp(cmd, "monitor") == 0) {
        if (nargs != 2)
            rc = usage_error("%s", "monitor takes only an ADDRESS");
        else
            rc = cmd_monitor(address, &o);
    } else {
        rc = usage_error("unknown command '%s'", cmd);
    }
    fflush(stdout);
    if (ferror(stdout)) {
        fprintf(stderr, "parley-call: writing the output failed\n");
        rc = PC_EXIT_FAILURE;
    }
    talloc_free(mem);
    return rc;
}
