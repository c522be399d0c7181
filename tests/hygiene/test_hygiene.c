/*
 * Hygiene recommendations: each is raised once when its cause appears and
 * withdrawn when the cause goes, on hand-made reports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "hygiene.h"

typedef struct {
    alert_t raised[64];
    size_t raised_count;
    char cleared[64][96];
    size_t cleared_count;
} sink_t;

static void on_raise(void *user, const alert_t *a)
{
    sink_t *s = user;
    assert_true(s->raised_count < 64);
    s->raised[s->raised_count++] = *a;
}

static void on_clear(void *user, const char *device, const char *type, const char *key)
{
    sink_t *s = user;
    assert_true(s->cleared_count < 64);
    snprintf(s->cleared[s->cleared_count++], 96, "%s/%s/%s", device, type, key);
}

typedef struct {
    hygiene_t *h;
    sink_t sink;
    hygiene_out_t out;
    hygiene_settings_t settings;
    report_t r;
    report_listener_t listeners[4];
    report_flow_t flows[4];
    report_counter_t counters[2];
} fixture_t;

static int setup(void **state)
{
    static fixture_t f;
    memset(&f, 0, sizeof f);
    f.h = hygiene_new();
    f.out = (hygiene_out_t){ on_raise, on_clear, &f.sink };
    snprintf(f.r.device_id, sizeof f.r.device_id, "dev-1");
    f.r.boot_id = 0xb007;
    f.r.interval = 60;
    f.r.period_start = 1000;
    f.r.period_end = 1060;
    f.r.listeners = f.listeners;
    f.r.flows = f.flows;
    f.r.counters = f.counters;
    f.settings.silent_intervals = 3;
    f.settings.clock_skew_max = 300;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    hygiene_free(f->h);
    return 0;
}

static const alert_t *last(fixture_t *f)
{
    assert_true(f->sink.raised_count > 0);
    return &f->sink.raised[f->sink.raised_count - 1];
}

static void feed(fixture_t *f, uint32_t seq, int64_t received)
{
    f->r.seq = seq;
    hygiene_report(f->h, &f->settings, &f->r, received, &f->out);
}

static const hygiene_settings_t *settings_of(void *user, const char *device)
{
    (void)device;
    return &((fixture_t *)user)->settings;
}

static void tick(fixture_t *f, int64_t now)
{
    hygiene_tick_t how = { settings_of, NULL, f };
    hygiene_tick(f->h, now, &how, &f->out);
}

static void test_insecure_listener_raised_once_and_withdrawn_when_closed(void **state)
{
    fixture_t *f = *state;
    f->r.has_listeners = true;
    f->listeners[0] = (report_listener_t){ REPORT_PROTO_TCP, 4, 23, true, { 0 } };
    f->listeners[1] = (report_listener_t){ REPORT_PROTO_TCP, 6, 23, true, { 0 } };
    f->listeners[2] = (report_listener_t){ REPORT_PROTO_TCP, 4, 8883, true, { 0 } };
    f->listeners[3] = (report_listener_t){ REPORT_PROTO_UDP, 4, 5683, true, { 0 } };
    f->r.listener_count = 4;
    feed(f, 0, HYGIENE_TIME_UNKNOWN);
    assert_int_equal(f->sink.raised_count, 2);
    assert_string_equal(f->sink.raised[0].type, "insecure_listener");
    assert_string_equal(f->sink.raised[0].key, "tcp:23");
    assert_int_equal(f->sink.raised[0].kind, ALERT_KIND_RECOMMENDATION);
    assert_int_equal(f->sink.raised[0].severity, ALERT_SEVERITY_HIGH);
    assert_true(strstr(f->sink.raised[0].remediation, "SSH") != NULL);
    assert_string_equal(f->sink.raised[1].key, "udp:5683");

    feed(f, 1, HYGIENE_TIME_UNKNOWN);
    assert_int_equal(f->sink.raised_count, 2);

    /* A report without listeners says nothing about them. */
    f->r.has_listeners = false;
    feed(f, 2, HYGIENE_TIME_UNKNOWN);
    assert_int_equal(f->sink.cleared_count, 0);

    f->r.has_listeners = true;
    f->r.listener_count = 3;   /* CoAP closed */
    feed(f, 3, HYGIENE_TIME_UNKNOWN);
    assert_int_equal(f->sink.cleared_count, 1);
    assert_string_equal(f->sink.cleared[0], "dev-1/insecure_listener/udp:5683");
    assert_int_equal(f->sink.raised_count, 2);
}

static void test_plaintext_outbound_only_when_the_device_opened_it(void **state)
{
    fixture_t *f = *state;
    f->flows[0] = (report_flow_t){ .family = 4, .proto = REPORT_PROTO_TCP, .remote_initiated = true,
                                   .remote_addr = { 198, 51, 100, 1 }, .local_port = 80, .remote_port = 40000 };
    f->flows[1] = (report_flow_t){ .family = 4, .proto = REPORT_PROTO_TCP, .remote_initiated = false,
                                   .remote_addr = { 198, 51, 100, 2 }, .local_port = 40001, .remote_port = 80,
                                   .last_seen = 1050 };
    f->flows[2] = f->flows[1];
    f->flows[2].remote_addr[3] = 3;
    f->r.flow_count = 3;
    feed(f, 0, HYGIENE_TIME_UNKNOWN);
    assert_int_equal(f->sink.raised_count, 1);
    assert_string_equal(last(f)->type, "plaintext_outbound");
    assert_string_equal(last(f)->key, "tcp:80");
    assert_int_equal(last(f)->time, 1050);
    assert_true(strstr(last(f)->message, "198.51.100.2") != NULL);
}

static void test_versions_below_minimum_and_upgrade(void **state)
{
    fixture_t *f = *state;
    snprintf(f->settings.min_firmware_version, sizeof f->settings.min_firmware_version, "2.0.0");
    f->r.has_system = true;
    f->r.system.firmware_version = "1.9.12";
    f->r.system.agent_version = "0.1.0";
    feed(f, 0, HYGIENE_TIME_UNKNOWN);
    assert_int_equal(f->sink.raised_count, 1);
    assert_string_equal(last(f)->type, "outdated_firmware");
    feed(f, 1, HYGIENE_TIME_UNKNOWN);
    assert_int_equal(f->sink.raised_count, 1);
    f->r.system.firmware_version = "2.0.1";
    feed(f, 2, HYGIENE_TIME_UNKNOWN);
    assert_int_equal(f->sink.cleared_count, 1);
    assert_string_equal(f->sink.cleared[0], "dev-1/outdated_firmware/");
}

static void test_version_compare(void **state)
{
    (void)state;
    assert_true(hygiene_version_compare("1.10.0", "1.9.2") > 0);
    assert_true(hygiene_version_compare("1.2", "1.2.1") < 0);
    assert_int_equal(hygiene_version_compare("1.02", "1.2"), 0);
    assert_true(hygiene_version_compare("6.1.0-rc1", "6.1.0") > 0);
    assert_true(hygiene_version_compare("v2", "v10") < 0);
    assert_int_equal(hygiene_version_compare("", ""), 0);
}

static void test_sequence_gap_raised_at_tick_and_withdrawn_when_filled(void **state)
{
    fixture_t *f = *state;
    feed(f, 0, HYGIENE_TIME_UNKNOWN);
    feed(f, 1, HYGIENE_TIME_UNKNOWN);
    feed(f, 4, HYGIENE_TIME_UNKNOWN);
    tick(f, HYGIENE_TIME_UNKNOWN);
    assert_int_equal(f->sink.raised_count, 1);
    assert_string_equal(last(f)->type, "sequence_gap");
    assert_string_equal(last(f)->key, "boot:0000b007");
    assert_true(strstr(last(f)->message, "2 reports") != NULL);
    feed(f, 3, HYGIENE_TIME_UNKNOWN);
    feed(f, 2, HYGIENE_TIME_UNKNOWN);
    tick(f, HYGIENE_TIME_UNKNOWN);
    assert_int_equal(f->sink.cleared_count, 1);
    assert_string_equal(f->sink.cleared[0], "dev-1/sequence_gap/boot:0000b007");
}

static void test_reports_lost_beyond_the_window_stay_counted(void **state)
{
    fixture_t *f = *state;
    feed(f, 0, HYGIENE_TIME_UNKNOWN);
    feed(f, 5000, HYGIENE_TIME_UNKNOWN);
    for (uint32_t q = 3977; q < 5000; q++)
        feed(f, q, HYGIENE_TIME_UNKNOWN);
    tick(f, HYGIENE_TIME_UNKNOWN);
    assert_int_equal(f->sink.raised_count, 1);
    assert_true(strstr(last(f)->message, "3976 reports") != NULL);
}

static void test_reboot_is_not_a_shared_identity_but_interleaving_is(void **state)
{
    fixture_t *f = *state;
    feed(f, 0, HYGIENE_TIME_UNKNOWN);
    feed(f, 1, HYGIENE_TIME_UNKNOWN);
    f->r.boot_id = 0xbeef;
    feed(f, 0, HYGIENE_TIME_UNKNOWN);
    feed(f, 1, HYGIENE_TIME_UNKNOWN);
    assert_int_equal(f->sink.raised_count, 0);
    f->r.boot_id = 0xb007;
    feed(f, 2, HYGIENE_TIME_UNKNOWN);
    assert_int_equal(f->sink.raised_count, 1);
    assert_string_equal(last(f)->type, "shared_identity");
    f->r.boot_id = 0xbeef;
    feed(f, 2, HYGIENE_TIME_UNKNOWN);
    assert_int_equal(f->sink.raised_count, 1);
}

static void test_replayed_report(void **state)
{
    fixture_t *f = *state;
    f->r.seq = 7;
    hygiene_replayed(f->h, &f->r, &f->out);
    assert_string_equal(last(f)->type, "replayed_report");
    assert_string_equal(last(f)->key, "boot:0000b007:seq:7");
}

static void test_clock_ahead_at_once_behind_only_when_it_persists(void **state)
{
    fixture_t *f = *state;
    f->r.period_end = 1000;
    feed(f, 0, 2000);          /* 1000 s behind: could be a queued report */
    feed(f, 1, 2000);
    assert_int_equal(f->sink.raised_count, 0);
    feed(f, 2, 2000);
    assert_int_equal(f->sink.raised_count, 1);
    assert_string_equal(last(f)->type, "clock_skew");
    f->r.period_end = 2010;
    feed(f, 3, 2000);
    assert_int_equal(f->sink.cleared_count, 1);
    f->r.period_end = 5000;
    feed(f, 4, 2000);
    assert_int_equal(f->sink.raised_count, 2);
    assert_true(strstr(last(f)->message, "3000 s ahead") != NULL);
}

static void test_silent_device_and_its_return(void **state)
{
    fixture_t *f = *state;
    feed(f, 0, 10000);
    tick(f, 10180);
    assert_int_equal(f->sink.raised_count, 0);
    tick(f, 10181);
    assert_int_equal(f->sink.raised_count, 1);
    assert_string_equal(last(f)->type, "device_silent");
    tick(f, 20000);
    assert_int_equal(f->sink.raised_count, 1);
    f->r.period_end = 20000;
    feed(f, 1, 20000);
    assert_int_equal(f->sink.cleared_count, 1);
    assert_string_equal(f->sink.cleared[0], "dev-1/device_silent/");
}

static void test_table_overflow_and_outbox_drops(void **state)
{
    fixture_t *f = *state;
    f->counters[0] = (report_counter_t){ 12, 5 };   /* flow_table_full */
    f->counters[1] = (report_counter_t){ 13, 2 };   /* outbox_dropped */
    f->r.counter_count = 2;
    feed(f, 0, HYGIENE_TIME_UNKNOWN);
    assert_int_equal(f->sink.raised_count, 2);
    assert_string_equal(f->sink.raised[0].type, "flow_table_overflow");
    assert_string_equal(f->sink.raised[1].type, "outbox_overflow");
    feed(f, 1, HYGIENE_TIME_UNKNOWN);
    assert_int_equal(f->sink.raised_count, 2);
}

static void test_a_seeded_device_withdraws_and_does_not_raise_again(void **state)
{
    fixture_t *f = *state;
    assert_false(hygiene_has_device(f->h, "dev-1"));
    hygiene_seed(f->h, "dev-1", "insecure_listener", "tcp:23");
    hygiene_seed(f->h, "dev-1", "insecure_listener", "udp:5683");
    hygiene_seed(f->h, "dev-1", "sequence_gap", "boot:0000b007");
    assert_true(hygiene_has_device(f->h, "dev-1"));
    f->r.has_listeners = true;
    f->listeners[0] = (report_listener_t){ REPORT_PROTO_TCP, 4, 23, true, { 0 } };
    f->r.listener_count = 1;
    feed(f, 1, HYGIENE_TIME_UNKNOWN);
    assert_int_equal(f->sink.raised_count, 0);
    assert_int_equal(f->sink.cleared_count, 1);
    assert_string_equal(f->sink.cleared[0], "dev-1/insecure_listener/udp:5683");
    /* The gap of the seeded stream is judged by whoever knows its seqs. */
    tick(f, HYGIENE_TIME_UNKNOWN);
    assert_int_equal(f->sink.cleared_count, 2);
    assert_string_equal(f->sink.cleared[1], "dev-1/sequence_gap/boot:0000b007");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_insecure_listener_raised_once_and_withdrawn_when_closed),
        T(test_plaintext_outbound_only_when_the_device_opened_it),
        T(test_versions_below_minimum_and_upgrade),
        T(test_version_compare),
        T(test_sequence_gap_raised_at_tick_and_withdrawn_when_filled),
        T(test_reports_lost_beyond_the_window_stay_counted),
        T(test_reboot_is_not_a_shared_identity_but_interleaving_is),
        T(test_replayed_report),
        T(test_clock_ahead_at_once_behind_only_when_it_persists),
        T(test_silent_device_and_its_return),
        T(test_table_overflow_and_outbox_drops),
        T(test_a_seeded_device_withdraws_and_does_not_raise_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
