/* SPDX-License-Identifier: MIT */
/* The event loop: epoll, a min-heap of timers and an eventfd for posted tasks. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "status.h"
#include "thread.h"

typedef struct task {
    parley__task_fn fn;
    void *data;
    struct task *next;
} task;

struct parley__loop {
    int epfd;
    int evfd;
    parley__io wake_io;
    pthread_t thread;
    bool running;
    bool stopping;
    /* No thread of its own: the application runs it (parley__loop_process()),
     * and whoever holds drive is its loop thread meanwhile. */
    bool external;
    pthread_mutex_t drive;
    pthread_mutex_t lock;      /* guards tasks and stopping */
    task *head, *tail;
    /* Timers, loop thread only: an intrusive binary min-heap.  Position k
     * (1-based) has its children at 2k and 2k+1; the bits of k below its
     * highest one are the path from the root (0 left, 1 right). */
    parley__timer *troot;
    size_t tcount;
    uint64_t tseq;
};

uint64_t parley__now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void run_tasks(parley__loop *loop)
{
    for (;;) {
        task *t;

        /* No task (the usual case): no lock.  A poster wakes the loop after
         * adding one, so the next pass finds it. */
        if (__atomic_load_n(&loop->head, __ATOMIC_ACQUIRE) == NULL)
            return;
        pthread_mutex_lock(&loop->lock);
        t = loop->head;
        if (t != NULL) {
            __atomic_store_n(&loop->head, t->next, __ATOMIC_RELAXED);
            if (loop->head == NULL)
                loop->tail = NULL;
        }
        pthread_mutex_unlock(&loop->lock);
        if (t == NULL)
            return;
        t->fn(t->data);
        free(t);
    }
}

static void wake_read(void *data, uint32_t events)
{
    parley__loop *loop = data;
    uint64_t v;

    (void)events;
    while (read(loop->evfd, &v, sizeof(v)) < 0 && errno == EINTR)
        ;
}

static void timer_remove(parley__loop *loop, parley__timer *t);

static void run_timers(parley__loop *loop)
{
    uint64_t now = parley__now_ms();

    while (loop->troot != NULL && loop->troot->deadline_ms <= now) {
        parley__timer *t = loop->troot;

        timer_remove(loop, t);
        t->fn(t->data);
    }
}

/* The loop whose thread this is (NULL on other threads): set by the thread
 * itself before it runs anything, so parley__loop_in_thread() is right from
 * the first task on, whenever pthread_create() stores the thread id. */
static __thread const parley__loop *current_loop;

static void *loop_main(void *arg)
{
    parley__loop *loop = arg;
    struct epoll_event evs[64];

    current_loop = loop;
    for (;;) {
        int timeout = -1, n;
        bool stop;

        if (loop->troot != NULL) {
            uint64_t now = parley__now_ms(), due = loop->troot->deadline_ms;

            timeout = due <= now ? 0 : due - now > INT32_MAX ? INT32_MAX : (int)(due - now);
        }
        n = epoll_wait(loop->epfd, evs, 64, timeout);
        for (int i = 0; i < n; i++) {
            parley__io *io = evs[i].data.ptr;

            if (io->active)
                io->fn(io->data, evs[i].events);
        }
        run_timers(loop);
        run_tasks(loop);
        if (!__atomic_load_n(&loop->stopping, __ATOMIC_ACQUIRE))
            continue;   /* set under the lock before the wake-up that ends this pass */
        pthread_mutex_lock(&loop->lock);
        stop = loop->head == NULL;
        pthread_mutex_unlock(&loop->lock);
        if (stop)
            break;
    }
    return NULL;
}

static int loop_destructor(parley__loop *loop)
{
    parley__loop_stop(loop);
    run_tasks(loop);
    close(loop->epfd);
    close(loop->evfd);
    pthread_mutex_destroy(&loop->lock);
    pthread_mutex_destroy(&loop->drive);
    return 0;
}

parley_status parley__loop_new(TALLOC_CTX *mem_ctx, parley__loop **ret_loop)
{
    parley__loop *loop = talloc_zero(mem_ctx, parley__loop);

    if (loop == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory creating an event loop");
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        int err = errno;

        talloc_free(loop);
        return parley__error_errno(PARLEY_ERR_SYSTEM, err, "epoll_create1");
    }
    loop->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (loop->evfd < 0) {
        int err = errno;

        close(loop->epfd);
        talloc_free(loop);
        return parley__error_errno(PARLEY_ERR_SYSTEM, err, "eventfd");
    }
    pthread_mutex_init(&loop->lock, NULL);
    pthread_mutex_init(&loop->drive, NULL);
    talloc_set_destructor(loop, loop_destructor);
    loop->wake_io.fd = loop->evfd;
    loop->wake_io.fn = wake_read;
    loop->wake_io.data = loop;
    if (parley__loop_add(loop, &loop->wake_io, EPOLLIN) != PARLEY_OK) {
        parley_status st = PARLEY_ERR_SYSTEM;

        talloc_free(loop);
        return st;
    }
    *ret_loop = loop;
    return PARLEY_OK;
}

parley_status parley__loop_start(parley__loop *loop)
{
    int rc;

    if (loop->running)
        return PARLEY_OK;
    loop->stopping = false;
    rc = parley__thread_create(&loop->thread, NULL, loop_main, loop);
    if (rc != 0)
        return parley__error_errno(PARLEY_ERR_SYSTEM, rc, "starting the I/O thread");
    loop->running = true;
    return PARLEY_OK;
}

static void wake(parley__loop *loop)
{
    uint64_t one = 1;

    while (write(loop->evfd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
}

void parley__loop_stop(parley__loop *loop)
{
    if (loop->external) {
        /* No thread to stop: what is posted runs here, as the loop. */
        const parley__loop *saved;

        pthread_mutex_lock(&loop->drive);
        saved = current_loop;
        current_loop = loop;
        run_tasks(loop);
        current_loop = saved;
        pthread_mutex_unlock(&loop->drive);
        return;
    }
    if (!loop->running)
        return;
    pthread_mutex_lock(&loop->lock);
    __atomic_store_n(&loop->stopping, true, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&loop->lock);
    wake(loop);
    pthread_join(loop->thread, NULL);
    loop->running = false;
    run_tasks(loop);
}

bool parley__loop_in_thread(const parley__loop *loop)
{
    return current_loop == loop;
}

parley_status parley__loop_add(parley__loop *loop, parley__io *io, uint32_t events)
{
    struct epoll_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.events = events;
    ev.data.ptr = io;
    io->active = true;
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, io->fd, &ev) < 0) {
        io->active = false;
        return parley__error_errno(PARLEY_ERR_SYSTEM, errno, "epoll_ctl ADD");
    }
    return PARLEY_OK;
}

parley_status parley__loop_mod(parley__loop *loop, parley__io *io, uint32_t events)
{
    struct epoll_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.events = events;
    ev.data.ptr = io;
    if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
        return parley__error_errno(PARLEY_ERR_SYSTEM, errno, "epoll_ctl MOD");
    return PARLEY_OK;
}

void parley__loop_del(parley__loop *loop, parley__io *io)
{
    if (!io->active)
        return;
    io->active = false;
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
}

parley_status parley__loop_post(parley__loop *loop, parley__task_fn fn, void *data)
{
    task *t = malloc(sizeof(*t));

    if (t == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory posting to the I/O thread");
    t->fn = fn;
    t->data = data;
    t->next = NULL;
    pthread_mutex_lock(&loop->lock);
    if (loop->tail != NULL)
        loop->tail->next = t;
    else
        __atomic_store_n(&loop->head, t, __ATOMIC_RELEASE);
    loop->tail = t;
    pthread_mutex_unlock(&loop->lock);
    wake(loop);
    return PARLEY_OK;
}

typedef struct sync_call {
    parley__task_fn fn;
    void *data;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
} sync_call;

static void sync_run(void *arg)
{
    sync_call *sc = arg;

    sc->fn(sc->data);
    pthread_mutex_lock(&sc->lock);
    sc->done = true;
    pthread_cond_signal(&sc->cond);
    pthread_mutex_unlock(&sc->lock);
}

parley_status parley__loop_call(parley__loop *loop, parley__task_fn fn, void *data)
{
    sync_call sc;
    parley_status st;

    if (loop->external && !parley__loop_in_thread(loop)) {
        /* Serialised with the application's parley__loop_process(). */
        const parley__loop *saved;

        pthread_mutex_lock(&loop->drive);
        saved = current_loop;
        current_loop = loop;
        fn(data);
        current_loop = saved;
        pthread_mutex_unlock(&loop->drive);
        return PARLEY_OK;
    }
    if (!loop->running || parley__loop_in_thread(loop)) {
        fn(data);
        return PARLEY_OK;
    }
    sc.fn = fn;
    sc.data = data;
    sc.done = false;
    pthread_mutex_init(&sc.lock, NULL);
    pthread_cond_init(&sc.cond, NULL);
    st = parley__loop_post(loop, sync_run, &sc);
    if (st == PARLEY_OK) {
        pthread_mutex_lock(&sc.lock);
        while (!sc.done)
            pthread_cond_wait(&sc.cond, &sc.lock);
        pthread_mutex_unlock(&sc.lock);
    }
    pthread_cond_destroy(&sc.cond);
    pthread_mutex_destroy(&sc.lock);
    return st;
}

/* ---- a loop without a thread, run by the application ---- */

void parley__loop_set_external(parley__loop *loop)
{
    loop->external = true;
}

bool parley__loop_is_external(const parley__loop *loop)
{
    return loop->external;
}

int parley__loop_fd(const parley__loop *loop)
{
    return loop->epfd;
}

/* Milliseconds until something is due: 0 now (a task is posted or a timer
 * is due), -1 nothing. drive held. */
static int due_in_locked(parley__loop *loop)
{
    uint64_t now, due;

    if (__atomic_load_n(&loop->head, __ATOMIC_ACQUIRE) != NULL)
        return 0;
    if (loop->troot == NULL)
        return -1;
    now = parley__now_ms();
    due = loop->troot->deadline_ms;
    return due <= now ? 0 : due - now > INT32_MAX ? INT32_MAX : (int)(due - now);
}

int parley__loop_timeout(parley__loop *loop)
{
    int ms;

    if (parley__loop_in_thread(loop))
        return due_in_locked(loop);
    pthread_mutex_lock(&loop->drive);
    ms = due_in_locked(loop);
    pthread_mutex_unlock(&loop->drive);
    return ms;
}

parley_status parley__loop_process(parley__loop *loop, int wait_ms)
{
    struct epoll_event evs[64];
    const parley__loop *saved;
    int n, due;

    if (parley__loop_in_thread(loop))
        return parley__error(PARLEY_ERR_INVALID_STATE,
                             "the peer's events are being processed on this thread already "
                             "(a handler, callback or hook may not process them again)");
    pthread_mutex_lock(&loop->drive);
    saved = current_loop;
    current_loop = loop;
    due = due_in_locked(loop);
    if (due >= 0 && (wait_ms < 0 || due < wait_ms))
        wait_ms = due;
    n = epoll_wait(loop->epfd, evs, 64, wait_ms);
    for (int i = 0; i < n; i++) {
        parley__io *io = evs[i].data.ptr;

        if (io->active)
            io->fn(io->data, evs[i].events);
    }
    run_timers(loop);
    run_tasks(loop);
    current_loop = saved;
    pthread_mutex_unlock(&loop->drive);
    return PARLEY_OK;
}

bool parley__loop_drive(parley__loop *loop, int max_ms)
{
    if (!loop->external || parley__loop_in_thread(loop))
        return false;
    (void)parley__loop_process(loop, max_ms);
    return true;
}

/* ---- timers: an intrusive binary min-heap ---- */

static bool timer_before(const parley__timer *a, const parley__timer *b)
{
    return a->deadline_ms < b->deadline_ms ||
           (a->deadline_ms == b->deadline_ms && a->seq < b->seq);
}

/* The node that is (or will be) the parent of position k >= 2; *right says
 * on which side position k hangs. */
static parley__timer *timer_slot_parent(const parley__loop *loop, size_t k, bool *right)
{
    parley__timer *n = loop->troot;
    int depth = 0;

    while ((k >> depth) > 1)
        depth++;
    for (int b = depth - 1; b > 0; b--)
        n = ((k >> b) & 1u) ? n->right : n->left;
    *right = (k & 1u) != 0;
    return n;
}

/* Point whatever pointed at `from` (its parent or the root) at `to`. */
static void timer_replace_link(parley__loop *loop, parley__timer *parent, parley__timer *from,
                               parley__timer *to)
{
    if (parent == NULL)
        loop->troot = to;
    else if (parent->left == from)
        parent->left = to;
    else
        parent->right = to;
}

/* Exchange p and its child c in the tree. */
static void timer_swap(parley__loop *loop, parley__timer *p, parley__timer *c)
{
    parley__timer *pp = p->parent, *pl = p->left, *pr = p->right;
    parley__timer *cl = c->left, *cr = c->right;

    timer_replace_link(loop, pp, p, c);
    c->parent = pp;
    if (pl == c) {
        c->left = p;
        c->right = pr;
        if (pr != NULL)
            pr->parent = c;
    } else {
        c->right = p;
        c->left = pl;
        if (pl != NULL)
            pl->parent = c;
    }
    p->parent = c;
    p->left = cl;
    p->right = cr;
    if (cl != NULL)
        cl->parent = p;
    if (cr != NULL)
        cr->parent = p;
}

static void timer_sift_up(parley__loop *loop, parley__timer *t)
{
    while (t->parent != NULL && timer_before(t, t->parent))
        timer_swap(loop, t->parent, t);
}

static void timer_sift_down(parley__loop *loop, parley__timer *t)
{
    for (;;) {
        parley__timer *least = t;

        if (t->left != NULL && timer_before(t->left, least))
            least = t->left;
        if (t->right != NULL && timer_before(t->right, least))
            least = t->right;
        if (least == t)
            return;
        timer_swap(loop, t, least);
    }
}

static void timer_insert(parley__loop *loop, parley__timer *t)
{
    t->left = t->right = NULL;
    t->parent = NULL;
    loop->tcount++;
    if (loop->tcount == 1) {
        loop->troot = t;
    } else {
        bool right;
        parley__timer *p = timer_slot_parent(loop, loop->tcount, &right);

        if (right)
            p->right = t;
        else
            p->left = t;
        t->parent = p;
    }
    t->armed = true;
    timer_sift_up(loop, t);
}

/* Take t (armed) out of the heap: the last node takes its place. */
static void timer_remove(parley__loop *loop, parley__timer *t)
{
    parley__timer *last;

    if (loop->tcount == 1) {
        loop->troot = NULL;
        last = t;
    } else {
        bool right;
        parley__timer *p = timer_slot_parent(loop, loop->tcount, &right);

        if (right) {
            last = p->right;
            p->right = NULL;
        } else {
            last = p->left;
            p->left = NULL;
        }
    }
    loop->tcount--;
    if (last != t) {
        last->parent = t->parent;
        last->left = t->left;
        last->right = t->right;
        timer_replace_link(loop, t->parent, t, last);
        if (last->left != NULL)
            last->left->parent = last;
        if (last->right != NULL)
            last->right->parent = last;
        timer_sift_up(loop, last);
        timer_sift_down(loop, last);
    }
    t->parent = t->left = t->right = NULL;
    t->armed = false;
}

void parley__loop_timer_arm(parley__loop *loop, parley__timer *t, uint64_t deadline_ms,
                            parley__task_fn fn, void *data)
{
    parley__loop_timer_cancel(loop, t);
    t->deadline_ms = deadline_ms;
    t->seq = loop->tseq++;
    t->fn = fn;
    t->data = data;
    timer_insert(loop, t);
}

void parley__loop_timer_cancel(parley__loop *loop, parley__timer *t)
{
    if (t->armed)
        timer_remove(loop, t);
}

size_t parley__loop_timer_count(const parley__loop *loop)
{
    return loop->tcount;
}
