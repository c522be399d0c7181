/*
 * test_api.c - the public entry points of vigil.h: argument and state
 * checks of vigil_init/vigil_configure, calls before init, the period clock
 * of vigil_poll/vigil_flush, collectors switched off, counters and their
 * names (checked against proto/vigil.cddl, read at run time).
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

static uint8_t L4[4], R4[4];

static int setup(void **state)
{
    (void)state;
    addr4(L4, 10, 0, 0, 2);
    addr4(R4, 93, 184, 216, 34);
    return 0;
}

static vigil_setup_t good_setup(void)
{
    vigil_setup_t s;
    memset(&s, 0, sizeof s);
    s.device_id = "dev-1";
    s.now = H_T0;
    vigil_config_default(&s.config);
    return s;
}

static void test_config_default_values(void **state)
{
    (void)state;
    vigil_config_t c;
    memset(&c, 0xff, sizeof c);
    vigil_config_default(&c);
    assert_int_equal(c.report_interval_s, 60);
    assert_int_equal(c.collectors, VIGIL_COLLECT_ALL);
    assert_int_equal(c.sysinfo_every, 10);
    assert_int_equal(c.max_message_size, VIGIL_MAX_MESSAGE_SIZE);
    vigil_config_default(NULL); /* ignored */
}

static void test_init_rejects_null_arguments_and_bad_device_ids(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_new();
    vigil_setup_t s = good_setup();
    assert_int_equal(vigil_init(NULL, &s), VIGIL_ERR_ARG);
    assert_int_equal(vigil_init(ctx, NULL), VIGIL_ERR_ARG);
    s.device_id = NULL;
    assert_int_equal(vigil_init(ctx, &s), VIGIL_ERR_ARG);
    s.device_id = "";
    assert_int_equal(vigil_init(ctx, &s), VIGIL_ERR_ARG);
    char id[VIGIL_DEVICE_ID_MAX + 2];
    memset(id, 'i', VIGIL_DEVICE_ID_MAX + 1);
    id[VIGIL_DEVICE_ID_MAX + 1] = '\0';
    s.device_id = id;
    assert_int_equal(vigil_init(ctx, &s), VIGIL_ERR_ARG);
    static const char *const bad_utf8[] = {"ab\xc3", "\xff", "a\x80", "\xc0\xaf",
                                           "x\xed\xa0\x80", "\xf4\x90\x80\x80"};
    for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
        s.device_id = bad_utf8[i];
        assert_int_equal(vigil_init(ctx, &s), VIGIL_ERR_ARG);
    }
    /* A refused init leaves the context unusable. */
    assert_int_equal(vigil_poll(ctx, H_T0 + 100), VIGIL_ERR_STATE);

    /* The longest id and a multi-byte id are fine, and reported as given. */
    id[VIGIL_DEVICE_ID_MAX] = '\0';
    s.device_id = id;
    assert_int_equal(vigil_init(ctx, &s), VIGIL_OK);
    assert_int_equal(vigil_flush(ctx, H_T0 + 1), VIGIL_OK);
    const uint8_t *msg;
    size_t len;
    assert_int_equal(vigil_outbox_get(ctx, 0, &msg, &len, NULL), VIGIL_OK);
    dr_report_t *r = dr_decode(msg, len);
    assert_string_equal(r->device_id, id);
    free(r);
    s.device_id = "ger\xc3\xa4t-\xe2\x82\xac";
    assert_int_equal(vigil_init(ctx, &s), VIGIL_OK);
    assert_int_equal(vigil_flush(ctx, H_T0 + 1), VIGIL_OK);
    assert_int_equal(vigil_outbox_count(ctx), 1); /* init started afresh */
    assert_int_equal(vigil_outbox_get(ctx, 0, &msg, &len, NULL), VIGIL_OK);
    r = dr_decode(msg, len);
    assert_string_equal(r->device_id, "ger\xc3\xa4t-\xe2\x82\xac");
    assert_int_equal(r->seq, 0);
    free(r);
    free(ctx);
}

typedef struct {
    const char *what;
    vigil_config_t config;
} config_case_t;

static size_t bad_configs(config_case_t *out)
{
    size_t n = 0;
    vigil_config_t d;
    vigil_config_default(&d);
    out[n] = (config_case_t){"interval 0", d};
    out[n++].config.report_interval_s = 0;
    out[n] = (config_case_t){"interval 3601", d};
    out[n++].config.report_interval_s = 3601;
    out[n] = (config_case_t){"unknown collector 0x08", d};
    out[n++].config.collectors = 0x08;
    out[n] = (config_case_t){"unknown collector 0x80000000", d};
    out[n++].config.collectors = VIGIL_COLLECT_ALL | 0x80000000u;
    out[n] = (config_case_t){"sysinfo_every 0", d};
    out[n++].config.sysinfo_every = 0;
    out[n] = (config_case_t){"max_message_size 511", d};
    out[n++].config.max_message_size = 511;
    out[n] = (config_case_t){"max_message_size 0", d};
    out[n++].config.max_message_size = 0;
    out[n] = (config_case_t){"max_message_size above the maximum", d};
    out[n++].config.max_message_size = VIGIL_MAX_MESSAGE_SIZE + 1;
    return n;
}

static size_t good_configs(config_case_t *out)
{
    size_t n = 0;
    vigil_config_t d;
    vigil_config_default(&d);
    out[n] = (config_case_t){"interval 1", d};
    out[n++].config.report_interval_s = 1;
    out[n] = (config_case_t){"interval 3600", d};
    out[n++].config.report_interval_s = 3600;
    out[n] = (config_case_t){"no collectors", d};
    out[n++].config.collectors = 0;
    out[n] = (config_case_t){"sysinfo_every 1", d};
    out[n++].config.sysinfo_every = 1;
    out[n] = (config_case_t){"sysinfo_every huge", d};
    out[n++].config.sysinfo_every = 0xffffffffu;
    out[n] = (config_case_t){"max_message_size 512", d};
    out[n++].config.max_message_size = 512;
    return n;
}

static void test_init_rejects_every_invalid_config_field(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_new();
    config_case_t cases[16];
    size_t n = bad_configs(cases);
    for (size_t i = 0; i < n; i++) {
        vigil_setup_t s = good_setup();
        s.config = cases[i].config;
        if (vigil_init(ctx, &s) != VIGIL_ERR_ARG)
            fail_msg("vigil_init accepted %s", cases[i].what);
    }
    n = good_configs(cases);
    for (size_t i = 0; i < n; i++) {
        vigil_setup_t s = good_setup();
        s.config = cases[i].config;
        if (vigil_init(ctx, &s) != VIGIL_OK)
            fail_msg("vigil_init refused %s", cases[i].what);
    }
    free(ctx);
}

static void test_configure_rejects_counts_and_keeps_the_old_config(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    config_case_t cases[16];
    size_t n = bad_configs(cases);
    for (size_t i = 0; i < n; i++) {
        if (vigil_configure(ctx, &cases[i].config) != VIGIL_ERR_ARG)
            fail_msg("vigil_configure accepted %s", cases[i].what);
        assert_int_equal(vigil_counter(ctx, VIGIL_CNT_CONFIG_REJECTED), i + 1);
    }
    assert_int_equal(vigil_configure(ctx, NULL), VIGIL_ERR_ARG);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_CONFIG_REJECTED), n + 1);
    /* Still 60 s. */
    assert_int_equal(vigil_poll(ctx, H_T0 + 59), VIGIL_OK);
    assert_int_equal(vigil_outbox_count(ctx), 0);
    assert_int_equal(vigil_poll(ctx, H_T0 + 60), VIGIL_OK);
    dr_report_t *r[4];
    assert_int_equal(h_reports(ctx, r, 4), 1);
    assert_int_equal(r[0]->interval, 60);
    assert_int_equal(dr_counter(r[0], VIGIL_CNT_CONFIG_REJECTED), n + 1);
    h_free_reports(r, 1);
    assert_int_equal(vigil_outbox_release(ctx, 0), 1);

    /* A valid one applies from the current period on. */
    vigil_config_t c;
    vigil_config_default(&c);
    c.report_interval_s = 10;
    assert_int_equal(vigil_configure(ctx, &c), VIGIL_OK);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_CONFIG_REJECTED), n + 1);
    assert_int_equal(vigil_poll(ctx, H_T0 + 69), VIGIL_OK);
    assert_int_equal(vigil_outbox_count(ctx), 0);
    assert_int_equal(vigil_poll(ctx, H_T0 + 70), VIGIL_OK);
    assert_int_equal(h_reports(ctx, r, 4), 1);
    assert_int_equal(r[0]->interval, 10);
    assert_int_equal(r[0]->period_start, H_T0 + 60);
    h_free_reports(r, 1);
    /* Every valid configuration is accepted. */
    n = good_configs(cases);
    for (size_t i = 0; i < n; i++)
        if (vigil_configure(ctx, &cases[i].config) != VIGIL_OK)
            fail_msg("vigil_configure refused %s", cases[i].what);
    free(ctx);
}

static void test_calls_before_init_are_refused_or_ignored(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_new(); /* zeroed, never initialised */
    pkt_t p;
    mk_udp4(&p, L4, R4, 1, 2, 0);
    vigil_config_t c;
    vigil_config_default(&c);
    assert_int_equal(vigil_configure(ctx, &c), VIGIL_ERR_STATE);
    assert_int_equal(vigil_configure(NULL, &c), VIGIL_ERR_STATE);
    assert_int_equal(vigil_poll(ctx, H_T0), VIGIL_ERR_STATE);
    assert_int_equal(vigil_poll(NULL, H_T0), VIGIL_ERR_STATE);
    assert_int_equal(vigil_flush(ctx, H_T0), VIGIL_ERR_STATE);
    assert_int_equal(vigil_flush(NULL, H_T0), VIGIL_ERR_STATE);
    vigil_observe(ctx, VIGIL_DIR_OUT, p.data, p.len, H_T0);
    vigil_observe(NULL, VIGIL_DIR_OUT, p.data, p.len, H_T0);
    vigil_observe(ctx, (vigil_dir_t)7, NULL, 0, H_T0);
    vigil_observe_headers(NULL, VIGIL_DIR_IN, p.data, p.len, p.len, H_T0);
    vigil_count(ctx, VIGIL_CNT_FOREIGN_PACKET);
    vigil_count(NULL, VIGIL_CNT_FOREIGN_PACKET);
    assert_int_equal(vigil_counter(NULL, VIGIL_CNT_REPORTS), 0);
    vigil_ctx_t zero;
    memset(&zero, 0, sizeof zero);
    assert_memory_equal(ctx, &zero, sizeof zero); /* nothing was touched */
    assert_int_equal(vigil_outbox_count(ctx), 0);
    const uint8_t *msg;
    size_t len;
    assert_int_equal(vigil_outbox_get(ctx, 0, &msg, &len, NULL), VIGIL_ERR_EMPTY);
    free(ctx);
}

static void test_bad_direction_and_null_packet_count_as_bad_argument(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    pkt_t p;
    mk_udp4(&p, L4, R4, 1, 2, 0);
    vigil_observe(ctx, (vigil_dir_t)2, p.data, p.len, H_T0);
    vigil_observe(ctx, (vigil_dir_t)-1, p.data, p.len, H_T0);
    vigil_observe(ctx, VIGIL_DIR_IN, NULL, 40, H_T0);
    vigil_observe_headers(ctx, VIGIL_DIR_OUT, NULL, 0, 0, H_T0);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_BAD_ARGUMENT), 4);
    assert_int_equal(h_flow_count(ctx, 4), 0);
    dr_report_t *r = h_flush_one(ctx, H_T0 + 1);
    assert_false(r->has_flows);
    assert_int_equal(dr_counter(r, VIGIL_CNT_BAD_ARGUMENT), 4);
    free(r);
    free(ctx);
}

static void test_count_adds_one_and_ignores_unknown_counters(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    vigil_count(ctx, VIGIL_CNT_CAPTURE_DROPPED);
    vigil_count(ctx, VIGIL_CNT_CAPTURE_DROPPED);
    vigil_count(ctx, VIGIL_CNT__COUNT);
    vigil_count(ctx, (vigil_counter_t)1000);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_CAPTURE_DROPPED), 2);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT__COUNT), 0);
    assert_int_equal(vigil_counter(ctx, (vigil_counter_t)1000), 0);
    for (unsigned i = 0; i < VIGIL_CNT__COUNT; i++)
        if (i != VIGIL_CNT_CAPTURE_DROPPED)
            assert_int_equal(vigil_counter(ctx, (vigil_counter_t)i), 0);
    free(ctx);
}

static void test_poll_closes_a_period_only_when_its_interval_elapsed(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    for (uint32_t t = H_T0; t < H_T0 + 60; t += 7)
        assert_int_equal(vigil_poll(ctx, t), VIGIL_OK);
    assert_int_equal(vigil_outbox_count(ctx), 0);
    /* Late polls close one period ending at the poll. */
    assert_int_equal(vigil_poll(ctx, H_T0 + 75), VIGIL_OK);
    assert_int_equal(vigil_outbox_count(ctx), 1);
    dr_report_t *r[4];
    assert_int_equal(h_reports(ctx, r, 4), 1);
    assert_int_equal(r[0]->period_start, H_T0);
    assert_int_equal(r[0]->period_end, H_T0 + 75);
    h_free_reports(r, 1);
    assert_int_equal(vigil_outbox_release(ctx, 0), 1);
    assert_int_equal(vigil_poll(ctx, H_T0 + 134), VIGIL_OK);
    assert_int_equal(vigil_outbox_count(ctx), 0);
    assert_int_equal(vigil_poll(ctx, H_T0 + 135), VIGIL_OK);
    assert_int_equal(vigil_outbox_count(ctx), 1);
    assert_int_equal(vigil_outbox_release(ctx, 1), 1);

    /* The clock went back past the period start: the period closes at its
     * start, and the next one starts at the new `now`. */
    assert_int_equal(vigil_poll(ctx, H_T0 + 100), VIGIL_OK);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_CLOCK_BACKWARDS), 1);
    assert_int_equal(h_reports(ctx, r, 4), 1);
    assert_int_equal(r[0]->period_start, H_T0 + 135);
    assert_int_equal(r[0]->period_end, H_T0 + 135);
    assert_int_equal(r[0]->uptime, 135);
    assert_int_equal(dr_counter(r[0], VIGIL_CNT_CLOCK_BACKWARDS), 1);
    h_free_reports(r, 1);
    assert_int_equal(vigil_outbox_release(ctx, 2), 1);
    assert_int_equal(vigil_poll(ctx, H_T0 + 159), VIGIL_OK);
    assert_int_equal(vigil_outbox_count(ctx), 0);
    assert_int_equal(vigil_poll(ctx, H_T0 + 160), VIGIL_OK);
    assert_int_equal(h_reports(ctx, r, 4), 1);
    assert_int_equal(r[0]->period_start, H_T0 + 100);
    assert_int_equal(r[0]->period_end, H_T0 + 160);
    h_free_reports(r, 1);
    assert_int_equal(vigil_outbox_release(ctx, 3), 1);

    /* flush closes whatever the age, even an empty zero-length period. */
    assert_int_equal(vigil_flush(ctx, H_T0 + 160), VIGIL_OK);
    assert_int_equal(h_reports(ctx, r, 4), 1);
    assert_int_equal(r[0]->period_start, H_T0 + 160);
    assert_int_equal(r[0]->period_end, H_T0 + 160);
    h_free_reports(r, 1);
    free(ctx);
}

static bool one_listener(void *arg, size_t index, vigil_listener_t *out)
{
    (void)arg;
    if (index > VIGIL_MAX_LISTENERS) /* one more than reported */
        return false;
    memset(out, 0, sizeof *out);
    out->proto = VIGIL_PROTO_UDP;
    out->family = 4;
    out->port = (uint16_t)(5000 + index);
    return true;
}

static void test_collectors_switched_off_collect_nothing(void **state)
{
    (void)state;
    vigil_sysinfo_t si;
    memset(&si, 0, sizeof si);
    si.os_name = "os";
    vigil_port_t port = {one_listener, &si, NULL};
    vigil_config_t c;
    vigil_config_default(&c);
    c.collectors = 0;
    c.sysinfo_every = 1;
    vigil_ctx_t *ctx = h_new();
    h_init(ctx, H_T0, &c, &port);
    pkt_t p;
    mk_udp4(&p, L4, R4, 1, 2, 0);
    h_out(ctx, &p, H_T0);
    p.data[0] = 0x75; /* not even counted as a bad packet */
    h_out(ctx, &p, H_T0);
    dr_report_t *r = h_flush_one(ctx, H_T0 + 60);
    assert_false(r->has_flows);
    assert_false(r->has_local);
    assert_false(r->has_listeners);
    assert_false(r->has_system);
    assert_true(r->has_counters);
    assert_true(r->has_uptime);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_IP_BAD_VERSION), 0);
    assert_int_equal(vigil_counter(ctx, VIGIL_CNT_LISTENERS_TRUNCATED), 0);
    free(r);

    c.collectors = VIGIL_COLLECT_NETWORK;
    assert_int_equal(vigil_configure(ctx, &c), VIGIL_OK);
    mk_udp4(&p, L4, R4, 1, 2, 0);
    h_out(ctx, &p, H_T0 + 61);
    r = h_flush_one(ctx, H_T0 + 120);
    assert_int_equal(r->n_flows, 1);
    assert_false(r->has_listeners);
    assert_false(r->has_system);
    free(r);

    c.collectors = VIGIL_COLLECT_LISTENERS | VIGIL_COLLECT_SYSINFO;
    assert_int_equal(vigil_configure(ctx, &c), VIGIL_OK);
    h_out(ctx, &p, H_T0 + 121);
    r = h_flush_one(ctx, H_T0 + 180);
    assert_false(r->has_flows);
    assert_int_equal(r->n_listeners, VIGIL_MAX_LISTENERS);
    assert_true(r->has_system);
    assert_string_equal(r->sys[0], "os");
    assert_int_equal(dr_counter(r, VIGIL_CNT_LISTENERS_TRUNCATED), 1);
    free(r);
    free(ctx);
}

/* Reads the counter_id names out of proto/vigil.cddl. */
static size_t cddl_counters(char names[][48], unsigned *ids, size_t max)
{
    FILE *f = fopen(VIGIL_CDDL_PATH, "r");
    if (!f)
        fail_msg("cannot open %s", VIGIL_CDDL_PATH);
    static char text[16384];
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    const char *p = strstr(text, "counter_id = &(");
    assert_non_null(p);
    p += strlen("counter_id = &(");
    const char *end = strchr(p, ')');
    assert_non_null(end);
    size_t n = 0;
    while (p < end) {
        char name[48];
        unsigned id;
        int used = 0;
        if (sscanf(p, " %47[a-z0-9_]: %u%n", name, &id, &used) == 2 && used > 0) {
            assert_true(n < max);
            strcpy(names[n], name);
            ids[n++] = id;
            p += used;
        } else {
            p++;
        }
    }
    return n;
}

static void test_counter_names_match_the_cddl(void **state)
{
    (void)state;
    char names[64][48];
    unsigned ids[64];
    size_t n = cddl_counters(names, ids, 64);
    assert_int_equal(n, VIGIL_CNT__COUNT);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ids[i], i); /* listed in order, none missing */
        const char *name = vigil_counter_name((vigil_counter_t)ids[i]);
        assert_non_null(name);
        assert_string_equal(name, names[i]);
    }
    assert_null(vigil_counter_name(VIGIL_CNT__COUNT));
    assert_null(vigil_counter_name((vigil_counter_t)(VIGIL_CNT__COUNT + 1)));
    assert_null(vigil_counter_name((vigil_counter_t)-1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_default_values),
        cmocka_unit_test(test_init_rejects_null_arguments_and_bad_device_ids),
        cmocka_unit_test(test_init_rejects_every_invalid_config_field),
        cmocka_unit_test(test_configure_rejects_counts_and_keeps_the_old_config),
        cmocka_unit_test(test_calls_before_init_are_refused_or_ignored),
        cmocka_unit_test(test_bad_direction_and_null_packet_count_as_bad_argument),
        cmocka_unit_test(test_count_adds_one_and_ignores_unknown_counters),
        cmocka_unit_test(test_poll_closes_a_period_only_when_its_interval_elapsed),
        cmocka_unit_test(test_collectors_switched_off_collect_nothing),
        cmocka_unit_test(test_counter_names_match_the_cddl),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
