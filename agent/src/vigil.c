/*
 * vigil.c - the public entry points of libvigil: set-up, the packet hook,
 * report periods and configuration. It ties the parser, flow table, encoder
 * and outbox together and holds no logic of theirs.
 *
 * Nothing here may block, allocate or call the OS; vigil_observe() must stay
 * O(1) and must never modify the packet.
 */
#include <string.h>

#include "vigil.h"

#include "flow_table.h"
#include "outbox.h"
#include "report_encode.h"

#define VIGIL_MAGIC 0x56474c31u /* "VGL1": vigil_init() ran */
#define INTERVAL_MAX 3600u
#define MIN_MESSAGE_SIZE 512u
/* Listeners past VIGIL_MAX_LISTENERS are counted up to this many. */
#define LISTENERS_COUNT_LIMIT 4096u

static const char *const counter_names[VIGIL_CNT__COUNT] = {
    "ip_truncated",          "ip_bad_version",        "ipv4_bad_ihl",
    "ipv4_bad_total_length", "ipv6_bad_payload_length", "ipv6_ext_truncated",
    "ipv6_ext_chain_too_long", "transport_truncated", "tcp_bad_offset",
    "fragment_unattributed", "proto_unsupported",     "local_addr_full",
    "flow_table_full",       "outbox_dropped",        "time_saturated",
    "clock_backwards",       "listeners_truncated",   "config_rejected",
    "bad_argument",          "foreign_packet",        "capture_dropped",
    "flow_split",            "reports",
};

const char *vigil_counter_name(vigil_counter_t counter)
{
    return (unsigned)counter < VIGIL_CNT__COUNT ? counter_names[counter] : NULL;
}

void vigil_config_default(vigil_config_t *config)
{
    if (!config)
        return;
    config->report_interval_s = 60;
    config->collectors = VIGIL_COLLECT_ALL;
    config->sysinfo_every = 10;
    config->max_message_size = VIGIL_MAX_MESSAGE_SIZE;
}

static bool config_valid(const vigil_config_t *c)
{
    return c->report_interval_s >= 1 && c->report_interval_s <= INTERVAL_MAX &&
           (c->collectors & ~VIGIL_COLLECT_ALL) == 0 && c->sysinfo_every >= 1 &&
           c->max_message_size >= MIN_MESSAGE_SIZE &&
           c->max_message_size <= VIGIL_MAX_MESSAGE_SIZE;
}

static bool ready(const vigil_ctx_t *ctx)
{
    return ctx != NULL && ctx->magic == VIGIL_MAGIC;
}

vigil_err_t vigil_init(vigil_ctx_t *ctx, const vigil_setup_t *setup)
{
    if (!ctx || !setup || !setup->device_id || !config_valid(&setup->config))
        return VIGIL_ERR_ARG;
    size_t id_len = strlen(setup->device_id);
    if (id_len == 0 || id_len > VIGIL_DEVICE_ID_MAX ||
        report_utf8_prefix(setup->device_id, id_len) != id_len)
        return VIGIL_ERR_ARG;

    memset(ctx, 0, sizeof *ctx);
    memcpy(ctx->device_id, setup->device_id, id_len);
    ctx->device_id_len = (uint8_t)id_len;
    ctx->boot_id = setup->boot_id;
    /* Per-boot seed: an outsider cannot aim packets at one hash chain. */
    uint32_t seed = setup->boot_id ^ 0x2545f491u;
    for (size_t i = 0; i < id_len; i++)
        seed = (seed ^ (uint8_t)setup->device_id[i]) * 0x01000193u;
    ctx->hash_seed = seed;
    ctx->start_now = setup->now;
    ctx->period_start = setup->now;
    ctx->port = setup->port;
    ctx->config = setup->config;
    flow_table_clear(ctx);
    ctx->magic = VIGIL_MAGIC;
    return VIGIL_OK;
}

vigil_err_t vigil_configure(vigil_ctx_t *ctx, const vigil_config_t *config)
{
    if (!ready(ctx))
        return VIGIL_ERR_STATE;
    if (!config || !config_valid(config)) {
        ctx->counters[VIGIL_CNT_CONFIG_REJECTED]++;
        return VIGIL_ERR_ARG;
    }
    ctx->config = *config;
    return VIGIL_OK;
}

void vigil_count(vigil_ctx_t *ctx, vigil_counter_t counter)
{
    if (ready(ctx) && (unsigned)counter < VIGIL_CNT__COUNT)
        ctx->counters[counter]++;
}

uint32_t vigil_counter(const vigil_ctx_t *ctx, vigil_counter_t counter)
{
    if (!ready(ctx) || (unsigned)counter >= VIGIL_CNT__COUNT)
        return 0;
    return ctx->counters[counter];
}

/* Inlined into both entry points: vigil_observe() calling
 * vigil_observe_headers() would add a frame (its sixth argument goes on the
 * stack on 32-bit Arm) to the worst-case stack. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((always_inline))
#endif
static inline void observe(vigil_ctx_t *ctx, vigil_dir_t direction, const uint8_t *data,
                           size_t captured, size_t length, uint32_t now)
{
    if (!ready(ctx))
        return;
    if (!data || (direction != VIGIL_DIR_IN && direction != VIGIL_DIR_OUT)) {
        ctx->counters[VIGIL_CNT_BAD_ARGUMENT]++;
        return;
    }
    if (!(ctx->config.collectors & VIGIL_COLLECT_NETWORK))
        return;
    flow_table_observe(ctx, direction, data, captured, length, now);
}

void vigil_observe_headers(vigil_ctx_t *ctx, vigil_dir_t direction, const uint8_t *data,
                           size_t captured, size_t length, uint32_t now)
{
    observe(ctx, direction, data, captured, length, now);
}

void vigil_observe(vigil_ctx_t *ctx, vigil_dir_t direction, const uint8_t *ip_packet,
                   size_t length, uint32_t now)
{
    observe(ctx, direction, ip_packet, length, length, now);
}

static void count_truncated_listeners(vigil_ctx_t *ctx)
{
    if (!(ctx->config.collectors & VIGIL_COLLECT_LISTENERS) || !ctx->port ||
        !ctx->port->listener_at)
        return;
    vigil_listener_t l;
    for (size_t i = VIGIL_MAX_LISTENERS; i < VIGIL_MAX_LISTENERS + LISTENERS_COUNT_LIMIT; i++) {
        if (!ctx->port->listener_at(ctx->port->arg, i, &l))
            break;
        ctx->counters[VIGIL_CNT_LISTENERS_TRUNCATED]++;
    }
}

/* Encodes the period ending at `end` into the outbox and starts the next. */
static vigil_err_t close_period(vigil_ctx_t *ctx, uint32_t end)
{
    vigil_err_t err = VIGIL_OK;
    report_cursor_t cursor;
    memset(&cursor, 0, sizeof cursor);
    count_truncated_listeners(ctx);
    size_t max_len = ctx->config.max_message_size;
    while (!cursor.done) {
        size_t room = outbox_free_space(ctx);
        bool short_room = room < max_len;
        if (!short_room)
            room = max_len;
        /*
         * Parts are cut at max_len, whatever the outbox holds. A shorter room
         * (the outbox is nearly full) is used only if the rest of the period
         * fits in it whole; otherwise the oldest report goes (counted) and
         * this part is tried again.
         */
        report_cursor_t before = cursor;
        uint32_t bad_before = ctx->counters[VIGIL_CNT_BAD_ARGUMENT];
        size_t len = 0;
        /* The report counts itself, so `reports` equals the last seq + 1. */
        ctx->counters[VIGIL_CNT_REPORTS]++;
        err = report_encode_part(ctx, &cursor, end, ctx->next_seq, outbox_tail(ctx), room, &len);
        if (err != VIGIL_OK || (short_room && !cursor.done)) {
            ctx->counters[VIGIL_CNT_REPORTS]--;
            ctx->counters[VIGIL_CNT_BAD_ARGUMENT] = bad_before;
            cursor = before;
            if ((err == VIGIL_OK || err == VIGIL_ERR_NOSPACE) && outbox_drop_oldest(ctx)) {
                err = VIGIL_OK;
                continue;
            }
            if (err == VIGIL_OK)
                err = VIGIL_ERR_NOSPACE; /* cannot happen: an empty outbox has max_len */
            break;
        }
        outbox_commit(ctx, len, ctx->next_seq);
        ctx->next_seq++;
    }
    flow_table_clear(ctx);
    ctx->period_start = end;
    ctx->periods++;
    return err;
}

/* Closes the period at `now`; a clock that went back (e.g. set by SNTP)
 * closes it at its start, since its flows' times mean nothing any more. */
static vigil_err_t close_at(vigil_ctx_t *ctx, uint32_t now)
{
    if ((int32_t)(now - ctx->period_start) >= 0)
        return close_period(ctx, now);
    ctx->counters[VIGIL_CNT_CLOCK_BACKWARDS]++;
    vigil_err_t err = close_period(ctx, ctx->period_start);
    ctx->period_start = now;
    return err;
}

vigil_err_t vigil_poll(vigil_ctx_t *ctx, uint32_t now)
{
    if (!ready(ctx))
        return VIGIL_ERR_STATE;
    if ((int32_t)(now - ctx->period_start) >= 0 &&
        now - ctx->period_start < ctx->config.report_interval_s)
        return VIGIL_OK;
    return close_at(ctx, now);
}

vigil_err_t vigil_flush(vigil_ctx_t *ctx, uint32_t now)
{
    if (!ready(ctx))
        return VIGIL_ERR_STATE;
    return close_at(ctx, now);
}
