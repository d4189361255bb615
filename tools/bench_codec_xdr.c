/* SPDX-License-Identifier: MIT */
/*
 * parley-bench codec: the ONC RPC XDR side (libtirpc), through the filters
 * rpcgen generates from tools/bench_codec_xdr.x.
 *
 * encode: xdrmem_create(XDR_ENCODE) into a buffer allocated once, then the
 *         filter (the same shape as parley_data_encode_to()).
 * decode: xdrmem_create(XDR_DECODE) into a zeroed object, the filter (which
 *         mallocs strings, blobs and arrays), a checksum of the result, then
 *         the filter again with XDR_FREE (what xdr_free() does): so a decode
 *         includes freeing what it allocated, as the Parley side's talloc_free().
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "bench_codec.h"
#include "bench_codec_xdr.h"

/* The generated filters, each called through one prototype. */
typedef bool_t (*xb_filter)(XDR *xdrs, void *obj);

static bool_t filter_blob(XDR *xdrs, void *obj) { return xdr_xb_blob(xdrs, obj); }
static bool_t filter_points(XDR *xdrs, void *obj) { return xdr_xb_points(xdrs, obj); }
static bool_t filter_dirent(XDR *xdrs, void *obj) { return xdr_xb_dir_entry(xdrs, obj); }

typedef struct xdr_state {
    bench_case c;
    xb_filter filter;
    size_t obj_size;       /* sizeof the top-level object */
    void *value;           /* the value to encode */
    void *scratch;         /* decode target, obj_size bytes */
    uint8_t *buf;          /* encode target */
    size_t cap;
    uint8_t *wire;         /* one encoding, decoded by the decode op */
    size_t wire_len;
} xdr_state;

/* Something from every decoded value, so that the decode cannot be elided. */
static uint64_t checksum(bench_case c, const void *obj)
{
    switch (c) {
    case BENCH_CASE_BYTES: {
        const xb_blob *b = obj;
        return b->data.data_len + (uint8_t)b->data.data_val[0] +
               (uint8_t)b->data.data_val[b->data.data_len - 1];
    }
    case BENCH_CASE_POINTS: {
        const xb_points *p = obj;
        return p->items.items_len + (uint64_t)p->items.items_val[p->items.items_len - 1].x;
    }
    case BENCH_CASE_DIRENT: {
        const xb_dir_entry *d = obj;
        return (uint8_t)d->name[0] + d->xattrs.xattrs_len + d->info.kind + d->size;
    }
    default:
        return 0;
    }
}

static void free_decoded(xdr_state *s, void *obj)
{
    XDR x;

    memset(&x, 0, sizeof(x));
    x.x_op = XDR_FREE;
    s->filter(&x, obj);
}

/* Encode s->value into buf; 0 and the length, or -1. */
static int encode_into(xdr_state *s, uint8_t *buf, size_t cap, size_t *ret_len)
{
    XDR x;
    bool_t ok;

    xdrmem_create(&x, (char *)buf, (u_int)cap, XDR_ENCODE);
    ok = s->filter(&x, s->value);
    if (ok)
        *ret_len = xdr_getpos(&x);
    xdr_destroy(&x);
    return ok ? 0 : -1;
}

static int xdr_encode_op(void *arg)
{
    xdr_state *s = arg;
    size_t len;

    if (encode_into(s, s->buf, s->cap, &len) != 0) {
        fprintf(stderr, "parley-bench codec: xdr encode failed\n");
        return -1;
    }
    bench_sink += len + s->buf[len - 1];
    return 0;
}

/* Decode s->wire into s->scratch; 0, or -1 with scratch freed and zeroed. */
static int decode_scratch(xdr_state *s, bool_t *ret_complete)
{
    XDR x;
    bool_t ok;

    memset(s->scratch, 0, s->obj_size);
    xdrmem_create(&x, (char *)s->wire, (u_int)s->wire_len, XDR_DECODE);
    ok = s->filter(&x, s->scratch);
    if (ret_complete != NULL)
        *ret_complete = ok && xdr_getpos(&x) == s->wire_len;
    xdr_destroy(&x);
    if (!ok) {
        free_decoded(s, s->scratch);
        return -1;
    }
    return 0;
}

static int xdr_decode_op(void *arg)
{
    xdr_state *s = arg;

    if (decode_scratch(s, NULL) != 0) {
        fprintf(stderr, "parley-bench codec: xdr decode failed\n");
        return -1;
    }
    bench_sink += checksum(s->c, s->scratch);
    free_decoded(s, s->scratch);
    return 0;
}

/* Build the case's value in rpcgen's types under mem_ctx. */
static int build_value(TALLOC_CTX *mem_ctx, xdr_state *s)
{
    switch (s->c) {
    case BENCH_CASE_BYTES: {
        xb_blob *b = talloc_zero(mem_ctx, xb_blob);
        uint8_t *data = talloc_array(mem_ctx, uint8_t, BENCH_BYTES_LEN);

        if (b == NULL || data == NULL)
            return -1;
        bench_fill_bytes(data, BENCH_BYTES_LEN);
        b->data.data_len = BENCH_BYTES_LEN;
        b->data.data_val = (char *)data;
        s->filter = filter_blob;
        s->obj_size = sizeof(*b);
        s->value = b;
        s->cap = BENCH_BYTES_LEN + 64;
        return 0;
    }
    case BENCH_CASE_POINTS: {
        xb_points *p = talloc_zero(mem_ctx, xb_points);
        xb_point *items = talloc_array(mem_ctx, xb_point, BENCH_N_POINTS);

        if (p == NULL || items == NULL)
            return -1;
        for (size_t i = 0; i < BENCH_N_POINTS; i++) {
            int32_t x, y, z;

            bench_point_at(i, &x, &y, &z, &items[i].w);
            items[i].x = x;
            items[i].y = y;
            items[i].z = z;
        }
        p->items.items_len = BENCH_N_POINTS;
        p->items.items_val = items;
        s->filter = filter_points;
        s->obj_size = sizeof(*p);
        s->value = p;
        s->cap = 4 + 20 * (size_t)BENCH_N_POINTS + 64;
        return 0;
    }
    case BENCH_CASE_DIRENT: {
        const bench_dirent_spec *spec = &bench_dirent;
        xb_dir_entry *d = talloc_zero(mem_ctx, xb_dir_entry);
        xb_timestamp *btime = talloc_zero(mem_ctx, xb_timestamp);
        xb_xattr *xattrs = talloc_zero_array(mem_ctx, xb_xattr, BENCH_N_XATTRS);

        if (d == NULL || btime == NULL || xattrs == NULL)
            return -1;
        d->name = (char *)spec->name;
        d->owner = (char *)spec->owner;
        d->group = (char *)spec->group;
        d->inode = spec->inode;
        d->size = spec->size;
        d->mode = spec->mode;
        d->mtime.sec = spec->mtime_sec;
        d->mtime.nsec = spec->mtime_nsec;
        btime->sec = spec->btime_sec;
        btime->nsec = spec->btime_nsec;
        d->btime = btime;
        d->info.kind = XB_FILE_REGULAR;
        d->info.xb_file_info_u.reg.blocks = spec->blocks;
        d->info.xb_file_info_u.reg.nlink = spec->nlink;
        for (size_t i = 0; i < BENCH_N_XATTRS; i++) {
            xattrs[i].name = (char *)spec->xattrs[i].name;
            xattrs[i].value.value_len = (u_int)spec->xattrs[i].len;
            xattrs[i].value.value_val = (char *)spec->xattrs[i].value;
        }
        d->xattrs.xattrs_len = BENCH_N_XATTRS;
        d->xattrs.xattrs_val = xattrs;
        s->filter = filter_dirent;
        s->obj_size = sizeof(*d);
        s->value = d;
        s->cap = 64 * 1024;
        return 0;
    }
    default:
        return -1;
    }
}

int bench_codec_xdr_prepare(TALLOC_CTX *mem_ctx, bench_case c, bench_subject *ret)
{
    xdr_state *s = talloc_zero(mem_ctx, xdr_state);
    uint8_t *again;
    size_t again_len;
    bool_t complete;
    int rc;

    if (s == NULL) {
        fprintf(stderr, "parley-bench codec: xdr: out of memory\n");
        return -1;
    }
    s->c = c;
    if (build_value(s, s) != 0) {
        fprintf(stderr, "parley-bench codec: xdr: out of memory\n");
        return -1;
    }
    s->buf = talloc_array(s, uint8_t, s->cap);
    s->wire = talloc_array(s, uint8_t, s->cap);
    again = talloc_array(s, uint8_t, s->cap);
    s->scratch = talloc_zero_size(s, s->obj_size);
    if (s->buf == NULL || s->wire == NULL || again == NULL || s->scratch == NULL) {
        fprintf(stderr, "parley-bench codec: xdr: out of memory\n");
        return -1;
    }
    if (encode_into(s, s->wire, s->cap, &s->wire_len) != 0) {
        fprintf(stderr, "parley-bench codec: xdr: cannot encode case %d\n", (int)c);
        return -1;
    }
    /* Round trip: decoding the encoding and encoding that again gives the same bytes. */
    if (decode_scratch(s, &complete) != 0 || !complete) {
        fprintf(stderr, "parley-bench codec: xdr: cannot decode its own encoding of case %d\n",
                (int)c);
        return -1;
    }
    {
        void *saved = s->value;

        s->value = s->scratch;
        rc = encode_into(s, again, s->cap, &again_len);
        s->value = saved;
    }
    free_decoded(s, s->scratch);
    if (rc != 0 || again_len != s->wire_len || memcmp(again, s->wire, again_len) != 0) {
        fprintf(stderr, "parley-bench codec: xdr: case %d does not round-trip\n", (int)c);
        return -1;
    }
    talloc_free(again);

    ret->impl = "xdr";
    ret->encode = xdr_encode_op;
    ret->decode = xdr_decode_op;
    ret->arg = s;
    ret->wire_len = s->wire_len;
    ret->wire = s->wire;
    ret->decode_allocs = 0;
    return 0;
}
