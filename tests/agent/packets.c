/*
 * packets.c - the packet builders of packets.h. Test code: it asserts its
 * own preconditions with abort() rather than returning errors, and never
 * computes checksums.
 */
#include "packets.h"

#include <stdlib.h>
#include <string.h>

static void need(pkt_t *p, size_t n)
{
    if (p->len + n > PKT_MAX)
        abort();
}

static void put16(uint8_t *b, uint16_t v)
{
    b[0] = (uint8_t)(v >> 8);
    b[1] = (uint8_t)v;
}

static void put32(uint8_t *b, uint32_t v)
{
    put16(b, (uint16_t)(v >> 16));
    put16(b + 2, (uint16_t)v);
}

void addr4(uint8_t out[4], uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    out[0] = a;
    out[1] = b;
    out[2] = c;
    out[3] = d;
}

void addr6(uint8_t out[16], uint16_t hi, uint16_t lo)
{
    memset(out, 0, 16);
    put16(out, 0x2001);
    put16(out + 2, 0x0db8);
    put16(out + 12, hi);
    put16(out + 14, lo);
}

void pkt_ipv4(pkt_t *p, const uint8_t src[4], const uint8_t dst[4])
{
    memset(p, 0, sizeof *p);
    p->family = 4;
    p->data[0] = 0x45;
    p->data[8] = 64;
    memcpy(p->data + 12, src, 4);
    memcpy(p->data + 16, dst, 4);
    p->len = 20;
    p->ip_header = 20;
    p->next_at = 9;
}

void pkt_ipv4_options(pkt_t *p, size_t n)
{
    if (p->family != 4 || p->len != p->ip_header || n % 4 != 0 || p->ip_header + n > 60)
        abort();
    /* NOP options then End of Option List. */
    memset(p->data + p->len, 1, n);
    if (n > 0)
        p->data[p->len + n - 1] = 0;
    p->len += n;
    p->ip_header += n;
    p->data[0] = (uint8_t)(0x40u | (p->ip_header / 4));
}

void pkt_ipv4_fragment(pkt_t *p, uint16_t id, uint16_t offset8, bool more)
{
    put16(p->data + 4, id);
    put16(p->data + 6, (uint16_t)((more ? 0x2000u : 0u) | (offset8 & 0x1fffu)));
}

void pkt_ipv6(pkt_t *p, const uint8_t src[16], const uint8_t dst[16])
{
    memset(p, 0, sizeof *p);
    p->family = 6;
    p->data[0] = 0x60;
    p->data[7] = 64;
    memcpy(p->data + 8, src, 16);
    memcpy(p->data + 24, dst, 16);
    p->len = 40;
    p->ip_header = 40;
    p->next_at = 6;
}

void pkt_next(pkt_t *p, uint8_t proto)
{
    p->data[p->next_at] = proto;
}

void pkt_ipv6_ext(pkt_t *p, uint8_t type, size_t len)
{
    if (len < 8 || (type == P_AH ? len % 4 : len % 8) != 0 || len > 2040)
        abort();
    need(p, len);
    pkt_next(p, type);
    uint8_t *h = p->data + p->len;
    memset(h, 0, len);
    h[1] = (uint8_t)(type == P_AH ? len / 4 - 2 : len / 8 - 1);
    p->next_at = p->len;
    p->len += len;
}

void pkt_ipv6_fragment(pkt_t *p, uint32_t id, uint16_t offset8, bool more)
{
    need(p, 8);
    pkt_next(p, P_FRAGMENT);
    uint8_t *h = p->data + p->len;
    memset(h, 0, 8);
    put16(h + 2, (uint16_t)((uint16_t)(offset8 << 3) | (more ? 1u : 0u)));
    put32(h + 4, id);
    p->next_at = p->len;
    p->len += 8;
}

void pkt_tcp(pkt_t *p, uint16_t sport, uint16_t dport, uint8_t flags, size_t options)
{
    if (options % 4 != 0 || options > 40)
        abort();
    need(p, 20 + options);
    pkt_next(p, P_TCP);
    uint8_t *h = p->data + p->len;
    memset(h, 0, 20 + options);
    put16(h, sport);
    put16(h + 2, dport);
    put32(h + 4, 1000);
    h[12] = (uint8_t)(((20 + options) / 4) << 4);
    h[13] = flags;
    put16(h + 14, 65535);
    memset(h + 20, 1, options); /* NOPs */
    p->len += 20 + options;
}

void pkt_udp(pkt_t *p, uint16_t sport, uint16_t dport)
{
    need(p, 8);
    pkt_next(p, P_UDP);
    uint8_t *h = p->data + p->len;
    memset(h, 0, 8);
    put16(h, sport);
    put16(h + 2, dport);
    put16(h + 4, 8);
    p->len += 8;
}

void pkt_icmp(pkt_t *p, uint8_t type, uint8_t code)
{
    need(p, 8);
    pkt_next(p, p->family == 4 ? P_ICMP : P_ICMPV6);
    uint8_t *h = p->data + p->len;
    memset(h, 0, 8);
    h[0] = type;
    h[1] = code;
    put16(h + 4, 0x1234);
    put16(h + 6, 1);
    p->len += 8;
}

void pkt_payload(pkt_t *p, size_t n)
{
    need(p, n);
    for (size_t i = 0; i < n; i++)
        p->data[p->len + i] = (uint8_t)(0xa0u + i);
    p->len += n;
}

void pkt_set_ip_length(pkt_t *p, size_t datagram)
{
    if (p->family == 4)
        put16(p->data + 2, (uint16_t)datagram);
    else
        put16(p->data + 4, (uint16_t)(datagram - 40));
}

size_t pkt_finish(pkt_t *p)
{
    pkt_set_ip_length(p, p->len);
    return p->len;
}

void mk_tcp4(pkt_t *p, const uint8_t src[4], const uint8_t dst[4], uint16_t sport,
             uint16_t dport, uint8_t flags, size_t payload)
{
    pkt_ipv4(p, src, dst);
    pkt_tcp(p, sport, dport, flags, 0);
    pkt_payload(p, payload);
    pkt_finish(p);
}

void mk_udp4(pkt_t *p, const uint8_t src[4], const uint8_t dst[4], uint16_t sport,
             uint16_t dport, size_t payload)
{
    pkt_ipv4(p, src, dst);
    pkt_udp(p, sport, dport);
    pkt_payload(p, payload);
    pkt_finish(p);
}

void mk_icmp4(pkt_t *p, const uint8_t src[4], const uint8_t dst[4], uint8_t type, uint8_t code,
              size_t payload)
{
    pkt_ipv4(p, src, dst);
    pkt_icmp(p, type, code);
    pkt_payload(p, payload);
    pkt_finish(p);
}

void mk_tcp6(pkt_t *p, const uint8_t src[16], const uint8_t dst[16], uint16_t sport,
             uint16_t dport, uint8_t flags, size_t payload)
{
    pkt_ipv6(p, src, dst);
    pkt_tcp(p, sport, dport, flags, 0);
    pkt_payload(p, payload);
    pkt_finish(p);
}

void mk_udp6(pkt_t *p, const uint8_t src[16], const uint8_t dst[16], uint16_t sport,
             uint16_t dport, size_t payload)
{
    pkt_ipv6(p, src, dst);
    pkt_udp(p, sport, dport);
    pkt_payload(p, payload);
    pkt_finish(p);
}

void mk_icmp6(pkt_t *p, const uint8_t src[16], const uint8_t dst[16], uint8_t type,
              uint8_t code, size_t payload)
{
    pkt_ipv6(p, src, dst);
    pkt_icmp(p, type, code);
    pkt_payload(p, payload);
    pkt_finish(p);
}
