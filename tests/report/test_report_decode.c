/*
 * test_report_decode.c - the strict report decoder (analyzer/report.c) and
 * its JSON form. Reports are built here byte by byte with a tiny CBOR writer,
 * so every malformation can be made on purpose.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report.h"
#include "report_json.h"

/* ---- a tiny CBOR writer ---- */

typedef struct {
    uint8_t b[70000];
    size_t n;
} buf_t;

static void head(buf_t *w, unsigned major, uint64_t v)
{
    uint8_t m = (uint8_t)(major << 5);
    if (v < 24) {
        w->b[w->n++] = (uint8_t)(m | v);
    } else if (v <= 0xff) {
        w->b[w->n++] = m | 24;
        w->b[w->n++] = (uint8_t)v;
    } else if (v <= 0xffff) {
        w->b[w->n++] = m | 25;
        w->b[w->n++] = (uint8_t)(v >> 8);
        w->b[w->n++] = (uint8_t)v;
    } else if (v <= 0xffffffffu) {
        w->b[w->n++] = m | 26;
        for (int s = 24; s >= 0; s -= 8)
            w->b[w->n++] = (uint8_t)(v >> s);
    } else {
        w->b[w->n++] = m | 27;
        for (int s = 56; s >= 0; s -= 8)
            w->b[w->n++] = (uint8_t)(v >> s);
    }
}
static void u(buf_t *w, uint64_t v) { head(w, 0, v); }
static void bytes(buf_t *w, const void *p, size_t n)
{
    head(w, 2, n);
    memcpy(w->b + w->n, p, n);
    w->n += n;
}
static void text(buf_t *w, const char *s)
{
    head(w, 3, strlen(s));
    memcpy(w->b + w->n, s, strlen(s));
    w->n += strlen(s);
}
static void arr(buf_t *w, uint64_t n) { head(w, 4, n); }
static void map(buf_t *w, uint64_t n) { head(w, 5, n); }

static const uint8_t V4_LOCAL[4] = {192, 0, 2, 1};
static const uint8_t V4_REMOTE[4] = {198, 51, 100, 7};
static const uint8_t V6_LOCAL[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t V6_REMOTE[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 0x10};

/* The seven required keys; `skip` leaves one out, `version` sets key 0. */
static void header(buf_t *w, int skip, uint64_t version)
{
    if (skip != 0) { u(w, 0); u(w, version); }
    if (skip != 1) { u(w, 1); text(w, "sensor-1"); }
    if (skip != 2) { u(w, 2); u(w, 0xdeadbeef); }
    if (skip != 3) { u(w, 3); u(w, 41); }
    if (skip != 4) { u(w, 4); u(w, 1000); }
    if (skip != 5) { u(w, 5); u(w, 1060); }
    if (skip != 6) { u(w, 6); u(w, 60); }
}

static report_reject_t decode(const buf_t *w, report_t **r, report_error_t *err)
{
    /* An exactly-sized copy, so sanitizers see any read past the end. */
    uint8_t *copy = malloc(w->n ? w->n : 1);
    assert_non_null(copy);
    memcpy(copy, w->b, w->n);
    report_reject_t rc = report_decode(copy, w->n, r, err);
    free(copy);
    return rc;
}

static void expect_reject(const buf_t *w, report_reject_t code)
{
    report_t *r = (report_t *)1;
    report_error_t err;
    report_reject_t rc = decode(w, &r, &err);
    if (rc != code)
        fail_msg("expected %s, got %s: %s", report_reject_name(code), report_reject_name(rc),
                 err.message);
    assert_null(r);
    assert_int_equal(err.code, code);
    assert_true(strlen(err.message) > 0);
}

static report_t *expect_ok(const buf_t *w)
{
    report_t *r = NULL;
    report_error_t err;
    report_reject_t rc = decode(w, &r, &err);
    if (rc != REPORT_OK)
        fail_msg("rejected (%s): %s", report_reject_name(rc), err.message);
    assert_non_null(r);
    return r;
}

/* A flow array item: kind, remote (bytes or a back-reference), counts. */
static void flow(buf_t *w, uint64_t kind, const uint8_t *remote, size_t len, int64_t ref,
                 uint64_t bytes_in, uint64_t packets_in)
{
    arr(w, 10);
    u(w, kind);
    if (ref >= 0)
        u(w, (uint64_t)ref);
    else
        bytes(w, remote, len);
    u(w, 49152);
    u(w, 443);
    u(w, bytes_in);
    u(w, 40);
    u(w, packets_in);
    u(w, 1);
    u(w, 3);
    u(w, 2);
}

/* A full report: locals, three flows (one back-reference), listeners,
 * system, counters, overflow, uptime, and an unknown key 20. */
static void full_report(buf_t *w)
{
    map(w, 15);
    header(w, -1, 1);
    u(w, 9); arr(w, 2); bytes(w, V4_LOCAL, 4); bytes(w, V6_LOCAL, 16);
    u(w, 10); arr(w, 3);
    flow(w, 0 | 8 | 16, V4_REMOTE, 4, -1, 1500, 3);
    flow(w, 2 | 4, NULL, 0, 0, 84, 1);
    flow(w, 2, V6_REMOTE, 16, -1, 104, 1);
    u(w, 11); arr(w, 2);
    arr(w, 3); u(w, 0); u(w, 4); u(w, 23);
    arr(w, 4); u(w, 1); u(w, 6); u(w, 5683); bytes(w, V6_LOCAL, 16);
    u(w, 12); map(w, 3); u(w, 0); text(w, "Zephyr"); u(w, 4); text(w, "0.1.0"); u(w, 7); u(w, 900);
    u(w, 13); map(w, 2); u(w, 0); u(w, 5); u(w, 99); u(w, 7);
    u(w, 14); arr(w, 1); arr(w, 3); u(w, 3); u(w, 2); u(w, 120);
    u(w, 15); u(w, 3600);
    u(w, 20); arr(w, 1); map(w, 1); u(w, 1); text(w, "future");
}

static void test_full_report_decodes_with_every_reference_resolved(void **state)
{
    (void)state;
    buf_t w = {.n = 0};
    full_report(&w);
    report_t *r = expect_ok(&w);
    assert_string_equal(r->device_id, "sensor-1");
    assert_int_equal(r->boot_id, 0xdeadbeef);
    assert_int_equal(r->seq, 41);
    assert_int_equal(r->flow_count, 3);
    assert_int_equal(r->flows[0].proto, REPORT_PROTO_TCP);
    assert_int_equal(r->flows[0].tcp_flags, REPORT_TCP_SYN | REPORT_TCP_SYNACK);
    assert_false(r->flows[0].remote_initiated);
    assert_memory_equal(r->flows[0].local_addr, V4_LOCAL, 4);
    assert_int_equal(r->flows[0].first_seen, 1003);
    assert_int_equal(r->flows[0].last_seen, 1005);
    /* Flow 1 takes flow 0's remote address. */
    assert_int_equal(r->flows[1].family, 4);
    assert_memory_equal(r->flows[1].remote_addr, V4_REMOTE, 4);
    assert_true(r->flows[1].remote_initiated);
    /* Flow 2 is IPv6: its local index 0 is the first IPv6 local address. */
    assert_int_equal(r->flows[2].family, 6);
    assert_memory_equal(r->flows[2].local_addr, V6_LOCAL, 16);
    assert_int_equal(r->listener_count, 2);
    assert_true(r->listeners[0].any);
    assert_false(r->listeners[1].any);
    assert_true(r->has_system);
    assert_string_equal(r->system.agent_version, "0.1.0");
    assert_null(r->system.os_version);
    assert_int_equal(r->counter_count, 2);
    assert_int_equal(r->overflow_count, 1);
    assert_int_equal(r->overflow[0].proto, REPORT_PROTO_UDP);
    assert_int_equal(r->overflow[0].direction, REPORT_DIR_OUT);
    assert_true(r->has_uptime);

    json_t *j = report_to_json(r, false);
    assert_non_null(j);
    json_t *flows = json_object_get(j, "flows");
    assert_int_equal(json_array_size(flows), 3);
    assert_int_equal(json_object_size(json_array_get(flows, 0)), 10);
    assert_string_equal(json_string_value(json_object_get(json_array_get(flows, 1), "proto")), "icmp");
    assert_string_equal(json_string_value(json_object_get(json_array_get(flows, 2), "proto")), "icmpv6");
    assert_string_equal(json_string_value(json_object_get(json_array_get(flows, 2), "remote_addr")),
                        "2001:db8:1::10");
    json_t *counters = json_object_get(j, "counters");
    assert_int_equal(json_integer_value(json_object_get(counters, "ip_truncated")), 5);
    assert_int_equal(json_integer_value(json_object_get(counters, "counter_99")), 7);
    json_decref(j);
    j = report_to_json(r, true);
    assert_int_equal(json_object_size(json_array_get(json_object_get(j, "flows"), 0)), 13);
    json_decref(j);
    report_free(r);
}

static void test_every_truncation_is_rejected(void **state)
{
    (void)state;
    buf_t w = {.n = 0};
    full_report(&w);
    for (size_t cut = 0; cut < w.n; cut++) {
        buf_t t = w;
        t.n = cut;
        report_t *r;
        report_error_t err;
        assert_int_not_equal(decode(&t, &r, &err), REPORT_OK);
        assert_null(r);
    }
}

static void test_trailing_bytes_are_rejected(void **state)
{
    (void)state;
    buf_t w = {.n = 0};
    map(&w, 7);
    header(&w, -1, 1);
    u(&w, 0);
    expect_reject(&w, REPORT_ERR_CBOR);
}

static void test_unknown_version_is_rejected(void **state)
{
    (void)state;
    buf_t w = {.n = 0};
    map(&w, 7);
    header(&w, -1, 2);
    expect_reject(&w, REPORT_ERR_VERSION);
}

static void test_each_missing_required_key_is_named(void **state)
{
    (void)state;
    for (int skip = 0; skip < 7; skip++) {
        buf_t w = {.n = 0};
        map(&w, 6);
        header(&w, skip, 1);
        expect_reject(&w, REPORT_ERR_MISSING_KEY);
    }
}

static void test_duplicate_key_is_rejected(void **state)
{
    (void)state;
    buf_t w = {.n = 0};
    map(&w, 8);
    header(&w, -1, 1);
    u(&w, 3);
    u(&w, 42);
    expect_reject(&w, REPORT_ERR_DUPLICATE_KEY);
}

static void test_wrong_types_and_ranges_are_rejected(void **state)
{
    (void)state;
    buf_t w = {.n = 0};
    map(&w, 7);
    header(&w, 1, 1);
    u(&w, 1);
    u(&w, 5); /* device_id as a number */
    expect_reject(&w, REPORT_ERR_TYPE);

    w.n = 0;
    map(&w, 7);
    header(&w, 2, 1);
    u(&w, 2);
    u(&w, UINT64_C(0x100000000)); /* boot_id past 32 bits */
    expect_reject(&w, REPORT_ERR_RANGE);

    w.n = 0;
    map(&w, 7);
    header(&w, 5, 1);
    u(&w, 5);
    u(&w, 999); /* period_end before period_start */
    expect_reject(&w, REPORT_ERR_RANGE);

    w.n = 0;
    map(&w, 8);
    header(&w, -1, 1);
    u(&w, 8);
    w.b[w.n++] = 0xf4; /* more: false */
    expect_reject(&w, REPORT_ERR_TYPE);

    w.n = 0;
    map(&w, 7);
    header(&w, 1, 1);
    u(&w, 1);
    head(&w, 3, 2);
    w.b[w.n++] = 0xc3; /* a lead byte without its continuation: libcbor refuses it */
    w.b[w.n++] = 0x28;
    expect_reject(&w, REPORT_ERR_CBOR);

    w.n = 0;
    map(&w, 7);
    header(&w, 1, 1);
    u(&w, 1);
    head(&w, 3, 3);
    w.b[w.n++] = 'a'; /* valid UTF-8, but a NUL would cut the id short */
    w.b[w.n++] = 0;
    w.b[w.n++] = 'b';
    expect_reject(&w, REPORT_ERR_TYPE);

    w.n = 0;
    map(&w, 7);
    header(&w, 1, 1);
    u(&w, 1);
    text(&w, ""); /* empty device id */
    expect_reject(&w, REPORT_ERR_RANGE);
}

static void test_structure_errors_are_rejected(void **state)
{
    (void)state;
    buf_t w = {.n = 0};
    expect_reject(&w, REPORT_ERR_CBOR); /* empty */

    arr(&w, 0);
    expect_reject(&w, REPORT_ERR_NOT_MAP);

    w.n = 0;
    w.b[w.n++] = 0xbf; /* an indefinite-length map */
    header(&w, -1, 1);
    w.b[w.n++] = 0xff;
    expect_reject(&w, REPORT_ERR_CBOR);

    w.n = 0;
    map(&w, 8);
    header(&w, -1, 1);
    u(&w, 30);
    for (int i = 0; i < 17; i++)
        arr(&w, 1); /* nested too deep */
    u(&w, 0);
    expect_reject(&w, REPORT_ERR_CBOR);

    w.n = 0;
    map(&w, 8);
    header(&w, -1, 1);
    u(&w, 10);
    arr(&w, 1000000); /* far more items than bytes left */
    expect_reject(&w, REPORT_ERR_CBOR);

    w.n = 0;
    map(&w, 8);
    header(&w, -1, 1);
    u(&w, 30);
    head(&w, 2, 66000);
    memset(w.b + w.n, 0, 66000);
    w.n += 66000;
    expect_reject(&w, REPORT_ERR_TOO_LARGE);
}

static void test_unknown_keys_are_skipped(void **state)
{
    (void)state;
    buf_t w = {.n = 0};
    map(&w, 9);
    header(&w, -1, 1);
    u(&w, 16);
    arr(&w, 2);
    text(&w, "x");
    map(&w, 0);
    u(&w, 1000);
    bytes(&w, "abc", 3);
    report_t *r = expect_ok(&w);
    assert_int_equal(r->flow_count, 0);
    assert_false(r->has_system);
    report_free(r);
}

/* A report with local addresses and one flow written by `write_flow`. */
static void one_flow_report(buf_t *w, void (*write_flow)(buf_t *))
{
    w->n = 0;
    map(w, 9);
    header(w, -1, 1);
    u(w, 9);
    arr(w, 1);
    bytes(w, V4_LOCAL, 4);
    u(w, 10);
    arr(w, 1);
    write_flow(w);
}

static void flow_self_reference(buf_t *w) { flow(w, 1, NULL, 0, 0, 10, 1); }
static void flow_bad_address(buf_t *w) { flow(w, 1, V4_REMOTE, 3, -1, 10, 1); }
static void flow_no_local(buf_t *w) { flow(w, 1 | (1u << 7), V4_REMOTE, 4, -1, 10, 1); }
static void flow_ipv6_without_local(buf_t *w) { flow(w, 1, V6_REMOTE, 16, -1, 10, 1); }
static void flow_proto_3(buf_t *w) { flow(w, 3, V4_REMOTE, 4, -1, 10, 1); }
static void flow_kind_too_big(buf_t *w) { flow(w, 0x400, V4_REMOTE, 4, -1, 10, 1); }
static void flow_no_packets(buf_t *w) { flow(w, 1, V4_REMOTE, 4, -1, 0, 0); w->b[w->n - 3] = 0; }
static void flow_absurd_bytes(buf_t *w) { flow(w, 1, V4_REMOTE, 4, -1, UINT64_C(1) << 53, 1); }
static void flow_max_bytes(buf_t *w) { flow(w, 1, V4_REMOTE, 4, -1, (UINT64_C(1) << 53) - 1, 1); }
static void flow_short(buf_t *w) { arr(w, 2); u(w, 1); bytes(w, V4_REMOTE, 4); }

static void test_flow_errors_are_rejected(void **state)
{
    (void)state;
    buf_t w;
    one_flow_report(&w, flow_self_reference);
    expect_reject(&w, REPORT_ERR_REFERENCE);
    one_flow_report(&w, flow_bad_address);
    expect_reject(&w, REPORT_ERR_ADDRESS);
    one_flow_report(&w, flow_no_local);
    expect_reject(&w, REPORT_ERR_REFERENCE);
    one_flow_report(&w, flow_ipv6_without_local);
    expect_reject(&w, REPORT_ERR_REFERENCE);
    one_flow_report(&w, flow_proto_3);
    expect_reject(&w, REPORT_ERR_RANGE);
    one_flow_report(&w, flow_kind_too_big);
    expect_reject(&w, REPORT_ERR_RANGE);
    one_flow_report(&w, flow_no_packets);
    expect_reject(&w, REPORT_ERR_RANGE);
    one_flow_report(&w, flow_absurd_bytes);
    expect_reject(&w, REPORT_ERR_RANGE);
    one_flow_report(&w, flow_short);
    expect_reject(&w, REPORT_ERR_TYPE);
    one_flow_report(&w, flow_max_bytes);
    report_t *r = expect_ok(&w);
    assert_int_equal(r->flows[0].bytes_in, (UINT64_C(1) << 53) - 1);
    report_free(r);
}

static void test_section_errors_are_rejected(void **state)
{
    (void)state;
    buf_t w = {.n = 0};
    map(&w, 8);
    header(&w, -1, 1);
    u(&w, 12);
    map(&w, 1);
    u(&w, 0);
    text(&w, "Zephyr"); /* no agent_version */
    expect_reject(&w, REPORT_ERR_MISSING_KEY);

    w.n = 0;
    map(&w, 8);
    header(&w, -1, 1);
    u(&w, 13);
    map(&w, 2);
    u(&w, 3); u(&w, 1);
    u(&w, 3); u(&w, 2);
    expect_reject(&w, REPORT_ERR_DUPLICATE_KEY);

    w.n = 0;
    map(&w, 8);
    header(&w, -1, 1);
    u(&w, 11);
    arr(&w, 1);
    arr(&w, 4); u(&w, 0); u(&w, 4); u(&w, 80); bytes(&w, V6_LOCAL, 16);
    expect_reject(&w, REPORT_ERR_ADDRESS);

    w.n = 0;
    map(&w, 8);
    header(&w, -1, 1);
    u(&w, 11);
    arr(&w, 1025);
    for (int i = 0; i < 1025; i++) {
        arr(&w, 3); u(&w, 0); u(&w, 4); u(&w, 1);
    }
    expect_reject(&w, REPORT_ERR_LIMIT);

    w.n = 0;
    map(&w, 8);
    header(&w, -1, 1);
    u(&w, 14);
    arr(&w, 1);
    arr(&w, 3); u(&w, 6); u(&w, 1); u(&w, 1); /* code 6 does not exist */
    expect_reject(&w, REPORT_ERR_RANGE);
}

static void test_every_field_at_its_maximum_decodes(void **state)
{
    (void)state;
    buf_t w = {.n = 0};
    char id[REPORT_MAX_STRING + 1];
    memset(id, 'x', REPORT_MAX_STRING);
    id[REPORT_MAX_STRING] = '\0';
    map(&w, 10);
    u(&w, 0); u(&w, 1);
    u(&w, 1); text(&w, id);
    for (unsigned k = 2; k <= 6; k++) {
        u(&w, k);
        u(&w, 0xffffffffu);
    }
    u(&w, 7); u(&w, 0xffffffffu);
    u(&w, 9); arr(&w, 1); bytes(&w, V4_LOCAL, 4);
    u(&w, 10); arr(&w, 1);
    arr(&w, 10);
    u(&w, 0x3fe & ~(uint64_t)0x380); /* every flag, local index 0, udp */
    bytes(&w, V4_REMOTE, 4);
    u(&w, 65535); u(&w, 65535);
    for (int i = 0; i < 4; i++)
        u(&w, (UINT64_C(1) << 53) - 1);
    u(&w, 0xffffffffu); u(&w, 0xffffffffu);
    report_t *r = expect_ok(&w);
    assert_int_equal(r->period_end, 0xffffffffu);
    assert_int_equal(r->flows[0].last_seen, UINT64_C(0xffffffff) * 3);
    json_t *j = report_to_json(r, true);
    assert_non_null(j);
    json_decref(j);
    report_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_report_decodes_with_every_reference_resolved),
        cmocka_unit_test(test_every_truncation_is_rejected),
        cmocka_unit_test(test_trailing_bytes_are_rejected),
        cmocka_unit_test(test_unknown_version_is_rejected),
        cmocka_unit_test(test_each_missing_required_key_is_named),
        cmocka_unit_test(test_duplicate_key_is_rejected),
        cmocka_unit_test(test_wrong_types_and_ranges_are_rejected),
        cmocka_unit_test(test_structure_errors_are_rejected),
        cmocka_unit_test(test_unknown_keys_are_skipped),
        cmocka_unit_test(test_flow_errors_are_rejected),
        cmocka_unit_test(test_section_errors_are_rejected),
        cmocka_unit_test(test_every_field_at_its_maximum_decodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
