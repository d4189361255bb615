/* SPDX-License-Identifier: MIT */
/* Internal to lib/io/conn.c and lib/io/conn_read.c: the connection's state.
 * The write side (conn.c) is guarded by wlock.  The read side (conn_read.c)
 * belongs to whoever owns `read_owner` (an atomic word, not a mutex: the I/O
 * thread, or a caller reading its own reply); nobody waits for it, and the
 * owner runs the frame and closed callbacks with no Parley lock held. */
#ifndef PARLEY_LIB_CONN_PRIVATE_H
#define PARLEY_LIB_CONN_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"

#define RBUF_INITIAL 4096u
#define RBUF_KEEP (64u * 1024u)
#define READ_BUDGET (256u * 1024u)
#define FLUSH_IOV 64
/* While the loop thread handles a batch of frames, replies up to this size
 * are queued and leave in one sendmsg at the end of the batch. */
#define CORK_MAX (16u * 1024u)
/* Reasons to stop reading requests (conn->read_pause bits, under wlock).
 * Each reason sets and clears only its own bit, with
 * parley__conn_pause_locked().  While any bit is set, the read side stops at
 * the next request frame (CALL, ONEWAY) and holds it (req_held), and the
 * socket is not read until no bit is set; replies, cancels and BYEs before
 * it are still delivered, so a peer that waits for replies while its own
 * output is full still gets them. */
#define PARLEY__CONN_PAUSE_OUTPUT 0x1u   /* output above the limit (conn.c) */
#define PARLEY__CONN_PAUSE_CALLS 0x2u    /* the rpc layer's incoming-call limit */
#define PARLEY__CONN_PAUSE_QUEUE 0x4u    /* the rpc layer's receive queue is full */

typedef struct deferred_frame {
    struct deferred_frame *next;
    int *fds;                                    /* hdr.nfds received fds (malloc) */
    parley__frame_header hdr;
    uint8_t payload[];
} deferred_frame;

typedef struct wq_item {
    struct wq_item *next;
    int *fds;                 /* duplicates to send with the first byte (malloc) */
    unsigned nfds;
    bool begun;               /* bytes of this frame went out before it was queued */
    size_t len, off;
    uint8_t bytes[];
} wq_item;

struct parley__conn {
    parley__loop *loop;
    parley__io io;
    const parley__conn_ops *ops;
    void *data;
    uint32_t max_payload;

    /* Read side: whoever owns read_owner (0 free, 1 owned; compare and swap). */
    int read_owner;
    uint8_t *rbuf;
    size_t rcap, rpos, rlen;
    pthread_mutex_t dlock;                       /* guards deferred */
    deferred_frame *deferred, **deferred_tail;   /* set aside by a caller, in order */
    size_t deferred_bytes;                       /* under dlock */
    bool closed_cb_done;                         /* loop thread */
    bool last_small;                             /* the last frame was small */

    /* Write side, under wlock. */
    pthread_mutex_t wlock;
    pthread_cond_t wcond;
    int fd;
    bool closed;
    bool want_out;
    bool corked;              /* loop thread only: more frames are buffered */
    bool reader_claimed;      /* a caller polls fd for its reply */
    int fd_users;             /* threads polling fd outside wlock: do not close it */
    int deferred_fd;          /* closed by the last of them (-1: none) */
    uint32_t armed_events;    /* the epoll interest last set */
    unsigned read_pause;      /* PARLEY__CONN_PAUSE_* bits: requests wait while set */
    bool req_held;            /* the read side holds a request (paused); atomic reads */
    wq_item *head, *tail;
    size_t queued;            /* bytes in the queue */
    size_t peak_queued;       /* the most ever queued (tests) */

    /* Output limits (parley__conn_set_output()), under wlock. */
    size_t max_output;        /* reading stops at this many queued bytes */
    uint64_t send_timeout_ms; /* no write progress this long: closed (0: never) */
    uint64_t last_progress_ms;/* the last write progress, or when output got stuck */
    unsigned n_wwait;         /* senders waiting for room (wcond) */
    bool stimer_on;           /* send_timer armed, or a task to arm it posted */
    parley__timer send_timer; /* loop thread only */

    /* Descriptors (SCM_RIGHTS).  Read side, its owner's: received fds not
     * yet claimed by a frame, in order. */
    int *rfds;
    size_t n_rfds, cap_rfds;
    bool rfds_broken;         /* a control message was cut short */
    unsigned max_fds;         /* per received frame */
    bool is_unix;             /* an AF_UNIX socket: fds can travel */

    /* parley__conn_wake_waiters(): an eventfd a caller in wait_reply polls
     * beside fd. */
    int wake_fd;
};

/* conn_read.c: deliver one frame with its fds (closed after, unless taken). */
void parley__conn_deliver(parley__conn *conn, const parley__frame_header *h,
                          const uint8_t *payload, int *fds);

/* conn.c, wlock held: set (on) or clear one PARLEY__CONN_PAUSE_* reason to
 * stop reading.  When the last reason clears, the socket is armed again and
 * a task reads the frames already buffered (any thread). */
void parley__conn_pause_locked(parley__conn *conn, unsigned reason, bool on);
/* conn.c, wlock held: a thread that polled fd outside wlock lets go. */
void parley__conn_release_fd_locked(parley__conn *conn);
/* conn.c, wlock held: set the epoll interest from the state. */
void parley__conn_arm_locked(parley__conn *conn);
/* conn.c, wlock held: write the queue; false on a hard error.  Notes the
 * progress, wakes senders waiting for room and resumes reading below the
 * low-water mark. */
bool parley__conn_flush_locked(parley__conn *conn);
/* conn.c, loop thread: close now (BYE first if bye), run `closed` once. */
void parley__conn_do_close(parley__conn *conn, parley_status status, const char *why, bool bye);
/* conn_read.c, loop thread: the epoll callback of a connection. */
void parley__conn_io(void *data, uint32_t events);
/* Loop thread, before a close the other end caused: deliver the frames
 * already in the socket (unless a caller reads, or requests are held). */
void parley__conn_read_remaining(parley__conn *conn);
/* conn_read.c: read the frames already buffered, on the loop thread, soon. */
void parley__conn_kick(parley__conn *conn);

#endif
