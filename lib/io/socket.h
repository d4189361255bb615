/* SPDX-License-Identifier: MIT */
/* Internal: listening and connecting sockets for endpoints. */
#ifndef PARLEY_LIB_SOCKET_H
#define PARLEY_LIB_SOCKET_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <talloc.h>

#include "parley/status.h"
#include "endpoint.h"

/* Whether plain TCP may listen on sa: loopback only (127.0.0.0/8, ::1,
 * ::ffff:127.0.0.0/104) unless public_ok (the endpoint's "?public"). */
bool parley__socket_listen_allowed(const struct sockaddr *sa, bool public_ok);

/* A listening socket for ep (non-blocking, close-on-exec).  A unix path
 * socket is bound, chmod'ed to mode, then put to listening, so nobody can
 * connect before its mode is right; a stale socket file (connect refused) is
 * replaced, a live one is not (INVALID_STATE).  TCP listeners set SO_REUSEADDR;
 * a TCP endpoint that resolves to an address refused by
 * parley__socket_listen_allowed() gives ACCESS_DENIED with a sentence. */
parley_status parley__socket_listen(const parley__endpoint *ep, mode_t mode, int backlog,
                                    int *ret_fd);

/* A connected, blocking-mode-unspecified socket to ep (close-on-exec).  A missing
 * socket or a refused connection is CONNECTION_REFUSED naming the endpoint. */
parley_status parley__socket_connect(const parley__endpoint *ep, int *ret_fd);

/* The endpoint string a listening socket is bound to, e.g. "tcp:127.0.0.1:40123"
 * for port 0; unix endpoints return ep's text. */
parley_status parley__socket_bound_name(TALLOC_CTX *mem_ctx, const parley__endpoint *ep,
                                        int fd, char **ret_text);

/* Check that fd is a listening stream socket, unix or TCP, and describe it
 * as an endpoint (text "unix:/path", "unix:@name", "unix:" for an unnamed
 * one, or "tcp:ADDR:PORT").  The fd is not changed.  INVALID_ARGUMENT with
 * a sentence naming what is wrong. */
parley_status parley__socket_describe_listener(TALLOC_CTX *mem_ctx, int fd,
                                               parley__endpoint **ret_ep);

/* Make an adopted listening socket non-blocking and close-on-exec. */
parley_status parley__socket_adopt_listener(int fd);

/* Prepare a connected socket for a connection: clear O_NONBLOCK (the I/O
 * thread passes MSG_DONTWAIT on every send and recv; a synchronous caller
 * blocks in recv() for its reply) and, for TCP, set TCP_NODELAY. */
parley_status parley__socket_prepare(int fd);

/* Best effort, never blocking: write a BYE frame with status and reason to
 * fd in one sendmsg (the socket is about to be closed; failures are ignored). */
void parley__socket_send_bye(int fd, parley_status status, const char *why);

#endif
