/* SPDX-License-Identifier: MIT */
/* Hand-built zoo values and test hooks shared by the codec tests and the
 * fuzz corpus generator. */
#ifndef PARLEY_TEST_CODEC_VALUES_H
#define PARLEY_TEST_CODEC_VALUES_H

#include <talloc.h>

#include "parley/data.h"
#include "zoo.h"

/* A zoo_all with every field set: strings with multi-byte UTF-8, a max-bound
 * name, a negative enum, points, words, an origin, a union default arm... */
zoo_all *codec_test_rich_all(TALLOC_CTX *mem);

/* A zoo_node tree: depth levels of `fanout` children each, plus next lists. */
zoo_node *codec_test_node_tree(TALLOC_CTX *mem, unsigned depth, unsigned fanout);

/* A chain of n nodes linked through next. */
zoo_node *codec_test_node_chain(TALLOC_CTX *mem, unsigned n);

/* Handle hooks over fake handles: handle id k is the pointer
 * codec_test_handle(k); ids below 100 exist, of handle type "cursor". */
extern const parley_handle_ops codec_test_handle_ops;
parley_handle *codec_test_handle(uint32_t id);

#endif
