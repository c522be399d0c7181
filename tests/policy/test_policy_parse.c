/*
 * test_policy_parse.c - the policy file is read exactly as documented
 * (docs/policy.md) and every malformed file is refused at the right line with
 * a reason (analyzer/policy.h).
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"
#include "policy_priv.h"

#ifndef VIGIL_SOURCE_DIR
#error "VIGIL_SOURCE_DIR must name the source tree"
#endif

static policy_t *load(const char *text, policy_error_t *err)
{
    return policy_load_string("test.yaml", text, strlen(text), err);
}

static policy_t *must_load(const char *text)
{
    policy_error_t err;
    policy_t *p = load(text, &err);
    if (!p)
        fail_msg("refused at %zu:%zu: %s", err.line, err.column, err.reason);
    return p;
}

static const char full_example[] =
    "version: 1\n"
    "hygiene: { min_agent_version: \"0.1.0\", min_firmware_version: \"1.0.0\", silent_intervals: 3,\n"
    "           clock_skew_max: 300, alert_window: 3600 }\n"
    "groups:\n"
    "  - name: sensors\n"
    "    members: { tags: [sensor], ids: [\"sensor-*\", \"demo-device\"] }\n"
    "    hygiene: { min_firmware_version: \"2.0.0\" }       # optional per-group override\n"
    "    rules:\n"
    "      remote_cidrs_allowed:   { severity: high, enabled: true, cidrs: [198.51.100.0/24, \"2001:db8:1::/48\"] }\n"
    "      listening_ports_allowed: { severity: medium, ports: [\"tcp/8883\", \"udp/5683\", 22] }   # bare number = tcp and udp\n"
    "      ranges:\n"
    "        - { metric: bytes_out, window: 300, max: 1000000, severity: medium }\n"
    "        - { metric: active_connections, window: 60, min: 1, max: 50 }\n";

static void test_the_full_example_loads_every_field(void **state)
{
    (void)state;
    policy_t *p = must_load(full_example);
    assert_int_equal(policy_group_count(p), 1);
    assert_string_equal(policy_group_name(p, 0), "sensors");
    assert_null(policy_group_name(p, 1));

    const policy_hygiene_t *top = policy_hygiene(p, NULL);
    assert_string_equal(top->min_agent_version, "0.1.0");
    assert_string_equal(top->min_os_version, "");
    assert_string_equal(top->min_firmware_version, "1.0.0");
    assert_int_equal(top->silent_intervals, 3);
    assert_int_equal(top->clock_skew_max, 300);
    assert_int_equal(top->alert_window, 3600);
    const policy_hygiene_t *h = policy_hygiene(p, "sensors");
    assert_string_equal(h->min_firmware_version, "2.0.0");   /* overridden */
    assert_string_equal(h->min_agent_version, "0.1.0");      /* inherited */
    assert_ptr_equal(policy_hygiene(p, "default"), top);

    const policy_group_t *g = policy__find_group(p, "sensors");
    assert_non_null(g);
    assert_int_equal(g->ntags, 1);
    assert_string_equal(g->tags[0], "sensor");
    assert_int_equal(g->nids, 2);
    assert_string_equal(g->ids[1], "demo-device");
    assert_true(g->cidrs.present && g->cidrs.enabled);
    assert_int_equal(g->cidrs.severity, ALERT_SEVERITY_HIGH);
    assert_int_equal(g->cidrs.nv4, 1);
    assert_int_equal(g->cidrs.nv6, 1);
    assert_true(g->ports.present && g->ports.enabled);
    assert_int_equal(g->ports.severity, ALERT_SEVERITY_MEDIUM);
    assert_int_equal(g->ports.count, 4);   /* tcp/22, tcp/8883, udp/22, udp/5683 */
    assert_int_equal(g->nranges, 2);
    assert_int_equal(g->ranges[0].metric, POLICY_METRIC_BYTES_OUT);
    assert_int_equal(g->ranges[0].window, 300);
    assert_false(g->ranges[0].has_min);
    assert_true(g->ranges[0].has_max);
    assert_int_equal(g->ranges[0].max, 1000000);
    assert_int_equal(g->ranges[1].metric, POLICY_METRIC_ACTIVE_CONNECTIONS);
    assert_true(g->ranges[1].has_min && g->ranges[1].has_max);
    assert_int_equal(g->ranges[1].min, 1);
    assert_int_equal(g->ranges[1].max, 50);
    assert_int_equal(g->ranges[1].severity, ALERT_SEVERITY_MEDIUM);   /* the default */
    assert_true(g->ranges[1].enabled);                                 /* the default */
    policy_free(p);
}

static void test_no_file_means_group_default_and_default_hygiene(void **state)
{
    (void)state;
    policy_t *p = policy_default();
    assert_non_null(p);
    assert_int_equal(policy_group_count(p), 0);
    assert_string_equal(policy_group_for(p, "sensor-1", NULL, 0), "default");
    const policy_hygiene_t *h = policy_hygiene(p, "default");
    assert_string_equal(h->min_agent_version, "");
    assert_int_equal(h->silent_intervals, 3);
    assert_int_equal(h->clock_skew_max, 300);
    assert_int_equal(h->alert_window, 3600);
    policy_free(p);

    /* A minimal file is the same. */
    p = must_load("version: 1\n");
    assert_int_equal(policy_hygiene(p, NULL)->alert_window, 3600);
    policy_free(p);
}

static void test_membership_is_the_first_group_by_glob_or_tag(void **state)
{
    (void)state;
    policy_t *p = must_load("version: 1\n"
                            "groups:\n"
                            "  - name: cameras\n"
                            "    members: { ids: [\"cam-??\", \"lobby-[0-9]*\"] }\n"
                            "  - name: sensors\n"
                            "    members: { tags: [sensor, probe], ids: [\"sensor-*\"] }\n"
                            "  - name: labelled\n"
                            "    members: { tags: [sensor, lab] }\n");
    const char *sensor[] = { "lab", "sensor" };
    const char *lab[] = { "lab" };
    const char *none[] = { "printer" };
    assert_string_equal(policy_group_for(p, "cam-01", NULL, 0), "cameras");
    assert_string_equal(policy_group_for(p, "cam-001", NULL, 0), "default");
    assert_string_equal(policy_group_for(p, "lobby-7b", NULL, 0), "cameras");
    assert_string_equal(policy_group_for(p, "lobby-x", NULL, 0), "default");
    assert_string_equal(policy_group_for(p, "sensor-9", NULL, 0), "sensors");
    /* Tags: the first group in file order wins, whatever the tag order. */
    assert_string_equal(policy_group_for(p, "x", sensor, 2), "sensors");
    assert_string_equal(policy_group_for(p, "x", lab, 1), "labelled");
    assert_string_equal(policy_group_for(p, "x", none, 1), "default");
    /* An id glob of an earlier group beats a tag of a later one. */
    assert_string_equal(policy_group_for(p, "cam-02", lab, 1), "cameras");
    /* Globs are fnmatch without flags: '*' crosses '/' too. */
    assert_string_equal(policy_group_for(p, "sensor-a/b", NULL, 0), "sensors");
    policy_free(p);
}

static void test_cidrs_are_merged_and_ports_deduplicated(void **state)
{
    (void)state;
    policy_t *p = must_load("version: 1\n"
                            "groups:\n"
                            "  - name: g\n"
                            "    rules:\n"
                            "      remote_cidrs_allowed:\n"
                            "        cidrs: [10.0.0.0/8, 10.1.2.3/16, 10.255.0.0/16, 11.0.0.0/8,\n"
                            "                192.0.2.7, \"::ffff:192.0.2.8\", \"2001:db8::/32\",\n"
                            "                \"2001:db8:1::/48\"]\n"
                            "      listening_ports_allowed:\n"
                            "        ports: [22, tcp/22, udp/22, \"tcp/443\"]\n");
    const policy_group_t *g = policy__find_group(p, "g");
    /* 10/8 swallows its two /16s; 11/8 only touches it; the mapped address is IPv4. */
    assert_int_equal(g->cidrs.nv4, 4);
    assert_int_equal(g->cidrs.nv6, 1);
    assert_int_equal(g->ports.count, 3);
    assert_int_equal(g->ports.severity, ALERT_SEVERITY_MEDIUM);
    policy_free(p);
}

static void test_the_demo_policy_and_the_documented_example_load(void **state)
{
    (void)state;
    policy_error_t err;
    policy_t *p = policy_load_file(VIGIL_SOURCE_DIR "/data/policy.yaml", &err);
    if (!p)
        fail_msg("data/policy.yaml refused at %zu:%zu: %s", err.line, err.column, err.reason);
    assert_string_equal(policy_group_for(p, "demo-device", NULL, 0), "sensors");
    assert_string_equal(policy_group_for(p, "sensor-7", NULL, 0), "sensors");
    assert_string_equal(policy_group_for(p, "gateway-1", NULL, 0), "default");
    policy_free(p);

    /* The first yaml block of docs/policy.md, so the documentation cannot rot. */
    FILE *f = fopen(VIGIL_SOURCE_DIR "/docs/policy.md", "rb");
    assert_non_null(f);
    static char doc[65536];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = '\0';
    char *start = strstr(doc, "```yaml\n");
    assert_non_null(start);
    start += strlen("```yaml\n");
    char *end = strstr(start, "```");
    assert_non_null(end);
    p = policy_load_string("docs/policy.md", start, (size_t)(end - start), &err);
    if (!p)
        fail_msg("the example in docs/policy.md refused at %zu:%zu: %s", err.line, err.column,
                 err.reason);
    assert_int_equal(policy_group_count(p), 3);
    const char *gw[] = { "gateway" };
    assert_string_equal(policy_group_for(p, "gw-1", gw, 1), "gateways");
    policy_free(p);
}

/* ---- refusals ---- */

typedef struct {
    const char *what;
    const char *text;
    size_t line, column;           /* column 0: not checked */
    const char *reason;            /* a substring of the reason */
} refusal_t;

#define GROUP "version: 1\ngroups:\n  - name: g\n"      /* the group starts on line 3 */
#define RULES GROUP "    rules:\n"                       /* rules' contents from line 5 */
#define RANGE RULES "      ranges:\n        - "          /* a range on line 6 */

static const refusal_t refusals[] = {
    { "unknown top-level key", "version: 1\ncolour: red\n", 2, 1, "unknown key 'colour' in the policy" },
    { "unknown group key", GROUP "    colour: red\n", 4, 5, "unknown key 'colour' in a group" },
    { "unknown range key", RANGE "{ metric: reports, window: 60, max: 1, avg: 2 }\n", 6, 50,
      "unknown key 'avg' in a range (expected metric, window, min, max, severity, enabled)" },
    { "unknown rule", RULES "      no_ssh: {}\n", 5, 7, "unknown key 'no_ssh' in rules" },
    { "unknown hygiene key", "version: 1\nhygiene:\n  min_kernel: 1\n", 3, 3, "unknown key 'min_kernel'" },
    { "duplicate key", "version: 1\nhygiene: {}\nhygiene: {}\n", 3, 1, "duplicate key 'hygiene' in the policy (first on line 2)" },
    { "groups not a list", "version: 1\ngroups: 5\n", 2, 9, "groups must be a list, found a scalar" },
    { "group not a mapping", "version: 1\ngroups:\n  - sensors\n", 3, 5, "a group must be a mapping" },
    { "hygiene empty", "version: 1\nhygiene:\n", 2, 9, "hygiene must be a mapping, found an empty value" },
    { "quoted number", RANGE "{ metric: reports, window: \"300\", max: 1 }\n", 6, 38, "window must be a number, found quoted text" },
    { "not a decimal", RANGE "{ metric: reports, window: 0x10, max: 1 }\n", 6, 38, "window must be a decimal integer" },
    { "leading zero", RANGE "{ metric: reports, window: 0300, max: 1 }\n", 6, 38, "leading zero" },
    { "float", RANGE "{ metric: reports, window: 60, max: 1.5 }\n", 6, 47, "max must be a decimal integer, found '1.5'" },
    { "boolean yes", RULES "      listening_ports_allowed: { enabled: yes, ports: [] }\n", 5, 43,
      "enabled must be true or false, found 'yes'" },
    { "boolean quoted", RULES "      listening_ports_allowed: { enabled: \"true\", ports: [] }\n", 5, 43,
      "enabled must be true or false, found 'true'" },
    { "negative max", RANGE "{ metric: bytes_in, window: 60, max: -5 }\n", 6, 48, "max must not be negative (found -5)" },
    { "negative silent intervals", "version: 1\nhygiene: { silent_intervals: -1 }\n", 2, 30, "must not be negative" },
    { "max overflows 64 bits", RANGE "{ metric: bytes_in, window: 60, max: 18446744073709551616 }\n", 6, 48, "max 18446744073709551616 is too large (at most 18446744073709551615)" },
    { "max at 64 bits is fine but min above it", RANGE "{ metric: bytes_in, window: 60, min: 99999999999999999999 }\n", 6, 48, "min 99999999999999999999 is too large" },
    { "alert_window overflows 32 bits", "version: 1\nhygiene:\n  alert_window: 4294967296\n", 3, 17, "alert_window 4294967296 is too large (at most 4294967295)" },
    { "silent_intervals zero", "version: 1\nhygiene: { silent_intervals: 0 }\n", 2, 30, "at least 1" },
    { "min greater than max", RANGE "{ metric: reports, window: 60, min: 5, max: 4 }\n", 6, 47, "min 5 is greater than max 4" },
    { "neither min nor max", RANGE "{ metric: reports, window: 60, severity: high }\n", 6, 11, "needs min, max or both" },
    { "window zero", RANGE "{ metric: reports, window: 0, max: 1 }\n", 6, 38, "window must be at least 1 second" },
    { "window over 30 days", RANGE "{ metric: reports, window: 2592001, max: 1 }\n", 6, 38, "longer than 30 days" },
    { "window missing", RANGE "{ metric: reports, max: 1 }\n", 6, 11, "needs 'window'" },
    { "metric missing", RANGE "{ window: 60, max: 1 }\n", 6, 11, "needs 'metric'" },
    { "unknown metric", RANGE "{ metric: bytes, window: 60, max: 1 }\n", 6, 21, "unknown metric 'bytes'" },
    { "duplicate range", RANGE "{ metric: reports, window: 60, max: 1 }\n"
      "        - { metric: bytes_in, window: 60, max: 1 }\n"
      "        - { metric: reports, window: 60, min: 1 }\n", 8, 11,
      "a range of reports over 60 s is already defined on line 6" },
    { "bad CIDR prefix", RULES "      remote_cidrs_allowed:\n        cidrs:\n          - 198.51.100.0/24\n"
      "          - 198.51.100.0/33\n", 8, 13, "bad CIDR '198.51.100.0/33': bad prefix length" },
    { "bad CIDR address", RULES "      remote_cidrs_allowed: { cidrs: [\"2001:db8::g/32\"] }\n", 5, 39,
      "bad CIDR '2001:db8::g/32': not an IPv6 address" },
    { "bad CIDR octal", RULES "      remote_cidrs_allowed: { cidrs: [010.0.0.1] }\n", 5, 39, "bad CIDR '010.0.0.1': not an IPv4 address" },
    { "cidrs missing", RULES "      remote_cidrs_allowed: { severity: low }\n", 5, 29, "needs 'cidrs'" },
    { "cidrs not a list", RULES "      remote_cidrs_allowed: { cidrs: 10.0.0.0/8 }\n", 5, 38, "cidrs must be a list, found a scalar" },
    { "port too large", RULES "      listening_ports_allowed: { ports: [22, tcp/70000] }\n", 5, 46, "bad port 'tcp/70000'" },
    { "port zero", RULES "      listening_ports_allowed: { ports: [0] }\n", 5, 42, "bad port '0'" },
    { "port protocol", RULES "      listening_ports_allowed:\n        ports:\n          - sctp/80\n", 7, 13, "bad port 'sctp/80'" },
    { "port negative", RULES "      listening_ports_allowed: { ports: [-22] }\n", 5, 42, "bad port '-22'" },
    { "bad severity", RULES "      listening_ports_allowed: { severity: urgent, ports: [] }\n", 5, 44,
      "unknown severity 'urgent' (expected info, low, medium, high or critical)" },
    { "severity case", RANGE "{ metric: reports, window: 60, max: 1, severity: High }\n", 6, 60, "unknown severity 'High'" },
    { "duplicate group name", GROUP "  - name: h\n  - name: g\n", 5, 11, "duplicate group name 'g' (first on line 3)" },
    { "group without name", "version: 1\ngroups:\n  - members: { tags: [a] }\n", 3, 5, "a group needs a 'name'" },
    { "group name with space", "version: 1\ngroups:\n  - name: my group\n", 3, 11, "may hold only letters" },
    { "group name too long", "version: 1\ngroups:\n  - name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", 3, 11,
      "longer than 63 bytes" },
    { "empty tag", GROUP "    members: { tags: [\"\"] }\n", 4, 23, "tags must not be empty" },
    { "version text", "version: 1\nhygiene: { min_agent_version: \"1.0 beta\" }\n", 2, 31, "is not a version" },
    { "version too long", "version: 1\nhygiene: { min_os_version: 1.2.3.4.5.6.7.8.9.10.11.12.13.14 }\n", 2, 28, "longer than 31 bytes" },
    { "unknown version", "version: 2\ngroups: {}\n", 1, 10, "unknown version 2 (this analyzer reads version 1)" },
    { "version missing", "groups: []\n", 1, 1, "missing 'version: 1'" },
    { "version quoted", "version: \"1\"\n", 1, 10, "version must be a number" },
    { "root is a list", "- version: 1\n", 1, 1, "a policy must be a mapping" },
    { "empty file", "", 1, 1, "empty policy" },
    { "comments only", "# nothing here\n", 1, 1, "empty policy" },
    { "syntax: unclosed flow", "version: 1\ngroups: [ { name: a }\nhygiene: {}\n", 3, 1,
      "YAML: did not find expected ',' or ']' while parsing a flow sequence that started on line 2" },
    { "syntax: bad indentation", "version: 1\ngroups:\n  - name: a\n   members: {}\n", 4, 4,
      "YAML: did not find expected '-' indicator while parsing a block collection that started on line 3" },
    { "syntax: tab indentation", "version: 1\nhygiene:\n\tsilent_intervals: 3\n", 3, 1, "YAML: found character that cannot start any token" },
    { "control character", "version: 1\n# \x01\n", 2, 3, "control characters are not allowed" },
    { "invalid UTF-8", "version: 1\nhygiene: { min_os_version: \"\xff\" }\n", 2, 29, "YAML: invalid leading UTF-8 octet (byte 0xff)" },
    { "anchor", "version: 1\nhygiene: &h { alert_window: 5 }\n", 2, 10, "anchors (&name) are not allowed" },
    { "alias", "version: 1\ngroups:\n  - name: a\n    members: *m\n", 4, 14, "aliases (*name) are not allowed" },
    { "billion laughs", "version: 1\nx: &a [l, l, l, l, l, l, l, l, l]\ny: &b [*a, *a, *a, *a, *a]\n", 2, 4, "anchors" },
    { "explicit tag", "version: !!int 1\n", 1, 10, "explicit YAML tags" },
    { "two documents", "version: 1\n---\nversion: 1\n", 2, 1, "one YAML document" },
    { "nesting too deep", "version: 1\nx: [[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]\n", 2, 19, "nesting deeper than 16 levels" },
    { "mapping key not a word", "version: 1\n? [a]\n: 1\n", 2, 3, "a key of the policy must be a word" },
    { "report interval 0", "version: 1\ndevice: { report_interval: 0 }\n", 2, 28, "report_interval must be 1..3600" },
    { "report interval too long", GROUP "    device: { report_interval: 3601 }\n", 4, 32, "report_interval must be 1..3600" },
    { "unknown collector", "version: 1\ndevice: { collectors: [network, dns] }\n", 2, 33, "unknown collector 'dns'" },
    { "collector twice", "version: 1\ndevice: { collectors: [system, system] }\n", 2, 32, "collector 'system' listed twice" },
    { "unknown device key", "version: 1\ndevice: { interval: 5 }\n", 2, 11, "unknown key 'interval' in device" },
};

static void test_device_configuration_defaults_and_group_overrides(void **state)
{
    (void)state;
    policy_t *p = must_load("version: 1\n"
                            "device: { report_interval: 300, collectors: [network, listeners] }\n"
                            "groups:\n"
                            "  - name: fast\n"
                            "    device: { report_interval: 10, sysinfo_every: 2 }\n"
                            "  - name: plain\n");
    const policy_device_t *top = policy_device(p, NULL);
    assert_int_equal(top->report_interval, 300);
    assert_int_equal(top->collectors, POLICY_COLLECT_NETWORK | POLICY_COLLECT_LISTENERS);
    assert_int_equal(top->sysinfo_every, 10);
    const policy_device_t *fast = policy_device(p, "fast");
    assert_int_equal(fast->report_interval, 10);
    assert_int_equal(fast->collectors, POLICY_COLLECT_NETWORK | POLICY_COLLECT_LISTENERS);
    assert_int_equal(fast->sysinfo_every, 2);
    assert_int_equal(policy_device(p, "plain")->report_interval, 300);
    assert_int_equal(policy_device(p, "nosuch")->report_interval, 300);
    policy_free(p);
    p = policy_default();
    assert_int_equal(policy_device(p, "default")->report_interval, 60);
    assert_int_equal(policy_device(p, NULL)->collectors, 7);
    policy_free(p);
}

static void test_every_malformed_policy_is_refused_at_its_line(void **state)
{
    (void)state;
    size_t failures = 0;
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        const refusal_t *c = &refusals[i];
        policy_error_t err;
        policy_t *p = load(c->text, &err);
        bool ok = p == NULL && err.line == c->line && (c->column == 0 || err.column == c->column) &&
                  strstr(err.reason, c->reason) != NULL && strcmp(err.file, "test.yaml") == 0;
        if (!ok) {
            print_error("%s: expected %zu:%zu \"%s\", got %s %zu:%zu \"%s\"\n", c->what, c->line,
                        c->column, c->reason, p ? "a policy" : "refusal", err.line, err.column,
                        err.reason);
            failures++;
        }
        policy_free(p);
    }
    assert_int_equal(failures, 0);
}

static void test_a_document_over_one_mebibyte_is_refused_whole(void **state)
{
    (void)state;
    size_t len = POLICY_MAX_BYTES + 1u;
    char *text = malloc(len);
    assert_non_null(text);
    /* Valid YAML all along: only the size is wrong. */
    memcpy(text, "version: 1\n", 11);
    for (size_t i = 11; i < len; i++)
        text[i] = (i % 64 == 63) ? '\n' : (i % 64 == 0 ? '#' : ' ');
    policy_error_t err;
    assert_null(policy_load_string("big.yaml", text, len, &err));
    assert_int_equal(err.line, 0);
    assert_non_null(strstr(err.reason, "larger than 1 MiB"));

    /* Exactly 1 MiB is allowed, from a string and from a file. */
    policy_t *p = policy_load_string("big.yaml", text, len - 1u, &err);
    if (!p)
        fail_msg("%zu:%zu %s", err.line, err.column, err.reason);
    policy_free(p);
    char path[] = "/tmp/test_policy_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len - 1u, f), len - 1u);
    fclose(f);
    p = policy_load_file(path, &err);
    assert_non_null(p);
    policy_free(p);
    f = fopen(path, "ab");
    assert_non_null(f);
    fputc('\n', f);
    fclose(f);
    assert_null(policy_load_file(path, &err));
    assert_int_equal(err.line, 0);
    assert_string_equal(err.file, path);
    assert_non_null(strstr(err.reason, "larger than 1 MiB"));
    remove(path);
    free(text);
}

static void test_a_missing_file_is_refused_with_its_name(void **state)
{
    (void)state;
    policy_error_t err;
    assert_null(policy_load_file("/nonexistent/policy.yaml", &err));
    assert_string_equal(err.file, "/nonexistent/policy.yaml");
    assert_int_equal(err.line, 0);
    assert_non_null(strstr(err.reason, "cannot open"));
    /* err may be NULL. */
    assert_null(policy_load_file("/nonexistent/policy.yaml", NULL));
    assert_null(policy_load_string("x", "version: 3\n", 11, NULL));
}

static void test_an_error_in_a_file_names_that_file(void **state)
{
    (void)state;
    char path[] = "/tmp/test_policy_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    assert_non_null(f);
    fputs("version: 1\ngroups:\n  - name: a\n    rules:\n      ranges:\n"
          "        - { metric: reports, window: 60, min: 9, max: 3 }\n", f);
    fclose(f);
    policy_error_t err;
    assert_null(policy_load_file(path, &err));
    assert_string_equal(err.file, path);
    assert_int_equal(err.line, 6);
    remove(path);
}

static void test_text_need_not_be_nul_terminated_and_nul_bytes_are_refused(void **state)
{
    (void)state;
    /* The length bounds the read: the garbage after it is never seen. */
    const char text[] = "version: 1\nGARBAGE: [";
    policy_error_t err;
    policy_t *p = policy_load_string("t", text, 11, &err);
    assert_non_null(p);
    policy_free(p);
    const char nul[] = "version: 1\nhygiene: { min_os_version: \"a\\0b\" }\n";
    assert_null(policy_load_string("t", nul, sizeof nul - 1, &err));
    assert_int_equal(err.line, 2);
    assert_non_null(strstr(err.reason, "NUL byte"));
}

static void test_a_hostile_key_is_shown_printable_and_short(void **state)
{
    (void)state;
    policy_error_t err;
    const char text[] = "version: 1\n\"\\e[31mred\\nline aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": 1\n";
    assert_null(policy_load_string("t", text, sizeof text - 1, &err));
    assert_int_equal(err.line, 2);
    assert_non_null(strstr(err.reason, "unknown key '?[31mred?line aaaaaaaaaaaaaaaaaaaaaaaaaa...'"));
    for (const char *s = err.reason; *s; s++)
        assert_true(*s >= 0x20 && *s < 0x7f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_full_example_loads_every_field),
        cmocka_unit_test(test_no_file_means_group_default_and_default_hygiene),
        cmocka_unit_test(test_membership_is_the_first_group_by_glob_or_tag),
        cmocka_unit_test(test_cidrs_are_merged_and_ports_deduplicated),
        cmocka_unit_test(test_device_configuration_defaults_and_group_overrides),
        cmocka_unit_test(test_the_demo_policy_and_the_documented_example_load),
        cmocka_unit_test(test_every_malformed_policy_is_refused_at_its_line),
        cmocka_unit_test(test_a_document_over_one_mebibyte_is_refused_whole),
        cmocka_unit_test(test_a_missing_file_is_refused_with_its_name),
        cmocka_unit_test(test_an_error_in_a_file_names_that_file),
        cmocka_unit_test(test_text_need_not_be_nul_terminated_and_nul_bytes_are_refused),
        cmocka_unit_test(test_a_hostile_key_is_shown_printable_and_short),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
