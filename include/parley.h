/**
 * @file parley.h
 * @brief Parley: typed RPC peers for C.  Includes every public header.
 */
#ifndef PARLEY_H
#define PARLEY_H

#include "parley/status.h"
#include "parley/type.h"
#include "parley/data.h"
#include "parley/protocol.h"
#include "parley/call.h"
#include "parley/session.h"
#include "parley/peer.h"

#endif /* PARLEY_H */
