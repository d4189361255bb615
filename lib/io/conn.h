/* SPDX-License-Identifier: MIT */
/* Internal: one connection: buffered reads, framing, a write queue with one
 * sendmsg per frame, bounded output and backpressure.  Reads and the
 * callbacks run on the loop thread (or on a caller reading its own reply),
 * never with a Parley lock held; parley__conn_send() may be called from any
 * thread and writes straight to the socket when nothing is queued.
 *
 * Flow control: what the socket does not take waits in the connection's
 * queue.  At max_output queued bytes the connection stops reading (no new
 * requests, so no new replies) and resumes at half of it.  Requests (CALL,
 * ONEWAY) from threads other than the loop wait for room, at most until the
 * send timeout passes with no write progress; replies and the loop thread
 * never wait.  Output that makes no progress for the send timeout closes
 * the connection with a BYE TIMEOUT and a sentence. */
#ifndef PARLEY_LIB_CONN_H
#define PARLEY_LIB_CONN_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <talloc.h>

#include "parley/status.h"
#include "frame.h"
#include "loop.h"

typedef struct parley__conn parley__conn;

/* One received frame, as delivered: its header, its payload and the
 * descriptors that came with it (fds[0..n_fds), NULL and 0 when none).
 * Everything is valid during the frame callback only.  Whoever decodes the
 * frame takes the descriptors it keeps (parley__fds_adopt() sets each taken
 * entry to -1); the read side closes the rest when the callback returns. */
typedef struct parley__frame {
    const parley__frame_header *hdr;
    const uint8_t *payload;
    int *fds;
    size_t n_fds;
} parley__frame;

/* Both callbacks run on the thread that owns the read side (the loop
 * thread, or a caller in parley__conn_wait_reply() for its own REPLY), with
 * no Parley lock held; they may send, close, and post to the loop. */
typedef struct parley__conn_ops {
    /* A complete, header-checked frame (see parley__frame). */
    void (*frame)(void *data, const parley__frame *frame);
    /* The connection is closed (once): why, as a status and a sentence. */
    void (*closed)(void *data, parley_status status, const char *why);
    /* Optional (NULL: not called): a frame is about to be sent, on the
     * sending thread, before it is written or queued, with no lock held. */
    void (*frame_sent)(void *data, const parley__frame_header *hdr);
} parley__conn_ops;

/* Defaults of parley__conn_set_output(). */
#define PARLEY__CONN_DEFAULT_MAX_OUTPUT (4u << 20)
#define PARLEY__CONN_DEFAULT_SEND_TIMEOUT_MS 30000u

/* Wrap a connected socket (ownership of fd passes to the conn, which closes
 * it; also on failure); parley__conn_start() starts reading it on loop.  Frame payloads above max_payload break
 * the framing.  The conn must be freed only after `closed` ran and a task
 * posted afterwards has run (see parley__conn_free_later()). */
parley_status parley__conn_new(TALLOC_CTX *mem_ctx, parley__loop *loop, int fd,
                               uint32_t max_payload, const parley__conn_ops *ops, void *data,
                               parley__conn **ret_conn);

/* Start reading (callbacks may run from now on, on the loop thread). */
parley_status parley__conn_start(parley__conn *conn);

/* Send one frame (header + payload) from any thread.  CONNECTION_CLOSED once
 * the connection is closed or broken; TIMEOUT if a CALL or ONEWAY waited for
 * room for the send timeout (the connection is then closed). */
parley_status parley__conn_send(parley__conn *conn, uint8_t kind, uint32_t call_id,
                                uint32_t code, const void *payload, size_t len);

/* A synchronous caller reads its own reply (no thread hop): claim the read
 * side if nobody holds it, read until the REPLY with call_id has been handed
 * to the `frame` callback (on this thread) or *done (under done_lock) is set
 * by someone else; other frames are set aside for the loop thread, in order.
 * Returns false at once if the read side is busy (wait another way), or when
 * it stopped without seeing the reply (EOF, error, bad frame: the loop thread
 * takes over and closes), or at deadline_ms (CLOCK_MONOTONIC; 0: none).
 * Never on the loop thread. */
bool parley__conn_wait_reply(parley__conn *conn, uint32_t call_id, bool *done,
                             pthread_mutex_t *done_lock, uint64_t deadline_ms);

/* parley__conn_send() with descriptors: fds[0..nfds) leave with the
 * frame's first byte (SCM_RIGHTS); the caller keeps its descriptors (they
 * are duplicated if the frame has to wait in the queue).  INVALID_ARGUMENT
 * for a descriptor that is not open, UNSUPPORTED if the socket is not a
 * unix socket. */
parley_status parley__conn_send_fds(parley__conn *conn, uint8_t kind, uint32_t call_id,
                                    uint32_t code, const void *payload, size_t len,
                                    const int *fds, unsigned nfds);
/* True for a unix socket (fds can travel). */
bool parley__conn_is_unix(parley__conn *conn);
/* A unix socket that stands for another transport (the socketpair of a TLS
 * connection): no fds travel on it; before parley__conn_start(). */
void parley__conn_set_not_unix(parley__conn *conn);
/* At most n fds per received frame (more breaks the framing). */
void parley__conn_set_max_fds(parley__conn *conn, unsigned n);

/* Close the connection; with bye, first try to send a BYE carrying status and
 * why.  Runs the `closed` callback on the loop thread.  Any thread. */
void parley__conn_close(parley__conn *conn, parley_status status, const char *why, bool bye);

/* True once closed. */
bool parley__conn_is_closed(parley__conn *conn);
/* The socket (or -1 after close), e.g. for SO_PEERCRED. */
int parley__conn_fd(parley__conn *conn);
/* Bound the output: reading stops at max_output queued bytes (resumes at
 * half); a connection whose output makes no progress for send_timeout_ms
 * (0: never) is closed with a BYE TIMEOUT.  Any thread. */
void parley__conn_set_output(parley__conn *conn, size_t max_output, uint64_t send_timeout_ms);
/* Bytes queued now, and the most ever queued (tests). */
void parley__conn_output_stats(parley__conn *conn, size_t *ret_queued, size_t *ret_peak);
/* The most bytes any connection of this process ever had queued (tests). */
size_t parley__conn_peak_output_all(void);
/* Change the payload limit (after the handshake). */
void parley__conn_set_max_payload(parley__conn *conn, uint32_t max_payload);
/* Any thread: a caller blocked in parley__conn_wait_reply() wakes and
 * re-checks *done (a wake with nobody waiting makes the next waiter check
 * once more). */
void parley__conn_wake_waiters(parley__conn *conn);
/* Any thread: the layer above stops (paused) or resumes the reading and
 * delivery of frames; frames already read wait, in order.  Combines with
 * the connection's own reasons not to read. */
void parley__conn_set_read_paused(parley__conn *conn, bool paused);
/* The same for a second reason of the layer above (its receive queue is
 * full): the two combine. */
void parley__conn_set_queue_paused(parley__conn *conn, bool paused);

/* Free conn on the loop thread after everything queued there so far. */
void parley__conn_free_later(parley__conn *conn);

#endif
