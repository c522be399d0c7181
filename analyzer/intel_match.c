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
#define _DEFAULT_SOURCE /* posix_memalign, madvise */
#include "intel_priv.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>
#include <urcu-bp.h>

typedef unsigned __int128 u128;

#define NONE 0u                /* "no prefix" in 1-based indexes */
#define MATCH_SCRATCH 512      /* matches ordered per lookup; more are counted only */

/*
 * Exact tables are bucketed by cache line: a key hashes to one 64-byte
 * bucket and moves to the next bucket only when its own is full, so a
 * lookup - hit or, far more often, miss - reads one line in most cases
 * (tables are filled to at most 70%).
 */
#define BUCKET_SLOTS 8

typedef struct {
    uint32_t key[BUCKET_SLOTS];
    uint32_t meta1[BUCKET_SLOTS];   /* meta + 1; 0 marks an empty slot */
} bucket4_t;

typedef struct {
    bucket4_t *buckets;
    size_t nbuckets, count;
} exact4_t;

/* IPv6 keys are too wide for eight per line: the bucket holds 32-bit
 * fingerprints and the keys sit in an array beside it, read only when a
 * fingerprint agrees. */
typedef struct {
    uint32_t fp[BUCKET_SLOTS];      /* 0 marks an empty slot */
    uint32_t key1[BUCKET_SLOTS];    /* index + 1 into keys */
} bucket6_t;

typedef struct __attribute__((packed)) {
    uint64_t hi, lo;
    uint32_t meta;
} key6_t;

typedef struct {
    bucket6_t *buckets;
    size_t nbuckets, count;
    key6_t *keys;
} exact6_t;

/* A bound and the innermost prefix of [bound, next bound), side by side so
 * that the search and its answer share a cache line. */
typedef struct {
    uint32_t bound;
    uint32_t inner1;
} interval4_t;

typedef struct __attribute__((packed)) {
    uint64_t hi, lo;
    uint32_t inner1;
} interval6_t;

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
    interval4_t *iv;           /* sorted by bound; iv[0].bound == 0 */
    size_t count;
    uint32_t *bucket;          /* first bound index per bucket; buckets + 1 entries */
    unsigned shift;
    prefix4_t *prefixes;
    size_t prefix_count;
} ranges4_t;

typedef struct {
    interval6_t *iv;           /* sorted by bound; iv[0] starts at :: */
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

/* ---- memory for lookup structures ---- */

/*
 * Lookups touch these arrays at random: with 4 KiB pages nearly every probe
 * of a large feed also misses the TLB. Arrays of 2 MiB and more are aligned
 * to 2 MiB and offered to the kernel as huge pages (transparent huge pages
 * in "madvise" mode, Debian's default); small ones come from malloc. Zeroed.
 */
#define HUGE_PAGE (2u << 20)

static void *lookup_alloc(size_t bytes)
{
    void *p = NULL;
    if (bytes < HUGE_PAGE) {
        /* Cache-line aligned, so that a 64-byte bucket is one line. */
        size_t rounded = (bytes + 63) & ~(size_t)63;
        if (posix_memalign(&p, 64, rounded ? rounded : 64) != 0)
            return NULL;
        memset(p, 0, rounded);
        return p;
    }
    size_t rounded = (bytes + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
    if (posix_memalign(&p, HUGE_PAGE, rounded) != 0)
        return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, rounded, MADV_HUGEPAGE);
#endif
    memset(p, 0, rounded);
    return p;
}

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

static size_t bucket_count(size_t n)
{
    return n * 10 / (BUCKET_SLOTS * 7) + 1;
}

static inline uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t load_be64(const uint8_t *p)
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
    size_t b = reduce(hash4(key), t->nbuckets);
    for (;;) {
        bucket4_t *bucket = &t->buckets[b];
        for (int j = 0; j < BUCKET_SLOTS; j++) {
            if (bucket->meta1[j] == 0) {
                bucket->key[j] = key;
                bucket->meta1[j] = meta + 1;
                t->count++;
                return;
            }
            if (bucket->key[j] == key) {
                bucket->meta1[j] = meta + 1;
                return;
            }
        }
        if (++b == t->nbuckets)
            b = 0;
    }
}

/* The key's meta + 1, or 0. */
static inline uint32_t exact4_get(const exact4_t *t, uint32_t key)
{
    if (t->count == 0)
        return 0;
    size_t b = reduce(hash4(key), t->nbuckets);
    for (;;) {
        const bucket4_t *bucket = &t->buckets[b];
        uint32_t found = 0, empty = 0;
        for (int j = 0; j < BUCKET_SLOTS; j++) {
            found |= bucket->key[j] == key ? bucket->meta1[j] : 0;
            empty |= bucket->meta1[j] == 0;
        }
        if (found || empty)
            return found;
        if (++b == t->nbuckets)
            b = 0;
    }
}

static inline uint32_t fingerprint(uint64_t hash)
{
    uint32_t fp = (uint32_t)hash;
    return fp ? fp : 1;
}

static void exact6_put(exact6_t *t, uint64_t hi, uint64_t lo, uint32_t meta)
{
    uint64_t h = hash6(hi, lo);
    uint32_t fp = fingerprint(h);
    size_t b = reduce(h, t->nbuckets);
    for (;;) {
        bucket6_t *bucket = &t->buckets[b];
        for (int j = 0; j < BUCKET_SLOTS; j++) {
            if (bucket->fp[j] == 0) {
                bucket->fp[j] = fp;
                bucket->key1[j] = (uint32_t)t->count + 1;
                t->keys[t->count++] = (key6_t){ hi, lo, meta };
                return;
            }
            key6_t *k = &t->keys[bucket->key1[j] - 1];
            if (bucket->fp[j] == fp && k->hi == hi && k->lo == lo) {
                k->meta = meta;
                return;
            }
        }
        if (++b == t->nbuckets)
            b = 0;
    }
}

static inline uint32_t exact6_get(const exact6_t *t, uint64_t hi, uint64_t lo)
{
    if (t->count == 0)
        return 0;
    uint64_t h = hash6(hi, lo);
    uint32_t fp = fingerprint(h);
    size_t b = reduce(h, t->nbuckets);
    for (;;) {
        const bucket6_t *bucket = &t->buckets[b];
        bool empty = false;
        for (int j = 0; j < BUCKET_SLOTS; j++) {
            if (bucket->fp[j] == fp) {
                const key6_t *k = &t->keys[bucket->key1[j] - 1];
                if (k->hi == hi && k->lo == lo)
                    return k->meta + 1;
            }
            empty |= bucket->fp[j] == 0;
        }
        if (empty)
            return 0;
        if (++b == t->nbuckets)
            b = 0;
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
    r->prefixes = lookup_alloc((n + 1) * sizeof *r->prefixes);
    bool ok = parent1 && o.bounds && o.inner1 && r->prefixes && sweep(raw, n, 32, parent1, &o);
    if (ok) {
        r->prefix_count = n;
        for (size_t i = 0; i < n; i++) {
            r->prefixes[i] = (prefix4_t){ (uint32_t)raw[i].net, raw[i].meta, parent1[i], raw[i].prefix };
        }
        r->count = o.count;
        r->iv = lookup_alloc(o.count * sizeof *r->iv);
        unsigned bits = bucket_bits(o.count);
        r->shift = 32 - bits;
        r->bucket = lookup_alloc((((size_t)1 << bits) + 1) * sizeof *r->bucket);
        ok = r->iv && r->bucket;
        if (ok) {
            for (size_t i = 0; i < o.count; i++)
                r->iv[i] = (interval4_t){ (uint32_t)o.bounds[i], o.inner1[i] };
            size_t b = 0;
            size_t buckets = (size_t)1 << bits;
            for (size_t i = 0; i < o.count; i++) {
                size_t key = bits ? r->iv[i].bound >> r->shift : 0;
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
    /* The last bound <= x among iv[first .. next bucket): iv[first] is <= x
     * (the bound before the bucket's first, or iv[0], which is 0).
     * Branch-free halving: the comparisons' outcomes are random. */
    size_t first = r->bucket[b] ? r->bucket[b] - 1 : 0;   /* bucket 0 starts at iv[0] */
    size_t len = r->bucket[b + 1] - first;
    const interval4_t *base = &r->iv[first];
    while (len > 1) {
        size_t half = len / 2;
        base = base[half].bound <= x ? base + half : base;
        len -= half;
    }
    return base->inner1;
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
    r->prefixes = lookup_alloc((n + 1) * sizeof *r->prefixes);
    bool ok = parent1 && o.bounds && o.inner1 && r->prefixes && sweep(raw, n, 128, parent1, &o);
    if (ok) {
        r->prefix_count = n;
        for (size_t i = 0; i < n; i++)
            r->prefixes[i] = (prefix6_t){ raw[i].net, raw[i].meta, parent1[i], raw[i].prefix };
        r->count = o.count;
        unsigned bits = bucket_bits(r->count);
        r->buckets = (size_t)1 << bits;
        r->base = r->count > 1 ? o.bounds[1] : 0;
        u128 span = o.bounds[r->count - 1] - r->base;
        unsigned len = bit_length(span);
        r->shift = len > bits ? len - bits : 0;
        r->iv = lookup_alloc(r->count * sizeof *r->iv);
        r->bucket = lookup_alloc((r->buckets + 1) * sizeof *r->bucket);
        ok = r->iv && r->bucket;
        if (ok) {
            for (size_t i = 0; i < r->count; i++)
                r->iv[i] = (interval6_t){ (uint64_t)(o.bounds[i] >> 64), (uint64_t)o.bounds[i], o.inner1[i] };
            size_t b = 0;
            /* iv[0] (::) sits below base: it belongs before bucket 0. */
            for (size_t i = 1; i < r->count; i++) {
                size_t key = ranges6_bucket_of(r, o.bounds[i]);
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
        return r->iv[0].inner1;   /* ::/0 puts a prefix at iv[0] */
    size_t b = ranges6_bucket_of(r, x);
    size_t first = r->bucket[b] - 1;    /* >= 0: buckets index from iv[1] */
    size_t len = r->bucket[b + 1] - first;
    const interval6_t *base = &r->iv[first];
    while (len > 1) {
        size_t half = len / 2;
        base = ((u128)base[half].hi << 64 | base[half].lo) <= x ? base + half : base;
        len -= half;
    }
    return base->inner1;
}

/* ---- feed indexes ---- */

static void feed_index_free(feed_index_t *f)
{
    if (!f)
        return;
    free(f->exact4.buckets);
    free(f->exact6.buckets);
    free(f->exact6.keys);
    free(f->ranges4.iv);
    free(f->ranges4.bucket);
    free(f->ranges4.prefixes);
    free(f->ranges6.iv);
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
    f->exact4.nbuckets = n4 ? bucket_count(n4) : 0;
    f->exact6.nbuckets = n6 ? bucket_count(n6) : 0;
    f->exact4.buckets = n4 ? lookup_alloc(f->exact4.nbuckets * sizeof(bucket4_t)) : NULL;
    f->exact6.buckets = n6 ? lookup_alloc(f->exact6.nbuckets * sizeof(bucket6_t)) : NULL;
    f->exact6.keys = n6 ? lookup_alloc(n6 * sizeof(key6_t)) : NULL;
    if ((p4 && !raw4) || (p6 && !raw6) || (n4 && !f->exact4.buckets) ||
        (n6 && (!f->exact6.buckets || !f->exact6.keys)))
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

    f->bytes = sizeof *f + f->exact4.nbuckets * sizeof(bucket4_t) +
               f->exact6.nbuckets * sizeof(bucket6_t) + f->exact6.count * sizeof(key6_t) +
               f->ranges4.count * sizeof(interval4_t) +
               ((((size_t)1 << (32 - f->ranges4.shift)) + 1) * sizeof(uint32_t)) +
               f->ranges4.prefix_count * sizeof(prefix4_t) +
               f->ranges6.count * sizeof(interval6_t) +
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

/*
 * Most lookups match nothing, so a lookup first finds, per feed, the exact
 * slot and the innermost prefix (the only memory it must touch) and returns
 * at once when every feed answered "none"; only then does it walk chains,
 * check validity and collect. FIRST_PASS_FEEDS bounds the state kept on the
 * stack; more feeds than that take the same path in groups.
 */
#define FIRST_PASS_FEEDS 16

typedef struct {
    uint32_t exact_meta1[FIRST_PASS_FEEDS];
    uint32_t inner1[FIRST_PASS_FEEDS];
} first_pass_t;

static void collect4(const feed_index_t *f, uint32_t exact_meta1, uint32_t inner1, uint32_t a,
                     int64_t now, hits_t *h)
{
    if (exact_meta1 && valid_at(f, exact_meta1 - 1, now))
        hits_add(h, f, exact_meta1 - 1, 4, 32, a);
    for (uint32_t p1 = inner1; p1 != NONE;) {
        const prefix4_t *p = &f->ranges4.prefixes[p1 - 1];
        if (valid_at(f, p->meta, now))
            hits_add(h, f, p->meta, 4, p->prefix, p->net);
        p1 = p->parent1;
    }
}

static void collect6(const feed_index_t *f, uint32_t exact_meta1, uint32_t inner1, u128 x,
                     int64_t now, hits_t *h)
{
    if (exact_meta1 && valid_at(f, exact_meta1 - 1, now))
        hits_add(h, f, exact_meta1 - 1, 6, 128, x);
    for (uint32_t p1 = inner1; p1 != NONE;) {
        const prefix6_t *p = &f->ranges6.prefixes[p1 - 1];
        if (valid_at(f, p->meta, now))
            hits_add(h, f, p->meta, 6, p->prefix, p->net);
        p1 = p->parent1;
    }
}

/* Returns whether any feed has a candidate; fills h only then. */
static bool lookup4(const snapshot_t *s, uint32_t a, int64_t now, hits_t *h)
{
    bool any = false;
    for (size_t base = 0; base < s->count; base += FIRST_PASS_FEEDS) {
        size_t group = s->count - base < FIRST_PASS_FEEDS ? s->count - base : FIRST_PASS_FEEDS;
        first_pass_t fp;
        uint32_t found = 0;
        for (size_t i = 0; i < group; i++) {
            const feed_index_t *f = s->feeds[base + i];
            fp.exact_meta1[i] = exact4_get(&f->exact4, a);
            fp.inner1[i] = ranges4_inner(&f->ranges4, a);
            found |= fp.exact_meta1[i] | fp.inner1[i];
        }
        if (!found)
            continue;
        any = true;
        for (size_t i = 0; i < group; i++)
            if (fp.exact_meta1[i] | fp.inner1[i])
                collect4(s->feeds[base + i], fp.exact_meta1[i], fp.inner1[i], a, now, h);
    }
    return any;
}

static bool lookup6(const snapshot_t *s, const uint8_t *addr, int64_t now, hits_t *h)
{
    uint64_t hi = load_be64(addr), lo = load_be64(addr + 8);
    u128 x = (u128)hi << 64 | lo;
    bool any = false;
    for (size_t base = 0; base < s->count; base += FIRST_PASS_FEEDS) {
        size_t group = s->count - base < FIRST_PASS_FEEDS ? s->count - base : FIRST_PASS_FEEDS;
        first_pass_t fp;
        uint32_t found = 0;
        for (size_t i = 0; i < group; i++) {
            const feed_index_t *f = s->feeds[base + i];
            fp.exact_meta1[i] = exact6_get(&f->exact6, hi, lo);
            fp.inner1[i] = ranges6_inner(&f->ranges6, x);
            found |= fp.exact_meta1[i] | fp.inner1[i];
        }
        if (!found)
            continue;
        any = true;
        for (size_t i = 0; i < group; i++)
            if (fp.exact_meta1[i] | fp.inner1[i])
                collect6(s->feeds[base + i], fp.exact_meta1[i], fp.inner1[i], x, now, h);
    }
    return any;
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

/* An IPv4-mapped IPv6 address is its IPv4 address; false for other families. */
static inline bool normalize(uint8_t *family, const uint8_t **addr)
{
    if (*family == 6 && intel_is_v4_mapped(*addr)) {
        *family = 4;
        *addr += 12;
    }
    return *family == 4 || *family == 6;
}

/*
 * Starts the first memory accesses of a lookup in every feed (the exact
 * table's slot, the bucket of the intervals) without waiting for them, so
 * that their cache misses overlap instead of following one another.
 */
/* always_inline: a function doing nothing but prefetch looks side-effect
 * free to gcc's interprocedural analysis, which then deletes its calls. */
#define PREFETCHER static inline __attribute__((always_inline)) void

PREFETCHER prefetch_first(const snapshot_t *s, uint8_t family, const uint8_t *addr)
{
    if (family == 4) {
        uint32_t a = load_be32(addr);
        for (size_t i = 0; i < s->count; i++) {
            const feed_index_t *f = s->feeds[i];
            if (f->exact4.count)
                __builtin_prefetch(&f->exact4.buckets[reduce(hash4(a), f->exact4.nbuckets)]);
            if (f->ranges4.prefix_count)
                __builtin_prefetch(&f->ranges4.bucket[f->ranges4.shift >= 32 ? 0 : a >> f->ranges4.shift]);
        }
    } else {
        uint64_t hi = load_be64(addr), lo = load_be64(addr + 8);
        for (size_t i = 0; i < s->count; i++) {
            const feed_index_t *f = s->feeds[i];
            if (f->exact6.count)
                __builtin_prefetch(&f->exact6.buckets[reduce(hash6(hi, lo), f->exact6.nbuckets)]);
            if (f->ranges6.prefix_count)
                __builtin_prefetch(&f->ranges6.bucket[ranges6_bucket_of(&f->ranges6, (u128)hi << 64 | lo)]);
        }
    }
}

/* The second access: the intervals the bucket (now cached) points at. */
PREFETCHER prefetch_second(const snapshot_t *s, uint8_t family, const uint8_t *addr)
{
    for (size_t i = 0; i < s->count; i++) {
        const feed_index_t *f = s->feeds[i];
        if (family == 4 && f->ranges4.prefix_count) {
            uint32_t a = load_be32(addr);
            size_t b = f->ranges4.shift >= 32 ? 0 : a >> f->ranges4.shift;
            size_t lo = f->ranges4.bucket[b];
            __builtin_prefetch(&f->ranges4.iv[lo ? lo - 1 : 0]);
            __builtin_prefetch(&f->ranges4.iv[f->ranges4.bucket[b + 1] - 1]);
        } else if (family == 6 && f->ranges6.prefix_count) {
            u128 x = (u128)load_be64(addr) << 64 | load_be64(addr + 8);
            size_t b = ranges6_bucket_of(&f->ranges6, x);
            size_t lo = f->ranges6.bucket[b];
            __builtin_prefetch(&f->ranges6.iv[lo ? lo - 1 : 0]);
            __builtin_prefetch(&f->ranges6.iv[f->ranges6.bucket[b + 1] - 1]);
        }
    }
}

/* The third: what the intervals (now cached) point at - the innermost
 * prefix's record - and an IPv6 key whose fingerprint agrees. */
PREFETCHER prefetch_third(const snapshot_t *s, uint8_t family, const uint8_t *addr)
{
    for (size_t i = 0; i < s->count; i++) {
        const feed_index_t *f = s->feeds[i];
        if (family == 4) {
            uint32_t inner1 = ranges4_inner(&f->ranges4, load_be32(addr));
            if (inner1)
                __builtin_prefetch(&f->ranges4.prefixes[inner1 - 1]);
            continue;
        }
        uint64_t hi = load_be64(addr), lo = load_be64(addr + 8);
        uint32_t inner1 = ranges6_inner(&f->ranges6, (u128)hi << 64 | lo);
        if (inner1)
            __builtin_prefetch(&f->ranges6.prefixes[inner1 - 1]);
        if (f->exact6.count) {
            uint64_t h = hash6(hi, lo);
            uint32_t fp = fingerprint(h);
            const bucket6_t *bucket = &f->exact6.buckets[reduce(h, f->exact6.nbuckets)];
            for (int j = 0; j < BUCKET_SLOTS; j++)
                if (bucket->fp[j] == fp)
                    __builtin_prefetch(&f->exact6.keys[bucket->key1[j] - 1]);
        }
    }
}

static size_t lookup_in(const snapshot_t *s, uint8_t family, const uint8_t *addr, int64_t now,
                        intel_match_t *out, size_t max)
{
    hit_t scratch[MATCH_SCRATCH];
    hits_t h = { scratch, 0, 0 };
    bool any = family == 4 ? lookup4(s, load_be32(addr), now, &h) : lookup6(s, addr, now, &h);
    if (!any)
        return 0;

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
    return h.total;
}

size_t intel_lookup(intel_t *intel, uint8_t family, const uint8_t *addr, int64_t now,
                    intel_match_t *out, size_t max)
{
    if (!normalize(&family, &addr))
        return 0;
    rcu_read_lock();
    const snapshot_t *s = rcu_dereference(intel->current);
    if (s->count > 1)
        prefetch_first(s, family, addr);
    size_t total = lookup_in(s, family, addr, now, out, max);
    rcu_read_unlock();
    return total;
}

/* How far ahead the batch starts memory accesses: enough queries in flight
 * to cover a DRAM miss, few enough to stay in L1. */
#ifndef BATCH_AHEAD
#define BATCH_AHEAD 8
#endif

void intel_lookup_batch(intel_t *intel, const intel_query_t *queries, size_t n, int64_t now,
                        intel_match_t *out, size_t max_per_query, size_t *counts)
{
    /* Four stages over a sliding window: query i starts its first accesses
     * while i - AHEAD starts its second, i - 2 AHEAD its third, and
     * i - 3 AHEAD, whose lines have all arrived, is answered. */
    rcu_read_lock();
    const snapshot_t *s = rcu_dereference(intel->current);
    for (size_t i = 0; i < n + 3 * BATCH_AHEAD; i++) {
        uint8_t family;
        const uint8_t *addr;
        if (i < n) {
            family = queries[i].family;
            addr = queries[i].addr;
            if (normalize(&family, &addr))
                prefetch_first(s, family, addr);
        }
        if (i >= BATCH_AHEAD && i - BATCH_AHEAD < n) {
            size_t k = i - BATCH_AHEAD;
            family = queries[k].family;
            addr = queries[k].addr;
            if (normalize(&family, &addr))
                prefetch_second(s, family, addr);
        }
        if (i >= 2 * BATCH_AHEAD && i - 2 * BATCH_AHEAD < n) {
            size_t k = i - 2 * BATCH_AHEAD;
            family = queries[k].family;
            addr = queries[k].addr;
            if (normalize(&family, &addr))
                prefetch_third(s, family, addr);
        }
        if (i >= 3 * BATCH_AHEAD) {
            size_t k = i - 3 * BATCH_AHEAD;
            family = queries[k].family;
            addr = queries[k].addr;
            counts[k] = normalize(&family, &addr)
                            ? lookup_in(s, family, addr, now, out ? out + k * max_per_query : NULL,
                                        out ? max_per_query : 0)
                            : 0;
        }
    }
    rcu_read_unlock();
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
