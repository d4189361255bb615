/* SPDX-License-Identifier: MIT */
/* Internal: a closed connection's last bytes (the rest of a frame already
 * begun and a BYE) are written as the other end makes room, for a bounded
 * time, then the socket is closed.  Owned by the loop; nothing else refers
 * to it. */
#ifndef PARLEY_LIB_LINGER_H
#define PARLEY_LIB_LINGER_H

#include <stddef.h>
#include <stdint.h>

#include "loop.h"

/* Loop thread.  Takes fd (closed on every path) and copies bytes[0..len).
 * Writes what fits now; if something is left, keeps writing it when the
 * socket has room for at most ms milliseconds.  Then shuts the socket down
 * for writing, drains what the other end sent (so TCP does not reset over
 * the last bytes) and closes it.  Out of memory: closes at once. */
void parley__linger_start(parley__loop *loop, int fd, const uint8_t *bytes, size_t len,
                          uint64_t ms);

#endif
