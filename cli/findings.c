/*
 * findings.c - alerts and recommendations as a table or as JSON lines.
 * It prints what it is given and decides nothing.
 */
#define _POSIX_C_SOURCE 200809L
#include "findings.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report.h"

static int compare(const void *pa, const void *pb)
{
    const alert_t *a = pa, *b = pb;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    if (a->first_time != b->first_time)
        return a->first_time < b->first_time ? -1 : 1;
    int c = strcmp(a->type, b->type);
    if (c)
        return c;
    c = strcmp(a->device, b->device);
    return c ? c : strcmp(a->key, b->key);
}

void findings_sort(alert_t *findings, size_t count)
{
    if (count > 1)
        qsort(findings, count, sizeof *findings, compare);
}

void findings_format_time(int64_t t, char *out, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(out, size, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
        snprintf(out, size, "%lld", (long long)t);
}

static bool print_row(FILE *out, const alert_t *a)
{
    char when[32], endpoint[80] = "-";
    findings_format_time(a->time, when, sizeof when);
    if (a->family) {
        char addr[64];
        report_format_addr(a->family, a->remote_addr, addr, sizeof addr);
        if (a->proto == ALERT_PROTO_NONE || a->proto == REPORT_PROTO_ICMP)
            snprintf(endpoint, sizeof endpoint, "%s", addr);
        else
            snprintf(endpoint, sizeof endpoint, a->family == 6 ? "[%s]:%u" : "%s:%u", addr,
                     (unsigned)a->remote_port);
    }
    const char *proto = alert_proto_name(a->proto, a->family ? a->family : 4);
    const char *dir = a->direction == ALERT_DIR_OUTBOUND ? "out" : a->direction == ALERT_DIR_INBOUND ? "in" : "-";
    if (fprintf(out, "%-14s %-8s %-22s %-16s %-20s %-6s %-3s %-29s x%-4llu %s\n",
                a->kind == ALERT_KIND_ALERT ? "ALERT" : "RECOMMENDATION", alert_severity_name(a->severity),
                a->type, a->device, when, proto ? proto : "-", dir, endpoint, (unsigned long long)a->count,
                a->message) < 0)
        return false;
    if (a->has_indicator &&
        fprintf(out, "%14s indicator %s, feed %s, category %s\n", "", a->indicator_value, a->indicator_feed,
                a->indicator_category) < 0)
        return false;
    if (a->kind == ALERT_KIND_RECOMMENDATION && a->remediation[0] &&
        fprintf(out, "%14s remediation: %s\n", "", a->remediation) < 0)
        return false;
    return true;
}

bool findings_print(FILE *out, const alert_t *findings, size_t count, bool json)
{
    if (!json && count > 0 &&
        fprintf(out, "%-14s %-8s %-22s %-16s %-20s %-6s %-3s %-29s %-5s %s\n", "KIND", "SEVERITY", "TYPE",
                "DEVICE", "TIME", "PROTO", "DIR", "REMOTE", "COUNT", "MESSAGE") < 0)
        return false;
    for (size_t i = 0; i < count; i++) {
        if (json) {
            char line[2048];
            if (alert_to_json(&findings[i], line, sizeof line) < 0 || fprintf(out, "%s\n", line) < 0)
                return false;
        } else if (!print_row(out, &findings[i])) {
            return false;
        }
    }
    return fflush(out) == 0;
}
