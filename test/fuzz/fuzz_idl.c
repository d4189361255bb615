/* Fuzz target: the IDL compiler's front end and generators on any bytes.
 * The input is parsed from memory (imports disabled: no file is read or
 * written), checked, and when it is a valid protocol the header, the source
 * and --describe are generated.  Malformed input is a normal outcome; a
 * crash, a hang or a leak (everything hangs under one talloc context that
 * must be empty afterwards) is a bug. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <talloc.h>

#include "ast.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    void *mem = talloc_new(NULL);
    idl_options opts = { 0 };
    idl_unit *u;

    if (sink == NULL)
        sink = fopen("/dev/null", "w");    /* diagnostics are formatted, not kept */
    opts.no_imports = true;
    opts.diag_out = sink;
    if (mem == NULL)
        return 0;
    u = idl_unit_new(mem, &opts);
    if (u != NULL) {
        idl_load_buffer(u, "fuzz.idl", (const char *)data, size);
        if (idl_check(u) == 0 && u->main != NULL) {
            char *h = idl_gen_header(mem, u, "fuzz");
            char *c = idl_gen_source(mem, u, "fuzz");
            char *d = idl_describe(mem, u);
            if (h == NULL || c == NULL || d == NULL)
                abort();
        }
    }
    talloc_free(mem);
    return 0;
}
