/* SPDX-License-Identifier: MIT */
/*
 * parleyd's table of names, behind a small storage interface so that a
 * second backend (a distributed store) can be added beside the in-memory
 * one.  Not thread-safe: parleyd calls it under its own lock.
 */
#ifndef PARLEYD_NAMES_TABLE_H
#define PARLEYD_NAMES_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <talloc.h>

#include "parley_names.h"

/* One registered name: the entry as clients see it and its owner (the
 * registration session's client, parleyd.c). */
typedef struct names_record {
    parley_names_entry *entry;   /* a talloc child of the record */
    void *owner;
} names_record;

typedef struct names_store_ops {
    const char *backend;
    /* Insert rec (the store takes it over); false if the name is present. */
    bool (*put)(void *store, names_record *rec);
    /* The record of a name, or NULL; owned by the store. */
    names_record *(*get)(void *store, const char *name);
    /* Remove a name's record and hand it to the caller, or NULL. */
    names_record *(*take)(void *store, const char *name);
    /* Up to max records whose names match pattern, by name; the count. */
    size_t (*match)(void *store, const char *pattern, names_record **out, size_t max);
} names_store_ops;

typedef struct names_table {
    const names_store_ops *ops;
    void *store;
} names_table;

/* The in-memory backend. */
names_table *names_table_new_memory(TALLOC_CTX *mem_ctx);

/* Shell-style match: '*' any run, '?' one character. */
bool names_pattern_match(const char *pattern, const char *name);

#endif
