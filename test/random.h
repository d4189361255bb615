/* SPDX-License-Identifier: MIT */
/* Seeded random values over any descriptor, for round-trip tests. */
#ifndef PARLEY_TEST_RANDOM_H
#define PARLEY_TEST_RANDOM_H

#include <stdint.h>
#include <talloc.h>

#include "parley/type.h"

/* splitmix64: one 64-bit state word; any seed is fine. */
uint64_t parley_test_rand(uint64_t *state);
/* Uniform in [0, n) (n > 0). */
uint64_t parley_test_rand_below(uint64_t *state, uint64_t n);

/*
 * A random value of `type` that the codec can encode: strings are valid UTF-8
 * without NUL and within their bound, counts within bounds, enums and
 * discriminators declared, recursion through optionals and sequences thinned
 * out with depth so it terminates.  Handles are fake pointers
 * parley_test_fake_handle(k) for k in [0, 8); fds are 0, 1 or 2.
 *
 * The value and everything it points to are allocated under mem_ctx.
 * Returns NULL only when out of memory.
 */
void *parley_test_random_value(TALLOC_CTX *mem_ctx, const parley_type *type, uint64_t *state);

/* Fill `value` (type->size bytes, zeroed by the caller) with a random value;
 * what it points to goes under mem_ctx.  Returns 0, or -1 out of memory. */
int parley_test_random_fill(TALLOC_CTX *mem_ctx, const parley_type *type, uint64_t *state,
                            void *value);

/* The fake handle pointers the generator uses, and the inverse mapping
 * (returns -1 for a pointer that is not one of them). */
parley_handle *parley_test_fake_handle(unsigned k);
int parley_test_fake_handle_index(const parley_handle *h);

#endif
