/* SPDX-License-Identifier: MIT */
/* Internal: the event loop (epoll, timers, an eventfd wake-up).  One loop
 * runs on one thread; other threads reach it only through
 * parley__loop_post(), the one wake-up primitive. */
#ifndef PARLEY_LIB_LOOP_H
#define PARLEY_LIB_LOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <talloc.h>

#include "parley/status.h"

typedef struct parley__loop parley__loop;

/* Called on the loop thread with the ready epoll events. */
typedef void (*parley__io_fn)(void *data, uint32_t events);
/* A task posted to the loop, or a timer's expiry. */
typedef void (*parley__task_fn)(void *data);

/* An fd watched by the loop; embed it in its owner.  The owner must stay
 * allocated until a task posted after parley__loop_del() has run (events
 * already collected in the current batch are skipped once deleted). */
typedef struct parley__io {
    int fd;
    bool active;
    parley__io_fn fn;
    void *data;
} parley__io;

/* A one-shot timer; embed it in its owner (zeroed: not armed).  Armed
 * timers form an intrusive binary min-heap ordered by (deadline, arming
 * order): arming and cancelling cost O(log n) and allocate nothing. */
typedef struct parley__timer {
    uint64_t deadline_ms;           /* CLOCK_MONOTONIC */
    uint64_t seq;                   /* arming order: equal deadlines fire FIFO */
    parley__task_fn fn;
    void *data;
    struct parley__timer *parent, *left, *right;
    bool armed;
} parley__timer;

/* Create a loop (not yet running).  Freeing it stops and joins its thread,
 * runs what is still posted, and closes its fds. */
parley_status parley__loop_new(TALLOC_CTX *mem_ctx, parley__loop **ret_loop);
/* Start the loop's thread. */
parley_status parley__loop_start(parley__loop *loop);
/* Stop the thread and join it (not from the loop thread).  Posted tasks that
 * are still queued run on the caller's thread before it returns. */
void parley__loop_stop(parley__loop *loop);
/* True on the loop's own thread. */
bool parley__loop_in_thread(const parley__loop *loop);

/* Watch io->fd for events (EPOLLIN/EPOLLOUT). */
parley_status parley__loop_add(parley__loop *loop, parley__io *io, uint32_t events);
parley_status parley__loop_mod(parley__loop *loop, parley__io *io, uint32_t events);
void parley__loop_del(parley__loop *loop, parley__io *io);

/* Run fn(data) on the loop thread soon.  Safe from any thread; tasks run in
 * order.  NOMEM is the only failure. */
parley_status parley__loop_post(parley__loop *loop, parley__task_fn fn, void *data);
/* Run fn(data) on the loop thread and wait for it (runs inline on the loop
 * thread or when the loop is not running). */
parley_status parley__loop_call(parley__loop *loop, parley__task_fn fn, void *data);

/* A loop without a thread of its own (before anything uses it): the
 * application runs it with parley__loop_process(); parley__loop_start()
 * and parley__loop_stop() then do nothing, and parley__loop_call() runs
 * the task at once under the loop's drive lock.  While a thread runs the
 * loop (process, or such a call), it is the loop thread. */
void parley__loop_set_external(parley__loop *loop);
bool parley__loop_is_external(const parley__loop *loop);
/* The epoll fd: readable when process has something to do (events, a
 * posted task's wake-up). */
int parley__loop_fd(const parley__loop *loop);
/* Milliseconds until a timer is due or a task is waiting: 0 at once, -1
 * none. */
int parley__loop_timeout(parley__loop *loop);
/* One pass: waits up to wait_ms (0: not at all, -1: until something
 * happens, shortened to the next timer) for events, then runs the ready
 * events, due timers and posted tasks on the calling thread.
 * INVALID_STATE on the loop thread itself (no nesting). */
parley_status parley__loop_process(parley__loop *loop, int wait_ms);
/* For a thread that waits for what only the loop brings: in an external
 * loop, and not on its thread, runs one pass (waiting up to max_ms) and
 * returns true; otherwise false (wait on your condition as usual). */
bool parley__loop_drive(parley__loop *loop, int max_ms);

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t parley__now_ms(void);
/* Arm (loop thread only) a timer to fire at deadline_ms; re-arming moves it.
 * Timers fire in deadline order, equal deadlines in the order they were
 * armed; fn runs on the loop thread with the timer already disarmed (it may
 * re-arm it). */
void parley__loop_timer_arm(parley__loop *loop, parley__timer *t, uint64_t deadline_ms,
                            parley__task_fn fn, void *data);
/* Disarm t (loop thread only); nothing happens if it is not armed. */
void parley__loop_timer_cancel(parley__loop *loop, parley__timer *t);
/* Armed timers (loop thread only; for tests). */
size_t parley__loop_timer_count(const parley__loop *loop);

#endif
