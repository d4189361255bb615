/* SPDX-License-Identifier: MIT */
/**
 * @file parley.h
 * @brief Parley: typed RPC peers for C.  Includes every public header.
 */

/**
 * @mainpage Parley API reference
 *
 * Parley is a typed RPC peer framework for C on Linux.  A protocol is written
 * once in the IDL; `parley-idl` turns it into C types, type descriptors,
 * client stubs and server dispatch tables; libparley carries the calls.
 * Include parley.h (it includes every header below) and build with
 * `pkg-config --cflags --libs parley`.
 *
 * | header | what it holds |
 * |---|---|
 * | parley/status.h | ::parley_status codes, parley_error_message() |
 * | parley/type.h | type descriptors (what the IDL generates) |
 * | parley/data.h | the codec: encode, decode, print, compare, copy |
 * | parley/json.h | JSON text <-> typed values |
 * | parley/protocol.h | protocols and methods, fingerprints |
 * | parley/peer.h | peers: endpoints, listening, connecting, dispatch tables |
 * | parley/session.h | sessions: one connection between two peers |
 * | parley/call.h | calls: acquire, dispatch, release |
 * | parley/introspect.h | introspection: a peer's protocol as data (method 0) |
 *
 * Conventions that hold for every function: output parameters come last,
 * are named `ret_*` and are set only on success; a function that allocates
 * takes a talloc parent and says in its *Ownership* line who frees what; on
 * failure it returns a status and leaves a sentence in
 * parley_error_message().  The manual pages parley(7), parley-idl(1),
 * parley-bench(1) and parley-call(1) give the overview and the tools;
 * `doc/idl.md` and `doc/wire.md` the language and the wire format.
 */
#ifndef PARLEY_H
#define PARLEY_H

#include "parley/status.h"
#include "parley/type.h"
#include "parley/data.h"
#include "parley/json.h"
#include "parley/protocol.h"
#include "parley/call.h"
#include "parley/session.h"
#include "parley/peer.h"
#include "parley/context.h"
#include "parley/introspect.h"
#include "parley/receive.h"
#include "parley/names.h"
#include "parley/security.h"

#endif /* PARLEY_H */
