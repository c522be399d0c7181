/*
 * The feed parsers against their samples (tests/intel_feeds/data): SPECs,
 * the shared line reader, plain, CSV, STIX 2.1 and MISP feeds, format
 * detection and RFC 3339 times. Sets are checked entry by entry through
 * their layout (intel_priv.h); refusals by line and reason, and a refused
 * feed never yields a set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intel_feed_priv.h"
#include "intel_lines.h"
#include "intel_priv.h"

#define NOW 1750000000           /* 2025-06-15 */
#define T_2024 1704067200        /* 2024-01-01T00:00:00Z */
#define ANY_FROM INTEL_UNBOUNDED_FROM
#define ANY_UNTIL INTEL_UNBOUNDED_UNTIL

typedef struct {
    const char *net, *category;
    int confidence;
    int64_t from, until;
} want_t;

static char *read_sample(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", TEST_DATA_DIR, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static intel_spec_t spec_of(const char *text)
{
    intel_spec_t spec;
    char why[200];
    if (!intel_spec_parse(text, &spec, why, sizeof why))
        fail_msg("spec %s: %s", text, why);
    return spec;
}

/* Parses a sample with a SPEC prefix ("", "csv:2:", "stix:"...). */
static intel_set_t *parse_sample(const char *prefix, const char *name, intel_feed_error_t *err,
                                 intel_parse_stats_t *stats)
{
    char text[1200];
    snprintf(text, sizeof text, "%s%s/%s", prefix, TEST_DATA_DIR, name);
    intel_spec_t spec = spec_of(text);
    size_t len;
    char *data = read_sample(name, &len);
    intel_set_t *set = intel_feed_parse(&spec, data, len, NOW, err, stats);
    free(data);
    return set;
}

static intel_set_t *parse_text(const char *prefix, const char *text, intel_feed_error_t *err,
                               intel_parse_stats_t *stats)
{
    char spec_text[200];
    snprintf(spec_text, sizeof spec_text, "%stext-feed.txt", prefix);
    intel_spec_t spec = spec_of(spec_text);
    return intel_feed_parse(&spec, text, strlen(text), NOW, err, stats);
}

static void expect_set(const intel_set_t *set, const want_t *want, size_t n)
{
    assert_non_null(set);
    if (set->count != n)
        fail_msg("%zu indicators, expected %zu", set->count, n);
    for (size_t i = 0; i < n; i++) {
        const intel_entry_t *e = &set->entries[i];
        const intel_meta_t *m = &set->metas[e->meta];
        char net[64];
        intel_net_format(&e->net, net, sizeof net);
        if (strcmp(net, want[i].net) != 0)
            fail_msg("entry %zu: %s, expected %s", i, net, want[i].net);
        if (strcmp(set->categories[m->category], want[i].category) != 0)
            fail_msg("entry %zu (%s): category '%s', expected '%s'", i, net,
                     set->categories[m->category], want[i].category);
        if (m->confidence != want[i].confidence)
            fail_msg("entry %zu (%s): confidence %u, expected %d", i, net, m->confidence,
                     want[i].confidence);
        if (m->valid_from != want[i].from || m->valid_until != want[i].until)
            fail_msg("entry %zu (%s): valid %lld..%lld, expected %lld..%lld", i, net,
                     (long long)m->valid_from, (long long)m->valid_until,
                     (long long)want[i].from, (long long)want[i].until);
    }
}

static void expect_refused(intel_set_t *set, const intel_feed_error_t *err, const char *feed,
                           size_t line, const char *reason)
{
    assert_null(set);
    assert_string_equal(err->feed, feed);
    if (err->line != line)
        fail_msg("error at line %zu (%s), expected line %zu", err->line, err->reason, line);
    if (strstr(err->reason, reason) == NULL)
        fail_msg("reason '%s' does not say '%s'", err->reason, reason);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- SPECs ---- */

static void test_spec_prefixes_columns_and_feed_names(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        intel_format_t format;
        unsigned column;
        const char *column_name, *feed, *location;
    } cases[] = {
        { "data/feeds/c2-blocklist.txt", INTEL_FORMAT_AUTO, 0, "", "c2-blocklist",
          "data/feeds/c2-blocklist.txt" },
        { "plain:/srv/list", INTEL_FORMAT_PLAIN, 0, "", "list", "/srv/list" },
        { "csv:2:f.csv", INTEL_FORMAT_CSV, 2, "", "f", "f.csv" },
        { "csv::f.csv", INTEL_FORMAT_CSV, 0, "", "f", "f.csv" },
        { "csv:dst_ip:https://feodotracker.abuse.ch/downloads/ipblocklist.csv",
          INTEL_FORMAT_CSV, 0, "dst_ip", "ipblocklist",
          "https://feodotracker.abuse.ch/downloads/ipblocklist.csv" },
        { "csv:https://h.example/x.csv", INTEL_FORMAT_CSV, 0, "", "x",
          "https://h.example/x.csv" },
        { "stix:bundle.json", INTEL_FORMAT_STIX, 0, "", "bundle", "bundle.json" },
        { "misp:https://misp.example/events/view/1207.json?format=json", INTEL_FORMAT_MISP, 0,
          "", "1207", "https://misp.example/events/view/1207.json?format=json" },
        { "https://feeds.example/", INTEL_FORMAT_AUTO, 0, "", "feeds.example",
          "https://feeds.example/" },
        { "HTTPS://user:pw@feeds.example:8443", INTEL_FORMAT_AUTO, 0, "", "feeds.example",
          "HTTPS://user:pw@feeds.example:8443" },
        { "http://[2001:db8::1]:8080/", INTEL_FORMAT_AUTO, 0, "", "[2001:db8::1]",
          "http://[2001:db8::1]:8080/" },
        { "https://h.example/lists/block.v2.txt#top", INTEL_FORMAT_AUTO, 0, "", "block.v2",
          "https://h.example/lists/block.v2.txt#top" },
        { "dir/.hidden", INTEL_FORMAT_AUTO, 0, "", ".hidden", "dir/.hidden" },
        { "plain:plain:odd", INTEL_FORMAT_PLAIN, 0, "", "plain:odd", "plain:odd" },
    };
    for (size_t i = 0; i < N(cases); i++) {
        intel_spec_t s = spec_of(cases[i].text);
        if (s.format != cases[i].format || s.csv_column != cases[i].column)
            fail_msg("%s: format %d column %u", cases[i].text, s.format, s.csv_column);
        assert_string_equal(s.csv_column_name, cases[i].column_name);
        assert_string_equal(s.feed, cases[i].feed);
        assert_string_equal(s.location, cases[i].location);
        assert_string_equal(s.category, "");
        assert_int_equal(s.confidence, -1);
    }
    assert_true(intel_spec_is_url(&(intel_spec_t){ .location = "https://x/y" }));
    assert_false(intel_spec_is_url(&(intel_spec_t){ .location = "https.txt" }));
}

static void test_spec_refusals_say_why(void **state)
{
    (void)state;
    static char longer[3000];
    memset(longer, 'a', sizeof longer - 1);
    static const struct { const char *text, *reason; } cases[] = {
        { "", "no path or URL" },
        { "plain:", "no path or URL" },
        { "csv:0:f.csv", "start at 1" },
        { "csv:70000:f.csv", "start at 1" },
        { "csv:f.csv", "csv:COLUMN:" },
        { "ftp://h/x.txt", "only http:// and https://" },
        { "https://", "without a host" },
        { "dir/", "no feed name" },
        { "csv:a-very-long-column-name-that-goes-on-and-on-past-sixty-three-bytes:f",
          "longer than 63" },
        { "plain:a\tb", "control character" },
        { longer, "longer than 2047" },
    };
    for (size_t i = 0; i < N(cases); i++) {
        intel_spec_t s;
        char why[200] = "";
        if (intel_spec_parse(cases[i].text, &s, why, sizeof why))
            fail_msg("'%.40s' accepted", cases[i].text);
        if (!strstr(why, cases[i].reason))
            fail_msg("'%.40s': '%s' does not say '%s'", cases[i].text, why, cases[i].reason);
    }
}

/* ---- the line reader ---- */

static void test_lines_handle_crlf_bom_and_a_last_line_without_newline(void **state)
{
    (void)state;
    static const char data[] = "\xEF\xBB\xBF" "one\r\ntwo\n\r\nthree\rx\nlast";
    intel_lines_t r;
    intel_lines_init(&r, data, sizeof data - 1);
    static const char *const want[] = { "one", "two", "", "three\rx", "last" };
    const char *text, *why;
    size_t len;
    for (size_t i = 0; i < N(want); i++) {
        assert_int_equal(intel_lines_next(&r, &text, &len, &why), INTEL_LINES_OK);
        assert_int_equal(len, strlen(want[i]));
        assert_memory_equal(text, want[i], len);
        assert_int_equal(r.line, i + 1);
    }
    assert_int_equal(intel_lines_next(&r, &text, &len, &why), INTEL_LINES_END);

    intel_lines_init(&r, "", 0);
    assert_int_equal(intel_lines_next(&r, &text, &len, &why), INTEL_LINES_END);
    intel_lines_init(&r, "a\n", 2);
    assert_int_equal(intel_lines_next(&r, &text, &len, &why), INTEL_LINES_OK);
    assert_int_equal(intel_lines_next(&r, &text, &len, &why), INTEL_LINES_END);
}

static void test_lines_refuse_nul_bytes_and_overlong_lines_with_their_number(void **state)
{
    (void)state;
    static const char nul[] = "ok\nok\nbad\0byte\nok\n";
    intel_lines_t r;
    const char *text, *why = NULL;
    size_t len;
    intel_lines_init(&r, nul, sizeof nul - 1);
    assert_int_equal(intel_lines_next(&r, &text, &len, &why), INTEL_LINES_OK);
    assert_int_equal(intel_lines_next(&r, &text, &len, &why), INTEL_LINES_OK);
    assert_int_equal(intel_lines_next(&r, &text, &len, &why), INTEL_LINES_BAD);
    assert_int_equal(r.line, 3);
    assert_string_equal(why, "NUL byte in line");
    assert_int_equal(intel_lines_next(&r, &text, &len, &why), INTEL_LINES_END);

    /* A line of exactly INTEL_LINE_MAX bytes (then "\r\n") passes; one more byte does not,
     * with or without a newline after it. */
    size_t n = INTEL_LINE_MAX + 10;
    char *big = malloc(n);
    assert_non_null(big);
    memcpy(big, "x\n", 2);
    memset(big + 2, 'a', n - 2);
    memcpy(big + 2 + INTEL_LINE_MAX, "\r\n", 2);
    intel_lines_init(&r, big, 2 + INTEL_LINE_MAX + 2);
    assert_int_equal(intel_lines_next(&r, &text, &len, &why), INTEL_LINES_OK);
    assert_int_equal(intel_lines_next(&r, &text, &len, &why), INTEL_LINES_OK);
    assert_int_equal(len, INTEL_LINE_MAX);
    big[2 + INTEL_LINE_MAX] = 'a';
    for (size_t total = 2 + INTEL_LINE_MAX + 1; total <= n; total += n - total > 3 ? 3 : 1) {
        intel_lines_init(&r, big, total);
        assert_int_equal(intel_lines_next(&r, &text, &len, &why), INTEL_LINES_OK);
        assert_int_equal(intel_lines_next(&r, &text, &len, &why), INTEL_LINES_BAD);
        assert_int_equal(r.line, 2);
        assert_string_equal(why, "line longer than 65536 bytes");
        if (total == n)
            break;
    }
    free(big);
}

/* ---- plain ---- */

static void test_plain_reads_addresses_networks_comments_and_blank_lines(void **state)
{
    (void)state;
    intel_feed_error_t err;
    intel_parse_stats_t st;
    intel_set_t *set = parse_sample("", "plain_good.txt", &err, &st);
    static const want_t want[] = {
        { "203.0.113.5", "blocklist", 100, ANY_FROM, ANY_UNTIL },
        { "198.51.100.0/24", "blocklist", 100, ANY_FROM, ANY_UNTIL },
        { "2001:db8::1", "blocklist", 100, ANY_FROM, ANY_UNTIL },
        { "2001:db8:1::/48", "blocklist", 100, ANY_FROM, ANY_UNTIL },
        { "10.0.0.0/8", "blocklist", 100, ANY_FROM, ANY_UNTIL },
        { "192.0.2.9", "blocklist", 100, ANY_FROM, ANY_UNTIL },
        { "192.0.2.200", "blocklist", 100, ANY_FROM, ANY_UNTIL },
    };
    expect_set(set, want, N(want));
    assert_string_equal(intel_set_feed(set), "plain_good");
    assert_int_equal(st.format, INTEL_FORMAT_PLAIN);
    assert_int_equal(st.lines, 10);
    assert_int_equal(st.records, 7);
    assert_int_equal(st.indicators, 7);
    assert_int_equal(st.skipped, 0);
    assert_int_equal(st.ipv4_exact, 3);
    assert_int_equal(st.ipv4_prefix, 2);
    assert_int_equal(st.ipv6_exact, 1);
    assert_int_equal(st.ipv6_prefix, 1);
    intel_set_free(set);
}

static void test_plain_takes_category_and_confidence_from_the_spec(void **state)
{
    (void)state;
    intel_spec_t spec = spec_of("plain:local.txt");
    strcpy(spec.category, "allow-exceptions");
    spec.confidence = 70;
    intel_feed_error_t err;
    static const char text[] = "192.0.2.1\n";
    intel_set_t *set = intel_feed_parse(&spec, text, sizeof text - 1, NOW, &err, NULL);
    static const want_t want[] = { { "192.0.2.1", "allow-exceptions", 70, ANY_FROM, ANY_UNTIL } };
    expect_set(set, want, 1);
    intel_set_free(set);
}

static void test_plain_refuses_the_whole_feed_at_a_bad_line(void **state)
{
    (void)state;
    intel_feed_error_t err;
    intel_parse_stats_t st;
    intel_set_t *set = parse_sample("", "plain_bad_address.txt", &err, &st);
    expect_refused(set, &err, "plain_bad_address", 4, "'203.0.113.256': not an IPv4 address");
    set = parse_sample("", "plain_bad_two_addresses.txt", &err, &st);
    expect_refused(set, &err, "plain_bad_two_addresses", 2,
                   "'203.0.113.6 203.0.113.7': not an IPv4 address");
    set = parse_text("plain:", "192.0.2.1\n2001:db8::/129\n", &err, NULL);
    expect_refused(set, &err, "text-feed", 2, "'2001:db8::/129': bad prefix length");
    set = parse_text("plain:", "192.0.2.1\n; comment\n", &err, NULL);
    expect_refused(set, &err, "text-feed", 2, "'; comment': not an IPv4 address");

    static const char nul[] = "192.0.2.1\n192.0.2.2\0\n";
    intel_spec_t spec = spec_of("plain:nul.txt");
    set = intel_feed_parse(&spec, nul, sizeof nul - 1, NOW, &err, NULL);
    expect_refused(set, &err, "nul", 2, "NUL byte");

    /* Hostile bytes are quoted, not copied, into the reason. */
    set = parse_text("plain:", "\x1b[31m\xff" "evil\n", &err, NULL);
    expect_refused(set, &err, "text-feed", 1, "'?[31m?evil'");
}

static void test_plain_accepts_an_empty_list(void **state)
{
    (void)state;
    intel_feed_error_t err;
    intel_parse_stats_t st;
    intel_set_t *set = parse_text("plain:", "# nothing listed today\n\n", &err, &st);
    expect_set(set, NULL, 0);
    assert_int_equal(st.lines, 2);
    intel_set_free(set);
}

/* ---- CSV ---- */

static const want_t feodo_want[] = {
    { "203.0.113.99", "Mirai", 100, ANY_FROM, ANY_UNTIL },
    { "203.0.113.140", "Gafgyt", 100, ANY_FROM, ANY_UNTIL },
    { "2001:db8:feed::7", "blocklist", 100, ANY_FROM, ANY_UNTIL },
};

static void test_csv_feodo_layout_with_the_header_in_a_comment(void **state)
{
    (void)state;
    static const char *const prefixes[] = { "", "csv::", "csv:dst_ip:", "csv:DST_IP:", "csv:2:" };
    for (size_t i = 0; i < N(prefixes); i++) {
        intel_feed_error_t err;
        intel_parse_stats_t st;
        intel_set_t *set = parse_sample(prefixes[i], "csv_feodo.csv", &err, &st);
        if (!set)
            fail_msg("%s: %s", prefixes[i], err.reason);
        expect_set(set, feodo_want, N(feodo_want));
        assert_int_equal(st.format, INTEL_FORMAT_CSV);
        assert_int_equal(st.records, 3);
        assert_int_equal(st.lines, 9);
        intel_set_free(set);
    }
}

static void test_csv_header_line_quotes_and_category_column(void **state)
{
    (void)state;
    intel_feed_error_t err;
    intel_set_t *set = parse_sample("", "csv_header_line.csv", &err, NULL);
    static const want_t want[] = {
        { "198.51.100.7", "Bot \"Net\", C2", 100, ANY_FROM, ANY_UNTIL },
        { "198.51.100.0/25", "scanner", 100, ANY_FROM, ANY_UNTIL },
        { "2001:db8:2::/64", "blocklist", 100, ANY_FROM, ANY_UNTIL },
    };
    expect_set(set, want, N(want));
    intel_set_free(set);
    /* By number, the header line is still recognised as one. */
    set = parse_sample("csv:1:", "csv_header_line.csv", &err, NULL);
    expect_set(set, want, N(want));
    intel_set_free(set);
}

static void test_csv_without_header_finds_or_takes_the_address_column(void **state)
{
    (void)state;
    static const want_t want[] = {
        { "192.0.2.10", "blocklist", 100, ANY_FROM, ANY_UNTIL },
        { "192.0.2.11", "blocklist", 100, ANY_FROM, ANY_UNTIL },
    };
    static const char *const prefixes[] = { "", "csv:2:" };
    for (size_t i = 0; i < N(prefixes); i++) {
        intel_feed_error_t err;
        intel_set_t *set = parse_sample(prefixes[i], "csv_no_header.csv", &err, NULL);
        expect_set(set, want, N(want));
        intel_set_free(set);
    }
}

static void test_csv_refusals_name_line_and_reason(void **state)
{
    (void)state;
    intel_feed_error_t err;
    intel_set_t *set = parse_sample("", "csv_bad_quote.csv", &err, NULL);
    expect_refused(set, &err, "csv_bad_quote", 3, "unterminated quoted field");
    set = parse_sample("", "csv_bad_address.csv", &err, NULL);
    expect_refused(set, &err, "csv_bad_address", 3, "column 1: '192.0.2.x': not an IPv4 address");
    set = parse_sample("", "csv_short_row.csv", &err, NULL);
    expect_refused(set, &err, "csv_short_row", 3, "1 fields, the address is in column 2");
    set = parse_sample("csv:3:", "csv_feodo.csv", &err, NULL);
    expect_refused(set, &err, "csv_feodo", 6, "column 3: '23': not an IPv4 address");
    set = parse_sample("csv:port:", "csv_feodo.csv", &err, NULL);
    expect_refused(set, &err, "csv_feodo", 5, "no column named 'port' in the header");
    set = parse_sample("csv:ip:", "csv_no_header.csv", &err, NULL);
    expect_refused(set, &err, "csv_no_header", 1, "no header line to find column 'ip' in");
    set = parse_text("csv::", "name,port\nx,1\n", &err, NULL);
    expect_refused(set, &err, "text-feed", 1, "no header and no field holding an address");
    set = parse_text("csv::", "indicator,ip\n\"192.0.2.1\"x,1\n", &err, NULL);
    expect_refused(set, &err, "text-feed", 2, "text after a closing quote");
}

/* ---- STIX ---- */

static void test_stix_bundle_takes_ip_indicators_and_skips_the_rest(void **state)
{
    (void)state;
    intel_feed_error_t err;
    intel_parse_stats_t st;
    intel_set_t *set = parse_sample("", "stix_good.json", &err, &st);
    if (!set)
        fail_msg("%s", err.reason);
    static const want_t want[] = {
        { "203.0.113.10", "c2", 90, T_2024, 1906547445 },
        { "198.51.100.0/24", "malicious-activity", 50, 1709280000, 1925011800 },
        { "2001:db8:5::/48", "malicious-activity", 50, 1709280000, 1925011800 },
        { "192.0.2.1", "malicious-activity", 50, 1709280000, 1925011800 },
        { "2001:db8::66", "unknown", 50, T_2024, ANY_UNTIL },
        { "203.0.113.77", "unknown", 50, T_2024, ANY_UNTIL },
        { "203.0.113.88", "old", 10, 946684800, 978307200 },
    };
    expect_set(set, want, N(want));
    assert_int_equal(st.format, INTEL_FORMAT_STIX);
    assert_int_equal(st.records, 12);
    /* identity, relationship, AND, domain-name, revoked, snort, OR with a
     * domain-name, WITHIN */
    assert_int_equal(st.skipped, 8);
    assert_int_equal(st.indicators, 7);
    assert_int_equal(st.expired, 1);
    intel_set_free(set);
}

static void test_stix_patterns_taken_whole_or_not_at_all(void **state)
{
    (void)state;
    static const struct { const char *pattern, *nets; } good[] = {
        { "[ipv4-addr:value = '192.0.2.1']", "192.0.2.1" },
        { "[ipv4-addr:value ISSUBSET '192.0.2.0/24']", "192.0.2.0/24" },
        { "[ipv4-addr:value = '192.0.2.0/24']", "192.0.2.0/24" },
        { "[ipv6-addr:value = '2001:db8::1' OR ipv6-addr:value = '2001:db8::2']",
          "2001:db8::1 2001:db8::2" },
        { "([ipv4-addr:value = '192.0.2.1']) OR [ipv4-addr:value = '192.0.2.2']",
          "192.0.2.1 192.0.2.2" },
        { "[(ipv4-addr:value = '192.0.2.1' OR ipv4-addr:value = '192.0.2.2')]",
          "192.0.2.1 192.0.2.2" },
        { "[ipv4-addr:value issubset '10.0.0.0/8' or ipv4-addr:value='10.0.0.1']",
          "10.0.0.0/8 10.0.0.1" },
        { "  [ ipv4-addr:value = '192.0.2.1' ]\n OR\t[ipv6-addr:value = '::ffff:192.0.2.3'] ",
          "192.0.2.1 192.0.2.3" },
    };
    static const char *const bad[] = {
        "",
        "[]",
        "[ipv4-addr:value = '192.0.2.1' AND ipv4-addr:value = '192.0.2.2']",
        "[ipv4-addr:value = '192.0.2.1'] AND [ipv4-addr:value = '192.0.2.2']",
        "[ipv4-addr:value = '192.0.2.1'] FOLLOWEDBY [ipv4-addr:value = '192.0.2.2']",
        "[ipv4-addr:value = '192.0.2.1'] WITHIN 5 SECONDS",
        "[ipv4-addr:value = '192.0.2.1'] REPEATS 5 TIMES",
        "[ipv4-addr:value NOT = '192.0.2.1']",
        "[ipv4-addr:value != '192.0.2.1']",
        "[ipv4-addr:value == '192.0.2.1']",
        "[ipv4-addr:value LIKE '192.0.2.%']",
        "[ipv4-addr:value IN ('192.0.2.1', '192.0.2.2')]",
        "[ipv4-addr:value = '2001:db8::1']",
        "[ipv6-addr:value = '192.0.2.1']",
        "[ipv4-addr:value = 'evil.example']",
        "[ipv4-addr:value = \"192.0.2.1\"]",
        "[ipv4-addr:value = '192.0.2.1]",
        "[ipv4-addr:value = '192.0.2.1'",
        "[ipv4-addr:value = '192.0.2.1'] OR",
        "[ipv4-addr:value = '192.0.2.1'] OR [domain-name:value = 'x']",
        "[ipv4-addr:values = '192.0.2.1']",
        "[network-traffic:dst_ref.value = '192.0.2.1']",
        "[ipv4-addr:value = '192.0.2.1']]",
        "[ipv4-addr:value = '192.0.2.1'] ORX [ipv4-addr:value = '192.0.2.2']",
        "[ipv4-addr:value = '192\\.0.2.1']",
    };
    intel_net_t *nets = NULL;
    size_t cap = 0, count;
    for (size_t i = 0; i < N(good); i++) {
        if (!intel_feed__stix_pattern(good[i].pattern, &nets, &cap, &count))
            fail_msg("refused: %s", good[i].pattern);
        char all[256] = "";
        for (size_t k = 0; k < count; k++) {
            char text[64];
            intel_net_format(&nets[k], text, sizeof text);
            if (k)
                strcat(all, " ");
            strcat(all, text);
        }
        assert_string_equal(all, good[i].nets);
    }
    for (size_t i = 0; i < N(bad); i++)
        if (intel_feed__stix_pattern(bad[i], &nets, &cap, &count))
            fail_msg("taken: %s", bad[i]);
    /* Nesting is bounded. */
    char deep[256] = "";
    for (int i = 0; i < 40; i++)
        strcat(deep, "(");
    strcat(deep, "[ipv4-addr:value = '192.0.2.1']");
    for (int i = 0; i < 40; i++)
        strcat(deep, ")");
    assert_false(intel_feed__stix_pattern(deep, &nets, &cap, &count));
    free(nets);
}

static void test_stix_refusals_malformed_json_with_its_line_and_not_a_bundle(void **state)
{
    (void)state;
    intel_feed_error_t err;
    intel_set_t *set = parse_sample("", "stix_malformed.json", &err, NULL);
    expect_refused(set, &err, "stix_malformed", 8, "malformed JSON");
    set = parse_sample("stix:", "stix_malformed.json", &err, NULL);
    expect_refused(set, &err, "stix_malformed", 8, "malformed JSON");
    set = parse_sample("stix:", "misp_event.json", &err, NULL);
    expect_refused(set, &err, "misp_event", 0, "not a STIX bundle");
    set = parse_text("stix:", "{\"type\":\"bundle\",\"objects\":{}}", &err, NULL);
    expect_refused(set, &err, "text-feed", 1, "\"objects\" is not an array");
    set = parse_text("", "{\"type\":\"report\"}", &err, NULL);
    expect_refused(set, &err, "text-feed", 0, "neither a STIX bundle");
    set = parse_text("stix:", "{\"type\":\"bundle\",\"type\":\"bundle\"}", &err, NULL);
    expect_refused(set, &err, "text-feed", 1, "duplicate object key");
}

static void test_stix_unreadable_fields_skip_the_indicator(void **state)
{
    (void)state;
    static const char *const objects[] = {
        "{\"type\":\"indicator\",\"pattern\":\"[ipv4-addr:value = '192.0.2.1']\","
        "\"valid_from\":\"2024-13-01T00:00:00Z\"}",
        "{\"type\":\"indicator\",\"pattern\":\"[ipv4-addr:value = '192.0.2.1']\","
        "\"valid_until\":\"yesterday\"}",
        "{\"type\":\"indicator\",\"pattern\":\"[ipv4-addr:value = '192.0.2.1']\","
        "\"valid_from\":\"2024-01-02T00:00:00Z\",\"valid_until\":\"2024-01-01T00:00:00Z\"}",
        "{\"type\":\"indicator\",\"pattern\":\"[ipv4-addr:value = '192.0.2.1']\","
        "\"confidence\":101}",
        "{\"type\":\"indicator\",\"pattern\":\"[ipv4-addr:value = '192.0.2.1']\","
        "\"confidence\":\"high\"}",
        "{\"type\":\"indicator\",\"pattern\":42}",
        "{\"type\":\"indicator\"}",
        "\"indicator\"",
        "{\"type\":\"indicator\",\"pattern\":\"[ipv4-addr:value = '192.0.2.1']\","
        "\"pattern_type\":\"sigma\"}",
    };
    for (size_t i = 0; i < N(objects); i++) {
        char text[512];
        snprintf(text, sizeof text, "{\"type\":\"bundle\",\"objects\":[%s]}", objects[i]);
        intel_feed_error_t err;
        intel_parse_stats_t st;
        intel_set_t *set = parse_text("", text, &err, &st);
        if (!set)
            fail_msg("%s: refused: %s", objects[i], err.reason);
        if (st.skipped != 1 || intel_set_count(set) != 0)
            fail_msg("%s: taken", objects[i]);
        intel_set_free(set);
    }
}

static void test_a_feed_of_expired_indicators_parses(void **state)
{
    (void)state;
    intel_feed_error_t err;
    intel_parse_stats_t st;
    intel_set_t *set = parse_sample("", "stix_expired.json", &err, &st);
    static const want_t want[] = {
        { "192.0.2.50", "unknown", 50, 1546300800, 1577836800 },
        { "2001:db8::50", "unknown", 50, 1546300800, 1577836800 },
    };
    expect_set(set, want, N(want));
    assert_int_equal(st.expired, 2);
    intel_set_free(set);
}

/* ---- MISP ---- */

static void test_misp_event_attributes_and_object_attributes(void **state)
{
    (void)state;
    intel_feed_error_t err;
    intel_parse_stats_t st;
    intel_set_t *set = parse_sample("", "misp_event.json", &err, &st);
    if (!set)
        fail_msg("%s", err.reason);
    static const want_t want[] = {
        { "203.0.113.101", "Network activity", 100, ANY_FROM, ANY_UNTIL },
        { "198.51.100.0/28", "Payload delivery", 50, ANY_FROM, ANY_UNTIL },
        { "203.0.113.102", "Network activity", 100, ANY_FROM, ANY_UNTIL },
        { "203.0.113.104", "Network activity", 100, 1706745600, 1709290800 },
        { "2001:db8::1", "Network activity", 100, ANY_FROM, ANY_UNTIL },
    };
    expect_set(set, want, N(want));
    assert_int_equal(st.format, INTEL_FORMAT_MISP);
    assert_int_equal(st.records, 9);
    assert_int_equal(st.skipped, 4);   /* domain, deleted, port, the deleted object's */
    intel_set_free(set);
}

static void test_misp_response_list_of_events(void **state)
{
    (void)state;
    static const want_t want[] = {
        { "192.0.2.33", "Network activity", 100, ANY_FROM, ANY_UNTIL },
        { "2001:db8:44::/64", "External analysis", 50, ANY_FROM, ANY_UNTIL },
    };
    static const char *const prefixes[] = { "", "misp:" };
    for (size_t i = 0; i < N(prefixes); i++) {
        intel_feed_error_t err;
        intel_set_t *set = parse_sample(prefixes[i], "misp_response.json", &err, NULL);
        expect_set(set, want, N(want));
        intel_set_free(set);
    }
}

static void test_misp_refusals_name_the_attribute_and_its_line(void **state)
{
    (void)state;
    intel_feed_error_t err;
    intel_set_t *set = parse_sample("", "misp_bad_value.json", &err, NULL);
    expect_refused(set, &err, "misp_bad_value", 7,
                   "attribute 7b000000-0000-4000-8000-000000000002 (ip-dst): '203.0.113.999': "
                   "not an IPv4 address");
    set = parse_sample("", "misp_malformed.json", &err, NULL);
    expect_refused(set, &err, "misp_malformed", 4, "malformed JSON");
    set = parse_text("misp:", "{\"Event\":{\"Attribute\":[{\"type\":\"ip-dst|port\","
                              "\"uuid\":\"u1\",\"value\":\"192.0.2.1|http\"}]}}",
                     &err, NULL);
    expect_refused(set, &err, "text-feed", 1, "attribute u1 (ip-dst|port): '192.0.2.1|http': no "
                                              "ADDRESS|PORT");
    set = parse_text("misp:", "{\"Event\":{\"Attribute\":[{\"type\":\"ip-src\","
                              "\"uuid\":\"u2\",\"value\":\"192.0.2.1\","
                              "\"first_seen\":\"soon\"}]}}",
                     &err, NULL);
    expect_refused(set, &err, "text-feed", 1, "first_seen or last_seen");
    set = parse_text("misp:", "{\"Event\":{\"Attribute\":{}}}", &err, NULL);
    expect_refused(set, &err, "text-feed", 0, "Event.Attribute is not a list");
    set = parse_text("misp:", "{\"type\":\"bundle\"}", &err, NULL);
    expect_refused(set, &err, "text-feed", 0, "not a MISP event");
    set = parse_text("misp:", "{\"Event\":{\"Attribute\":[{\"type\":\"ip-dst\"}]}}", &err, NULL);
    expect_refused(set, &err, "text-feed", 0, "Event.Attribute[0] (ip-dst): no value");
}

/* ---- detection and times ---- */

static void test_auto_detection_picks_each_format(void **state)
{
    (void)state;
    static const struct { const char *sample; intel_format_t format; } cases[] = {
        { "plain_good.txt", INTEL_FORMAT_PLAIN },     { "csv_feodo.csv", INTEL_FORMAT_CSV },
        { "csv_header_line.csv", INTEL_FORMAT_CSV },  { "stix_good.json", INTEL_FORMAT_STIX },
        { "misp_event.json", INTEL_FORMAT_MISP },     { "misp_response.json", INTEL_FORMAT_MISP },
    };
    for (size_t i = 0; i < N(cases); i++) {
        intel_feed_error_t err;
        intel_parse_stats_t st;
        intel_set_t *set = parse_sample("", cases[i].sample, &err, &st);
        assert_non_null(set);
        if (st.format != cases[i].format)
            fail_msg("%s detected as %s", cases[i].sample, intel_format_name(st.format));
        intel_set_free(set);
    }
    /* A comma in a trailing comment does not make a plain list CSV. */
    intel_feed_error_t err;
    intel_parse_stats_t st;
    intel_set_t *set = parse_text("", "# a, b\n192.0.2.1 # seen 2024, twice\n", &err, &st);
    assert_non_null(set);
    assert_int_equal(st.format, INTEL_FORMAT_PLAIN);
    intel_set_free(set);
    /* A JSON list of events is MISP; a BOM before JSON is skipped. */
    set = parse_text("", "\xEF\xBB\xBF[{\"Event\":{\"Attribute\":[{\"type\":\"ip-dst\","
                         "\"value\":\"192.0.2.1\"}]}}]",
                     &err, &st);
    assert_non_null(set);
    assert_int_equal(st.format, INTEL_FORMAT_MISP);
    assert_int_equal(intel_set_count(set), 1);
    intel_set_free(set);
}

static void test_rfc3339_times(void **state)
{
    (void)state;
    static const struct { const char *text; int64_t t; } good[] = {
        { "2024-01-01T00:00:00Z", T_2024 },
        { "2024-01-01t00:00:00z", T_2024 },
        { "2024-01-01 00:00:00Z", T_2024 },
        { "2024-01-01T00:00:00.999999999Z", T_2024 },
        { "2024-01-01T02:00:00+02:00", T_2024 },
        { "2023-12-31T18:30:00-05:30", T_2024 },
        { "2016-02-29T23:59:59Z", 1456790399 },
        { "1969-12-31T23:59:59Z", -1 },
        { "0001-01-01T00:00:00Z", -62135596800 },
        { "9999-12-31T23:59:59Z", 253402300799 },
    };
    static const char *const bad[] = {
        "", "2024-01-01", "2024-01-01T00:00:00", "2024-01-01T00:00:00.Z",
        "2023-02-29T00:00:00Z", "2024-04-31T00:00:00Z", "2024-00-10T00:00:00Z",
        "2024-01-01T24:00:00Z", "2024-01-01T00:60:00Z", "2024-01-01T00:00:61Z",
        "2024-01-01T00:00:00+2:00", "2024-01-01T00:00:00+24:00", "2024-01-01T00:00:00Zjunk",
        "2024/01/01T00:00:00Z", "2024-01-01T00:00:00 Z", "+024-01-01T00:00:00Z",
    };
    for (size_t i = 0; i < N(good); i++) {
        int64_t t = 0;
        if (!intel_feed__time(good[i].text, strlen(good[i].text), &t))
            fail_msg("refused %s", good[i].text);
        assert_int_equal(t, good[i].t);
    }
    for (size_t i = 0; i < N(bad); i++) {
        int64_t t;
        if (intel_feed__time(bad[i], strlen(bad[i]), &t))
            fail_msg("accepted %s", bad[i]);
    }
}

static void test_error_format_with_and_without_line(void **state)
{
    (void)state;
    intel_feed_error_t e = { "c2", 7, "'x': not an IPv4 address" };
    char out[300];
    intel_feed_error_format(&e, out, sizeof out);
    assert_string_equal(out, "feed c2: line 7: 'x': not an IPv4 address");
    e.line = 0;
    intel_feed_error_format(&e, out, sizeof out);
    assert_string_equal(out, "feed c2: 'x': not an IPv4 address");
}

static void test_categories_are_cut_at_a_character_and_made_printable(void **state)
{
    (void)state;
    char out[INTEL_NAME_MAX + 1];
    /* 62 ASCII bytes then a 2-byte character: it does not fit whole. */
    char text[80];
    memset(text, 'a', 62);
    memcpy(text + 62, "\xc3\xa9", 2);
    assert_non_null(intel_feed__category(text, 64, out));
    assert_int_equal(strlen(out), 62);
    assert_string_equal(intel_feed__category("C2\tbot\xff\xc3\xa9", 9, out), "C2?bot?\xc3\xa9");
    assert_null(intel_feed__category("", 0, out));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_prefixes_columns_and_feed_names),
        cmocka_unit_test(test_spec_refusals_say_why),
        cmocka_unit_test(test_lines_handle_crlf_bom_and_a_last_line_without_newline),
        cmocka_unit_test(test_lines_refuse_nul_bytes_and_overlong_lines_with_their_number),
        cmocka_unit_test(test_plain_reads_addresses_networks_comments_and_blank_lines),
        cmocka_unit_test(test_plain_takes_category_and_confidence_from_the_spec),
        cmocka_unit_test(test_plain_refuses_the_whole_feed_at_a_bad_line),
        cmocka_unit_test(test_plain_accepts_an_empty_list),
        cmocka_unit_test(test_csv_feodo_layout_with_the_header_in_a_comment),
        cmocka_unit_test(test_csv_header_line_quotes_and_category_column),
        cmocka_unit_test(test_csv_without_header_finds_or_takes_the_address_column),
        cmocka_unit_test(test_csv_refusals_name_line_and_reason),
        cmocka_unit_test(test_stix_bundle_takes_ip_indicators_and_skips_the_rest),
        cmocka_unit_test(test_stix_patterns_taken_whole_or_not_at_all),
        cmocka_unit_test(test_stix_refusals_malformed_json_with_its_line_and_not_a_bundle),
        cmocka_unit_test(test_stix_unreadable_fields_skip_the_indicator),
        cmocka_unit_test(test_a_feed_of_expired_indicators_parses),
        cmocka_unit_test(test_misp_event_attributes_and_object_attributes),
        cmocka_unit_test(test_misp_response_list_of_events),
        cmocka_unit_test(test_misp_refusals_name_the_attribute_and_its_line),
        cmocka_unit_test(test_auto_detection_picks_each_format),
        cmocka_unit_test(test_rfc3339_times),
        cmocka_unit_test(test_error_format_with_and_without_line),
        cmocka_unit_test(test_categories_are_cut_at_a_character_and_made_printable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
