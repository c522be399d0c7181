/*
 * flow_table.h - the fixed-size flow tables (one per IP family), the device's
 * local addresses and the overflow counters of one report period.
 * Private to libvigil.
 */
#ifndef VIGIL_FLOW_TABLE_H
#define VIGIL_FLOW_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "packet.h"
#include "vigil.h"

#define FLOW_NO_SLOT 0xffu

/* Bits of a record's flags byte; bits 0-6 are also the wire `kind` bits 0-6. */
#define FLOW_FLAG_PROTO_MASK       0x03u
#define FLOW_FLAG_REMOTE_INITIATED 0x04u
#define FLOW_FLAG_SYN              0x08u
#define FLOW_FLAG_SYNACK           0x10u
#define FLOW_FLAG_FIN              0x20u
#define FLOW_FLAG_RST              0x40u
#define FLOW_FLAG_SHADOW           0x80u  /* older counters of a flow that wrapped */
#define FLOW_WIRE_FLAGS_MASK       0x7fu

/* A flow as the encoder sees it: one key, its records added up. */
typedef struct {
    const uint8_t *remote;  /* 4 or 16 bytes, inside the table */
    uint64_t bytes[2];      /* [VIGIL_DIR_IN], [VIGIL_DIR_OUT] */
    uint32_t packets[2];
    uint16_t local_port;
    uint16_t remote_port;
    uint16_t first_seen;    /* seconds after period start */
    uint16_t last_seen;
    uint8_t flags;          /* FLOW_FLAG_* without SHADOW */
    uint8_t local_index;    /* into the family's local addresses */
} flow_view_t;

/* Empties the tables, local addresses and overflow counters for a new period. */
void flow_table_clear(vigil_ctx_t *ctx);

/* Seconds after period start kept per flow: later times are clamped. */
#define FLOW_SEEN_MAX 4095u

/*
 * Parses the IP packet at data (`captured` bytes of a `length`-byte
 * datagram) and accounts it, or counts why it could not be parsed. IPv4
 * TCP/UDP packets from or to a known local address take a shortcut that
 * gives the same result as the general path (the vectors are encoded
 * identically with VIGIL_FAST_PATH 0 and 1); every other packet goes on to
 * flow_table_observe_general() by a tail call.
 */
void flow_table_observe(vigil_ctx_t *ctx, vigil_dir_t dir, const uint8_t *data, size_t captured,
                        size_t length, uint32_t now);

/* The general path: parsing and accounting in one frame. */
void flow_table_observe_general(vigil_ctx_t *ctx, vigil_dir_t dir, const uint8_t *data,
                                size_t captured, size_t length, uint32_t now);

/*
 * Fills *out with the flow whose newest record is at `slot` of the family's
 * table, adding up its older records. False when the slot is free or holds
 * an older record (that flow is reported at its newest record's slot).
 */
bool flow_table_get(vigil_ctx_t *ctx, uint8_t family, unsigned slot, flow_view_t *out);

/* True when `slot` holds a flow's newest record (what the encoder reports). */
bool flow_table_is_flow(const vigil_ctx_t *ctx, uint8_t family, unsigned slot);

/* The remote address of the record at `slot`. */
const uint8_t *flow_table_remote(const vigil_ctx_t *ctx, uint8_t family, unsigned slot);

/* The family's table capacity (VIGIL_MAX_FLOWS_V4 or _V6). */
unsigned flow_table_capacity(uint8_t family);

#endif
