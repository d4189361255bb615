/* SPDX-License-Identifier: MIT */
/* parley-idl: helpers shared by the C generators (gen_common.c). */
#ifndef PARLEY_IDL_GEN_H
#define PARLEY_IDL_GEN_H

#include "ast.h"

/* Abort with a message on out of memory (the compiler has nothing to save). */
void *gen_must(void *p);
/* Append to a talloc string buffer. */
void gen_printf(char **buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whether `optional T` is T's own pointer (T is a string or a handle, also
 * through plain typedefs): NULL means absent (doc/idl.md). */
bool gen_optional_inline(const idl_type *t);
/* C type of t including `optional` (a pointer, unless gen_optional_inline). */
const char *gen_ctype(void *ctx, const idl_type *t);
/* "ctype name", without a space after a '*'. */
const char *gen_decl(void *ctx, const char *ctype, const char *name);
/* The C member declaration(s) of m (a sequence is `size_t n_x; T *x;`, or
 * `struct { size_t n; T *items; } x;` inside a union). */
void gen_member(char **buf, void *ctx, const idl_member *m, const char *indent, bool in_union);
/* A typedef that only renames a type (no declarator, optional or bound):
 * its descriptor is a macro naming the target's descriptor. */
bool gen_typedef_is_alias(const idl_decl *d);
/* A typedef of a sequence: a C struct { size_t n; T *items; }. */
bool gen_typedef_is_seq(const idl_decl *d);
/* Whether d has a descriptor object of its own in the generated .c. */
bool gen_has_descriptor(const idl_decl *d);
/* The first line of every generated file. */
const char *gen_first_line(void *ctx, const idl_unit *u, const char *version);
/* The methods of the main file in declaration order; returns the count. */
size_t gen_methods(const idl_unit *u, const idl_method **out, size_t cap);
/* A C integer constant expression for v (int-sized when it fits). */
const char *gen_int_literal(void *ctx, int64_t v);
/* A C string literal for s (quotes, backslashes and other bytes escaped). */
const char *gen_c_string(void *ctx, const char *s);
/* The descriptor an alias typedef's macro names (parley_type_uint32, kv_entry_type). */
const char *gen_alias_target(void *ctx, const idl_decl *d);

#endif
