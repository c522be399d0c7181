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

/* ==== feeds and sources ====
 *
 * A feed is named by a SPEC, `[plain:|csv:COLUMN:|stix:|misp:]PATH_OR_URL`.
 * Its source (a file or an HTTP(S) URL, intel_source.c) yields bytes; its
 * parser (intel_feed.c and one file per format) turns them into an
 * intel_set_t or refuses the whole feed with feed, line and reason; the feed
 * manager (intel_feeds.c) reloads feeds on a schedule or on request and hands
 * each good set to intel_replace_feed. A feed that fails to load never
 * replaces what the engine holds for it.
 */

typedef enum {
    INTEL_FORMAT_AUTO = 0,     /* decided from the bytes by intel_feed_parse */
    INTEL_FORMAT_PLAIN,
    INTEL_FORMAT_CSV,
    INTEL_FORMAT_STIX,
    INTEL_FORMAT_MISP
} intel_format_t;

#define INTEL_LOCATION_MAX 2047    /* path or URL, bytes without NUL */

typedef struct {
    intel_format_t format;
    unsigned csv_column;                        /* 1-based; 0: by name, or automatic */
    char csv_column_name[INTEL_NAME_MAX + 1];   /* header name; "" with column 0: automatic */
    char feed[INTEL_NAME_MAX + 1];              /* the file name without directory and extension */
    char location[INTEL_LOCATION_MAX + 1];      /* path, or http:// or https:// URL */
    /* Plain and CSV feeds carry no metadata of their own: these stand in.
     * intel_spec_parse sets "" (meaning "blocklist") and -1 (meaning 100);
     * a caller with more configuration than a SPEC may set them after. */
    char category[INTEL_NAME_MAX + 1];
    int confidence;
} intel_spec_t;

/*
 * Parses a SPEC: "data/c2.txt", "plain:/srv/list", "csv:2:f.csv",
 * "csv:dst_ip:https://host/f.csv", "csv::f.csv" (automatic column),
 * "stix:bundle.json", "misp:https://misp/events/1.json". "https://..." and
 * "http://..." are locations, never format prefixes. Returns false with a
 * reason in err (n bytes) on an empty location, a bad column, an unsupported
 * URL scheme, an over-long location or one without a usable feed name.
 */
bool intel_spec_parse(const char *text, intel_spec_t *out, char *err, size_t n);
bool intel_spec_is_url(const intel_spec_t *spec);
const char *intel_format_name(intel_format_t format);   /* "auto", "plain", ... */

/* Why a feed was refused. line is 1-based, 0 when the reason has no line
 * (an HTTP status, a missing column, a JSON object jansson cannot place). */
typedef struct {
    char feed[64];
    size_t line;
    char reason[160];
} intel_feed_error_t;

/* "feed NAME: line N: reason", or "feed NAME: reason" without a line. */
void intel_feed_error_format(const intel_feed_error_t *err, char *out, size_t n);

typedef struct {
    intel_format_t format;     /* the format parsed (auto-detection's answer) */
    size_t bytes;              /* input bytes */
    size_t lines;              /* input lines, whatever the format */
    size_t records;            /* plain/CSV lines holding an address, STIX objects, MISP attributes */
    size_t indicators;         /* networks added to the set */
    size_t skipped;            /* records not taken: STIX objects that are not simple IP
                                * indicators (other types, AND, other paths, revoked...),
                                * MISP attributes of other types or deleted */
    size_t expired;            /* indicators whose valid_until is already before `now` */
    size_t ipv4_exact, ipv4_prefix, ipv6_exact, ipv6_prefix;
} intel_parse_stats_t;

/*
 * Parses `len` bytes of a feed in spec->format, detecting it when AUTO: a
 * JSON object with "type":"bundle" is STIX, JSON with "Event" or "response"
 * is MISP, lines with commas are CSV, anything else plain. The set is named
 * spec->feed. Returns NULL with *err filled when the feed is refused (never a
 * partial set); stats are filled in both cases (err and stats may be NULL). `now` only
 * feeds stats->expired: an expired indicator is kept, the matcher ignores it.
 */
intel_set_t *intel_feed_parse(const intel_spec_t *spec, const char *data, size_t len,
                              int64_t now, intel_feed_error_t *err, intel_parse_stats_t *stats);

/* ---- sources ---- */

#define INTEL_DEFAULT_MAX_BYTES (1024ull * 1024ull * 1024ull)
#define INTEL_DEFAULT_TIMEOUT_S 300
#define INTEL_CONNECT_TIMEOUT_S 10
#define INTEL_VALIDATOR_MAX 255

/* What identifies the content of the last good load, so that the next one
 * can be skipped when nothing changed: ETag and Last-Modified for URLs,
 * device, inode, size and modification time for files. */
typedef struct {
    char etag[INTEL_VALIDATOR_MAX + 1];
    char last_modified[INTEL_VALIDATOR_MAX + 1];
    bool have_file;
    uint64_t file_dev, file_ino, file_size;
    int64_t file_mtime_ns;
} intel_validators_t;

typedef struct {
    uint64_t max_bytes;                 /* 0: INTEL_DEFAULT_MAX_BYTES */
    long timeout_seconds;               /* a whole download; 0: INTEL_DEFAULT_TIMEOUT_S */
    long connect_timeout_seconds;       /* 0: INTEL_CONNECT_TIMEOUT_S */
    /* Called while bytes arrive (total 0 when unknown); may be NULL. */
    void (*progress)(void *arg, const char *feed, uint64_t done, uint64_t total);
    void *progress_arg;
} intel_fetch_options_t;

typedef enum {
    INTEL_FETCH_OK,                     /* new content in the result */
    INTEL_FETCH_NOT_MODIFIED,           /* 304, or the same file as last time */
    INTEL_FETCH_FAILED                  /* *err says why */
} intel_fetch_status_t;

typedef struct {
    char *data;                         /* malloc'd, NUL after len; free with intel_fetched_free */
    size_t len;
    char content_type[128];             /* "" for files or when the server sent none */
    long http_status;                   /* 0 for files */
    intel_validators_t validators;      /* pass as `previous` once this content was accepted */
} intel_fetched_t;

/*
 * Reads a feed's source. previous (may be NULL) makes the request
 * conditional (If-None-Match, If-Modified-Since; for files, the same
 * identity and mtime). Fails, naming the reason, on: a missing or
 * unreadable file, a non-2xx status, an empty body, a body shorter than its
 * Content-Length, a body over max_bytes, a text/html content type, or a
 * content type wrong for spec->format (intel_content_type_ok). options may be
 * NULL. Blocking; safe from any thread.
 */
intel_fetch_status_t intel_source_fetch(const intel_spec_t *spec,
                                        const intel_fetch_options_t *options,
                                        const intel_validators_t *previous, intel_fetched_t *out,
                                        intel_feed_error_t *err);
void intel_fetched_free(intel_fetched_t *fetched);

/* Whether a server's content type suits a format: never text/html; JSON
 * formats need a JSON (application/json, application/...+json) or text
 * type; plain and CSV a text, CSV or application/octet-stream type. No
 * content type at all is accepted. AUTO accepts what any format would. */
bool intel_content_type_ok(intel_format_t format, const char *content_type, const char **why);

/* ---- the feed manager ---- */

typedef struct intel_feeds intel_feeds_t;

typedef struct {
    char feed[INTEL_NAME_MAX + 1];
    char location[INTEL_LOCATION_MAX + 1];
    intel_format_t format;              /* as configured */
    unsigned refresh_seconds;           /* 0: only forced refreshes and reload requests */
    int64_t last_attempt;               /* unix seconds, 0: never */
    int64_t last_success;               /* last load or not-modified answer */
    int64_t last_change;                /* last time the engine got a new set */
    bool failing;                       /* the last attempt failed */
    char last_error[256];               /* the latest failure, kept after a success */
    uint64_t loads, not_modified, failures;
    size_t indicators;                  /* in the set the engine holds */
    intel_parse_stats_t parse;          /* of that set */
    double fetch_seconds, parse_seconds, apply_seconds;   /* of that set's load */
    intel_validators_t validators;      /* of that set's source */
} intel_feed_status_t;

/* A manager feeding `engine` (not owned; it must outlive the manager). */
intel_feeds_t *intel_feeds_new(intel_t *engine);
/* Stops the background thread if it runs; the engine keeps its content. */
void intel_feeds_free(intel_feeds_t *feeds);

/* Fetch options for every later load (defaults otherwise). */
void intel_feeds_set_options(intel_feeds_t *feeds, const intel_fetch_options_t *options);

/* Receives every failure as "feed NAME: line N: reason" (and nothing else),
 * from whichever thread refreshes. It must not call intel_feeds_refresh. */
void intel_feeds_set_log(intel_feeds_t *feeds, void (*log)(void *arg, const char *message),
                         void *arg);

/*
 * Adds a feed, loaded by the next refresh. refresh_seconds 0 reloads it only
 * when forced or requested. Refuses a feed name already managed (two feeds
 * of one name would replace each other in the engine).
 */
bool intel_feeds_add(intel_feeds_t *feeds, const intel_spec_t *spec, unsigned refresh_seconds,
                     intel_feed_error_t *err);

/*
 * Loads every feed that is due at `now` (all of them when force): never
 * loaded, or refresh_seconds past its last attempt (at most 300 s after a
 * failure). Each good load replaces that feed in the engine; a failed one
 * changes nothing there. Returns how many feeds failed. One refresh runs at
 * a time; a second caller waits.
 */
size_t intel_feeds_refresh(intel_feeds_t *feeds, bool force, int64_t now);

/* Copies the status of at most max feeds, in the order added (out may be
 * NULL with max 0); returns how many feeds there are. */
size_t intel_feeds_status(intel_feeds_t *feeds, intel_feed_status_t *out, size_t max);

/* A thread that refreshes feeds when they are due, and every feed when a
 * reload is requested. False if it could not start or already runs. */
bool intel_feeds_start(intel_feeds_t *feeds);

/* Asks the thread for a reload of every feed. Async-signal-safe (a flag and
 * a write to a pipe), so a SIGHUP handler may call it directly. */
void intel_feeds_request_reload(intel_feeds_t *feeds);

/* Stops the thread after the load it is in, if any, and joins it. */
void intel_feeds_stop(intel_feeds_t *feeds);

#endif
