/*
 * continuity.c - remembers who opened each flow across report periods and
 * repairs the initiator of flows that outlived their period (continuity.h).
 *
 * One open-addressing table (linear probing) of flows keyed by (device,
 * protocol, family, addresses, ports), and one of interned device ids, so
 * that an entry holds a 32-bit device number instead of the id. Expired
 * entries are dropped when the table is rebuilt; a full table stops
 * remembering (counted) rather than evicting, so memory stays bounded. The
 * hash is seeded at random: device ids and addresses come from the network
 * and must not be able to force every flow into one probe chain.
 *
 * It must never change a flow whose bare SYN was seen in its own period.
 */
#define _DEFAULT_SOURCE
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "continuity.h"

typedef struct {
    uint32_t device;            /* index into devices + 1; 0 = empty slot */
    uint32_t last_seen;         /* device clock */
    uint16_t local_port, remote_port;
    uint8_t proto, family;
    bool remote_initiated;
    uint8_t local[16], remote[16];
} entry_t;

typedef struct {
    char *id;
    uint32_t latest;            /* the device's latest period end: its clock */
} device_t;

struct continuity {
    entry_t *entries;
    size_t capacity;            /* power of two */
    size_t used;
    size_t max_entries;
    uint32_t ttl;
    device_t *devices;
    size_t device_count, device_capacity;
    uint32_t *device_index;     /* open addressing over devices: index + 1 */
    size_t device_index_capacity;
    uint64_t seed;
    size_t refused_since_purge;
    continuity_stats_t stats;
};

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 31);
}

static uint64_t hash_bytes(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = mix(h, p[i]);
    return h;
}

static uint64_t hash_entry(const continuity_t *c, const entry_t *e)
{
    uint64_t h = mix(c->seed, e->device);
    h = mix(h, ((uint64_t)e->proto << 40) | ((uint64_t)e->family << 32) |
                   ((uint64_t)e->local_port << 16) | e->remote_port);
    size_t n = e->family == 4 ? 4u : 16u;
    h = hash_bytes(h, e->local, n);
    return hash_bytes(h, e->remote, n);
}

static bool same_flow(const entry_t *a, const entry_t *b)
{
    return a->device == b->device && a->proto == b->proto && a->family == b->family &&
           a->local_port == b->local_port && a->remote_port == b->remote_port &&
           memcmp(a->local, b->local, 16) == 0 && memcmp(a->remote, b->remote, 16) == 0;
}

continuity_t *continuity_new(size_t max_entries, uint32_t ttl)
{
    continuity_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->max_entries = max_entries ? max_entries : 1;
    c->ttl = ttl;
    c->capacity = 1024;
    c->entries = calloc(c->capacity, sizeof *c->entries);
    c->device_index_capacity = 64;
    c->device_index = calloc(c->device_index_capacity, sizeof *c->device_index);
    if (!c->entries || !c->device_index) {
        continuity_free(c);
        return NULL;
    }
    if (getrandom(&c->seed, sizeof c->seed, GRND_NONBLOCK) != (ssize_t)sizeof c->seed)
        c->seed = (uint64_t)time(NULL) * 0x2545f4914f6cdd1dull ^ (uint64_t)(uintptr_t)c;
    return c;
}

void continuity_free(continuity_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->device_count; i++)
        free(c->devices[i].id);
    free(c->devices);
    free(c->device_index);
    free(c->entries);
    free(c);
}

static uint64_t hash_id(const continuity_t *c, const char *id)
{
    return hash_bytes(c->seed, (const uint8_t *)id, strlen(id));
}

static bool device_index_grow(continuity_t *c)
{
    size_t cap = c->device_index_capacity * 2;
    uint32_t *index = calloc(cap, sizeof *index);
    if (!index)
        return false;
    for (size_t d = 0; d < c->device_count; d++) {
        size_t i = hash_id(c, c->devices[d].id) & (cap - 1);
        while (index[i])
            i = (i + 1) & (cap - 1);
        index[i] = (uint32_t)d + 1;
    }
    free(c->device_index);
    c->device_index = index;
    c->device_index_capacity = cap;
    return true;
}

/* The device's number (index + 1), interned on first sight; 0 when out of memory. */
static uint32_t device_number(continuity_t *c, const char *id)
{
    size_t mask = c->device_index_capacity - 1;
    size_t i = hash_id(c, id) & mask;
    for (; c->device_index[i]; i = (i + 1) & mask)
        if (strcmp(c->devices[c->device_index[i] - 1].id, id) == 0)
            return c->device_index[i];
    if ((c->device_count + 1) * 2 > c->device_index_capacity) {
        if (!device_index_grow(c))
            return 0;
        return device_number(c, id);
    }
    if (c->device_count == c->device_capacity) {
        size_t cap = c->device_capacity ? c->device_capacity * 2 : 16;
        device_t *devices = realloc(c->devices, cap * sizeof *devices);
        if (!devices)
            return 0;
        c->devices = devices;
        c->device_capacity = cap;
    }
    char *copy = strdup(id);
    if (!copy)
        return 0;
    c->devices[c->device_count] = (device_t){copy, 0};
    c->device_index[i] = (uint32_t)++c->device_count;
    return c->device_index[i];
}

static bool expired(const continuity_t *c, const entry_t *e)
{
    uint32_t now = c->devices[e->device - 1].latest;
    return now > e->last_seen && now - e->last_seen > c->ttl;
}

static entry_t *probe(continuity_t *c, entry_t *entries, size_t capacity, const entry_t *key)
{
    size_t mask = capacity - 1;
    size_t i = hash_entry(c, key) & mask;
    while (entries[i].device && !same_flow(&entries[i], key))
        i = (i + 1) & mask;
    return &entries[i];
}

/* Rebuilds the table without its expired entries, doubled when still busy. */
static bool rebuild(continuity_t *c)
{
    size_t live = 0;
    for (size_t i = 0; i < c->capacity; i++)
        if (c->entries[i].device && !expired(c, &c->entries[i]))
            live++;
    size_t cap = c->capacity;
    while (live * 2 >= cap)
        cap *= 2;
    entry_t *entries = calloc(cap, sizeof *entries);
    if (!entries)
        return false;
    for (size_t i = 0; i < c->capacity; i++)
        if (c->entries[i].device && !expired(c, &c->entries[i]))
            *probe(c, entries, cap, &c->entries[i]) = c->entries[i];
    free(c->entries);
    c->entries = entries;
    c->capacity = cap;
    c->used = live;
    c->stats.remembered = live;
    return true;
}

static bool listening_tcp(const report_t *r, const report_flow_t *f)
{
    for (size_t i = 0; i < r->listener_count; i++) {
        const report_listener_t *l = &r->listeners[i];
        if (l->proto == REPORT_PROTO_TCP && l->port == f->local_port && l->family == f->family &&
            (l->any || memcmp(l->addr, f->local_addr, f->family == 4 ? 4u : 16u) == 0))
            return true;
    }
    return false;
}

void continuity_apply(continuity_t *c, report_t *report)
{
    uint32_t device = device_number(c, report->device_id);
    if (device == 0)
        return;
    device_t *d = &c->devices[device - 1];
    if (report->period_end > d->latest)
        d->latest = report->period_end;

    for (size_t i = 0; i < report->flow_count; i++) {
        report_flow_t *f = &report->flows[i];
        entry_t key;
        memset(&key, 0, sizeof key);
        key.device = device;
        key.proto = f->proto;
        key.family = f->family;
        key.local_port = f->local_port;
        key.remote_port = f->remote_port;
        memcpy(key.local, f->local_addr, f->family == 4 ? 4u : 16u);
        memcpy(key.remote, f->remote_addr, f->family == 4 ? 4u : 16u);

        entry_t *e = probe(c, c->entries, c->capacity, &key);
        bool known = e->device != 0 && !expired(c, e);
        bool syn_seen = f->proto == REPORT_PROTO_TCP && (f->tcp_flags & REPORT_TCP_SYN);
        bool initiator = f->remote_initiated;
        if (!syn_seen) {
            if (known)
                initiator = e->remote_initiated;
            else if (f->proto == REPORT_PROTO_TCP && report->has_listeners)
                initiator = listening_tcp(report, f);
        }
        if (initiator != f->remote_initiated) {
            f->remote_initiated = initiator;
            c->stats.repaired++;
        }

        uint32_t seen = (uint32_t)(f->last_seen > UINT32_MAX ? UINT32_MAX : f->last_seen);
        if (e->device) {
            e->remote_initiated = initiator;
            if (seen > e->last_seen || !known)
                e->last_seen = seen;
            continue;
        }
        if (c->used >= c->max_entries) {
            /* Purge the expired, but not on every refused flow: amortised,
             * a purge costs O(1) per refusal. */
            if (++c->refused_since_purge * 4 >= c->used) {
                c->refused_since_purge = 0;
                if (!rebuild(c))
                    return;
                e = probe(c, c->entries, c->capacity, &key);
            }
            if (c->used >= c->max_entries) {
                c->stats.full++;
                continue;
            }
        }
        key.remote_initiated = initiator;
        key.last_seen = seen;
        *e = key;
        c->used++;
        c->stats.remembered = c->used;
        if (c->used * 2 >= c->capacity && !rebuild(c))
            return;
    }
}

void continuity_get_stats(const continuity_t *c, continuity_stats_t *stats)
{
    *stats = c->stats;
}
