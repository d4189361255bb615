/* SPDX-License-Identifier: MIT */
/* Internal: the HELLO payload (the handshake, doc/wire.md 2.3): encode,
 * decode (untrusted bytes) and the comparison with our protocol.  Pure
 * functions over bytes, fuzzed by test/fuzz/fuzz_wire.c. */
#ifndef PARLEY_LIB_HANDSHAKE_H
#define PARLEY_LIB_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>
#include <talloc.h>

#include "parley/status.h"
#include "parley/protocol.h"
#include "frame.h"

#define PARLEY__HELLO_MAGIC 0x594c5250u     /* "PRLY" little-endian */
#define PARLEY__WIRE_VERSION 1u

/* One method entry of a HELLO. */
typedef struct parley__hello_method {
    uint32_t id;
    uint64_t fingerprint;
} parley__hello_method;

/* A decoded HELLO. */
typedef struct parley__hello {
    uint32_t wire_version;
    uint32_t protocol_version;
    uint32_t max_message;
    uint32_t features;
    char *protocol_name;
    size_t n_methods;
    parley__hello_method *methods;
} parley__hello;

/* Encode the HELLO payload of protocol into a new buffer under mem_ctx. */
parley_status parley__hello_encode(TALLOC_CTX *mem_ctx, const parley_protocol *protocol,
                                   uint32_t max_message, uint32_t features,
                                   uint8_t **ret_buf, size_t *ret_len);

/* Decode a HELLO payload (untrusted) into a new parley__hello under mem_ctx. */
parley_status parley__hello_decode(TALLOC_CTX *mem_ctx, const uint8_t *buf, size_t len,
                                   parley__hello **ret_hello);

/* Compare a received HELLO against our protocol.  Returns PARLEY_OK or
 * PROTOCOL_MISMATCH with a sentence naming the first difference (protocol
 * name, wire version, or a method whose fingerprint differs). */
parley_status parley__hello_check(const parley__hello *hello, const parley_protocol *protocol);

#endif
