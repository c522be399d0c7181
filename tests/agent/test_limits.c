/*
 * test_limits.c - libvigil at its compile-time limits: full flow tables,
 * full local-address tables, tables filled to the last slot through hash
 * collisions, counter wrap with no slot left, more fragmented datagrams than
 * followed, a full outbox, and a period split into many parts. Written
 * against the VIGIL_* options only, and built twice: with the default
 * options (test_limits) and with small_opts.h (test_limits_small).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define MAX_REPORTS 256u

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

/* Flushes at `now`, decodes every report of the period and releases them. */
static size_t flush_all(vigil_ctx_t *ctx, uint32_t now, dr_report_t **r)
{
    assert_int_equal(vigil_outbox_count(ctx), 0);
    assert_int_equal(vigil_flush(ctx, now), VIGIL_OK);
    size_t n = h_reports(ctx, r, MAX_REPORTS);
    assert_true(n >= 1);
    assert_int_equal(vigil_outbox_release(ctx, (uint32_t)r[n - 1]->seq), n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(r[i]->part, i);
        assert_int_equal(r[i]->more, i + 1 < n);
        assert_int_equal(r[i]->seq, r[0]->seq + i);
    }
    return n;
}

static void remote4_of(uint8_t out[4], unsigned i)
{
    addr4(out, 198, 51, (uint8_t)(i >> 8), (uint8_t)i);
}

static void remote6_of(uint8_t out[16], unsigned i)
{
    addr6(out, 0x5000, (uint16_t)i);
}

static void check_overflow(dr_report_t *r, unsigned code, uint64_t packets, uint64_t bytes)
{
    uint64_t p = 0, b = 0;
    if (packets == 0) {
        assert_false(dr_overflow(r, code, &p, &b));
        return;
    }
    assert_true(dr_overflow(r, code, &p, &b));
    assert_int_equal(p, packets);
    assert_int_equal(b, bytes);
}

static void test_full_ipv4_table_counts_new_flows_in_overflow_per_proto_and_direction(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    pkt_t p;
    for (unsigned i = 0; i < VIGIL_MAX_FLOWS_V4; i++) {
        mk_udp4(&p, L4, R4, (uint16_t)(10000 + i), 53, 0);
        h_out(ctx, &p, H_T0);
    }
    assert_int_equal(h_flow_count(ctx, 4), VIGIL_MAX_FLOWS_V4);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_FLOW_TABLE_FULL), 0);

    for (int i = 0; i < 3; i++) { /* tcp out: 3 x 40 */
        mk_tcp4(&p, L4, R4, 20000, 443, T_SYN, 0);
        h_out(ctx, &p, H_T0);
    }
    for (int i = 0; i < 2; i++) { /* tcp in: 2 x 50 */
        mk_tcp4(&p, R4, L4, 30000, 22, T_SYN, 10);
        h_in(ctx, &p, H_T0);
    }
    mk_udp4(&p, L4, R4, 20001, 123, 2); /* udp out: 1 x 30 */
    h_out(ctx, &p, H_T0);
    for (int i = 0; i < 4; i++) { /* udp in: 4 x 28, four flows */
        mk_udp4(&p, R4, L4, (uint16_t)(30001 + i), 5683, 0);
        h_in(ctx, &p, H_T0);
    }
    mk_icmp4(&p, L4, R4, 8, 0, 0); /* icmp out: 1 x 28 */
    h_out(ctx, &p, H_T0);
    mk_icmp4(&p, R4, L4, 8, 0, 8); /* icmp in: 2 x 36 */
    h_in(ctx, &p, H_T0);
    h_in(ctx, &p, H_T0);
    /* Tracked flows keep counting. */
    mk_udp4(&p, L4, R4, 10000, 53, 100);
    h_out(ctx, &p, H_T0 + 1);
    mk_udp4(&p, R4, L4, 53, 10000, 200);
    h_in(ctx, &p, H_T0 + 2);
    /* IPv6 has its own table. */
    mk_udp6(&p, L6, R6, 1, 2, 0);
    h_out(ctx, &p, H_T0);

    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_FLOW_TABLE_FULL), 3 + 2 + 1 + 4 + 1 + 2);
    flow_view_t v;
    assert_true(h_flow(ctx, 4, VIGIL_PROTO_UDP, R4, 10000, 53, &v));
    assert_int_equal(v.packets[VIGIL_DIR_OUT], 2);
    assert_int_equal(v.packets[VIGIL_DIR_IN], 1);
    assert_int_equal(v.bytes[VIGIL_DIR_OUT], 28 + 128);
    assert_int_equal(v.bytes[VIGIL_DIR_IN], 228);
    assert_true(h_flow(ctx, 6, VIGIL_PROTO_UDP, R6, 1, 2, &v));

    dr_report_t *r[MAX_REPORTS];
    size_t n = flush_all(ctx, H_T0 + 10, r);
    assert_true(r[0]->has_overflow);
    assert_int_equal(r[0]->n_overflow, 6);
    check_overflow(r[0], 0, 2, 100);
    check_overflow(r[0], 1, 3, 120);
    check_overflow(r[0], 2, 4, 112);
    check_overflow(r[0], 3, 1, 30);
    check_overflow(r[0], 4, 2, 72);
    check_overflow(r[0], 5, 1, 28);
    assert_int_equal(dr_counter(r[0], VIGIL_CNT_FLOW_TABLE_FULL), 13);
    size_t count, total = 0;
    const dr_flow_t *f = h_find(r, n, 4, VIGIL_PROTO_UDP, R4, 10000, 53, &count);
    assert_int_equal(count, 1);
    assert_int_equal(f->packets_out, 2);
    assert_int_equal(f->bytes_in, 228);
    for (size_t i = 0; i < n; i++) {
        total += r[i]->n_flows;
        if (i > 0)
            assert_false(r[i]->has_overflow);
    }
    assert_int_equal(total, VIGIL_MAX_FLOWS_V4 + 1);
    h_free_reports(r, n);

    /* The next period has room again and no overflow. */
    mk_tcp4(&p, L4, R4, 20000, 443, T_SYN, 0);
    h_out(ctx, &p, H_T0 + 11);
    n = flush_all(ctx, H_T0 + 12, r);
    assert_false(r[0]->has_overflow);
    assert_int_equal(h_find(r, n, 4, VIGIL_PROTO_TCP, R4, 20000, 443, &count)->packets_out, 1);
    h_free_reports(r, n);
    free(ctx);
}

static void test_full_ipv6_table_overflows_only_ipv6(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    pkt_t p;
    uint8_t remote[16];
    for (unsigned i = 0; i < VIGIL_MAX_FLOWS_V6; i++) {
        remote6_of(remote, i);
        mk_tcp6(&p, remote, L6, 443, 40000, T_ACK, 0);
        h_in(ctx, &p, H_T0);
    }
    remote6_of(remote, 999);
    mk_tcp6(&p, L6, remote, 40000, 443, T_ACK, 8); /* 68 */
    h_out(ctx, &p, H_T0);
    mk_icmp6(&p, remote, L6, 128, 0, 0); /* 48 */
    h_in(ctx, &p, H_T0);
    mk_udp4(&p, L4, R4, 1, 2, 0);
    h_out(ctx, &p, H_T0);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_FLOW_TABLE_FULL), 2);
    assert_int_equal(h_flow_count(ctx, 4), 1);
    assert_int_equal(h_flow_count(ctx, 6), VIGIL_MAX_FLOWS_V6);

    dr_report_t *r[MAX_REPORTS];
    size_t n = flush_all(ctx, H_T0 + 1, r);
    assert_int_equal(r[0]->n_overflow, 2);
    check_overflow(r[0], 1, 1, 68);
    check_overflow(r[0], 4, 1, 48);
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += r[i]->n_flows;
    assert_int_equal(total, VIGIL_MAX_FLOWS_V6 + 1);
    h_free_reports(r, n);
    free(ctx);
}

static void test_local_address_table_full_counts_and_overflows(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    pkt_t p;
    uint8_t local4[4], local6[16];
    for (unsigned i = 0; i < VIGIL_MAX_LOCAL_ADDRS_V4; i++) {
        addr4(local4, 10, 0, 1, (uint8_t)(1 + i));
        mk_udp4(&p, local4, R4, 1, 2, 0);
        h_out(ctx, &p, H_T0);
    }
    for (unsigned i = 0; i < VIGIL_MAX_LOCAL_ADDRS_V6; i++) {
        addr6(local6, 0x1000, (uint16_t)(1 + i));
        mk_udp6(&p, R6, local6, 2, 1, 0);
        h_in(ctx, &p, H_T0);
    }
    addr4(local4, 10, 0, 1, 200);
    mk_udp4(&p, local4, R4, 1, 2, 0); /* udp out 28 */
    h_out(ctx, &p, H_T0);
    mk_tcp4(&p, R4, local4, 2, 1, T_ACK, 0); /* tcp in 40 */
    h_in(ctx, &p, H_T0);
    addr6(local6, 0x1000, 200);
    mk_icmp6(&p, local6, R6, 128, 0, 0); /* icmp out 48 */
    h_out(ctx, &p, H_T0);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_LOCAL_ADDR_FULL), 3);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_FLOW_TABLE_FULL), 3);

    dr_report_t *r[MAX_REPORTS];
    size_t n = flush_all(ctx, H_T0 + 1, r);
    assert_int_equal(r[0]->n_local4, VIGIL_MAX_LOCAL_ADDRS_V4);
    assert_int_equal(r[0]->n_local6, VIGIL_MAX_LOCAL_ADDRS_V6);
    assert_int_equal(dr_counter(r[0], VIGIL_CNT_LOCAL_ADDR_FULL), 3);
    check_overflow(r[0], 3, 1, 28);
    check_overflow(r[0], 0, 1, 40);
    check_overflow(r[0], 5, 1, 48);
    assert_int_equal(r[0]->n_overflow, 3);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += r[i]->n_flows;
        for (size_t j = 0; j < r[i]->n_flows; j++) {
            /* Each flow names its own local address. */
            const dr_flow_t *f = &r[i]->flows[j];
            const uint8_t *local = dr_flow_local(r[i], f);
            assert_non_null(local);
            unsigned idx = (unsigned)(f->kind >> 7);
            if (f->family == 4) {
                addr4(local4, 10, 0, 1, (uint8_t)(1 + idx));
                assert_memory_equal(local, local4, 4);
            } else {
                addr6(local6, 0x1000, (uint16_t)(1 + idx));
                assert_memory_equal(local, local6, 16);
            }
        }
    }
    assert_int_equal(total, VIGIL_MAX_LOCAL_ADDRS_V4 + VIGIL_MAX_LOCAL_ADDRS_V6);
    h_free_reports(r, n);
    free(ctx);
}

/* Key and counts of the i-th flow of the fill test. */
typedef struct {
    uint8_t remote[16];
    uint8_t proto;
    uint16_t lport, rport;
    uint32_t out, in, out_bytes, in_bytes;
} fill_t;

static void fill_key(fill_t *k, uint8_t family, unsigned i)
{
    memset(k, 0, sizeof *k);
    /* Few remotes, many ports and protocols: keys differ in every field. */
    if (family == 4)
        remote4_of(k->remote, i % 7);
    else
        remote6_of(k->remote, i % 5);
    k->proto = (uint8_t)(i % 3);
    if (k->proto == VIGIL_PROTO_ICMP) {
        /* Echo, and timestamp (IPv4) or neighbour solicitation (IPv6). */
        if (family == 4)
            k->lport = (uint16_t)(i % 2 ? 8 : 13);
        else
            k->lport = (uint16_t)(i % 2 ? 128 : 135);
        k->rport = (uint16_t)(i / 6);           /* code */
    } else {
        k->lport = (uint16_t)(40000 + i);
        k->rport = (uint16_t)(i % 4 == 0 ? 443 : 1000 + i);
    }
    k->out = i % 5 + 1;
    k->in = i % 3;
}

static uint8_t icmp_reply(uint16_t request)
{
    switch (request) {
    case 8:
        return 0;
    case 13:
        return 14;
    case 128:
        return 129;
    default:
        return (uint8_t)request; /* no reply type: the same type both ways */
    }
}

static size_t fill_packet(pkt_t *p, uint8_t family, const fill_t *k, vigil_dir_t dir,
                          size_t payload)
{
    const uint8_t *local = family == 4 ? L4 : L6;
    const uint8_t *src = dir == VIGIL_DIR_OUT ? local : k->remote;
    const uint8_t *dst = dir == VIGIL_DIR_OUT ? k->remote : local;
    uint16_t sport = dir == VIGIL_DIR_OUT ? k->lport : k->rport;
    uint16_t dport = dir == VIGIL_DIR_OUT ? k->rport : k->lport;
    if (family == 4)
        pkt_ipv4(p, src, dst);
    else
        pkt_ipv6(p, src, dst);
    if (k->proto == VIGIL_PROTO_TCP)
        pkt_tcp(p, sport, dport, T_ACK, 0);
    else if (k->proto == VIGIL_PROTO_UDP)
        pkt_udp(p, sport, dport);
    else /* request out, reply in (replies are keyed by their request) */
        pkt_icmp(p, dir == VIGIL_DIR_OUT ? (uint8_t)k->lport : icmp_reply(k->lport),
                 (uint8_t)k->rport);
    pkt_payload(p, payload);
    return pkt_finish(p);
}

static void fill_table(vigil_ctx_t *ctx, uint8_t family, fill_t *keys, unsigned n)
{
    pkt_t p;
    for (unsigned i = 0; i < n; i++) {
        fill_t *k = &keys[i];
        fill_key(k, family, i);
        for (unsigned j = 0; j < k->out; j++)
            k->out_bytes += (uint32_t)fill_packet(&p, family, k, VIGIL_DIR_OUT, j * 3 + i % 11),
                h_out(ctx, &p, H_T0 + i % 30);
        for (unsigned j = 0; j < k->in; j++)
            k->in_bytes += (uint32_t)fill_packet(&p, family, k, VIGIL_DIR_IN, j * 7),
                h_in(ctx, &p, H_T0 + 30 + j);
    }
}

static void test_tables_fill_to_the_last_slot_and_every_flow_keeps_exact_counts(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    fill_t keys4[VIGIL_MAX_FLOWS_V4], keys6[VIGIL_MAX_FLOWS_V6];
    fill_table(ctx, 4, keys4, VIGIL_MAX_FLOWS_V4);
    fill_table(ctx, 6, keys6, VIGIL_MAX_FLOWS_V6);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_FLOW_TABLE_FULL), 0);
    assert_int_equal(h_flow_count(ctx, 4), VIGIL_MAX_FLOWS_V4);
    assert_int_equal(h_flow_count(ctx, 6), VIGIL_MAX_FLOWS_V6);
    flow_view_t v;
    for (unsigned i = 0; i < VIGIL_MAX_FLOWS_V4; i++) {
        const fill_t *k = &keys4[i];
        assert_true(h_flow(ctx, 4, k->proto, k->remote, k->lport, k->rport, &v));
        assert_int_equal(v.packets[VIGIL_DIR_OUT], k->out);
        assert_int_equal(v.packets[VIGIL_DIR_IN], k->in);
        assert_int_equal(v.bytes[VIGIL_DIR_OUT], k->out_bytes);
        assert_int_equal(v.bytes[VIGIL_DIR_IN], k->in_bytes);
    }
    /* Every slot is taken: one more key overflows. */
    pkt_t p;
    mk_udp4(&p, L4, R4, 1, 1, 0);
    h_out(ctx, &p, H_T0);
    mk_udp6(&p, L6, R6, 1, 1, 0);
    h_out(ctx, &p, H_T0);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_FLOW_TABLE_FULL), 2);

    dr_report_t *r[MAX_REPORTS];
    size_t n = flush_all(ctx, H_T0 + 60, r);
    size_t total = 0, count;
    for (size_t i = 0; i < n; i++)
        total += r[i]->n_flows;
    assert_int_equal(total, VIGIL_MAX_FLOWS_V4 + VIGIL_MAX_FLOWS_V6);
    for (unsigned fam = 4; fam <= 6; fam += 2) {
        const fill_t *keys = fam == 4 ? keys4 : keys6;
        unsigned cap = fam == 4 ? VIGIL_MAX_FLOWS_V4 : VIGIL_MAX_FLOWS_V6;
        for (unsigned i = 0; i < cap; i++) {
            const fill_t *k = &keys[i];
            const dr_flow_t *f =
                h_find(r, n, (uint8_t)fam, k->proto, k->remote, k->lport, k->rport, &count);
            assert_int_equal(count, 1);
            assert_int_equal(f->packets_out, k->out);
            assert_int_equal(f->packets_in, k->in);
            assert_int_equal(f->bytes_out, k->out_bytes);
            assert_int_equal(f->bytes_in, k->in_bytes);
            assert_int_equal(f->first_seen, i % 30);
            assert_int_equal(f->first_seen + f->last_seen_delta,
                             k->in ? 30 + k->in - 1 : i % 30);
        }
    }
    h_free_reports(r, n);
    free(ctx);
}

static void test_counter_wrap_with_no_free_slot_goes_to_overflow(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    pkt_t p;
    for (unsigned i = 0; i < VIGIL_MAX_FLOWS_V4; i++) {
        mk_udp4(&p, L4, R4, (uint16_t)(10000 + i), 53, 0);
        h_out(ctx, &p, H_T0);
    }
    mk_udp4(&p, L4, R4, 10000, 53, 0);
    for (unsigned i = 1; i < 65535u; i++)
        h_out(ctx, &p, H_T0);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_FLOW_TABLE_FULL), 0);
    h_out(ctx, &p, H_T0); /* the 65536th: no slot for a shadow record */
    h_out(ctx, &p, H_T0);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_FLOW_SPLIT), 0);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_FLOW_TABLE_FULL), 2);
    /* The other direction has not wrapped and still counts. */
    mk_udp4(&p, R4, L4, 53, 10000, 0);
    h_in(ctx, &p, H_T0);
    flow_view_t v;
    assert_true(h_flow(ctx, 4, VIGIL_PROTO_UDP, R4, 10000, 53, &v));
    assert_int_equal(v.packets[VIGIL_DIR_OUT], 65535);
    assert_int_equal(v.bytes[VIGIL_DIR_OUT], 65535u * 28u);
    assert_int_equal(v.packets[VIGIL_DIR_IN], 1);

    dr_report_t *r[MAX_REPORTS];
    size_t n = flush_all(ctx, H_T0 + 1, r);
    check_overflow(r[0], 3, 2, 56);
    assert_int_equal(r[0]->n_overflow, 1);
    size_t count;
    const dr_flow_t *f = h_find(r, n, 4, VIGIL_PROTO_UDP, R4, 10000, 53, &count);
    assert_int_equal(count, 1);
    assert_int_equal(f->packets_out, 65535);
    assert_int_equal(f->packets_in, 1);
    h_free_reports(r, n);
    free(ctx);
}

static void test_shadow_records_share_the_table_with_other_keys_and_chains(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    fill_t keys[VIGIL_MAX_FLOWS_V4];
    const unsigned cap = VIGIL_MAX_FLOWS_V4;
    assert_true(cap >= 3);
    /* cap - 2 keys, then key 0 wraps (its shadow takes a slot), then one
     * more key takes the last slot. */
    fill_table(ctx, 4, keys, cap - 2);
    pkt_t p;
    fill_t *k0 = &keys[0];
    size_t size = fill_packet(&p, 4, k0, VIGIL_DIR_OUT, 0);
    for (uint32_t i = k0->out; i < 65536u; i++)
        h_out(ctx, &p, H_T0 + 40);
    k0->out_bytes += (65536u - k0->out) * (uint32_t)size;
    k0->out = 65536u;
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_FLOW_SPLIT), 1);
    fill_t *last = &keys[cap - 2];
    fill_key(last, 4, cap - 2);
    last->remote[0] = 203; /* a key no earlier flow has */
    last->out = 1;
    last->in = 0;
    last->out_bytes = (uint32_t)fill_packet(&p, 4, last, VIGIL_DIR_OUT, 0);
    h_out(ctx, &p, H_T0 + 41);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_FLOW_TABLE_FULL), 0);
    /* Now full: a further key overflows, known keys keep counting. */
    mk_udp4(&p, L4, R4, 7, 7, 0);
    h_out(ctx, &p, H_T0 + 42);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_FLOW_TABLE_FULL), 1);
    for (unsigned i = 0; i < cap - 1; i++) {
        fill_t *k = &keys[i];
        k->out_bytes += (uint32_t)fill_packet(&p, 4, k, VIGIL_DIR_OUT, 1);
        k->out++;
        h_out(ctx, &p, H_T0 + 43);
    }
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_FLOW_TABLE_FULL), 1);
    /* cap - 1 flows, one of them with a shadow: no slot is free. */
    assert_int_equal(h_flow_count(ctx, 4), cap - 1);
    flow_view_t v;
    unsigned got = 0;
    for (unsigned s = 0; s < cap + 2; s++)
        got += flow_table_get(ctx, 4, s, &v);
    assert_int_equal(got, cap - 1);
    for (unsigned i = 0; i < cap - 1; i++) {
        const fill_t *k = &keys[i];
        assert_true(h_flow(ctx, 4, k->proto, k->remote, k->lport, k->rport, &v));
        assert_int_equal(v.packets[VIGIL_DIR_OUT], k->out);
        assert_int_equal(v.bytes[VIGIL_DIR_OUT], k->out_bytes);
        assert_int_equal(v.packets[VIGIL_DIR_IN], k->in);
    }
    dr_report_t *r[MAX_REPORTS];
    size_t n = flush_all(ctx, H_T0 + 50, r);
    size_t count;
    for (unsigned i = 0; i < cap - 1; i++) {
        const fill_t *k = &keys[i];
        const dr_flow_t *f = h_find(r, n, 4, k->proto, k->remote, k->lport, k->rport, &count);
        assert_int_equal(count, 1);
        assert_int_equal(f->packets_out, k->out);
        assert_int_equal(f->bytes_out, k->out_bytes);
        assert_int_equal(f->bytes_in, k->in_bytes);
    }
    h_free_reports(r, n);
    free(ctx);
}

/* ---- random traffic against a reference model ---- */

typedef struct {
    uint8_t family, proto, remote;
    uint16_t lport, rport;
    uint32_t packets[2], bytes[2];
    uint16_t first, last;
    uint8_t kind;
} model_flow_t;

typedef struct {
    model_flow_t flows[2 * (VIGIL_MAX_FLOWS_V4 + VIGIL_MAX_FLOWS_V6) + 8];
    unsigned n[7];  /* flows per family (index 4 and 6) */
    unsigned count;
    uint64_t overflow_packets[3][2], overflow_bytes[3][2];
    uint32_t table_full;
} model_t;

static uint32_t rng_state = 0x2545f491u;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state % n;
}

static void model_remote(uint8_t *out, uint8_t family, uint8_t idx)
{
    if (family == 4)
        remote4_of(out, 300u + idx);
    else
        remote6_of(out, 300u + idx);
}

static void model_packet(model_t *m, vigil_ctx_t *ctx, uint16_t offset, uint32_t now)
{
    static const uint8_t tcp_flags[] = {T_SYN, T_SYN | T_ACK, T_ACK, T_FIN | T_ACK, T_RST,
                                        T_PSH | T_ACK};
    static const uint8_t icmp4[] = {8, 13, 3}, icmp6[] = {128, 135, 1};
    uint8_t family = rnd(2) ? 4 : 6;
    uint8_t proto = (uint8_t)rnd(3);
    uint8_t remote_idx = (uint8_t)rnd(6);
    vigil_dir_t dir = rnd(2) ? VIGIL_DIR_IN : VIGIL_DIR_OUT;
    uint16_t lport, rport;
    uint8_t flags = 0, wire_type = 0;
    if (proto == VIGIL_PROTO_ICMP) {
        unsigned t = rnd(3);
        lport = family == 4 ? icmp4[t] : icmp6[t];
        rport = (uint16_t)rnd(2);
        wire_type = (uint8_t)lport;
        if (rnd(2)) /* send the reply type where there is one */
            wire_type = lport == 8 ? 0 : lport == 13 ? 14 : lport == 128 ? 129 : wire_type;
    } else {
        lport = (uint16_t)(1000 + rnd(21));
        static const uint16_t rports[] = {53, 80, 443, 8883};
        rport = rports[rnd(4)];
        if (proto == VIGIL_PROTO_TCP)
            flags = tcp_flags[rnd(sizeof tcp_flags)];
    }
    uint8_t remote[16];
    model_remote(remote, family, remote_idx);
    const uint8_t *local = family == 4 ? L4 : L6;
    const uint8_t *src = dir == VIGIL_DIR_OUT ? local : remote;
    const uint8_t *dst = dir == VIGIL_DIR_OUT ? remote : local;
    pkt_t p;
    if (family == 4)
        pkt_ipv4(&p, src, dst);
    else
        pkt_ipv6(&p, src, dst);
    if (proto == VIGIL_PROTO_TCP)
        pkt_tcp(&p, dir == VIGIL_DIR_OUT ? lport : rport, dir == VIGIL_DIR_OUT ? rport : lport,
                flags, 4 * rnd(3));
    else if (proto == VIGIL_PROTO_UDP)
        pkt_udp(&p, dir == VIGIL_DIR_OUT ? lport : rport, dir == VIGIL_DIR_OUT ? rport : lport);
    else
        pkt_icmp(&p, wire_type, (uint8_t)rport);
    pkt_payload(&p, rnd(200));
    uint32_t bytes = (uint32_t)pkt_finish(&p);
    vigil_observe(ctx, dir, p.data, p.len, now);

    model_flow_t *f = NULL;
    for (unsigned i = 0; i < m->count; i++) {
        model_flow_t *c = &m->flows[i];
        if (c->family == family && c->proto == proto && c->remote == remote_idx &&
            c->lport == lport && c->rport == rport)
            f = c;
    }
    if (!f) {
        unsigned cap = family == 4 ? VIGIL_MAX_FLOWS_V4 : VIGIL_MAX_FLOWS_V6;
        if (m->n[family] == cap) {
            m->overflow_packets[proto][dir]++;
            m->overflow_bytes[proto][dir] += bytes;
            m->table_full++;
            return;
        }
        m->n[family]++;
        f = &m->flows[m->count++];
        memset(f, 0, sizeof *f);
        f->family = family;
        f->proto = proto;
        f->remote = remote_idx;
        f->lport = lport;
        f->rport = rport;
        f->first = offset;
        f->kind = (uint8_t)(proto | (dir == VIGIL_DIR_IN ? 0x04u : 0u));
    }
    f->packets[dir]++;
    f->bytes[dir] += bytes;
    f->last = offset;
    if ((flags & T_SYN) && (flags & T_ACK))
        f->kind |= 0x10u;
    else if (flags & T_SYN)
        f->kind = (uint8_t)((f->kind & ~0x04u) | 0x08u | (dir == VIGIL_DIR_IN ? 0x04u : 0u));
    if (flags & T_FIN)
        f->kind |= 0x20u;
    if (flags & T_RST)
        f->kind |= 0x40u;
}

static void test_random_traffic_matches_a_reference_model(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    model_t *m = calloc(1, sizeof *m);
    assert_non_null(m);
    uint32_t start = H_T0, full_total = 0;
    for (unsigned period = 0; period < 8; period++) {
        memset(m, 0, sizeof *m);
        unsigned packets = 50 + rnd(400);
        uint16_t offset = 0;
        for (unsigned i = 0; i < packets; i++) {
            offset = (uint16_t)(offset + (rnd(8) == 0));
            if (offset > 59)
                offset = 59;
            model_packet(m, ctx, offset, start + offset);
        }
        full_total += m->table_full;
        dr_report_t *r[MAX_REPORTS];
        size_t n = flush_all(ctx, start + 60, r);
        assert_int_equal(dr_counter(r[0], VIGIL_CNT_FLOW_TABLE_FULL), full_total);
        size_t total = 0, count;
        for (size_t i = 0; i < n; i++)
            total += r[i]->n_flows;
        assert_int_equal(total, m->count);
        for (unsigned i = 0; i < m->count; i++) {
            const model_flow_t *mf = &m->flows[i];
            uint8_t remote[16];
            model_remote(remote, mf->family, mf->remote);
            const dr_flow_t *f =
                h_find(r, n, mf->family, mf->proto, remote, mf->lport, mf->rport, &count);
            assert_int_equal(count, 1);
            assert_int_equal(f->kind, mf->kind);
            assert_int_equal(f->packets_in, mf->packets[VIGIL_DIR_IN]);
            assert_int_equal(f->packets_out, mf->packets[VIGIL_DIR_OUT]);
            assert_int_equal(f->bytes_in, mf->bytes[VIGIL_DIR_IN]);
            assert_int_equal(f->bytes_out, mf->bytes[VIGIL_DIR_OUT]);
            assert_int_equal(f->first_seen, mf->first);
            assert_int_equal(f->last_seen_delta, mf->last - mf->first);
        }
        unsigned entries = 0;
        for (unsigned pr = 0; pr < 3; pr++)
            for (unsigned d = 0; d < 2; d++) {
                check_overflow(r[0], pr * 2 + d, m->overflow_packets[pr][d],
                               m->overflow_bytes[pr][d]);
                entries += m->overflow_packets[pr][d] != 0;
            }
        assert_int_equal(r[0]->n_overflow, entries);
        h_free_reports(r, n);
        start += 60;
    }
    free(m);
    free(ctx);
}

static void first_fragment(pkt_t *p, uint16_t sport, uint16_t id)
{
    pkt_ipv4(p, L4, R4);
    pkt_ipv4_fragment(p, id, 0, true);
    pkt_udp(p, sport, 9999);
    pkt_payload(p, 72); /* 100 bytes */
    pkt_finish(p);
}

static void later_fragment(pkt_t *p, uint16_t id)
{
    pkt_ipv4(p, L4, R4);
    pkt_ipv4_fragment(p, id, 10, false);
    pkt_next(p, P_UDP);
    pkt_payload(p, 30); /* 50 bytes */
    pkt_finish(p);
}

static void test_more_fragmented_datagrams_than_followed_replace_the_stalest(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    pkt_t p;
    const unsigned n = VIGIL_MAX_FRAGMENTS + 1;
    assert_true(n <= VIGIL_MAX_FLOWS_V4);
    assert_true(VIGIL_MAX_FRAGMENTS >= 2);
    /* Datagram i (id 100 + i, flow port 2000 + i) starts at T0 + i. */
    for (unsigned i = 0; i + 1 < n; i++) {
        first_fragment(&p, (uint16_t)(2000 + i), (uint16_t)(100 + i));
        h_out(ctx, &p, H_T0 + i);
    }
    /* A later fragment refreshes datagram 0: datagram 1 is now the stalest. */
    later_fragment(&p, 100);
    h_out(ctx, &p, H_T0 + n);
    first_fragment(&p, (uint16_t)(2000 + n - 1), (uint16_t)(100 + n - 1));
    h_out(ctx, &p, H_T0 + n + 1);
    for (unsigned i = 0; i < n; i++) {
        later_fragment(&p, (uint16_t)(100 + i));
        h_out(ctx, &p, H_T0 + n + 2);
    }
    /* Datagram 1 was replaced: its later fragment is the only one lost. */
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_FRAGMENT_UNATTRIBUTED), 1);

    dr_report_t *r[MAX_REPORTS];
    size_t count, m = flush_all(ctx, H_T0 + 30, r);
    for (unsigned i = 0; i < n; i++) {
        const dr_flow_t *f = h_find(r, m, 4, VIGIL_PROTO_UDP, R4, 2000 + i, 9999, &count);
        assert_int_equal(count, 1);
        unsigned later = i == 0 ? 2u : i == 1 ? 0u : 1u;
        assert_int_equal(f->packets_out, 1 + later);
        assert_int_equal(f->bytes_out, 100 + 50 * later);
    }
    h_free_reports(r, m);
    free(ctx);
}

static void test_full_outbox_drops_the_oldest_reports_and_counts_them_exactly(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    pkt_t p;
    size_t count = 0, used = 0, previous[VIGIL_OUTBOX_SIZE / 8], previous_count = 0;
    uint32_t dropped = 0;
    const size_t max_len = VIGIL_MAX_MESSAGE_SIZE;
    for (uint32_t k = 0; k < 150; k++) {
        if (k % 4 == 0) {
            mk_udp4(&p, L4, R4, (uint16_t)k, 7, 0);
            h_out(ctx, &p, H_T0 + k * 60);
        }
        bool room_for_any = VIGIL_OUTBOX_SIZE - used >= 6 + max_len;
        assert_int_equal(vigil_flush(ctx, H_T0 + k * 60 + 60), VIGIL_OK);
        const uint8_t *msg;
        size_t len;
        uint32_t seq;
        size_t waiting = vigil_outbox_count(ctx);
        assert_true(waiting >= 1);
        /* The new report (one part: at most one flow) is the newest. */
        assert_int_equal(vigil_outbox_get(ctx, waiting - 1, &msg, &len, &seq), VIGIL_OK);
        assert_int_equal(seq, k);
        assert_true(len <= max_len);
        /* Nothing goes while a whole message would fit; what goes is counted
         * exactly: every report made is either waiting or counted dropped. */
        if (room_for_any)
            assert_int_equal(waiting, count + 1);
        assert_true(waiting <= count + 1);
        dropped += (uint32_t)(count + 1 - waiting);
        count = waiting;
        assert_int_equal(vigil_counter(ctx, VIGIL_CNT_OUTBOX_DROPPED), dropped);
        assert_int_equal(k + 1, count + dropped);
        /* The oldest went first: what is left is the newest, in order. */
        used = 0;
        for (size_t i = 0; i < count; i++) {
            assert_int_equal(vigil_outbox_get(ctx, i, &msg, &len, &seq), VIGIL_OK);
            assert_int_equal(seq, k + 1 - count + i);
            used += 6 + len;
        }
        /* ...and only as many as needed: keeping the last one dropped would
         * have left no room for the new report (the encoder works with up to
         * 8 bytes of slack: its `more` key and an array head's reserve). */
        if (waiting < previous_count + 1) {
            size_t last_dropped = previous[previous_count - (waiting - 1) - 1];
            assert_true(VIGIL_OUTBOX_SIZE - (used - 6 - len) - (6 + last_dropped) < 6 + len + 8);
        }
        previous_count = 0;
        for (size_t i = 0; i < count; i++) {
            assert_int_equal(vigil_outbox_get(ctx, i, &msg, &len, &seq), VIGIL_OK);
            previous[previous_count++] = len;
        }
    }
    assert_true(dropped > 0);
    dr_report_t *r[MAX_REPORTS];
    size_t n = h_reports(ctx, r, MAX_REPORTS);
    assert_int_equal(n, count);
    /* The newest report carries the count of every report dropped before it. */
    assert_int_equal(dr_counter(r[n - 1], VIGIL_CNT_OUTBOX_DROPPED), dropped);
    assert_int_equal(dr_counter(r[n - 1], VIGIL_CNT_REPORTS), 150);
    h_free_reports(r, n);
    /* Once acknowledged, the room is back and nothing more is dropped. */
    assert_int_equal(vigil_outbox_release(ctx, 149), count);
    assert_int_equal(vigil_flush(ctx, H_T0 + 150 * 60 + 60), VIGIL_OK);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_OUTBOX_DROPPED), dropped);
    free(ctx);
}

static void test_period_larger_than_a_message_is_split_into_complete_parts(void **state)
{
    (void)state;
    vigil_config_t c;
    vigil_config_default(&c);
    c.max_message_size = 512;
    vigil_ctx_t *ctx = h_new();
    h_init(ctx, H_T0, &c, NULL);
    fill_t keys4[VIGIL_MAX_FLOWS_V4], keys6[VIGIL_MAX_FLOWS_V6];
    fill_table(ctx, 4, keys4, VIGIL_MAX_FLOWS_V4);
    fill_table(ctx, 6, keys6, VIGIL_MAX_FLOWS_V6);
    const unsigned total = VIGIL_MAX_FLOWS_V4 + VIGIL_MAX_FLOWS_V6;

    dr_report_t *r[MAX_REPORTS];
    size_t n = flush_all(ctx, H_T0 + 60, r);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_OUTBOX_DROPPED), 0);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_REPORTS), n);
    if (total * 20u > 512u)
        assert_true(n > 1);
    size_t seen = 0, count;
    for (size_t i = 0; i < n; i++) {
        assert_true(r[i]->length <= 512);
        assert_int_equal(r[i]->has_part, i > 0);
        assert_int_equal(r[i]->period_start, H_T0);
        assert_int_equal(r[i]->period_end, H_T0 + 60);
        /* Every part names the local addresses its flows refer to. */
        assert_int_equal(r[i]->n_local4, 1);
        assert_int_equal(r[i]->n_local6, 1);
        /* Counters, system information and uptime: first part only. */
        assert_int_equal(r[i]->has_counters, i == 0);
        assert_int_equal(r[i]->has_uptime, i == 0);
        assert_int_equal(r[i]->has_system, i == 0);
        assert_true(r[i]->has_flows);
        seen += r[i]->n_flows;
        /* Within a part, a remote is spelled out once, then referred to. */
        for (size_t a = 0; a < r[i]->n_flows; a++) {
            const dr_flow_t *fa = &r[i]->flows[a];
            if (fa->remote_ref >= 0) {
                const dr_flow_t *target = &r[i]->flows[fa->remote_ref];
                assert_int_equal(target->remote_ref, -1);
                continue;
            }
            for (size_t b = 0; b < a; b++)
                assert_false(r[i]->flows[b].family == fa->family &&
                             memcmp(r[i]->flows[b].remote, fa->remote,
                                    fa->family == 4 ? 4u : 16u) == 0);
        }
    }
    assert_int_equal(seen, total);
    for (unsigned fam = 4; fam <= 6; fam += 2) {
        const fill_t *keys = fam == 4 ? keys4 : keys6;
        unsigned cap = fam == 4 ? VIGIL_MAX_FLOWS_V4 : VIGIL_MAX_FLOWS_V6;
        for (unsigned i = 0; i < cap; i++) {
            const fill_t *k = &keys[i];
            const dr_flow_t *f =
                h_find(r, n, (uint8_t)fam, k->proto, k->remote, k->lport, k->rport, &count);
            assert_int_equal(count, 1);
            assert_int_equal(f->packets_out, k->out);
            assert_int_equal(f->bytes_in, k->in_bytes);
        }
    }
    h_free_reports(r, n);
    free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_ipv4_table_counts_new_flows_in_overflow_per_proto_and_direction),
        cmocka_unit_test(test_full_ipv6_table_overflows_only_ipv6),
        cmocka_unit_test(test_local_address_table_full_counts_and_overflows),
        cmocka_unit_test(test_tables_fill_to_the_last_slot_and_every_flow_keeps_exact_counts),
        cmocka_unit_test(test_counter_wrap_with_no_free_slot_goes_to_overflow),
        cmocka_unit_test(test_shadow_records_share_the_table_with_other_keys_and_chains),
        cmocka_unit_test(test_random_traffic_matches_a_reference_model),
        cmocka_unit_test(test_more_fragmented_datagrams_than_followed_replace_the_stalest),
        cmocka_unit_test(test_full_outbox_drops_the_oldest_reports_and_counts_them_exactly),
        cmocka_unit_test(test_period_larger_than_a_message_is_split_into_complete_parts),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
