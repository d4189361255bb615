/* SPDX-License-Identifier: MIT */
/* A closed connection's last bytes, written as room appears, for a bounded
 * time.  See linger.h. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <talloc.h>

#include "linger.h"

typedef struct linger_state {
    parley__loop *loop;
    parley__io io;
    parley__timer timer;
    size_t len, off;
    uint8_t *bytes;
} linger_state;

/* Half-close, drain what is unread, close. */
static void finish_fd(int fd)
{
    uint8_t sink[4096];

    shutdown(fd, SHUT_WR);
    for (int i = 0; i < 64 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
        ;
    close(fd);
}

/* Write what fits; true when nothing is left or the socket is broken. */
static bool write_some(int fd, const uint8_t *bytes, size_t len, size_t *off)
{
    while (*off < len) {
        ssize_t n = send(fd, bytes + *off, len - *off, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno != EAGAIN && errno != EWOULDBLOCK;
        *off += (size_t)n;
    }
    return true;
}

static void free_task(void *data)
{
    talloc_free(data);
}

static void linger_end(linger_state *l)
{
    parley__loop_timer_cancel(l->loop, &l->timer);
    parley__loop_del(l->loop, &l->io);
    finish_fd(l->io.fd);
    l->io.fd = -1;
    /* Events of this batch may still name l: free it after them. */
    if (parley__loop_post(l->loop, free_task, l) != PARLEY_OK)
        talloc_free(l);   /* unreachable in practice; the batch skips inactive ios */
}

static void linger_io(void *data, uint32_t events)
{
    linger_state *l = data;

    if ((events & (EPOLLERR | EPOLLHUP)) || write_some(l->io.fd, l->bytes, l->len, &l->off))
        linger_end(l);
}

static void linger_timeout(void *data)
{
    linger_end(data);
}

static int linger_destructor(linger_state *l)
{
    /* The loop is being freed with this still waiting. */
    if (l->io.fd >= 0)
        close(l->io.fd);
    return 0;
}

void parley__linger_start(parley__loop *loop, int fd, const uint8_t *bytes, size_t len,
                          uint64_t ms)
{
    size_t off = 0;
    linger_state *l;

    if (write_some(fd, bytes, len, &off)) {
        finish_fd(fd);
        return;
    }
    l = talloc_zero(loop, linger_state);
    if (l != NULL)
        l->bytes = talloc_memdup(l, bytes + off, len - off);
    if (l == NULL || l->bytes == NULL) {
        talloc_free(l);
        finish_fd(fd);
        return;
    }
    l->loop = loop;
    l->len = len - off;
    l->io.fd = fd;
    l->io.fn = linger_io;
    l->io.data = l;
    talloc_set_destructor(l, linger_destructor);
    if (parley__loop_add(loop, &l->io, EPOLLOUT) != PARLEY_OK) {
        l->io.fd = -1;
        talloc_free(l);
        finish_fd(fd);
        return;
    }
    parley__loop_timer_arm(loop, &l->timer, parley__now_ms() + ms, linger_timeout, l);
}
