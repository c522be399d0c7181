/*
 * prot/ip.h - wire layout of the IPv4, IPv6, TCP, UDP and ICMP headers as
 * offsets and constants. Only parsers include this. Packets are read byte by
 * byte through these offsets, never by casting a pointer to a struct.
 */
#ifndef VIGIL_PROT_IP_H
#define VIGIL_PROT_IP_H

#define IP4_MIN_HEADER      20u
#define IP4_OFF_VER_IHL     0u
#define IP4_OFF_TOTAL_LEN   2u
#define IP4_OFF_ID          4u
#define IP4_OFF_FRAG        6u
#define IP4_OFF_PROTO       9u
#define IP4_OFF_SRC         12u
#define IP4_OFF_DST         16u
#define IP4_FRAG_MF         0x2000u
#define IP4_FRAG_OFFSET     0x1fffu

#define IP6_HEADER          40u
#define IP6_OFF_PAYLOAD_LEN 4u
#define IP6_OFF_NEXT        6u
#define IP6_OFF_SRC         8u
#define IP6_OFF_DST         24u

/* Next-header / protocol numbers (IANA). */
#define IPPROTO_NUM_HOPOPTS  0u
#define IPPROTO_NUM_ICMP     1u
#define IPPROTO_NUM_TCP      6u
#define IPPROTO_NUM_UDP      17u
#define IPPROTO_NUM_ROUTING  43u
#define IPPROTO_NUM_FRAGMENT 44u
#define IPPROTO_NUM_ESP      50u
#define IPPROTO_NUM_AH       51u
#define IPPROTO_NUM_ICMPV6   58u
#define IPPROTO_NUM_NONE     59u
#define IPPROTO_NUM_DSTOPTS  60u

#define IP6_FRAG_HEADER      8u
#define IP6_FRAG_OFFSET_MASK 0xfff8u
#define IP6_FRAG_M           0x0001u

#define TCP_MIN_HEADER      20u
#define TCP_OFF_FLAGS       13u
#define TCP_OFF_DATA_OFFSET 12u
#define TCP_FLAG_FIN        0x01u
#define TCP_FLAG_SYN        0x02u
#define TCP_FLAG_RST        0x04u
#define TCP_FLAG_ACK        0x10u

#define UDP_HEADER          8u
#define ICMP_MIN_HEADER     4u

/* ICMP reply types, keyed by their request's type so one exchange is one flow. */
#define ICMP4_ECHO_REPLY          0u
#define ICMP4_ECHO_REQUEST        8u
#define ICMP4_TIMESTAMP_REQUEST   13u
#define ICMP4_TIMESTAMP_REPLY     14u
#define ICMP4_INFO_REQUEST        15u
#define ICMP4_INFO_REPLY          16u
#define ICMP4_MASK_REQUEST        17u
#define ICMP4_MASK_REPLY          18u
#define ICMP6_ECHO_REQUEST        128u
#define ICMP6_ECHO_REPLY          129u

#endif
