/*
 * test_workload_parse.c - vigil-lwip-device's --connect parser
 * (workload_parse_target) against good and hostile specs: every accepted
 * spec names a protocol, a real address and a port in range; everything
 * else is refused with a reason. No network, no lwIP threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "workload.h"

static workload_target_t parse_ok(const char *spec)
{
    workload_target_t t;
    char why[128] = "";
    assert_true(workload_parse_target(spec, &t, why, sizeof why));
    return t;
}

static void test_parse_accepts_ipv4_and_ipv6_targets_of_each_protocol(void **state)
{
    (void)state;
    workload_target_t t = parse_ok("tcp:192.0.2.1:7000");
    assert_int_equal(t.kind, TARGET_TCP);
    assert_int_equal(t.port, 7000);
    assert_true(IP_IS_V4_VAL(t.addr));
    assert_int_equal(ip4_addr_get_u32(ip_2_ip4(&t.addr)), lwip_htonl(0xc0000201u));

    t = parse_ok("udp:[2001:db8:1::1]:7001");
    assert_int_equal(t.kind, TARGET_UDP);
    assert_int_equal(t.port, 7001);
    assert_true(IP_IS_V6_VAL(t.addr));

    t = parse_ok("udp:2001:db8:1::1:65535"); /* bare IPv6: the port follows the last colon */
    assert_int_equal(t.port, 65535);
    assert_true(IP_IS_V6_VAL(t.addr));
    ip_addr_t want;
    assert_true(ipaddr_aton("2001:db8:1::1", &want));
    assert_true(ip_addr_cmp(&want, &t.addr));

    t = parse_ok("icmp:192.0.2.9");
    assert_int_equal(t.kind, TARGET_ICMP);
    assert_int_equal(t.port, 0);
    t = parse_ok("icmp:[2001:db8::9]");
    assert_true(IP_IS_V6_VAL(t.addr));
}

static void test_parse_addr_accepts_the_usual_forms(void **state)
{
    (void)state;
    static const char *const good[] = {
        "0.0.0.0", "255.255.255.255", "192.0.2.1", "::", "::1", "1::", "2001:db8::1",
        "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "2001:DB8:0:0:0:0:0:1",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        ip_addr_t a;
        if (!workload_parse_addr(good[i], strlen(good[i]), &a))
            fail_msg("refused '%s'", good[i]);
    }
}

static void test_parse_refuses_malformed_specs_with_a_reason(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "tcp", "tcp:", "tcp:192.0.2.1", "tcp:192.0.2.1:", "tcp:192.0.2.1:0",
        "tcp:192.0.2.1:65536", "tcp:192.0.2.1:-1", "tcp:192.0.2.1:+80", "tcp:192.0.2.1:80x",
        "tcp:192.0.2.1:99999999999999999999", "tcp:1:80", "tcp:0x1:80", "tcp:192.0.2:80",
        "tcp:192.0.2.256:80", "tcp:[2001:db8::1:80", "tcp:[2001:db8::1]80",
        "tcp:[]:80", "sctp:192.0.2.1:80", "TCP:192.0.2.1:80", "icmp:", "icmp:host",
        "icmp:192.0.2.1:80", "udp:2001:db8:::1:80",
        "tcp:1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc:dddd:eeee:ffff:80",
        "tcp:010.0.2.1:80", "tcp:192.0.2.1.5:80", "tcp:[1:2:3:4:5:6:7]:80",
        "tcp:[1:2:3:4:5:6:7:8:9]:80", "tcp:[1::2::3]:80", "tcp:[12345::1]:80",
        "tcp:[:1]:80", "tcp:[1:]:80", "tcp:[::ffff:192.0.2.1]:80", "tcp:[2001:db8::g]:80",
        "icmp:[192.0.2.1]x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        workload_target_t t;
        char why[128] = "";
        if (workload_parse_target(bad[i], &t, why, sizeof why))
            fail_msg("accepted '%s'", bad[i]);
        assert_true(why[0] != '\0');
    }
}

static void test_parse_reason_fits_a_tiny_buffer(void **state)
{
    (void)state;
    workload_target_t t;
    char why[4];
    memset(why, 'x', sizeof why);
    assert_false(workload_parse_target("tcp:nowhere:80", &t, why, sizeof why));
    assert_int_equal(why[3], '\0');
    assert_false(workload_parse_target("tcp:nowhere:80", &t, NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_accepts_ipv4_and_ipv6_targets_of_each_protocol),
        cmocka_unit_test(test_parse_addr_accepts_the_usual_forms),
        cmocka_unit_test(test_parse_refuses_malformed_specs_with_a_reason),
        cmocka_unit_test(test_parse_reason_fits_a_tiny_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
