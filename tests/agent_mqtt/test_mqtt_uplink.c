/*
 * test_mqtt_uplink.c - unit tests of mqtt_uplink's strict decoders of the
 * ack and config messages (proto/transport.cddl), table-driven with hex
 * vectors, and of the option checks mqtt_uplink_new() makes before it
 * touches the network.
 *
 * It never needs a broker: the one uplink created points at a port nothing
 * listens on, and is freed unconnected.
 */
#define _DEFAULT_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mqtt_uplink.h"

static size_t from_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = hex; *p;) {
        if (*p == ' ') {
            p++;
            continue;
        }
        unsigned v;
        assert_true(sscanf(p, "%2x", &v) == 1);
        assert_true(n < cap);
        out[n++] = (uint8_t)v;
        p += 2;
    }
    return n;
}

typedef struct {
    const char *name;
    const char *hex;
    bool valid;
    uint32_t boot_id, seq;
} ack_vector_t;

static const ack_vector_t ack_vectors[] = {
    {"a well-formed ack", "a3 00 01 01 1a 12345678 02 05", true, 0x12345678u, 5},
    {"keys in any order", "a3 02 18 2a 00 01 01 00", true, 0, 42},
    {"an indefinite-length map", "bf 00 01 01 01 02 02 ff", true, 1, 2},
    {"the largest boot and seq", "a3 00 01 01 1a ffffffff 02 1a ffffffff", true,
     0xffffffffu, 0xffffffffu},
    {"no version", "a2 01 01 02 02", false, 0, 0},
    {"version 2", "a3 00 02 01 01 02 02", false, 0, 0},
    {"no seq", "a2 00 01 01 01", false, 0, 0},
    {"no boot id", "a2 00 01 02 01", false, 0, 0},
    {"an unknown key", "a4 00 01 01 01 02 02 03 00", false, 0, 0},
    {"a duplicate key", "a4 00 01 01 01 02 02 02 03", false, 0, 0},
    {"a boot id over 32 bits", "a3 00 01 01 1b 0000000100000000 02 00", false, 0, 0},
    {"a negative seq", "a3 00 01 01 01 02 20", false, 0, 0},
    {"a text key", "a3 00 01 61 61 01 02 02", false, 0, 0},
    {"a tagged value", "a3 00 01 01 c1 01 02 02", false, 0, 0},
    {"a map as a value", "a3 00 01 01 a0 02 02", false, 0, 0},
    {"a float value", "a3 00 01 01 f9 3c00 02 02", false, 0, 0},
    {"trailing bytes", "a3 00 01 01 01 02 02 00", false, 0, 0},
    {"a truncated map", "a3 00 01 01", false, 0, 0},
    {"an array", "83 01 02 03", false, 0, 0},
    {"a bare integer", "01", false, 0, 0},
    {"a reserved additional-info byte", "a3 00 01 01 1c 02 02", false, 0, 0},
    /* Headers announcing huge items must cost nothing (found by fuzzing
     * when the decoder used cbor_load(), which allocated them). */
    {"a value announcing 2^62 array elements", "a3 00 01 01 9b 4000000000000000 02 02", false, 0, 0},
    {"a value announcing a 2^62-byte string", "a3 00 01 01 7b 4000000000000000 02 02", false, 0, 0},
    {"a map announcing 2^62 pairs", "bb 4000000000000000 00 01", false, 0, 0},
};

static void test_ack_decoder_accepts_exactly_the_cddl_ack(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ack_vectors / sizeof ack_vectors[0]; i++) {
        const ack_vector_t *v = &ack_vectors[i];
        uint8_t msg[64];
        size_t len = from_hex(v->hex, msg, sizeof msg);
        uint32_t boot = 0xdeadbeefu, seq = 0xdeadbeefu;
        char why[96] = "";
        bool ok = mqtt_uplink_decode_ack(msg, len, &boot, &seq, why, sizeof why);
        if (ok != v->valid)
            fail_msg("%s: decoded %s (%s)", v->name, ok ? "valid" : "invalid", why);
        if (v->valid) {
            assert_int_equal(boot, v->boot_id);
            assert_int_equal(seq, v->seq);
        } else {
            assert_true(why[0] != '\0');
            assert_int_equal(boot, 0xdeadbeefu);    /* untouched */
            assert_int_equal(seq, 0xdeadbeefu);
        }
    }
}

static void test_ack_decoder_rejects_empty_and_oversized_messages(void **state)
{
    (void)state;
    uint8_t big[MQTT_UPLINK_MAX_INBOUND + 1];
    uint32_t boot, seq;
    char why[96];
    memset(big, 0, sizeof big);
    big[0] = 0xa3;
    assert_false(mqtt_uplink_decode_ack(big, 0, &boot, &seq, why, sizeof why));
    assert_false(mqtt_uplink_decode_ack(NULL, 3, &boot, &seq, why, sizeof why));
    assert_false(mqtt_uplink_decode_ack(big, sizeof big, &boot, &seq, why, sizeof why));
    assert_string_equal(why, "message too large");
}

typedef struct {
    const char *name;
    const char *hex;
    bool valid;
    vigil_config_t want;    /* starting from `running` below */
} config_vector_t;

static const vigil_config_t running = {60, VIGIL_COLLECT_ALL, 10, 1024};

static const config_vector_t config_vectors[] = {
    {"only the version keeps everything", "a1 00 01", true, {60, 7, 10, 1024}},
    {"the interval alone", "a2 00 01 01 01", true, {1, 7, 10, 1024}},
    {"every key at its lower bound", "a5 00 01 01 01 02 00 03 01 04 19 0200", true,
     {1, 0, 1, 512}},
    {"every key at its upper bound, the size capped", "a5 00 01 01 19 0e10 02 07 03 19 03e8 04 19 ffff",
     true, {3600, 7, 1000, VIGIL_MAX_MESSAGE_SIZE}},
    {"an empty map (no version)", "a0", false, {0, 0, 0, 0}},
    {"no version", "a1 01 01", false, {0, 0, 0, 0}},
    {"version 2", "a2 00 02 01 01", false, {0, 0, 0, 0}},
    {"interval 0", "a2 00 01 01 00", false, {0, 0, 0, 0}},
    {"interval 3601", "a2 00 01 01 19 0e11", false, {0, 0, 0, 0}},
    {"collectors 8", "a2 00 01 02 08", false, {0, 0, 0, 0}},
    {"sysinfo_every 0", "a2 00 01 03 00", false, {0, 0, 0, 0}},
    {"sysinfo_every 1001", "a2 00 01 03 19 03e9", false, {0, 0, 0, 0}},
    {"max_message_size 511", "a2 00 01 04 19 01ff", false, {0, 0, 0, 0}},
    {"max_message_size 65536", "a2 00 01 04 1a 00010000", false, {0, 0, 0, 0}},
    {"an unknown key", "a2 00 01 05 01", false, {0, 0, 0, 0}},
    {"a huge unknown key", "a2 00 01 1b ffffffffffffffff 01", false, {0, 0, 0, 0}},
    {"a good key after a bad one", "a3 00 01 01 00 02 01", false, {0, 0, 0, 0}},
    {"a duplicate interval", "a3 00 01 01 05 01 06", false, {0, 0, 0, 0}},
    {"a boolean interval", "a2 00 01 01 f5", false, {0, 0, 0, 0}},
    {"a text interval", "a2 00 01 01 62 3630", false, {0, 0, 0, 0}},
    {"a negative interval", "a2 00 01 01 20", false, {0, 0, 0, 0}},
    {"trailing bytes", "a2 00 01 01 01 ff", false, {0, 0, 0, 0}},
    {"two maps", "a1 00 01 a1 00 01", false, {0, 0, 0, 0}},
    {"a truncated map", "a2 00 01 01", false, {0, 0, 0, 0}},
    {"an unterminated indefinite map", "bf 00 01", false, {0, 0, 0, 0}},
    {"a text string", "63 616263", false, {0, 0, 0, 0}},
};

static void test_config_decoder_applies_whole_messages_only(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof config_vectors / sizeof config_vectors[0]; i++) {
        const config_vector_t *v = &config_vectors[i];
        uint8_t msg[64];
        size_t len = from_hex(v->hex, msg, sizeof msg);
        vigil_config_t c = running;
        char why[96] = "";
        bool ok = mqtt_uplink_decode_config(msg, len, &c, why, sizeof why);
        if (ok != v->valid)
            fail_msg("%s: decoded %s (%s)", v->name, ok ? "valid" : "invalid", why);
        const vigil_config_t *want = v->valid ? &v->want : &running;
        if (memcmp(&c, want, sizeof c) != 0)
            fail_msg("%s: config %u/%u/%u/%u", v->name, (unsigned)c.report_interval_s,
                     (unsigned)c.collectors, (unsigned)c.sysinfo_every,
                     (unsigned)c.max_message_size);
        if (!v->valid)
            assert_true(why[0] != '\0');
    }
}

static void test_config_rejection_says_which_value(void **state)
{
    (void)state;
    uint8_t msg[16];
    size_t len = from_hex("a2 00 01 01 00", msg, sizeof msg);
    vigil_config_t c = running;
    char why[96];
    assert_false(mqtt_uplink_decode_config(msg, len, &c, why, sizeof why));
    assert_string_equal(why, "report_interval_s 0 out of range 1..3600");
}

static void expect_refused(const mqtt_uplink_options_t *o, const char *needle)
{
    char err[256] = "";
    mqtt_uplink_t *u = mqtt_uplink_new(o, err, sizeof err);
    if (u) {
        mqtt_uplink_free(u);
        fail_msg("accepted, expected '%s'", needle);
    }
    if (!strstr(err, needle))
        fail_msg("error '%s' lacks '%s'", err, needle);
}

static void test_new_refuses_bad_urls_ids_and_credentials(void **state)
{
    (void)state;
    mqtt_uplink_options_t o;
    memset(&o, 0, sizeof o);
    vigil_config_default(&o.config);
    o.device_id = "dev1";
    const char *bad_urls[][2] = {
        {"tcp://localhost", "must start with"}, {"mqtt://", "no host"},
        {"mqtt://:1883", "no host"}, {"mqtt://host:0", "bad port"},
        {"mqtt://host:65536", "bad port"}, {"mqtt://host:12x", "bad port"},
        {"mqtt://host/path", "unexpected"}, {"mqtt://[::1", "unclosed"},
    };
    for (size_t i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++) {
        o.url = bad_urls[i][0];
        expect_refused(&o, bad_urls[i][1]);
    }
    o.url = "mqtt://127.0.0.1:1";
    const char *bad_ids[] = {"a/b", "a+", "#", ""};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        o.device_id = bad_ids[i];
        expect_refused(&o, "device id");
    }
    o.device_id = "dev1";
    o.password_file = "/nonexistent/password";
    expect_refused(&o, "needs a user name");
    o.username = "u";
    expect_refused(&o, "password file /nonexistent/password");
    o.password_file = NULL;
    o.username = NULL;
    o.certfile = "/etc/hostname";
    o.url = "mqtts://127.0.0.1:1";
    expect_refused(&o, "go together");
    o.certfile = NULL;
    o.cafile = "/etc/hostname";
    o.url = "mqtt://127.0.0.1:1";
    expect_refused(&o, "use mqtts://");
}

static void test_new_with_an_unreachable_broker_is_not_an_error(void **state)
{
    (void)state;
    mqtt_uplink_options_t o;
    memset(&o, 0, sizeof o);
    vigil_config_default(&o.config);
    o.device_id = "dev1";
    o.url = "mqtt://[::1]:1";
    char err[256] = "";
    mqtt_uplink_t *u = mqtt_uplink_new(&o, err, sizeof err);
    assert_non_null(u);
    assert_false(mqtt_uplink_connected(u));
    mqtt_uplink_stats_t st;
    mqtt_uplink_stats(u, &st);
    assert_int_equal(st.connects, 0);
    mqtt_uplink_free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ack_decoder_accepts_exactly_the_cddl_ack),
        cmocka_unit_test(test_ack_decoder_rejects_empty_and_oversized_messages),
        cmocka_unit_test(test_config_decoder_applies_whole_messages_only),
        cmocka_unit_test(test_config_rejection_says_which_value),
        cmocka_unit_test(test_new_refuses_bad_urls_ids_and_credentials),
        cmocka_unit_test(test_new_with_an_unreachable_broker_is_not_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
