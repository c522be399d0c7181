/*
 * report.h - the analyzer's strict decoder of device reports
 * (proto/vigil.cddl, version 1), with libcbor.
 *
 * A report is decoded completely or rejected with a stable reason code (for
 * per-reason counters) and a message naming the field. Back-references and
 * local-address indices are resolved, so a decoded flow carries both full
 * addresses. Rejecting a report never affects anything else.
 */
#ifndef VIGIL_ANALYZER_REPORT_H
#define VIGIL_ANALYZER_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REPORT_MAX_BYTES 65535u
#define REPORT_MAX_FLOWS 8192u
#define REPORT_MAX_LISTENERS 1024u
#define REPORT_MAX_LOCAL_ADDRS 64u
#define REPORT_MAX_STRING 128u
#define REPORT_MAX_COUNTERS 256u

typedef enum {
    REPORT_OK = 0,
    REPORT_ERR_CBOR,          /* not well-formed CBOR, or bytes after the report */
    REPORT_ERR_TOO_LARGE,     /* more than REPORT_MAX_BYTES */
    REPORT_ERR_NOT_MAP,       /* the report is not a definite-length map */
    REPORT_ERR_VERSION,       /* a version other than 1 */
    REPORT_ERR_MISSING_KEY,   /* a required key is absent */
    REPORT_ERR_DUPLICATE_KEY, /* a key appears twice */
    REPORT_ERR_TYPE,          /* a value of the wrong type */
    REPORT_ERR_RANGE,         /* an integer or length out of its range */
    REPORT_ERR_ADDRESS,       /* an address neither 4 nor 16 bytes long */
    REPORT_ERR_REFERENCE,     /* a back-reference or local index that points nowhere */
    REPORT_ERR_LIMIT,         /* more items than the decoder accepts */
    REPORT_ERR_NOMEM,
    REPORT_ERR__COUNT
} report_reject_t;

typedef struct {
    report_reject_t code;
    char message[160];
} report_error_t;

enum { REPORT_PROTO_TCP = 0, REPORT_PROTO_UDP = 1, REPORT_PROTO_ICMP = 2 };
enum { REPORT_DIR_IN = 0, REPORT_DIR_OUT = 1 };

/* Bits of report_flow_t.tcp_flags. */
#define REPORT_TCP_SYN    0x01u
#define REPORT_TCP_SYNACK 0x02u
#define REPORT_TCP_FIN    0x04u
#define REPORT_TCP_RST    0x08u

typedef struct {
    uint8_t family;            /* 4 or 6 */
    uint8_t proto;             /* REPORT_PROTO_*; ICMP is ICMPv6 on IPv6 */
    bool remote_initiated;
    uint8_t tcp_flags;         /* REPORT_TCP_* */
    uint8_t local_addr[16];    /* first 4 bytes for IPv4 */
    uint8_t remote_addr[16];
    uint16_t local_port;       /* ICMP: type */
    uint16_t remote_port;      /* ICMP: code */
    uint64_t bytes_in, bytes_out, packets_in, packets_out;
    uint64_t first_seen;       /* device clock, seconds (period_start + offset) */
    uint64_t last_seen;
} report_flow_t;

typedef struct {
    uint8_t proto;             /* REPORT_PROTO_TCP or _UDP */
    uint8_t family;
    uint16_t port;
    bool any;                  /* bound to every address */
    uint8_t addr[16];
} report_listener_t;

typedef struct {
    uint8_t family;
    uint8_t addr[16];
} report_addr_t;

typedef struct {
    uint32_t id;               /* vigil_counter_t; newer agents may send more */
    uint32_t value;
} report_counter_t;

typedef struct {
    uint8_t proto;
    uint8_t direction;         /* REPORT_DIR_* */
    uint64_t packets, bytes;
} report_overflow_t;

typedef struct {
    char *os_name, *os_version, *stack_name, *stack_version;
    char *agent_version, *device_model, *firmware_version;  /* NULL when absent */
    bool has_boot_time;
    uint32_t boot_time;
} report_system_t;

typedef struct {
    char device_id[REPORT_MAX_STRING + 1];
    uint32_t boot_id, seq, period_start, period_end, interval;
    uint64_t part;
    bool more;
    bool has_uptime;
    uint32_t uptime;
    report_addr_t *local_addrs;
    size_t local_addr_count;
    report_flow_t *flows;
    size_t flow_count;
    report_listener_t *listeners;
    size_t listener_count;
    bool has_listeners;        /* the report carried its listeners (possibly none) */
    bool has_system;
    report_system_t system;
    report_counter_t *counters;
    size_t counter_count;
    report_overflow_t *overflow;
    size_t overflow_count;
} report_t;

/*
 * Decodes one report of `len` bytes. On success *out is a new report to
 * free with report_free(); otherwise *out is NULL and *err says why.
 */
report_reject_t report_decode(const uint8_t *buf, size_t len, report_t **out, report_error_t *err);

void report_free(report_t *report);

/* "cbor", "version", ...: a short stable name per reject reason. */
const char *report_reject_name(report_reject_t code);

/* The counter's name in reports ("ip_truncated"...), or NULL for ids this
 * analyzer does not know. */
const char *report_counter_name(uint32_t id);

/* Formats an address canonically: dotted quad, or RFC 5952 for IPv6. */
void report_format_addr(uint8_t family, const uint8_t *addr, char *out, size_t size);

#endif
