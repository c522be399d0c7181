/*
 * test_packet.c - packet_parse(): every reason it can refuse a packet, the
 * fields it extracts from IPv4 (with options), IPv6 (with extension-header
 * chains), TCP, UDP and ICMP, fragments, header-only captures, and every
 * prefix of valid packets read from exactly-sized heap buffers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "packet.h"
#include "packets.h"

#define OK VIGIL_CNT__COUNT

static uint8_t A4[4], B4[4], A6[16], B6[16];

static int setup(void **state)
{
    (void)state;
    addr4(A4, 10, 0, 0, 2);
    addr4(B4, 93, 184, 216, 34);
    addr6(A6, 0, 2);
    addr6(B6, 0xbeef, 34);
    return 0;
}

static vigil_counter_t parse(const pkt_t *p, packet_t *out)
{
    return packet_parse(p->data, p->len, p->len, out);
}

static vigil_counter_t parse_n(const pkt_t *p, size_t n)
{
    packet_t out;
    return packet_parse(p->data, n, n, &out);
}

static void test_ipv4_tcp_yields_addresses_ports_flags_and_length(void **state)
{
    (void)state;
    pkt_t p;
    packet_t out;
    mk_tcp4(&p, A4, B4, 40000, 443, T_SYN | T_ACK, 100);
    assert_int_equal(parse(&p, &out), OK);
    assert_int_equal(out.family, 4);
    assert_int_equal(out.proto, VIGIL_PROTO_TCP);
    assert_ptr_equal(out.src, p.data + 12);
    assert_ptr_equal(out.dst, p.data + 16);
    assert_int_equal(out.datagram_bytes, 20 + 20 + 100);
    assert_int_equal(out.src_port, 40000);
    assert_int_equal(out.dst_port, 443);
    assert_int_equal(out.tcp_flags, T_SYN | T_ACK);
    assert_int_equal(out.fragment, PACKET_NOT_FRAGMENT);
}

static void test_ipv4_options_are_skipped_to_reach_the_ports(void **state)
{
    (void)state;
    for (size_t opt = 4; opt <= 40; opt += 4) {
        pkt_t p;
        packet_t out;
        pkt_ipv4(&p, A4, B4);
        pkt_ipv4_options(&p, opt);
        pkt_udp(&p, 5353, 53);
        pkt_payload(&p, 3);
        pkt_finish(&p);
        assert_int_equal(parse(&p, &out), OK);
        assert_int_equal(out.proto, VIGIL_PROTO_UDP);
        assert_int_equal(out.src_port, 5353);
        assert_int_equal(out.dst_port, 53);
        assert_int_equal(out.datagram_bytes, 20 + opt + 8 + 3);
    }
}

static void test_tcp_options_do_not_hide_the_ports(void **state)
{
    (void)state;
    pkt_t p;
    packet_t out;
    pkt_ipv6(&p, A6, B6);
    pkt_tcp(&p, 1, 65535, T_FIN | T_ACK, 40);
    pkt_finish(&p);
    assert_int_equal(parse(&p, &out), OK);
    assert_int_equal(out.family, 6);
    assert_ptr_equal(out.src, p.data + 8);
    assert_ptr_equal(out.dst, p.data + 24);
    assert_int_equal(out.src_port, 1);
    assert_int_equal(out.dst_port, 65535);
    assert_int_equal(out.tcp_flags, T_FIN | T_ACK);
    assert_int_equal(out.datagram_bytes, 40 + 60);
}

static void test_udp_and_icmp_ports_on_both_families(void **state)
{
    (void)state;
    pkt_t p;
    packet_t out;
    mk_udp6(&p, A6, B6, 546, 547, 10);
    assert_int_equal(parse(&p, &out), OK);
    assert_int_equal(out.proto, VIGIL_PROTO_UDP);
    assert_int_equal(out.src_port, 546);
    assert_int_equal(out.dst_port, 547);
    assert_int_equal(out.tcp_flags, 0);
    assert_int_equal(out.datagram_bytes, 40 + 8 + 10);

    mk_icmp4(&p, A4, B4, 3, 4, 28);
    assert_int_equal(parse(&p, &out), OK);
    assert_int_equal(out.proto, VIGIL_PROTO_ICMP);
    assert_int_equal(out.src_port, 3);
    assert_int_equal(out.dst_port, 4);
    assert_int_equal(out.datagram_bytes, 20 + 8 + 28);

    mk_icmp6(&p, A6, B6, 135, 0, 16);
    assert_int_equal(parse(&p, &out), OK);
    assert_int_equal(out.proto, VIGIL_PROTO_ICMP);
    assert_int_equal(out.src_port, 135);
    assert_int_equal(out.dst_port, 0);
}

static void test_icmp_replies_are_keyed_by_their_request_type(void **state)
{
    (void)state;
    static const uint8_t v4[][2] = {{0, 8},   {8, 8},   {14, 13}, {13, 13}, {16, 15},
                                    {15, 15}, {18, 17}, {17, 17}, {3, 3},   {11, 11}};
    static const uint8_t v6[][2] = {{129, 128}, {128, 128}, {1, 1}, {136, 136}, {0, 0}};
    pkt_t p;
    packet_t out;
    for (size_t i = 0; i < sizeof v4 / sizeof v4[0]; i++) {
        mk_icmp4(&p, A4, B4, v4[i][0], 7, 0);
        assert_int_equal(parse(&p, &out), OK);
        assert_int_equal(out.src_port, v4[i][1]);
        assert_int_equal(out.dst_port, 7);
    }
    for (size_t i = 0; i < sizeof v6 / sizeof v6[0]; i++) {
        mk_icmp6(&p, A6, B6, v6[i][0], 1, 0);
        assert_int_equal(parse(&p, &out), OK);
        assert_int_equal(out.src_port, v6[i][1]);
        assert_int_equal(out.dst_port, 1);
    }
}

static void test_icmp_of_the_other_family_is_unsupported(void **state)
{
    (void)state;
    pkt_t p;
    packet_t out;
    pkt_ipv4(&p, A4, B4);
    pkt_next(&p, P_ICMPV6);
    pkt_payload(&p, 8);
    pkt_finish(&p);
    assert_int_equal(parse(&p, &out), VIGIL_CNT_PROTO_UNSUPPORTED);
    pkt_ipv6(&p, A6, B6);
    pkt_next(&p, P_ICMP);
    pkt_payload(&p, 8);
    pkt_finish(&p);
    assert_int_equal(parse(&p, &out), VIGIL_CNT_PROTO_UNSUPPORTED);
}

static void test_packets_shorter_than_their_ip_header_are_ip_truncated(void **state)
{
    (void)state;
    pkt_t p;
    packet_t out;
    mk_udp4(&p, A4, B4, 1, 2, 0);
    assert_int_equal(packet_parse(p.data, 0, 0, &out), VIGIL_CNT_IP_TRUNCATED);
    assert_int_equal(parse_n(&p, 19), VIGIL_CNT_IP_TRUNCATED);
    /* Header-only capture that stops inside the IPv4 options. */
    pkt_ipv4(&p, A4, B4);
    pkt_ipv4_options(&p, 8);
    pkt_udp(&p, 1, 2);
    pkt_finish(&p);
    assert_int_equal(packet_parse(p.data, 27, p.len, &out), VIGIL_CNT_IP_TRUNCATED);
    mk_udp6(&p, A6, B6, 1, 2, 0);
    assert_int_equal(parse_n(&p, 39), VIGIL_CNT_IP_TRUNCATED);
    assert_int_equal(packet_parse(p.data, 39, p.len, &out), VIGIL_CNT_IP_TRUNCATED);
}

static void test_versions_other_than_4_and_6_are_ip_bad_version(void **state)
{
    (void)state;
    pkt_t p;
    packet_t out;
    static const uint8_t versions[] = {0, 1, 5, 7, 15};
    for (size_t i = 0; i < sizeof versions; i++) {
        mk_udp4(&p, A4, B4, 1, 2, 0);
        p.data[0] = (uint8_t)((versions[i] << 4) | 5);
        assert_int_equal(parse(&p, &out), VIGIL_CNT_IP_BAD_VERSION);
    }
    /* A single byte is enough to know the version. */
    p.data[0] = 0x55;
    assert_int_equal(packet_parse(p.data, 1, 1, &out), VIGIL_CNT_IP_BAD_VERSION);
}

static void test_ihl_below_5_or_past_the_packet_is_ipv4_bad_ihl(void **state)
{
    (void)state;
    pkt_t p;
    packet_t out;
    for (uint8_t ihl = 0; ihl < 5; ihl++) {
        mk_udp4(&p, A4, B4, 1, 2, 40);
        p.data[0] = (uint8_t)(0x40 | ihl);
        assert_int_equal(parse(&p, &out), VIGIL_CNT_IPV4_BAD_IHL);
    }
    /* IHL 15 (60 bytes) in a 40-byte datagram. */
    mk_udp4(&p, A4, B4, 1, 2, 12);
    assert_int_equal(p.len, 40);
    p.data[0] = 0x4f;
    assert_int_equal(parse(&p, &out), VIGIL_CNT_IPV4_BAD_IHL);
}

static void test_total_length_below_header_or_past_packet_is_bad(void **state)
{
    (void)state;
    pkt_t p;
    packet_t out;
    mk_udp4(&p, A4, B4, 1, 2, 10);
    pkt_set_ip_length(&p, 19); /* shorter than its header */
    assert_int_equal(parse(&p, &out), VIGIL_CNT_IPV4_BAD_TOTAL_LENGTH);
    pkt_set_ip_length(&p, 0);
    assert_int_equal(parse(&p, &out), VIGIL_CNT_IPV4_BAD_TOTAL_LENGTH);
    pkt_set_ip_length(&p, p.len + 1); /* longer than the packet */
    assert_int_equal(parse(&p, &out), VIGIL_CNT_IPV4_BAD_TOTAL_LENGTH);
    /* Header-only: longer than the datagram length the stack gave. */
    pkt_set_ip_length(&p, 1500);
    assert_int_equal(packet_parse(p.data, p.len, 1499, &out), VIGIL_CNT_IPV4_BAD_TOTAL_LENGTH);
    /* With options: total 28 < header 32. */
    pkt_ipv4(&p, A4, B4);
    pkt_ipv4_options(&p, 12);
    pkt_udp(&p, 1, 2);
    pkt_set_ip_length(&p, 28);
    assert_int_equal(parse(&p, &out), VIGIL_CNT_IPV4_BAD_TOTAL_LENGTH);
}

static void test_ipv6_payload_length_past_packet_or_jumbogram_is_bad(void **state)
{
    (void)state;
    pkt_t p;
    packet_t out;
    mk_udp6(&p, A6, B6, 1, 2, 10);
    pkt_set_ip_length(&p, p.len + 1);
    assert_int_equal(parse(&p, &out), VIGIL_CNT_IPV6_BAD_PAYLOAD_LENGTH);
    /* Payload length 0: a jumbogram (hop-by-hop option), never accepted. */
    pkt_ipv6(&p, A6, B6);
    pkt_ipv6_ext(&p, P_HOPOPTS, 8);
    pkt_udp(&p, 1, 2);
    p.data[4] = 0;
    p.data[5] = 0;
    assert_int_equal(parse(&p, &out), VIGIL_CNT_IPV6_BAD_PAYLOAD_LENGTH);
}

static void test_extension_header_past_the_datagram_is_ext_truncated(void **state)
{
    (void)state;
    pkt_t p;
    packet_t out;
    static const uint8_t types[] = {P_HOPOPTS, P_ROUTING, P_DSTOPTS, P_AH};
    for (size_t i = 0; i < sizeof types; i++) {
        /* The header says 16 bytes; the datagram has 8 of them. */
        pkt_ipv6(&p, A6, B6);
        pkt_ipv6_ext(&p, types[i], 16);
        pkt_finish(&p);
        pkt_set_ip_length(&p, p.len - 8);
        assert_int_equal(packet_parse(p.data, p.len - 8, p.len - 8, &out),
                         VIGIL_CNT_IPV6_EXT_TRUNCATED);
        /* Only one byte of the extension header in the datagram. */
        pkt_set_ip_length(&p, 41);
        assert_int_equal(packet_parse(p.data, 41, 41, &out), VIGIL_CNT_IPV6_EXT_TRUNCATED);
        /* Whole datagram, but the capture stops after one byte of it. */
        pkt_finish(&p);
        assert_int_equal(packet_parse(p.data, 41, p.len, &out), VIGIL_CNT_IPV6_EXT_TRUNCATED);
    }
    pkt_ipv6(&p, A6, B6);
    pkt_ipv6_fragment(&p, 7, 0, true);
    pkt_udp(&p, 1, 2);
    pkt_finish(&p);
    assert_int_equal(packet_parse(p.data, 47, p.len, &out), VIGIL_CNT_IPV6_EXT_TRUNCATED);
    pkt_set_ip_length(&p, 44);
    assert_int_equal(packet_parse(p.data, 44, 44, &out), VIGIL_CNT_IPV6_EXT_TRUNCATED);
}

static void test_more_extension_headers_than_the_maximum_is_chain_too_long(void **state)
{
    (void)state;
    pkt_t p;
    packet_t out;
    /* Exactly VIGIL_MAX_EXT_HEADERS headers are walked. */
    pkt_ipv6(&p, A6, B6);
    for (unsigned i = 0; i < VIGIL_MAX_EXT_HEADERS; i++)
        pkt_ipv6_ext(&p, P_DSTOPTS, 8);
    pkt_udp(&p, 7, 9);
    pkt_finish(&p);
    assert_int_equal(parse(&p, &out), OK);
    assert_int_equal(out.dst_port, 9);
    /* One more is too many, whatever its type. */
    static const uint8_t last[] = {P_HOPOPTS, P_ROUTING, P_DSTOPTS, P_AH, P_FRAGMENT};
    for (size_t k = 0; k < sizeof last; k++) {
        pkt_ipv6(&p, A6, B6);
        for (unsigned i = 0; i < VIGIL_MAX_EXT_HEADERS; i++)
            pkt_ipv6_ext(&p, P_ROUTING, 8);
        if (last[k] == P_FRAGMENT)
            pkt_ipv6_fragment(&p, 1, 0, false);
        else
            pkt_ipv6_ext(&p, last[k], 8);
        pkt_udp(&p, 7, 9);
        pkt_finish(&p);
        assert_int_equal(parse(&p, &out), VIGIL_CNT_IPV6_EXT_CHAIN_TOO_LONG);
    }
}

static void test_short_tcp_udp_icmp_headers_are_transport_truncated(void **state)
{
    (void)state;
    pkt_t p;
    packet_t out;
    /* TCP 19 bytes, UDP 7, ICMP 3, on both families. */
    static const struct {
        uint8_t proto;
        size_t min;
    } t[] = {{P_TCP, 20}, {P_UDP, 8}, {P_ICMP, 4}};
    for (size_t i = 0; i < 3; i++) {
        for (int fam = 4; fam <= 6; fam += 2) {
            if (fam == 4)
                pkt_ipv4(&p, A4, B4);
            else
                pkt_ipv6(&p, A6, B6);
            pkt_next(&p, t[i].proto == P_ICMP && fam == 6 ? (uint8_t)P_ICMPV6 : t[i].proto);
            if (t[i].proto == P_TCP) {
                pkt_payload(&p, t[i].min - 1);
                p.data[p.ip_header + 12] = 0x50;
            } else {
                pkt_payload(&p, t[i].min - 1);
            }
            pkt_finish(&p);
            assert_int_equal(parse(&p, &out), VIGIL_CNT_TRANSPORT_TRUNCATED);
            /* Header-only: the datagram is long enough, the capture is not. */
            pkt_payload(&p, 100);
            pkt_finish(&p);
            assert_int_equal(packet_parse(p.data, p.ip_header + t[i].min - 1, p.len, &out),
                             VIGIL_CNT_TRANSPORT_TRUNCATED);
            assert_int_equal(packet_parse(p.data, p.ip_header + t[i].min, p.len, &out), OK);
        }
    }
}

static void test_tcp_data_offset_below_5_or_past_segment_is_bad_offset(void **state)
{
    (void)state;
    pkt_t p;
    packet_t out;
    for (uint8_t off = 0; off < 5; off++) {
        mk_tcp4(&p, A4, B4, 1, 2, T_ACK, 20);
        p.data[20 + 12] = (uint8_t)(off << 4);
        assert_int_equal(parse(&p, &out), VIGIL_CNT_TCP_BAD_OFFSET);
    }
    /* Data offset 60 in a 24-byte segment. */
    mk_tcp6(&p, A6, B6, 1, 2, T_ACK, 4);
    p.data[40 + 12] = 0xf0;
    assert_int_equal(parse(&p, &out), VIGIL_CNT_TCP_BAD_OFFSET);
    /* Exactly the segment's length is fine. */
    p.data[40 + 12] = 0x60;
    assert_int_equal(parse(&p, &out), OK);
}

static void test_first_fragment_may_end_inside_tcp_options(void **state)
{
    (void)state;
    pkt_t p;
    packet_t out;
    pkt_ipv4(&p, A4, B4);
    pkt_ipv4_fragment(&p, 99, 0, true);
    pkt_tcp(&p, 5, 6, T_SYN, 0);
    p.data[20 + 12] = 0xf0; /* 60-byte header, 20 bytes in this fragment */
    pkt_finish(&p);
    assert_int_equal(parse(&p, &out), OK);
    assert_int_equal(out.fragment, PACKET_FIRST_FRAGMENT);
    assert_int_equal(out.src_port, 5);
    assert_int_equal(out.dst_port, 6);
}

static void test_esp_gre_no_next_header_and_unknown_are_unsupported(void **state)
{
    (void)state;
    pkt_t p;
    packet_t out;
    static const uint8_t v4[] = {P_ESP, P_GRE, P_AH, 132, 255};
    for (size_t i = 0; i < sizeof v4; i++) {
        pkt_ipv4(&p, A4, B4);
        pkt_next(&p, v4[i]);
        pkt_payload(&p, 40);
        pkt_finish(&p);
        assert_int_equal(parse(&p, &out), VIGIL_CNT_PROTO_UNSUPPORTED);
    }
    static const uint8_t v6[] = {P_ESP, P_NONE, P_GRE, 132, 255};
    for (size_t i = 0; i < sizeof v6; i++) {
        pkt_ipv6(&p, A6, B6);
        pkt_next(&p, v6[i]);
        pkt_payload(&p, 40);
        pkt_finish(&p);
        assert_int_equal(parse(&p, &out), VIGIL_CNT_PROTO_UNSUPPORTED);
        /* The same after an extension header. */
        pkt_ipv6(&p, A6, B6);
        pkt_ipv6_ext(&p, P_HOPOPTS, 8);
        pkt_next(&p, v6[i]);
        pkt_payload(&p, 40);
        pkt_finish(&p);
        assert_int_equal(parse(&p, &out), VIGIL_CNT_PROTO_UNSUPPORTED);
    }
}

static void test_ipv6_extension_chain_reaches_the_transport(void **state)
{
    (void)state;
    pkt_t p;
    packet_t out;
    pkt_ipv6(&p, A6, B6);
    pkt_ipv6_ext(&p, P_HOPOPTS, 8);
    pkt_ipv6_ext(&p, P_ROUTING, 24);
    pkt_ipv6_ext(&p, P_DSTOPTS, 16);
    pkt_ipv6_ext(&p, P_AH, 12); /* AH counts 4-byte units: 12, not 16 */
    pkt_tcp(&p, 2222, 22, T_SYN, 4);
    pkt_payload(&p, 5);
    pkt_finish(&p);
    assert_int_equal(parse(&p, &out), OK);
    assert_int_equal(out.proto, VIGIL_PROTO_TCP);
    assert_int_equal(out.src_port, 2222);
    assert_int_equal(out.dst_port, 22);
    assert_int_equal(out.tcp_flags, T_SYN);
    assert_int_equal(out.datagram_bytes, 40 + 8 + 24 + 16 + 12 + 24 + 5);
    assert_int_equal(out.fragment, PACKET_NOT_FRAGMENT);
}

static void test_ipv4_first_and_later_fragments(void **state)
{
    (void)state;
    pkt_t p;
    packet_t out;
    pkt_ipv4(&p, A4, B4);
    pkt_ipv4_fragment(&p, 0xbeef, 0, true);
    pkt_udp(&p, 5000, 53);
    pkt_payload(&p, 64);
    pkt_finish(&p);
    assert_int_equal(parse(&p, &out), OK);
    assert_int_equal(out.fragment, PACKET_FIRST_FRAGMENT);
    assert_int_equal(out.fragment_id, 0xbeef);
    assert_int_equal(out.src_port, 5000);
    assert_int_equal(out.dst_port, 53);

    /* Middle and last fragments: no transport header read, ports zero. */
    for (int more = 0; more <= 1; more++) {
        pkt_ipv4(&p, A4, B4);
        pkt_ipv4_fragment(&p, 0xbeef, 9, more);
        pkt_next(&p, P_UDP);
        pkt_payload(&p, 3); /* too short for a UDP header: must not matter */
        pkt_finish(&p);
        assert_int_equal(parse(&p, &out), OK);
        assert_int_equal(out.fragment, PACKET_LATER_FRAGMENT);
        assert_int_equal(out.fragment_id, 0xbeef);
        assert_int_equal(out.proto, VIGIL_PROTO_UDP);
        assert_int_equal(out.src_port, 0);
        assert_int_equal(out.dst_port, 0);
        assert_int_equal(out.datagram_bytes, 23);
    }
    /* DF-only packets are not fragments. */
    mk_udp4(&p, A4, B4, 1, 2, 0);
    p.data[6] = 0x40;
    assert_int_equal(parse(&p, &out), OK);
    assert_int_equal(out.fragment, PACKET_NOT_FRAGMENT);
}

static void test_ipv6_fragments_first_later_and_atomic(void **state)
{
    (void)state;
    pkt_t p;
    packet_t out;
    pkt_ipv6(&p, A6, B6);
    pkt_ipv6_ext(&p, P_HOPOPTS, 8);
    pkt_ipv6_fragment(&p, 0xdeadbeef, 0, true);
    pkt_tcp(&p, 80, 1234, T_ACK, 0);
    pkt_finish(&p);
    assert_int_equal(parse(&p, &out), OK);
    assert_int_equal(out.fragment, PACKET_FIRST_FRAGMENT);
    assert_int_equal(out.fragment_id, 0xdeadbeef);
    assert_int_equal(out.src_port, 80);
    assert_int_equal(out.dst_port, 1234);

    pkt_ipv6(&p, A6, B6);
    pkt_ipv6_fragment(&p, 0xdeadbeef, 100, false);
    pkt_next(&p, P_TCP);
    pkt_payload(&p, 2);
    pkt_finish(&p);
    assert_int_equal(parse(&p, &out), OK);
    assert_int_equal(out.fragment, PACKET_LATER_FRAGMENT);
    assert_int_equal(out.fragment_id, 0xdeadbeef);
    assert_int_equal(out.proto, VIGIL_PROTO_TCP);
    assert_int_equal(out.datagram_bytes, 40 + 8 + 2);

    /* Offset 0 without M: an atomic fragment, a whole datagram. */
    pkt_ipv6(&p, A6, B6);
    pkt_ipv6_fragment(&p, 5, 0, false);
    pkt_udp(&p, 1000, 2000);
    pkt_finish(&p);
    assert_int_equal(parse(&p, &out), OK);
    assert_int_equal(out.fragment, PACKET_NOT_FRAGMENT);
    assert_int_equal(out.src_port, 1000);
    assert_int_equal(out.dst_port, 2000);

    /* A later fragment of an unknown protocol parses, with no protocol. */
    pkt_ipv6(&p, A6, B6);
    pkt_ipv6_fragment(&p, 6, 1, false);
    pkt_next(&p, P_ESP);
    pkt_payload(&p, 8);
    pkt_finish(&p);
    assert_int_equal(parse(&p, &out), OK);
    assert_int_equal(out.fragment, PACKET_LATER_FRAGMENT);
    assert_true(out.proto > VIGIL_PROTO_ICMP);
}

static void test_headers_only_counts_the_whole_datagram(void **state)
{
    (void)state;
    pkt_t p;
    packet_t out;
    mk_tcp4(&p, A4, B4, 1, 2, T_ACK, 0);
    pkt_set_ip_length(&p, 1500);
    assert_int_equal(packet_parse(p.data, 40, 1500, &out), OK);
    assert_int_equal(out.datagram_bytes, 1500);
    assert_int_equal(out.dst_port, 2);
    /* The datagram's own length counts, not the link's. */
    pkt_set_ip_length(&p, 1400);
    assert_int_equal(packet_parse(p.data, 40, 1500, &out), OK);
    assert_int_equal(out.datagram_bytes, 1400);

    mk_udp6(&p, A6, B6, 3, 4, 0);
    pkt_set_ip_length(&p, 9000);
    assert_int_equal(packet_parse(p.data, 48, 9000, &out), OK);
    assert_int_equal(out.datagram_bytes, 9000);
    /* captured > length is clamped to length. */
    mk_udp6(&p, A6, B6, 3, 4, 0);
    assert_int_equal(packet_parse(p.data, PKT_MAX, p.len, &out), OK);
    assert_int_equal(out.datagram_bytes, 48);
}

static void test_capture_ending_inside_the_last_extension_header_is_transport_truncated(void **state)
{
    (void)state;
    pkt_t p;
    packet_t out;
    pkt_ipv6(&p, A6, B6);
    pkt_ipv6_ext(&p, P_DSTOPTS, 24);
    pkt_udp(&p, 1, 2);
    pkt_finish(&p);
    /* Bytes after the capture hold a plausible UDP header: must be ignored. */
    for (size_t captured = 42; captured < 40 + 24 + 8; captured++) {
        assert_int_equal(packet_parse(p.data, captured, p.len, &out),
                         VIGIL_CNT_TRANSPORT_TRUNCATED);
    }
    assert_int_equal(packet_parse(p.data, 40 + 24 + 8, p.len, &out), OK);
    assert_int_equal(out.dst_port, 2);
}

/* Valid packets and how many bytes of each hold all the headers parsed. */
static size_t valid_packets(pkt_t *list, size_t *headers)
{
    size_t n = 0;
    mk_tcp4(&list[n], A4, B4, 1, 2, T_SYN, 10);
    headers[n++] = 40;
    pkt_ipv4(&list[n], A4, B4);
    pkt_ipv4_options(&list[n], 40);
    pkt_tcp(&list[n], 1, 2, T_SYN, 40);
    pkt_finish(&list[n]);
    headers[n++] = 60 + 20; /* the TCP options need not be captured */
    mk_udp4(&list[n], A4, B4, 1, 2, 5);
    headers[n++] = 28;
    mk_icmp4(&list[n], A4, B4, 0, 0, 5);
    headers[n++] = 24;
    pkt_ipv4(&list[n], A4, B4);
    pkt_ipv4_fragment(&list[n], 1, 3, false);
    pkt_next(&list[n], P_TCP);
    pkt_payload(&list[n], 7);
    pkt_finish(&list[n]);
    headers[n++] = 20;
    mk_tcp6(&list[n], A6, B6, 1, 2, T_ACK, 3);
    headers[n++] = 60;
    mk_udp6(&list[n], A6, B6, 1, 2, 0);
    headers[n++] = 48;
    mk_icmp6(&list[n], A6, B6, 129, 0, 4);
    headers[n++] = 44;
    pkt_ipv6(&list[n], A6, B6);
    pkt_ipv6_ext(&list[n], P_HOPOPTS, 8);
    pkt_ipv6_ext(&list[n], P_ROUTING, 24);
    pkt_ipv6_ext(&list[n], P_DSTOPTS, 8);
    pkt_ipv6_ext(&list[n], P_AH, 24);
    pkt_ipv6_fragment(&list[n], 9, 0, true);
    pkt_udp(&list[n], 1, 2);
    pkt_payload(&list[n], 9);
    pkt_finish(&list[n]);
    headers[n++] = 40 + 8 + 24 + 8 + 24 + 8 + 8;
    /* A capture that ends just after an extension header's first two bytes
     * must not let the transport header be read from beyond it. */
    pkt_ipv6(&list[n], A6, B6);
    pkt_ipv6_ext(&list[n], P_HOPOPTS, 8);
    pkt_udp(&list[n], 1, 2);
    pkt_payload(&list[n], 4);
    pkt_finish(&list[n]);
    headers[n++] = 40 + 8 + 8;
    pkt_ipv6(&list[n], A6, B6);
    pkt_ipv6_ext(&list[n], P_DSTOPTS, 16);
    pkt_ipv6_ext(&list[n], P_AH, 12);
    pkt_tcp(&list[n], 1, 2, T_ACK, 0);
    pkt_finish(&list[n]);
    headers[n++] = 40 + 16 + 12 + 20;
    pkt_ipv6(&list[n], A6, B6);
    pkt_ipv6_ext(&list[n], P_ROUTING, 40);
    pkt_icmp(&list[n], 128, 0);
    pkt_finish(&list[n]);
    headers[n++] = 40 + 40 + 4;
    pkt_ipv6(&list[n], A6, B6);
    pkt_ipv6_fragment(&list[n], 9, 2, false);
    pkt_next(&list[n], P_UDP);
    pkt_payload(&list[n], 9);
    pkt_finish(&list[n]);
    headers[n++] = 48;
    return n;
}

static void test_every_prefix_is_read_within_its_buffer(void **state)
{
    (void)state;
    pkt_t list[16];
    size_t headers[16];
    size_t n = valid_packets(list, headers);
    for (size_t i = 0; i < n; i++) {
        const pkt_t *p = &list[i];
        for (size_t len = 0; len <= p->len; len++) {
            /* Exactly `len` bytes: ASan and valgrind see any read past them. */
            uint8_t *buf = malloc(len ? len : 1);
            assert_non_null(buf);
            memcpy(buf, p->data, len);
            packet_t out;
            vigil_counter_t v = packet_parse(buf, len, len, &out);
            assert_true(v <= VIGIL_CNT__COUNT);
            if (len == p->len)
                assert_int_equal(v, OK);
            else
                assert_true(v != OK); /* a prefix disagrees with its length field */
            /* As a header-only capture of the whole datagram. */
            v = packet_parse(buf, len, p->len, &out);
            if (len >= headers[i])
                assert_int_equal(v, OK);
            else
                assert_true(v != OK);
            if (v == OK)
                assert_int_equal(out.datagram_bytes, p->len);
            free(buf);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_tcp_yields_addresses_ports_flags_and_length),
        cmocka_unit_test(test_ipv4_options_are_skipped_to_reach_the_ports),
        cmocka_unit_test(test_tcp_options_do_not_hide_the_ports),
        cmocka_unit_test(test_udp_and_icmp_ports_on_both_families),
        cmocka_unit_test(test_icmp_replies_are_keyed_by_their_request_type),
        cmocka_unit_test(test_icmp_of_the_other_family_is_unsupported),
        cmocka_unit_test(test_packets_shorter_than_their_ip_header_are_ip_truncated),
        cmocka_unit_test(test_versions_other_than_4_and_6_are_ip_bad_version),
        cmocka_unit_test(test_ihl_below_5_or_past_the_packet_is_ipv4_bad_ihl),
        cmocka_unit_test(test_total_length_below_header_or_past_packet_is_bad),
        cmocka_unit_test(test_ipv6_payload_length_past_packet_or_jumbogram_is_bad),
        cmocka_unit_test(test_extension_header_past_the_datagram_is_ext_truncated),
        cmocka_unit_test(test_more_extension_headers_than_the_maximum_is_chain_too_long),
        cmocka_unit_test(test_short_tcp_udp_icmp_headers_are_transport_truncated),
        cmocka_unit_test(test_tcp_data_offset_below_5_or_past_segment_is_bad_offset),
        cmocka_unit_test(test_first_fragment_may_end_inside_tcp_options),
        cmocka_unit_test(test_esp_gre_no_next_header_and_unknown_are_unsupported),
        cmocka_unit_test(test_ipv6_extension_chain_reaches_the_transport),
        cmocka_unit_test(test_ipv4_first_and_later_fragments),
        cmocka_unit_test(test_ipv6_fragments_first_later_and_atomic),
        cmocka_unit_test(test_headers_only_counts_the_whole_datagram),
        cmocka_unit_test(test_capture_ending_inside_the_last_extension_header_is_transport_truncated),
        cmocka_unit_test(test_every_prefix_is_read_within_its_buffer),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
