/* SPDX-License-Identifier: MIT */
/* The worker pool: up to n threads draining one FIFO of tasks.  Threads
 * start when a task finds no idle one, never before, and stay until the
 * pool is freed. */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "workers.h"
#include "status.h"
#include "thread.h"

typedef struct job {
    parley__task_fn fn;
    void *data;
    struct job *next;
} job;

struct parley__workers {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_cond_t drained;   /* the queue emptied and no job runs (flush) */
    job *head, *tail;
    unsigned queued;     /* jobs in the queue */
    unsigned idle;       /* threads waiting for a job */
    unsigned busy;       /* threads running a job */
    bool stopping;
    unsigned max;        /* threads at most */
    unsigned n;          /* threads started */
    pthread_t *threads;
};

/* The pool whose job this thread runs (NULL elsewhere). */
static __thread const parley__workers *in_worker;

static void *worker_main(void *arg)
{
    parley__workers *w = arg;

    pthread_mutex_lock(&w->lock);
    for (;;) {
        job *j = w->head;

        if (j == NULL) {
            if (w->stopping)
                break;
            w->idle++;
            pthread_cond_wait(&w->cond, &w->lock);
            w->idle--;
            continue;
        }
        w->head = j->next;
        if (w->head == NULL)
            w->tail = NULL;
        w->queued--;
        w->busy++;
        pthread_mutex_unlock(&w->lock);
        in_worker = w;
        j->fn(j->data);
        in_worker = NULL;
        free(j);
        pthread_mutex_lock(&w->lock);
        w->busy--;
        if (w->busy == 0 && w->head == NULL)
            pthread_cond_broadcast(&w->drained);   /* a flush may wait for this */
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static int workers_destructor(parley__workers *w)
{
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    for (unsigned i = 0; i < w->n; i++)
        pthread_join(w->threads[i], NULL);
    pthread_cond_destroy(&w->cond);
    pthread_cond_destroy(&w->drained);
    pthread_mutex_destroy(&w->lock);
    return 0;
}

parley_status parley__workers_new(TALLOC_CTX *mem_ctx, unsigned n, parley__workers **ret_w)
{
    parley__workers *w;

    if (n == 0)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "a worker pool needs at least one thread");
    w = talloc_zero(mem_ctx, parley__workers);
    if (w == NULL || (w->threads = talloc_array(w, pthread_t, n)) == NULL) {
        talloc_free(w);
        return parley__error(PARLEY_ERR_NOMEM, "out of memory creating the worker pool");
    }
    w->max = n;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    pthread_cond_init(&w->drained, NULL);
    talloc_set_destructor(w, workers_destructor);
    *ret_w = w;
    return PARLEY_OK;
}

parley_status parley__workers_submit(parley__workers *w, parley__task_fn fn, void *data)
{
    job *j;

    if (w == NULL)
        return PARLEY_ERR_UNSUPPORTED;   /* no pool: the caller runs it */
    j = malloc(sizeof(*j));
    if (j == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory queueing a handler");
    j->fn = fn;
    j->data = data;
    j->next = NULL;
    pthread_mutex_lock(&w->lock);
    /* More jobs waiting than idle threads to take them: one more thread,
     * while the pool has room. */
    if (w->queued + 1 > w->idle && w->n < w->max) {
        int rc = parley__thread_create(&w->threads[w->n], NULL, worker_main, w);

        if (rc == 0) {
            w->n++;
        } else if (w->n == 0) {
            /* No thread at all would ever run it. */
            pthread_mutex_unlock(&w->lock);
            free(j);
            return parley__error_errno(PARLEY_ERR_SYSTEM, rc, "starting a worker thread");
        }
    }
    if (w->tail != NULL)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    w->queued++;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    return PARLEY_OK;
}

unsigned parley__workers_count(const parley__workers *w)
{
    unsigned n;

    pthread_mutex_lock((pthread_mutex_t *)&w->lock);
    n = w->n;
    pthread_mutex_unlock((pthread_mutex_t *)&w->lock);
    return n;
}

void parley__workers_flush(parley__workers *w)
{
    unsigned self = in_worker == w ? 1 : 0;

    pthread_mutex_lock(&w->lock);
    while (w->head != NULL || w->busy > self)
        pthread_cond_wait(&w->drained, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

unsigned parley__workers_max(const parley__workers *w)
{
    return w->max;
}
