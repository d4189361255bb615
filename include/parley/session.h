/**
 * @file parley/session.h
 * @brief Sessions: one connection between two peers, with its calls and handles.
 */
#ifndef PARLEY_SESSION_H
#define PARLEY_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <talloc.h>

#include "parley/status.h"
#include "parley/call.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The session API is declared here as it lands (issue: peer core). */

#ifdef __cplusplus
}
#endif

#endif /* PARLEY_SESSION_H */
