/* SPDX-License-Identifier: MIT */
/* Helpers shared by the codec's check files (check_codec*.c). */
#ifndef PARLEY_TEST_CHECK_CODEC_H
#define PARLEY_TEST_CHECK_CODEC_H

#include <stdbool.h>

#include <check.h>
#include <talloc.h>

#include "parley/data.h"

/* A byte-array literal and its length, as two arguments. */
#define BYTES(...) (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ })

/* The per-test talloc root; the fixture asserts it holds only itself at the end. */
extern void *codec_root;
void codec_setup(void);
void codec_teardown(void);

/* Encode with every entry point, check they agree, return the bytes (under codec_root). */
uint8_t *codec_encode_ok(const parley_type *t, const void *v, parley_codec *codec,
                         size_t *ret_len);
/* Decode with both entry points in both modes (default and
 * PARLEY_DECODE_COMPACT, whatever codec->flags says), re-encode each to the
 * same bytes; return the value decoded in the mode codec asks for. */
void *codec_decode_ok(const parley_type *t, const uint8_t *data, size_t len,
                      parley_codec *codec);

/* codec->flags with PARLEY_DECODE_COMPACT set when compact (a copy of codec,
 * or of PARLEY_CODEC_INIT when codec is NULL). */
parley_codec codec_mode(const parley_codec *codec, bool compact);

/* check_codec_errors.c: malformed inputs, depth, prefixes, flips, encode errors. */
void codec_add_error_tests(TCase *tc);

#endif
