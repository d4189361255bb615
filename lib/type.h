/* Internal helpers over type descriptors shared by the codec modules. */
#ifndef PARLEY_LIB_TYPE_H
#define PARLEY_LIB_TYPE_H

#include <stdbool.h>
#include <stdint.h>

#include "parley/type.h"

/*
 * The memory form of OPTIONAL T is a pointer to a T object (NULL = absent),
 * except when T's own memory form is already a pointer (STRING: char *,
 * HANDLE: parley_handle *): then the optional is that pointer itself, and
 * NULL means absent (test/zoo.h: `parley_handle *maybe; // optional cursor`).
 * Every walker (encode, decode, print, equal, copy) uses this one rule.
 */
static inline bool parley__optional_is_inline(const parley_type *elem)
{
    return elem->kind == PARLEY_KIND_STRING || elem->kind == PARLEY_KIND_HANDLE;
}

#endif
