/* SPDX-License-Identifier: MIT */
/**
 * @file parley/names.h
 * @brief Names: find services by name through parleyd (parleyd(8)).
 *
 * A listening peer registers a name with parley_peer_register_name(); the
 * name lives as long as the peer's registration session to parleyd, so it
 * vanishes at once when the process exits, crashes or is killed.  A client
 * connects by name with a `name:` connect endpoint
 * (parley_peer_add_connect_endpoint()).  parley_name_list() and
 * parley_name_watch() show the table.
 *
 * Which parleyd: a `service` argument (an endpoint such as
 * `tcp:HOST:PORT`), else the `PARLEY_NAMES` environment variable, else the
 * `address` line of the configuration file (`PARLEY_NAMES_CONF`, default
 * PARLEY_NAMES_CONF_FILE), else PARLEY_NAMES_DEFAULT_ADDRESS.
 */
#ifndef PARLEY_NAMES_H
#define PARLEY_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <talloc.h>

#include "parley/status.h"
#include "parley/peer.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Where parleyd listens when nothing else is configured. */
#define PARLEY_NAMES_DEFAULT_ADDRESS "unix:/run/parley/names.sock"
/** parleyd's TCP port when it serves a network (`-l tcp:0.0.0.0:7411`). */
#define PARLEY_NAMES_DEFAULT_PORT 7411
/** The configuration file read by parleyd and by clients. */
#define PARLEY_NAMES_CONF_FILE "/etc/parley/names.conf"
/** Longest name, in bytes.  Names use the characters A-Z a-z 0-9 _ . - only. */
#define PARLEY_NAME_MAX 128

/**
 * Flag of parley_peer_register_name(): parleyd accepts TCP connections for
 * the name on its broker port (one port for the host) and passes each
 * accepted socket to the peer over its registration session, where it is
 * served as with parley_peer_accept_fd() (doc/wire.md, "Brokered
 * connections").  The peer need not listen.
 */
#define PARLEY_NAME_BROKERED 0x1u

/**
 * @brief Register a name for this peer with parleyd.
 *
 * Sends the peer's listen endpoints, its protocol name, version and method
 * fingerprints over a session the peer keeps to parleyd; parleyd records
 * the owner's pid and uid from that session's credentials.  The name is
 * removed when the session ends (this process exits, crashes, is killed, or
 * frees the peer).  If parleyd goes away, a thread of the peer registers
 * every name again as soon as parleyd is back (retries after 50 ms, doubling
 * up to 2 s).
 *
 * If parleyd refuses one of them then (another process registered the name
 * while parleyd was away: ERR_EXISTS, or ACCESS_DENIED for another uid; or
 * any other refusal of the new parleyd), the name is no longer this peer's:
 * it is not tried again (parley_peer_unregister_name() of it is NOT_FOUND),
 * and the peer's exception function (parley_peer_set_exception_function())
 * is called once with a NULL session, that status and a sentence naming the
 * name, on the peer's re-registration thread with no Parley lock held.
 * Register it again with parley_peer_register_name() when it is free.
 *
 * @code
 * parley_peer_add_listen_endpoint(peer, "unix:/run/kv.sock", 0);
 * parley_peer_start_listen(peer);
 * if (parley_peer_register_name(peer, "kv", 0) != PARLEY_OK)
 *     fprintf(stderr, "%s\n", parley_error_message());
 * @endcode
 *
 * Costs: the first registration of a peer creates a second, internal peer
 * (one I/O thread, one worker thread) and one re-registration thread.
 *
 * @param[in] peer a listening peer (parley_peer_start_listen()); with
 *            PARLEY_NAME_BROKERED any peer
 * @param[in] name 1..PARLEY_NAME_MAX bytes of A-Z a-z 0-9 _ . -
 * @param[in] flags 0 or PARLEY_NAME_BROKERED
 * @return PARLEY_OK; INVALID_ARGUMENT (bad name or flags, named);
 *         INVALID_STATE (not listening); ERR_EXISTS (the name is registered
 *         by another live process of the same uid); ACCESS_DENIED (the name
 *         belongs to another uid or is reserved for one, or registration
 *         over TCP is not allowed); CONNECTION_REFUSED (no parleyd);
 *         UNSUPPORTED (PARLEY_NAME_BROKERED with a parleyd that has no
 *         broker port, or reached over TCP); OVERFLOW (256 names per
 *         peer, 65536 per parleyd); NOMEM.
 *
 * Ownership: the name is copied.  Threads: any but the peer's own
 * handlers and callbacks.  Errors: as above, with a sentence.
 */
PARLEY_PUBLIC parley_status parley_peer_register_name(parley_peer *peer, const char *name,
                                                      unsigned flags);

/**
 * @brief Remove a name this peer registered.
 * @param[in] peer the peer
 * @param[in] name a name registered with parley_peer_register_name()
 * @return PARLEY_OK; INVALID_ARGUMENT (NULL); NOT_FOUND (not registered by
 *         this peer); CONNECTION_CLOSED (parleyd gone: the name is gone too).
 *
 * Ownership: nothing allocated.  Errors: as above, with a sentence.
 */
PARLEY_PUBLIC parley_status parley_peer_unregister_name(parley_peer *peer, const char *name);

/** One registered name, as parley_name_list() and watch callbacks see it. */
typedef struct parley_name_info {
    const char *name;                /**< the name */
    const char *protocol;            /**< the protocol name of its peer */
    uint32_t version;                /**< the protocol version */
    const char *const *endpoints;    /**< the peer's listen endpoints */
    size_t n_endpoints;              /**< entries in endpoints */
    int32_t pid;                     /**< the owner's pid (0: unknown, e.g. TCP) */
    uint32_t uid;                    /**< the owner's uid */
    const char *host;                /**< the host parleyd runs on */
    uint64_t registered_ms;          /**< registration time, ms since the epoch */
    unsigned flags;                  /**< PARLEY_NAME_* */
} parley_name_info;

/**
 * @brief List the names matching a pattern.
 * @param[in] mem_ctx talloc parent of the array
 * @param[in] service the parleyd to ask (an endpoint), or NULL for the default
 * @param[in] pattern a name where `*` matches any run and `?` one character
 * @param[out] ret_infos the entries sorted by name, set only on success
 * @param[out] ret_n their number
 * @return PARLEY_OK; INVALID_ARGUMENT (bad pattern or service, named);
 *         CONNECTION_REFUSED (no parleyd); NOMEM.
 *
 * Ownership: *ret_infos is one talloc graph under mem_ctx.  Threads: any
 * but a peer's I/O thread.  Errors: as above, with a sentence.
 */
PARLEY_PUBLIC parley_status parley_name_list(TALLOC_CTX *mem_ctx, const char *service,
                                              const char *pattern,
                                              parley_name_info **ret_infos, size_t *ret_n);

/** A watch made by parley_name_watch() (opaque). */
typedef struct parley_name_watcher parley_name_watcher;

/**
 * A watch callback: `info` appeared (gone false) or vanished (gone true).
 * Runs on the watcher's own I/O thread, with no Parley lock held; info is
 * valid during the call only.
 */
typedef void (*parley_name_watch_fn)(const parley_name_info *info, bool gone, void *data);

/**
 * @brief Be told when names matching a pattern appear and vanish.
 *
 * Names already registered are not reported; list them first.  parleyd
 * calls the watcher back on the watch's own session.  If parleyd restarts,
 * the watch is made again by the watcher's thread (as registrations are);
 * what changed while parleyd was away is not reported.
 *
 * @param[in] mem_ctx talloc parent of the watcher
 * @param[in] service the parleyd to watch (an endpoint), or NULL for the default
 * @param[in] pattern as parley_name_list()
 * @param[in] fn the callback (not NULL)
 * @param[in] data passed to fn
 * @param[out] ret_watcher the watcher, set only on success
 * @return as parley_name_list().
 *
 * Ownership: talloc_free() of the watcher ends the watch; fn does not run
 * once it returned.  Not from fn itself.  Costs an I/O thread, a worker
 * and a keeper thread.  Errors: as above, with a sentence.
 */
PARLEY_PUBLIC parley_status parley_name_watch(TALLOC_CTX *mem_ctx, const char *service,
                                               const char *pattern, parley_name_watch_fn fn,
                                               void *data, parley_name_watcher **ret_watcher);

#ifdef __cplusplus
}
#endif

#endif
