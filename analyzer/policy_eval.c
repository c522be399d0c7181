/*
 * policy_eval.c - judges device reports against the rules of their security
 * group (policy.h) and raises alerts: remote networks, listening ports, and
 * min/max ranges of per-window metrics.
 *
 * State is the open window of every (device, metric, window length) that the
 * device's group has a range for; it never points into a policy_t, so the
 * caller may swap policies between calls. It must never grow with traffic:
 * one window per range, sums in 64 bits (saturating), distinct counts exact
 * up to DISTINCT_EXACT_MAX items and then a fixed-size HyperLogLog.
 */
#define _POSIX_C_SOURCE 200809L

#include "policy_priv.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DISTINCT_EXACT_MAX 256u      /* items counted exactly; the table holds twice as many slots */
#define DISTINCT_FIRST_SLOTS 16u
#define HLL_BITS 10u
#define HLL_REGISTERS (1u << HLL_BITS)

/* ---- distinct counting ---- */

/*
 * A set of 64-bit hashes, exact while small, then a HyperLogLog sketch.
 * Hash 0 marks an empty slot, so a real 0 is stored as 1. Collisions of a
 * 64-bit hash are not a concern: a device that wanted to hide flows would
 * simply not report them.
 */
typedef struct {
    uint64_t *slots;
    uint32_t cap, n;
    uint8_t *hll;                /* HLL_REGISTERS registers once estimated */
} distinct_t;

static void distinct_clear(distinct_t *d)
{
    free(d->slots);
    free(d->hll);
    memset(d, 0, sizeof *d);
}

static void hll_add(uint8_t *reg, uint64_t h)
{
    uint32_t index = (uint32_t)(h >> (64u - HLL_BITS));
    /* The guard bit bounds the run of zeros at 64 - HLL_BITS. */
    uint64_t rest = (h << HLL_BITS) | (1ull << (HLL_BITS - 1u));
    uint8_t rank = (uint8_t)(__builtin_clzll(rest) + 1);
    if (rank > reg[index])
        reg[index] = rank;
}

static uint64_t hll_estimate(const uint8_t *reg)
{
    double m = HLL_REGISTERS, sum = 0.0;
    unsigned zeros = 0;
    for (unsigned i = 0; i < HLL_REGISTERS; i++) {
        sum += ldexp(1.0, -(int)reg[i]);
        zeros += reg[i] == 0;
    }
    double estimate = (0.7213 / (1.0 + 1.079 / m)) * m * m / sum;
    if (estimate <= 2.5 * m && zeros > 0)
        estimate = m * log(m / zeros);      /* linear counting for small sets */
    return (uint64_t)(estimate + 0.5);
}

static bool distinct_insert_exact(distinct_t *d, uint64_t h)
{
    uint32_t mask = d->cap - 1u;
    for (uint32_t i = (uint32_t)h & mask;; i = (i + 1u) & mask) {
        if (d->slots[i] == h)
            return false;
        if (d->slots[i] == 0) {
            d->slots[i] = h;
            d->n++;
            return true;
        }
    }
}

/* Removes `h` from an exact set (an estimate cannot forget); linear probing
 * re-places the rest of the cluster. */
static void distinct_remove(distinct_t *d, uint64_t h)
{
    if (h == 0)
        h = 1;
    if (d->hll || !d->slots)
        return;
    uint32_t mask = d->cap - 1u;
    uint32_t i = (uint32_t)h & mask;
    while (d->slots[i] != h) {
        if (d->slots[i] == 0)
            return;
        i = (i + 1u) & mask;
    }
    d->slots[i] = 0;
    d->n--;
    for (uint32_t j = (i + 1u) & mask; d->slots[j]; j = (j + 1u) & mask) {
        uint64_t moved = d->slots[j];
        d->slots[j] = 0;
        d->n--;
        distinct_insert_exact(d, moved);
    }
}

/* Adds `h`; returns false when memory ran out (the count may then be low). */
static bool distinct_add(distinct_t *d, uint64_t h, bool *became_estimate)
{
    if (h == 0)
        h = 1;
    if (d->hll) {
        hll_add(d->hll, h);
        return true;
    }
    if (d->slots && (d->n + 1u) * 2u <= d->cap) {
        distinct_insert_exact(d, h);
        return true;
    }
    /* Full at half load: grow, or turn into a sketch past the exact limit. */
    if (d->n + 1u > DISTINCT_EXACT_MAX) {
        for (uint32_t i = 0; i < d->cap; i++)
            if (d->slots[i] == h)
                return true;
        uint8_t *reg = calloc(HLL_REGISTERS, 1);
        if (!reg)
            return false;
        for (uint32_t i = 0; i < d->cap; i++)
            if (d->slots[i])
                hll_add(reg, d->slots[i]);
        hll_add(reg, h);
        free(d->slots);
        d->slots = NULL;
        d->cap = 0;
        d->hll = reg;
        *became_estimate = true;
        return true;
    }
    uint32_t cap = d->cap ? d->cap * 2u : DISTINCT_FIRST_SLOTS;
    distinct_t bigger = { calloc(cap, sizeof(uint64_t)), cap, 0, NULL };
    if (!bigger.slots)
        return false;
    for (uint32_t i = 0; i < d->cap; i++)
        if (d->slots[i])
            distinct_insert_exact(&bigger, d->slots[i]);
    free(d->slots);
    *d = bigger;
    distinct_insert_exact(d, h);
    return true;
}

static uint64_t distinct_count(const distinct_t *d)
{
    return d->hll ? hll_estimate(d->hll) : d->n;
}

/* FNV-1a, then a 64-bit finalizer so every output bit depends on every input
 * bit (HyperLogLog reads the top bits). */
static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static bool is_v4_mapped(const uint8_t a[16])
{
    static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    return memcmp(a, prefix, sizeof prefix) == 0;
}

/* The remote as the rules see it: an IPv4-mapped IPv6 address is IPv4. */
static uint8_t remote_of(const report_flow_t *f, uint8_t addr[16])
{
    memset(addr, 0, 16);
    if (f->family == 6 && is_v4_mapped(f->remote_addr)) {
        memcpy(addr, f->remote_addr + 12, 4);
        return 4;
    }
    memcpy(addr, f->remote_addr, f->family == 4 ? 4 : 16);
    return f->family;
}

static uint64_t hash_flow(const report_flow_t *f)
{
    uint8_t key[38];
    key[0] = f->family;
    key[1] = f->proto;
    memcpy(key + 2, f->local_addr, 16);
    memcpy(key + 18, f->remote_addr, 16);
    key[34] = (uint8_t)(f->local_port >> 8), key[35] = (uint8_t)f->local_port;
    key[36] = (uint8_t)(f->remote_port >> 8), key[37] = (uint8_t)f->remote_port;
    return hash_bytes(key, sizeof key);
}

static uint64_t hash_remote(const report_flow_t *f)
{
    uint8_t key[17];
    key[0] = remote_of(f, key + 1);
    return hash_bytes(key, sizeof key);
}

/* ---- state ---- */

typedef struct {
    policy_metric_t metric;
    uint32_t window;
    uint64_t start;              /* device clock, a multiple of window */
    bool whole;                  /* seen from its start: its min may be judged */
    bool max_raised;             /* raised by a flush: not again at close */
    uint64_t sum;
    distinct_t set;
} window_t;

typedef struct device {
    struct device *next;         /* hash chain */
    char *id, *group;
    window_t *win;
    size_t nwin;
} device_t;

struct policy_eval {
    device_t **buckets;
    size_t nbuckets;             /* a power of two */
    policy_eval_stats_t stats;
};

typedef struct {
    policy_eval_t *e;
    const char *device;
    char shown_device[REPORT_MAX_STRING + 1];
    char group[POLICY_NAME_MAX + 1];
    alert_sink_fn sink;
    void *user;
} ctx_t;

policy_eval_t *policy_eval_new(void)
{
    policy_eval_t *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->nbuckets = 64;
    e->buckets = calloc(e->nbuckets, sizeof *e->buckets);
    if (!e->buckets) {
        free(e);
        return NULL;
    }
    return e;
}

static void device_free(policy_eval_t *e, device_t *d)
{
    for (size_t i = 0; i < d->nwin; i++)
        distinct_clear(&d->win[i].set);
    e->stats.windows_open -= d->nwin;
    free(d->win);
    free(d->id);
    free(d->group);
    free(d);
}

void policy_eval_free(policy_eval_t *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->nbuckets; i++) {
        device_t *d = e->buckets[i];
        while (d) {
            device_t *next = d->next;
            device_free(e, d);
            d = next;
        }
    }
    free(e->buckets);
    free(e);
}

static uint64_t hash_id(const char *id)
{
    return hash_bytes((const uint8_t *)id, strlen(id));
}

static device_t **device_slot(policy_eval_t *e, const char *id)
{
    device_t **slot = &e->buckets[hash_id(id) & (e->nbuckets - 1u)];
    while (*slot && strcmp((*slot)->id, id) != 0)
        slot = &(*slot)->next;
    return slot;
}

static void maybe_grow(policy_eval_t *e)
{
    if (e->stats.devices <= e->nbuckets || e->nbuckets > SIZE_MAX / 4u)
        return;
    size_t n = e->nbuckets * 2u;
    device_t **b = calloc(n, sizeof *b);
    if (!b)
        return;                  /* longer chains, still correct */
    for (size_t i = 0; i < e->nbuckets; i++) {
        device_t *d = e->buckets[i];
        while (d) {
            device_t *next = d->next;
            size_t j = hash_id(d->id) & (n - 1u);
            d->next = b[j];
            b[j] = d;
            d = next;
        }
    }
    free(e->buckets);
    e->buckets = b;
    e->nbuckets = n;
}

static device_t *device_get(policy_eval_t *e, const char *id)
{
    device_t **slot = device_slot(e, id);
    if (*slot)
        return *slot;
    device_t *d = calloc(1, sizeof *d);
    if (d)
        d->id = strdup(id);
    if (!d || !d->id) {
        free(d);
        e->stats.nomem++;
        return NULL;
    }
    *slot = d;
    e->stats.devices++;
    maybe_grow(e);
    return d;
}

void policy_eval_forget(policy_eval_t *e, const char *device)
{
    if (!e || !device)
        return;
    device_t **slot = device_slot(e, device);
    device_t *d = *slot;
    if (!d)
        return;
    *slot = d->next;
    device_free(e, d);
    e->stats.devices--;
}

void policy_eval_get_stats(const policy_eval_t *e, policy_eval_stats_t *stats)
{
    if (e)
        *stats = e->stats;
    else
        memset(stats, 0, sizeof *stats);
}

/* ---- alerts ---- */

static const char *proto_name(uint8_t proto, uint8_t family)
{
    switch (proto) {
    case REPORT_PROTO_TCP:
        return "tcp";
    case REPORT_PROTO_UDP:
        return "udp";
    case REPORT_PROTO_ICMP:
        return family == 6 ? "icmpv6" : "icmp";
    default:
        return "unknown";
    }
}

/* Device ids and group names come from outside: keep messages printable. */
static void printable(const char *in, char *out, size_t size)
{
    size_t o = 0;
    for (; in && *in && o + 1 < size; in++) {
        unsigned char c = (unsigned char)*in;
        out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    out[o] = '\0';
}

/* Messages are truncated at their field's size, never overflowed. */
static void say(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(char *out, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, size, fmt, ap);
    va_end(ap);
}

static int64_t to_time(uint64_t t)
{
    return t > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)t;
}

static void alert_init(const ctx_t *c, alert_t *a, const char *type, alert_severity_t severity)
{
    memset(a, 0, sizeof *a);
    a->kind = ALERT_KIND_ALERT;
    snprintf(a->type, sizeof a->type, "%s", type);
    a->severity = severity;
    snprintf(a->device, sizeof a->device, "%s", c->device);
    a->proto = ALERT_PROTO_NONE;
    a->direction = ALERT_DIR_NONE;
    a->count = 1;
}

static void emit(ctx_t *c, const alert_t *a)
{
    c->e->stats.alerts++;
    if (c->sink)
        c->sink(c->user, a);
}

/* ---- remote networks and listeners ---- */

static bool in_intervals(const policy_interval_t *v, size_t n, const uint8_t *addr, size_t bytes)
{
    /* The last interval starting at or below addr is the only candidate. */
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2u;
        if (memcmp(v[mid].lo, addr, bytes) <= 0)
            lo = mid + 1u;
        else
            hi = mid;
    }
    return lo > 0 && memcmp(addr, v[lo - 1u].hi, bytes) <= 0;
}

/*
 * Traffic that is not a conversation with a remote host: multicast, the
 * limited broadcast, link-local addresses, and the ICMPv6 that every IPv6
 * host exchanges with its link (MLD 130-132 and 143, router and neighbour
 * discovery 133-137; the flow's local_port holds the ICMP type). An
 * allowlist of remote networks is not about these.
 */
static bool link_infrastructure(const report_flow_t *f, uint8_t family, const uint8_t *addr)
{
    if (family == 4)
        return (addr[0] & 0xf0) == 224 || (addr[0] == 169 && addr[1] == 254) ||
               (addr[0] == 255 && addr[1] == 255 && addr[2] == 255 && addr[3] == 255);
    if (addr[0] == 0xff || (addr[0] == 0xfe && (addr[1] & 0xc0) == 0x80))
        return true;
    return f->proto == REPORT_PROTO_ICMP &&
           ((f->local_port >= 130 && f->local_port <= 137) || f->local_port == 143);
}

static void check_remotes(ctx_t *c, const policy_cidr_rule_t *rule, const report_t *r)
{
    for (size_t i = 0; i < r->flow_count; i++) {
        const report_flow_t *f = &r->flows[i];
        uint8_t addr[16];
        uint8_t family = remote_of(f, addr);
        if (link_infrastructure(f, family, addr))
            continue;
        bool allowed = family == 4 ? in_intervals(rule->v4, rule->nv4, addr, 4)
                                   : in_intervals(rule->v6, rule->nv6, addr, 16);
        if (allowed)
            continue;
        alert_t a;
        alert_init(c, &a, "remote_not_allowed", rule->severity);
        a.time = to_time(f->last_seen);
        a.first_time = to_time(f->first_seen);
        a.proto = f->proto;
        a.family = family;
        memcpy(a.remote_addr, addr, 16);
        a.remote_port = f->remote_port;
        a.local_port = f->local_port;
        a.direction = f->remote_initiated ? ALERT_DIR_INBOUND : ALERT_DIR_OUTBOUND;
        char text[64], endpoint[80];
        report_format_addr(family, addr, text, sizeof text);
        const char *proto = proto_name(f->proto, f->family);
        if (f->proto == REPORT_PROTO_ICMP)
            snprintf(endpoint, sizeof endpoint, "%s", text);
        else if (family == 6)
            snprintf(endpoint, sizeof endpoint, "[%s]:%u", text, (unsigned)f->remote_port);
        else
            snprintf(endpoint, sizeof endpoint, "%s:%u", text, (unsigned)f->remote_port);
        snprintf(a.key, sizeof a.key, "%s:%s", proto, text);
        say(a.message, sizeof a.message,
                 "%s exchanged %s with %s (%s), outside the remote networks allowed for group %s",
                 c->shown_device, proto, endpoint,
                 f->remote_initiated ? "remote-initiated" : "device-initiated", c->group);
        emit(c, &a);
    }
}

static int u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void check_listeners(ctx_t *c, const policy_port_rule_t *rule, const report_t *r)
{
    for (size_t i = 0; i < r->listener_count; i++) {
        const report_listener_t *l = &r->listeners[i];
        uint32_t entry = ((uint32_t)l->proto << 16) | l->port;
        if (rule->count && bsearch(&entry, rule->entries, rule->count, sizeof entry, u32_cmp))
            continue;
        alert_t a;
        alert_init(c, &a, "listener_not_allowed", rule->severity);
        a.time = a.first_time = to_time(r->period_end);
        a.proto = l->proto;
        a.local_port = l->port;
        const char *proto = proto_name(l->proto, l->family);
        snprintf(a.key, sizeof a.key, "%s:%u", proto, (unsigned)l->port);
        say(a.message, sizeof a.message, "%s listens on %s/%u, a port not allowed for group %s",
                 c->shown_device, proto, (unsigned)l->port, c->group);
        emit(c, &a);
    }
}

/* ---- ranges ---- */

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static bool metric_is_distinct(policy_metric_t m)
{
    return m == POLICY_METRIC_ACTIVE_CONNECTIONS || m == POLICY_METRIC_DISTINCT_REMOTES ||
           m == POLICY_METRIC_FAILED_OUTBOUND_TCP || m == POLICY_METRIC_INBOUND_ATTEMPTS;
}

static uint64_t flow_amount(policy_metric_t m, const report_flow_t *f)
{
    switch (m) {
    case POLICY_METRIC_BYTES_IN:
        return f->bytes_in;
    case POLICY_METRIC_BYTES_OUT:
        return f->bytes_out;
    case POLICY_METRIC_PACKETS_IN:
        return f->packets_in;
    case POLICY_METRIC_PACKETS_OUT:
        return f->packets_out;
    default:
        return 0;
    }
}

/* Whether a flow counts for a distinct metric. */
static bool flow_counts(policy_metric_t m, const report_flow_t *f)
{
    bool tcp = f->proto == REPORT_PROTO_TCP;
    bool syn = (f->tcp_flags & REPORT_TCP_SYN) != 0;
    switch (m) {
    case POLICY_METRIC_FAILED_OUTBOUND_TCP:
        return tcp && !f->remote_initiated && syn && !(f->tcp_flags & REPORT_TCP_SYNACK);
    case POLICY_METRIC_INBOUND_ATTEMPTS:
        return f->remote_initiated && ((tcp && syn) || f->proto == REPORT_PROTO_UDP);
    default:
        return true;
    }
}

/*
 * A connection whose SYN ends one report period and whose SYN-ACK starts the
 * next is not a failed attempt: the later report's answered flows are taken
 * back out of the window (while it counts exactly; beyond 256 attempts the
 * estimate cannot forget). Called before a window is judged, and after each
 * report is counted in it.
 */
static void forgive_answered(window_t *w, const report_t *r)
{
    if (w->metric != POLICY_METRIC_FAILED_OUTBOUND_TCP)
        return;
    for (size_t i = 0; i < r->flow_count; i++) {
        const report_flow_t *f = &r->flows[i];
        if (f->proto == REPORT_PROTO_TCP && !f->remote_initiated && (f->tcp_flags & REPORT_TCP_SYNACK))
            distinct_remove(&w->set, hash_flow(f));
    }
}

static void accumulate(policy_eval_t *e, window_t *w, const report_t *r)
{
    policy_metric_t m = w->metric;
    if (m == POLICY_METRIC_REPORTS) {
        w->sum = add_sat(w->sum, 1);
        return;
    }
    if (metric_is_distinct(m)) {
        bool became_estimate = false;
        for (size_t i = 0; i < r->flow_count; i++) {
            const report_flow_t *f = &r->flows[i];
            if (!flow_counts(m, f))
                continue;
            uint64_t h = m == POLICY_METRIC_DISTINCT_REMOTES ? hash_remote(f) : hash_flow(f);
            if (!distinct_add(&w->set, h, &became_estimate))
                e->stats.nomem++;
        }
        if (became_estimate)
            e->stats.estimated++;
        return;
    }
    for (size_t i = 0; i < r->flow_count; i++)
        w->sum = add_sat(w->sum, flow_amount(m, &r->flows[i]));
    /* Traffic the device's full flow table could not track is still traffic. */
    bool in = m == POLICY_METRIC_BYTES_IN || m == POLICY_METRIC_PACKETS_IN;
    bool bytes = m == POLICY_METRIC_BYTES_IN || m == POLICY_METRIC_BYTES_OUT;
    for (size_t i = 0; i < r->overflow_count; i++) {
        const report_overflow_t *o = &r->overflow[i];
        if ((o->direction == REPORT_DIR_IN) == in)
            w->sum = add_sat(w->sum, bytes ? o->bytes : o->packets);
    }
}

static const policy_range_t *find_range(const policy_group_t *g, policy_metric_t metric,
                                        uint32_t window)
{
    for (size_t i = 0; g && i < g->nranges; i++) {
        const policy_range_t *r = &g->ranges[i];
        if (r->enabled && r->metric == metric && r->window == window)
            return r;
    }
    return NULL;
}

static void raise_range(ctx_t *c, const window_t *w, const policy_range_t *range, uint64_t value,
                        bool is_max, bool open)
{
    alert_t a;
    char type[48], when[32];
    snprintf(type, sizeof type, "range_%s", policy_metric_name(w->metric));
    alert_init(c, &a, type, range->severity);
    a.time = to_time(w->start + w->window);
    a.first_time = to_time(w->start);
    snprintf(a.key, sizeof a.key, "%" PRIu32 "s:%s", w->window, is_max ? "max" : "min");

    struct tm tm;
    time_t start = (time_t)w->start;
    if (gmtime_r(&start, &tm) == NULL || strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(when, sizeof when, "%" PRIu64, w->start);
    say(a.message, sizeof a.message,
             "%s: %s was %s%" PRIu64 " in the %" PRIu32 " s window from %s%s, %s the %s %" PRIu64
             " of group %s",
             c->shown_device, policy_metric_name(w->metric), w->set.hll ? "about " : "", value,
             w->window, when, open ? " (still open)" : "", is_max ? "above" : "below",
             is_max ? "maximum" : "minimum", is_max ? range->max : range->min, c->group);
    emit(c, &a);
}

/* Judges a window: both bounds when it closes, the max only when `open`. */
static void judge(ctx_t *c, window_t *w, const policy_range_t *range, bool open)
{
    uint64_t value = metric_is_distinct(w->metric) ? distinct_count(&w->set) : w->sum;
    if (!open && range->has_min && w->whole && value < range->min)
        raise_range(c, w, range, value, false, open);
    if (range->has_max && !w->max_raised && value > range->max) {
        raise_range(c, w, range, value, true, open);
        w->max_raised = true;
    }
    if (!open)
        c->e->stats.windows_closed++;
}

static void window_open(window_t *w, uint64_t start, bool whole)
{
    distinct_clear(&w->set);
    w->start = start;
    w->whole = whole;
    w->max_raised = false;
    w->sum = 0;
}

static bool set_group(device_t *d, const char *group)
{
    if (d->group && strcmp(d->group, group) == 0)
        return true;
    char *copy = strdup(group);
    if (!copy)
        return false;
    free(d->group);
    d->group = copy;
    return true;
}

/* Brings the device's windows in line with the group's enabled ranges:
 * windows of ranges that no longer exist are dropped unjudged, new ranges get
 * a window. */
static void sync_windows(policy_eval_t *e, device_t *d, const policy_group_t *g, const report_t *r)
{
    for (size_t i = 0; i < d->nwin;) {
        if (find_range(g, d->win[i].metric, d->win[i].window)) {
            i++;
            continue;
        }
        distinct_clear(&d->win[i].set);
        d->win[i] = d->win[--d->nwin];
        e->stats.windows_open--;
    }
    for (size_t i = 0; g && i < g->nranges; i++) {
        const policy_range_t *range = &g->ranges[i];
        if (!range->enabled)
            continue;
        size_t j = 0;
        while (j < d->nwin && (d->win[j].metric != range->metric || d->win[j].window != range->window))
            j++;
        if (j < d->nwin)
            continue;
        window_t *grown = realloc(d->win, (d->nwin + 1u) * sizeof *grown);
        if (!grown) {
            e->stats.nomem++;
            continue;
        }
        d->win = grown;
        window_t *w = &d->win[d->nwin++];
        memset(w, 0, sizeof *w);
        w->metric = range->metric;
        w->window = range->window;
        uint64_t start = r->period_start - r->period_start % range->window;
        window_open(w, start, start == r->period_start);
        e->stats.windows_open++;
    }
}

static void update_windows(ctx_t *c, const policy_group_t *g, const char *group, const report_t *r)
{
    policy_eval_t *e = c->e;
    size_t wanted = 0;
    for (size_t i = 0; g && i < g->nranges; i++)
        wanted += g->ranges[i].enabled;
    device_t **slot = device_slot(e, c->device);
    if (!*slot && wanted == 0)
        return;                  /* no ranges, nothing to remember */
    device_t *d = *slot ? *slot : device_get(e, c->device);
    if (!d)
        return;
    if (!set_group(d, group))
        e->stats.nomem++;
    sync_windows(e, d, g, r);

    bool late = false;
    for (size_t i = 0; i < d->nwin; i++) {
        window_t *w = &d->win[i];
        uint64_t start = r->period_start - r->period_start % w->window;
        if (start < w->start) {
            late = true;
            continue;
        }
        if (start > w->start) {
            const policy_range_t *range = find_range(g, w->metric, w->window);
            forgive_answered(w, r);
            if (range)
                judge(c, w, range, false);
            window_open(w, start, true);
        }
        accumulate(e, w, r);
        forgive_answered(w, r);
    }
    if (late)
        e->stats.late_reports++;
    if (d->nwin == 0)
        policy_eval_forget(e, c->device);
}

static void ctx_init(ctx_t *c, policy_eval_t *e, const char *device, const char *group,
                     alert_sink_fn sink, void *user)
{
    c->e = e;
    c->device = device;
    printable(device, c->shown_device, sizeof c->shown_device);
    printable(group, c->group, sizeof c->group);
    c->sink = sink;
    c->user = user;
}

void policy_eval_report(policy_eval_t *e, const policy_t *p, const char *device, const char *group,
                        const report_t *r, alert_sink_fn sink, void *user)
{
    if (!e || !p || !device || !r)
        return;
    if (!group)
        group = POLICY_DEFAULT_GROUP;
    e->stats.reports++;
    ctx_t c;
    ctx_init(&c, e, device, group, sink, user);
    const policy_group_t *g = policy__find_group(p, group);
    if (g && g->cidrs.present && g->cidrs.enabled)
        check_remotes(&c, &g->cidrs, r);
    if (g && g->ports.present && g->ports.enabled && r->has_listeners)
        check_listeners(&c, &g->ports, r);
    update_windows(&c, g, group, r);
}

void policy_eval_flush(policy_eval_t *e, const policy_t *p, alert_sink_fn sink, void *user)
{
    if (!e || !p)
        return;
    for (size_t b = 0; b < e->nbuckets; b++) {
        for (device_t *d = e->buckets[b]; d; d = d->next) {
            const char *group = d->group ? d->group : POLICY_DEFAULT_GROUP;
            const policy_group_t *g = policy__find_group(p, group);
            ctx_t c;
            ctx_init(&c, e, d->id, group, sink, user);
            for (size_t i = 0; i < d->nwin; i++) {
                const policy_range_t *range = find_range(g, d->win[i].metric, d->win[i].window);
                if (range)
                    judge(&c, &d->win[i], range, true);
            }
        }
    }
}
