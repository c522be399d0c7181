/*
 * packets.h - builds IP packets as byte arrays for the libvigil tests:
 * IPv4 (with options and fragments) and IPv6 (with extension headers and
 * fragments) carrying TCP, UDP, ICMP/ICMPv6 or any other protocol number.
 * Checksums are left at zero: libvigil never reads them. Test code only.
 *
 * A packet is built layer by layer: pkt_ipv4()/pkt_ipv6() start it, each
 * further call appends a header and writes its protocol number into the
 * previous header's next-protocol field, pkt_finish() fills the IP length.
 */
#ifndef VIGIL_TEST_PACKETS_H
#define VIGIL_TEST_PACKETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKT_MAX 2048u

/* Protocol numbers, spelled out so tests read like the RFCs. */
#define P_HOPOPTS 0u
#define P_ICMP 1u
#define P_TCP 6u
#define P_UDP 17u
#define P_ROUTING 43u
#define P_FRAGMENT 44u
#define P_GRE 47u
#define P_ESP 50u
#define P_AH 51u
#define P_ICMPV6 58u
#define P_NONE 59u
#define P_DSTOPTS 60u

#define T_FIN 0x01u
#define T_SYN 0x02u
#define T_RST 0x04u
#define T_PSH 0x08u
#define T_ACK 0x10u

typedef struct {
    uint8_t data[PKT_MAX];
    size_t len;
    size_t ip_header;  /* bytes of the IPv4 header or the fixed IPv6 header */
    size_t next_at;    /* offset of the field taking the next protocol number */
    uint8_t family;
} pkt_t;

void pkt_ipv4(pkt_t *p, const uint8_t src[4], const uint8_t dst[4]);
/* Appends `n` (multiple of 4, <= 40) bytes of options; call right after pkt_ipv4. */
void pkt_ipv4_options(pkt_t *p, size_t n);
/* Sets identification, fragment offset (in 8-byte units) and MF. */
void pkt_ipv4_fragment(pkt_t *p, uint16_t id, uint16_t offset8, bool more);

void pkt_ipv6(pkt_t *p, const uint8_t src[16], const uint8_t dst[16]);
/* Hop-by-hop, routing or destination options (len: multiple of 8, >= 8) or
 * AH (len: multiple of 4, >= 8). */
void pkt_ipv6_ext(pkt_t *p, uint8_t type, size_t len);
void pkt_ipv6_fragment(pkt_t *p, uint32_t id, uint16_t offset8, bool more);

/* TCP with `options` (multiple of 4) bytes of options. */
void pkt_tcp(pkt_t *p, uint16_t sport, uint16_t dport, uint8_t flags, size_t options);
void pkt_udp(pkt_t *p, uint16_t sport, uint16_t dport);
/* ICMP on IPv4, ICMPv6 on IPv6: 8 bytes (type, code, checksum, id, seq). */
void pkt_icmp(pkt_t *p, uint8_t type, uint8_t code);
/* Writes a raw protocol number into the pending next-protocol field. */
void pkt_next(pkt_t *p, uint8_t proto);
void pkt_payload(pkt_t *p, size_t n);
/* Fills the IPv4 total length or the IPv6 payload length from p->len. */
size_t pkt_finish(pkt_t *p);
/* Overwrites the IP length field with `datagram` (as a header-only capture
 * of a bigger datagram would show it). */
void pkt_set_ip_length(pkt_t *p, size_t datagram);

/* One-call builders: finished packets with `payload` bytes of data. */
void mk_tcp4(pkt_t *p, const uint8_t src[4], const uint8_t dst[4], uint16_t sport,
             uint16_t dport, uint8_t flags, size_t payload);
void mk_udp4(pkt_t *p, const uint8_t src[4], const uint8_t dst[4], uint16_t sport,
             uint16_t dport, size_t payload);
void mk_icmp4(pkt_t *p, const uint8_t src[4], const uint8_t dst[4], uint8_t type, uint8_t code,
              size_t payload);
void mk_tcp6(pkt_t *p, const uint8_t src[16], const uint8_t dst[16], uint16_t sport,
             uint16_t dport, uint8_t flags, size_t payload);
void mk_udp6(pkt_t *p, const uint8_t src[16], const uint8_t dst[16], uint16_t sport,
             uint16_t dport, size_t payload);
void mk_icmp6(pkt_t *p, const uint8_t src[16], const uint8_t dst[16], uint8_t type,
              uint8_t code, size_t payload);

/* Addresses: 10.0.0.<n>-style IPv4 and 2001:db8::<hi>:<lo>-style IPv6. */
void addr4(uint8_t out[4], uint8_t a, uint8_t b, uint8_t c, uint8_t d);
void addr6(uint8_t out[16], uint16_t hi, uint16_t lo);

#endif
