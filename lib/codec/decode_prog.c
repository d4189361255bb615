/* SPDX-License-Identifier: MIT */
/* Decoding by compiled programs (program.h). */
#include "config.h"

#include <string.h>

#include <talloc.h>

#include "decode.h"

/* ---- compiled programs (program.h) ------------------------------------------------
 *
 * The same decoding as parley__dec_value(), op by op, with the same checks in the
 * same order.  A failure returns its status at once; the caller frees what
 * was decoded and runs parley__dec_value() again, which fails at the same place
 * and reports it with the field path.  The messages are built only there. */

static parley_status drun_type(dec *d, const parley_type *t, uint8_t *obj, void *holder,
                               unsigned depth)
{
    const parley__prog *pg = parley__prog_get(t);

    if (pg == NULL)
        return PARLEY__PROG_FALLBACK;
    return parley__dec_prog(d, pg, obj, holder, depth);
}

/* A string's bytes: u32 length (within the bound and the input), no NUL,
 * valid UTF-8; the copy is a new chunk under holder. */
static parley_status drun_string(dec *d, const parley_type *t, uint8_t *obj, void *holder)
{
    uint32_t len;
    char *s;

    if (remain(d) < 4)
        return PARLEY_ERR_MALFORMED;
    len = parley__get_u32(d->p);
    if ((t->bound != 0 && len > t->bound) || remain(d) - 4 < len)
        return PARLEY_ERR_MALFORMED;
    d->p += 4;
    if (!parley__text_ok(d->p, len))
        return PARLEY_ERR_MALFORMED;
    s = parley__dec_text(d, holder, (size_t)len + 1, t->name);
    if (s == NULL)
        return PARLEY_ERR_NOMEM;
    parley__copy_short((uint8_t *)s, d->p, len);
    s[len] = '\0';
    d->p += len;
    memcpy(obj, &s, sizeof(s));
    return PARLEY_OK;
}

static parley_status drun_seq(dec *d, const parley__prog_op *op, uint8_t *obj, void *holder,
                              unsigned depth)
{
    const parley_type *t = op->type, *et = t->elem;
    const parley__plan *pl = op->plan;
    parley_seq s = { 0, NULL };
    uint32_t n;
    parley_status st;

    if (remain(d) < 4)
        return PARLEY_ERR_MALFORMED;
    n = parley__get_u32(d->p);
    if (t->bound != 0 && n > t->bound)
        return PARLEY_ERR_MALFORMED;
    d->p += 4;
    if (n == 0) {
        memcpy(obj, &s, sizeof(s));
        return PARLEY_OK;
    }
    if (depth >= d->max_depth)
        return PARLEY_ERR_OVERFLOW;
    if (n > remain(d) / op->len || (et->size != 0 && n > SIZE_MAX / et->size))
        return PARLEY_ERR_MALFORMED;
    s.items = parley__dec_alloc(d, holder, (size_t)n * et->size, et->name, pl == NULL);
    if (s.items == NULL)
        return PARLEY_ERR_NOMEM;
    s.n = n;
    memcpy(obj, &s, sizeof(s));
    if (pl != NULL) {
        size_t total = (size_t)n * pl->wire_size;
        if (remain(d) < total)
            return PARLEY_ERR_MALFORMED;
        if (pl->identical)
            memcpy(s.items, d->p, total);
        else
            parley__plan_decode(pl, s.items, d->p, n);
        d->p += total;
        return PARLEY_OK;
    }
    {
        const parley__prog *pg = op->sub != NULL ? op->sub : parley__prog_get(et);
        uint8_t *item = s.items;
        if (pg == NULL)
            return PARLEY__PROG_FALLBACK;
        for (size_t i = 0; i < n; i++, item += et->size) {
            st = parley__dec_prog(d, pg, item, s.items, depth + 1);
            if (st != PARLEY_OK)
                return st;
        }
    }
    return PARLEY_OK;
}

static parley_status drun_union(dec *d, const parley_type *t, const parley__prog *const *arms,
                                uint8_t *obj, void *holder, unsigned depth)
{
    const parley__prog *sub;
    const parley_type *dt = t->discriminator;
    size_t w = parley__scalar_wire_size(dt);
    bool sgn = parley__int_is_signed(dt);
    const parley_arm *arm;
    int64_t v;

    if (remain(d) < w)
        return PARLEY_ERR_MALFORMED;
    v = parley__get_int(d->p, w, sgn);
    arm = parley__union_arm(t, v);
    if (arm == NULL || (dt->kind == PARLEY_KIND_ENUM && !parley__enum_has_value(dt, v)))
        return PARLEY_ERR_MALFORMED;
    d->p += w;
    parley__store_int(dt, obj + t->discriminator_offset, v);
    if (arm->type == NULL)
        return PARLEY_OK;
    sub = arms[arm == t->default_arm ? t->n_arms : (size_t)(arm - t->arms)];
    if (sub != NULL)
        return parley__dec_prog(d, sub, obj + arm->offset, holder, depth);
    return drun_type(d, arm->type, obj + arm->offset, holder, depth);
}

parley_status parley__dec_prog(dec *d, const parley__prog *pg, uint8_t *o, void *holder,
                               unsigned depth)
{
    const parley__prog_op *op = pg->ops, *end = pg->ops + pg->n_ops;
    parley_status st = PARLEY_OK;

    for (; op < end && st == PARLEY_OK; op++) {
        uint8_t *obj = o + op->off;

        switch ((parley__prog_code)op->code) {
        case PARLEY__OP_FIXED:
            if (remain(d) < op->len)
                return PARLEY_ERR_MALFORMED;
            parley__copy_short(obj, d->p, op->len);
            d->p += op->len;
            break;
        case PARLEY__OP_BOOL:
            if (remain(d) < 1 || d->p[0] > 1)
                return PARLEY_ERR_MALFORMED;
            obj[0] = *d->p++;
            break;
        case PARLEY__OP_ENUM: {
            int32_t v;
            if (remain(d) < 4)
                return PARLEY_ERR_MALFORMED;
            v = (int32_t)parley__get_u32(d->p);
            if (!parley__enum_has_value(op->type, v))
                return PARLEY_ERR_MALFORMED;
            d->p += 4;
            parley__store_int(op->type, obj, v);
            break;
        }
        case PARLEY__OP_STRING:
            st = drun_string(d, op->type, obj, holder);
            break;
        case PARLEY__OP_OPT_STRING: {
            void *none = NULL;
            if (remain(d) < 1 || d->p[0] > 1)
                return PARLEY_ERR_MALFORMED;
            memcpy(obj, &none, sizeof(none));
            if (*d->p++ == 0)
                break;
            if (depth >= d->max_depth)
                return PARLEY_ERR_OVERFLOW;
            st = drun_string(d, op->type, obj, holder);
            break;
        }
        case PARLEY__OP_BYTES: {
            parley_bytes b = { 0, NULL };
            uint32_t len;
            if (remain(d) < 4)
                return PARLEY_ERR_MALFORMED;
            len = parley__get_u32(d->p);
            if ((op->type->bound != 0 && len > op->type->bound) || remain(d) - 4 < len)
                return PARLEY_ERR_MALFORMED;
            d->p += 4;
            if (len > 0) {
                b.data = parley__dec_text(d, holder, len, op->type->name);
                if (b.data == NULL)
                    return PARLEY_ERR_NOMEM;
                parley__copy_short(b.data, d->p, len);
                b.len = len;
                d->p += len;
            }
            memcpy(obj, &b, sizeof(b));
            break;
        }
        case PARLEY__OP_SEQ:
            st = drun_seq(d, op, obj, holder, depth);
            break;
        case PARLEY__OP_OPT: {
            const parley_type *et = op->type->elem;
            void *ptr = NULL;
            if (remain(d) < 1 || d->p[0] > 1)
                return PARLEY_ERR_MALFORMED;
            memcpy(obj, &ptr, sizeof(ptr));
            if (*d->p++ == 0)
                break;
            if (depth >= d->max_depth)
                return PARLEY_ERR_OVERFLOW;
            ptr = parley__dec_alloc(d, holder, et->size, et->name, true);
            if (ptr == NULL)
                return PARLEY_ERR_NOMEM;
            memcpy(obj, &ptr, sizeof(ptr));
            st = op->sub != NULL ? parley__dec_prog(d, op->sub, ptr, ptr, depth + 1)
                                 : drun_type(d, et, ptr, ptr, depth + 1);
            break;
        }
        case PARLEY__OP_UNION:
            st = drun_union(d, op->type, op->arms, obj, holder, depth);
            break;
        }
    }
    return st;
}

