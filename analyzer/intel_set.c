/*
 * intel_set.c - an indicator set: the parsed content of one feed, before the
 * matcher compiles it. Append-only; interns categories and metadata so that
 * millions of indicators cost one entry each.
 *
 * It must never fail half-way silently: an allocation failure leaves the set
 * as it was and returns false.
 */
#include "intel_priv.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash_bytes(const void *data, size_t len, uint64_t h)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

#define HASH_SEED 0xcbf29ce484222325ull

static uint64_t hash_meta(const intel_meta_t *m)
{
    uint64_t h = hash_bytes(&m->category, sizeof m->category, HASH_SEED);
    h = hash_bytes(&m->confidence, sizeof m->confidence, h);
    h = hash_bytes(&m->valid_from, sizeof m->valid_from, h);
    return hash_bytes(&m->valid_until, sizeof m->valid_until, h);
}

static bool meta_equal(const intel_meta_t *a, const intel_meta_t *b)
{
    return a->category == b->category && a->confidence == b->confidence &&
           a->valid_from == b->valid_from && a->valid_until == b->valid_until;
}

static bool grow(void **array, size_t *cap, size_t need, size_t item)
{
    if (need <= *cap)
        return true;
    size_t next = *cap ? *cap * 2 : 64;
    while (next < need)
        next *= 2;
    void *p = realloc(*array, next * item);
    if (!p)
        return false;
    *array = p;
    *cap = next;
    return true;
}

/* Keeps the open-addressing index at most half full; `hash_of(i)` rehashes item i. */
static bool index_reserve(intel_index_t *ix, size_t items, const intel_set_t *set,
                          uint64_t (*hash_of)(const intel_set_t *, uint32_t))
{
    size_t size = ix->slots ? ix->mask + 1 : 0;
    if ((items + 1) * 2 <= size)
        return true;
    size_t next = size ? size * 2 : 64;
    while ((items + 1) * 2 > next)
        next *= 2;
    uint32_t *slots = calloc(next, sizeof *slots);
    if (!slots)
        return false;
    for (size_t i = 0; i < size; i++) {
        uint32_t v = ix->slots[i];
        if (!v)
            continue;
        size_t s = (size_t)hash_of(set, v - 1) & (next - 1);
        while (slots[s])
            s = (s + 1) & (next - 1);
        slots[s] = v;
    }
    free(ix->slots);
    ix->slots = slots;
    ix->mask = next - 1;
    return true;
}

static uint64_t category_hash_at(const intel_set_t *set, uint32_t i)
{
    const char *c = set->categories[i];
    return hash_bytes(c, strlen(c), HASH_SEED);
}

static uint64_t meta_hash_at(const intel_set_t *set, uint32_t i)
{
    return hash_meta(&set->metas[i]);
}

static bool intern_category(intel_set_t *set, const char *name, uint32_t *out)
{
    char copy[INTEL_NAME_MAX + 1];
    size_t len = strlen(name);
    if (len > INTEL_NAME_MAX)
        len = INTEL_NAME_MAX;
    memcpy(copy, name, len);
    copy[len] = '\0';

    if (!index_reserve(&set->category_index, set->category_count + 1, set, category_hash_at))
        return false;
    size_t s = (size_t)hash_bytes(copy, len, HASH_SEED) & set->category_index.mask;
    uint32_t v;
    while ((v = set->category_index.slots[s]) != 0) {
        if (strcmp(set->categories[v - 1], copy) == 0) {
            *out = v - 1;
            return true;
        }
        s = (s + 1) & set->category_index.mask;
    }
    if (!grow((void **)&set->categories, &set->category_cap, set->category_count + 1,
              sizeof *set->categories))
        return false;
    char *dup = malloc(len + 1);
    if (!dup)
        return false;
    memcpy(dup, copy, len + 1);
    set->categories[set->category_count] = dup;
    set->category_index.slots[s] = (uint32_t)++set->category_count;
    *out = (uint32_t)(set->category_count - 1);
    return true;
}

static bool intern_meta(intel_set_t *set, const intel_meta_t *m, uint32_t *out)
{
    if (set->have_last && meta_equal(&set->metas[set->last_meta], m)) {
        *out = set->last_meta;
        return true;
    }
    if (!index_reserve(&set->meta_index, set->meta_count + 1, set, meta_hash_at))
        return false;
    size_t s = (size_t)hash_meta(m) & set->meta_index.mask;
    uint32_t v;
    while ((v = set->meta_index.slots[s]) != 0) {
        if (meta_equal(&set->metas[v - 1], m)) {
            *out = v - 1;
            goto found;
        }
        s = (s + 1) & set->meta_index.mask;
    }
    if (!grow((void **)&set->metas, &set->meta_cap, set->meta_count + 1, sizeof *set->metas))
        return false;
    set->metas[set->meta_count] = *m;
    set->meta_index.slots[s] = (uint32_t)++set->meta_count;
    *out = (uint32_t)(set->meta_count - 1);
found:
    set->have_last = true;
    set->last_meta = *out;
    return true;
}

intel_set_t *intel_set_new(const char *feed)
{
    intel_set_t *set = calloc(1, sizeof *set);
    if (!set)
        return NULL;
    size_t len = strlen(feed);
    if (len > INTEL_NAME_MAX)
        len = INTEL_NAME_MAX;
    memcpy(set->feed, feed, len);
    set->feed[len] = '\0';
    return set;
}

bool intel_set_add(intel_set_t *set, const intel_net_t *net, const char *category,
                   uint8_t confidence, int64_t valid_from, int64_t valid_until)
{
    intel_meta_t m = { 0, confidence > 100 ? 100 : confidence, valid_from, valid_until };
    if (!intern_category(set, category ? category : "unknown", &m.category))
        return false;
    uint32_t meta;
    if (!intern_meta(set, &m, &meta))
        return false;
    if (!grow((void **)&set->entries, &set->cap, set->count + 1, sizeof *set->entries))
        return false;
    intel_entry_t *e = &set->entries[set->count++];
    e->net = *net;
    e->meta = meta;
    return true;
}

size_t intel_set_count(const intel_set_t *set)
{
    return set->count;
}

const char *intel_set_feed(const intel_set_t *set)
{
    return set->feed;
}

void intel_set_free(intel_set_t *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->category_count; i++)
        free(set->categories[i]);
    free(set->categories);
    free(set->category_index.slots);
    free(set->metas);
    free(set->meta_index.slots);
    free(set->entries);
    free(set);
}
