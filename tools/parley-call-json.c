/* SPDX-License-Identifier: MIT */
/* parley-call call: a request from JSON, the reply as JSON (parley/json.h).
 * Built only with HAVE_PARLEY_JSON; without it, `call` says so and exits
 * with PC_EXIT_NO_JSON. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "parley-call.h"

#ifdef HAVE_PARLEY_JSON

#include <jansson.h>

#include "parley/json.h"

const bool pc_have_json = true;

/* The descriptors opened for @FILE, closed when the call is done. */
typedef struct fd_list {
    int fds[64];
    size_t n;
} fd_list;

/* Open FILE for "@FILE", read-write (created if missing) or, failing that,
 * read-only; the descriptor is kept in fds.  Returns it, or -1. */
static int open_at_file(const char *at, fd_list *fds)
{
    const char *path = at + 1;
    int fd;

    if (fds->n >= sizeof(fds->fds) / sizeof(fds->fds[0])) {
        fprintf(stderr, "parley-call: more than %zu @FILE descriptors\n",
                sizeof(fds->fds) / sizeof(fds->fds[0]));
        return -1;
    }
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0)
        fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "parley-call: @%s: %s\n", path, strerror(errno));
        return -1;
    }
    fds->fds[fds->n++] = fd;
    return fd;
}

/* Walk v (of type t) for "@FILE" strings in fd positions (through structs,
 * arrays, sequences and optionals).  When v itself is one, *ret_new is set
 * to the {"fd": N} that replaces it.  Returns 0, or -1 on failure. */
static int fix_fds(const parley_type *t, json_t *v, fd_list *fds, json_t **ret_new)
{
    json_t *repl = NULL;

    *ret_new = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    switch (t->kind) {
    case PARLEY_KIND_FD:
        if (json_is_string(v) && json_string_value(v)[0] == '@') {
            int fd = open_at_file(json_string_value(v), fds);

            /* an fd is {"fd": N} in parley/json.h's mapping */
            if (fd < 0 || (*ret_new = json_pack("{s:i}", "fd", fd)) == NULL)
                return -1;
        }
        return 0;
    case PARLEY_KIND_OPTIONAL:
        return fix_fds(t->elem, v, fds, ret_new);
    case PARLEY_KIND_STRUCT:
        if (!json_is_object(v))
            return 0;
        for (size_t i = 0; i < t->n_fields; i++) {
            json_t *f = json_object_get(v, t->fields[i].name);

            if (fix_fds(t->fields[i].type, f, fds, &repl) != 0)
                return -1;
            if (repl != NULL && json_object_set_new(v, t->fields[i].name, repl) != 0)
                return -1;
        }
        return 0;
    case PARLEY_KIND_ARRAY:
    case PARLEY_KIND_SEQUENCE:
        if (!json_is_array(v))
            return 0;
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (fix_fds(t->elem, json_array_get(v, i), fds, &repl) != 0)
                return -1;
            if (repl != NULL && json_array_set_new(v, i, repl) != 0)
                return -1;
        }
        return 0;
    default:
        return 0;
    }
}

/* The request JSON with @FILE replaced by descriptors, as new text. */
static char *substitute_fds(TALLOC_CTX *mem, const parley_type *request, const char *text,
                            fd_list *fds)
{
    json_error_t err;
    json_t *root = json_loads(text, JSON_DECODE_ANY, &err), *repl = NULL;
    char *dumped, *r;

    if (root == NULL) {
        /* not JSON: let parley_json_decode() say why */
        return talloc_strdup(mem, text);
    }
    if (fix_fds(request, root, fds, &repl) != 0) {
        json_decref(root);
        return NULL;
    }
    json_decref(repl);        /* a request is a struct: never replaced whole */
    dumped = json_dumps(root, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(root);
    if (dumped == NULL)
        return NULL;
    r = talloc_strdup(mem, dumped);
    free(dumped);
    return r;
}

int pc_call(TALLOC_CTX *mem, const parley_protocol *p, parley_session *session,
            const char *method, const char *json, bool pretty, bool oneway)
{
    const parley_method *m = NULL;
    parley_call *call = NULL;
    fd_list fds = { .n = 0 };
    void *in = NULL, *out = NULL;
    char *text, *reply = NULL;
    parley_status st;
    int rc = PC_EXIT_OK;

    (void)oneway;
    for (size_t i = 0; i < p->n_methods && m == NULL; i++)
        if (strcmp(p->methods[i].name, method) == 0)
            m = &p->methods[i];
    if (m == NULL)
        return PC_EXIT_FAILURE;
    text = substitute_fds(mem, m->request, json, &fds);
    if (text == NULL) {
        rc = PC_EXIT_FAILURE;
        goto done;
    }
    st = parley_json_decode(mem, m->request, text, strlen(text), 0, &in);
    if (st != PARLEY_OK) {
        fprintf(stderr, "parley-call: the request of %s: %s (%s)\n", method,
                parley_error_message(), parley_status_name(st));
        rc = PC_EXIT_FAILURE;
        goto done;
    }
    st = parley_session_acquire_call(session, &call);
    if (st == PARLEY_OK)
        st = parley_call_dispatch(call, m->id, in, mem, &out, NULL, NULL);
    if (st == PARLEY_ERR_REMOTE) {
        int32_t code = 0;
        const char *msg = NULL;

        if (parley_call_get_remote_error(call, &code, &msg) == PARLEY_OK)
            fprintf(stderr, "parley-call: %s: remote error %d: %s\n", method, (int)code,
                    msg ? msg : "");
        else
            fprintf(stderr, "parley-call: %s: remote error\n", method);
        rc = PC_EXIT_REMOTE;
        goto done;
    }
    if (st != PARLEY_OK) {
        fprintf(stderr, "parley-call: %s: %s (%s)\n", method, parley_error_message(),
                parley_status_name(st));
        rc = st == PARLEY_ERR_TIMEOUT ? PC_EXIT_TIMEOUT
           : st == PARLEY_ERR_CONNECTION_CLOSED ? PC_EXIT_CONNECT
           : st == PARLEY_ERR_INVALID_ARGUMENT ? PC_EXIT_FAILURE : PC_EXIT_REMOTE;
        goto done;
    }
    if (m->flags & PARLEY_METHOD_ONEWAY)
        goto done;        /* sent; nothing comes back */
    st = parley_json_encode(mem, m->reply, out, pretty ? PARLEY_JSON_PRETTY : 0, &reply);
    if (st != PARLEY_OK) {
        fprintf(stderr, "parley-call: the reply of %s: %s (%s)\n", method,
                parley_error_message(), parley_status_name(st));
        rc = PC_EXIT_FAILURE;
        goto done;
    }
    printf("%s\n", reply);
done:
    parley_call_release(call);
    for (size_t i = 0; i < fds.n; i++)
        close(fds.fds[i]);
    return rc;
}

#else /* !HAVE_PARLEY_JSON */

const bool pc_have_json = false;

int pc_call(TALLOC_CTX *mem, const parley_protocol *p, parley_session *session,
            const char *method, const char *json, bool pretty, bool oneway)
{
    (void)mem;
    (void)p;
    (void)session;
    (void)method;
    (void)json;
    (void)pretty;
    (void)oneway;
    fprintf(stderr, "parley-call: call: JSON support is not built into this parley-call\n");
    return PC_EXIT_NO_JSON;
}

#endif
