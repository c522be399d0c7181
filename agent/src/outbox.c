/*
 * outbox.c - reports wait here, oldest first, until the transport confirms
 * the analyzer stored them. Messages sit back to back as
 * [length:2 LE][seq:4 LE][message]; releasing moves the rest to the front,
 * so the free space is always one block at the end and a message can be
 * encoded in place. A new report is encoded into whatever space is free (a
 * smaller space only makes smaller parts); only when not even that fits is
 * the oldest report dropped, and counted (outbox_dropped): never silently,
 * never a partial message.
 */
#include <string.h>

#include "outbox.h"

static size_t slot_length(const uint8_t *slot)
{
    return OUTBOX_SLOT_HEADER + (size_t)(slot[0] | (slot[1] << 8));
}

static uint32_t slot_seq(const uint8_t *slot)
{
    return (uint32_t)slot[2] | ((uint32_t)slot[3] << 8) | ((uint32_t)slot[4] << 16) |
           ((uint32_t)slot[5] << 24);
}

static void drop_oldest(vigil_ctx_t *ctx)
{
    size_t first = slot_length(ctx->outbox);
    memmove(ctx->outbox, ctx->outbox + first, ctx->outbox_used - first);
    ctx->outbox_used = (uint16_t)(ctx->outbox_used - first);
    ctx->outbox_count--;
}

size_t outbox_free_space(const vigil_ctx_t *ctx)
{
    size_t left = (size_t)VIGIL_OUTBOX_SIZE - ctx->outbox_used;
    return left > OUTBOX_SLOT_HEADER ? left - OUTBOX_SLOT_HEADER : 0;
}

uint8_t *outbox_tail(vigil_ctx_t *ctx)
{
    return ctx->outbox + ctx->outbox_used + OUTBOX_SLOT_HEADER;
}

bool outbox_drop_oldest(vigil_ctx_t *ctx)
{
    if (ctx->outbox_count == 0)
        return false;
    drop_oldest(ctx);
    ctx->counters[VIGIL_CNT_OUTBOX_DROPPED]++;
    return true;
}

void outbox_commit(vigil_ctx_t *ctx, size_t len, uint32_t seq)
{
    uint8_t *slot = ctx->outbox + ctx->outbox_used;
    slot[0] = (uint8_t)len;
    slot[1] = (uint8_t)(len >> 8);
    slot[2] = (uint8_t)seq;
    slot[3] = (uint8_t)(seq >> 8);
    slot[4] = (uint8_t)(seq >> 16);
    slot[5] = (uint8_t)(seq >> 24);
    ctx->outbox_used = (uint16_t)(ctx->outbox_used + OUTBOX_SLOT_HEADER + len);
    ctx->outbox_count++;
}

size_t vigil_outbox_count(const vigil_ctx_t *ctx)
{
    return ctx ? ctx->outbox_count : 0;
}

vigil_err_t vigil_outbox_get(const vigil_ctx_t *ctx, size_t index, const uint8_t **message,
                             size_t *length, uint32_t *seq)
{
    if (!ctx || !message || !length)
        return VIGIL_ERR_ARG;
    if (index >= ctx->outbox_count)
        return VIGIL_ERR_EMPTY;
    const uint8_t *slot = ctx->outbox;
    for (size_t i = 0; i < index; i++)
        slot += slot_length(slot);
    *message = slot + OUTBOX_SLOT_HEADER;
    *length = slot_length(slot) - OUTBOX_SLOT_HEADER;
    if (seq)
        *seq = slot_seq(slot);
    return VIGIL_OK;
}

size_t vigil_outbox_release(vigil_ctx_t *ctx, uint32_t up_to_seq)
{
    if (!ctx)
        return 0;
    size_t released = 0;
    /* Serial-number comparison: sequence numbers may wrap after 2^32 reports. */
    while (ctx->outbox_count > 0 && (int32_t)(slot_seq(ctx->outbox) - up_to_seq) <= 0) {
        drop_oldest(ctx);
        released++;
    }
    return released;
}
