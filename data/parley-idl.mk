# SPDX-License-Identifier: MIT
# parley-idl.mk: GNU make rules that run the Parley IDL compiler.
#
# Installed with Parley; a Makefile includes it with
#
#   include $(shell pkg-config --variable=parley_idl_mk parley)
#
# and lists the generated sources like any other: `kv.o: kv.c kv.h` (or
# `app: app.o kv.o`) is enough for make to run `parley-idl -o . kv.idl`,
# which writes kv.c and kv.h together.  The files are written into the
# directory of the target, so an out-of-tree build (VPATH) keeps them out of
# the source tree.  Make the objects that include kv.h depend on it.
#
# Variables (set them before or after the include, or on the command line):
#   PARLEY_IDL       the compiler (default: parley_idl from pkg-config, else
#                    parley-idl on PATH)
#   PARLEY_IDLFLAGS  extra options, e.g. -I DIR for imported files, -Werror

PARLEY_IDL ?= $(or $(shell pkg-config --variable=parley_idl parley 2>/dev/null),parley-idl)
PARLEY_IDLFLAGS ?=

# A pattern rule with two targets: one run makes both files.
%.c %.h: %.idl
	@mkdir -p $(@D)
	$(PARLEY_IDL) $(PARLEY_IDLFLAGS) -o $(@D) $<
