/*
 * vigil/ctx.h - the layout of vigil_ctx_t, public only so that integrators
 * can allocate it statically (`static vigil_ctx_t ctx;`) and know its size at
 * compile time. Its fields are private to libvigil: read nothing here, call
 * the functions of vigil.h.
 */
#ifndef VIGIL_CTX_H
#define VIGIL_CTX_H

/* Arrays of a disabled family keep one element: C99 has no empty arrays. */
#define VIGIL__N4 (VIGIL_MAX_FLOWS_V4 > 0 ? VIGIL_MAX_FLOWS_V4 : 1)
#define VIGIL__N6 (VIGIL_MAX_FLOWS_V6 > 0 ? VIGIL_MAX_FLOWS_V6 : 1)

/*
 * A flow record: five 32-bit words plus the remote address (one word for
 * IPv4, four for IPv6), so 24 bytes per tracked IPv4 flow and 36 per IPv6
 * flow, chain link and local-address index included. Counters are sized for
 * one report period: 16-bit packets and 24-bit bytes per direction; a flow
 * that would wrap one takes a further record (its "shadow") and the encoder
 * adds them up. A record with no packet in either direction is free.
 */
typedef struct {
    uint32_t ports;      /* local port | remote port << 16 (ICMP: type, code) */
    uint32_t packets;    /* in | out << 16 */
    uint32_t bytes_in;   /* 24-bit byte count | flags << 24 */
    uint32_t bytes_out;  /* 24-bit byte count | chain link << 24 */
    uint32_t seen;       /* last | first << 12 (s after period start) | local index << 24 */
} vigil__flow_t;

/* A fragmented datagram being followed: its first fragment's addresses and
 * ports, so that later fragments join that flow, even in the next period. */
typedef struct {
    uint8_t src[16];
    uint8_t dst[16];
    uint32_t id;        /* IPv4 identification or IPv6 fragment identification */
    uint32_t last_now;  /* for replacing the stalest when all are busy */
    uint16_t src_port;
    uint16_t dst_port;
    uint8_t family;     /* 0 = free, 4 or 6 */
    uint8_t proto;
} vigil__fragment_t;

struct vigil_ctx {
    uint32_t magic;
    uint32_t boot_id;
    uint32_t hash_seed;
    uint32_t start_now;      /* `now` at vigil_init */
    uint32_t period_start;
    uint32_t next_seq;
    uint32_t periods;        /* periods closed */
    vigil_config_t config;
    const vigil_port_t *port;
    uint32_t counters[VIGIL_CNT__COUNT];
    uint32_t overflow_packets[3][2];   /* [proto][dir] */
    uint32_t overflow_bytes[3][2];

    uint8_t device_id_len;
    char device_id[VIGIL_DEVICE_ID_MAX];

    uint8_t local4_count;
    uint8_t local6_count;
    uint32_t local4[VIGIL_MAX_LOCAL_ADDRS_V4][1];
    uint32_t local6[VIGIL_MAX_LOCAL_ADDRS_V6][4];

    uint8_t free4;           /* coalesced hashing: free slots are taken from here down */
    uint8_t free6;
    vigil__flow_t flows4[VIGIL__N4];
    vigil__flow_t flows6[VIGIL__N6];
    uint32_t remote4[VIGIL__N4][1];    /* network byte order, as in the packet */
    uint32_t remote6[VIGIL__N6][4];

    vigil__fragment_t fragments[VIGIL_MAX_FRAGMENTS];

    uint16_t outbox_count;
    uint16_t outbox_used;              /* bytes of outbox[] in use */
    uint8_t outbox[VIGIL_OUTBOX_SIZE]; /* [len:2][seq:4][message] ... oldest first */
};

typedef struct vigil_ctx vigil_ctx_t;

#endif /* VIGIL_CTX_H */
