/*
 * packet.h - the parser's view of one IP packet: what a flow needs to know,
 * with pointers into the caller's bytes. Private to libvigil.
 */
#ifndef VIGIL_PACKET_H
#define VIGIL_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "vigil.h"

typedef enum {
    PACKET_NOT_FRAGMENT = 0,
    PACKET_FIRST_FRAGMENT,  /* offset 0, more fragments follow: carries ports */
    PACKET_LATER_FRAGMENT   /* offset > 0: carries no transport header */
} packet_fragment_t;

/* packet_t.proto of a later fragment whose protocol libvigil does not track. */
#define PACKET_PROTO_UNKNOWN 0xffu

typedef struct {
    const uint8_t *src;       /* 4 or 16 bytes, inside the packet */
    const uint8_t *dst;
    uint32_t datagram_bytes;  /* IPv4 total length, or 40 + IPv6 payload length */
    uint32_t fragment_id;     /* IPv4 identification or IPv6 fragment identification */
    uint16_t src_port;        /* ICMP: type (replies as their request) */
    uint16_t dst_port;        /* ICMP: code */
    uint8_t family;           /* 4 or 6 */
    uint8_t proto;            /* vigil_proto_t */
    uint8_t tcp_flags;        /* the TCP flags byte, 0 for other protocols */
    uint8_t fragment;         /* packet_fragment_t */
} packet_t;

/*
 * Parses the IP packet at data: `captured` readable bytes of a datagram of
 * `length` bytes. Returns VIGIL_CNT__COUNT when *out is filled, otherwise the
 * counter naming why the packet was not understood (*out is then undefined).
 * Never reads data[captured] or beyond.
 */
vigil_counter_t packet_parse(const uint8_t *data, size_t captured, size_t length, packet_t *out);

#endif
