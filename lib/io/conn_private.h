/* Internal to lib/conn.c and lib/conn_read.c: the connection's state.
 * The write side (conn.c) is guarded by wlock; the read side (conn_read.c)
 * by rlock, held by the I/O thread or by a caller reading its own reply. */
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
/* A sender off the loop thread finishes a partly sent frame itself (instead
 * of copying the rest into the queue) when more than this is left. */
#define DIRECT_MIN (64u * 1024u)

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
    size_t len, off;
    uint8_t bytes[];
} wq_item;

struct parley__conn {
    parley__loop *loop;
    parley__io io;
    const parley__conn_ops *ops;
    void *data;
    uint32_t max_payload;

    /* Read side, under rlock (the loop thread, or a caller reading its reply). */
    pthread_mutex_t rlock;
    uint8_t *rbuf;
    size_t rcap, rpos, rlen;
    pthread_mutex_t dlock;                       /* guards deferred */
    deferred_frame *deferred, **deferred_tail;   /* set aside by a caller, in order */
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
    bool writing;             /* a sender polls fd to finish its frame */
    int fd_users;             /* threads polling fd outside wlock: do not close it */
    int deferred_fd;          /* closed by the last of them (-1: none) */
    wq_item *head, *tail;
    size_t queued;

    /* Descriptors (SCM_RIGHTS).  Read side, under rlock: received fds not
     * yet claimed by a frame, in order. */
    int *rfds;
    size_t n_rfds, cap_rfds;
    bool rfds_broken;         /* a control message was cut short */
    unsigned max_fds;         /* per received frame */
    bool is_unix;             /* an AF_UNIX socket: fds can travel */

    /* Asked for by the layer above (parley__conn_set_read_paused(),
     * parley__conn_wake_waiters()). */
    bool read_paused;         /* atomic: frames are not read or delivered */
    int wake_fd;              /* eventfd a caller in wait_reply polls beside fd */
};

/* conn_read.c: deliver one frame with its fds (closed after, unless taken). */
void parley__conn_deliver(parley__conn *conn, const parley__frame_header *h,
                          const uint8_t *payload, int *fds);

/* conn.c, wlock held: a thread that polled fd outside wlock lets go. */
void parley__conn_release_fd_locked(parley__conn *conn);
/* conn.c, wlock held: set the epoll interest from the state. */
void parley__conn_arm_locked(parley__conn *conn);
/* conn.c, wlock held: write the queue; false on a hard error. */
bool parley__conn_flush_locked(parley__conn *conn);
/* conn.c, loop thread: close now (BYE first if bye), run `closed` once. */
void parley__conn_do_close(parley__conn *conn, parley_status status, const char *why, bool bye);
/* conn_read.c, any thread: the loop thread processes what is buffered. */
void parley__conn_kick(parley__conn *conn);
/* conn_read.c, loop thread: the epoll callback of a connection. */
void parley__conn_io(void *data, uint32_t events);

#endif
