/*
 * vigil.h - the public API of libvigil, the device-side security module.
 *
 * The IP stack calls vigil_observe() for every IP packet in and out; the
 * application calls vigil_poll() regularly (once a second is plenty), which
 * closes a report period when it is due and encodes its reports into the
 * outbox; the transport sends what vigil_outbox_get() returns and releases
 * reports with vigil_outbox_release() once the analyzer acknowledged them.
 *
 * Everything lives in one caller-allocated vigil_ctx_t whose size is fixed by
 * vigil_opts.h. libvigil never allocates, never blocks, never calls the OS,
 * and never modifies or drops a packet. It is not thread-safe: calls on one
 * context must be serialised by the caller (an RTOS integration typically
 * calls everything from the IP stack's thread).
 */
#ifndef VIGIL_H
#define VIGIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil_opts.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VIGIL_VERSION "0.1.0"
/* The report format version carried in every report (proto/vigil.cddl). */
#define VIGIL_WIRE_VERSION 1

#if defined(__GNUC__) || defined(__clang__)
#define VIGIL_MUST_CHECK __attribute__((warn_unused_result))
#else
#define VIGIL_MUST_CHECK
#endif

typedef enum {
    VIGIL_OK = 0,
    VIGIL_ERR_ARG,      /* a NULL pointer or a value out of range */
    VIGIL_ERR_NOSPACE,  /* the caller's buffer is too small */
    VIGIL_ERR_EMPTY,    /* nothing to return */
    VIGIL_ERR_STATE     /* the context was not initialised */
} vigil_err_t;

typedef enum {
    VIGIL_DIR_IN = 0,   /* received by the device */
    VIGIL_DIR_OUT = 1   /* sent by the device */
} vigil_dir_t;

typedef enum {
    VIGIL_PROTO_TCP = 0,
    VIGIL_PROTO_UDP = 1,
    VIGIL_PROTO_ICMP = 2  /* ICMP on IPv4, ICMPv6 on IPv6 */
} vigil_proto_t;

/*
 * Counters kept since boot and sent in every report. The numbers are part
 * of the wire format (proto/vigil.cddl): never renumber, only append.
 */
typedef enum {
    VIGIL_CNT_IP_TRUNCATED = 0,           /* shorter than its IP header */
    VIGIL_CNT_IP_BAD_VERSION = 1,         /* neither IPv4 nor IPv6 */
    VIGIL_CNT_IPV4_BAD_IHL = 2,           /* header length < 20 or past the packet */
    VIGIL_CNT_IPV4_BAD_TOTAL_LENGTH = 3,  /* total length < header or > packet */
    VIGIL_CNT_IPV6_BAD_PAYLOAD_LENGTH = 4,/* 40 + payload length > packet, or jumbogram */
    VIGIL_CNT_IPV6_EXT_TRUNCATED = 5,     /* an extension header runs past the datagram */
    VIGIL_CNT_IPV6_EXT_CHAIN_TOO_LONG = 6,/* more than VIGIL_MAX_EXT_HEADERS */
    VIGIL_CNT_TRANSPORT_TRUNCATED = 7,    /* TCP < 20, UDP < 8 or ICMP < 4 bytes */
    VIGIL_CNT_TCP_BAD_OFFSET = 8,         /* TCP data offset < 5 or past the datagram */
    VIGIL_CNT_FRAGMENT_UNATTRIBUTED = 9,  /* a later fragment of no followed datagram */
    VIGIL_CNT_PROTO_UNSUPPORTED = 10,     /* ESP, GRE, unknown next header... */
    VIGIL_CNT_LOCAL_ADDR_FULL = 11,       /* packets of a local address with no slot */
    VIGIL_CNT_FLOW_TABLE_FULL = 12,       /* packets counted in overflow, not in a flow */
    VIGIL_CNT_OUTBOX_DROPPED = 13,        /* reports dropped from a full outbox */
    VIGIL_CNT_TIME_SATURATED = 14,        /* packets seen over 4095 s into a period */
    VIGIL_CNT_CLOCK_BACKWARDS = 15,       /* `now` before the period's start */
    VIGIL_CNT_LISTENERS_TRUNCATED = 16,   /* listeners beyond VIGIL_MAX_LISTENERS */
    VIGIL_CNT_CONFIG_REJECTED = 17,       /* vigil_configure() refused a configuration */
    VIGIL_CNT_BAD_ARGUMENT = 18,          /* vigil_observe() with NULL or a bad direction */
    VIGIL_CNT_FOREIGN_PACKET = 19,        /* adapter: neither address is the device's */
    VIGIL_CNT_CAPTURE_DROPPED = 20,       /* adapter: packets the capture lost */
    VIGIL_CNT_FLOW_SPLIT = 21,            /* a flow took a second record (counter wrap) */
    VIGIL_CNT_REPORTS = 22,               /* reports encoded since boot */
    VIGIL_CNT__COUNT
} vigil_counter_t;

/* Collectors that can be switched on and off at run time. */
#define VIGIL_COLLECT_NETWORK    0x01u
#define VIGIL_COLLECT_LISTENERS  0x02u
#define VIGIL_COLLECT_SYSINFO    0x04u
#define VIGIL_COLLECT_ALL        0x07u

typedef struct {
    uint32_t report_interval_s;  /* 1..3600; a period closes after this long */
    uint32_t collectors;         /* VIGIL_COLLECT_* bits */
    uint32_t sysinfo_every;      /* system information every N periods (>= 1) */
    uint32_t max_message_size;   /* 512..VIGIL_MAX_MESSAGE_SIZE */
} vigil_config_t;

/* A listening socket, reported by the port adapter. */
typedef struct {
    uint8_t proto;      /* VIGIL_PROTO_TCP or VIGIL_PROTO_UDP */
    uint8_t family;     /* 4 or 6 */
    uint16_t port;
    uint8_t addr[16];   /* the bound address (first 4 bytes for IPv4); zeros = any */
} vigil_listener_t;

/*
 * System information. The strings are the caller's and must stay valid while
 * the context is used; longer than VIGIL_MAX_STRING they are cut (and the
 * analyzer sees the cut string). NULL means unknown.
 */
typedef struct {
    const char *os_name;
    const char *os_version;
    const char *stack_name;
    const char *stack_version;
    const char *device_model;
    const char *firmware_version;
    uint32_t boot_time;  /* device clock at boot, same clock as `now`; 0 = unknown */
} vigil_sysinfo_t;

/*
 * What the port adapter supplies. Both callbacks are optional (NULL).
 * listener_at() writes the index-th listening socket and returns true, or
 * returns false when there are no more; it is called while a period's
 * reports are encoded.
 */
typedef struct {
    bool (*listener_at)(void *arg, size_t index, vigil_listener_t *out);
    const vigil_sysinfo_t *sysinfo;
    void *arg;
} vigil_port_t;

typedef struct {
    const char *device_id;   /* copied; 1..VIGIL_DEVICE_ID_MAX bytes */
    uint32_t boot_id;        /* random per boot: tells boot streams apart */
    uint32_t now;            /* device clock in seconds; the first period starts here */
    const vigil_port_t *port;/* may be NULL; kept by pointer */
    vigil_config_t config;   /* start from vigil_config_default() */
} vigil_setup_t;

#include "vigil/ctx.h"

/* Fills *config with the defaults: 60 s, all collectors, system information
 * every 10 periods, VIGIL_MAX_MESSAGE_SIZE. */
void vigil_config_default(vigil_config_t *config);

/* Prepares ctx. VIGIL_ERR_ARG when the setup or its configuration is invalid. */
VIGIL_MUST_CHECK vigil_err_t vigil_init(vigil_ctx_t *ctx, const vigil_setup_t *setup);

/*
 * The hook: call for every IP packet (starting at the IP header) the device
 * sends or receives. `now` is the device clock in seconds. O(1) and bounded:
 * never reads past `length`, never blocks, never keeps the pointer. Bad
 * packets are counted by reason and otherwise ignored.
 */
void vigil_observe(vigil_ctx_t *ctx, vigil_dir_t direction, const uint8_t *ip_packet,
                   size_t length, uint32_t now);

/*
 * The same for stacks and captures that hand over only the first bytes of a
 * datagram (lwIP pbuf chains, pcap snaplen): `captured` bytes are readable
 * at `data`, and `length` is the size of the whole datagram as the stack or
 * capture knows it. Bytes are counted from the IP header's own length field,
 * which must not exceed `length`; headers must lie within `captured`.
 */
void vigil_observe_headers(vigil_ctx_t *ctx, vigil_dir_t direction, const uint8_t *data,
                           size_t captured, size_t length, uint32_t now);

/* Adds one to a counter, for events only the adapter sees. */
void vigil_count(vigil_ctx_t *ctx, vigil_counter_t counter);

/* Reads a counter (since boot). */
uint32_t vigil_counter(const vigil_ctx_t *ctx, vigil_counter_t counter);

/*
 * Closes the period if its interval has elapsed at `now` and encodes its
 * reports into the outbox. Returns VIGIL_OK whether or not a period closed.
 */
vigil_err_t vigil_poll(vigil_ctx_t *ctx, uint32_t now);

/* Closes the period now, whatever its age (for shutdown, tests and tools). */
vigil_err_t vigil_flush(vigil_ctx_t *ctx, uint32_t now);

/* Applies a new run-time configuration; the old one stays if it is invalid. */
VIGIL_MUST_CHECK vigil_err_t vigil_configure(vigil_ctx_t *ctx, const vigil_config_t *config);

/* Reports waiting in the outbox, oldest first. */
size_t vigil_outbox_count(const vigil_ctx_t *ctx);

/* The index-th waiting report (0 = oldest): its bytes, length and sequence. */
VIGIL_MUST_CHECK vigil_err_t vigil_outbox_get(const vigil_ctx_t *ctx, size_t index,
                                              const uint8_t **message, size_t *length,
                                              uint32_t *seq);

/*
 * Releases every waiting report whose sequence number is <= up_to_seq (the
 * analyzer acknowledged it). Returns how many were released.
 */
size_t vigil_outbox_release(vigil_ctx_t *ctx, uint32_t up_to_seq);

/* A short name for a counter ("ip_truncated"...), or NULL. */
const char *vigil_counter_name(vigil_counter_t counter);

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_H */
