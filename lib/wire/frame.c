/* SPDX-License-Identifier: MIT */
/* Wire frames: header packing and checks, message payloads. */
#include "config.h"

#include <string.h>

#include <talloc.h>

#include "frame.h"
#include "status.h"

const char *parley__frame_kind_name(unsigned kind)
{
    switch (kind) {
    case PARLEY__FRAME_HELLO: return "HELLO";
    case PARLEY__FRAME_CALL: return "CALL";
    case PARLEY__FRAME_REPLY: return "REPLY";
    case PARLEY__FRAME_ONEWAY: return "ONEWAY";
    case PARLEY__FRAME_CANCEL: return "CANCEL";
    case PARLEY__FRAME_BYE: return "BYE";
    default: return "?";
    }
}

void parley__frame_pack(const parley__frame_header *hdr, uint8_t *out)
{
    parley__put_u32(out, hdr->length);
    out[4] = hdr->kind;
    out[5] = hdr->flags;
    parley__put_u16(out + 6, hdr->nfds);
    parley__put_u32(out + 8, hdr->call_id);
    parley__put_u32(out + 12, hdr->code);
}

parley_status parley__frame_unpack(const uint8_t *in, uint32_t max_payload,
                                   parley__frame_header *ret_hdr)
{
    parley__frame_header h;

    h.length = parley__get_u32(in);
    h.kind = in[4];
    h.flags = in[5];
    h.nfds = parley__get_u16(in + 6);
    h.call_id = parley__get_u32(in + 8);
    h.code = parley__get_u32(in + 12);

    if (h.kind < PARLEY__FRAME_HELLO || h.kind > PARLEY__FRAME_BYE)
        return parley__error(PARLEY_ERR_MALFORMED, "frame of unknown kind %u", h.kind);
    if (h.flags != 0)
        return parley__error(PARLEY_ERR_MALFORMED, "%s frame with unknown flags 0x%02x",
                             parley__frame_kind_name(h.kind), h.flags);
    if (h.kind == PARLEY__FRAME_HELLO) {
        if (h.length > PARLEY__HELLO_MAX)
            return parley__error(PARLEY_ERR_OVERFLOW,
                                 "HELLO frame of %u bytes exceeds the limit of %u",
                                 h.length, PARLEY__HELLO_MAX);
    } else if (h.length > max_payload) {
        return parley__error(PARLEY_ERR_OVERFLOW,
                             "%s frame of %u bytes exceeds the max message size %u",
                             parley__frame_kind_name(h.kind), h.length, max_payload);
    }
    if ((h.kind == PARLEY__FRAME_CANCEL) && h.length != 0)
        return parley__error(PARLEY_ERR_MALFORMED, "CANCEL frame with a %u-byte payload",
                             h.length);
    *ret_hdr = h;
    return PARLEY_OK;
}

parley_status parley__message_encode(TALLOC_CTX *mem_ctx, const char *msg,
                                     uint8_t **ret_buf, size_t *ret_len)
{
    size_t n = msg != NULL ? strlen(msg) : 0;
    uint8_t *buf;

    if (n > 4096)
        n = 4096;
    buf = talloc_size(mem_ctx, 4 + n);
    if (buf == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory encoding a message");
    parley__put_u32(buf, (uint32_t)n);
    if (n > 0)
        memcpy(buf + 4, msg, n);
    *ret_buf = buf;
    *ret_len = 4 + n;
    return PARLEY_OK;
}

static char *message_copy(TALLOC_CTX *mem_ctx, const uint8_t *p, size_t n)
{
    char *s = talloc_size(mem_ctx, n + 1);

    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        s[i] = (p[i] >= 0x20 && p[i] != 0x7f) ? (char)p[i] : '?';
    s[n] = '\0';
    return s;
}

parley_status parley__message_decode(TALLOC_CTX *mem_ctx, const uint8_t *buf, size_t len,
                                     char **ret_msg)
{
    uint32_t n;
    char *s;

    if (len < 4 || (n = parley__get_u32(buf)) != len - 4)
        return parley__error(PARLEY_ERR_MALFORMED, "message payload of bad length");
    s = message_copy(mem_ctx, buf + 4, n);
    if (s == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory decoding a message");
    *ret_msg = s;
    return PARLEY_OK;
}

parley_status parley__remote_encode(TALLOC_CTX *mem_ctx, int32_t code, const char *msg,
                                    uint8_t **ret_buf, size_t *ret_len)
{
    size_t n = msg != NULL ? strlen(msg) : 0;
    uint8_t *buf;

    if (n > 4096)
        n = 4096;
    buf = talloc_size(mem_ctx, 8 + n);
    if (buf == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory encoding an error reply");
    parley__put_u32(buf, (uint32_t)code);
    parley__put_u32(buf + 4, (uint32_t)n);
    if (n > 0)
        memcpy(buf + 8, msg, n);
    *ret_buf = buf;
    *ret_len = 8 + n;
    return PARLEY_OK;
}

parley_status parley__remote_decode(TALLOC_CTX *mem_ctx, const uint8_t *buf, size_t len,
                                    int32_t *ret_code, char **ret_msg)
{
    char *s;

    if (len < 8 || parley__get_u32(buf + 4) != len - 8)
        return parley__error(PARLEY_ERR_MALFORMED, "REMOTE reply payload of bad length");
    s = message_copy(mem_ctx, buf + 8, len - 8);
    if (s == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "out of memory decoding an error reply");
    *ret_code = (int32_t)parley__get_u32(buf);
    *ret_msg = s;
    return PARLEY_OK;
}

