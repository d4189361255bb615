/* Primitive descriptors, descriptor validation, canonical shapes and fingerprints. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <talloc.h>

#include "parley/type.h"
#include "status.h"
#include "type.h"

#define PRIM(var, kind_, name_, ctype)                                                  \
    PARLEY_PUBLIC const parley_type var = { .kind = (kind_), .name = (name_),          \
                                            .size = sizeof(ctype) }

PRIM(parley_type_int8, PARLEY_KIND_INT8, "int8", int8_t);
PRIM(parley_type_int16, PARLEY_KIND_INT16, "int16", int16_t);
PRIM(parley_type_int32, PARLEY_KIND_INT32, "int32", int32_t);
PRIM(parley_type_int64, PARLEY_KIND_INT64, "int64", int64_t);
PRIM(parley_type_uint8, PARLEY_KIND_UINT8, "uint8", uint8_t);
PRIM(parley_type_uint16, PARLEY_KIND_UINT16, "uint16", uint16_t);
PRIM(parley_type_uint32, PARLEY_KIND_UINT32, "uint32", uint32_t);
PRIM(parley_type_uint64, PARLEY_KIND_UINT64, "uint64", uint64_t);
PRIM(parley_type_bool, PARLEY_KIND_BOOL, "bool", bool);
PRIM(parley_type_float, PARLEY_KIND_FLOAT, "float", float);
PRIM(parley_type_double, PARLEY_KIND_DOUBLE, "double", double);
PRIM(parley_type_string, PARLEY_KIND_STRING, "string", char *);
PRIM(parley_type_bytes, PARLEY_KIND_BYTES, "bytes", parley_bytes);
PRIM(parley_type_fd, PARLEY_KIND_FD, "fd", int);
