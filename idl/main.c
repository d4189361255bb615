/* SPDX-License-Identifier: MIT */
/* parley-idl: compile a Parley IDL file to C (kv.idl -> kv.h, kv.c). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <talloc.h>

#include "ast.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: parley-idl [OPTION]... FILE.idl\n"
            "       parley-idl [OPTION]... [--xdr] FILE.x\n"
            "Compile a Parley IDL file to C: writes DIR/FILE.h and DIR/FILE.c.\n"
            "\n"
            "  -o DIR        write the generated files into DIR (default: .)\n"
            "  -I DIR        search DIR for imported files (after the importing\n"
            "                file's own directory); may be repeated\n"
            "  --xdr         read FILE as ONC RPC language (rpcgen's .x), as for any\n"
            "                FILE ending in .x: writes DIR/FILE.h and DIR/FILE.c\n"
            "  --describe    print the canonical shape and fingerprint of every\n"
            "                type and method instead of generating code\n"
            "  -Werror       treat warnings as errors\n"
            "  --help        show this help and exit\n"
            "  --version     show the version and exit\n"
            "\n"
            "Diagnostics are printed as FILE:LINE:COLUMN: error: MESSAGE.\n"
            "Exit status: 0 on success, 1 when the input has errors, 2 on usage or\n"
            "I/O errors.\n");
}

static int write_file(const char *dir, const char *base, const char *ext, const char *text)
{
    char *path = talloc_asprintf(NULL, "%s/%s.%s", dir, base, ext);
    char *tmp = talloc_asprintf(path, "%s.tmp%ld", path, (long)getpid());
    FILE *fp;
    size_t len = strlen(text);
    int rc = 0;

    if (path == NULL || tmp == NULL) {
        fprintf(stderr, "parley-idl: out of memory\n");
        talloc_free(path);
        return -1;
    }
    fp = fopen(tmp, "w");
    if (fp == NULL || fwrite(text, 1, len, fp) != len || fclose(fp) != 0) {
        fprintf(stderr, "parley-idl: cannot write '%s': %s\n", tmp, strerror(errno));
        if (fp != NULL)
            unlink(tmp);
        rc = -1;
    } else if (rename(tmp, path) != 0) {
        fprintf(stderr, "parley-idl: cannot write '%s': %s\n", path, strerror(errno));
        unlink(tmp);
        rc = -1;
    }
    talloc_free(path);
    return rc;
}

int main(int argc, char **argv)
{
    void *mem = talloc_new(NULL);
    const char **incs = talloc_array(mem, const char *, argc + 1);
    const char *outdir = ".", *input = NULL;
    bool describe = false;
    idl_options opts;
    idl_unit *u;
    int rc = 2;

    memset(&opts, 0, sizeof(opts));
    opts.diag_out = stderr;
    opts.include_dirs = incs;
    if (mem == NULL || incs == NULL) {
        fprintf(stderr, "parley-idl: out of memory\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            rc = 0;
            goto done;
        } else if (strcmp(a, "--version") == 0) {
            printf("parley-idl %s\n", PACKAGE_VERSION);
            rc = 0;
            goto done;
        } else if (strcmp(a, "--describe") == 0) {
            describe = true;
        } else if (strcmp(a, "--xdr") == 0) {
            opts.xdr = true;
        } else if (strcmp(a, "-Werror") == 0) {
            opts.werror = true;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "-I") == 0) {
            if (i + 1 == argc) {
                fprintf(stderr, "parley-idl: option '%s' needs an argument\n", a);
                goto usage_error;
            }
            if (a[1] == 'o')
                outdir = argv[++i];
            else
                incs[opts.n_include_dirs++] = argv[++i];
        } else if (strncmp(a, "-I", 2) == 0) {
            incs[opts.n_include_dirs++] = a + 2;
        } else if (strncmp(a, "-o", 2) == 0) {
            outdir = a + 2;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "parley-idl: unknown option '%s'\n", a);
            goto usage_error;
        } else if (input != NULL) {
            fprintf(stderr, "parley-idl: only one input file may be given\n");
            goto usage_error;
        } else {
            input = a;
        }
    }
    if (input == NULL) {
        fprintf(stderr, "parley-idl: no input file\n");
        goto usage_error;
    }

    u = idl_unit_new(mem, &opts);
    if (u == NULL) {
        fprintf(stderr, "parley-idl: out of memory\n");
        goto done;
    }
    if (!idl_load_file(u, input))
        goto done;
    if (idl_check(u) > 0) {
        rc = 1;
        goto done;
    }
    if (describe) {
        fputs(idl_describe(mem, u), stdout);
        rc = fflush(stdout) == 0 ? 0 : 2;
        goto done;
    }
    if (write_file(outdir, u->main->base, "h", idl_gen_header(mem, u, PACKAGE_VERSION)) != 0 ||
        write_file(outdir, u->main->base, "c", idl_gen_source(mem, u, PACKAGE_VERSION)) != 0)
        goto done;
    rc = 0;
    goto done;

usage_error:
    fprintf(stderr, "Try 'parley-idl --help'.\n");
    rc = 2;
done:
    talloc_free(mem);
    return rc;
}
