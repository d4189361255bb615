/* SPDX-License-Identifier: MIT */
/* The description of a protocol (introspection): its descriptors, encoding
 * one from a protocol, and building a protocol from one.  doc/wire.md,
 * "Introspection", is the specification. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <talloc.h>

#include "parley/data.h"
#include "parley/introspect.h"
#include "describe.h"
#include "status.h"
#include "type.h"

/* Bounds of the description: names, tables. */
#define NAME_MAX_LEN 1024u
#define TABLE_MAX 65535u
/* Limits on what a description may make us allocate per value. */
#define ARRAY_MAX 65536u
#define TYPE_SIZE_MAX (64u << 20)

/* ---- the description's own descriptors ------------------------------------ */

static const parley_type name_type = PARLEY_STRING_TYPE("name", NAME_MAX_LEN);
static const parley_type opt_name_type = PARLEY_OPTIONAL_TYPE("optional name", name_type);

static const parley_field field_fields[] = {
    PARLEY_FIELD(parley__desc_field, name, name_type),
    PARLEY_FIELD(parley__desc_field, type, parley_type_uint32),
    PARLEY_FIELD(parley__desc_field, flags, parley_type_uint32),
};
static const parley_type field_type = PARLEY_STRUCT_TYPE(parley__desc_field, field_fields);
static const parley_type fields_type = PARLEY_SEQUENCE_TYPE("fields", field_type, TABLE_MAX);

static const parley_field value_fields[] = {
    PARLEY_FIELD(parley__desc_value, name, name_type),
    PARLEY_FIELD(parley__desc_value, value, parley_type_int32),
};
static const parley_type value_type = PARLEY_STRUCT_TYPE(parley__desc_value, value_fields);
static const parley_type values_type = PARLEY_SEQUENCE_TYPE("values", value_type, TABLE_MAX);

static const parley_field arm_fields[] = {
    PARLEY_FIELD(parley__desc_arm, value, parley_type_int64),
    PARLEY_FIELD(parley__desc_arm, name, opt_name_type),
    PARLEY_FIELD(parley__desc_arm, type, parley_type_uint32),
    PARLEY_FIELD(parley__desc_arm, flags, parley_type_uint32),
};
static const parley_type arm_type = PARLEY_STRUCT_TYPE(parley__desc_arm, arm_fields);
static const parley_type arms_type = PARLEY_SEQUENCE_TYPE("arms", arm_type, TABLE_MAX);
static const parley_type opt_arm_type = PARLEY_OPTIONAL_TYPE("optional arm", arm_type);

static const parley_field dtype_fields[] = {
    PARLEY_FIELD(parley__desc_type, kind, parley_type_uint32),
    PARLEY_FIELD(parley__desc_type, name, name_type),
    PARLEY_FIELD(parley__desc_type, flags, parley_type_uint32),
    PARLEY_FIELD(parley__desc_type, bound, parley_type_uint32),
    PARLEY_FIELD(parley__desc_type, elem, parley_type_uint32),
    PARLEY_SEQ_FIELD(parley__desc_type, fields, fields_type),
    PARLEY_SEQ_FIELD(parley__desc_type, values, values_type),
    PARLEY_FIELD(parley__desc_type, discriminator, parley_type_uint32),
    PARLEY_FIELD(parley__desc_type, discriminator_name, name_type),
    PARLEY_SEQ_FIELD(parley__desc_type, arms, arms_type),
    PARLEY_FIELD(parley__desc_type, default_arm, opt_arm_type),
};
static const parley_type dtype_type = PARLEY_STRUCT_TYPE(parley__desc_type, dtype_fields);
static const parley_type types_type = PARLEY_SEQUENCE_TYPE("types", dtype_type, TABLE_MAX);

static const parley_field method_fields[] = {
    PARLEY_FIELD(parley__desc_method, id, parley_type_uint32),
    PARLEY_FIELD(parley__desc_method, name, name_type),
    PARLEY_FIELD(parley__desc_method, interface, name_type),
    PARLEY_FIELD(parley__desc_method, flags, parley_type_uint32),
    PARLEY_FIELD(parley__desc_method, request, parley_type_uint32),
    PARLEY_FIELD(parley__desc_method, reply, parley_type_uint32),
    PARLEY_FIELD(parley__desc_method, fingerprint, parley_type_uint64),
};
static const parley_type method_type = PARLEY_STRUCT_TYPE(parley__desc_method, method_fields);
static const parley_type methods_type = PARLEY_SEQUENCE_TYPE("methods", method_type, TABLE_MAX);

static const parley_field limits_fields[] = {
    PARLEY_FIELD(parley_limits, max_message, parley_type_uint32),
    PARLEY_FIELD(parley_limits, max_fds, parley_type_uint32),
    PARLEY_FIELD(parley_limits, max_outstanding, parley_type_uint32),
    PARLEY_FIELD(parley_limits, max_handles, parley_type_uint32),
};
static const parley_type limits_type = PARLEY_STRUCT_TYPE(parley_limits, limits_fields);
static const parley_type interfaces_type = PARLEY_SEQUENCE_TYPE("interfaces", name_type,
                                                                TABLE_MAX);

static const parley_field description_fields[] = {
    PARLEY_FIELD(parley__description, format, parley_type_uint32),
    PARLEY_FIELD(parley__description, name, name_type),
    PARLEY_FIELD(parley__description, version, parley_type_uint32),
    PARLEY_FIELD(parley__description, limits, limits_type),
    PARLEY_SEQ_FIELD(parley__description, interfaces, interfaces_type),
    PARLEY_SEQ_FIELD(parley__description, types, types_type),
    PARLEY_SEQ_FIELD(parley__description, methods, methods_type),
};
const parley_type parley__description_type =
    PARLEY_STRUCT_TYPE(parley__description, description_fields);

const parley_type parley__introspect_request_type = {
    .kind = PARLEY_KIND_STRUCT, .name = "parley_introspect_request",
    .size = sizeof(parley__introspect_request),
};

/* ---- protocol -> description ---------------------------------------------- */

struct describer {
    TALLOC_CTX *mem;
    const parley_type **seen;          /* index -> descriptor */
    size_t n;
    parley__desc_type *types;          /* filled after the walk */
    parley_status st;
};

/* Give t an index in the table when it has none, then what it refers to. */
static void add_type(struct describer *w, const parley_type *t)
{
    const parley_type **seen;

    if (t == NULL || w->st != PARLEY_OK)
        return;
    for (size_t i = 0; i < w->n; i++)
        if (w->seen[i] == t)
            return;
    if (w->n >= TABLE_MAX) {
        w->st = parley__error(PARLEY_ERR_OVERFLOW, "describe: more than %u types", TABLE_MAX);
        return;
    }
    seen = talloc_realloc(w->mem, w->seen, const parley_type *, w->n + 1);
    if (seen == NULL) {
        w->st = parley__error(PARLEY_ERR_NOMEM, "describe: out of memory");
        return;
    }
    w->seen = seen;
    w->seen[w->n++] = t;
    add_type(w, t->elem);
    add_type(w, t->discriminator);
    for (size_t i = 0; i < t->n_fields; i++)
        add_type(w, t->fields[i].type);
    for (size_t i = 0; i < t->n_arms; i++)
        add_type(w, t->arms[i].type);
    if (t->default_arm)
        add_type(w, t->default_arm->type);
}

static uint32_t lookup(struct describer *w, const parley_type *t)
{
    if (t == NULL)
        return PARLEY__DESC_NONE;
    for (size_t i = 0; i < w->n; i++)
        if (w->seen[i] == t)
            return (uint32_t)i;
    return PARLEY__DESC_NONE;
}

static char *dup_name(struct describer *w, TALLOC_CTX *parent, const char *s)
{
    char *r = talloc_strdup(parent, s ? s : "");
    if (r == NULL)
        w->st = parley__error(PARLEY_ERR_NOMEM, "describe: out of memory");
    return r;
}

static void fill_arm(struct describer *w, TALLOC_CTX *parent, parley__desc_arm *d,
                     const parley_arm *a)
{
    d->value = a->value;
    d->name = a->type ? dup_name(w, parent, a->name) : NULL;
    d->type = lookup(w, a->type);
    d->flags = a->flags;
}

static void fill_type(struct describer *w, parley__desc_type *d, const parley_type *t,
                      bool named)
{
    d->kind = (uint32_t)t->kind;
    d->name = dup_name(w, w->types, t->name);
    d->flags = (t->flags & PARLEY_TYPE_FLAGS) | (named ? PARLEY__DESC_NAMED : 0);
    d->bound = t->bound;
    d->elem = lookup(w, t->elem);
    d->discriminator = lookup(w, t->discriminator);
    d->discriminator_name = dup_name(w, w->types, t->discriminator_name);
    if (t->kind == PARLEY_KIND_STRUCT && t->n_fields > 0) {
        d->fields = talloc_zero_array(w->types, parley__desc_field, t->n_fields);
        if (d->fields == NULL) {
            w->st = parley__error(PARLEY_ERR_NOMEM, "describe: out of memory");
            return;
        }
        d->n_fields = t->n_fields;
        for (size_t i = 0; i < t->n_fields; i++) {
            d->fields[i].name = dup_name(w, d->fields, t->fields[i].name);
            d->fields[i].type = lookup(w, t->fields[i].type);
            d->fields[i].flags = t->fields[i].flags;
        }
    }
    if (t->kind == PARLEY_KIND_ENUM && t->n_values > 0) {
        d->values = talloc_zero_array(w->types, parley__desc_value, t->n_values);
        if (d->values == NULL) {
            w->st = parley__error(PARLEY_ERR_NOMEM, "describe: out of memory");
            return;
        }
        d->n_values = t->n_values;
        for (size_t i = 0; i < t->n_values; i++) {
            d->values[i].name = dup_name(w, d->values, t->values[i].name);
            d->values[i].value = t->values[i].value;
        }
    }
    if (t->kind == PARLEY_KIND_UNION) {
        if (t->n_arms > 0) {
            d->arms = talloc_zero_array(w->types, parley__desc_arm, t->n_arms);
            if (d->arms == NULL) {
                w->st = parley__error(PARLEY_ERR_NOMEM, "describe: out of memory");
                return;
            }
            d->n_arms = t->n_arms;
            for (size_t i = 0; i < t->n_arms; i++)
                fill_arm(w, d->arms, &d->arms[i], &t->arms[i]);
        }
        if (t->default_arm) {
            d->default_arm = talloc_zero(w->types, parley__desc_arm);
            if (d->default_arm == NULL) {
                w->st = parley__error(PARLEY_ERR_NOMEM, "describe: out of memory");
                return;
            }
            fill_arm(w, d->default_arm, d->default_arm, t->default_arm);
        }
    }
}

PARLEY_PUBLIC parley_status parley_protocol_describe(TALLOC_CTX *mem_ctx,
                                                     const parley_protocol *protocol,
                                                     const parley_limits *limits,
                                                     uint8_t **ret_bytes, size_t *ret_len)
{
    TALLOC_CTX *tmp;
    struct describer w = { 0 };
    parley__description *d;
    parley_status st;

    if (protocol == NULL || ret_bytes == NULL || ret_len == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_protocol_describe needs a protocol, ret_bytes and ret_len");
    st = parley_protocol_check(protocol);
    if (st != PARLEY_OK)
        return parley__error_prefix(st, "describe");
    if (protocol->n_methods > TABLE_MAX || protocol->n_interfaces > TABLE_MAX)
        return parley__error(PARLEY_ERR_OVERFLOW, "describe: protocol %s has too many methods",
                             protocol->name);
    tmp = talloc_new(NULL);
    if (tmp == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "describe: out of memory");
    w.mem = tmp;
    w.st = PARLEY_OK;
    for (size_t i = 0; i < protocol->n_types; i++)
        add_type(&w, protocol->types[i]);
    for (size_t i = 0; i < protocol->n_methods; i++) {
        add_type(&w, protocol->methods[i].request);
        add_type(&w, protocol->methods[i].reply);
    }
    st = w.st;
    if (st != PARLEY_OK)
        goto done;
    d = talloc_zero(tmp, parley__description);
    if (d == NULL)
        goto nomem;
    d->format = PARLEY_DESCRIPTION_FORMAT;
    d->name = talloc_strdup(d, protocol->name);
    d->version = protocol->version;
    if (limits)
        d->limits = *limits;
    d->n_interfaces = protocol->n_interfaces;
    d->interfaces = talloc_zero_array(d, char *, protocol->n_interfaces + 1);
    d->n_types = w.n;
    d->types = w.types = talloc_zero_array(d, parley__desc_type, w.n + 1);
    d->n_methods = protocol->n_methods;
    d->methods = talloc_zero_array(d, parley__desc_method, protocol->n_methods + 1);
    if (d->name == NULL || d->interfaces == NULL || d->types == NULL || d->methods == NULL)
        goto nomem;
    for (size_t i = 0; i < protocol->n_interfaces; i++)
        d->interfaces[i] = dup_name(&w, d->interfaces, protocol->interfaces[i]);
    for (size_t i = 0; i < w.n; i++) {
        bool named = false;

        for (size_t j = 0; j < protocol->n_types && !named; j++)
            named = protocol->types[j] == w.seen[i];
        fill_type(&w, &d->types[i], w.seen[i], named);
    }
    for (size_t i = 0; i < protocol->n_methods; i++) {
        const parley_method *m = &protocol->methods[i];
        parley__desc_method *dm = &d->methods[i];

        dm->id = m->id;
        dm->name = dup_name(&w, d->methods, m->name);
        dm->interface = dup_name(&w, d->methods, m->interface);
        dm->flags = m->flags;
        dm->request = lookup(&w, m->request);
        dm->reply = lookup(&w, m->reply);
        dm->fingerprint = m->fingerprint;
    }
    st = w.st;
    if (st != PARLEY_OK)
        goto done;
    st = parley_data_encode(mem_ctx, &parley__description_type, d, NULL, ret_bytes, ret_len);
    if (st != PARLEY_OK)
        parley__error_prefix(st, "describe protocol %s", protocol->name);
    goto done;
nomem:
    st = parley__error(PARLEY_ERR_NOMEM, "describe: out of memory");
done:
    talloc_free(tmp);
    return st;
}

/* ---- description -> protocol ---------------------------------------------- */

/* Layout states of a type being built. */
enum { LAYOUT_NONE, LAYOUT_BUSY, LAYOUT_DONE };

struct builder {
    const parley__description *d;
    parley_type *types;                /* built descriptors, by index */
    unsigned char *state;
    size_t *align;
    unsigned depth;
};

static parley_status bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static parley_status bad(const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return parley__error(PARLEY_ERR_MALFORMED, "protocol description: %s", msg);
}

static size_t round_up(size_t n, size_t a)
{
    return (n + a - 1) / a * a;
}

static parley_status layout(struct builder *b, uint32_t i);

/* Check a reference to another type and lay it out when its size is needed. */
static parley_status ref(struct builder *b, uint32_t from, uint32_t to, const char *what,
                         bool need_size)
{
    if (to >= b->d->n_types)
        return bad("type %u (%s): %s refers to type %u of %zu", from, b->d->types[from].name,
                   what, to, b->d->n_types);
    return need_size ? layout(b, to) : PARLEY_OK;
}

/* Place a member of type idx: its offset after *size, growing *size and *al. */
static size_t place(struct builder *b, uint32_t idx, size_t *size, size_t *al)
{
    size_t a = b->align[idx];
    size_t off = round_up(*size, a);

    *size = off + b->types[idx].size;
    if (a > *al)
        *al = a;
    return off;
}

static parley_status layout_struct(struct builder *b, uint32_t i)
{
    const parley__desc_type *dt = &b->d->types[i];
    parley_type *t = &b->types[i];
    parley_field *fields = NULL;
    size_t size = 0, al = 1;
    parley_status st;

    if (dt->n_fields > 0) {
        fields = talloc_zero_array(b->types, parley_field, dt->n_fields);
        if (fields == NULL)
            return parley__error(PARLEY_ERR_NOMEM, "protocol description: out of memory");
    }
    for (size_t f = 0; f < dt->n_fields; f++) {
        st = ref(b, i, dt->fields[f].type, "a field", true);
        if (st != PARLEY_OK)
            return st;
        fields[f].name = dt->fields[f].name;
        fields[f].type = &b->types[dt->fields[f].type];
        fields[f].flags = dt->fields[f].flags & PARLEY_FIELD_SENSITIVE;
        fields[f].offset = place(b, dt->fields[f].type, &size, &al);
        if (size > TYPE_SIZE_MAX)
            return bad("type %u (%s) is larger than %u bytes", i, dt->name, TYPE_SIZE_MAX);
    }
    t->fields = fields;
    t->n_fields = dt->n_fields;
    t->size = size == 0 ? 1 : round_up(size, al);   /* an empty struct has one byte */
    b->align[i] = al;
    return PARLEY_OK;
}

static parley_status build_arm(struct builder *b, uint32_t i, const parley__desc_arm *da,
                               parley_arm *a, size_t *max_size, size_t *max_al)
{
    parley_status st;

    a->value = da->value;
    a->flags = da->flags & PARLEY_FIELD_SENSITIVE;
    if (da->type == PARLEY__DESC_NONE)
        return PARLEY_OK;     /* void */
    st = ref(b, i, da->type, "an arm", true);
    if (st != PARLEY_OK)
        return st;
    if (da->name == NULL)
        return bad("type %u (%s): an arm with a type has no name", i, b->d->types[i].name);
    a->name = da->name;
    a->type = &b->types[da->type];
    if (a->type->size > *max_size)
        *max_size = a->type->size;
    if (b->align[da->type] > *max_al)
        *max_al = b->align[da->type];
    return PARLEY_OK;
}

static parley_status layout_union(struct builder *b, uint32_t i)
{
    const parley__desc_type *dt = &b->d->types[i];
    parley_type *t = &b->types[i];
    parley_arm *arms = NULL, *def = NULL;
    size_t max_size = 0, max_al = 1, u_off, dal;
    parley_status st;

    st = ref(b, i, dt->discriminator, "the discriminator", true);
    if (st != PARLEY_OK)
        return st;
    if (dt->n_arms > 0) {
        arms = talloc_zero_array(b->types, parley_arm, dt->n_arms);
        if (arms == NULL)
            return parley__error(PARLEY_ERR_NOMEM, "protocol description: out of memory");
    }
    if (dt->default_arm) {
        def = talloc_zero(b->types, parley_arm);
        if (def == NULL)
            return parley__error(PARLEY_ERR_NOMEM, "protocol description: out of memory");
    }
    for (size_t a = 0; a < dt->n_arms; a++) {
        st = build_arm(b, i, &dt->arms[a], &arms[a], &max_size, &max_al);
        if (st != PARLEY_OK)
            return st;
    }
    if (def) {
        st = build_arm(b, i, dt->default_arm, def, &max_size, &max_al);
        if (st != PARLEY_OK)
            return st;
    }
    /* struct { D d; union { arms } u; } */
    dal = b->align[dt->discriminator];
    u_off = round_up(b->types[dt->discriminator].size, max_al);
    for (size_t a = 0; a < dt->n_arms; a++)
        if (arms[a].type)
            arms[a].offset = u_off;
    if (def && def->type)
        def->offset = u_off;
    if (max_size > TYPE_SIZE_MAX)
        return bad("type %u (%s) is larger than %u bytes", i, dt->name, TYPE_SIZE_MAX);
    if (max_al < dal)
        max_al = dal;
    t->discriminator = &b->types[dt->discriminator];
    t->discriminator_offset = 0;
    t->discriminator_name = dt->discriminator_name;
    t->arms = arms;
    t->n_arms = dt->n_arms;
    t->default_arm = def;
    t->size = round_up(u_off + max_size, max_al);
    b->align[i] = max_al;
    return PARLEY_OK;
}

static parley_status layout_body(struct builder *b, uint32_t i)
{
    const parley__desc_type *dt = &b->d->types[i];
    parley_type *t = &b->types[i];
    parley_status st;

    switch (t->kind) {
    case PARLEY_KIND_INT8: case PARLEY_KIND_UINT8: case PARLEY_KIND_BOOL:
        t->size = 1; b->align[i] = 1; return PARLEY_OK;
    case PARLEY_KIND_INT16: case PARLEY_KIND_UINT16:
        t->size = 2; b->align[i] = 2; return PARLEY_OK;
    case PARLEY_KIND_INT32: case PARLEY_KIND_UINT32: case PARLEY_KIND_FLOAT:
    case PARLEY_KIND_ENUM: case PARLEY_KIND_FD:
        t->size = 4; b->align[i] = 4; return PARLEY_OK;
    case PARLEY_KIND_INT64: case PARLEY_KIND_UINT64: case PARLEY_KIND_DOUBLE:
        t->size = 8; b->align[i] = _Alignof(int64_t); return PARLEY_OK;
    case PARLEY_KIND_STRING: case PARLEY_KIND_OPTIONAL: case PARLEY_KIND_HANDLE:
        t->size = sizeof(void *); b->align[i] = _Alignof(void *);
        if (t->kind == PARLEY_KIND_OPTIONAL)
            return ref(b, i, dt->elem, "the element", false);
        return PARLEY_OK;
    case PARLEY_KIND_BYTES: case PARLEY_KIND_SEQUENCE:
        t->size = sizeof(parley_seq); b->align[i] = _Alignof(parley_seq);
        if (t->kind == PARLEY_KIND_SEQUENCE)
            return ref(b, i, dt->elem, "the element", false);
        return PARLEY_OK;
    case PARLEY_KIND_ARRAY:
        if (dt->bound == 0 || dt->bound > ARRAY_MAX)
            return bad("type %u (%s): a fixed array of %u elements (1 to %u allowed)", i,
                       dt->name, dt->bound, ARRAY_MAX);
        st = ref(b, i, dt->elem, "the element", true);
        if (st != PARLEY_OK)
            return st;
        if (b->types[dt->elem].size > TYPE_SIZE_MAX / dt->bound)
            return bad("type %u (%s) is larger than %u bytes", i, dt->name, TYPE_SIZE_MAX);
        t->size = b->types[dt->elem].size * dt->bound;
        b->align[i] = b->align[dt->elem];
        return PARLEY_OK;
    case PARLEY_KIND_STRUCT:
        return layout_struct(b, i);
    case PARLEY_KIND_UNION:
        return layout_union(b, i);
    }
    return bad("type %u (%s) has the unknown kind %u", i, dt->name, dt->kind);
}

/* Lay out type i (size, alignment, members), its members first. */
static parley_status layout(struct builder *b, uint32_t i)
{
    parley_status st;

    if (b->state[i] == LAYOUT_DONE)
        return PARLEY_OK;
    if (b->state[i] == LAYOUT_BUSY)
        return bad("type %u (%s) contains itself (only an optional or a sequence may recurse)",
                   i, b->d->types[i].name);
    if (b->depth >= PARLEY__TYPE_CHECK_DEPTH)
        return bad("types nested deeper than %d", PARLEY__TYPE_CHECK_DEPTH);
    b->state[i] = LAYOUT_BUSY;
    b->depth++;
    st = layout_body(b, i);
    b->depth--;
    if (st == PARLEY_OK)
        b->state[i] = LAYOUT_DONE;
    return st;
}

/* The parts of type i that need no layout: kind, name, flags, bound, elem, values. */
static parley_status build_head(struct builder *b, uint32_t i)
{
    const parley__desc_type *dt = &b->d->types[i];
    parley_type *t = &b->types[i];

    if (dt->kind < PARLEY_KIND_INT8 || dt->kind > PARLEY_KIND_FD)
        return bad("type %u (%s) has the unknown kind %u", i, dt->name, dt->kind);
    t->kind = (parley_kind)dt->kind;
    t->name = dt->name;
    /* built at run time: never cached by address (lib/codec/program.c) */
    t->flags = (dt->flags & PARLEY_TYPE_FLAGS) | PARLEY_TYPE_TRANSIENT;
    if ((dt->flags & PARLEY_TYPE_FLAGS) != 0 && t->kind != PARLEY_KIND_ENUM)
        return bad("type %u (%s): only an enum may be flags", i, dt->name);
    switch (t->kind) {
    case PARLEY_KIND_STRING: case PARLEY_KIND_BYTES: case PARLEY_KIND_SEQUENCE:
    case PARLEY_KIND_ARRAY:
        t->bound = dt->bound;
        break;
    default:
        break;
    }
    if (t->kind == PARLEY_KIND_ARRAY || t->kind == PARLEY_KIND_SEQUENCE ||
        t->kind == PARLEY_KIND_OPTIONAL) {
        if (dt->elem >= b->d->n_types)
            return bad("type %u (%s): the element refers to type %u of %zu", i, dt->name,
                       dt->elem, b->d->n_types);
        t->elem = &b->types[dt->elem];
    }
    if (t->kind == PARLEY_KIND_ENUM && dt->n_values > 0) {
        parley_enum_value *v = talloc_zero_array(b->types, parley_enum_value, dt->n_values);

        if (v == NULL)
            return parley__error(PARLEY_ERR_NOMEM, "protocol description: out of memory");
        for (size_t k = 0; k < dt->n_values; k++) {
            v[k].name = dt->values[k].name;
            v[k].value = dt->values[k].value;
        }
        t->values = v;
        t->n_values = dt->n_values;
    }
    if (t->kind == PARLEY_KIND_UNION && dt->discriminator >= b->d->n_types)
        return bad("type %u (%s): the discriminator refers to type %u of %zu", i, dt->name,
                   dt->discriminator, b->d->n_types);
    return PARLEY_OK;
}

/* Refuse a cycle of optionals, sequences and arrays with no struct or union
 * in it (an optional of itself): no finite wire shape has it, and the
 * fingerprint walk would not end. */
static parley_status check_pointer_cycles(struct builder *b)
{
    const parley__description *d = b->d;

    for (uint32_t i = 0; i < d->n_types; i++) {
        uint32_t t = i;

        /* follow the element chain, marking it busy, until a type that is
         * not a container, or one already cleared */
        while (b->state[t] == LAYOUT_NONE && (d->types[t].kind == PARLEY_KIND_OPTIONAL ||
                                              d->types[t].kind == PARLEY_KIND_SEQUENCE ||
                                              d->types[t].kind == PARLEY_KIND_ARRAY)) {
            b->state[t] = LAYOUT_BUSY;
            t = d->types[t].elem;      /* in range: build_head() checked it */
        }
        if (b->state[t] == LAYOUT_BUSY)
            return bad("type %u (%s) contains itself with no struct or union between",
                       t, d->types[t].name);
        for (t = i; b->state[t] == LAYOUT_BUSY; t = d->types[t].elem)
            b->state[t] = LAYOUT_DONE;
    }
    memset(b->state, LAYOUT_NONE, d->n_types);
    return PARLEY_OK;
}

static parley_status check_index(const parley__description *d, uint32_t idx, const char *what,
                                 const char *method, bool none_ok)
{
    if (idx == PARLEY__DESC_NONE && none_ok)
        return PARLEY_OK;
    if (idx >= d->n_types)
        return bad("method %s: the %s refers to type %u of %zu", method, what, idx, d->n_types);
    if (d->types[idx].kind != PARLEY_KIND_STRUCT)
        return bad("method %s: the %s is not a struct", method, what);
    return PARLEY_OK;
}

parley_status parley__protocol_from_desc(TALLOC_CTX *mem_ctx, parley__description *d,
                                         const parley_protocol **ret_protocol)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    parley_protocol *p;
    parley_method *methods;
    const parley_type **named;
    const char **ifaces;
    struct builder b = { .d = d };
    size_t n_named = 0;
    parley_status st;

    if (tmp == NULL)
        return parley__error(PARLEY_ERR_NOMEM, "protocol description: out of memory");
    if (d->format != PARLEY_DESCRIPTION_FORMAT) {
        st = parley__error(PARLEY_ERR_UNSUPPORTED,
                           "protocol description of format %u; this library reads format %u",
                           d->format, PARLEY_DESCRIPTION_FORMAT);
        goto done;
    }
    p = talloc_zero(tmp, parley_protocol);
    if (p == NULL)
        goto nomem;
    p->abi_version = PARLEY_ABI_VERSION;
    b.types = talloc_zero_array(p, parley_type, d->n_types + 1);
    b.state = talloc_zero_array(tmp, unsigned char, d->n_types + 1);
    b.align = talloc_zero_array(tmp, size_t, d->n_types + 1);
    methods = talloc_zero_array(p, parley_method, d->n_methods + 1);
    named = talloc_zero_array(p, const parley_type *, d->n_types + 1);
    ifaces = talloc_zero_array(p, const char *, d->n_interfaces + 1);
    if (b.types == NULL || b.state == NULL || b.align == NULL || methods == NULL ||
        named == NULL || ifaces == NULL)
        goto nomem;
    if (d->name[0] == '\0') {
        st = bad("the protocol has no name");
        goto done;
    }
    for (uint32_t i = 0; i < d->n_types; i++) {
        st = build_head(&b, i);
        if (st != PARLEY_OK)
            goto done;
    }
    st = check_pointer_cycles(&b);
    if (st != PARLEY_OK)
        goto done;
    for (uint32_t i = 0; i < d->n_types; i++) {
        st = layout(&b, i);
        if (st != PARLEY_OK)
            goto done;
        if (d->types[i].flags & PARLEY__DESC_NAMED)
            named[n_named++] = &b.types[i];
    }
    /* the named types, requests and replies pass parley_type_check() in
     * parley_protocol_check() below; a type nothing uses is not checked */
    for (size_t i = 0; i < d->n_methods; i++) {
        const parley__desc_method *dm = &d->methods[i];
        bool oneway = (dm->flags & PARLEY_METHOD_ONEWAY) != 0;

        st = check_index(d, dm->request, "request", dm->name, false);
        if (st == PARLEY_OK)
            st = check_index(d, dm->reply, "reply", dm->name, oneway);
        if (st != PARLEY_OK)
            goto done;
        methods[i].id = dm->id;
        methods[i].name = dm->name;
        methods[i].interface = dm->interface;
        methods[i].request = &b.types[dm->request];
        methods[i].reply = dm->reply == PARLEY__DESC_NONE ? NULL : &b.types[dm->reply];
        methods[i].fingerprint = dm->fingerprint;
        methods[i].flags = dm->flags & PARLEY_METHOD_ONEWAY;
    }
    for (size_t i = 0; i < d->n_interfaces; i++)
        ifaces[i] = d->interfaces[i];
    p->name = d->name;
    p->version = d->version;
    p->methods = methods;
    p->n_methods = d->n_methods;
    p->interfaces = ifaces;
    p->n_interfaces = d->n_interfaces;
    p->types = named;
    p->n_types = n_named;
    st = parley_protocol_check(p);
    if (st != PARLEY_OK) {
        st = parley__error_prefix(PARLEY_ERR_MALFORMED, "protocol description");
        goto done;
    }
    /* The names are d's strings: the protocol takes d over. */
    (void)talloc_steal(p, d);
    *ret_protocol = talloc_steal(mem_ctx, p);
    goto done;
nomem:
    st = parley__error(PARLEY_ERR_NOMEM, "protocol description: out of memory");
done:
    talloc_free(tmp);
    return st;
}

PARLEY_PUBLIC parley_status parley_protocol_from_description(TALLOC_CTX *mem_ctx,
                                                             const void *bytes, size_t len,
                                                             const parley_protocol **ret_protocol,
                                                             parley_limits *ret_limits)
{
    const uint8_t *p = bytes;
    parley__description *d = NULL;
    parley_limits limits;
    parley_status st;
    uint32_t format;

    if (bytes == NULL || ret_protocol == NULL)
        return parley__error(PARLEY_ERR_INVALID_ARGUMENT,
                             "parley_protocol_from_description needs bytes and ret_protocol");
    if (len < 4)
        return bad("%zu bytes, too short for the format version", len);
    format = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    if (format != PARLEY_DESCRIPTION_FORMAT)
        return parley__error(PARLEY_ERR_UNSUPPORTED,
                             "protocol description of format %u; this library reads format %u",
                             format, PARLEY_DESCRIPTION_FORMAT);
    st = parley_data_decode(NULL, &parley__description_type, bytes, len, NULL, (void **)&d);
    if (st != PARLEY_OK)
        return parley__error_prefix(PARLEY_ERR_MALFORMED, "protocol description");
    limits = d->limits;
    st = parley__protocol_from_desc(mem_ctx, d, ret_protocol);
    if (st != PARLEY_OK)
        talloc_free(d);  /* on success the protocol owns it */
    else if (ret_limits)
        *ret_limits = limits;
    return st;
}
