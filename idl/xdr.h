/* SPDX-License-Identifier: MIT */
/* parley-idl: the ONC RPC language (RFC 4506 section 6, RFC 5531 section
 * 12) front end, shared by its scanner (xdr_lex.c) and parser (xdr_parse.c).
 * It reads a .x file into the same syntax tree as the IDL (doc/idl.md,
 * "ONC RPC .x files"). */
#ifndef PARLEY_IDL_XDR_H
#define PARLEY_IDL_XDR_H

#include "ast.h"

#define XDR_MAX_COND 64        /* nested #if */

typedef enum xdr_tok {
    XT_EOF = 0,
    XT_IDENT = 256,
    XT_INT,
    XT_STRING,
    XT_SHL,
    XT_SHR
} xdr_tok;

typedef struct xdr_token {
    int kind;                  /* xdr_tok or a punctuation character */
    idl_loc loc;
    const char *text;          /* IDENT, STRING */
    int64_t value;             /* INT */
} xdr_token;

/* One file being read (the main file or an #include'd one). */
typedef struct xdr_source {
    idl_file *file;
    const char *p, *end;
    int line, col;
    struct {
        bool parent_on, on, taken, seen_else;
        idl_loc loc;
    } cond[XDR_MAX_COND];
    int n_cond;
    struct xdr_source *up;
} xdr_source;

typedef struct xdr_lexer {
    idl_unit *unit;
    idl_file *main;
    xdr_source *src;
    int depth;                 /* of #include */
    const char **defined;      /* #define'd names (talloc array) */
    size_t n_defined;
    /* from %#define NAME VALUE and %#include <.../NAME.h>, in any region */
    struct xdr_macro { const char *name, *value; idl_loc loc; } *macros;
    size_t n_macros;
    struct xdr_header { const char *base; idl_loc loc; } *headers;
    size_t n_headers;
} xdr_lexer;

/* Start reading file f (its text is loaded). */
void xdr_lex_init(xdr_lexer *lx, idl_file *f);
/* The next token; XT_EOF at the end of the main file (or once the unit
 * stopped).  Directives and %-lines are handled here. */
void xdr_lex_next(xdr_lexer *lx, xdr_token *tok);

/* After the parse of f (xdr_fixup.c): C type names, netobj, constants from
 * %#define lines, imports from %#include lines.  refs: the names the file
 * uses as constants. */
void xdr_fixup(idl_file *f, const xdr_lexer *lx, const char *const *refs, size_t n_refs);

/* Parse a .x file (load.c calls it instead of the IDL grammar). */
void idl_parse_xdr(idl_file *f);

#endif
