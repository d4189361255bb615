/* SPDX-License-Identifier: MIT */
/* Internal: wire frames (16-byte header + payload) and message payloads:
 * pure functions over bytes (no I/O, no global state), fuzzed by
 * test/fuzz/fuzz_wire.c.  The HELLO payload is in handshake.h.  The byte layout
 * is specified in doc/wire.md ("Frames"). */
#ifndef PARLEY_LIB_FRAME_H
#define PARLEY_LIB_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <talloc.h>

#include "parley/status.h"

#define PARLEY__FRAME_HEADER_SIZE 16u
/* Largest HELLO frame accepted, whatever the max message size. */
#define PARLEY__HELLO_MAX (1u << 20)

typedef enum parley__frame_kind {
    PARLEY__FRAME_HELLO = 1,
    PARLEY__FRAME_CALL = 2,
    PARLEY__FRAME_REPLY = 3,
    PARLEY__FRAME_ONEWAY = 4,
    PARLEY__FRAME_CANCEL = 5,
    PARLEY__FRAME_BYE = 6
} parley__frame_kind;

typedef struct parley__frame_header {
    uint32_t length;    /* payload bytes */
    uint8_t kind;       /* parley__frame_kind */
    uint8_t flags;      /* 0 for now */
    uint16_t nfds;      /* SCM_RIGHTS descriptors carried */
    uint32_t call_id;
    uint32_t code;      /* method id (CALL, ONEWAY) or status (REPLY, BYE) */
} parley__frame_header;

/* Little-endian helpers. */
static inline void parley__put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8);
}
static inline void parley__put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void parley__put_u64(uint8_t *p, uint64_t v)
{
    parley__put_u32(p, (uint32_t)v); parley__put_u32(p + 4, (uint32_t)(v >> 32));
}
static inline uint16_t parley__get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t parley__get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}
static inline uint64_t parley__get_u64(const uint8_t *p)
{
    return (uint64_t)parley__get_u32(p) | ((uint64_t)parley__get_u32(p + 4) << 32);
}

/* Write hdr into out[16]. */
void parley__frame_pack(const parley__frame_header *hdr, uint8_t *out);

/* Read a header from in[16] and check it: a known kind, flags 0, length at
 * most max_payload (HELLO: at most PARLEY__HELLO_MAX).  On failure returns
 * MALFORMED (unknown kind, bad flags) or OVERFLOW (length) with a sentence;
 * *ret_hdr is set only on success. */
parley_status parley__frame_unpack(const uint8_t *in, uint32_t max_payload,
                                   parley__frame_header *ret_hdr);

/* The name of a frame kind ("CALL"), "?" if unknown. */
const char *parley__frame_kind_name(unsigned kind);

/* A message payload: u32 length + bytes (used by BYE and error REPLYs). */
parley_status parley__message_encode(TALLOC_CTX *mem_ctx, const char *msg,
                                     uint8_t **ret_buf, size_t *ret_len);
/* Decode such a payload into a NUL-terminated string under mem_ctx; bytes that
 * are not printable are replaced with '?'. */
parley_status parley__message_decode(TALLOC_CTX *mem_ctx, const uint8_t *buf, size_t len,
                                     char **ret_msg);


/* A REMOTE reply payload: i32 code + message. */
parley_status parley__remote_encode(TALLOC_CTX *mem_ctx, int32_t code, const char *msg,
                                    uint8_t **ret_buf, size_t *ret_len);
parley_status parley__remote_decode(TALLOC_CTX *mem_ctx, const uint8_t *buf, size_t len,
                                    int32_t *ret_code, char **ret_msg);

#endif
