/*
 * alert.h - what the analyzer raises: alerts (threat intelligence, custom
 * rules of a security group) and hygiene recommendations, in one record that
 * every stage fills and every output (store, JSON lines, table) reads.
 *
 * Invariants:
 *  - (device, type, key) identifies "the same" finding: the store keeps one
 *    row per such triple and window, with a count and first/last time, so a
 *    re-sent report or a repeated flow never raises a finding twice.
 *  - Text fields are NUL-terminated and truncated, never overflowed.
 *  - Times are unix seconds on the device's clock as reported (period times),
 *    except where a stage says otherwise in its header.
 */
#ifndef VIGIL_ANALYZER_ALERT_H
#define VIGIL_ANALYZER_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { ALERT_KIND_ALERT = 0, ALERT_KIND_RECOMMENDATION = 1 } alert_kind_t;

typedef enum {
    ALERT_SEVERITY_INFO = 0,
    ALERT_SEVERITY_LOW,
    ALERT_SEVERITY_MEDIUM,
    ALERT_SEVERITY_HIGH,
    ALERT_SEVERITY_CRITICAL,
} alert_severity_t;

typedef enum {
    ALERT_DIR_NONE = 0,        /* not about one flow */
    ALERT_DIR_OUTBOUND,        /* the device initiated */
    ALERT_DIR_INBOUND,         /* the remote initiated, the device accepted */
} alert_direction_t;

#define ALERT_PROTO_NONE 0xffu /* else REPORT_PROTO_* of report.h */

typedef struct {
    alert_kind_t kind;
    char type[48];             /* "threat_intel", rule or recommendation name */
    alert_severity_t severity;
    char device[129];
    int64_t time;              /* when it was seen (last time when count > 1) */
    int64_t first_time;

    uint8_t proto;             /* REPORT_PROTO_* or ALERT_PROTO_NONE */
    uint8_t family;            /* 0 when there is no remote endpoint */
    uint8_t remote_addr[16];
    uint16_t remote_port, local_port;
    alert_direction_t direction;

    bool has_indicator;
    char indicator_value[64];  /* "198.51.100.0/24" */
    char indicator_feed[64];
    char indicator_category[64];

    char key[160];             /* dedup key within (device, type), e.g. "tcp:198.51.100.7:443" */
    uint64_t count;
    char message[256];         /* one sentence a person can act on */
    char remediation[256];     /* recommendations: what to do; empty for alerts */
} alert_t;

/* Receives each finding a stage raises; the callee copies what it keeps. */
typedef void (*alert_sink_fn)(void *user, const alert_t *alert);

/* "info", "low", "medium", "high", "critical"; parse returns false on others. */
const char *alert_severity_name(alert_severity_t severity);
bool alert_severity_parse(const char *name, alert_severity_t *out);

/* "tcp", "udp", "icmp", "icmpv6" (by family), or NULL for ALERT_PROTO_NONE. */
const char *alert_proto_name(uint8_t proto, uint8_t family);

/*
 * One JSON object, no newline, with exactly the keys `vigil scan --json`
 * prints: kind, type, severity, device, time, remote_addr, remote_port,
 * local_port, proto, direction, indicator, count, message, and no other. A
 * recommendation's message is followed by " Remediation: " and its
 * remediation. Absent values are null. Returns the length written, or -1 if
 * `size` is too small.
 */
int alert_to_json(const alert_t *alert, char *out, size_t size);

#endif
