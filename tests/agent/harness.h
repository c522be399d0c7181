/*
 * harness.h - what most libvigil tests share: a context set up with known
 * values, packets fed in either direction, flows looked up in the table by
 * key, and the outbox decoded (with libcbor) into reports. Compiled into
 * each test executable, so it follows that executable's vigil_opts.h.
 */
#ifndef VIGIL_TEST_HARNESS_H
#define VIGIL_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil.h"

#include "flow_table.h"
#include "packets.h"
#include "report_decode.h"

#define H_DEVICE_ID "dev-test-1"
#define H_BOOT_ID 0xb0071d01u
#define H_T0 1000u

/* A zeroed context on the heap (free with free()). */
vigil_ctx_t *h_new(void);
/* vigil_init with H_DEVICE_ID, H_BOOT_ID, `now`, `config` (NULL: defaults)
 * and `port` (may be NULL); fails the test unless VIGIL_OK. */
void h_init(vigil_ctx_t *ctx, uint32_t now, const vigil_config_t *config,
            const vigil_port_t *port);
vigil_ctx_t *h_ready(void); /* h_new + h_init(H_T0, defaults, no port) */

void h_out(vigil_ctx_t *ctx, const pkt_t *p, uint32_t now);
void h_in(vigil_ctx_t *ctx, const pkt_t *p, uint32_t now);

/* The flow with this key in the live table (ICMP: lport = type, rport = code). */
bool h_flow(vigil_ctx_t *ctx, uint8_t family, uint8_t proto, const uint8_t *remote,
            uint16_t lport, uint16_t rport, flow_view_t *out);
/* Flows (newest records) in the live table of one family. */
unsigned h_flow_count(vigil_ctx_t *ctx, uint8_t family);

/* Decodes every waiting report, oldest first, checking that each message's
 * seq matches the outbox's and that none exceeds the configured maximum. */
size_t h_reports(vigil_ctx_t *ctx, dr_report_t **out, size_t max);
void h_free_reports(dr_report_t **r, size_t n);
/* Flushes at `now`, decodes the single resulting report and releases it. */
dr_report_t *h_flush_one(vigil_ctx_t *ctx, uint32_t now);

/* The flow with this key across the reports; *count says how many matched. */
const dr_flow_t *h_find(dr_report_t *const *r, size_t n, uint8_t family, uint8_t proto,
                        const uint8_t *remote, uint64_t lport, uint64_t rport, size_t *count);

#endif
