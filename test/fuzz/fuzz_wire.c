/* SPDX-License-Identifier: MIT */
/* Fuzz target: the wire layer's parsers over untrusted bytes, no socket.
 *
 * The input is read twice.  First as one payload: a HELLO (decoded, then
 * compared with a small protocol), a message (BYE, error REPLY) and a
 * REMOTE reply.  Then as a stream of frames, the way a connection reads it:
 * header after header (checked against a 4 KiB max message), each payload
 * decoded by its kind, until the bytes run out or a header breaks the
 * framing.  MALFORMED, OVERFLOW and PROTOCOL_MISMATCH are normal outcomes;
 * a crash, a leak, a header that does not pack back to its own bytes, or a
 * decoded message with a byte that is not printable is a bug. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <talloc.h>

#include "parley/protocol.h"
#include "parley/type.h"
#include "frame.h"
#include "handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_PAYLOAD 4096u

typedef struct fz_int {
    int32_t v;
} fz_int;

static const parley_field fz_int_fields[] = {
    PARLEY_FIELD(fz_int, v, parley_type_int32),
};
static const parley_type fz_int_type = PARLEY_STRUCT_TYPE(fz_int, fz_int_fields);

/* The protocol the HELLOs are compared with: "fuzz" version 1, methods 1
 * and 2 with fixed fingerprints (the seed corpus uses the same). */
static const parley_method fz_methods[] = {
    { 1, "one", "fuzz", &fz_int_type, &fz_int_type, 0x1111111111111111ull, 0 },
    { 2, "two", "fuzz", &fz_int_type, NULL, 0x2222222222222222ull, PARLEY_METHOD_ONEWAY },
};
static const parley_protocol fz_protocol = {
    PARLEY_ABI_VERSION, "fuzz", 1, fz_methods, 2, NULL, 0, NULL, 0, NULL, NULL,
};

/* The same with hello types (handshake data, doc/wire.md 2.3). */
static const parley_protocol fz_protocol_hello = {
    PARLEY_ABI_VERSION, "fuzz", 1, fz_methods, 2, NULL, 0, NULL, 0, &fz_int_type, &fz_int_type,
};

static void check_message(const char *msg, size_t n)
{
    if (strlen(msg) != n)
        abort();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
            abort();
}

static void payload_as_hello(TALLOC_CTX *mem, const uint8_t *p, size_t n)
{
    parley__hello *h = NULL;

    if (parley__hello_decode(mem, p, n, &h) != PARLEY_OK)
        return;
    if (h->wire_version != PARLEY__WIRE_VERSION || h->protocol_name == NULL ||
        (h->n_methods > 0 && h->methods == NULL))
        abort();
    if ((h->value_len > 0 && h->value == NULL) || h->value_len > PARLEY__HELLO_VALUE_MAX)
        abort();
    (void)parley__hello_check(h, &fz_protocol);
    (void)parley__hello_check(h, &fz_protocol_hello);
    talloc_free(h);
}

static void payload_as_message(TALLOC_CTX *mem, const uint8_t *p, size_t n)
{
    char *msg = NULL;

    if (parley__message_decode(mem, p, n, &msg) == PARLEY_OK) {
        check_message(msg, n - 4);
        talloc_free(msg);
    }
}

static void payload_as_remote(TALLOC_CTX *mem, const uint8_t *p, size_t n)
{
    char *msg = NULL;
    int32_t code;

    if (parley__remote_decode(mem, p, n, &code, &msg) == PARLEY_OK) {
        check_message(msg, n - 8);
        talloc_free(msg);
    }
}

static void frames(TALLOC_CTX *mem, const uint8_t *data, size_t size)
{
    size_t pos = 0;

    while (size - pos >= PARLEY__FRAME_HEADER_SIZE) {
        parley__frame_header h;
        uint8_t again[PARLEY__FRAME_HEADER_SIZE];
        const uint8_t *payload;

        if (parley__frame_unpack(data + pos, FUZZ_MAX_PAYLOAD, &h) != PARLEY_OK)
            return;   /* the framing is broken: a connection closes here */
        parley__frame_pack(&h, again);
        if (memcmp(again, data + pos, sizeof(again)) != 0)
            abort();
        if (h.kind == PARLEY__FRAME_HELLO ? h.length > PARLEY__HELLO_MAX
                                          : h.length > FUZZ_MAX_PAYLOAD)
            abort();   /* unpack let an oversized frame through */
        if (parley__frame_kind_name(h.kind)[0] == '?')
            abort();
        pos += PARLEY__FRAME_HEADER_SIZE;
        if (size - pos < h.length)
            return;   /* a connection waits for the rest */
        payload = data + pos;
        pos += h.length;
        switch (h.kind) {
        case PARLEY__FRAME_HELLO:
            payload_as_hello(mem, payload, h.length);
            break;
        case PARLEY__FRAME_BYE:
            payload_as_message(mem, payload, h.length);
            break;
        case PARLEY__FRAME_REPLY:
            if (h.code == PARLEY_ERR_REMOTE)
                payload_as_remote(mem, payload, h.length);
            else if (h.code != PARLEY_OK)
                payload_as_message(mem, payload, h.length);
            break;
        case PARLEY__FRAME_CANCEL:
            if (h.length != 0)
                abort();
            break;
        default:
            break;   /* CALL, ONEWAY: the codec's own fuzz target covers them */
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    TALLOC_CTX *mem = talloc_new(NULL);

    if (mem == NULL)
        abort();
    payload_as_hello(mem, data, size);
    payload_as_message(mem, data, size);
    payload_as_remote(mem, data, size);
    frames(mem, data, size);
    /* Everything decoded was freed: nothing may be left. */
    if (talloc_total_blocks(mem) != 1)
        abort();
    talloc_free(mem);
    return 0;
}
