/*
 * bench_intel - measures the threat-intelligence matcher, and libmaxminddb
 * beside it on the very same indicators and queries.
 *
 *   bench_intel networks N [SEED]     the first N synthetic indicators, one CIDR per line
 *   bench_intel queries N HIT% [SEED] N query addresses, HIT% of them inside an indicator
 *   bench_intel run N [--peer-mmdb FILE --peer-n M] [--seed S]
 *
 * The synthetic mix (stated in the output): 60% IPv4 /32, 15% IPv4 prefixes
 * (/24../31 mostly, 5% /16../23, one in 100,000 /8../15), 20% IPv6 /128 and
 * 5% IPv6 prefixes (/32../64), addresses uniform (IPv6 within 2000::/3).
 * Queries: uniform random addresses of the same family mix, and a set where
 * 10% fall inside an indicator.
 *
 * It prints figures; it asserts nothing about them.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "intel.h"

typedef struct {
    uint64_t state;
} rng_t;

static uint64_t rng_next(rng_t *r)
{
    return bench_rand(&r->state);
}

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void random_v6(rng_t *r, uint8_t *addr)
{
    uint64_t a = rng_next(r), b = rng_next(r);
    for (int i = 0; i < 8; i++) {
        addr[i] = (uint8_t)(a >> (56 - 8 * i));
        addr[8 + i] = (uint8_t)(b >> (56 - 8 * i));
    }
    addr[0] = (uint8_t)(0x20 | (addr[0] & 0x1f));   /* 2000::/3 */
}

static void random_v4(rng_t *r, uint8_t *addr)
{
    uint32_t a = (uint32_t)rng_next(r);
    addr[0] = (uint8_t)(a >> 24);
    addr[1] = (uint8_t)(a >> 16);
    addr[2] = (uint8_t)(a >> 8);
    addr[3] = (uint8_t)a;
}

static void clear_host_bits(intel_net_t *n)
{
    unsigned bytes = n->family == 4 ? 4 : 16;
    for (unsigned i = 0; i < bytes; i++) {
        unsigned bit = i * 8;
        if (bit >= n->prefix)
            n->addr[i] = 0;
        else if (n->prefix - bit < 8)
            n->addr[i] &= (uint8_t)(0xff << (8 - (n->prefix - bit)));
    }
}

static void gen_indicator(rng_t *r, intel_net_t *n)
{
    memset(n, 0, sizeof *n);
    uint64_t pick = rng_next(r) % 100;
    if (pick < 75) {
        n->family = 4;
        random_v4(r, n->addr);
        if (pick < 60) {
            n->prefix = 32;
        } else {
            uint64_t u = rng_next(r);
            if (u % 100000 == 0)
                n->prefix = (uint8_t)(8 + (u >> 20) % 8);
            else if (u % 100 < 5)
                n->prefix = (uint8_t)(16 + (u >> 20) % 8);
            else
                n->prefix = (uint8_t)(24 + (u >> 20) % 8);
        }
    } else {
        n->family = 6;
        random_v6(r, n->addr);
        n->prefix = pick < 95 ? 128 : (uint8_t)(32 + rng_next(r) % 33);
    }
    clear_host_bits(n);
}

typedef intel_query_t query_t;

/* An address inside `n`: its network plus random host bits. */
static void inside(rng_t *r, const intel_net_t *n, query_t *q)
{
    q->family = n->family;
    unsigned bytes = n->family == 4 ? 4 : 16;
    uint8_t noise[16];
    random_v6(r, noise);
    for (unsigned i = 0; i < bytes; i++) {
        unsigned bit = i * 8;
        uint8_t host = bit >= n->prefix ? 0xff : n->prefix - bit < 8 ? (uint8_t)(0xff >> (n->prefix - bit)) : 0;
        q->addr[i] = (uint8_t)(n->addr[i] | (noise[i] & host));
    }
}

/* Builds the first `n` indicators into one set; keeps every tenth in `sample`. */
static intel_set_t *gen_set(const char *feed, size_t n, uint64_t seed, intel_net_t **sample, size_t *sampled)
{
    rng_t r = { seed };
    intel_set_t *set = intel_set_new(feed);
    if (sample) {
        *sample = malloc((n / 10 + 1) * sizeof **sample);
        *sampled = 0;
    }
    for (size_t i = 0; i < n; i++) {
        intel_net_t net;
        gen_indicator(&r, &net);
        if (!intel_set_add(set, &net, "synthetic", 90, INTEL_UNBOUNDED_FROM, INTEL_UNBOUNDED_UNTIL)) {
            fprintf(stderr, "bench_intel: out of memory at %zu indicators\n", i);
            exit(2);
        }
        if (sample && i % 10 == 0)
            (*sample)[(*sampled)++] = net;
    }
    return set;
}

static query_t *gen_queries(size_t n, unsigned hit_percent, const intel_net_t *sample, size_t sampled, uint64_t seed)
{
    rng_t r = { seed ^ 0x5151515151515151ull };
    query_t *q = calloc(n, sizeof *q);
    for (size_t i = 0; i < n; i++) {
        if (sampled && rng_next(&r) % 100 < hit_percent) {
            inside(&r, &sample[rng_next(&r) % sampled], &q[i]);
        } else if (rng_next(&r) % 100 < 75) {
            q[i].family = 4;
            random_v4(&r, q[i].addr);
        } else {
            q[i].family = 6;
            random_v6(&r, q[i].addr);
        }
    }
    return q;
}

/* Always with a prefix length: MaxMind's writer wants CIDR notation. */
static void print_net(const intel_net_t *n)
{
    char text[64];
    intel_net_format(n, text, sizeof text);
    if (strchr(text, '/'))
        puts(text);
    else
        printf("%s/%u\n", text, (unsigned)n->prefix);
}

/* ---- measurements ---- */

typedef struct {
    double per_s;
    uint64_t matched;
} rate_t;

static rate_t measure_intel(intel_t *intel, const query_t *q, size_t n)
{
    intel_match_t out[4];
    uint64_t done = 0, matched = 0;
    double start = bench_now_s(), elapsed;
    do {
        for (size_t i = 0; i < n; i++)
            matched += intel_lookup(intel, q[i].family, q[i].addr, 0, out, 4) > 0;
        done += n;
        elapsed = bench_now_s() - start;
    } while (elapsed < 1.0);
    return (rate_t){ (double)done / elapsed, matched * n / done };
}

/* The batch interface, in batches the size of a large report's flows. */
static rate_t measure_intel_batch(intel_t *intel, const query_t *q, size_t n)
{
    enum { BATCH = 256, MAX = 4 };
    static intel_match_t out[BATCH * MAX];
    size_t counts[BATCH];
    uint64_t done = 0, matched = 0;
    double start = bench_now_s(), elapsed;
    do {
        for (size_t i = 0; i < n; i += BATCH) {
            size_t k = n - i < BATCH ? n - i : BATCH;
            intel_lookup_batch(intel, q + i, k, 0, out, MAX, counts);
            for (size_t j = 0; j < k; j++)
                matched += counts[j] > 0;
        }
        done += n;
        elapsed = bench_now_s() - start;
    } while (elapsed < 1.0);
    return (rate_t){ (double)done / elapsed, matched * n / done };
}

static struct sockaddr_storage *to_sockaddrs(const query_t *q, size_t n)
{
    struct sockaddr_storage *sa = calloc(n, sizeof *sa);
    for (size_t i = 0; i < n; i++) {
        if (q[i].family == 4) {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&sa[i];
            s4->sin_family = AF_INET;
            memcpy(&s4->sin_addr, q[i].addr, 4);
        } else {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa[i];
            s6->sin6_family = AF_INET6;
            memcpy(&s6->sin6_addr, q[i].addr, 16);
        }
    }
    return sa;
}

static rate_t measure_mmdb(MMDB_s *db, const struct sockaddr_storage *sa, size_t n)
{
    uint64_t done = 0, matched = 0;
    double start = bench_now_s(), elapsed;
    do {
        for (size_t i = 0; i < n; i++) {
            int err;
            MMDB_lookup_result_s res = MMDB_lookup_sockaddr(db, (const struct sockaddr *)&sa[i], &err);
            matched += err == MMDB_SUCCESS && res.found_entry;
        }
        done += n;
        elapsed = bench_now_s() - start;
    } while (elapsed < 1.0);
    return (rate_t){ (double)done / elapsed, matched * n / done };
}

/* ---- the reader during an update ---- */

#define HIST_NS 1000000

typedef struct {
    intel_t *intel;
    const query_t *q;
    size_t n;
    volatile int phase;        /* 0 baseline, 1 during update, 2 stop */
    uint32_t *hist[2];
    uint64_t count[2];
} reader_t;

static void *reader_main(void *arg)
{
    reader_t *r = arg;
    intel_match_t out[4];
    size_t i = 0;
    int phase;
    while ((phase = r->phase) != 2) {
        uint64_t t0 = now_ns();
        intel_lookup(r->intel, r->q[i].family, r->q[i].addr, 0, out, 4);
        uint64_t dt = now_ns() - t0;
        r->hist[phase][dt < HIST_NS ? dt : HIST_NS - 1]++;
        r->count[phase]++;
        if (++i == r->n)
            i = 0;
    }
    return NULL;
}

static uint64_t percentile(const uint32_t *hist, uint64_t count, double p)
{
    uint64_t want = (uint64_t)((double)count * p), seen = 0;
    for (uint64_t ns = 0; ns < HIST_NS; ns++) {
        seen += hist[ns];
        if (seen > want)
            return ns;
    }
    return HIST_NS;
}

static void sleep_s(double s)
{
    struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
    nanosleep(&ts, NULL);
}

static void run_peer(const char *mmdb_path, size_t peer_n, uint64_t seed)
{
    MMDB_s db;
    int status = MMDB_open(mmdb_path, MMDB_MODE_MMAP, &db);
    if (status != MMDB_SUCCESS) {
        fprintf(stderr, "bench_intel: %s: %s\n", mmdb_path, MMDB_strerror(status));
        exit(2);
    }
    intel_net_t *sample;
    size_t sampled;
    intel_t *intel = intel_new();
    intel_replace_feed(intel, gen_set("bench", peer_n, seed, &sample, &sampled));
    size_t nq = 2000000;
    for (unsigned hits = 0; hits <= 10; hits += 10) {
        query_t *q = gen_queries(nq, hits, sample, sampled, seed + hits);
        struct sockaddr_storage *sa = to_sockaddrs(q, nq);
        rate_t mine = measure_intel(intel, q, nq);
        rate_t batch = measure_intel_batch(intel, q, nq);
        rate_t peer = measure_mmdb(&db, sa, nq);
        const char *suffix = hits ? "_10pct_hits" : "";
        printf("# peer set: %zu indicators (libmaxmind-db-writer-perl cannot build 10M in CI time and memory), "
               "%zu queries%s; matched: vigil %llu, maxminddb %llu (MMDB keeps one record per address: "
               "overlaps merge)\n", peer_n, nq, hits ? ", 10% inside an indicator" : ", uniform",
               (unsigned long long)mine.matched, (unsigned long long)peer.matched);
        printf("BENCH intel_lookups_per_s_%zuk%s %.0f lookups/s\n", peer_n / 1000, suffix, mine.per_s);
        printf("BENCH intel_batch_lookups_per_s_%zuk%s %.0f lookups/s\n", peer_n / 1000, suffix, batch.per_s);
        printf("BENCH maxminddb_lookups_per_s%s %.0f lookups/s\n", suffix, peer.per_s);
        printf("BENCH intel_vs_maxminddb%s %.2f x\n", suffix, mine.per_s / peer.per_s);
        printf("BENCH intel_batch_vs_maxminddb%s %.2f x\n", suffix, batch.per_s / peer.per_s);
        fflush(stdout);
        free(sa);
        free(q);
    }
    free(sample);
    intel_free(intel);
    MMDB_close(&db);
}

static void run_main(size_t n, uint64_t seed)
{
    printf("# %zu synthetic indicators: 60%% IPv4 /32, 15%% IPv4 prefixes, 20%% IPv6 /128, 5%% IPv6 prefixes\n", n);
    intel_net_t *sample;
    size_t sampled;
    double t0 = bench_now_s();
    intel_set_t *set = gen_set("bench-base", n, seed, &sample, &sampled);
    double t1 = bench_now_s();
    intel_t *intel = intel_new();
    if (!intel_replace_feed(intel, set)) {
        fprintf(stderr, "bench_intel: out of memory building the matcher\n");
        exit(2);
    }
    double t2 = bench_now_s();
    intel_stats_t st;
    intel_get_stats(intel, &st);
    printf("# indicators after merging duplicates: %zu (v4 exact %zu, v4 prefix %zu, v6 exact %zu, v6 prefix %zu)\n",
           st.indicators, st.ipv4_exact, st.ipv4_prefix, st.ipv6_exact, st.ipv6_prefix);
    printf("BENCH intel_set_fill_s %.3f s\n", t1 - t0);
    printf("BENCH intel_build_s %.3f s\n", t2 - t1);
    printf("BENCH intel_bytes_per_indicator %.1f B\n", (double)st.bytes / (double)st.indicators);
    fflush(stdout);

    /* A second, 100k-indicator feed: loaded now, replaced by other 100k during the update. */
    size_t delta = 100000;
    intel_replace_feed(intel, gen_set("bench-delta", delta, seed + 1, NULL, NULL));

    size_t nq = 4000000;
    query_t *uniform = gen_queries(nq, 0, sample, sampled, seed + 7);
    query_t *hits = gen_queries(nq, 10, sample, sampled, seed + 8);
    rate_t u = measure_intel(intel, uniform, nq);
    rate_t h = measure_intel(intel, hits, nq);
    rate_t ub = measure_intel_batch(intel, uniform, nq);
    rate_t hb = measure_intel_batch(intel, hits, nq);
    printf("# lookups: one thread, 2 feeds loaded (%zu + %zu), %zu queries; matched %llu uniform, %llu with 10%% hits\n",
           n, delta, nq, (unsigned long long)u.matched, (unsigned long long)h.matched);
    printf("BENCH intel_lookups_per_s %.0f lookups/s\n", u.per_s);
    printf("BENCH intel_lookups_per_s_10pct_hits %.0f lookups/s\n", h.per_s);
    printf("BENCH intel_batch_lookups_per_s %.0f lookups/s\n", ub.per_s);
    printf("BENCH intel_batch_lookups_per_s_10pct_hits %.0f lookups/s\n", hb.per_s);
    fflush(stdout);

    reader_t r = { intel, hits, nq, 0, { calloc(HIST_NS, 4), calloc(HIST_NS, 4) }, { 0, 0 } };
    pthread_t reader;
    pthread_create(&reader, NULL, reader_main, &r);
    sleep_s(1.0);
    intel_set_t *next = gen_set("bench-delta", delta, seed + 2, NULL, NULL);
    r.phase = 1;
    double u0 = bench_now_s();
    intel_replace_feed(intel, next);
    double u1 = bench_now_s();
    r.phase = 2;
    pthread_join(reader, NULL);
    uint64_t p99_base = percentile(r.hist[0], r.count[0], 0.99);
    uint64_t p99_update = percentile(r.hist[1], r.count[1], 0.99);
    printf("# update: feed bench-delta (%zu indicators) replaced by %zu others beside the %zu-indicator feed; "
           "reader latencies include ~20 ns of clock reads; %llu lookups before, %llu during\n",
           delta, delta, n, (unsigned long long)r.count[0], (unsigned long long)r.count[1]);
    printf("BENCH intel_update_100k_s %.3f s\n", u1 - u0);
    printf("BENCH intel_reader_p99_ns_baseline %llu ns\n", (unsigned long long)p99_base);
    printf("BENCH intel_reader_p99_ns_during_update %llu ns\n", (unsigned long long)p99_update);
    printf("BENCH intel_reader_p99_update_vs_baseline %.2f x\n", p99_base ? (double)p99_update / (double)p99_base : 0.0);
    free(r.hist[0]);
    free(r.hist[1]);
    free(uniform);
    free(hits);
    free(sample);
    intel_free(intel);
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_intel networks N [SEED]\n"
                    "       bench_intel queries N HIT_PERCENT [SEED]\n"
                    "       bench_intel run N [--seed S] [--peer-mmdb FILE --peer-n M]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        usage();
    size_t n = strtoull(argv[2], NULL, 10);
    uint64_t seed = 42;
    if (strcmp(argv[1], "networks") == 0) {
        if (argc > 3)
            seed = strtoull(argv[3], NULL, 10);
        rng_t r = { seed };
        for (size_t i = 0; i < n; i++) {
            intel_net_t net;
            gen_indicator(&r, &net);
            print_net(&net);
        }
        return 0;
    }
    if (strcmp(argv[1], "queries") == 0) {
        if (argc < 4)
            usage();
        unsigned hit = (unsigned)atoi(argv[3]);
        if (argc > 4)
            seed = strtoull(argv[4], NULL, 10);
        intel_net_t *sample;
        size_t sampled;
        size_t base = n > 1000000 ? n : 1000000;
        intel_set_free(gen_set("q", base, seed, &sample, &sampled));
        query_t *q = gen_queries(n, hit, sample, sampled, seed + hit);
        for (size_t i = 0; i < n; i++) {
            intel_net_t net = { q[i].family, q[i].family == 4 ? 32 : 128, { 0 } };
            memcpy(net.addr, q[i].addr, 16);
            print_net(&net);
        }
        free(q);
        free(sample);
        return 0;
    }
    if (strcmp(argv[1], "run") != 0)
        usage();
    const char *peer = NULL;
    size_t peer_n = 0;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--peer-mmdb") == 0 && i + 1 < argc)
            peer = argv[++i];
        else if (strcmp(argv[i], "--peer-n") == 0 && i + 1 < argc)
            peer_n = strtoull(argv[++i], NULL, 10);
        else
            usage();
    }
    if (peer && peer_n)
        run_peer(peer, peer_n, seed);
    run_main(n, seed);
    return 0;
}
