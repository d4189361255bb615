/* SPDX-License-Identifier: MIT */
/* Internal: the description of a protocol (what method 0 replies), as a
 * Parley value.  Its C form and descriptors; doc/wire.md, "Introspection",
 * is the specification. */
#ifndef PARLEY_LIB_DESCRIBE_H
#define PARLEY_LIB_DESCRIBE_H

#include <stddef.h>
#include <stdint.h>
#include <talloc.h>

#include "parley/introspect.h"

/* A type index meaning "none" (the reply of a oneway method, a void arm). */
#define PARLEY__DESC_NONE UINT32_MAX
/* Type flag in a description: the type is one of the protocol's named types. */
#define PARLEY__DESC_NAMED 0x100u

typedef struct parley__desc_field {
    char *name;
    uint32_t type;
    uint32_t flags;           /* PARLEY_FIELD_* */
} parley__desc_field;

typedef struct parley__desc_value {
    char *name;
    int32_t value;
} parley__desc_value;

typedef struct parley__desc_arm {
    int64_t value;
    char *name;               /* optional: NULL for a void arm */
    uint32_t type;            /* PARLEY__DESC_NONE for a void arm */
    uint32_t flags;
} parley__desc_arm;

typedef struct parley__desc_type {
    uint32_t kind;            /* parley_kind */
    char *name;
    uint32_t flags;           /* PARLEY_TYPE_*, PARLEY__DESC_NAMED */
    uint32_t bound;
    uint32_t elem;
    size_t n_fields;
    parley__desc_field *fields;
    size_t n_values;
    parley__desc_value *values;
    uint32_t discriminator;
    char *discriminator_name;
    size_t n_arms;
    parley__desc_arm *arms;
    parley__desc_arm *default_arm;    /* optional */
} parley__desc_type;

typedef struct parley__desc_method {
    uint32_t id;
    char *name;
    char *interface;
    uint32_t flags;           /* PARLEY_METHOD_* */
    uint32_t request;
    uint32_t reply;           /* PARLEY__DESC_NONE when oneway */
    uint64_t fingerprint;
} parley__desc_method;

typedef struct parley__description {
    uint32_t format;          /* PARLEY_DESCRIPTION_FORMAT */
    char *name;
    uint32_t version;
    parley_limits limits;
    size_t n_interfaces;
    char **interfaces;
    size_t n_types;
    parley__desc_type *types;
    size_t n_methods;
    parley__desc_method *methods;
} parley__description;

/* The request of method 0: an empty struct. */
typedef struct parley__introspect_request { uint8_t unused; } parley__introspect_request;

/* The descriptor of parley__description (the reply of method 0). */
extern const parley_type parley__description_type;
/* The descriptor of the (empty) request of method 0. */
extern const parley_type parley__introspect_request_type;

/* Build the protocol a decoded description describes (untrusted input).  On
 * success the protocol takes d over (talloc_steal: its strings are the names);
 * on failure d is the caller's still. */
parley_status parley__protocol_from_desc(TALLOC_CTX *mem_ctx, parley__description *d,
                                         const parley_protocol **ret_protocol);

#endif
