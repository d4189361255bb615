/**
 * @file parley/peer.h
 * @brief Peers: one object that is client and server at once.
 */
#ifndef PARLEY_PEER_H
#define PARLEY_PEER_H

#include <stddef.h>
#include <stdint.h>
#include <talloc.h>

#include "parley/status.h"
#include "parley/protocol.h"
#include "parley/call.h"
#include "parley/session.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A peer (opaque). */
typedef struct parley_peer parley_peer;

/** How a handler runs. */
typedef enum parley_dispatch_mode {
    PARLEY_BLOCKING = 0,    /**< on the worker pool; may block */
    PARLEY_NONBLOCKING = 1  /**< on the I/O thread; must not block */
} parley_dispatch_mode;

/** One entry of a dispatch table. */
typedef struct parley_dispatch {
    uint32_t method_id;          /**< the method served */
    parley_handler_fn handler;   /**< its handler */
    parley_dispatch_mode mode;   /**< blocking or not */
} parley_dispatch;

/**
 * @brief Register a dispatch table: these methods are served by this peer.
 * @param[in] peer the peer (not yet listening or connected)
 * @param[in] table n entries; copied
 * @param[in] n number of entries
 * @param[in] data passed to every handler of this table
 * @return PARLEY_OK; INVALID_ARGUMENT (a method id not in the protocol, a
 *         oneway mismatch, a NULL handler, an id registered twice);
 *         INVALID_STATE (peer already active); NOMEM.
 *
 * Ownership: the table is copied; data is borrowed and must outlive the peer.
 */
PARLEY_PUBLIC parley_status parley_peer_add_dispatch(parley_peer *peer,
                                                     const parley_dispatch *table, size_t n,
                                                     void *data);

#ifdef __cplusplus
}
#endif

#endif /* PARLEY_PEER_H */
