/* SPDX-License-Identifier: MIT */
/* Runtime, threads: the event loop (posted tasks, fds, timers) and workers. */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>

#include "loop.h"
#include "suites.h"
#include "workers.h"

typedef struct counter {
    atomic_int n;
    atomic_int order_ok;
    int last;
    parley__loop *loop;
    atomic_int in_thread;
} counter;

typedef struct post_arg {
    counter *c;
    int seq;
} post_arg;

static void count_task(void *data)
{
    post_arg *a = data;

    if (parley__loop_in_thread(a->c->loop))
        atomic_fetch_add(&a->c->in_thread, 1);
    if (a->seq != a->c->last + 1)
        atomic_store(&a->c->order_ok, 0);
    a->c->last = a->seq;
    atomic_fetch_add(&a->c->n, 1);
}

START_TEST(test_loop_posts_in_order)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley__loop *loop;
    counter c;
    post_arg args[500];

    atomic_init(&c.n, 0);
    atomic_init(&c.order_ok, 1);
    atomic_init(&c.in_thread, 0);
    c.last = 0;
    ck_assert_int_eq(parley__loop_new(mem, &loop), PARLEY_OK);
    c.loop = loop;
    ck_assert_int_eq(parley__loop_start(loop), PARLEY_OK);
    ck_assert(!parley__loop_in_thread(loop));
    for (int i = 0; i < 500; i++) {
        args[i].c = &c;
        args[i].seq = i + 1;
        ck_assert_int_eq(parley__loop_post(loop, count_task, &args[i]), PARLEY_OK);
    }
    /* loop_call runs after everything posted before it. */
    {
        post_arg last = { &c, 501 };

        ck_assert_int_eq(parley__loop_call(loop, count_task, &last), PARLEY_OK);
    }
    ck_assert_int_eq(atomic_load(&c.n), 501);
    ck_assert_int_eq(atomic_load(&c.in_thread), 501);
    ck_assert_int_eq(atomic_load(&c.order_ok), 1);
    talloc_free(mem);
}
END_TEST

typedef struct io_arg {
    parley__io io;
    parley__loop *loop;
    int got;
    pthread_mutex_t lock;
    pthread_cond_t cond;
} io_arg;

static void on_readable(void *data, uint32_t events)
{
    io_arg *a = data;
    char b[16];
    ssize_t n = read(a->io.fd, b, sizeof(b));

    (void)events;
    pthread_mutex_lock(&a->lock);
    if (n > 0)
        a->got += (int)n;
    pthread_cond_signal(&a->cond);
    pthread_mutex_unlock(&a->lock);
}

typedef struct timer_arg {
    parley__loop *loop;
    parley__timer t1, t2, t3;
    int fired[3];
    int seq;
} timer_arg;

static void fire(void *data)
{
    int *slot = data;

    *slot = 1;
}

static void arm_timers(void *data)
{
    timer_arg *ta = data;
    uint64_t now = parley__now_ms();

    parley__loop_timer_arm(ta->loop, &ta->t1, now + 20, fire, &ta->fired[0]);
    parley__loop_timer_arm(ta->loop, &ta->t2, now + 1, fire, &ta->fired[1]);
    parley__loop_timer_arm(ta->loop, &ta->t3, now + 5, fire, &ta->fired[2]);
    parley__loop_timer_cancel(ta->loop, &ta->t3);
}

static void read_fired(void *data)
{
    timer_arg *ta = data;

    ta->seq = ta->fired[0] + 2 * ta->fired[1] + 4 * ta->fired[2];
}

START_TEST(test_loop_fds_and_timers)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley__loop *loop;
    io_arg a;
    timer_arg ta;
    int sv[2];

    ck_assert_int_eq(parley__loop_new(mem, &loop), PARLEY_OK);
    ck_assert_int_eq(parley__loop_start(loop), PARLEY_OK);
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    a.io.fd = sv[0];
    a.io.fn = on_readable;
    a.io.data = &a;
    a.got = 0;
    pthread_mutex_init(&a.lock, NULL);
    pthread_cond_init(&a.cond, NULL);
    ck_assert_int_eq(parley__loop_add(loop, &a.io, EPOLLIN), PARLEY_OK);
    ck_assert_int_eq(write(sv[1], "hello", 5), 5);
    pthread_mutex_lock(&a.lock);
    while (a.got < 5)
        pthread_cond_wait(&a.cond, &a.lock);
    pthread_mutex_unlock(&a.lock);
    ck_assert_int_eq(a.got, 5);

    memset(&ta, 0, sizeof(ta));
    ta.loop = loop;
    ck_assert_int_eq(parley__loop_call(loop, arm_timers, &ta), PARLEY_OK);
    for (int i = 0; i < 2000 && ta.seq != 3; i++) {
        usleep(1000);
        parley__loop_call(loop, read_fired, &ta);
    }
    ck_assert_int_eq(ta.seq, 3);   /* t1 and t2 fired, the cancelled t3 did not */

    parley__loop_del(loop, &a.io);
    talloc_free(mem);              /* joins the thread */
    close(sv[0]);
    close(sv[1]);
    pthread_cond_destroy(&a.cond);
    pthread_mutex_destroy(&a.lock);
}
END_TEST

/* ---- the timer heap ---- */

#define HEAP_N 4000

typedef struct heap_timer {
    parley__timer t;
    struct heap_test *ht;
    int index;
    uint64_t deadline;   /* the last deadline it was armed with */
    uint64_t order;      /* when it was last armed (test's own count) */
    bool live;           /* armed and not cancelled */
    int rearms;          /* re-arm itself this many more times when it fires */
} heap_timer;

typedef struct heap_test {
    parley__loop *loop;
    heap_timer timers[HEAP_N];
    int fired[HEAP_N + 64];
    atomic_int n_fired;
    int n_live;
    uint64_t order;
    size_t count_after_arm;
    size_t count_at_end;
    bool fired_dead;     /* a cancelled timer fired */
} heap_test;

static void heap_fire(void *data);

static void heap_arm(heap_test *ht, heap_timer *h, uint64_t deadline)
{
    if (!h->live)
        ht->n_live++;
    h->live = true;
    h->deadline = deadline;
    h->order = ht->order++;
    parley__loop_timer_arm(ht->loop, &h->t, deadline, heap_fire, h);
}

static void heap_fire(void *data)
{
    heap_timer *h = data;
    heap_test *ht = h->ht;
    int n = atomic_load(&ht->n_fired);

    if (!h->live)
        ht->fired_dead = true;
    h->live = false;
    ht->n_live--;
    if (n < HEAP_N + 64)
        ht->fired[n] = h->index;
    if (h->rearms > 0) {
        /* Re-armed from its own callback: fires again, after the others
         * already due at this deadline. */
        h->rearms--;
        heap_arm(ht, h, h->deadline);
    }
    atomic_store(&ht->n_fired, n + 1);
}

/* Every deadline is already past: they all fire on the loop's next pass,
 * in heap order, whatever the clock does meanwhile. */
static void heap_arm_all(void *data)
{
    heap_test *ht = data;
    uint64_t base = parley__now_ms() - 100000;
    unsigned r = 12345;

    for (int i = 0; i < HEAP_N; i++) {
        heap_timer *h = &ht->timers[i];

        r = r * 1103515245u + 12345u;
        h->ht = ht;
        h->index = i;
        /* Few distinct deadlines: many ties, which must fire in arming order. */
        heap_arm(ht, h, base + (r >> 16) % 97);
    }
    for (int i = 0; i < HEAP_N; i += 7) {
        parley__loop_timer_cancel(ht->loop, &ht->timers[i].t);
        ht->timers[i].live = false;
        ht->n_live--;
        parley__loop_timer_cancel(ht->loop, &ht->timers[i].t);   /* twice: no-op */
    }
    for (int i = 3; i < HEAP_N; i += 11) {
        r = r * 1103515245u + 12345u;
        heap_arm(ht, &ht->timers[i], base + (r >> 16) % 97);   /* moved */
    }
    ht->timers[5].rearms = 2;
    ht->count_after_arm = parley__loop_timer_count(ht->loop);
}

static void heap_count(void *data)
{
    heap_test *ht = data;

    ht->count_at_end = parley__loop_timer_count(ht->loop);
}

START_TEST(test_timer_heap_order_cancel_rearm)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    heap_test *ht = talloc_zero(mem, heap_test);
    int expect_fires, n_live_armed;

    ck_assert_int_eq(parley__loop_new(mem, &ht->loop), PARLEY_OK);
    ck_assert_int_eq(parley__loop_start(ht->loop), PARLEY_OK);
    atomic_init(&ht->n_fired, 0);
    ck_assert_int_eq(parley__loop_call(ht->loop, heap_arm_all, ht), PARLEY_OK);
    n_live_armed = HEAP_N - (HEAP_N + 6) / 7;
    for (int i = 3; i < HEAP_N; i += 11)
        if (i % 7 == 0)
            n_live_armed++;   /* cancelled, then armed again */
    ck_assert_uint_eq(ht->count_after_arm, (size_t)n_live_armed);
    expect_fires = n_live_armed + 2;
    /* A generous bound only: they are all due already. */
    for (int i = 0; i < 10000 && atomic_load(&ht->n_fired) < expect_fires; i++)
        usleep(1000);
    ck_assert_int_eq(parley__loop_call(ht->loop, heap_count, ht), PARLEY_OK);
    ck_assert_int_eq(atomic_load(&ht->n_fired), expect_fires);
    ck_assert(!ht->fired_dead);
    ck_assert_uint_eq(ht->count_at_end, 0);
    ck_assert_int_eq(ht->n_live, 0);
    /* Everything but the re-armed timer's second and third firing came in
     * (deadline, arming order) order. */
    {
        int prev = -1, seen5 = 0;

        for (int i = 0; i < expect_fires; i++) {
            int k = ht->fired[i];

            if (k == 5 && ++seen5 > 1)
                continue;
            ck_assert_int_ne(k % 7 == 0 && (k < 3 || (k - 3) % 11 != 0), 1);
            if (prev >= 0) {
                const heap_timer *a = &ht->timers[prev], *b = &ht->timers[k];
                uint64_t da = a->deadline, db = b->deadline;

                if (prev != 5 && k != 5)
                    ck_assert_msg(da < db || (da == db && a->order < b->order),
                                  "timer %d fired before timer %d", prev, k);
            }
            prev = k;
        }
        ck_assert_int_eq(seen5, 3);
    }
    talloc_free(mem);
}
END_TEST

/* Arm, cancel and re-arm on a loop that is not running (the caller is its
 * only thread): the count follows, and freeing the loop is clean. */
START_TEST(test_timer_heap_shape)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley__loop *loop;
    parley__timer *t = talloc_zero_array(mem, parley__timer, 1000);
    unsigned r = 7;

    ck_assert_int_eq(parley__loop_new(mem, &loop), PARLEY_OK);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 1000; i++) {
            r = r * 1103515245u + 12345u;
            parley__loop_timer_arm(loop, &t[i], 1000000 + (r >> 16) % 500, fire, NULL);
        }
        ck_assert_uint_eq(parley__loop_timer_count(loop), 1000);
        for (int i = 0; i < 1000; i += 2)
            parley__loop_timer_cancel(loop, &t[i]);
        ck_assert_uint_eq(parley__loop_timer_count(loop), 500);
        for (int i = 999; i >= 0; i--) {
            ck_assert(t[i].armed == (i % 2 == 1));
            parley__loop_timer_cancel(loop, &t[i]);
        }
        ck_assert_uint_eq(parley__loop_timer_count(loop), 0);
    }
    talloc_free(mem);
}
END_TEST

static void add_one(void *data)
{
    atomic_fetch_add((atomic_int *)data, 1);
    usleep(100);
}

START_TEST(test_workers_run_everything)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley__workers *w;
    atomic_int n;

    atomic_init(&n, 0);
    ck_assert_int_eq(parley__workers_new(mem, 0, &w), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley__workers_new(mem, 3, &w), PARLEY_OK);
    ck_assert_uint_eq(parley__workers_count(w), 0);   /* started on demand */
    ck_assert_uint_eq(parley__workers_max(w), 3);
    for (int i = 0; i < 300; i++)
        ck_assert_int_eq(parley__workers_submit(w, add_one, &n), PARLEY_OK);
    ck_assert_uint_ge(parley__workers_count(w), 1);
    ck_assert_uint_le(parley__workers_count(w), 3);
    talloc_free(w);   /* drains the queue, then joins */
    ck_assert_int_eq(atomic_load(&n), 300);
    ck_assert_uint_eq(talloc_total_blocks(mem), 1);
    talloc_free(mem);
}
END_TEST

/* ---- library threads block every signal ---- */

typedef struct mask_arg {
    atomic_int blocked;   /* 1: SIGINT, SIGTERM and SIGUSR1 blocked; 0: not; -1 not run */
    parley__loop *loop;
    atomic_int in_thread;
} mask_arg;

static void read_mask(void *data)
{
    mask_arg *m = data;
    sigset_t cur;

    pthread_sigmask(SIG_SETMASK, NULL, &cur);
    atomic_store(&m->blocked, sigismember(&cur, SIGINT) == 1 && sigismember(&cur, SIGTERM) == 1 &&
                              sigismember(&cur, SIGUSR1) == 1);
    if (m->loop != NULL)
        atomic_store(&m->in_thread, parley__loop_in_thread(m->loop));
}

START_TEST(test_threads_block_signals)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    parley__loop *loop;
    parley__workers *w;
    mask_arg m;
    sigset_t none, cur;

    /* The application's thread blocks nothing: the library's threads still
     * block everything, and the caller's mask is left as it was. */
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    atomic_init(&m.blocked, -1);
    atomic_init(&m.in_thread, 0);
    ck_assert_int_eq(parley__loop_new(mem, &loop), PARLEY_OK);
    ck_assert_int_eq(parley__loop_start(loop), PARLEY_OK);
    m.loop = loop;
    ck_assert_int_eq(parley__loop_call(loop, read_mask, &m), PARLEY_OK);
    ck_assert_int_eq(atomic_load(&m.blocked), 1);
    ck_assert_int_eq(atomic_load(&m.in_thread), 1);
    ck_assert(!parley__loop_in_thread(loop));

    atomic_store(&m.blocked, -1);
    m.loop = NULL;
    ck_assert_int_eq(parley__workers_new(mem, 1, &w), PARLEY_OK);
    ck_assert_int_eq(parley__workers_submit(w, read_mask, &m), PARLEY_OK);
    talloc_free(w);   /* runs the job, joins */
    ck_assert_int_eq(atomic_load(&m.blocked), 1);

    pthread_sigmask(SIG_SETMASK, NULL, &cur);
    ck_assert_int_eq(sigismember(&cur, SIGINT), 0);
    talloc_free(mem);
}
END_TEST

Suite *parley_loop_suite(void)
{
    Suite *s = suite_create("loop");
    TCase *tc = tcase_create("loop");

    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_loop_posts_in_order);
    tcase_add_test(tc, test_loop_fds_and_timers);
    tcase_add_test(tc, test_workers_run_everything);
    tcase_add_test(tc, test_timer_heap_order_cancel_rearm);
    tcase_add_test(tc, test_timer_heap_shape);
    tcase_add_test(tc, test_threads_block_signals);
    suite_add_tcase(s, tc);
    return s;
}
