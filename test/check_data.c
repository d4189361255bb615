/* SPDX-License-Identifier: MIT */
/* Values: parley_data_print, parley_data_equal, parley_data_copy. */
#include "config.h"

#include <math.h>
#include <string.h>

#include <check.h>
#include <talloc.h>

#include "parley/data.h"
#include "random.h"
#include "suites.h"
#include "zoo.h"

#define SEEDS 200

/* A small, fully known zoo_all. */
static zoo_all *sample_all(TALLOC_CTX *mem)
{
    zoo_all *a = talloc_zero(mem, zoo_all);
    a->i8 = -8; a->i16 = -16; a->i32 = -32; a->i64 = -64;
    a->u8 = 8; a->u16 = 16; a->u32 = 32; a->u64 = 18446744073709551615ull;
    a->b = true; a->f = 1.5f; a->d = -0.25;
    a->color = ZOO_BLACK;
    a->perm = ZOO_READ | ZOO_EXEC;
    a->name = talloc_strdup(a, "tab\there \"q\"");
    a->text = talloc_strdup(a, "");
    a->blob.len = 3;
    a->blob.data = talloc_memdup(a, "\x01\xab\xff", 3);
    a->fixed[0] = 1; a->fixed[1] = 2; a->fixed[2] = 3;
    a->n_points = 1;
    a->points = talloc_zero_array(a, zoo_point, 1);
    a->points[0] = (zoo_point){ 1, 2, 3, 4.5 };
    a->n_words = 2;
    a->words = talloc_array(a, char *, 2);
    a->words[0] = talloc_strdup(a->words, "a");
    a->words[1] = talloc_strdup(a->words, "b");
    a->origin = NULL;
    a->value.kind = ZOO_GREEN;
    a->value.u.s = talloc_strdup(a, "green");
    a->num.tag = 42;
    a->num.u.other = 7;
    a->secret = talloc_strdup(a, "hunter2");
    return a;
}

START_TEST(test_print_sample)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    zoo_all *a = sample_all(mem);
    char *text;

    ck_assert_int_eq(parley_data_print(mem, &zoo_all_type, a, &text), PARLEY_OK);
    ck_assert_str_eq(text,
        "{ i8 = -8, i16 = -16, i32 = -32, i64 = -64, u8 = 8, u16 = 16, u32 = 32, "
        "u64 = 18446744073709551615, b = true, f = 1.5, d = -0.25, color = ZOO_BLACK, "
        "perm = ZOO_READ|ZOO_EXEC, name = \"tab\\there \\\"q\\\"\", text = \"\", "
        "blob = <3 bytes: 01 ab ff>, fixed = [ 1, 2, 3 ], "
        "points = [ { x = 1, y = 2, z = 3, w = 4.5 } ], words = [ \"a\", \"b\" ], "
        "origin = NULL, value = { kind = ZOO_GREEN, s = \"green\" }, "
        "num = { tag = 42, other = 7 }, secret = <redacted>, "
        "flats = [ { a = 0, b = 0, c = 0, d = 0 }, { a = 0, b = 0, c = 0, d = 0 } ], "
        "flat_seq = [ ], nums = [ ] }");
    ck_assert_ptr_null(strstr(text, "hunter2"));
    ck_assert_ptr_eq(talloc_parent(text), mem);
    talloc_free(mem);
}
END_TEST

START_TEST(test_print_edges)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    char *text;
    zoo_value v = { .kind = ZOO_BLUE };
    zoo_perm p = 0;
    zoo_perm odd = (zoo_perm)(ZOO_WRITE | 0x10);
    zoo_color c = (zoo_color)5;
    uint8_t big[100];
    parley_bytes b = { sizeof(big), big };
    zoo_res r = { parley_test_fake_handle(1), NULL, 4 };
    zoo_res r2 = { parley_test_fake_handle(1), parley_test_fake_handle(2), 5 };
    char *ctl = talloc_strdup(mem, "\x01\x7f\n");

    memset(big, 0xee, sizeof(big));
    ck_assert_int_eq(parley_data_print(mem, &zoo_value_type, &v, &text), PARLEY_OK);
    ck_assert_str_eq(text, "{ kind = ZOO_BLUE }");
    ck_assert_int_eq(parley_data_print(mem, &zoo_perm_type, &p, &text), PARLEY_OK);
    ck_assert_str_eq(text, "0");
    ck_assert_int_eq(parley_data_print(mem, &zoo_perm_type, &odd, &text), PARLEY_OK);
    ck_assert_str_eq(text, "ZOO_WRITE|0x10");
    ck_assert_int_eq(parley_data_print(mem, &zoo_color_type, &c, &text), PARLEY_OK);
    ck_assert_str_eq(text, "5");
    ck_assert_int_eq(parley_data_print(mem, &parley_type_bytes, &b, &text), PARLEY_OK);
    ck_assert_str_eq(text, "<100 bytes: ee ee ee ee ee ee ee ee ee ee ee ee ee ee ee ee ...>");
    ck_assert_int_eq(parley_data_print(mem, &zoo_res_type, &r, &text), PARLEY_OK);
    ck_assert_str_eq(text, "{ cursor = <cursor handle>, maybe = NULL, fd = <fd 4> }");
    ck_assert_int_eq(parley_data_print(mem, &zoo_res_type, &r2, &text), PARLEY_OK);
    ck_assert_str_eq(text, "{ cursor = <cursor handle>, maybe = <cursor handle>, fd = <fd 5> }");
    ck_assert(!parley_data_equal(&zoo_res_type, &r, &r2));
    ck_assert_int_eq(parley_data_print(mem, &parley_type_string, &ctl, &text), PARLEY_OK);
    ck_assert_str_eq(text, "\"\\x01\\x7f\\n\"");

    ck_assert_int_eq(parley_data_print(mem, NULL, &v, &text), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(parley_error_message(), "print: NULL type");
    talloc_free(mem);
}
END_TEST

/* A chain of n nodes through `next`. */
static zoo_node *chain(TALLOC_CTX *mem, unsigned n)
{
    zoo_node *head = NULL;
    for (unsigned i = 0; i < n; i++) {
        zoo_node *node = talloc_zero(mem, zoo_node);
        node->key = talloc_asprintf(node, "k%u", i);
        node->next = head;
        head = node;
    }
    return head;
}

START_TEST(test_depth_cap)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    zoo_node *deep = chain(mem, 2000), *shallow = chain(mem, 100);
    char *text;
    void *copy;
    size_t blocks = talloc_total_blocks(mem);

    ck_assert_int_eq(parley_data_print(mem, &zoo_node_type, deep, &text), PARLEY_ERR_OVERFLOW);
    ck_assert_str_eq(parley_error_message(), "print zoo_node: nested deeper than 1024 levels");
    ck_assert_int_eq(parley_data_copy(mem, &zoo_node_type, deep, &copy), PARLEY_ERR_OVERFLOW);
    ck_assert_str_eq(parley_error_message(), "copy zoo_node: nested deeper than 1024 levels");
    ck_assert(!parley_data_equal(&zoo_node_type, deep, deep));
    ck_assert_uint_eq(talloc_total_blocks(mem), blocks); /* nothing left behind */

    ck_assert_int_eq(parley_data_copy(mem, &zoo_node_type, shallow, &copy), PARLEY_OK);
    ck_assert(parley_data_equal(&zoo_node_type, shallow, copy));
    talloc_free(mem);
}
END_TEST

/* Copy equals the original, owns all of its memory, and survives the
 * original being freed. */
START_TEST(test_copy_random)
{
    const parley_type *t = zoo_types[_i];
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        TALLOC_CTX *root = talloc_new(NULL);
        uint64_t s1 = seed, s2 = seed;
        void *a = parley_test_random_value(root, t, &s1);
        void *b = parley_test_random_value(root, t, &s2);
        void *copy;

        ck_assert_ptr_nonnull(a);
        ck_assert_msg(parley_data_equal(t, a, b), "%s seed %llu: generator not deterministic",
                      t->name, (unsigned long long)seed);
        ck_assert_int_eq(parley_data_copy(root, t, a, &copy), PARLEY_OK);
        ck_assert_ptr_eq(talloc_parent(copy), root);
        ck_assert_msg(parley_data_equal(t, a, copy), "%s seed %llu: copy differs", t->name,
                      (unsigned long long)seed);
        talloc_free(a);
        ck_assert_msg(parley_data_equal(t, b, copy), "%s seed %llu: copy shares memory",
                      t->name, (unsigned long long)seed);
        talloc_free(b);
        /* everything the copy points to hangs under it */
        ck_assert_uint_eq(talloc_total_blocks(root), 1 + talloc_total_blocks(copy));
        talloc_free(root);
    }
}
END_TEST

START_TEST(test_equal_detects_differences)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    zoo_all *a = sample_all(mem);
    zoo_all *b;
    float nan1 = nanf("1"), nan2 = nanf("2");

#define MUTATE(stmt)                                                                   \
    do {                                                                               \
        ck_assert_int_eq(parley_data_copy(mem, &zoo_all_type, a, (void **)&b), PARLEY_OK); \
        ck_assert(parley_data_equal(&zoo_all_type, a, b));                             \
        stmt;                                                                          \
        ck_assert_msg(!parley_data_equal(&zoo_all_type, a, b), "not detected: %s", #stmt); \
    } while (0)

    MUTATE(b->i64++);
    MUTATE(b->b = false);
    MUTATE(b->d = 0.25);
    MUTATE(b->perm = ZOO_READ);
    MUTATE(b->name[0] = 'T');
    MUTATE(b->text = NULL);
    MUTATE(b->blob.data[2] = 0);
    MUTATE(b->blob.len = 2);
    MUTATE(b->fixed[2] = 0);
    MUTATE(b->points[0].w = 0);
    MUTATE(b->n_words = 1);
    MUTATE(b->words[1] = "c");
    MUTATE(b->origin = &b->points[0]);
    MUTATE(b->value.kind = ZOO_RED);
    MUTATE(b->value.u.s = "blue");
    MUTATE(b->num.u.other = 8);
    MUTATE(b->secret = "x");
    MUTATE(b->flats[1].d = 1);
#undef MUTATE

    /* floats compare by bit pattern */
    ck_assert(parley_data_equal(&parley_type_float, &nan1, &nan1));
    ck_assert(!parley_data_equal(&parley_type_float, &nan1, &nan2));
    ck_assert(!parley_data_equal(NULL, a, a));
    ck_assert(!parley_data_equal(&zoo_all_type, a, NULL));

    /* a void arm ignores the union's bytes; an unset arm's garbage does not count */
    zoo_value v1 = { .kind = ZOO_BLUE, .u.i = 1 }, v2 = { .kind = ZOO_BLUE, .u.i = 2 };
    ck_assert(parley_data_equal(&zoo_value_type, &v1, &v2));
    talloc_free(mem);
}
END_TEST

START_TEST(test_copy_arguments)
{
    void *copy = (void *)1;
    int x = 0;
    ck_assert_int_eq(parley_data_copy(NULL, NULL, &x, &copy), PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(parley_data_copy(NULL, &parley_type_int32, NULL, &copy),
                     PARLEY_ERR_INVALID_ARGUMENT);
    ck_assert_str_eq(parley_error_message(), "copy: NULL value");
    ck_assert_ptr_eq(copy, (void *)1); /* untouched on failure */
}
END_TEST

Suite *parley_data_suite(void)
{
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_print_sample);
    tcase_add_test(tc, test_print_edges);
    tcase_add_test(tc, test_depth_cap);
    tcase_add_loop_test(tc, test_copy_random, 0, (int)zoo_n_types);
    tcase_add_test(tc, test_equal_detects_differences);
    tcase_add_test(tc, test_copy_arguments);
    suite_add_tcase(s, tc);
    return s;
}
