/* The consumer: encode and decode a generated type through the installed
 * library, and check the generated protocol table.  Exit 0 when every check
 * holds; otherwise print what failed and exit 1. */
#include <stdio.h>
#include <string.h>

#include <parley.h>
#include <talloc.h>

#include "greet.h"

static int failures;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s (%s)\n", __FILE__,        \
                    __LINE__, #cond, parley_error_message());                  \
            failures++;                                                        \
        }                                                                      \
    } while (0)

static void codec_round_trip(void)
{
    TALLOC_CTX *mem = talloc_new(NULL);
    int32_t xs[3] = { -1, 0, 70000 };
    greet_note tail = { .who = "tail", .m = GREET_MOOD_CALM, .n = 2 };
    greet_note head = { .who = "head", .m = GREET_MOOD_GLAD, .n = 1,
                        .n_xs = 3, .xs = xs, .next = &tail };
    uint8_t *wire = NULL;
    size_t len = 0;
    greet_note *back = NULL;
    char *text = NULL;

    CHECK(parley_data_encode(mem, &greet_note_type, &head, NULL, &wire, &len) == PARLEY_OK);
    CHECK(len > 0);
    CHECK(parley_data_decode(mem, &greet_note_type, wire, len, NULL, (void **)&back)
          == PARLEY_OK);
    if (back != NULL) {
        CHECK(parley_data_equal(&greet_note_type, &head, back));
        CHECK(strcmp(back->who, "head") == 0 && back->n_xs == 3 && back->xs[2] == 70000);
        CHECK(back->next != NULL && strcmp(back->next->who, "tail") == 0);
        CHECK(parley_data_print(mem, &greet_note_type, back, &text) == PARLEY_OK);
        if (text != NULL)
            printf("decoded: %s\n", text);
        /* one free releases the whole decoded graph */
        talloc_free(back);
    }
    /* a truncated encoding is refused with a sentence, not a crash */
    back = NULL;
    CHECK(parley_data_decode(mem, &greet_note_type, wire, len - 1, NULL, (void **)&back)
          == PARLEY_ERR_MALFORMED);
    CHECK(back == NULL);
    CHECK(strlen(parley_error_message()) > 0);
    talloc_free(text);
    talloc_free(wire);
    CHECK(talloc_total_blocks(mem) == 1);
    talloc_free(mem);
}

static void protocol_table(void)
{
    const parley_method *m;

    CHECK(strcmp(greet_protocol.name, "greet") == 0);
    CHECK(greet_protocol.version == 1);
    m = parley_protocol_find_method(&greet_protocol, GREET_METHOD_HELLO);
    CHECK(m != NULL);
    if (m != NULL)
        CHECK(strcmp(m->name, "hello") == 0);
}

int main(void)
{
    codec_round_trip();
    protocol_table();
    if (failures != 0) {
        fprintf(stderr, "greet-app: %d check(s) failed\n", failures);
        return 1;
    }
    printf("greet-app: ok\n");
    return 0;
}
