/*
 * intel_priv.h - what the intel engine's own files share: the layout of an
 * indicator set. Not for users of intel.h.
 *
 * A set stores each indicator once as (network, metadata id); metadata
 * (category, confidence, validity) is interned, because a feed of millions
 * of addresses usually has a handful of distinct metadata records, and
 * categories are interned strings. Entries are kept in insertion order so
 * that "the later one wins" is decided when the matcher compiles the set.
 */
#ifndef VIGIL_ANALYZER_INTEL_PRIV_H
#define VIGIL_ANALYZER_INTEL_PRIV_H

#include <string.h>

#include "intel.h"

/* ::ffff:a.b.c.d: an IPv4 address written as IPv6, matched as IPv4. */
static inline bool intel_is_v4_mapped(const uint8_t addr[16])
{
    static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    return memcmp(addr, prefix, sizeof prefix) == 0;
}

typedef struct {
    intel_net_t net;
    uint32_t meta;
} intel_entry_t;

typedef struct {
    uint32_t category;         /* index into the set's categories */
    uint8_t confidence;
    int64_t valid_from, valid_until;
} intel_meta_t;

typedef struct {
    uint32_t *slots;           /* index + 1; 0 = empty */
    size_t mask;
} intel_index_t;

struct intel_set {
    char feed[INTEL_NAME_MAX + 1];
    intel_entry_t *entries;
    size_t count, cap;
    intel_meta_t *metas;
    size_t meta_count, meta_cap;
    intel_index_t meta_index;
    char **categories;
    size_t category_count, category_cap;
    intel_index_t category_index;
    bool have_last;
    uint32_t last_meta;
};

#endif
