/*
 * intel_csv.c - CSV feeds in the layout of abuse.ch's Feodo Tracker: '#'
 * comment lines (one of which may be the header), quoted fields with ""
 * escapes, the address in a column given by number or name, or found by
 * its header (dst_ip, ip, ip_address, ipaddress, address, indicator), and
 * the category from a "malware" or "category" column when there is one.
 *
 * Records are one line each (the shared line reader): a quoted field that
 * runs past its line is refused, as is any row whose address does not
 * parse - the whole feed, with the line. It must never guess a column
 * silently once data rows have started.
 */
#include "intel_feed_priv.h"
#include "intel_lines.h"

#include <stdlib.h>
#include <string.h>

#define CSV_MAX_FIELDS 1024

typedef struct {
    char *buf;                 /* decoded fields, back to back */
    size_t off[CSV_MAX_FIELDS], len[CSV_MAX_FIELDS];
    size_t count;
} csv_row_t;

static const char *field(const csv_row_t *row, size_t i, size_t *len)
{
    *len = row->len[i];
    return intel_lines_trim(row->buf + row->off[i], len);
}

/* Splits one line into row (whose buf holds at least n bytes). */
static bool split(const char *line, size_t n, csv_row_t *row, const char **why)
{
    size_t i = 0, out = 0;
    row->count = 0;
    for (;;) {
        if (row->count == CSV_MAX_FIELDS) {
            *why = "more than 1024 fields";
            return false;
        }
        size_t j = i;
        while (j < n && (line[j] == ' ' || line[j] == '\t'))
            j++;
        size_t start = out, k;
        if (j < n && line[j] == '"') {
            for (k = j + 1;; k++) {
                if (k >= n) {
                    *why = "unterminated quoted field";
                    return false;
                }
                if (line[k] == '"') {
                    if (k + 1 < n && line[k + 1] == '"') {
                        row->buf[out++] = '"';
                        k++;
                        continue;
                    }
                    k++;
                    break;
                }
                row->buf[out++] = line[k];
            }
            while (k < n && (line[k] == ' ' || line[k] == '\t'))
                k++;
            if (k < n && line[k] != ',') {
                *why = "text after a closing quote";
                return false;
            }
        } else {
            for (k = i; k < n && line[k] != ','; k++)
                row->buf[out++] = line[k];
        }
        row->off[row->count] = start;
        row->len[row->count++] = out - start;
        if (k >= n)
            return true;
        i = k + 1;
    }
}

static bool name_is(const char *text, size_t len, const char *name)
{
    if (strlen(name) != len)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        char d = name[i];
        if (d >= 'A' && d <= 'Z')
            d = (char)(d - 'A' + 'a');
        if (c != d)
            return false;
    }
    return true;
}

/* The leftmost column named one of names[], or -1. */
static long find_column(const csv_row_t *row, const char *const *names, size_t n_names)
{
    for (size_t i = 0; i < row->count; i++) {
        size_t len;
        const char *f = field(row, i, &len);
        for (size_t k = 0; k < n_names; k++)
            if (name_is(f, len, names[k]))
                return (long)i;
    }
    return -1;
}

static const char *const address_names[] = { "dst_ip",    "ip",      "ip_address",
                                              "ipaddress", "address", "indicator" };
static const char *const category_names[] = { "malware", "category" };

static bool holds_address(const csv_row_t *row, size_t i)
{
    size_t len;
    const char *f = field(row, i, &len);
    intel_net_t net;
    return intel_net_parse(f, len, &net, NULL);
}

typedef struct {
    intel_parse_t *p;
    csv_row_t row, header;
    const char *comment_header;      /* the latest '#' line that splits into >= 2 fields */
    size_t comment_header_len, comment_header_line;
    bool resolved;
    long column, category_column;
    const char *default_category;
    uint8_t confidence;
} csv_t;

/* Whether the first non-comment row is a header rather than data. */
static bool row_is_header(const csv_t *c)
{
    const intel_spec_t *spec = c->p->spec;
    if (spec->csv_column_name[0]) {
        const char *name = spec->csv_column_name;
        return find_column(&c->row, &name, 1) >= 0;
    }
    if (spec->csv_column == 0)
        return find_column(&c->row, address_names, 6) >= 0;
    for (size_t i = 0; i < c->row.count; i++)
        if (holds_address(&c->row, i))
            return false;
    return true;
}

/* Decides the columns at the first non-comment row; *skip when that row is
 * the header. */
static bool resolve(csv_t *c, size_t line, bool *skip)
{
    const intel_spec_t *spec = c->p->spec;
    const csv_row_t *header = NULL;
    size_t header_line = 0;
    *skip = row_is_header(c);
    if (*skip) {
        header = &c->row;
        header_line = line;
    } else if (c->comment_header) {
        const char *why;
        if (split(c->comment_header, c->comment_header_len, &c->header, &why)) {
            header = &c->header;
            header_line = c->comment_header_line;
        }
    }
    if (spec->csv_column) {
        c->column = (long)spec->csv_column - 1;
    } else if (spec->csv_column_name[0]) {
        const char *name = spec->csv_column_name;
        if (!header)
            return intel_feed__fail(c->p, line, "no header line to find column '%s' in", name);
        c->column = find_column(header, &name, 1);
        if (c->column < 0)
            return intel_feed__fail(c->p, header_line, "no column named '%s' in the header",
                                    name);
    } else if (header) {
        c->column = find_column(header, address_names, 6);
        if (c->column < 0)
            return intel_feed__fail(c->p, header_line,
                                    "no address column in the header (dst_ip, ip, ip_address, "
                                    "ipaddress, address, indicator): give csv:COLUMN:");
    } else {
        c->column = -1;
        for (size_t i = 0; i < c->row.count && c->column < 0; i++)
            if (holds_address(&c->row, i))
                c->column = (long)i;
        if (c->column < 0)
            return intel_feed__fail(c->p, line,
                                    "no header and no field holding an address: give "
                                    "csv:COLUMN:");
    }
    c->category_column = header ? find_column(header, category_names, 2) : -1;
    c->resolved = true;
    return true;
}

static bool data_row(csv_t *c, size_t line)
{
    intel_parse_t *p = c->p;
    p->stats->records++;
    if ((size_t)c->column >= c->row.count)
        return intel_feed__fail(p, line, "%zu fields, the address is in column %ld",
                                c->row.count, c->column + 1);
    size_t len;
    const char *text = field(&c->row, (size_t)c->column, &len);
    intel_net_t net;
    const char *why;
    if (!intel_net_parse(text, len, &net, &why)) {
        char quoted[48];
        intel_feed__quote(text, len, quoted, sizeof quoted);
        return intel_feed__fail(p, line, "column %ld: '%s': %s", c->column + 1, quoted, why);
    }
    const char *category = NULL;
    char cat[INTEL_NAME_MAX + 1];
    if (c->category_column >= 0 && (size_t)c->category_column < c->row.count) {
        const char *ct = field(&c->row, (size_t)c->category_column, &len);
        category = intel_feed__category(ct, len, cat);
    }
    return intel_feed__add(p, &net, category ? category : c->default_category, c->confidence,
                           INTEL_UNBOUNDED_FROM, INTEL_UNBOUNDED_UNTIL);
}

static bool run(csv_t *c)
{
    intel_parse_t *p = c->p;
    intel_lines_t r;
    intel_lines_init(&r, p->data, p->len);
    const char *text, *why;
    size_t n;
    intel_lines_status_t st;
    while ((st = intel_lines_next(&r, &text, &n, &why)) == INTEL_LINES_OK) {
        text = intel_lines_trim(text, &n);
        if (n == 0)
            continue;
        if (text[0] == '#') {
            if (!c->resolved) {
                size_t hn = n - 1;
                const char *h = intel_lines_trim(text + 1, &hn);
                if (split(h, hn, &c->header, &why) && c->header.count >= 2) {
                    c->comment_header = h;
                    c->comment_header_len = hn;
                    c->comment_header_line = r.line;
                }
            }
            continue;
        }
        if (!split(text, n, &c->row, &why))
            return intel_feed__fail(p, r.line, "%s", why);
        if (!c->resolved) {
            bool skip;
            if (!resolve(c, r.line, &skip))
                return false;
            if (skip)
                continue;
        }
        if (!data_row(c, r.line))
            return false;
    }
    if (st == INTEL_LINES_BAD)
        return intel_feed__fail(p, r.line, "%s", why);
    return true;
}

bool intel_feed__csv(intel_parse_t *p)
{
    csv_t *c = calloc(1, sizeof *c);
    char *row_buf = malloc(INTEL_LINE_MAX + 1);
    char *header_buf = malloc(INTEL_LINE_MAX + 1);
    bool ok = false;
    if (!c || !row_buf || !header_buf) {
        intel_feed__fail(p, 0, "out of memory");
        goto out;
    }
    c->p = p;
    c->row.buf = row_buf;
    c->header.buf = header_buf;
    c->default_category = p->spec->category[0] ? p->spec->category : "blocklist";
    c->confidence = p->spec->confidence >= 0 && p->spec->confidence <= 100
                        ? (uint8_t)p->spec->confidence
                        : 100;
    ok = run(c);
out:
    free(header_buf);
    free(row_buf);
    free(c);
    return ok;
}
