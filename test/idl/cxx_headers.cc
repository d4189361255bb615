/* SPDX-License-Identifier: MIT */
// The generated headers compile as C++11 (static inline stubs, trampolines
// and kv_register included), and C++ sees the layout the C descriptors
// describe.
#include <cstdio>

#include "common.h"
#include "empty.h"
#include "every.h"
#include "fs.h"
#include "kv.h"
#include "names.h"
#include "onc.h"

static int failures;

static void expect_size(const char *what, size_t cxx, size_t c)
{
    if (cxx != c) {
        std::printf("FAIL %s: sizeof in C++ %zu, descriptor says %zu\n", what, cxx, c);
        failures++;
    }
}

int main()
{
    expect_size("kv_entry", sizeof(kv_entry), kv_entry_type.size);
    expect_size("kv_value", sizeof(kv_value), kv_value_type.size);
    expect_size("kv_stats", sizeof(kv_stats), kv_stats_type.size);
    expect_size("every_shapes", sizeof(every_shapes), every_shapes_type.size);
    expect_size("every_by_enum", sizeof(every_by_enum), every_by_enum_type.size);
    expect_size("every_tree", sizeof(every_tree), every_tree_type.size);
    expect_size("fs_attributes", sizeof(fs_attributes), fs_attributes_type.size);
    expect_size("fs_open_request", sizeof(fs_open_request), fs_open_request_type.size);
    expect_size("fs_read_reply", sizeof(fs_read_reply), fs_read_reply_type.size);
    expect_size("common_stamp", sizeof(common_stamp), common_stamp_type.size);
    if (offsetof(kv_entry, n_children) != kv_entry_type.fields[4].offset) {
        std::printf("FAIL kv_entry.children offset\n");
        failures++;
    }
    if (failures == 0)
        std::printf("ok: C++ layout of the generated types matches their descriptors\n");
    return failures == 0 ? 0 : 1;
}
