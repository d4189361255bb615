/* SPDX-License-Identifier: MIT */
/* Introspection: describing a protocol, building descriptors from the
 * description (every type of test/idl/ok and of the zoo: the built
 * descriptors check, their fingerprints equal the originals, values cross
 * between the two), refusing malformed descriptions, and method 0 between
 * real peers (served, turned off, the introspector's handshake). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <talloc.h>

#include "parley.h"
#include "describe.h"
#include "random.h"
#include "zoo.h"

#include "common.h"
#include "empty.h"
#include "every.h"
#include "fs.h"
#include "kv.h"

#define SEEDS 50

/* ---- a protocol over the zoo's hand-written descriptors ------------------- */

typedef struct zoo_req { zoo_all all; zoo_node node; } zoo_req;
typedef struct zoo_rep { zoo_res res; zoo_value value; } zoo_rep;
static const parley_field zoo_req_fields[] = {
    PARLEY_FIELD(zoo_req, all, zoo_all_type),
    PARLEY_FIELD(zoo_req, node, zoo_node_type),
};
static const parley_field zoo_rep_fields[] = {
    PARLEY_FIELD(zoo_rep, res, zoo_res_type),
    PARLEY_FIELD(zoo_rep, value, zoo_value_type),
};
static const parley_type zoo_req_type = PARLEY_STRUCT_TYPE(zoo_req, zoo_req_fields);
static const parley_type zoo_rep_type = PARLEY_STRUCT_TYPE(zoo_rep, zoo_rep_fields);
static parley_method zoo_methods[] = {
    { 1, "everything", "zoo", &zoo_req_type, &zoo_rep_type, 0, 0 },
    { 2, "tell", "zoo", &zoo_rep_type, NULL, 0, PARLEY_METHOD_ONEWAY },
};
static const char *const zoo_interfaces[] = { "zoo" };
static parley_protocol zoo_protocol = {
    PARLEY_ABI_VERSION, "zoo", 3, zoo_methods, 2, zoo_interfaces, 1, NULL, 0, NULL, NULL,
};

static void zoo_protocol_init(void)
{
    zoo_methods[0].fingerprint = parley_method_fingerprint(&zoo_req_type, &zoo_rep_type);
    zoo_methods[1].fingerprint = parley_method_fingerprint(&zoo_rep_type, NULL);
    zoo_protocol.types = zoo_types;
    zoo_protocol.n_types = zoo_n_types;
}

static const parley_protocol *const all[] = {
    &common_protocol, &nothing_here_protocol, &every_protocol, &fs_protocol, &kv_protocol,
    &zoo_protocol,
};
#define N_ALL (sizeof(all) / sizeof(all[0]))

/* ---- handles of the random generator cross as their index ----------------- */

static parley_status fake_to_wire(void *data, const parley_type *type, parley_handle *h,
                                  uint32_t *ret_id)
{
    int k = parley_test_fake_handle_index(h);
    (void)data;
    (void)type;
    if (k < 0)
        return PARLEY_ERR_INVALID_HANDLE;
    *ret_id = (uint32_t)k;
    return PARLEY_OK;
}

static parley_status fake_from_wire(void *data, const parley_type *type, uint32_t id,
                                    parley_handle **ret_h)
{
    (void)data;
    (void)type;
    if (id >= 8)
        return PARLEY_ERR_INVALID_HANDLE;
    *ret_h = parley_test_fake_handle(id);
    return PARLEY_OK;
}

static const parley_handle_ops fake_ops = { fake_to_wire, fake_from_wire };

/* Encode with the original, decode with the built descriptor, re-encode: the
 * same bytes. */
static void cross(const parley_type *orig, const parley_type *built, uint64_t *state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    void *v = parley_test_random_value(mem, orig, state), *back = NULL;
    int fds[64];
    parley_codec codec = PARLEY_CODEC_INIT;
    uint8_t *data = NULL, *again = NULL;
    size_t len = 0, len2 = 0;
    parley_status st;

    codec.handles = &fake_ops;
    codec.fds = fds;
    codec.max_fds = 64;
    ck_assert_ptr_nonnull(v);
    st = parley_data_encode(mem, orig, v, &codec, &data, &len);
    ck_assert_msg(st == PARLEY_OK, "%s: encode: %s", orig->name, parley_error_message());
    st = parley_data_decode(mem, built, data, len, &codec, &back);
    ck_assert_msg(st == PARLEY_OK, "%s: decode with the built descriptor: %s", orig->name,
                  parley_error_message());
    st = parley_data_encode(mem, built, back, &codec, &again, &len2);
    ck_assert_msg(st == PARLEY_OK && len2 == len && memcmp(again, data, len) == 0,
                  "%s: re-encoding with the built descriptor differs", orig->name);
    talloc_free(mem);
}

static const parley_type *find_named(const parley_protocol *p, const char *name)
{
    for (size_t i = 0; i < p->n_types; i++)
        if (strcmp(p->types[i]->name, name) == 0)
            return p->types[i];
    return NULL;
}

START_TEST(test_build_from_description)
{
    const parley_protocol *orig = all[_i], *built = NULL;
    TALLOC_CTX *mem = talloc_new(NULL);
    uint8_t *bytes = NULL;
    size_t len = 0;
    parley_limits limits = { 1, 2, 3, 4 }, got;
    uint64_t state = 0x5eed + (uint64_t)_i;

    zoo_protocol_init();
    ck_assert_msg(parley_protocol_describe(mem, orig, &limits, &bytes, &len) == PARLEY_OK,
                  "%s: %s", orig->name, parley_error_message());
    ck_assert_msg(parley_protocol_from_description(mem, bytes, len, &built, &got) == PARLEY_OK,
                  "%s: %s", orig->name, parley_error_message());
    ck_assert_int_eq(memcmp(&got, &limits, sizeof(got)), 0);
    ck_assert_int_eq(parley_protocol_check(built), PARLEY_OK);
    ck_assert_str_eq(built->name, orig->name);
    ck_assert_uint_eq(built->version, orig->version);
    ck_assert_uint_eq(built->n_methods, orig->n_methods);
    ck_assert_uint_eq(built->n_interfaces, orig->n_interfaces);
    ck_assert_uint_eq(built->n_types, orig->n_types);
    for (size_t i = 0; i < orig->n_interfaces; i++)
        ck_assert_str_eq(built->interfaces[i], orig->interfaces[i]);
    for (size_t i = 0; i < orig->n_methods; i++) {
        const parley_method *a = &orig->methods[i], *b = &built->methods[i];

        ck_assert_uint_eq(a->id, b->id);
        ck_assert_str_eq(a->name, b->name);
        ck_assert_str_eq(a->interface, b->interface);
        ck_assert_uint_eq(a->flags, b->flags);
        ck_assert_uint_eq(a->fingerprint, b->fingerprint);
        ck_assert_uint_eq(parley_method_fingerprint(b->request, b->reply), a->fingerprint);
        ck_assert_int_eq(parley_type_check(b->request), PARLEY_OK);
        for (unsigned s = 0; s < SEEDS; s++)
            cross(a->request, b->request, &state);
        if (a->reply) {
            ck_assert_int_eq(parley_type_check(b->reply), PARLEY_OK);
            for (unsigned s = 0; s < SEEDS; s++)
                cross(a->reply, b->reply, &state);
        }
    }
    for (size_t i = 0; i < orig->n_types; i++) {
        const parley_type *a = orig->types[i], *b = find_named(built, a->name);

        ck_assert_msg(b != NULL, "%s: type %s missing", orig->name, a->name);
        ck_assert_int_eq(parley_type_check(b), PARLEY_OK);
        ck_assert_uint_eq(b->kind, a->kind);
        /* built at run time: transient (never cached by address) */
        ck_assert_uint_eq(b->flags, a->flags | PARLEY_TYPE_TRANSIENT);
        ck_assert_msg(parley_type_fingerprint(a) == parley_type_fingerprint(b),
                      "%s: type %s: fingerprint differs", orig->name, a->name);
        for (unsigned s = 0; s < SEEDS; s++)
            cross(a, b, &state);
    }
    /* one talloc_free releases the protocol */
    {
        size_t before = talloc_total_blocks(mem);

        talloc_free((void *)(uintptr_t)built);
        ck_assert_uint_lt(talloc_total_blocks(mem), before);
    }
    talloc_free(mem);
}
END_TEST

START_TEST(test_sensitive_and_names)
{
    const parley_protocol *built = NULL;
    TALLOC_CTX *mem = talloc_new(NULL);
    uint8_t *bytes = NULL;
    size_t len = 0;
    const parley_type *shapes, *perm;
    bool seen = false;

    ck_assert_int_eq(parley_protocol_describe(mem, &every_protocol, NULL, &bytes, &len),
                     PARLEY_OK);
    ck_assert_int_eq(parley_protocol_from_description(mem, bytes, len, &built, NULL), PARLEY_OK);
    shapes = find_named(built, "every_shapes");
    ck_assert_ptr_nonnull(shapes);
    for (size_t i = 0; i < shapes->n_fields; i++) {
        if (strcmp(shapes->fields[i].name, "key") == 0) {
            ck_assert_uint_eq(shapes->fields[i].flags, PARLEY_FIELD_SENSITIVE);
            seen = true;
        } else {
            ck_assert_uint_eq(shapes->fields[i].flags, 0);
        }
    }
    ck_assert(seen);
    perm = find_named(built, "every_perm");
    ck_assert_ptr_nonnull(perm);
    ck_assert_uint_eq(perm->flags, PARLEY_TYPE_FLAGS | PARLEY_TYPE_TRANSIENT);
    ck_assert_uint_eq(perm->n_values, 3);
    ck_assert_str_eq(perm->values[2].name, "EVERY_PERM_EXEC");
    ck_assert_int_eq(perm->values[2].value, 4);
    talloc_free(mem);
}
END_TEST

/* ---- malformed descriptions ----------------------------------------------- */

/* Decode a description of every, let tweak change it, encode it again and
 * expect from_description to refuse it with want and a sentence holding
 * needle. */
static void refuse(void (*tweak)(parley__description *d, TALLOC_CTX *mem),
                   parley_status want, const char *needle)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    uint8_t *bytes = NULL;
    size_t len = 0;
    parley__description *d = NULL;
    const parley_protocol *built = NULL;
    parley_status st;

    ck_assert_int_eq(parley_protocol_describe(mem, &every_protocol, NULL, &bytes, &len),
                     PARLEY_OK);
    ck_assert_int_eq(parley_data_decode(mem, &parley__description_type, bytes, len, NULL,
                                        (void **)&d), PARLEY_OK);
    tweak(d, mem);
    ck_assert_int_eq(parley_data_encode(mem, &parley__description_type, d, NULL, &bytes, &len),
                     PARLEY_OK);
    {
        size_t blocks = talloc_total_blocks(mem);

        st = parley_protocol_from_description(mem, bytes, len, &built, NULL);
        ck_assert_uint_eq(talloc_total_blocks(mem), blocks);
    }
    ck_assert_msg(st == want, "got %s (%s)", parley_status_name(st), parley_error_message());
    ck_assert_ptr_null(built);
    ck_assert_msg(strstr(parley_error_message(), needle) != NULL, "message: %s",
                  parley_error_message());
    talloc_free(mem);
}

static parley__desc_type *type_named(parley__description *d, const char *name)
{
    for (size_t i = 0; i < d->n_types; i++)
        if (strcmp(d->types[i].name, name) == 0)
            return &d->types[i];
    ck_abort_msg("no type %s", name);
    return NULL;
}

static uint32_t index_named(parley__description *d, const char *name)
{
    return (uint32_t)(type_named(d, name) - d->types);
}

static void bad_field_index(parley__description *d, TALLOC_CTX *mem)
{
    (void)mem;
    type_named(d, "every_prims")->fields[0].type = (uint32_t)d->n_types;
}
static void bad_elem_index(parley__description *d, TALLOC_CTX *mem)
{
    (void)mem;
    type_named(d, "every_row")->elem = 0xfffffff0u;
}
static void bad_method_index(parley__description *d, TALLOC_CTX *mem)
{
    (void)mem;
    d->methods[0].request = 70000;
}
static void reply_not_struct(parley__description *d, TALLOC_CTX *mem)
{
    (void)mem;
    d->methods[0].reply = index_named(d, "every_row");
}
static void direct_cycle(parley__description *d, TALLOC_CTX *mem)
{
    /* struct node { node kids<>; ...}: make the sequence field the node itself */
    (void)mem;
    type_named(d, "every_node")->fields[1].type = index_named(d, "every_node");
}
static void cycle_through_array(parley__description *d, TALLOC_CTX *mem)
{
    /* row (int32[3]) of rows: an array containing itself */
    (void)mem;
    type_named(d, "every_row")->elem = index_named(d, "every_row");
}
static void optional_of_itself(parley__description *d, TALLOC_CTX *mem)
{
    (void)mem;
    type_named(d, "every_maybe_short")->elem = index_named(d, "every_maybe_short");
}
static void sequence_optional_loop(parley__description *d, TALLOC_CTX *mem)
{
    /* forest = tree<>  ->  forest = subtree<>, subtree = optional forest */
    (void)mem;
    type_named(d, "every_forest")->elem = index_named(d, "every_subtree");
    type_named(d, "every_subtree")->elem = index_named(d, "every_forest");
}
static void absurd_array(parley__description *d, TALLOC_CTX *mem)
{
    (void)mem;
    type_named(d, "every_row")->bound = 1000000000u;
}
static void huge_nested_arrays(parley__description *d, TALLOC_CTX *mem)
{
    /* matrix = row[65536], row = int32[65536]: 16 GiB */
    (void)mem;
    type_named(d, "every_row")->bound = 65536;
    type_named(d, "every_matrix")->bound = 65536;
}
static void unknown_kind(parley__description *d, TALLOC_CTX *mem)
{
    (void)mem;
    type_named(d, "every_prims")->kind = 99;
}
static void wrong_fingerprint(parley__description *d, TALLOC_CTX *mem)
{
    (void)mem;
    d->methods[1].fingerprint ^= 1;
}
static void changed_type(parley__description *d, TALLOC_CTX *mem)
{
    /* a field's type changed: the stored fingerprint no longer matches */
    (void)mem;
    type_named(d, "every_prims")->fields[0].type = index_named(d, "every_signed_e");
}
static void changed_enum_value(parley__description *d, TALLOC_CTX *mem)
{
    /* two names may share a value (an alias), but a value is part of the
     * shape: the stored fingerprint no longer matches */
    (void)mem;
    type_named(d, "every_perm")->values[1].value = 1;
}
static void void_arm_named(parley__description *d, TALLOC_CTX *mem)
{
    parley__desc_type *t = type_named(d, "every_by_int8");

    (void)mem;
    t->arms[0].name = NULL;
}
static void bad_discriminator(parley__description *d, TALLOC_CTX *mem)
{
    (void)mem;
    type_named(d, "every_by_int8")->discriminator = index_named(d, "every_prims");
}
static void no_name(parley__description *d, TALLOC_CTX *mem)
{
    d->name = talloc_strdup(mem, "");
}
static void future_format(parley__description *d, TALLOC_CTX *mem)
{
    (void)mem;
    d->format = 2;
}
static void flags_on_struct(parley__description *d, TALLOC_CTX *mem)
{
    (void)mem;
    type_named(d, "every_prims")->flags |= PARLEY_TYPE_FLAGS;
}

START_TEST(test_malformed)
{
    refuse(bad_field_index, PARLEY_ERR_MALFORMED, "refers to type");
    refuse(bad_elem_index, PARLEY_ERR_MALFORMED, "refers to type");
    refuse(bad_method_index, PARLEY_ERR_MALFORMED, "refers to type 70000");
    refuse(reply_not_struct, PARLEY_ERR_MALFORMED, "is not a struct");
    refuse(direct_cycle, PARLEY_ERR_MALFORMED, "contains itself");
    refuse(cycle_through_array, PARLEY_ERR_MALFORMED, "contains itself");
    refuse(optional_of_itself, PARLEY_ERR_MALFORMED, "contains itself");
    refuse(sequence_optional_loop, PARLEY_ERR_MALFORMED, "contains itself");
    refuse(absurd_array, PARLEY_ERR_MALFORMED, "fixed array of 1000000000");
    refuse(huge_nested_arrays, PARLEY_ERR_MALFORMED, "larger than");
    refuse(unknown_kind, PARLEY_ERR_MALFORMED, "unknown kind 99");
    refuse(wrong_fingerprint, PARLEY_ERR_MALFORMED, "fingerprint");
    refuse(changed_type, PARLEY_ERR_MALFORMED, "fingerprint");
    refuse(changed_enum_value, PARLEY_ERR_MALFORMED, "fingerprint");
    refuse(void_arm_named, PARLEY_ERR_MALFORMED, "has no name");
    refuse(bad_discriminator, PARLEY_ERR_MALFORMED, "discriminator");
    refuse(no_name, PARLEY_ERR_MALFORMED, "no name");
    refuse(future_format, PARLEY_ERR_UNSUPPORTED, "format 2");
    refuse(flags_on_struct, PARLEY_ERR_MALFORMED, "only an enum");
}
END_TEST

/* Every prefix and a few corruptions of a real description: refused with a
 * sentence or accepted, never a crash or a leak. */
START_TEST(test_truncated_and_corrupt)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    uint8_t *bytes = NULL, *copy;
    size_t len = 0;
    uint64_t state = 42;

    ck_assert_int_eq(parley_protocol_describe(mem, &every_protocol, NULL, &bytes, &len),
                     PARLEY_OK);
    copy = talloc_memdup(mem, bytes, len);
    for (size_t n = 0; n < len; n++) {
        const parley_protocol *built = NULL;
        size_t blocks = talloc_total_blocks(mem);
        parley_status st = parley_protocol_from_description(mem, bytes, n, &built, NULL);

        ck_assert_msg(st == PARLEY_ERR_MALFORMED, "prefix %zu: %s", n, parley_status_name(st));
        ck_assert(parley_error_message()[0] != '\0');
        ck_assert_uint_eq(talloc_total_blocks(mem), blocks);
    }
    for (unsigned k = 0; k < 2000; k++) {
        const parley_protocol *built = NULL;
        size_t at = parley_test_rand_below(&state, len);

        memcpy(copy, bytes, len);
        copy[at] ^= (uint8_t)(1u << parley_test_rand_below(&state, 8));
        if (parley_protocol_from_description(mem, copy, len, &built, NULL) == PARLEY_OK) {
            ck_assert_int_eq(parley_protocol_check(built), PARLEY_OK);
            talloc_free((void *)(uintptr_t)built);
        }
    }
    talloc_free(mem);
}
END_TEST

START_TEST(test_arguments)
{
    const parley_protocol *p = NULL;
    uint8_t *b = NULL;
    size_t n = 0;
    static const parley_protocol nameless = { 0 };

    ck_assert_int_eq(parley_protocol_from_description(NULL, NULL, 0, &p, NULL),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_protocol_from_description(NULL, "", 0, NULL, NULL),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_protocol_describe(NULL, NULL, NULL, &b, &n),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_protocol_describe(NULL, &nameless, NULL, &b, &n),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_peer_set_introspection(NULL, true), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_introspect(NULL, NULL, 0, &p, NULL), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_session_introspect(NULL, NULL, 0, &p, NULL),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(p);
}
END_TEST

/* ---- method 0 between peers ----------------------------------------------- */

static parley_status kv_get_impl(parley_call *call, const kv_get_request *in,
                                 kv_get_reply *out, void *data)
{
    (void)call;
    (void)data;
    out->e = talloc_zero(out, kv_entry);
    if (out->e == NULL)
        return PARLEY_ERR_NOMEM;
    out->e->key = talloc_strdup(out->e, in->key);
    out->e->secret = talloc_strdup(out->e, "");
    return PARLEY_OK;
}

static parley_peer *kv_server(TALLOC_CTX *mem, char *path, size_t size)
{
    static const kv_handlers handlers = { .get = { kv_get_impl, PARLEY_NONBLOCKING } };
    parley_peer *server = NULL;
    char ep[200];

    snprintf(path, size, "/tmp/parley-introspect-%d-%p.sock", (int)getpid(), (void *)mem);
    snprintf(ep, sizeof(ep), "unix:%s", path);
    ck_assert_int_eq(parley_peer_new(mem, &kv_protocol, &server), PARLEY_OK);
    ck_assert_int_eq(kv_register(server, &handlers, NULL), PARLEY_OK);
    ck_assert_int_eq(parley_peer_set_max_message_size(server, 123456), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_listen_endpoint(server, ep, 0600), PARLEY_OK);
    ck_assert_int_eq(parley_peer_start_listen(server), PARLEY_OK);
    return server;
}

START_TEST(test_peer_introspection)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    char path[160], ep[200];
    parley_peer *server = kv_server(mem, path, sizeof(path));
    const parley_protocol *p = NULL;
    parley_limits limits;
    parley_peer *client = NULL;
    parley_session *s = NULL;

    snprintf(ep, sizeof(ep), "unix:%s", path);
    ck_assert_msg(parley_introspect(mem, ep, 5000, &p, &limits) == PARLEY_OK, "%s",
                  parley_error_message());
    ck_assert_str_eq(p->name, "kv");
    ck_assert_uint_eq(p->n_methods, kv_protocol.n_methods);
    ck_assert_uint_eq(limits.max_message, 123456);
    for (size_t i = 0; i < p->n_methods; i++)
        ck_assert_uint_eq(p->methods[i].fingerprint, kv_protocol.methods[i].fingerprint);

    /* an ordinary peer with the built protocol: its HELLO matches, calls work */
    ck_assert_int_eq(parley_peer_new(mem, p, &client), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_connect_endpoint(client, ep), PARLEY_OK);
    ck_assert_msg(parley_peer_connect(client, &s) == PARLEY_OK, "%s", parley_error_message());
    {
        const parley_method *get = NULL;
        parley_call *call = NULL;
        void *in, *out = NULL;
        char **key;

        for (size_t i = 0; i < p->n_methods; i++)
            if (strcmp(p->methods[i].name, "get") == 0)
                get = &p->methods[i];
        ck_assert_ptr_nonnull(get);
        in = talloc_zero_size(mem, get->request->size);
        key = (char **)((char *)in + get->request->fields[0].offset);
        *key = talloc_strdup(in, "hello");
        ck_assert_int_eq(parley_session_acquire_call(s, &call), PARLEY_OK);
        ck_assert_msg(parley_call_dispatch(call, get->id, in, mem, &out, NULL, NULL) ==
                      PARLEY_OK, "%s", parley_error_message());
        parley_call_release(call);
        ck_assert_ptr_nonnull(out);
    }
    /* an ordinary session may call method 0 too */
    {
        const parley_protocol *again = NULL;

        ck_assert_msg(parley_session_introspect(s, mem, 5000, &again, NULL) == PARLEY_OK, "%s",
                      parley_error_message());
        ck_assert_str_eq(again->name, "kv");
    }
    parley_session_close(s);

    /* turned off: NOT_FOUND */
    ck_assert_int_eq(parley_peer_set_introspection(server, false), PARLEY_OK);
    p = NULL;
    ck_assert_int_eq(parley_introspect(mem, ep, 5000, &p, NULL), PARLEY_ERR_NOT_FOUND);
    ck_assert_ptr_null(p);
    ck_assert_ptr_nonnull(strstr(parley_error_message(), "not served"));
    ck_assert_int_eq(parley_peer_set_introspection(server, true), PARLEY_OK);
    ck_assert_int_eq(parley_introspect(mem, ep, 5000, &p, NULL), PARLEY_OK);

    /* nothing listening: the connect's status */
    ck_assert_int_ne(parley_introspect(mem, "unix:/nonexistent/parley.sock", 1000, &p, NULL),
                     PARLEY_OK);
    talloc_free(mem);
    unlink(path);
}
END_TEST

/* A peer of another protocol still refuses an ordinary peer of kv; only the
 * introspector's reserved HELLO passes. */
START_TEST(test_other_protocol_refused)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    char path[160], ep[200];
    parley_peer *client = NULL;
    parley_session *s = NULL;

    (void)kv_server(mem, path, sizeof(path));
    snprintf(ep, sizeof(ep), "unix:%s", path);
    ck_assert_int_eq(parley_peer_new(mem, &fs_protocol, &client), PARLEY_OK);
    ck_assert_int_eq(parley_peer_add_connect_endpoint(client, ep), PARLEY_OK);
    ck_assert_int_eq(parley_peer_connect(client, &s), PARLEY_ERR_PROTOCOL_MISMATCH);
    talloc_free(mem);
    unlink(path);
}
END_TEST

static Suite *introspect_suite(void)
{
    Suite *s = suite_create("introspect");
    TCase *tc = tcase_create("description");

    tcase_add_loop_test(tc, test_build_from_description, 0, N_ALL);
    tcase_add_test(tc, test_sensitive_and_names);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_truncated_and_corrupt);
    tcase_add_test(tc, test_arguments);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    tc = tcase_create("peers");
    tcase_add_test(tc, test_peer_introspection);
    tcase_add_test(tc, test_other_protocol_refused);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(introspect_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
