/*
 * packet.c - parses one IP packet (IPv4 with options, IPv6 with its
 * extension-header chain, TCP, UDP, ICMP, ICMPv6) into a packet_t.
 *
 * Every read goes through a bound checked first against the datagram's own
 * length and then against the bytes actually captured: a packet can never
 * make this file read past `captured`. It never writes to the packet, keeps
 * no state and allocates nothing. Work per packet is bounded by
 * VIGIL_MAX_EXT_HEADERS.
 */
#include "packet.h"

#include "prot/ip.h"

#define PACKET_OK VIGIL_CNT__COUNT

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)(p[0] << 8) | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint8_t proto_of(uint8_t ip_proto, uint8_t family)
{
    switch (ip_proto) {
    case IPPROTO_NUM_TCP:
        return VIGIL_PROTO_TCP;
    case IPPROTO_NUM_UDP:
        return VIGIL_PROTO_UDP;
    case IPPROTO_NUM_ICMP:
        return family == 4 ? (uint8_t)VIGIL_PROTO_ICMP : PACKET_PROTO_UNKNOWN;
    case IPPROTO_NUM_ICMPV6:
        return family == 6 ? (uint8_t)VIGIL_PROTO_ICMP : PACKET_PROTO_UNKNOWN;
    default:
        return PACKET_PROTO_UNKNOWN;
    }
}

/* Replies are keyed by their request's type, so one exchange is one flow. */
static uint8_t icmp_request_type(uint8_t type, uint8_t family)
{
    if (family == 6)
        return type == ICMP6_ECHO_REPLY ? (uint8_t)ICMP6_ECHO_REQUEST : type;
    switch (type) {
    case ICMP4_ECHO_REPLY:
        return ICMP4_ECHO_REQUEST;
    case ICMP4_TIMESTAMP_REPLY:
        return ICMP4_TIMESTAMP_REQUEST;
    case ICMP4_INFO_REPLY:
        return ICMP4_INFO_REQUEST;
    case ICMP4_MASK_REPLY:
        return ICMP4_MASK_REQUEST;
    default:
        return type;
    }
}

/*
 * t points at the transport header; `readable` bytes of it were captured and
 * `datagram_left` bytes belong to the datagram (or to this first fragment).
 */
static vigil_counter_t parse_transport(packet_t *out, const uint8_t *t, size_t readable,
                                       size_t datagram_left)
{
    size_t have = readable < datagram_left ? readable : datagram_left;

    switch (out->proto) {
    case VIGIL_PROTO_TCP: {
        if (have < TCP_MIN_HEADER)
            return VIGIL_CNT_TRANSPORT_TRUNCATED;
        size_t data_offset = (size_t)(t[TCP_OFF_DATA_OFFSET] >> 4) * 4u;
        /* A first fragment may legitimately end inside the TCP options. */
        if (data_offset < TCP_MIN_HEADER ||
            (out->fragment == PACKET_NOT_FRAGMENT && data_offset > datagram_left))
            return VIGIL_CNT_TCP_BAD_OFFSET;
        out->src_port = be16(t);
        out->dst_port = be16(t + 2);
        out->tcp_flags = t[TCP_OFF_FLAGS];
        return PACKET_OK;
    }
    case VIGIL_PROTO_UDP:
        if (have < UDP_HEADER)
            return VIGIL_CNT_TRANSPORT_TRUNCATED;
        out->src_port = be16(t);
        out->dst_port = be16(t + 2);
        return PACKET_OK;
    case VIGIL_PROTO_ICMP:
        if (have < ICMP_MIN_HEADER)
            return VIGIL_CNT_TRANSPORT_TRUNCATED;
        out->src_port = icmp_request_type(t[0], out->family);
        out->dst_port = t[1];
        return PACKET_OK;
    default:
        return VIGIL_CNT_PROTO_UNSUPPORTED;
    }
}

static vigil_counter_t parse_ipv4(const uint8_t *d, size_t captured, size_t length, packet_t *out)
{
    if (captured < IP4_MIN_HEADER)
        return VIGIL_CNT_IP_TRUNCATED;
    size_t header = (size_t)(d[IP4_OFF_VER_IHL] & 0x0fu) * 4u;
    if (header < IP4_MIN_HEADER || header > length)
        return VIGIL_CNT_IPV4_BAD_IHL;
    if (header > captured)
        return VIGIL_CNT_IP_TRUNCATED;
    size_t total = be16(d + IP4_OFF_TOTAL_LEN);
    if (total < header || total > length)
        return VIGIL_CNT_IPV4_BAD_TOTAL_LENGTH;

    uint16_t frag = be16(d + IP4_OFF_FRAG);
    out->family = 4;
    out->src = d + IP4_OFF_SRC;
    out->dst = d + IP4_OFF_DST;
    out->datagram_bytes = (uint32_t)total;
    out->fragment_id = be16(d + IP4_OFF_ID);
    out->proto = proto_of(d[IP4_OFF_PROTO], 4);
    if ((frag & IP4_FRAG_OFFSET) != 0) {
        out->fragment = PACKET_LATER_FRAGMENT;
        return PACKET_OK;
    }
    out->fragment = (frag & IP4_FRAG_MF) ? (uint8_t)PACKET_FIRST_FRAGMENT
                                         : (uint8_t)PACKET_NOT_FRAGMENT;
    size_t readable = captured < total ? captured : total;
    return parse_transport(out, d + header, readable - header, total - header);
}

static vigil_counter_t parse_ipv6(const uint8_t *d, size_t captured, size_t length, packet_t *out)
{
    if (captured < IP6_HEADER)
        return VIGIL_CNT_IP_TRUNCATED;
    size_t payload = be16(d + IP6_OFF_PAYLOAD_LEN);
    /* Payload length 0 means a jumbogram, which no constrained link carries. */
    if (payload == 0 || IP6_HEADER + payload > length)
        return VIGIL_CNT_IPV6_BAD_PAYLOAD_LENGTH;

    size_t end = IP6_HEADER + payload;
    size_t readable = captured < end ? captured : end;
    size_t off = IP6_HEADER;
    uint8_t next = d[IP6_OFF_NEXT];
    out->family = 6;
    out->src = d + IP6_OFF_SRC;
    out->dst = d + IP6_OFF_DST;
    out->datagram_bytes = (uint32_t)end;
    out->fragment = PACKET_NOT_FRAGMENT;

    for (unsigned walked = 0;; walked++) {
        size_t header_len;
        switch (next) {
        case IPPROTO_NUM_TCP:
        case IPPROTO_NUM_UDP:
        case IPPROTO_NUM_ICMPV6:
            out->proto = proto_of(next, 6);
            /* Extension headers are bounded by the datagram, not by the
             * capture: the transport header may start past what was captured. */
            return parse_transport(out, d + off, readable > off ? readable - off : 0, end - off);
        case IPPROTO_NUM_HOPOPTS:
        case IPPROTO_NUM_ROUTING:
        case IPPROTO_NUM_DSTOPTS:
        case IPPROTO_NUM_AH:
            if (walked >= VIGIL_MAX_EXT_HEADERS)
                return VIGIL_CNT_IPV6_EXT_CHAIN_TOO_LONG;
            if (off + 2 > readable)
                return VIGIL_CNT_IPV6_EXT_TRUNCATED;
            header_len = next == IPPROTO_NUM_AH ? ((size_t)d[off + 1] + 2u) * 4u
                                                : ((size_t)d[off + 1] + 1u) * 8u;
            if (off + header_len > end)
                return VIGIL_CNT_IPV6_EXT_TRUNCATED;
            next = d[off];
            off += header_len;
            break;
        case IPPROTO_NUM_FRAGMENT: {
            if (walked >= VIGIL_MAX_EXT_HEADERS)
                return VIGIL_CNT_IPV6_EXT_CHAIN_TOO_LONG;
            if (off + IP6_FRAG_HEADER > readable)
                return VIGIL_CNT_IPV6_EXT_TRUNCATED;
            uint16_t frag = be16(d + off + 2);
            out->fragment_id = be32(d + off + 4);
            next = d[off];
            off += IP6_FRAG_HEADER;
            if ((frag & IP6_FRAG_OFFSET_MASK) != 0) {
                out->fragment = PACKET_LATER_FRAGMENT;
                out->proto = proto_of(next, 6);
                return PACKET_OK;
            }
            /* Offset 0 without M is an atomic fragment: a whole datagram. */
            if (frag & IP6_FRAG_M)
                out->fragment = PACKET_FIRST_FRAGMENT;
            break;
        }
        default: /* ESP, no next header, anything unknown: the walk ends */
            return VIGIL_CNT_PROTO_UNSUPPORTED;
        }
    }
}

vigil_counter_t packet_parse(const uint8_t *data, size_t captured, size_t length, packet_t *out)
{
    out->src_port = 0;
    out->dst_port = 0;
    out->tcp_flags = 0;
    out->fragment_id = 0;
    if (captured > length)
        captured = length;
    if (captured == 0)
        return VIGIL_CNT_IP_TRUNCATED;
    switch (data[0] >> 4) {
    case 4:
        return parse_ipv4(data, captured, length, out);
    case 6:
        return parse_ipv6(data, captured, length, out);
    default:
        return VIGIL_CNT_IP_BAD_VERSION;
    }
}
