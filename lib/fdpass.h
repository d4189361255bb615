/* Internal: descriptors that travel with frames (SCM_RIGHTS).
 *
 * The read side hands a frame's descriptors to the frame callback through a
 * thread-local slot (parley__frame_fds_*): whoever decodes the frame takes
 * them; what nobody took is closed when the callback returns.  A decoded
 * value owns its descriptors through a hidden talloc child
 * (parley__fds_adopt()); parley_take_fd() takes one out. */
#ifndef PARLEY_LIB_FDPASS_H
#define PARLEY_LIB_FDPASS_H

#include <stddef.h>
#include <talloc.h>

#include "parley/status.h"

/* At most this many descriptors per frame, whatever the setting (the
 * kernel's SCM_MAX_FD). */
#define PARLEY__FDS_HARD_MAX 253u
/* The default max fds per frame. */
#define PARLEY__FDS_DEFAULT_MAX 32u

/* Set / clear the calling thread's current frame descriptors (the read side,
 * around a frame callback).  clear closes those nobody took. */
void parley__frame_fds_set(int *fds, size_t n);
void parley__frame_fds_clear(void);
/* The current frame's descriptors (NULL, 0 when none). */
void parley__frame_fds_get(int **ret_fds, size_t *ret_n);

/* Move the current frame's descriptors into a hidden child of value, which
 * closes them when value is freed.  NOMEM (the descriptors stay with the
 * frame, closed by parley__frame_fds_clear()). */
parley_status parley__fds_adopt(void *value);

/* Close fds[0..n) that are >= 0. */
void parley__fds_close(int *fds, size_t n);

#endif
