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
 * A flow record: these 18 bytes plus the remote address (4 or 16 bytes),
 * one byte of chain link and one of local-address index, kept in parallel
 * arrays: 24 bytes per tracked IPv4 flow and 36 per IPv6 flow. Counters are sized for one report period: 16-bit
 * packets and 24-bit bytes per direction; a flow that would wrap one takes a
 * further record (its "shadow"), and the encoder adds them up.
 * A record with no packet in either direction is free.
 */
typedef struct {
    uint16_t local_port;   /* ICMP: type */
    uint16_t remote_port;  /* ICMP: code */
    uint16_t packets[2];   /* [VIGIL_DIR_IN], [VIGIL_DIR_OUT] */
    uint8_t bytes[2][3];   /* 24-bit little-endian, per direction */
    uint8_t seen[3];       /* first and last, 12 bits each, seconds after period start */
    uint8_t flags;         /* proto, initiator, TCP flags, shadow */
} vigil__flow_counts_t;

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
    uint8_t local4[VIGIL_MAX_LOCAL_ADDRS_V4][4];
    uint8_t local6[VIGIL_MAX_LOCAL_ADDRS_V6][16];

    uint8_t free4;           /* coalesced hashing: free slots are taken from here down */
    uint8_t free6;
    vigil__flow_counts_t counts4[VIGIL__N4];
    vigil__flow_counts_t counts6[VIGIL__N6];
    uint8_t remote4[VIGIL__N4][4];
    uint8_t remote6[VIGIL__N6][16];
    uint8_t next4[VIGIL__N4];          /* chain link, VIGIL__NO_SLOT at the end */
    uint8_t next6[VIGIL__N6];
    uint8_t local_of4[VIGIL__N4];      /* index into local4 */
    uint8_t local_of6[VIGIL__N6];

    vigil__fragment_t fragments[VIGIL_MAX_FRAGMENTS];

    uint16_t outbox_count;
    uint16_t outbox_used;              /* bytes of outbox[] in use */
    uint8_t outbox[VIGIL_OUTBOX_SIZE]; /* [len:2][seq:4][message] ... oldest first */
};

typedef struct vigil_ctx vigil_ctx_t;

#endif /* VIGIL_CTX_H */
