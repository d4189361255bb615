/* SPDX-License-Identifier: MIT */
/*
 * parley-bench codec: encode and decode three payloads with Parley's codec,
 * beside ONC RPC XDR (libtirpc, rpcgen filters) and a plain memcpy of the
 * same number of bytes, all measured in the same run on one pinned CPU.
 */
#include "config.h"

#include <string.h>

#include <talloc.h>

#include "bench_codec.h"

/* ---- the data -------------------------------------------------------------- */

static const uint8_t sha256_value[32] = {
    0x3a, 0x7b, 0xd3, 0xe2, 0x36, 0x0a, 0x3d, 0x29, 0xee, 0xa4, 0x36, 0xfc, 0xfb, 0x7e, 0x44, 0xc7,
    0x35, 0xd1, 0x17, 0xc4, 0x2d, 0x1c, 0x18, 0x35, 0x42, 0x0b, 0x6b, 0x99, 0x42, 0xdd, 0x4f, 0x1b,
};
static const char mime_value[] = "application/vnd.oasis.opendocument.spreadsheet";
static const char selinux_value[] = "unconfined_u:object_r:user_home_t:s0"; /* stored with its NUL */
static const char url_value[] =
    "https://intranet.example.com/finance/reports/2026/quarterly-report-2026-Q3.ods";

const bench_dirent_spec bench_dirent = {
    .name = "quarterly-report-2026-Q3.ods",
    .owner = "alice",
    .group = "finance",
    .inode = 1844674407u,
    .size = 48213,
    .mode = 0100644,
    .mtime_sec = 1763700000,
    .mtime_nsec = 123456789,
    .btime_sec = 1760000000,
    .btime_nsec = 987654321,
    .blocks = 96,
    .nlink = 1,
    .xattrs = {
        { "user.mime_type", (const uint8_t *)mime_value, sizeof(mime_value) - 1 },
        { "security.selinux", (const uint8_t *)selinux_value, sizeof(selinux_value) },
        { "user.checksum.sha256", sha256_value, sizeof(sha256_value) },
        { "user.xdg.origin.url", (const uint8_t *)url_value, sizeof(url_value) - 1 },
    },
};

void bench_fill_bytes(uint8_t *p, size_t n)
{
    uint64_t x = 0x9e3779b97f4a7c15u;

    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)(x >> 24);
    }
}

void bench_point_at(size_t i, int32_t *x, int32_t *y, int32_t *z, double *w)
{
    *x = (int32_t)i;
    *y = -2 * (int32_t)i;
    *z = (int32_t)(i * 7u) ^ 0x5a5a;
    *w = (double)i * 0.5 + 0.25;
}

/* ---- memcpy ---------------------------------------------------------------- */

typedef struct copy_state {
    const uint8_t *src;
    uint8_t *dst;
    size_t len;
} copy_state;

static int memcpy_op(void *arg)
{
    copy_state *s = arg;

    memcpy(s->dst, s->src, s->len);
    /* The copy is observable: the compiler must assume dst is read. */
    __asm__ volatile("" : : "r"(s->dst) : "memory");
    bench_sink += s->dst[s->len - 1];
    return 0;
}

/* ---- the command ----------------------------------------------------------- */

static const struct {
    const char *letter, *name, *title;
} cases[BENCH_N_CASES] = {
    [BENCH_CASE_BYTES] = { "a", "bytes", "bytes: one 1 MiB blob" },
    [BENCH_CASE_POINTS] = { "b", "points", "points: 10,000 structs {int32 x, y, z; double w}" },
    [BENCH_CASE_DIRENT] = { "c", "dirent",
                            "dirent: directory entry, 3 strings, optional, union, 4 xattrs" },
};

/* The implementations beside memcpy, in output order. */
static const struct {
    const char *name;
    bench_prepare_fn prepare;
} impls[] = {
    { "parley", bench_codec_parley_prepare },
#ifdef HAVE_XDR
    { "xdr", bench_codec_xdr_prepare },
#endif
};
#define N_IMPLS (sizeof(impls) / sizeof(impls[0]))
#define IMPL_PARLEY 0
#define IMPL_XDR 1

enum { OP_ENCODE, OP_DECODE, N_OPS };
static const char *const op_names[N_OPS] = { "encode", "decode" };

typedef struct codec_options {
    bool selected[BENCH_N_CASES];
} codec_options;

/* One case's figures, for the table and the targets. */
typedef struct case_result {
    bool done;
    bench_result impl[2][N_OPS];   /* [IMPL_PARLEY or IMPL_XDR][op] */
    size_t wire_len[2];
    bench_result copy;
    bool has_compact;
    bench_result compact;          /* Parley's decode with PARLEY_DECODE_COMPACT */
} case_result;

void bench_codec_usage(FILE *out)
{
    fputs("  Encode and decode three payloads through Parley's codec (parley/data.h),\n"
          "  through ONC RPC XDR (libtirpc with rpcgen-generated filters) and as a plain\n"
          "  memcpy of the same number of bytes, in the same run on one pinned CPU:\n"
          "    (a) bytes   one 1 MiB byte blob\n"
          "    (b) points  a sequence of 10,000 structs {int32 x, y, z; double w}\n"
          "    (c) dirent  a directory entry: name, owner, group, sizes, times, an\n"
          "                optional birth time, a union of file kinds, 4 extended\n"
          "                attributes\n"
          "  Encoding writes into a buffer allocated once; decoding builds a new object\n"
          "  and frees it again (talloc_free for Parley, xdr_free for XDR); Parley\n"
          "  decodes in its default mode (row 'parley') and with PARLEY_DECODE_COMPACT\n"
          "  (row 'parley-compact'), and the targets are reported for both.  Every\n"
          "  figure is the median of the timed runs, and the runs of a case's rows are\n"
          "  interleaved (one run of each row in turn) so that a burst of load from\n"
          "  elsewhere hits all of them alike; MB/s counts encoded bytes\n"
          "  (1 MB = 10^6 bytes); 'vs memcpy' and 'vs xdr' are speed ratios (2.00x =\n"
          "  twice as fast as that row).  The targets (a, b: at least 0.5x memcpy;\n"
          "  c: at least 2x XDR) are reported, never enforced.  Built without libtirpc\n"
          "  or rpcgen, the XDR rows are omitted and the output says so.\n"
          "\n"
          "  -C, --case=LIST       run only these cases: a comma-separated list of\n"
          "                        a, b, c or bytes, points, dirent (default: all)\n",
          out);
}

static int handle_codec_option(int opt, const char *arg, void *data)
{
    codec_options *o = data;
    char *copy, *tok, *save = NULL;
    int rc = 0;

    if (opt != 'C')
        return BENCH_EXIT_USAGE;
    copy = talloc_strdup(NULL, arg);
    if (copy == NULL)
        return BENCH_EXIT_FAILED;
    memset(o->selected, 0, sizeof(o->selected));
    for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        size_t c;

        for (c = 0; c < BENCH_N_CASES; c++)
            if (strcmp(tok, cases[c].letter) == 0 || strcmp(tok, cases[c].name) == 0)
                break;
        if (c == BENCH_N_CASES) {
            fprintf(stderr, "parley-bench codec: unknown case '%s' (a, b, c, bytes, points, "
                            "dirent)\n", tok);
            rc = BENCH_EXIT_USAGE;
            break;
        }
        o->selected[c] = true;
    }
    talloc_free(copy);
    if (rc == 0 && !o->selected[BENCH_CASE_BYTES] && !o->selected[BENCH_CASE_POINTS] &&
        !o->selected[BENCH_CASE_DIRENT]) {
        fprintf(stderr, "parley-bench codec: --case names no case\n");
        rc = BENCH_EXIT_USAGE;
    }
    return rc;
}

static double mb_per_s(size_t bytes, double ns)
{
    return (double)bytes * 1e3 / ns;
}

static void print_row(const char *op, const char *impl, const bench_result *r, size_t bytes,
                      const bench_result *copy, const bench_result *xdr)
{
    printf("  %-7s %-14s %12.1f %10.1f %6.1f%% %8.2fx", op, impl, r->ns_per_op,
           mb_per_s(bytes, r->ns_per_op), 100.0 * (r->max_ns - r->min_ns) / r->ns_per_op,
           copy->ns_per_op / r->ns_per_op);
    if (xdr != NULL)
        printf(" %7.2fx", xdr->ns_per_op / r->ns_per_op);
    printf("\n");
}

/* Prepare and measure case c; print its table.  0, or BENCH_EXIT_FAILED. */
static int run_case(const bench_config *cfg, bench_case c, case_result *res)
{
    TALLOC_CTX *tmp = talloc_new(NULL);
    bench_subject subj[N_IMPLS];
    copy_state copy;
    int rc = BENCH_EXIT_FAILED;

    memset(subj, 0, sizeof(subj));
    if (tmp == NULL)
        goto done;
    for (size_t i = 0; i < N_IMPLS; i++)
        if (impls[i].prepare(tmp, c, &subj[i]) != 0)
            goto done;

    /* memcpy moves as many bytes as Parley's encoding has. */
    copy.len = subj[IMPL_PARLEY].wire_len;
    copy.src = subj[IMPL_PARLEY].wire;
    copy.dst = talloc_array(tmp, uint8_t, copy.len);
    if (copy.dst == NULL)
        goto done;

    /* Every figure of the case with interleaved runs: the ratios compare
     * runs made side by side, not minutes apart. */
    {
        bench_op_fn ops[3 * N_IMPLS + 1];
        void *args[3 * N_IMPLS + 1];
        bench_result r[3 * N_IMPLS + 1];
        size_t n = 0, compact_at = 0;

        for (size_t i = 0; i < N_IMPLS; i++) {
            res->wire_len[i] = subj[i].wire_len;
            ops[n] = subj[i].encode;
            args[n++] = subj[i].arg;
            ops[n] = subj[i].decode;
            args[n++] = subj[i].arg;
        }
        if (subj[IMPL_PARLEY].decode_compact != NULL) {
            compact_at = n;
            ops[n] = subj[IMPL_PARLEY].decode_compact;
            args[n++] = subj[IMPL_PARLEY].arg;
        }
        ops[n] = memcpy_op;
        args[n++] = &copy;
        if (bench_measure_interleaved(cfg, n, ops, args, r) != 0)
            goto done;
        for (size_t i = 0; i < N_IMPLS; i++) {
            res->impl[i][OP_ENCODE] = r[2 * i];
            res->impl[i][OP_DECODE] = r[2 * i + 1];
        }
        res->copy = r[n - 1];
        if (compact_at != 0) {
            res->has_compact = true;
            res->compact = r[compact_at];
        }
    }
    res->done = true;

    printf("\n(%s) %s\n", cases[c].letter, cases[c].title);
    printf("  wire bytes: parley %zu", res->wire_len[IMPL_PARLEY]);
    if (N_IMPLS > 1)
        printf(", xdr %zu", res->wire_len[IMPL_XDR]);
    printf("; memcpy copies %zu\n", copy.len);
    if (subj[IMPL_PARLEY].decode_allocs != 0)
        printf("  parley decode allocates %zu talloc chunks per value\n",
               subj[IMPL_PARLEY].decode_allocs);
    if (subj[IMPL_PARLEY].decode_compact_allocs != 0)
        printf("  parley-compact decode (PARLEY_DECODE_COMPACT) allocates %zu\n",
               subj[IMPL_PARLEY].decode_compact_allocs);
    printf("  %-7s %-14s %12s %10s %7s %9s%s\n", "op", "impl", "ns/op", "MB/s", "spread",
           "vs memcpy", N_IMPLS > 1 ? "   vs xdr" : "");
    for (int op = 0; op < N_OPS; op++) {
        for (size_t i = 0; i < N_IMPLS; i++)
            print_row(op_names[op], impls[i].name, &res->impl[i][op], res->wire_len[i],
                      &res->copy,
                      i == IMPL_PARLEY && N_IMPLS > 1 ? &res->impl[IMPL_XDR][op] : NULL);
        if (op == OP_DECODE && res->has_compact)
            print_row("decode", "parley-compact", &res->compact, res->wire_len[IMPL_PARLEY],
                      &res->copy, N_IMPLS > 1 ? &res->impl[IMPL_XDR][op] : NULL);
    }
    print_row("copy", "memcpy", &res->copy, copy.len, &res->copy, NULL);
    fflush(stdout);
    rc = 0;
done:
    TALLOC_FREE(tmp);
    return rc;
}

static void print_target(bench_case c, int op, const char *impl, const char *goal,
                         double ratio, double want)
{
    char label[80];

    snprintf(label, sizeof(label), "(%s) %s: %s >= %s", cases[c].letter, op_names[op], impl,
             goal);
    printf("  %-48s %7.2fx  %s\n", label, ratio, ratio >= want ? "met" : "NOT MET");
}

static void print_targets(const case_result *res)
{
    printf("\ntargets (reported, not enforced):\n");
    for (int c = 0; c < BENCH_N_CASES; c++) {
        if (!res[c].done)
            continue;
        for (int op = 0; op < N_OPS; op++) {
            /* decode: the default mode, then compact mode */
            for (int mode = 0; mode < (op == OP_DECODE && res[c].has_compact ? 2 : 1); mode++) {
                const bench_result *p = mode == 0 ? &res[c].impl[IMPL_PARLEY][op]
                                                  : &res[c].compact;
                const char *impl = mode == 0 ? "parley" : "parley-compact";

                if (c != BENCH_CASE_DIRENT)
                    print_target((bench_case)c, op, impl, "0.5x memcpy speed",
                                 res[c].copy.ns_per_op / p->ns_per_op, 0.5);
                else if (N_IMPLS > 1)
                    print_target((bench_case)c, op, impl, "2x xdr speed",
                                 res[c].impl[IMPL_XDR][op].ns_per_op / p->ns_per_op, 2.0);
                else
                    printf("  (%s) %s: %s >= 2x xdr speed: not measured (no XDR)\n",
                           cases[c].letter, op_names[op], impl);
            }
        }
    }
}

int bench_codec_main(int argc, char **argv)
{
    static const struct option own[] = {
        { "case", required_argument, NULL, 'C' },
        { NULL, 0, NULL, 0 },
    };
    bench_config cfg;
    codec_options o;
    case_result res[BENCH_N_CASES];
    bool help = false;
    int rc, cpu;

    bench_config_init(&cfg);
    for (int c = 0; c < BENCH_N_CASES; c++)
        o.selected[c] = true;
    rc = bench_parse_options(argc, argv, own, "C:", handle_codec_option, &o, &cfg, &help);
    if (rc != 0)
        return rc;
    if (help) {
        printf("Usage: parley-bench codec [OPTION]...\n");
        bench_codec_usage(stdout);
        printf("\nOptions for every command:\n");
        bench_common_usage(stdout);
        return BENCH_EXIT_OK;
    }
    if (bench_pin_cpu(&cfg, &cpu) != 0)
        return BENCH_EXIT_FAILED;

    printf("parley-bench codec: Parley codec beside %smemcpy\n",
           N_IMPLS > 1 ? "ONC RPC XDR and " : "");
    bench_print_machine(stdout);
    printf("cpu: pinned to CPU %d\n", cpu);
    printf("timing: median of %u runs, each at least %g s (CLOCK_MONOTONIC), "
           "a case's rows interleaved\n", cfg.runs, cfg.min_time);
#ifndef HAVE_XDR
    printf("XDR rows omitted: parley-bench was built without libtirpc and rpcgen\n");
#endif
    printf("%s: speed relative to that row (2.00x = twice as fast)\n",
           N_IMPLS > 1 ? "vs memcpy, vs xdr" : "vs memcpy");

    memset(res, 0, sizeof(res));
    for (int c = 0; c < BENCH_N_CASES; c++) {
        if (!o.selected[c])
            continue;
        if ((rc = run_case(&cfg, (bench_case)c, &res[c])) != 0)
            return rc;
    }
    print_targets(res);
    return BENCH_EXIT_OK;
}
