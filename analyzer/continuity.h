/*
 * continuity.h - who opened a flow, across report periods.
 *
 * libvigil clears its flow table at every period end, so a connection that
 * outlives a period reappears in the next one without its SYN, and the
 * device then reports the direction of the period's first packet as the
 * initiator: a device-initiated MQTT session whose next period starts with
 * an inbound PUBLISH would look accepted. The analyzer repairs this before
 * any rule sees the flow:
 *
 *  1. A TCP flow whose bare SYN was seen in this period is authoritative.
 *  2. Otherwise, the initiator remembered for the same flow (protocol,
 *     addresses, ports) from an earlier period of the same device is used.
 *  3. Otherwise, a TCP flow without a SYN whose local port the report lists
 *     as a TCP listener was accepted (remote-initiated); one whose local port
 *     is not listening was opened by the device.
 *  4. Otherwise the device's own answer stands.
 *
 * Memory is bounded: a flow is forgotten `ttl` seconds (device clock) after
 * it was last seen, and the table never holds more than `max_entries`
 * (beyond that new flows are not remembered, counted in `full`).
 */
#ifndef VIGIL_ANALYZER_CONTINUITY_H
#define VIGIL_ANALYZER_CONTINUITY_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"

typedef struct continuity continuity_t;

typedef struct {
    uint64_t remembered;   /* flows currently held */
    uint64_t repaired;     /* initiators changed by rule 2 or 3 */
    uint64_t full;         /* flows not remembered: the table was full */
} continuity_stats_t;

/* NULL when out of memory. ttl: seconds a flow is remembered after its last sighting. */
continuity_t *continuity_new(size_t max_entries, uint32_t ttl);
void continuity_free(continuity_t *c);

/* Repairs report->flows[].remote_initiated in place and remembers the flows. */
void continuity_apply(continuity_t *c, report_t *report);

void continuity_get_stats(const continuity_t *c, continuity_stats_t *stats);

#endif
