/*
 * bench_analyze - the analyzer's throughput on reports libvigil encoded.
 *
 *   analyze_flows_per_s           flow records per second through decode,
 *                                 continuity, threat intel (1M indicators),
 *                                 the group's rules and hygiene, on one core,
 *                                 storage excluded
 *   analyze_reports_per_s_sqlite  reports per second through the whole
 *                                 pipeline into a SQLite file (WAL,
 *                                 synchronous=FULL: each report is durable
 *                                 before the next, as an acknowledgement needs)
 *
 * The traffic: DEVICES devices, PERIODS report periods each, FLOWS_PER_PERIOD
 * TCP flows per period (SYN out, SYN-ACK in, data out), 90% of them to the
 * group's allowed network, 10% to random Internet addresses, 1% to listed
 * ones. It prints figures and asserts nothing about them.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vigil.h"

#include "bench_util.h"

#include "continuity.h"
#include "hygiene.h"
#include "intel.h"
#include "pipeline.h"
#include "policy.h"
#include "report.h"
#include "store.h"

#define DEVICES 100
#define PERIODS 100
#define FLOWS_PER_PERIOD 60
#define INDICATORS 1000000
#define INTERVAL 60

typedef struct {
    uint8_t *data;
    size_t len;
} blob_t;

static blob_t *reports;
static size_t report_count, report_cap;
static uint32_t *listed;       /* addresses put in the feed and reached by 1% of flows */
static size_t listed_count;

static uint64_t rng = 0x9e3779b97f4a7c15ull;   /* bench_rand state */

static void keep(const uint8_t *msg, size_t len)
{
    if (report_count == report_cap) {
        report_cap = report_cap ? report_cap * 2 : 1024;
        reports = realloc(reports, report_cap * sizeof *reports);
        if (!reports)
            exit(2);
    }
    uint8_t *copy = malloc(len);
    if (!copy)
        exit(2);
    memcpy(copy, msg, len);
    reports[report_count++] = (blob_t){ copy, len };
}

static void drain(vigil_ctx_t *ctx)
{
    while (vigil_outbox_count(ctx) > 0) {
        const uint8_t *msg;
        size_t len;
        uint32_t seq;
        if (vigil_outbox_get(ctx, 0, &msg, &len, &seq) != VIGIL_OK)
            break;
        keep(msg, len);
        vigil_outbox_release(ctx, seq);
    }
}

static void generate(void)
{
    static vigil_ctx_t ctx;
    static uint8_t packet[40 + 1400];
    listed_count = DEVICES * PERIODS * FLOWS_PER_PERIOD / 100 + 1;
    listed = malloc(listed_count * sizeof *listed);
    for (size_t i = 0; i < listed_count; i++)
        listed[i] = (uint32_t)bench_rand(&rng) | 0x01000000u;
    size_t next_listed = 0;
    for (int d = 0; d < DEVICES; d++) {
        char id[32];
        snprintf(id, sizeof id, "bench-%04d", d);
        vigil_setup_t s;
        memset(&s, 0, sizeof s);
        vigil_config_default(&s.config);
        s.config.report_interval_s = INTERVAL;
        s.device_id = id;
        s.boot_id = (uint32_t)(1000 + d);
        s.now = 1700000000u;
        if (vigil_init(&ctx, &s) != VIGIL_OK)
            exit(2);
        uint32_t device = 0x0a010000u | (uint32_t)d;
        for (int p = 0; p < PERIODS; p++) {
            uint32_t t = s.now + (uint32_t)(p * INTERVAL);
            for (int f = 0; f < FLOWS_PER_PERIOD; f++) {
                uint64_t r = bench_rand(&rng);
                uint32_t remote;
                if (r % 100 == 0)
                    remote = listed[next_listed++ % listed_count];
                else if (r % 10 == 1)
                    remote = (uint32_t)(r >> 32);
                else
                    remote = 0x0a000000u | (uint32_t)((r >> 32) & 0xffffff);
                uint16_t sport = (uint16_t)(40000 + f);
                bench_tcp_packet(packet, device, remote, sport, 443, 0x02, 0, true);
                vigil_observe(&ctx, VIGIL_DIR_OUT, packet, 40, t + 1);
                bench_tcp_packet(packet, device, remote, sport, 443, 0x12, 0, false);
                vigil_observe(&ctx, VIGIL_DIR_IN, packet, 40, t + 1);
                bench_tcp_packet(packet, device, remote, sport, 443, 0x18, 1200, true);
                vigil_observe(&ctx, VIGIL_DIR_OUT, packet, 1240, t + 2);
            }
            if (vigil_poll(&ctx, t + INTERVAL) != VIGIL_OK)
                exit(2);
            drain(&ctx);
        }
        if (vigil_flush(&ctx, s.now + PERIODS * INTERVAL) != VIGIL_OK)
            exit(2);
        drain(&ctx);
    }
}

static intel_t *load_intel(void)
{
    intel_t *intel = intel_new();
    intel_set_t *set = intel_set_new("bench");
    for (size_t i = 0; i < listed_count; i++) {
        intel_net_t n = { 4, 32, { (uint8_t)(listed[i] >> 24), (uint8_t)(listed[i] >> 16),
                                   (uint8_t)(listed[i] >> 8), (uint8_t)listed[i] } };
        intel_set_add(set, &n, "c2", 90, INTEL_UNBOUNDED_FROM, INTEL_UNBOUNDED_UNTIL);
    }
    for (size_t i = listed_count; i < INDICATORS; i++) {
        uint64_t r = bench_rand(&rng);
        intel_net_t n = { 4, 32, { 0 } };
        if (r % 5 == 0) {
            n.family = 6;
            n.prefix = 128;
            n.addr[0] = 0x20;
            for (int b = 1; b < 16; b++)
                n.addr[b] = (uint8_t)(bench_rand(&rng) >> (b * 3));
        } else {
            uint32_t a = (uint32_t)(r >> 32);
            n.addr[0] = (uint8_t)(a >> 24);
            n.addr[1] = (uint8_t)(a >> 16);
            n.addr[2] = (uint8_t)(a >> 8);
            n.addr[3] = (uint8_t)a;
            if (r % 7 == 0) {
                n.prefix = 24;
                n.addr[3] = 0;
            }
        }
        intel_set_add(set, &n, "synthetic", 80, INTEL_UNBOUNDED_FROM, INTEL_UNBOUNDED_UNTIL);
    }
    intel_replace_feed(intel, set);
    return intel;
}

static const char policy_text[] =
    "version: 1\n"
    "groups:\n"
    "  - name: bench\n"
    "    members: { ids: [\"bench-*\"] }\n"
    "    rules:\n"
    "      remote_cidrs_allowed: { cidrs: [10.0.0.0/8] }\n"
    "      listening_ports_allowed: { ports: [\"tcp/8883\"] }\n"
    "      ranges:\n"
    "        - { metric: bytes_out, window: 300, max: 1000000000 }\n"
    "        - { metric: active_connections, window: 600, max: 100000 }\n"
    "        - { metric: distinct_remotes, window: 3600, max: 100000 }\n"
    "        - { metric: failed_outbound_tcp, window: 300, max: 1000 }\n";

static uint64_t findings;

static void count_finding(void *user, const alert_t *a)
{
    (void)user;
    (void)a;
    findings++;
}

static void count_clear(void *user, const char *device, const char *type, const char *key)
{
    (void)user;
    (void)device;
    (void)type;
    (void)key;
}

/* The stages without storage, as pipeline.c runs them. */
static double run_stages(intel_t *intel, const policy_t *policy, uint64_t *flows)
{
    continuity_t *cont = continuity_new(1000000, 3600);
    policy_eval_t *eval = policy_eval_new();
    hygiene_t *hyg = hygiene_new();
    hygiene_settings_t settings = { "", "", "", 3, 300 };
    hygiene_out_t out = { count_finding, count_clear, NULL };
    intel_query_t *queries = malloc(REPORT_MAX_FLOWS * sizeof *queries);
    size_t *counts = malloc(REPORT_MAX_FLOWS * sizeof *counts);
    intel_match_t *matches = malloc(REPORT_MAX_FLOWS * 4 * sizeof *matches);
    *flows = 0;
    double start = bench_now_s();
    for (size_t i = 0; i < report_count; i++) {
        report_t *r;
        report_error_t err;
        if (report_decode(reports[i].data, reports[i].len, &r, &err) != REPORT_OK) {
            fprintf(stderr, "bench_analyze: report %zu: %s\n", i, err.message);
            exit(2);
        }
        continuity_apply(cont, r);
        for (size_t f = 0; f < r->flow_count; f++) {
            queries[f].family = r->flows[f].family;
            memcpy(queries[f].addr, r->flows[f].remote_addr, 16);
        }
        intel_lookup_batch(intel, queries, r->flow_count, r->period_end, matches, 4, counts);
        for (size_t f = 0; f < r->flow_count; f++)
            findings += counts[f] > 0;
        policy_eval_report(eval, policy, r->device_id, "bench", r, count_finding, NULL);
        hygiene_report(hyg, &settings, r, HYGIENE_TIME_UNKNOWN, &out);
        *flows += r->flow_count;
        report_free(r);
    }
    double elapsed = bench_now_s() - start;
    free(queries);
    free(counts);
    free(matches);
    hygiene_free(hyg);
    policy_eval_free(eval);
    continuity_free(cont);
    return elapsed;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    double t0 = bench_now_s();
    generate();
    uint64_t bytes = 0;
    for (size_t i = 0; i < report_count; i++)
        bytes += reports[i].len;
    printf("# %d devices x %d periods x %d flows: %zu reports (%.0f B average) encoded by libvigil in %.2f s\n",
           DEVICES, PERIODS, FLOWS_PER_PERIOD, report_count, (double)bytes / (double)report_count, bench_now_s() - t0);

    t0 = bench_now_s();
    intel_t *intel = load_intel();
    intel_stats_t st;
    intel_get_stats(intel, &st);
    printf("# threat intel: %zu indicators loaded in %.2f s\n", st.indicators, bench_now_s() - t0);
    policy_error_t perr;
    policy_t *policy = policy_load_string("bench-policy", policy_text, sizeof policy_text - 1, &perr);
    if (!policy) {
        fprintf(stderr, "bench_analyze: policy: line %zu: %s\n", perr.line, perr.reason);
        return 2;
    }

    uint64_t flows;
    double elapsed = run_stages(intel, policy, &flows);
    printf("# stages without storage: %llu flows in %.3f s, %llu findings raised (before deduplication)\n",
           (unsigned long long)flows, elapsed, (unsigned long long)findings);
    printf("BENCH analyze_flows_per_s %.0f flows/s\n", (double)flows / elapsed);
    printf("BENCH analyze_reports_per_s %.0f reports/s\n", (double)report_count / elapsed);
    fflush(stdout);

    /* One durable commit per report, then batches of 1000 (as vigild commits). */
    for (int batched = 0; batched <= 1; batched++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/bench-analyze-%ld-%d.db", dir, (long)getpid(), batched);
        char err[512];
        store_t *store = store_open(path, err, sizeof err);
        if (!store) {
            fprintf(stderr, "bench_analyze: %s: %s\n", path, err);
            return 2;
        }
        policy_t *copy = policy_load_string("bench-policy", policy_text, sizeof policy_text - 1, &perr);
        pipeline_t *pipe = pipeline_new(store, intel, copy, NULL, NULL);
        double start = bench_now_s();
        for (size_t i = 0; i < report_count; i++) {
            if (batched && i % 1000 == 0 && !pipeline_batch_begin(pipe))
                return 2;
            char why[256];
            if (pipeline_ingest(pipe, NULL, reports[i].data, reports[i].len, HYGIENE_TIME_UNKNOWN, why,
                                sizeof why) != PIPELINE_STORED) {
                fprintf(stderr, "bench_analyze: report %zu: %s\n", i, why);
                return 2;
            }
            if (batched && (i % 1000 == 999 || i + 1 == report_count) && !pipeline_batch_commit(pipe))
                return 2;
        }
        elapsed = bench_now_s() - start;
        pipeline_stats_t ps;
        pipeline_get_stats(pipe, &ps);
        printf("# whole pipeline into SQLite (WAL, synchronous=FULL), %s: %zu reports in %.2f s; %llu alerts "
               "and %llu recommendations stored or merged\n",
               batched ? "1000 reports per commit" : "one commit per report", report_count, elapsed,
               (unsigned long long)ps.alerts, (unsigned long long)ps.recommendations);
        const char *suffix = batched ? "_batched" : "";
        printf("BENCH analyze_reports_per_s_sqlite%s %.0f reports/s\n", suffix, (double)report_count / elapsed);
        printf("BENCH analyze_flows_per_s_sqlite%s %.0f flows/s\n", suffix, (double)ps.flows / elapsed);
        fflush(stdout);
        pipeline_free(pipe);
        store_close(store);
        static const char *const suffixes[] = { "", "-wal", "-shm" };
        for (size_t k = 0; k < 3; k++) {
            char f[4200];
            snprintf(f, sizeof f, "%s%s", path, suffixes[k]);
            unlink(f);
        }
    }
    policy_free(policy);
    intel_free(intel);
    for (size_t i = 0; i < report_count; i++)
        free(reports[i].data);
    free(reports);
    free(listed);
    return 0;
}
