/*
 * test_report.c - the report encoder (report_encode.c) and its CBOR writer
 * (cbor_out.c): every key of proto/vigil.cddl, sequence numbers, parts,
 * remote back-references, local address indices, listeners, system
 * information with cut strings, counters, uptime, heartbeats, and the
 * writer's overflow paths. Everything the device writes is read back with
 * libcbor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "harness.h"

#include "cbor_out.h"
#include "report_encode.h"

#define MAX_REPORTS 64u

static uint8_t L4[4], L4b[4], R4[4], R4b[4], L6[16], L6b[16], R6[16], R6b[16];

static int setup(void **state)
{
    (void)state;
    addr4(L4, 10, 0, 0, 2);
    addr4(L4b, 10, 0, 0, 3);
    addr4(R4, 93, 184, 216, 34);
    addr4(R4b, 93, 184, 216, 35);
    addr6(L6, 0, 2);
    addr6(L6b, 0, 3);
    addr6(R6, 0xbeef, 34);
    addr6(R6b, 0xbeef, 35);
    return 0;
}

/* ---- listeners and system information, as a port adapter gives them ---- */

typedef struct {
    const vigil_listener_t *items;
    size_t n;
} listener_source_t;

static bool listener_at(void *arg, size_t index, vigil_listener_t *out)
{
    const listener_source_t *s = arg;
    if (index >= s->n)
        return false;
    *out = s->items[index];
    return true;
}

static vigil_listener_t listener(uint8_t proto, uint8_t family, uint16_t port,
                                 const uint8_t *addr)
{
    vigil_listener_t l;
    memset(&l, 0, sizeof l);
    l.proto = proto;
    l.family = family;
    l.port = port;
    if (addr)
        memcpy(l.addr, addr, family == 4 ? 4u : 16u);
    return l;
}

/* ---- header, sequence, heartbeat, uptime, counters ---- */

static void test_report_header_carries_identity_period_interval_and_uptime(void **state)
{
    (void)state;
    vigil_config_t c;
    vigil_config_default(&c);
    c.report_interval_s = 30;
    vigil_ctx_t *ctx = h_new();
    h_init(ctx, H_T0, &c, NULL);
    assert_int_equal(vigil_poll(ctx, H_T0 + 30), VIGIL_OK);
    dr_report_t *r[MAX_REPORTS];
    assert_int_equal(h_reports(ctx, r, MAX_REPORTS), 1);
    assert_int_equal(r[0]->version, 1);
    assert_string_equal(r[0]->device_id, H_DEVICE_ID);
    assert_int_equal(r[0]->boot_id, H_BOOT_ID);
    assert_int_equal(r[0]->seq, 0);
    assert_int_equal(r[0]->period_start, H_T0);
    assert_int_equal(r[0]->period_end, H_T0 + 30);
    assert_int_equal(r[0]->interval, 30);
    assert_false(r[0]->has_part);
    assert_false(r[0]->more);
    assert_true(r[0]->has_uptime);
    assert_int_equal(r[0]->uptime, 30);
    /* An empty period is still a report: a heartbeat. */
    assert_false(r[0]->has_flows);
    assert_false(r[0]->has_local);
    assert_false(r[0]->has_listeners);
    assert_false(r[0]->has_overflow);
    assert_true(r[0]->has_system); /* the first period always carries it */
    assert_true(r[0]->has_counters);
    assert_int_equal(dr_counter(r[0], VIGIL_CNT_REPORTS), 1);
    /* Keys 0-6, system, counters, uptime. */
    assert_int_equal(r[0]->keys, 10);
    h_free_reports(r, 1);
    free(ctx);
}

static void test_seq_and_reports_counter_advance_by_one_per_report(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    uint32_t end = H_T0;
    for (uint32_t k = 0; k < 30; k++) {
        uint32_t start = end;
        end += 60 + k;
        dr_report_t *r = h_flush_one(ctx, end);
        assert_int_equal(r->seq, k);
        assert_int_equal(dr_counter(r, VIGIL_CNT_REPORTS), k + 1);
        assert_int_equal(r->period_start, start);
        assert_int_equal(r->period_end, end);
        assert_int_equal(r->uptime, end - H_T0);
        free(r);
    }
    free(ctx);
}

static void test_counters_map_omits_zero_counters(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    vigil_count(ctx, VIGIL_CNT_FOREIGN_PACKET);
    vigil_count(ctx, VIGIL_CNT_FOREIGN_PACKET);
    vigil_count(ctx, VIGIL_CNT_FOREIGN_PACKET);
    vigil_count(ctx, VIGIL_CNT_CAPTURE_DROPPED);
    dr_report_t *r = h_flush_one(ctx, H_T0 + 60);
    unsigned present = 0;
    for (unsigned i = 0; i < DR_MAX_COUNTERS; i++)
        present += r->counter_present[i];
    assert_int_equal(present, 3);
    assert_int_equal(dr_counter(r, VIGIL_CNT_FOREIGN_PACKET), 3);
    assert_int_equal(dr_counter(r, VIGIL_CNT_CAPTURE_DROPPED), 1);
    assert_int_equal(dr_counter(r, VIGIL_CNT_REPORTS), 1);
    free(r);
    free(ctx);
}

/* ---- flows: back-references and local address indices ---- */

static void test_remote_back_references_point_to_the_earlier_flow_in_the_same_report(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    pkt_t p;
    static const uint16_t ports[] = {1, 2, 3, 4};
    for (size_t i = 0; i < 4; i++) {
        mk_udp4(&p, L4, R4, ports[i], 53, 0);
        h_out(ctx, &p, H_T0);
        mk_udp6(&p, L6, R6, ports[i], 53, 0);
        h_out(ctx, &p, H_T0);
    }
    mk_udp4(&p, L4, R4b, 9, 53, 0);
    h_out(ctx, &p, H_T0);
    mk_tcp6(&p, R6b, L6, 9, 80, T_SYN, 0);
    h_in(ctx, &p, H_T0);
    dr_report_t *r = h_flush_one(ctx, H_T0 + 1);
    assert_int_equal(r->n_flows, 10);
    unsigned literal[4] = {0, 0, 0, 0}, refs = 0;
    for (size_t i = 0; i < r->n_flows; i++) {
        const dr_flow_t *f = &r->flows[i];
        const uint8_t *remotes[4] = {R4, R4b, R6, R6b};
        int which = -1;
        for (int k = 0; k < 4; k++)
            if (f->family == (k < 2 ? 4 : 6) &&
                memcmp(f->remote, remotes[k], f->family == 4 ? 4u : 16u) == 0)
                which = k;
        assert_true(which >= 0);
        if (f->remote_ref < 0) {
            literal[which]++;
        } else {
            refs++;
            /* The reference names the first flow with that remote. */
            const dr_flow_t *t = &r->flows[f->remote_ref];
            assert_int_equal(t->remote_ref, -1);
            for (long j = 0; j < f->remote_ref; j++)
                assert_false(r->flows[j].family == f->family &&
                             memcmp(r->flows[j].remote, f->remote, 16) == 0);
        }
    }
    for (int k = 0; k < 4; k++)
        assert_int_equal(literal[k], 1);
    assert_int_equal(refs, 6);
    free(r);

    /* A new report spells the remote out again. */
    mk_udp4(&p, L4, R4, 1, 53, 0);
    h_out(ctx, &p, H_T0 + 2);
    r = h_flush_one(ctx, H_T0 + 3);
    assert_int_equal(r->n_flows, 1);
    assert_int_equal(r->flows[0].remote_ref, -1);
    assert_memory_equal(r->flows[0].remote, R4, 4);
    free(r);
    free(ctx);
}

static void test_flows_carry_the_index_of_their_local_address(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    pkt_t p;
    mk_udp6(&p, R6, L6b, 1, 5, 0); /* L6b learned first: index 0 */
    h_in(ctx, &p, H_T0);
    mk_udp4(&p, L4, R4, 1, 2, 0);
    h_out(ctx, &p, H_T0);
    mk_udp4(&p, L4b, R4, 11, 2, 0);
    h_out(ctx, &p, H_T0);
    mk_udp6(&p, L6, R6, 2, 1, 0);
    h_out(ctx, &p, H_T0);
    mk_udp6(&p, L6b, R6, 3, 1, 0);
    h_out(ctx, &p, H_T0);
    dr_report_t *r = h_flush_one(ctx, H_T0 + 1);
    assert_int_equal(r->n_local, 4);
    assert_int_equal(r->n_local4, 2);
    assert_int_equal(r->n_local6, 2);
    assert_int_equal(r->n_flows, 5);
    for (size_t i = 0; i < r->n_flows; i++) {
        const dr_flow_t *f = &r->flows[i];
        unsigned idx = (unsigned)(f->kind >> 7);
        const uint8_t *expect;
        unsigned expect_idx;
        if (f->family == 4) {
            bool b = f->local_port == 11;
            expect = b ? L4b : L4;
            expect_idx = b ? 1u : 0u;
        } else {
            bool b = f->local_port != 2;
            expect = b ? L6b : L6;
            expect_idx = b ? 0u : 1u;
        }
        assert_int_equal(idx, expect_idx);
        assert_memory_equal(dr_flow_local(r, f), expect, f->family == 4 ? 4u : 16u);
    }
    /* Learned order: IPv4 in order of first sight, then IPv6. */
    assert_memory_equal(r->local[0], L4, 4);
    assert_memory_equal(r->local[1], L4b, 4);
    assert_memory_equal(r->local[2], L6b, 16);
    assert_memory_equal(r->local[3], L6, 16);
    free(r);
    free(ctx);
}

/* ---- listeners ---- */

static void test_listeners_any_address_and_bound_and_invalid(void **state)
{
    (void)state;
    vigil_listener_t items[6];
    items[0] = listener(VIGIL_PROTO_TCP, 4, 80, NULL);
    items[1] = listener(VIGIL_PROTO_UDP, 4, 5683, L4);
    items[2] = listener(VIGIL_PROTO_ICMP, 4, 1, NULL); /* invalid proto */
    items[3] = listener(VIGIL_PROTO_TCP, 6, 22, L6);
    items[4] = listener(VIGIL_PROTO_UDP, 5, 9, NULL); /* invalid family */
    items[5] = listener(VIGIL_PROTO_UDP, 6, 546, NULL);
    listener_source_t src = {items, 6};
    vigil_port_t port = {listener_at, NULL, &src};
    vigil_ctx_t *ctx = h_new();
    h_init(ctx, H_T0, NULL, &port);
    dr_report_t *r = h_flush_one(ctx, H_T0 + 60);
    assert_true(r->has_listeners);
    assert_int_equal(r->n_listeners, 4);
    const dr_listener_t *l = r->listeners;
    assert_int_equal(l[0].proto, 0);
    assert_int_equal(l[0].family, 4);
    assert_int_equal(l[0].port, 80);
    assert_false(l[0].addr_present);
    assert_int_equal(l[1].proto, 1);
    assert_int_equal(l[1].port, 5683);
    assert_true(l[1].addr_present);
    assert_int_equal(l[1].addr_len, 4);
    assert_memory_equal(l[1].addr, L4, 4);
    assert_int_equal(l[2].proto, 0);
    assert_int_equal(l[2].family, 6);
    assert_int_equal(l[2].port, 22);
    assert_int_equal(l[2].addr_len, 16);
    assert_memory_equal(l[2].addr, L6, 16);
    assert_int_equal(l[3].proto, 1);
    assert_int_equal(l[3].family, 6);
    assert_int_equal(l[3].port, 546);
    assert_false(l[3].addr_present);
    /* Each invalid listener is counted, once per period. */
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_BAD_ARGUMENT), 2);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_LISTENERS_TRUNCATED), 0);
    free(r);
    r = h_flush_one(ctx, H_T0 + 120);
    assert_int_equal(r->n_listeners, 4);
    assert_int_equal(dr_counter(r, VIGIL_CNT_BAD_ARGUMENT), 2);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_BAD_ARGUMENT), 4);
    free(r);
    free(ctx);
}

static void test_listeners_beyond_the_maximum_are_counted_as_truncated(void **state)
{
    (void)state;
    const size_t n = VIGIL_MAX_LISTENERS + 5;
    vigil_listener_t *items = calloc(n, sizeof *items);
    assert_non_null(items);
    for (size_t i = 0; i < n; i++)
        items[i] = listener(VIGIL_PROTO_TCP, 4, (uint16_t)(1000 + i), NULL);
    listener_source_t src = {items, n};
    vigil_port_t port = {listener_at, NULL, &src};
    vigil_ctx_t *ctx = h_new();
    h_init(ctx, H_T0, NULL, &port);
    dr_report_t *r = h_flush_one(ctx, H_T0 + 60);
    assert_int_equal(r->n_listeners, VIGIL_MAX_LISTENERS);
    for (size_t i = 0; i < VIGIL_MAX_LISTENERS; i++)
        assert_int_equal(r->listeners[i].port, 1000 + i);
    assert_int_equal(dr_counter(r, VIGIL_CNT_LISTENERS_TRUNCATED), 5);
    free(r);
    r = h_flush_one(ctx, H_T0 + 120);
    assert_int_equal(dr_counter(r, VIGIL_CNT_LISTENERS_TRUNCATED), 10);
    free(r);
    free(ctx);
    free(items);
}

static bool endless_listeners(void *arg, size_t index, vigil_listener_t *out)
{
    (void)arg;
    memset(out, 0, sizeof *out);
    out->proto = VIGIL_PROTO_TCP;
    out->family = 4;
    out->port = (uint16_t)index;
    return true;
}

static void test_a_port_with_endless_listeners_is_counted_up_to_a_bound(void **state)
{
    (void)state;
    vigil_port_t port = {endless_listeners, NULL, NULL};
    vigil_ctx_t *ctx = h_new();
    h_init(ctx, H_T0, NULL, &port);
    dr_report_t *r = h_flush_one(ctx, H_T0 + 60);
    assert_int_equal(r->n_listeners, VIGIL_MAX_LISTENERS);
    /* vigil.c counts at most 4096 listeners past the maximum per period. */
    assert_int_equal(dr_counter(r, VIGIL_CNT_LISTENERS_TRUNCATED), 4096);
    free(r);
    free(ctx);
}

static void test_listeners_split_across_parts_keep_their_order(void **state)
{
    (void)state;
    const size_t n = VIGIL_MAX_LISTENERS;
    vigil_listener_t *items = calloc(n, sizeof *items);
    assert_non_null(items);
    for (size_t i = 0; i < n; i++) {
        uint8_t a[16];
        addr6(a, 0x77, (uint16_t)i);
        items[i] = listener(VIGIL_PROTO_UDP, 6, (uint16_t)(2000 + i), a);
    }
    listener_source_t src = {items, n};
    vigil_port_t port = {listener_at, NULL, &src};
    vigil_config_t c;
    vigil_config_default(&c);
    c.max_message_size = 512;
    vigil_ctx_t *ctx = h_new();
    h_init(ctx, H_T0, &c, &port);
    pkt_t p;
    mk_udp4(&p, L4, R4, 1, 2, 0);
    h_out(ctx, &p, H_T0);
    assert_int_equal(vigil_flush(ctx, H_T0 + 60), VIGIL_OK);
    dr_report_t *r[MAX_REPORTS];
    size_t m = h_reports(ctx, r, MAX_REPORTS);
    /* 32 listeners of 23 bytes cannot share 512 bytes with a header. */
    if (n * 23 > 512)
        assert_true(m > 1);
    size_t next = 0;
    for (size_t i = 0; i < m; i++) {
        assert_true(r[i]->length <= 512);
        assert_int_equal(r[i]->part, i);
        assert_int_equal(r[i]->more, i + 1 < m);
        /* The flow comes first, in part 0. */
        assert_int_equal(r[i]->n_flows, i == 0 ? 1u : 0u);
        for (size_t j = 0; j < r[i]->n_listeners; j++) {
            uint8_t a[16];
            addr6(a, 0x77, (uint16_t)next);
            assert_int_equal(r[i]->listeners[j].port, 2000 + next);
            assert_memory_equal(r[i]->listeners[j].addr, a, 16);
            next++;
        }
    }
    assert_int_equal(next, n);
    h_free_reports(r, m);
    free(ctx);
    free(items);
}

/* ---- system information ---- */

static void test_system_information_every_n_periods(void **state)
{
    (void)state;
    vigil_sysinfo_t si;
    memset(&si, 0, sizeof si);
    si.os_name = "Zephyr";
    si.boot_time = 12345678;
    vigil_port_t port = {NULL, &si, NULL};
    vigil_config_t c;
    vigil_config_default(&c);
    c.sysinfo_every = 3;
    vigil_ctx_t *ctx = h_new();
    h_init(ctx, H_T0, &c, &port);
    for (uint32_t k = 0; k < 7; k++) {
        dr_report_t *r = h_flush_one(ctx, H_T0 + 60 * (k + 1));
        assert_int_equal(r->has_system, k % 3 == 0);
        if (r->has_system) {
            assert_true(r->sys_present[0]);
            assert_string_equal(r->sys[0], "Zephyr");
            assert_string_equal(r->sys[4], VIGIL_VERSION);
            assert_true(r->sys_present[7]);
            assert_int_equal(r->boot_time, 12345678);
            for (unsigned key = 1; key <= 6; key++)
                assert_int_equal(r->sys_present[key], key == 4);
        }
        free(r);
    }
    /* Without the collector, never. */
    c.collectors = VIGIL_COLLECT_NETWORK | VIGIL_COLLECT_LISTENERS;
    assert_int_equal(vigil_configure(ctx, &c), VIGIL_OK);
    for (uint32_t k = 7; k < 10; k++) {
        dr_report_t *r = h_flush_one(ctx, H_T0 + 60 * (k + 1));
        assert_false(r->has_system);
        free(r);
    }
    free(ctx);
}

static void test_system_strings_are_cut_at_a_utf8_boundary_and_at_invalid_bytes(void **state)
{
    (void)state;
    char long_ascii[VIGIL_MAX_STRING + 20];
    memset(long_ascii, 'o', sizeof long_ascii - 1);
    long_ascii[sizeof long_ascii - 1] = '\0';
    /* A 2-, 3- and 4-byte character each straddling the limit. */
    char two[VIGIL_MAX_STRING + 8], three[VIGIL_MAX_STRING + 8];
    char four_cut[VIGIL_MAX_STRING + 8], four[VIGIL_MAX_STRING + 8];
    memset(two, 'v', VIGIL_MAX_STRING - 1);
    strcpy(two + VIGIL_MAX_STRING - 1, "\xc3\xa9");
    memset(three, 's', VIGIL_MAX_STRING - 2);
    strcpy(three + VIGIL_MAX_STRING - 2, "\xe2\x82\xac");
    memset(four_cut, 'f', VIGIL_MAX_STRING - 3);
    strcpy(four_cut + VIGIL_MAX_STRING - 3, "\xf0\x9f\x98\x80");
    vigil_sysinfo_t si;
    memset(&si, 0, sizeof si);
    si.os_name = long_ascii;
    si.os_version = two;
    si.stack_name = three;
    si.stack_version = "ab\xff" "cd";          /* invalid byte */
    si.device_model = "x\xed\xa0\x80y";        /* a surrogate */
    si.firmware_version = "\xc0\xaf" "1.0";    /* an overlong form */
    vigil_port_t port = {NULL, &si, NULL};
    vigil_ctx_t *ctx = h_new();
    h_init(ctx, H_T0, NULL, &port);
    dr_report_t *r = h_flush_one(ctx, H_T0 + 60);
    assert_true(r->has_system);
    assert_int_equal(strlen(r->sys[0]), VIGIL_MAX_STRING);
    assert_memory_equal(r->sys[0], long_ascii, VIGIL_MAX_STRING);
    assert_int_equal(strlen(r->sys[1]), VIGIL_MAX_STRING - 1);
    assert_memory_equal(r->sys[1], two, VIGIL_MAX_STRING - 1);
    assert_int_equal(strlen(r->sys[2]), VIGIL_MAX_STRING - 2);
    assert_string_equal(r->sys[3], "ab");
    assert_string_equal(r->sys[5], "x");
    assert_string_equal(r->sys[6], "");
    assert_false(r->sys_present[7]); /* boot_time 0 means unknown */
    free(r);
    /* A character that ends exactly at the limit is kept whole. */
    memset(four, 'f', VIGIL_MAX_STRING - 4);
    strcpy(four + VIGIL_MAX_STRING - 4, "\xf0\x9f\x98\x80");
    assert_int_equal(strlen(four), VIGIL_MAX_STRING);
    si.os_name = four;
    si.os_version = four_cut;
    vigil_config_t c;
    vigil_config_default(&c);
    c.sysinfo_every = 1;
    assert_int_equal(vigil_configure(ctx, &c), VIGIL_OK);
    r = h_flush_one(ctx, H_T0 + 120);
    assert_string_equal(r->sys[0], four);
    assert_int_equal(strlen(r->sys[1]), VIGIL_MAX_STRING - 3);
    assert_memory_equal(r->sys[1], four_cut, VIGIL_MAX_STRING - 3);
    free(r);
    free(ctx);
}

static void test_system_without_port_carries_only_the_agent_version(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    dr_report_t *r = h_flush_one(ctx, H_T0 + 60);
    assert_true(r->has_system);
    for (unsigned k = 0; k < 8; k++)
        assert_int_equal(r->sys_present[k], k == 4);
    assert_string_equal(r->sys[4], VIGIL_VERSION);
    free(r);
    free(ctx);
}

static void test_utf8_prefix_of_strings(void **state)
{
    (void)state;
    assert_int_equal(report_utf8_prefix("", 10), 0);
    assert_int_equal(report_utf8_prefix("abc", 10), 3);
    assert_int_equal(report_utf8_prefix("abc", 2), 2);
    assert_int_equal(report_utf8_prefix("\xc3\xa9", 1), 0);
    assert_int_equal(report_utf8_prefix("\xc3\xa9", 2), 2);
    assert_int_equal(report_utf8_prefix("a\xc3", 5), 1);       /* cut short */
    assert_int_equal(report_utf8_prefix("a\x80", 5), 1);       /* lone continuation */
    assert_int_equal(report_utf8_prefix("a\xc1\x81", 5), 1);   /* overlong 2-byte */
    assert_int_equal(report_utf8_prefix("\xe0\x9f\xbf", 5), 0);/* overlong 3-byte */
    assert_int_equal(report_utf8_prefix("\xed\x9f\xbf", 5), 3);/* U+D7FF */
    assert_int_equal(report_utf8_prefix("\xed\xa0\x80", 5), 0);/* U+D800 */
    assert_int_equal(report_utf8_prefix("\xf0\x8f\xbf\xbf", 5), 0);
    assert_int_equal(report_utf8_prefix("\xf4\x8f\xbf\xbf", 5), 4); /* U+10FFFF */
    assert_int_equal(report_utf8_prefix("\xf4\x90\x80\x80", 5), 0);
    assert_int_equal(report_utf8_prefix("\xf5\x80\x80\x80", 5), 0);
    assert_int_equal(report_utf8_prefix("\xe2\x82\xac!", 3), 3);
    assert_int_equal(report_utf8_prefix("\xe2\x82\xac!", 2), 0);
}

/* ---- report_encode_part directly ---- */

static void test_encode_part_refuses_a_buffer_too_small_for_any_report(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    uint8_t *buf = malloc(20);
    assert_non_null(buf);
    memset(buf, 0x5a, 20);
    report_cursor_t cur;
    memset(&cur, 0, sizeof cur);
    size_t len = 12345;
    for (size_t cap = 0; cap < 20; cap++)
        assert_int_equal(report_encode_part(ctx, &cur, H_T0 + 1, 0, buf, cap, &len),
                         VIGIL_ERR_NOSPACE);
    assert_int_equal(len, 12345);
    assert_int_equal(cur.part, 0);
    assert_false(cur.done);
    /* Nothing is kept of a part that does not fit (bytes past the capacity
     * are never touched; within it, scratch writes are allowed). */
    free(buf);
    free(ctx);
}

static void test_encode_part_refuses_a_header_that_does_not_fit(void **state)
{
    (void)state;
    char id[VIGIL_DEVICE_ID_MAX + 1];
    memset(id, 'd', VIGIL_DEVICE_ID_MAX);
    id[VIGIL_DEVICE_ID_MAX] = '\0';
    vigil_setup_t s;
    memset(&s, 0, sizeof s);
    s.device_id = id;
    s.boot_id = 0xffffffffu;
    s.now = 0xfffffff0u;
    vigil_config_default(&s.config);
    vigil_ctx_t *ctx = h_new();
    assert_int_equal(vigil_init(ctx, &s), VIGIL_OK);
    uint8_t *buf = malloc(64);
    assert_non_null(buf);
    report_cursor_t cur;
    memset(&cur, 0, sizeof cur);
    size_t len = 0;
    /* The device id alone takes more than 32 bytes, the header > 62. */
    assert_int_equal(report_encode_part(ctx, &cur, 0xfffffff8u, 0xfffffff0u, buf, 64, &len),
                     VIGIL_ERR_NOSPACE);
    assert_int_equal(cur.part, 0);
    free(buf);
    free(ctx);
}

/* Encodes one period with every capacity from 64 up into exactly-sized heap
 * buffers: never past the buffer, every part valid, every item once. */
static void test_encode_part_fits_any_capacity_or_says_nospace(void **state)
{
    (void)state;
    vigil_listener_t items[5];
    for (size_t i = 0; i < 5; i++)
        items[i] = listener(VIGIL_PROTO_TCP, i % 2 ? 6 : 4, (uint16_t)(700 + i),
                            i % 2 ? L6 : NULL);
    listener_source_t src = {items, 5};
    vigil_port_t port = {listener_at, NULL, &src};
    vigil_ctx_t *ctx = h_new();
    h_init(ctx, H_T0, NULL, &port);
    pkt_t p;
    for (uint16_t i = 0; i < 6; i++) {
        mk_udp4(&p, L4, i % 2 ? R4 : R4b, (uint16_t)(100 + i), 53, i);
        h_out(ctx, &p, H_T0 + i);
        mk_tcp6(&p, i % 3 ? R6 : R6b, L6, 443, (uint16_t)(200 + i), T_SYN, i);
        h_in(ctx, &p, H_T0 + i);
    }
    unsigned succeeded = 0;
    for (size_t cap = 64; cap <= 700; cap++) {
        report_cursor_t cur;
        memset(&cur, 0, sizeof cur);
        size_t flows = 0, listeners = 0;
        bool ok = true;
        for (uint32_t part = 0; !cur.done; part++) {
            assert_true(part < 64);
            uint8_t *buf = malloc(cap);
            assert_non_null(buf);
            size_t len = 0;
            vigil_err_t err = report_encode_part(ctx, &cur, H_T0 + 60, part, buf, cap, &len);
            if (err != VIGIL_OK) {
                assert_int_equal(err, VIGIL_ERR_NOSPACE);
                free(buf);
                ok = false;
                break;
            }
            assert_true(len <= cap);
            dr_report_t *r = dr_decode(buf, len);
            assert_int_equal(r->part, part);
            assert_int_equal(r->more, !cur.done);
            assert_int_equal(r->has_counters, part == 0);
            for (size_t j = 0; j < r->n_flows; j++) {
                const dr_flow_t *f = &r->flows[j];
                size_t port_of = f->family == 4 ? f->local_port - 100 : f->local_port - 200;
                assert_true(port_of < 6);
                assert_true(f->family == 4 ? f->packets_out == 1 : f->packets_in == 1);
            }
            for (size_t j = 0; j < r->n_listeners; j++)
                assert_int_equal(r->listeners[j].port, 700 + listeners + j);
            flows += r->n_flows;
            listeners += r->n_listeners;
            free(r);
            free(buf);
        }
        if (ok) {
            assert_int_equal(flows, 12);
            assert_int_equal(listeners, 5);
            succeeded++;
        } else {
            /* Refusal is for tiny buffers only. */
            assert_true(cap < 200);
        }
    }
    assert_true(succeeded >= 700 - 200 + 1);
    free(ctx);
}

/* ---- cbor_out ---- */

static void test_cbor_heads_use_the_shortest_form(void **state)
{
    (void)state;
    static const struct {
        uint64_t v;
        size_t size;
        cbor_int_width width;
    } cases[] = {
        {0, 1, CBOR_INT_8},           {23, 1, CBOR_INT_8},
        {24, 2, CBOR_INT_8},          {255, 2, CBOR_INT_8},
        {256, 3, CBOR_INT_16},        {65535, 3, CBOR_INT_16},
        {65536, 5, CBOR_INT_32},      {0xffffffffu, 5, CBOR_INT_32},
        {0x100000000u, 9, CBOR_INT_64}, {UINT64_MAX, 9, CBOR_INT_64},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t buf[16];
        cbor_out_t w;
        cbor_out_init(&w, buf, sizeof buf);
        cbor_put_uint(&w, cases[i].v);
        assert_false(w.overflow);
        assert_int_equal(w.pos, cases[i].size);
        assert_int_equal(cbor_head_size(cases[i].v), cases[i].size);
        struct cbor_load_result res;
        cbor_item_t *item = cbor_load(buf, w.pos, &res);
        assert_non_null(item);
        assert_int_equal(res.read, w.pos);
        assert_true(cbor_isa_uint(item));
        assert_true(cbor_get_int(item) == cases[i].v);
        assert_int_equal(cbor_int_get_width(item), cases[i].width);
        cbor_decref(&item);
    }
}

static void test_cbor_strings_true_and_containers_decode(void **state)
{
    (void)state;
    uint8_t buf[128];
    cbor_out_t w;
    cbor_out_init(&w, buf, sizeof buf);
    cbor_put_head(&w, CBOR_MAJOR_MAP, 3);
    cbor_put_uint(&w, 1);
    cbor_put_text(&w, "h\xc3\xa9", 3);
    cbor_put_uint(&w, 2);
    static const uint8_t bytes[30] = {1, 2, 3};
    cbor_put_bytes(&w, bytes, sizeof bytes);
    cbor_put_uint(&w, 3);
    cbor_put_head(&w, CBOR_MAJOR_ARRAY, 2);
    cbor_put_true(&w);
    cbor_put_bytes(&w, NULL, 0);
    assert_false(w.overflow);
    struct cbor_load_result res;
    cbor_item_t *m = cbor_load(buf, w.pos, &res);
    assert_non_null(m);
    assert_int_equal(res.read, w.pos);
    assert_int_equal(cbor_map_size(m), 3);
    struct cbor_pair *pairs = cbor_map_handle(m);
    assert_int_equal(cbor_string_length(pairs[0].value), 3);
    assert_memory_equal(cbor_string_handle(pairs[0].value), "h\xc3\xa9", 3);
    assert_int_equal(cbor_bytestring_length(pairs[1].value), 30);
    assert_memory_equal(cbor_bytestring_handle(pairs[1].value), bytes, 30);
    cbor_item_t **a = cbor_array_handle(pairs[2].value);
    assert_true(cbor_is_bool(a[0]) && cbor_get_bool(a[0]));
    assert_int_equal(cbor_bytestring_length(a[1]), 0);
    cbor_decref(&m);
}

/* Runs one write into a buffer with `room` bytes left; checks that it sets
 * overflow, writes nothing and keeps the position when it does not fit. */
enum { W_UINT, W_HEAD, W_BYTES, W_TEXT, W_TRUE };

static void write_one(cbor_out_t *w, int what)
{
    static const uint8_t data[40] = {0};
    switch (what) {
    case W_UINT:
        cbor_put_uint(w, 70000); /* 5 bytes */
        break;
    case W_HEAD:
        cbor_put_head(w, CBOR_MAJOR_ARRAY, 300); /* 3 bytes */
        break;
    case W_BYTES:
        cbor_put_bytes(w, data, 30); /* 2 + 30 bytes */
        break;
    case W_TEXT:
        cbor_put_text(w, "abcdefghij", 10); /* 1 + 10 bytes */
        break;
    default:
        cbor_put_true(w); /* 1 byte */
        break;
    }
}

static void test_cbor_every_put_sets_overflow_and_writes_nothing_when_full(void **state)
{
    (void)state;
    static const size_t need[] = {5, 3, 32, 11, 1};
    for (int what = W_UINT; what <= W_TRUE; what++) {
        for (size_t room = 0; room < need[what]; room++) {
            uint8_t buf[64];
            memset(buf, 0xee, sizeof buf);
            cbor_out_t w;
            cbor_out_init(&w, buf, 4 + room);
            w.pos = 4;
            write_one(&w, what);
            assert_true(w.overflow);
            assert_int_equal(w.pos, 4);
            for (size_t i = 0; i < sizeof buf; i++)
                assert_int_equal(buf[i], 0xee);
        }
        /* Exactly enough room: written, no overflow. */
        uint8_t buf[64];
        cbor_out_t w;
        cbor_out_init(&w, buf, need[what]);
        write_one(&w, what);
        assert_false(w.overflow);
        assert_int_equal(w.pos, need[what]);
        /* Once overflowed, even a write that would fit writes nothing. */
        cbor_out_init(&w, buf, sizeof buf);
        w.overflow = true;
        memset(buf, 0xee, sizeof buf);
        write_one(&w, what);
        assert_int_equal(w.pos, 0);
        assert_int_equal(buf[0], 0xee);
    }
}

static void check_array(const uint8_t *buf, size_t len, size_t count)
{
    struct cbor_load_result res;
    cbor_item_t *a = cbor_load(buf, len, &res);
    assert_non_null(a);
    assert_int_equal(res.read, len);
    assert_true(cbor_isa_array(a));
    assert_int_equal(cbor_array_size(a), count);
    cbor_item_t **items = cbor_array_handle(a);
    for (size_t i = 0; i < count; i++)
        assert_int_equal(cbor_get_int(items[i]), i % 100);
    cbor_decref(&a);
}

static void test_cbor_patch_head_shrinks_the_reservation(void **state)
{
    (void)state;
    static const size_t counts[] = {0, 5, 23, 24, 30, 255, 256, 300};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        size_t n = counts[c];
        size_t cap = 8 + 3 + 2 * n;
        uint8_t *buf = malloc(cap);
        assert_non_null(buf);
        cbor_out_t w;
        cbor_out_init(&w, buf, cap);
        cbor_put_uint(&w, 7); /* something before the array */
        size_t at = w.pos;
        w.pos += 3;
        for (size_t i = 0; i < n; i++)
            cbor_put_uint(&w, i % 100);
        assert_false(w.overflow);
        size_t before = w.pos;
        cbor_patch_head(&w, at, 3, CBOR_MAJOR_ARRAY, n);
        size_t head = n < 24 ? 1u : n < 256 ? 2u : 3u;
        assert_int_equal(w.pos, before - (3 - head));
        assert_int_equal(buf[0], 7);
        check_array(buf + 1, w.pos - 1, n);
        free(buf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_header_carries_identity_period_interval_and_uptime),
        cmocka_unit_test(test_seq_and_reports_counter_advance_by_one_per_report),
        cmocka_unit_test(test_counters_map_omits_zero_counters),
        cmocka_unit_test(test_remote_back_references_point_to_the_earlier_flow_in_the_same_report),
        cmocka_unit_test(test_flows_carry_the_index_of_their_local_address),
        cmocka_unit_test(test_listeners_any_address_and_bound_and_invalid),
        cmocka_unit_test(test_listeners_beyond_the_maximum_are_counted_as_truncated),
        cmocka_unit_test(test_a_port_with_endless_listeners_is_counted_up_to_a_bound),
        cmocka_unit_test(test_listeners_split_across_parts_keep_their_order),
        cmocka_unit_test(test_system_information_every_n_periods),
        cmocka_unit_test(test_system_strings_are_cut_at_a_utf8_boundary_and_at_invalid_bytes),
        cmocka_unit_test(test_system_without_port_carries_only_the_agent_version),
        cmocka_unit_test(test_utf8_prefix_of_strings),
        cmocka_unit_test(test_encode_part_refuses_a_buffer_too_small_for_any_report),
        cmocka_unit_test(test_encode_part_refuses_a_header_that_does_not_fit),
        cmocka_unit_test(test_encode_part_fits_any_capacity_or_says_nospace),
        cmocka_unit_test(test_cbor_heads_use_the_shortest_form),
        cmocka_unit_test(test_cbor_strings_true_and_containers_decode),
        cmocka_unit_test(test_cbor_every_put_sets_overflow_and_writes_nothing_when_full),
        cmocka_unit_test(test_cbor_patch_head_shrinks_the_reservation),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
