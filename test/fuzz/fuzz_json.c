/* SPDX-License-Identifier: MIT */
/* Fuzz target: decode arbitrary text as JSON of zoo_all, zoo_node and
 * zoo_res (with handle hooks, and without).  MALFORMED (and OVERFLOW past a
 * depth cap, UNSUPPORTED for a handle without hooks, INVALID_HANDLE from the
 * hooks) are normal outcomes; a crash, a leak, an error without a message,
 * or a decoded value that does not encode -- to the wire, and to JSON that
 * decodes to the very same text again -- is a bug. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <talloc.h>

#include "parley/data.h"
#include "parley/json.h"
#include "parley/status.h"
#include "codec_values.h"
#include "zoo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode_one(const parley_type *type, const uint8_t *data, size_t size,
                       parley_codec *codec)
{
    void *root = talloc_new(NULL);
    void *value = NULL;
    parley_status st;

    if (root == NULL)
        abort();
    st = parley_json_decode_codec(root, type, (const char *)data, size, codec, 0, &value);
    if (st == PARLEY_OK) {
        int out_fds[4];
        parley_codec enc = PARLEY_CODEC_INIT;
        uint8_t *wire = NULL;
        size_t len = 0;
        char *text = NULL, *again = NULL;
        void *back = NULL;

        enc.handles = &codec_test_handle_ops;
        enc.fds = out_fds;
        enc.max_fds = 4;
        enc.max_depth = codec != NULL ? codec->max_depth : 0;
        if (parley_data_encode(root, type, value, &enc, &wire, &len) != PARLEY_OK)
            abort();
        if (parley_json_encode_codec(root, type, value, codec, PARLEY_JSON_SENSITIVE, &text) !=
            PARLEY_OK)
            abort();
        if (parley_json_decode_codec(root, type, text, strlen(text), codec, 0, &back) != PARLEY_OK)
            abort();
        if (parley_json_encode_codec(root, type, back, codec, PARLEY_JSON_SENSITIVE, &again) !=
            PARLEY_OK || strcmp(text, again) != 0)
            abort();
        talloc_free(value);
        talloc_free(back);
        talloc_free(wire);
        talloc_free(text);
        talloc_free(again);
    } else if (!parley_json_available()) {
        if (st != PARLEY_ERR_UNSUPPORTED)
            abort();
    } else if (st != PARLEY_ERR_MALFORMED && st != PARLEY_ERR_OVERFLOW &&
               st != PARLEY_ERR_UNSUPPORTED && st != PARLEY_ERR_INVALID_HANDLE) {
        abort();
    } else if (value != NULL || parley_error_message()[0] == '\0') {
        abort();
    }
    if (talloc_total_blocks(root) != 1)
        abort();
    talloc_free(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parley_codec codec = PARLEY_CODEC_INIT;

    codec.handles = &codec_test_handle_ops;
    codec.max_depth = 16;
    decode_one(&zoo_all_type, data, size, NULL);
    decode_one(&zoo_node_type, data, size, NULL);
    decode_one(&zoo_node_type, data, size, &codec);
    decode_one(&zoo_res_type, data, size, NULL);
    decode_one(&zoo_res_type, data, size, &codec);
    return 0;
}
