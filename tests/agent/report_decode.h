/*
 * report_decode.h - decodes one report message with libcbor (never with the
 * device's own encoder) and checks it against proto/vigil.cddl: types, sizes,
 * required keys, shortest-form integers, definite lengths, back-references.
 * Any violation fails the running cmocka test. Test code only.
 */
#ifndef VIGIL_TEST_REPORT_DECODE_H
#define VIGIL_TEST_REPORT_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DR_MAX_FLOWS 600u
#define DR_MAX_LISTENERS 64u
#define DR_MAX_LOCAL 32u
#define DR_MAX_COUNTERS 64u

typedef struct {
    uint64_t kind;
    uint8_t family;       /* 4 or 6, from the remote address's length */
    uint8_t remote[16];   /* resolved through back-references */
    long remote_ref;      /* the position referred to, or -1 for a literal address */
    uint64_t local_port, remote_port;
    uint64_t bytes_in, bytes_out, packets_in, packets_out;
    uint64_t first_seen, last_seen_delta;
} dr_flow_t;

typedef struct {
    uint64_t proto, family, port;
    size_t addr_len;      /* 0 when absent or empty */
    bool addr_present;
    uint8_t addr[16];
} dr_listener_t;

typedef struct {
    size_t length;        /* bytes of the message */
    size_t keys;
    uint64_t version;
    char device_id[130];
    uint64_t boot_id, seq, period_start, period_end, interval;
    bool has_part;
    uint64_t part;        /* 0 when absent */
    bool more;
    bool has_local;
    size_t n_local;
    size_t local_len[DR_MAX_LOCAL];
    uint8_t local[DR_MAX_LOCAL][16];
    size_t n_local4, n_local6;
    bool has_flows;
    size_t n_flows;
    dr_flow_t flows[DR_MAX_FLOWS];
    bool has_listeners;
    size_t n_listeners;
    dr_listener_t listeners[DR_MAX_LISTENERS];
    bool has_system;
    bool sys_present[8];
    char sys[8][80];
    uint64_t boot_time;
    bool has_counters;
    bool counter_present[DR_MAX_COUNTERS];
    uint64_t counters[DR_MAX_COUNTERS];
    bool has_overflow;
    size_t n_overflow;
    uint64_t overflow[6][3];   /* in wire order: code, packets, bytes */
    bool has_uptime;
    uint64_t uptime;
} dr_report_t;

/* Decodes and checks; the result is heap-allocated (free with free()). */
dr_report_t *dr_decode(const uint8_t *msg, size_t len);

/* The counter's value in the report (0 when omitted) . */
uint64_t dr_counter(const dr_report_t *r, unsigned id);

/* Overflow entry of `code` (proto * 2 + dir): packets and bytes, or false. */
bool dr_overflow(const dr_report_t *r, unsigned code, uint64_t *packets, uint64_t *bytes);

/* The local address a flow refers to (its family's index-th address). */
const uint8_t *dr_flow_local(const dr_report_t *r, const dr_flow_t *f);

#endif
