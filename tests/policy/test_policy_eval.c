/*
 * test_policy_eval.c - reports judged against a security group's rules raise
 * exactly the alerts docs/policy.md promises: remote networks, listeners,
 * and min/max ranges of every metric over windows (analyzer/policy.h).
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "policy.h"

/* ---- reports ---- */

typedef struct {
    report_t r;
    report_flow_t *flows;
    size_t cap;
    report_listener_t listeners[16];
    report_overflow_t overflow[6];
} rep_t;

static rep_t *rep_new(uint32_t start, uint32_t end, size_t cap)
{
    rep_t *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->flows = calloc(cap ? cap : 1, sizeof *t->flows);
    assert_non_null(t->flows);
    t->cap = cap;
    strcpy(t->r.device_id, "dev");
    t->r.period_start = start;
    t->r.period_end = end;
    t->r.interval = end - start;
    t->r.flows = t->flows;
    t->r.listeners = t->listeners;
    t->r.overflow = t->overflow;
    return t;
}

static void rep_free(rep_t *t)
{
    if (t) {
        free(t->flows);
        free(t);
    }
}

static uint8_t parse_addr(const char *text, uint8_t out[16])
{
    memset(out, 0, 16);
    if (strchr(text, ':')) {
        assert_int_equal(inet_pton(AF_INET6, text, out), 1);
        return 6;
    }
    assert_int_equal(inet_pton(AF_INET, text, out), 1);
    return 4;
}

static report_flow_t *flow(rep_t *t, uint8_t proto, const char *remote, uint16_t remote_port,
                           uint16_t local_port, bool remote_initiated, uint8_t tcp_flags)
{
    assert_true(t->r.flow_count < t->cap);
    report_flow_t *f = &t->flows[t->r.flow_count++];
    f->family = parse_addr(remote, f->remote_addr);
    if (f->family == 4) {
        f->local_addr[0] = 192, f->local_addr[2] = 2, f->local_addr[3] = 1;
    } else {
        f->local_addr[0] = 0x20, f->local_addr[1] = 0x01, f->local_addr[2] = 0x0d;
        f->local_addr[3] = 0xb8, f->local_addr[15] = 1;
    }
    f->proto = proto;
    f->remote_port = remote_port;
    f->local_port = local_port;
    f->remote_initiated = remote_initiated;
    f->tcp_flags = tcp_flags;
    f->bytes_in = f->bytes_out = 100;
    f->packets_in = f->packets_out = 1;
    f->first_seen = t->r.period_start;
    f->last_seen = t->r.period_end;
    return f;
}

static void listener(rep_t *t, uint8_t proto, uint8_t family, uint16_t port)
{
    t->r.has_listeners = true;
    report_listener_t *l = &t->listeners[t->r.listener_count++];
    l->proto = proto;
    l->family = family;
    l->port = port;
    l->any = true;
}

/* ---- alerts ---- */

#define MAX_SEEN 64

typedef struct {
    alert_t a[MAX_SEEN];
    size_t n;
} seen_t;

static void collect(void *user, const alert_t *a)
{
    seen_t *s = user;
    if (s->n < MAX_SEEN)
        s->a[s->n] = *a;
    s->n++;
}

static policy_t *must_load(const char *text)
{
    policy_error_t err;
    policy_t *p = policy_load_string("test.yaml", text, strlen(text), &err);
    if (!p)
        fail_msg("refused at %zu:%zu: %s", err.line, err.column, err.reason);
    return p;
}

/* Evaluates one report as device "dev" of the group the policy gives it. */
static void eval(policy_eval_t *e, const policy_t *p, rep_t *t, seen_t *s)
{
    const char *group = policy_group_for(p, "dev", NULL, 0);
    policy_eval_report(e, p, "dev", group, &t->r, collect, s);
}

/* ---- remote networks ---- */

#define SENSORS "version: 1\ngroups:\n  - name: sensors\n    members: { ids: [dev, \"sensor-*\"] }\n    rules:\n"

static const char remote_policy[] =
    SENSORS "      remote_cidrs_allowed:\n"
            "        severity: high\n"
            "        cidrs: [198.51.100.0/24, \"2001:db8:1::/48\", 192.0.2.7, 10.0.0.0/8, 10.1.0.0/16,\n"
            "                192.0.2.128/25, \"2001:db8:abc::/45\"]\n";

static void test_remotes_outside_the_allowed_networks_are_alerts(void **state)
{
    (void)state;
    static const struct {
        const char *remote;
        bool allowed;
        const char *key;
    } cases[] = {
        { "198.51.100.0", true, NULL },
        { "198.51.100.255", true, NULL },
        { "198.51.101.0", false, "tcp:198.51.101.0" },
        { "198.51.99.255", false, "tcp:198.51.99.255" },
        { "192.0.2.7", true, NULL },
        { "192.0.2.6", false, "tcp:192.0.2.6" },
        { "192.0.2.8", false, "tcp:192.0.2.8" },
        { "10.1.2.3", true, NULL },
        { "10.255.255.255", true, NULL },
        { "11.0.0.0", false, "tcp:11.0.0.0" },
        { "192.0.2.127", false, "tcp:192.0.2.127" },
        { "192.0.2.128", true, NULL },
        { "192.0.2.255", true, NULL },
        { "0.0.0.0", false, "tcp:0.0.0.0" },
        { "223.255.255.255", false, "tcp:223.255.255.255" },
        /* The link's plumbing is not judged: multicast, broadcast, link-local. */
        { "224.0.0.251", true, NULL },
        { "239.255.255.250", true, NULL },
        { "255.255.255.255", true, NULL },
        { "169.254.10.1", true, NULL },
        { "169.253.255.255", false, "tcp:169.253.255.255" },
        { "ff02::fb", true, NULL },
        { "fe80::1", true, NULL },
        { "fec0::1", false, "tcp:fec0::1" },
        { "2001:db8:1::", true, NULL },
        { "2001:db8:1:ffff:ffff:ffff:ffff:ffff", true, NULL },
        { "2001:db8:2::", false, "tcp:2001:db8:2::" },
        { "2001:db8:0:ffff:ffff:ffff:ffff:ffff", false, "tcp:2001:db8:0:ffff:ffff:ffff:ffff:ffff" },
        { "::", false, "tcp:::" },
        { "2001:db8:ab8::", true, NULL },                       /* 2001:db8:abc::/45 */
        { "2001:db8:abf:ffff:ffff:ffff:ffff:ffff", true, NULL },
        { "2001:db8:ac0::", false, "tcp:2001:db8:ac0::" },
        { "2001:db8:ab7:ffff:ffff:ffff:ffff:ffff", false, "tcp:2001:db8:ab7:ffff:ffff:ffff:ffff:ffff" },
        /* IPv4-mapped remotes are judged, and reported, as IPv4. */
        { "::ffff:198.51.100.9", true, NULL },
        { "::ffff:203.0.113.66", false, "tcp:203.0.113.66" },
        /* An IPv6 address that merely ends like an allowed IPv4 one is not it. */
        { "64:ff9b::198.51.100.9", false, "tcp:64:ff9b::c633:6409" },
    };
    policy_t *p = must_load(remote_policy);
    size_t failures = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        policy_eval_t *e = policy_eval_new();
        rep_t *t = rep_new(0, 60, 1);
        flow(t, 0, cases[i].remote, 443, 40000, false, 0);
        seen_t s = { .n = 0 };
        eval(e, p, t, &s);
        bool ok = cases[i].allowed ? s.n == 0
                                   : s.n == 1 && strcmp(s.a[0].key, cases[i].key) == 0;
        if (!ok) {
            print_error("%s: expected %s, got %zu alerts (%s)\n", cases[i].remote,
                        cases[i].allowed ? "allowed" : cases[i].key, s.n, s.n ? s.a[0].key : "");
            failures++;
        }
        rep_free(t);
        policy_eval_free(e);
    }
    assert_int_equal(failures, 0);
    policy_free(p);
}

static void test_icmpv6_neighbour_discovery_is_not_judged_but_echo_is(void **state)
{
    (void)state;
    policy_t *p = must_load(remote_policy);
    policy_eval_t *e = policy_eval_new();
    rep_t *t = rep_new(0, 60, 4);
    flow(t, REPORT_PROTO_ICMP, "2001:db8:9::2", 0, 135, false, 0);   /* neighbour solicitation */
    flow(t, REPORT_PROTO_ICMP, "2001:db8:9::3", 0, 143, false, 0);   /* MLDv2 report */
    flow(t, REPORT_PROTO_ICMP, "2001:db8:9::4", 0, 128, false, 0);   /* echo request */
    seen_t s = { .n = 0 };
    eval(e, p, t, &s);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.a[0].key, "icmpv6:2001:db8:9::4");
    rep_free(t);
    policy_eval_free(e);
    policy_free(p);
}

/* Types 130-137 and 143 are neighbour discovery and MLD only in ICMPv6: an
 * IPv4 ICMP message of such a type (unassigned there, free for a tunnel) to
 * a remote outside the list is judged like any other. */
static void test_icmpv4_of_a_neighbour_discovery_type_number_is_judged(void **state)
{
    (void)state;
    policy_t *p = must_load(remote_policy);
    policy_eval_t *e = policy_eval_new();
    rep_t *t = rep_new(0, 60, 4);
    flow(t, REPORT_PROTO_ICMP, "203.0.113.7", 0, 133, false, 0);
    flow(t, REPORT_PROTO_ICMP, "203.0.113.8", 0, 143, false, 0);
    seen_t s = { .n = 0 };
    eval(e, p, t, &s);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.a[0].key, "icmp:203.0.113.7");
    assert_string_equal(s.a[1].key, "icmp:203.0.113.8");
    rep_free(t);
    policy_eval_free(e);
    policy_free(p);
}

static void test_a_remote_alert_says_who_where_and_which_way(void **state)
{
    (void)state;
    policy_t *p = must_load(remote_policy);
    policy_eval_t *e = policy_eval_new();
    rep_t *t = rep_new(1000, 1060, 8);
    report_flow_t *f = flow(t, 0, "203.0.113.66", 443, 40000, false, 0x01 | 0x02);
    f->first_seen = 1005, f->last_seen = 1009;
    flow(t, 1, "2001:db8:2::5", 5683, 5683, true, 0);
    flow(t, 2, "203.0.113.9", 0, 8, false, 0);
    flow(t, 2, "2001:db8:bad::1", 0, 128, false, 0);
    flow(t, 0, "::ffff:203.0.113.66", 80, 40001, true, 0x01);
    flow(t, 1, "198.51.100.20", 8883, 40002, false, 0);    /* allowed */
    seen_t s = { .n = 0 };
    policy_eval_report(e, p, "sensor-1", "sensors", &t->r, collect, &s);
    assert_int_equal(s.n, 5);

    const alert_t *a = &s.a[0];
    assert_int_equal(a->kind, ALERT_KIND_ALERT);
    assert_string_equal(a->type, "remote_not_allowed");
    assert_int_equal(a->severity, ALERT_SEVERITY_HIGH);
    assert_string_equal(a->device, "sensor-1");
    assert_int_equal(a->time, 1009);
    assert_int_equal(a->first_time, 1005);
    assert_int_equal(a->proto, 0);
    assert_int_equal(a->family, 4);
    assert_memory_equal(a->remote_addr, "\xcb\x00\x71\x42", 4);
    assert_int_equal(a->remote_port, 443);
    assert_int_equal(a->local_port, 40000);
    assert_int_equal(a->direction, ALERT_DIR_OUTBOUND);
    assert_false(a->has_indicator);
    assert_int_equal(a->count, 1);
    assert_string_equal(a->key, "tcp:203.0.113.66");
    assert_string_equal(a->message, "sensor-1 exchanged tcp with 203.0.113.66:443 (device-initiated), "
                                    "outside the remote networks allowed for group sensors");
    assert_string_equal(a->remediation, "");

    a = &s.a[1];
    assert_string_equal(a->key, "udp:2001:db8:2::5");
    assert_int_equal(a->family, 6);
    assert_int_equal(a->direction, ALERT_DIR_INBOUND);
    assert_string_equal(a->message, "sensor-1 exchanged udp with [2001:db8:2::5]:5683 (remote-initiated), "
                                    "outside the remote networks allowed for group sensors");
    assert_string_equal(s.a[2].key, "icmp:203.0.113.9");
    assert_string_equal(s.a[2].message, "sensor-1 exchanged icmp with 203.0.113.9 (device-initiated), "
                                        "outside the remote networks allowed for group sensors");
    assert_string_equal(s.a[3].key, "icmpv6:2001:db8:bad::1");
    a = &s.a[4];
    assert_string_equal(a->key, "tcp:203.0.113.66");
    assert_int_equal(a->family, 4);
    assert_memory_equal(a->remote_addr, "\xcb\x00\x71\x42\0\0\0\0\0\0\0\0\0\0\0\0", 16);
    assert_int_equal(a->direction, ALERT_DIR_INBOUND);

    policy_eval_stats_t st;
    policy_eval_get_stats(e, &st);
    assert_int_equal(st.reports, 1);
    assert_int_equal(st.alerts, 5);
    assert_int_equal(st.devices, 0);       /* no ranges: nothing to remember */
    rep_free(t);
    policy_eval_free(e);
    policy_free(p);
}

static void test_an_empty_allowlist_allows_no_remote(void **state)
{
    (void)state;
    policy_t *p = must_load(SENSORS "      remote_cidrs_allowed: { cidrs: [] }\n");
    policy_eval_t *e = policy_eval_new();
    rep_t *t = rep_new(0, 60, 2);
    flow(t, 0, "198.51.100.20", 8883, 40000, false, 0);
    flow(t, 0, "2001:db8:1::1", 8883, 40000, false, 0);
    seen_t s = { .n = 0 };
    eval(e, p, t, &s);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.a[0].severity, ALERT_SEVERITY_MEDIUM);   /* the default */
    rep_free(t);
    policy_eval_free(e);
    policy_free(p);
}

/* ---- listeners ---- */

static void test_listeners_outside_the_allowed_ports_are_alerts(void **state)
{
    (void)state;
    static const struct {
        uint8_t proto, family;
        uint16_t port;
        const char *key;            /* NULL: allowed */
    } cases[] = {
        { 0, 4, 8883, NULL },
        { 1, 4, 8883, "udp:8883" },
        { 1, 6, 5683, NULL },
        { 0, 4, 5683, "tcp:5683" },
        { 0, 4, 22, NULL },
        { 1, 6, 22, NULL },
        { 0, 4, 23, "tcp:23" },
        { 0, 6, 23, "tcp:23" },
        { 1, 4, 1, "udp:1" },
        { 0, 4, 65535, "tcp:65535" },
    };
    policy_t *p = must_load(SENSORS "      listening_ports_allowed:\n"
                                    "        severity: critical\n"
                                    "        ports: [\"tcp/8883\", \"udp/5683\", 22]\n");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        policy_eval_t *e = policy_eval_new();
        rep_t *t = rep_new(0, 60, 0);
        listener(t, cases[i].proto, cases[i].family, cases[i].port);
        seen_t s = { .n = 0 };
        eval(e, p, t, &s);
        if (!cases[i].key) {
            assert_int_equal(s.n, 0);
        } else {
            assert_int_equal(s.n, 1);
            const alert_t *a = &s.a[0];
            assert_string_equal(a->type, "listener_not_allowed");
            assert_string_equal(a->key, cases[i].key);
            assert_int_equal(a->severity, ALERT_SEVERITY_CRITICAL);
            assert_int_equal(a->local_port, cases[i].port);
            assert_int_equal(a->proto, cases[i].proto);
            assert_int_equal(a->family, 0);
            assert_int_equal(a->direction, ALERT_DIR_NONE);
            assert_int_equal(a->time, 60);
        }
        rep_free(t);
        policy_eval_free(e);
    }

    /* The message; and a report that does not carry listeners says nothing about them. */
    policy_eval_t *e = policy_eval_new();
    rep_t *t = rep_new(0, 60, 0);
    listener(t, 0, 4, 23);
    seen_t s = { .n = 0 };
    policy_eval_report(e, p, "sensor-1", "sensors", &t->r, collect, &s);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.a[0].message, "sensor-1 listens on tcp/23, a port not allowed for group sensors");
    t->r.has_listeners = false;
    s.n = 0;
    policy_eval_report(e, p, "sensor-1", "sensors", &t->r, collect, &s);
    assert_int_equal(s.n, 0);
    rep_free(t);
    policy_eval_free(e);
    policy_free(p);
}

/* ---- ranges: every metric at and around its bounds ---- */

/*
 * Each builder makes the reports of window [0, 60) whose metric is exactly
 * `n` (n >= 2), with look-alikes that must not count and repeats that must
 * count once.
 */
typedef size_t (*builder_fn)(rep_t **out, uint64_t n);

static size_t build_active_connections(rep_t **out, uint64_t n)
{
    out[0] = rep_new(0, 10, n);
    out[1] = rep_new(10, 20, n);
    for (uint64_t i = 0; i < n; i++)
        flow(out[0], 0, "198.51.100.1", 443, (uint16_t)(40000 + i), false, 0x01 | 0x02);
    /* The same flows again in the next period: still n connections. */
    for (uint64_t i = 0; i < n / 2; i++)
        flow(out[1], 0, "198.51.100.1", 443, (uint16_t)(40000 + i), false, 0);
    return 2;
}

static size_t build_distinct_remotes(rep_t **out, uint64_t n)
{
    out[0] = rep_new(0, 10, 2 * n);
    out[1] = rep_new(10, 20, 4);
    char addr[32];
    for (uint64_t i = 0; i < n; i++) {
        snprintf(addr, sizeof addr, "198.51.100.%u", (unsigned)i + 1);
        flow(out[0], 0, addr, 443, 40000, false, 0);
        flow(out[0], 1, addr, 53, 40001, false, 0);    /* same remote, other flow */
    }
    flow(out[1], 0, "198.51.100.1", 8883, 40002, false, 0);
    flow(out[1], 0, "::ffff:198.51.100.2", 8883, 40003, false, 0);   /* the same as IPv4 */
    return 2;
}

/* The sums: flows in two reports plus the overflow of untracked flows. */
static size_t build_sum(rep_t **out, uint64_t n, policy_metric_t m)
{
    out[0] = rep_new(0, 10, 2);
    out[1] = rep_new(10, 20, 2);
    bool in = m == POLICY_METRIC_BYTES_IN || m == POLICY_METRIC_PACKETS_IN;
    bool bytes = m == POLICY_METRIC_BYTES_IN || m == POLICY_METRIC_BYTES_OUT;
    uint64_t part[3] = { n / 3, n / 3, n - 2 * (n / 3) };
    for (int i = 0; i < 2; i++) {
        report_flow_t *f = flow(out[i], 0, "198.51.100.1", 443, 40000, false, 0);
        f->bytes_in = f->bytes_out = f->packets_in = f->packets_out = 1000;   /* the other three */
        if (bytes)
            *(in ? &f->bytes_in : &f->bytes_out) = part[i];
        else
            *(in ? &f->packets_in : &f->packets_out) = part[i];
    }
    /* Overflow: the matching direction counts, the other does not. */
    out[1]->overflow[0] = (report_overflow_t){ 0, in ? REPORT_DIR_IN : REPORT_DIR_OUT,
                                               bytes ? 777 : part[2], bytes ? part[2] : 777 };
    out[1]->overflow[1] = (report_overflow_t){ 1, in ? REPORT_DIR_OUT : REPORT_DIR_IN, 555, 555 };
    out[1]->r.overflow_count = 2;
    return 2;
}

static size_t build_bytes_in(rep_t **out, uint64_t n) { return build_sum(out, n, POLICY_METRIC_BYTES_IN); }
static size_t build_bytes_out(rep_t **out, uint64_t n) { return build_sum(out, n, POLICY_METRIC_BYTES_OUT); }
static size_t build_packets_in(rep_t **out, uint64_t n) { return build_sum(out, n, POLICY_METRIC_PACKETS_IN); }
static size_t build_packets_out(rep_t **out, uint64_t n) { return build_sum(out, n, POLICY_METRIC_PACKETS_OUT); }

static size_t build_failed_outbound_tcp(rep_t **out, uint64_t n)
{
    out[0] = rep_new(0, 10, n + 4);
    out[1] = rep_new(10, 20, 2);
    for (uint64_t i = 0; i < n; i++)
        flow(out[0], 0, "198.51.100.1", 443, (uint16_t)(40000 + i), false, 0x01);
    flow(out[0], 0, "198.51.100.1", 443, 41000, false, 0x01 | 0x02);   /* answered */
    flow(out[0], 0, "198.51.100.1", 443, 41001, true, 0x01);           /* inbound */
    flow(out[0], 1, "198.51.100.1", 443, 41002, false, 0);             /* udp */
    flow(out[0], 0, "198.51.100.1", 443, 41003, false, 0x08);          /* no SYN seen */
    flow(out[1], 0, "198.51.100.1", 443, 40000, false, 0x01);          /* retried: the same flow */
    flow(out[1], 0, "198.51.100.1", 443, 41004, false, 0x01 | 0x02);
    return 2;
}

static size_t build_inbound_attempts(rep_t **out, uint64_t n)
{
    out[0] = rep_new(0, 10, n + 3);
    out[1] = rep_new(10, 20, 2);
    for (uint64_t i = 0; i < n; i++)
        flow(out[0], i % 2 ? 1 : 0, "203.0.113.5", (uint16_t)(50000 + i), 23, true,
             i % 2 ? 0 : 0x01);
    flow(out[0], 0, "203.0.113.5", 60000, 23, true, 0);         /* no SYN: not an attempt */
    flow(out[0], 1, "203.0.113.5", 60001, 53, false, 0);        /* outbound udp */
    flow(out[0], 0, "203.0.113.5", 60002, 40000, false, 0x01);  /* outbound tcp */
    flow(out[1], 1, "203.0.113.5", 50001, 23, true, 0);         /* the same udp flow again */
    flow(out[1], 2, "203.0.113.5", 0, 8, true, 0);              /* icmp */
    return 2;
}

static size_t build_reports(rep_t **out, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        out[i] = rep_new((uint32_t)(i * 5), (uint32_t)(i * 5 + 5), 1);
    return n;
}

static void test_every_metric_is_judged_at_its_bounds(void **state)
{
    (void)state;
    static const struct {
        policy_metric_t metric;
        builder_fn build;
        uint64_t n;
    } metrics[] = {
        { POLICY_METRIC_ACTIVE_CONNECTIONS, build_active_connections, 7 },
        { POLICY_METRIC_DISTINCT_REMOTES, build_distinct_remotes, 5 },
        { POLICY_METRIC_BYTES_IN, build_bytes_in, 1000001 },
        { POLICY_METRIC_BYTES_OUT, build_bytes_out, 2097152 },
        { POLICY_METRIC_PACKETS_IN, build_packets_in, 10 },
        { POLICY_METRIC_PACKETS_OUT, build_packets_out, 31 },
        { POLICY_METRIC_FAILED_OUTBOUND_TCP, build_failed_outbound_tcp, 4 },
        { POLICY_METRIC_INBOUND_ATTEMPTS, build_inbound_attempts, 6 },
        { POLICY_METRIC_REPORTS, build_reports, 3 },
    };
    static const struct {
        int64_t min, max;            /* offsets from n; INT64_MIN: absent */
        const char *key;             /* the alert expected, or NULL */
    } bounds[] = {
        { 0, INT64_MIN, NULL },      /* value == min is allowed */
        { INT64_MIN, 0, NULL },      /* value == max is allowed */
        { 0, 0, NULL },
        { 1, INT64_MIN, "60s:min" },
        { INT64_MIN, -1, "60s:max" },
        { 1, 5, "60s:min" },
        { -2, -1, "60s:max" },
    };
    for (size_t m = 0; m < sizeof metrics / sizeof metrics[0]; m++) {
        const char *name = policy_metric_name(metrics[m].metric);
        uint64_t n = metrics[m].n;
        for (size_t b = 0; b < sizeof bounds / sizeof bounds[0]; b++) {
            char text[512], min[40] = "", max[40] = "";
            if (bounds[b].min != INT64_MIN)
                snprintf(min, sizeof min, "min: %llu,", (unsigned long long)(n + (uint64_t)bounds[b].min));
            if (bounds[b].max != INT64_MIN)
                snprintf(max, sizeof max, "max: %llu,", (unsigned long long)(n + (uint64_t)bounds[b].max));
            snprintf(text, sizeof text, SENSORS "      ranges:\n        - { metric: %s, window: 60, %s %s severity: low }\n",
                     name, min, max);
            policy_t *p = must_load(text);
            policy_eval_t *e = policy_eval_new();
            rep_t *reps[8] = { NULL };
            size_t count = metrics[m].build(reps, n);
            seen_t s = { .n = 0 };
            for (size_t i = 0; i < count; i++)
                eval(e, p, reps[i], &s);
            assert_int_equal(s.n, 0);   /* nothing before the window closes */
            rep_t *next = rep_new(60, 70, 0);
            eval(e, p, next, &s);
            char type[64];
            snprintf(type, sizeof type, "range_%s", name);
            if (!bounds[b].key) {
                if (s.n != 0)
                    fail_msg("%s, case %zu: unexpected %s", name, b, s.a[0].message);
            } else {
                if (s.n != 1)
                    fail_msg("%s, case %zu: %zu alerts", name, b, s.n);
                const alert_t *a = &s.a[0];
                assert_string_equal(a->type, type);
                assert_string_equal(a->key, bounds[b].key);
                assert_int_equal(a->severity, ALERT_SEVERITY_LOW);
                assert_int_equal(a->time, 60);
                assert_int_equal(a->first_time, 0);
                assert_int_equal(a->proto, ALERT_PROTO_NONE);
                assert_int_equal(a->family, 0);
                assert_int_equal(a->direction, ALERT_DIR_NONE);
                char was[64];
                snprintf(was, sizeof was, "%s was %llu in the 60 s window", name, (unsigned long long)n);
                if (!strstr(a->message, was))
                    fail_msg("%s: \"%s\" lacks \"%s\"", name, a->message, was);
            }
            for (size_t i = 0; i < count; i++)
                rep_free(reps[i]);
            rep_free(next);
            policy_eval_free(e);
            policy_free(p);
        }
    }
}

/* ---- windows ---- */

static rep_t *bytes_out_report(uint32_t start, uint32_t end, uint64_t bytes)
{
    rep_t *t = rep_new(start, end, 1);
    report_flow_t *f = flow(t, 0, "198.51.100.77", 9000, 40000, false, 0x03);
    f->bytes_out = bytes;
    return t;
}

static void eval_bytes_out(policy_eval_t *e, const policy_t *p, uint32_t start, uint64_t bytes,
                           seen_t *s)
{
    rep_t *t = bytes_out_report(start, start + 60, bytes);
    eval(e, p, t, s);
    rep_free(t);
}

static void test_a_window_closes_when_a_report_of_a_later_window_arrives(void **state)
{
    (void)state;
    policy_t *p = must_load(SENSORS "      ranges:\n"
                                    "        - { metric: bytes_out, window: 300, max: 1000000 }\n");
    policy_eval_t *e = policy_eval_new();
    seen_t s = { .n = 0 };
    /* Five periods of window [1800, 2100): 2 MB in all, nothing said yet. */
    for (uint32_t t = 1800; t < 2100; t += 60)
        eval_bytes_out(e, p, t, 400000, &s);
    assert_int_equal(s.n, 0);
    /* A period starting at 2099 would still be in it; 2100 closes it. */
    eval_bytes_out(e, p, 2100, 1, &s);
    assert_int_equal(s.n, 1);
    const alert_t *a = &s.a[0];
    assert_string_equal(a->type, "range_bytes_out");
    assert_string_equal(a->key, "300s:max");
    assert_int_equal(a->severity, ALERT_SEVERITY_MEDIUM);
    assert_int_equal(a->time, 2100);
    assert_int_equal(a->first_time, 1800);
    assert_string_equal(a->message, "dev: bytes_out was 2000000 in the 300 s window from "
                                    "1970-01-01T00:30:00Z, above the maximum 1000000 of group sensors");

    policy_eval_stats_t st;
    policy_eval_get_stats(e, &st);
    assert_int_equal(st.windows_closed, 1);
    assert_int_equal(st.windows_open, 1);
    assert_int_equal(st.devices, 1);
    policy_eval_free(e);
    policy_free(p);
}

static void test_flush_judges_open_windows_on_their_max_only(void **state)
{
    (void)state;
    policy_t *p = must_load(SENSORS "      ranges:\n"
                                    "        - { metric: bytes_out, window: 300, min: 10, max: 100 }\n");
    policy_eval_t *e = policy_eval_new();
    seen_t s = { .n = 0 };
    eval_bytes_out(e, p, 0, 150, &s);
    assert_int_equal(s.n, 0);
    policy_eval_flush(e, p, collect, &s);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.a[0].key, "300s:max");
    assert_int_equal(s.a[0].time, 300);
    assert_non_null(strstr(s.a[0].message, "was 150 in the 300 s window from 1970-01-01T00:00:00Z (still open), above"));
    /* Raised once: neither a second flush nor the close raise it again. */
    policy_eval_flush(e, p, collect, &s);
    eval_bytes_out(e, p, 300, 5, &s);
    assert_int_equal(s.n, 1);
    /* A partial window below its min proves nothing yet... */
    policy_eval_flush(e, p, collect, &s);
    assert_int_equal(s.n, 1);
    /* ...but once closed it does. */
    eval_bytes_out(e, p, 600, 50, &s);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.a[1].key, "300s:min");
    assert_int_equal(s.a[1].time, 600);
    assert_non_null(strstr(s.a[1].message, "was 5 in the 300 s window from 1970-01-01T00:05:00Z, below the minimum 10"));
    /* A window at exactly its max after a flush raises nothing. */
    eval_bytes_out(e, p, 600, 50, &s);
    policy_eval_flush(e, p, collect, &s);
    assert_int_equal(s.n, 2);
    policy_eval_free(e);
    policy_free(p);
}

static void test_a_late_report_is_counted_late_and_not_in_any_window(void **state)
{
    (void)state;
    policy_t *p = must_load(SENSORS "      ranges:\n"
                                    "        - { metric: bytes_out, window: 60, max: 100 }\n");
    policy_eval_t *e = policy_eval_new();
    seen_t s = { .n = 0 };
    eval_bytes_out(e, p, 60, 100, &s);
    eval_bytes_out(e, p, 0, 1000, &s);      /* the window before: too late */
    eval_bytes_out(e, p, 120, 0, &s);       /* closes [60, 120) at exactly its max */
    assert_int_equal(s.n, 0);
    policy_eval_stats_t st;
    policy_eval_get_stats(e, &st);
    assert_int_equal(st.late_reports, 1);
    assert_int_equal(st.reports, 3);
    assert_int_equal(st.windows_closed, 1);
    policy_eval_free(e);
    policy_free(p);
}

static void test_windows_without_reports_are_not_judged(void **state)
{
    (void)state;
    policy_t *p = must_load(SENSORS "      ranges:\n"
                                    "        - { metric: reports, window: 60, min: 2 }\n");
    policy_eval_t *e = policy_eval_new();
    seen_t s = { .n = 0 };
    eval_bytes_out(e, p, 0, 0, &s);
    eval_bytes_out(e, p, 600, 0, &s);       /* nine silent windows in between */
    assert_int_equal(s.n, 1);
    assert_int_equal(s.a[0].time, 60);
    assert_non_null(strstr(s.a[0].message, "reports was 1 in the 60 s window"));
    policy_eval_stats_t st;
    policy_eval_get_stats(e, &st);
    assert_int_equal(st.windows_closed, 1);
    policy_eval_free(e);
    policy_free(p);
}

static void test_a_first_window_joined_late_is_not_judged_on_its_min(void **state)
{
    (void)state;
    policy_t *p = must_load(SENSORS "      ranges:\n"
                                    "        - { metric: bytes_out, window: 60, min: 100, max: 200 }\n");
    policy_eval_t *e = policy_eval_new();
    seen_t s = { .n = 0 };
    eval_bytes_out(e, p, 30, 5, &s);        /* starts at 30: we missed [0, 30) */
    eval_bytes_out(e, p, 90, 1, &s);        /* closes [0, 60): 5 < 100 proves nothing */
    assert_int_equal(s.n, 0);
    eval_bytes_out(e, p, 120, 0, &s);       /* closes [60, 120): a later window is judged in full */
    assert_int_equal(s.n, 1);
    assert_string_equal(s.a[0].key, "60s:min");
    assert_int_equal(s.a[0].time, 120);
    /* The max of a window joined late still counts. */
    rep_t *t = bytes_out_report(30, 60, 1000);
    policy_eval_report(e, p, "dev2", "sensors", &t->r, collect, &s);
    rep_free(t);
    t = bytes_out_report(60, 90, 0);
    policy_eval_report(e, p, "dev2", "sensors", &t->r, collect, &s);
    rep_free(t);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.a[1].key, "60s:max");
    policy_eval_free(e);
    policy_free(p);
}

static void test_sums_saturate_instead_of_wrapping(void **state)
{
    (void)state;
    policy_t *p = must_load(SENSORS "      ranges:\n"
                                    "        - { metric: bytes_out, window: 60, max: 18446744073709551614 }\n");
    policy_eval_t *e = policy_eval_new();
    seen_t s = { .n = 0 };
    eval_bytes_out(e, p, 0, UINT64_MAX - 1u, &s);
    eval_bytes_out(e, p, 0, 5, &s);
    eval_bytes_out(e, p, 60, 0, &s);
    assert_int_equal(s.n, 1);
    assert_non_null(strstr(s.a[0].message, "was 18446744073709551615 in"));
    policy_eval_free(e);
    policy_free(p);
}

static void test_distinct_counts_are_exact_then_estimated(void **state)
{
    (void)state;
    static const struct {
        size_t flows;
        uint64_t max;
        bool alert, about;
    } cases[] = {
        { 256, 256, false, false },
        { 256, 255, true, false },
        { 1000, 900, true, true },       /* the sketch's small-range correction */
        { 1000, 1100, false, true },
        { 5000, 4000, true, true },
        { 5000, 6000, false, true },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char text[256];
        snprintf(text, sizeof text, SENSORS "      ranges:\n        - { metric: active_connections, window: 60, max: %llu }\n",
                 (unsigned long long)cases[c].max);
        policy_t *p = must_load(text);
        policy_eval_t *e = policy_eval_new();
        rep_t *t = rep_new(0, 60, cases[c].flows);
        char addr[32];
        for (size_t i = 0; i < cases[c].flows; i++) {
            snprintf(addr, sizeof addr, "10.%u.%u.1", (unsigned)(i / 256), (unsigned)(i % 256));
            flow(t, 0, addr, 443, 40000, false, 0);
        }
        seen_t s = { .n = 0 };
        eval(e, p, t, &s);
        eval(e, p, t, &s);                  /* the same flows again change nothing */
        policy_eval_flush(e, p, collect, &s);
        assert_int_equal(s.n, cases[c].alert ? 1 : 0);
        policy_eval_stats_t st;
        policy_eval_get_stats(e, &st);
        assert_int_equal(st.estimated, cases[c].about ? 1 : 0);
        if (cases[c].alert) {
            const char *was = strstr(s.a[0].message, " was ");
            assert_non_null(was);
            assert_int_equal(strncmp(was, " was about ", 11) == 0, cases[c].about);
            unsigned long long v = strtoull(was + (cases[c].about ? 11 : 5), NULL, 10);
            /* HyperLogLog with 1024 registers: about 3% standard error. */
            assert_true(v >= cases[c].flows * 90 / 100 && v <= cases[c].flows * 110 / 100);
            if (!cases[c].about)
                assert_int_equal(v, cases[c].flows);
        }
        rep_free(t);
        policy_eval_free(e);
        policy_free(p);
    }
}

/* ---- rules on and off, groups, swaps ---- */

static void test_disabled_rules_raise_nothing_and_keep_nothing(void **state)
{
    (void)state;
    policy_t *p = must_load(SENSORS "      remote_cidrs_allowed: { enabled: false, cidrs: [] }\n"
                                    "      listening_ports_allowed: { enabled: false, ports: [] }\n"
                                    "      ranges:\n"
                                    "        - { metric: reports, window: 60, max: 0, enabled: false }\n");
    policy_eval_t *e = policy_eval_new();
    seen_t s = { .n = 0 };
    for (uint32_t t = 0; t < 300; t += 30) {
        rep_t *r = rep_new(t, t + 30, 1);
        flow(r, 0, "203.0.113.66", 443, 40000, false, 0x01);
        listener(r, 0, 4, 23);
        eval(e, p, r, &s);
        rep_free(r);
    }
    policy_eval_flush(e, p, collect, &s);
    assert_int_equal(s.n, 0);
    policy_eval_stats_t st;
    policy_eval_get_stats(e, &st);
    assert_int_equal(st.devices, 0);
    assert_int_equal(st.windows_open, 0);
    assert_int_equal(st.reports, 10);
    policy_eval_free(e);
    policy_free(p);
}

static void test_rules_follow_the_device_group_and_default(void **state)
{
    (void)state;
    policy_t *p = must_load("version: 1\n"
                            "groups:\n"
                            "  - name: sensors\n"
                            "    members: { tags: [sensor], ids: [\"sensor-*\"] }\n"
                            "    rules:\n"
                            "      listening_ports_allowed: { ports: [tcp/23] }\n"
                            "  - name: default\n"
                            "    rules:\n"
                            "      listening_ports_allowed: { severity: low, ports: [tcp/80] }\n");
    rep_t *t = rep_new(0, 60, 0);
    listener(t, 0, 4, 23);
    const char *sensor[] = { "sensor" };
    static const struct {
        const char *id;
        bool tagged;
        const char *group;
        bool alert;
    } cases[] = {
        { "sensor-1", false, "sensors", false },   /* by glob: telnet allowed there */
        { "cam-1", true, "sensors", false },       /* by tag */
        { "cam-1", false, "default", true },       /* unclaimed: the default group's rule */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *group = policy_group_for(p, cases[i].id, cases[i].tagged ? sensor : NULL,
                                             cases[i].tagged ? 1 : 0);
        assert_string_equal(group, cases[i].group);
        policy_eval_t *e = policy_eval_new();
        seen_t s = { .n = 0 };
        policy_eval_report(e, p, cases[i].id, group, &t->r, collect, &s);
        assert_int_equal(s.n, cases[i].alert ? 1 : 0);
        if (cases[i].alert) {
            assert_int_equal(s.a[0].severity, ALERT_SEVERITY_LOW);
            assert_non_null(strstr(s.a[0].message, "group default"));
        }
        policy_eval_free(e);
    }
    /* Without a policy file nothing is raised and nothing kept. */
    policy_t *none = policy_default();
    policy_eval_t *e = policy_eval_new();
    seen_t s = { .n = 0 };
    policy_eval_report(e, none, "cam-1", policy_group_for(none, "cam-1", NULL, 0), &t->r, collect, &s);
    policy_eval_flush(e, none, collect, &s);
    assert_int_equal(s.n, 0);
    policy_eval_stats_t st;
    policy_eval_get_stats(e, &st);
    assert_int_equal(st.devices, 0);
    policy_eval_free(e);
    policy_free(none);
    rep_free(t);
    policy_free(p);
}

static void test_a_policy_swap_keeps_the_open_windows(void **state)
{
    (void)state;
    policy_t *p1 = must_load(SENSORS "      ranges:\n"
                                     "        - { metric: bytes_out, window: 60, max: 1000 }\n");
    policy_eval_t *e = policy_eval_new();
    seen_t s = { .n = 0 };
    eval_bytes_out(e, p1, 0, 800, &s);
    /* The service loads a new file, and only then frees the old one. */
    policy_t *p2 = must_load("version: 1\n"
                             "groups:\n"
                             "  - name: other\n"
                             "  - name: sensors\n"
                             "    members: { ids: [dev] }\n"
                             "    rules:\n"
                             "      ranges:\n"
                             "        - { metric: reports, window: 60, min: 5 }\n"
                             "        - { metric: bytes_out, window: 60, max: 500, severity: critical }\n");
    policy_free(p1);
    eval_bytes_out(e, p2, 60, 0, &s);       /* closes [0, 60): judged by p2 */
    assert_int_equal(s.n, 1);
    assert_string_equal(s.a[0].key, "60s:max");
    assert_int_equal(s.a[0].severity, ALERT_SEVERITY_CRITICAL);
    assert_non_null(strstr(s.a[0].message, "was 800 in the 60 s window from 1970-01-01T00:00:00Z, above the maximum 500"));
    /* The new range's first window was joined at its start: judged in full. */
    eval_bytes_out(e, p2, 120, 0, &s);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.a[1].type, "range_reports");

    /* A third policy without ranges: the windows go, unjudged, and the device with them. */
    policy_t *p3 = must_load(SENSORS "      listening_ports_allowed: { ports: [] }\n");
    policy_free(p2);
    eval_bytes_out(e, p3, 180, 5000, &s);
    policy_eval_flush(e, p3, collect, &s);
    assert_int_equal(s.n, 2);
    policy_eval_stats_t st;
    policy_eval_get_stats(e, &st);
    assert_int_equal(st.windows_open, 0);
    assert_int_equal(st.devices, 0);
    policy_eval_free(e);
    policy_free(p3);
}

static void test_a_device_changing_group_keeps_its_window(void **state)
{
    (void)state;
    policy_t *p = must_load("version: 1\n"
                            "groups:\n"
                            "  - name: strict\n"
                            "    rules: { ranges: [ { metric: bytes_out, window: 60, max: 100 } ] }\n"
                            "  - name: loose\n"
                            "    rules: { ranges: [ { metric: bytes_out, window: 60, max: 1000 } ] }\n");
    policy_eval_t *e = policy_eval_new();
    seen_t s = { .n = 0 };
    rep_t *t = bytes_out_report(0, 30, 150);
    policy_eval_report(e, p, "dev", "strict", &t->r, collect, &s);
    rep_free(t);
    t = bytes_out_report(30, 60, 150);
    policy_eval_report(e, p, "dev", "loose", &t->r, collect, &s);
    rep_free(t);
    policy_eval_flush(e, p, collect, &s);   /* judged as a member of loose: 300 <= 1000 */
    assert_int_equal(s.n, 0);
    t = bytes_out_report(60, 90, 150);
    policy_eval_report(e, p, "dev", "strict", &t->r, collect, &s);   /* closes [0, 60) */
    rep_free(t);
    assert_int_equal(s.n, 1);
    assert_non_null(strstr(s.a[0].message, "was 300 in"));
    assert_non_null(strstr(s.a[0].message, "of group strict"));
    policy_eval_free(e);
    policy_free(p);
}

static void test_devices_are_kept_apart_and_can_be_forgotten(void **state)
{
    (void)state;
    policy_t *p = must_load(SENSORS "      ranges:\n"
                                    "        - { metric: bytes_out, window: 60, max: 100 }\n");
    policy_eval_t *e = policy_eval_new();
    seen_t s = { .n = 0 };
    char id[32];
    /* Enough devices to grow the table several times. */
    for (unsigned i = 0; i < 1000; i++) {
        snprintf(id, sizeof id, "sensor-%u", i);
        rep_t *t = bytes_out_report(0, 60, 60);
        policy_eval_report(e, p, id, "sensors", &t->r, collect, &s);
        rep_free(t);
    }
    policy_eval_stats_t st;
    policy_eval_get_stats(e, &st);
    assert_int_equal(st.devices, 1000);
    assert_int_equal(st.windows_open, 1000);
    /* 60 + 60 > 100 for one device only. */
    rep_t *t = bytes_out_report(0, 60, 60);
    policy_eval_report(e, p, "sensor-7", "sensors", &t->r, collect, &s);
    rep_free(t);
    policy_eval_flush(e, p, collect, &s);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.a[0].device, "sensor-7");
    policy_eval_forget(e, "sensor-7");
    policy_eval_forget(e, "sensor-7");
    policy_eval_forget(e, "never-seen");
    policy_eval_get_stats(e, &st);
    assert_int_equal(st.devices, 999);
    assert_int_equal(st.windows_open, 999);
    policy_eval_free(e);
    policy_free(p);
}

static void test_a_hostile_device_id_is_printable_in_messages(void **state)
{
    (void)state;
    policy_t *p = must_load("version: 1\ngroups:\n  - name: default\n    rules:\n"
                            "      listening_ports_allowed: { ports: [] }\n");
    policy_eval_t *e = policy_eval_new();
    rep_t *t = rep_new(0, 60, 0);
    listener(t, 1, 4, 69);
    seen_t s = { .n = 0 };
    policy_eval_report(e, p, "evil\n\x1b[2J", "default", &t->r, collect, &s);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.a[0].device, "evil\n\x1b[2J");   /* the identity, unchanged */
    assert_string_equal(s.a[0].message, "evil??[2J listens on udp/69, a port not allowed for group default");
    rep_free(t);
    policy_eval_free(e);
    policy_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_remotes_outside_the_allowed_networks_are_alerts),
        cmocka_unit_test(test_icmpv6_neighbour_discovery_is_not_judged_but_echo_is),
        cmocka_unit_test(test_icmpv4_of_a_neighbour_discovery_type_number_is_judged),
        cmocka_unit_test(test_a_remote_alert_says_who_where_and_which_way),
        cmocka_unit_test(test_an_empty_allowlist_allows_no_remote),
        cmocka_unit_test(test_listeners_outside_the_allowed_ports_are_alerts),
        cmocka_unit_test(test_every_metric_is_judged_at_its_bounds),
        cmocka_unit_test(test_a_window_closes_when_a_report_of_a_later_window_arrives),
        cmocka_unit_test(test_flush_judges_open_windows_on_their_max_only),
        cmocka_unit_test(test_a_late_report_is_counted_late_and_not_in_any_window),
        cmocka_unit_test(test_windows_without_reports_are_not_judged),
        cmocka_unit_test(test_a_first_window_joined_late_is_not_judged_on_its_min),
        cmocka_unit_test(test_sums_saturate_instead_of_wrapping),
        cmocka_unit_test(test_distinct_counts_are_exact_then_estimated),
        cmocka_unit_test(test_disabled_rules_raise_nothing_and_keep_nothing),
        cmocka_unit_test(test_rules_follow_the_device_group_and_default),
        cmocka_unit_test(test_a_policy_swap_keeps_the_open_windows),
        cmocka_unit_test(test_a_device_changing_group_keeps_its_window),
        cmocka_unit_test(test_devices_are_kept_apart_and_can_be_forgotten),
        cmocka_unit_test(test_a_hostile_device_id_is_printable_in_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
