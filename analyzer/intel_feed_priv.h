/*
 * intel_feed_priv.h - what the feed parsers share: one parse context, the
 * way to refuse a feed, the way to add an indicator (which also counts it),
 * and the small readers more than one format needs. Not for users of
 * intel.h.
 */
#ifndef VIGIL_ANALYZER_INTEL_FEED_PRIV_H
#define VIGIL_ANALYZER_INTEL_FEED_PRIV_H

#include <jansson.h>

#include "intel.h"

typedef struct {
    const intel_spec_t *spec;
    intel_set_t *set;
    intel_feed_error_t *err;
    intel_parse_stats_t *stats;
    int64_t now;
    const char *data;          /* the whole input, to place JSON values on a line */
    size_t len;
} intel_parse_t;

/* Fills the error (printf-style reason) and returns false. */
bool intel_feed__fail(intel_parse_t *p, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Adds one indicator and counts it; false (with the error set) only when
 * memory runs out. */
bool intel_feed__add(intel_parse_t *p, const intel_net_t *net, const char *category,
                     uint8_t confidence, int64_t valid_from, int64_t valid_until);

/* Copies at most n-1 bytes of feed text into out for an error message,
 * with anything unprintable as '?' and "..." when cut. */
void intel_feed__quote(const char *text, size_t len, char *out, size_t n);

/* A category as the engine may keep and print it: control characters and
 * invalid UTF-8 become '?', and it is cut to INTEL_NAME_MAX bytes at a
 * character boundary. Returns out, or NULL (meaning "unknown") when empty. */
const char *intel_feed__category(const char *text, size_t len, char out[INTEL_NAME_MAX + 1]);

/* The 1-based line of the first occurrence of `needle` in the input, 0 if
 * none: JSON parsers place an object by its id, jansson keeps no positions. */
size_t intel_feed__line_of(const intel_parse_t *p, const char *needle);

/* RFC 3339 date-time ("2024-05-01T10:00:00Z", fractions, "t"/"z",
 * "+02:00" offsets; also a space for "T") to unix seconds, fractions
 * dropped. False on anything else, including impossible dates. */
bool intel_feed__time(const char *text, size_t len, int64_t *out);

/* One parser per format; each returns false with the error set. */
bool intel_feed__plain(intel_parse_t *p);
bool intel_feed__csv(intel_parse_t *p);
bool intel_feed__stix(intel_parse_t *p, json_t *root);
bool intel_feed__misp(intel_parse_t *p, json_t *root);

/*
 * Whether a STIX pattern is one this engine takes in full: comparisons of
 * ipv4-addr:value or ipv6-addr:value with = or ISSUBSET to a quoted address
 * or CIDR, OR-ed within and between observation expressions, parentheses
 * allowed. When it is, its networks are in (*nets)[0..*count), a buffer
 * of *cap entries grown with realloc and reused across calls (the caller
 * frees it). Exposed for tests.
 */
bool intel_feed__stix_pattern(const char *pattern, intel_net_t **nets, size_t *cap,
                              size_t *count);

#endif
