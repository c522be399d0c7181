/*
 * cmd_intel.c - `vigil intel check|stats --feed SPEC ...`: loads threat-
 * intelligence feeds the way the analyzer does (intel_feeds_t over an
 * intel_t engine) and answers for addresses, or describes what it loaded.
 *
 *   check [--json] ADDR...  exit 1 if any address matched, 0 if none;
 *   stats                   indicators by kind, memory, times per feed;
 * both exit 2 on a usage error, an ADDR that is not an address, or a feed
 * that does not load (named with its line and reason on stderr). It must
 * never answer "no match" for an address when a feed failed to load.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "intel.h"

enum { INTEL_NONE = 0, INTEL_MATCHED = 1, INTEL_ERROR = 2 };

#define PROGRESS_MIN_BYTES (16u << 20)   /* smaller feeds load too fast to watch */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vigil intel check --feed SPEC [--feed SPEC ...] [--json] ADDR [ADDR ...]\n"
            "       vigil intel stats --feed SPEC [--feed SPEC ...]\n"
            "\n"
            "SPEC is [plain:|csv:COLUMN:|stix:|misp:]PATH_OR_URL; without a prefix the format\n"
            "is detected. COLUMN is a 1-based number or a header name (empty: dst_ip, ip, ...).\n"
            "check exits 1 if any ADDR matched, 0 if none, 2 on error.\n");
}

static void log_error(void *arg, const char *message)
{
    (void)arg;
    fprintf(stderr, "vigil intel: %s\n", message);
}

typedef struct {
    int percent;
    bool drawn;
} bar_t;

static void draw_progress(void *arg, const char *feed, uint64_t done, uint64_t total)
{
    bar_t *bar = arg;
    if ((total ? total : done) < PROGRESS_MIN_BYTES)
        return;
    int percent = total ? (int)(done * 100 / total) : -1;
    if (bar->drawn && percent == bar->percent && percent >= 0)
        return;
    bar->percent = percent;
    bar->drawn = true;
    const int width = 30;
    int fill = percent < 0 ? 0 : percent * width / 100;
    fprintf(stderr, "\rloading %-20.20s [", feed);
    for (int i = 0; i < width; i++)
        fputc(i < fill ? '#' : '.', stderr);
    if (total)
        fprintf(stderr, "] %3d%% %.1f/%.1f MiB", percent, (double)done / 1048576.0,
                (double)total / 1048576.0);
    else
        fprintf(stderr, "] %.1f MiB", (double)done / 1048576.0);
    if (total && done >= total) {
        fputc('\n', stderr);
        bar->drawn = false;
        bar->percent = -2;
    }
    fflush(stderr);
}

typedef struct {
    const char *text;
    intel_net_t net;
} addr_t;

static bool parse_addr(const char *text, addr_t *out)
{
    const char *why = "not an address";
    out->text = text;
    if (strchr(text, '/') || !intel_net_parse(text, strlen(text), &out->net, &why)) {
        fprintf(stderr, "vigil intel: '%s': %s\n", text, strchr(text, '/') ? "a network, not an address" : why);
        return false;
    }
    return true;
}

static void print_text(const addr_t *a, const intel_match_t *m, size_t n)
{
    if (n == 0) {
        printf("%s: no match\n", a->text);
        return;
    }
    printf("%s: match:", a->text);
    for (size_t i = 0; i < n; i++) {
        char net[64];
        intel_net_format(&m[i].net, net, sizeof net);
        printf("%s %s (feed %s, category %s, confidence %u)", i ? ";" : "", net, m[i].feed,
               m[i].category, (unsigned)m[i].confidence);
    }
    putchar('\n');
}

static bool print_json(const addr_t *a, const intel_match_t *m, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        char net[64];
        intel_net_format(&m[i].net, net, sizeof net);
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:i}", "value", net, "feed",
                                              m[i].feed, "category", m[i].category,
                                              "confidence", (int)m[i].confidence));
    }
    json_t *obj = json_pack("{s:s, s:b, s:o}", "addr", a->text, "match", n > 0, "indicators",
                            list);
    char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(obj);
    if (!text)
        return false;
    puts(text);
    free(text);
    return true;
}

static int check(intel_t *engine, const addr_t *addrs, size_t n, bool json)
{
    int status = INTEL_NONE;
    int64_t now = (int64_t)time(NULL);
    size_t cap = 64;
    intel_match_t *m = malloc(cap * sizeof *m);
    for (size_t i = 0; i < n && m; i++) {
        uint8_t family = addrs[i].net.family;
        size_t total = intel_lookup(engine, family, addrs[i].net.addr, now, m, cap);
        if (total > cap) {
            intel_match_t *grown = realloc(m, total * sizeof *m);
            if (!grown)
                break;
            m = grown;
            cap = total;
            total = intel_lookup(engine, family, addrs[i].net.addr, now, m, cap);
            if (total > cap)
                total = cap;
        }
        if (json) {
            if (!print_json(&addrs[i], m, total)) {
                free(m);
                fprintf(stderr, "vigil intel: out of memory\n");
                return INTEL_ERROR;
            }
        } else {
            print_text(&addrs[i], m, total);
        }
        if (total)
            status = INTEL_MATCHED;
    }
    if (!m) {
        fprintf(stderr, "vigil intel: out of memory\n");
        return INTEL_ERROR;
    }
    free(m);
    if (fflush(stdout) != 0) {
        perror("vigil intel: stdout");
        return INTEL_ERROR;
    }
    return status;
}

static int stats(intel_t *engine, intel_feeds_t *feeds)
{
    size_t n = intel_feeds_status(feeds, NULL, 0);
    intel_feed_status_t *st = calloc(n ? n : 1, sizeof *st);
    if (!st) {
        fprintf(stderr, "vigil intel: out of memory\n");
        return INTEL_ERROR;
    }
    intel_feeds_status(feeds, st, n);
    for (size_t i = 0; i < n; i++) {
        const intel_parse_stats_t *p = &st[i].parse;
        printf("feed %s: %s, %s\n", st[i].feed, intel_format_name(p->format), st[i].location);
        printf("  %zu bytes, %zu lines, %zu indicators (IPv4 %zu exact, %zu prefixes; IPv6 %zu "
               "exact, %zu prefixes), %zu skipped, %zu expired\n",
               p->bytes, p->lines, p->indicators, p->ipv4_exact, p->ipv4_prefix, p->ipv6_exact,
               p->ipv6_prefix, p->skipped, p->expired);
        printf("  read %.3f s, parse %.3f s, build %.3f s\n", st[i].fetch_seconds,
               st[i].parse_seconds, st[i].apply_seconds);
    }
    free(st);
    intel_stats_t s;
    intel_get_stats(engine, &s);
    printf("total: %zu feeds, %zu indicators: IPv4 %zu exact, %zu prefixes; IPv6 %zu exact, %zu "
           "prefixes\n",
           s.feeds, s.indicators, s.ipv4_exact, s.ipv4_prefix, s.ipv6_exact, s.ipv6_prefix);
    printf("memory: %zu bytes", s.bytes);
    if (s.indicators)
        printf(" (%.1f bytes per indicator)", (double)s.bytes / (double)s.indicators);
    putchar('\n');
    return INTEL_NONE;
}

int cmd_intel(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return INTEL_ERROR;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return INTEL_NONE;
    }
    bool is_check = strcmp(argv[1], "check") == 0;
    if (!is_check && strcmp(argv[1], "stats") != 0) {
        fprintf(stderr, "vigil intel: unknown subcommand '%s'\n", argv[1]);
        usage(stderr);
        return INTEL_ERROR;
    }
    int nspecs = 0, naddrs = 0;
    intel_spec_t *specs = calloc((size_t)argc, sizeof *specs);
    addr_t *addrs = calloc((size_t)argc, sizeof *addrs);
    bool json = false, options = true;
    int status = INTEL_ERROR;
    intel_t *engine = NULL;
    intel_feeds_t *feeds = NULL;
    if (!specs || !addrs) {
        fprintf(stderr, "vigil intel: out of memory\n");
        goto out;
    }
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        const char *spec = NULL;
        if (options && strcmp(arg, "--") == 0) {
            options = false;
        } else if (options && strcmp(arg, "--feed") == 0) {
            if (++i == argc) {
                fprintf(stderr, "vigil intel: --feed needs a SPEC\n");
                goto out;
            }
            spec = argv[i];
        } else if (options && strncmp(arg, "--feed=", 7) == 0) {
            spec = arg + 7;
        } else if (options && strcmp(arg, "--json") == 0 && is_check) {
            json = true;
        } else if (options && (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)) {
            usage(stdout);
            status = INTEL_NONE;
            goto out;
        } else if (options && arg[0] == '-' && arg[1] == '-') {
            fprintf(stderr, "vigil intel %s: unknown option '%s'\n", argv[1], arg);
            usage(stderr);
            goto out;
        } else if (is_check) {
            if (!parse_addr(arg, &addrs[naddrs++]))
                goto out;
        } else {
            fprintf(stderr, "vigil intel stats: unexpected argument '%s'\n", arg);
            goto out;
        }
        if (spec) {
            char why[256];
            if (!intel_spec_parse(spec, &specs[nspecs++], why, sizeof why)) {
                fprintf(stderr, "vigil intel: --feed %s\n", why);
                goto out;
            }
        }
    }
    if (nspecs == 0 || (is_check && naddrs == 0)) {
        fprintf(stderr, "vigil intel %s: %s\n", argv[1],
                nspecs == 0 ? "at least one --feed SPEC is needed" : "no ADDR to check");
        usage(stderr);
        goto out;
    }

    engine = intel_new();
    feeds = engine ? intel_feeds_new(engine) : NULL;
    if (!feeds) {
        fprintf(stderr, "vigil intel: out of memory\n");
        goto out;
    }
    intel_feeds_set_log(feeds, log_error, NULL);
    bar_t bar = { -2, false };
    if (isatty(STDERR_FILENO)) {
        intel_fetch_options_t opt = { .progress = draw_progress, .progress_arg = &bar };
        intel_feeds_set_options(feeds, &opt);
    }
    for (int i = 0; i < nspecs; i++) {
        intel_feed_error_t err;
        if (!intel_feeds_add(feeds, &specs[i], 0, &err)) {
            char message[300];
            intel_feed_error_format(&err, message, sizeof message);
            fprintf(stderr, "vigil intel: %s\n", message);
            goto out;
        }
    }
    size_t failures = intel_feeds_refresh(feeds, true, (int64_t)time(NULL));
    if (bar.drawn)
        fputc('\n', stderr);
    if (failures > 0)
        goto out;   /* each failure is already on stderr */
    status = is_check ? check(engine, addrs, (size_t)naddrs, json) : stats(engine, feeds);
out:
    intel_feeds_free(feeds);
    intel_free(engine);
    free(specs);
    free(addrs);
    return status;
}
