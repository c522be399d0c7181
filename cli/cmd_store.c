/*
 * cmd_store.c - the store's contents for operators:
 *   vigil devices [--db FILE] [--json]
 *   vigil devices tag [--db FILE] DEVICE TAG[,TAG...]   (an empty list clears)
 *   vigil alerts [--db FILE] [--device ID] [--since UNIX] [--limit N] [--json]
 *   vigil recommendations [--db FILE] [--device ID] [--json]
 * The database is --db, else $VIGIL_DB, else ./vigil.db; it must exist: a
 * query never creates an empty database by mistake.
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "commands.h"
#include "findings.h"
#include "registry.h"
#include "store.h"

typedef struct {
    const char *prog;
    const char *db;
    const char *device;
    long long since;
    unsigned long limit;
    bool json;
} query_options_t;

static store_t *open_existing(const query_options_t *o)
{
    if (access(o->db, F_OK) != 0) {
        fprintf(stderr, "%s: %s: no such database (give --db FILE or set VIGIL_DB)\n", o->prog, o->db);
        return NULL;
    }
    char err[512];
    store_t *s = store_open(o->db, err, sizeof err);
    if (!s)
        fprintf(stderr, "%s: %s: %s\n", o->prog, o->db, err);
    return s;
}

/* Parses the common options; returns the index of the first operand, or -1 (exit 2) / -2 (help). */
static int parse(int argc, char **argv, query_options_t *o, const char *usage_text)
{
    enum { OPT_DB = 256, OPT_DEVICE, OPT_SINCE, OPT_LIMIT, OPT_JSON, OPT_HELP };
    static const struct option longopts[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"device", required_argument, NULL, OPT_DEVICE},
        {"since", required_argument, NULL, OPT_SINCE},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    const char *env = getenv("VIGIL_DB");
    o->db = env && *env ? env : "vigil.db";
    int c;
    opterr = 0;
    optind = 1;
    char *end;
    while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_DB: o->db = optarg; break;
        case OPT_DEVICE: o->device = optarg; break;
        case OPT_JSON: o->json = true; break;
        case OPT_SINCE:
            o->since = strtoll(optarg, &end, 10);
            if (!*optarg || *end) {
                fprintf(stderr, "%s: --since takes unix seconds\n", o->prog);
                return -1;
            }
            break;
        case OPT_LIMIT:
            o->limit = strtoul(optarg, &end, 10);
            if (*optarg < '0' || *optarg > '9' || *end) {
                fprintf(stderr, "%s: --limit takes a number\n", o->prog);
                return -1;
            }
            break;
        case OPT_HELP: fputs(usage_text, stdout); return -2;
        default:
            fprintf(stderr, "%s: unknown or incomplete option '%s'\n%s", o->prog, argv[optind - 1], usage_text);
            return -1;
        }
    }
    return optind;
}

/* ---- devices ---- */

typedef struct {
    bool json;
    bool failed;
    size_t count;
} device_printer_t;

static void print_device(void *user, const store_device_t *d)
{
    device_printer_t *p = user;
    p->count++;
    if (p->json) {
        char buf[sizeof d->tags];
        const char *tags[REGISTRY_MAX_TAGS];
        size_t n = registry_split_tags(d->tags, buf, sizeof buf, tags);
        json_t *jt = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(jt, json_string(tags[i]));
        json_t *j = json_pack("{s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:I}",
                              "id", d->id, "group", d->group, "tags", jt, "first_seen", (json_int_t)d->first_seen,
                              "last_seen", (json_int_t)d->last_seen, "boot_id", (json_int_t)d->boot_id,
                              "last_seq", (json_int_t)d->last_seq, "agent_version", d->agent_version,
                              "os_name", d->os_name, "os_version", d->os_version, "firmware_version",
                              d->firmware_version, "device_model", d->device_model, "reports",
                              (json_int_t)d->reports, "rejected", (json_int_t)d->rejected);
        char *text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(j);
        if (!text || printf("%s\n", text) < 0)
            p->failed = true;
        free(text);
        return;
    }
    char first[32], last[32];
    findings_format_time(d->first_seen, first, sizeof first);
    findings_format_time(d->last_seen, last, sizeof last);
    if (p->count == 1 && printf("%-24s %-12s %-20s %-20s %-20s %-8s %-10s %-12s %-10s %s\n", "DEVICE", "GROUP",
                                "TAGS", "FIRST SEEN", "LAST SEEN", "BOOT", "SEQ", "FIRMWARE", "REPORTS",
                                "REJECTED") < 0)
        p->failed = true;
    if (printf("%-24s %-12s %-20s %-20s %-20s %08x %-10u %-12s %-10llu %llu\n", d->id, d->group,
               d->tags[0] ? d->tags : "-", first, last, (unsigned)d->boot_id, (unsigned)d->last_seq,
               d->firmware_version[0] ? d->firmware_version : "-", (unsigned long long)d->reports,
               (unsigned long long)d->rejected) < 0)
        p->failed = true;
}

static int devices_tag(query_options_t *o, int argc, char **argv, int first)
{
    if (argc - first != 2) {
        fprintf(stderr, "%s: usage: vigil devices tag [--db FILE] DEVICE TAG[,TAG...]\n", o->prog);
        return 2;
    }
    store_t *s = open_existing(o);
    if (!s)
        return 2;
    store_device_t d;
    int rc = 0;
    if (!store_get_device(s, argv[first], &d)) {
        fprintf(stderr, "%s: no device '%s' in %s\n", o->prog, argv[first], o->db);
        rc = 2;
    } else if (strlen(argv[first + 1]) >= sizeof d.tags) {
        fprintf(stderr, "%s: tags longer than %zu bytes\n", o->prog, sizeof d.tags - 1);
        rc = 2;
    } else {
        snprintf(d.tags, sizeof d.tags, "%s", argv[first + 1]);
        if (store_put_device(s, &d) != STORE_OK) {
            fprintf(stderr, "%s: %s\n", o->prog, store_last_error(s));
            rc = 2;
        }
    }
    store_close(s);
    return rc;
}

int cmd_devices(int argc, char **argv)
{
    static const char usage_text[] = "usage: vigil devices [--db FILE] [--json]\n"
                                     "       vigil devices tag [--db FILE] DEVICE TAG[,TAG...]\n";
    query_options_t o = { "vigil devices", NULL, NULL, 0, 0, false };
    int first = parse(argc, argv, &o, usage_text);
    if (first < 0)
        return first == -2 ? 0 : 2;
    if (first < argc && strcmp(argv[first], "tag") == 0) {
        o.prog = "vigil devices tag";
        /* Options may follow "tag" too. */
        int next = parse(argc - first, argv + first, &o, usage_text);
        if (next < 0)
            return next == -2 ? 0 : 2;
        return devices_tag(&o, argc - first, argv + first, next);
    }
    if (first < argc) {
        fprintf(stderr, "vigil devices: unexpected argument '%s'\n%s", argv[first], usage_text);
        return 2;
    }
    store_t *s = open_existing(&o);
    if (!s)
        return 2;
    device_printer_t p = { o.json, false, 0 };
    bool ok = store_list_devices(s, print_device, &p);
    if (!ok)
        fprintf(stderr, "vigil devices: %s\n", store_last_error(s));
    store_close(s);
    return ok && !p.failed && fflush(stdout) == 0 ? 0 : 2;
}

/* ---- alerts and recommendations ---- */

typedef struct {
    alert_t *items;
    size_t count, cap;
    bool failed;
} collected_t;

static void collect(void *user, const alert_t *a)
{
    collected_t *c = user;
    if (c->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        alert_t *items = realloc(c->items, cap * sizeof *items);
        if (!items) {
            c->failed = true;
            return;
        }
        c->items = items;
        c->cap = cap;
    }
    c->items[c->count++] = *a;
}

static int list_findings(query_options_t *o, alert_kind_t kind, int argc, int first, char **argv)
{
    if (first < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", o->prog, argv[first]);
        return 2;
    }
    store_t *s = open_existing(o);
    if (!s)
        return 2;
    store_query_t q = { o->device, kind, o->since, o->limit };
    collected_t c = { NULL, 0, 0, false };
    bool ok = store_list_alerts(s, &q, collect, &c);
    if (!ok)
        fprintf(stderr, "%s: %s\n", o->prog, store_last_error(s));
    if (c.failed)
        fprintf(stderr, "%s: out of memory\n", o->prog);
    /* The store's order (time, then row) is kept: it is the order things happened. */
    bool printed = ok && !c.failed && findings_print(stdout, c.items, c.count, o->json);
    free(c.items);
    store_close(s);
    return printed ? 0 : 2;
}

int cmd_alerts(int argc, char **argv)
{
    static const char usage_text[] =
        "usage: vigil alerts [--db FILE] [--device ID] [--since UNIX] [--limit N] [--json]\n";
    query_options_t o = { "vigil alerts", NULL, NULL, 0, 0, false };
    int first = parse(argc, argv, &o, usage_text);
    if (first < 0)
        return first == -2 ? 0 : 2;
    return list_findings(&o, ALERT_KIND_ALERT, argc, first, argv);
}

int cmd_recommendations(int argc, char **argv)
{
    static const char usage_text[] = "usage: vigil recommendations [--db FILE] [--device ID] [--json]\n";
    query_options_t o = { "vigil recommendations", NULL, NULL, 0, 0, false };
    int first = parse(argc, argv, &o, usage_text);
    if (first < 0)
        return first == -2 ? 0 : 2;
    return list_findings(&o, ALERT_KIND_RECOMMENDATION, argc, first, argv);
}
