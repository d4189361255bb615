/* SPDX-License-Identifier: MIT */
/* Internal: every thread the library starts, started one way. */
#ifndef PARLEY_LIB_THREAD_H
#define PARLEY_LIB_THREAD_H

#include <pthread.h>

/* pthread_create() with every signal blocked in the new thread: the mask is
 * set to all signals around the create (the thread inherits it) and the
 * caller's mask restored after, so that signals meant for the application
 * (its handlers, its sigwait() thread) are never delivered to a Parley
 * thread.  Returns pthread_create()'s result (0 or an errno value). */
int parley__thread_create(pthread_t *ret_thread, const pthread_attr_t *attr,
                          void *(*fn)(void *), void *arg);

#endif
