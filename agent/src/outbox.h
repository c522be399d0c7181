/*
 * outbox.h - the fixed-size store of encoded reports waiting for the
 * analyzer's acknowledgement. Private to libvigil; the public functions are
 * vigil_outbox_* in vigil.h.
 */
#ifndef VIGIL_OUTBOX_H
#define VIGIL_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil.h"

/* Bytes kept before each message: its length (2) and sequence number (4). */
#define OUTBOX_SLOT_HEADER 6u

/* Bytes a new message may take at the end of the outbox right now. */
size_t outbox_free_space(const vigil_ctx_t *ctx);

/* Where the next message is encoded (outbox_free_space() bytes are there). */
uint8_t *outbox_tail(vigil_ctx_t *ctx);

/* Drops the oldest waiting report and counts it (outbox_dropped). False when
 * the outbox is empty. */
bool outbox_drop_oldest(vigil_ctx_t *ctx);

/* Keeps the message of `len` bytes just encoded at outbox_tail(). */
void outbox_commit(vigil_ctx_t *ctx, size_t len, uint32_t seq);

#endif
