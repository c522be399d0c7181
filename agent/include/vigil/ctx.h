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
 * A flow record. 22 bytes for IPv4 and 34 for IPv6, plus one byte of chain
 * link and one of local-address index kept in side arrays, so 24 and 36
 * bytes per tracked flow. Counters are sized for one report period: 16-bit
 * packets and 24-bit bytes per direction; a flow that would wrap one takes a
 * further record (its "shadow"), and the encoder adds them up.
 * A record with no packet in either direction is free.
 */
#define VIGIL__FLOW_FIELDS                                                   \
    uint16_t local_port;   /* ICMP: type */                                  \
    uint16_t remote_port;  /* ICMP: code */                                  \
    uint16_t packets[2];   /* [VIGIL_DIR_IN], [VIGIL_DIR_OUT] */             \
    uint8_t bytes[2][3];   /* 24-bit little-endian, per direction */         \
    uint8_t seen[3];       /* first (12 bits), last (12 bits), s after start */ \
    uint8_t flags;         /* proto, initiator, TCP flags, shadow */

typedef struct {
    uint8_t remote[4];
    VIGIL__FLOW_FIELDS
} vigil__flow4_t;

typedef struct {
    uint8_t remote[16];
    VIGIL__FLOW_FIELDS
} vigil__flow6_t;

typedef struct {
    uint32_t id;        /* IPv4 identification or IPv6 fragment identification */
    uint8_t family;     /* 0 = slot free, 4 or 6 */
    uint8_t proto;      /* vigil_proto_t of the datagram */
    uint8_t slot;       /* flow record, or VIGIL__NO_SLOT when it went to overflow */
    uint8_t dir;        /* direction of the first fragment */
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
    uint8_t local4[VIGIL_MAX_LOCAL_ADDRS_V4][4];
    uint8_t local6[VIGIL_MAX_LOCAL_ADDRS_V6][16];

    uint8_t free4;           /* coalesced hashing: free slots are taken from here down */
    uint8_t free6;
    uint8_t used4;
    uint8_t used6;
    vigil__flow4_t flows4[VIGIL__N4];
    vigil__flow6_t flows6[VIGIL__N6];
    uint8_t next4[VIGIL__N4];          /* chain link, VIGIL__NO_SLOT at the end */
    uint8_t next6[VIGIL__N6];
    uint8_t local_of4[VIGIL__N4];      /* index into local4 */
    uint8_t local_of6[VIGIL__N6];

    vigil__fragment_t fragments[VIGIL_MAX_FRAGMENTS];
    uint8_t fragment_victim;           /* round-robin replacement when all are busy */

    uint16_t outbox_count;
    uint16_t outbox_used;              /* bytes of outbox[] in use */
    uint8_t outbox[VIGIL_OUTBOX_SIZE]; /* [len:2][seq:4][message] ... oldest first */
};

typedef struct vigil_ctx vigil_ctx_t;

#endif /* VIGIL_CTX_H */
