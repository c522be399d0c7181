/*
 * alert.c - names and the JSON form of an alert_t (see alert.h), the one
 * line every output (`vigil scan --json`, JSON lines, the HTTP API) prints.
 *
 * It must never write past `size`, never print a key alert.h does not list,
 * and never emit invalid JSON: text fields come from devices (ids, versions)
 * and from truncating snprintf calls that may cut a UTF-8 sequence in half,
 * so every string is bounded by its field size and repaired to valid UTF-8
 * (U+FFFD for each bad byte) before jansson sees it; jansson then escapes
 * quotes and control characters.
 */
#define _POSIX_C_SOURCE 200809L     /* strnlen */
#include "alert.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static const char *const severity_names[] = { "info", "low", "medium", "high", "critical" };
#define SEVERITY_COUNT (sizeof severity_names / sizeof severity_names[0])

const char *alert_severity_name(alert_severity_t severity)
{
    /* An out-of-range value is a bug upstream; "unknown" keeps printf-style
     * callers safe and is refused by alert_severity_parse. */
    if ((unsigned)severity >= SEVERITY_COUNT)
        return "unknown";
    return severity_names[severity];
}

bool alert_severity_parse(const char *name, alert_severity_t *out)
{
    if (!name)
        return false;
    for (size_t i = 0; i < SEVERITY_COUNT; i++) {
        if (strcmp(name, severity_names[i]) == 0) {
            if (out)
                *out = (alert_severity_t)i;
            return true;
        }
    }
    return false;
}

const char *alert_proto_name(uint8_t proto, uint8_t family)
{
    switch (proto) {
    case REPORT_PROTO_TCP: return "tcp";
    case REPORT_PROTO_UDP: return "udp";
    case REPORT_PROTO_ICMP: return family == 6 ? "icmpv6" : "icmp";
    default: return NULL;     /* ALERT_PROTO_NONE, or a value no report carries */
    }
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0 if the
 * bytes there are not one (overlong, surrogate, above U+10FFFF, cut short). */
static size_t utf8_seq_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;     /* range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0) lo = 0xa0;           /* overlong */
        if (c == 0xed) hi = 0x9f;           /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0) lo = 0x90;           /* overlong */
        if (c == 0xf4) hi = 0x8f;           /* above U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

/* A JSON string from at most `max` bytes of `s` (up to its NUL), with each
 * byte that is not part of valid UTF-8 replaced by U+FFFD. NULL on ENOMEM. */
static json_t *text_json(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    const unsigned char *p = (const unsigned char *)s;
    /* Worst case every byte becomes the three bytes of U+FFFD. */
    char stack[3 * 256 + 1] = { 0 };   /* zeroed: gcc -O2 cannot see o == 0 when unused */
    char *buf = n * 3 < sizeof stack ? stack : malloc(n * 3 + 1);
    if (!buf)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t len = utf8_seq_len(p + i, n - i);
        if (len == 0) {
            memcpy(buf + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(buf + o, p + i, len);
            o += len;
            i += len;
        }
    }
    buf[o] = '\0';
    json_t *j = json_stringn(buf, o);
    if (buf != stack)
        free(buf);
    return j;
}

/* json_object_set_new that remembers a failure, so the caller checks once. */
static void put(json_t *obj, const char *key, json_t *value, bool *ok)
{
    if (!value || json_object_set_new(obj, key, value) != 0)
        *ok = false;
}

static json_t *message_json(const alert_t *a)
{
    size_t msg = strnlen(a->message, sizeof a->message);
    size_t rem = strnlen(a->remediation, sizeof a->remediation);
    /* An empty remediation adds nothing a person could act on, so the
     * separator is left out rather than printed dangling. */
    if (a->kind != ALERT_KIND_RECOMMENDATION || rem == 0)
        return text_json(a->message, msg);
    static const char sep[] = " Remediation: ";
    char buf[sizeof a->message + sizeof sep + sizeof a->remediation];
    memcpy(buf, a->message, msg);
    memcpy(buf + msg, sep, sizeof sep - 1);
    memcpy(buf + msg + sizeof sep - 1, a->remediation, rem);
    return text_json(buf, msg + sizeof sep - 1 + rem);
}

static json_t *indicator_json(const alert_t *a, bool *ok)
{
    if (!a->has_indicator)
        return json_null();
    json_t *o = json_object();
    if (!o) {
        *ok = false;
        return NULL;
    }
    put(o, "value", text_json(a->indicator_value, sizeof a->indicator_value), ok);
    put(o, "feed", text_json(a->indicator_feed, sizeof a->indicator_feed), ok);
    put(o, "category", text_json(a->indicator_category, sizeof a->indicator_category), ok);
    return o;
}

static json_t *alert_json(const alert_t *a)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    bool ok = true;
    bool endpoint = a->family == 4 || a->family == 6;
    const char *proto = alert_proto_name(a->proto, a->family);
    /* A remote port means something only for a flow to a remote endpoint; a
     * local port needs only a protocol (a listener: listener_not_allowed). */
    bool ports = endpoint && a->proto != ALERT_PROTO_NONE;
    bool local_port = a->proto != ALERT_PROTO_NONE;

    put(o, "kind", json_string(a->kind == ALERT_KIND_RECOMMENDATION ? "recommendation" : "alert"), &ok);
    put(o, "type", text_json(a->type, sizeof a->type), &ok);
    put(o, "severity", json_string(alert_severity_name(a->severity)), &ok);
    put(o, "device", text_json(a->device, sizeof a->device), &ok);
    put(o, "time", json_integer(a->time), &ok);
    if (endpoint) {
        char addr[64];
        report_format_addr(a->family, a->remote_addr, addr, sizeof addr);
        put(o, "remote_addr", json_string(addr), &ok);
    } else {
        put(o, "remote_addr", json_null(), &ok);
    }
    put(o, "remote_port", ports ? json_integer(a->remote_port) : json_null(), &ok);
    put(o, "local_port", local_port ? json_integer(a->local_port) : json_null(), &ok);
    put(o, "proto", proto ? json_string(proto) : json_null(), &ok);
    put(o, "direction",
        a->direction == ALERT_DIR_OUTBOUND ? json_string("outbound")
        : a->direction == ALERT_DIR_INBOUND ? json_string("inbound") : json_null(), &ok);
    put(o, "indicator", indicator_json(a, &ok), &ok);
    /* JSON integers in jansson are signed 64-bit: a count beyond that is
     * printed as the largest one rather than wrapping negative. */
    put(o, "count", json_integer(a->count > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)a->count), &ok);
    put(o, "message", message_json(a), &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int alert_to_json(const alert_t *alert, char *out, size_t size)
{
    if (!alert || !out)
        return -1;
    json_t *o = alert_json(alert);
    if (!o)
        return -1;
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!text)
        return -1;
    size_t len = strlen(text);
    int rc = -1;
    if (size > 0)
        out[0] = '\0';     /* a caller that ignores -1 still prints nothing */
    if (len < size && len <= (size_t)INT32_MAX) {
        memcpy(out, text, len + 1);
        rc = (int)len;
    }
    free(text);
    return rc;
}
