/* SPDX-License-Identifier: MIT */
/* Library threads: all signals blocked from their first instruction. */
#include "config.h"

#include <signal.h>

#include "thread.h"

int parley__thread_create(pthread_t *ret_thread, const pthread_attr_t *attr,
                          void *(*fn)(void *), void *arg)
{
    sigset_t all, saved;
    int rc;

    /* Blocking in the creating thread, not in the new one: a signal could
     * otherwise arrive between the new thread's start and its own mask. */
    sigfillset(&all);
    rc = pthread_sigmask(SIG_SETMASK, &all, &saved);
    if (rc != 0)
        return rc;
    rc = pthread_create(ret_thread, attr, fn, arg);
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    return rc;
}
