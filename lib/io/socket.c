/* SPDX-License-Identifier: MIT */
/* Sockets: listen and connect for unix, abstract unix and TCP endpoints. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "frame.h"
#include "socket.h"
#include "status.h"

static socklen_t unix_addr(const parley__endpoint *ep, struct sockaddr_un *sun)
{
    size_t n = strlen(ep->path);

    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    if (ep->kind == PARLEY__EP_ABSTRACT) {
        memcpy(sun->sun_path + 1, ep->path, n);
        return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
    }
    memcpy(sun->sun_path, ep->path, n);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

parley_status parley__socket_prepare(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);

    /* Blocking mode: every send and recv of the I/O thread passes
     * MSG_DONTWAIT, and a caller waiting for its reply blocks in recv(). */
    if (flags < 0 || ((flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0))
        return parley__error_errno(PARLEY_ERR_SYSTEM, errno, "clearing O_NONBLOCK");
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
        (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)) {
        int one = 1;

        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
            return parley__error_errno(PARLEY_ERR_SYSTEM, errno, "setting TCP_NODELAY");
    }
    return PARLEY_OK;
}

/* Is a live server listening on this unix path? */
static int unix_path_live(const parley__endpoint *ep)
{
    struct sockaddr_un sun;
    socklen_t sl = unix_addr(ep, &sun);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int live;

    if (fd < 0)
        return -1;
    live = connect(fd, (struct sockaddr *)&sun, sl) == 0 ? 1 :
           (errno == ECONNREFUSED ? 0 : -1);
    close(fd);
    return live;
}

static parley_status listen_unix(const parley__endpoint *ep, mode_t mode, int backlog,
                                 int *ret_fd)
{
    struct sockaddr_un sun;
    socklen_t sl = unix_addr(ep, &sun);
    parley_status st = PARLEY_OK;
    int fd = -1;

    if (ep->kind == PARLEY__EP_UNIX) {
        struct stat sb;

        if (lstat(ep->path, &sb) == 0) {
            int live;

            if (!S_ISSOCK(sb.st_mode))
                return parley__error(PARLEY_ERR_INVALID_STATE,
                                     "listen on %s: the path exists and is not a socket",
                                     ep->text);
            live = unix_path_live(ep);
            if (live != 0)
                return parley__error(PARLEY_ERR_INVALID_STATE,
                                     "listen on %s: %s", ep->text,
                                     live > 0 ? "another server is listening there"
                                              : "cannot tell whether the socket is in use");
            if (unlink(ep->path) < 0 && errno != ENOENT)
                return parley__error_errno(PARLEY_ERR_SYSTEM, errno,
                                           "listen on %s: removing the stale socket", ep->text);
        }
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return parley__error_errno(PARLEY_ERR_SYSTEM, errno, "listen on %s: socket", ep->text);
    if (bind(fd, (struct sockaddr *)&sun, sl) < 0) {
        st = parley__error_errno(errno == EADDRINUSE ? PARLEY_ERR_INVALID_STATE : PARLEY_ERR_SYSTEM,
                                 errno, "listen on %s: bind", ep->text);
        goto done;
    }
    /* Before listen(): nobody can connect until the mode is what was asked. */
    if (ep->kind == PARLEY__EP_UNIX && chmod(ep->path, mode) < 0) {
        st = parley__error_errno(PARLEY_ERR_SYSTEM, errno, "listen on %s: chmod", ep->text);
        unlink(ep->path);
        goto done;
    }
    if (listen(fd, backlog) < 0) {
        st = parley__error_errno(PARLEY_ERR_SYSTEM, errno, "listen on %s", ep->text);
        if (ep->kind == PARLEY__EP_UNIX)
            unlink(ep->path);
        goto done;
    }
    *ret_fd = fd;
    fd = -1;
done:
    if (fd >= 0)
        close(fd);
    return st;
}

static parley_status resolve(const parley__endpoint *ep, bool passive, struct addrinfo **ret_ai)
{
    struct addrinfo hints;
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    rc = getaddrinfo(ep->host, ep->port, &hints, ret_ai);
    if (rc != 0)
        return parley__error(PARLEY_ERR_CONNECTION_REFUSED, "%s: cannot resolve host \"%s\": %s",
                             ep->text, ep->host, gai_strerror(rc));
    return PARLEY_OK;
}

bool parley__socket_listen_allowed(const struct sockaddr *sa, bool public_ok)
{
    if (public_ok)
        return true;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return true;
        return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
    }
    return false;
}

static parley_status listen_tcp(const parley__endpoint *ep, int backlog, int *ret_fd)
{
    struct addrinfo *ai = NULL;
    parley_status st;
    int err = 0;

    st = resolve(ep, true, &ai);
    if (st != PARLEY_OK)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "listen on %s: cannot resolve \"%s\"",
                             ep->text, ep->host);
    /* Plain TCP tells nothing about who calls: outside loopback only when
     * asked for (every address the host gives, before any is bound). */
    for (struct addrinfo *a = ai; a != NULL; a = a->ai_next) {
        if (!parley__socket_listen_allowed(a->ai_addr, ep->public_ok)) {
            char addr[INET6_ADDRSTRLEN] = "?";

            if (a->ai_family == AF_INET)
                inet_ntop(AF_INET, &((struct sockaddr_in *)a->ai_addr)->sin_addr, addr,
                          sizeof(addr));
            else if (a->ai_family == AF_INET6)
                inet_ntop(AF_INET6, &((struct sockaddr_in6 *)a->ai_addr)->sin6_addr, addr,
                          sizeof(addr));
            freeaddrinfo(ai);
            return parley__error(PARLEY_ERR_ACCESS_DENIED,
                                 "listen on %s: %s is not a loopback address, and plain TCP "
                                 "lets anyone who reaches the port call; listen on loopback or "
                                 "a unix socket, or opt in with tcp:%s%s%s:%s?public",
                                 ep->text, addr, strchr(ep->host, ':') ? "[" : "", ep->host,
                                 strchr(ep->host, ':') ? "]" : "", ep->port);
        }
    }
    for (struct addrinfo *a = ai; a != NULL; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                        a->ai_protocol);
        int one = 1;

        if (fd < 0) {
            err = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, backlog) == 0) {
            freeaddrinfo(ai);
            *ret_fd = fd;
            return PARLEY_OK;
        }
        err = errno;
        close(fd);
    }
    freeaddrinfo(ai);
    return parley__error_errno(err == EADDRINUSE ? PARLEY_ERR_INVALID_STATE : PARLEY_ERR_SYSTEM,
                               err, "listen on %s", ep->text);
}

parley_status parley__socket_listen(const parley__endpoint *ep, mode_t mode, int backlog,
                                    int *ret_fd)
{
    if (PARLEY__EP_INET(ep))
        return listen_tcp(ep, backlog, ret_fd);
    return listen_unix(ep, mode, backlog, ret_fd);
}

static parley_status connect_error(const parley__endpoint *ep, int err)
{
    if (err == ECONNREFUSED || err == ENOENT || err == ENETUNREACH || err == EHOSTUNREACH ||
        err == EADDRNOTAVAIL || err == ETIMEDOUT || err == ENOTDIR)
        return parley__error(PARLEY_ERR_CONNECTION_REFUSED, "connect to %s: %s",
                             ep->text, strerror(err));
    if (err == EACCES || err == EPERM)
        return parley__error(PARLEY_ERR_ACCESS_DENIED, "connect to %s: %s", ep->text,
                             strerror(err));
    return parley__error_errno(PARLEY_ERR_SYSTEM, err, "connect to %s", ep->text);
}

parley_status parley__socket_connect(const parley__endpoint *ep, int *ret_fd)
{
    int err = 0;

    if (!PARLEY__EP_INET(ep)) {
        struct sockaddr_un sun;
        socklen_t sl = unix_addr(ep, &sun);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
            return parley__error_errno(PARLEY_ERR_SYSTEM, errno, "connect to %s: socket",
                                       ep->text);
        while (connect(fd, (struct sockaddr *)&sun, sl) < 0) {
            if (errno == EINTR)
                continue;
            err = errno;
            close(fd);
            return connect_error(ep, err);
        }
        *ret_fd = fd;
        return PARLEY_OK;
    } else {
        struct addrinfo *ai = NULL;
        parley_status st = resolve(ep, false, &ai);

        if (st != PARLEY_OK)
            return st;
        for (struct addrinfo *a = ai; a != NULL; a = a->ai_next) {
            int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);

            if (fd < 0) {
                err = errno;
                continue;
            }
            if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
                freeaddrinfo(ai);
                *ret_fd = fd;
                return PARLEY_OK;
            }
            err = errno;
            close(fd);
        }
        freeaddrinfo(ai);
        return connect_error(ep, err);
    }
}

parley_status parley__socket_bound_name(TALLOC_CTX *mem_ctx, const parley__endpoint *ep,
                                        int fd, char **ret_text)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char addr[INET6_ADDRSTRLEN];
    char *text;

    if (!PARLEY__EP_INET(ep)) {
        text = talloc_strdup(mem_ctx, ep->text);
    } else {
        if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
            return parley__error_errno(PARLEY_ERR_SYSTEM, errno, "getsockname of %s", ep->text);
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

            inet_ntop(AF_INET6, &s6->sin6_addr, addr, sizeof(addr));
            text = talloc_asprintf(mem_ctx, "%s:[%s]:%u",
                                   ep->kind == PARLEY__EP_TLS ? "tls" : "tcp", addr,
                                   ntohs(s6->sin6_port));
        } else {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

            inet_ntop(AF_INET, &s4->sin_addr, addr, sizeof(addr));
            text = talloc_asprintf(mem_ctx, "%s:%s:%u", ep->kind == PARLEY__EP_TLS ? "tls" : "tcp",
                                   addr, ntohs(s4->sin_port));
        }
    }
    if (text == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory naming an endpoint");
    *ret_text = text;
    return PARLEY_OK;
}

parley_status parley__socket_describe_listener(TALLOC_CTX *mem_ctx, int fd,
                                               parley__endpoint **ret_ep)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int type = 0, listening = 0;
    socklen_t tl = sizeof(type), al = sizeof(listening);
    parley__endpoint *ep;
    parley_status st;

    if (fd < 0)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "descriptor %d is negative", fd);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "descriptor %d is not a socket (%s)",
                             fd, strerror(errno));
    if (type != SOCK_STREAM)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "descriptor %d is not a stream socket (a datagram or "
                             "seqpacket socket cannot carry Parley)", fd);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &al) < 0 || !listening)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "descriptor %d is not listening (listen() was not called on it)",
                             fd);
    memset(&ss, 0, sizeof(ss));
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
        return parley__error_errno(PARLEY_ERR_SYSTEM, errno, "getsockname of descriptor %d", fd);
    ep = talloc_zero(mem_ctx, parley__endpoint);
    if (ep == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory describing a socket");
    if (ss.ss_family == AF_UNIX) {
        struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
        size_t off = offsetof(struct sockaddr_un, sun_path);
        size_t n = sl > off ? sl - off : 0;

        if (n > 0 && sun->sun_path[0] == '\0') {
            ep->kind = PARLEY__EP_ABSTRACT;
            ep->path = talloc_strndup(ep, sun->sun_path + 1, n - 1);
            ep->text = talloc_asprintf(ep, "unix:@%s", ep->path != NULL ? ep->path : "");
        } else {
            ep->kind = PARLEY__EP_UNIX;
            ep->path = talloc_strndup(ep, sun->sun_path, n);
            ep->text = talloc_asprintf(ep, "unix:%s", ep->path != NULL ? ep->path : "");
        }
        if (ep->path == NULL || ep->text == NULL) {
            talloc_free(ep);
            return parley__error(PARLEY_ERR_NOMEM, "out of memory describing a socket");
        }
    } else if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
        char *text = NULL;

        ep->kind = PARLEY__EP_TCP;
        ep->text = talloc_asprintf(ep, "descriptor %d", fd);
        st = ep->text != NULL ? parley__socket_bound_name(ep, ep, fd, &text)
                              : parley__error(PARLEY_ERR_NOMEM, "out of memory");
        if (st != PARLEY_OK) {
            talloc_free(ep);
            return st;
        }
        ep->text = text;
    } else {
        talloc_free(ep);
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "descriptor %d is neither a unix nor a TCP socket (family %d)", fd,
                             (int)ss.ss_family);
    }
    *ret_ep = ep;
    return PARLEY_OK;
}

parley_status parley__socket_adopt_listener(int fd)
{
    int flags = fcntl(fd, F_GETFL), fdflags = fcntl(fd, F_GETFD);

    if (flags < 0 || fdflags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, fdflags | FD_CLOEXEC) < 0)
        return parley__error_errno(PARLEY_ERR_SYSTEM, errno,
                                   "making listening descriptor %d non-blocking", fd);
    return PARLEY_OK;
}

void parley__socket_send_bye(int fd, parley_status status, const char *why)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    uint8_t hdr[PARLEY__FRAME_HEADER_SIZE];
    struct iovec iov[2];
    struct msghdr msg;

    if (parley__message_encode(NULL, why, &buf, &len) != PARLEY_OK)
        return;
    parley__frame_header h = { (uint32_t)len, PARLEY__FRAME_BYE, 0, 0, 0, (uint32_t)status };
    parley__frame_pack(&h, hdr);
    iov[0].iov_base = hdr;
    iov[0].iov_len = sizeof(hdr);
    iov[1].iov_base = buf;
    iov[1].iov_len = len;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = iov;
    msg.msg_iovlen = 2;
    (void)!sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    talloc_free(buf);
}
