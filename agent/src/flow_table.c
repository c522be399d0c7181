/*
 * flow_table.c - aggregates parsed packets into flows for one report period.
 *
 * Each family has a fixed table organised by coalesced hashing: a flow's home
 * slot comes from a seeded hash of its key; collisions take free slots from
 * the top of the table down and are linked into the home slot's chain. This
 * needs no bucket array (the table is the bucket array) and fills to 100%,
 * so the memory per tracked flow is the record itself plus two bytes. Records
 * are never deleted within a period; the whole table is cleared when the
 * period's reports are encoded, so the free cursor only moves down.
 *
 * Counters are 24-bit bytes and 16-bit packets per direction. Rather than
 * wrap, a record that would overflow moves its counts to a free slot marked
 * SHADOW (linked right after it) and starts again at zero; the encoder adds
 * the shadows back. When no slot is free, the traffic goes to the overflow
 * counters: it is counted, never dropped silently.
 *
 * This file must never allocate, block, or touch anything but the context.
 */
#include <string.h>

#include "flow_table.h"

#include "prot/ip.h"

#define BYTES_MAX 0xffffffu
#define PACKETS_MAX 0xffffu

typedef struct {
    vigil__flow_counts_t *counts;
    uint8_t *remotes;     /* capacity * addr_len bytes */
    uint8_t *next;
    uint8_t *local_of;
    uint8_t *free_cursor;
    unsigned capacity;
    unsigned addr_len;
} table_t;

static table_t table_of(vigil_ctx_t *ctx, uint8_t family)
{
    table_t t;
    if (family == 4) {
        t.counts = ctx->counts4;
        t.remotes = &ctx->remote4[0][0];
        t.next = ctx->next4;
        t.local_of = ctx->local_of4;
        t.free_cursor = &ctx->free4;
        t.capacity = VIGIL_MAX_FLOWS_V4;
        t.addr_len = 4;
    } else {
        t.counts = ctx->counts6;
        t.remotes = &ctx->remote6[0][0];
        t.next = ctx->next6;
        t.local_of = ctx->local_of6;
        t.free_cursor = &ctx->free6;
        t.capacity = VIGIL_MAX_FLOWS_V6;
        t.addr_len = 16;
    }
    return t;
}

static uint32_t get24(const uint8_t b[3])
{
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16);
}

static void put24(uint8_t b[3], uint32_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
}

static uint16_t seen_first(const uint8_t s[3])
{
    return (uint16_t)(s[0] | ((s[1] & 0x0fu) << 8));
}

static uint16_t seen_last(const uint8_t s[3])
{
    return (uint16_t)((s[1] >> 4) | (s[2] << 4));
}

static void set_seen(uint8_t s[3], uint16_t first, uint16_t last)
{
    s[0] = (uint8_t)first;
    s[1] = (uint8_t)(((first >> 8) & 0x0fu) | ((last & 0x0fu) << 4));
    s[2] = (uint8_t)(last >> 4);
}

static void set_last_seen(uint8_t s[3], uint16_t last)
{
    s[1] = (uint8_t)((s[1] & 0x0fu) | ((last & 0x0fu) << 4));
    s[2] = (uint8_t)(last >> 4);
}

static bool record_used(const vigil__flow_counts_t *c)
{
    return (c->packets[0] | c->packets[1]) != 0;
}

static uint32_t load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* The home slot of a key. The seed is per boot, so collisions cannot be
 * planned from outside; the multiply-shift keeps it cheap on 32-bit cores. */
static unsigned home_slot(const vigil_ctx_t *ctx, const table_t *t, const uint8_t *remote,
                          uint16_t local_port, uint16_t remote_port, uint8_t proto_local)
{
    uint32_t h = load32(remote) ^ ctx->hash_seed;
    if (t->addr_len == 16)
        h ^= load32(remote + 4) * 0x85ebca6bu ^ load32(remote + 8) * 0xc2b2ae35u ^
             load32(remote + 12);
    h *= 0x9e3779b1u;
    h ^= (((uint32_t)local_port << 16) | remote_port) + proto_local;
    h *= 0x85ebca6bu;
    h ^= h >> 15;
    return (unsigned)(((h >> 16) * t->capacity) >> 16);
}

static bool key_matches(const table_t *t, unsigned slot, const uint8_t *remote,
                        uint16_t local_port, uint16_t remote_port, uint8_t proto,
                        uint8_t local_index)
{
    const vigil__flow_counts_t *c = &t->counts[slot];
    return c->local_port == local_port && c->remote_port == remote_port &&
           (c->flags & (FLOW_FLAG_PROTO_MASK | FLOW_FLAG_SHADOW)) == proto &&
           t->local_of[slot] == local_index &&
           memcmp(t->remotes + slot * t->addr_len, remote, t->addr_len) == 0;
}

/* A free slot from the top of the table down, or FLOW_NO_SLOT. */
static unsigned take_free_slot(const table_t *t)
{
    while (*t->free_cursor > 0) {
        unsigned slot = --*t->free_cursor;
        if (!record_used(&t->counts[slot]))
            return slot;
    }
    return FLOW_NO_SLOT;
}

static void init_record(const table_t *t, unsigned slot, const uint8_t *remote,
                        uint16_t local_port, uint16_t remote_port, uint8_t proto,
                        uint8_t local_index, vigil_dir_t dir, uint16_t offset)
{
    vigil__flow_counts_t *c = &t->counts[slot];
    memset(c, 0, sizeof *c);
    c->local_port = local_port;
    c->remote_port = remote_port;
    c->flags = (uint8_t)(proto | (dir == VIGIL_DIR_IN ? FLOW_FLAG_REMOTE_INITIATED : 0u));
    set_seen(c->seen, offset, offset);
    memcpy(t->remotes + slot * t->addr_len, remote, t->addr_len);
    t->local_of[slot] = local_index;
    t->next[slot] = FLOW_NO_SLOT;
}

/*
 * The slot of the flow's newest record, created if new, or FLOW_NO_SLOT when
 * the table is full. Walks one chain: bounded by the table's capacity.
 */
static unsigned find_or_add(const vigil_ctx_t *ctx, const table_t *t, const uint8_t *remote,
                            uint16_t local_port, uint16_t remote_port, uint8_t proto,
                            uint8_t local_index, vigil_dir_t dir, uint16_t offset)
{
    unsigned slot = home_slot(ctx, t, remote, local_port, remote_port,
                              (uint8_t)(proto | (local_index << 2)));
    if (!record_used(&t->counts[slot])) {
        init_record(t, slot, remote, local_port, remote_port, proto, local_index, dir, offset);
        return slot;
    }
    for (;;) {
        if (key_matches(t, slot, remote, local_port, remote_port, proto, local_index))
            return slot;
        if (t->next[slot] == FLOW_NO_SLOT)
            break;
        slot = t->next[slot];
    }
    unsigned free_slot = take_free_slot(t);
    if (free_slot == FLOW_NO_SLOT)
        return FLOW_NO_SLOT;
    init_record(t, free_slot, remote, local_port, remote_port, proto, local_index, dir, offset);
    t->next[slot] = (uint8_t)free_slot;
    return free_slot;
}

/*
 * Moves the counts of `slot` to a free slot marked SHADOW, linked right
 * after it, and zeroes them at `slot`. False when no slot is free.
 */
static bool spill(const table_t *t, unsigned slot)
{
    unsigned shadow = take_free_slot(t);
    if (shadow == FLOW_NO_SLOT)
        return false;
    vigil__flow_counts_t *c = &t->counts[slot];
    t->counts[shadow] = *c;
    t->counts[shadow].flags |= FLOW_FLAG_SHADOW;
    memcpy(t->remotes + shadow * t->addr_len, t->remotes + slot * t->addr_len, t->addr_len);
    t->local_of[shadow] = t->local_of[slot];
    t->next[shadow] = t->next[slot];
    t->next[slot] = (uint8_t)shadow;
    c->packets[0] = 0;
    c->packets[1] = 0;
    memset(c->bytes, 0, sizeof c->bytes);
    return true;
}

static void count_overflow(vigil_ctx_t *ctx, uint8_t proto, vigil_dir_t dir, uint32_t bytes)
{
    ctx->overflow_packets[proto][dir]++;
    ctx->overflow_bytes[proto][dir] += bytes;
    ctx->counters[VIGIL_CNT_FLOW_TABLE_FULL]++;
}

/* The index of a local address, learned on first sight; FLOW_NO_SLOT when full. */
static unsigned local_index_of(vigil_ctx_t *ctx, uint8_t family, const uint8_t *addr)
{
    if (family == 4) {
        for (unsigned i = 0; i < ctx->local4_count; i++)
            if (load32(ctx->local4[i]) == load32(addr))
                return i;
        if (ctx->local4_count == VIGIL_MAX_LOCAL_ADDRS_V4)
            return FLOW_NO_SLOT;
        memcpy(ctx->local4[ctx->local4_count], addr, 4);
        return ctx->local4_count++;
    }
    for (unsigned i = 0; i < ctx->local6_count; i++)
        if (memcmp(ctx->local6[i], addr, 16) == 0)
            return i;
    if (ctx->local6_count == VIGIL_MAX_LOCAL_ADDRS_V6)
        return FLOW_NO_SLOT;
    memcpy(ctx->local6[ctx->local6_count], addr, 16);
    return ctx->local6_count++;
}

static void add_to_record(vigil__flow_counts_t *c, vigil_dir_t dir, uint32_t bytes,
                          uint8_t tcp_flags, uint16_t offset)
{
    c->packets[dir]++;
    put24(c->bytes[dir], get24(c->bytes[dir]) + bytes);
    set_last_seen(c->seen, offset);
    if (tcp_flags & TCP_FLAG_SYN) {
        if (tcp_flags & TCP_FLAG_ACK) {
            c->flags |= FLOW_FLAG_SYNACK;
        } else {
            /* The side that sends a bare SYN opened the connection. */
            c->flags |= FLOW_FLAG_SYN;
            c->flags = (uint8_t)((c->flags & ~FLOW_FLAG_REMOTE_INITIATED) |
                                 (dir == VIGIL_DIR_IN ? FLOW_FLAG_REMOTE_INITIATED : 0u));
        }
    }
    if (tcp_flags & TCP_FLAG_FIN)
        c->flags |= FLOW_FLAG_FIN;
    if (tcp_flags & TCP_FLAG_RST)
        c->flags |= FLOW_FLAG_RST;
}

/* Accounts a packet whose flow key is known (ports already the packet's own). */
static void account_flow(vigil_ctx_t *ctx, vigil_dir_t dir, uint8_t family, uint8_t proto,
                         const uint8_t *local, const uint8_t *remote, uint16_t local_port,
                         uint16_t remote_port, uint8_t tcp_flags, uint32_t bytes,
                         uint16_t offset)
{
    if ((family == 4 && VIGIL_MAX_FLOWS_V4 == 0) || (family == 6 && VIGIL_MAX_FLOWS_V6 == 0)) {
        count_overflow(ctx, proto, dir, bytes);
        return;
    }
    unsigned local_index = local_index_of(ctx, family, local);
    if (local_index == FLOW_NO_SLOT) {
        ctx->counters[VIGIL_CNT_LOCAL_ADDR_FULL]++;
        count_overflow(ctx, proto, dir, bytes);
        return;
    }
    table_t t = table_of(ctx, family);
    unsigned slot = find_or_add(ctx, &t, remote, local_port, remote_port, proto,
                                (uint8_t)local_index, dir, offset);
    if (slot == FLOW_NO_SLOT) {
        count_overflow(ctx, proto, dir, bytes);
        return;
    }
    vigil__flow_counts_t *c = &t.counts[slot];
    if (c->packets[dir] == PACKETS_MAX || get24(c->bytes[dir]) + bytes > BYTES_MAX) {
        if (!spill(&t, slot)) {
            count_overflow(ctx, proto, dir, bytes);
            return;
        }
        ctx->counters[VIGIL_CNT_FLOW_SPLIT]++;
    }
    add_to_record(c, dir, bytes, tcp_flags, offset);
}

/* The followed datagram a later fragment belongs to, or NULL. */
static vigil__fragment_t *find_fragment(vigil_ctx_t *ctx, const packet_t *pkt)
{
    size_t len = pkt->family == 4 ? 4u : 16u;
    for (unsigned i = 0; i < VIGIL_MAX_FRAGMENTS; i++) {
        vigil__fragment_t *f = &ctx->fragments[i];
        if (f->family == pkt->family && f->id == pkt->fragment_id &&
            memcmp(f->src, pkt->src, len) == 0 && memcmp(f->dst, pkt->dst, len) == 0)
            return f;
    }
    return NULL;
}

/* Remembers a first fragment, replacing the stalest entry when all are busy. */
static void follow_fragment(vigil_ctx_t *ctx, const packet_t *pkt, uint32_t now)
{
    vigil__fragment_t *f = find_fragment(ctx, pkt);
    if (f == NULL) {
        f = &ctx->fragments[0];
        for (unsigned i = 0; i < VIGIL_MAX_FRAGMENTS; i++) {
            vigil__fragment_t *candidate = &ctx->fragments[i];
            if (candidate->family == 0) {
                f = candidate;
                break;
            }
            if ((int32_t)(candidate->last_now - f->last_now) < 0)
                f = candidate;
        }
    }
    size_t len = pkt->family == 4 ? 4u : 16u;
    memcpy(f->src, pkt->src, len);
    memcpy(f->dst, pkt->dst, len);
    f->id = pkt->fragment_id;
    f->last_now = now;
    f->src_port = pkt->src_port;
    f->dst_port = pkt->dst_port;
    f->family = pkt->family;
    f->proto = pkt->proto;
}

void flow_table_account(vigil_ctx_t *ctx, vigil_dir_t dir, const packet_t *pkt, uint16_t offset,
                        uint32_t now)
{
    uint16_t src_port = pkt->src_port;
    uint16_t dst_port = pkt->dst_port;
    uint8_t proto = pkt->proto;

    if (pkt->fragment == PACKET_LATER_FRAGMENT) {
        vigil__fragment_t *f = find_fragment(ctx, pkt);
        if (f == NULL) {
            ctx->counters[proto == 0xffu ? VIGIL_CNT_PROTO_UNSUPPORTED
                                         : VIGIL_CNT_FRAGMENT_UNATTRIBUTED]++;
            return;
        }
        f->last_now = now;
        src_port = f->src_port;
        dst_port = f->dst_port;
        proto = f->proto;
    } else if (pkt->fragment == PACKET_FIRST_FRAGMENT) {
        follow_fragment(ctx, pkt, now);
    }

    if (dir == VIGIL_DIR_OUT) {
        /* ICMP: the type and code are the flow's, whichever way it goes. */
        account_flow(ctx, dir, pkt->family, proto, pkt->src, pkt->dst, src_port, dst_port,
                     pkt->tcp_flags, pkt->datagram_bytes, offset);
    } else if (proto == VIGIL_PROTO_ICMP) {
        account_flow(ctx, dir, pkt->family, proto, pkt->dst, pkt->src, src_port, dst_port,
                     pkt->tcp_flags, pkt->datagram_bytes, offset);
    } else {
        account_flow(ctx, dir, pkt->family, proto, pkt->dst, pkt->src, dst_port, src_port,
                     pkt->tcp_flags, pkt->datagram_bytes, offset);
    }
}

void flow_table_clear(vigil_ctx_t *ctx)
{
    memset(ctx->counts4, 0, sizeof ctx->counts4);
    memset(ctx->counts6, 0, sizeof ctx->counts6);
    ctx->free4 = (uint8_t)VIGIL_MAX_FLOWS_V4;
    ctx->free6 = (uint8_t)VIGIL_MAX_FLOWS_V6;
    ctx->local4_count = 0;
    ctx->local6_count = 0;
    memset(ctx->overflow_packets, 0, sizeof ctx->overflow_packets);
    memset(ctx->overflow_bytes, 0, sizeof ctx->overflow_bytes);
}

bool flow_table_is_flow(const vigil_ctx_t *ctx, uint8_t family, unsigned slot)
{
    const vigil__flow_counts_t *c = family == 4 ? &ctx->counts4[slot] : &ctx->counts6[slot];
    return record_used(c) && !(c->flags & FLOW_FLAG_SHADOW);
}

const uint8_t *flow_table_remote(const vigil_ctx_t *ctx, uint8_t family, unsigned slot)
{
    return family == 4 ? ctx->remote4[slot] : ctx->remote6[slot];
}

unsigned flow_table_capacity(uint8_t family)
{
    return family == 4 ? VIGIL_MAX_FLOWS_V4 : VIGIL_MAX_FLOWS_V6;
}

bool flow_table_get(vigil_ctx_t *ctx, uint8_t family, unsigned slot, flow_view_t *out)
{
    table_t t = table_of(ctx, family);
    if (slot >= t.capacity)
        return false;
    const vigil__flow_counts_t *c = &t.counts[slot];
    if (!record_used(c) || (c->flags & FLOW_FLAG_SHADOW))
        return false;

    const uint8_t *remote = t.remotes + slot * t.addr_len;
    out->remote = remote;
    out->local_port = c->local_port;
    out->remote_port = c->remote_port;
    out->flags = (uint8_t)(c->flags & FLOW_WIRE_FLAGS_MASK);
    out->local_index = t.local_of[slot];
    out->first_seen = seen_first(c->seen);
    out->last_seen = seen_last(c->seen);
    for (unsigned d = 0; d < 2; d++) {
        out->bytes[d] = get24(c->bytes[d]);
        out->packets[d] = c->packets[d];
    }
    /* Shadows of this flow sit later in the same chain. */
    for (unsigned s = t.next[slot]; s != FLOW_NO_SLOT; s = t.next[s]) {
        const vigil__flow_counts_t *shadow = &t.counts[s];
        if (!(shadow->flags & FLOW_FLAG_SHADOW) || shadow->local_port != c->local_port ||
            shadow->remote_port != c->remote_port ||
            (shadow->flags & FLOW_FLAG_PROTO_MASK) != (c->flags & FLOW_FLAG_PROTO_MASK) ||
            t.local_of[s] != t.local_of[slot] ||
            memcmp(t.remotes + s * t.addr_len, remote, t.addr_len) != 0)
            continue;
        for (unsigned d = 0; d < 2; d++) {
            out->bytes[d] += get24(shadow->bytes[d]);
            out->packets[d] += shadow->packets[d];
        }
        uint16_t first = seen_first(shadow->seen);
        if (first < out->first_seen)
            out->first_seen = first;
        out->flags |= (uint8_t)(shadow->flags & (FLOW_FLAG_SYN | FLOW_FLAG_SYNACK | FLOW_FLAG_FIN |
                                                 FLOW_FLAG_RST));
    }
    return true;
}
