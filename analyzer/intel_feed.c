/*
 * intel_feed.c - from a SPEC and a feed's bytes to an indicator set: SPEC
 * parsing, format detection, and what every format parser shares (refusing
 * a feed, adding and counting indicators, quoting hostile text into error
 * messages, RFC 3339 times).
 *
 * It must never hand out a partial set: a parser that fails has its set
 * freed here, and the caller gets NULL and a reason.
 */
#define _GNU_SOURCE /* memmem */
#include "intel_feed_priv.h"
#include "intel_lines.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- SPEC ---- */

static bool starts_with_ci(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++) {
        char c = *s;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != *prefix)
            return false;
    }
    return true;
}

static bool is_url(const char *s)
{
    return starts_with_ci(s, "http://") || starts_with_ci(s, "https://");
}

/* "scheme://" with a scheme we do not fetch. */
static bool is_other_url(const char *s)
{
    const char *p = s;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '+' || *p == '-' || *p == '.')
        p++;
    return p > s && strncmp(p, "://", 3) == 0;
}

static bool spec_error(char *err, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool spec_error(char *err, size_t n, const char *fmt, ...)
{
    if (err && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, n, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* The last segment of a path, without its extension. */
static size_t name_from_segment(const char *seg, size_t len, char *out)
{
    const char *dot = NULL;
    for (size_t i = 1; i < len; i++)
        if (seg[i] == '.')
            dot = seg + i;
    if (dot)
        len = (size_t)(dot - seg);
    if (len > INTEL_NAME_MAX)
        len = INTEL_NAME_MAX;
    memcpy(out, seg, len);
    out[len] = '\0';
    return len;
}

static size_t feed_name(const char *location, bool url, char *out)
{
    if (!url) {
        const char *slash = strrchr(location, '/');
        const char *seg = slash ? slash + 1 : location;
        return name_from_segment(seg, strlen(seg), out);
    }
    const char *auth = strstr(location, "://") + 3;
    size_t auth_len = strcspn(auth, "/?#");
    const char *path = auth + auth_len;
    size_t path_len = *path == '/' ? strcspn(path, "?#") : 0;
    size_t seg_start = path_len;
    while (seg_start > 0 && path[seg_start - 1] != '/')
        seg_start--;
    if (seg_start < path_len)
        return name_from_segment(path + seg_start, path_len - seg_start, out);
    /* No file name in the URL: the host, without user info and port. */
    const char *at = memchr(auth, '@', auth_len);
    if (at) {
        auth_len -= (size_t)(at + 1 - auth);
        auth = at + 1;
    }
    size_t host_len = auth_len;
    if (auth_len > 0 && auth[0] == '[') {
        const char *close = memchr(auth, ']', auth_len);
        host_len = close ? (size_t)(close + 1 - auth) : auth_len;
    } else {
        const char *colon = memchr(auth, ':', auth_len);
        if (colon)
            host_len = (size_t)(colon - auth);
    }
    if (host_len > INTEL_NAME_MAX)
        host_len = INTEL_NAME_MAX;
    memcpy(out, auth, host_len);
    out[host_len] = '\0';
    return host_len;
}

bool intel_spec_parse(const char *text, intel_spec_t *out, char *err, size_t n)
{
    memset(out, 0, sizeof *out);
    out->confidence = -1;
    const char *loc = text;
    if (strncmp(text, "plain:", 6) == 0) {
        out->format = INTEL_FORMAT_PLAIN;
        loc = text + 6;
    } else if (strncmp(text, "stix:", 5) == 0) {
        out->format = INTEL_FORMAT_STIX;
        loc = text + 5;
    } else if (strncmp(text, "misp:", 5) == 0) {
        out->format = INTEL_FORMAT_MISP;
        loc = text + 5;
    } else if (strncmp(text, "csv:", 4) == 0) {
        out->format = INTEL_FORMAT_CSV;
        const char *col = text + 4;
        if (is_url(col)) {
            /* "csv:https://..." cannot mean a column named "https". */
            loc = col;
        } else {
            const char *colon = strchr(col, ':');
            if (!colon)
                return spec_error(err, n, "'%s': csv needs csv:COLUMN:PATH_OR_URL", text);
            size_t col_len = (size_t)(colon - col);
            loc = colon + 1;
            bool digits = col_len > 0;
            for (size_t i = 0; i < col_len; i++)
                if (col[i] < '0' || col[i] > '9')
                    digits = false;
            if (digits) {
                unsigned long v = 0;
                for (size_t i = 0; i < col_len && v <= 100000; i++)
                    v = v * 10 + (unsigned long)(col[i] - '0');
                if (v == 0 || v > 65535)
                    return spec_error(err, n,
                                      "'%s': csv column numbers start at 1 and end at 65535",
                                      text);
                out->csv_column = (unsigned)v;
            } else if (col_len > INTEL_NAME_MAX) {
                return spec_error(err, n, "'%s': csv column name longer than 63 bytes", text);
            } else {
                memcpy(out->csv_column_name, col, col_len);
                out->csv_column_name[col_len] = '\0';
            }
        }
    }
    if (*loc == '\0')
        return spec_error(err, n, "'%s': no path or URL", text);
    for (const char *c = loc; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return spec_error(err, n, "'%s': control character in the location", text);
    if (strlen(loc) > INTEL_LOCATION_MAX)
        return spec_error(err, n, "'%.60s...': location longer than 2047 bytes", text);
    bool url = is_url(loc);
    if (!url && is_other_url(loc))
        return spec_error(err, n, "'%s': only http:// and https:// URLs are fetched", text);
    if (url && loc[strcspn(loc, ":") + 3] == '\0')
        return spec_error(err, n, "'%s': URL without a host", text);
    strcpy(out->location, loc);
    if (feed_name(out->location, url, out->feed) == 0)
        return spec_error(err, n, "'%s': no feed name in the location (a file name is needed)",
                          text);
    return true;
}

bool intel_spec_is_url(const intel_spec_t *spec)
{
    return is_url(spec->location);
}

const char *intel_format_name(intel_format_t format)
{
    switch (format) {
    case INTEL_FORMAT_AUTO: return "auto";
    case INTEL_FORMAT_PLAIN: return "plain";
    case INTEL_FORMAT_CSV: return "csv";
    case INTEL_FORMAT_STIX: return "stix";
    case INTEL_FORMAT_MISP: return "misp";
    }
    return "?";
}

void intel_feed_error_format(const intel_feed_error_t *err, char *out, size_t n)
{
    if (err->line)
        snprintf(out, n, "feed %s: line %zu: %s", err->feed, err->line, err->reason);
    else
        snprintf(out, n, "feed %s: %s", err->feed, err->reason);
}

/* ---- shared by the parsers ---- */

bool intel_feed__fail(intel_parse_t *p, size_t line, const char *fmt, ...)
{
    intel_feed_error_t *e = p->err;
    snprintf(e->feed, sizeof e->feed, "%s", p->spec->feed);
    e->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->reason, sizeof e->reason, fmt, ap);
    va_end(ap);
    return false;
}

bool intel_feed__add(intel_parse_t *p, const intel_net_t *net, const char *category,
                     uint8_t confidence, int64_t valid_from, int64_t valid_until)
{
    if (!intel_set_add(p->set, net, category, confidence, valid_from, valid_until))
        return intel_feed__fail(p, 0, "out of memory after %zu indicators", p->stats->indicators);
    intel_parse_stats_t *s = p->stats;
    s->indicators++;
    bool exact = net->prefix == (net->family == 4 ? 32 : 128);
    if (net->family == 4)
        (*(exact ? &s->ipv4_exact : &s->ipv4_prefix))++;
    else
        (*(exact ? &s->ipv6_exact : &s->ipv6_prefix))++;
    if (valid_until < p->now)
        s->expired++;
    return true;
}

void intel_feed__quote(const char *text, size_t len, char *out, size_t n)
{
    if (n == 0)
        return;
    size_t room = n - 1, i = 0;
    bool cut = len > room;
    if (cut)
        room = room > 3 ? room - 3 : 0;
    for (; i < len && i < room; i++) {
        unsigned char c = (unsigned char)text[i];
        out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (cut)
        for (size_t k = 0; k < 3 && i < n - 1; k++)
            out[i++] = '.';
    out[i] = '\0';
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        if (c == 0xe0)
            lo = 0xa0;
        if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        if (c == 0xf0)
            lo = 0x90;
        if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (n < need + 1 || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i <= need; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return need + 1;
}

const char *intel_feed__category(const char *text, size_t len, char out[INTEL_NAME_MAX + 1])
{
    const unsigned char *s = (const unsigned char *)text;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t k = utf8_seq(s + i, len - i);
        if (o + (k ? k : 1) > INTEL_NAME_MAX)
            break;
        if (k == 0 || (k == 1 && (s[i] < 0x20 || s[i] == 0x7f))) {
            out[o++] = '?';
            i++;
            continue;
        }
        memcpy(out + o, s + i, k);
        o += k;
        i += k;
    }
    out[o] = '\0';
    return o ? out : NULL;
}

size_t intel_feed__line_of(const intel_parse_t *p, const char *needle)
{
    size_t nlen = strlen(needle);
    if (nlen == 0)
        return 0;
    const char *at = memmem(p->data, p->len, needle, nlen);
    if (!at)
        return 0;
    size_t line = 1;
    for (const char *c = p->data; c < at; c++)
        line += *c == '\n';
    return line;
}

static bool digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil): no timegm, no time zone. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool intel_feed__time(const char *s, size_t n, int64_t *out)
{
    /* YYYY-MM-DDTHH:MM:SS at least */
    int y, mo, d, h, mi, sec;
    if (n < 19 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':')
        return false;
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
        return false;
    if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
        !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &sec))
        return false;
    static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap))
        return false;
    if (h > 23 || mi > 59 || sec > 60)
        return false;
    size_t i = 19;
    if (i < n && s[i] == '.') {
        size_t start = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start)
            return false;
    }
    int64_t offset = 0;
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        int oh, om;
        if (n - i < 6 || s[i + 3] != ':' || !digits(s + i + 1, 2, &oh) ||
            !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            return false;
        offset = (int64_t)(oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
        i += 6;
    } else {
        return false;
    }
    if (i != n)
        return false;
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
    return true;
}

/* ---- detection and dispatch ---- */

static size_t count_lines(const char *data, size_t len)
{
    size_t lines = 0;
    for (const char *c = data, *end = data + len; c < end; c++) {
        const char *nl = memchr(c, '\n', (size_t)(end - c));
        lines++;
        if (!nl)
            break;
        c = nl;
    }
    return lines;
}

/* Comma-separated lines make CSV: the first line that is neither blank nor
 * a comment decides (a plain line never holds a comma before its '#'). */
static intel_format_t detect_text(const char *data, size_t len)
{
    intel_lines_t r;
    intel_lines_init(&r, data, len);
    const char *text, *why;
    size_t n;
    while (intel_lines_next(&r, &text, &n, &why) == INTEL_LINES_OK) {
        text = intel_lines_trim(text, &n);
        if (n == 0 || text[0] == '#')
            continue;
        const char *hash = memchr(text, '#', n);
        size_t body = hash ? (size_t)(hash - text) : n;
        return memchr(text, ',', body) ? INTEL_FORMAT_CSV : INTEL_FORMAT_PLAIN;
    }
    return INTEL_FORMAT_PLAIN;
}

static bool is_misp(json_t *root)
{
    if (json_is_array(root))
        return json_array_size(root) > 0 && json_object_get(json_array_get(root, 0), "Event");
    return json_object_get(root, "Event") || json_object_get(root, "response");
}

static bool parse_json(intel_parse_t *p, const char *data, size_t len, json_t **root)
{
    json_error_t je;
    *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (!*root)
        return intel_feed__fail(p, je.line > 0 ? (size_t)je.line : 0, "malformed JSON: %s",
                                je.text);
    return true;
}

static bool parse_into(intel_parse_t *p)
{
    const char *data = p->data;
    size_t len = p->len;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
        data += 3;
        len -= 3;
    }
    intel_format_t format = p->spec->format;
    json_t *root = NULL;
    if (format == INTEL_FORMAT_AUTO) {
        size_t i = 0;
        while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' ||
                           data[i] == '\n'))
            i++;
        if (i < len && (data[i] == '{' || data[i] == '[')) {
            if (!parse_json(p, data, len, &root))
                return false;
            if (json_is_object(root) &&
                json_is_string(json_object_get(root, "type")) &&
                strcmp(json_string_value(json_object_get(root, "type")), "bundle") == 0)
                format = INTEL_FORMAT_STIX;
            else if (is_misp(root))
                format = INTEL_FORMAT_MISP;
            else {
                json_decref(root);
                return intel_feed__fail(p, 0, "JSON that is neither a STIX bundle "
                                              "(\"type\":\"bundle\") nor a MISP event "
                                              "(\"Event\" or \"response\")");
            }
        } else {
            format = detect_text(data, len);
        }
    }
    p->stats->format = format;
    bool ok = false;
    switch (format) {
    case INTEL_FORMAT_PLAIN:
        ok = intel_feed__plain(p);
        break;
    case INTEL_FORMAT_CSV:
        ok = intel_feed__csv(p);
        break;
    case INTEL_FORMAT_STIX:
    case INTEL_FORMAT_MISP:
        if (!root && !parse_json(p, data, len, &root))
            return false;
        ok = format == INTEL_FORMAT_STIX ? intel_feed__stix(p, root) : intel_feed__misp(p, root);
        break;
    case INTEL_FORMAT_AUTO:
        break;
    }
    json_decref(root);
    return ok;
}

intel_set_t *intel_feed_parse(const intel_spec_t *spec, const char *data, size_t len,
                              int64_t now, intel_feed_error_t *err, intel_parse_stats_t *stats)
{
    intel_parse_stats_t local_stats;
    intel_feed_error_t local_err;
    if (!stats)
        stats = &local_stats;
    if (!err)
        err = &local_err;
    if (!data) {
        data = "";
        len = 0;
    }
    memset(stats, 0, sizeof *stats);
    memset(err, 0, sizeof *err);
    stats->bytes = len;
    stats->lines = count_lines(data, len);
    intel_parse_t p = { spec, NULL, err, stats, now, data, len };
    p.set = intel_set_new(spec->feed);
    if (!p.set) {
        intel_feed__fail(&p, 0, "out of memory");
        return NULL;
    }
    if (!parse_into(&p)) {
        intel_set_free(p.set);
        return NULL;
    }
    return p.set;
}
