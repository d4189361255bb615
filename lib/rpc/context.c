/* SPDX-License-Identifier: MIT */
/* Contexts: one loop and one worker pool lent to several peers. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>

#include "parley/context.h"
#include "context.h"
#include "fork.h"
#include "peer.h"
#include "status.h"

struct parley_context {
    unsigned fork_generation;
    pthread_mutex_t lock;
    parley__loop *loop;
    parley__workers *workers;   /* made when the first peer starts */
    unsigned n_workers;
    unsigned n_peers;           /* under lock */
    bool started;               /* under lock */
};

static int context_destructor(parley_context *ctx)
{
    unsigned n;

    if (atomic_load_explicit(&parley__forks, memory_order_relaxed) != ctx->fork_generation)
        return -1;   /* a forked child: as for peers (fork.h) */
    pthread_mutex_lock(&ctx->lock);
    n = ctx->n_peers;
    pthread_mutex_unlock(&ctx->lock);
    if (n > 0)
        return -1;   /* its peers still use the threads */
    TALLOC_FREE(ctx->workers);      /* runs what is queued, joins */
    parley__loop_stop(ctx->loop);   /* runs what is posted, joins */
    TALLOC_FREE(ctx->loop);
    pthread_mutex_destroy(&ctx->lock);
    return 0;
}

PARLEY_PUBLIC parley_status parley_context_new(TALLOC_CTX *mem_ctx, parley_context **ret_ctx)
{
    parley_context *ctx;
    parley_status st;

    if (ret_ctx == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT, "parley_context_new needs ret_ctx");
    ctx = talloc_zero(mem_ctx, parley_context);
    if (ctx == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory creating a context");
    ctx->fork_generation = parley__fork_generation();
    ctx->n_workers = PARLEY_DEFAULT_WORKERS;
    st = parley__loop_new(ctx, &ctx->loop);
    if (st != PARLEY_OK) {
        talloc_free(ctx);
        return st;
    }
    pthread_mutex_init(&ctx->lock, NULL);
    talloc_set_destructor(ctx, context_destructor);
    *ret_ctx = ctx;
    return PARLEY_OK;
}

PARLEY_PUBLIC parley_status parley_context_set_workers(parley_context *ctx, unsigned n)
{
    parley_status st = PARLEY_OK;

    if (ctx == NULL || n < 1 || n > 1024)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_context_set_workers needs a context and 1..1024 threads");
    PARLEY__FORK_GUARD_GEN(ctx->fork_generation);
    pthread_mutex_lock(&ctx->lock);
    if (ctx->started)
        st = parley__error(PARLEY_ERR_INVALID_STATE,
                           "the worker pool size is fixed once a peer of the context has started");
    else
        ctx->n_workers = n;
    pthread_mutex_unlock(&ctx->lock);
    return st;
}

PARLEY_PUBLIC parley_status parley_peer_new_with_context(TALLOC_CTX *mem_ctx, parley_context *ctx,
                                                         const parley_protocol *protocol,
                                                         parley_peer **ret_peer)
{
    if (ctx == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_peer_new_with_context needs a context");
    PARLEY__FORK_GUARD_GEN(ctx->fork_generation);
    return parley__peer_new(mem_ctx, ctx, protocol, ret_peer);
}

parley__loop *parley__context_attach(parley_context *ctx)
{
    pthread_mutex_lock(&ctx->lock);
    ctx->n_peers++;
    pthread_mutex_unlock(&ctx->lock);
    return ctx->loop;
}

void parley__context_detach(parley_context *ctx)
{
    pthread_mutex_lock(&ctx->lock);
    ctx->n_peers--;
    pthread_mutex_unlock(&ctx->lock);
}

parley_status parley__context_start(parley_context *ctx, parley__workers **ret_workers)
{
    parley_status st = PARLEY_OK;

    pthread_mutex_lock(&ctx->lock);
    if (!ctx->started) {
        st = parley__workers_new(ctx, ctx->n_workers, &ctx->workers);
        if (st == PARLEY_OK) {
            st = parley__loop_start(ctx->loop);
            if (st != PARLEY_OK)
                TALLOC_FREE(ctx->workers);
        }
        if (st == PARLEY_OK)
            ctx->started = true;
    }
    if (st == PARLEY_OK)
        *ret_workers = ctx->workers;
    pthread_mutex_unlock(&ctx->lock);
    return st;
}
