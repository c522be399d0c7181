/*
 * test_vigild_config.c - vigild's configuration file and its wire messages
 * without a broker: defaults, every option, every kind of refusal naming
 * file:line, and the CBOR of acks and configurations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ingest_mqtt.h"
#include "store.h"
#include "vigild_config.h"

static bool parse(const char *text, vigild_config_t *cfg, char *err, size_t n)
{
    return vigild_config_parse("t.conf", text, strlen(text), cfg, err, n);
}

static void test_minimal_file_gets_documented_defaults(void **state)
{
    (void)state;
    vigild_config_t c;
    char err[256] = "";
    assert_true(parse("database v.db\n", &c, err, sizeof err));
    assert_string_equal(c.database, "v.db");
    assert_string_equal(c.mqtt_host, "localhost");
    assert_int_equal(c.mqtt_port, 1883);
    assert_string_equal(c.share_group, "vigild");
    assert_int_equal(c.ack_interval_ms, 200);
    assert_int_equal(c.ack_hold_ms, 60000);
    assert_int_equal(c.batch_max, 1000);
    assert_int_equal(c.batch_ms, 50);
    assert_int_equal(c.queue_max, 4000);
    assert_int_equal(c.device_report_interval, 60);
    assert_int_equal(c.log_level, VIGILD_LOG_NOTICE);
    assert_int_equal(c.session_expiry, 86400);
    assert_true(strncmp(c.mqtt_client_id, "vigild-", 7) == 0);
    assert_int_equal(c.feed_count, 0);
}

static void test_every_option_is_read_with_comments_and_blanks(void **state)
{
    (void)state;
    vigild_config_t c;
    char err[256] = "";
    const char *text = "# vigild\n\n  mqtt_host   broker.example  \nmqtt_port 8884\nmqtt_client_id vigild-a\n"
                       "mqtt_username u\nmqtt_password_file /p\nmqtt_cafile /ca\nmqtt_certfile /c\n"
                       "mqtt_keyfile /k\nshare_group g1\ndatabase d.db\npolicy p.yaml\n"
                       "feed a.txt 3600\nfeed csv:dst_ip:https://h/f.csv\nack_interval_ms 0\n"
                       "batch_max 10\nbatch_ms 5\nqueue_max 10\ndevice_report_interval 3600\n"
                       "log_level debug\npid_file /run/v.pid\nsession_expiry 0\nmqtt_keepalive 30\nack_hold_ms 0";
    assert_true(parse(text, &c, err, sizeof err));
    assert_string_equal(c.mqtt_host, "broker.example");
    assert_int_equal(c.mqtt_port, 8884);
    assert_string_equal(c.mqtt_client_id, "vigild-a");
    assert_string_equal(c.mqtt_keyfile, "/k");
    assert_string_equal(c.share_group, "g1");
    assert_int_equal(c.feed_count, 2);
    assert_string_equal(c.feeds[0].spec, "a.txt");
    assert_int_equal(c.feeds[0].refresh_seconds, 3600);
    assert_string_equal(c.feeds[1].spec, "csv:dst_ip:https://h/f.csv");
    assert_int_equal(c.feeds[1].refresh_seconds, 0);
    assert_int_equal(c.ack_interval_ms, 0);
    assert_int_equal(c.batch_max, 10);
    assert_int_equal(c.queue_max, 10);
    assert_int_equal(c.log_level, VIGILD_LOG_DEBUG);
    assert_int_equal(c.session_expiry, 0);
    assert_int_equal(c.mqtt_keepalive, 30);
    assert_int_equal(c.ack_hold_ms, 0);
}

static void test_tls_changes_the_default_port(void **state)
{
    (void)state;
    vigild_config_t c;
    char err[256] = "";
    assert_true(parse("database d\nmqtt_cafile /ca\n", &c, err, sizeof err));
    assert_int_equal(c.mqtt_port, 8883);
}

static void test_refusals_name_file_line_and_reason(void **state)
{
    (void)state;
    static const struct {
        const char *text, *error;
    } cases[] = {
        { "database d\n# c\nbogus 1\n", "t.conf:3: unknown option 'bogus'" },
        { "database d\nmqtt_port 0\n", "t.conf:2: mqtt_port must be an integer in 1..65535, not '0'" },
        { "database d\nmqtt_port 65536\n", "t.conf:2: mqtt_port must be an integer" },
        { "database d\nmqtt_port -1\n", "t.conf:2: mqtt_port must be an integer" },
        { "database d\nbatch_ms 12x\n", "t.conf:2: batch_ms must be an integer" },
        { "database d\nmqtt_host\n", "t.conf:2: mqtt_host needs a value" },
        { "database d\nmqtt_host a b\n", "t.conf:2: mqtt_host takes one value without blanks" },
        { "database d\ndatabase e\n", "t.conf:2: database given twice" },
        { "database d\nfeed a 1 2\n", "t.conf:2: feed takes SPEC [refresh_seconds]" },
        { "database d\nfeed a x\n", "t.conf:2: feed refresh_seconds must be" },
        { "database d\nlog_level loud\n", "t.conf:2: log_level must be" },
        { "database d\nmqtt_client_id 123456789012345678901234\n", "t.conf:2: mqtt_client_id is longer than 23" },
        { "mqtt_port 1\n", "t.conf: database is required" },
        { "database d\nmqtt_certfile c\n", "t.conf: mqtt_certfile and mqtt_keyfile go together" },
        { "database d\nmqtt_certfile c\nmqtt_keyfile k\n", "t.conf: mqtt_certfile needs mqtt_cafile" },
        { "database d\nshare_group a/b\n", "t.conf: share_group must not contain" },
        { "database d\nbatch_max 100\nqueue_max 10\n", "t.conf: queue_max (10) must be at least batch_max (100)" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vigild_config_t c;
        memset(&c, 0x5a, sizeof c);
        char err[256] = "";
        assert_false(parse(cases[i].text, &c, err, sizeof err));
        if (strncmp(err, cases[i].error, strlen(cases[i].error)) != 0)
            fail_msg("case %zu: got '%s', expected '%s'", i, err, cases[i].error);
        assert_int_equal(((unsigned char *)&c)[0], 0x5a);   /* a refused file changes nothing */
    }
}

static void test_overlong_line_nul_byte_and_too_many_feeds_are_refused(void **state)
{
    (void)state;
    vigild_config_t c;
    char err[256] = "";
    static char text[VIGILD_CONFIG_MAX_LINE + 64];
    memset(text, 'a', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    assert_false(parse(text, &c, err, sizeof err));
    assert_string_equal(err, "t.conf:1: line longer than 4096 bytes");
    const char nul[] = "database d\nmqtt_host a\0b\n";
    assert_false(vigild_config_parse("t.conf", nul, sizeof nul - 1, &c, err, sizeof err));
    assert_string_equal(err, "t.conf:2: NUL byte in the line");
    static char feeds[(VIGILD_MAX_FEEDS + 2) * 16];
    size_t n = (size_t)snprintf(feeds, sizeof feeds, "database d\n");
    for (unsigned i = 0; i <= VIGILD_MAX_FEEDS; i++)
        n += (size_t)snprintf(feeds + n, sizeof feeds - n, "feed f%u\n", i);
    assert_false(parse(feeds, &c, err, sizeof err));
    assert_string_equal(err, "t.conf:66: more than 64 feeds");
}

static void test_missing_file_is_named(void **state)
{
    (void)state;
    vigild_config_t c;
    char err[256] = "";
    assert_false(vigild_config_load("/nonexistent/vigild.conf", &c, err, sizeof err));
    assert_string_equal(err, "/nonexistent/vigild.conf: cannot open: No such file or directory");
}

static void test_ack_and_config_are_the_cbor_of_transport_cddl(void **state)
{
    (void)state;
    uint8_t buf[32];
    /* {0: 1, 1: 0xdeadbeef, 2: 300} */
    const uint8_t ack[] = { 0xa3, 0x00, 0x01, 0x01, 0x1a, 0xde, 0xad, 0xbe, 0xef, 0x02, 0x19, 0x01, 0x2c };
    assert_int_equal(ingest_encode_ack(0xdeadbeefu, 300, buf, sizeof buf), sizeof ack);
    assert_memory_equal(buf, ack, sizeof ack);
    assert_int_equal(ingest_encode_ack(0xdeadbeefu, 300, buf, sizeof ack - 1), 0);
    /* {0: 1, 1: 60} */
    const uint8_t config[] = { 0xa2, 0x00, 0x01, 0x01, 0x18, 0x3c };
    assert_int_equal(ingest_encode_config(60, buf, sizeof buf), sizeof config);
    assert_memory_equal(buf, config, sizeof config);
}

static void test_only_report_topics_with_a_usable_id_are_taken(void **state)
{
    (void)state;
    char id[STORE_MAX_DEVICE_ID + 1];
    assert_true(ingest_topic_device("vigil/v1/dev-1/report", id, sizeof id));
    assert_string_equal(id, "dev-1");
    assert_false(ingest_topic_device("vigil/v1//report", id, sizeof id));
    assert_false(ingest_topic_device("vigil/v1/a/b/report", id, sizeof id));
    assert_false(ingest_topic_device("vigil/v1/dev-1/ack", id, sizeof id));
    assert_false(ingest_topic_device("vigil/v2/dev-1/report", id, sizeof id));
    char topic[STORE_MAX_DEVICE_ID + 32];
    snprintf(topic, sizeof topic, "vigil/v1/%0*d/report", (int)STORE_MAX_DEVICE_ID, 7);
    assert_true(ingest_topic_device(topic, id, sizeof id));
    snprintf(topic, sizeof topic, "vigil/v1/%0*d/report", (int)STORE_MAX_DEVICE_ID + 1, 7);
    assert_false(ingest_topic_device(topic, id, sizeof id));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_file_gets_documented_defaults),
        cmocka_unit_test(test_every_option_is_read_with_comments_and_blanks),
        cmocka_unit_test(test_tls_changes_the_default_port),
        cmocka_unit_test(test_refusals_name_file_line_and_reason),
        cmocka_unit_test(test_overlong_line_nul_byte_and_too_many_feeds_are_refused),
        cmocka_unit_test(test_missing_file_is_named),
        cmocka_unit_test(test_ack_and_config_are_the_cbor_of_transport_cddl),
        cmocka_unit_test(test_only_report_topics_with_a_usable_id_are_taken),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
