/*
 * analysis.c - set-up and output shared by `vigil scan` and `vigil analyze`.
 * A run either prints every finding it stored or says why it could not.
 */
#define _POSIX_C_SOURCE 200809L
#include "analysis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "findings.h"
#include "hygiene.h"
#include "intel_load.h"
#include "policy.h"

bool analysis_add_intel(analysis_options_t *o, const char *spec)
{
    if (o->intel_count == ANALYSIS_MAX_FEEDS) {
        fprintf(stderr, "%s: at most %d --intel feeds\n", o->prog, ANALYSIS_MAX_FEEDS);
        return false;
    }
    o->intel_specs[o->intel_count++] = spec;
    return true;
}

bool analysis_open(analysis_t *a, const analysis_options_t *o)
{
    memset(a, 0, sizeof *a);
    policy_t *policy = NULL;
    if (o->policy_path) {
        policy_error_t err;
        policy = policy_load_file(o->policy_path, &err);
        if (!policy) {
            if (err.line)
                fprintf(stderr, "%s: %s:%zu:%zu: %s\n", o->prog, err.file, err.line, err.column, err.reason);
            else
                fprintf(stderr, "%s: %s: %s\n", o->prog, err.file, err.reason);
            return false;
        }
    }
    char err[512];
    a->store = store_open(o->db_path ? o->db_path : ":memory:", err, sizeof err);
    if (!a->store) {
        fprintf(stderr, "%s: %s: %s\n", o->prog, o->db_path ? o->db_path : "in-memory store", err);
        policy_free(policy);
        return false;
    }
    if (o->intel_count) {
        a->intel = intel_new();
        if (!a->intel || !intel_load_specs(a->intel, o->intel_specs, o->intel_count, o->prog)) {
            policy_free(policy);
            analysis_close(a);
            return false;
        }
    }
    a->pipeline = pipeline_new(a->store, a->intel, policy, NULL, NULL);
    if (!a->pipeline) {
        fprintf(stderr, "%s: out of memory\n", o->prog);
        analysis_close(a);
        return false;
    }
    return true;
}

int analysis_finish(analysis_t *a, const analysis_options_t *o, bool had_errors)
{
    if (!pipeline_tick(a->pipeline, HYGIENE_TIME_UNKNOWN, true)) {
        fprintf(stderr, "%s: store: %s\n", o->prog, store_last_error(a->store));
        return 2;
    }
    alert_kind_t kind;
    int64_t row;
    size_t n = pipeline_touched(a->pipeline, 0, &kind, &row);
    alert_t *findings = n ? calloc(n, sizeof *findings) : NULL;
    if (n && !findings) {
        fprintf(stderr, "%s: out of memory\n", o->prog);
        return 2;
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        pipeline_touched(a->pipeline, i, &kind, &row);
        if (store_get_alert(a->store, kind, row, &findings[kept]))
            kept++;            /* a recommendation withdrawn since is gone */
        else if (store_last_error(a->store)[0]) {
            fprintf(stderr, "%s: store: %s\n", o->prog, store_last_error(a->store));
            free(findings);
            return 2;
        }
    }
    findings_sort(findings, kept);
    bool printed = findings_print(stdout, findings, kept, o->json);
    size_t alerts = 0;
    for (size_t i = 0; i < kept; i++)
        alerts += findings[i].kind == ALERT_KIND_ALERT;
    free(findings);

    pipeline_stats_t st;
    pipeline_get_stats(a->pipeline, &st);
    fprintf(stderr, "%s: %llu reports (%llu stored, %llu duplicate, %llu replayed, %llu rejected), "
            "%llu flows, %llu matched threat intelligence; %zu alerts, %zu recommendations\n",
            o->prog, (unsigned long long)st.received, (unsigned long long)st.stored,
            (unsigned long long)st.duplicates, (unsigned long long)st.replays, (unsigned long long)st.rejected,
            (unsigned long long)st.flows, (unsigned long long)st.intel_matches, alerts, kept - alerts);
    if (!printed) {
        fprintf(stderr, "%s: writing the findings failed\n", o->prog);
        return 2;
    }
    if (had_errors || st.errors)
        return 2;
    return kept ? 1 : 0;
}

void analysis_close(analysis_t *a)
{
    pipeline_free(a->pipeline);
    intel_free(a->intel);
    store_close(a->store);
    memset(a, 0, sizeof *a);
}
