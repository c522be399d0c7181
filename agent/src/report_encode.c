/*
 * report_encode.c - turns one closing period into CBOR reports as specified
 * in proto/vigil.cddl.
 *
 * A period that does not fit one message is split into parts; every part is
 * a complete report (header, local addresses) and the first also carries the
 * system information, counters, overflow and uptime. Items (flows, then
 * listeners) are written one at a time and rolled back when they do not fit,
 * so a report is never truncated and never exceeds the capacity.
 *
 * This file must never modify the flow table (the period is cleared by its
 * caller once every part is written) and never allocate.
 */
#include <string.h>

#include "report_encode.h"

#include "cbor_out.h"
#include "flow_table.h"

enum {
    KEY_VERSION = 0,
    KEY_DEVICE_ID = 1,
    KEY_BOOT_ID = 2,
    KEY_SEQ = 3,
    KEY_PERIOD_START = 4,
    KEY_PERIOD_END = 5,
    KEY_INTERVAL = 6,
    KEY_PART = 7,
    KEY_MORE = 8,
    KEY_LOCAL_ADDRS = 9,
    KEY_FLOWS = 10,
    KEY_LISTENERS = 11,
    KEY_SYSTEM = 12,
    KEY_COUNTERS = 13,
    KEY_OVERFLOW = 14,
    KEY_UPTIME = 15
};

enum {
    SYS_OS_NAME = 0,
    SYS_OS_VERSION = 1,
    SYS_STACK_NAME = 2,
    SYS_STACK_VERSION = 3,
    SYS_AGENT_VERSION = 4,
    SYS_DEVICE_MODEL = 5,
    SYS_FIRMWARE_VERSION = 6,
    SYS_BOOT_TIME = 7
};

/* Room for the head of an array of up to 65535 items. */
#define ARRAY_HEAD_RESERVE 3u
/* Room kept for `8: true` at the end of a part that has a successor. */
#define MORE_RESERVE 2u

size_t report_utf8_prefix(const char *s, size_t max)
{
    size_t i = 0;
    while (i < max && s[i] != '\0') {
        uint8_t c = (uint8_t)s[i];
        size_t n;
        if (c < 0x80u)
            n = 1;
        else if (c >= 0xc2u && c <= 0xdfu)
            n = 2;
        else if (c >= 0xe0u && c <= 0xefu)
            n = 3;
        else if (c >= 0xf0u && c <= 0xf4u)
            n = 4;
        else
            break;
        if (i + n > max)
            break;
        size_t k = 1;
        while (k < n && ((uint8_t)s[i + k] & 0xc0u) == 0x80u)
            k++;
        if (k != n)
            break;
        /* Overlong 3/4-byte forms, surrogates and code points past U+10FFFF. */
        uint8_t c1 = (uint8_t)s[i + 1];
        if ((c == 0xe0u && c1 < 0xa0u) || (c == 0xedu && c1 >= 0xa0u) ||
            (c == 0xf0u && c1 < 0x90u) || (c == 0xf4u && c1 >= 0x90u))
            break;
        i += n;
    }
    return i;
}

static void put_text_field(cbor_out_t *w, unsigned key, const char *s)
{
    size_t len = report_utf8_prefix(s, VIGIL_MAX_STRING);
    cbor_put_uint(w, key);
    cbor_put_text(w, s, len);
}

static bool sysinfo_due(const vigil_ctx_t *ctx)
{
    return (ctx->config.collectors & VIGIL_COLLECT_SYSINFO) &&
           ctx->periods % ctx->config.sysinfo_every == 0;
}

static void put_system(cbor_out_t *w, const vigil_ctx_t *ctx)
{
    static const char agent_version[] = VIGIL_VERSION;
    const vigil_sysinfo_t *si = ctx->port ? ctx->port->sysinfo : NULL;
    const char *fields[7] = {NULL};
    if (si) {
        fields[SYS_OS_NAME] = si->os_name;
        fields[SYS_OS_VERSION] = si->os_version;
        fields[SYS_STACK_NAME] = si->stack_name;
        fields[SYS_STACK_VERSION] = si->stack_version;
        fields[SYS_DEVICE_MODEL] = si->device_model;
        fields[SYS_FIRMWARE_VERSION] = si->firmware_version;
    }
    fields[SYS_AGENT_VERSION] = agent_version;

    bool boot_time_known = si && si->boot_time != 0;
    unsigned n = boot_time_known ? 1u : 0u;
    for (unsigned k = 0; k < 7; k++)
        n += fields[k] != NULL;
    cbor_put_head(w, CBOR_MAJOR_MAP, n);
    for (unsigned k = 0; k < 7; k++)
        if (fields[k])
            put_text_field(w, k, fields[k]);
    if (boot_time_known) {
        cbor_put_uint(w, SYS_BOOT_TIME);
        cbor_put_uint(w, si->boot_time);
    }
}

static void put_counters(cbor_out_t *w, const vigil_ctx_t *ctx)
{
    unsigned n = 0;
    for (unsigned i = 0; i < VIGIL_CNT__COUNT; i++)
        n += ctx->counters[i] != 0;
    cbor_put_head(w, CBOR_MAJOR_MAP, n);
    for (unsigned i = 0; i < VIGIL_CNT__COUNT; i++) {
        if (ctx->counters[i] != 0) {
            cbor_put_uint(w, i);
            cbor_put_uint(w, ctx->counters[i]);
        }
    }
}

static unsigned overflow_entries(const vigil_ctx_t *ctx)
{
    unsigned n = 0;
    for (unsigned p = 0; p < 3; p++)
        for (unsigned d = 0; d < 2; d++)
            n += ctx->overflow_packets[p][d] != 0;
    return n;
}

static void put_overflow(cbor_out_t *w, const vigil_ctx_t *ctx)
{
    cbor_put_head(w, CBOR_MAJOR_ARRAY, overflow_entries(ctx));
    for (unsigned p = 0; p < 3; p++) {
        for (unsigned d = 0; d < 2; d++) {
            if (ctx->overflow_packets[p][d] == 0)
                continue;
            cbor_put_head(w, CBOR_MAJOR_ARRAY, 3);
            cbor_put_uint(w, p * 2u + d);
            cbor_put_uint(w, ctx->overflow_packets[p][d]);
            cbor_put_uint(w, ctx->overflow_bytes[p][d]);
        }
    }
}

static void put_local_addrs(cbor_out_t *w, const vigil_ctx_t *ctx)
{
    cbor_put_head(w, CBOR_MAJOR_ARRAY, (uint64_t)ctx->local4_count + ctx->local6_count);
    for (unsigned i = 0; i < ctx->local4_count; i++)
        cbor_put_bytes(w, (const uint8_t *)ctx->local4[i], 4);
    for (unsigned i = 0; i < ctx->local6_count; i++)
        cbor_put_bytes(w, (const uint8_t *)ctx->local6[i], 16);
}

/*
 * The position, in this part's flow array, of the first flow before `slot`
 * (from `first_slot` on) with the same remote address, or -1.
 * `position_base` is the number of flows of other families before them.
 */
static long earlier_remote(const vigil_ctx_t *ctx, uint8_t family, unsigned first_slot,
                           unsigned slot, unsigned position_base)
{
    size_t len = family == 4 ? 4u : 16u;
    const uint8_t *remote = flow_table_remote(ctx, family, slot);
    unsigned position = position_base;
    for (unsigned s = first_slot; s < slot; s++) {
        if (!flow_table_is_flow(ctx, family, s))
            continue;
        if (memcmp(flow_table_remote(ctx, family, s), remote, len) == 0)
            return (long)position;
        position++;
    }
    return -1;
}

static void put_flow(cbor_out_t *w, const flow_view_t *f, uint8_t family, long remote_ref)
{
    cbor_put_head(w, CBOR_MAJOR_ARRAY, 10);
    cbor_put_uint(w, (uint64_t)f->flags | ((uint64_t)f->local_index << 7));
    if (remote_ref >= 0)
        cbor_put_uint(w, (uint64_t)remote_ref);
    else
        cbor_put_bytes(w, f->remote, family == 4 ? 4u : 16u);
    cbor_put_uint(w, f->local_port);
    cbor_put_uint(w, f->remote_port);
    cbor_put_uint(w, f->bytes[VIGIL_DIR_IN]);
    cbor_put_uint(w, f->bytes[VIGIL_DIR_OUT]);
    cbor_put_uint(w, f->packets[VIGIL_DIR_IN]);
    cbor_put_uint(w, f->packets[VIGIL_DIR_OUT]);
    cbor_put_uint(w, f->first_seen);
    cbor_put_uint(w, (uint64_t)(f->last_seen - f->first_seen));
}

/* Opens an array under `key` with room for its head; returns where it starts. */
static size_t open_array(cbor_out_t *w, unsigned key)
{
    cbor_put_uint(w, key);
    size_t at = w->pos;
    if (w->overflow || w->capacity - w->pos < ARRAY_HEAD_RESERVE) {
        w->overflow = true;
        return at;
    }
    w->pos += ARRAY_HEAD_RESERVE;
    return at;
}

/*
 * Ends an array opened by open_array() at key_at: its head is patched to the
 * `written` items, or, with none written, the key is taken back. Writing
 * items, or having none left (`finished`), counts as progress.
 */
static void close_array(cbor_out_t *w, size_t key_at, size_t array_at, unsigned written,
                        bool finished, unsigned *keys, bool *progress)
{
    if (written > 0) {
        cbor_patch_head(w, array_at, ARRAY_HEAD_RESERVE, CBOR_MAJOR_ARRAY, written);
        (*keys)++;
        *progress = true;
        return;
    }
    w->pos = key_at;
    w->overflow = false;
    if (finished)
        *progress = true;
}

/* Writes as many flows of one family as fit, from *slot on. Returns how many. */
static unsigned put_flows_of(cbor_out_t *w, vigil_ctx_t *ctx, uint8_t family, uint16_t *slot,
                             unsigned position_base)
{
    unsigned first_slot = *slot;
    unsigned capacity = flow_table_capacity(family);
    unsigned written = 0;
    flow_view_t f;
    for (; *slot < capacity; (*slot)++) {
        if (!flow_table_get(ctx, family, *slot, &f))
            continue;
        long ref = earlier_remote(ctx, family, first_slot, *slot, position_base);
        size_t before = w->pos;
        put_flow(w, &f, family, ref);
        if (w->overflow) {
            w->pos = before;
            w->overflow = false;
            break;
        }
        written++;
    }
    return written;
}

static bool flows_done(const report_cursor_t *c)
{
    /* Through flow_table_capacity(): a family disabled with 0 must not make
     * this a constant comparison (-Wtype-limits). */
    return c->slot4 >= flow_table_capacity(4) && c->slot6 >= flow_table_capacity(6);
}

static bool has_listener_source(const vigil_ctx_t *ctx)
{
    return (ctx->config.collectors & VIGIL_COLLECT_LISTENERS) && ctx->port &&
           ctx->port->listener_at;
}

static void put_listener(cbor_out_t *w, const vigil_listener_t *l)
{
    static const uint8_t any[16] = {0};
    size_t len = l->family == 4 ? 4u : 16u;
    bool bound = memcmp(l->addr, any, len) != 0;
    cbor_put_head(w, CBOR_MAJOR_ARRAY, bound ? 4u : 3u);
    cbor_put_uint(w, l->proto);
    cbor_put_uint(w, l->family);
    cbor_put_uint(w, l->port);
    if (bound)
        cbor_put_bytes(w, l->addr, len);
}

static bool listener_valid(const vigil_listener_t *l)
{
    return (l->proto == VIGIL_PROTO_TCP || l->proto == VIGIL_PROTO_UDP) &&
           (l->family == 4 || l->family == 6);
}

/* Writes listeners from cursor->listener on; true when all were written. */
static bool put_listeners(cbor_out_t *w, vigil_ctx_t *ctx, report_cursor_t *cursor,
                          unsigned *written)
{
    vigil_listener_t l;
    while (cursor->listener < VIGIL_MAX_LISTENERS) {
        memset(&l, 0, sizeof l);
        if (!ctx->port->listener_at(ctx->port->arg, cursor->listener, &l))
            return true;
        if (listener_valid(&l)) {
            size_t before = w->pos;
            put_listener(w, &l);
            if (w->overflow) {
                w->pos = before;
                w->overflow = false;
                return false;
            }
            (*written)++;
        } else {
            ctx->counters[VIGIL_CNT_BAD_ARGUMENT]++;
        }
        cursor->listener++;
    }
    return true;
}

vigil_err_t report_encode_part(vigil_ctx_t *ctx, report_cursor_t *cursor, uint32_t period_end,
                               uint32_t seq, uint8_t *buf, size_t capacity, size_t *length)
{
    /* Whatever the capacity, a part either fits whole or is not written. */
    if (capacity <= MORE_RESERVE + 1)
        return VIGIL_ERR_NOSPACE;
    cbor_out_t w;
    cbor_out_init(&w, buf, capacity - MORE_RESERVE);
    w.pos = 1; /* the map head: fewer than 24 keys, so one byte */
    unsigned keys = 0;

    cbor_put_uint(&w, KEY_VERSION);
    cbor_put_uint(&w, VIGIL_WIRE_VERSION);
    cbor_put_uint(&w, KEY_DEVICE_ID);
    cbor_put_text(&w, ctx->device_id, ctx->device_id_len);
    cbor_put_uint(&w, KEY_BOOT_ID);
    cbor_put_uint(&w, ctx->boot_id);
    cbor_put_uint(&w, KEY_SEQ);
    cbor_put_uint(&w, seq);
    cbor_put_uint(&w, KEY_PERIOD_START);
    cbor_put_uint(&w, ctx->period_start);
    cbor_put_uint(&w, KEY_PERIOD_END);
    cbor_put_uint(&w, period_end);
    cbor_put_uint(&w, KEY_INTERVAL);
    cbor_put_uint(&w, ctx->config.report_interval_s);
    keys += 7;
    if (cursor->part > 0) {
        cbor_put_uint(&w, KEY_PART);
        cbor_put_uint(&w, cursor->part);
        keys++;
    }
    if (ctx->local4_count + ctx->local6_count > 0) {
        cbor_put_uint(&w, KEY_LOCAL_ADDRS);
        put_local_addrs(&w, ctx);
        keys++;
    }
    if (cursor->part == 0) {
        if (sysinfo_due(ctx)) {
            cbor_put_uint(&w, KEY_SYSTEM);
            put_system(&w, ctx);
            keys++;
        }
        cbor_put_uint(&w, KEY_COUNTERS);
        put_counters(&w, ctx);
        keys++;
        if (overflow_entries(ctx) > 0) {
            cbor_put_uint(&w, KEY_OVERFLOW);
            put_overflow(&w, ctx);
            keys++;
        }
        cbor_put_uint(&w, KEY_UPTIME);
        /* A clock set back before vigil_init() gives 0, not a wrapped value. */
        int32_t uptime = (int32_t)(period_end - ctx->start_now);
        cbor_put_uint(&w, uptime > 0 ? (uint32_t)uptime : 0u);
        keys++;
    }
    if (w.overflow)
        return VIGIL_ERR_NOSPACE;

    bool progress = cursor->part == 0;
    if (!flows_done(cursor)) {
        size_t key_at = w.pos;
        size_t array_at = open_array(&w, KEY_FLOWS);
        unsigned written = 0;
        if (!w.overflow) {
            written = put_flows_of(&w, ctx, 4, &cursor->slot4, 0);
            if (cursor->slot4 >= flow_table_capacity(4))
                written += put_flows_of(&w, ctx, 6, &cursor->slot6, written);
        }
        /* Only free slots left is progress too: nothing to write, nothing lost. */
        close_array(&w, key_at, array_at, written, flows_done(cursor), &keys, &progress);
    }

    bool listeners_done = !has_listener_source(ctx);
    if (flows_done(cursor) && !listeners_done) {
        size_t key_at = w.pos;
        size_t array_at = open_array(&w, KEY_LISTENERS);
        bool first = cursor->listener == 0;
        unsigned written = 0;
        if (!w.overflow)
            listeners_done = put_listeners(&w, ctx, cursor, &written);
        if (written == 0 && listeners_done && first && !w.overflow) {
            /* "No listeners" is news the analyzer needs (a closed port,
             * who accepted a connection): an empty array, not no key. */
            cbor_patch_head(&w, array_at, ARRAY_HEAD_RESERVE, CBOR_MAJOR_ARRAY, 0);
            keys++;
            progress = true;
        } else {
            close_array(&w, key_at, array_at, written, listeners_done, &keys, &progress);
        }
    }

    if (!progress)
        return VIGIL_ERR_NOSPACE;
    cursor->done = flows_done(cursor) && listeners_done;
    if (!cursor->done) {
        w.capacity += MORE_RESERVE;
        cbor_put_uint(&w, KEY_MORE);
        cbor_put_true(&w);
        keys++;
    }
    buf[0] = (uint8_t)((CBOR_MAJOR_MAP << 5) | keys);
    cursor->part++;
    *length = w.pos;
    return VIGIL_OK;
}
