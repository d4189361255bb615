/* SPDX-License-Identifier: MIT */
/* parley-idl: semantic checks.  Names are resolved, constants evaluated and
 * every rule of the language checked; each problem is a diagnostic and the
 * checks go on (a declaration with errors is marked `bad` so that checks
 * depending on it stay quiet instead of cascading). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <talloc.h>

#include "ast.h"

/* ---- the name table -------------------------------------------------------- */

static int cmp_decl(const void *a, const void *b)
{
    const idl_decl *x = *(const idl_decl *const *)a, *y = *(const idl_decl *const *)b;
    int c = strcmp(x->name, y->name);
    if (c != 0)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

idl_decl *idl_lookup(const idl_unit *u, const char *name)
{
    size_t lo = 0, hi = u->n_sorted;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, u->sorted[mid]->name);
        if (c == 0) {
            while (mid > 0 && strcmp(name, u->sorted[mid - 1]->name) == 0)
                mid--;
            return u->sorted[mid];
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static void build_table(idl_unit *u)
{
    size_t n = 0;
    unsigned seq = 0;

    u->sorted = talloc_array(u, idl_decl *, u->n_decls + 1);
    if (u->sorted == NULL) {
        idl_error_plain(u, "out of memory");
        return;
    }
    for (idl_decl *d = u->decls; d != NULL; d = d->unit_next) {
        d->seq = seq++;
        if (d->kind != IDL_INTERFACE)
            u->sorted[n++] = d;
    }
    u->n_sorted = n;
    qsort(u->sorted, n, sizeof(u->sorted[0]), cmp_decl);
    /* report in source order: every declaration that is not the first of its name */
    for (idl_decl *d = u->decls; d != NULL; d = d->unit_next) {
        idl_decl *first;
        if (d->kind == IDL_INTERFACE)
            continue;
        first = idl_lookup(u, d->name);
        if (first != d) {
            idl_error(u, d->loc, "duplicate name '%s'", d->name);
            idl_note(u, first->loc, "'%s' was first declared here as a %s", first->name,
                     idl_decl_kind_name(first->kind));
            d->bad = true;
        }
    }
}

/* ---- constant expressions -------------------------------------------------- */

enum { UNSEEN = 0, BUSY = 1, DONE = 2, FAILED = 3 };

/* Evaluate e.  enum_scope: an enum whose value names may be used (case
 * labels).  false when an error was reported (or an operand had one). */
static bool eval(idl_unit *u, const idl_expr *e, const idl_decl *enum_scope, int64_t *ret)
{
    int64_t a, b, r = 0;

    switch (e->kind) {
    case IDL_EXPR_INT:
        *ret = e->value;
        return true;
    case IDL_EXPR_REF: {
        idl_decl *d;
        if (enum_scope != NULL) {
            for (const idl_enumval *v = enum_scope->values; v != NULL; v = v->next) {
                if (strcmp(v->name, e->name) == 0) {
                    if (enum_scope->bad)
                        return false;
                    *ret = v->value;
                    return true;
                }
            }
        }
        d = idl_lookup(u, e->name);
        if (d == NULL) {
            if (enum_scope != NULL)
                idl_error(u, e->loc, "'%s' is not a value of enum '%s' nor a constant",
                          e->name, enum_scope->name);
            else
                idl_error(u, e->loc, "unknown constant '%s'", e->name);
            return false;
        }
        if (d->kind != IDL_CONST) {
            idl_error(u, e->loc, "'%s' is a %s, not a constant", e->name,
                      idl_decl_kind_name(d->kind));
            return false;
        }
        if (d->str != NULL) {
            idl_error(u, e->loc, "'%s' is a string constant, not an integer", e->name);
            return false;
        }
        if (d->state == UNSEEN || d->state == BUSY) {
            idl_error(u, e->loc, "constant '%s' is used before its definition", e->name);
            return false;
        }
        if (d->state == FAILED)
            return false;
        *ret = d->value;
        return true;
    }
    case IDL_EXPR_UNARY:
        if (!eval(u, e->a, enum_scope, &a))
            return false;
        if (e->op == '-') {
            if (a == INT64_MIN)
                goto overflow;
            r = -a;
        } else if (e->op == '~') {
            r = ~a;
        } else {
            r = a;
        }
        *ret = r;
        return true;
    case IDL_EXPR_BINARY:
        if (!eval(u, e->a, enum_scope, &a) || !eval(u, e->b, enum_scope, &b))
            return false;
        switch (e->op) {
        case '+': if (__builtin_add_overflow(a, b, &r)) goto overflow; break;
        case '-': if (__builtin_sub_overflow(a, b, &r)) goto overflow; break;
        case '*': if (__builtin_mul_overflow(a, b, &r)) goto overflow; break;
        case '/':
        case '%':
            if (b == 0) {
                idl_error(u, e->loc, "division by zero");
                return false;
            }
            if (a == INT64_MIN && b == -1)
                goto overflow;
            r = e->op == '/' ? a / b : a % b;
            break;
        case '&': r = a & b; break;
        case '|': r = a | b; break;
        case '^': r = a ^ b; break;
        case 'l':
        case 'r':
            if (b < 0 || b > 62 || a < 0) {
                idl_error(u, e->loc, "shift needs a non-negative value and a count 0..62");
                return false;
            }
            if (e->op == 'r')
                r = a >> b;
            else if (a > (INT64_MAX >> b))
                goto overflow;
            else
                r = a << b;
            break;
        default:
            r = 0;
        }
        *ret = r;
        return true;
    }
    return false;
overflow:
    idl_error(u, e->loc, "integer overflow in constant expression");
    return false;
}

static void eval_consts(idl_unit *u)
{
    for (idl_decl *d = u->decls; d != NULL; d = d->unit_next) {
        if (d->kind != IDL_CONST || d->bad || d->str != NULL)
            continue;
        d->state = BUSY;
        d->state = eval(u, d->expr, NULL, &d->value) ? DONE : FAILED;
    }
}

/* An expression that must be in [lo, hi]; false if reported. */
static bool eval_range(idl_unit *u, const idl_expr *e, const idl_decl *scope, int64_t lo,
                       int64_t hi, const char *what, int64_t *ret)
{
    int64_t v;

    if (!eval(u, e, scope, &v))
        return false;
    if (v < lo || v > hi) {
        if (lo == 1 && v <= 0)
            idl_error(u, e->loc, "%s must be positive (it is %lld)", what, (long long)v);
        else
            idl_error(u, e->loc, "%s %lld is out of range %lld..%lld", what, (long long)v,
                      (long long)lo, (long long)hi);
        return false;
    }
    *ret = v;
    return true;
}

/* ---- types ----------------------------------------------------------------- */

static bool resolve_type(idl_unit *u, idl_type *t)
{
    int64_t v;
    bool ok = true;

    if (t->base == IDL_BASE_NAMED) {
        idl_decl *d = idl_lookup(u, t->name);
        if (d == NULL) {
            static const char *const rpcl[][2] = {
                { "opaque", "'bytes<N>' (or 'uint8 x[N]')" }, { "int", "int32" },
                { "unsigned", "uint32" }, { "hyper", "int64" }, { "long", "int32" },
            };
            for (size_t i = 0; i < sizeof(rpcl) / sizeof(rpcl[0]); i++) {
                if (strcmp(t->name, rpcl[i][0]) == 0) {
                    idl_error(u, t->loc, "unknown type '%s' (ONC RPC language? Parley IDL "
                              "writes %s; 'parley-idl --xdr' reads .x files)", t->name,
                              rpcl[i][1]);
                    return false;
                }
            }
            idl_error(u, t->loc, "unknown type '%s'", t->name);
            return false;
        }
        if (d->kind == IDL_CONST) {
            idl_error(u, t->loc, "'%s' is a constant, not a type", t->name);
            return false;
        }
        t->target = d;
        return !d->bad;
    }
    if ((t->base == IDL_BASE_STRING || t->base == IDL_BASE_BYTES) && t->bound != NULL) {
        ok = eval_range(u, t->bound, NULL, 1, UINT32_MAX,
                        t->base == IDL_BASE_STRING ? "string bound" : "bytes bound", &v);
        if (ok)
            t->bound_value = (uint32_t)v;
    }
    return ok;
}

/* Resolve one member; false if it has errors. */
static bool check_member(idl_unit *u, idl_member *m)
{
    bool ok = resolve_type(u, m->type);
    int64_t v;

    if (m->declarator == IDL_DECLARATOR_ARRAY) {
        if (eval_range(u, m->count, NULL, 1, UINT32_MAX, "array size", &v)) {
            if (v > IDL_MAX_ARRAY) {
                idl_error(u, m->count->loc,
                          "fixed array of %lld elements is too large (the limit is %d; "
                          "use a sequence)", (long long)v, IDL_MAX_ARRAY);
                ok = false;
            } else {
                m->count_value = (uint32_t)v;
            }
        } else {
            ok = false;
        }
    } else if (m->declarator == IDL_DECLARATOR_SEQ && m->count != NULL) {
        if (eval_range(u, m->count, NULL, 1, UINT32_MAX, "sequence bound", &v))
            m->count_value = (uint32_t)v;
        else
            ok = false;
    }
    return ok;
}

static bool check_members(idl_unit *u, idl_member *list)
{
    bool ok = true;
    for (idl_member *m = list; m != NULL; m = m->next)
        ok = check_member(u, m) && ok;
    return ok;
}

/* Names inside one C struct: members (and their n_ counts) must differ. */
static void check_member_names(idl_unit *u, const idl_member *list, const char *what)
{
    for (const idl_member *m = list; m != NULL; m = m->next) {
        for (const idl_member *p = list; p != m; p = p->next) {
            if (strcmp(p->name, m->name) == 0) {
                idl_error(u, m->loc, "duplicate member '%s' in %s", m->name, what);
                break;
            }
            if (p->declarator == IDL_DECLARATOR_SEQ && strncmp(m->name, "n_", 2) == 0 &&
                strcmp(m->name + 2, p->name) == 0) {
                idl_error(u, m->loc, "member '%s' collides with the count of sequence '%s'",
                          m->name, p->name);
                break;
            }
            if (m->declarator == IDL_DECLARATOR_SEQ && strncmp(p->name, "n_", 2) == 0 &&
                strcmp(p->name + 2, m->name) == 0) {
                idl_error(u, m->loc, "the count 'n_%s' of sequence '%s' collides with member "
                          "'%s'", m->name, m->name, p->name);
                break;
            }
        }
    }
}

/* Enum values follow C: a value left out is the previous one plus 1 (the
 * first is 0), and two names may share a value (an alias: the decoder
 * accepts the value, printing uses the first name). */
static void check_enum(idl_unit *u, idl_decl *d)
{
    int64_t next = 0;
    bool have_next = true;     /* false after a value that failed */

    for (idl_enumval *v = d->values; v != NULL; v = v->next) {
        if (v->expr != NULL) {
            if (!eval_range(u, v->expr, NULL, INT32_MIN, INT32_MAX, "enum value", &v->value)) {
                d->bad = true;
                have_next = false;
                continue;
            }
        } else if (!have_next) {
            d->bad = true;
            continue;
        } else if (next > INT32_MAX) {
            idl_error(u, v->loc, "implicit enum value %lld of '%s' is out of range "
                      "-2147483648..2147483647", (long long)next, v->name);
            d->bad = true;
            have_next = false;
            continue;
        } else {
            v->value = next;
        }
        next = v->value + 1;
        have_next = true;
        for (idl_enumval *p = d->values; p != v; p = p->next) {
            if (strcmp(p->name, v->name) == 0) {
                idl_error(u, v->loc, "duplicate enum value name '%s' in '%s'", v->name, d->name);
                d->bad = true;
                break;
            }
        }
    }
}

/* Integer range of a discriminator kind. */
static void kind_range(parley_kind k, int64_t *lo, int64_t *hi)
{
    switch (k) {
    case PARLEY_KIND_INT8: *lo = INT8_MIN; *hi = INT8_MAX; break;
    case PARLEY_KIND_INT16: *lo = INT16_MIN; *hi = INT16_MAX; break;
    case PARLEY_KIND_INT32: *lo = INT32_MIN; *hi = INT32_MAX; break;
    case PARLEY_KIND_UINT8: *lo = 0; *hi = UINT8_MAX; break;
    case PARLEY_KIND_UINT16: *lo = 0; *hi = UINT16_MAX; break;
    case PARLEY_KIND_UINT32: *lo = 0; *hi = UINT32_MAX; break;
    case PARLEY_KIND_UINT64: *lo = 0; *hi = INT64_MAX; break;
    default: *lo = INT64_MIN; *hi = INT64_MAX; break;
    }
}

static bool is_int_kind(parley_kind k)
{
    return k >= PARLEY_KIND_INT8 && k <= PARLEY_KIND_UINT64;
}

/* The enum or integer kind a discriminator type stands for (through plain
 * typedefs).  Returns false if it is neither. */
static bool disc_kind(const idl_type *t, idl_decl **ret_enum, parley_kind *ret_kind)
{
    int guard = 0;

    *ret_enum = NULL;
    while (!t->optional && guard++ < 1000) {
        if (t->base == IDL_BASE_PRIM) {
            *ret_kind = t->prim;
            return is_int_kind(t->prim);
        }
        if (t->base != IDL_BASE_NAMED || t->target == NULL)
            return false;
        if (t->target->kind == IDL_ENUM) {
            *ret_enum = t->target;
            *ret_kind = PARLEY_KIND_ENUM;
            return true;
        }
        if (t->target->kind != IDL_TYPEDEF || t->target->alias->declarator != IDL_DECLARATOR_NONE)
            return false;
        t = t->target->alias->type;
    }
    return false;
}

static void check_union(idl_unit *u, idl_decl *d)
{
    idl_decl *en = NULL;
    parley_kind k = PARLEY_KIND_INT32;
    int64_t lo, hi;
    bool have_default = false;

    if (!check_member(u, d->disc)) {
        d->bad = true;
        return;
    }
    if (d->disc->declarator != IDL_DECLARATOR_NONE || !disc_kind(d->disc->type, &en, &k)) {
        idl_error(u, d->disc->type->loc,
                  "the discriminator of union '%s' must be an integer or an enum", d->name);
        d->bad = true;
        return;
    }
    if (en != NULL && en->bad)
        return;
    if (strcmp(d->disc->name, "u") == 0)
        idl_error(u, d->disc->loc, "the discriminator cannot be named 'u' (the arms are in 'u')");
    kind_range(k, &lo, &hi);
    for (idl_arm *a = d->arms; a != NULL; a = a->next) {
        for (idl_case *c = a->cases; c != NULL; c = c->next) {
            if (c->expr == NULL) {
                if (have_default)
                    idl_error(u, c->loc, "duplicate default arm in union '%s'", d->name);
                have_default = true;
                continue;
            }
            if (!eval(u, c->expr, en, &c->value)) {
                d->bad = true;
                continue;
            }
            if (en != NULL) {
                bool found = false;
                for (const idl_enumval *v = en->values; v != NULL; v = v->next)
                    found = found || v->value == c->value;
                if (!found) {
                    idl_error(u, c->loc, "case value %lld is not a value of enum '%s'",
                              (long long)c->value, en->name);
                    d->bad = true;
                    continue;
                }
            } else if (c->value < lo || c->value > hi) {
                idl_error(u, c->loc, "case value %lld is out of range for %s",
                          (long long)c->value, idl_prim_name(k));
                d->bad = true;
                continue;
            }
            for (idl_arm *pa = d->arms; pa != NULL; pa = pa->next) {
                for (idl_case *pc = pa->cases; pc != NULL && !(pa == a && pc == c);
                     pc = pc->next) {
                    if (pc->expr != NULL && pc->value == c->value) {
                        idl_error(u, c->loc, "duplicate case value %lld in union '%s'",
                                  (long long)c->value, d->name);
                        d->bad = true;
                        goto next_case;
                    }
                }
                if (pa == a)
                    break;
            }
        next_case:;
        }
        if (a->member != NULL) {
            if (!check_member(u, a->member))
                d->bad = true;
            for (idl_arm *pa = d->arms; pa != a; pa = pa->next) {
                if (pa->member != NULL && strcmp(pa->member->name, a->member->name) == 0) {
                    idl_error(u, a->member->loc, "duplicate arm name '%s' in union '%s'",
                              a->member->name, d->name);
                    break;
                }
            }
        }
    }
}

/* ---- containment: types of infinite size, typedef cycles ------------------- */

/* The struct/union a member holds by value, or NULL. */
static idl_decl *by_value(const idl_member *m)
{
    const idl_type *t = m->type;
    int guard = 0;

    if (m->declarator == IDL_DECLARATOR_SEQ)
        return NULL;
    while (guard++ < 1000) {
        idl_decl *d;
        if (t->optional || t->base != IDL_BASE_NAMED || t->target == NULL)
            return NULL;
        d = t->target;
        if (d->kind == IDL_STRUCT || d->kind == IDL_UNION)
            return d;
        if (d->kind != IDL_TYPEDEF || d->alias->declarator == IDL_DECLARATOR_SEQ)
            return NULL;
        t = d->alias->type;
    }
    return NULL;
}

static bool contains(idl_unit *u, idl_decl *d, int depth);

static bool contains_member(idl_unit *u, idl_decl *d, const idl_member *m, int depth)
{
    idl_decl *t = by_value(m);

    if (t == NULL)
        return false;
    if (t->mark == BUSY) {
        idl_error(u, m->loc, "'%s' contains itself through '%s' (infinite size); use optional "
                  "or a sequence", t->name, m->name);
        return true;
    }
    (void)d;
    return contains(u, t, depth + 1);
}

static bool contains(idl_unit *u, idl_decl *d, int depth)
{
    bool found = false;

    if (d->mark == DONE || depth > 10000)
        return false;
    d->mark = BUSY;
    if (d->kind == IDL_STRUCT) {
        for (idl_member *m = d->members; m != NULL && !found; m = m->next)
            found = contains_member(u, d, m, depth);
    } else {
        for (idl_arm *a = d->arms; a != NULL && !found; a = a->next)
            if (a->member != NULL)
                found = contains_member(u, d, a->member, depth);
    }
    d->mark = DONE;
    if (found)
        d->bad = true;
    return found;
}

static void check_typedef_cycles(idl_unit *u)
{
    for (idl_decl *d = u->decls; d != NULL; d = d->unit_next) {
        idl_decl *t = d;
        size_t steps = 0;
        if (d->kind != IDL_TYPEDEF)
            continue;
        /* follow typedef -> typedef; more steps than decls means a cycle */
        while (t != NULL && t->kind == IDL_TYPEDEF && steps <= u->n_decls) {
            t = t->alias->type->base == IDL_BASE_NAMED ? t->alias->type->target : NULL;
            steps++;
            if (t == d) {
                idl_error(u, d->loc, "typedef '%s' refers to itself", d->name);
                d->bad = true;
                break;
            }
        }
    }
}

/* ---- methods --------------------------------------------------------------- */

static void check_interfaces(idl_unit *u)
{
    for (idl_decl *d = u->main->decls; d != NULL; d = d->next) {
        if (d->kind != IDL_INTERFACE)
            continue;
        for (idl_decl *p = u->main->decls; p != d; p = p->next)
            if (p->kind == IDL_INTERFACE && strcmp(p->name, d->name) == 0)
                idl_error(u, d->loc, "duplicate interface '%s'", d->name);
        for (idl_reserved *r = d->reserved; r != NULL; r = r->next)
            if (!eval_range(u, r->expr, NULL, 1, IDL_MAX_METHOD_ID, "method id", &r->value))
                r->value = -1;
        for (idl_method *m = d->methods; m != NULL; m = m->next) {
            int64_t id;
            check_members(u, m->args);
            check_members(u, m->results);
            check_member_names(u, m->args, "the arguments");
            check_member_names(u, m->results, "the results");
            if (eval_range(u, m->id, NULL, 1, IDL_MAX_METHOD_ID, "method id", &id))
                m->id_value = (uint32_t)id;
        }
    }
    /* names and ids across every interface of the protocol */
    for (idl_decl *d = u->main->decls; d != NULL; d = d->next) {
        if (d->kind != IDL_INTERFACE)
            continue;
        for (idl_method *m = d->methods; m != NULL; m = m->next) {
            bool name_done = false, id_done = m->id_value == 0;
            for (idl_decl *pd = u->main->decls; pd != NULL; pd = pd->next) {
                if (pd->kind != IDL_INTERFACE)
                    continue;
                for (idl_reserved *r = pd->reserved; r != NULL && !id_done; r = r->next) {
                    if (r->value == (int64_t)m->id_value) {
                        idl_error(u, m->id->loc, "method id %u is reserved (retired ids are "
                                  "never reused)", m->id_value);
                        idl_note(u, r->loc, "reserved here");
                        id_done = true;
                    }
                }
                for (idl_method *p = pd->methods; p != NULL; p = p->next) {
                    if (p == m)
                        goto done_scan;
                    if (!name_done && strcmp(p->name, m->name) == 0) {
                        idl_error(u, m->loc, "duplicate method name '%s' (method names are "
                                  "unique across the protocol's interfaces)", m->name);
                        idl_note(u, p->loc, "first declared here");
                        name_done = true;
                    }
                    if (!id_done && p->id_value == m->id_value) {
                        idl_error(u, m->id->loc, "duplicate method id %u ('%s' has it too)",
                                  m->id_value, p->name);
                        idl_note(u, p->id->loc, "used by '%s' here", p->name);
                        id_done = true;
                    }
                }
            }
        done_scan:;
        }
        if (d->methods == NULL)
            idl_warning(u, d->loc, "interface '%s' declares no methods", d->name);
    }
}

/* ---- usage ----------------------------------------------------------------- */

static void mark_used_type(idl_type *t);

static void mark_used_members(idl_member *m)
{
    for (; m != NULL; m = m->next)
        mark_used_type(m->type);
}

static void mark_used_decl(idl_decl *d)
{
    if (d == NULL || d->used)
        return;
    d->used = true;
    switch (d->kind) {
    case IDL_STRUCT:
        mark_used_members(d->members);
        break;
    case IDL_UNION:
        mark_used_type(d->disc->type);
        for (idl_arm *a = d->arms; a != NULL; a = a->next)
            if (a->member != NULL)
                mark_used_type(a->member->type);
        break;
    case IDL_TYPEDEF:
        mark_used_type(d->alias->type);
        break;
    default:
        break;
    }
}

static void mark_used_type(idl_type *t)
{
    if (t->base == IDL_BASE_NAMED)
        mark_used_decl(t->target);
}

static void warn_unused(idl_unit *u)
{
    bool any = false;

    for (idl_decl *d = u->main->decls; d != NULL; d = d->next) {
        if (d->kind != IDL_INTERFACE)
            continue;
        any = true;
        for (idl_method *m = d->methods; m != NULL; m = m->next) {
            mark_used_members(m->args);
            mark_used_members(m->results);
        }
    }
    if (u->main->hello_client != NULL)
        mark_used_decl(idl_lookup(u, u->main->hello_client));
    if (u->main->hello_server != NULL)
        mark_used_decl(idl_lookup(u, u->main->hello_server));
    if (!any)
        return;     /* a file of types only (e.g. one meant for import) */
    for (idl_decl *d = u->main->decls; d != NULL; d = d->next)
        if (idl_decl_is_type(d) && !d->used)
            idl_warning(u, d->loc, "%s '%s' is not used by any method",
                        idl_decl_kind_name(d->kind), d->name);
}

/* ---- the driver ------------------------------------------------------------ */

static void check_protocol_lines(idl_unit *u)
{
    for (idl_file *f = u->files; f != NULL; f = f->next) {
        int64_t v;
        if (!f->has_protocol) {
            idl_loc start = { f, 1, 1 };
            idl_error(u, start, "missing 'protocol NAME VERSION;' line");
            f->protocol = "";
            continue;
        }
        if (eval_range(u, f->version_expr, NULL, 0, UINT32_MAX, "protocol version", &v))
            f->version = (uint32_t)v;
        for (int i = 0; i < 2; i++) {
            const char *name = i == 0 ? f->hello_client : f->hello_server;
            idl_loc loc = i == 0 ? f->hello_client_loc : f->hello_server_loc;
            const idl_decl *d;

            if (name == NULL)
                continue;
            if (f != u->main) {
                idl_error(u, loc, "'hello' lines belong in the main file, not an import");
                continue;
            }
            d = idl_lookup(u, name);
            if (d == NULL || !idl_decl_is_type(d))
                idl_error(u, loc, "the %s hello type '%s' is not a struct, union, enum or "
                          "typedef declared here", i == 0 ? "client" : "server", name);
        }
    }
}

int idl_check(idl_unit *u)
{
    if (u->main == NULL || u->stopped)
        return u->errors;
    build_table(u);
    if (u->sorted == NULL)
        return u->errors;
    eval_consts(u);
    check_protocol_lines(u);
    for (idl_decl *d = u->decls; d != NULL && !u->stopped; d = d->unit_next) {
        switch (d->kind) {
        case IDL_ENUM:
            check_enum(u, d);
            break;
        case IDL_STRUCT:
            if (!check_members(u, d->members))
                d->bad = true;
            check_member_names(u, d->members,
                               talloc_asprintf(d, "struct '%s'", d->name));
            break;
        case IDL_TYPEDEF:
            if (!check_member(u, d->alias))
                d->bad = true;
            break;
        default:
            break;
        }
    }
    check_typedef_cycles(u);
    for (idl_decl *d = u->decls; d != NULL && !u->stopped; d = d->unit_next)
        if (d->kind == IDL_UNION)
            check_union(u, d);
    for (idl_decl *d = u->decls; d != NULL && !u->stopped; d = d->unit_next)
        if (d->kind == IDL_STRUCT || d->kind == IDL_UNION)
            contains(u, d, 0);
    check_interfaces(u);
    idl_names_assign(u);
    idl_names_check(u);
    if (u->errors == 0 && !u->main->xdr)     /* a .x file's types are for C too */
        warn_unused(u);
    if (u->errors == 0)
        idl_shape_methods(u);
    return u->errors;
}
