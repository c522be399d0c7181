/*
 * The pipeline on reports libvigil encodes: stored once, duplicates and
 * replays told apart, refused reports counted and harmless, batches commit
 * or vanish as a whole, threat-intel alerts name their indicator and
 * direction and are deduplicated in the store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil.h"

#include "hygiene.h"
#include "pipeline.h"

typedef struct {
    uint8_t data[2048];
    size_t len;
} blob_t;

/* Periods of a device: an outbound TCP connection to `remote` (a.b.c.d)
 * and, when `inbound_port`, one accepted from remote + 33. Returns the reports. */
static size_t make_reports(const char *device, uint32_t boot, uint32_t start, const uint8_t remote[4],
                           uint16_t inbound_port, int periods, blob_t *out, size_t max)
{
    static vigil_ctx_t ctx;
    vigil_setup_t s;
    memset(&s, 0, sizeof s);
    vigil_config_default(&s.config);
    s.config.report_interval_s = 60;
    s.device_id = device;
    s.boot_id = boot;
    s.now = start;
    assert_int_equal(vigil_init(&ctx, &s), VIGIL_OK);
    size_t n = 0;
    for (int p = 0; p < periods; p++) {
        uint32_t t = start + (uint32_t)p * 60u;
        uint8_t pkt[40] = { 0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 192, 0, 2, 1 };
        memcpy(pkt + 16, remote, 4);
        pkt[20] = 0x9c, pkt[21] = 0x40, pkt[22] = 0x01, pkt[23] = 0xbb;   /* 40000 -> 443 */
        pkt[32] = 0x50, pkt[33] = 0x02;                                   /* SYN */
        vigil_observe(&ctx, VIGIL_DIR_OUT, pkt, sizeof pkt, t + 1);
        if (inbound_port) {
            uint8_t in[40] = { 0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0 };
            memcpy(in + 12, remote, 4);
            in[15] = (uint8_t)(remote[3] + 33);                           /* a neighbour of remote */
            in[16] = 192, in[17] = 0, in[18] = 2, in[19] = 1;
            in[20] = 0xc3, in[21] = 0x50;                                 /* 50000 */
            in[22] = (uint8_t)(inbound_port >> 8), in[23] = (uint8_t)inbound_port;
            in[32] = 0x50, in[33] = 0x02;
            vigil_observe(&ctx, VIGIL_DIR_IN, in, sizeof in, t + 2);
        }
        assert_int_equal(vigil_flush(&ctx, t + 60), VIGIL_OK);
        while (vigil_outbox_count(&ctx) > 0) {
            const uint8_t *msg;
            size_t len;
            uint32_t seq;
            assert_int_equal(vigil_outbox_get(&ctx, 0, &msg, &len, &seq), VIGIL_OK);
            assert_true(n < max && len <= sizeof out[n].data);
            memcpy(out[n].data, msg, len);
            out[n++].len = len;
            vigil_outbox_release(&ctx, seq);
        }
    }
    return n;
}

typedef struct {
    store_t *store;
    intel_t *intel;
    pipeline_t *p;
} fixture_t;

static int setup(void **state)
{
    static fixture_t f;
    char err[256];
    f.store = store_open(":memory:", err, sizeof err);
    assert_non_null(f.store);
    f.intel = intel_new();
    intel_set_t *set = intel_set_new("c2-list");
    intel_net_t net;
    const char *why;
    assert_true(intel_net_parse("203.0.113.0/24", 14, &net, &why));
    assert_true(intel_set_add(set, &net, "c2", 90, INTEL_UNBOUNDED_FROM, INTEL_UNBOUNDED_UNTIL));
    assert_true(intel_replace_feed(f.intel, set));
    f.p = pipeline_new(f.store, f.intel, NULL, NULL, NULL);
    assert_non_null(f.p);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    pipeline_free(f->p);
    intel_free(f->intel);
    store_close(f->store);
    return 0;
}

static pipeline_result_t ingest(fixture_t *f, const char *topic, const blob_t *b)
{
    char why[256];
    return pipeline_ingest(f->p, topic, b->data, b->len, HYGIENE_TIME_UNKNOWN, why, sizeof why);
}

typedef struct {
    alert_t a[16];
    size_t n;
} alerts_t;

static void collect(void *u, const alert_t *a)
{
    alerts_t *c = u;
    if (c->n < 16)
        c->a[c->n++] = *a;
}

static alerts_t list(fixture_t *f, alert_kind_t kind)
{
    alerts_t c = { .n = 0 };
    store_query_t q = { NULL, kind, INT64_MIN, 0 };
    assert_true(store_list_alerts(f->store, &q, collect, &c));
    return c;
}

static void test_a_report_is_stored_once_and_a_copy_is_a_duplicate(void **state)
{
    fixture_t *f = *state;
    static const uint8_t clean[4] = { 198, 51, 100, 7 };
    blob_t r[4];
    assert_int_equal(make_reports("dev-a", 7, 1000, clean, 0, 1, r, 4), 1);
    assert_int_equal(ingest(f, "dev-a", &r[0]), PIPELINE_STORED);
    assert_int_equal(ingest(f, "dev-a", &r[0]), PIPELINE_DUPLICATE);
    pipeline_stats_t st;
    pipeline_get_stats(f->p, &st);
    assert_int_equal(st.stored, 1);
    assert_int_equal(st.duplicates, 1);
    store_device_t d;
    assert_true(store_get_device(f->store, "dev-a", &d));
    assert_int_equal(d.reports, 1);
    assert_int_equal(d.boot_id, 7);
}

static void test_the_same_sequence_with_other_bytes_is_a_replay(void **state)
{
    fixture_t *f = *state;
    static const uint8_t one[4] = { 198, 51, 100, 7 }, two[4] = { 198, 51, 100, 8 };
    blob_t a[2], b[2];
    make_reports("dev-r", 9, 1000, one, 0, 1, a, 2);
    make_reports("dev-r", 9, 1000, two, 0, 1, b, 2);
    assert_int_equal(ingest(f, NULL, &a[0]), PIPELINE_STORED);
    assert_int_equal(ingest(f, NULL, &b[0]), PIPELINE_REPLAY);
    alerts_t recs = list(f, ALERT_KIND_RECOMMENDATION);
    assert_int_equal(recs.n, 1);
    assert_string_equal(recs.a[0].type, "replayed_report");
}

static void test_refused_reports_are_counted_and_change_nothing(void **state)
{
    fixture_t *f = *state;
    static const uint8_t clean[4] = { 198, 51, 100, 7 };
    blob_t r[2];
    make_reports("dev-b", 1, 1000, clean, 0, 1, r, 2);
    /* The topic vouches for another device. */
    assert_int_equal(ingest(f, "dev-c", &r[0]), PIPELINE_REJECTED);
    blob_t junk = { { 0xa1, 0x00 }, 2 };
    assert_int_equal(ingest(f, "dev-c", &junk), PIPELINE_REJECTED);
    r[0].len -= 3;
    assert_int_equal(ingest(f, NULL, &r[0]), PIPELINE_REJECTED);
    pipeline_stats_t st;
    pipeline_get_stats(f->p, &st);
    assert_int_equal(st.rejected, 3);
    assert_int_equal(st.topic_mismatch, 1);
    assert_int_equal(st.stored, 0);
    store_device_t d;
    assert_true(store_get_device(f->store, "dev-c", &d));
    assert_int_equal(d.rejected, 2);
    assert_int_equal(d.reports, 0);
    assert_false(store_get_device(f->store, "dev-b", &d));
}

static void test_a_batch_commits_its_reports_and_acks_without_gaps(void **state)
{
    fixture_t *f = *state;
    static const uint8_t clean[4] = { 198, 51, 100, 7 };
    blob_t r[8];
    size_t n = make_reports("dev-batch", 3, 1000, clean, 0, 4, r, 8);
    assert_int_equal(n, 4);
    assert_true(pipeline_batch_begin(f->p));
    assert_int_equal(ingest(f, "dev-batch", &r[0]), PIPELINE_STORED);
    assert_int_equal(ingest(f, "dev-batch", &r[1]), PIPELINE_STORED);
    blob_t junk = { { 0xff }, 1 };
    assert_int_equal(ingest(f, "dev-batch", &junk), PIPELINE_REJECTED);
    assert_int_equal(ingest(f, "dev-batch", &r[3]), PIPELINE_STORED);
    assert_true(pipeline_batch_commit(f->p));
    uint32_t seq;
    assert_true(pipeline_ack_point(f->p, "dev-batch", 3, &seq));
    assert_int_equal(seq, 1);      /* 2 is missing */
    assert_int_equal(ingest(f, "dev-batch", &r[2]), PIPELINE_STORED);
    assert_true(pipeline_ack_point(f->p, "dev-batch", 3, &seq));
    assert_int_equal(seq, 3);
}

static void test_a_rolled_back_batch_leaves_nothing(void **state)
{
    fixture_t *f = *state;
    static const uint8_t clean[4] = { 198, 51, 100, 7 };
    blob_t r[4];
    make_reports("dev-gone", 5, 1000, clean, 0, 2, r, 4);
    assert_true(pipeline_batch_begin(f->p));
    assert_int_equal(ingest(f, NULL, &r[0]), PIPELINE_STORED);
    assert_int_equal(ingest(f, NULL, &r[1]), PIPELINE_STORED);
    pipeline_batch_rollback(f->p);
    uint32_t seq;
    assert_false(pipeline_ack_point(f->p, "dev-gone", 5, &seq));
    store_device_t d;
    assert_false(store_get_device(f->store, "dev-gone", &d));
    /* The re-sent reports are new to the store, not duplicates. */
    assert_int_equal(ingest(f, NULL, &r[0]), PIPELINE_STORED);
}

static void test_threat_intel_alert_names_indicator_direction_and_deduplicates(void **state)
{
    fixture_t *f = *state;
    static const uint8_t c2[4] = { 203, 0, 113, 66 };
    blob_t r[4];
    size_t n = make_reports("dev-c2", 11, 1000, c2, 23, 3, r, 4);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ingest(f, NULL, &r[i]), PIPELINE_STORED);
    alerts_t al = list(f, ALERT_KIND_ALERT);
    /* One row per (device, type, key) in the window, over three periods. */
    assert_int_equal(al.n, 2);
    const alert_t *out = strcmp(al.a[0].key, "tcp:203.0.113.66") == 0 ? &al.a[0] : &al.a[1];
    const alert_t *in = out == &al.a[0] ? &al.a[1] : &al.a[0];
    assert_string_equal(out->type, "threat_intel");
    assert_string_equal(out->key, "tcp:203.0.113.66");
    assert_true(out->has_indicator);
    assert_string_equal(out->indicator_value, "203.0.113.0/24");
    assert_string_equal(out->indicator_feed, "c2-list");
    assert_string_equal(out->indicator_category, "c2");
    assert_int_equal(out->direction, ALERT_DIR_OUTBOUND);
    assert_int_equal(out->remote_port, 443);
    assert_int_equal(out->count, 3);
    assert_int_equal(out->first_time, 1001);
    assert_int_equal(out->severity, ALERT_SEVERITY_CRITICAL);
    assert_string_equal(in->key, "tcp:203.0.113.99");
    assert_int_equal(in->direction, ALERT_DIR_INBOUND);
    assert_int_equal(in->local_port, 23);
    assert_int_equal(in->count, 3);
    assert_int_equal(in->severity, ALERT_SEVERITY_HIGH);
    pipeline_stats_t st;
    pipeline_get_stats(f->p, &st);
    assert_int_equal(st.intel_matches, 6);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_a_report_is_stored_once_and_a_copy_is_a_duplicate),
        T(test_the_same_sequence_with_other_bytes_is_a_replay),
        T(test_refused_reports_are_counted_and_change_nothing),
        T(test_a_batch_commits_its_reports_and_acks_without_gaps),
        T(test_a_rolled_back_batch_leaves_nothing),
        T(test_threat_intel_alert_names_indicator_direction_and_deduplicates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
