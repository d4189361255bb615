/* SPDX-License-Identifier: MIT */
/* parley-idl: the grammar (pure bison parser with locations; reentrant flex
 * scanner).  Errors recover at the next ';' so one run reports many. */
%code top {
#include "config.h"
}

%code requires {
#include "ast.h"

/* The scanner's state (yyextra), shared with the grammar actions. */
typedef struct idl_lexstate {
    idl_file *file;
    int line, col;
    idl_loc comment_loc;
    idl_decl *iface;           /* the interface being parsed */
    bool quiet_error;          /* the next syntax error was already explained */
    bool skip_item;            /* lexer: skip to the ';' that ends this item */
    int skip_depth;
} idl_lexstate;
}

%code provides {
int idl_yylex(IDL_YYSTYPE *lvalp, IDL_YYLTYPE *llocp, void *scanner);
}

%code {
#include <string.h>

#include <talloc.h>

#define YYMAXDEPTH IDL_MAX_PARSE_DEPTH

static void idl_yyerror(IDL_YYLTYPE *l, void *scanner, idl_lexstate *ls, const char *msg);
static idl_loc L(idl_lexstate *ls, IDL_YYLTYPE l);
static void *oom(void *p);
static unsigned attr_bits(idl_lexstate *ls, char **names, char **values, idl_loc *locs, int n,
                          unsigned allowed, const char *where);
static const char *method_cname(idl_lexstate *ls, char **names, char **values, idl_loc *locs, int n);
static void not_a_keyword(idl_lexstate *ls, const char *name, idl_loc loc, const char *what);
static void foreign_item(idl_lexstate *ls, const char *word, idl_loc loc);
static bool is_keyword(const char *name);

#define NEW(type) ((type *)oom(talloc_zero(ls->file, type)))
#define U (ls->file->unit)
}

%define api.pure full
%define api.prefix {idl_yy}
%define parse.error detailed
%locations
%lex-param {void *scanner}
%parse-param {void *scanner} {idl_lexstate *ls}

%union {
    int64_t num;
    char *str;
    parley_kind kind;
    unsigned bits;
    idl_expr *expr;
    idl_type *type;
    idl_member *member;
    idl_enumval *enumval;
    idl_case *cases;
    idl_arm *arm;
    idl_method *method;
    idl_reserved *reserved;
    idl_decl *decl;
    struct { idl_declarator kind; idl_expr *count; } decl_r;
    struct { int n; char *names[4]; char *values[4]; idl_loc locs[4]; } attrs;
}

%token <str> IDENT "identifier"
%token <num> INTEGER "integer"
%token <str> STRING_LIT "string literal"
%token <kind> KW_PRIM "primitive type"
%token KW_PROTOCOL "protocol" KW_IMPORT "import" KW_CONST "const" KW_ENUM "enum"
%token KW_STRUCT "struct" KW_UNION "union" KW_SWITCH "switch" KW_CASE "case"
%token KW_DEFAULT "default" KW_VOID "void" KW_TYPEDEF "typedef" KW_HANDLE "handle"
%token KW_INTERFACE "interface" KW_ONEWAY "oneway" KW_OPTIONAL "optional"
%token KW_RESERVED "reserved" KW_STRING "string" KW_BYTES "bytes" KW_HELLO "hello"
%token ARROW "->" SHL "<<" SHR ">>"

%type <expr> expr opt_bound
%type <type> type base
%type <member> member members member_item last_member params param_list
%type <enumval> enumval enumvals
%type <cases> case_label case_labels
%type <arm> arm arms
%type <method> method
%type <reserved> reserved_list
%type <decl_r> declarator
%type <attrs> attr_list opt_attrs
%type <str> name decl_name keyword_name

%left '|'
%left '^'
%left '&'
%left SHL SHR
%left '+' '-'
%left '*' '/' '%'
%precedence UNARY

%%

file
    : %empty
    | file item
    ;

item
    : KW_PROTOCOL IDENT expr ';' {
        idl_file *f = ls->file;
        if (f->has_protocol) {
            idl_error(U, L(ls, @1), "duplicate 'protocol' line");
            idl_note(U, f->protocol_loc, "first given here");
        } else {
            f->has_protocol = true;
            f->protocol_loc = L(ls, @2);
            f->protocol = $2;
            f->version_expr = $3;
        }
    }
    | KW_HELLO IDENT IDENT ';' {
        idl_file *f = ls->file;
        bool client = strcmp($2, "client") == 0;
        const char **slot = client ? &f->hello_client : &f->hello_server;
        idl_loc *loc = client ? &f->hello_client_loc : &f->hello_server_loc;
        if (*slot != NULL) {
            idl_error(U, L(ls, @1), "duplicate 'hello %s' line", $2);
            idl_note(U, *loc, "first given here");
        } else {
            *slot = $3;
            *loc = L(ls, @3);
        }
    }
    | KW_IMPORT STRING_LIT ';' {
        idl_import *im = NEW(idl_import);
        im->loc = L(ls, @2);
        im->path = $2;
        *ls->file->imports_tail = im;
        ls->file->imports_tail = &im->next;
    }
    | KW_CONST decl_name '=' expr ';' {
        idl_decl *d = NEW(idl_decl);
        d->kind = IDL_CONST; d->loc = L(ls, @2); d->name = $2; d->expr = $4;
        idl_file_add_decl(ls->file, d);
    }
    | KW_CONST decl_name '=' STRING_LIT ';' {
        idl_decl *d = NEW(idl_decl);
        d->kind = IDL_CONST; d->loc = L(ls, @2); d->name = $2; d->str = $4;
        idl_file_add_decl(ls->file, d);
    }
    | opt_attrs KW_ENUM decl_name '{' enumvals opt_comma '}' opt_semi {
        idl_decl *d = NEW(idl_decl);
        d->kind = IDL_ENUM; d->loc = L(ls, @3); d->name = $3;
        d->attrs = attr_bits(ls, $1.names, $1.values, $1.locs, $1.n, IDL_ATTR_FLAGS, "an enum");
        d->values = idl_enumvals_reverse($5);
        idl_file_add_decl(ls->file, d);
    }
    | KW_STRUCT decl_name '{' members last_member '}' opt_semi {
        idl_decl *d = NEW(idl_decl);
        d->kind = IDL_STRUCT; d->loc = L(ls, @2); d->name = $2;
        if ($5 != NULL) {
            $5->next = $4;
            $4 = $5;
        }
        d->members = idl_members_reverse($4);
        idl_file_add_decl(ls->file, d);
    }
    | KW_UNION decl_name KW_SWITCH '(' type name ')' '{' arms '}' opt_semi {
        idl_decl *d = NEW(idl_decl);
        d->kind = IDL_UNION; d->loc = L(ls, @2); d->name = $2;
        d->disc = NEW(idl_member);
        d->disc->loc = L(ls, @6); d->disc->name = $6; d->disc->type = $5;
        d->arms = idl_arms_reverse($9);
        idl_file_add_decl(ls->file, d);
    }
    | KW_TYPEDEF member ';' {
        idl_decl *d = NEW(idl_decl);
        d->kind = IDL_TYPEDEF; d->loc = $2->loc; d->name = $2->name; d->alias = $2;
        if (is_keyword($2->name))
            not_a_keyword(ls, $2->name, $2->loc, "a typedef");
        else if ($2->attrs != 0)
            idl_error(U, $2->loc, "attributes are not allowed on a typedef");
        idl_file_add_decl(ls->file, d);
    }
    | KW_HANDLE decl_name ';' {
        idl_decl *d = NEW(idl_decl);
        d->kind = IDL_HANDLE; d->loc = L(ls, @2); d->name = $2;
        idl_file_add_decl(ls->file, d);
    }
    | KW_INTERFACE decl_name '{' {
        idl_decl *d = NEW(idl_decl);
        d->kind = IDL_INTERFACE; d->loc = L(ls, @2); d->name = $2;
        ls->iface = d;
    } iface_items last_method '}' opt_semi {
        idl_decl *d = ls->iface;
        d->methods = idl_methods_reverse(d->methods);
        d->reserved = idl_reserved_reverse(d->reserved);
        ls->iface = NULL;
        idl_file_add_decl(ls->file, d);
    }
    | IDENT { foreign_item(ls, $1, L(ls, @1)); } error ';' { yyerrok; }
    | error ';' { yyerrok; }
    | error '}' opt_semi { yyerrok; }
    ;

/* Member, argument and result names: identifiers, and the IDL's own words
 * that are not C keywords (a name always follows a complete type, so they
 * cannot be misread).  Names of declarations stay identifiers. */
name
    : IDENT { $$ = $1; }
    | keyword_name { $$ = $1; }
    ;

decl_name
    : IDENT { $$ = $1; }
    | keyword_name { $$ = $1; not_a_keyword(ls, $1, L(ls, @1), "a declaration"); }
    ;

keyword_name
    : KW_PRIM { $$ = (char *)idl_prim_name($1); }
    | KW_HANDLE { $$ = "handle"; }
    | KW_STRING { $$ = "string"; }
    | KW_BYTES { $$ = "bytes"; }
    | KW_OPTIONAL { $$ = "optional"; }
    | KW_ONEWAY { $$ = "oneway"; }
    | KW_RESERVED { $$ = "reserved"; }
    | KW_PROTOCOL { $$ = "protocol"; }
    | KW_IMPORT { $$ = "import"; }
    | KW_INTERFACE { $$ = "interface"; }
    ;

opt_semi: %empty | ';' ;
opt_comma: %empty | ',' ;

opt_attrs
    : %empty { $$.n = 0; }
    | '[' attr_list ']' { $$ = $2; }
    ;

attr_list
    : IDENT { $$.n = 1; $$.names[0] = $1; $$.values[0] = NULL; $$.locs[0] = L(ls, @1); }
    | IDENT '(' IDENT ')' {
        $$.n = 1; $$.names[0] = $1; $$.values[0] = $3; $$.locs[0] = L(ls, @1);
    }
    | attr_list ',' IDENT {
        $$ = $1;
        if ($$.n < 4) {
            $$.names[$$.n] = $3;
            $$.values[$$.n] = NULL;
            $$.locs[$$.n] = L(ls, @3);
            $$.n++;
        }
    }
    | attr_list ',' IDENT '(' IDENT ')' {
        $$ = $1;
        if ($$.n < 4) {
            $$.names[$$.n] = $3;
            $$.values[$$.n] = $5;
            $$.locs[$$.n] = L(ls, @3);
            $$.n++;
        }
    }
    ;

enumvals
    : enumval { $$ = $1; }
    | enumvals ',' enumval { $3->next = $1; $$ = $3; }
    ;

enumval
    : IDENT '=' expr {
        $$ = NEW(idl_enumval); $$->loc = L(ls, @1); $$->name = $1; $$->expr = $3;
    }
    | IDENT {
        $$ = NEW(idl_enumval); $$->loc = L(ls, @1); $$->name = $1;
    }
    ;

members
    : %empty { $$ = NULL; }
    | members member_item { if ($2 != NULL) { $2->next = $1; $$ = $2; } else $$ = $1; }
    ;

/* A last member without its ';' is reported, and kept. */
last_member
    : %empty { $$ = NULL; }
    | member {
        $$ = $1;
        idl_error(U, L(ls, @1), "expected ';' after member '%s'", $1->name);
    }
    ;

member_item
    : member ';' { $$ = $1; }
    | error ';' { $$ = NULL; yyerrok; }
    ;

member
    : opt_attrs type name declarator {
        $$ = NEW(idl_member);
        $$->loc = L(ls, @3); $$->name = $3; $$->type = $2;
        $$->declarator = $4.kind; $$->count = $4.count;
        $$->attrs = attr_bits(ls, $1.names, $1.values, $1.locs, $1.n, IDL_ATTR_SENSITIVE, "a member");
    }
    ;

type
    : base { $$ = $1; }
    | KW_OPTIONAL base { $$ = $2; $$->optional = true; $$->loc = L(ls, @1); }
    ;

base
    : KW_PRIM { $$ = NEW(idl_type); $$->loc = L(ls, @1); $$->base = IDL_BASE_PRIM; $$->prim = $1; }
    | KW_STRING opt_bound {
        $$ = NEW(idl_type); $$->loc = L(ls, @1); $$->base = IDL_BASE_STRING; $$->bound = $2;
    }
    | KW_BYTES opt_bound {
        $$ = NEW(idl_type); $$->loc = L(ls, @1); $$->base = IDL_BASE_BYTES; $$->bound = $2;
    }
    | IDENT { $$ = NEW(idl_type); $$->loc = L(ls, @1); $$->base = IDL_BASE_NAMED; $$->name = $1; }
    ;

opt_bound
    : %empty { $$ = NULL; }
    | '<' expr '>' { $$ = $2; }
    ;

declarator
    : %empty { $$.kind = IDL_DECLARATOR_NONE; $$.count = NULL; }
    | '[' expr ']' { $$.kind = IDL_DECLARATOR_ARRAY; $$.count = $2; }
    | '<' expr '>' { $$.kind = IDL_DECLARATOR_SEQ; $$.count = $2; }
    | '<' '>' { $$.kind = IDL_DECLARATOR_SEQ; $$.count = NULL; }
    ;

arms
    : arm { $$ = $1; }
    | arms arm { if ($2 != NULL) { $2->next = $1; $$ = $2; } else $$ = $1; }
    ;

arm
    : case_labels KW_VOID ';' {
        $$ = NEW(idl_arm); $$->loc = $1->loc; $$->cases = idl_cases_reverse($1);
    }
    | case_labels member ';' {
        $$ = NEW(idl_arm); $$->loc = $1->loc; $$->cases = idl_cases_reverse($1); $$->member = $2;
    }
    | case_labels error ';' { $$ = NULL; yyerrok; }
    ;

case_labels
    : case_label { $$ = $1; }
    | case_labels case_label { $2->next = $1; $$ = $2; }
    ;

case_label
    : KW_CASE expr ':' { $$ = NEW(idl_case); $$->loc = L(ls, @2); $$->expr = $2; }
    | KW_DEFAULT ':' { $$ = NEW(idl_case); $$->loc = L(ls, @1); }
    ;

iface_items
    : %empty
    | iface_items iface_item
    ;

last_method
    : %empty
    | method {
        idl_error(U, L(ls, @1), "expected ';' after method '%s'", $1->name);
        $1->iface = ls->iface;
        $1->next = ls->iface->methods;
        ls->iface->methods = $1;
    }
    ;

iface_item
    : method ';' {
        $1->iface = ls->iface;
        $1->next = ls->iface->methods;
        ls->iface->methods = $1;
    }
    | '[' attr_list ']' method ';' {
        $4->cname = method_cname(ls, $2.names, $2.values, $2.locs, $2.n);
        $4->iface = ls->iface;
        $4->next = ls->iface->methods;
        ls->iface->methods = $4;
    }
    | KW_RESERVED reserved_list ';' {
        /* both lists are in reverse source order until the interface ends */
        idl_reserved *tail = $2;
        while (tail->next != NULL)
            tail = tail->next;
        tail->next = ls->iface->reserved;
        ls->iface->reserved = $2;
    }
    | error ';' { yyerrok; }
    ;

reserved_list
    : expr { $$ = NEW(idl_reserved); $$->loc = L(ls, @1); $$->expr = $1; }
    | reserved_list ',' expr {
        $$ = NEW(idl_reserved); $$->loc = L(ls, @3); $$->expr = $3; $$->next = $1;
    }
    ;

method
    : IDENT '(' params ')' ARROW '(' params ')' '=' expr {
        $$ = NEW(idl_method); $$->loc = L(ls, @1); $$->name = $1;
        $$->args = $3; $$->results = $7; $$->id = $10;
    }
    | KW_ONEWAY IDENT '(' params ')' '=' expr {
        $$ = NEW(idl_method); $$->loc = L(ls, @2); $$->name = $2; $$->oneway = true;
        $$->args = $4; $$->id = $7;
    }
    ;

params
    : %empty { $$ = NULL; }
    | param_list { $$ = idl_members_reverse($1); }
    ;

param_list
    : member { $$ = $1; }
    | param_list ',' member { $3->next = $1; $$ = $3; }
    ;

expr
    : INTEGER { $$ = oom(idl_expr_int(ls->file, L(ls, @1), $1)); }
    | IDENT { $$ = oom(idl_expr_ref(ls->file, L(ls, @1), $1)); }
    | '(' expr ')' { $$ = $2; }
    | '-' expr %prec UNARY { $$ = oom(idl_expr_unary(U, L(ls, @1), '-', $2)); }
    | '+' expr %prec UNARY { $$ = oom(idl_expr_unary(U, L(ls, @1), '+', $2)); }
    | '~' expr %prec UNARY { $$ = oom(idl_expr_unary(U, L(ls, @1), '~', $2)); }
    | expr '|' expr { $$ = oom(idl_expr_binary(U, L(ls, @2), '|', $1, $3)); }
    | expr '^' expr { $$ = oom(idl_expr_binary(U, L(ls, @2), '^', $1, $3)); }
    | expr '&' expr { $$ = oom(idl_expr_binary(U, L(ls, @2), '&', $1, $3)); }
    | expr SHL expr { $$ = oom(idl_expr_binary(U, L(ls, @2), 'l', $1, $3)); }
    | expr SHR expr { $$ = oom(idl_expr_binary(U, L(ls, @2), 'r', $1, $3)); }
    | expr '+' expr { $$ = oom(idl_expr_binary(U, L(ls, @2), '+', $1, $3)); }
    | expr '-' expr { $$ = oom(idl_expr_binary(U, L(ls, @2), '-', $1, $3)); }
    | expr '*' expr { $$ = oom(idl_expr_binary(U, L(ls, @2), '*', $1, $3)); }
    | expr '/' expr { $$ = oom(idl_expr_binary(U, L(ls, @2), '/', $1, $3)); }
    | expr '%' expr { $$ = oom(idl_expr_binary(U, L(ls, @2), '%', $1, $3)); }
    ;

%%

static idl_loc L(idl_lexstate *ls, IDL_YYLTYPE l)
{
    idl_loc loc = { ls->file, l.first_line, l.first_column };
    return loc;
}

static void *oom(void *p)
{
    if (p == NULL) {
        fprintf(stderr, "parley-idl: fatal: out of memory\n");
        exit(2);
    }
    return p;
}

static unsigned attr_bits(idl_lexstate *ls, char **names, char **values, idl_loc *locs, int n,
                          unsigned allowed, const char *where)
{
    unsigned bits = 0;
    for (int i = 0; i < n; i++) {
        unsigned b = 0;
        if (strcmp(names[i], "c_name") == 0) {
            idl_error(U, locs[i], "attribute 'c_name' is only allowed on a method");
            continue;
        }
        if (values[i] != NULL) {
            idl_error(U, locs[i], "attribute '%s' takes no value", names[i]);
            continue;
        }
        if (strcmp(names[i], "sensitive") == 0)
            b = IDL_ATTR_SENSITIVE;
        else if (strcmp(names[i], "flags") == 0)
            b = IDL_ATTR_FLAGS;
        if (b == 0)
            idl_error(U, locs[i], "unknown attribute '%s'", names[i]);
        else if ((b & allowed) == 0)
            idl_error(U, locs[i], "attribute '%s' is not allowed on %s", names[i], where);
        else
            bits |= b;
    }
    return bits;
}

/* [c_name(x)] on a method: x replaces the method's name in every C
 * identifier generated for it (kv_x, kv_x_request, KV_METHOD_X, ...). */
static const char *method_cname(idl_lexstate *ls, char **names, char **values, idl_loc *locs, int n)
{
    const char *cname = NULL;

    for (int i = 0; i < n; i++) {
        if (strcmp(names[i], "c_name") != 0)
            idl_error(U, locs[i], "attribute '%s' is not allowed on a method", names[i]);
        else if (values[i] == NULL)
            idl_error(U, locs[i], "attribute 'c_name' needs a name: [c_name(NAME)]");
        else if (cname != NULL)
            idl_error(U, locs[i], "duplicate attribute 'c_name'");
        else
            cname = values[i];
    }
    return cname;
}

static bool is_keyword(const char *name)
{
    static const char *const words[] = {
        "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool",
        "float", "double", "fd", "handle", "string", "bytes", "optional", "oneway",
        "reserved", "protocol", "import", "interface",
    };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcmp(words[i], name) == 0)
            return true;
    return false;
}

static void not_a_keyword(idl_lexstate *ls, const char *name, idl_loc loc, const char *what)
{
    idl_error(U, loc, "'%s' is a word of the IDL and cannot name %s (it can name a member, "
              "an argument or a result)", name, what);
}

/* An identifier where a declaration starts: explain it, then skip the item
 * (braces included) so that one mistake gives one error. */
static void foreign_item(idl_lexstate *ls, const char *word, idl_loc loc)
{
    if (strcmp(word, "program") == 0 || strcmp(word, "version") == 0)
        idl_error(U, loc, "'%s' blocks are ONC RPC language: compile the .x file with "
                  "'parley-idl --xdr', or write an 'interface'", word);
    else if (strcmp(word, "opaque") == 0)
        idl_error(U, loc, "'opaque' is ONC RPC language: use 'bytes' (or 'uint8 x[N]')");
    else
        idl_error(U, loc, "expected a declaration (const, enum, struct, union, typedef, "
                  "handle, interface, import or protocol), found '%s'", word);
    ls->quiet_error = true;
    ls->skip_item = true;
    ls->skip_depth = 0;
}

static void idl_yyerror(IDL_YYLTYPE *l, void *scanner, idl_lexstate *ls, const char *msg)
{
    (void)scanner;
    if (ls->quiet_error) {
        ls->quiet_error = false;
        return;
    }
    if (strcmp(msg, "memory exhausted") == 0)
        msg = "nesting too deep";
    idl_error(U, L(ls, *l), "%s", msg);
}
