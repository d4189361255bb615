/* SPDX-License-Identifier: MIT */
/* parley-call: what its parts share. */
#ifndef PARLEY_TOOLS_PARLEY_CALL_H
#define PARLEY_TOOLS_PARLEY_CALL_H

#include <stdbool.h>
#include <stdint.h>

#include <talloc.h>

#include "parley.h"

/* Exit statuses (documented in parley-call(1)). */
enum {
    PC_EXIT_OK = 0,
    PC_EXIT_FAILURE = 1,     /* a local failure: bad JSON, unknown method or type, output */
    PC_EXIT_USAGE = 2,       /* bad command line */
    PC_EXIT_CONNECT = 3,     /* cannot connect, handshake or spawn failed, connection lost */
    PC_EXIT_REMOTE = 4,      /* the call failed at the other end (remote error, NOT_FOUND, ...) */
    PC_EXIT_TIMEOUT = 5,     /* a deadline passed */
    PC_EXIT_NO_JSON = 6,     /* `call` without JSON support built in */
};

/* IDL text of a built protocol (parley-call-idl.c). */
typedef struct pc_idl pc_idl;

/* A printer for protocol p, allocated under mem_ctx; NULL when out of memory. */
pc_idl *pc_idl_new(TALLOC_CTX *mem_ctx, const parley_protocol *p);
/* The whole protocol as IDL text parley-idl accepts. */
char *pc_idl_protocol(pc_idl *w);
/* Only the named methods and types (IDL or C names); *ret_unknown is set to
 * the first name that is neither, and NULL is returned. */
char *pc_idl_select(pc_idl *w, char *const *names, int n_names, const char **ret_unknown);
/* One method's signature: "get(string<256> key) -> (entry e)". */
char *pc_idl_signature(pc_idl *w, const parley_method *m);

/* parley-call-json.c: whether `call` works, and the call itself: the request
 * from JSON (with @FILE in fd positions), the reply printed as JSON.
 * Returns the exit status. */
extern const bool pc_have_json;
int pc_call(TALLOC_CTX *mem, const parley_protocol *p, parley_session *session,
            const char *method, const char *json, bool pretty, bool oneway);

#endif
