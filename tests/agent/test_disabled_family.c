/*
 * test_disabled_family.c - libvigil built with VIGIL_MAX_FLOWS_V6 0
 * (nov6_opts.h): IPv6 traffic is counted per protocol and direction in
 * overflow, never as flows; IPv4 works as usual and reports still split.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "harness.h"

#if VIGIL_MAX_FLOWS_V6 != 0
#error "build this test with nov6_opts.h"
#endif

static uint8_t L4[4], R4[4], L6[16], R6[16];

static int setup(void **state)
{
    (void)state;
    addr4(L4, 10, 0, 0, 2);
    addr4(R4, 93, 184, 216, 34);
    addr6(L6, 0, 2);
    addr6(R6, 0xbeef, 34);
    return 0;
}

static void test_ipv6_traffic_of_a_disabled_family_goes_to_overflow(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    pkt_t p;
    mk_tcp6(&p, L6, R6, 40000, 443, T_SYN, 0); /* 60 */
    h_out(ctx, &p, H_T0);
    h_out(ctx, &p, H_T0);
    mk_udp6(&p, R6, L6, 53, 5353, 0); /* 48 */
    h_in(ctx, &p, H_T0);
    mk_icmp6(&p, L6, R6, 128, 0, 0); /* 48 */
    h_out(ctx, &p, H_T0);
    /* A fragmented datagram: both fragments are counted, in overflow. */
    pkt_ipv6(&p, L6, R6);
    pkt_ipv6_fragment(&p, 1, 0, true);
    pkt_udp(&p, 1, 2);
    pkt_finish(&p); /* 56 */
    h_out(ctx, &p, H_T0);
    pkt_ipv6(&p, L6, R6);
    pkt_ipv6_fragment(&p, 1, 1, false);
    pkt_next(&p, P_UDP);
    pkt_payload(&p, 16);
    pkt_finish(&p); /* 64 */
    h_out(ctx, &p, H_T0);
    mk_udp4(&p, L4, R4, 1, 2, 0);
    h_out(ctx, &p, H_T0);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_FLOW_TABLE_FULL), 6);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_FRAGMENT_UNATTRIBUTED), 0);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_LOCAL_ADDR_FULL), 0);

    dr_report_t *r = h_flush_one(ctx, H_T0 + 1);
    assert_int_equal(r->n_flows, 1);
    assert_int_equal(r->flows[0].family, 4);
    assert_int_equal(r->n_local6, 0);
    assert_int_equal(r->n_local4, 1);
    assert_int_equal(r->n_overflow, 4);
    uint64_t packets, bytes;
    assert_true(dr_overflow(r, 1, &packets, &bytes));
    assert_int_equal(packets, 2);
    assert_int_equal(bytes, 120);
    assert_true(dr_overflow(r, 2, &packets, &bytes));
    assert_int_equal(packets, 1);
    assert_int_equal(bytes, 48);
    assert_true(dr_overflow(r, 3, &packets, &bytes));
    assert_int_equal(packets, 2);
    assert_int_equal(bytes, 120);
    assert_true(dr_overflow(r, 5, &packets, &bytes));
    assert_int_equal(packets, 1);
    assert_int_equal(bytes, 48);
    free(r);
    free(ctx);
}

static void test_ipv4_only_period_splits_into_parts(void **state)
{
    (void)state;
    vigil_config_t c;
    vigil_config_default(&c);
    c.max_message_size = 512;
    vigil_ctx_t *ctx = h_new();
    h_init(ctx, H_T0, &c, NULL);
    pkt_t p;
    uint8_t remote[4];
    for (unsigned i = 0; i < VIGIL_MAX_FLOWS_V4; i++) {
        addr4(remote, 198, 51, 100, (uint8_t)i);
        mk_udp4(&p, L4, remote, (uint16_t)(3000 + i), 53, i % 50);
        h_out(ctx, &p, H_T0);
    }
    assert_int_equal(vigil_flush(ctx, H_T0 + 60), VIGIL_OK);
    dr_report_t *r[64];
    size_t n = h_reports(ctx, r, 64);
    assert_true(n >= 2); /* 64 flows of 21+ bytes do not fit 512 */
    size_t total = 0, count;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(r[i]->part, i);
        assert_int_equal(r[i]->more, i + 1 < n);
        total += r[i]->n_flows;
    }
    assert_int_equal(total, VIGIL_MAX_FLOWS_V4);
    for (unsigned i = 0; i < VIGIL_MAX_FLOWS_V4; i++) {
        addr4(remote, 198, 51, 100, (uint8_t)i);
        const dr_flow_t *f = h_find(r, n, 4, VIGIL_PROTO_UDP, remote, 3000 + i, 53, &count);
        assert_int_equal(count, 1);
        assert_int_equal(f->bytes_out, 28 + i % 50);
    }
    h_free_reports(r, n);
    free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv6_traffic_of_a_disabled_family_goes_to_overflow),
        cmocka_unit_test(test_ipv4_only_period_splits_into_parts),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
