/*
 * intel_match.c - the matcher: which indicators cover an address, while
 * feeds are replaced underneath.
 *
 * Layout. Each feed is compiled on its own into an immutable feed index, so
 * that replacing a 100k-indicator feed recompiles 100k indicators, not the
 * 10M of every other feed. A snapshot is the list of feed indexes, sorted by
 * feed name; a lookup probes each of them. Per feed and family:
 *
 *  - exact addresses (/32, /128) live in an open-addressing hash table
 *    (linear probing, load <= 0.8): one cache line for most lookups, hit or
 *    miss, at about 10 B per IPv4 and 25 B per IPv6 address;
 *  - prefixes are laminar (two prefixes are nested or disjoint), so the
 *    address space splits into elementary intervals whose innermost covering
 *    prefix is fixed. The interval bounds are a sorted array found through a
 *    bucket table on the address's top bits; each prefix records its parent,
 *    so the chain of covering prefixes, most specific first, is a walk up.
 *
 * Concurrency. Readers take an RCU read lock (liburcu-bp: no registration,
 * no waiting) and follow one pointer to the current snapshot. A writer
 * compiles outside any lock, then, under the writer mutex, publishes a new
 * snapshot with rcu_assign_pointer, waits for a grace period and frees what
 * only the old snapshot used. Feed indexes are shared between consecutive
 * snapshots through a reference count touched only under the writer mutex.
 *
 * What it must never do: block a reader, show a reader a half-built feed,
 * or return an indicator whose validity does not cover `now`.
 */
#include "intel_priv.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <urcu-bp.h>

typedef unsigned __int128 u128;

#define NONE 0u                /* "no prefix" in 1-based indexes */
#define MATCH_SCRATCH 512      /* matches ordered per lookup; more are counted only */

typedef struct {
    uint32_t key;
    uint32_t meta1;            /* meta + 1; 0 marks an empty slot */
} slot4_t;

typedef struct __attribute__((packed)) {
    uint64_t hi, lo;
    uint32_t meta1;
} slot6_t;

typedef struct {
    slot4_t *slots;
    size_t cap, count;
} exact4_t;

typedef struct {
    slot6_t *slots;
    size_t cap, count;
} exact6_t;

typedef struct {
    uint32_t net;
    uint32_t meta;
    uint32_t parent1;          /* 1-based index of the enclosing prefix, NONE at the top */
    uint8_t prefix;
} prefix4_t;

typedef struct {
    u128 net;
    uint32_t meta;
    uint32_t parent1;
    uint8_t prefix;
} prefix6_t;

typedef struct {
    uint32_t *bounds;          /* sorted; bounds[0] == 0 */
    uint32_t *inner1;          /* innermost prefix of [bounds[i], bounds[i+1]) */
    size_t count;
    uint32_t *bucket;          /* first bound index per bucket; buckets + 1 entries */
    unsigned shift;
    prefix4_t *prefixes;
    size_t prefix_count;
} ranges4_t;

typedef struct {
    u128 *bounds;              /* sorted; bounds[0] == 0 */
    uint32_t *inner1;
    size_t count;
    uint32_t *bucket;
    size_t buckets;
    u128 base;                 /* bounds[1]: IPv6 feeds crowd into 2000::/3 */
    unsigned shift;
    prefix6_t *prefixes;
    size_t prefix_count;
} ranges6_t;

typedef struct {
    char name[INTEL_NAME_MAX + 1];
    unsigned refs;             /* snapshots holding it; writer mutex only */
    exact4_t exact4;
    exact6_t exact6;
    ranges4_t ranges4;
    ranges6_t ranges6;
    intel_meta_t *metas;
    size_t meta_count;
    char **categories;
    size_t category_count;
    size_t bytes;
} feed_index_t;

typedef struct {
    size_t count;
    feed_index_t **feeds;      /* sorted by name */
    uint64_t generation;
} snapshot_t;

struct intel {
    snapshot_t *current;       /* RCU-protected */
    pthread_mutex_t writer;
};

/* ---- hashing ---- */

static inline size_t reduce(uint64_t hash, size_t cap)
{
    return (size_t)(((u128)hash * cap) >> 64);
}

static inline uint64_t hash4(uint32_t key)
{
    uint64_t h = (uint64_t)key * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
}

static inline uint64_t hash6(uint64_t hi, uint64_t lo)
{
    uint64_t h = (hi ^ (lo * 0xc2b2ae3d27d4eb4full)) * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 31);
}

static size_t table_capacity(size_t n)
{
    return n + n / 4 + 8;
}

static uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t load_be64(const uint8_t *p)
{
    return (uint64_t)load_be32(p) << 32 | load_be32(p + 4);
}

static void store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static u128 load_be128(const uint8_t *p)
{
    return (u128)load_be64(p) << 64 | load_be64(p + 8);
}

static void store_be128(uint8_t *p, u128 v)
{
    store_be32(p, (uint32_t)(v >> 96));
    store_be32(p + 4, (uint32_t)(v >> 64));
    store_be32(p + 8, (uint32_t)(v >> 32));
    store_be32(p + 12, (uint32_t)v);
}

/* ---- exact tables ---- */

/* Later entries overwrite earlier ones: the set's "later metadata wins". */
static void exact4_put(exact4_t *t, uint32_t key, uint32_t meta)
{
    size_t s = reduce(hash4(key), t->cap);
    for (;;) {
        slot4_t *slot = &t->slots[s];
        if (slot->meta1 == 0) {
            slot->key = key;
            slot->meta1 = meta + 1;
            t->count++;
            return;
        }
        if (slot->key == key) {
            slot->meta1 = meta + 1;
            return;
        }
        if (++s == t->cap)
            s = 0;
    }
}

static inline const slot4_t *exact4_get(const exact4_t *t, uint32_t key)
{
    if (t->count == 0)
        return NULL;
    size_t s = reduce(hash4(key), t->cap);
    for (;;) {
        const slot4_t *slot = &t->slots[s];
        if (slot->meta1 == 0)
            return NULL;
        if (slot->key == key)
            return slot;
        if (++s == t->cap)
            s = 0;
    }
}

static void exact6_put(exact6_t *t, uint64_t hi, uint64_t lo, uint32_t meta)
{
    size_t s = reduce(hash6(hi, lo), t->cap);
    for (;;) {
        slot6_t *slot = &t->slots[s];
        if (slot->meta1 == 0) {
            slot->hi = hi;
            slot->lo = lo;
            slot->meta1 = meta + 1;
            t->count++;
            return;
        }
        if (slot->hi == hi && slot->lo == lo) {
            slot->meta1 = meta + 1;
            return;
        }
        if (++s == t->cap)
            s = 0;
    }
}

static inline const slot6_t *exact6_get(const exact6_t *t, uint64_t hi, uint64_t lo)
{
    if (t->count == 0)
        return NULL;
    size_t s = reduce(hash6(hi, lo), t->cap);
    for (;;) {
        const slot6_t *slot = &t->slots[s];
        if (slot->meta1 == 0)
            return NULL;
        if (slot->hi == hi && slot->lo == lo)
            return slot;
        if (++s == t->cap)
            s = 0;
    }
}

/* ---- prefix intervals ---- */

typedef struct {
    u128 net;                  /* IPv4 in the low 32 bits */
    uint32_t meta;
    uint32_t order;            /* insertion order: the later duplicate wins */
    uint8_t prefix;
} raw_prefix_t;

static int raw_prefix_cmp(const void *a, const void *b)
{
    const raw_prefix_t *x = a, *y = b;
    if (x->net != y->net)
        return x->net < y->net ? -1 : 1;
    if (x->prefix != y->prefix)
        return x->prefix < y->prefix ? -1 : 1;   /* the enclosing prefix first */
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Sorts and keeps the last of equal networks; returns the new count. */
static size_t raw_prefix_sort_unique(raw_prefix_t *p, size_t n)
{
    if (n == 0)
        return 0;
    qsort(p, n, sizeof *p, raw_prefix_cmp);
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n && p[i + 1].net == p[i].net && p[i + 1].prefix == p[i].prefix)
            continue;
        p[out++] = p[i];
    }
    return out;
}

static u128 prefix_last(u128 net, unsigned prefix, unsigned width)
{
    unsigned host = width - prefix;
    if (host == 0)
        return net;
    u128 mask = host >= 128 ? ~(u128)0 : (((u128)1 << host) - 1);
    return net | mask;
}

/*
 * The sweep over laminar prefixes sorted by (start, length): a stack holds
 * the prefixes covering the current point, innermost on top. Each start and
 * each end + 1 is a bound; a later bound at the same point overwrites the
 * earlier one's value. `width` is 32 or 128.
 */
typedef struct {
    u128 *bounds;
    uint32_t *inner1;
    size_t count;
} sweep_out_t;

static void sweep_emit(sweep_out_t *o, u128 at, uint32_t inner1)
{
    if (o->count > 0 && o->bounds[o->count - 1] == at) {
        o->inner1[o->count - 1] = inner1;
        return;
    }
    if (o->count > 0 && o->inner1[o->count - 1] == inner1)
        return;                /* same value continues: no bound needed */
    o->bounds[o->count] = at;
    o->inner1[o->count] = inner1;
    o->count++;
}

static bool sweep(const raw_prefix_t *p, size_t n, unsigned width, uint32_t *parent1,
                  sweep_out_t *o)
{
    uint32_t *stack = malloc((width + 2) * sizeof *stack);
    if (!stack)
        return false;
    size_t depth = 0;
    o->count = 0;
    o->bounds[o->count] = 0;
    o->inner1[o->count] = NONE;
    o->count = 1;
    for (size_t i = 0; i < n; i++) {
        u128 start = p[i].net;
        while (depth > 0) {
            uint32_t top = stack[depth - 1] - 1;
            u128 last = prefix_last(p[top].net, p[top].prefix, width);
            if (last >= start)
                break;
            depth--;
            sweep_emit(o, last + 1, depth ? stack[depth - 1] : NONE);
        }
        parent1[i] = depth ? stack[depth - 1] : NONE;
        stack[depth++] = (uint32_t)i + 1;
        sweep_emit(o, start, (uint32_t)i + 1);
    }
    while (depth > 0) {
        uint32_t top = stack[depth - 1] - 1;
        u128 last = prefix_last(p[top].net, p[top].prefix, width);
        depth--;
        u128 width_max = width == 128 ? ~(u128)0 : (((u128)1 << width) - 1);
        if (last != width_max)
            sweep_emit(o, last + 1, depth ? stack[depth - 1] : NONE);
    }
    free(stack);
    return true;
}

static unsigned bucket_bits(size_t bounds)
{
    unsigned bits = 0;
    while (bits < 22 && ((size_t)1 << (bits + 1)) <= bounds / 2)
        bits++;
    return bits;
}

static bool ranges4_build(ranges4_t *r, raw_prefix_t *raw, size_t n)
{
    memset(r, 0, sizeof *r);
    n = raw_prefix_sort_unique(raw, n);
    uint32_t *parent1 = malloc((n + 1) * sizeof *parent1);
    sweep_out_t o = { malloc((2 * n + 1) * sizeof(u128)), malloc((2 * n + 1) * sizeof(uint32_t)), 0 };
    r->prefixes = malloc((n + 1) * sizeof *r->prefixes);
    bool ok = parent1 && o.bounds && o.inner1 && r->prefixes && sweep(raw, n, 32, parent1, &o);
    if (ok) {
        r->prefix_count = n;
        for (size_t i = 0; i < n; i++) {
            r->prefixes[i] = (prefix4_t){ (uint32_t)raw[i].net, raw[i].meta, parent1[i], raw[i].prefix };
        }
        r->count = o.count;
        r->bounds = malloc(o.count * sizeof *r->bounds);
        r->inner1 = o.inner1;
        o.inner1 = NULL;
        unsigned bits = bucket_bits(o.count);
        r->shift = 32 - bits;
        r->bucket = malloc((((size_t)1 << bits) + 1) * sizeof *r->bucket);
        ok = r->bounds && r->bucket;
        if (ok) {
            for (size_t i = 0; i < o.count; i++)
                r->bounds[i] = (uint32_t)o.bounds[i];
            size_t b = 0;
            size_t buckets = (size_t)1 << bits;
            for (size_t i = 0; i < o.count; i++) {
                size_t key = bits ? r->bounds[i] >> r->shift : 0;
                while (b <= key)
                    r->bucket[b++] = (uint32_t)i;
            }
            while (b <= buckets)
                r->bucket[b++] = (uint32_t)o.count;
        }
    }
    free(parent1);
    free(o.bounds);
    free(o.inner1);
    return ok;
}

static inline uint32_t ranges4_inner(const ranges4_t *r, uint32_t x)
{
    if (r->prefix_count == 0)
        return NONE;
    size_t b = r->shift >= 32 ? 0 : x >> r->shift;
    size_t lo = r->bucket[b], hi = r->bucket[b + 1];
    /* The last bound <= x; bounds[0] == 0 guarantees one exists at or before lo. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->bounds[mid] <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return r->inner1[lo - 1];
}

static unsigned bit_length(u128 v)
{
    unsigned n = 0;
    while (v) {
        v >>= 1;
        n++;
    }
    return n;
}

static inline size_t ranges6_bucket_of(const ranges6_t *r, u128 x)
{
    if (x < r->base)
        return 0;
    u128 k = (x - r->base) >> r->shift;
    return k >= r->buckets ? r->buckets - 1 : (size_t)k;
}

static bool ranges6_build(ranges6_t *r, raw_prefix_t *raw, size_t n)
{
    memset(r, 0, sizeof *r);
    n = raw_prefix_sort_unique(raw, n);
    uint32_t *parent1 = malloc((n + 1) * sizeof *parent1);
    sweep_out_t o = { malloc((2 * n + 1) * sizeof(u128)), malloc((2 * n + 1) * sizeof(uint32_t)), 0 };
    r->prefixes = malloc((n + 1) * sizeof *r->prefixes);
    bool ok = parent1 && o.bounds && o.inner1 && r->prefixes && sweep(raw, n, 128, parent1, &o);
    if (ok) {
        r->prefix_count = n;
        for (size_t i = 0; i < n; i++)
            r->prefixes[i] = (prefix6_t){ raw[i].net, raw[i].meta, parent1[i], raw[i].prefix };
        r->count = o.count;
        r->bounds = o.bounds;
        r->inner1 = o.inner1;
        o.bounds = NULL;
        o.inner1 = NULL;
        unsigned bits = bucket_bits(r->count);
        r->buckets = (size_t)1 << bits;
        r->base = r->count > 1 ? r->bounds[1] : 0;
        u128 span = r->bounds[r->count - 1] - r->base;
        unsigned len = bit_length(span);
        r->shift = len > bits ? len - bits : 0;
        r->bucket = malloc((r->buckets + 1) * sizeof *r->bucket);
        ok = r->bucket != NULL;
        if (ok) {
            size_t b = 0;
            /* bounds[0] (0) sits below base: it belongs before bucket 0. */
            for (size_t i = 1; i < r->count; i++) {
                size_t key = ranges6_bucket_of(r, r->bounds[i]);
                while (b <= key)
                    r->bucket[b++] = (uint32_t)i;
            }
            while (b <= r->buckets)
                r->bucket[b++] = (uint32_t)r->count;
        }
    }
    free(parent1);
    free(o.bounds);
    free(o.inner1);
    return ok;
}

static inline uint32_t ranges6_inner(const ranges6_t *r, u128 x)
{
    if (r->prefix_count == 0)
        return NONE;
    if (x < r->base)
        return r->inner1[0];   /* ::/0 puts a prefix at bounds[0] */
    size_t b = ranges6_bucket_of(r, x);
    size_t lo = r->bucket[b], hi = r->bucket[b + 1];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->bounds[mid] <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return r->inner1[lo - 1];
}

/* ---- feed indexes ---- */

static void feed_index_free(feed_index_t *f)
{
    if (!f)
        return;
    free(f->exact4.slots);
    free(f->exact6.slots);
    free(f->ranges4.bounds);
    free(f->ranges4.inner1);
    free(f->ranges4.bucket);
    free(f->ranges4.prefixes);
    free(f->ranges6.bounds);
    free(f->ranges6.inner1);
    free(f->ranges6.bucket);
    free(f->ranges6.prefixes);
    for (size_t i = 0; i < f->category_count; i++)
        free(f->categories[i]);
    free(f->categories);
    free(f->metas);
    free(f);
}

/* Compiles a set; the set's categories and metadata move into the index. */
static feed_index_t *feed_index_build(intel_set_t *set)
{
    feed_index_t *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    memcpy(f->name, set->feed, sizeof f->name);

    size_t n4 = 0, n6 = 0, p4 = 0, p6 = 0;
    for (size_t i = 0; i < set->count; i++) {
        const intel_net_t *net = &set->entries[i].net;
        if (net->family == 4)
            net->prefix == 32 ? n4++ : p4++;
        else if (net->family == 6)
            net->prefix == 128 ? n6++ : p6++;
    }

    raw_prefix_t *raw4 = p4 ? malloc(p4 * sizeof *raw4) : NULL;
    raw_prefix_t *raw6 = p6 ? malloc(p6 * sizeof *raw6) : NULL;
    f->exact4.cap = n4 ? table_capacity(n4) : 0;
    f->exact6.cap = n6 ? table_capacity(n6) : 0;
    f->exact4.slots = n4 ? calloc(f->exact4.cap, sizeof(slot4_t)) : NULL;
    f->exact6.slots = n6 ? calloc(f->exact6.cap, sizeof(slot6_t)) : NULL;
    if ((p4 && !raw4) || (p6 && !raw6) || (n4 && !f->exact4.slots) || (n6 && !f->exact6.slots))
        goto fail;

    size_t r4 = 0, r6 = 0;
    for (size_t i = 0; i < set->count; i++) {
        const intel_entry_t *e = &set->entries[i];
        if (e->net.family == 4) {
            uint32_t a = load_be32(e->net.addr);
            if (e->net.prefix == 32)
                exact4_put(&f->exact4, a, e->meta);
            else
                raw4[r4++] = (raw_prefix_t){ a, e->meta, (uint32_t)i, e->net.prefix };
        } else if (e->net.family == 6) {
            if (e->net.prefix == 128)
                exact6_put(&f->exact6, load_be64(e->net.addr), load_be64(e->net.addr + 8), e->meta);
            else
                raw6[r6++] = (raw_prefix_t){ load_be128(e->net.addr), e->meta, (uint32_t)i, e->net.prefix };
        }
    }
    if (!ranges4_build(&f->ranges4, raw4, r4) || !ranges6_build(&f->ranges6, raw6, r6))
        goto fail;
    free(raw4);
    free(raw6);
    raw4 = raw6 = NULL;

    f->metas = set->metas;
    f->meta_count = set->meta_count;
    f->categories = set->categories;
    f->category_count = set->category_count;
    set->metas = NULL;
    set->meta_count = 0;
    set->categories = NULL;
    set->category_count = 0;

    f->bytes = sizeof *f + f->exact4.cap * sizeof(slot4_t) + f->exact6.cap * sizeof(slot6_t) +
               f->ranges4.count * (sizeof(uint32_t) * 2) +
               ((((size_t)1 << (32 - f->ranges4.shift)) + 1) * sizeof(uint32_t)) +
               f->ranges4.prefix_count * sizeof(prefix4_t) +
               f->ranges6.count * (sizeof(u128) + sizeof(uint32_t)) +
               (f->ranges6.buckets + 1) * sizeof(uint32_t) +
               f->ranges6.prefix_count * sizeof(prefix6_t) +
               f->meta_count * sizeof(intel_meta_t);
    for (size_t i = 0; i < f->category_count; i++)
        f->bytes += strlen(f->categories[i]) + 1 + sizeof(char *);
    return f;

fail:
    free(raw4);
    free(raw6);
    feed_index_free(f);
    return NULL;
}

/* ---- snapshots and the engine ---- */

static snapshot_t *snapshot_new(size_t count)
{
    snapshot_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->count = count;
    s->feeds = count ? calloc(count, sizeof *s->feeds) : NULL;
    if (count && !s->feeds) {
        free(s);
        return NULL;
    }
    return s;
}

/* Drops a snapshot's references; the writer mutex is held. */
static void snapshot_release(snapshot_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->count; i++)
        if (--s->feeds[i]->refs == 0)
            feed_index_free(s->feeds[i]);
    free(s->feeds);
    free(s);
}

intel_t *intel_new(void)
{
    intel_t *intel = calloc(1, sizeof *intel);
    if (!intel)
        return NULL;
    intel->current = snapshot_new(0);
    if (!intel->current || pthread_mutex_init(&intel->writer, NULL) != 0) {
        free(intel->current);
        free(intel);
        return NULL;
    }
    return intel;
}

void intel_free(intel_t *intel)
{
    if (!intel)
        return;
    snapshot_release(intel->current);
    pthread_mutex_destroy(&intel->writer);
    free(intel);
}

/*
 * Publishes `next` (built by the caller from the current snapshot under the
 * mutex), waits until no reader can still hold the old one, and releases it.
 */
static void publish(intel_t *intel, snapshot_t *next)
{
    snapshot_t *old = intel->current;
    next->generation = old->generation + 1;
    rcu_assign_pointer(intel->current, next);
    synchronize_rcu();
    snapshot_release(old);
}

bool intel_replace_feed(intel_t *intel, intel_set_t *set)
{
    feed_index_t *f = feed_index_build(set);
    intel_set_free(set);
    if (!f)
        return false;

    pthread_mutex_lock(&intel->writer);
    snapshot_t *cur = intel->current;
    size_t at = 0;
    bool found = false;
    for (; at < cur->count; at++) {
        int c = strcmp(cur->feeds[at]->name, f->name);
        if (c == 0)
            found = true;
        if (c >= 0)
            break;
    }
    snapshot_t *next = snapshot_new(cur->count + (found ? 0 : 1));
    if (!next) {
        pthread_mutex_unlock(&intel->writer);
        feed_index_free(f);
        return false;
    }
    size_t j = 0;
    for (size_t i = 0; i < cur->count; i++) {
        if (i == at)
            next->feeds[j++] = f;
        if (i == at && found)
            continue;
        next->feeds[j++] = cur->feeds[i];
    }
    if (at == cur->count)
        next->feeds[j++] = f;
    for (size_t i = 0; i < next->count; i++)
        next->feeds[i]->refs++;
    publish(intel, next);
    pthread_mutex_unlock(&intel->writer);
    return true;
}

bool intel_remove_feed(intel_t *intel, const char *feed)
{
    pthread_mutex_lock(&intel->writer);
    snapshot_t *cur = intel->current;
    size_t at = cur->count;
    for (size_t i = 0; i < cur->count; i++)
        if (strcmp(cur->feeds[i]->name, feed) == 0)
            at = i;
    if (at == cur->count) {
        pthread_mutex_unlock(&intel->writer);
        return false;
    }
    snapshot_t *next = snapshot_new(cur->count - 1);
    if (!next) {
        /* Cannot shrink without memory; the feed stays rather than half-go. */
        pthread_mutex_unlock(&intel->writer);
        return false;
    }
    for (size_t i = 0, j = 0; i < cur->count; i++)
        if (i != at)
            next->feeds[j++] = cur->feeds[i];
    for (size_t i = 0; i < next->count; i++)
        next->feeds[i]->refs++;
    publish(intel, next);
    pthread_mutex_unlock(&intel->writer);
    return true;
}

/* ---- lookups ---- */

typedef struct {
    const feed_index_t *feed;
    uint32_t meta;
    uint8_t prefix;
    uint8_t family;
    u128 net;
} hit_t;

static inline bool valid_at(const feed_index_t *f, uint32_t meta, int64_t now)
{
    const intel_meta_t *m = &f->metas[meta];
    return m->valid_from <= now && now <= m->valid_until;
}

typedef struct {
    hit_t *hits;
    size_t kept, total;
} hits_t;

static inline void hits_add(hits_t *h, const feed_index_t *f, uint32_t meta, uint8_t family,
                            uint8_t prefix, u128 net)
{
    if (h->kept < MATCH_SCRATCH)
        h->hits[h->kept++] = (hit_t){ f, meta, prefix, family, net };
    h->total++;
}

static void lookup4(const snapshot_t *s, uint32_t a, int64_t now, hits_t *h)
{
    for (size_t i = 0; i < s->count; i++) {
        const feed_index_t *f = s->feeds[i];
        const slot4_t *e = exact4_get(&f->exact4, a);
        if (e && valid_at(f, e->meta1 - 1, now))
            hits_add(h, f, e->meta1 - 1, 4, 32, a);
        for (uint32_t p1 = ranges4_inner(&f->ranges4, a); p1 != NONE;) {
            const prefix4_t *p = &f->ranges4.prefixes[p1 - 1];
            if (valid_at(f, p->meta, now))
                hits_add(h, f, p->meta, 4, p->prefix, p->net);
            p1 = p->parent1;
        }
    }
}

static void lookup6(const snapshot_t *s, const uint8_t *addr, int64_t now, hits_t *h)
{
    uint64_t hi = load_be64(addr), lo = load_be64(addr + 8);
    u128 x = (u128)hi << 64 | lo;
    for (size_t i = 0; i < s->count; i++) {
        const feed_index_t *f = s->feeds[i];
        const slot6_t *e = exact6_get(&f->exact6, hi, lo);
        if (e && valid_at(f, e->meta1 - 1, now))
            hits_add(h, f, e->meta1 - 1, 6, 128, x);
        for (uint32_t p1 = ranges6_inner(&f->ranges6, x); p1 != NONE;) {
            const prefix6_t *p = &f->ranges6.prefixes[p1 - 1];
            if (valid_at(f, p->meta, now))
                hits_add(h, f, p->meta, 6, p->prefix, p->net);
            p1 = p->parent1;
        }
    }
}

static void copy_name(char *dst, const char *src)
{
    size_t len = strlen(src);
    if (len > INTEL_NAME_MAX)
        len = INTEL_NAME_MAX;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static void hit_to_match(const hit_t *hit, intel_match_t *m)
{
    const intel_meta_t *meta = &hit->feed->metas[hit->meta];
    memset(&m->net, 0, sizeof m->net);
    m->net.family = hit->family;
    m->net.prefix = hit->prefix;
    if (hit->family == 4)
        store_be32(m->net.addr, (uint32_t)hit->net);
    else
        store_be128(m->net.addr, hit->net);
    copy_name(m->feed, hit->feed->name);
    copy_name(m->category, hit->feed->categories[meta->category]);
    m->confidence = meta->confidence;
    m->valid_from = meta->valid_from;
    m->valid_until = meta->valid_until;
}

static bool is_v4_mapped(const uint8_t *a)
{
    static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    return memcmp(a, prefix, sizeof prefix) == 0;
}

size_t intel_lookup(intel_t *intel, uint8_t family, const uint8_t *addr, int64_t now,
                    intel_match_t *out, size_t max)
{
    hit_t scratch[MATCH_SCRATCH];
    hits_t h = { scratch, 0, 0 };
    if (family == 6 && is_v4_mapped(addr)) {
        family = 4;
        addr += 12;
    }
    if (family != 4 && family != 6)
        return 0;

    rcu_read_lock();
    const snapshot_t *s = rcu_dereference(intel->current);
    if (family == 4)
        lookup4(s, load_be32(addr), now, &h);
    else
        lookup6(s, addr, now, &h);

    /* Feeds were probed in name order, each most specific first: a stable
     * sort on prefix length alone gives "most specific, then feed name". */
    for (size_t i = 1; i < h.kept; i++) {
        hit_t v = h.hits[i];
        size_t j = i;
        while (j > 0 && h.hits[j - 1].prefix < v.prefix) {
            h.hits[j] = h.hits[j - 1];
            j--;
        }
        h.hits[j] = v;
    }
    size_t n = h.kept < max ? h.kept : max;
    for (size_t i = 0; i < n; i++)
        hit_to_match(&h.hits[i], &out[i]);
    rcu_read_unlock();
    return h.total;
}

void intel_get_stats(intel_t *intel, intel_stats_t *stats)
{
    memset(stats, 0, sizeof *stats);
    rcu_read_lock();
    const snapshot_t *s = rcu_dereference(intel->current);
    stats->feeds = s->count;
    stats->generation = s->generation;
    stats->bytes = sizeof *s + s->count * sizeof *s->feeds;
    for (size_t i = 0; i < s->count; i++) {
        const feed_index_t *f = s->feeds[i];
        stats->ipv4_exact += f->exact4.count;
        stats->ipv6_exact += f->exact6.count;
        stats->ipv4_prefix += f->ranges4.prefix_count;
        stats->ipv6_prefix += f->ranges6.prefix_count;
        stats->bytes += f->bytes;
    }
    rcu_read_unlock();
    stats->indicators = stats->ipv4_exact + stats->ipv6_exact + stats->ipv4_prefix + stats->ipv6_prefix;
}
