/* SPDX-License-Identifier: MIT */
/* parley-idl: the scanner of the ONC RPC language.  rpcgen runs cpp first;
 * parley-idl runs nothing external, so this scanner does the part of cpp
 * that .x files use (doc/idl.md, "Preprocessor lines and %-lines"):
 *
 *   #include "f.x"                 read in place (next to the file, then -I)
 *   #define NAME / #undef NAME      a name for #ifdef; a value is not expanded
 *   #ifdef #ifndef #if #elif #else #endif
 *                                   RPC_HDR, RPC_XDR, RPC_SVC, RPC_CLNT are
 *                                   not defined: their parts are rpcgen's C
 *   %text                           copied into the generated header, unless
 *                                   it is rpcgen's C API (then a warning)
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <talloc.h>

#include "xdr.h"

static void *must(void *p)
{
    if (p == NULL) {
        fprintf(stderr, "parley-idl: fatal: out of memory\n");
        exit(2);
    }
    return p;
}

static void push_file(xdr_lexer *lx, idl_file *f)
{
    xdr_source *s = must(talloc_zero(lx->main, xdr_source));

    s->file = f;
    s->p = f->text;
    s->end = f->text + f->len;
    s->line = 1;
    s->col = 1;
    s->up = lx->src;
    lx->src = s;
}

void xdr_lex_init(xdr_lexer *lx, idl_file *f)
{
    memset(lx, 0, sizeof(*lx));
    lx->unit = f->unit;
    lx->main = f;
    push_file(lx, f);
}

static idl_loc here(const xdr_source *s)
{
    idl_loc l = { s->file, s->line, s->col };
    return l;
}

static bool active(const xdr_source *s)
{
    return s->n_cond == 0 || s->cond[s->n_cond - 1].on;
}

static bool is_defined(const xdr_lexer *lx, const char *name, size_t len)
{
    for (size_t i = 0; i < lx->n_defined; i++)
        if (strlen(lx->defined[i]) == len && memcmp(lx->defined[i], name, len) == 0)
            return true;
    return false;
}

/* The rest of the current line [p, eol), and move past its newline. */
static const char *take_line(xdr_source *s, const char **ret_eol)
{
    const char *start = s->p, *eol = memchr(s->p, '\n', (size_t)(s->end - s->p));

    if (eol == NULL)
        eol = s->end;
    *ret_eol = eol;
    s->p = eol < s->end ? eol + 1 : eol;
    s->line++;
    s->col = 1;
    return start;
}

static const char *skip_blank(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\f' || *p == '\v'))
        p++;
    return p;
}

static size_t ident_len(const char *p, const char *end)
{
    size_t n = 0;
    if (p < end && (isalpha((unsigned char)*p) || *p == '_'))
        while (p + n < end && (isalnum((unsigned char)p[n]) || p[n] == '_'))
            n++;
    return n;
}

/* #if's condition: NAME, !NAME, defined(NAME), !defined NAME, 0, 1. */
static bool eval_if(xdr_lexer *lx, idl_loc loc, const char *p, const char *eol)
{
    bool neg = false, paren = false, v;
    size_t n;

    p = skip_blank(p, eol);
    if (p < eol && *p == '!') {
        neg = true;
        p = skip_blank(p + 1, eol);
    }
    n = ident_len(p, eol);
    if (n == 7 && memcmp(p, "defined", 7) == 0) {
        p = skip_blank(p + 7, eol);
        if (p < eol && *p == '(') {
            paren = true;
            p = skip_blank(p + 1, eol);
        }
        n = ident_len(p, eol);
    }
    if (n > 0) {
        v = is_defined(lx, p, n);
        p = skip_blank(p + n, eol);
        if (paren && p < eol && *p == ')')
            p = skip_blank(p + 1, eol);
    } else if (p < eol && (*p == '0' || *p == '1')) {
        v = *p == '1';
        p = skip_blank(p + 1, eol);
    } else {
        p = eol + 1;
        v = false;
    }
    if (p < eol && !(p + 1 < eol && p[0] == '/' && (p[1] == '*' || p[1] == '/'))) {
        idl_warning(lx->unit, loc, "cannot evaluate this #if (only NAME, defined(NAME), "
                    "their negation, 0 and 1 are understood); it is taken as false");
        return false;
    }
    return neg ? !v : v;
}

static bool include_file(xdr_lexer *lx, idl_loc loc, const char *p, const char *eol)
{
    const char *close;
    char *name;
    idl_file *f;

    p = skip_blank(p, eol);
    if (p < eol && *p == '<') {
        idl_warning(lx->unit, loc, "#include <...> is skipped (only #include \"file.x\" is "
                    "read)");
        return false;
    }
    if (p >= eol || *p != '"' || (close = memchr(p + 1, '"', (size_t)(eol - p - 1))) == NULL) {
        idl_error(lx->unit, loc, "expected #include \"file.x\"");
        return false;
    }
    if (lx->unit->opts->no_imports) {
        idl_error(lx->unit, loc, "#include is not available here");
        return false;
    }
    if (lx->depth + 1 > IDL_MAX_IMPORT_DEPTH) {
        idl_error(lx->unit, loc, "#include nested too deeply (the limit is %d)",
                  IDL_MAX_IMPORT_DEPTH);
        return false;
    }
    name = must(talloc_strndup(lx->main, p + 1, (size_t)(close - p - 1)));
    f = idl_file_include(lx->unit, lx->src->file, name, loc);
    if (f == NULL)
        return false;
    for (const xdr_source *s = lx->src; s != NULL; s = s->up) {
        if (strcmp(s->file->path, f->path) == 0) {
            idl_error(lx->unit, loc, "#include cycle: '%s' includes itself", s->file->name);
            return false;
        }
    }
    f->xdr = true;
    push_file(lx, f);
    lx->depth++;
    return true;
}

static void directive(xdr_lexer *lx, idl_loc loc, const char *p, const char *eol)
{
    xdr_source *s = lx->src;
    size_t n;
    const char *word;
    bool on = active(s);

    p = skip_blank(p + 1, eol);         /* past '#' */
    word = p;
    n = ident_len(p, eol);
    p += n;
#define IS(w) (n == sizeof(w) - 1 && memcmp(word, w, n) == 0)
    if (IS("ifdef") || IS("ifndef") || IS("if")) {
        bool v;
        if (s->n_cond == XDR_MAX_COND) {
            idl_error(lx->unit, loc, "#if nested too deeply (the limit is %d)", XDR_MAX_COND);
            return;
        }
        if (IS("if")) {
            v = on && eval_if(lx, loc, p, eol);
        } else {
            const char *q = skip_blank(p, eol);
            size_t m = ident_len(q, eol);
            if (m == 0 && on)
                idl_error(lx->unit, loc, "#%.*s needs a name", (int)n, word);
            v = is_defined(lx, q, m) == IS("ifdef");
        }
        s->cond[s->n_cond].parent_on = on;
        s->cond[s->n_cond].on = on && v;
        s->cond[s->n_cond].seen_else = false;
        s->cond[s->n_cond].taken = on && v;
        s->cond[s->n_cond].loc = loc;
        s->n_cond++;
        return;
    }
    if (IS("else") || IS("elif") || IS("endif")) {
        if (s->n_cond == 0) {
            idl_error(lx->unit, loc, "#%.*s without #if", (int)n, word);
            return;
        }
        if (IS("endif")) {
            s->n_cond--;
            return;
        }
        if (s->cond[s->n_cond - 1].seen_else) {
            idl_error(lx->unit, loc, "#%.*s after #else", (int)n, word);
            return;
        }
        {
            /* a branch is taken when no earlier one of its #if was */
            int i = s->n_cond - 1;
            bool v = true;
            if (IS("else"))
                s->cond[i].seen_else = true;
            else if (s->cond[i].parent_on && !s->cond[i].taken)
                v = eval_if(lx, loc, p, eol);
            s->cond[i].on = s->cond[i].parent_on && !s->cond[i].taken && v;
            s->cond[i].taken = s->cond[i].taken || s->cond[i].on;
        }
        return;
    }
    if (!on)
        return;
    if (IS("define") || IS("undef")) {
        const char *q = skip_blank(p, eol);
        size_t m = ident_len(q, eol);
        if (m == 0) {
            idl_error(lx->unit, loc, "#%.*s needs a name", (int)n, word);
            return;
        }
        if (IS("undef")) {
            for (size_t i = 0; i < lx->n_defined; i++)
                if (strlen(lx->defined[i]) == m && memcmp(lx->defined[i], q, m) == 0)
                    lx->defined[i] = "";
            return;
        }
        if (skip_blank(q + m, eol) < eol)
            idl_warning(lx->unit, loc, "the value of #define %.*s is not substituted (use "
                        "'const')", (int)m, q);
        lx->defined = must(talloc_realloc(lx->main, lx->defined, const char *,
                                          lx->n_defined + 1));
        lx->defined[lx->n_defined++] = must(talloc_strndup(lx->main, q, m));
        return;
    }
    if (IS("include")) {
        include_file(lx, loc, p, eol);
        return;
    }
    if (IS("pragma") || IS("ident") || IS("line") || n == 0)
        return;     /* nothing for the IDL (n == 0: "#" alone or "# 12 file") */
    idl_error(lx->unit, loc, "unknown preprocessor directive '#%.*s'", (int)n, word);
#undef IS
}

/* Every %-line, also in a part for rpcgen only: remember `#define NAME VALUE`
 * (a .x may use NAME as a constant) and `#include <dir/NAME.h>` (the header
 * rpcgen makes from NAME.x: an import when NAME.x is found). */
static void harvest(xdr_lexer *lx, idl_loc loc, const char *p, const char *eol)
{
    const char *q = skip_blank(p + 1, eol);
    size_t n;

    if (q >= eol || *q != '#')
        return;
    q = skip_blank(q + 1, eol);
    if ((size_t)(eol - q) > 6 && memcmp(q, "define", 6) == 0) {
        const char *name = skip_blank(q + 6, eol), *v;
        n = ident_len(name, eol);
        v = skip_blank(name + n, eol);
        if (n == 0 || v >= eol || *v == '(' || name + n == v)
            return;
        lx->macros = must(talloc_realloc(lx->main, lx->macros, struct xdr_macro,
                                         lx->n_macros + 1));
        lx->macros[lx->n_macros].name = must(talloc_strndup(lx->main, name, n));
        lx->macros[lx->n_macros].value = must(talloc_strndup(lx->main, v, (size_t)(eol - v)));
        lx->macros[lx->n_macros].loc = loc;
        lx->n_macros++;
    } else if ((size_t)(eol - q) > 7 && memcmp(q, "include", 7) == 0) {
        const char *a = skip_blank(q + 7, eol), *b, *slash;
        if (a >= eol || (*a != '<' && *a != '"'))
            return;
        b = memchr(a + 1, *a == '<' ? '>' : '"', (size_t)(eol - a - 1));
        if (b == NULL || b - a < 4 || memcmp(b - 2, ".h", 2) != 0)
            return;
        slash = a + 1;
        for (const char *c = a + 1; c < b; c++)
            if (*c == '/')
                slash = c + 1;
        lx->headers = must(talloc_realloc(lx->main, lx->headers, struct xdr_header,
                                          lx->n_headers + 1));
        lx->headers[lx->n_headers].base = must(talloc_strndup(lx->main, slash,
                                                              (size_t)(b - 2 - slash)));
        lx->headers[lx->n_headers].loc = loc;
        lx->n_headers++;
    }
}

/* A %-line: rpcgen copies it into its output; here into the header. */
/* What in a %-line belongs to rpcgen's C (its XDR routines, client and
 * server types, headers): such a line cannot mean anything next to
 * Parley's generated code. */
static const char *rpcgen_only(const char *text)
{
    static const char *const words[] = {
        "XDR", "bool_t", "enum_t", "CLIENT", "SVCXPRT", "xdrproc_t", "caddr_t",
    };
    static const char *const parts[] = { "<rpc/", "<rpcsvc/", "#pragma" };

    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        if (strstr(text, parts[i]) != NULL)
            return parts[i];
    for (const char *p = text; *p;) {
        size_t n = ident_len(p, p + strlen(p));
        if (n == 0) {
            p++;
            continue;
        }
        if (n > 4 && memcmp(p, "xdr_", 4) == 0)
            return "xdr_";
        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
            if (strlen(words[i]) == n && memcmp(words[i], p, n) == 0)
                return words[i];
        p += n;
    }
    return NULL;
}

/* A %-line [p, eol): rpcgen copies it into its output; here into the header. */
static void percent_line(xdr_lexer *lx, idl_loc loc, const char *p, const char *eol)
{
    char *text = must(talloc_strndup(lx->main, p + 1, (size_t)(eol - p - 1)));
    size_t len = strlen(text);
    const char *what;

    if (len > 0 && text[len - 1] == '\r')
        text[--len] = '\0';
    what = rpcgen_only(text);
    if (what != NULL) {
        idl_warning(lx->unit, loc, "%%-line not copied: '%s' belongs to rpcgen's C, not to "
                    "Parley's", what);
        talloc_free(text);
        return;
    }
    lx->main->passthrough = must(talloc_asprintf_append_buffer(
        lx->main->passthrough != NULL ? lx->main->passthrough : talloc_strdup(lx->main, ""),
        "%s\n", text));
    talloc_free(text);
}

static void token(xdr_token *t, int kind, idl_loc loc)
{
    t->kind = kind;
    t->loc = loc;
    t->text = NULL;
    t->value = 0;
}

void xdr_lex_next(xdr_lexer *lx, xdr_token *tok)
{
    for (;;) {
        xdr_source *s = lx->src;
        const char *p;
        idl_loc loc;

        if (lx->unit->stopped) {
            token(tok, XT_EOF, here(s));
            return;
        }
        if (s->p >= s->end) {
            for (int i = s->n_cond; i > 0; i--)
                idl_error(lx->unit, s->cond[i - 1].loc, "#if without #endif");
            s->n_cond = 0;
            if (s->up == NULL) {
                token(tok, XT_EOF, here(s));
                return;
            }
            lx->src = s->up;
            lx->depth--;
            continue;
        }
        /* at the start of a line: directives, %-lines, skipped regions */
        if (s->col == 1) {
            const char *q = skip_blank(s->p, s->end), *eol;
            if (q < s->end && (*q == '#' || *q == '%')) {
                idl_loc l = { s->file, s->line, (int)(q - s->p) + 1 };
                take_line(s, &eol);
                if (*q == '#') {
                    directive(lx, l, q, eol);
                } else {
                    harvest(lx, l, q, eol);
                    if (active(s))
                        percent_line(lx, l, q, eol);
                }
                continue;
            }
            if (!active(s)) {
                take_line(s, &eol);
                continue;
            }
        }
        p = s->p;
        loc = here(s);
        if (*p == '\n') {
            s->p++;
            s->line++;
            s->col = 1;
            continue;
        }
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\f' || *p == '\v') {
            s->p++;
            s->col++;
            continue;
        }
        if (*p == '/' && p + 1 < s->end && p[1] == '/') {
            const char *eol;
            take_line(s, &eol);
            continue;
        }
        if (*p == '/' && p + 1 < s->end && p[1] == '*') {
            const char *q = p + 2;
            s->col += 2;
            while (q < s->end && !(q[0] == '*' && q + 1 < s->end && q[1] == '/')) {
                if (*q == '\n') {
                    s->line++;
                    s->col = 1;
                } else {
                    s->col++;
                }
                q++;
            }
            if (q >= s->end) {
                idl_error(lx->unit, loc, "unterminated comment");
                s->p = s->end;
                continue;
            }
            s->p = q + 2;
            s->col += 2;
            continue;
        }
        if (isalpha((unsigned char)*p) || *p == '_') {
            size_t n = ident_len(p, s->end);
            token(tok, XT_IDENT, loc);
            tok->text = must(talloc_strndup(lx->main, p, n));
            s->p += n;
            s->col += (int)n;
            return;
        }
        if (isdigit((unsigned char)*p)) {
            const char *q = p;
            unsigned base = 10;
            uint64_t v = 0;
            bool big = false, bad = false;
            if (*q == '0' && q + 1 < s->end && (q[1] == 'x' || q[1] == 'X')) {
                base = 16;
                q += 2;
            } else if (*q == '0') {
                base = 8;
            }
            for (; q < s->end && (isalnum((unsigned char)*q) || *q == '_'); q++) {
                unsigned d = isdigit((unsigned char)*q) ? (unsigned)(*q - '0')
                           : isalpha((unsigned char)*q) ? (unsigned)((*q | 0x20) - 'a' + 10) : 99;
                if (d >= base) {
                    bad = true;
                } else if (v > (UINT64_C(0x7fffffffffffffff) - d) / base) {
                    big = true;
                } else {
                    v = v * base + d;
                }
            }
            token(tok, XT_INT, loc);
            if (bad || (base == 16 && q == p + 2))
                idl_error(lx->unit, loc, "invalid number '%.*s'", (int)(q - p), p);
            else if (big)
                idl_error(lx->unit, loc, "integer constant '%.*s' is too large (the limit is "
                          "9223372036854775807)", (int)(q - p), p);
            else
                tok->value = (int64_t)v;
            s->col += (int)(q - p);
            s->p = q;
            return;
        }
        if (*p == '"') {
            const char *q = p + 1;
            while (q < s->end && *q != '"' && *q != '\n' && *q != '\\')
                q++;
            token(tok, XT_STRING, loc);
            if (q >= s->end || *q != '"') {
                idl_error(lx->unit, loc, "unterminated or invalid string (escapes are not "
                          "allowed)");
                tok->text = "";
                while (q < s->end && *q != '\n')
                    q++;
            } else {
                tok->text = must(talloc_strndup(lx->main, p + 1, (size_t)(q - p - 1)));
                q++;
            }
            s->col += (int)(q - p);
            s->p = q;
            return;
        }
        if ((*p == '<' || *p == '>') && p + 1 < s->end && p[1] == *p) {
            token(tok, *p == '<' ? XT_SHL : XT_SHR, loc);
            s->p += 2;
            s->col += 2;
            return;
        }
        if (strchr("{}()[]<>;,:=*+-/&|^~", *p) != NULL && *p != '\0') {
            token(tok, *p, loc);
            s->p++;
            s->col++;
            return;
        }
        {
            unsigned char c = (unsigned char)*p;
            if (c >= 0x20 && c < 0x7f)
                idl_error(lx->unit, loc, "unexpected character '%c'", c);
            else
                idl_error(lx->unit, loc, "unexpected byte 0x%02x", c);
            s->p++;
            s->col++;
        }
    }
}
