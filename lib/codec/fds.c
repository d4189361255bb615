/* SPDX-License-Identifier: MIT */
/* Descriptors owned by a decoded value: a hidden talloc child closes them
 * when the value is freed; parley_take_fd() takes one out. */
#include "config.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "parley/data.h"
#include "fds.h"
#include "status.h"

void parley__fds_close(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (fds[i] >= 0) {
            close(fds[i]);
            fds[i] = -1;
        }
    }
}

/* ---- descriptors owned by a decoded value ---- */

/* Owners are listed (process-wide) so that parley_take_fd() finds one by
 * its value without walking talloc children. */
typedef struct fd_owner {
    struct fd_owner *prev, *next;
    const void *value;
    size_t n;
    int fds[];
} fd_owner;

static pthread_mutex_t owners_lock = PTHREAD_MUTEX_INITIALIZER;
static fd_owner *owners;

static int owner_destructor(fd_owner *o)
{
    pthread_mutex_lock(&owners_lock);
    if (o->prev != NULL)
        o->prev->next = o->next;
    else
        owners = o->next;
    if (o->next != NULL)
        o->next->prev = o->prev;
    pthread_mutex_unlock(&owners_lock);
    parley__fds_close(o->fds, o->n);
    return 0;
}

parley_status parley__fds_adopt(void *value, int *fds, size_t n)
{
    fd_owner *o;

    if (n == 0)
        return PARLEY_OK;
    o = talloc_size(value, sizeof(*o) + n * sizeof(int));
    if (o == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory keeping %zu received fds", n);
    talloc_set_name_const(o, "parley fd owner");
    o->value = value;
    o->n = n;
    memcpy(o->fds, fds, n * sizeof(int));
    for (size_t i = 0; i < n; i++)
        fds[i] = -1;
    pthread_mutex_lock(&owners_lock);
    o->prev = NULL;
    o->next = owners;
    if (owners != NULL)
        owners->prev = o;
    owners = o;
    pthread_mutex_unlock(&owners_lock);
    talloc_set_destructor(o, owner_destructor);
    return PARLEY_OK;
}

PARLEY_PUBLIC int parley_take_fd(const void *decoded_value, int fd)
{
    int got = -1;

    if (decoded_value == NULL || fd < 0) {
        parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                      "parley_take_fd needs a decoded value and a descriptor");
        return -1;
    }
    pthread_mutex_lock(&owners_lock);
    for (fd_owner *o = owners; o != NULL && got < 0; o = o->next) {
        if (o->value != decoded_value)
            continue;
        for (size_t i = 0; i < o->n; i++) {
            if (o->fds[i] == fd) {
                o->fds[i] = -1;
                got = fd;
                break;
            }
        }
    }
    pthread_mutex_unlock(&owners_lock);
    if (got < 0)
        parley__error(PARLEY_ERR_NOT_FOUND, "fd %d is not owned by that decoded value", fd);
    return got;
}

