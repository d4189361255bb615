/* SPDX-License-Identifier: MIT */
/* parleyd's table of names: the in-memory backend (a sorted array). */
#include <string.h>

#include "names_table.h"

typedef struct memory_store {
    names_record **recs;    /* sorted by name; a talloc array under the store */
    size_t n;
} memory_store;

bool names_pattern_match(const char *p, const char *s)
{
    const char *star = NULL, *resume = NULL;

    while (*s != '\0') {
        if (*p == '*') {
            star = p++;
            resume = s;
        } else if (*p == '?' || *p == *s) {
            p++;
            s++;
        } else if (star != NULL) {
            p = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

static size_t lower_bound(memory_store *m, const char *name)
{
    size_t lo = 0, hi = m->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (strcmp(m->recs[mid]->entry->reg.name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool found(memory_store *m, size_t at, const char *name)
{
    return at < m->n && strcmp(m->recs[at]->entry->reg.name, name) == 0;
}

static bool mem_put(void *store, names_record *rec)
{
    memory_store *m = store;
    size_t at = lower_bound(m, rec->entry->reg.name);
    names_record **recs;

    if (found(m, at, rec->entry->reg.name))
        return false;
    recs = talloc_realloc(m, m->recs, names_record *, m->n + 1);
    if (recs == NULL)
        return false;
    m->recs = recs;
    memmove(&recs[at + 1], &recs[at], (m->n - at) * sizeof(*recs));
    recs[at] = talloc_steal(m, rec);
    m->n++;
    return true;
}

static names_record *mem_get(void *store, const char *name)
{
    memory_store *m = store;
    size_t at = lower_bound(m, name);

    return found(m, at, name) ? m->recs[at] : NULL;
}

static names_record *mem_take(void *store, const char *name)
{
    memory_store *m = store;
    size_t at = lower_bound(m, name);
    names_record *rec;

    if (!found(m, at, name))
        return NULL;
    rec = m->recs[at];
    memmove(&m->recs[at], &m->recs[at + 1], (m->n - at - 1) * sizeof(*m->recs));
    m->n--;
    return talloc_steal(NULL, rec);
}

static size_t mem_match(void *store, const char *pattern, names_record **out, size_t max)
{
    memory_store *m = store;
    size_t n = 0;

    for (size_t i = 0; i < m->n && n < max; i++)
        if (names_pattern_match(pattern, m->recs[i]->entry->reg.name))
            out[n++] = m->recs[i];
    return n;
}

static const names_store_ops memory_ops = {
    "memory", mem_put, mem_get, mem_take, mem_match,
};

names_table *names_table_new_memory(TALLOC_CTX *mem_ctx)
{
    names_table *t = talloc_zero(mem_ctx, names_table);

    if (t == NULL)
        return NULL;
    t->ops = &memory_ops;
    t->store = talloc_zero(t, memory_store);
    if (t->store == NULL) {
        talloc_free(t);
        return NULL;
    }
    return t;
}
