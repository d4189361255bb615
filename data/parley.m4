dnl SPDX-License-Identifier: MIT
# parley.m4: autoconf support for projects that use Parley.      -*- Autoconf -*-
#
# PARLEY_PROG_IDL([ACTION-IF-NOT-FOUND])
# ---------------------------------------
# Find the Parley IDL compiler and substitute:
#   PARLEY_IDL        its path: the `parley_idl' variable of parley.pc (so the
#                     compiler of the Parley that pkg-config finds), else
#                     parley-idl on PATH; a PARLEY_IDL given to configure wins
#   PARLEY_IDL_RULES  make rules that generate X.c and X.h from X.idl in the
#                     build tree.  Put the line
#                         @PARLEY_IDL_RULES@
#                     in Makefile.am (automake copies it through untouched and
#                     configure replaces it), then list the files:
#                         nodist_kvd_SOURCES = kv.c kv.h
#                         BUILT_SOURCES = kv.c kv.h
#                         CLEANFILES = kv.c kv.h
#                         kv.h: kv.c
#                         EXTRA_DIST = kv.idl
#                     Options for the compiler (-I DIR, -Werror) go in
#                     PARLEY_IDLFLAGS.
# Without ACTION-IF-NOT-FOUND a missing compiler is an error.
#
# Link flags come from pkg-config as usual:
#   PKG_CHECK_MODULES([PARLEY], [parley])

# serial 1

AC_DEFUN([PARLEY_PROG_IDL],
[AC_REQUIRE([PKG_PROG_PKG_CONFIG])dnl
AC_REQUIRE([AC_PROG_MKDIR_P])dnl
AC_ARG_VAR([PARLEY_IDL], [the Parley IDL compiler (parley-idl)])dnl
AC_ARG_VAR([PARLEY_IDLFLAGS], [options for parley-idl, e.g. -I DIR])dnl
AS_IF([test -z "$PARLEY_IDL" && test -n "$PKG_CONFIG"],
  [AC_MSG_CHECKING([for parley-idl in parley.pc])
   parley_idl_pc=`$PKG_CONFIG --variable=parley_idl parley 2>/dev/null`
   AS_IF([test -n "$parley_idl_pc" && test -x "$parley_idl_pc"],
         [PARLEY_IDL=$parley_idl_pc], [parley_idl_pc=no])
   AC_MSG_RESULT([$parley_idl_pc])])
AC_PATH_PROG([PARLEY_IDL], [parley-idl])
AS_IF([test -z "$PARLEY_IDL"],
  [m4_default([$1],
     [AC_MSG_ERROR([parley-idl not found: install Parley, point PKG_CONFIG_PATH at its parley.pc, or set PARLEY_IDL])])])
m4_pattern_allow([^AM_V_GEN$])dnl
AC_SUBST([PARLEY_IDL_RULES],
['.SUFFIXES: .idl
.idl.c:
	$(AM_V_GEN)$(MKDIR_P) $(@D) && $(PARLEY_IDL) $(PARLEY_IDLFLAGS) -o $(@D) $<'])
m4_ifdef([AM_SUBST_NOTMAKE], [AM_SUBST_NOTMAKE([PARLEY_IDL_RULES])])dnl
])# PARLEY_PROG_IDL
