/*
 * pipeline.c - a report through decode, store, registry, continuity, threat
 * intel, custom rules and hygiene, in one store transaction.
 *
 * It must never let a refused report touch anything but counters, and never
 * commit half of what a report caused.
 */
#define _POSIX_C_SOURCE 200809L
#include "pipeline.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "continuity.h"
#include "hygiene.h"
#include "registry.h"

#define INTEL_PER_FLOW 4           /* matches kept per flow; the count is total */
#define CONTINUITY_ENTRIES 1000000u
#define CONTINUITY_TTL 3600u

struct pipeline {
    store_t *store;
    intel_t *intel;
    policy_t *policy;
    alert_sink_fn on_finding;
    void *user;

    registry_t *registry;
    continuity_t *continuity;
    policy_eval_t *eval;
    hygiene_t *hygiene;

    /* Per report: the device's group and its dedup window, and whether a
     * store write failed (then the transaction is rolled back). */
    char group[64];
    uint32_t window;
    bool failed;
    bool in_batch;             /* a transaction spans several reports; each is a savepoint */
    bool last_valid;           /* the last report was decoded and not rejected */
    uint32_t last_boot, last_seq;

    intel_query_t *queries;
    size_t *counts;
    intel_match_t *matches;
    size_t query_cap;

    int64_t *touched;
    size_t touched_count, touched_cap;
    int64_t *touched_set;      /* open addressing, row + 1; 0 = empty */
    size_t touched_mask;

    pipeline_stats_t stats;
};

static void say(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(char *why, size_t size, const char *fmt, ...)
{
    if (!why || !size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, size, fmt, ap);
    va_end(ap);
}

pipeline_t *pipeline_new(store_t *store, intel_t *intel, policy_t *policy, alert_sink_fn on_finding,
                         void *user)
{
    pipeline_t *p = calloc(1, sizeof *p);
    if (!p) {
        policy_free(policy);
        return NULL;
    }
    p->store = store;
    p->intel = intel;
    p->policy = policy ? policy : policy_default();
    p->on_finding = on_finding;
    p->user = user;
    p->registry = registry_new(store);
    p->continuity = continuity_new(CONTINUITY_ENTRIES, CONTINUITY_TTL);
    p->eval = policy_eval_new();
    p->hygiene = hygiene_new();
    p->touched_mask = 1023;
    p->touched_set = calloc(p->touched_mask + 1, sizeof *p->touched_set);
    if (!p->policy || !p->registry || !p->continuity || !p->eval || !p->hygiene || !p->touched_set) {
        pipeline_free(p);
        return NULL;
    }
    return p;
}

void pipeline_free(pipeline_t *p)
{
    if (!p)
        return;
    policy_free(p->policy);
    registry_free(p->registry);
    continuity_free(p->continuity);
    policy_eval_free(p->eval);
    hygiene_free(p->hygiene);
    free(p->queries);
    free(p->counts);
    free(p->matches);
    free(p->touched);
    free(p->touched_set);
    free(p);
}

void pipeline_set_policy(pipeline_t *p, policy_t *policy)
{
    if (!policy)
        return;
    policy_free(p->policy);
    p->policy = policy;
}

const policy_t *pipeline_policy(const pipeline_t *p)
{
    return p->policy;
}

/* ---- findings into the store ---- */

static void touch(pipeline_t *p, int64_t row)
{
    if ((p->touched_count + 1) * 2 > p->touched_mask + 1) {
        size_t size = (p->touched_mask + 1) * 2;
        int64_t *set = calloc(size, sizeof *set);
        if (!set)
            return;
        for (size_t i = 0; i < p->touched_count; i++) {
            size_t s = (size_t)(p->touched[i] * 0x9e3779b97f4a7c15ull) & (size - 1);
            while (set[s])
                s = (s + 1) & (size - 1);
            set[s] = p->touched[i] + 1;
        }
        free(p->touched_set);
        p->touched_set = set;
        p->touched_mask = size - 1;
    }
    size_t s = (size_t)(row * 0x9e3779b97f4a7c15ull) & p->touched_mask;
    while (p->touched_set[s]) {
        if (p->touched_set[s] == row + 1)
            return;
        s = (s + 1) & p->touched_mask;
    }
    if (p->touched_count == p->touched_cap) {
        size_t cap = p->touched_cap ? p->touched_cap * 2 : 256;
        int64_t *t = realloc(p->touched, cap * sizeof *t);
        if (!t)
            return;
        p->touched = t;
        p->touched_cap = cap;
    }
    p->touched_set[s] = row + 1;
    p->touched[p->touched_count++] = row;
}

static void on_finding(void *user, const alert_t *a)
{
    pipeline_t *p = user;
    if (p->on_finding)
        p->on_finding(p->user, a);
    int64_t row = 0;
    if (store_put_alert(p->store, a, p->window, &row) == STORE_ERROR) {
        p->failed = true;
        return;
    }
    /* Alerts and recommendations are rows of two tables: the kind is the low bit. */
    touch(p, row * 2 + (a->kind == ALERT_KIND_RECOMMENDATION));
    if (a->kind == ALERT_KIND_ALERT)
        p->stats.alerts++;
    else
        p->stats.recommendations++;
}

static void on_clear(void *user, const char *device, const char *type, const char *key)
{
    pipeline_t *p = user;
    if (store_clear_recommendation(p->store, device, type, key) == STORE_ERROR)
        p->failed = true;
    else
        p->stats.cleared++;
}

static void hygiene_settings_of(const policy_t *policy, const char *group, hygiene_settings_t *out)
{
    const policy_hygiene_t *h = policy_hygiene(policy, group);
    memset(out, 0, sizeof *out);
    snprintf(out->min_agent_version, sizeof out->min_agent_version, "%s", h->min_agent_version);
    snprintf(out->min_os_version, sizeof out->min_os_version, "%s", h->min_os_version);
    snprintf(out->min_firmware_version, sizeof out->min_firmware_version, "%s", h->min_firmware_version);
    out->silent_intervals = h->silent_intervals;
    out->clock_skew_max = h->clock_skew_max;
}

/* A device met for the first time by this process starts from what the
 * store holds for it, so another run's recommendations are withdrawn when
 * their cause goes and not raised again. */
static void seed_row(void *user, const alert_t *a)
{
    hygiene_seed(user, a->device, a->type, a->key);
}

static bool seed_hygiene(pipeline_t *p, const char *device)
{
    if (hygiene_has_device(p->hygiene, device))
        return true;
    store_query_t q = { device, ALERT_KIND_RECOMMENDATION, INT64_MIN, 0 };
    bool ok = store_list_alerts(p->store, &q, seed_row, p->hygiene);
    /* Known even with no recommendation, so the store is asked once. */
    hygiene_seed(p->hygiene, device, "", "");
    return ok;
}

/* ---- threat intelligence ---- */

static bool reserve_queries(pipeline_t *p, size_t n)
{
    if (n <= p->query_cap)
        return true;
    size_t cap = p->query_cap ? p->query_cap : 64;
    while (cap < n)
        cap *= 2;
    intel_query_t *q = realloc(p->queries, cap * sizeof *q);
    if (q)
        p->queries = q;
    size_t *c = realloc(p->counts, cap * sizeof *c);
    if (c)
        p->counts = c;
    intel_match_t *m = realloc(p->matches, cap * INTEL_PER_FLOW * sizeof *m);
    if (m)
        p->matches = m;
    if (!q || !c || !m)
        return false;
    p->query_cap = cap;
    return true;
}

static alert_severity_t intel_severity(const intel_match_t *m, bool outbound)
{
    if (m->confidence < 50)
        return ALERT_SEVERITY_MEDIUM;
    return outbound && m->confidence >= 80 ? ALERT_SEVERITY_CRITICAL : ALERT_SEVERITY_HIGH;
}

static const char *proto_text(uint8_t proto, uint8_t family)
{
    const char *name = alert_proto_name(proto, family);
    return name ? name : "ip";
}

static void raise_intel(pipeline_t *p, const report_t *r, const report_flow_t *f, const intel_match_t *m,
                        size_t total)
{
    alert_t a;
    memset(&a, 0, sizeof a);
    a.kind = ALERT_KIND_ALERT;
    say(a.type, sizeof a.type, "threat_intel");
    bool outbound = !f->remote_initiated;
    a.severity = intel_severity(m, outbound);
    say(a.device, sizeof a.device, "%s", r->device_id);
    a.time = (int64_t)f->last_seen;
    a.first_time = (int64_t)f->first_seen;
    a.proto = f->proto;
    /* An IPv4-mapped remote is the IPv4 address it maps, as the lookup and
     * remote_not_allowed see it: one remote, one key, one spelling. */
    static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    a.family = f->family;
    if (f->family == 6 && memcmp(f->remote_addr, v4_mapped, sizeof v4_mapped) == 0) {
        a.family = 4;
        memcpy(a.remote_addr, f->remote_addr + 12, 4);
    } else {
        memcpy(a.remote_addr, f->remote_addr, sizeof a.remote_addr);
    }
    a.remote_port = f->remote_port;
    a.local_port = f->local_port;
    a.direction = outbound ? ALERT_DIR_OUTBOUND : ALERT_DIR_INBOUND;
    a.has_indicator = true;
    intel_net_format(&m->net, a.indicator_value, sizeof a.indicator_value);
    say(a.indicator_feed, sizeof a.indicator_feed, "%s", m->feed);
    say(a.indicator_category, sizeof a.indicator_category, "%s", m->category);
    char remote[64];
    report_format_addr(a.family, a.remote_addr, remote, sizeof remote);
    say(a.key, sizeof a.key, "%s:%s", proto_text(f->proto, f->family), remote);
    a.count = 1;
    char more[48] = "";
    if (total > 1)
        say(more, sizeof more, "; %zu indicators in all", total);
    char endpoint[80];
    if (a.family == 6)
        say(endpoint, sizeof endpoint, "[%s]", remote);
    else
        say(endpoint, sizeof endpoint, "%s", remote);
    const char *proto = proto_text(f->proto, f->family);
    if (f->proto == REPORT_PROTO_ICMP)
        say(a.message, sizeof a.message,
            "%s exchanged %s with %s (%s), listed as %s by feed %s (indicator %s, confidence %u%s).", a.device,
            proto, remote, outbound ? "device-initiated" : "remote-initiated", m->category, m->feed,
            a.indicator_value, (unsigned)m->confidence, more);
    else if (outbound)
        say(a.message, sizeof a.message,
            "%s opened %s to %s:%u, listed as %s by feed %s (indicator %s, confidence %u%s).", a.device, proto,
            endpoint, (unsigned)f->remote_port, m->category, m->feed, a.indicator_value,
            (unsigned)m->confidence, more);
    else
        say(a.message, sizeof a.message,
            "%s accepted %s from %s on port %u, listed as %s by feed %s (indicator %s, confidence %u%s).",
            a.device, proto, endpoint, (unsigned)f->local_port, m->category, m->feed, a.indicator_value,
            (unsigned)m->confidence, more);
    on_finding(p, &a);
}

static void check_intel(pipeline_t *p, const report_t *r)
{
    if (!p->intel || r->flow_count == 0)
        return;
    if (!reserve_queries(p, r->flow_count)) {
        p->failed = true;
        return;
    }
    for (size_t i = 0; i < r->flow_count; i++) {
        p->queries[i].family = r->flows[i].family;
        memcpy(p->queries[i].addr, r->flows[i].remote_addr, 16);
    }
    intel_lookup_batch(p->intel, p->queries, r->flow_count, (int64_t)r->period_end, p->matches,
                       INTEL_PER_FLOW, p->counts);
    for (size_t i = 0; i < r->flow_count; i++) {
        if (p->counts[i] == 0)
            continue;
        p->stats.intel_matches++;
        raise_intel(p, r, &r->flows[i], &p->matches[i * INTEL_PER_FLOW], p->counts[i]);
    }
}

/* ---- units: a transaction per report, or a savepoint inside a batch ---- */

static bool unit_begin(pipeline_t *p)
{
    return p->in_batch ? store_unit_begin(p->store) : store_begin(p->store);
}

static bool unit_commit(pipeline_t *p)
{
    return p->in_batch ? store_unit_commit(p->store) : store_commit(p->store);
}

static void unit_rollback(pipeline_t *p)
{
    if (p->in_batch)
        store_unit_rollback(p->store);
    else
        store_rollback(p->store);
}

bool pipeline_batch_begin(pipeline_t *p)
{
    if (p->in_batch || !store_begin(p->store))
        return false;
    p->in_batch = true;
    return true;
}

bool pipeline_batch_commit(pipeline_t *p)
{
    if (!p->in_batch)
        return false;
    p->in_batch = false;
    if (store_commit(p->store))
        return true;
    store_rollback(p->store);
    p->stats.errors++;
    return false;
}

void pipeline_batch_rollback(pipeline_t *p)
{
    if (!p->in_batch)
        return;
    p->in_batch = false;
    store_rollback(p->store);
}

bool pipeline_last_report(const pipeline_t *p, uint32_t *boot_id, uint32_t *seq)
{
    if (!p->last_valid)
        return false;
    *boot_id = p->last_boot;
    *seq = p->last_seq;
    return true;
}

bool pipeline_ack_point(pipeline_t *p, const char *device, uint32_t boot_id, uint32_t *seq)
{
    return store_ack_point(p->store, device, boot_id, seq);
}

/* ---- the report ---- */

static void window_for_device(pipeline_t *p, const char *device);

static pipeline_result_t fail(pipeline_t *p, char *why, size_t why_size)
{
    unit_rollback(p);
    p->stats.errors++;
    say(why, why_size, "store: %s", store_last_error(p->store));
    return PIPELINE_ERROR;
}

pipeline_result_t pipeline_ingest(pipeline_t *p, const char *topic_device, const uint8_t *buf, size_t len,
                                  int64_t received_at, char *why, size_t why_size)
{
    p->stats.received++;
    p->last_valid = false;
    report_t *r = NULL;
    report_error_t err;
    if (report_decode(buf, len, &r, &err) != REPORT_OK) {
        p->stats.rejected++;
        p->stats.rejected_by_reason[err.code]++;
        say(why, why_size, "%s (%s)", err.message, report_reject_name(err.code));
        if (topic_device && unit_begin(p)) {
            if (registry_count_rejected(p->registry, topic_device, received_at) && unit_commit(p))
                return PIPELINE_REJECTED;
            unit_rollback(p);
        }
        return PIPELINE_REJECTED;
    }
    if (topic_device && strcmp(topic_device, r->device_id) != 0) {
        p->stats.rejected++;
        p->stats.topic_mismatch++;
        say(why, why_size, "report names device '%s' but came from '%s'", r->device_id, topic_device);
        if (unit_begin(p)) {
            if (registry_count_rejected(p->registry, topic_device, received_at) && unit_commit(p)) {
                report_free(r);
                return PIPELINE_REJECTED;
            }
            unit_rollback(p);
        }
        report_free(r);
        return PIPELINE_REJECTED;
    }

    p->last_valid = true;
    p->last_boot = r->boot_id;
    p->last_seq = r->seq;
    int64_t seen_at = received_at != HYGIENE_TIME_UNKNOWN ? received_at : (int64_t)r->period_end;
    p->failed = false;
    if (!unit_begin(p)) {
        report_free(r);
        p->stats.errors++;
        say(why, why_size, "store: %s", store_last_error(p->store));
        return PIPELINE_ERROR;
    }
    store_result_t put = store_put_report(p->store, r->device_id, r->boot_id, r->seq, r->period_start,
                                          r->period_end, seen_at, buf, len);
    if (put == STORE_ERROR) {
        report_free(r);
        return fail(p, why, why_size);
    }
    if (put == STORE_DUPLICATE) {
        bool same = store_report_matches(p->store, r->device_id, r->boot_id, r->seq, buf, len);
        pipeline_result_t result = PIPELINE_DUPLICATE;
        if (!same) {
            /* Not analysed: the registry must not take the replayed copy's
             * versions, times or count (registry_observe is for new
             * reports); only its group's dedup window is needed. */
            window_for_device(p, r->device_id);
            hygiene_out_t out = { on_finding, on_clear, p };
            hygiene_replayed(p->hygiene, r, &out);
            if (p->failed) {
                report_free(r);
                return fail(p, why, why_size);
            }
            result = PIPELINE_REPLAY;
        }
        if (!unit_commit(p)) {
            report_free(r);
            return fail(p, why, why_size);
        }
        if (result == PIPELINE_REPLAY)
            p->stats.replays++;
        else
            p->stats.duplicates++;
        report_free(r);
        return result;
    }

    const store_device_t *d = registry_observe(p->registry, p->policy, r, seen_at);
    if (!d) {
        report_free(r);
        return fail(p, why, why_size);
    }
    snprintf(p->group, sizeof p->group, "%s", d->group);
    p->window = policy_hygiene(p->policy, p->group)->alert_window;

    continuity_apply(p->continuity, r);
    check_intel(p, r);
    policy_eval_report(p->eval, p->policy, r->device_id, p->group, r, on_finding, p);
    hygiene_settings_t settings;
    hygiene_settings_of(p->policy, p->group, &settings);
    hygiene_out_t out = { on_finding, on_clear, p };
    if (!seed_hygiene(p, r->device_id))
        p->failed = true;
    hygiene_report(p->hygiene, &settings, r, received_at, &out);

    if (p->failed || !unit_commit(p)) {
        report_free(r);
        return fail(p, why, why_size);
    }
    p->stats.stored++;
    p->stats.flows += r->flow_count;
    report_free(r);
    return PIPELINE_STORED;
}

typedef struct {
    pipeline_t *p;
    hygiene_settings_t settings;
} settings_lookup_t;

static bool missing_in_store(void *user, const char *device, uint32_t boot_id, uint32_t *low, uint32_t *high,
                             uint64_t *missing)
{
    settings_lookup_t *l = user;
    if (store_stream_span(l->p->store, device, boot_id, low, high, missing))
        return true;
    if (store_last_error(l->p->store)[0])
        l->p->failed = true;
    return false;
}

static const hygiene_settings_t *settings_for(void *user, const char *device)
{
    settings_lookup_t *l = user;
    store_device_t d;
    const char *group = store_get_device(l->p->store, device, &d) ? d.group : POLICY_DEFAULT_GROUP;
    hygiene_settings_of(l->p->policy, group, &l->settings);
    return &l->settings;
}

/* The dedup window of a finding raised outside a report (tick, flush). */
static void window_for_device(pipeline_t *p, const char *device)
{
    store_device_t d;
    const char *group = store_get_device(p->store, device, &d) ? d.group : POLICY_DEFAULT_GROUP;
    p->window = policy_hygiene(p->policy, group)->alert_window;
}

static void on_tick_finding(void *user, const alert_t *a)
{
    pipeline_t *p = user;
    window_for_device(p, a->device);
    on_finding(p, a);
}

bool pipeline_tick(pipeline_t *p, int64_t now, bool final)
{
    if (!unit_begin(p))
        return false;
    p->failed = false;
    settings_lookup_t lookup = { p, { { 0 }, { 0 }, { 0 }, 0, 0 } };
    hygiene_out_t out = { on_tick_finding, on_clear, p };
    hygiene_tick_t how = { settings_for, missing_in_store, &lookup };
    hygiene_tick(p->hygiene, now, &how, &out);
    /* An open window already above its max is news now, not at its close
     * (a device that stops reporting would never close it); each max is
     * raised once per window. Mins wait for the close, or forever when
     * the input ends (`final`): a partial window proves no minimum. */
    (void)final;
    policy_eval_flush(p->eval, p->policy, on_tick_finding, p);
    if (p->failed || !unit_commit(p)) {
        unit_rollback(p);
        p->stats.errors++;
        return false;
    }
    return true;
}

size_t pipeline_touched(const pipeline_t *p, size_t index, alert_kind_t *kind, int64_t *row)
{
    if (index < p->touched_count) {
        *kind = (p->touched[index] & 1) ? ALERT_KIND_RECOMMENDATION : ALERT_KIND_ALERT;
        *row = p->touched[index] >> 1;
    }
    return p->touched_count;
}

void pipeline_get_stats(const pipeline_t *p, pipeline_stats_t *stats)
{
    *stats = p->stats;
}
