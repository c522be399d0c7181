/*
 * intel.h - the threat-intelligence engine: indicator sets per feed, and a
 * matcher that answers "which indicators cover this address" while feeds are
 * replaced underneath it.
 *
 * Two halves meet here:
 *  - feeds (intel_feed.c and the format parsers) turn a source's bytes into an
 *    intel_set_t, one per feed, or refuse it with feed, line and reason;
 *  - the matcher (intel_match.c) keeps one immutable snapshot per engine and
 *    swaps in a new one when a feed's set is replaced. Lookups never wait for
 *    a reload and never see a half-applied feed.
 *
 * Invariants:
 *  - An indicator is a network (family, prefix length, address with host bits
 *    cleared) plus metadata (feed, category, confidence, validity). Exact
 *    addresses are /32 and /128.
 *  - A lookup returns every indicator whose network contains the address and
 *    whose validity covers `now`, most specific prefix first; equal prefixes
 *    from several feeds are all returned, ordered by feed name.
 *  - An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is looked up as its IPv4
 *    address.
 *  - Results are copied out, so they stay valid after the snapshot they came
 *    from is replaced and freed.
 */
#ifndef VIGIL_ANALYZER_INTEL_H
#define VIGIL_ANALYZER_INTEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INTEL_NAME_MAX 63      /* feed and category names, bytes without NUL */
#define INTEL_UNBOUNDED_FROM INT64_MIN
#define INTEL_UNBOUNDED_UNTIL INT64_MAX

typedef struct {
    uint8_t family;            /* 4 or 6 */
    uint8_t prefix;            /* 0..32 or 0..128 */
    uint8_t addr[16];          /* network byte order, host bits zero; IPv4 in the first 4 */
} intel_net_t;

/*
 * The one address/CIDR parser every feed format uses: "192.0.2.1",
 * "192.0.2.0/24", "2001:db8::1", "2001:db8::/32", "::ffff:192.0.2.1" (stored
 * as IPv4). Surrounding blanks are not accepted; the caller trims. Host bits
 * set below the prefix are cleared (feeds write "10.1.2.3/8"). Returns false
 * with a static reason in *why on anything else.
 */
bool intel_net_parse(const char *text, size_t len, intel_net_t *out, const char **why);

/* "192.0.2.0/24", "192.0.2.1" for a /32, "2001:db8::/32", RFC 5952 text. */
void intel_net_format(const intel_net_t *net, char *out, size_t size);

/* ---- indicator sets: the parsed content of one feed ---- */

typedef struct intel_set intel_set_t;

/* A new, empty set for the feed called `feed` (at most INTEL_NAME_MAX bytes). */
intel_set_t *intel_set_new(const char *feed);

/*
 * Adds one indicator. `category` may be NULL ("unknown"); confidence is
 * 0..100; validity bounds are unix seconds or INTEL_UNBOUNDED_*. Adding the
 * same network twice to one set keeps one indicator (the later metadata).
 * Returns false only when memory runs out.
 */
bool intel_set_add(intel_set_t *set, const intel_net_t *net, const char *category,
                   uint8_t confidence, int64_t valid_from, int64_t valid_until);

/* Indicators added so far; a network added twice counts twice here and is one
 * indicator once the matcher has it. */
size_t intel_set_count(const intel_set_t *set);
const char *intel_set_feed(const intel_set_t *set);
void intel_set_free(intel_set_t *set);

/* ---- the engine ---- */

typedef struct intel intel_t;

typedef struct {
    intel_net_t net;
    char feed[INTEL_NAME_MAX + 1];
    char category[INTEL_NAME_MAX + 1];
    uint8_t confidence;
    int64_t valid_from, valid_until;
} intel_match_t;

typedef struct {
    size_t feeds;
    size_t indicators;         /* over all feeds */
    size_t ipv4_exact, ipv4_prefix, ipv6_exact, ipv6_prefix;
    size_t bytes;              /* memory held by the current snapshot */
    uint64_t generation;       /* increments on every applied change */
} intel_stats_t;

intel_t *intel_new(void);
void intel_free(intel_t *intel);

/*
 * Replaces every indicator of the set's feed with the set's (adding the feed
 * if it is new) and takes ownership of `set`, also on failure. Readers in
 * other threads keep looking up throughout and see either the old or the new
 * content, never a mix. Returns false only when memory runs out; the old
 * content then stays.
 */
bool intel_replace_feed(intel_t *intel, intel_set_t *set);

/* Removes a feed's indicators; false when no such feed is loaded. */
bool intel_remove_feed(intel_t *intel, const char *feed);

/*
 * Looks `addr` (4 or 16 bytes by family) up at time `now` (unix seconds).
 * Writes at most `max` matches to `out`, most specific first, and returns how
 * many indicators matched in all (which may exceed `max`). Safe from any
 * number of threads concurrently with replace/remove; lock-free for readers.
 */
size_t intel_lookup(intel_t *intel, uint8_t family, const uint8_t *addr, int64_t now,
                    intel_match_t *out, size_t max);

typedef struct {
    uint8_t family;            /* 4 or 6 */
    uint8_t addr[16];
} intel_query_t;

/*
 * The same for `n` addresses, several times faster per address than n
 * intel_lookup calls on large sets: the memory accesses of later queries
 * start while earlier ones are answered. Query i's matches go to
 * out[i * max_per_query ...] (out may be NULL with max_per_query 0) and its
 * total to counts[i]. All queries see the same snapshot.
 */
void intel_lookup_batch(intel_t *intel, const intel_query_t *queries, size_t n, int64_t now,
                        intel_match_t *out, size_t max_per_query, size_t *counts);

void intel_get_stats(intel_t *intel, intel_stats_t *stats);

#endif
