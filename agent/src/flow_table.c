/*
 * flow_table.c - aggregates parsed packets into flows for one report period.
 *
 * Each family has a fixed table organised by coalesced hashing: a flow's home
 * slot comes from a seeded hash of its key; collisions take free slots from
 * the top of the table down and are linked into the home slot's chain. This
 * needs no bucket array (the table is the bucket array) and fills to 100%,
 * so the memory per tracked flow is the record itself. Records are never
 * deleted within a period; the whole table is cleared when the period's
 * reports are encoded, so the free cursor only moves down.
 *
 * A record is five 32-bit words (see vigil/ctx.h), so that the key compares
 * and counter updates of the per-packet path are a few word operations on
 * both 32- and 64-bit cores. The per-family paths are generated from one
 * inline body with the address width as a constant.
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

#if defined(__GNUC__) || defined(__clang__)
#define FLOW_INLINE static inline __attribute__((always_inline))
#define FLOW_COLD static __attribute__((noinline))
#else
#define FLOW_INLINE static inline
#define FLOW_COLD static
#endif

#define COUNT_MASK 0x00ffffffu
#define BYTES_MAX COUNT_MASK
#define PACKETS_MAX 0xffffu
#define FLAGS_SHIFT 24
#define LINK_SHIFT 24
#define LOCAL_SHIFT 24
#define SEEN_MASK 0xfffu
#define FIRST_SHIFT 12

static uint32_t load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/*
 * A record keeps its two ports as the four bytes they have on the wire
 * (local port, then remote port, big-endian), loaded as one word: the fast
 * path then takes them from a TCP/UDP header with one load (and one rotate
 * for inbound packets), whatever the host's byte order.
 */
static uint32_t ports_word(uint32_t local_port, uint32_t remote_port)
{
    uint8_t wire[4] = {(uint8_t)(local_port >> 8), (uint8_t)local_port,
                       (uint8_t)(remote_port >> 8), (uint8_t)remote_port};
    return load32(wire);
}

static void ports_of_word(uint32_t word, uint16_t *local_port, uint16_t *remote_port)
{
    uint8_t wire[4];
    memcpy(wire, &word, sizeof wire);
    *local_port = (uint16_t)((wire[0] << 8) | wire[1]);
    *remote_port = (uint16_t)((wire[2] << 8) | wire[3]);
}

static bool record_used(const vigil__flow_t *f)
{
    return f->packets != 0;
}

static unsigned record_flags(const vigil__flow_t *f)
{
    return f->bytes_in >> FLAGS_SHIFT;
}

static unsigned record_link(const vigil__flow_t *f)
{
    return f->bytes_out >> LINK_SHIFT;
}

static void set_link(vigil__flow_t *f, unsigned link)
{
    f->bytes_out = (f->bytes_out & COUNT_MASK) | ((uint32_t)link << LINK_SHIFT);
}

static unsigned record_local(const vigil__flow_t *f)
{
    return f->seen >> LOCAL_SHIFT;
}

/* One family's table, as constants once inlined. */
typedef struct {
    vigil__flow_t *flows;
    uint32_t *remotes;    /* words words per slot */
    uint8_t *free_cursor;
    unsigned capacity;
    unsigned words;       /* 1 (IPv4) or 4 (IPv6) */
} table_t;

FLOW_INLINE table_t table_of(vigil_ctx_t *ctx, unsigned family)
{
    table_t t;
    if (family == 4) {
        t.flows = ctx->flows4;
        t.remotes = &ctx->remote4[0][0];
        t.free_cursor = &ctx->free4;
        t.capacity = VIGIL_MAX_FLOWS_V4;
        t.words = 1;
    } else {
        t.flows = ctx->flows6;
        t.remotes = &ctx->remote6[0][0];
        t.free_cursor = &ctx->free6;
        t.capacity = VIGIL_MAX_FLOWS_V6;
        t.words = 4;
    }
    return t;
}

/* What identifies a flow within its family's table. */
typedef struct {
    uint32_t remote[4];  /* only `words` of them used */
    uint32_t ports;      /* as ports_word() packs them */
    unsigned proto;
    unsigned local;
} flow_key_t;

FLOW_INLINE bool remote_equal(const table_t *t, unsigned slot, const uint32_t *remote)
{
    const uint32_t *r = t->remotes + slot * t->words;
    if (t->words == 1)
        return r[0] == remote[0];
    return ((r[0] ^ remote[0]) | (r[1] ^ remote[1]) | (r[2] ^ remote[2]) | (r[3] ^ remote[3])) == 0;
}

/* The home slot of a key. The seed is per boot, so collisions cannot be
 * planned from outside; multiply-shift keeps it cheap on 32-bit cores. */
FLOW_INLINE unsigned home_slot(const vigil_ctx_t *ctx, const table_t *t, const flow_key_t *k)
{
    uint32_t h = k->remote[0] ^ ctx->hash_seed;
    if (t->words == 4)
        h ^= k->remote[1] * 0x85ebca6bu ^ k->remote[2] * 0xc2b2ae35u ^ k->remote[3];
    h *= 0x9e3779b1u;
    /* Protocol and local address are left out: flows differing only in
     * them are rare, and key_matches() tells them apart. */
    h ^= k->ports;
    h *= 0x85ebca6bu;
    h ^= h >> 15;
    return (unsigned)(((h >> 16) * t->capacity) >> 16);
}

FLOW_INLINE bool key_matches(const table_t *t, unsigned slot, const flow_key_t *k)
{
    const vigil__flow_t *f = &t->flows[slot];
    return f->ports == k->ports &&
           (record_flags(f) & (FLOW_FLAG_PROTO_MASK | FLOW_FLAG_SHADOW)) == k->proto &&
           record_local(f) == k->local && remote_equal(t, slot, k->remote);
}

/* A free slot from the top of the table down, or FLOW_NO_SLOT. */
static unsigned take_free_slot(const table_t *t)
{
    while (*t->free_cursor > 0) {
        unsigned slot = --*t->free_cursor;
        if (!record_used(&t->flows[slot]))
            return slot;
    }
    return FLOW_NO_SLOT;
}

FLOW_INLINE void init_record(const table_t *t, unsigned slot, const flow_key_t *k,
                             vigil_dir_t dir, uint16_t offset)
{
    vigil__flow_t *f = &t->flows[slot];
    uint32_t flags = k->proto | (dir == VIGIL_DIR_IN ? FLOW_FLAG_REMOTE_INITIATED : 0u);
    f->ports = k->ports;
    f->packets = 0;
    f->bytes_in = flags << FLAGS_SHIFT;
    f->bytes_out = (uint32_t)FLOW_NO_SLOT << LINK_SHIFT;
    f->seen = offset | ((uint32_t)offset << FIRST_SHIFT) | ((uint32_t)k->local << LOCAL_SHIFT);
    memcpy(t->remotes + slot * t->words, k->remote, t->words * sizeof(uint32_t));
}

/* A new record for key k, linked after `chain_end`; FLOW_NO_SLOT when full.
 * Out of line: the table's pointers stay in registers on the common path. */
FLOW_COLD unsigned add_after(vigil_ctx_t *ctx, unsigned family, const flow_key_t *k,
                             vigil_dir_t dir, uint16_t offset, unsigned chain_end)
{
    table_t t = table_of(ctx, family);
    unsigned slot = take_free_slot(&t);
    if (slot == FLOW_NO_SLOT)
        return FLOW_NO_SLOT;
    init_record(&t, slot, k, dir, offset);
    set_link(&t.flows[chain_end], slot);
    return slot;
}

/*
 * The slot of the flow's newest record, created if new, or FLOW_NO_SLOT when
 * the table is full. Walks one chain: bounded by the table's capacity.
 */
FLOW_INLINE unsigned find_or_add(vigil_ctx_t *ctx, unsigned family, const flow_key_t *k,
                                 vigil_dir_t dir, uint16_t offset)
{
    table_t t = table_of(ctx, family);
    unsigned slot = home_slot(ctx, &t, k);
    if (!record_used(&t.flows[slot])) {
        init_record(&t, slot, k, dir, offset);
        return slot;
    }
    for (;;) {
        if (key_matches(&t, slot, k))
            return slot;
        unsigned next = record_link(&t.flows[slot]);
        if (next == FLOW_NO_SLOT)
            return add_after(ctx, family, k, dir, offset, slot);
        slot = next;
    }
}

/*
 * Moves the counts of `slot` to a free slot marked SHADOW, linked right
 * after it, and zeroes them at `slot`. False when no slot is free.
 */
FLOW_COLD bool spill(vigil_ctx_t *ctx, unsigned family, unsigned slot)
{
    table_t t = table_of(ctx, family);
    unsigned shadow = take_free_slot(&t);
    if (shadow == FLOW_NO_SLOT)
        return false;
    vigil__flow_t *f = &t.flows[slot];
    vigil__flow_t *s = &t.flows[shadow];
    *s = *f;
    s->bytes_in |= (uint32_t)FLOW_FLAG_SHADOW << FLAGS_SHIFT;
    memcpy(t.remotes + shadow * t.words, t.remotes + slot * t.words, t.words * sizeof(uint32_t));
    set_link(f, shadow);
    f->packets = 0;
    f->bytes_in &= ~COUNT_MASK;
    f->bytes_out &= ~COUNT_MASK;
    return true;
}

static void count_overflow(vigil_ctx_t *ctx, unsigned proto, vigil_dir_t dir, uint32_t bytes)
{
    ctx->overflow_packets[proto][dir]++;
    ctx->overflow_bytes[proto][dir] += bytes;
    ctx->counters[VIGIL_CNT_FLOW_TABLE_FULL]++;
}

/* The index of a local address, learned on first sight; FLOW_NO_SLOT when full. */
FLOW_INLINE unsigned local_index_of(uint32_t *locals, uint8_t *count, unsigned max,
                                    unsigned words, const uint32_t *addr)
{
    for (unsigned i = 0; i < *count; i++) {
        const uint32_t *l = locals + i * words;
        if (l[0] == addr[0] && (words == 1 || (l[1] == addr[1] && l[2] == addr[2] &&
                                               l[3] == addr[3])))
            return i;
    }
    if (*count == max)
        return FLOW_NO_SLOT;
    memcpy(locals + *count * words, addr, words * sizeof(uint32_t));
    return (*count)++;
}

static void add_tcp_flags(vigil__flow_t *f, vigil_dir_t dir, unsigned tcp_flags)
{
    uint32_t flags = record_flags(f);
    if (tcp_flags & TCP_FLAG_SYN) {
        if (tcp_flags & TCP_FLAG_ACK) {
            flags |= FLOW_FLAG_SYNACK;
        } else {
            /* The side that sends a bare SYN opened the connection. */
            flags |= FLOW_FLAG_SYN;
            flags = (flags & ~(uint32_t)FLOW_FLAG_REMOTE_INITIATED) |
                    (dir == VIGIL_DIR_IN ? FLOW_FLAG_REMOTE_INITIATED : 0u);
        }
    }
    if (tcp_flags & TCP_FLAG_FIN)
        flags |= FLOW_FLAG_FIN;
    if (tcp_flags & TCP_FLAG_RST)
        flags |= FLOW_FLAG_RST;
    f->bytes_in = (f->bytes_in & COUNT_MASK) | (flags << FLAGS_SHIFT);
}

/* Adds the packet's flags and time to a record whose counters were updated. */
FLOW_INLINE void touch_record(vigil__flow_t *f, vigil_dir_t dir, unsigned tcp_flags,
                              uint16_t offset)
{
    uint32_t seen = f->seen;
    if (offset >= (seen & SEEN_MASK))
        seen = (seen & ~(uint32_t)SEEN_MASK) | offset;
    else if (offset < ((seen >> FIRST_SHIFT) & SEEN_MASK)) /* clock stepped back */
        seen = (seen & ~((uint32_t)SEEN_MASK << FIRST_SHIFT)) | ((uint32_t)offset << FIRST_SHIFT);
    f->seen = seen;
    /* Most TCP segments carry only ACK/PSH: nothing to record for them. */
    if (tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_FIN | TCP_FLAG_RST))
        add_tcp_flags(f, dir, tcp_flags);
}

/*
 * Adds one packet to a record unless a counter would wrap (16-bit packets,
 * 24-bit bytes); then it returns false and changes nothing.
 */
FLOW_INLINE bool add_packet(vigil__flow_t *f, vigil_dir_t dir, uint32_t bytes)
{
    if (dir == VIGIL_DIR_IN) {
        if ((f->packets & PACKETS_MAX) == PACKETS_MAX || (f->bytes_in & COUNT_MASK) + bytes > BYTES_MAX)
            return false;
        f->packets += 1u;
        f->bytes_in += bytes; /* cannot carry into the flags: checked above */
    } else {
        if ((f->packets >> 16) == PACKETS_MAX || (f->bytes_out & COUNT_MASK) + bytes > BYTES_MAX)
            return false;
        f->packets += 1u << 16;
        f->bytes_out += bytes;
    }
    return true;
}

/* Accounts one packet of a known key in the family's table. */
FLOW_INLINE void account_in(vigil_ctx_t *ctx, unsigned family, const flow_key_t *k,
                            vigil_dir_t dir, unsigned tcp_flags, uint32_t bytes, uint16_t offset)
{
    unsigned slot = find_or_add(ctx, family, k, dir, offset);
    if (slot == FLOW_NO_SLOT) {
        count_overflow(ctx, k->proto, dir, bytes);
        return;
    }
    vigil__flow_t *f = family == 4 ? &ctx->flows4[slot] : &ctx->flows6[slot];
    if (!add_packet(f, dir, bytes)) {
        if (!spill(ctx, family, slot)) {
            count_overflow(ctx, k->proto, dir, bytes);
            return;
        }
        ctx->counters[VIGIL_CNT_FLOW_SPLIT]++;
        add_packet(f, dir, bytes);
    }
    touch_record(f, dir, tcp_flags, offset);
}

static void account_v4(vigil_ctx_t *ctx, flow_key_t *k, const uint8_t *local, vigil_dir_t dir,
                       unsigned tcp_flags, uint32_t bytes, uint16_t offset)
{
    uint32_t local_addr[4] = {load32(local), 0, 0, 0};
    unsigned index = local_index_of(&ctx->local4[0][0], &ctx->local4_count,
                                    VIGIL_MAX_LOCAL_ADDRS_V4, 1, local_addr);
    if (index == FLOW_NO_SLOT) {
        ctx->counters[VIGIL_CNT_LOCAL_ADDR_FULL]++;
        count_overflow(ctx, k->proto, dir, bytes);
        return;
    }
    k->local = index;
    account_in(ctx, 4, k, dir, tcp_flags, bytes, offset);
}

/* Only the general path comes here: inlined into it, so that its frame is
 * not stacked on the general path's (see flow_table_observe_general()). */
FLOW_INLINE void account_v6(vigil_ctx_t *ctx, flow_key_t *k, const uint8_t *local, vigil_dir_t dir,
                          unsigned tcp_flags, uint32_t bytes, uint16_t offset)
{
    unsigned index = 0;
    while (index < ctx->local6_count && memcmp(ctx->local6[index], local, 16) != 0)
        index++;
    if (index == ctx->local6_count) {
        if (index == VIGIL_MAX_LOCAL_ADDRS_V6) {
            ctx->counters[VIGIL_CNT_LOCAL_ADDR_FULL]++;
            count_overflow(ctx, k->proto, dir, bytes);
            return;
        }
        memcpy(ctx->local6[index], local, 16);
        ctx->local6_count++;
    }
    k->local = index;
    account_in(ctx, 6, k, dir, tcp_flags, bytes, offset);
}

/* The followed datagram a later fragment belongs to, or NULL. */
static vigil__fragment_t *find_fragment(vigil_ctx_t *ctx, const packet_t *pkt)
{
    size_t len = pkt->family == 4 ? 4u : 16u;
    for (unsigned i = 0; i < VIGIL_MAX_FRAGMENTS; i++) {
        vigil__fragment_t *f = &ctx->fragments[i];
        /* IPv4 reassembles by (src, dst, id, protocol); an IPv6 later
         * fragment may name an extension header instead of the protocol. */
        if (f->family == pkt->family && f->id == pkt->fragment_id &&
            (f->proto == pkt->proto || (pkt->family == 6 && pkt->proto == PACKET_PROTO_UNKNOWN)) &&
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

/* Accounts a packet under the key given by its addresses and these ports. */
FLOW_INLINE void account_key(vigil_ctx_t *ctx, vigil_dir_t dir, const packet_t *pkt,
                             unsigned proto, uint32_t src_port, uint32_t dst_port,
                             uint16_t offset)
{
    flow_key_t k;
    const uint8_t *local, *remote;
    k.proto = proto;
    if (dir == VIGIL_DIR_OUT) {
        local = pkt->src;
        remote = pkt->dst;
        k.ports = ports_word(src_port, dst_port);
    } else {
        local = pkt->dst;
        remote = pkt->src;
        /* ICMP: the type and code are the flow's, whichever way it goes. */
        k.ports = proto == VIGIL_PROTO_ICMP ? ports_word(src_port, dst_port)
                                            : ports_word(dst_port, src_port);
    }
    if (pkt->family == 4) {
        if (VIGIL_MAX_FLOWS_V4 == 0) {
            count_overflow(ctx, proto, dir, pkt->datagram_bytes);
            return;
        }
        k.remote[0] = load32(remote);
        account_v4(ctx, &k, local, dir, pkt->tcp_flags, pkt->datagram_bytes, offset);
    } else {
        if (VIGIL_MAX_FLOWS_V6 == 0) {
            count_overflow(ctx, proto, dir, pkt->datagram_bytes);
            return;
        }
        memcpy(k.remote, remote, sizeof k.remote);
        account_v6(ctx, &k, local, dir, pkt->tcp_flags, pkt->datagram_bytes, offset);
    }
}

/*
 * Fragments: the first is followed; a later one takes its ports and protocol
 * into *proto, *src_port, *dst_port. False (counted) for a later fragment of
 * no followed datagram. Returns before the packet is accounted, so its frame
 * is not on the stack below the accounting's.
 */
FLOW_COLD bool resolve_fragment(vigil_ctx_t *ctx, const packet_t *pkt, uint32_t now,
                                unsigned *proto, uint32_t *src_port, uint32_t *dst_port)
{
    if (pkt->fragment == PACKET_FIRST_FRAGMENT) {
        follow_fragment(ctx, pkt, now);
        return true;
    }
    vigil__fragment_t *f = find_fragment(ctx, pkt);
    if (f == NULL) {
        ctx->counters[pkt->proto == PACKET_PROTO_UNKNOWN ? VIGIL_CNT_PROTO_UNSUPPORTED
                                                         : VIGIL_CNT_FRAGMENT_UNATTRIBUTED]++;
        return false;
    }
    f->last_now = now;
    *proto = f->proto;
    *src_port = f->src_port;
    *dst_port = f->dst_port;
    return true;
}

FLOW_INLINE void account_packet(vigil_ctx_t *ctx, vigil_dir_t dir, const packet_t *pkt,
                                uint16_t offset, uint32_t now)
{
    unsigned proto = pkt->proto;
    uint32_t src_port = pkt->src_port, dst_port = pkt->dst_port;
    if (pkt->fragment != PACKET_NOT_FRAGMENT &&
        !resolve_fragment(ctx, pkt, now, &proto, &src_port, &dst_port))
        return;
    account_key(ctx, dir, pkt, proto, src_port, dst_port, offset);
}

#if VIGIL_FAST_PATH && VIGIL_MAX_FLOWS_V4 > 0
static uint32_t be16_at(const uint8_t *p)
{
    return ((uint32_t)p[0] << 8) | p[1];
}

/* The ports word (see ports_word()) of the same two ports in the other order. */
static uint32_t ports_swapped(uint32_t word)
{
    return (word >> 16) | (word << 16);
}
#endif

/*
 * The path most packets take: IPv4 without options or fragmentation, TCP or
 * UDP, from or to a local address already known. It parses only what
 * packet_parse() would accept for such a packet, then accounts it exactly as
 * the general path does; on anything else it gives up (returning false,
 * having changed nothing) and the general path takes the packet. The vectors
 * are encoded identically with VIGIL_FAST_PATH 0 and 1 (tested).
 */
FLOW_INLINE bool fast_ipv4(vigil_ctx_t *ctx, vigil_dir_t dir, const uint8_t *d, size_t captured,
                           size_t length, uint16_t offset)
{
#if VIGIL_FAST_PATH && VIGIL_MAX_FLOWS_V4 > 0
    if (captured < 28 || d[0] != 0x45 || (be16_at(d + 6) & 0x3fffu) != 0)
        return false;
    uint32_t total = be16_at(d + 2);
    unsigned proto, tcp_flags = 0;
    if (d[9] == IPPROTO_NUM_TCP) {
        /* TCP header whole in both the capture and the datagram, sane offset. */
        if (captured < 40)
            return false;
        uint32_t data_offset = (uint32_t)(d[32] >> 4) * 4u;
        if (data_offset < 20u || data_offset + 20u > total)
            return false;
        proto = VIGIL_PROTO_TCP;
        tcp_flags = d[33];
    } else if (d[9] == IPPROTO_NUM_UDP) {
        if (total < 28)
            return false;
        proto = VIGIL_PROTO_UDP;
    } else {
        return false;
    }
    if (total > length)
        return false;

    const uint8_t *local = d + IP4_OFF_SRC, *remote = d + IP4_OFF_DST;
    flow_key_t k;
    k.ports = load32(d + 20); /* source port, destination port */
    if (dir == VIGIL_DIR_IN) {
        local = d + IP4_OFF_DST;
        remote = d + IP4_OFF_SRC;
        k.ports = ports_swapped(k.ports);
    }
    uint32_t local_addr = load32(local);
    unsigned index = 0;
    while (index < ctx->local4_count && ctx->local4[index][0] != local_addr)
        index++;
    if (index == ctx->local4_count)
        return false;
    k.remote[0] = load32(remote);
    k.proto = proto;
    k.local = index;

    account_in(ctx, 4, &k, dir, tcp_flags, total, offset);
    return true;
#else
    (void)ctx, (void)dir, (void)d, (void)captured, (void)length, (void)offset;
    return false;
#endif
}

/* Seconds since the period started, clamped as a record stores them. */
FLOW_INLINE uint16_t offset_at(const vigil_ctx_t *ctx, uint32_t now)
{
    int32_t age = (int32_t)(now - ctx->period_start);
    if (age < 0)
        return 0;
    return age > (int32_t)FLOW_SEEN_MAX ? (uint16_t)FLOW_SEEN_MAX : (uint16_t)age;
}

/*
 * Every packet the shortcut does not take. One frame for parsing and
 * accounting (everything below is inlined but the rare new-record and spill
 * paths), so that the worst-case stack of vigil_observe stays small.
 */
void flow_table_observe_general(vigil_ctx_t *ctx, vigil_dir_t dir, const uint8_t *data,
                                size_t captured, size_t length, uint32_t now)
{
    packet_t pkt;
    vigil_counter_t verdict = packet_parse(data, captured, length, &pkt);
    if (verdict != VIGIL_CNT__COUNT) {
        ctx->counters[verdict]++;
        return;
    }
    account_packet(ctx, dir, &pkt, offset_at(ctx, now), now);
}

void flow_table_observe(vigil_ctx_t *ctx, vigil_dir_t dir, const uint8_t *data, size_t captured,
                        size_t length, uint32_t now)
{
    int32_t age = (int32_t)(now - ctx->period_start);
    if (age < 0)
        ctx->counters[VIGIL_CNT_CLOCK_BACKWARDS]++;
    else if (age > (int32_t)FLOW_SEEN_MAX)
        ctx->counters[VIGIL_CNT_TIME_SATURATED]++;
    if (fast_ipv4(ctx, dir, data, captured, length, offset_at(ctx, now)))
        return;
    /* A tail call: with the same arguments, the compiler jumps, and this
     * function's frame is gone before the general path's is made. */
    flow_table_observe_general(ctx, dir, data, captured, length, now);
}

void flow_table_clear(vigil_ctx_t *ctx)
{
    memset(ctx->flows4, 0, sizeof ctx->flows4);
    memset(ctx->flows6, 0, sizeof ctx->flows6);
    ctx->free4 = (uint8_t)VIGIL_MAX_FLOWS_V4;
    ctx->free6 = (uint8_t)VIGIL_MAX_FLOWS_V6;
    ctx->local4_count = 0;
    ctx->local6_count = 0;
    memset(ctx->overflow_packets, 0, sizeof ctx->overflow_packets);
    memset(ctx->overflow_bytes, 0, sizeof ctx->overflow_bytes);
}

unsigned flow_table_capacity(uint8_t family)
{
    return family == 4 ? VIGIL_MAX_FLOWS_V4 : VIGIL_MAX_FLOWS_V6;
}

bool flow_table_is_flow(const vigil_ctx_t *ctx, uint8_t family, unsigned slot)
{
    const vigil__flow_t *f = family == 4 ? &ctx->flows4[slot] : &ctx->flows6[slot];
    return record_used(f) && !(record_flags(f) & FLOW_FLAG_SHADOW);
}

const uint8_t *flow_table_remote(const vigil_ctx_t *ctx, uint8_t family, unsigned slot)
{
    return family == 4 ? (const uint8_t *)ctx->remote4[slot] : (const uint8_t *)ctx->remote6[slot];
}

static void add_counts(flow_view_t *out, const vigil__flow_t *f)
{
    out->bytes[VIGIL_DIR_IN] += f->bytes_in & COUNT_MASK;
    out->bytes[VIGIL_DIR_OUT] += f->bytes_out & COUNT_MASK;
    out->packets[VIGIL_DIR_IN] += f->packets & PACKETS_MAX;
    out->packets[VIGIL_DIR_OUT] += f->packets >> 16;
}

bool flow_table_get(vigil_ctx_t *ctx, uint8_t family, unsigned slot, flow_view_t *out)
{
    table_t t = table_of(ctx, family);
    if (slot >= t.capacity)
        return false;
    const vigil__flow_t *f = &t.flows[slot];
    if (!record_used(f) || (record_flags(f) & FLOW_FLAG_SHADOW))
        return false;

    out->remote = (const uint8_t *)(t.remotes + slot * t.words);
    ports_of_word(f->ports, &out->local_port, &out->remote_port);
    out->flags = (uint8_t)(record_flags(f) & FLOW_WIRE_FLAGS_MASK);
    out->local_index = (uint8_t)record_local(f);
    out->first_seen = (uint16_t)((f->seen >> FIRST_SHIFT) & SEEN_MASK);
    out->last_seen = (uint16_t)(f->seen & SEEN_MASK);
    memset(out->bytes, 0, sizeof out->bytes);
    memset(out->packets, 0, sizeof out->packets);
    add_counts(out, f);

    /* Shadows of this flow sit later in the same chain. */
    flow_key_t k;
    memcpy(k.remote, t.remotes + slot * t.words, t.words * sizeof(uint32_t));
    k.ports = f->ports;
    k.proto = record_flags(f) & FLOW_FLAG_PROTO_MASK;
    k.local = record_local(f);
    for (unsigned s = record_link(f); s != FLOW_NO_SLOT; s = record_link(&t.flows[s])) {
        const vigil__flow_t *shadow = &t.flows[s];
        if (!(record_flags(shadow) & FLOW_FLAG_SHADOW) || shadow->ports != k.ports ||
            (record_flags(shadow) & FLOW_FLAG_PROTO_MASK) != k.proto ||
            record_local(shadow) != k.local || !remote_equal(&t, s, k.remote))
            continue;
        add_counts(out, shadow);
        uint16_t first = (uint16_t)((shadow->seen >> FIRST_SHIFT) & SEEN_MASK);
        if (first < out->first_seen)
            out->first_seen = first;
        out->flags |= (uint8_t)(record_flags(shadow) &
                                (FLOW_FLAG_SYN | FLOW_FLAG_SYNACK | FLOW_FLAG_FIN | FLOW_FLAG_RST));
    }
    return true;
}
