/*
 * parley-bench codec: the Parley side, through the public codec API of
 * libparley (parley/data.h).
 *
 * The descriptors below are written by hand because parley-idl was not on
 * main when this benchmark was written; they follow the IDL in bench_codec.h
 * exactly, so generated ones can replace them one for one.
 *
 * encode: parley_data_encode_to() into a buffer allocated once (as XDR's
 *         xdrmem encode).
 * decode: parley_data_decode() into a new talloc graph, a checksum of the
 *         result, then talloc_free() of the graph.
 */
#include "config.h"

#include <string.h>

#include "parley/data.h"
#include "parley/type.h"

#include "bench_codec.h"

/* ---- (a) bytes ------------------------------------------------------------ */

typedef struct bc_blob {
    parley_bytes data;               /* bytes data */
} bc_blob;

static const parley_field blob_fields[] = {
    PARLEY_FIELD(bc_blob, data, parley_type_bytes),
};
static const parley_type bc_blob_type = PARLEY_STRUCT_TYPE(bc_blob, blob_fields);

/* ---- (b) a sequence of flat structs -------------------------------------- */

typedef struct bc_point {
    int32_t x, y, z;
    double w;                        /* 4 bytes of padding before w in memory */
} bc_point;

typedef struct bc_points {
    size_t n_items;                  /* point items<> */
    bc_point *items;
} bc_points;

static const parley_field point_fields[] = {
    PARLEY_FIELD(bc_point, x, parley_type_int32),
    PARLEY_FIELD(bc_point, y, parley_type_int32),
    PARLEY_FIELD(bc_point, z, parley_type_int32),
    PARLEY_FIELD(bc_point, w, parley_type_double),
};
static const parley_type bc_point_type = PARLEY_STRUCT_TYPE(bc_point, point_fields);
static const parley_type items_type = PARLEY_SEQUENCE_TYPE("items", bc_point_type, 0);
static const parley_field points_fields[] = {
    PARLEY_SEQ_FIELD(bc_points, items, items_type),
};
static const parley_type bc_points_type = PARLEY_STRUCT_TYPE(bc_points, points_fields);

/* ---- (c) a directory entry ------------------------------------------------ */

typedef enum bc_file_kind {
    BC_FILE_REGULAR = BENCH_FILE_REGULAR,
    BC_FILE_DIRECTORY = BENCH_FILE_DIRECTORY,
    BC_FILE_SYMLINK = BENCH_FILE_SYMLINK,
    BC_FILE_DEVICE = BENCH_FILE_DEVICE,
    BC_FILE_FIFO = BENCH_FILE_FIFO,
} bc_file_kind;

typedef struct bc_timestamp { int64_t sec; uint32_t nsec; } bc_timestamp;
typedef struct bc_regular_info { uint64_t blocks; uint32_t nlink; } bc_regular_info;
typedef struct bc_device_id { uint32_t dev_major, dev_minor; } bc_device_id;

typedef struct bc_file_info {
    bc_file_kind kind;
    union {
        bc_regular_info reg;
        uint32_t n_children;
        char *target;
        bc_device_id dev;
    } u;
} bc_file_info;

typedef struct bc_xattr {
    char *name;                      /* string<255> */
    parley_bytes value;              /* bytes<65536> */
} bc_xattr;

typedef struct bc_dir_entry {
    char *name;                      /* string<255> */
    char *owner;                     /* string<64> */
    char *group;                     /* string<64> */
    uint64_t inode;
    uint64_t size;
    uint32_t mode;
    bc_timestamp mtime;
    bc_timestamp *btime;             /* optional timestamp */
    bc_file_info info;
    size_t n_xattrs;                 /* xattr xattrs<16> */
    bc_xattr *xattrs;
} bc_dir_entry;

static const parley_enum_value file_kind_values[] = {
    { "FILE_REGULAR", BC_FILE_REGULAR },
    { "FILE_DIRECTORY", BC_FILE_DIRECTORY },
    { "FILE_SYMLINK", BC_FILE_SYMLINK },
    { "FILE_DEVICE", BC_FILE_DEVICE },
    { "FILE_FIFO", BC_FILE_FIFO },
};
static const parley_type bc_file_kind_type = PARLEY_ENUM_TYPE(bc_file_kind, file_kind_values);

static const parley_field timestamp_fields[] = {
    PARLEY_FIELD(bc_timestamp, sec, parley_type_int64),
    PARLEY_FIELD(bc_timestamp, nsec, parley_type_uint32),
};
static const parley_type bc_timestamp_type = PARLEY_STRUCT_TYPE(bc_timestamp, timestamp_fields);

static const parley_field regular_info_fields[] = {
    PARLEY_FIELD(bc_regular_info, blocks, parley_type_uint64),
    PARLEY_FIELD(bc_regular_info, nlink, parley_type_uint32),
};
static const parley_type bc_regular_info_type =
    PARLEY_STRUCT_TYPE(bc_regular_info, regular_info_fields);

static const parley_field device_id_fields[] = {
    PARLEY_FIELD(bc_device_id, dev_major, parley_type_uint32),
    PARLEY_FIELD(bc_device_id, dev_minor, parley_type_uint32),
};
static const parley_type bc_device_id_type = PARLEY_STRUCT_TYPE(bc_device_id, device_id_fields);

static const parley_type target_type = PARLEY_STRING_TYPE("target", 4096);
static const parley_arm file_info_arms[] = {
    PARLEY_ARM(bc_file_info, BC_FILE_REGULAR, reg, bc_regular_info_type),
    PARLEY_ARM(bc_file_info, BC_FILE_DIRECTORY, n_children, parley_type_uint32),
    PARLEY_ARM(bc_file_info, BC_FILE_SYMLINK, target, target_type),
    PARLEY_ARM(bc_file_info, BC_FILE_DEVICE, dev, bc_device_id_type),
    PARLEY_VOID_ARM(BC_FILE_FIFO),
};
static const parley_type bc_file_info_type =
    PARLEY_UNION_TYPE(bc_file_info, kind, bc_file_kind_type, file_info_arms, NULL);

static const parley_type xattr_name_type = PARLEY_STRING_TYPE("xattr_name", 255);
static const parley_type xattr_value_type = PARLEY_BYTES_TYPE("xattr_value", 65536);
static const parley_field xattr_fields[] = {
    PARLEY_FIELD(bc_xattr, name, xattr_name_type),
    PARLEY_FIELD(bc_xattr, value, xattr_value_type),
};
static const parley_type bc_xattr_type = PARLEY_STRUCT_TYPE(bc_xattr, xattr_fields);

static const parley_type name_type = PARLEY_STRING_TYPE("name", 255);
static const parley_type user_type = PARLEY_STRING_TYPE("user", 64);
static const parley_type btime_type = PARLEY_OPTIONAL_TYPE("btime", bc_timestamp_type);
static const parley_type xattrs_type = PARLEY_SEQUENCE_TYPE("xattrs", bc_xattr_type, 16);
static const parley_field dir_entry_fields[] = {
    PARLEY_FIELD(bc_dir_entry, name, name_type),
    PARLEY_FIELD(bc_dir_entry, owner, user_type),
    PARLEY_FIELD(bc_dir_entry, group, user_type),
    PARLEY_FIELD(bc_dir_entry, inode, parley_type_uint64),
    PARLEY_FIELD(bc_dir_entry, size, parley_type_uint64),
    PARLEY_FIELD(bc_dir_entry, mode, parley_type_uint32),
    PARLEY_FIELD(bc_dir_entry, mtime, bc_timestamp_type),
    PARLEY_FIELD(bc_dir_entry, btime, btime_type),
    PARLEY_FIELD(bc_dir_entry, info, bc_file_info_type),
    PARLEY_SEQ_FIELD(bc_dir_entry, xattrs, xattrs_type),
};
static const parley_type bc_dir_entry_type = PARLEY_STRUCT_TYPE(bc_dir_entry, dir_entry_fields);

/* ---- the benchmark ops ---------------------------------------------------- */

typedef struct parley_state {
    bench_case c;
    const parley_type *type;
    void *value;               /* the value to encode */
    uint8_t *buf;              /* encode target */
    size_t cap;
    uint8_t *wire;             /* one encoding, decoded by the decode op */
    size_t wire_len;
} parley_state;

/* Something from every decoded value, so that the decode cannot be elided. */
static uint64_t checksum(bench_case c, const void *obj)
{
    switch (c) {
    case BENCH_CASE_BYTES: {
        const bc_blob *b = obj;
        return b->data.len + b->data.data[0] + b->data.data[b->data.len - 1];
    }
    case BENCH_CASE_POINTS: {
        const bc_points *p = obj;
        return p->n_items + (uint64_t)p->items[p->n_items - 1].x;
    }
    case BENCH_CASE_DIRENT: {
        const bc_dir_entry *d = obj;
        return (uint8_t)d->name[0] + d->n_xattrs + d->info.kind + d->size;
    }
    default:
        return 0;
    }
}

static void report(const char *what, parley_status st)
{
    fprintf(stderr, "parley-bench codec: parley %s: %s: %s\n", what, parley_status_name(st),
            parley_error_message());
}

static int parley_encode_op(void *arg)
{
    parley_state *s = arg;
    parley_status st;
    size_t len;

    st = parley_data_encode_to(s->type, s->value, NULL, s->buf, s->cap, &len);
    if (st != PARLEY_OK) {
        report("encode", st);
        return -1;
    }
    bench_sink += len + s->buf[len - 1];
    return 0;
}

static int parley_decode_op(void *arg)
{
    parley_state *s = arg;
    parley_status st;
    void *v;

    st = parley_data_decode(s, s->type, s->wire, s->wire_len, NULL, &v);
    if (st != PARLEY_OK) {
        report("decode", st);
        return -1;
    }
    bench_sink += checksum(s->c, v);
    talloc_free(v);
    return 0;
}

/* Build the case's value in the C types above under mem_ctx. */
static int build_value(TALLOC_CTX *mem_ctx, parley_state *s)
{
    switch (s->c) {
    case BENCH_CASE_BYTES: {
        bc_blob *b = talloc_zero(mem_ctx, bc_blob);
        uint8_t *data = talloc_array(mem_ctx, uint8_t, BENCH_BYTES_LEN);

        if (b == NULL || data == NULL)
            return -1;
        bench_fill_bytes(data, BENCH_BYTES_LEN);
        b->data.len = BENCH_BYTES_LEN;
        b->data.data = data;
        s->type = &bc_blob_type;
        s->value = b;
        return 0;
    }
    case BENCH_CASE_POINTS: {
        bc_points *p = talloc_zero(mem_ctx, bc_points);
        bc_point *items = talloc_zero_array(mem_ctx, bc_point, BENCH_N_POINTS);

        if (p == NULL || items == NULL)
            return -1;
        for (size_t i = 0; i < BENCH_N_POINTS; i++)
            bench_point_at(i, &items[i].x, &items[i].y, &items[i].z, &items[i].w);
        p->n_items = BENCH_N_POINTS;
        p->items = items;
        s->type = &bc_points_type;
        s->value = p;
        return 0;
    }
    case BENCH_CASE_DIRENT: {
        const bench_dirent_spec *spec = &bench_dirent;
        bc_dir_entry *d = talloc_zero(mem_ctx, bc_dir_entry);
        bc_timestamp *btime = talloc_zero(mem_ctx, bc_timestamp);
        bc_xattr *xattrs = talloc_zero_array(mem_ctx, bc_xattr, BENCH_N_XATTRS);

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
        d->info.kind = BC_FILE_REGULAR;
        d->info.u.reg.blocks = spec->blocks;
        d->info.u.reg.nlink = spec->nlink;
        for (size_t i = 0; i < BENCH_N_XATTRS; i++) {
            xattrs[i].name = (char *)spec->xattrs[i].name;
            xattrs[i].value.len = spec->xattrs[i].len;
            xattrs[i].value.data = (uint8_t *)spec->xattrs[i].value;
        }
        d->n_xattrs = BENCH_N_XATTRS;
        d->xattrs = xattrs;
        s->type = &bc_dir_entry_type;
        s->value = d;
        return 0;
    }
    default:
        return -1;
    }
}

int bench_codec_parley_prepare(TALLOC_CTX *mem_ctx, bench_case c, bench_subject *ret)
{
    parley_state *s = talloc_zero(mem_ctx, parley_state);
    parley_status st;
    void *back;

    if (s == NULL) {
        fprintf(stderr, "parley-bench codec: parley: out of memory\n");
        return -1;
    }
    s->c = c;
    if (build_value(s, s) != 0) {
        fprintf(stderr, "parley-bench codec: parley: out of memory\n");
        return -1;
    }
    if ((st = parley_type_check(s->type)) != PARLEY_OK) {
        report("descriptor check", st);
        return -1;
    }
    if ((st = parley_data_size(s->type, s->value, NULL, &s->cap)) != PARLEY_OK) {
        report("size", st);
        return -1;
    }
    s->buf = talloc_array(s, uint8_t, s->cap);
    s->wire = talloc_array(s, uint8_t, s->cap);
    if (s->buf == NULL || s->wire == NULL) {
        fprintf(stderr, "parley-bench codec: parley: out of memory\n");
        return -1;
    }
    st = parley_data_encode_to(s->type, s->value, NULL, s->wire, s->cap, &s->wire_len);
    if (st != PARLEY_OK) {
        report("encode", st);
        return -1;
    }
    if (s->wire_len != s->cap) {
        fprintf(stderr, "parley-bench codec: parley: encoded %zu bytes, size said %zu\n",
                s->wire_len, s->cap);
        return -1;
    }
    /* Round trip: the decoded value equals the original. */
    if ((st = parley_data_decode(s, s->type, s->wire, s->wire_len, NULL, &back)) != PARLEY_OK) {
        report("decode", st);
        return -1;
    }
    if (!parley_data_equal(s->type, s->value, back)) {
        fprintf(stderr, "parley-bench codec: parley: case %d does not round-trip\n", (int)c);
        return -1;
    }
    ret->decode_allocs = talloc_total_blocks(back);
    talloc_free(back);

    ret->impl = "parley";
    ret->encode = parley_encode_op;
    ret->decode = parley_decode_op;
    ret->arg = s;
    ret->wire_len = s->wire_len;
    ret->wire = s->wire;
    return 0;
}
