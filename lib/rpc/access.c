/* SPDX-License-Identifier: MIT */
/* Who is calling and may they: a session's transport and remote address
 * (read once when its connection is made), and the access function run
 * before each incoming call. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "access.h"
#include "session.h"
#include "status.h"

PARLEY_PUBLIC parley_status parley_peer_set_access_function(parley_peer *peer,
                                                            parley_access_fn fn, void *data)
{
    parley_status st = PARLEY_OK;

    if (peer == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_set_access_function needs a peer");
    pthread_mutex_lock(&peer->lock);
    if (peer->started) {
        st = parley__error(PARLEY_ERR_INVALID_STATE,
                           "the access function is set before the peer starts");
    } else {
        peer->access_fn = fn;
        peer->access_data = data;
    }
    pthread_mutex_unlock(&peer->lock);
    return st;
}

void parley__session_read_address(parley_session *session, int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);

    session->transport = PARLEY_TRANSPORT_UNKNOWN;
    memset(&ss, 0, sizeof(ss));
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return;
    if (ss.ss_family == AF_UNIX) {
        session->transport = PARLEY_TRANSPORT_UNIX;
        return;
    }
    if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
        return;
    sl = sizeof(session->remote);
    if (getpeername(fd, (struct sockaddr *)&session->remote, &sl) != 0) {
        memset(&session->remote, 0, sizeof(session->remote));
        return;
    }
    session->transport = PARLEY_TRANSPORT_TCP;
}

PARLEY_PUBLIC parley_transport parley_session_get_transport(parley_session *session)
{
    return session != NULL ? session->transport : PARLEY_TRANSPORT_UNKNOWN;
}

/* "a.b.c.d:port" or "[v6]:port" into text (at least 64 bytes). */
static void format_address(const struct sockaddr_storage *ss, char *text, size_t size)
{
    char host[INET6_ADDRSTRLEN];

    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        snprintf(text, size, "%s:%u", host, (unsigned)ntohs(in->sin_port));
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host, sizeof(host));
            snprintf(text, size, "%s:%u", host, (unsigned)ntohs(in6->sin6_port));
        } else {
            inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
            snprintf(text, size, "[%s]:%u", host, (unsigned)ntohs(in6->sin6_port));
        }
    }
}

PARLEY_PUBLIC parley_status parley_session_get_remote_address(parley_session *session,
                                                              char *buf, size_t size)
{
    char text[INET6_ADDRSTRLEN + 16];
    size_t n;

    if (session == NULL || buf == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_session_get_remote_address needs a session and a buffer");
    if (session->transport != PARLEY_TRANSPORT_TCP && session->transport != PARLEY_TRANSPORT_TLS)
        return parley__error(PARLEY_ERR_UNSUPPORTED,
                             "the session is not on TCP or TLS: no remote address");
    if (session->remote.ss_family != AF_INET && session->remote.ss_family != AF_INET6)
        return parley__error(PARLEY_ERR_UNSUPPORTED, "the session's remote address is unknown");
    format_address(&session->remote, text, sizeof(text));
    n = strlen(text);
    if (n + 1 > size)
        return parley__error(PARLEY_ERR_OVERFLOW,
                             "the remote address needs %zu bytes, the buffer has %zu", n + 1,
                             size);
    memcpy(buf, text, n + 1);
    return PARLEY_OK;
}

bool parley__access_check(parley_session *session, const parley_method *m, char *text,
                          size_t size)
{
    parley_peer *peer = session->peer;
    char reason[PARLEY__ERROR_MAX / 2];

    if (peer->access_fn == NULL)
        return true;
    reason[0] = '\0';
    if (peer->access_fn(session, m, peer->access_data, reason, sizeof(reason)))
        return true;
    reason[sizeof(reason) - 1] = '\0';
    if (reason[0] != '\0')
        snprintf(text, size, "permission denied for %s: %s", m->name, reason);
    else
        snprintf(text, size, "permission denied for %s: the server's access function "
                 "refused it", m->name);
    return false;
}
