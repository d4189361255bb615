/* SPDX-License-Identifier: MIT */
/* Hand-built zoo values and fake handle hooks for the codec tests. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "codec_values.h"

zoo_all *codec_test_rich_all(TALLOC_CTX *mem)
{
    zoo_all *a = talloc_zero(mem, zoo_all);

    a->i8 = -128; a->i16 = -2; a->i32 = 0x12345678; a->i64 = INT64_MIN + 5;
    a->u8 = 255; a->u16 = 65535; a->u32 = 0xdeadbeef; a->u64 = UINT64_MAX - 1;
    a->b = true; a->f = -1.5f; a->d = 3.141592653589793;
    a->color = ZOO_BLACK;
    a->perm = ZOO_READ | ZOO_EXEC;
    a->name = talloc_strdup(a, "0123456789abcdef");           /* exactly the bound 16 */
    a->text = talloc_strdup(a, "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"); /* é € 😀 */
    a->blob.len = 5;
    a->blob.data = talloc_memdup(a, "\x00\x01\xff\x80\x7f", 5);
    a->fixed[0] = -1; a->fixed[1] = 0; a->fixed[2] = 1;
    a->n_points = 3;
    a->points = talloc_zero_array(a, zoo_point, 3);
    for (int i = 0; i < 3; i++)
        a->points[i] = (zoo_point){ i, -i, i * 1000, i + 0.25 };
    a->n_words = 3;
    a->words = talloc_array(a, char *, 3);
    a->words[0] = talloc_strdup(a->words, "");
    a->words[1] = talloc_strdup(a->words, "two");
    a->words[2] = talloc_strdup(a->words, "\xce\xbb");
    a->origin = talloc_zero(a, zoo_point);
    *a->origin = (zoo_point){ 7, 8, 9, -0.0 };
    a->value.kind = ZOO_GREEN;
    a->value.u.s = talloc_strdup(a, "green");
    a->num.tag = 42;                                           /* default arm */
    a->num.u.other = 0xabcdef01u;
    a->secret = talloc_strdup(a, "hunter2");
    a->flats[0] = (zoo_flat){ -1, 2, -3, 4 };
    a->flats[1] = (zoo_flat){ 5, 6, 7, 8 };
    a->n_flat_seq = 2;
    a->flat_seq = talloc_zero_array(a, zoo_flat, 2);
    a->flat_seq[0] = (zoo_flat){ 1, 1, 1, 1 };
    a->flat_seq[1] = (zoo_flat){ INT32_MIN, UINT32_MAX, INT64_MAX, 0 };
    a->n_nums = 4;
    a->nums = talloc_zero_array(a, int32_t, 4);
    for (int i = 0; i < 4; i++)
        a->nums[i] = i * i - 3;
    return a;
}

zoo_node *codec_test_node_tree(TALLOC_CTX *mem, unsigned depth, unsigned fanout)
{
    zoo_node *n = talloc_zero(mem, zoo_node);

    n->key = talloc_asprintf(n, "d%u", depth);
    if (depth > 0) {
        n->n_children = fanout;
        n->children = talloc_zero_array(n, zoo_node, fanout);
        for (unsigned i = 0; i < fanout; i++) {
            zoo_node *c = codec_test_node_tree(n->children, depth - 1, fanout);
            n->children[i] = *c;
            talloc_steal(n->children, c->key);
            if (c->children != NULL)
                talloc_steal(n->children, c->children);
            if (c->next != NULL)
                talloc_steal(n->children, c->next);
            talloc_free(c);
        }
        n->next = talloc_zero(n, zoo_node);
        n->next->key = talloc_strdup(n->next, "next");
    }
    return n;
}

zoo_node *codec_test_node_chain(TALLOC_CTX *mem, unsigned n)
{
    zoo_node *head = NULL;

    for (unsigned i = 0; i < n; i++) {
        zoo_node *x = talloc_zero(mem, zoo_node);
        x->key = talloc_asprintf(x, "%u", n - i);
        if (head != NULL)
            x->next = talloc_steal(x, head);
        head = x;
    }
    return head;
}

static char handle_space[100];

parley_handle *codec_test_handle(uint32_t id)
{
    return (parley_handle *)(void *)&handle_space[id];
}

static parley_status test_to_wire(void *data, const parley_type *type, parley_handle *h,
                                  uint32_t *ret_id)
{
    const char *p = (const char *)(void *)h;

    (void)data;
    if (strcmp(type->name, "cursor") != 0 || p < handle_space || p >= handle_space + 100)
        return PARLEY_ERR_INVALID_HANDLE;
    *ret_id = (uint32_t)(p - handle_space);
    return PARLEY_OK;
}

static parley_status test_from_wire(void *data, const parley_type *type, uint32_t id,
                                    parley_handle **ret_h)
{
    (void)data;
    if (strcmp(type->name, "cursor") != 0 || id >= 100)
        return PARLEY_ERR_INVALID_HANDLE;
    *ret_h = codec_test_handle(id);
    return PARLEY_OK;
}

const parley_handle_ops codec_test_handle_ops = { test_to_wire, test_from_wire };
