/* SPDX-License-Identifier: MIT */
/* parley-idl: the syntax tree, and the interfaces between the compiler's
 * modules (load, check, shape, generators).  Everything hangs under one
 * talloc context, the idl_unit, so one talloc_free() releases a compilation. */
#ifndef PARLEY_IDL_AST_H
#define PARLEY_IDL_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "parley/type.h"

/* Limits that keep the compiler bounded on any input. */
#define IDL_MAX_ERRORS 20              /* errors reported before stopping */
#define IDL_MAX_IMPORT_DEPTH 16        /* nested imports */
#define IDL_MAX_EXPR_DEPTH 64          /* nesting of a constant expression */
#define IDL_MAX_PARSE_DEPTH 1000       /* bison stack (YYMAXDEPTH) */
#define IDL_MAX_ARRAY 65536            /* elements of a fixed array */
#define IDL_MAX_SHAPE (1u << 20)       /* bytes of one canonical shape */
#define IDL_MAX_METHOD_ID 2147483647   /* method ids are C enum constants */

typedef struct idl_file idl_file;
typedef struct idl_decl idl_decl;
typedef struct idl_unit idl_unit;

/* A source position: 1-based line and byte column. */
typedef struct idl_loc {
    idl_file *file;
    int line, col;
} idl_loc;

/* ---- constant expressions ---------------------------------------------- */

typedef enum idl_expr_kind {
    IDL_EXPR_INT,      /* literal */
    IDL_EXPR_REF,      /* a const (or, in a case label, an enum value) */
    IDL_EXPR_UNARY,    /* op: '-', '~', '+' */
    IDL_EXPR_BINARY    /* op: + - * / % & | ^ and 'l' (<<), 'r' (>>) */
} idl_expr_kind;

typedef struct idl_expr {
    idl_expr_kind kind;
    idl_loc loc;
    int op;
    int depth;
    int64_t value;             /* INT */
    const char *name;          /* REF */
    struct idl_expr *a, *b;
} idl_expr;

/* ---- types ----------------------------------------------------------------- */

typedef enum idl_base {
    IDL_BASE_PRIM,     /* prim holds the kind (never STRING/BYTES here) */
    IDL_BASE_STRING,
    IDL_BASE_BYTES,
    IDL_BASE_NAMED
} idl_base;

/* A type as written before a member name: [optional] base[<bound>]. */
typedef struct idl_type {
    idl_loc loc;
    idl_base base;
    parley_kind prim;          /* PRIM */
    idl_expr *bound;           /* STRING/BYTES: NULL = unbounded */
    uint32_t bound_value;
    const char *name;          /* NAMED */
    idl_decl *target;          /* NAMED, after resolution */
    bool optional;
} idl_type;

typedef enum idl_declarator {
    IDL_DECLARATOR_NONE,
    IDL_DECLARATOR_ARRAY,      /* x[N] */
    IDL_DECLARATOR_SEQ         /* x<N>, x<> */
} idl_declarator;

#define IDL_ATTR_SENSITIVE 0x1u
#define IDL_ATTR_FLAGS 0x2u

/* A struct field, argument, result, union arm member, typedef body or union
 * discriminator. */
typedef struct idl_member {
    idl_loc loc;               /* of the name */
    const char *name;
    idl_type *type;
    idl_declarator declarator;
    idl_expr *count;           /* ARRAY: N; SEQ: bound or NULL */
    uint32_t count_value;
    unsigned attrs;
    struct idl_member *next;
} idl_member;

typedef struct idl_enumval {
    idl_loc loc;
    const char *name;
    idl_expr *expr;            /* NULL when the value was left out (an error) */
    int64_t value;
    const char *cname;         /* KV_STATUS_OK */
    struct idl_enumval *next;
} idl_enumval;

typedef struct idl_case {
    idl_loc loc;
    idl_expr *expr;            /* NULL: default */
    int64_t value;
    struct idl_case *next;
} idl_case;

typedef struct idl_arm {
    idl_loc loc;
    idl_case *cases;
    idl_member *member;        /* NULL: void */
    struct idl_arm *next;
} idl_arm;

typedef struct idl_method {
    idl_loc loc;
    const char *name;          /* on the wire and in --describe */
    const char *cname;         /* in C identifiers: name, or its [c_name(x)] */
    bool oneway;
    idl_member *args, *results;
    idl_expr *id;
    uint32_t id_value;
    idl_decl *iface;
    uint64_t fingerprint;
    struct idl_method *next;
} idl_method;

typedef struct idl_reserved {
    idl_loc loc;
    idl_expr *expr;
    int64_t value;
    struct idl_reserved *next;
} idl_reserved;

typedef enum idl_decl_kind {
    IDL_CONST,
    IDL_ENUM,
    IDL_STRUCT,
    IDL_UNION,
    IDL_TYPEDEF,
    IDL_HANDLE,
    IDL_INTERFACE
} idl_decl_kind;

struct idl_decl {
    idl_decl_kind kind;
    idl_loc loc;               /* of the name */
    const char *name;
    idl_file *file;
    unsigned attrs;

    idl_expr *expr;            /* CONST (NULL for a string constant) */
    int64_t value;
    const char *str;           /* CONST: a string constant's text */
    idl_enumval *values;       /* ENUM */
    idl_member *members;       /* STRUCT */
    idl_member *disc;          /* UNION */
    idl_arm *arms;
    idl_member *alias;         /* TYPEDEF: the aliased form, named like the decl */
    idl_method *methods;       /* INTERFACE */
    idl_reserved *reserved;

    /* filled by the checks */
    const char *cname;         /* kv_entry (CONST: KV_MAX_KEY) */
    int state;                 /* CONST: evaluation state */
    int mark;                  /* walk marks */
    bool used;
    bool bad;                  /* errors found: skip dependent checks */
    unsigned seq;              /* position in the unit */
    idl_decl *next;            /* in its file */
    idl_decl *unit_next;       /* in the unit, in load order */
};

typedef struct idl_import {
    idl_loc loc;
    const char *path;          /* as written */
    idl_file *file;
    struct idl_import *next;
} idl_import;

struct idl_file {
    idl_unit *unit;
    const char *name;          /* display name (as given or found) */
    const char *path;          /* resolved path (identity for imports) */
    const char *base;          /* file name without directory and .idl */
    const char *dir;           /* its directory, for relative imports */
    const char *text;
    size_t len;
    bool has_protocol;
    bool xdr;                  /* ONC RPC language (.x or --xdr) */
    char *passthrough;         /* .x: %-lines for the header */
    idl_loc protocol_loc;
    const char *protocol;      /* prefix of its C names */
    idl_expr *version_expr;
    uint32_t version;
    const char *hello_client;  /* 'hello client T;': T, or NULL */
    const char *hello_server;  /* 'hello server T;': T, or NULL */
    idl_loc hello_client_loc, hello_server_loc;
    idl_decl *decls, **decls_tail;
    idl_import *imports, **imports_tail;
    int loading;               /* import cycle detection */
    idl_file *next;
};

/* Compiler options. */
typedef struct idl_options {
    const char *const *include_dirs;
    size_t n_include_dirs;
    bool werror;
    bool no_imports;           /* fuzzing: no file access */
    bool xdr;                  /* read the input as ONC RPC language (--xdr) */
    FILE *diag_out;            /* NULL: diagnostics are counted, not printed */
} idl_options;

struct idl_unit {
    const idl_options *opts;
    idl_file *files, **files_tail;
    idl_file *main;
    idl_decl *decls, **decls_tail;     /* every decl in load order */
    size_t n_decls;
    idl_decl **sorted;                 /* non-interface decls by name */
    size_t n_sorted;
    int errors, warnings;
    bool stopped;                      /* error limit reached */
    struct idl_import_frame *import_stack;   /* load.c */
};

/* ---- ast.c --------------------------------------------------------------- */
idl_expr *idl_expr_int(void *ctx, idl_loc loc, int64_t v);
idl_expr *idl_expr_ref(void *ctx, idl_loc loc, const char *name);
idl_expr *idl_expr_unary(idl_unit *u, idl_loc loc, int op, idl_expr *a);
idl_expr *idl_expr_binary(idl_unit *u, idl_loc loc, int op, idl_expr *a, idl_expr *b);
void idl_file_add_decl(idl_file *f, idl_decl *d);
/* Reverse a singly linked list built by prepending (any struct whose
 * `next` member is its first pointer is not assumed: one per type). */
idl_member *idl_members_reverse(idl_member *m);
idl_enumval *idl_enumvals_reverse(idl_enumval *v);
idl_case *idl_cases_reverse(idl_case *c);
idl_arm *idl_arms_reverse(idl_arm *a);
idl_method *idl_methods_reverse(idl_method *m);
idl_reserved *idl_reserved_reverse(idl_reserved *r);
size_t idl_members_count(const idl_member *m);
const char *idl_prim_name(parley_kind k);
const char *idl_decl_kind_name(idl_decl_kind k);
/* Follow typedefs without declarator or optional down to the named decl that
 * gives a member its kind; NULL for primitives/string/bytes. */
idl_decl *idl_type_resolve(const idl_type *t);

/* ---- diag.c ---------------------------------------------------------- */
void idl_error(idl_unit *u, idl_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void idl_warning(idl_unit *u, idl_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void idl_note(idl_unit *u, idl_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An error without a position ("parley-idl: error: ..."). */
void idl_error_plain(idl_unit *u, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- load.c (and parser.y) -------------------------------------------------- */
/* Parse text as file f (fills f's decls and imports).  Returns 0 when the
 * parse completed (possibly with reported errors). */
int idl_parse_text(idl_file *f);
/* A new unit.  Ownership: talloc child of mem_ctx. */
idl_unit *idl_unit_new(void *mem_ctx, const idl_options *opts);
/* Load the main file from disk (with its imports).  false when it cannot
 * be read (reported). */
bool idl_load_file(idl_unit *u, const char *path);
/* Load the main file from memory (imports still read from disk unless
 * opts->no_imports). */
void idl_load_buffer(idl_unit *u, const char *name, const char *text, size_t len);
/* Read a file #include'd by a .x file (next to `from`, then along -I); NULL
 * when it cannot be read (reported at loc).  Not added to the unit's files:
 * its declarations belong to the file that includes it. */
idl_file *idl_file_include(idl_unit *u, idl_file *from, const char *path, idl_loc loc);

/* ---- check.c / names.c ------------------------------------------------ */
/* Resolve names, evaluate constants, run every check.  Returns the number
 * of errors (u->errors). */
int idl_check(idl_unit *u);
idl_decl *idl_lookup(const idl_unit *u, const char *name);
void idl_names_assign(idl_unit *u);
void idl_names_check(idl_unit *u);
bool idl_is_reserved_word(const char *name);

/* ---- shape.c ------------------------------------------------------------ */
/* The canonical shape of a named type / member / method (doc/idl.md);
 * NULL when too long (reported at loc) or out of memory. */
char *idl_shape_decl(void *mem_ctx, idl_unit *u, idl_decl *d);
char *idl_shape_members(void *mem_ctx, idl_unit *u, const idl_member *m);
char *idl_shape_method(void *mem_ctx, idl_unit *u, const idl_method *m);
uint64_t idl_fnv1a(const char *s);
/* Compute every method fingerprint; reports shapes that are too long. */
void idl_shape_methods(idl_unit *u);

/* ---- gen_h.c, gen_c.c, describe.c ---------------------------------------- */
char *idl_gen_header(void *mem_ctx, idl_unit *u, const char *version);
char *idl_gen_source(void *mem_ctx, idl_unit *u, const char *version);
char *idl_describe(void *mem_ctx, idl_unit *u);

/* Helpers shared by the generators (gen_common.c). */
const char *idl_ctype_base(void *ctx, const idl_type *t);
char *idl_upper(void *ctx, const char *s);
/* For loops over a file's decls by kind. */
bool idl_decl_is_type(const idl_decl *d);

#endif
