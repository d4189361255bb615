/* SPDX-License-Identifier: MIT */
/* Descriptors compiled into flat programs, and the process-wide table of them. */
#include "config.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "program.h"

bool parley__prog_enabled = true;

/* Most ops one program holds (nested structs and small arrays inlined). */
#define PROG_MAX_OPS 64
/* Most union arms (over all unions) one program holds. */
#define PROG_MAX_ARMS 64
/* Most sequence plans one program holds. */
#define PROG_MAX_PLANS 4
/* Deepest nesting of struct/array descriptors inlined into one program. */
#define PROG_MAX_NEST 16
/* Programs being compiled on this thread's stack (sub-types are compiled
 * while their holder is: a type met again is assumed compilable). */
#define PROG_MAX_STACK 32

/*
 * Why not descriptors marked PARLEY_TYPE_TRANSIENT: the table is keyed by
 * address and never emptied, so a descriptor on the stack or the heap could
 * be freed and another one built at the same address, which would then run
 * the old program.  Descriptors in static storage (what parley-idl emits, and
 * every `static const parley_type`) keep their address and contents for the
 * life of the process; code that builds descriptors at run time marks them
 * transient (parley/type.h), and a program is never compiled for a transient
 * descriptor nor for a type that reaches one.  This needs no help from the
 * dynamic linker, so it holds in static links too.  (NULL, an absent arm or
 * default, is permanent.)
 */
static bool is_permanent(const parley_type *t)
{
    return t == NULL || !(t->flags & PARLEY_TYPE_TRANSIENT);
}

typedef struct builder {
    parley__prog_op ops[PROG_MAX_OPS];
    size_t n_ops;
    parley__plan plans[PROG_MAX_PLANS];
    size_t n_plans;
    const parley__prog *arms[PROG_MAX_ARMS];
    size_t n_arms;
    const parley_type *stack[PROG_MAX_STACK];
    size_t n_stack;
} builder;

static const parley__prog *prog_get(const parley_type *type, builder *holder);

static bool add_op(builder *b, parley__prog_code code, size_t off, size_t len,
                   const parley_type *t)
{
    if (b->n_ops == PROG_MAX_OPS || off > UINT32_MAX || len > UINT32_MAX)
        return false;
    b->ops[b->n_ops++] = (parley__prog_op){ code, (uint32_t)off, (uint32_t)len, t, NULL, NULL,
                                            NULL };
    return true;
}

/* A fixed-width copy, merged with the previous one when it continues it in
 * memory (the wire always continues it). */
static bool add_fixed(builder *b, size_t off, size_t len)
{
    parley__prog_op *last = b->n_ops > 0 ? &b->ops[b->n_ops - 1] : NULL;

    if (last != NULL && last->code == PARLEY__OP_FIXED && (size_t)last->off + last->len == off &&
        (size_t)last->len + len <= UINT32_MAX) {
        last->len += (uint32_t)len;
        return true;
    }
    return add_op(b, PARLEY__OP_FIXED, off, len, NULL);
}

/* Does the type (met as an element, pointee or arm) have a program?  Types on
 * the compile stack are taken to have one: if one of them fails, so does the
 * type that holds it, and a run that still meets a missing program falls back
 * (PARLEY__PROG_FALLBACK). */
static bool sub_ok(builder *b, const parley_type *t, const parley__prog **ret_sub)
{
    const parley__prog *sub;

    for (size_t i = 0; i < b->n_stack; i++)
        if (b->stack[i] == t)
            return true;
    sub = prog_get(t, b);
    if (ret_sub != NULL)
        *ret_sub = sub;
    return sub != NULL;
}

static bool emit(builder *b, const parley_type *t, size_t base, unsigned nest)
{
    if (nest > PROG_MAX_NEST || !is_permanent(t))
        return false;
    switch (t->kind) {
    case PARLEY_KIND_INT8: case PARLEY_KIND_UINT8: case PARLEY_KIND_INT16:
    case PARLEY_KIND_UINT16: case PARLEY_KIND_INT32: case PARLEY_KIND_UINT32:
    case PARLEY_KIND_INT64: case PARLEY_KIND_UINT64: case PARLEY_KIND_FLOAT:
    case PARLEY_KIND_DOUBLE:
        return t->size == parley__scalar_wire_size(t) && add_fixed(b, base, t->size);
    case PARLEY_KIND_BOOL:
        return add_op(b, PARLEY__OP_BOOL, base, 1, t);
    case PARLEY_KIND_ENUM:
        return add_op(b, PARLEY__OP_ENUM, base, 4, t);
    case PARLEY_KIND_STRING:
        return add_op(b, PARLEY__OP_STRING, base, 0, t);
    case PARLEY_KIND_BYTES:
        return add_op(b, PARLEY__OP_BYTES, base, 0, t);
    case PARLEY_KIND_STRUCT:
        for (size_t i = 0; i < t->n_fields; i++)
            if (!emit(b, t->fields[i].type, base + t->fields[i].offset, nest + 1))
                return false;
        return true;
    case PARLEY_KIND_ARRAY: {
        parley__plan plan;
        if (t->bound == 0 || !is_permanent(t->elem))
            return false;
        if (parley__plan_build(t->elem, &plan) && plan.identical)
            return add_fixed(b, base, plan.size * t->bound);
        if (t->bound > PROG_MAX_OPS)
            return false;
        for (size_t i = 0; i < t->bound; i++)
            if (!emit(b, t->elem, base + i * t->elem->size, nest + 1))
                return false;
        return true;
    }
    case PARLEY_KIND_SEQUENCE: {
        parley__plan plan;
        size_t min = parley__min_wire_size(t->elem);
        if (!is_permanent(t->elem) ||
            !add_op(b, PARLEY__OP_SEQ, base, min > UINT32_MAX ? UINT32_MAX : min, t))
            return false;
        if (parley__plan_build(t->elem, &plan) && parley__plan_prepare_decode(&plan)) {
            if (b->n_plans == PROG_MAX_PLANS)
                return false;
            b->plans[b->n_plans] = plan;
            /* an index until the program is laid out (see compile()) */
            b->ops[b->n_ops - 1].plan = (const parley__plan *)(uintptr_t)(b->n_plans + 1);
            b->n_plans++;
            return true;
        }
        return sub_ok(b, t->elem, &b->ops[b->n_ops - 1].sub);
    }
    case PARLEY_KIND_OPTIONAL:
        if (!is_permanent(t->elem))
            return false;
        if (t->elem->kind == PARLEY_KIND_STRING)
            return add_op(b, PARLEY__OP_OPT_STRING, base, 0, t->elem);
        if (parley__optional_is_inline(t->elem))
            return false;   /* an optional handle */
        return add_op(b, PARLEY__OP_OPT, base, 0, t) &&
               sub_ok(b, t->elem, &b->ops[b->n_ops - 1].sub);
    case PARLEY_KIND_UNION:
        if (!is_permanent(t->discriminator))
            return false;
        if (t->n_arms + 1 > PROG_MAX_ARMS - b->n_arms)
            return false;
        for (size_t i = 0; i <= t->n_arms; i++) {
            const parley_arm *arm = i < t->n_arms ? &t->arms[i] : t->default_arm;
            b->arms[b->n_arms + i] = NULL;
            if (arm != NULL && arm->type != NULL &&
                !sub_ok(b, arm->type, &b->arms[b->n_arms + i]))
                return false;
        }
        if (!add_op(b, PARLEY__OP_UNION, base, 0, t))
            return false;
        /* an index until the program is laid out (see compile()) */
        b->ops[b->n_ops - 1].arms = (const parley__prog *const *)(uintptr_t)(b->n_arms + 1);
        b->n_arms += t->n_arms + 1;
        return true;
    case PARLEY_KIND_HANDLE:
    case PARLEY_KIND_FD:
        return false;
    }
    return false;
}

/* Compile type into one malloc'd block: the program, then its plans. */
static parley__prog *compile(const parley_type *type, builder *b)
{
    parley__prog *pg;
    parley__plan *plans;
    const parley__prog **arms;
    size_t head, arms_at;

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    return NULL;    /* FIXED copies assume the wire's byte order */
#endif
    if (b->n_stack == PROG_MAX_STACK)
        return NULL;
    b->stack[b->n_stack++] = type;
    if (!emit(b, type, 0, 0) || b->n_ops == 0) {
        b->n_stack--;
        return NULL;
    }
    b->n_stack--;
    arms_at = sizeof(*pg) + b->n_ops * sizeof(pg->ops[0]);
    arms_at = (arms_at + _Alignof(void *) - 1) / _Alignof(void *) * _Alignof(void *);
    head = arms_at + b->n_arms * sizeof(b->arms[0]);
    head = (head + _Alignof(parley__plan) - 1) / _Alignof(parley__plan) * _Alignof(parley__plan);
    /* malloc, not talloc: the table is shared by every thread, and
     * NULL-parented talloc chunks are tracked in a context that is not. */
    pg = malloc(head + b->n_plans * sizeof(parley__plan));
    if (pg == NULL)
        return NULL;
    plans = (parley__plan *)((uint8_t *)pg + head);
    memcpy(plans, b->plans, b->n_plans * sizeof(parley__plan));
    arms = (const parley__prog **)((uint8_t *)pg + arms_at);
    memcpy(arms, b->arms, b->n_arms * sizeof(b->arms[0]));
    pg->type = type;
    pg->n_ops = b->n_ops;
    memcpy(pg->ops, b->ops, b->n_ops * sizeof(pg->ops[0]));
    for (size_t i = 0; i < pg->n_ops; i++) {
        if (pg->ops[i].plan != NULL)
            pg->ops[i].plan = &plans[(uintptr_t)pg->ops[i].plan - 1];
        if (pg->ops[i].arms != NULL)
            pg->ops[i].arms = &arms[(uintptr_t)pg->ops[i].arms - 1];
    }
    return pg;
}

/* ---- the table ------------------------------------------------------------------ */

/*
 * Open addressing over descriptor addresses.  A slot goes once from NULL to
 * an entry (compare-and-swap) and never changes again; an entry is immutable
 * once published (release/acquire).  Two threads compiling the same type at
 * once both compile; the loser frees its copy and uses the winner's.  A
 * type that cannot be compiled gets an entry with no program, so it is
 * tried once.  A full table (more types than slots) compiles nothing more.
 */
#define TABLE_SLOTS 4096u
#define TABLE_PROBES 64u

typedef struct entry {
    const parley_type *type;
    parley__prog *prog;     /* NULL: walk generically */
} entry;

static _Atomic(entry *) table[TABLE_SLOTS];

static size_t slot_of(const parley_type *type)
{
    uint64_t h = (uint64_t)(uintptr_t)type * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h >> 40) & (TABLE_SLOTS - 1);
}

static const parley__prog *prog_get(const parley_type *type, builder *holder)
{
    size_t s = slot_of(type);

    for (unsigned probe = 0; probe < TABLE_PROBES; probe++, s = (s + 1) & (TABLE_SLOTS - 1)) {
        entry *e = atomic_load_explicit(&table[s], memory_order_acquire);
        entry *mine;
        builder *b;

        if (e != NULL) {
            if (e->type == type)
                return e->prog;
            continue;
        }
        /* Not compiled yet: compile into a fresh builder that shares the
         * holder's stack of types being compiled. */
        b = malloc(sizeof(*b));
        mine = malloc(sizeof(*mine));
        if (b == NULL || mine == NULL) {
            free(b);
            free(mine);
            return NULL;
        }
        b->n_ops = 0;
        b->n_plans = 0;
        b->n_arms = 0;
        b->n_stack = 0;
        if (holder != NULL) {
            memcpy(b->stack, holder->stack, holder->n_stack * sizeof(b->stack[0]));
            b->n_stack = holder->n_stack;
        }
        mine->type = type;
        mine->prog = compile(type, b);
        free(b);
        for (; probe < TABLE_PROBES; probe++, s = (s + 1) & (TABLE_SLOTS - 1)) {
            entry *expected = NULL;
            if (atomic_compare_exchange_strong_explicit(&table[s], &expected, mine,
                                                        memory_order_acq_rel,
                                                        memory_order_acquire))
                return mine->prog;
            if (expected->type == type) {
                /* another thread published it first */
                free(mine->prog);
                free(mine);
                return expected->prog;
            }
        }
        free(mine->prog);
        free(mine);
        return NULL;
    }
    return NULL;
}

const parley__prog *parley__prog_get(const parley_type *type)
{
    if (!parley__prog_enabled)
        return NULL;
    return prog_get(type, NULL);
}
