/* SPDX-License-Identifier: MIT */
/* Internal helpers over type descriptors shared by the codec modules. */
#ifndef PARLEY_LIB_TYPE_H
#define PARLEY_LIB_TYPE_H

#include <stdbool.h>
#include <stdint.h>

#include "parley/type.h"

/* Deepest descriptor nesting parley_type_check() and shapes follow. */
#define PARLEY__TYPE_CHECK_DEPTH 256

/* "int32", "struct", ... ("unknown" for a bad kind). */
const char *parley__kind_name(parley_kind kind);
/* INT8..UINT64 */
bool parley__kind_is_integer(parley_kind kind);
/* v is representable in an integer kind (or ENUM, as int32). */
bool parley__int_fits(parley_kind kind, int64_t v);
/* v is a declared value of an enum (for a flags enum: an OR of them). */
bool parley__enum_has_value(const parley_type *enum_type, int64_t v);
/* Fingerprint of "m(REQ)->(REP)" or "m(REQ)!" (see doc/idl.md). */
uint64_t parley__method_fingerprint(const parley_type *request, const parley_type *reply);



/* print/equal/copy follow values this deep before giving up (OVERFLOW). */
#define PARLEY__DATA_WALK_DEPTH 1024

/* Read an integer (or enum) of the given kind from memory, widened. */
int64_t parley__load_int(const void *p, parley_kind kind);
/* The arm a discriminator value selects (the default arm, or NULL). */
const parley_arm *parley__union_arm(const parley_type *union_type, int64_t value);
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
