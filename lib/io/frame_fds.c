/* SPDX-License-Identifier: MIT */
/* The descriptors of the frame being delivered on this thread (set by the
 * read side around a frame callback). */
#include "config.h"

#include <stddef.h>

#include "fds.h"
#include "frame_fds.h"

static __thread int *cur_fds;
static __thread size_t cur_n;

void parley__frame_fds_set(int *fds, size_t n)
{
    cur_fds = fds;
    cur_n = n;
}

void parley__frame_fds_clear(void)
{
    parley__fds_close(cur_fds, cur_n);
    cur_fds = NULL;
    cur_n = 0;
}

void parley__frame_fds_get(int **ret_fds, size_t *ret_n)
{
    *ret_fds = cur_fds;
    *ret_n = cur_n;
}


