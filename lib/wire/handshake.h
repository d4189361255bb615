/* SPDX-License-Identifier: MIT */
/* Internal: the HELLO payload (the handshake, doc/wire.md 2.3): encode,
 * decode (untrusted bytes) and the comparison with our protocol.  Pure
 * functions over bytes, fuzzed by test/fuzz/fuzz_wire.c. */
#ifndef PARLEY_LIB_HANDSHAKE_H
#define PARLEY_LIB_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <talloc.h>

#include "parley/status.h"
#include "parley/protocol.h"
#include "frame.h"

#define PARLEY__HELLO_MAGIC 0x594c5250u     /* "PRLY" little-endian */
#define PARLEY__WIRE_VERSION 1u

/* features bit: the HELLO carries handshake data after the method table
 * (doc/wire.md 2.3): the fingerprints of the protocol's two hello types and
 * the sender's value, at most PARLEY__HELLO_VALUE_MAX bytes. */
#define PARLEY__HELLO_FEATURE_DATA 0x1u
#define PARLEY__HELLO_VALUE_MAX 4096u

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
    /* Present with PARLEY__HELLO_FEATURE_DATA only (otherwise zero/NULL). */
    uint64_t client_type_fp;          /* 0: no client hello type */
    uint64_t server_type_fp;          /* 0: no server hello type */
    uint8_t *value;                   /* the sender's value, value_len bytes */
    size_t value_len;
} parley__hello;

/* The hello type a protocol declares for the client (client true) or the
 * server end; NULL when it declares none or predates the fields. */
const parley_type *parley__protocol_hello_type(const parley_protocol *protocol, bool client);

/* Encode a HELLO carrying handshake data: the protocol's hello type
 * fingerprints and value (value_len bytes, may be 0) of the sending end.
 * A protocol without hello types gets the plain HELLO (value ignored). */
parley_status parley__hello_encode_value(TALLOC_CTX *mem_ctx, const parley_protocol *protocol,
                                         uint32_t max_message, uint32_t features,
                                         const uint8_t *value, size_t value_len,
                                         uint8_t **ret_buf, size_t *ret_len);

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
