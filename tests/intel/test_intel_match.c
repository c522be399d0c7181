/*
 * The matcher against what it promises in intel.h: the parser's accepted
 * and refused texts, exact and prefix matches in both families, ordering,
 * validity, replacement, and a property test against a brute-force
 * reference on random sets built to overlap; readers racing a writer never
 * see a mix of two contents.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intel.h"

static intel_net_t net_of(const char *text)
{
    intel_net_t n;
    const char *why = NULL;
    if (!intel_net_parse(text, strlen(text), &n, &why))
        fail_msg("parse %s: %s", text, why);
    return n;
}

static void add(intel_set_t *set, const char *text, const char *category)
{
    intel_net_t n = net_of(text);
    assert_true(intel_set_add(set, &n, category, 80, INTEL_UNBOUNDED_FROM, INTEL_UNBOUNDED_UNTIL));
}

static size_t lookup_text(intel_t *intel, const char *addr, intel_match_t *out, size_t max)
{
    intel_net_t n = net_of(addr);
    assert_true(n.prefix == (n.family == 4 ? 32 : 128));
    return intel_lookup(intel, n.family, n.addr, 1000, out, max);
}

static void assert_net(const intel_match_t *m, const char *expected)
{
    char text[64];
    intel_net_format(&m->net, text, sizeof text);
    assert_string_equal(text, expected);
}

/* ---- the parser ---- */

static void test_net_parse_accepts_and_normalises(void **state)
{
    (void)state;
    static const struct { const char *in, *out; } cases[] = {
        { "192.0.2.1", "192.0.2.1" },
        { "192.0.2.0/24", "192.0.2.0/24" },
        { "10.1.2.3/8", "10.0.0.0/8" },
        { "0.0.0.0/0", "0.0.0.0/0" },
        { "255.255.255.255", "255.255.255.255" },
        { "2001:db8::1", "2001:db8::1" },
        { "2001:DB8:0:0:0:0:0:1/128", "2001:db8::1" },
        { "2001:db8:1:2::/33", "2001:db8::/33" },
        { "::/0", "::/0" },
        { "::ffff:192.0.2.7", "192.0.2.7" },
        { "::ffff:192.0.2.0/120", "192.0.2.0/24" },
        { "2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        intel_net_t n = net_of(cases[i].in);
        char text[64];
        intel_net_format(&n, text, sizeof text);
        assert_string_equal(text, cases[i].out);
    }
}

static void test_net_parse_refuses_with_a_reason(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "192.0.2", "192.0.2.1.5", "192.0.2.256", "192.0.2.01", "192.0.2.1/33",
        "192.0.2.1/", "192.0.2.1/-1", "192.0.2.1/024", " 192.0.2.1", "192.0.2.1 ",
        "2001:db8::1::2", "2001:db8::/129", "2001:db8::g", "12345::", "example.com",
        "192.0.2.1/24/1", "1.2.3.4a",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        intel_net_t n;
        const char *why = NULL;
        if (intel_net_parse(bad[i], strlen(bad[i]), &n, &why))
            fail_msg("accepted \"%s\"", bad[i]);
        assert_non_null(why);
    }
    /* Only `len` bytes are read, and a NUL inside them is refused. */
    intel_net_t n;
    const char *why;
    assert_true(intel_net_parse("192.0.2.1junk", 9, &n, &why));
    assert_false(intel_net_parse("::1\0zz", 6, &n, &why));
}

/* ---- matching ---- */

static void test_exact_and_prefix_matches_most_specific_first(void **state)
{
    (void)state;
    intel_t *intel = intel_new();
    intel_set_t *set = intel_set_new("feed-a");
    add(set, "198.51.100.0/24", "botnet");
    add(set, "198.51.100.128/25", "c2");
    add(set, "198.51.100.200", "c2-exact");
    add(set, "10.0.0.0/8", NULL);
    add(set, "2001:db8::/32", "v6net");
    add(set, "2001:db8:bad::/48", "v6bad");
    add(set, "2001:db8:bad::66", "v6host");
    assert_true(intel_replace_feed(intel, set));

    intel_match_t m[8];
    assert_int_equal(lookup_text(intel, "198.51.100.200", m, 8), 3);
    assert_net(&m[0], "198.51.100.200");
    assert_string_equal(m[0].category, "c2-exact");
    assert_net(&m[1], "198.51.100.128/25");
    assert_net(&m[2], "198.51.100.0/24");
    assert_string_equal(m[2].feed, "feed-a");
    assert_int_equal(m[2].confidence, 80);

    assert_int_equal(lookup_text(intel, "198.51.100.5", m, 8), 1);
    assert_int_equal(lookup_text(intel, "198.51.101.5", m, 8), 0);
    assert_int_equal(lookup_text(intel, "10.255.255.255", m, 8), 1);
    assert_string_equal(m[0].category, "unknown");
    assert_int_equal(lookup_text(intel, "11.0.0.0", m, 8), 0);
    assert_int_equal(lookup_text(intel, "9.255.255.255", m, 8), 0);

    assert_int_equal(lookup_text(intel, "2001:db8:bad::66", m, 8), 3);
    assert_net(&m[0], "2001:db8:bad::66");
    assert_net(&m[1], "2001:db8:bad::/48");
    assert_net(&m[2], "2001:db8::/32");
    assert_int_equal(lookup_text(intel, "2001:db8:bae::1", m, 8), 1);
    assert_int_equal(lookup_text(intel, "2001:db9::1", m, 8), 0);

    /* The count is total even when fewer are asked for. */
    assert_int_equal(lookup_text(intel, "198.51.100.200", m, 1), 3);
    assert_net(&m[0], "198.51.100.200");
    intel_free(intel);
}

static void test_ipv4_mapped_address_matches_ipv4_indicators(void **state)
{
    (void)state;
    intel_t *intel = intel_new();
    intel_set_t *set = intel_set_new("f");
    add(set, "203.0.113.66", "c2");
    add(set, "192.0.2.0/24", "c2");
    assert_true(intel_replace_feed(intel, set));
    uint8_t mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 203, 0, 113, 66 };
    intel_match_t m[2];
    assert_int_equal(intel_lookup(intel, 6, mapped, 0, m, 2), 1);
    assert_net(&m[0], "203.0.113.66");
    mapped[12] = 192; mapped[13] = 0; mapped[14] = 2; mapped[15] = 9;
    assert_int_equal(intel_lookup(intel, 6, mapped, 0, m, 2), 1);
    intel_free(intel);
}

static void test_equal_prefixes_from_several_feeds_keep_all_sources_by_feed_name(void **state)
{
    (void)state;
    intel_t *intel = intel_new();
    const char *feeds[] = { "zeta", "alpha", "mid" };
    for (int i = 0; i < 3; i++) {
        intel_set_t *set = intel_set_new(feeds[i]);
        add(set, "203.0.113.0/24", feeds[i]);
        if (i == 2)
            add(set, "203.0.113.7", "host");
        assert_true(intel_replace_feed(intel, set));
    }
    intel_match_t m[8];
    assert_int_equal(lookup_text(intel, "203.0.113.7", m, 8), 4);
    assert_string_equal(m[0].feed, "mid");
    assert_net(&m[0], "203.0.113.7");
    assert_string_equal(m[1].feed, "alpha");
    assert_string_equal(m[2].feed, "mid");
    assert_string_equal(m[3].feed, "zeta");
    intel_free(intel);
}

static void test_same_network_twice_in_one_feed_keeps_the_later_metadata(void **state)
{
    (void)state;
    intel_t *intel = intel_new();
    intel_set_t *set = intel_set_new("f");
    add(set, "192.0.2.1", "first");
    add(set, "192.0.2.0/24", "first");
    add(set, "2001:db8::1", "first");
    add(set, "192.0.2.1", "second");
    add(set, "192.0.2.9/24", "second");
    add(set, "2001:db8::1", "second");
    assert_true(intel_replace_feed(intel, set));
    intel_match_t m[4];
    assert_int_equal(lookup_text(intel, "192.0.2.1", m, 4), 2);
    assert_string_equal(m[0].category, "second");
    assert_string_equal(m[1].category, "second");
    assert_int_equal(lookup_text(intel, "2001:db8::1", m, 4), 1);
    assert_string_equal(m[0].category, "second");
    intel_stats_t st;
    intel_get_stats(intel, &st);
    assert_int_equal(st.indicators, 3);
    assert_int_equal(st.ipv4_exact, 1);
    assert_int_equal(st.ipv4_prefix, 1);
    assert_int_equal(st.ipv6_exact, 1);
    intel_free(intel);
}

static void test_indicator_outside_its_validity_does_not_match(void **state)
{
    (void)state;
    intel_t *intel = intel_new();
    intel_set_t *set = intel_set_new("f");
    intel_net_t a = net_of("192.0.2.1"), b = net_of("192.0.2.0/24"), c = net_of("2001:db8::/64");
    assert_true(intel_set_add(set, &a, "x", 50, 100, 200));
    assert_true(intel_set_add(set, &b, "x", 50, 150, INTEL_UNBOUNDED_UNTIL));
    assert_true(intel_set_add(set, &c, "x", 50, INTEL_UNBOUNDED_FROM, 120));
    assert_true(intel_replace_feed(intel, set));
    intel_match_t m[4];
    assert_int_equal(intel_lookup(intel, 4, a.addr, 99, m, 4), 0);
    assert_int_equal(intel_lookup(intel, 4, a.addr, 100, m, 4), 1);
    assert_int_equal(intel_lookup(intel, 4, a.addr, 150, m, 4), 2);
    assert_int_equal(intel_lookup(intel, 4, a.addr, 200, m, 4), 2);
    assert_int_equal(intel_lookup(intel, 4, a.addr, 201, m, 4), 1);
    assert_int_equal(m[0].valid_from, 150);
    assert_int_equal(intel_lookup(intel, 6, c.addr, 120, m, 4), 1);
    assert_int_equal(intel_lookup(intel, 6, c.addr, 121, m, 4), 0);
    intel_free(intel);
}

static void test_replace_and_remove_feed(void **state)
{
    (void)state;
    intel_t *intel = intel_new();
    intel_set_t *set = intel_set_new("f");
    add(set, "192.0.2.1", "old");
    assert_true(intel_replace_feed(intel, set));
    set = intel_set_new("g");
    add(set, "192.0.2.1", "other");
    assert_true(intel_replace_feed(intel, set));
    set = intel_set_new("f");
    add(set, "192.0.2.2", "new");
    assert_true(intel_replace_feed(intel, set));

    intel_match_t m[4];
    assert_int_equal(lookup_text(intel, "192.0.2.1", m, 4), 1);
    assert_string_equal(m[0].feed, "g");
    assert_int_equal(lookup_text(intel, "192.0.2.2", m, 4), 1);
    assert_string_equal(m[0].category, "new");
    intel_stats_t st;
    intel_get_stats(intel, &st);
    assert_int_equal(st.feeds, 2);
    assert_int_equal(st.generation, 3);
    assert_true(st.bytes > 0);

    assert_true(intel_remove_feed(intel, "g"));
    assert_false(intel_remove_feed(intel, "g"));
    assert_int_equal(lookup_text(intel, "192.0.2.1", m, 4), 0);
    assert_true(intel_remove_feed(intel, "f"));
    assert_int_equal(lookup_text(intel, "192.0.2.2", m, 4), 0);
    intel_get_stats(intel, &st);
    assert_int_equal(st.feeds, 0);
    assert_int_equal(st.indicators, 0);
    intel_free(intel);
}

static void test_edges_of_the_address_space(void **state)
{
    (void)state;
    intel_t *intel = intel_new();
    intel_set_t *set = intel_set_new("f");
    add(set, "0.0.0.0/0", "all4");
    add(set, "255.255.255.255", "top4");
    add(set, "255.255.255.254/31", "top4net");
    add(set, "0.0.0.0", "zero4");
    add(set, "::/0", "all6");
    add(set, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "top6");
    add(set, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127", "top6net");
    add(set, "::", "zero6");
    assert_true(intel_replace_feed(intel, set));
    intel_match_t m[4];
    assert_int_equal(lookup_text(intel, "255.255.255.255", m, 4), 3);
    assert_int_equal(lookup_text(intel, "255.255.255.253", m, 4), 1);
    assert_int_equal(lookup_text(intel, "0.0.0.0", m, 4), 2);
    assert_int_equal(lookup_text(intel, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", m, 4), 3);
    assert_int_equal(lookup_text(intel, "::", m, 4), 2);
    assert_int_equal(lookup_text(intel, "8000::", m, 4), 1);
    intel_free(intel);
}

/* ---- property test against a brute-force reference ---- */

typedef struct {
    intel_net_t net;
    int feed;
    uint32_t order;
    int64_t from, until;
    char category[16];
} ref_t;

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void clear_host_bits(intel_net_t *n)
{
    unsigned bytes = n->family == 4 ? 4 : 16;
    for (unsigned i = 0; i < bytes; i++) {
        unsigned bit = i * 8;
        if (bit >= n->prefix)
            n->addr[i] = 0;
        else if (n->prefix - bit < 8)
            n->addr[i] &= (uint8_t)(0xff << (8 - (n->prefix - bit)));
    }
}

static bool covers(const intel_net_t *n, uint8_t family, const uint8_t *addr)
{
    if (n->family != family)
        return false;
    intel_net_t probe = { family, n->prefix, { 0 } };
    memcpy(probe.addr, addr, family == 4 ? 4 : 16);
    clear_host_bits(&probe);
    return memcmp(probe.addr, n->addr, 16) == 0;
}

/* Addresses crowd into a few small regions so that prefixes nest and overlap. */
static void random_addr(uint8_t family, uint8_t *addr)
{
    uint64_t r = rnd();
    memset(addr, 0, 16);
    if (family == 4) {
        static const uint8_t regions[3][2] = { { 10, 0 }, { 192, 0 }, { 255, 255 } };
        const uint8_t *reg = regions[r % 3];
        addr[0] = reg[0];
        addr[1] = (uint8_t)(reg[1] + ((r >> 8) & 1));
        addr[2] = (uint8_t)((r >> 16) & 3);
        addr[3] = (uint8_t)(r >> 24);
    } else {
        addr[0] = 0x20;
        addr[1] = 0x01;
        addr[2] = 0x0d;
        addr[3] = 0xb8;
        addr[7] = (uint8_t)(r & 3);
        addr[15] = (uint8_t)(r >> 8);
        addr[14] = (uint8_t)((r >> 16) & 1);
        if ((r >> 20) % 8 == 0)
            memset(addr, 0xff, 16);
    }
}

static int ref_cmp_for_query(const ref_t *a, const ref_t *b, const char *const *names)
{
    if (a->net.prefix != b->net.prefix)
        return a->net.prefix > b->net.prefix ? -1 : 1;
    return strcmp(names[a->feed], names[b->feed]);
}

static void test_random_sets_match_brute_force(void **state)
{
    (void)state;
    static const char *const names[] = { "feed-b", "feed-a", "feed-c" };
    enum { FEEDS = 3, ROUNDS = 12, PER_FEED = 300, QUERIES = 3000 };
    static ref_t refs[FEEDS * PER_FEED];
    static ref_t expected[FEEDS * PER_FEED];

    for (int round = 0; round < ROUNDS; round++) {
        intel_t *intel = intel_new();
        size_t nref = 0;
        for (int f = 0; f < FEEDS; f++) {
            intel_set_t *set = intel_set_new(names[f]);
            size_t first_of_feed = nref;
            for (int i = 0; i < PER_FEED; i++) {
                ref_t r = { { 0 }, f, (uint32_t)i, INTEL_UNBOUNDED_FROM, INTEL_UNBOUNDED_UNTIL, "" };
                r.net.family = rnd() % 3 == 0 ? 6 : 4;
                random_addr(r.net.family, r.net.addr);
                unsigned width = r.net.family == 4 ? 32 : 128;
                uint64_t p = rnd();
                r.net.prefix = (uint8_t)(p % 2 ? width : (r.net.family == 4 ? 12 + p / 2 % 21 : 24 + p / 2 % 105));
                if (p % 97 == 0)
                    r.net.prefix = 0;
                clear_host_bits(&r.net);
                if (rnd() % 5 == 0) {
                    r.from = (int64_t)(rnd() % 200);
                    r.until = r.from + (int64_t)(rnd() % 200);
                }
                snprintf(r.category, sizeof r.category, "c%d", (int)(rnd() % 4));
                assert_true(intel_set_add(set, &r.net, r.category, (uint8_t)(rnd() % 101), r.from, r.until));
                /* Within a feed the later duplicate replaces the earlier one. */
                size_t j = first_of_feed;
                for (; j < nref; j++)
                    if (refs[j].net.family == r.net.family && refs[j].net.prefix == r.net.prefix &&
                        memcmp(refs[j].net.addr, r.net.addr, 16) == 0)
                        break;
                refs[j] = r;
                if (j == nref)
                    nref++;
            }
            assert_true(intel_replace_feed(intel, set));
        }

        for (int q = 0; q < QUERIES; q++) {
            uint8_t family = rnd() % 3 == 0 ? 6 : 4;
            uint8_t addr[16];
            const ref_t *base = &refs[rnd() % nref];
            uint64_t how = rnd() % 4;
            if (how == 0) {
                random_addr(family, addr);
            } else {
                /* Around an indicator: its first address, its last, just past either end. */
                family = base->net.family;
                memcpy(addr, base->net.addr, 16);
                unsigned bytes = family == 4 ? 4 : 16;
                if (how >= 2) {
                    for (unsigned i = 0; i < bytes; i++) {
                        unsigned bit = i * 8;
                        if (bit >= base->net.prefix)
                            addr[i] = 0xff;
                        else if (base->net.prefix - bit < 8)
                            addr[i] |= (uint8_t)(0xff >> (base->net.prefix - bit));
                    }
                }
                if (how == 3) {
                    for (int i = (int)bytes - 1; i >= 0 && ++addr[i] == 0; i--)
                        ;
                }
            }
            int64_t now = (int64_t)(rnd() % 450);

            size_t nexp = 0;
            for (size_t i = 0; i < nref; i++)
                if (covers(&refs[i].net, family, addr) && refs[i].from <= now && now <= refs[i].until)
                    expected[nexp++] = refs[i];
            for (size_t i = 1; i < nexp; i++)
                for (size_t j = i; j > 0 && ref_cmp_for_query(&expected[j - 1], &expected[j], names) > 0; j--) {
                    ref_t t = expected[j];
                    expected[j] = expected[j - 1];
                    expected[j - 1] = t;
                }

            intel_match_t got[FEEDS * 130];
            size_t n = intel_lookup(intel, family, addr, now, got, FEEDS * 130);
            /* The batch interface answers the same, whatever the batch's neighbours. */
            intel_query_t batch[3] = { { 4, { 10, 0, 0, 1 } }, { family, { 0 } }, { 6, { 0x20, 1, 0xd, 0xb8 } } };
            memcpy(batch[1].addr, addr, 16);
            intel_match_t batch_out[3 * 8];
            size_t counts[3];
            intel_lookup_batch(intel, batch, 3, now, batch_out, 8, counts);
            assert_int_equal(counts[1], n);
            for (size_t i = 0; i < n && i < 8; i++) {
                assert_memory_equal(&batch_out[8 + i].net, &got[i].net, sizeof got[i].net);
                assert_string_equal(batch_out[8 + i].feed, got[i].feed);
            }
            if (n != nexp)
                fail_msg("round %d query %d: %zu matches, expected %zu", round, q, n, nexp);
            for (size_t i = 0; i < n; i++) {
                assert_int_equal(got[i].net.family, expected[i].net.family);
                assert_int_equal(got[i].net.prefix, expected[i].net.prefix);
                assert_memory_equal(got[i].net.addr, expected[i].net.addr, 16);
                assert_string_equal(got[i].feed, names[expected[i].feed]);
                assert_string_equal(got[i].category, expected[i].category);
                assert_int_equal(got[i].valid_from, expected[i].from);
                assert_int_equal(got[i].valid_until, expected[i].until);
            }
        }
        intel_free(intel);
    }
}

/* ---- readers racing a writer ---- */

typedef struct {
    intel_t *intel;
    volatile int stop;
} race_t;

typedef struct {
    race_t *race;
    volatile unsigned long lookups, mixed;
} reader_t;

/* Content A lists 198.51.100.1..64 as category "a"; content B lists them as
 * "b" plus 198.51.100.65..128. A reader must see all-A or all-B. */
static intel_set_t *race_content(char which)
{
    intel_set_t *set = intel_set_new("race");
    int last = which == 'a' ? 64 : 128;
    for (int i = 1; i <= last; i++) {
        intel_net_t n = { 4, 32, { 198, 51, 100, (uint8_t)i } };
        assert_true(intel_set_add(set, &n, which == 'a' ? "a" : "b", 1, INTEL_UNBOUNDED_FROM,
                                  INTEL_UNBOUNDED_UNTIL));
    }
    return set;
}

static void *race_reader(void *arg)
{
    reader_t *r = arg;
    while (!r->race->stop) {
        intel_match_t m;
        uint8_t first[4] = { 198, 51, 100, 1 }, late[4] = { 198, 51, 100, 100 };
        size_t n1 = intel_lookup(r->race->intel, 4, first, 0, &m, 1);
        char seen = n1 ? m.category[0] : '?';
        intel_match_t m2;
        size_t n2 = intel_lookup(r->race->intel, 4, late, 0, &m2, 1);
        /* Two lookups may straddle a swap; a single lookup may not. Count
         * only the impossible: a match with no category, or B's address
         * under category "a". */
        if (n1 != 1 || (seen != 'a' && seen != 'b') || (n2 == 1 && m2.category[0] != 'b'))
            r->mixed++;
        r->lookups += 2;
    }
    return NULL;
}

static void test_readers_never_see_a_half_applied_feed(void **state)
{
    (void)state;
    race_t r = { intel_new(), 0 };
    assert_true(intel_replace_feed(r.intel, race_content('a')));
    pthread_t threads[2];
    reader_t readers[2] = { { &r, 0, 0 }, { &r, 0, 0 } };
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, race_reader, &readers[i]), 0);
    /* Under valgrind threads take turns: keep swapping until both readers ran a while. */
    for (int i = 0; i < 200 || readers[0].lookups < 2000 || readers[1].lookups < 2000; i++) {
        assert_true(i < 1000000);
        assert_true(intel_replace_feed(r.intel, race_content(i % 2 ? 'a' : 'b')));
    }
    r.stop = 1;
    for (int i = 0; i < 2; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(readers[i].mixed, 0);
        assert_true(readers[i].lookups > 0);
    }
    intel_free(r.intel);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_net_parse_accepts_and_normalises),
        cmocka_unit_test(test_net_parse_refuses_with_a_reason),
        cmocka_unit_test(test_exact_and_prefix_matches_most_specific_first),
        cmocka_unit_test(test_ipv4_mapped_address_matches_ipv4_indicators),
        cmocka_unit_test(test_equal_prefixes_from_several_feeds_keep_all_sources_by_feed_name),
        cmocka_unit_test(test_same_network_twice_in_one_feed_keeps_the_later_metadata),
        cmocka_unit_test(test_indicator_outside_its_validity_does_not_match),
        cmocka_unit_test(test_replace_and_remove_feed),
        cmocka_unit_test(test_edges_of_the_address_space),
        cmocka_unit_test(test_random_sets_match_brute_force),
        cmocka_unit_test(test_readers_never_see_a_half_applied_feed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
