/* SPDX-License-Identifier: MIT */
/*
 * parleyd: Parley's name service (parleyd(8), doc/names.md).
 *
 *   parleyd [-c FILE] [-l ENDPOINT]... [--allow-tcp-register]
 *
 * Serves the parley_names protocol (data/parley_names.idl): a table of
 * names, each tied to the session that registered it, so a name vanishes
 * the moment its owner's connection ends.  Prints "listening on ENDPOINT"
 * per endpoint once it serves, logs to stderr, stops on SIGINT or SIGTERM.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <talloc.h>

#include "parley.h"
#include "parley_names.h"
#include "names_table.h"
#include "broker.h"

#define MAX_LISTEN 16
#define MAX_RULES 256
#define MAX_WATCHES 16           /* patterns watched per session */
#define MAX_NAMES_PER_SESSION 256
#define MAX_NAMES 65536          /* the whole table */

typedef struct client client;

typedef struct rule {            /* `reserve PATTERN UID` */
    char *pattern;
    uint32_t uid;
} rule;

typedef struct parleyd {
    pthread_mutex_t lock;        /* guards the table and the clients */
    names_table *table;
    client *clients;
    bool allow_tcp_register;
    size_t n_names;              /* names in the table */
    broker *broker;              /* the broker port, or NULL (broker.c) */
    rule rules[MAX_RULES];
    size_t n_rules;
    char host[256];
} parleyd;

/* Per-session data. */
struct client {
    client *prev, *next;
    parleyd *d;
    parley_session *session;
    bool have_creds;             /* false over TCP */
    parley_credentials creds;
    char *watches[MAX_WATCHES];
    size_t n_watches;
    size_t n_names;              /* names this session registered (under lock) */
};

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
    char line[1200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "parleyd: %s\n", line);
}

/* A refusal the caller's library turns back into `st` with this sentence. */
static parley_status refuse(parley_call *call, parley_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static parley_status refuse(parley_call *call, parley_status st, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    parley_call_set_remote_error(call, (int32_t)st, "%s", msg);
    return PARLEY_ERR_REMOTE;
}

static bool valid_chars(const char *s, bool pattern)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (!isalnum(c) && c != '_' && c != '.' && c != '-' &&
            !(pattern && (c == '*' || c == '?')))
            return false;
    }
    return true;
}

static bool valid_name(const char *name)
{
    size_t n = strlen(name);

    return n > 0 && n <= PARLEY_NAME_MAX && valid_chars(name, false);
}

static bool valid_pattern(const char *pattern)
{
    size_t n = strlen(pattern);

    return n > 0 && n <= PARLEY_NAMES_MAX_PATTERN && valid_chars(pattern, true);
}

static uint64_t now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

/* Deep copy of value into *dst (size bytes), allocated under mem_ctx. */
static parley_status copy_into(TALLOC_CTX *mem_ctx, const parley_type *type, const void *value,
                               void *dst, size_t size)
{
    void *copy;
    parley_status st = parley_data_copy(mem_ctx, type, value, &copy);

    if (st == PARLEY_OK)
        memcpy(dst, copy, size);
    return st;
}

/* ---- watchers ------------------------------------------------------------ */

static void changed_done(parley_call *call, parley_status status, void *data)
{
    (void)status; (void)data;
    parley_call_release(call);
}

/* Tell every watcher of a matching pattern.  Lock held: the clients in the
 * list are alive (their destruct hook takes the lock to leave it); the
 * dispatch is asynchronous and its callback takes no lock of ours. */
static void notify(parleyd *d, const parley_names_entry *e, bool gone)
{
    parley_names_changed_request in = { *e, gone };

    for (client *c = d->clients; c != NULL; c = c->next) {
        bool match = false;
        parley_call *call;
        parley_names_changed_reply *out;

        for (size_t i = 0; i < c->n_watches && !match; i++)
            match = names_pattern_match(c->watches[i], e->reg.name);
        if (!match || parley_session_acquire_call(c->session, &call) != PARLEY_OK)
            continue;
        if (parley_names_changed_send(call, &in, NULL, &out, changed_done, NULL) != PARLEY_PENDING)
            parley_call_release(call);
    }
}

/* ---- sessions ------------------------------------------------------------ */

static parley_status on_connect(parley_session *session, void *data, void **ret_session_data)
{
    parleyd *d = data;
    client *c = talloc_zero(NULL, client);

    if (c == NULL)
        return PARLEY_ERR_NOMEM;
    c->d = d;
    c->session = session;
    c->have_creds = parley_session_get_credentials(session, &c->creds) == PARLEY_OK;
    pthread_mutex_lock(&d->lock);
    c->next = d->clients;
    if (d->clients != NULL)
        d->clients->prev = c;
    d->clients = c;
    pthread_mutex_unlock(&d->lock);
    *ret_session_data = c;
    return PARLEY_OK;
}

/* The session ended: its names vanish now, and watchers are told. */
static void on_disconnect(parley_session *session, void *session_data, void *data)
{
    parleyd *d = data;
    client *c = session_data;
    names_record *recs[PARLEY_NAMES_MAX_LIST];
    size_t n;

    (void)session;
    pthread_mutex_lock(&d->lock);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        d->clients = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    do {
        size_t gone = 0;

        n = d->table->ops->match(d->table->store, "*", recs, PARLEY_NAMES_MAX_LIST);
        for (size_t i = 0; i < n; i++) {
            if (recs[i]->owner != c)
                continue;
            names_record *rec = d->table->ops->take(d->table->store, recs[i]->entry->reg.name);

            d->n_names--;
            logf_("'%s' gone (pid %d)", rec->entry->reg.name, (int)rec->entry->pid);
            notify(d, rec->entry, true);
            talloc_free(rec);
            gone++;
        }
        if (gone == 0)
            break;
    } while (n == PARLEY_NAMES_MAX_LIST);
    pthread_mutex_unlock(&d->lock);
    talloc_free(c);
}

/* ---- handlers ------------------------------------------------------------ */

static parley_status check_reg(parley_call *call, client *c, const parley_names_registration *r)
{
    parleyd *d = c->d;

    if (!valid_name(r->name))
        return refuse(call, PARLEY_ERR_INVALID_ARGUMENT,
                      "'%.64s' is not a valid name: 1 to %d bytes of A-Z a-z 0-9 _ . -",
                      r->name, PARLEY_NAME_MAX);
    if (r->protocol[0] == '\0')
        return refuse(call, PARLEY_ERR_INVALID_ARGUMENT, "name '%s': no protocol name", r->name);
    if ((r->flags & ~(uint32_t)PARLEY_NAMES_FLAG_BROKERED) != 0)
        return refuse(call, PARLEY_ERR_INVALID_ARGUMENT, "name '%s': unknown flags 0x%x",
                      r->name, r->flags);
    if ((r->flags & PARLEY_NAMES_FLAG_BROKERED) && d->broker == NULL)
        return refuse(call, PARLEY_ERR_UNSUPPORTED,
                      "name '%s': this parleyd has no broker port (parleyd -b tcp:HOST:PORT)",
                      r->name);
    if ((r->flags & PARLEY_NAMES_FLAG_BROKERED) && !c->have_creds)
        return refuse(call, PARLEY_ERR_UNSUPPORTED,
                      "name '%s': a brokered service registers over a unix socket "
                      "(the connections come to it as descriptors)", r->name);
    if (r->n_endpoints == 0 && !(r->flags & PARLEY_NAMES_FLAG_BROKERED))
        return refuse(call, PARLEY_ERR_INVALID_ARGUMENT, "name '%s': no endpoint", r->name);
    for (size_t i = 0; i < r->n_endpoints; i++)
        if (strncmp(r->endpoints[i], "unix:", 5) != 0 && strncmp(r->endpoints[i], "tcp:", 4) != 0)
            return refuse(call, PARLEY_ERR_INVALID_ARGUMENT,
                          "name '%s': endpoint '%.64s' is neither unix: nor tcp:",
                          r->name, r->endpoints[i]);
    if (!c->have_creds && !d->allow_tcp_register)
        return refuse(call, PARLEY_ERR_ACCESS_DENIED,
                      "name '%s': registering over TCP is refused (TCP carries no "
                      "credentials; parleyd --allow-tcp-register allows it)", r->name);
    for (size_t i = 0; i < d->n_rules; i++)
        if (names_pattern_match(d->rules[i].pattern, r->name) &&
            (!c->have_creds || c->creds.uid != d->rules[i].uid))
            return refuse(call, PARLEY_ERR_ACCESS_DENIED,
                          "name '%s' is reserved for uid %u (pattern '%s')",
                          r->name, d->rules[i].uid, d->rules[i].pattern);
    return PARLEY_OK;
}

static parley_status h_add(parley_call *call, const parley_names_add_request *in,
                           parley_names_add_reply *out, void *data)
{
    parleyd *d = data;
    client *c = parley_session_get_data(parley_call_get_session(call));
    names_record *rec, *old;
    parley_status st = check_reg(call, c, &in->reg);

    (void)out;
    if (st != PARLEY_OK)
        return st;
    rec = talloc_zero(NULL, names_record);
    if (rec == NULL || (rec->entry = talloc_zero(rec, parley_names_entry)) == NULL ||
        copy_into(rec->entry, &parley_names_registration_type, &in->reg,
                  &rec->entry->reg, sizeof(rec->entry->reg)) != PARLEY_OK ||
        (rec->entry->host = talloc_strdup(rec->entry, d->host)) == NULL ||
        (rec->entry->broker = talloc_strdup(rec->entry,
                                            (in->reg.flags & PARLEY_NAMES_FLAG_BROKERED)
                                            ? broker_endpoint(d->broker) : "")) == NULL) {
        talloc_free(rec);
        return PARLEY_ERR_NOMEM;
    }
    rec->owner = c;
    rec->entry->pid = c->have_creds ? c->creds.pid : 0;
    rec->entry->uid = c->have_creds ? c->creds.uid : UINT32_MAX;
    rec->entry->registered_ms = now_ms();
    pthread_mutex_lock(&d->lock);
    old = d->table->ops->get(d->table->store, in->reg.name);
    if (old != NULL) {
        bool same_uid = old->entry->uid == rec->entry->uid;

        pthread_mutex_unlock(&d->lock);
        talloc_free(rec);
        if (!same_uid)
            return refuse(call, PARLEY_ERR_ACCESS_DENIED,
                          "name '%s' belongs to uid %u; uid %u cannot take it",
                          in->reg.name, old->entry->uid,
                          c->have_creds ? c->creds.uid : UINT32_MAX);
        return refuse(call, PARLEY_ERR_EXISTS, "name '%s' is registered already (pid %d)",
                      in->reg.name, (int)old->entry->pid);
    }
    if (c->n_names >= MAX_NAMES_PER_SESSION || d->n_names >= MAX_NAMES) {
        pthread_mutex_unlock(&d->lock);
        talloc_free(rec);
        return refuse(call, PARLEY_ERR_OVERFLOW,
                      "name '%s': a session registers at most %d names, parleyd holds at "
                      "most %d", in->reg.name, MAX_NAMES_PER_SESSION, MAX_NAMES);
    }
    if (!d->table->ops->put(d->table->store, rec)) {
        pthread_mutex_unlock(&d->lock);
        talloc_free(rec);
        return PARLEY_ERR_NOMEM;
    }
    c->n_names++;
    d->n_names++;
    logf_("'%s' registered (protocol %s, pid %d, uid %u)", rec->entry->reg.name,
          rec->entry->reg.protocol, (int)rec->entry->pid, rec->entry->uid);
    notify(d, rec->entry, false);
    pthread_mutex_unlock(&d->lock);
    return PARLEY_OK;
}

static parley_status h_remove(parley_call *call, const parley_names_remove_request *in,
                              parley_names_remove_reply *out, void *data)
{
    parleyd *d = data;
    client *c = parley_session_get_data(parley_call_get_session(call));
    names_record *rec;

    (void)out;
    pthread_mutex_lock(&d->lock);
    rec = d->table->ops->get(d->table->store, in->name);
    if (rec == NULL || rec->owner != c) {
        bool other = rec != NULL;

        pthread_mutex_unlock(&d->lock);
        if (other)
            return refuse(call, PARLEY_ERR_ACCESS_DENIED,
                          "name '%.128s' was registered by another session", in->name);
        return refuse(call, PARLEY_ERR_NOT_FOUND, "no name '%.128s'", in->name);
    }
    rec = d->table->ops->take(d->table->store, in->name);
    c->n_names--;
    d->n_names--;
    notify(d, rec->entry, true);
    pthread_mutex_unlock(&d->lock);
    talloc_free(rec);
    return PARLEY_OK;
}

static parley_status h_resolve(parley_call *call, const parley_names_resolve_request *in,
                               parley_names_resolve_reply *out, void *data)
{
    parleyd *d = data;
    names_record *rec;
    parley_status st;

    if (!valid_name(in->name))
        return refuse(call, PARLEY_ERR_INVALID_ARGUMENT, "'%.64s' is not a valid name", in->name);
    pthread_mutex_lock(&d->lock);
    rec = d->table->ops->get(d->table->store, in->name);
    st = rec == NULL ? PARLEY_ERR_NOT_FOUND
                     : copy_into(out, &parley_names_entry_type, rec->entry, &out->e,
                                 sizeof(out->e));
    pthread_mutex_unlock(&d->lock);
    if (st == PARLEY_ERR_NOT_FOUND)
        return refuse(call, st, "no service is registered as '%s'", in->name);
    return st;
}

static parley_status h_list(parley_call *call, const parley_names_list_request *in,
                            parley_names_list_reply *out, void *data)
{
    parleyd *d = data;
    names_record **recs;
    parley_status st = PARLEY_OK;
    size_t n;

    if (!valid_pattern(in->pattern))
        return refuse(call, PARLEY_ERR_INVALID_ARGUMENT,
                      "'%.64s' is not a valid name pattern", in->pattern);
    recs = talloc_array(NULL, names_record *, PARLEY_NAMES_MAX_LIST);
    if (recs == NULL)
        return PARLEY_ERR_NOMEM;
    pthread_mutex_lock(&d->lock);
    n = d->table->ops->match(d->table->store, in->pattern, recs, PARLEY_NAMES_MAX_LIST);
    out->entries = talloc_zero_array(out, parley_names_entry, n > 0 ? n : 1);
    if (out->entries == NULL)
        st = PARLEY_ERR_NOMEM;
    for (size_t i = 0; i < n && st == PARLEY_OK; i++)
        st = copy_into(out, &parley_names_entry_type, recs[i]->entry, &out->entries[i],
                       sizeof(out->entries[i]));
    pthread_mutex_unlock(&d->lock);
    out->n_entries = st == PARLEY_OK ? n : 0;
    talloc_free(recs);
    return st;
}

static parley_status h_watch(parley_call *call, const parley_names_watch_request *in,
                             parley_names_watch_reply *out, void *data)
{
    parleyd *d = data;
    client *c = parley_session_get_data(parley_call_get_session(call));
    char *copy;

    (void)out;
    if (!valid_pattern(in->pattern))
        return refuse(call, PARLEY_ERR_INVALID_ARGUMENT,
                      "'%.64s' is not a valid name pattern", in->pattern);
    pthread_mutex_lock(&d->lock);
    if (c->n_watches == MAX_WATCHES) {
        pthread_mutex_unlock(&d->lock);
        return refuse(call, PARLEY_ERR_OVERFLOW, "a session watches at most %d patterns",
                      MAX_WATCHES);
    }
    copy = talloc_strdup(c, in->pattern);
    if (copy != NULL)
        c->watches[c->n_watches++] = copy;
    pthread_mutex_unlock(&d->lock);
    return copy != NULL ? PARLEY_OK : PARLEY_ERR_NOMEM;
}

static void hold_cancel(parley_call *call, void *data)
{
    (void)data;
    parley_call_complete(call, PARLEY_ERR_CANCELLED);
}

static parley_status h_hold(parley_call *call, const parley_names_hold_request *in,
                            parley_names_hold_reply *out, void *data)
{
    (void)in; (void)out; (void)data;
    return parley_call_pend(call, hold_cancel, NULL);
}

static const parley_names_handlers handlers = {
    .add = { h_add, PARLEY_NONBLOCKING },
    .remove = { h_remove, PARLEY_NONBLOCKING },
    .resolve = { h_resolve, PARLEY_NONBLOCKING },
    .list = { h_list, PARLEY_NONBLOCKING },
    .watch = { h_watch, PARLEY_NONBLOCKING },
    .hold = { h_hold, PARLEY_NONBLOCKING },
};

/* ---- the broker port ------------------------------------------------------- */

static void incoming_done(parley_call *call, parley_status status, void *data)
{
    (void)data;
    if (status != PARLEY_OK)
        logf_("passing a brokered connection failed: %s", parley_status_name(status));
    parley_call_release(call);
}

/* broker.c found a preamble naming `name`: pass fd to its service. */
static bool broker_lookup(void *data, const char *name, int fd, const char *from, char *answer,
                          size_t size)
{
    parleyd *d = data;
    names_record *rec;
    parley_call *call;
    parley_names_incoming_request in = { (char *)name, fd, (char *)from };
    parley_names_incoming_reply *out;
    parley_status st;

    if (!valid_name(name)) {
        snprintf(answer, size, "ERR %d '%.64s' is not a valid name\n",
                 PARLEY_ERR_INVALID_ARGUMENT, name);
        return false;
    }
    pthread_mutex_lock(&d->lock);
    rec = d->table->ops->get(d->table->store, name);
    if (rec == NULL || !(rec->entry->reg.flags & PARLEY_NAMES_FLAG_BROKERED)) {
        pthread_mutex_unlock(&d->lock);
        snprintf(answer, size, "ERR %d no brokered service is registered as '%s'\n",
                 PARLEY_ERR_NOT_FOUND, name);
        return false;
    }
    if (parley_session_acquire_call(((client *)rec->owner)->session, &call) != PARLEY_OK) {
        pthread_mutex_unlock(&d->lock);
        snprintf(answer, size, "ERR %d the service '%s' is going away\n",
                 PARLEY_ERR_CONNECTION_CLOSED, name);
        return false;
    }
    /* OK first: once the service has the socket, it speaks (HELLO) */
    if (send(fd, "OK\n", 3, MSG_NOSIGNAL | MSG_DONTWAIT) != 3) {
        pthread_mutex_unlock(&d->lock);
        parley_call_release(call);
        snprintf(answer, size, "ERR %d the client went away\n", PARLEY_ERR_CONNECTION_CLOSED);
        return false;
    }
    st = parley_names_incoming_send(call, &in, NULL, &out, incoming_done, NULL);
    pthread_mutex_unlock(&d->lock);
    if (st != PARLEY_PENDING) {
        logf_("passing a connection to '%s' failed: %s", name, parley_error_message());
        parley_call_release(call);
    }
    return true;
}

/* ---- configuration ------------------------------------------------------- */

/* Read the configuration file: `listen ENDPOINT`, `address ENDPOINT` (the
 * clients' line; parleyd listens there when no listen line or -l is
 * given), `broker tcp:HOST:PORT`, `allow-tcp-register yes|no`,
 * `reserve PATTERN UID`, # comments. */
static int read_conf(parleyd *d, const char *path, bool must_exist, char **listen,
                     size_t *n_listen, char **address, char **broker_ep)
{
    FILE *f = fopen(path, "re");
    char line[1024];
    unsigned lineno = 0;

    if (f == NULL) {
        if (!must_exist && errno == ENOENT)
            return 0;
        logf_("cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *word, *arg, *arg2, *save = NULL;

        lineno++;
        if (strchr(line, '#') != NULL)
            *strchr(line, '#') = '\0';
        word = strtok_r(line, " \t\r\n", &save);
        if (word == NULL)
            continue;
        arg = strtok_r(NULL, " \t\r\n", &save);
        arg2 = strtok_r(NULL, " \t\r\n", &save);
        if (strcmp(word, "listen") == 0 && arg != NULL && arg2 == NULL &&
            *n_listen < MAX_LISTEN) {
            listen[(*n_listen)++] = talloc_strdup(d, arg);
        } else if (strcmp(word, "broker") == 0 && arg != NULL && arg2 == NULL) {
            *broker_ep = talloc_strdup(d, arg);
        } else if (strcmp(word, "address") == 0 && arg != NULL && arg2 == NULL) {
            *address = talloc_strdup(d, arg);
        } else if (strcmp(word, "allow-tcp-register") == 0 && arg != NULL && arg2 == NULL &&
                   (strcmp(arg, "yes") == 0 || strcmp(arg, "no") == 0)) {
            d->allow_tcp_register = strcmp(arg, "yes") == 0;
        } else if (strcmp(word, "reserve") == 0 && arg != NULL && arg2 != NULL &&
                   valid_pattern(arg) && d->n_rules < MAX_RULES &&
                   strspn(arg2, "0123456789") == strlen(arg2)) {
            d->rules[d->n_rules].pattern = talloc_strdup(d, arg);
            d->rules[d->n_rules].uid = (uint32_t)strtoul(arg2, NULL, 10);
            d->n_rules++;
        } else {
            logf_("%s:%u: not understood (listen ENDPOINT, address ENDPOINT, broker ENDPOINT, "
                  "allow-tcp-register yes|no, reserve PATTERN UID)", path, lineno);
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    return 0;
}

static void usage(FILE *to)
{
    fprintf(to, "usage: parleyd [-c FILE] [-l ENDPOINT]... [-b tcp:HOST:PORT] "
            "[--allow-tcp-register]\n");
}

int main(int argc, char **argv)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parleyd *d = talloc_zero(mem, parleyd);
    char *listen[MAX_LISTEN], *conf_listen[MAX_LISTEN], *address = NULL, *broker_ep = NULL;
    size_t n_listen = 0, n_conf_listen = 0;
    const char *conf = getenv("PARLEY_NAMES_CONF");
    bool conf_given = conf != NULL && conf[0] != '\0';
    parley_peer *peer;
    parley_status st;
    sigset_t sigs;
    int sig, rc = 1;

    if (!conf_given)
        conf = PARLEY_NAMES_CONF_FILE;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            conf = argv[++i];
            conf_given = true;
        } else if (strcmp(argv[i], "-l") == 0 && i + 1 < argc && n_listen < MAX_LISTEN) {
            listen[n_listen++] = argv[++i];
        } else if (strcmp(argv[i], "-b") == 0 && i + 1 < argc) {
            broker_ep = argv[++i];
        } else if (strcmp(argv[i], "--allow-tcp-register") == 0) {
            d->allow_tcp_register = true;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    pthread_mutex_init(&d->lock, NULL);
    if (read_conf(d, conf, conf_given, conf_listen, &n_conf_listen, &address,
                  broker_ep == NULL ? &broker_ep : &(char *){ NULL }) != 0)
        goto done;
    if (n_listen == 0) {
        memcpy(listen, conf_listen, n_conf_listen * sizeof(char *));
        n_listen = n_conf_listen;
    }
    if (n_listen == 0) {
        const char *env = getenv("PARLEY_NAMES");

        listen[n_listen++] = env != NULL && env[0] != '\0' ? (char *)env
                             : address != NULL ? address : (char *)PARLEY_NAMES_DEFAULT_ADDRESS;
        if (strcmp(listen[0], PARLEY_NAMES_DEFAULT_ADDRESS) == 0)
            (void)mkdir("/run/parley", 0755);
    }
    if (gethostname(d->host, sizeof(d->host)) != 0)
        strcpy(d->host, "localhost");
    d->host[sizeof(d->host) - 1] = '\0';
    d->table = names_table_new_memory(d);
    if (d->table == NULL)
        goto done;

    /* Signals go to sigwait below; the library's threads block them. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    if ((st = parley_peer_new(mem, &parley_names_protocol, &peer)) != PARLEY_OK ||
        (st = parley_peer_set_workers(peer, 1)) != PARLEY_OK ||
        (st = parley_peer_set_session_functions(peer, on_connect, on_disconnect, d)) != PARLEY_OK ||
        (st = parley_names_register(peer, &handlers, d)) != PARLEY_OK)
        goto failed;
    for (size_t i = 0; i < n_listen; i++)
        if ((st = parley_peer_add_listen_endpoint(peer, listen[i], 0666)) != PARLEY_OK)
            goto failed;
    /* The broker port before the first registration can come. */
    if (broker_ep != NULL && broker_start(d, broker_ep, broker_lookup, d, &d->broker) != 0) {
        talloc_free(peer);
        goto done;
    }
    if ((st = parley_peer_start_listen(peer)) != PARLEY_OK)
        goto failed;
    for (size_t i = 0; i < n_listen; i++) {
        char *bound;

        if (parley_peer_get_listen_endpoint(peer, i, mem, &bound) == PARLEY_OK)
            printf("listening on %s\n", bound);
    }
    if (d->broker != NULL)
        printf("brokering on %s\n", broker_endpoint(d->broker));
    fflush(stdout);
    logf_("serving names (%s backend%s)", d->table->ops->backend,
          d->allow_tcp_register ? ", registration over TCP allowed" : "");
    while (sigwait(&sigs, &sig) != 0)
        ;
    logf_("stopping on signal %d", sig);
    broker_stop(d->broker);
    talloc_free(peer);
    rc = 0;
    goto done;
failed:
    logf_("%s", parley_error_message());
    broker_stop(d->broker);
done:
    talloc_free(mem);
    return rc;
}
