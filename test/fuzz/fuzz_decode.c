/* SPDX-License-Identifier: MIT */
/* Fuzz target: decode arbitrary bytes as zoo_all, zoo_node and zoo_res.
 * MALFORMED (and OVERFLOW past the depth cap, INVALID_HANDLE from the hooks)
 * are normal outcomes; a crash, a leak, or a decoded value that does not
 * re-encode to the very same bytes is a bug (the encoding is canonical).
 * Every input is also decoded by the generic walk with the compiled programs
 * (lib/program.h) switched off, and in compact mode (PARLEY_DECODE_COMPACT)
 * by both: all must agree on the status, the error message and the value. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <talloc.h>

#include "parley/data.h"
#include "parley/status.h"
#include "program.h"
#include "status.h"
#include "codec_values.h"
#include "zoo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode_one(const parley_type *type, const uint8_t *data, size_t size,
                       bool canonical)
{
    int in_fds[4] = { 100, 101, 102, 103 };
    int out_fds[4];
    parley_codec dec = PARLEY_CODEC_INIT, enc = PARLEY_CODEC_INIT;
    void *root = talloc_new(NULL);
    void *value = NULL;
    parley_status st;

    dec.handles = enc.handles = &codec_test_handle_ops;
    dec.fds = in_fds;
    dec.n_fds = 4;
    enc.fds = out_fds;
    enc.max_fds = 4;
    if (root == NULL)
        abort();
    st = parley_data_decode(root, type, data, size, &dec, &value);
    {
        /* the same input by the walk alone */
        char msg[PARLEY__ERROR_MAX + 1];
        void *walked = NULL;
        parley_status wst;
        snprintf(msg, sizeof(msg), "%s", st == PARLEY_OK ? "" : parley_error_message());
        parley__prog_enabled = false;
        wst = parley_data_decode(root, type, data, size, &dec, &walked);
        parley__prog_enabled = true;
        if (wst != st || (st != PARLEY_OK && strcmp(msg, parley_error_message()) != 0))
            abort();
        if (st == PARLEY_OK && !parley_data_equal(type, value, walked))
            abort();
        talloc_free(walked);
        /* and in compact mode, by program and by walk */
        dec.flags = PARLEY_DECODE_COMPACT;
        for (int programs = 1; programs >= 0; programs--) {
            void *compact = NULL;
            parley__prog_enabled = programs != 0;
            wst = parley_data_decode(root, type, data, size, &dec, &compact);
            parley__prog_enabled = true;
            if (wst != st || (st != PARLEY_OK && strcmp(msg, parley_error_message()) != 0))
                abort();
            if (st == PARLEY_OK && !parley_data_equal(type, value, compact))
                abort();
            if (st != PARLEY_OK && compact != NULL)
                abort();
            talloc_free(compact);
        }
        dec.flags = 0;
    }
    if (st == PARLEY_OK) {
        uint8_t *again = NULL;
        size_t len = 0;
        if (parley_data_encode(root, type, value, &enc, &again, &len) != PARLEY_OK)
            abort();
        /* fd indexes are renumbered in order of use, so zoo_res is not canonical */
        if (canonical && (len != size || memcmp(again, data, size) != 0))
            abort();
        talloc_free(again);
        talloc_free(value);
    } else if (st != PARLEY_ERR_MALFORMED && st != PARLEY_ERR_OVERFLOW &&
               st != PARLEY_ERR_INVALID_HANDLE) {
        abort();
    } else if (value != NULL) {
        abort();
    }
    if (talloc_total_blocks(root) != 1)
        abort();
    talloc_free(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode_one(&zoo_all_type, data, size, true);
    decode_one(&zoo_node_type, data, size, true);
    decode_one(&zoo_res_type, data, size, false);
    return 0;
}
