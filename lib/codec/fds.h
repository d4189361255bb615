/* SPDX-License-Identifier: MIT */
/* Internal: descriptors that travel with values.
 *
 * A decoded value owns the descriptors its frame carried through a hidden
 * talloc child (parley__fds_adopt()), which closes them when the value is
 * freed; parley_take_fd() takes one out. */
#ifndef PARLEY_LIB_FDS_H
#define PARLEY_LIB_FDS_H

#include <stddef.h>
#include <talloc.h>

#include "parley/status.h"

/* At most this many descriptors per frame, whatever the setting (the
 * kernel's SCM_MAX_FD). */
#define PARLEY__FDS_HARD_MAX 253u
/* The default max fds per frame. */
#define PARLEY__FDS_DEFAULT_MAX 32u

/* Move fds[0..n) into a hidden child of value, which closes them when value
 * is freed; each fds[i] taken is set to -1.  NOMEM (fds are left as they
 * were, for the caller to close). */
parley_status parley__fds_adopt(void *value, int *fds, size_t n);

/* Close fds[0..n) that are >= 0 and set them to -1. */
void parley__fds_close(int *fds, size_t n);

#endif
