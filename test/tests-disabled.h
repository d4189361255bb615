/* SPDX-License-Identifier: MIT */
/* Included into every check test when configure disabled the tests. */
#error "make check is disabled: configure did not find check >= 0.10 or a C++ compiler (see the end of its output); install them (Debian: apt-get install check g++) and run configure again"
