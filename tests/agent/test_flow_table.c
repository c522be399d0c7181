/*
 * test_flow_table.c - how packets become flows: whole-datagram bytes,
 * packets per direction, who initiated, TCP flag bits, ICMP exchanges,
 * first/last seen, the period clock, counter wrap into shadow records, and
 * fragments. Checked both in the live table (flow_table_get) and in the
 * report decoded with libcbor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "harness.h"

static uint8_t L4[4], R4[4], R4b[4], L6[16], R6[16];

static int setup(void **state)
{
    (void)state;
    addr4(L4, 10, 0, 0, 2);
    addr4(R4, 93, 184, 216, 34);
    addr4(R4b, 93, 184, 216, 35);
    addr6(L6, 0, 2);
    addr6(R6, 0xbeef, 34);
    return 0;
}

#define KIND_REMOTE 0x04u
#define KIND_SYN 0x08u
#define KIND_SYNACK 0x10u
#define KIND_FIN 0x20u
#define KIND_RST 0x40u

static const dr_flow_t *only_flow(dr_report_t *r, uint8_t family, uint8_t proto,
                                  const uint8_t *remote, uint64_t lport, uint64_t rport)
{
    size_t count;
    const dr_flow_t *f = h_find(&r, 1, family, proto, remote, lport, rport, &count);
    assert_int_equal(count, 1);
    return f;
}

static void test_tcp_flow_counts_whole_datagrams_and_packets_per_direction(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    pkt_t p;
    mk_tcp4(&p, L4, R4, 40000, 443, T_SYN, 0);
    h_out(ctx, &p, H_T0 + 1);                       /* 40 */
    mk_tcp4(&p, R4, L4, 443, 40000, T_SYN | T_ACK, 0);
    h_in(ctx, &p, H_T0 + 1);                        /* 40 */
    mk_tcp4(&p, L4, R4, 40000, 443, T_ACK, 100);
    h_out(ctx, &p, H_T0 + 2);                       /* 140 */
    mk_tcp4(&p, R4, L4, 443, 40000, T_ACK, 1000);
    h_in(ctx, &p, H_T0 + 3);                        /* 1040 */
    mk_tcp4(&p, L4, R4, 40000, 443, T_ACK, 0);
    h_out(ctx, &p, H_T0 + 3);                       /* 40 */

    flow_view_t v;
    assert_true(h_flow(ctx, 4, VIGIL_PROTO_TCP, R4, 40000, 443, &v));
    assert_int_equal(v.packets[VIGIL_DIR_OUT], 3);
    assert_int_equal(v.packets[VIGIL_DIR_IN], 2);
    assert_int_equal(v.bytes[VIGIL_DIR_OUT], 40 + 140 + 40);
    assert_int_equal(v.bytes[VIGIL_DIR_IN], 40 + 1040);
    assert_int_equal(h_flow_count(ctx, 4), 1);

    dr_report_t *r = h_flush_one(ctx, H_T0 + 60);
    assert_int_equal(r->n_flows, 1);
    const dr_flow_t *f = only_flow(r, 4, VIGIL_PROTO_TCP, R4, 40000, 443);
    assert_int_equal(f->kind, VIGIL_PROTO_TCP | KIND_SYN | KIND_SYNACK);
    assert_int_equal(f->remote_ref, -1);
    assert_int_equal(f->bytes_out, 220);
    assert_int_equal(f->bytes_in, 1080);
    assert_int_equal(f->packets_out, 3);
    assert_int_equal(f->packets_in, 2);
    assert_int_equal(f->first_seen, 1);
    assert_int_equal(f->last_seen_delta, 2);
    assert_int_equal(r->n_local, 1);
    assert_memory_equal(r->local[0], L4, 4);
    free(r);
    free(ctx);
}

static void test_tcp_initiator_is_the_side_that_sent_a_bare_syn_even_if_seen_later(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    pkt_t p;
    /* Flow A: the device's ACK is seen first, then the remote's SYN. */
    mk_tcp4(&p, L4, R4, 22, 50000, T_ACK, 0);
    h_out(ctx, &p, H_T0);
    mk_tcp4(&p, R4, L4, 50000, 22, T_SYN, 0);
    h_in(ctx, &p, H_T0);
    /* Flow B: the remote's packet first, then the device's bare SYN. */
    mk_tcp4(&p, R4, L4, 80, 41000, T_ACK, 0);
    h_in(ctx, &p, H_T0);
    mk_tcp4(&p, L4, R4, 41000, 80, T_SYN, 0);
    h_out(ctx, &p, H_T0);
    /* Flow C: a SYN+ACK does not make its sender the initiator. */
    mk_tcp4(&p, L4, R4, 8080, 41001, T_SYN | T_ACK, 0);
    h_out(ctx, &p, H_T0);
    mk_tcp4(&p, R4, L4, 41001, 8080, T_ACK, 0);
    h_in(ctx, &p, H_T0);

    dr_report_t *r = h_flush_one(ctx, H_T0 + 1);
    assert_int_equal(only_flow(r, 4, VIGIL_PROTO_TCP, R4, 22, 50000)->kind,
                     VIGIL_PROTO_TCP | KIND_REMOTE | KIND_SYN);
    assert_int_equal(only_flow(r, 4, VIGIL_PROTO_TCP, R4, 41000, 80)->kind,
                     VIGIL_PROTO_TCP | KIND_SYN);
    assert_int_equal(only_flow(r, 4, VIGIL_PROTO_TCP, R4, 8080, 41001)->kind,
                     VIGIL_PROTO_TCP | KIND_SYNACK);
    free(r);
    free(ctx);
}

static void test_udp_initiator_is_the_first_packets_direction(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    pkt_t p;
    mk_udp6(&p, L6, R6, 5353, 53, 10);
    h_out(ctx, &p, H_T0);
    mk_udp6(&p, R6, L6, 53, 5353, 30);
    h_in(ctx, &p, H_T0);
    mk_udp6(&p, R6, L6, 123, 123, 0);
    h_in(ctx, &p, H_T0);
    mk_udp6(&p, L6, R6, 123, 123, 0);
    h_out(ctx, &p, H_T0);

    dr_report_t *r = h_flush_one(ctx, H_T0 + 1);
    const dr_flow_t *dns = only_flow(r, 6, VIGIL_PROTO_UDP, R6, 5353, 53);
    assert_int_equal(dns->kind, VIGIL_PROTO_UDP);
    assert_int_equal(dns->bytes_out, 40 + 8 + 10);
    assert_int_equal(dns->bytes_in, 40 + 8 + 30);
    const dr_flow_t *ntp = only_flow(r, 6, VIGIL_PROTO_UDP, R6, 123, 123);
    assert_int_equal(ntp->kind, VIGIL_PROTO_UDP | KIND_REMOTE);
    assert_int_equal(ntp->packets_in, 1);
    assert_int_equal(ntp->packets_out, 1);
    assert_int_equal(r->n_local, 1);
    assert_memory_equal(r->local[0], L6, 16);
    free(r);
    free(ctx);
}

static void test_tcp_fin_and_rst_set_their_kind_bits(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    pkt_t p;
    mk_tcp4(&p, L4, R4, 1001, 80, T_FIN | T_ACK, 0);
    h_out(ctx, &p, H_T0);
    mk_tcp4(&p, R4, L4, 80, 1002, T_RST, 0);
    h_in(ctx, &p, H_T0);
    mk_tcp4(&p, L4, R4, 1003, 80, T_PSH | T_ACK, 0);
    h_out(ctx, &p, H_T0);
    dr_report_t *r = h_flush_one(ctx, H_T0 + 1);
    assert_int_equal(only_flow(r, 4, VIGIL_PROTO_TCP, R4, 1001, 80)->kind,
                     VIGIL_PROTO_TCP | KIND_FIN);
    assert_int_equal(only_flow(r, 4, VIGIL_PROTO_TCP, R4, 1002, 80)->kind,
                     VIGIL_PROTO_TCP | KIND_REMOTE | KIND_RST);
    assert_int_equal(only_flow(r, 4, VIGIL_PROTO_TCP, R4, 1003, 80)->kind, VIGIL_PROTO_TCP);
    free(r);
    free(ctx);
}

static void test_icmp_echo_request_and_reply_are_one_flow(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    pkt_t p;
    mk_icmp4(&p, L4, R4, 8, 0, 56);
    h_out(ctx, &p, H_T0);
    mk_icmp4(&p, R4, L4, 0, 0, 56);
    h_in(ctx, &p, H_T0 + 1);
    /* Pinged by the remote over IPv6: request in, reply out. */
    mk_icmp6(&p, R6, L6, 128, 0, 16);
    h_in(ctx, &p, H_T0 + 2);
    mk_icmp6(&p, L6, R6, 129, 0, 16);
    h_out(ctx, &p, H_T0 + 2);
    mk_icmp6(&p, R6, L6, 128, 0, 16);
    h_in(ctx, &p, H_T0 + 3);

    dr_report_t *r = h_flush_one(ctx, H_T0 + 5);
    assert_int_equal(r->n_flows, 2);
    const dr_flow_t *f = only_flow(r, 4, VIGIL_PROTO_ICMP, R4, 8, 0);
    assert_int_equal(f->kind, VIGIL_PROTO_ICMP);
    assert_int_equal(f->packets_out, 1);
    assert_int_equal(f->packets_in, 1);
    assert_int_equal(f->bytes_out, 84);
    assert_int_equal(f->bytes_in, 84);
    assert_int_equal(f->first_seen, 0);
    assert_int_equal(f->last_seen_delta, 1);
    f = only_flow(r, 6, VIGIL_PROTO_ICMP, R6, 128, 0);
    assert_int_equal(f->kind, VIGIL_PROTO_ICMP | KIND_REMOTE);
    assert_int_equal(f->packets_in, 2);
    assert_int_equal(f->packets_out, 1);
    assert_int_equal(f->bytes_in, 2 * (40 + 8 + 16));
    assert_int_equal(f->first_seen, 2);
    assert_int_equal(f->last_seen_delta, 1);
    free(r);
    free(ctx);
}

static void test_each_key_field_makes_a_distinct_flow(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    pkt_t p;
    uint8_t l4b[4];
    addr4(l4b, 10, 0, 0, 3);
    mk_udp4(&p, L4, R4, 1000, 2000, 0);
    h_out(ctx, &p, H_T0);
    mk_udp4(&p, L4, R4, 1001, 2000, 0); /* local port */
    h_out(ctx, &p, H_T0);
    mk_udp4(&p, L4, R4, 1000, 2001, 0); /* remote port */
    h_out(ctx, &p, H_T0);
    mk_udp4(&p, L4, R4b, 1000, 2000, 0); /* remote address */
    h_out(ctx, &p, H_T0);
    mk_tcp4(&p, L4, R4, 1000, 2000, T_ACK, 0); /* protocol */
    h_out(ctx, &p, H_T0);
    mk_udp4(&p, l4b, R4, 1000, 2000, 0); /* local address */
    h_out(ctx, &p, H_T0);
    mk_udp4(&p, R4, l4b, 2000, 1000, 0); /* ... and its reply */
    h_in(ctx, &p, H_T0);
    assert_int_equal(h_flow_count(ctx, 4), 6);
    assert_int_equal(h_flow_count(ctx, 6), 0);

    dr_report_t *r = h_flush_one(ctx, H_T0 + 1);
    assert_int_equal(r->n_flows, 6);
    assert_int_equal(r->n_local, 2);
    assert_memory_equal(r->local[0], L4, 4);
    assert_memory_equal(r->local[1], l4b, 4);
    size_t count;
    h_find(&r, 1, 4, VIGIL_PROTO_UDP, R4, 1000, 2000, &count);
    assert_int_equal(count, 2);
    unsigned by_index[2] = {0, 0};
    for (size_t i = 0; i < r->n_flows; i++) {
        const dr_flow_t *f = &r->flows[i];
        unsigned idx = (unsigned)(f->kind >> 7);
        by_index[idx]++;
        if (idx == 1) {
            assert_memory_equal(dr_flow_local(r, f), l4b, 4);
            assert_int_equal(f->packets_in, 1);
            assert_int_equal(f->packets_out, 1);
        } else {
            assert_int_equal(f->packets_out, 1);
            assert_int_equal(f->packets_in, 0);
        }
    }
    assert_int_equal(by_index[0], 5);
    assert_int_equal(by_index[1], 1);
    free(r);
    free(ctx);
}

static void test_first_and_last_seen_are_seconds_after_period_start(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    pkt_t p;
    mk_udp4(&p, L4, R4, 1, 2, 0);
    h_out(ctx, &p, H_T0 + 7);
    h_out(ctx, &p, H_T0 + 20);
    h_out(ctx, &p, H_T0 + 59);
    dr_report_t *r = h_flush_one(ctx, H_T0 + 60);
    const dr_flow_t *f = only_flow(r, 4, VIGIL_PROTO_UDP, R4, 1, 2);
    assert_int_equal(f->first_seen, 7);
    assert_int_equal(f->last_seen_delta, 52);
    free(r);
    /* The next period counts from its own start. */
    h_out(ctx, &p, H_T0 + 65);
    r = h_flush_one(ctx, H_T0 + 120);
    assert_int_equal(r->period_start, H_T0 + 60);
    f = only_flow(r, 4, VIGIL_PROTO_UDP, R4, 1, 2);
    assert_int_equal(f->first_seen, 5);
    assert_int_equal(f->last_seen_delta, 0);
    free(r);
    free(ctx);
}

static void test_clock_stepping_back_within_a_period_keeps_seen_times_ordered(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    pkt_t p;
    mk_udp4(&p, L4, R4, 1, 2, 0);
    h_out(ctx, &p, H_T0 + 5);
    h_out(ctx, &p, H_T0 + 3); /* the clock stepped back, still inside the period */
    dr_report_t *r = h_flush_one(ctx, H_T0 + 10);
    const dr_flow_t *f = only_flow(r, 4, VIGIL_PROTO_UDP, R4, 1, 2);
    /* last_seen - first_seen can never be negative (it is a uint on the wire). */
    assert_true(f->first_seen <= 5);
    assert_true(f->last_seen_delta <= 10);
    assert_int_equal(f->first_seen, 3);
    assert_int_equal(f->last_seen_delta, 2);
    free(r);
    free(ctx);
}

static void test_time_past_4095_seconds_saturates(void **state)
{
    (void)state;
    vigil_config_t c;
    vigil_config_default(&c);
    c.report_interval_s = 3600;
    vigil_ctx_t *ctx = h_new();
    h_init(ctx, H_T0, &c, NULL);
    pkt_t p;
    mk_udp4(&p, L4, R4, 1, 2, 0);
    h_out(ctx, &p, H_T0 + 4095);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_TIME_SATURATED), 0);
    h_out(ctx, &p, H_T0 + 4096);
    h_out(ctx, &p, H_T0 + 100000);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_TIME_SATURATED), 2);
    mk_udp4(&p, L4, R4, 3, 4, 0);
    h_out(ctx, &p, H_T0 + 5000);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_TIME_SATURATED), 3);
    dr_report_t *r = h_flush_one(ctx, H_T0 + 5001);
    const dr_flow_t *f = only_flow(r, 4, VIGIL_PROTO_UDP, R4, 1, 2);
    assert_int_equal(f->first_seen, 4095);
    assert_int_equal(f->last_seen_delta, 0);
    assert_int_equal(f->packets_out, 3);
    f = only_flow(r, 4, VIGIL_PROTO_UDP, R4, 3, 4);
    assert_int_equal(f->first_seen, 4095);
    assert_int_equal(dr_counter(r, VIGIL_CNT_TIME_SATURATED), 3);
    free(r);
    free(ctx);
}

static void test_packet_before_period_start_counts_clock_backwards(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    pkt_t p;
    mk_udp4(&p, L4, R4, 1, 2, 0);
    h_out(ctx, &p, H_T0 - 10);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_CLOCK_BACKWARDS), 1);
    h_out(ctx, &p, H_T0 + 4);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_CLOCK_BACKWARDS), 1);
    dr_report_t *r = h_flush_one(ctx, H_T0 + 5);
    const dr_flow_t *f = only_flow(r, 4, VIGIL_PROTO_UDP, R4, 1, 2);
    assert_int_equal(f->first_seen, 0);
    assert_int_equal(f->last_seen_delta, 4);
    assert_int_equal(f->packets_out, 2);
    assert_int_equal(dr_counter(r, VIGIL_CNT_CLOCK_BACKWARDS), 1);
    free(r);
    free(ctx);
}

static void test_more_than_65535_packets_split_the_flow_and_report_exact_totals(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    pkt_t p;
    const uint32_t n_out = 65535u + 65535u + 7u; /* three records */
    mk_udp4(&p, L4, R4, 4000, 4001, 0);          /* 28 bytes */
    for (uint32_t i = 0; i < n_out; i++)
        h_out(ctx, &p, H_T0 + 1 + i / 50000u);
    mk_udp4(&p, R4, L4, 4001, 4000, 2); /* 30 bytes */
    for (uint32_t i = 0; i < 65535u; i++)
        h_in(ctx, &p, H_T0 + 4);
    /* Out: 65535 + 65535 + 7 takes two extra records; in: exactly 65535, none. */
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_FLOW_SPLIT), 2);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_FLOW_TABLE_FULL), 0);
    flow_view_t v;
    assert_true(h_flow(ctx, 4, VIGIL_PROTO_UDP, R4, 4000, 4001, &v));
    assert_int_equal(v.packets[VIGIL_DIR_OUT], n_out);
    assert_int_equal(v.packets[VIGIL_DIR_IN], 65535);
    assert_int_equal(h_flow_count(ctx, 4), 1);

    dr_report_t *r = h_flush_one(ctx, H_T0 + 10);
    assert_int_equal(r->n_flows, 1);
    const dr_flow_t *f = only_flow(r, 4, VIGIL_PROTO_UDP, R4, 4000, 4001);
    assert_int_equal(f->packets_out, n_out);
    assert_int_equal(f->bytes_out, (uint64_t)n_out * 28u);
    assert_int_equal(f->packets_in, 65535);
    assert_int_equal(f->bytes_in, 65535u * 30u);
    assert_int_equal(f->first_seen, 1);
    assert_int_equal(f->last_seen_delta, 3);
    assert_int_equal(f->kind, VIGIL_PROTO_UDP);
    assert_int_equal(dr_counter(r, VIGIL_CNT_FLOW_SPLIT), 2);
    free(r);
    /* The next period starts with fresh records. */
    mk_udp4(&p, L4, R4, 4000, 4001, 0);
    h_out(ctx, &p, H_T0 + 11);
    r = h_flush_one(ctx, H_T0 + 12);
    assert_int_equal(only_flow(r, 4, VIGIL_PROTO_UDP, R4, 4000, 4001)->packets_out, 1);
    free(r);
    free(ctx);
}

static void test_more_than_16_mib_splits_the_flow_and_keeps_flags(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    pkt_t p;
    /* Header-only captures of 65000-byte datagrams: 258 fit in 24 bits. */
    const uint32_t size = 65000u, n = 600u;
    const uint32_t per_record = 0xffffffu / size;
    mk_tcp6(&p, R6, L6, 443, 50000, T_SYN, 0);
    h_in(ctx, &p, H_T0);
    mk_tcp6(&p, L6, R6, 50000, 443, T_ACK, 0);
    pkt_set_ip_length(&p, size);
    for (uint32_t i = 0; i < n; i++)
        vigil_observe_headers(ctx, VIGIL_DIR_OUT, p.data, p.len, size, H_T0 + 2);
    mk_tcp6(&p, L6, R6, 50000, 443, T_FIN | T_ACK, 0);
    h_out(ctx, &p, H_T0 + 3);
    assert_int_equal(per_record, 258);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_FLOW_SPLIT), (n - 1) / per_record);

    dr_report_t *r = h_flush_one(ctx, H_T0 + 10);
    const dr_flow_t *f = only_flow(r, 6, VIGIL_PROTO_TCP, R6, 50000, 443);
    assert_int_equal(f->bytes_out, (uint64_t)n * size + 60u);
    assert_int_equal(f->packets_out, n + 1);
    assert_int_equal(f->bytes_in, 60);
    assert_int_equal(f->packets_in, 1);
    /* SYN (in the oldest record) and FIN (in the newest) both show. */
    assert_int_equal(f->kind, VIGIL_PROTO_TCP | KIND_REMOTE | KIND_SYN | KIND_FIN);
    assert_int_equal(f->first_seen, 0);
    assert_int_equal(f->last_seen_delta, 3);
    free(r);
    free(ctx);
}

static void fragment4(pkt_t *p, const uint8_t *src, const uint8_t *dst, uint16_t id,
                      uint16_t offset8, bool more, uint8_t proto, size_t payload)
{
    pkt_ipv4(p, src, dst);
    pkt_ipv4_fragment(p, id, offset8, more);
    pkt_next(p, proto);
    pkt_payload(p, payload);
    pkt_finish(p);
}

static void fragment6(pkt_t *p, const uint8_t *src, const uint8_t *dst, uint32_t id,
                      uint16_t offset8, bool more, uint8_t proto, size_t payload)
{
    pkt_ipv6(p, src, dst);
    pkt_ipv6_fragment(p, id, offset8, more);
    pkt_next(p, proto);
    pkt_payload(p, payload);
    pkt_finish(p);
}

static void test_ipv4_later_fragments_join_the_first_fragments_flow(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    pkt_t p;
    pkt_ipv4(&p, L4, R4);
    pkt_ipv4_fragment(&p, 77, 0, true);
    pkt_udp(&p, 5000, 53);
    pkt_payload(&p, 1472);
    pkt_finish(&p); /* 1500 */
    h_out(ctx, &p, H_T0);
    fragment4(&p, L4, R4, 77, 185, true, P_UDP, 1480);
    h_out(ctx, &p, H_T0); /* 1500 */
    fragment4(&p, L4, R4, 77, 370, false, P_UDP, 40);
    h_out(ctx, &p, H_T0 + 1); /* 60 */
    /* Incoming: the remote's first fragment, then a later one. */
    pkt_ipv4(&p, R4, L4);
    pkt_ipv4_fragment(&p, 77, 0, true);
    pkt_udp(&p, 53, 5000);
    pkt_payload(&p, 72);
    pkt_finish(&p); /* 100 */
    h_in(ctx, &p, H_T0 + 1);
    fragment4(&p, R4, L4, 77, 10, false, P_UDP, 30);
    h_in(ctx, &p, H_T0 + 2); /* 50 */
    /* Same id, other source: not ours. */
    fragment4(&p, R4b, L4, 77, 10, false, P_UDP, 30);
    h_in(ctx, &p, H_T0 + 2);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_FRAGMENT_UNATTRIBUTED), 1);
    assert_int_equal(h_flow_count(ctx, 4), 1);

    dr_report_t *r = h_flush_one(ctx, H_T0 + 5);
    const dr_flow_t *f = only_flow(r, 4, VIGIL_PROTO_UDP, R4, 5000, 53);
    assert_int_equal(f->packets_out, 3);
    assert_int_equal(f->bytes_out, 1500 + 1500 + 60);
    assert_int_equal(f->packets_in, 2);
    assert_int_equal(f->bytes_in, 150);
    assert_int_equal(f->kind, VIGIL_PROTO_UDP);
    assert_int_equal(dr_counter(r, VIGIL_CNT_FRAGMENT_UNATTRIBUTED), 1);
    free(r);
    free(ctx);
}

static void test_later_fragments_follow_their_flow_across_a_period_close(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    pkt_t p;
    pkt_ipv6(&p, L6, R6);
    pkt_ipv6_fragment(&p, 0xfeedf00du, 0, true);
    pkt_tcp(&p, 40000, 443, T_ACK, 0);
    pkt_payload(&p, 100);
    pkt_finish(&p);
    h_out(ctx, &p, H_T0 + 59);
    dr_report_t *r = h_flush_one(ctx, H_T0 + 60);
    assert_int_equal(only_flow(r, 6, VIGIL_PROTO_TCP, R6, 40000, 443)->packets_out, 1);
    free(r);

    fragment6(&p, L6, R6, 0xfeedf00du, 16, false, P_TCP, 20);
    h_out(ctx, &p, H_T0 + 62);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_FRAGMENT_UNATTRIBUTED), 0);
    r = h_flush_one(ctx, H_T0 + 120);
    const dr_flow_t *f = only_flow(r, 6, VIGIL_PROTO_TCP, R6, 40000, 443);
    assert_int_equal(f->packets_out, 1);
    assert_int_equal(f->bytes_out, 40 + 8 + 20);
    assert_int_equal(f->first_seen, 2);
    assert_int_equal(f->kind, VIGIL_PROTO_TCP);
    free(r);
    free(ctx);
}

static void test_later_fragment_without_its_first_is_unattributed(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    pkt_t p;
    fragment4(&p, L4, R4, 5, 1, false, P_UDP, 8);
    h_out(ctx, &p, H_T0);
    fragment6(&p, R6, L6, 5, 1, true, P_TCP, 8);
    h_in(ctx, &p, H_T0);
    /* A first fragment with another id does not adopt them. */
    pkt_ipv4(&p, L4, R4);
    pkt_ipv4_fragment(&p, 6, 0, true);
    pkt_udp(&p, 1, 2);
    pkt_finish(&p);
    h_out(ctx, &p, H_T0);
    fragment4(&p, L4, R4, 5, 2, false, P_UDP, 8);
    h_out(ctx, &p, H_T0);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_FRAGMENT_UNATTRIBUTED), 3);
    /* A lone later fragment of a protocol libvigil does not follow. */
    fragment4(&p, L4, R4, 9, 1, false, P_ESP, 8);
    h_out(ctx, &p, H_T0);
    fragment6(&p, L6, R6, 9, 1, false, P_GRE, 8);
    h_out(ctx, &p, H_T0);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_PROTO_UNSUPPORTED), 2);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_FRAGMENT_UNATTRIBUTED), 3);
    assert_int_equal(h_flow_count(ctx, 4), 1);
    assert_int_equal(h_flow_count(ctx, 6), 0);
    free(ctx);
}

static void test_bad_packets_are_counted_by_reason_and_make_no_flow(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    pkt_t p;
    mk_udp4(&p, L4, R4, 1, 2, 0);
    p.data[0] = 0x35;
    h_out(ctx, &p, H_T0);
    mk_tcp4(&p, L4, R4, 1, 2, 0, 0);
    p.data[32] = 0x40;
    h_out(ctx, &p, H_T0);
    h_in(ctx, &p, H_T0);
    vigil_observe(ctx, VIGIL_DIR_IN, p.data, 10, H_T0);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_IP_BAD_VERSION), 1);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_TCP_BAD_OFFSET), 2);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_IP_TRUNCATED), 1);
    assert_int_equal(h_flow_count(ctx, 4), 0);
    dr_report_t *r = h_flush_one(ctx, H_T0 + 1);
    assert_false(r->has_flows);
    assert_false(r->has_local);
    assert_int_equal(dr_counter(r, VIGIL_CNT_IP_BAD_VERSION), 1);
    assert_int_equal(dr_counter(r, VIGIL_CNT_TCP_BAD_OFFSET), 2);
    assert_int_equal(dr_counter(r, VIGIL_CNT_IP_TRUNCATED), 1);
    free(r);
    free(ctx);
}

/* A known local address and flow: the IPv4 fast path's territory. Every
 * packet it must not take is counted as the general path counts it. */
static void test_bad_packets_of_a_known_flow_are_counted_by_reason(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    pkt_t p;
    mk_tcp4(&p, L4, R4, 40000, 443, T_SYN, 0);
    h_out(ctx, &p, H_T0);
    mk_udp4(&p, L4, R4, 5000, 53, 0);
    h_out(ctx, &p, H_T0);

    mk_tcp4(&p, L4, R4, 40000, 443, T_ACK, 10);
    p.data[32] = 0x40; /* data offset 16 */
    h_out(ctx, &p, H_T0);
    p.data[32] = 0xf0; /* data offset 60 in a 30-byte segment */
    h_out(ctx, &p, H_T0);
    mk_tcp4(&p, L4, R4, 40000, 443, T_ACK, 0);
    pkt_set_ip_length(&p, 39); /* TCP header cut by the datagram */
    h_out(ctx, &p, H_T0);
    mk_tcp4(&p, L4, R4, 40000, 443, T_ACK, 0);
    vigil_observe_headers(ctx, VIGIL_DIR_OUT, p.data, 39, 40, H_T0); /* cut by the capture */
    mk_udp4(&p, L4, R4, 5000, 53, 0);
    pkt_set_ip_length(&p, 27);
    h_out(ctx, &p, H_T0);
    mk_udp4(&p, L4, R4, 5000, 53, 0);
    vigil_observe(ctx, VIGIL_DIR_OUT, p.data, 27, H_T0); /* total 28 > length 27 */
    mk_udp4(&p, L4, R4, 5000, 53, 0);
    p.data[0] = 0x44; /* IHL 16 bytes */
    h_out(ctx, &p, H_T0);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_TCP_BAD_OFFSET), 2);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_TRANSPORT_TRUNCATED), 3);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_IPV4_BAD_TOTAL_LENGTH), 1);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_IPV4_BAD_IHL), 1);

    /* Valid variants the shortcut must hand over, or count identically. */
    pkt_ipv4(&p, L4, R4); /* IP options */
    pkt_ipv4_options(&p, 8);
    pkt_udp(&p, 5000, 53);
    pkt_finish(&p); /* 36 */
    h_out(ctx, &p, H_T0 + 1);
    mk_udp4(&p, R4, L4, 53, 5000, 100); /* inbound, padded link frame */
    vigil_observe(ctx, VIGIL_DIR_IN, p.data, p.len + 6, H_T0 + 2);
    mk_udp4(&p, L4, R4, 5000, 53, 0); /* DF set: not a fragment */
    p.data[6] = 0x40;
    h_out(ctx, &p, H_T0 + 2);
    mk_tcp4(&p, R4, L4, 443, 40000, T_ACK, 0); /* header-only capture */
    pkt_set_ip_length(&p, 1500);
    vigil_observe_headers(ctx, VIGIL_DIR_IN, p.data, 40, 1500, H_T0 + 3);
    mk_tcp4(&p, R4, L4, 443, 40000, T_RST | T_ACK, 0);
    h_in(ctx, &p, H_T0 + 3);

    dr_report_t *r = h_flush_one(ctx, H_T0 + 10);
    assert_int_equal(r->n_flows, 2);
    const dr_flow_t *f = only_flow(r, 4, VIGIL_PROTO_UDP, R4, 5000, 53);
    assert_int_equal(f->packets_out, 3);
    assert_int_equal(f->bytes_out, 28 + 36 + 28);
    assert_int_equal(f->packets_in, 1);
    assert_int_equal(f->bytes_in, 128);
    assert_int_equal(f->last_seen_delta, 2);
    f = only_flow(r, 4, VIGIL_PROTO_TCP, R4, 40000, 443);
    assert_int_equal(f->packets_out, 1);
    assert_int_equal(f->packets_in, 2);
    assert_int_equal(f->bytes_in, 1500 + 40);
    assert_int_equal(f->kind, VIGIL_PROTO_TCP | KIND_SYN | KIND_RST);
    free(r);
    free(ctx);
}

/* Equal traffic through the shortcut (local known) and through the
 * general path (first packet of a new local address) counts the same. */
static void test_first_and_later_packets_of_a_flow_count_alike(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    pkt_t p;
    for (int i = 0; i < 5; i++) {
        mk_tcp4(&p, R4, L4, 50000, 22, i == 0 ? T_SYN : T_ACK, (size_t)(i * 10));
        h_in(ctx, &p, H_T0 + (uint32_t)i);
        mk_tcp4(&p, L4, R4, 22, 50000, i == 0 ? (T_SYN | T_ACK) : T_ACK, (size_t)(i * 100));
        h_out(ctx, &p, H_T0 + (uint32_t)i);
    }
    flow_view_t v;
    assert_true(h_flow(ctx, 4, VIGIL_PROTO_TCP, R4, 22, 50000, &v));
    assert_int_equal(v.packets[VIGIL_DIR_IN], 5);
    assert_int_equal(v.packets[VIGIL_DIR_OUT], 5);
    assert_int_equal(v.bytes[VIGIL_DIR_IN], 5 * 40 + 100);
    assert_int_equal(v.bytes[VIGIL_DIR_OUT], 5 * 40 + 1000);
    assert_int_equal(v.flags, VIGIL_PROTO_TCP | KIND_REMOTE | KIND_SYN | KIND_SYNACK);
    assert_int_equal(v.first_seen, 0);
    assert_int_equal(v.last_seen, 4);
    assert_int_equal(v.local_index, 0);
    assert_int_equal(h_flow_count(ctx, 4), 1);
    free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_flow_counts_whole_datagrams_and_packets_per_direction),
        cmocka_unit_test(test_tcp_initiator_is_the_side_that_sent_a_bare_syn_even_if_seen_later),
        cmocka_unit_test(test_udp_initiator_is_the_first_packets_direction),
        cmocka_unit_test(test_tcp_fin_and_rst_set_their_kind_bits),
        cmocka_unit_test(test_icmp_echo_request_and_reply_are_one_flow),
        cmocka_unit_test(test_each_key_field_makes_a_distinct_flow),
        cmocka_unit_test(test_first_and_last_seen_are_seconds_after_period_start),
        cmocka_unit_test(test_clock_stepping_back_within_a_period_keeps_seen_times_ordered),
        cmocka_unit_test(test_time_past_4095_seconds_saturates),
        cmocka_unit_test(test_packet_before_period_start_counts_clock_backwards),
        cmocka_unit_test(test_more_than_65535_packets_split_the_flow_and_report_exact_totals),
        cmocka_unit_test(test_more_than_16_mib_splits_the_flow_and_keeps_flags),
        cmocka_unit_test(test_ipv4_later_fragments_join_the_first_fragments_flow),
        cmocka_unit_test(test_later_fragments_follow_their_flow_across_a_period_close),
        cmocka_unit_test(test_later_fragment_without_its_first_is_unattributed),
        cmocka_unit_test(test_bad_packets_are_counted_by_reason_and_make_no_flow),
        cmocka_unit_test(test_bad_packets_of_a_known_flow_are_counted_by_reason),
        cmocka_unit_test(test_first_and_later_packets_of_a_flow_count_alike),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
