/* SPDX-License-Identifier: MIT */
/* parley-idl: reading files, resolving imports, running the parser. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <talloc.h>

#include "ast.h"
#include "xdr.h"

/* Largest IDL file read (the lexer works on int lengths). */
#define IDL_MAX_FILE (16u << 20)

idl_unit *idl_unit_new(void *mem_ctx, const idl_options *opts)
{
    idl_unit *u = talloc_zero(mem_ctx, idl_unit);
    if (u == NULL)
        return NULL;
    u->opts = opts;
    u->files_tail = &u->files;
    u->decls_tail = &u->decls;
    return u;
}

static idl_file *file_new(idl_unit *u, const char *name)
{
    idl_file *f = talloc_zero(u, idl_file);
    const char *slash, *base;
    size_t n;

    if (f == NULL)
        return NULL;
    f->unit = u;
    f->name = talloc_strdup(f, name);
    slash = strrchr(name, '/');
    base = slash != NULL ? slash + 1 : name;
    f->dir = slash != NULL ? talloc_strndup(f, name, (size_t)(slash - name) + (slash == name))
                           : talloc_strdup(f, "");
    n = strlen(base);
    if (n > 4 && strcmp(base + n - 4, ".idl") == 0)
        n -= 4;
    else if (n > 2 && strcmp(base + n - 2, ".x") == 0)
        n -= 2;
    f->xdr = u->opts->xdr || (strlen(base) > 2 && strcmp(base + strlen(base) - 2, ".x") == 0);
    f->base = talloc_strndup(f, base, n);
    f->decls_tail = &f->decls;
    f->imports_tail = &f->imports;
    if (f->name == NULL || f->dir == NULL || f->base == NULL) {
        talloc_free(f);
        return NULL;
    }
    return f;
}

/* Read a whole file; NULL with errno set on failure. */
static char *read_all(void *ctx, const char *path, size_t *ret_len)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;

    if (fp == NULL)
        return NULL;
    for (;;) {
        size_t got;
        if (len == cap) {
            char *nb;
            cap = cap ? cap * 2 : 8192;
            if (cap > IDL_MAX_FILE + 1) {
                errno = EFBIG;
                goto fail;
            }
            nb = talloc_realloc(ctx, buf, char, cap + 1);
            if (nb == NULL) {
                errno = ENOMEM;
                goto fail;
            }
            buf = nb;
        }
        got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (got == 0) {
            if (ferror(fp)) {
                errno = EIO;
                goto fail;
            }
            break;
        }
    }
    if (len > IDL_MAX_FILE) {
        errno = EFBIG;
        goto fail;
    }
    if (buf == NULL && (buf = talloc_array(ctx, char, 1)) == NULL)
        goto fail;
    buf[len] = '\0';
    fclose(fp);
    *ret_len = len;
    return buf;
fail:
    talloc_free(buf);
    fclose(fp);
    return NULL;
}

static void add_to_unit(idl_unit *u, idl_file *f)
{
    *u->files_tail = f;
    u->files_tail = &f->next;
    for (idl_decl *d = f->decls; d != NULL; d = d->next) {
        *u->decls_tail = d;
        u->decls_tail = &d->unit_next;
        u->n_decls++;
    }
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static idl_file *find_loaded(idl_unit *u, const char *real)
{
    for (idl_file *f = u->files; f != NULL; f = f->next)
        if (strcmp(f->path, real) == 0)
            return f;
    return NULL;
}

static void load_imports(idl_unit *u, idl_file *f, int depth);

idl_file *idl_file_include(idl_unit *u, idl_file *from, const char *path, idl_loc loc)
{
    char *cand = NULL, *real;
    idl_file *g;

    if (path[0] == '/') {
        if (is_file(path))
            cand = talloc_strdup(from, path);
    } else {
        cand = from->dir[0] != '\0' ? talloc_asprintf(from, "%s/%s", from->dir, path)
                                    : talloc_strdup(from, path);
        for (size_t i = 0; cand != NULL && !is_file(cand) && i < u->opts->n_include_dirs; i++) {
            talloc_free(cand);
            cand = talloc_asprintf(from, "%s/%s", u->opts->include_dirs[i], path);
        }
        if (cand != NULL && !is_file(cand))
            TALLOC_FREE(cand);
    }
    if (cand == NULL) {
        idl_error(u, loc, "cannot find '%s' (searched next to the file and along -I)", path);
        return NULL;
    }
    real = realpath(cand, NULL);
    g = file_new(u, cand);
    if (g == NULL || real == NULL || (g->path = talloc_strdup(g, real)) == NULL ||
        (g->text = read_all(g, cand, &g->len)) == NULL) {
        idl_error(u, loc, "cannot read '%s': %s", cand, strerror(errno));
        free(real);
        talloc_free(g);
        return NULL;
    }
    free(real);
    return g;
}

/* Parse f (text already set), then its imports; then add it to the unit. */
static void parse_and_add(idl_unit *u, idl_file *f, int depth)
{
    f->loading = 1;
    if (f->xdr)
        idl_parse_xdr(f);
    else
        idl_parse_text(f);
    load_imports(u, f, depth);
    f->loading = 0;
    add_to_unit(u, f);
}

/* Files on the import stack, for cycle detection (not yet in u->files). */
struct idl_import_frame {
    idl_file *file;
    struct idl_import_frame *up;
};
typedef struct idl_import_frame stack_entry;

static void load_imports(idl_unit *u, idl_file *f, int depth)
{
    stack_entry self = { f, u->import_stack };

    u->import_stack = &self;
    for (idl_import *im = f->imports; im != NULL && !u->stopped; im = im->next) {
        char *cand = NULL, *real = NULL;
        idl_file *g = NULL;

        if (u->opts->no_imports) {
            idl_error(u, im->loc, "imports are not available here");
            continue;
        }
        if (im->path[0] == '/') {
            if (is_file(im->path))
                cand = talloc_strdup(f, im->path);
        } else {
            cand = f->dir[0] != '\0' ? talloc_asprintf(f, "%s/%s", f->dir, im->path)
                                     : talloc_strdup(f, im->path);
            if (cand != NULL && !is_file(cand)) {
                TALLOC_FREE(cand);
                for (size_t i = 0; i < u->opts->n_include_dirs; i++) {
                    cand = talloc_asprintf(f, "%s/%s", u->opts->include_dirs[i], im->path);
                    if (cand != NULL && is_file(cand))
                        break;
                    TALLOC_FREE(cand);
                }
            }
        }
        if (cand == NULL) {
            idl_error(u, im->loc, "cannot find '%s' (searched next to the file and along -I)",
                      im->path);
            continue;
        }
        real = realpath(cand, NULL);
        if (real == NULL) {
            idl_error(u, im->loc, "cannot open '%s': %s", cand, strerror(errno));
            continue;
        }
        for (stack_entry *s = u->import_stack; s != NULL; s = s->up) {
            if (strcmp(s->file->path, real) == 0) {
                idl_error(u, im->loc, "import cycle: '%s' imports itself through '%s'",
                          s->file->name, f->name);
                g = s->file;
                break;
            }
        }
        if (g == NULL)
            g = find_loaded(u, real);
        if (g != NULL) {
            im->file = g;
            free(real);
            continue;
        }
        if (depth + 1 > IDL_MAX_IMPORT_DEPTH) {
            idl_error(u, im->loc, "imports nested too deeply (the limit is %d)",
                      IDL_MAX_IMPORT_DEPTH);
            free(real);
            continue;
        }
        g = file_new(u, cand);
        if (g == NULL) {
            free(real);
            idl_error(u, im->loc, "out of memory");
            continue;
        }
        g->path = talloc_strdup(g, real);
        free(real);
        g->text = read_all(g, cand, &g->len);
        if (g->text == NULL || g->path == NULL) {
            idl_error(u, im->loc, "cannot read '%s': %s", cand, strerror(errno));
            talloc_free(g);
            continue;
        }
        im->file = g;
        parse_and_add(u, g, depth + 1);
    }
    u->import_stack = self.up;
}

bool idl_load_file(idl_unit *u, const char *path)
{
    idl_file *f = file_new(u, path);
    char *real;

    if (f == NULL) {
        idl_error_plain(u, "out of memory");
        return false;
    }
    if (!is_file(path)) {
        struct stat st;
        idl_error_plain(u, "cannot read '%s': %s", path,
                        stat(path, &st) != 0 ? strerror(errno) : "not a regular file");
        talloc_free(f);
        return false;
    }
    f->text = read_all(f, path, &f->len);
    real = realpath(path, NULL);
    if (f->text == NULL || real == NULL) {
        idl_error_plain(u, "cannot read '%s': %s", path, strerror(errno));
        free(real);
        talloc_free(f);
        return false;
    }
    f->path = talloc_strdup(f, real);
    free(real);
    u->main = f;
    parse_and_add(u, f, 0);
    return true;
}

void idl_load_buffer(idl_unit *u, const char *name, const char *text, size_t len)
{
    idl_file *f = file_new(u, name);

    if (f == NULL || len > IDL_MAX_FILE) {
        idl_error_plain(u, f == NULL ? "out of memory" : "input too large");
        talloc_free(f);
        return;
    }
    f->text = text;
    f->len = len;
    f->path = f->name;
    u->main = f;
    parse_and_add(u, f, 0);
}
