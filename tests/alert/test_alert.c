/*
 * alert.c: severity and protocol names, and the exact JSON line of an alert
 * or recommendation (keys, order, nulls, escaping, bounds of the buffer).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "alert.h"
#include "report.h"

static alert_t intel_alert(void)
{
    alert_t a;
    memset(&a, 0, sizeof a);
    a.kind = ALERT_KIND_ALERT;
    snprintf(a.type, sizeof a.type, "threat_intel");
    a.severity = ALERT_SEVERITY_HIGH;
    snprintf(a.device, sizeof a.device, "dev-1");
    a.time = 1700000060;
    a.first_time = 1700000000;
    a.proto = REPORT_PROTO_TCP;
    a.family = 4;
    memcpy(a.remote_addr, (uint8_t[]){ 198, 51, 100, 7 }, 4);
    a.remote_port = 443;
    a.local_port = 49152;
    a.direction = ALERT_DIR_OUTBOUND;
    a.has_indicator = true;
    snprintf(a.indicator_value, sizeof a.indicator_value, "198.51.100.0/24");
    snprintf(a.indicator_feed, sizeof a.indicator_feed, "feodo");
    snprintf(a.indicator_category, sizeof a.indicator_category, "botnet_cc");
    snprintf(a.key, sizeof a.key, "tcp:198.51.100.7:443");
    a.count = 3;
    snprintf(a.message, sizeof a.message, "dev-1 connected to 198.51.100.7:443, listed by feodo.");
    return a;
}

static alert_t recommendation(void)
{
    alert_t a;
    memset(&a, 0, sizeof a);
    a.kind = ALERT_KIND_RECOMMENDATION;
    snprintf(a.type, sizeof a.type, "insecure_listener");
    a.severity = ALERT_SEVERITY_MEDIUM;
    snprintf(a.device, sizeof a.device, "dev-2");
    a.time = a.first_time = 1000;
    a.proto = ALERT_PROTO_NONE;
    snprintf(a.key, sizeof a.key, "tcp:23");
    a.count = 1;
    snprintf(a.message, sizeof a.message, "dev-2 listens on telnet (tcp/23).");
    snprintf(a.remediation, sizeof a.remediation, "Disable telnet; use SSH.");
    return a;
}

static void expect_json(const alert_t *a, const char *want)
{
    char buf[4096];
    int n = alert_to_json(a, buf, sizeof buf);
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(buf, want);
}

static void test_severity_names_round_trip_and_unknown_names_are_refused(void **state)
{
    (void)state;
    static const char *const names[] = { "info", "low", "medium", "high", "critical" };
    for (int i = ALERT_SEVERITY_INFO; i <= ALERT_SEVERITY_CRITICAL; i++) {
        assert_string_equal(alert_severity_name((alert_severity_t)i), names[i]);
        alert_severity_t s = ALERT_SEVERITY_INFO;
        assert_true(alert_severity_parse(names[i], &s));
        assert_int_equal(s, i);
    }
    alert_severity_t s = ALERT_SEVERITY_LOW;
    assert_false(alert_severity_parse("High", &s));
    assert_false(alert_severity_parse("", &s));
    assert_false(alert_severity_parse("unknown", &s));
    assert_false(alert_severity_parse("critical ", &s));
    assert_false(alert_severity_parse(NULL, &s));
    assert_int_equal(s, ALERT_SEVERITY_LOW);
    assert_string_equal(alert_severity_name((alert_severity_t)99), "unknown");
}

static void test_proto_names_follow_the_address_family(void **state)
{
    (void)state;
    assert_string_equal(alert_proto_name(REPORT_PROTO_TCP, 4), "tcp");
    assert_string_equal(alert_proto_name(REPORT_PROTO_TCP, 6), "tcp");
    assert_string_equal(alert_proto_name(REPORT_PROTO_UDP, 6), "udp");
    assert_string_equal(alert_proto_name(REPORT_PROTO_ICMP, 4), "icmp");
    assert_string_equal(alert_proto_name(REPORT_PROTO_ICMP, 6), "icmpv6");
    assert_string_equal(alert_proto_name(REPORT_PROTO_ICMP, 0), "icmp");
    assert_null(alert_proto_name(ALERT_PROTO_NONE, 4));
    assert_null(alert_proto_name(7, 4));
}

static void test_intel_alert_prints_every_key_in_order(void **state)
{
    (void)state;
    alert_t a = intel_alert();
    expect_json(&a,
        "{\"kind\":\"alert\",\"type\":\"threat_intel\",\"severity\":\"high\",\"device\":\"dev-1\","
        "\"time\":1700000060,\"remote_addr\":\"198.51.100.7\",\"remote_port\":443,\"local_port\":49152,"
        "\"proto\":\"tcp\",\"direction\":\"outbound\",\"indicator\":{\"value\":\"198.51.100.0/24\","
        "\"feed\":\"feodo\",\"category\":\"botnet_cc\"},\"count\":3,"
        "\"message\":\"dev-1 connected to 198.51.100.7:443, listed by feodo.\"}");
}

static void test_recommendation_appends_remediation_and_prints_nulls(void **state)
{
    (void)state;
    alert_t a = recommendation();
    expect_json(&a,
        "{\"kind\":\"recommendation\",\"type\":\"insecure_listener\",\"severity\":\"medium\","
        "\"device\":\"dev-2\",\"time\":1000,\"remote_addr\":null,\"remote_port\":null,"
        "\"local_port\":null,\"proto\":null,\"direction\":null,\"indicator\":null,\"count\":1,"
        "\"message\":\"dev-2 listens on telnet (tcp/23). Remediation: Disable telnet; use SSH.\"}");
}

static void test_recommendation_without_remediation_has_no_dangling_separator(void **state)
{
    (void)state;
    alert_t a = recommendation();
    a.remediation[0] = '\0';
    char buf[1024];
    assert_true(alert_to_json(&a, buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "\"message\":\"dev-2 listens on telnet (tcp/23).\"}"));
    assert_null(strstr(buf, "Remediation"));
}

static void test_alert_never_prints_its_remediation(void **state)
{
    (void)state;
    alert_t a = intel_alert();
    snprintf(a.remediation, sizeof a.remediation, "should not appear");
    char buf[1024];
    assert_true(alert_to_json(&a, buf, sizeof buf) > 0);
    assert_null(strstr(buf, "should not appear"));
}

static void test_ipv6_icmp_alert_uses_canonical_address_and_icmpv6(void **state)
{
    (void)state;
    alert_t a = intel_alert();
    a.family = 6;
    memcpy(a.remote_addr, (uint8_t[]){ 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7 }, 16);
    a.proto = REPORT_PROTO_ICMP;
    a.remote_port = 128;
    a.local_port = 0;
    a.direction = ALERT_DIR_INBOUND;
    a.has_indicator = false;
    a.count = 1;
    snprintf(a.message, sizeof a.message, "ping");
    expect_json(&a,
        "{\"kind\":\"alert\",\"type\":\"threat_intel\",\"severity\":\"high\",\"device\":\"dev-1\","
        "\"time\":1700000060,\"remote_addr\":\"2001:db8::7\",\"remote_port\":128,\"local_port\":0,"
        "\"proto\":\"icmpv6\",\"direction\":\"inbound\",\"indicator\":null,\"count\":1,"
        "\"message\":\"ping\"}");
}

static void test_remote_port_needs_an_endpoint_and_local_port_a_protocol(void **state)
{
    (void)state;
    alert_t a = intel_alert();
    a.proto = ALERT_PROTO_NONE;     /* endpoint, but not one flow */
    char buf[1024];
    assert_true(alert_to_json(&a, buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "\"remote_addr\":\"198.51.100.7\",\"remote_port\":null,"
                                "\"local_port\":null,\"proto\":null,"));

    a = intel_alert();
    a.family = 0;                   /* protocol, but no remote endpoint: a listener */
    assert_true(alert_to_json(&a, buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "\"remote_addr\":null,\"remote_port\":null,"
                                "\"local_port\":49152,\"proto\":\"tcp\","));

    a.family = 5;                   /* not a family: treated as no endpoint */
    assert_true(alert_to_json(&a, buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "\"remote_addr\":null,\"remote_port\":null,"));
}

static void test_quotes_and_control_characters_in_device_id_are_escaped(void **state)
{
    (void)state;
    alert_t a = recommendation();
    snprintf(a.device, sizeof a.device, "a\"b\\c\x01\n\t\x1f/d");
    a.remediation[0] = '\0';
    snprintf(a.message, sizeof a.message, "<\"x\">");
    expect_json(&a,
        "{\"kind\":\"recommendation\",\"type\":\"insecure_listener\",\"severity\":\"medium\","
        "\"device\":\"a\\\"b\\\\c\\u0001\\n\\t\\u001F/d\",\"time\":1000,\"remote_addr\":null,"
        "\"remote_port\":null,\"local_port\":null,\"proto\":null,\"direction\":null,"
        "\"indicator\":null,\"count\":1,\"message\":\"<\\\"x\\\">\"}");
}

static void test_invalid_utf8_becomes_replacement_characters(void **state)
{
    (void)state;
    alert_t a = recommendation();
    a.remediation[0] = '\0';
    /* a lone continuation byte, an overlong '/', a surrogate, a cut sequence */
    snprintf(a.device, sizeof a.device, "d\x80-\xc0\xaf-\xed\xa0\x80-\xe2\x82");
    snprintf(a.message, sizeof a.message, "caf\xc3\xa9");
    char buf[1024];
    assert_true(alert_to_json(&a, buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "\"device\":\"d\xef\xbf\xbd-\xef\xbf\xbd\xef\xbf\xbd-"
                                "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd-\xef\xbf\xbd\xef\xbf\xbd\""));
    assert_non_null(strstr(buf, "\"message\":\"caf\xc3\xa9\"}"));
}

static void test_unterminated_fields_are_read_only_within_their_size(void **state)
{
    (void)state;
    alert_t a = recommendation();
    memset(a.device, 'd', sizeof a.device);          /* no NUL anywhere */
    memset(a.message, 'm', sizeof a.message);
    memset(a.remediation, 'r', sizeof a.remediation);
    memset(a.type, 't', sizeof a.type);
    char buf[4096];
    int n = alert_to_json(&a, buf, sizeof buf);
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(buf));
    char want[1024];
    snprintf(want, sizeof want, "\"device\":\"%.*s\"", (int)sizeof a.device, a.device);
    assert_non_null(strstr(buf, want));
    snprintf(want, sizeof want, "\"type\":\"%.*s\"", (int)sizeof a.type, a.type);
    assert_non_null(strstr(buf, want));
    snprintf(want, sizeof want, "\"message\":\"%.*s Remediation: %.*s\"}", (int)sizeof a.message,
             a.message, (int)sizeof a.remediation, a.remediation);
    assert_non_null(strstr(buf, want));
}

static void test_small_buffer_returns_minus_one_and_exact_fit_succeeds(void **state)
{
    (void)state;
    alert_t a = intel_alert();
    char big[2048];
    int n = alert_to_json(&a, big, sizeof big);
    assert_true(n > 0);

    char exact[2048];
    assert_int_equal(alert_to_json(&a, exact, (size_t)n + 1), n);
    assert_string_equal(exact, big);

    char small[2048];
    memset(small, 'x', sizeof small);
    assert_int_equal(alert_to_json(&a, small, (size_t)n), -1);   /* no room for the NUL */
    assert_int_equal(small[0], '\0');
    assert_int_equal(small[1], 'x');                            /* nothing else touched */
    assert_int_equal(alert_to_json(&a, small, 1), -1);
    assert_int_equal(alert_to_json(&a, small, 0), -1);
    assert_int_equal(small[1], 'x');
    assert_int_equal(alert_to_json(NULL, small, sizeof small), -1);
    assert_int_equal(alert_to_json(&a, NULL, 10), -1);
}

static void test_huge_count_is_clamped_not_wrapped(void **state)
{
    (void)state;
    alert_t a = intel_alert();
    a.count = UINT64_MAX;
    char buf[2048];
    assert_true(alert_to_json(&a, buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "\"count\":9223372036854775807,"));
    a.count = (uint64_t)INT64_MAX;
    assert_true(alert_to_json(&a, buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "\"count\":9223372036854775807,"));
}

static void test_negative_time_and_bad_enums_still_print_valid_json(void **state)
{
    (void)state;
    alert_t a = intel_alert();
    a.time = -5;
    a.severity = (alert_severity_t)42;
    a.direction = (alert_direction_t)9;
    a.proto = 200;
    char buf[2048];
    assert_true(alert_to_json(&a, buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "\"severity\":\"unknown\","));
    assert_non_null(strstr(buf, "\"time\":-5,"));
    assert_non_null(strstr(buf, "\"remote_port\":443,\"local_port\":49152,\"proto\":null,\"direction\":null,"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_severity_names_round_trip_and_unknown_names_are_refused),
        cmocka_unit_test(test_proto_names_follow_the_address_family),
        cmocka_unit_test(test_intel_alert_prints_every_key_in_order),
        cmocka_unit_test(test_recommendation_appends_remediation_and_prints_nulls),
        cmocka_unit_test(test_recommendation_without_remediation_has_no_dangling_separator),
        cmocka_unit_test(test_alert_never_prints_its_remediation),
        cmocka_unit_test(test_ipv6_icmp_alert_uses_canonical_address_and_icmpv6),
        cmocka_unit_test(test_remote_port_needs_an_endpoint_and_local_port_a_protocol),
        cmocka_unit_test(test_quotes_and_control_characters_in_device_id_are_escaped),
        cmocka_unit_test(test_invalid_utf8_becomes_replacement_characters),
        cmocka_unit_test(test_unterminated_fields_are_read_only_within_their_size),
        cmocka_unit_test(test_small_buffer_returns_minus_one_and_exact_fit_succeeds),
        cmocka_unit_test(test_huge_count_is_clamped_not_wrapped),
        cmocka_unit_test(test_negative_time_and_bad_enums_still_print_valid_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
