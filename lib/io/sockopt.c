/* SPDX-License-Identifier: MIT */
/* Socket options of connections: TCP_NODELAY, keepalive, TCP_USER_TIMEOUT,
 * buffer sizes. */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "sockopt.h"
#include "status.h"

void parley__sockopt_defaults(parley_socket_options *o)
{
    memset(o, 0, sizeof(*o));
    o->size = sizeof(*o);
    o->nodelay = 1;
}

PARLEY_PUBLIC void parley_socket_options_init(parley_socket_options *options)
{
    if (options != NULL)
        parley__sockopt_defaults(options);
}

#define HAS(src, field) \
    ((src)->size >= offsetof(parley_socket_options, field) + sizeof((src)->field))

parley_status parley__sockopt_copy(parley_socket_options *dst, const parley_socket_options *src)
{
    parley_socket_options o;

    if (src == NULL || !HAS(src, nodelay))
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "socket options: NULL, or size not set "
                             "(start from parley_socket_options_init())");
    parley__sockopt_defaults(&o);
    memcpy(&o, src, src->size < sizeof(o) ? src->size : sizeof(o));
    o.size = sizeof(o);
    if (o.nodelay != 0 && o.nodelay != 1)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "socket options: nodelay is 0 or 1");
    if (o.keepalive != 0 && o.keepalive != 1)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "socket options: keepalive is 0 or 1");
    if (o.keepalive_idle_s < 0 || o.keepalive_idle_s > 32767)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "socket options: keepalive_idle_s is 0..32767 seconds");
    if (o.keepalive_interval_s < 0 || o.keepalive_interval_s > 32767)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "socket options: keepalive_interval_s is 0..32767 seconds");
    if (o.keepalive_count < 0 || o.keepalive_count > 127)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "socket options: keepalive_count is 0..127 probes");
    if (o.user_timeout_ms > (unsigned)INT32_MAX)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "socket options: user_timeout_ms is at most %d", INT32_MAX);
    if (o.send_buffer < 0 || o.receive_buffer < 0)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "socket options: send_buffer and receive_buffer are 0 or more");
    *dst = o;
    return PARLEY_OK;
}

static parley_status set_int(int fd, int level, int name, int value, const char *what)
{
    if (setsockopt(fd, level, name, &value, sizeof(value)) < 0)
        return parley__error_errno(PARLEY_ERR_SYSTEM, errno, "setting %s to %d", what, value);
    return PARLEY_OK;
}

parley_status parley__sockopt_apply(int fd, const parley_socket_options *o)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    parley_status st = PARLEY_OK;
    bool tcp;

    memset(&ss, 0, sizeof(ss));
    tcp = getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
          (ss.ss_family == AF_INET || ss.ss_family == AF_INET6);
    if (o->send_buffer > 0)
        st = set_int(fd, SOL_SOCKET, SO_SNDBUF, o->send_buffer, "SO_SNDBUF");
    if (st == PARLEY_OK && o->receive_buffer > 0)
        st = set_int(fd, SOL_SOCKET, SO_RCVBUF, o->receive_buffer, "SO_RCVBUF");
    if (!tcp || st != PARLEY_OK)
        return st;
    st = set_int(fd, IPPROTO_TCP, TCP_NODELAY, o->nodelay, "TCP_NODELAY");
    if (st == PARLEY_OK && o->keepalive)
        st = set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE");
    if (st == PARLEY_OK && o->keepalive && o->keepalive_idle_s > 0)
        st = set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, o->keepalive_idle_s, "TCP_KEEPIDLE");
    if (st == PARLEY_OK && o->keepalive && o->keepalive_interval_s > 0)
        st = set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, o->keepalive_interval_s, "TCP_KEEPINTVL");
    if (st == PARLEY_OK && o->keepalive && o->keepalive_count > 0)
        st = set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, o->keepalive_count, "TCP_KEEPCNT");
    if (st == PARLEY_OK && o->user_timeout_ms > 0)
        st = set_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, (int)o->user_timeout_ms,
                     "TCP_USER_TIMEOUT");
    return st;
}
