/*
 * The SQLite store (store.h): migrations and refusals at open, idempotent
 * reports and their ack points, devices, alert deduplication, recommendations,
 * transactions and savepoints, two connections to one WAL file, and text
 * that must come back byte for byte. Every test works in its own mkdtemp
 * directory, removed at the end; some tests reach into the file with sqlite3
 * directly to check what the API cannot show or to break what it protects.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

typedef struct {
    char dir[64];
    char path[128];
    store_t *s;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/vigil-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/vigil.db", f->dir);
    char err[256];
    f->s = store_open(f->path, err, sizeof err);
    if (!f->s)
        fail_msg("store_open: %s", err);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    store_close(f->s);
    DIR *d = opendir(f->dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char p[512];
            snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* ---- helpers ---- */

static store_t *reopen(fixture_t *f)
{
    char err[256];
    store_close(f->s);
    f->s = store_open(f->path, err, sizeof err);
    if (!f->s)
        fail_msg("reopen: %s", err);
    return f->s;
}

/* Runs SQL on the file through a separate raw connection. */
static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("raw_exec %s: %s", sql, msg);
    sqlite3_close(db);
}

static int64_t raw_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static store_result_t put_report(store_t *s, const char *dev, uint32_t boot, uint32_t seq)
{
    uint8_t raw[8] = { 0xa1, 0x01, (uint8_t)seq, (uint8_t)boot, 0, 0, 0, 0 };
    return store_put_report(s, dev, boot, seq, 1000 + seq * 60, 1060 + seq * 60, 2000 + seq, raw, sizeof raw);
}

static uint32_t ack(store_t *s, const char *dev, uint32_t boot)
{
    uint32_t seq = 0xdeadbeef;
    if (!store_ack_point(s, dev, boot, &seq))
        fail_msg("no ack point for %s/%u: %s", dev, boot, store_last_error(s));
    return seq;
}

static alert_t make_alert(const char *dev, const char *type, const char *key, int64_t time)
{
    alert_t a;
    memset(&a, 0, sizeof a);
    a.kind = ALERT_KIND_ALERT;
    snprintf(a.type, sizeof a.type, "%s", type);
    a.severity = ALERT_SEVERITY_HIGH;
    snprintf(a.device, sizeof a.device, "%s", dev);
    a.time = a.first_time = time;
    a.proto = 0;
    a.family = 4;
    memcpy(a.remote_addr, (uint8_t[]){ 198, 51, 100, 7 }, 4);
    a.remote_port = 443;
    a.local_port = 50000;
    a.direction = ALERT_DIR_OUTBOUND;
    snprintf(a.key, sizeof a.key, "%s", key);
    a.count = 1;
    snprintf(a.message, sizeof a.message, "%s contacted 198.51.100.7:443", dev);
    return a;
}

static alert_t make_recommendation(const char *dev, const char *type, const char *key, int64_t time)
{
    alert_t a;
    memset(&a, 0, sizeof a);
    a.kind = ALERT_KIND_RECOMMENDATION;
    snprintf(a.type, sizeof a.type, "%s", type);
    a.severity = ALERT_SEVERITY_MEDIUM;
    snprintf(a.device, sizeof a.device, "%s", dev);
    a.time = a.first_time = time;
    a.proto = ALERT_PROTO_NONE;
    snprintf(a.key, sizeof a.key, "%s", key);
    a.count = 1;
    snprintf(a.message, sizeof a.message, "%s listens on telnet", dev);
    snprintf(a.remediation, sizeof a.remediation, "Disable telnet.");
    return a;
}

typedef struct {
    alert_t rows[64];
    size_t n;
} alerts_t;

static void collect_alert(void *u, const alert_t *a)
{
    alerts_t *c = u;
    assert_true(c->n < 64);
    c->rows[c->n++] = *a;
}

static size_t list(store_t *s, const char *dev, alert_kind_t kind, int64_t since, size_t limit, alerts_t *out)
{
    memset(out, 0, sizeof *out);
    store_query_t q = { dev, kind, since, limit };
    if (!store_list_alerts(s, &q, collect_alert, out))
        fail_msg("store_list_alerts: %s", store_last_error(s));
    return out->n;
}

typedef struct {
    store_device_t rows[16];
    size_t n;
} devices_t;

static void collect_device(void *u, const store_device_t *d)
{
    devices_t *c = u;
    assert_true(c->n < 16);
    c->rows[c->n++] = *d;
}

static store_device_t make_device(const char *id, int64_t seen)
{
    store_device_t d;
    memset(&d, 0, sizeof d);
    snprintf(d.id, sizeof d.id, "%s", id);
    snprintf(d.group, sizeof d.group, "cameras");
    snprintf(d.tags, sizeof d.tags, "site:lab,floor:2");
    d.first_seen = seen;
    d.last_seen = seen + 60;
    d.boot_id = 0xb007;
    d.last_seq = 41;
    snprintf(d.agent_version, sizeof d.agent_version, "0.1.0");
    snprintf(d.os_name, sizeof d.os_name, "FreeRTOS");
    snprintf(d.os_version, sizeof d.os_version, "10.5.1");
    snprintf(d.firmware_version, sizeof d.firmware_version, "fw-2.3");
    snprintf(d.device_model, sizeof d.device_model, "cam-x");
    d.reports = 42;
    d.rejected = 1;
    return d;
}

/* Zeroes each text field after its NUL, so whole records compare with memcmp
 * however the test wrote them (memory after a NUL is not stored). */
static void zero_tail(char *field, size_t size)
{
    size_t n = strnlen(field, size);
    memset(field + n, 0, size - n);
}
#define ZT(field) zero_tail((field), sizeof(field))

static void norm_alert(alert_t *a)
{
    ZT(a->type); ZT(a->device); ZT(a->indicator_value); ZT(a->indicator_feed);
    ZT(a->indicator_category); ZT(a->key); ZT(a->message); ZT(a->remediation);
}

static void norm_device(store_device_t *d)
{
    ZT(d->id); ZT(d->group); ZT(d->tags); ZT(d->agent_version); ZT(d->os_name);
    ZT(d->os_version); ZT(d->firmware_version); ZT(d->device_model);
}

/* ---- open and migrations ---- */

static void test_fresh_file_is_migrated_and_reopen_keeps_version_and_data(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(store_schema_version(f->s), STORE_SCHEMA_VERSION);
    assert_int_equal(raw_int(f->path, "SELECT version FROM schema_version"), STORE_SCHEMA_VERSION);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM schema_version"), 1);
    /* every table and the dedup index of the schema are there */
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_master WHERE name IN"
                                      " ('devices','reports','streams','alerts','recommendations','alerts_dedup')"), 6);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);

    assert_int_equal(put_report(f->s, "dev-1", 7, 0), STORE_OK);
    store_device_t d = make_device("dev-1", 100);
    assert_int_equal(store_put_device(f->s, &d), STORE_OK);
    alert_t a = make_alert("dev-1", "threat_intel", "k", 500);
    assert_int_equal(store_put_alert(f->s, &a, 60, NULL), STORE_OK);

    store_t *s = reopen(f);
    assert_int_equal(store_schema_version(s), STORE_SCHEMA_VERSION);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM schema_version"), 1);
    assert_int_equal(store_count_reports(s, "dev-1", 7), 1);
    assert_int_equal(ack(s, "dev-1", 7), 0);
    assert_true(store_get_device(s, "dev-1", &d));
    assert_string_equal(d.os_name, "FreeRTOS");
    alerts_t got;
    assert_int_equal(list(s, NULL, ALERT_KIND_ALERT, 0, 0, &got), 1);
    assert_int_equal(put_report(s, "dev-1", 7, 0), STORE_DUPLICATE);
}

static void test_database_from_a_future_version_is_refused(void **state)
{
    fixture_t *f = *state;
    store_close(f->s);
    f->s = NULL;
    raw_exec(f->path, "UPDATE schema_version SET version = 99");
    char err[256] = "";
    assert_null(store_open(f->path, err, sizeof err));
    assert_non_null(strstr(err, "newer"));
    assert_non_null(strstr(err, "99"));
    /* refused without touching it */
    assert_int_equal(raw_int(f->path, "SELECT version FROM schema_version"), 99);
}

static void test_sqlite_file_that_is_not_vigils_is_refused(void **state)
{
    fixture_t *f = *state;
    char other[160], err[256] = "";
    snprintf(other, sizeof other, "%s/other.db", f->dir);
    raw_exec(other, "CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('keep me');");
    assert_null(store_open(other, err, sizeof err));
    assert_non_null(strstr(err, "not a Vigil database"));
    assert_int_equal(raw_int(other, "SELECT count(*) FROM sqlite_master WHERE name = 'schema_version'"), 0);
}

static void test_file_that_is_not_sqlite_is_refused(void **state)
{
    fixture_t *f = *state;
    char junk[160], err[256] = "";
    snprintf(junk, sizeof junk, "%s/junk.db", f->dir);
    FILE *fp = fopen(junk, "wb");
    assert_non_null(fp);
    for (int i = 0; i < 4096; i++)
        fputc("not a database "[i % 15], fp);
    fclose(fp);
    assert_null(store_open(junk, err, sizeof err));
    assert_non_null(strstr(err, junk));
    assert_non_null(strstr(err, "not a database"));
}

static void test_open_refuses_missing_directory_and_empty_path(void **state)
{
    fixture_t *f = *state;
    char path[200], err[256] = "";
    snprintf(path, sizeof path, "%s/no/such/dir/vigil.db", f->dir);
    assert_null(store_open(path, err, sizeof err));
    assert_non_null(strstr(err, "unable to open"));
    err[0] = '\0';
    assert_null(store_open("", err, sizeof err));
    assert_true(strlen(err) > 0);
    assert_null(store_open(NULL, NULL, 0));
}

static void test_memory_database_works_without_wal(void **state)
{
    (void)state;
    char err[256];
    store_t *s = store_open(":memory:", err, sizeof err);
    assert_non_null(s);
    assert_int_equal(store_schema_version(s), STORE_SCHEMA_VERSION);
    assert_int_equal(put_report(s, "m", 1, 0), STORE_OK);
    assert_int_equal(ack(s, "m", 1), 0);
    store_close(s);
}

/* ---- reports and ack points ---- */

static void test_duplicate_report_changes_nothing(void **state)
{
    fixture_t *f = *state;
    const uint8_t first[] = { 1, 2, 3 }, second[] = { 9, 9, 9, 9 };
    assert_int_equal(store_put_report(f->s, "dev-1", 5, 10, 100, 160, 200, first, sizeof first), STORE_OK);
    assert_int_equal(store_put_report(f->s, "dev-1", 5, 10, 999, 999, 999, second, sizeof second), STORE_DUPLICATE);
    assert_int_equal(store_count_reports(f->s, "dev-1", 5), 1);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM reports"), 1);
    assert_int_equal(raw_int(f->path, "SELECT length(raw) FROM reports"), 3);
    assert_int_equal(raw_int(f->path, "SELECT period_start FROM reports"), 100);
    assert_int_equal(raw_int(f->path, "SELECT period_end FROM reports"), 160);
    assert_int_equal(raw_int(f->path, "SELECT received_at FROM reports"), 200);
    assert_int_equal(raw_int(f->path, "SELECT raw = x'010203' FROM reports"), 1);
    /* same seq, other boot or device: not a duplicate */
    assert_int_equal(store_put_report(f->s, "dev-1", 6, 10, 0, 0, 0, first, sizeof first), STORE_OK);
    assert_int_equal(store_put_report(f->s, "dev-2", 5, 10, 0, 0, 0, first, sizeof first), STORE_OK);
    store_stats_t st;
    store_get_stats(f->s, &st);
    assert_int_equal(st.reports_stored, 3);
    assert_int_equal(st.reports_duplicate, 1);
}

static void test_ack_point_stops_at_the_first_gap(void **state)
{
    fixture_t *f = *state;
    uint32_t seq;
    assert_false(store_ack_point(f->s, "dev-1", 1, &seq));
    assert_string_equal(store_last_error(f->s), "");
    for (uint32_t i = 0; i < 3; i++)
        assert_int_equal(put_report(f->s, "dev-1", 1, i), STORE_OK);
    assert_int_equal(put_report(f->s, "dev-1", 1, 4), STORE_OK);
    assert_int_equal(ack(f->s, "dev-1", 1), 2);
    assert_int_equal(put_report(f->s, "dev-1", 1, 3), STORE_OK);
    assert_int_equal(ack(f->s, "dev-1", 1), 4);
    assert_int_equal(put_report(f->s, "dev-1", 1, 3), STORE_DUPLICATE);
    assert_int_equal(ack(f->s, "dev-1", 1), 4);
}

static void test_ack_point_is_per_boot_and_per_device(void **state)
{
    fixture_t *f = *state;
    for (uint32_t i = 0; i < 5; i++)
        assert_int_equal(put_report(f->s, "dev-1", 1, i), STORE_OK);
    assert_int_equal(put_report(f->s, "dev-1", 2, 0), STORE_OK);
    assert_int_equal(put_report(f->s, "dev-1", 2, 2), STORE_OK);
    assert_int_equal(put_report(f->s, "dev-2", 1, 7), STORE_OK);
    assert_int_equal(ack(f->s, "dev-1", 1), 4);
    assert_int_equal(ack(f->s, "dev-1", 2), 0);
    assert_int_equal(ack(f->s, "dev-2", 1), 7);     /* starts at the lowest stored */
    uint32_t seq;
    assert_false(store_ack_point(f->s, "dev-2", 2, &seq));
    assert_false(store_ack_point(f->s, "dev-3", 1, &seq));
}

static void test_ack_point_follows_a_new_lowest_report(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(put_report(f->s, "d", 1, 5), STORE_OK);
    assert_int_equal(put_report(f->s, "d", 1, 6), STORE_OK);
    assert_int_equal(ack(f->s, "d", 1), 6);
    assert_int_equal(put_report(f->s, "d", 1, 3), STORE_OK);   /* gap 4: run is now [3] */
    assert_int_equal(ack(f->s, "d", 1), 3);
    assert_int_equal(put_report(f->s, "d", 1, 4), STORE_OK);   /* joins 5, 6 */
    assert_int_equal(ack(f->s, "d", 1), 6);
    assert_int_equal(put_report(f->s, "d", 1, 2), STORE_OK);   /* right below: run kept */
    assert_int_equal(ack(f->s, "d", 1), 6);
    assert_int_equal(put_report(f->s, "d", 1, UINT32_MAX), STORE_OK);
    assert_int_equal(ack(f->s, "d", 1), 6);
}

static void test_stream_run_reports_the_lowest_seq_behind_the_ack_point(void **state)
{
    fixture_t *f = *state;
    uint32_t low = 99, hi = 99;
    assert_false(store_stream_run(f->s, "d", 1, &low, &hi));
    assert_string_equal(store_last_error(f->s), "");
    assert_int_equal(put_report(f->s, "d", 1, 2), STORE_OK);
    assert_int_equal(put_report(f->s, "d", 1, 3), STORE_OK);
    assert_true(store_stream_run(f->s, "d", 1, &low, &hi));
    assert_int_equal(low, 2);                                  /* 0 and 1 may still come */
    assert_int_equal(hi, 3);
    assert_int_equal(put_report(f->s, "d", 1, 0), STORE_OK);
    assert_true(store_stream_run(f->s, "d", 1, &low, &hi));
    assert_int_equal(low, 0);
    assert_int_equal(hi, 0);
    assert_int_equal(put_report(f->s, "d", 1, 1), STORE_OK);
    assert_true(store_stream_run(f->s, "d", 1, &low, &hi));
    assert_int_equal(low, 0);
    assert_int_equal(hi, 3);
}

/* The definition of store.h, computed from the set of stored seqs. */
static int64_t brute_ack(const bool *stored, size_t n)
{
    size_t i = 0;
    while (i < n && !stored[i])
        i++;
    if (i == n)
        return -1;
    while (i + 1 < n && stored[i + 1])
        i++;
    return (int64_t)i;
}

static void test_ack_point_matches_its_definition_in_random_order(void **state)
{
    fixture_t *f = *state;
    enum { N = 96 };
    srand(12345);
    for (uint32_t boot = 1; boot <= 6; boot++) {
        uint32_t order[N];
        for (uint32_t i = 0; i < N; i++)
            order[i] = i;
        for (uint32_t i = N - 1; i > 0; i--) {
            uint32_t j = (uint32_t)rand() % (i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        bool stored[N] = { false };
        assert_true(store_begin(f->s));   /* one transaction per boot keeps it quick */
        for (uint32_t k = 0; k < N; k++) {
            uint32_t seq = order[k];
            if (rand() % 8 == 0)
                continue;                 /* some never arrive */
            assert_int_equal(put_report(f->s, "r", boot, seq), STORE_OK);
            stored[seq] = true;
            if (rand() % 4 == 0)          /* and some arrive twice */
                assert_int_equal(put_report(f->s, "r", boot, seq), STORE_DUPLICATE);
            uint32_t got = 0;
            assert_true(store_ack_point(f->s, "r", boot, &got));
            assert_int_equal(got, brute_ack(stored, N));
        }
        assert_true(store_commit(f->s));
    }
}

static void test_report_arguments_are_checked(void **state)
{
    fixture_t *f = *state;
    const uint8_t b[1] = { 0 };
    char long_id[200];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    assert_int_equal(store_put_report(f->s, "", 1, 1, 0, 0, 0, b, 1), STORE_ERROR);
    assert_non_null(strstr(store_last_error(f->s), "device id"));
    assert_int_equal(store_put_report(f->s, NULL, 1, 1, 0, 0, 0, b, 1), STORE_ERROR);
    assert_int_equal(store_put_report(f->s, long_id, 1, 1, 0, 0, 0, b, 1), STORE_ERROR);
    long_id[STORE_MAX_DEVICE_ID] = '\0';
    assert_int_equal(store_put_report(f->s, long_id, 1, 1, 0, 0, 0, b, 1), STORE_OK);
    assert_int_equal(store_put_report(f->s, "d", 1, 1, 0, 0, 0, NULL, 5), STORE_ERROR);
    assert_non_null(strstr(store_last_error(f->s), "no bytes"));
    assert_int_equal(store_put_report(f->s, "d", 1, 2, 0, 0, 0, b, STORE_MAX_RAW_BYTES + 1), STORE_ERROR);
    assert_non_null(strstr(store_last_error(f->s), "limit"));
    assert_int_equal(store_put_report(f->s, "d", 1, 3, 0, 0, 0, NULL, 0), STORE_OK);   /* empty is kept */
    assert_int_equal(raw_int(f->path, "SELECT length(raw) FROM reports WHERE device = 'd'"), 0);
    assert_int_equal(store_count_reports(f->s, "d", 1), 1);
    store_stats_t st;
    store_get_stats(f->s, &st);
    assert_int_equal(st.errors, 5);
}

/* ---- alerts ---- */

static void test_alert_inside_window_is_merged(void **state)
{
    fixture_t *f = *state;
    alert_t a = make_alert("dev-1", "threat_intel", "tcp:198.51.100.7:443", 1000);
    int64_t id1 = 0, id2 = 0, id3 = 0;
    assert_int_equal(store_put_alert(f->s, &a, 300, &id1), STORE_OK);
    a.time = a.first_time = 1300;      /* exactly at the window's edge */
    a.count = 4;
    snprintf(a.message, sizeof a.message, "second message");
    assert_int_equal(store_put_alert(f->s, &a, 300, &id2), STORE_DUPLICATE);
    assert_int_equal(id2, id1);
    a.time = 1100;                     /* late arrival of an older sighting */
    a.first_time = 900;
    a.count = 2;
    assert_int_equal(store_put_alert(f->s, &a, 300, &id3), STORE_DUPLICATE);
    assert_int_equal(id3, id1);
    alerts_t got;
    assert_int_equal(list(f->s, NULL, ALERT_KIND_ALERT, 0, 0, &got), 1);
    assert_int_equal(got.rows[0].count, 7);
    assert_int_equal(got.rows[0].time, 1300);
    assert_int_equal(got.rows[0].first_time, 900);
    assert_string_equal(got.rows[0].message, "dev-1 contacted 198.51.100.7:443");  /* first kept */
    store_stats_t st;
    store_get_stats(f->s, &st);
    assert_int_equal(st.alerts_new, 1);
    assert_int_equal(st.alerts_merged, 2);
}

static void test_alert_outside_window_makes_a_new_row(void **state)
{
    fixture_t *f = *state;
    alert_t a = make_alert("dev-1", "threat_intel", "k", 1000);
    int64_t id1 = 0, id2 = 0, id3 = 0;
    assert_int_equal(store_put_alert(f->s, &a, 300, &id1), STORE_OK);
    a.time = a.first_time = 1301;
    assert_int_equal(store_put_alert(f->s, &a, 300, &id2), STORE_OK);
    assert_true(id2 != id1);
    a.time = a.first_time = 1500;      /* merges with the newer row only */
    assert_int_equal(store_put_alert(f->s, &a, 300, &id3), STORE_DUPLICATE);
    assert_int_equal(id3, id2);
    alerts_t got;
    assert_int_equal(list(f->s, NULL, ALERT_KIND_ALERT, 0, 0, &got), 2);
    assert_int_equal(got.rows[0].count, 1);
    assert_int_equal(got.rows[0].time, 1000);
    assert_int_equal(got.rows[1].count, 2);
    assert_int_equal(got.rows[1].first_time, 1301);
    assert_int_equal(got.rows[1].time, 1500);
    /* window 0: only a row at the same or a later time merges */
    a.time = a.first_time = 1501;
    assert_int_equal(store_put_alert(f->s, &a, 0, NULL), STORE_OK);
    a.time = a.first_time = 1501;
    assert_int_equal(store_put_alert(f->s, &a, 0, NULL), STORE_DUPLICATE);
}

static void test_alerts_differing_in_device_type_or_key_are_not_merged(void **state)
{
    fixture_t *f = *state;
    alert_t a = make_alert("dev-1", "threat_intel", "k1", 1000);
    assert_int_equal(store_put_alert(f->s, &a, 3600, NULL), STORE_OK);
    a = make_alert("dev-2", "threat_intel", "k1", 1000);
    assert_int_equal(store_put_alert(f->s, &a, 3600, NULL), STORE_OK);
    a = make_alert("dev-1", "allowed_remotes", "k1", 1000);
    assert_int_equal(store_put_alert(f->s, &a, 3600, NULL), STORE_OK);
    a = make_alert("dev-1", "threat_intel", "k2", 1000);
    assert_int_equal(store_put_alert(f->s, &a, 3600, NULL), STORE_OK);
    /* a recommendation with the same triple lives apart from alerts */
    a = make_recommendation("dev-1", "threat_intel", "k1", 1000);
    assert_int_equal(store_put_alert(f->s, &a, 3600, NULL), STORE_OK);
    alerts_t got;
    assert_int_equal(list(f->s, NULL, ALERT_KIND_ALERT, 0, 0, &got), 4);
    assert_int_equal(list(f->s, NULL, ALERT_KIND_RECOMMENDATION, 0, 0, &got), 1);
}

static void test_alert_count_saturates_instead_of_wrapping(void **state)
{
    fixture_t *f = *state;
    alert_t a = make_alert("dev-1", "t", "k", 1000);
    a.count = UINT64_MAX;
    assert_int_equal(store_put_alert(f->s, &a, 60, NULL), STORE_OK);
    a.count = 5;
    assert_int_equal(store_put_alert(f->s, &a, 60, NULL), STORE_DUPLICATE);
    alerts_t got;
    assert_int_equal(list(f->s, NULL, ALERT_KIND_ALERT, 0, 0, &got), 1);
    assert_int_equal(got.rows[0].count, (uint64_t)INT64_MAX);
    /* and the window arithmetic does not overflow at the ends of time */
    a = make_alert("dev-1", "t", "min", INT64_MIN);
    assert_int_equal(store_put_alert(f->s, &a, INT64_MAX, NULL), STORE_OK);
    assert_int_equal(store_put_alert(f->s, &a, INT64_MAX, NULL), STORE_DUPLICATE);
}

static void test_every_alert_field_round_trips(void **state)
{
    fixture_t *f = *state;
    alert_t a = make_alert("dev-6", "threat_intel", "icmp:2001:db8::7", 5000);
    a.first_time = 4000;
    a.count = 3;
    a.severity = ALERT_SEVERITY_CRITICAL;
    a.proto = 2;
    a.family = 6;
    memcpy(a.remote_addr, (uint8_t[]){ 0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7 }, 16);
    a.remote_port = 65535;
    a.local_port = 1;
    a.direction = ALERT_DIR_INBOUND;
    a.has_indicator = true;
    snprintf(a.indicator_value, sizeof a.indicator_value, "2001:db8::/32");
    snprintf(a.indicator_feed, sizeof a.indicator_feed, "misp-42");
    snprintf(a.indicator_category, sizeof a.indicator_category, "scanner");
    snprintf(a.remediation, sizeof a.remediation, "Block it.");
    int64_t id = 0;
    assert_int_equal(store_put_alert(f->s, &a, 60, &id), STORE_OK);
    assert_true(id > 0);

    alert_t b = make_alert("dev-4", "threat_intel", "none", 6000);
    b.family = 0;
    memset(b.remote_addr, 0, sizeof b.remote_addr);
    b.proto = ALERT_PROTO_NONE;
    b.remote_port = b.local_port = 0;
    b.direction = ALERT_DIR_NONE;
    b.severity = ALERT_SEVERITY_INFO;
    assert_int_equal(store_put_alert(f->s, &b, 60, NULL), STORE_OK);

    alerts_t got;
    assert_int_equal(list(f->s, NULL, ALERT_KIND_ALERT, 0, 0, &got), 2);
    norm_alert(&a);
    norm_alert(&b);
    assert_memory_equal(&got.rows[0], &a, sizeof a);
    assert_memory_equal(&got.rows[1], &b, sizeof b);

    /* an IPv4 endpoint too */
    alert_t c = make_alert("dev-4", "x", "v4", 7000);
    assert_int_equal(store_put_alert(f->s, &c, 60, NULL), STORE_OK);
    assert_int_equal(list(f->s, NULL, ALERT_KIND_ALERT, 7000, 0, &got), 1);
    assert_memory_equal(&got.rows[0], &c, sizeof c);
}

static void test_unknown_first_time_is_stored_as_time(void **state)
{
    fixture_t *f = *state;
    alert_t a = make_alert("dev-1", "t", "k", 1000);
    a.first_time = 0;
    assert_int_equal(store_put_alert(f->s, &a, 60, NULL), STORE_OK);
    a = make_alert("dev-1", "t", "k2", 1000);
    a.first_time = 2000;    /* after time: impossible, so unknown */
    assert_int_equal(store_put_alert(f->s, &a, 60, NULL), STORE_OK);
    alerts_t got;
    assert_int_equal(list(f->s, NULL, ALERT_KIND_ALERT, 0, 0, &got), 2);
    assert_int_equal(got.rows[0].first_time, 1000);
    assert_int_equal(got.rows[1].first_time, 1000);
}

static void test_malformed_alerts_are_refused_with_a_reason(void **state)
{
    fixture_t *f = *state;
    alert_t a = make_alert("dev-1", "t", "k", 1000);
    a.count = 0;
    assert_int_equal(store_put_alert(f->s, &a, 60, NULL), STORE_ERROR);
    assert_non_null(strstr(store_last_error(f->s), "count is 0"));
    a = make_alert("dev-1", "t", "k", 1000);
    a.family = 5;
    assert_int_equal(store_put_alert(f->s, &a, 60, NULL), STORE_ERROR);
    assert_non_null(strstr(store_last_error(f->s), "family"));
    a = make_alert("dev-1", "", "k", 1000);
    assert_int_equal(store_put_alert(f->s, &a, 60, NULL), STORE_ERROR);
    assert_non_null(strstr(store_last_error(f->s), "empty type"));
    a = make_alert("", "t", "k", 1000);
    assert_int_equal(store_put_alert(f->s, &a, 60, NULL), STORE_ERROR);
    a = make_alert("dev-1", "t", "k", 1000);
    assert_int_equal(store_put_alert(f->s, &a, -1, NULL), STORE_ERROR);
    assert_non_null(strstr(store_last_error(f->s), "window"));
    a.severity = (alert_severity_t)5;
    assert_int_equal(store_put_alert(f->s, &a, 60, NULL), STORE_ERROR);
    assert_non_null(strstr(store_last_error(f->s), "severity"));
    a = make_alert("dev-1", "t", "k", 1000);
    a.direction = (alert_direction_t)3;
    assert_int_equal(store_put_alert(f->s, &a, 60, NULL), STORE_ERROR);
    a = make_alert("dev-1", "t", "k", 1000);
    a.kind = (alert_kind_t)2;
    assert_int_equal(store_put_alert(f->s, &a, 60, NULL), STORE_ERROR);
    assert_int_equal(store_put_alert(f->s, NULL, 60, NULL), STORE_ERROR);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM alerts"), 0);
}

static void test_listing_filters_by_device_since_and_limit_in_time_order(void **state)
{
    fixture_t *f = *state;
    static const struct { const char *dev; const char *key; int64_t time; } rows[] = {
        { "b", "k1", 300 }, { "a", "k2", 100 }, { "a", "k3", 300 }, { "b", "k4", 200 }, { "a", "k5", 200 },
    };
    int64_t ids[5];
    for (size_t i = 0; i < 5; i++) {
        alert_t a = make_alert(rows[i].dev, "t", rows[i].key, rows[i].time);
        assert_int_equal(store_put_alert(f->s, &a, 10, &ids[i]), STORE_OK);
    }
    alerts_t got;
    assert_int_equal(list(f->s, NULL, ALERT_KIND_ALERT, 0, 0, &got), 5);
    static const char *const all_order[] = { "k2", "k4", "k5", "k1", "k3" };   /* time, then id */
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(got.rows[i].key, all_order[i]);
    assert_int_equal(list(f->s, "a", ALERT_KIND_ALERT, 0, 0, &got), 3);
    assert_string_equal(got.rows[0].key, "k2");
    assert_string_equal(got.rows[1].key, "k5");
    assert_string_equal(got.rows[2].key, "k3");
    assert_int_equal(list(f->s, "a", ALERT_KIND_ALERT, 200, 0, &got), 2);
    assert_string_equal(got.rows[0].key, "k5");
    assert_int_equal(list(f->s, NULL, ALERT_KIND_ALERT, 200, 2, &got), 2);
    assert_string_equal(got.rows[0].key, "k4");
    assert_string_equal(got.rows[1].key, "k5");
    assert_int_equal(list(f->s, "nobody", ALERT_KIND_ALERT, 0, 0, &got), 0);
    assert_int_equal(list(f->s, NULL, ALERT_KIND_ALERT, 301, 0, &got), 0);
    assert_int_equal(list(f->s, NULL, ALERT_KIND_RECOMMENDATION, 0, 0, &got), 0);
}

/* ---- recommendations ---- */

static void test_recommendation_is_updated_in_place_and_cleared(void **state)
{
    fixture_t *f = *state;
    alert_t r = make_recommendation("dev-1", "insecure_listener", "tcp:23", 1000);
    int64_t id1 = 0, id2 = 0;
    assert_int_equal(store_put_alert(f->s, &r, 0, &id1), STORE_OK);
    r.time = r.first_time = 90000;     /* far outside any window: still one row */
    r.severity = ALERT_SEVERITY_HIGH;
    snprintf(r.message, sizeof r.message, "still listening on telnet");
    snprintf(r.remediation, sizeof r.remediation, "Remove the telnet daemon.");
    assert_int_equal(store_put_alert(f->s, &r, 0, &id2), STORE_DUPLICATE);
    assert_int_equal(id2, id1);
    alert_t other = make_recommendation("dev-1", "insecure_listener", "tcp:21", 1500);
    assert_int_equal(store_put_alert(f->s, &other, 0, NULL), STORE_OK);

    alerts_t got;
    assert_int_equal(list(f->s, "dev-1", ALERT_KIND_RECOMMENDATION, 0, 0, &got), 2);
    assert_string_equal(got.rows[0].key, "tcp:21");
    const alert_t *g = &got.rows[1];
    assert_int_equal(g->kind, ALERT_KIND_RECOMMENDATION);
    assert_string_equal(g->key, "tcp:23");
    assert_int_equal(g->count, 2);
    assert_int_equal(g->time, 90000);
    assert_int_equal(g->first_time, 1000);
    assert_int_equal(g->severity, ALERT_SEVERITY_HIGH);
    assert_string_equal(g->message, "still listening on telnet");
    assert_string_equal(g->remediation, "Remove the telnet daemon.");
    assert_int_equal(g->proto, ALERT_PROTO_NONE);

    assert_int_equal(store_clear_recommendation(f->s, "dev-1", "insecure_listener", "tcp:23"), STORE_OK);
    assert_int_equal(list(f->s, "dev-1", ALERT_KIND_RECOMMENDATION, 0, 0, &got), 1);
    assert_string_equal(got.rows[0].key, "tcp:21");
    /* clearing what is not there is fine; a raise after a clear is new */
    assert_int_equal(store_clear_recommendation(f->s, "dev-1", "insecure_listener", "tcp:23"), STORE_OK);
    assert_int_equal(store_put_alert(f->s, &r, 0, &id2), STORE_OK);
    assert_true(id2 != id1);
    assert_int_equal(store_clear_recommendation(f->s, "", "x", "y"), STORE_ERROR);
    assert_int_equal(store_clear_recommendation(f->s, "dev-1", NULL, "y"), STORE_ERROR);
    store_stats_t st;
    store_get_stats(f->s, &st);
    assert_int_equal(st.recommendations_new, 3);
    assert_int_equal(st.recommendations_updated, 1);
    assert_int_equal(st.recommendations_cleared, 1);
}

/* ---- devices ---- */

static void test_device_upsert_replaces_every_field_and_lists_by_id(void **state)
{
    fixture_t *f = *state;
    const char *ids[] = { "cam-9", "Cam-1", "cam-10", "alpha" };
    for (size_t i = 0; i < 4; i++) {
        store_device_t d = make_device(ids[i], (int64_t)i);
        assert_int_equal(store_put_device(f->s, &d), STORE_OK);
    }
    store_device_t d = make_device("cam-9", 500);
    snprintf(d.group, sizeof d.group, "doors");
    d.tags[0] = '\0';
    d.boot_id = UINT32_MAX;
    d.last_seq = UINT32_MAX;
    d.reports = UINT64_MAX;         /* stored as INT64_MAX */
    d.rejected = 0;
    snprintf(d.firmware_version, sizeof d.firmware_version, "fw-3");
    assert_int_equal(store_put_device(f->s, &d), STORE_OK);

    store_device_t got;
    assert_true(store_get_device(f->s, "cam-9", &got));
    d.reports = (uint64_t)INT64_MAX;
    norm_device(&d);
    assert_memory_equal(&got, &d, sizeof d);

    devices_t all;
    memset(&all, 0, sizeof all);
    assert_true(store_list_devices(f->s, collect_device, &all));
    assert_int_equal(all.n, 4);
    static const char *const order[] = { "Cam-1", "alpha", "cam-10", "cam-9" };   /* bytewise */
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(all.rows[i].id, order[i]);
    assert_string_equal(all.rows[3].group, "doors");
}

static void test_missing_device_is_false_without_an_error(void **state)
{
    fixture_t *f = *state;
    store_device_t d;
    assert_false(store_get_device(f->s, "ghost", &d));
    assert_string_equal(store_last_error(f->s), "");
    assert_false(store_get_device(f->s, "", &d));
    assert_true(strlen(store_last_error(f->s)) > 0);
    store_device_t bad = make_device("", 1);
    assert_int_equal(store_put_device(f->s, &bad), STORE_ERROR);
    memset(bad.id, 'z', sizeof bad.id);      /* not terminated */
    assert_int_equal(store_put_device(f->s, &bad), STORE_ERROR);
    assert_int_equal(store_put_device(f->s, NULL), STORE_ERROR);
}

/* ---- text ---- */

static void test_quotes_and_binaryish_text_round_trip(void **state)
{
    fixture_t *f = *state;
    char weird[129];
    /* every byte 1..127 but NUL, then bytes that are not UTF-8 */
    size_t n = 0;
    for (int c = 1; c < 128 && n < 120; c += 1)
        weird[n++] = (char)c;
    weird[n++] = (char)0xff;
    weird[n++] = (char)0xc3;
    weird[n] = '\0';
    const char *quoted = "it's \"x\"'); DROP TABLE devices; --";

    store_device_t d = make_device(quoted, 1);
    memcpy(d.os_name, weird, n + 1);
    assert_int_equal(store_put_device(f->s, &d), STORE_OK);
    store_device_t got;
    assert_true(store_get_device(f->s, quoted, &got));
    norm_device(&d);
    assert_memory_equal(&got, &d, sizeof d);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM devices"), 1);

    d = make_device(weird, 2);
    assert_int_equal(store_put_device(f->s, &d), STORE_OK);
    assert_true(store_get_device(f->s, weird, &got));
    norm_device(&d);
    assert_memory_equal(&got, &d, sizeof d);

    assert_int_equal(put_report(f->s, weird, 1, 0), STORE_OK);
    assert_int_equal(put_report(f->s, weird, 1, 0), STORE_DUPLICATE);
    assert_int_equal(ack(f->s, weird, 1), 0);

    alert_t a = make_alert(weird, "t'\"", quoted, 10);
    memcpy(a.message, weird, n + 1);
    a.has_indicator = true;
    snprintf(a.indicator_value, sizeof a.indicator_value, "%s", quoted);
    snprintf(a.indicator_feed, sizeof a.indicator_feed, "%%s%%n");
    assert_int_equal(store_put_alert(f->s, &a, 60, NULL), STORE_OK);
    assert_int_equal(store_put_alert(f->s, &a, 60, NULL), STORE_DUPLICATE);
    alerts_t rows;
    assert_int_equal(list(f->s, weird, ALERT_KIND_ALERT, 0, 0, &rows), 1);
    a.count = 2;
    norm_alert(&a);
    assert_memory_equal(&rows.rows[0], &a, sizeof a);
}

static void test_text_longer_than_a_field_is_cut_on_a_character_boundary(void **state)
{
    fixture_t *f = *state;
    store_device_t d = make_device("long", 1);
    assert_int_equal(store_put_device(f->s, &d), STORE_OK);
    /* another tool wrote 100 two-byte characters into a 129-byte field */
    raw_exec(f->path, "UPDATE devices SET os_name = replace(hex(zeroblob(100)), '00', 'é'),"
                      " tags = 'ab' || replace(hex(zeroblob(300)), '00', 'x')");
    store_device_t got;
    assert_true(store_get_device(f->s, "long", &got));
    assert_int_equal(strlen(got.os_name), 128);         /* 64 whole characters */
    for (size_t i = 0; i < 128; i += 2)
        assert_memory_equal(got.os_name + i, "\xc3\xa9", 2);
    assert_int_equal(strlen(got.tags), sizeof got.tags - 1);
}

/* ---- transactions and connections ---- */

static void test_rollback_leaves_nothing(void **state)
{
    fixture_t *f = *state;
    assert_true(store_begin(f->s));
    assert_int_equal(put_report(f->s, "dev-1", 1, 0), STORE_OK);
    store_device_t d = make_device("dev-1", 1);
    assert_int_equal(store_put_device(f->s, &d), STORE_OK);
    alert_t a = make_alert("dev-1", "t", "k", 1);
    assert_int_equal(store_put_alert(f->s, &a, 60, NULL), STORE_OK);
    alert_t r = make_recommendation("dev-1", "t", "k", 1);
    assert_int_equal(store_put_alert(f->s, &r, 60, NULL), STORE_OK);
    store_rollback(f->s);

    uint32_t seq;
    assert_false(store_ack_point(f->s, "dev-1", 1, &seq));
    assert_int_equal(store_count_reports(f->s, "dev-1", 1), 0);
    assert_false(store_get_device(f->s, "dev-1", &d));
    alerts_t got;
    assert_int_equal(list(f->s, NULL, ALERT_KIND_ALERT, INT64_MIN, 0, &got), 0);
    assert_int_equal(list(f->s, NULL, ALERT_KIND_RECOMMENDATION, INT64_MIN, 0, &got), 0);
    store_rollback(f->s);          /* nothing open: harmless */
    /* and after it, the store works as before */
    assert_int_equal(put_report(f->s, "dev-1", 1, 0), STORE_OK);
    assert_int_equal(ack(f->s, "dev-1", 1), 0);
}

static void test_transaction_misuse_is_an_error(void **state)
{
    fixture_t *f = *state;
    assert_false(store_commit(f->s));
    assert_true(strlen(store_last_error(f->s)) > 0);
    assert_true(store_begin(f->s));
    assert_false(store_begin(f->s));
    assert_non_null(strstr(store_last_error(f->s), "within a transaction"));
    assert_int_equal(put_report(f->s, "d", 1, 1), STORE_OK);
    assert_true(store_commit(f->s));
    assert_int_equal(store_count_reports(f->s, "d", 1), 1);
}

/* A trigger makes the ack-point update fail after the report row is written,
 * so the call must undo its own first write: in its own transaction, and in
 * a savepoint inside the caller's, which keeps the caller's earlier work. */
static void test_a_call_that_fails_half_way_undoes_only_itself(void **state)
{
    fixture_t *f = *state;
    raw_exec(f->path, "CREATE TRIGGER boom BEFORE INSERT ON streams WHEN NEW.device = 'boom'"
                      " BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");
    assert_int_equal(put_report(f->s, "boom", 1, 0), STORE_ERROR);
    assert_non_null(strstr(store_last_error(f->s), "injected failure"));
    assert_int_equal(store_count_reports(f->s, "boom", 1), 0);

    assert_true(store_begin(f->s));
    assert_int_equal(put_report(f->s, "fine", 1, 0), STORE_OK);
    assert_int_equal(put_report(f->s, "boom", 1, 0), STORE_ERROR);
    assert_int_equal(put_report(f->s, "fine", 1, 1), STORE_OK);
    assert_true(store_commit(f->s));
    assert_int_equal(store_count_reports(f->s, "fine", 1), 2);
    assert_int_equal(store_count_reports(f->s, "boom", 1), 0);
    assert_int_equal(ack(f->s, "fine", 1), 1);
    store_stats_t st;
    store_get_stats(f->s, &st);
    assert_int_equal(st.errors, 2);
    assert_int_equal(st.reports_stored, 2);
}

static void test_two_connections_share_one_wal_file(void **state)
{
    fixture_t *f = *state;
    char err[256];
    store_t *s2 = store_open(f->path, err, sizeof err);
    if (!s2)
        fail_msg("second open: %s", err);
    assert_int_equal(store_schema_version(s2), STORE_SCHEMA_VERSION);

    assert_int_equal(put_report(f->s, "dev-1", 1, 0), STORE_OK);
    assert_int_equal(ack(s2, "dev-1", 1), 0);                      /* committed: visible */
    assert_int_equal(put_report(s2, "dev-1", 1, 0), STORE_DUPLICATE);

    assert_true(store_begin(f->s));
    assert_int_equal(put_report(f->s, "dev-1", 1, 1), STORE_OK);
    store_device_t d = make_device("dev-1", 1);
    assert_int_equal(store_put_device(f->s, &d), STORE_OK);
    assert_int_equal(ack(s2, "dev-1", 1), 0);                      /* not yet committed */
    assert_false(store_get_device(s2, "dev-1", &d));
    assert_true(store_commit(f->s));
    assert_int_equal(ack(s2, "dev-1", 1), 1);
    assert_true(store_get_device(s2, "dev-1", &d));

    alert_t a = make_alert("dev-1", "t", "k", 100);
    assert_int_equal(store_put_alert(s2, &a, 60, NULL), STORE_OK);
    assert_int_equal(store_put_alert(f->s, &a, 60, NULL), STORE_DUPLICATE);  /* dedup across processes */
    store_close(s2);
}

/* ---- listings and rows ---- */

static store_t *nested_store;
static bool nested_result;
static void nested_list(void *u, const store_device_t *d)
{
    (void)d;
    devices_t *inner = u;
    nested_result = store_list_devices(nested_store, collect_device, inner);
}

static void test_listing_from_inside_a_listing_is_refused(void **state)
{
    fixture_t *f = *state;
    for (int i = 0; i < 3; i++) {
        char id[8];
        snprintf(id, sizeof id, "d%d", i);
        store_device_t d = make_device(id, i);
        assert_int_equal(store_put_device(f->s, &d), STORE_OK);
    }
    devices_t inner;
    memset(&inner, 0, sizeof inner);
    nested_store = f->s;
    nested_result = true;
    assert_true(store_list_devices(f->s, nested_list, &inner));
    assert_false(nested_result);
    assert_int_equal(inner.n, 0);
    devices_t all;
    memset(&all, 0, sizeof all);
    assert_true(store_list_devices(f->s, collect_device, &all));   /* outer listing was not disturbed */
    assert_int_equal(all.n, 3);
    assert_false(store_list_devices(f->s, NULL, NULL));
    store_query_t q = { NULL, (alert_kind_t)7, 0, 0 };
    alerts_t got;
    assert_false(store_list_alerts(f->s, &q, collect_alert, &got));
}

static void test_a_row_that_breaks_the_schema_fails_the_listing(void **state)
{
    fixture_t *f = *state;
    alert_t a = make_alert("dev-1", "t", "k", 100);
    assert_int_equal(store_put_alert(f->s, &a, 60, NULL), STORE_OK);
    raw_exec(f->path, "PRAGMA ignore_check_constraints = ON;"
                      " UPDATE alerts SET remote_addr = x'010203'");
    alerts_t got;
    memset(&got, 0, sizeof got);
    store_query_t q = { NULL, ALERT_KIND_ALERT, 0, 0 };
    assert_false(store_list_alerts(f->s, &q, collect_alert, &got));
    assert_non_null(strstr(store_last_error(f->s), "malformed remote address"));
    assert_int_equal(got.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_fresh_file_is_migrated_and_reopen_keeps_version_and_data),
        T(test_database_from_a_future_version_is_refused),
        T(test_sqlite_file_that_is_not_vigils_is_refused),
        T(test_file_that_is_not_sqlite_is_refused),
        T(test_open_refuses_missing_directory_and_empty_path),
        T(test_memory_database_works_without_wal),
        T(test_duplicate_report_changes_nothing),
        T(test_ack_point_stops_at_the_first_gap),
        T(test_ack_point_is_per_boot_and_per_device),
        T(test_ack_point_follows_a_new_lowest_report),
        T(test_ack_point_matches_its_definition_in_random_order),
        T(test_stream_run_reports_the_lowest_seq_behind_the_ack_point),
        T(test_report_arguments_are_checked),
        T(test_alert_inside_window_is_merged),
        T(test_alert_outside_window_makes_a_new_row),
        T(test_alerts_differing_in_device_type_or_key_are_not_merged),
        T(test_alert_count_saturates_instead_of_wrapping),
        T(test_every_alert_field_round_trips),
        T(test_unknown_first_time_is_stored_as_time),
        T(test_malformed_alerts_are_refused_with_a_reason),
        T(test_listing_filters_by_device_since_and_limit_in_time_order),
        T(test_recommendation_is_updated_in_place_and_cleared),
        T(test_device_upsert_replaces_every_field_and_lists_by_id),
        T(test_missing_device_is_false_without_an_error),
        T(test_quotes_and_binaryish_text_round_trip),
        T(test_text_longer_than_a_field_is_cut_on_a_character_boundary),
        T(test_rollback_leaves_nothing),
        T(test_transaction_misuse_is_an_error),
        T(test_a_call_that_fails_half_way_undoes_only_itself),
        T(test_two_connections_share_one_wal_file),
        T(test_listing_from_inside_a_listing_is_refused),
        T(test_a_row_that_breaks_the_schema_fails_the_listing),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
