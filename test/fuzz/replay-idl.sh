#!/bin/sh
# SPDX-License-Identifier: MIT
# Replay the IDL fuzz target's seed corpus (every file of test/idl/ok and
# test/idl/bad) through LLVMFuzzerTestOneInput, without libFuzzer.
: "${srcdir:=.}"
exec ./test/fuzz/replay_idl "$srcdir/test/idl/ok" "$srcdir/test/idl/bad"
