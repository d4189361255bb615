/* SPDX-License-Identifier: MIT */
/* The runtime tests' protocol and handlers. */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_proto.h"

static const parley_type text_type = PARLEY_STRING_TYPE("text", 0);
static const parley_type data_type = PARLEY_BYTES_TYPE("data", 0);
static const parley_field echo_fields[] = {
    PARLEY_FIELD(tp_echo, text, text_type),
    { "data", offsetof(tp_echo, data), &data_type, 0 },
};
static const parley_type echo_type = PARLEY_STRUCT_TYPE(tp_echo, echo_fields);

static const parley_field pair_fields[] = {
    PARLEY_FIELD(tp_pair, a, parley_type_int32),
    PARLEY_FIELD(tp_pair, b, parley_type_int32),
};
static const parley_type pair_type = PARLEY_STRUCT_TYPE(tp_pair, pair_fields);

typedef struct tp_pair64 { int64_t a, b; } tp_pair64;
static const parley_field pair64_fields[] = {
    PARLEY_FIELD(tp_pair64, a, parley_type_int64),
    PARLEY_FIELD(tp_pair64, b, parley_type_int64),
};
static const parley_type pair64_type = PARLEY_STRUCT_TYPE(tp_pair64, pair64_fields);

static const parley_field int_fields[] = {
    PARLEY_FIELD(tp_int, v, parley_type_int32),
};
static const parley_type int_type = PARLEY_STRUCT_TYPE(tp_int, int_fields);

static const parley_field sleep_fields[] = {
    PARLEY_FIELD(tp_sleep, ms, parley_type_uint32),
    PARLEY_FIELD(tp_sleep, tag, parley_type_uint32),
};
static const parley_type sleep_type = PARLEY_STRUCT_TYPE(tp_sleep, sleep_fields);

static const parley_field tag_fields[] = {
    PARLEY_FIELD(tp_tag, tag, parley_type_uint32),
};
static const parley_type tag_type = PARLEY_STRUCT_TYPE(tp_tag, tag_fields);

#define M(id_, name_, req, rep, flags_) \
    { (id_), (name_), "test", &(req), (rep), 0, (flags_) }

static parley_method v1_methods[] = {
    M(TP_ECHO, "echo", echo_type, &echo_type, 0),
    M(TP_ADD, "add", pair_type, &int_type, 0),
    M(TP_SLEEP, "sleep", sleep_type, &tag_type, 0),
    M(TP_FAIL, "fail", int_type, &int_type, 0),
    M(TP_NOTE, "note", echo_type, NULL, PARLEY_METHOD_ONEWAY),
    M(TP_NOTES, "notes", int_type, &int_type, 0),
    M(TP_CALLBACK, "callback", int_type, &int_type, 0),
    M(TP_DIE, "die", int_type, &int_type, 0),
    M(TP_PEND, "pend", sleep_type, &tag_type, 0),
    M(TP_CANCELS, "cancels", int_type, &int_type, 0),
    M(TP_REMOTE, "remote", int_type, &int_type, 0),
    M(TP_PEND_NOW, "pend_now", int_type, &int_type, 0),
};
static parley_method v2_methods[] = {
    M(TP_ECHO, "echo", echo_type, &echo_type, 0),
    M(TP_ADD, "add", pair_type, &int_type, 0),
    M(TP_SLEEP, "sleep", sleep_type, &tag_type, 0),
    M(TP_FAIL, "fail", int_type, &int_type, 0),
    M(TP_NOTE, "note", echo_type, NULL, PARLEY_METHOD_ONEWAY),
    M(TP_NOTES, "notes", int_type, &int_type, 0),
    M(TP_CALLBACK, "callback", int_type, &int_type, 0),
    M(TP_DIE, "die", int_type, &int_type, 0),
    M(9, "twice", int_type, &int_type, 0),
    M(TP_PEND, "pend", sleep_type, &tag_type, 0),
    M(TP_CANCELS, "cancels", int_type, &int_type, 0),
    M(TP_REMOTE, "remote", int_type, &int_type, 0),
    M(TP_PEND_NOW, "pend_now", int_type, &int_type, 0),
};
static parley_method add64_methods[] = {
    M(TP_ECHO, "echo", echo_type, &echo_type, 0),
    M(TP_ADD, "add", pair64_type, &int_type, 0),
};

static const char *const interfaces[] = { "test" };

static parley_protocol protocols[] = {
#define TP_PROTOCOL(name, version, methods) \
    { PARLEY_ABI_VERSION, name, version, methods, PARLEY__COUNT(methods), interfaces, 1, NULL, 0, NULL, NULL }
    TP_PROTOCOL("test", 1, v1_methods),
    TP_PROTOCOL("test", 2, v2_methods),
    TP_PROTOCOL("test", 2, add64_methods),
    TP_PROTOCOL("other", 1, v1_methods),
#undef TP_PROTOCOL
};

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void fill(parley_method *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        m[i].fingerprint = parley_method_fingerprint(m[i].request, m[i].reply);
}

static void init(void)
{
    fill(v1_methods, PARLEY__COUNT(v1_methods));
    fill(v2_methods, PARLEY__COUNT(v2_methods));
    fill(add64_methods, PARLEY__COUNT(add64_methods));
}

const parley_protocol *tp_protocol(tp_variant v)
{
    pthread_once(&once, init);
    return &protocols[v];
}

/* ---- handlers ---- */

static atomic_int notes_seen;

static parley_status h_echo(parley_call *call, const void *in, void *out, void *data)
{
    const tp_echo *req = in;
    tp_echo *rep = out;

    (void)call; (void)data;
    rep->text = talloc_strdup(out, req->text);
    rep->data.len = req->data.len;
    rep->data.data = req->data.len > 0 ? talloc_memdup(out, req->data.data, req->data.len) : NULL;
    if (rep->text == NULL || (req->data.len > 0 && rep->data.data == NULL))
        return PARLEY_ERR_NOMEM;
    return PARLEY_OK;
}

static parley_status h_add(parley_call *call, const void *in, void *out, void *data)
{
    const tp_pair *req = in;

    (void)call; (void)data;
    ((tp_int *)out)->v = req->a + req->b;
    return PARLEY_OK;
}

static parley_status h_sleep(parley_call *call, const void *in, void *out, void *data)
{
    const tp_sleep *req = in;

    (void)call; (void)data;
    if (req->ms > 0)
        usleep(req->ms * 1000u);
    ((tp_tag *)out)->tag = req->tag;
    return PARLEY_OK;
}

static parley_status h_fail(parley_call *call, const void *in, void *out, void *data)
{
    (void)call; (void)out; (void)data;
    return (parley_status)((const tp_int *)in)->v;
}

static parley_status h_note(parley_call *call, const void *in, void *out, void *data)
{
    (void)call; (void)in; (void)out; (void)data;
    atomic_fetch_add(&notes_seen, 1);
    return PARLEY_OK;
}

static parley_status h_notes(parley_call *call, const void *in, void *out, void *data)
{
    (void)call; (void)in; (void)data;
    ((tp_int *)out)->v = atomic_load(&notes_seen);
    return PARLEY_OK;
}

static parley_status h_callback(parley_call *call, const void *in, void *out, void *data)
{
    parley_session *session = parley_call_get_session(call);
    parley_call *back = NULL;
    tp_pair req = { ((const tp_int *)in)->v, ((const tp_int *)in)->v };
    tp_int *rep = NULL;
    TALLOC_CTX *tmp = talloc_new(NULL);
    parley_status st;

    (void)data;
    st = parley_session_acquire_call(session, &back);
    if (st == PARLEY_OK)
        st = parley_call_dispatch(back, TP_ADD, &req, tmp, &rep, NULL, NULL);
    if (st == PARLEY_OK)
        ((tp_int *)out)->v = rep->v + 1;
    parley_call_release(back);
    talloc_free(tmp);
    return st;
}

static parley_status h_die(parley_call *call, const void *in, void *out, void *data)
{
    (void)call; (void)in; (void)out; (void)data;
    _exit(3);
}

/* ---- calls: pended handlers, errors, cancellation ---- */

static atomic_int cancels_run;

typedef struct pend_job {
    parley_call *call;
    tp_tag *out;
    uint32_t ms, tag;
} pend_job;

static void *pend_thread(void *p)
{
    pend_job *job = p;

    usleep(job->ms * 1000u);
    if (job->tag % 2 == 1) {
        parley_call_set_remote_error(job->call, (int32_t)job->tag, "odd tag %u", job->tag);
        parley_call_complete(job->call, PARLEY_ERR_REMOTE);
    } else {
        job->out->tag = job->tag;
        parley_call_complete(job->call, PARLEY_OK);
    }
    free(job);
    return NULL;
}

/* ms 0: the call waits for its cancellation; otherwise the thread completes
 * it and the cancel function only counts. */
static void pend_cancel(parley_call *call, void *data)
{
    atomic_fetch_add(&cancels_run, 1);
    if (data == NULL)
        parley_call_complete(call, PARLEY_ERR_CANCELLED);
}

static parley_status h_pend(parley_call *call, const void *in, void *out, void *data)
{
    const tp_sleep *req = in;
    pend_job *job;
    pthread_t t;

    (void)data;
    if (req->ms == 0)
        return parley_call_pend(call, pend_cancel, NULL);
    job = malloc(sizeof(*job));
    if (job == NULL)
        return PARLEY_ERR_NOMEM;
    *job = (pend_job){ call, out, req->ms, req->tag };
    parley_call_pend(call, pend_cancel, job);
    if (pthread_create(&t, NULL, pend_thread, job) != 0) {
        free(job);
        parley_call_complete(call, PARLEY_ERR_NOMEM);
        return PARLEY_PENDING;
    }
    pthread_detach(t);
    return PARLEY_PENDING;
}

static parley_status h_cancels(parley_call *call, const void *in, void *out, void *data)
{
    (void)call; (void)in; (void)data;
    ((tp_int *)out)->v = atomic_load(&cancels_run);
    return PARLEY_OK;
}

static parley_status h_remote(parley_call *call, const void *in, void *out, void *data)
{
    int32_t v = ((const tp_int *)in)->v;

    (void)out; (void)data;
    if (v != 0)
        parley_call_set_remote_error(call, v, "refused %d", (int)v);
    return PARLEY_ERR_REMOTE;
}

static parley_status h_pend_now(parley_call *call, const void *in, void *out, void *data)
{
    parley_status st = parley_call_pend(call, NULL, NULL);

    (void)data;
    ((tp_int *)out)->v = ((const tp_int *)in)->v + 1;
    parley_call_complete(call, PARLEY_OK);
    return st;
}

parley_status tp_serve(parley_peer *peer)
{
    static const parley_dispatch table[] = {
        { TP_ECHO, h_echo, PARLEY_BLOCKING },
        { TP_ADD, h_add, PARLEY_NONBLOCKING },
        { TP_SLEEP, h_sleep, PARLEY_BLOCKING },
        { TP_FAIL, h_fail, PARLEY_BLOCKING },
        { TP_NOTE, h_note, PARLEY_NONBLOCKING },
        { TP_NOTES, h_notes, PARLEY_NONBLOCKING },
        { TP_CALLBACK, h_callback, PARLEY_BLOCKING },
        { TP_DIE, h_die, PARLEY_BLOCKING },
    };
    static const parley_dispatch calls_table[] = {
        { TP_PEND, h_pend, PARLEY_NONBLOCKING },
        { TP_CANCELS, h_cancels, PARLEY_NONBLOCKING },
        { TP_REMOTE, h_remote, PARLEY_BLOCKING },
        { TP_PEND_NOW, h_pend_now, PARLEY_BLOCKING },
    };
    parley_status st = parley_peer_add_dispatch(peer, table, PARLEY__COUNT(table), NULL);

    if (st == PARLEY_OK)
        st = parley_peer_add_dispatch(peer, calls_table, PARLEY__COUNT(calls_table), NULL);
    return st;
}

parley_status tp_serve_client(parley_peer *peer)
{
    static const parley_dispatch table[] = {
        { TP_ADD, h_add, PARLEY_NONBLOCKING },
    };

    return parley_peer_add_dispatch(peer, table, PARLEY__COUNT(table), NULL);
}
