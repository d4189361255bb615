/* SPDX-License-Identifier: MIT */
/*
 * parleyd's broker port: one TCP port for every brokered service of this
 * host.  A client connects, names the service in a one-line preamble
 * (doc/wire.md, "Brokered connections"), parleyd answers with one line and
 * passes the accepted socket to the service over its registration session
 * (parley_names_broker.incoming, SCM_RIGHTS).  No byte of the session
 * itself goes through parleyd.
 *
 * One thread runs a poll loop: it accepts, and reads the preambles of up to
 * BROKER_PENDING_MAX connections at once without blocking (a state per
 * connection: the bytes of its line so far, its deadline), each bounded by
 * BROKER_PREAMBLE_MS, so a slow client delays nobody else.  While that many
 * wait, new connections wait in the listen backlog.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "broker.h"

#define BROKER_PREAMBLE_MS 2000
#define BROKER_PENDING_MAX 64
#define PREAMBLE_WORD "PARLEY-NAME "
#define PREAMBLE_MAX (sizeof(PREAMBLE_WORD) + 160)

/* A connection whose preamble line is being read. */
typedef struct pending {
    int fd;
    int64_t deadline;
    size_t n;                    /* bytes of line so far */
    char line[PREAMBLE_MAX];
} pending;

struct broker {
    int listen_fd;
    int stop_pipe[2];
    pthread_t thread;
    broker_lookup_fn lookup;
    void *data;
    char endpoint[300];
};

static int64_t now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void say(int fd, const char *line)
{
    ssize_t n = send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);

    (void)n;   /* a client that does not read loses the answer, no more */
}

/* Read what has come of p's preamble line, without blocking and without
 * taking a byte past the line (what follows it is the service's).
 * 1: the line is complete (NUL-terminated, no newline); 0: more to come;
 * -1: EOF, an error, or a line too long. */
static int read_preamble(pending *p)
{
    for (;;) {
        size_t room = sizeof(p->line) - 1 - p->n;
        ssize_t got;
        char *nl;

        if (room == 0)
            return -1;
        got = recv(p->fd, &p->line[p->n], room, MSG_PEEK | MSG_DONTWAIT);
        if (got < 0 && errno == EAGAIN)
            return 0;
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        nl = memchr(&p->line[p->n], '\n', (size_t)got);
        if (nl != NULL)
            got = nl - &p->line[p->n] + 1;
        got = recv(p->fd, &p->line[p->n], (size_t)got, MSG_DONTWAIT);   /* take them */
        if (got <= 0)
            return -1;
        p->n += (size_t)got;
        if (p->line[p->n - 1] == '\n') {
            p->line[p->n - 1] = '\0';
            return 1;
        }
    }
}

static void peer_address(int fd, char *buf, size_t size)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[INET6_ADDRSTRLEN], port[16];

    snprintf(buf, size, "tcp:?");
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0 ||
        getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return;
    snprintf(buf, size, ss.ss_family == AF_INET6 ? "tcp:[%s]:%s" : "tcp:%s:%s", host, port);
}

/* p's preamble line is complete: pass the connection on, or answer why not. */
static void serve_one(broker *b, int fd, const char *line)
{
    char from[80], answer[400];
    const char *name;

    if (strncmp(line, PREAMBLE_WORD, strlen(PREAMBLE_WORD)) != 0) {
        say(fd, "ERR 5 the preamble is 'PARLEY-NAME NAME'\n");
        return;
    }
    name = line + strlen(PREAMBLE_WORD);
    peer_address(fd, from, sizeof(from));
    /* lookup answers the client (answer) and passes fd on success */
    if (!b->lookup(b->data, name, fd, from, answer, sizeof(answer)))
        say(fd, answer);
}

static void *broker_main(void *arg)
{
    broker *b = arg;
    pending wait[BROKER_PENDING_MAX];
    struct pollfd p[2 + BROKER_PENDING_MAX];
    size_t n_wait = 0;

    for (;;) {
        int64_t now = now_ms(), first = -1;
        size_t n_poll = 2;
        int ready;

        p[0] = (struct pollfd){ b->stop_pipe[0], POLLIN, 0 };
        /* full: new connections wait in the backlog */
        p[1] = (struct pollfd){ n_wait < BROKER_PENDING_MAX ? b->listen_fd : -1, POLLIN, 0 };
        for (size_t i = 0; i < n_wait; i++) {
            p[n_poll++] = (struct pollfd){ wait[i].fd, POLLIN, 0 };
            if (first < 0 || wait[i].deadline < first)
                first = wait[i].deadline;
        }
        ready = poll(p, n_poll, first < 0 ? -1 : (int)(first > now ? first - now : 0));
        if (ready < 0 && errno != EINTR)
            break;
        if (ready > 0 && p[0].revents != 0)
            break;
        now = now_ms();
        /* the waiting connections: a line, the end, or the deadline */
        for (size_t i = n_wait, k = n_poll; i-- > 0;) {
            int r = 0;

            k--;
            if (ready > 0 && p[k].revents != 0)
                r = read_preamble(&wait[i]);
            if (r == 0 && now < wait[i].deadline)
                continue;
            if (r == 1)
                serve_one(b, wait[i].fd, wait[i].line);
            else if (r == 0)
                say(wait[i].fd, "ERR 5 no preamble line 'PARLEY-NAME NAME' within 2 s\n");
            else
                say(wait[i].fd, "ERR 5 the preamble is 'PARLEY-NAME NAME'\n");
            close(wait[i].fd);   /* the service has its own copy now */
            wait[i] = wait[--n_wait];
        }
        if (ready > 0 && p[1].fd >= 0 && p[1].revents != 0) {
            int fd = accept4(b->listen_fd, NULL, NULL, SOCK_CLOEXEC);

            if (fd >= 0) {
                wait[n_wait].fd = fd;
                wait[n_wait].deadline = now + BROKER_PREAMBLE_MS;
                wait[n_wait].n = 0;
                n_wait++;
            } else if (errno == EMFILE || errno == ENFILE) {
                poll(NULL, 0, 100);   /* out of descriptors: breathe */
            }
        }
    }
    for (size_t i = 0; i < n_wait; i++)
        close(wait[i].fd);
    return NULL;
}

int broker_start(TALLOC_CTX *mem_ctx, const char *endpoint, broker_lookup_fn lookup, void *data,
                 broker **ret)
{
    struct addrinfo hints = { 0 }, *ai = NULL;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[256], port[16], bound[INET6_ADDRSTRLEN];
    const char *colon;
    broker *b;
    int one = 1;
    sigset_t all, old;

    if (strncmp(endpoint, "tcp:", 4) != 0 || (colon = strrchr(endpoint + 4, ':')) == NULL ||
        (size_t)(colon - endpoint - 4) >= sizeof(host) || strlen(colon + 1) >= sizeof(port)) {
        fprintf(stderr, "parleyd: the broker endpoint '%s' is not tcp:HOST:PORT\n", endpoint);
        return -1;
    }
    memcpy(host, endpoint + 4, (size_t)(colon - endpoint - 4));
    host[colon - endpoint - 4] = '\0';
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    snprintf(port, sizeof(port), "%s", colon + 1);
    b = talloc_zero(mem_ctx, broker);
    if (b == NULL)
        return -1;
    b->lookup = lookup;
    b->data = data;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL) {
        fprintf(stderr, "parleyd: cannot resolve the broker endpoint '%s'\n", endpoint);
        talloc_free(b);
        return -1;
    }
    b->listen_fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (b->listen_fd < 0 ||
        setsockopt(b->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(b->listen_fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(b->listen_fd, 128) != 0 ||
        getsockname(b->listen_fd, (struct sockaddr *)&ss, &len) != 0 ||
        getnameinfo((struct sockaddr *)&ss, len, bound, sizeof(bound), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0 ||
        pipe2(b->stop_pipe, O_CLOEXEC) != 0) {
        fprintf(stderr, "parleyd: cannot listen on the broker endpoint '%s': %s\n", endpoint,
                strerror(errno));
        if (b->listen_fd >= 0)
            close(b->listen_fd);
        freeaddrinfo(ai);
        talloc_free(b);
        return -1;
    }
    freeaddrinfo(ai);
    snprintf(b->endpoint, sizeof(b->endpoint), ss.ss_family == AF_INET6 ? "tcp:[%s]:%s" : "tcp:%s:%s",
             bound, port);
    /* the thread takes no signal: main's sigwait() does */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    if (pthread_create(&b->thread, NULL, broker_main, b) != 0) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        close(b->listen_fd);
        close(b->stop_pipe[0]);
        close(b->stop_pipe[1]);
        talloc_free(b);
        return -1;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    *ret = b;
    return 0;
}

const char *broker_endpoint(const broker *b)
{
    return b->endpoint;
}

void broker_stop(broker *b)
{
    if (b == NULL)
        return;
    if (write(b->stop_pipe[1], "x", 1) != 1)
        abort();   /* cannot happen: a fresh pipe has room */
    pthread_join(b->thread, NULL);
    close(b->listen_fd);
    close(b->stop_pipe[0]);
    close(b->stop_pipe[1]);
    talloc_free(b);
}
