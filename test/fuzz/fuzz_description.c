/* SPDX-License-Identifier: MIT */
/* Fuzz target: arbitrary bytes as a protocol description (the reply of
 * method 0, doc/wire.md part 3).  Refusing them (MALFORMED, UNSUPPORTED) is
 * a normal outcome; a crash, a leak, or a built protocol that does not pass
 * parley_protocol_check() or cannot be described and built again is a bug. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include <talloc.h>

#include "parley/introspect.h"
#include "parley/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    TALLOC_CTX *root = talloc_new(NULL);
    const parley_protocol *p = NULL, *again = NULL;
    parley_limits limits;
    uint8_t *bytes = NULL;
    size_t len = 0;

    if (root == NULL)
        abort();
    if (parley_protocol_from_description(root, data, size, &p, &limits) == PARLEY_OK) {
        if (parley_protocol_check(p) != PARLEY_OK)
            abort();
        if (parley_protocol_describe(root, p, &limits, &bytes, &len) != PARLEY_OK)
            abort();
        if (parley_protocol_from_description(root, bytes, len, &again, NULL) != PARLEY_OK)
            abort();
        if (again->n_methods != p->n_methods)
            abort();
    }
    talloc_free(root);
    return 0;
}
