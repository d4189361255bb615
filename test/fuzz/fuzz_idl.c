/* SPDX-License-Identifier: MIT */
/* Fuzz target: the IDL compiler's front end and generators on any bytes.
 * The input is parsed from memory (imports disabled: no file is read or
 * written) twice, as the IDL and as ONC RPC language (.x), checked, and
 * when it is a valid protocol the header, the source and --describe are
 * generated.  Malformed input is a normal outcome; a
 * crash, a hang or a leak (everything hangs under one talloc context that
 * must be empty afterwards) is a bug. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <talloc.h>

#include "ast.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One compilation of the input, as the IDL (fuzz.idl) or as ONC RPC
 * language (fuzz.x). */
static void compile(FILE *sink, const uint8_t *data, size_t size, const char *name)
{
    void *mem = talloc_new(NULL);
    idl_options opts = { 0 };
    idl_unit *u;

    opts.no_imports = true;
    opts.diag_out = sink;
    if (mem == NULL)
        return;
    u = idl_unit_new(mem, &opts);
    if (u != NULL) {
        idl_load_buffer(u, name, (const char *)data, size);
        if (idl_check(u) == 0 && u->main != NULL) {
            char *h = idl_gen_header(mem, u, "fuzz");
            char *c = idl_gen_source(mem, u, "fuzz");
            char *d = idl_describe(mem, u);
            if (h == NULL || c == NULL || d == NULL)
                abort();
        }
    }
    talloc_free(mem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;

    if (sink == NULL)
        sink = fopen("/dev/null", "w");    /* diagnostics are formatted, not kept */
    compile(sink, data, size, "fuzz.idl");
    compile(sink, data, size, "fuzz.x");
    return 0;
}
