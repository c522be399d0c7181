/*
 * store.h - the analyzer's durable state: raw reports (idempotent by device,
 * boot id and sequence), devices, alerts and hygiene recommendations. The
 * default back end is SQLite (store_sqlite.c); the schema and its invariants
 * are documented at the top of that file.
 *
 * Conventions:
 *  - A store_t is used by one thread at a time. Several processes (or
 *    several store_t in one process) may open the same file: WAL mode lets
 *    readers see what writers committed, and every write waits up to 5 s for
 *    the file's write lock.
 *  - Functions returning store_result_t say STORE_ERROR on any failure, with
 *    a readable reason in store_last_error(); functions returning bool say
 *    false on failure with the same reason (see each one for what else
 *    false means).
 *  - Every write is atomic: outside store_begin/store_commit it runs in its
 *    own transaction; inside one it runs in a savepoint, so a failed call
 *    leaves the caller's transaction as it was before the call.
 *  - Text is bounded by the fixed sizes of the records below (a longer id is
 *    refused, not truncated); values are bound, never pasted into SQL.
 */
#ifndef VIGIL_ANALYZER_STORE_H
#define VIGIL_ANALYZER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"

typedef struct store store_t;

typedef enum { STORE_OK = 0, STORE_DUPLICATE, STORE_ERROR } store_result_t;

/* The schema version this build creates and understands. */
#define STORE_SCHEMA_VERSION 1

/* Longest device id, in bytes (as in alert_t and store_device_t). */
#define STORE_MAX_DEVICE_ID 128u

/* Largest raw report kept; far above a report's 64 KiB bound, so only a
 * broken caller meets it. */
#define STORE_MAX_RAW_BYTES (1u << 20)

/*
 * Opens `path`, or an in-memory database for ":memory:". A file is put in
 * WAL mode with synchronous=FULL (an ack sent to a device promises the report
 * survives a power cut), foreign keys on and a busy timeout of 5000 ms. Then
 * the schema is brought to STORE_SCHEMA_VERSION, one migration step per
 * transaction, safely against another process doing the same. A database
 * whose version is newer than this build, a file that is not SQLite, and a
 * SQLite file that is not Vigil's (tables but no schema_version) are refused.
 * Returns NULL with a message in `err` (if not NULL) on failure.
 */
store_t *store_open(const char *path, char *err, size_t err_size);
/* Closes the database; NULL is ignored. An open transaction is rolled back. */
void store_close(store_t *s);

/* The schema version recorded in the database, or -1 on error. */
int store_schema_version(store_t *s);
/* The reason of the last failure ("" if none since open). Valid until the
 * next call on `s`. */
const char *store_last_error(store_t *s);

/* An explicit transaction around several calls. store_begin takes the write
 * lock at once (BEGIN IMMEDIATE), so a transaction never fails half-way for
 * lack of it; it fails if one is already open. */
bool store_begin(store_t *s);
bool store_commit(store_t *s);
void store_rollback(store_t *s);

/*
 * A unit of work inside the caller's transaction (a savepoint): a batch of
 * reports is one transaction, each report one unit, so a report that fails
 * half-way is undone alone and the batch goes on. Units do not nest.
 */
bool store_unit_begin(store_t *s);
bool store_unit_commit(store_t *s);
void store_unit_rollback(store_t *s);
/* Whether a transaction (store_begin) is open. */
bool store_in_transaction(store_t *s);

/*
 * Keeps a report's raw CBOR bytes and period. Idempotent by (device,
 * boot_id, seq): a second call with the same triple returns STORE_DUPLICATE
 * and changes nothing, even if its bytes differ. `raw` may be NULL only when
 * raw_len is 0. The device id must be 1..STORE_MAX_DEVICE_ID bytes.
 */
store_result_t store_put_report(store_t *s, const char *device, uint32_t boot_id, uint32_t seq,
                                uint32_t period_start, uint32_t period_end, int64_t received_at,
                                const uint8_t *raw, size_t raw_len);

/*
 * The ack point sent back to the device: the highest seq stored for
 * (device, boot_id) such that every seq from the lowest one stored up to it
 * is present. False when nothing is stored for that stream (store_last_error
 * is then "") or on error. Constant time: it is maintained by
 * store_put_report.
 */
bool store_ack_point(store_t *s, const char *device, uint32_t boot_id, uint32_t *seq);

/*
 * The run behind the ack point: *low is the lowest seq stored for (device,
 * boot_id) and *ack the ack point (store_ack_point). False as
 * store_ack_point. A transport needs low: an ack releases on the device
 * every report up to ack, including those below low that were never stored
 * (lost in a crashed analyzer, still to be re-sent), so it must not ack a
 * run whose low is above the first seq the device may still hold.
 */
bool store_stream_run(store_t *s, const char *device, uint32_t boot_id, uint32_t *low, uint32_t *ack);

/* The number of reports stored for (device, boot_id), or -1 on error. */
int64_t store_count_reports(store_t *s, const char *device, uint32_t boot_id);

typedef struct {
    char id[129];
    char group[64];
    char tags[256];                                  /* comma-separated */
    int64_t first_seen, last_seen;
    uint32_t boot_id, last_seq;
    char agent_version[129], os_name[129], os_version[129], firmware_version[129], device_model[129];
    uint64_t reports, rejected;                      /* rejected: reports refused by the decoder */
} store_device_t;

/* Inserts or replaces every field of the device with this id. Counters
 * above INT64_MAX are stored as INT64_MAX. */
store_result_t store_put_device(store_t *s, const store_device_t *d);
/* False when there is no such device (store_last_error is then "") or on
 * error. Text longer than a field (written by another tool) is cut at a
 * UTF-8 character boundary. */
bool store_get_device(store_t *s, const char *id, store_device_t *out);
/* Calls fn for every device, ordered by id (bytewise); false on error. fn
 * may call other store functions on `s` except store_list_devices and
 * store_list_alerts, which then fail. */
bool store_list_devices(store_t *s, void (*fn)(void *u, const store_device_t *d), void *u);

/*
 * Keeps a finding.
 *
 * Alerts (kind ALERT) are deduplicated per (device, type, key) within
 * `window` seconds: if a row for the triple exists whose last time is >=
 * alert->time - window, its count grows by alert->count (saturating at
 * INT64_MAX), its time becomes the later and its first_time the earlier of
 * the two, and STORE_DUPLICATE is returned; the row keeps its first message,
 * endpoint and indicator. Otherwise a new row is made and STORE_OK returned.
 *
 * Recommendations (kind RECOMMENDATION) are one current row per (device,
 * type, key): an existing one is updated in place (count grows, time becomes
 * the later, message, remediation and severity become the new ones) and
 * STORE_DUPLICATE is returned; else a new row, STORE_OK.
 *
 * Either way *row_id (if not NULL) receives the row's id. A first_time of 0
 * or later than time means "unknown" and is stored as time. Refused with
 * STORE_ERROR: an empty device or type, count 0, a family other than 0/4/6,
 * a negative window.
 */
store_result_t store_put_alert(store_t *s, const alert_t *a, int64_t window, int64_t *row_id);

/* A recommendation that no longer applies (e.g. a listener was closed) is
 * removed. Removing one that does not exist is not an error. */
store_result_t store_clear_recommendation(store_t *s, const char *device, const char *type, const char *key);

typedef struct {
    const char *device;     /* NULL = every device */
    alert_kind_t kind;      /* alerts or recommendations */
    int64_t since;          /* rows whose (last) time is >= since */
    size_t limit;           /* 0 = no limit */
} store_query_t;

/* Calls fn for each row matching q, ordered by time then id, with every
 * field as stored (remote endpoint, ports, indicator, count, first and last
 * time, remediation). False on error; fn's rules are store_list_devices'. */
bool store_list_alerts(store_t *s, const store_query_t *q, void (*fn)(void *u, const alert_t *a), void *u);

/*
 * Whether the report stored for (device, boot_id, seq) has exactly these
 * bytes: a redelivery (true) or a replay with other content (false). False
 * also when there is no such report (store_last_error "") or on error.
 */
bool store_report_matches(store_t *s, const char *device, uint32_t boot_id, uint32_t seq, const uint8_t *raw,
                          size_t raw_len);

/* One finding by its kind and the row id store_put_alert gave; false when
 * there is no such row (store_last_error "", e.g. a withdrawn
 * recommendation) or on error. */
bool store_get_alert(store_t *s, alert_kind_t kind, int64_t row_id, alert_t *out);

/* The lowest and highest seq stored for (device, boot_id) and how many in
 * between are missing; false when none is stored ("") or on error. */
bool store_stream_span(store_t *s, const char *device, uint32_t boot_id, uint32_t *low, uint32_t *high,
                       uint64_t *missing);

/* What this store_t has done since open, for /metrics. */
typedef struct {
    uint64_t reports_stored, reports_duplicate;
    uint64_t alerts_new, alerts_merged;
    uint64_t recommendations_new, recommendations_updated, recommendations_cleared;
    uint64_t errors;        /* calls that returned STORE_ERROR or false on error */
} store_stats_t;
void store_get_stats(store_t *s, store_stats_t *out);

#endif
