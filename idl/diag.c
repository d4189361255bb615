/* SPDX-License-Identifier: MIT */
/* parley-idl: diagnostics in GCC's format, with the source line and a caret:
 *
 *   kv.idl:4:8: error: duplicate type name 'entry'
 *       4 | struct entry {
 *         |        ^
 *
 * Errors are counted; after IDL_MAX_ERRORS the unit stops (the lexer then
 * returns end of input and nothing more is printed). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ast.h"

static void show_line(FILE *out, const idl_file *f, int line, int col)
{
    const char *p = f->text, *end = f->text + f->len, *eol;
    int n = 1;
    char gutter[32];
    int width;

    if (p == NULL || line < 1)
        return;
    while (n < line && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            return;
        p = nl + 1;
        n++;
    }
    if (n != line)
        return;
    eol = memchr(p, '\n', (size_t)(end - p));
    if (eol == NULL)
        eol = end;
    width = snprintf(gutter, sizeof(gutter), "%5d", line);
    fprintf(out, "%s | ", gutter);
    for (const char *q = p; q < eol; q++) {
        unsigned char c = (unsigned char)*q;
        fputc(c == '\t' || (c >= 0x20 && c != 0x7f) ? c : '?', out);
    }
    fputc('\n', out);
    fprintf(out, "%*s | ", width, "");
    for (int i = 1; i < col && p + i - 1 < eol; i++)
        fputc(p[i - 1] == '\t' ? '\t' : ' ', out);
    fputs("^\n", out);
}

__attribute__((format(printf, 5, 0)))
static void report(idl_unit *u, idl_loc loc, const char *what, const char *suffix,
                   const char *fmt, va_list ap)
{
    FILE *out = u->opts->diag_out;

    if (out == NULL)
        return;
    if (loc.file != NULL)
        fprintf(out, "%s:%d:%d: %s: ", loc.file->name, loc.line, loc.col, what);
    else
        fprintf(out, "parley-idl: %s: ", what);
    vfprintf(out, fmt, ap);
    fprintf(out, "%s\n", suffix);
    if (loc.file != NULL)
        show_line(out, loc.file, loc.line, loc.col);
}

static void count_error(idl_unit *u)
{
    u->errors++;
    if (u->errors >= IDL_MAX_ERRORS) {
        u->stopped = true;
        if (u->opts->diag_out != NULL)
            fprintf(u->opts->diag_out, "parley-idl: error: too many errors (%d); stopping\n",
                    u->errors);
    }
}

void idl_error(idl_unit *u, idl_loc loc, const char *fmt, ...)
{
    va_list ap;

    if (u->stopped)
        return;
    va_start(ap, fmt);
    report(u, loc, "error", "", fmt, ap);
    va_end(ap);
    count_error(u);
}

void idl_warning(idl_unit *u, idl_loc loc, const char *fmt, ...)
{
    va_list ap;

    if (u->stopped)
        return;
    va_start(ap, fmt);
    if (u->opts->werror) {
        report(u, loc, "error", " [-Werror]", fmt, ap);
        count_error(u);
    } else {
        report(u, loc, "warning", "", fmt, ap);
        u->warnings++;
    }
    va_end(ap);
}

void idl_note(idl_unit *u, idl_loc loc, const char *fmt, ...)
{
    va_list ap;

    if (u->stopped)
        return;
    va_start(ap, fmt);
    report(u, loc, "note", "", fmt, ap);
    va_end(ap);
}

void idl_error_plain(idl_unit *u, const char *fmt, ...)
{
    va_list ap;
    idl_loc none = { NULL, 0, 0 };

    if (u->stopped)
        return;
    va_start(ap, fmt);
    report(u, none, "error", "", fmt, ap);
    va_end(ap);
    count_error(u);
}
