/* SPDX-License-Identifier: MIT */
/* Internal: the descriptors of the frame being delivered on this thread.
 * The read side sets them around a frame callback; whoever decodes the
 * frame takes them (parley__fds_adopt()); clear closes what nobody took. */
#ifndef PARLEY_LIB_FRAME_FDS_H
#define PARLEY_LIB_FRAME_FDS_H

#include <stddef.h>

/* Set / clear the calling thread's current frame descriptors. */
void parley__frame_fds_set(int *fds, size_t n);
void parley__frame_fds_clear(void);
/* The current frame's descriptors (NULL, 0 when none). */
void parley__frame_fds_get(int **ret_fds, size_t *ret_n);

#endif
