/*
 * outbox.h - the fixed-size store of encoded reports waiting for the
 * analyzer's acknowledgement. Private to libvigil; the public functions are
 * vigil_outbox_* in vigil.h.
 */
#ifndef VIGIL_OUTBOX_H
#define VIGIL_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "vigil.h"

/* Bytes kept before each message: its length (2) and sequence number (4). */
#define OUTBOX_SLOT_HEADER 6u

/*
 * Makes room for a message of up to `max_len` bytes, dropping (and counting)
 * the oldest reports as needed, and returns where to encode it.
 */
uint8_t *outbox_reserve(vigil_ctx_t *ctx, size_t max_len);

/* Keeps the message of `len` bytes just encoded at outbox_reserve()'s pointer. */
void outbox_commit(vigil_ctx_t *ctx, size_t len, uint32_t seq);

#endif
