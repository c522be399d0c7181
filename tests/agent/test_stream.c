/*
 * test_stream.c - a long deterministic stream of valid and damaged packets
 * (flipped header bytes, cut captures, odd lengths, fragments, both
 * families) through vigil_observe and vigil_poll. Every report is decoded
 * and checked, and the reports and counters are written to the file named
 * on the command line. CMake runs this against the library with and without
 * the IPv4 fast path and requires the two files to be identical: the
 * shortcut must never change a result.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const char *out_path;
static uint32_t rng = 0x9e3779b9u;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng % n;
}

static bool build(pkt_t *p, uint8_t *remote_store)
{
    uint8_t local4[4], remote4[4], local6[16], remote6[16];
    addr4(local4, 10, 0, 0, (uint8_t)(2 + rnd(2)));
    addr4(remote4, 198, 51, 100, (uint8_t)rnd(12));
    addr6(local6, 0, (uint16_t)(2 + rnd(2)));
    addr6(remote6, 0xbeef, (uint16_t)rnd(12));
    bool v6 = rnd(4) == 0;
    bool out = rnd(2) == 0;
    const uint8_t *l = v6 ? local6 : local4, *r = v6 ? remote6 : remote4;
    if (v6)
        pkt_ipv6(p, out ? l : r, out ? r : l);
    else
        pkt_ipv4(p, out ? l : r, out ? r : l);
    memcpy(remote_store, r, v6 ? 16u : 4u);
    if (!v6 && rnd(8) == 0)
        pkt_ipv4_options(p, 4 * (1 + rnd(3)));
    if (v6 && rnd(6) == 0)
        pkt_ipv6_ext(p, P_HOPOPTS, 8);
    unsigned kind = rnd(10);
    uint16_t a = (uint16_t)(1000 + rnd(30)), b = (uint16_t)(rnd(2) ? 443 : 53);
    if (kind < 5) {
        static const uint8_t flags[] = {T_SYN, T_SYN | T_ACK, T_ACK, T_PSH | T_ACK, T_FIN | T_ACK,
                                        T_RST};
        pkt_tcp(p, out ? a : b, out ? b : a, flags[rnd(6)], 4 * rnd(4));
    } else if (kind < 8) {
        pkt_udp(p, out ? a : b, out ? b : a);
    } else if (kind < 9) {
        static const uint8_t types4[] = {8, 0, 13, 14, 3}, types6[] = {128, 129, 135, 1};
        pkt_icmp(p, v6 ? types6[rnd(4)] : types4[rnd(5)], (uint8_t)rnd(2));
    } else {
        /* A fragment, first or later, of a few datagram ids. */
        uint16_t id = (uint16_t)rnd(6);
        bool first = rnd(2) == 0;
        if (v6)
            pkt_ipv6_fragment(p, id, first ? 0 : (uint16_t)(1 + rnd(100)), rnd(2) == 0 || first);
        else
            pkt_ipv4_fragment(p, id, first ? 0 : (uint16_t)(1 + rnd(100)), rnd(2) == 0 || first);
        if (first)
            pkt_udp(p, out ? a : b, out ? b : a);
        else
            pkt_next(p, P_UDP);
    }
    pkt_payload(p, rnd(4) == 0 ? rnd(1200) : rnd(64));
    pkt_finish(p);
    return out;
}

static void damage(pkt_t *p, size_t *captured, size_t *length)
{
    static const size_t hot[] = {0, 2, 3, 6, 7, 9, 20, 21, 22, 23, 32, 33, 6, 4, 5, 40, 52};
    switch (rnd(6)) {
    case 0:
        p->data[hot[rnd(sizeof hot / sizeof hot[0])]] ^= (uint8_t)(1u << rnd(8));
        break;
    case 1:
        p->data[rnd((uint32_t)(p->len < 64 ? p->len : 64))] = (uint8_t)rnd(256);
        break;
    case 2:
        *captured = rnd((uint32_t)p->len + 1);
        *length = *captured;
        break;
    case 3: /* header-only capture */
        *captured = rnd((uint32_t)p->len + 1);
        break;
    case 4: /* link padding or a lie about the length */
        *length = p->len + rnd(8);
        if (*length > PKT_MAX)
            *length = PKT_MAX;
        *captured = *length;
        break;
    default:
        pkt_set_ip_length(p, 20 + rnd(80));
        break;
    }
}

static void write_reports(vigil_ctx_t *ctx, FILE *f)
{
    size_t n = vigil_outbox_count(ctx);
    uint32_t last = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *msg;
        size_t len;
        assert_int_equal(vigil_outbox_get(ctx, i, &msg, &len, &last), VIGIL_OK);
        assert_true(len <= ctx->config.max_message_size);
        free(dr_decode(msg, len));
        fprintf(f, "report %u %zu\n", last, len);
        for (size_t j = 0; j < len; j++)
            fprintf(f, "%02x", msg[j]);
        fputc('\n', f);
    }
    if (n > 0)
        assert_int_equal(vigil_outbox_release(ctx, last), n);
}

static void test_damaged_stream_gives_the_same_reports_on_every_path(void **state)
{
    (void)state;
    FILE *f = fopen(out_path, "w");
    if (!f)
        fail_msg("cannot write %s", out_path);
    vigil_config_t c;
    vigil_config_default(&c);
    c.report_interval_s = 30;
    c.max_message_size = 512;
    vigil_ctx_t *ctx = h_new();
    h_init(ctx, H_T0, &c, NULL);
    uint32_t now = H_T0;
    pkt_t p;
    uint8_t remote[16];
    for (unsigned i = 0; i < 15000; i++) {
        if (rnd(10000) == 0)
            now += 5000; /* a device waking from a long sleep */
        bool out = build(&p, remote);
        /* Now and then a packet of no local address (a foreign packet). */
        vigil_dir_t dir = (rnd(20) == 0) == out ? VIGIL_DIR_IN : VIGIL_DIR_OUT;
        size_t captured = p.len, length = p.len;
        if (rnd(3) == 0)
            damage(&p, &captured, &length);
        /* An exactly-sized copy: reads past `captured` are caught. */
        uint8_t *copy = malloc(captured ? captured : 1);
        assert_non_null(copy);
        memcpy(copy, p.data, captured);
        vigil_observe_headers(ctx, dir, copy, captured, length, now);
        assert_memory_equal(copy, p.data, captured); /* never modified */
        free(copy);
        if (rnd(50) == 0)
            now += rnd(4);
        if (rnd(2000) == 0)
            now -= rnd(40); /* a clock stepping back */
        assert_int_equal(vigil_poll(ctx, now), VIGIL_OK);
        write_reports(ctx, f);
    }
    assert_int_equal(vigil_flush(ctx, now + 1), VIGIL_OK);
    write_reports(ctx, f);
    for (unsigned i = 0; i < VIGIL_CNT__COUNT; i++)
        fprintf(f, "%s %u\n", vigil_counter_name((vigil_counter_t)i),
                vigil_counter(ctx, (vigil_counter_t)i));
    fclose(f);
    /* The stream must have reached the interesting places. */
    assert_true(vigil_counter(ctx, VIGIL_CNT_REPORTS) > 50);
    assert_true(vigil_counter(ctx, VIGIL_CNT_FLOW_TABLE_FULL) > 0 || VIGIL_MAX_FLOWS_V4 > 200);
    assert_true(vigil_counter(ctx, VIGIL_CNT_TCP_BAD_OFFSET) > 0);
    assert_true(vigil_counter(ctx, VIGIL_CNT_TRANSPORT_TRUNCATED) > 0);
    assert_true(vigil_counter(ctx, VIGIL_CNT_IPV4_BAD_TOTAL_LENGTH) > 0);
    assert_true(vigil_counter(ctx, VIGIL_CNT_FRAGMENT_UNATTRIBUTED) > 0);
    assert_true(vigil_counter(ctx, VIGIL_CNT_CLOCK_BACKWARDS) > 0);
    assert_true(vigil_counter(ctx, VIGIL_CNT_TIME_SATURATED) > 0);
    free(ctx);
}

int main(int argc, char **argv)
{
    out_path = argc > 1 ? argv[1] : "stream.out";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_damaged_stream_gives_the_same_reports_on_every_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
