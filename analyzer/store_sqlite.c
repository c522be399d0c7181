/*
 * store_sqlite.c - the SQLite back end of store.h: raw reports, devices,
 * alerts and recommendations in one database file shared by every vigild
 * process of a deployment.
 *
 * It must never build SQL from input (every value is bound to a statement
 * prepared once at open), never leave a write half-done (each call is one
 * transaction, or one savepoint inside the caller's), and never return an
 * error without a readable reason in store_last_error().
 *
 * Schema (version 1):
 *
 *   schema_version(version)
 *       Exactly one row: the number of migration steps applied. A database
 *       whose version is above STORE_SCHEMA_VERSION is refused, never
 *       "repaired" by an older build.
 *
 *   devices(id PK, group_name, tags, first_seen, last_seen, boot_id,
 *           last_seq, agent_version, os_name, os_version, firmware_version,
 *           device_model, reports, rejected)
 *       One row per device id (1..128 bytes), written whole by
 *       store_put_device (upsert). Counters are >= 0.
 *
 *   reports(device, boot_id, seq, period_start, period_end, received_at, raw)
 *       PRIMARY KEY (device, boot_id, seq): the idempotence of the whole
 *       pipeline rests on this key; a re-sent report hits it and changes
 *       nothing. raw holds the CBOR bytes as received, never re-encoded.
 *       There is no foreign key to devices: a report is kept before (and
 *       even if) its device row is written.
 *
 *   streams(device, boot_id, low, ack)  PRIMARY KEY (device, boot_id)
 *       The ack point of each (device, boot) stream, kept beside the reports
 *       so store_ack_point is one lookup instead of a walk over a boot's
 *       history. Invariant: low is the lowest seq in reports for the stream,
 *       every seq in [low, ack] is in reports, and ack + 1 is not. It is
 *       updated in the same transaction as the report insert. Anything that
 *       ever deletes reports must delete or recompute the stream's row.
 *
 *   alerts(id, device, type, key, severity, time, first_time, count, proto,
 *          family, remote_addr, remote_port, local_port, direction,
 *          indicator_value, indicator_feed, indicator_category, message,
 *          remediation)
 *       One row per (device, type, key) and dedup window; index
 *       (device, type, key, time) finds the row to merge into, indexes on
 *       time and (device, time) serve listings. first_time <= time,
 *       count >= 1, remote_addr is NULL / 4 / 16 bytes for family 0 / 4 / 6,
 *       the three indicator columns are all NULL or all set.
 *
 *   recommendations(same columns)  UNIQUE (device, type, key)
 *       The current hygiene recommendations: one row per triple, updated in
 *       place, deleted when the cause goes.
 *
 * Migrations: migrations[i] takes the schema from version i to i + 1. Each
 * step runs in its own BEGIN IMMEDIATE transaction which first re-reads the
 * version, so two processes opening a new file at once apply it once.
 */
#define _POSIX_C_SOURCE 200809L     /* strnlen */
#include "store.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- schema ---- */

#define FINDING_TABLE_COLUMNS                                                                 \
    "id INTEGER PRIMARY KEY,"                                                                 \
    "device TEXT NOT NULL, type TEXT NOT NULL, key TEXT NOT NULL,"                            \
    "severity INTEGER NOT NULL CHECK (severity BETWEEN 0 AND 4),"                             \
    "time INTEGER NOT NULL, first_time INTEGER NOT NULL CHECK (first_time <= time),"          \
    "count INTEGER NOT NULL CHECK (count >= 1),"                                              \
    "proto INTEGER NOT NULL CHECK (proto BETWEEN 0 AND 255),"                                 \
    "family INTEGER NOT NULL, remote_addr BLOB,"                                              \
    "remote_port INTEGER NOT NULL CHECK (remote_port BETWEEN 0 AND 65535),"                   \
    "local_port INTEGER NOT NULL CHECK (local_port BETWEEN 0 AND 65535),"                     \
    "direction INTEGER NOT NULL CHECK (direction BETWEEN 0 AND 2),"                           \
    "indicator_value TEXT, indicator_feed TEXT, indicator_category TEXT,"                     \
    "message TEXT NOT NULL, remediation TEXT NOT NULL,"                                       \
    "CHECK ((family = 0 AND remote_addr IS NULL)"                                             \
    "    OR (family = 4 AND length(remote_addr) = 4)"                                         \
    "    OR (family = 6 AND length(remote_addr) = 16)),"                                      \
    "CHECK ((indicator_value IS NULL) = (indicator_feed IS NULL)"                             \
    "   AND (indicator_value IS NULL) = (indicator_category IS NULL))"

static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE devices ("
    "  id TEXT PRIMARY KEY NOT NULL CHECK (length(CAST(id AS BLOB)) BETWEEN 1 AND 128),"
    "  group_name TEXT NOT NULL, tags TEXT NOT NULL,"
    "  first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
    "  boot_id INTEGER NOT NULL CHECK (boot_id BETWEEN 0 AND 4294967295),"
    "  last_seq INTEGER NOT NULL CHECK (last_seq BETWEEN 0 AND 4294967295),"
    "  agent_version TEXT NOT NULL, os_name TEXT NOT NULL, os_version TEXT NOT NULL,"
    "  firmware_version TEXT NOT NULL, device_model TEXT NOT NULL,"
    "  reports INTEGER NOT NULL CHECK (reports >= 0),"
    "  rejected INTEGER NOT NULL CHECK (rejected >= 0));"
    "CREATE TABLE reports ("
    "  device TEXT NOT NULL,"
    "  boot_id INTEGER NOT NULL CHECK (boot_id BETWEEN 0 AND 4294967295),"
    "  seq INTEGER NOT NULL CHECK (seq BETWEEN 0 AND 4294967295),"
    "  period_start INTEGER NOT NULL, period_end INTEGER NOT NULL,"
    "  received_at INTEGER NOT NULL, raw BLOB NOT NULL,"
    "  PRIMARY KEY (device, boot_id, seq));"
    "CREATE TABLE streams ("
    "  device TEXT NOT NULL, boot_id INTEGER NOT NULL,"
    "  low INTEGER NOT NULL, ack INTEGER NOT NULL CHECK (ack >= low),"
    "  PRIMARY KEY (device, boot_id)) WITHOUT ROWID;"
    "CREATE TABLE alerts (" FINDING_TABLE_COLUMNS ");"
    "CREATE INDEX alerts_dedup ON alerts (device, type, key, time);"
    "CREATE INDEX alerts_time ON alerts (time);"
    "CREATE INDEX alerts_device_time ON alerts (device, time);"
    "CREATE TABLE recommendations (" FINDING_TABLE_COLUMNS ", UNIQUE (device, type, key));"
    "CREATE INDEX recommendations_time ON recommendations (time);"
    "CREATE INDEX recommendations_device_time ON recommendations (device, time);",
};

/* One step per version: a missing step would be a NULL that sqlite3_exec
 * runs as nothing, leaving a database labelled with tables it lacks. */
typedef char migrations_cover_every_version[
    sizeof migrations / sizeof migrations[0] == STORE_SCHEMA_VERSION ? 1 : -1];

/* ---- statements ---- */

/* Column order shared by the finding statements and row_to_alert. */
#define FINDING_COLUMNS                                                                      \
    "device, type, key, severity, time, first_time, count, proto, family, remote_addr,"      \
    " remote_port, local_port, direction, indicator_value, indicator_feed,"                  \
    " indicator_category, message, remediation"
#define FINDING_VALUES "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18"

#define DEVICE_COLUMNS                                                                       \
    "id, group_name, tags, first_seen, last_seen, boot_id, last_seq, agent_version,"         \
    " os_name, os_version, firmware_version, device_model, reports, rejected"

enum {
    ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_SAVEPOINT, ST_RELEASE, ST_ROLLBACK_TO,
    ST_VERSION,
    ST_REPORT_PUT, ST_REPORT_COUNT, ST_STREAM_GET, ST_STREAM_PUT, ST_STREAM_FIRST_GAP,
    ST_STREAM_MIN, ST_STREAM_AFTER,
    ST_DEVICE_PUT, ST_DEVICE_GET, ST_DEVICE_LIST,
    ST_ALERT_FIND, ST_ALERT_MERGE, ST_ALERT_INSERT,
    ST_REC_FIND, ST_REC_UPDATE, ST_REC_INSERT, ST_REC_DELETE,
    ST_ALERTS_ALL, ST_ALERTS_DEVICE, ST_RECS_ALL, ST_RECS_DEVICE,
    ST_REPORT_RAW, ST_ALERT_GET, ST_REC_GET,
    ST_UNIT_SAVEPOINT, ST_UNIT_RELEASE, ST_UNIT_ROLLBACK_TO, ST_STREAM_SPAN,
    ST_COUNT
};

static const char *const statement_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SAVEPOINT] = "SAVEPOINT store_call",
    [ST_RELEASE] = "RELEASE store_call",
    [ST_ROLLBACK_TO] = "ROLLBACK TO store_call",
    [ST_VERSION] = "SELECT version FROM schema_version",

    [ST_REPORT_PUT] = "INSERT INTO reports (device, boot_id, seq, period_start, period_end, received_at, raw)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_REPORT_COUNT] = "SELECT count(*) FROM reports WHERE device = ?1 AND boot_id = ?2",
    [ST_STREAM_GET] = "SELECT low, ack FROM streams WHERE device = ?1 AND boot_id = ?2",
    [ST_STREAM_PUT] = "INSERT INTO streams (device, boot_id, low, ack) VALUES (?1, ?2, ?3, ?4)"
                      " ON CONFLICT (device, boot_id) DO UPDATE SET low = excluded.low, ack = excluded.ack",
    /* The end of the first run: the lowest stored seq whose successor is not stored. */
    [ST_STREAM_FIRST_GAP] = "SELECT r.seq FROM reports r WHERE r.device = ?1 AND r.boot_id = ?2"
                            " AND NOT EXISTS (SELECT 1 FROM reports n WHERE n.device = ?1"
                            " AND n.boot_id = ?2 AND n.seq = r.seq + 1) ORDER BY r.seq LIMIT 1",
    [ST_STREAM_MIN] = "SELECT min(seq) FROM reports WHERE device = ?1 AND boot_id = ?2",
    [ST_STREAM_AFTER] = "SELECT seq FROM reports WHERE device = ?1 AND boot_id = ?2 AND seq > ?3 ORDER BY seq",

    [ST_DEVICE_PUT] = "INSERT INTO devices (" DEVICE_COLUMNS ") VALUES"
                      " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
                      " ON CONFLICT (id) DO UPDATE SET group_name = excluded.group_name,"
                      " tags = excluded.tags, first_seen = excluded.first_seen,"
                      " last_seen = excluded.last_seen, boot_id = excluded.boot_id,"
                      " last_seq = excluded.last_seq, agent_version = excluded.agent_version,"
                      " os_name = excluded.os_name, os_version = excluded.os_version,"
                      " firmware_version = excluded.firmware_version,"
                      " device_model = excluded.device_model, reports = excluded.reports,"
                      " rejected = excluded.rejected",
    [ST_DEVICE_GET] = "SELECT " DEVICE_COLUMNS " FROM devices WHERE id = ?1",
    [ST_DEVICE_LIST] = "SELECT " DEVICE_COLUMNS " FROM devices ORDER BY id",

    [ST_ALERT_FIND] = "SELECT id, count, time, first_time FROM alerts"
                      " WHERE device = ?1 AND type = ?2 AND key = ?3 AND time >= ?4"
                      " ORDER BY time DESC, id DESC LIMIT 1",
    [ST_ALERT_MERGE] = "UPDATE alerts SET count = ?2, time = ?3, first_time = ?4 WHERE id = ?1",
    [ST_ALERT_INSERT] = "INSERT INTO alerts (" FINDING_COLUMNS ") VALUES (" FINDING_VALUES ")",

    [ST_REC_FIND] = "SELECT id, count, time, first_time FROM recommendations"
                    " WHERE device = ?1 AND type = ?2 AND key = ?3",
    [ST_REC_UPDATE] = "UPDATE recommendations SET count = ?2, time = ?3, first_time = ?4,"
                      " severity = ?5, message = ?6, remediation = ?7 WHERE id = ?1",
    [ST_REC_INSERT] = "INSERT INTO recommendations (" FINDING_COLUMNS ") VALUES (" FINDING_VALUES ")",
    [ST_REC_DELETE] = "DELETE FROM recommendations WHERE device = ?1 AND type = ?2 AND key = ?3",

    [ST_ALERTS_ALL] = "SELECT id, " FINDING_COLUMNS " FROM alerts WHERE time >= ?1"
                      " ORDER BY time, id LIMIT ?2",
    [ST_ALERTS_DEVICE] = "SELECT id, " FINDING_COLUMNS " FROM alerts WHERE device = ?3 AND time >= ?1"
                         " ORDER BY time, id LIMIT ?2",
    [ST_RECS_ALL] = "SELECT id, " FINDING_COLUMNS " FROM recommendations WHERE time >= ?1"
                    " ORDER BY time, id LIMIT ?2",
    [ST_RECS_DEVICE] = "SELECT id, " FINDING_COLUMNS " FROM recommendations WHERE device = ?3"
                       " AND time >= ?1 ORDER BY time, id LIMIT ?2",
    [ST_REPORT_RAW] = "SELECT raw FROM reports WHERE device = ?1 AND boot_id = ?2 AND seq = ?3",
    [ST_ALERT_GET] = "SELECT id, " FINDING_COLUMNS " FROM alerts WHERE id = ?1",
    [ST_REC_GET] = "SELECT id, " FINDING_COLUMNS " FROM recommendations WHERE id = ?1",
    [ST_UNIT_SAVEPOINT] = "SAVEPOINT store_unit",
    [ST_STREAM_SPAN] = "SELECT min(seq), max(seq), count(*) FROM reports WHERE device = ?1 AND boot_id = ?2",
    [ST_UNIT_RELEASE] = "RELEASE store_unit",
    [ST_UNIT_ROLLBACK_TO] = "ROLLBACK TO store_unit",
};

struct store {
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
    bool listing;           /* a list statement is being stepped (fn is running) */
    store_stats_t stats;
    char err[512];
};

/* ---- errors ---- */

static void fail(store_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records why the current call fails. */
static void fail(store_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    s->stats.errors++;
}

/* Records a failure of SQLite, naming what we were doing. */
static void fail_db(store_t *s, const char *what, int rc)
{
    fail(s, "%s: %s (%s)", what, sqlite3_errmsg(s->db), sqlite3_errstr(rc));
}

/* ---- statements: bind, step, reset ---- */

/* Collects the first bind failure so a call binds everything, then checks once. */
typedef struct {
    sqlite3_stmt *st;
    int rc;
} bind_t;

static void bind_i64(bind_t *b, int i, int64_t v)
{
    if (b->rc == SQLITE_OK)
        b->rc = sqlite3_bind_int64(b->st, i, v);
}

/* Text is bound without copying (SQLITE_STATIC): the caller's buffer lives
 * until the statement is reset and its bindings cleared, in the same call. */
static void bind_text(bind_t *b, int i, const char *text, size_t max)
{
    if (b->rc == SQLITE_OK)
        b->rc = sqlite3_bind_text(b->st, i, text, (int)strnlen(text, max), SQLITE_STATIC);
}

static void bind_blob(bind_t *b, int i, const void *data, size_t len)
{
    if (b->rc != SQLITE_OK)
        return;
    if (len == 0)
        b->rc = sqlite3_bind_zeroblob(b->st, i, 0);     /* NULL data would bind SQL NULL */
    else
        b->rc = sqlite3_bind_blob(b->st, i, data, (int)len, SQLITE_STATIC);
}

static void bind_null(bind_t *b, int i)
{
    if (b->rc == SQLITE_OK)
        b->rc = sqlite3_bind_null(b->st, i);
}

/* Starts binding statement `id` (done() cleared the bindings of its last use). */
static bind_t bind_start(store_t *s, int id)
{
    bind_t b = { s->st[id], SQLITE_OK };
    return b;
}

static bool bind_check(store_t *s, const bind_t *b, const char *what)
{
    if (b->rc == SQLITE_OK)
        return true;
    fail_db(s, what, b->rc);
    return false;
}

/* Makes a statement ready for its next use and drops pointers to the caller's memory. */
static void done(store_t *s, int id)
{
    sqlite3_reset(s->st[id]);
    sqlite3_clear_bindings(s->st[id]);
}

/* Runs a statement that returns no row. */
static bool run(store_t *s, int id, const char *what)
{
    int rc = sqlite3_step(s->st[id]);
    if (rc != SQLITE_DONE)
        fail_db(s, what, rc);
    done(s, id);
    return rc == SQLITE_DONE;
}

/* ---- transactions ---- */

/* Makes one store call atomic: its own transaction in autocommit mode, else
 * a savepoint inside the caller's transaction. */
static bool call_begin(store_t *s, bool *own)
{
    *own = sqlite3_get_autocommit(s->db) != 0;
    return run(s, *own ? ST_BEGIN : ST_SAVEPOINT, *own ? "begin transaction" : "savepoint");
}

/* Ends what call_begin started: keeps the call's writes when ok, else undoes
 * them (errors while undoing are ignored: the first reason is the one kept). */
static bool call_end(store_t *s, bool own, bool ok)
{
    if (ok) {
        if (run(s, own ? ST_COMMIT : ST_RELEASE, own ? "commit" : "release savepoint"))
            return true;
    }
    if (own) {
        if (!sqlite3_get_autocommit(s->db)) {
            sqlite3_step(s->st[ST_ROLLBACK]);
            done(s, ST_ROLLBACK);
        }
    } else {
        /* Some errors (I/O, out of memory) roll back the caller's whole
         * transaction; the savepoint is then gone and these two fail, harmlessly. */
        sqlite3_step(s->st[ST_ROLLBACK_TO]);
        done(s, ST_ROLLBACK_TO);
        sqlite3_step(s->st[ST_RELEASE]);
        done(s, ST_RELEASE);
    }
    return false;
}

bool store_begin(store_t *s)
{
    return run(s, ST_BEGIN, "begin transaction");
}

bool store_commit(store_t *s)
{
    if (run(s, ST_COMMIT, "commit"))
        return true;
    /* A commit that failed (disk full, I/O) may leave the transaction open:
     * close it, so the next call does not run inside a doomed one. */
    if (!sqlite3_get_autocommit(s->db)) {
        sqlite3_step(s->st[ST_ROLLBACK]);
        done(s, ST_ROLLBACK);
    }
    return false;
}

void store_rollback(store_t *s)
{
    if (sqlite3_get_autocommit(s->db))
        return;     /* nothing open (SQLite may already have rolled back after an error) */
    run(s, ST_ROLLBACK, "rollback");
}

/* ---- open, migrate, close ---- */

/* Runs constant SQL at open time (pragmas, migration scripts): several
 * statements, no input, so sqlite3_exec is the right tool there. */
static bool exec_sql(store_t *s, const char *sql, const char *what)
{
    char *msg = NULL;
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        fail(s, "%s: %s (%s)", what, msg ? msg : sqlite3_errmsg(s->db), sqlite3_errstr(rc));
        sqlite3_free(msg);
        return false;
    }
    return true;
}

/* One integer from constant SQL at open time; *found is false when no row. */
static bool query_int(store_t *s, const char *sql, const char *what, int64_t *out, bool *found)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        *found = rc == SQLITE_ROW;
        if (rc == SQLITE_ROW)
            *out = sqlite3_column_int64(st, 0);
        if (rc == SQLITE_ROW || rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK)
        fail_db(s, what, rc);
    sqlite3_finalize(st);
    return rc == SQLITE_OK;
}

static bool set_journal_wal(store_t *s)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
    bool ok = false;
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *mode = (const char *)sqlite3_column_text(st, 0);
        /* The file system may not support WAL (no shared memory): then two
         * processes could not share the file as store.h promises. */
        if (mode && strcmp(mode, "wal") == 0)
            ok = true;
        else
            fail(s, "cannot put the database in WAL mode (journal mode stays \"%s\")", mode ? mode : "?");
    } else {
        fail_db(s, "set journal mode", rc);
    }
    sqlite3_finalize(st);
    return ok;
}

/* Reads the version inside the current transaction, creating the version
 * table in an empty database; refuses a database that is not ours. */
static bool read_version(store_t *s, int64_t *version)
{
    int64_t n = 0;
    bool found = false;
    if (!query_int(s, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
                   "read schema", &n, &found))
        return false;
    if (n == 0) {
        if (!query_int(s, "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
                       "read schema", &n, &found))
            return false;
        if (n != 0) {
            fail(s, "not a Vigil database: it has tables but no schema_version");
            return false;
        }
        if (!exec_sql(s, "CREATE TABLE schema_version (version INTEGER NOT NULL);"
                         "INSERT INTO schema_version (version) VALUES (0);", "create schema_version"))
            return false;
    }
    if (!query_int(s, "SELECT count(*) FROM schema_version", "read schema version", &n, &found))
        return false;
    if (n != 1) {
        fail(s, "schema_version must hold one row, it holds %lld", (long long)n);
        return false;
    }
    if (!query_int(s, "SELECT version FROM schema_version", "read schema version", version, &found))
        return false;
    if (*version < 0) {
        fail(s, "schema version %lld is not a version", (long long)*version);
        return false;
    }
    return true;
}

static bool migrate(store_t *s)
{
    for (;;) {
        if (!exec_sql(s, "BEGIN IMMEDIATE", "begin migration"))
            return false;
        int64_t v = 0;
        bool ok = read_version(s, &v);
        if (ok && v > STORE_SCHEMA_VERSION) {
            fail(s, "database schema version %lld is newer than this build understands (%d);"
                    " use a newer vigild", (long long)v, STORE_SCHEMA_VERSION);
            ok = false;
        }
        if (ok && v == STORE_SCHEMA_VERSION)
            return exec_sql(s, "COMMIT", "commit migration");
        if (ok) {
            char what[64];
            snprintf(what, sizeof what, "migration %lld -> %lld", (long long)v, (long long)v + 1);
            ok = exec_sql(s, migrations[v], what)
                 && exec_sql(s, "UPDATE schema_version SET version = version + 1", what)
                 && exec_sql(s, "COMMIT", what);
        }
        if (!ok) {
            if (!sqlite3_get_autocommit(s->db))
                sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return false;
        }
    }
}

static bool prepare_all(store_t *s)
{
    for (int i = 0; i < ST_COUNT; i++) {
        int rc = sqlite3_prepare_v3(s->db, statement_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
        if (rc != SQLITE_OK) {
            fail(s, "prepare statement %d: %s", i, sqlite3_errmsg(s->db));
            return false;
        }
    }
    return true;
}

static bool configure(store_t *s, const char *path)
{
    int rc = sqlite3_extended_result_codes(s->db, 1);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(s->db, 5000);
    if (rc != SQLITE_OK) {
        fail_db(s, "configure connection", rc);
        return false;
    }
    if (!exec_sql(s, "PRAGMA foreign_keys = ON", "enable foreign keys"))
        return false;
    if (strcmp(path, ":memory:") == 0)
        return true;
    return set_journal_wal(s) && exec_sql(s, "PRAGMA synchronous = FULL", "set synchronous");
}

store_t *store_open(const char *path, char *err, size_t err_size)
{
    if (err && err_size)
        err[0] = '\0';
    if (!path || !*path) {
        if (err && err_size)
            snprintf(err, err_size, "store_open: no database path");
        return NULL;
    }
    store_t *s = calloc(1, sizeof *s);
    if (!s) {
        if (err && err_size)
            snprintf(err, err_size, "store_open: out of memory");
        return NULL;
    }
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    bool ok = rc == SQLITE_OK;
    if (!ok)
        fail(s, "open: %s", s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
    ok = ok && configure(s, path) && migrate(s) && prepare_all(s);
    if (!ok) {
        if (err && err_size)
            snprintf(err, err_size, "%s: %s", path, s->err);
        store_close(s);
        return NULL;
    }
    s->err[0] = '\0';
    return s;
}

void store_close(store_t *s)
{
    if (!s)
        return;
    if (s->db && !sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->st[i]);
    sqlite3_close(s->db);
    free(s);
}

int store_schema_version(store_t *s)
{
    int rc = sqlite3_step(s->st[ST_VERSION]);
    int v = -1;
    if (rc == SQLITE_ROW)
        v = sqlite3_column_int(s->st[ST_VERSION], 0);
    else
        fail_db(s, "read schema version", rc);
    done(s, ST_VERSION);
    return v;
}

const char *store_last_error(store_t *s)
{
    return s->err;
}

void store_get_stats(store_t *s, store_stats_t *out)
{
    *out = s->stats;
}

/* ---- reading columns ---- */

/* Copies a text column into a fixed field; a longer value is cut before the
 * character it would split (at most 3 continuation bytes back). */
static void copy_text(char *dst, size_t size, sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t n = t ? (size_t)sqlite3_column_bytes(st, col) : 0;
    if (n >= size) {
        n = size - 1;
        for (int i = 0; i < 3 && n > 0 && (t[n] & 0xc0) == 0x80; i++)
            n--;
    }
    if (n)
        memcpy(dst, t, n);
    dst[n] = '\0';
}

static uint64_t column_counter(sqlite3_stmt *st, int col)
{
    int64_t v = sqlite3_column_int64(st, col);
    return v < 0 ? 0 : (uint64_t)v;
}

static int64_t counter_value(uint64_t v)
{
    return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* ---- validation of input ---- */

static bool check_device_id(store_t *s, const char *device, const char *what)
{
    if (!device) {
        fail(s, "%s: no device id", what);
        return false;
    }
    size_t n = strnlen(device, STORE_MAX_DEVICE_ID + 1);
    if (n == 0 || n > STORE_MAX_DEVICE_ID) {
        fail(s, "%s: device id must be 1 to %u bytes", what, STORE_MAX_DEVICE_ID);
        return false;
    }
    return true;
}

/* ---- reports and ack points ---- */

/* Recomputes a stream's row from its reports (a new stream). */
static bool stream_recompute(store_t *s, const char *device, uint32_t boot_id, int64_t *low, int64_t *ack)
{
    bind_t b = bind_start(s, ST_STREAM_MIN);
    bind_text(&b, 1, device, STORE_MAX_DEVICE_ID);
    bind_i64(&b, 2, boot_id);
    if (!bind_check(s, &b, "find lowest report")) {
        done(s, ST_STREAM_MIN);
        return false;
    }
    int rc = sqlite3_step(s->st[ST_STREAM_MIN]);
    bool ok = rc == SQLITE_ROW && sqlite3_column_type(s->st[ST_STREAM_MIN], 0) != SQLITE_NULL;
    if (ok)
        *low = sqlite3_column_int64(s->st[ST_STREAM_MIN], 0);
    else if (rc == SQLITE_ROW)
        fail(s, "find lowest report: no report stored for the stream");
    else
        fail_db(s, "find lowest report", rc);
    done(s, ST_STREAM_MIN);
    if (!ok)
        return false;

    b = bind_start(s, ST_STREAM_FIRST_GAP);
    bind_text(&b, 1, device, STORE_MAX_DEVICE_ID);
    bind_i64(&b, 2, boot_id);
    if (!bind_check(s, &b, "find first gap")) {
        done(s, ST_STREAM_FIRST_GAP);
        return false;
    }
    rc = sqlite3_step(s->st[ST_STREAM_FIRST_GAP]);
    ok = rc == SQLITE_ROW;
    if (ok)
        *ack = sqlite3_column_int64(s->st[ST_STREAM_FIRST_GAP], 0);
    else
        fail_db(s, "find first gap", rc);
    done(s, ST_STREAM_FIRST_GAP);
    return ok;
}

/* Moves ack over the stored seqs that follow it without a gap. */
static bool stream_extend(store_t *s, const char *device, uint32_t boot_id, int64_t *ack)
{
    bind_t b = bind_start(s, ST_STREAM_AFTER);
    bind_text(&b, 1, device, STORE_MAX_DEVICE_ID);
    bind_i64(&b, 2, boot_id);
    bind_i64(&b, 3, *ack);
    if (!bind_check(s, &b, "extend ack point")) {
        done(s, ST_STREAM_AFTER);
        return false;
    }
    int rc;
    while ((rc = sqlite3_step(s->st[ST_STREAM_AFTER])) == SQLITE_ROW) {
        if (sqlite3_column_int64(s->st[ST_STREAM_AFTER], 0) != *ack + 1)
            break;
        (*ack)++;
    }
    bool ok = rc == SQLITE_ROW || rc == SQLITE_DONE;
    if (!ok)
        fail_db(s, "extend ack point", rc);
    done(s, ST_STREAM_AFTER);
    return ok;
}

/* Reads a stream's row; *found false when there is none. */
static bool stream_get(store_t *s, const char *device, uint32_t boot_id, bool *found, int64_t *low, int64_t *ack)
{
    bind_t b = bind_start(s, ST_STREAM_GET);
    bind_text(&b, 1, device, STORE_MAX_DEVICE_ID);
    bind_i64(&b, 2, boot_id);
    if (!bind_check(s, &b, "read ack point")) {
        done(s, ST_STREAM_GET);
        return false;
    }
    int rc = sqlite3_step(s->st[ST_STREAM_GET]);
    *found = rc == SQLITE_ROW;
    if (*found) {
        *low = sqlite3_column_int64(s->st[ST_STREAM_GET], 0);
        *ack = sqlite3_column_int64(s->st[ST_STREAM_GET], 1);
    } else if (rc != SQLITE_DONE) {
        fail_db(s, "read ack point", rc);
    }
    done(s, ST_STREAM_GET);
    return rc == SQLITE_ROW || rc == SQLITE_DONE;
}

/* Keeps the streams invariant after `seq` was inserted (see the top). */
static bool stream_update(store_t *s, const char *device, uint32_t boot_id, uint32_t seq)
{
    bool found;
    int64_t low = 0, ack = 0;
    if (!stream_get(s, device, boot_id, &found, &low, &ack))
        return false;
    if (!found) {
        if (!stream_recompute(s, device, boot_id, &low, &ack))
            return false;
    } else if (seq < low) {
        /* A new lowest: the run now starts at seq; it reaches the old run
         * only if seq is right below it (seq + 1 < low is not stored, as
         * low was the lowest). */
        if ((int64_t)seq + 1 != low)
            ack = seq;
        low = seq;
    } else if ((int64_t)seq == ack + 1) {
        if (!stream_extend(s, device, boot_id, &ack))
            return false;
    } else {
        return true;    /* inside the run (impossible: duplicate) or beyond a gap */
    }
    bind_t b = bind_start(s, ST_STREAM_PUT);
    bind_text(&b, 1, device, STORE_MAX_DEVICE_ID);
    bind_i64(&b, 2, boot_id);
    bind_i64(&b, 3, low);
    bind_i64(&b, 4, ack);
    if (!bind_check(s, &b, "write ack point")) {
        done(s, ST_STREAM_PUT);
        return false;
    }
    return run(s, ST_STREAM_PUT, "write ack point");
}

store_result_t store_put_report(store_t *s, const char *device, uint32_t boot_id, uint32_t seq,
                                uint32_t period_start, uint32_t period_end, int64_t received_at,
                                const uint8_t *raw, size_t raw_len)
{
    if (!check_device_id(s, device, "store report"))
        return STORE_ERROR;
    if (!raw && raw_len) {
        fail(s, "store report: no bytes for a report of %zu bytes", raw_len);
        return STORE_ERROR;
    }
    if (raw_len > STORE_MAX_RAW_BYTES) {
        fail(s, "store report: %zu bytes is above the limit of %u", raw_len, STORE_MAX_RAW_BYTES);
        return STORE_ERROR;
    }
    bool own;
    if (!call_begin(s, &own))
        return STORE_ERROR;
    bind_t b = bind_start(s, ST_REPORT_PUT);
    bind_text(&b, 1, device, STORE_MAX_DEVICE_ID);
    bind_i64(&b, 2, boot_id);
    bind_i64(&b, 3, seq);
    bind_i64(&b, 4, period_start);
    bind_i64(&b, 5, period_end);
    bind_i64(&b, 6, received_at);
    bind_blob(&b, 7, raw, raw_len);
    if (!bind_check(s, &b, "store report")) {
        done(s, ST_REPORT_PUT);
        call_end(s, own, false);
        return STORE_ERROR;
    }
    int rc = sqlite3_step(s->st[ST_REPORT_PUT]);
    done(s, ST_REPORT_PUT);
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        /* Already stored: undo nothing-but-the-savepoint, report the duplicate. */
        if (!call_end(s, own, true))
            return STORE_ERROR;
        s->stats.reports_duplicate++;
        return STORE_DUPLICATE;
    }
    bool ok = rc == SQLITE_DONE;
    if (!ok)
        fail_db(s, "store report", rc);
    ok = ok && stream_update(s, device, boot_id, seq);
    if (!call_end(s, own, ok))
        return STORE_ERROR;
    s->stats.reports_stored++;
    return STORE_OK;
}

bool store_ack_point(store_t *s, const char *device, uint32_t boot_id, uint32_t *seq)
{
    if (!check_device_id(s, device, "read ack point"))
        return false;
    bool found;
    int64_t low = 0, ack = 0;
    if (!stream_get(s, device, boot_id, &found, &low, &ack))
        return false;
    s->err[0] = '\0';
    if (!found)
        return false;
    if (seq)
        *seq = (uint32_t)ack;
    return true;
}

bool store_stream_run(store_t *s, const char *device, uint32_t boot_id, uint32_t *low, uint32_t *ack)
{
    if (!check_device_id(s, device, "read ack point"))
        return false;
    bool found;
    int64_t lo = 0, hi = 0;
    if (!stream_get(s, device, boot_id, &found, &lo, &hi))
        return false;
    s->err[0] = '\0';
    if (!found)
        return false;
    *low = (uint32_t)lo;
    *ack = (uint32_t)hi;
    return true;
}

int64_t store_count_reports(store_t *s, const char *device, uint32_t boot_id)
{
    if (!check_device_id(s, device, "count reports"))
        return -1;
    bind_t b = bind_start(s, ST_REPORT_COUNT);
    bind_text(&b, 1, device, STORE_MAX_DEVICE_ID);
    bind_i64(&b, 2, boot_id);
    int64_t n = -1;
    if (bind_check(s, &b, "count reports")) {
        int rc = sqlite3_step(s->st[ST_REPORT_COUNT]);
        if (rc == SQLITE_ROW)
            n = sqlite3_column_int64(s->st[ST_REPORT_COUNT], 0);
        else
            fail_db(s, "count reports", rc);
    }
    done(s, ST_REPORT_COUNT);
    return n;
}

/* ---- devices ---- */

store_result_t store_put_device(store_t *s, const store_device_t *d)
{
    if (!d) {
        fail(s, "store device: no device");
        return STORE_ERROR;
    }
    if (!check_device_id(s, d->id, "store device"))
        return STORE_ERROR;
    bind_t b = bind_start(s, ST_DEVICE_PUT);
    bind_text(&b, 1, d->id, sizeof d->id);
    bind_text(&b, 2, d->group, sizeof d->group);
    bind_text(&b, 3, d->tags, sizeof d->tags);
    bind_i64(&b, 4, d->first_seen);
    bind_i64(&b, 5, d->last_seen);
    bind_i64(&b, 6, d->boot_id);
    bind_i64(&b, 7, d->last_seq);
    bind_text(&b, 8, d->agent_version, sizeof d->agent_version);
    bind_text(&b, 9, d->os_name, sizeof d->os_name);
    bind_text(&b, 10, d->os_version, sizeof d->os_version);
    bind_text(&b, 11, d->firmware_version, sizeof d->firmware_version);
    bind_text(&b, 12, d->device_model, sizeof d->device_model);
    bind_i64(&b, 13, counter_value(d->reports));
    bind_i64(&b, 14, counter_value(d->rejected));
    if (!bind_check(s, &b, "store device")) {
        done(s, ST_DEVICE_PUT);
        return STORE_ERROR;
    }
    /* One statement: atomic on its own, in or outside a transaction. */
    return run(s, ST_DEVICE_PUT, "store device") ? STORE_OK : STORE_ERROR;
}

static void row_to_device(sqlite3_stmt *st, store_device_t *d)
{
    memset(d, 0, sizeof *d);
    copy_text(d->id, sizeof d->id, st, 0);
    copy_text(d->group, sizeof d->group, st, 1);
    copy_text(d->tags, sizeof d->tags, st, 2);
    d->first_seen = sqlite3_column_int64(st, 3);
    d->last_seen = sqlite3_column_int64(st, 4);
    d->boot_id = (uint32_t)sqlite3_column_int64(st, 5);
    d->last_seq = (uint32_t)sqlite3_column_int64(st, 6);
    copy_text(d->agent_version, sizeof d->agent_version, st, 7);
    copy_text(d->os_name, sizeof d->os_name, st, 8);
    copy_text(d->os_version, sizeof d->os_version, st, 9);
    copy_text(d->firmware_version, sizeof d->firmware_version, st, 10);
    copy_text(d->device_model, sizeof d->device_model, st, 11);
    d->reports = column_counter(st, 12);
    d->rejected = column_counter(st, 13);
}

bool store_get_device(store_t *s, const char *id, store_device_t *out)
{
    if (!check_device_id(s, id, "read device"))
        return false;
    bind_t b = bind_start(s, ST_DEVICE_GET);
    bind_text(&b, 1, id, STORE_MAX_DEVICE_ID);
    bool found = false;
    if (bind_check(s, &b, "read device")) {
        int rc = sqlite3_step(s->st[ST_DEVICE_GET]);
        if (rc == SQLITE_ROW) {
            found = true;
            if (out)
                row_to_device(s->st[ST_DEVICE_GET], out);
        } else if (rc == SQLITE_DONE) {
            s->err[0] = '\0';
        } else {
            fail_db(s, "read device", rc);
        }
    }
    done(s, ST_DEVICE_GET);
    return found;
}

/* Steps a listing statement, calling `row` for each row; refuses nesting,
 * since the inner listing would reset the outer one's statement. */
static bool list_rows(store_t *s, int id, const char *what, bool (*row)(store_t *s, sqlite3_stmt *st, void *ctx),
                      void *ctx)
{
    if (s->listing) {
        /* Not reset: `id` may be the statement the outer listing is stepping. */
        fail(s, "%s: called from inside another listing's callback", what);
        return false;
    }
    s->listing = true;
    int rc;
    bool ok = true;
    while (ok && (rc = sqlite3_step(s->st[id])) == SQLITE_ROW)
        ok = row(s, s->st[id], ctx);
    if (ok && rc != SQLITE_DONE) {
        fail_db(s, what, rc);
        ok = false;
    }
    done(s, id);
    s->listing = false;
    return ok;
}

typedef struct {
    void (*fn)(void *u, const store_device_t *d);
    void *u;
} device_list_t;

static bool device_row(store_t *s, sqlite3_stmt *st, void *ctx)
{
    (void)s;
    device_list_t *l = ctx;
    store_device_t d;
    row_to_device(st, &d);
    l->fn(l->u, &d);
    return true;
}

bool store_list_devices(store_t *s, void (*fn)(void *u, const store_device_t *d), void *u)
{
    if (!fn) {
        fail(s, "list devices: no callback");
        return false;
    }
    device_list_t l = { fn, u };
    return list_rows(s, ST_DEVICE_LIST, "list devices", device_row, &l);
}

/* ---- alerts and recommendations ---- */

static bool check_alert(store_t *s, const alert_t *a, int64_t window)
{
    if (!a) {
        fail(s, "store alert: no alert");
        return false;
    }
    if (!check_device_id(s, a->device, "store alert"))
        return false;
    const char *why = NULL;
    if (a->kind != ALERT_KIND_ALERT && a->kind != ALERT_KIND_RECOMMENDATION)
        why = "kind is neither alert nor recommendation";
    else if (strnlen(a->type, sizeof a->type) == 0)
        why = "empty type";
    else if ((unsigned)a->severity > ALERT_SEVERITY_CRITICAL)
        why = "severity out of range";
    else if ((unsigned)a->direction > ALERT_DIR_INBOUND)
        why = "direction out of range";
    else if (a->family != 0 && a->family != 4 && a->family != 6)
        why = "address family is not 0, 4 or 6";
    else if (a->count == 0)
        why = "count is 0";
    else if (window < 0)
        why = "negative dedup window";
    if (why) {
        fail(s, "store alert for %.*s: %s", (int)STORE_MAX_DEVICE_ID, a->device, why);
        return false;
    }
    return true;
}

/* Binds every column of FINDING_COLUMNS (?1..?18). */
static void bind_finding(bind_t *b, const alert_t *a, int64_t first_time)
{
    bind_text(b, 1, a->device, sizeof a->device);
    bind_text(b, 2, a->type, sizeof a->type);
    bind_text(b, 3, a->key, sizeof a->key);
    bind_i64(b, 4, a->severity);
    bind_i64(b, 5, a->time);
    bind_i64(b, 6, first_time);
    bind_i64(b, 7, counter_value(a->count));
    bind_i64(b, 8, a->proto);
    bind_i64(b, 9, a->family);
    if (a->family == 0)
        bind_null(b, 10);
    else
        bind_blob(b, 10, a->remote_addr, a->family == 4 ? 4 : 16);
    bind_i64(b, 11, a->remote_port);
    bind_i64(b, 12, a->local_port);
    bind_i64(b, 13, a->direction);
    if (a->has_indicator) {
        bind_text(b, 14, a->indicator_value, sizeof a->indicator_value);
        bind_text(b, 15, a->indicator_feed, sizeof a->indicator_feed);
        bind_text(b, 16, a->indicator_category, sizeof a->indicator_category);
    } else {
        bind_null(b, 14);
        bind_null(b, 15);
        bind_null(b, 16);
    }
    bind_text(b, 17, a->message, sizeof a->message);
    bind_text(b, 18, a->remediation, sizeof a->remediation);
}

typedef struct {
    bool found;
    int64_t id, count, time, first_time;
} existing_t;

/* Finds the row to merge into with a FIND statement bound to ?1..?3 (+ ?4). */
static bool find_existing(store_t *s, int id, const alert_t *a, bool with_since, int64_t since, existing_t *e)
{
    bind_t b = bind_start(s, id);
    bind_text(&b, 1, a->device, sizeof a->device);
    bind_text(&b, 2, a->type, sizeof a->type);
    bind_text(&b, 3, a->key, sizeof a->key);
    if (with_since)
        bind_i64(&b, 4, since);
    bool ok = bind_check(s, &b, "find finding");
    if (ok) {
        int rc = sqlite3_step(s->st[id]);
        e->found = rc == SQLITE_ROW;
        if (e->found) {
            e->id = sqlite3_column_int64(s->st[id], 0);
            e->count = sqlite3_column_int64(s->st[id], 1);
            e->time = sqlite3_column_int64(s->st[id], 2);
            e->first_time = sqlite3_column_int64(s->st[id], 3);
        } else if (rc != SQLITE_DONE) {
            fail_db(s, "find finding", rc);
            ok = false;
        }
    }
    done(s, id);
    return ok;
}

static int64_t add_saturating(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;   /* both >= 1 here */
}

static bool insert_finding(store_t *s, int id, const alert_t *a, int64_t first_time, int64_t *row_id)
{
    bind_t b = bind_start(s, id);
    bind_finding(&b, a, first_time);
    if (!bind_check(s, &b, "insert finding")) {
        done(s, id);
        return false;
    }
    if (!run(s, id, "insert finding"))
        return false;
    *row_id = sqlite3_last_insert_rowid(s->db);
    return true;
}

static bool put_alert_row(store_t *s, const alert_t *a, int64_t window, int64_t first, int64_t *row_id, bool *merged)
{
    /* The oldest last time that still merges, without overflowing. */
    int64_t since = a->time < INT64_MIN + window ? INT64_MIN : a->time - window;
    existing_t e = { 0 };
    if (!find_existing(s, ST_ALERT_FIND, a, true, since, &e))
        return false;
    *merged = e.found;
    if (!e.found)
        return insert_finding(s, ST_ALERT_INSERT, a, first, row_id);
    bind_t b = bind_start(s, ST_ALERT_MERGE);
    bind_i64(&b, 1, e.id);
    bind_i64(&b, 2, add_saturating(e.count, counter_value(a->count)));
    bind_i64(&b, 3, a->time > e.time ? a->time : e.time);
    bind_i64(&b, 4, first < e.first_time ? first : e.first_time);
    if (!bind_check(s, &b, "merge alert")) {
        done(s, ST_ALERT_MERGE);
        return false;
    }
    *row_id = e.id;
    return run(s, ST_ALERT_MERGE, "merge alert");
}

static bool put_recommendation_row(store_t *s, const alert_t *a, int64_t first, int64_t *row_id, bool *merged)
{
    existing_t e = { 0 };
    if (!find_existing(s, ST_REC_FIND, a, false, 0, &e))
        return false;
    *merged = e.found;
    if (!e.found)
        return insert_finding(s, ST_REC_INSERT, a, first, row_id);
    bind_t b = bind_start(s, ST_REC_UPDATE);
    bind_i64(&b, 1, e.id);
    bind_i64(&b, 2, add_saturating(e.count, counter_value(a->count)));
    bind_i64(&b, 3, a->time > e.time ? a->time : e.time);
    bind_i64(&b, 4, first < e.first_time ? first : e.first_time);
    bind_i64(&b, 5, a->severity);
    bind_text(&b, 6, a->message, sizeof a->message);
    bind_text(&b, 7, a->remediation, sizeof a->remediation);
    if (!bind_check(s, &b, "update recommendation")) {
        done(s, ST_REC_UPDATE);
        return false;
    }
    *row_id = e.id;
    return run(s, ST_REC_UPDATE, "update recommendation");
}

store_result_t store_put_alert(store_t *s, const alert_t *a, int64_t window, int64_t *row_id)
{
    if (!check_alert(s, a, window))
        return STORE_ERROR;
    int64_t first = a->first_time == 0 || a->first_time > a->time ? a->time : a->first_time;
    bool own, merged = false;
    int64_t id = 0;
    if (!call_begin(s, &own))
        return STORE_ERROR;
    bool ok = a->kind == ALERT_KIND_ALERT ? put_alert_row(s, a, window, first, &id, &merged)
                                          : put_recommendation_row(s, a, first, &id, &merged);
    if (!call_end(s, own, ok))
        return STORE_ERROR;
    if (row_id)
        *row_id = id;
    if (a->kind == ALERT_KIND_ALERT)
        *(merged ? &s->stats.alerts_merged : &s->stats.alerts_new) += 1;
    else
        *(merged ? &s->stats.recommendations_updated : &s->stats.recommendations_new) += 1;
    return merged ? STORE_DUPLICATE : STORE_OK;
}

store_result_t store_clear_recommendation(store_t *s, const char *device, const char *type, const char *key)
{
    if (!check_device_id(s, device, "clear recommendation"))
        return STORE_ERROR;
    if (!type || !key) {
        fail(s, "clear recommendation: no type or key");
        return STORE_ERROR;
    }
    bind_t b = bind_start(s, ST_REC_DELETE);
    bind_text(&b, 1, device, STORE_MAX_DEVICE_ID);
    bind_text(&b, 2, type, sizeof ((alert_t *)0)->type);
    bind_text(&b, 3, key, sizeof ((alert_t *)0)->key);
    if (!bind_check(s, &b, "clear recommendation")) {
        done(s, ST_REC_DELETE);
        return STORE_ERROR;
    }
    if (!run(s, ST_REC_DELETE, "clear recommendation"))
        return STORE_ERROR;
    s->stats.recommendations_cleared += (uint64_t)sqlite3_changes(s->db);
    return STORE_OK;
}

/* Fills an alert from a listing row: id, then FINDING_COLUMNS. A row that
 * breaks the schema's invariants (written by something else) is an error. */
static bool row_to_alert(store_t *s, sqlite3_stmt *st, alert_kind_t kind, alert_t *a)
{
    memset(a, 0, sizeof *a);
    a->kind = kind;
    int64_t id = sqlite3_column_int64(st, 0);
    copy_text(a->device, sizeof a->device, st, 1);
    copy_text(a->type, sizeof a->type, st, 2);
    copy_text(a->key, sizeof a->key, st, 3);
    int64_t severity = sqlite3_column_int64(st, 4);
    a->time = sqlite3_column_int64(st, 5);
    a->first_time = sqlite3_column_int64(st, 6);
    a->count = column_counter(st, 7);
    int64_t proto = sqlite3_column_int64(st, 8);
    int64_t family = sqlite3_column_int64(st, 9);
    const void *addr = sqlite3_column_blob(st, 10);
    int addr_len = sqlite3_column_bytes(st, 10);
    int64_t rport = sqlite3_column_int64(st, 11);
    int64_t lport = sqlite3_column_int64(st, 12);
    int64_t direction = sqlite3_column_int64(st, 13);
    a->has_indicator = sqlite3_column_type(st, 14) != SQLITE_NULL;
    copy_text(a->indicator_value, sizeof a->indicator_value, st, 14);
    copy_text(a->indicator_feed, sizeof a->indicator_feed, st, 15);
    copy_text(a->indicator_category, sizeof a->indicator_category, st, 16);
    copy_text(a->message, sizeof a->message, st, 17);
    copy_text(a->remediation, sizeof a->remediation, st, 18);

    const char *why = NULL;
    if (severity < 0 || severity > ALERT_SEVERITY_CRITICAL)
        why = "severity";
    else if (proto < 0 || proto > 255)
        why = "proto";
    else if (!((family == 0 && addr_len == 0) || (family == 4 && addr_len == 4) || (family == 6 && addr_len == 16)))
        why = "remote address";
    else if (rport < 0 || rport > 65535 || lport < 0 || lport > 65535)
        why = "port";
    else if (direction < 0 || direction > ALERT_DIR_INBOUND)
        why = "direction";
    if (why) {
        fail(s, "%s row %lld has a malformed %s",
             kind == ALERT_KIND_ALERT ? "alerts" : "recommendations", (long long)id, why);
        return false;
    }
    a->severity = (alert_severity_t)severity;
    a->proto = (uint8_t)proto;
    a->family = (uint8_t)family;
    if (addr_len)
        memcpy(a->remote_addr, addr, (size_t)addr_len);
    a->remote_port = (uint16_t)rport;
    a->local_port = (uint16_t)lport;
    a->direction = (alert_direction_t)direction;
    return true;
}

typedef struct {
    alert_kind_t kind;
    void (*fn)(void *u, const alert_t *a);
    void *u;
} alert_list_t;

static bool alert_row(store_t *s, sqlite3_stmt *st, void *ctx)
{
    alert_list_t *l = ctx;
    alert_t a;
    if (!row_to_alert(s, st, l->kind, &a))
        return false;
    l->fn(l->u, &a);
    return true;
}

bool store_list_alerts(store_t *s, const store_query_t *q, void (*fn)(void *u, const alert_t *a), void *u)
{
    if (!q || !fn) {
        fail(s, "list alerts: no query or callback");
        return false;
    }
    if (q->kind != ALERT_KIND_ALERT && q->kind != ALERT_KIND_RECOMMENDATION) {
        fail(s, "list alerts: kind is neither alert nor recommendation");
        return false;
    }
    if (q->device && !check_device_id(s, q->device, "list alerts"))
        return false;
    bool recs = q->kind == ALERT_KIND_RECOMMENDATION;
    int id = q->device ? (recs ? ST_RECS_DEVICE : ST_ALERTS_DEVICE) : (recs ? ST_RECS_ALL : ST_ALERTS_ALL);
    if (s->listing) {       /* checked before binding: binding would disturb the running listing */
        fail(s, "list alerts: called from inside another listing's callback");
        return false;
    }
    bind_t b = bind_start(s, id);
    bind_i64(&b, 1, q->since);
    /* LIMIT -1 is SQLite's "no limit". */
    bind_i64(&b, 2, q->limit == 0 ? -1 : q->limit > (size_t)INT64_MAX ? INT64_MAX : (int64_t)q->limit);
    if (q->device)
        bind_text(&b, 3, q->device, STORE_MAX_DEVICE_ID);
    if (!bind_check(s, &b, "list alerts")) {
        done(s, id);
        return false;
    }
    alert_list_t l = { q->kind, fn, u };
    return list_rows(s, id, "list alerts", alert_row, &l);
}

/* ---- single rows ---- */

bool store_report_matches(store_t *s, const char *device, uint32_t boot_id, uint32_t seq, const uint8_t *raw,
                          size_t raw_len)
{
    if (!check_device_id(s, device, "compare report"))
        return false;
    bind_t b = bind_start(s, ST_REPORT_RAW);
    bind_text(&b, 1, device, STORE_MAX_DEVICE_ID);
    bind_i64(&b, 2, boot_id);
    bind_i64(&b, 3, seq);
    if (!bind_check(s, &b, "compare report")) {
        done(s, ST_REPORT_RAW);
        return false;
    }
    s->err[0] = '\0';
    bool same = false;
    int rc = sqlite3_step(s->st[ST_REPORT_RAW]);
    if (rc == SQLITE_ROW) {
        const void *stored = sqlite3_column_blob(s->st[ST_REPORT_RAW], 0);
        size_t len = (size_t)sqlite3_column_bytes(s->st[ST_REPORT_RAW], 0);
        same = len == raw_len && (len == 0 || (stored && raw && memcmp(stored, raw, len) == 0));
    } else if (rc != SQLITE_DONE) {
        fail_db(s, "compare report", rc);
    }
    done(s, ST_REPORT_RAW);
    return same;
}

bool store_get_alert(store_t *s, alert_kind_t kind, int64_t row_id, alert_t *out)
{
    int id = kind == ALERT_KIND_RECOMMENDATION ? ST_REC_GET : ST_ALERT_GET;
    if (s->listing) {
        fail(s, "get alert: called from inside a listing's callback");
        return false;
    }
    bind_t b = bind_start(s, id);
    bind_i64(&b, 1, row_id);
    if (!bind_check(s, &b, "get alert")) {
        done(s, id);
        return false;
    }
    s->err[0] = '\0';
    bool found = false;
    int rc = sqlite3_step(s->st[id]);
    if (rc == SQLITE_ROW)
        found = row_to_alert(s, s->st[id], kind, out);
    else if (rc != SQLITE_DONE)
        fail_db(s, "get alert", rc);
    done(s, id);
    return found;
}

/* ---- units inside a transaction ---- */

bool store_unit_begin(store_t *s)
{
    if (sqlite3_get_autocommit(s->db)) {
        fail(s, "unit: no transaction is open");
        return false;
    }
    return run(s, ST_UNIT_SAVEPOINT, "begin unit");
}

bool store_unit_commit(store_t *s)
{
    return run(s, ST_UNIT_RELEASE, "end unit");
}

void store_unit_rollback(store_t *s)
{
    /* After some errors SQLite has already rolled the whole transaction back
     * and the savepoint is gone: these then fail, harmlessly. */
    sqlite3_step(s->st[ST_UNIT_ROLLBACK_TO]);
    done(s, ST_UNIT_ROLLBACK_TO);
    sqlite3_step(s->st[ST_UNIT_RELEASE]);
    done(s, ST_UNIT_RELEASE);
}

bool store_in_transaction(store_t *s)
{
    return !sqlite3_get_autocommit(s->db);
}

bool store_stream_span(store_t *s, const char *device, uint32_t boot_id, uint32_t *low, uint32_t *high,
                       uint64_t *missing)
{
    if (!check_device_id(s, device, "stream span"))
        return false;
    bind_t b = bind_start(s, ST_STREAM_SPAN);
    bind_text(&b, 1, device, STORE_MAX_DEVICE_ID);
    bind_i64(&b, 2, boot_id);
    if (!bind_check(s, &b, "stream span")) {
        done(s, ST_STREAM_SPAN);
        return false;
    }
    s->err[0] = '\0';
    bool found = false;
    int rc = sqlite3_step(s->st[ST_STREAM_SPAN]);
    if (rc == SQLITE_ROW && sqlite3_column_type(s->st[ST_STREAM_SPAN], 0) != SQLITE_NULL) {
        int64_t lo = sqlite3_column_int64(s->st[ST_STREAM_SPAN], 0);
        int64_t hi = sqlite3_column_int64(s->st[ST_STREAM_SPAN], 1);
        int64_t count = sqlite3_column_int64(s->st[ST_STREAM_SPAN], 2);
        *low = (uint32_t)lo;
        *high = (uint32_t)hi;
        *missing = (uint64_t)(hi - lo + 1 - count);
        found = true;
    } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        fail_db(s, "stream span", rc);
    }
    done(s, ST_STREAM_SPAN);
    return found;
}
