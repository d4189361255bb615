/* SPDX-License-Identifier: MIT */
/* Generated code of the test/idl/ok files: protocol tables pass the runtime's
 * checks, the compiler's canonical shapes and fingerprints (--describe) equal
 * the runtime's over the generated descriptors, and random values of every
 * generated type survive copy and the codec (encode, decode) unchanged. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <talloc.h>

#include "parley.h"
#include "random.h"

#include "common.h"
#include "empty.h"
#include "every.h"
#include "fs.h"
#include "kv.h"
#include "names.h"
#include "onc.h"

#define SEEDS 200

typedef struct generated {
    const char *file;                   /* test/idl/ok/<file>.idl */
    const parley_protocol *protocol;
} generated;

static const generated all[] = {
    { "common", &common_protocol },
    { "empty", &nothing_here_protocol },
    { "every", &every_protocol },
    { "fs", &fs_protocol },
    { "kv", &kv_protocol },
    { "names", &names_protocol },
    { "onc", &onc_protocol },
};
#define N_ALL (sizeof(all) / sizeof(all[0]))

/* ---- descriptors by name ------------------------------------------------- */

static const parley_type *const primitives[] = {
    &parley_type_int8, &parley_type_int16, &parley_type_int32, &parley_type_int64,
    &parley_type_uint8, &parley_type_uint16, &parley_type_uint32, &parley_type_uint64,
    &parley_type_bool, &parley_type_float, &parley_type_double, &parley_type_string,
    &parley_type_bytes, &parley_type_fd,
};

/* Every descriptor the protocol reaches by name: its types, and the request
 * and reply of every method. */
static const parley_type *find_type(const parley_protocol *p, const char *name)
{
    for (size_t i = 0; i < p->n_types; i++)
        if (strcmp(p->types[i]->name, name) == 0)
            return p->types[i];
    for (size_t i = 0; i < p->n_methods; i++) {
        if (strcmp(p->methods[i].request->name, name) == 0)
            return p->methods[i].request;
        if (p->methods[i].reply != NULL && strcmp(p->methods[i].reply->name, name) == 0)
            return p->methods[i].reply;
    }
    return NULL;
}

/* A descriptor named in C: parley_type_X or <type>_type. */
static const parley_type *find_c_descriptor(const parley_protocol *p, const char *cname)
{
    size_t n = strlen(cname);

    if (strncmp(cname, "parley_type_", 12) == 0) {
        for (size_t i = 0; i < sizeof(primitives) / sizeof(primitives[0]); i++)
            if (strcmp(primitives[i]->name, cname + 12) == 0)
                return primitives[i];
        return NULL;
    }
    if (n > 5 && strcmp(cname + n - 5, "_type") == 0) {
        char *base = talloc_strndup(NULL, cname, n - 5);
        const parley_type *t = find_type(p, base);
        talloc_free(base);
        return t;
    }
    return NULL;
}

/* ---- tests ------------------------------------------------------------- */

START_TEST(test_protocol_check)
{
    const parley_protocol *p = all[_i].protocol;

    ck_assert_msg(parley_protocol_check(p) == PARLEY_OK, "%s: %s", all[_i].file,
                  parley_error_message());
    for (size_t i = 0; i < p->n_types; i++)
        ck_assert_msg(parley_type_check(p->types[i]) == PARLEY_OK, "%s: %s", p->types[i]->name,
                      parley_error_message());
    for (size_t i = 1; i < p->n_methods; i++)
        ck_assert_uint_lt(p->methods[i - 1].id, p->methods[i].id);
    for (size_t i = 0; i < p->n_methods; i++)
        ck_assert_ptr_eq(parley_protocol_find_method(p, p->methods[i].id), &p->methods[i]);
}
END_TEST

/* Every line of `parley-idl --describe` agrees with the runtime. */
START_TEST(test_describe_agrees)
{
    const parley_protocol *p = all[_i].protocol;
    TALLOC_CTX *mem = talloc_new(NULL);
    char *path = talloc_asprintf(mem, "%s/idl/ok/%s.describe", TEST_BUILDDIR, all[_i].file);
    FILE *fp = fopen(path, "r");
    char line[1 << 16];
    size_t types_seen = 0, methods_seen = 0, requests_seen = 0;

    ck_assert_msg(fp != NULL, "cannot open %s", path);
    while (fgets(line, sizeof(line), fp) != NULL) {
        char what[16], name[256], target[256], shape[1 << 15];
        unsigned long long fp_idl;
        unsigned id;
        const parley_type *t = NULL;
        char *rt_shape;

        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "protocol ", 9) == 0) {
            char pname[256];
            unsigned version;
            ck_assert_int_eq(sscanf(line, "protocol %255s %u", pname, &version), 2);
            ck_assert_str_eq(pname, p->name);
            ck_assert_uint_eq(version, p->version);
            continue;
        }
        if (strncmp(line, "method ", 7) == 0) {
            const parley_method *m;
            char qual[512], expect[1 << 15];
            ck_assert_int_eq(sscanf(line, "method %u %511s 0x%llx %32767s", &id, qual, &fp_idl,
                                    shape), 4);
            m = parley_protocol_find_method(p, id);
            ck_assert_msg(m != NULL, "method %u missing from the table", id);
            snprintf(expect, sizeof(expect), "%s.%s", m->interface, m->name);
            ck_assert_str_eq(qual, expect);
            ck_assert_uint_eq(m->fingerprint, fp_idl);
            ck_assert_uint_eq(parley_method_fingerprint(m->request, m->reply), fp_idl);
            /* the method shape is built from the runtime's struct shapes */
            {
                char *req = parley_type_shape(mem, m->request);
                char *rep = m->reply != NULL ? parley_type_shape(mem, m->reply) : NULL;
                if (rep != NULL)
                    snprintf(expect, sizeof(expect), "m(%s)->(%s)", req, rep);
                else
                    snprintf(expect, sizeof(expect), "m(%s)!", req);
                ck_assert_str_eq(shape, expect);
            }
            methods_seen++;
            continue;
        }
        ck_assert_int_eq(sscanf(line, "%15s", what), 1);
        if (strcmp(what, "type") == 0) {
            ck_assert_int_eq(sscanf(line, "type %255s 0x%llx %32767s", name, &fp_idl, shape), 3);
            t = find_type(p, name);
            if (t == NULL) {
                /* an imported type: not in this protocol's table but in its own */
                for (size_t k = 0; k < N_ALL && t == NULL; k++)
                    t = all[k].protocol != p ? find_type(all[k].protocol, name) : NULL;
            }
            ck_assert_msg(t != NULL, "%s: no descriptor named %s", all[_i].file, name);
            if (strstr(name, "_request") != NULL || strstr(name, "_reply") != NULL)
                requests_seen++;
            else
                types_seen++;
        } else {
            ck_assert_str_eq(what, "alias");
            ck_assert_int_eq(sscanf(line, "alias %255s %255s 0x%llx %32767s", name, target,
                                    &fp_idl, shape), 4);
            t = find_c_descriptor(p, target);
            for (size_t k = 0; k < N_ALL && t == NULL; k++)
                t = find_c_descriptor(all[k].protocol, target);
            ck_assert_msg(t != NULL, "%s: alias %s of unknown %s", all[_i].file, name, target);
        }
        rt_shape = parley_type_shape(mem, t);
        ck_assert_ptr_nonnull(rt_shape);
        ck_assert_msg(strcmp(rt_shape, shape) == 0, "%s: %s: idl %s, runtime %s", all[_i].file,
                      name, shape, rt_shape);
        ck_assert_uint_eq(parley_type_fingerprint(t), fp_idl);
    }
    fclose(fp);
    /* every descriptor of the table and every method was described */
    ck_assert_uint_ge(types_seen, p->n_types);
    ck_assert_uint_eq(methods_seen, p->n_methods);
    {
        size_t structs = 0;
        for (size_t i = 0; i < p->n_methods; i++)
            structs += p->methods[i].reply != NULL ? 2 : 1;
        ck_assert_uint_eq(requests_seen, structs);
    }
    talloc_free(mem);
}
END_TEST

/* Handles of the random generator cross the wire as their index. */
static parley_status fake_to_wire(void *data, const parley_type *type, parley_handle *h,
                                  uint32_t *ret_id)
{
    int k = parley_test_fake_handle_index(h);
    (void)data;
    ck_assert_uint_eq(type->kind, PARLEY_KIND_HANDLE);
    if (k < 0)
        return PARLEY_ERR_INVALID_HANDLE;
    *ret_id = (uint32_t)k;
    return PARLEY_OK;
}

static parley_status fake_from_wire(void *data, const parley_type *type, uint32_t id,
                                    parley_handle **ret_h)
{
    (void)data;
    ck_assert_uint_eq(type->kind, PARLEY_KIND_HANDLE);
    if (id >= 8)
        return PARLEY_ERR_INVALID_HANDLE;
    *ret_h = parley_test_fake_handle(id);
    return PARLEY_OK;
}

static const parley_handle_ops fake_ops = { fake_to_wire, fake_from_wire };

/* One random value of t: copy, encode, decode (both ways), compare each with
 * parley_data_equal, re-encode to the same bytes; every tree is freed exactly. */
static void check_round_trip(const parley_type *t, uint64_t *state)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    void *v = parley_test_random_value(mem, t, state), *copy = NULL, *back = NULL;
    void *into = talloc_zero_size(mem, t->size);
    int fds[64];
    parley_codec codec = PARLEY_CODEC_INIT;
    uint8_t *data = NULL, *again = NULL;
    size_t len = 0, len2 = 0, blocks;
    parley_status st;

    codec.handles = &fake_ops;
    codec.fds = fds;
    codec.max_fds = 64;
    ck_assert_ptr_nonnull(v);
    ck_assert_ptr_nonnull(into);
    blocks = talloc_total_blocks(mem);
    ck_assert_msg(parley_data_copy(mem, t, v, &copy) == PARLEY_OK, "%s: copy: %s", t->name,
                  parley_error_message());
    ck_assert_msg(parley_data_equal(t, v, copy), "%s: copy differs", t->name);
    talloc_free(copy);
    ck_assert_uint_eq(talloc_total_blocks(mem), blocks);

    st = parley_data_encode(mem, t, v, &codec, &data, &len);
    ck_assert_msg(st == PARLEY_OK, "%s: encode: %s", t->name, parley_error_message());
    st = parley_data_decode(mem, t, data, len, &codec, &back);
    ck_assert_msg(st == PARLEY_OK, "%s: decode: %s", t->name, parley_error_message());
    ck_assert_msg(parley_data_equal(t, v, back), "%s: decoded value differs", t->name);
    st = parley_data_decode_into(mem, t, data, len, &codec, into);
    ck_assert_msg(st == PARLEY_OK && parley_data_equal(t, v, into), "%s: decode_into differs",
                  t->name);
    st = parley_data_encode(mem, t, back, &codec, &again, &len2);
    ck_assert_msg(st == PARLEY_OK && len2 == len && memcmp(again, data, len) == 0,
                  "%s: re-encoding differs", t->name);
    talloc_free(mem);
}

/* Every generated descriptor: named types, requests and replies. */
static void for_each_type(const parley_protocol *p, void (*fn)(const parley_type *, uint64_t *),
                          uint64_t *state)
{
    for (size_t i = 0; i < p->n_types; i++)
        fn(p->types[i], state);
    for (size_t i = 0; i < p->n_methods; i++) {
        fn(p->methods[i].request, state);
        if (p->methods[i].reply != NULL)
            fn(p->methods[i].reply, state);
    }
}

START_TEST(test_random_round_trips)
{
    uint64_t state = 0x1d1 + (uint64_t)_i;

    for (int seed = 0; seed < SEEDS; seed++)
        for_each_type(all[_i].protocol, check_round_trip, &state);
}
END_TEST

/* The generated C types are what the descriptors say. */
START_TEST(test_layout)
{
    kv_entry e;
    const parley_type *t = &kv_entry_type;

    ck_assert_uint_eq(t->size, sizeof(kv_entry));
    ck_assert_uint_eq(t->n_fields, 7);
    ck_assert_str_eq(t->fields[4].name, "children");
    ck_assert_uint_eq(t->fields[4].offset, offsetof(kv_entry, n_children));
    ck_assert_uint_eq(t->fields[4].type->kind, PARLEY_KIND_SEQUENCE);
    ck_assert_ptr_eq(t->fields[4].type->elem, &kv_entry_type);
    ck_assert_uint_eq(t->fields[6].flags, PARLEY_FIELD_SENSITIVE);
    ck_assert_uint_eq(t->fields[0].type->bound, KV_MAX_KEY);
    ck_assert_uint_eq(sizeof(e.flags) / sizeof(e.flags[0]), 4);
    ck_assert_int_eq(KV_STATUS_CONFLICT, 2);
    ck_assert_int_eq(KV_METHOD_GET, 2);
    ck_assert_int_eq(KV_METHOD_CHANGED, 100);
    ck_assert_uint_eq(kv_value_type.discriminator_offset, offsetof(kv_value, kind));
    ck_assert_ptr_eq(kv_value_type.discriminator, &kv_status_type);
    ck_assert_ptr_nonnull(kv_value_type.default_arm);
    ck_assert_ptr_null(kv_value_type.default_arm->type);
    ck_assert_uint_eq(kv_cursor_type.kind, PARLEY_KIND_HANDLE);
    ck_assert_uint_eq(kv_digest_type.size, 32);
    ck_assert_uint_eq(kv_protocol.n_interfaces, 2);
    ck_assert_str_eq(kv_protocol.interfaces[1], "kv_watch");
    ck_assert_ptr_null(parley_protocol_find_method(&kv_protocol, KV_METHOD_LOG)->reply);
    ck_assert_uint_eq(parley_protocol_find_method(&kv_protocol, KV_METHOD_LOG)->flags,
                      PARLEY_METHOD_ONEWAY);
    /* constants of every notation, and 64-bit ones */
    ck_assert_int_eq(EVERY_PERM, 0755);
    ck_assert_int_eq(EVERY_DERIVED, 65);
    ck_assert_int_eq(EVERY_NEG, -12);
    ck_assert(EVERY_LARGE == INT64_C(4294967296));
    ck_assert_int_eq(EVERY_SIGNED_E_NEAR, INT32_MIN);
    ck_assert_uint_eq(every_perm_type.flags, PARLEY_TYPE_FLAGS);
    /* alias typedefs are the descriptor they rename */
    ck_assert_ptr_eq(&every_counter2_type, &parley_type_uint32);
    ck_assert_ptr_eq(&every_node_alias_type, &every_node_type);
    /* an optional string is the char * itself */
    ck_assert_uint_eq(sizeof(((every_shapes *)0)->maybe_text), sizeof(char *));
    ck_assert_uint_eq(nothing_here_protocol.n_methods, 0);
    ck_assert_uint_eq(common_protocol.version, 3);
}
END_TEST

static Suite *idl_suite(void)
{
    Suite *s = suite_create("idl");
    TCase *tc = tcase_create("generated");

    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_protocol_check, 0, N_ALL);
    tcase_add_loop_test(tc, test_describe_agrees, 0, N_ALL);
    tcase_add_loop_test(tc, test_random_round_trips, 0, N_ALL);
    tcase_add_test(tc, test_layout);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(idl_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
