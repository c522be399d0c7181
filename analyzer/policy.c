/*
 * policy.c - the policy file's schema: walks the YAML tree of policy_yaml.c
 * and builds an immutable policy_t (security groups, membership, hygiene
 * settings, rules), and answers the lookups of policy.h.
 *
 * It must never accept something it would read differently from a person:
 * every key is known, every value has its type (numbers and booleans are
 * plain scalars, no octal, no sign, no overflow), every error names the line
 * and column of the value at fault. It must never return half a policy.
 */
#define _POSIX_C_SOURCE 200809L

#include "policy_priv.h"

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intel.h"

static const char *const metric_names[POLICY_METRIC__COUNT] = {
    [POLICY_METRIC_ACTIVE_CONNECTIONS] = "active_connections",
    [POLICY_METRIC_DISTINCT_REMOTES] = "distinct_remotes",
    [POLICY_METRIC_BYTES_IN] = "bytes_in",
    [POLICY_METRIC_BYTES_OUT] = "bytes_out",
    [POLICY_METRIC_PACKETS_IN] = "packets_in",
    [POLICY_METRIC_PACKETS_OUT] = "packets_out",
    [POLICY_METRIC_FAILED_OUTBOUND_TCP] = "failed_outbound_tcp",
    [POLICY_METRIC_INBOUND_ATTEMPTS] = "inbound_attempts",
    [POLICY_METRIC_REPORTS] = "reports",
};

/* Our own table: alert_severity_parse lives in another module (alert.c). */
static const char *const severity_names[] = {
    [ALERT_SEVERITY_INFO] = "info",
    [ALERT_SEVERITY_LOW] = "low",
    [ALERT_SEVERITY_MEDIUM] = "medium",
    [ALERT_SEVERITY_HIGH] = "high",
    [ALERT_SEVERITY_CRITICAL] = "critical",
};

const char *policy_metric_name(policy_metric_t metric)
{
    if ((unsigned)metric >= POLICY_METRIC__COUNT)
        return NULL;
    return metric_names[metric];
}

/* ---- errors ---- */

static bool fail(policy_error_t *err, const pnode_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(policy_error_t *err, const pnode_t *n, const char *fmt, ...)
{
    err->line = n ? n->line : 0;
    err->column = n ? n->column : 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->reason, sizeof err->reason, fmt, ap);
    va_end(ap);
    return false;
}

/* A scalar as it may appear in an error message: at most 40 bytes, anything
 * unprintable as '?', so a hostile file cannot forge terminal output. */
static const char *shown(const pnode_t *n, char *buf, size_t size)
{
    size_t o = 0;
    if (n->type != PNODE_SCALAR)
        return n->type == PNODE_MAPPING ? "(a mapping)" : "(a list)";
    for (size_t i = 0; i < n->len && o + 4 < size && i < 40; i++) {
        unsigned char c = (unsigned char)n->text[i];
        buf[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (n->len > 40 && o + 4 < size) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

static const char *type_name(const pnode_t *n)
{
    switch (n->type) {
    case PNODE_MAPPING:
        return "a mapping";
    case PNODE_SEQUENCE:
        return "a list";
    default:
        return n->len == 0 && n->plain ? "an empty value" : "a scalar";
    }
}

static bool expect(policy_error_t *err, const pnode_t *n, pnode_type_t type, const char *what)
{
    static const char *const wanted[] = { "a single value", "a list", "a mapping" };
    if (n->type == type)
        return true;
    return fail(err, n, "%s must be %s, found %s", what, wanted[type], type_name(n));
}

/* ---- mappings ---- */

static bool key_is(const pnode_t *key, const char *name)
{
    return key->type == PNODE_SCALAR && strlen(name) == key->len && memcmp(key->text, name, key->len) == 0;
}

/* The value of `name` in `map`, or NULL. */
static const pnode_t *lookup(const pnode_t *map, const char *name)
{
    for (const pnode_t *k = map->child; k && k->next; k = k->next->next)
        if (key_is(k, name))
            return k->next;
    return NULL;
}

/* Every key of `map` is a scalar among `allowed` (NULL-terminated, at most
 * 16), and none appears twice. */
static bool check_keys(policy_error_t *err, const pnode_t *map, const char *what,
                       const char *const *allowed)
{
    const pnode_t *first[16] = { NULL };
    for (const pnode_t *k = map->child; k && k->next; k = k->next->next) {
        char buf[48];
        if (k->type != PNODE_SCALAR)
            return fail(err, k, "a key of %s must be a word, found %s", what, type_name(k));
        size_t i = 0;
        while (allowed[i] && !key_is(k, allowed[i]))
            i++;
        if (!allowed[i]) {
            char list[160];
            size_t o = 0;
            list[0] = '\0';
            for (size_t j = 0; allowed[j] && o < sizeof list; j++)
                o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", j ? ", " : "", allowed[j]);
            return fail(err, k, "unknown key '%s' in %s (expected %s)", shown(k, buf, sizeof buf),
                        what, list);
        }
        if (first[i])
            return fail(err, k, "duplicate key '%s' in %s (first on line %zu)", allowed[i], what,
                        first[i]->line);
        first[i] = k;
    }
    return true;
}

/* ---- scalars ---- */

static bool get_uint(policy_error_t *err, const pnode_t *n, const char *what, uint64_t max,
                     uint64_t *out)
{
    char buf[48];
    if (!expect(err, n, PNODE_SCALAR, what))
        return false;
    if (!n->plain)
        return fail(err, n, "%s must be a number, found quoted text", what);
    if (n->len == 0)
        return fail(err, n, "%s must be a number, found an empty value", what);
    if (n->text[0] == '-')
        return fail(err, n, "%s must not be negative (found %s)", what, shown(n, buf, sizeof buf));
    uint64_t v = 0;
    for (size_t i = 0; i < n->len; i++) {
        char c = n->text[i];
        if (c < '0' || c > '9')
            return fail(err, n, "%s must be a decimal integer, found '%s'", what,
                        shown(n, buf, sizeof buf));
        unsigned d = (unsigned)(c - '0');
        if (v > (max - d) / 10u)
            return fail(err, n, "%s %s is too large (at most %" PRIu64 ")", what,
                        shown(n, buf, sizeof buf), max);
        v = v * 10u + d;
    }
    if (n->len > 1 && n->text[0] == '0')
        return fail(err, n, "%s '%s' has a leading zero (YAML 1.1 would read octal)", what,
                    shown(n, buf, sizeof buf));
    *out = v;
    return true;
}

static bool get_u32(policy_error_t *err, const pnode_t *n, const char *what, uint32_t *out)
{
    uint64_t v;
    if (!get_uint(err, n, what, UINT32_MAX, &v))
        return false;
    *out = (uint32_t)v;
    return true;
}

/* Text of at most `max` bytes without NUL bytes. */
static bool get_text(policy_error_t *err, const pnode_t *n, const char *what, size_t max,
                     bool allow_empty)
{
    if (!expect(err, n, PNODE_SCALAR, what))
        return false;
    if (memchr(n->text, '\0', n->len))
        return fail(err, n, "%s contains a NUL byte", what);
    if (n->len == 0 && !allow_empty)
        return fail(err, n, "%s must not be empty", what);
    if (n->len > max)
        return fail(err, n, "%s is longer than %zu bytes", what, max);
    return true;
}

static bool get_bool(policy_error_t *err, const pnode_t *n, const char *what, bool *out)
{
    static const char *const yes[] = { "true", "True", "TRUE" };
    static const char *const no[] = { "false", "False", "FALSE" };
    char buf[48];
    if (!expect(err, n, PNODE_SCALAR, what))
        return false;
    for (size_t i = 0; n->plain && i < 3; i++) {
        if (key_is(n, yes[i]) || key_is(n, no[i])) {
            *out = key_is(n, yes[i]);
            return true;
        }
    }
    return fail(err, n, "%s must be true or false, found '%s'", what, shown(n, buf, sizeof buf));
}

static bool get_severity(policy_error_t *err, const pnode_t *n, alert_severity_t *out)
{
    char buf[48];
    if (!expect(err, n, PNODE_SCALAR, "severity"))
        return false;
    for (size_t i = 0; i < sizeof severity_names / sizeof severity_names[0]; i++) {
        if (key_is(n, severity_names[i])) {
            *out = (alert_severity_t)i;
            return true;
        }
    }
    return fail(err, n, "unknown severity '%s' (expected info, low, medium, high or critical)",
                shown(n, buf, sizeof buf));
}

/* severity and enabled, common to every rule; defaults medium and true. */
static bool get_rule_common(policy_error_t *err, const pnode_t *map, alert_severity_t *severity,
                            bool *enabled)
{
    const pnode_t *v;
    *severity = ALERT_SEVERITY_MEDIUM;
    *enabled = true;
    if ((v = lookup(map, "severity")) && !get_severity(err, v, severity))
        return false;
    if ((v = lookup(map, "enabled")) && !get_bool(err, v, "enabled", enabled))
        return false;
    return true;
}

/* ---- hygiene ---- */

static bool get_version(policy_error_t *err, const pnode_t *n, const char *what, char out[32])
{
    char buf[48];
    if (!get_text(err, n, what, 31, true))
        return false;
    for (size_t i = 0; i < n->len; i++) {
        char c = n->text[i];
        bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum && (i == 0 || !strchr(".-+~_", c)))
            return fail(err, n, "%s '%s' is not a version (like 1.2.3)", what,
                        shown(n, buf, sizeof buf));
    }
    memcpy(out, n->text, n->len);
    out[n->len] = '\0';
    return true;
}

static bool parse_hygiene(policy_error_t *err, const pnode_t *map, policy_hygiene_t *h)
{
    static const char *const keys[] = { "min_agent_version", "min_os_version",
                                        "min_firmware_version", "silent_intervals",
                                        "clock_skew_max", "alert_window", NULL };
    const pnode_t *v;
    if (!expect(err, map, PNODE_MAPPING, "hygiene") || !check_keys(err, map, "hygiene", keys))
        return false;
    if ((v = lookup(map, "min_agent_version")) &&
        !get_version(err, v, "min_agent_version", h->min_agent_version))
        return false;
    if ((v = lookup(map, "min_os_version")) && !get_version(err, v, "min_os_version", h->min_os_version))
        return false;
    if ((v = lookup(map, "min_firmware_version")) &&
        !get_version(err, v, "min_firmware_version", h->min_firmware_version))
        return false;
    if ((v = lookup(map, "silent_intervals"))) {
        if (!get_u32(err, v, "silent_intervals", &h->silent_intervals))
            return false;
        if (h->silent_intervals == 0)
            return fail(err, v, "silent_intervals must be at least 1");
    }
    if ((v = lookup(map, "clock_skew_max")) && !get_u32(err, v, "clock_skew_max", &h->clock_skew_max))
        return false;
    if ((v = lookup(map, "alert_window")) && !get_u32(err, v, "alert_window", &h->alert_window))
        return false;
    return true;
}

/* ---- device configuration ---- */

static bool parse_device(policy_error_t *err, const pnode_t *map, policy_device_t *d)
{
    static const char *const keys[] = { "report_interval", "collectors", "sysinfo_every", NULL };
    const pnode_t *v;
    if (!expect(err, map, PNODE_MAPPING, "device") || !check_keys(err, map, "device", keys))
        return false;
    if ((v = lookup(map, "report_interval"))) {
        if (!get_u32(err, v, "report_interval", &d->report_interval))
            return false;
        if (d->report_interval < 1 || d->report_interval > 3600)
            return fail(err, v, "report_interval must be 1..3600 seconds");
    }
    if ((v = lookup(map, "sysinfo_every"))) {
        if (!get_u32(err, v, "sysinfo_every", &d->sysinfo_every))
            return false;
        if (d->sysinfo_every < 1 || d->sysinfo_every > 1000)
            return fail(err, v, "sysinfo_every must be 1..1000 periods");
    }
    if ((v = lookup(map, "collectors"))) {
        if (!expect(err, v, PNODE_SEQUENCE, "collectors"))
            return false;
        uint32_t bits = 0;
        for (const pnode_t *c = v->child; c; c = c->next) {
            char buf[48];
            if (!expect(err, c, PNODE_SCALAR, "a collector"))
                return false;
            uint32_t bit = strcmp(c->text, "network") == 0     ? POLICY_COLLECT_NETWORK
                           : strcmp(c->text, "listeners") == 0 ? POLICY_COLLECT_LISTENERS
                           : strcmp(c->text, "system") == 0    ? POLICY_COLLECT_SYSTEM
                                                               : 0;
            if (!bit || strlen(c->text) != c->len)
                return fail(err, c, "unknown collector '%s' (network, listeners, system)",
                            shown(c, buf, sizeof buf));
            if (bits & bit)
                return fail(err, c, "collector '%s' listed twice", shown(c, buf, sizeof buf));
            bits |= bit;
        }
        d->collectors = bits;
    }
    return true;
}

static void default_device(policy_device_t *d)
{
    d->report_interval = 60;
    d->collectors = POLICY_COLLECT_NETWORK | POLICY_COLLECT_LISTENERS | POLICY_COLLECT_SYSTEM;
    d->sysinfo_every = 10;
}

static void default_hygiene(policy_hygiene_t *h)
{
    memset(h, 0, sizeof *h);
    h->silent_intervals = 3;
    h->clock_skew_max = 300;
    h->alert_window = 3600;
}

/* ---- rules ---- */

static size_t net_bytes(uint8_t family)
{
    return family == 4 ? 4u : 16u;
}

static int interval_cmp4(const void *a, const void *b)
{
    return memcmp(((const policy_interval_t *)a)->lo, ((const policy_interval_t *)b)->lo, 4);
}

static int interval_cmp6(const void *a, const void *b)
{
    return memcmp(((const policy_interval_t *)a)->lo, ((const policy_interval_t *)b)->lo, 16);
}

/* Sorts intervals by start and merges overlapping ones, so a lookup is one
 * binary search. Returns the new count. */
static size_t merge_intervals(policy_interval_t *v, size_t n, size_t bytes)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, bytes == 4 ? interval_cmp4 : interval_cmp6);
    size_t out = 0;
    for (size_t i = 1; i < n; i++) {
        if (memcmp(v[i].lo, v[out].hi, bytes) <= 0) {
            if (memcmp(v[i].hi, v[out].hi, bytes) > 0)
                memcpy(v[out].hi, v[i].hi, bytes);
        } else {
            v[++out] = v[i];
        }
    }
    return out + 1;
}

static void net_interval(const intel_net_t *net, policy_interval_t *iv)
{
    size_t bytes = net_bytes(net->family);
    memset(iv, 0, sizeof *iv);
    memcpy(iv->lo, net->addr, bytes);
    memcpy(iv->hi, net->addr, bytes);
    for (size_t i = 0; i < bytes; i++) {
        size_t bit = i * 8u;
        if (bit >= net->prefix)
            iv->hi[i] = 0xff;
        else if (net->prefix - bit < 8u)
            iv->hi[i] |= (uint8_t)(0xffu >> (net->prefix - bit));
    }
}

static bool parse_cidr_rule(policy_error_t *err, const pnode_t *map, policy_cidr_rule_t *rule)
{
    static const char *const keys[] = { "severity", "enabled", "cidrs", NULL };
    const char *what = "remote_cidrs_allowed";
    if (!expect(err, map, PNODE_MAPPING, what) || !check_keys(err, map, what, keys) ||
        !get_rule_common(err, map, &rule->severity, &rule->enabled))
        return false;
    rule->present = true;
    const pnode_t *list = lookup(map, "cidrs");
    if (!list)
        return fail(err, map, "remote_cidrs_allowed needs 'cidrs' (a list of networks)");
    if (!expect(err, list, PNODE_SEQUENCE, "cidrs"))
        return false;
    if (list->count > POLICY_MAX_CIDRS)
        return fail(err, list, "more than %d cidrs", POLICY_MAX_CIDRS);
    size_t n = list->count ? list->count : 1;
    rule->v4 = calloc(n, sizeof *rule->v4);
    rule->v6 = calloc(n, sizeof *rule->v6);
    if (!rule->v4 || !rule->v6)
        return fail(err, NULL, "out of memory");
    for (const pnode_t *c = list->child; c; c = c->next) {
        char buf[48];
        intel_net_t net;
        const char *why = "not an address";
        if (!get_text(err, c, "a cidr", 64, false))
            return false;
        if (!intel_net_parse(c->text, c->len, &net, &why))
            return fail(err, c, "bad CIDR '%s': %s", shown(c, buf, sizeof buf), why);
        if (net.family == 4)
            net_interval(&net, &rule->v4[rule->nv4++]);
        else
            net_interval(&net, &rule->v6[rule->nv6++]);
    }
    rule->nv4 = merge_intervals(rule->v4, rule->nv4, 4);
    rule->nv6 = merge_intervals(rule->v6, rule->nv6, 16);
    return true;
}

static int u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static bool port_number(const char *s, size_t len, uint32_t *out)
{
    if (len == 0 || len > 5 || (len > 1 && s[0] == '0'))
        return false;
    uint32_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10u + (uint32_t)(s[i] - '0');
    }
    if (v == 0 || v > 65535u)
        return false;
    *out = v;
    return true;
}

/* "tcp/8883", "udp/5683", or a bare number for both protocols. */
static bool parse_port(policy_error_t *err, const pnode_t *n, policy_port_rule_t *rule)
{
    char buf[48];
    uint32_t port;
    if (!expect(err, n, PNODE_SCALAR, "a port"))
        return false;
    if (port_number(n->text, n->len, &port)) {
        rule->entries[rule->count++] = ((uint32_t)REPORT_PROTO_TCP << 16) | port;
        rule->entries[rule->count++] = ((uint32_t)REPORT_PROTO_UDP << 16) | port;
        return true;
    }
    if (n->len > 4 && (memcmp(n->text, "tcp/", 4) == 0 || memcmp(n->text, "udp/", 4) == 0) &&
        port_number(n->text + 4, n->len - 4, &port)) {
        uint32_t proto = n->text[0] == 't' ? REPORT_PROTO_TCP : REPORT_PROTO_UDP;
        rule->entries[rule->count++] = (proto << 16) | port;
        return true;
    }
    return fail(err, n, "bad port '%s' (expected tcp/N, udp/N or a bare N for both, N from 1 to 65535)",
                shown(n, buf, sizeof buf));
}

static bool parse_port_rule(policy_error_t *err, const pnode_t *map, policy_port_rule_t *rule)
{
    static const char *const keys[] = { "severity", "enabled", "ports", NULL };
    const char *what = "listening_ports_allowed";
    if (!expect(err, map, PNODE_MAPPING, what) || !check_keys(err, map, what, keys) ||
        !get_rule_common(err, map, &rule->severity, &rule->enabled))
        return false;
    rule->present = true;
    const pnode_t *list = lookup(map, "ports");
    if (!list)
        return fail(err, map, "listening_ports_allowed needs 'ports' (a list like tcp/8883)");
    if (!expect(err, list, PNODE_SEQUENCE, "ports"))
        return false;
    if (list->count > POLICY_MAX_PORTS)
        return fail(err, list, "more than %d ports", POLICY_MAX_PORTS);
    rule->entries = calloc(list->count ? 2 * list->count : 1, sizeof *rule->entries);
    if (!rule->entries)
        return fail(err, NULL, "out of memory");
    for (const pnode_t *c = list->child; c; c = c->next)
        if (!parse_port(err, c, rule))
            return false;
    qsort(rule->entries, rule->count, sizeof *rule->entries, u32_cmp);
    size_t out = 0;
    for (size_t i = 0; i < rule->count; i++)
        if (out == 0 || rule->entries[out - 1] != rule->entries[i])
            rule->entries[out++] = rule->entries[i];
    rule->count = out;
    return true;
}

static bool parse_range(policy_error_t *err, const pnode_t *map, policy_group_t *g)
{
    static const char *const keys[] = { "metric", "window", "min", "max", "severity", "enabled", NULL };
    char buf[48];
    if (!expect(err, map, PNODE_MAPPING, "a range") || !check_keys(err, map, "a range", keys))
        return false;
    policy_range_t *r = &g->ranges[g->nranges];
    memset(r, 0, sizeof *r);
    r->line = map->line;
    if (!get_rule_common(err, map, &r->severity, &r->enabled))
        return false;

    const pnode_t *metric = lookup(map, "metric"), *window = lookup(map, "window");
    const pnode_t *min = lookup(map, "min"), *max = lookup(map, "max");
    if (!metric)
        return fail(err, map, "a range needs 'metric'");
    if (!window)
        return fail(err, map, "a range needs 'window' (seconds)");
    if (!get_text(err, metric, "metric", 64, false))
        return false;
    size_t m = 0;
    while (m < POLICY_METRIC__COUNT && !key_is(metric, metric_names[m]))
        m++;
    if (m == POLICY_METRIC__COUNT)
        return fail(err, metric,
                    "unknown metric '%s' (expected active_connections, distinct_remotes, bytes_in, "
                    "bytes_out, packets_in, packets_out, failed_outbound_tcp, inbound_attempts, reports)",
                    shown(metric, buf, sizeof buf));
    r->metric = (policy_metric_t)m;
    uint64_t w;
    if (!get_uint(err, window, "window", UINT64_MAX, &w))
        return false;
    if (w == 0)
        return fail(err, window, "window must be at least 1 second");
    if (w > POLICY_MAX_WINDOW)
        return fail(err, window, "window %" PRIu64 " s is longer than 30 days (%u s)", w,
                    POLICY_MAX_WINDOW);
    r->window = (uint32_t)w;
    if (!min && !max)
        return fail(err, map, "a range needs min, max or both");
    if (min && !get_uint(err, min, "min", UINT64_MAX, &r->min))
        return false;
    if (max && !get_uint(err, max, "max", UINT64_MAX, &r->max))
        return false;
    r->has_min = min != NULL;
    r->has_max = max != NULL;
    if (min && max && r->min > r->max)
        return fail(err, min, "min %" PRIu64 " is greater than max %" PRIu64, r->min, r->max);
    for (size_t i = 0; i < g->nranges; i++)
        if (g->ranges[i].metric == r->metric && g->ranges[i].window == r->window)
            return fail(err, map,
                        "a range of %s over %" PRIu32 " s is already defined on line %zu "
                        "(put min and max in one range)",
                        metric_names[m], r->window, g->ranges[i].line);
    g->nranges++;
    return true;
}

static bool parse_rules(policy_error_t *err, const pnode_t *map, policy_group_t *g)
{
    static const char *const keys[] = { "remote_cidrs_allowed", "listening_ports_allowed", "ranges",
                                        NULL };
    const pnode_t *v;
    if (!expect(err, map, PNODE_MAPPING, "rules") || !check_keys(err, map, "rules", keys))
        return false;
    if ((v = lookup(map, "remote_cidrs_allowed")) && !parse_cidr_rule(err, v, &g->cidrs))
        return false;
    if ((v = lookup(map, "listening_ports_allowed")) && !parse_port_rule(err, v, &g->ports))
        return false;
    if ((v = lookup(map, "ranges"))) {
        if (!expect(err, v, PNODE_SEQUENCE, "ranges"))
            return false;
        if (v->count > POLICY_MAX_RANGES)
            return fail(err, v, "more than %d ranges in one group", POLICY_MAX_RANGES);
        g->ranges = calloc(v->count ? v->count : 1, sizeof *g->ranges);
        if (!g->ranges)
            return fail(err, NULL, "out of memory");
        for (const pnode_t *c = v->child; c; c = c->next)
            if (!parse_range(err, c, g))
                return false;
    }
    return true;
}

/* ---- groups ---- */

static bool parse_member_list(policy_error_t *err, const pnode_t *list, const char *what,
                              char ***out, size_t *count)
{
    if (!expect(err, list, PNODE_SEQUENCE, what))
        return false;
    if (list->count > POLICY_MAX_MEMBERS)
        return fail(err, list, "more than %d %s", POLICY_MAX_MEMBERS, what);
    *out = calloc(list->count ? list->count : 1, sizeof **out);
    if (!*out)
        return fail(err, NULL, "out of memory");
    for (const pnode_t *c = list->child; c; c = c->next) {
        if (!get_text(err, c, what, POLICY_MEMBER_MAX, false))
            return false;
        char *s = malloc(c->len + 1);
        if (!s)
            return fail(err, NULL, "out of memory");
        memcpy(s, c->text, c->len + 1);
        (*out)[(*count)++] = s;
    }
    return true;
}

static bool parse_members(policy_error_t *err, const pnode_t *map, policy_group_t *g)
{
    static const char *const keys[] = { "tags", "ids", NULL };
    const pnode_t *v;
    if (!expect(err, map, PNODE_MAPPING, "members") || !check_keys(err, map, "members", keys))
        return false;
    if ((v = lookup(map, "tags")) && !parse_member_list(err, v, "tags", &g->tags, &g->ntags))
        return false;
    if ((v = lookup(map, "ids")) && !parse_member_list(err, v, "ids", &g->ids, &g->nids))
        return false;
    return true;
}

static bool parse_group_name(policy_error_t *err, const pnode_t *n, const policy_t *p,
                             policy_group_t *g)
{
    char buf[48];
    if (!get_text(err, n, "a group name", POLICY_NAME_MAX, false))
        return false;
    for (size_t i = 0; i < n->len; i++) {
        char c = n->text[i];
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  c == '_' || c == '-' || c == '.';
        if (!ok)
            return fail(err, n, "group name '%s' may hold only letters, digits, '_', '-' and '.'",
                        shown(n, buf, sizeof buf));
    }
    for (size_t i = 0; i < p->ngroups; i++)
        if (key_is(n, p->groups[i].name))
            return fail(err, n, "duplicate group name '%s' (first on line %zu)", p->groups[i].name,
                        p->groups[i].line);
    memcpy(g->name, n->text, n->len);
    g->name[n->len] = '\0';
    return true;
}

static bool parse_group(policy_error_t *err, const pnode_t *map, policy_t *p)
{
    static const char *const keys[] = { "name", "members", "hygiene", "device", "rules", NULL };
    const pnode_t *v;
    if (!expect(err, map, PNODE_MAPPING, "a group") || !check_keys(err, map, "a group", keys))
        return false;
    policy_group_t *g = &p->groups[p->ngroups];
    g->line = map->line;
    g->hygiene = p->hygiene;
    g->device = p->device;
    const pnode_t *name = lookup(map, "name");
    if (!name)
        return fail(err, map, "a group needs a 'name'");
    /* Counted before its parts are parsed, so policy_free frees them on failure. */
    if (!parse_group_name(err, name, p, g))
        return false;
    p->ngroups++;
    if ((v = lookup(map, "members")) && !parse_members(err, v, g))
        return false;
    if ((v = lookup(map, "hygiene")) && !parse_hygiene(err, v, &g->hygiene))
        return false;
    if ((v = lookup(map, "device")) && !parse_device(err, v, &g->device))
        return false;
    if ((v = lookup(map, "rules")) && !parse_rules(err, v, g))
        return false;
    return true;
}

static bool parse_root(policy_error_t *err, const pnode_t *root, policy_t *p)
{
    static const char *const keys[] = { "version", "hygiene", "device", "groups", NULL };
    if (!root) {
        err->line = 1;
        err->column = 1;
        snprintf(err->reason, sizeof err->reason, "empty policy (it needs at least 'version: 1')");
        return false;
    }
    if (root->type != PNODE_MAPPING)
        return fail(err, root, "a policy must be a mapping with version, hygiene and groups, found %s",
                    type_name(root));
    /* The version first: a newer file's other keys are not ours to judge. */
    const pnode_t *version = lookup(root, "version");
    if (!version)
        return fail(err, root, "missing 'version: 1'");
    uint64_t v;
    if (!get_uint(err, version, "version", UINT64_MAX, &v))
        return false;
    if (v != 1)
        return fail(err, version, "unknown version %" PRIu64 " (this analyzer reads version 1)", v);
    if (!check_keys(err, root, "the policy", keys))
        return false;
    const pnode_t *n;
    if ((n = lookup(root, "hygiene")) && !parse_hygiene(err, n, &p->hygiene))
        return false;
    /* Before the groups, which start from the top-level settings. */
    if ((n = lookup(root, "device")) && !parse_device(err, n, &p->device))
        return false;
    if ((n = lookup(root, "groups"))) {
        if (!expect(err, n, PNODE_SEQUENCE, "groups"))
            return false;
        if (n->count > POLICY_MAX_GROUPS)
            return fail(err, n, "more than %d groups", POLICY_MAX_GROUPS);
        p->groups = calloc(n->count ? n->count : 1, sizeof *p->groups);
        if (!p->groups)
            return fail(err, NULL, "out of memory");
        for (const pnode_t *g = n->child; g; g = g->next)
            if (!parse_group(err, g, p))
                return false;
    }
    return true;
}

/* ---- loading ---- */

policy_t *policy_default(void)
{
    policy_t *p = calloc(1, sizeof *p);
    if (p) {
        default_hygiene(&p->hygiene);
        default_device(&p->device);
    }
    return p;
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void policy_free(policy_t *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->ngroups; i++) {
        policy_group_t *g = &p->groups[i];
        free_strings(g->ids, g->nids);
        free_strings(g->tags, g->ntags);
        free(g->cidrs.v4);
        free(g->cidrs.v6);
        free(g->ports.entries);
        free(g->ranges);
    }
    /* A group whose name failed is not counted but may hold nothing yet. */
    free(p->groups);
    free(p);
}

policy_t *policy_load_string(const char *name, const char *text, size_t len, policy_error_t *err)
{
    policy_error_t local;
    policy_error_t *e = err ? err : &local;
    memset(e, 0, sizeof *e);
    snprintf(e->file, sizeof e->file, "%s", name ? name : "<string>");
    if (len > POLICY_MAX_BYTES) {
        snprintf(e->reason, sizeof e->reason, "document larger than 1 MiB (%zu bytes)", len);
        return NULL;
    }
    const pnode_t *root;
    pdoc_t *doc = pdoc_parse(text ? text : "", text ? len : 0, &root, e);
    if (!doc)
        return NULL;
    policy_t *p = policy_default();
    if (!p) {
        pdoc_free(doc);
        snprintf(e->reason, sizeof e->reason, "out of memory");
        return NULL;
    }
    bool ok = parse_root(e, root, p);
    pdoc_free(doc);
    if (!ok) {
        policy_free(p);
        return NULL;
    }
    return p;
}

policy_t *policy_load_file(const char *path, policy_error_t *err)
{
    policy_error_t local;
    policy_error_t *e = err ? err : &local;
    memset(e, 0, sizeof *e);
    snprintf(e->file, sizeof e->file, "%s", path ? path : "(null)");
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) {
        char why[128] = "no path";
        if (path && strerror_r(errno, why, sizeof why) != 0)
            snprintf(why, sizeof why, "error %d", errno);
        snprintf(e->reason, sizeof e->reason, "cannot open: %s", why);
        return NULL;
    }
    /* One byte more than allowed tells "exactly 1 MiB" from "larger". */
    char *buf = malloc(POLICY_MAX_BYTES + 1u);
    if (!buf) {
        fclose(f);
        snprintf(e->reason, sizeof e->reason, "out of memory");
        return NULL;
    }
    size_t len = fread(buf, 1, POLICY_MAX_BYTES + 1u, f);
    int read_errno = ferror(f) ? errno : 0;
    bool failed = ferror(f) != 0;
    fclose(f);
    if (failed) {
        char why[128];
        if (strerror_r(read_errno, why, sizeof why) != 0)
            snprintf(why, sizeof why, "error %d", read_errno);
        snprintf(e->reason, sizeof e->reason, "cannot read: %s", why);
        free(buf);
        return NULL;
    }
    if (len > POLICY_MAX_BYTES) {
        snprintf(e->reason, sizeof e->reason, "document larger than 1 MiB");
        free(buf);
        return NULL;
    }
    policy_t *p = policy_load_string(path, buf, len, e);
    free(buf);
    return p;
}

/* ---- lookups ---- */

const policy_group_t *policy__find_group(const policy_t *p, const char *name)
{
    if (!p || !name)
        return NULL;
    for (size_t i = 0; i < p->ngroups; i++)
        if (strcmp(p->groups[i].name, name) == 0)
            return &p->groups[i];
    return NULL;
}

const char *policy_group_for(const policy_t *p, const char *device_id, const char *const *tags,
                             size_t ntags)
{
    for (size_t i = 0; p && i < p->ngroups; i++) {
        const policy_group_t *g = &p->groups[i];
        for (size_t j = 0; device_id && j < g->nids; j++)
            if (fnmatch(g->ids[j], device_id, 0) == 0)
                return g->name;
        for (size_t j = 0; tags && j < g->ntags; j++)
            for (size_t k = 0; k < ntags; k++)
                if (tags[k] && strcmp(g->tags[j], tags[k]) == 0)
                    return g->name;
    }
    return POLICY_DEFAULT_GROUP;
}

size_t policy_group_count(const policy_t *p)
{
    return p ? p->ngroups : 0;
}

const char *policy_group_name(const policy_t *p, size_t index)
{
    return p && index < p->ngroups ? p->groups[index].name : NULL;
}

const policy_device_t *policy_device(const policy_t *p, const char *group)
{
    const policy_group_t *g = group ? policy__find_group(p, group) : NULL;
    return g ? &g->device : &p->device;
}

const policy_hygiene_t *policy_hygiene(const policy_t *p, const char *group)
{
    static const policy_hygiene_t defaults = { "", "", "", 3, 300, 3600 };
    if (!p)
        return &defaults;
    const policy_group_t *g = policy__find_group(p, group);
    return g ? &g->hygiene : &p->hygiene;
}
