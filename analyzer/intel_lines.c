/*
 * intel_lines.c - the line reader shared by the plain and CSV feed parsers
 * (see intel_lines.h).
 *
 * It must never read past the end it was given (feeds are not
 * NUL-terminated), never return a line containing a NUL byte, and never
 * return a line longer than INTEL_LINE_MAX: parsers downstream rely on all
 * three.
 */
#include "intel_lines.h"

#include <string.h>

void intel_lines_init(intel_lines_t *r, const char *data, size_t len)
{
    r->p = data;
    r->end = data + len;
    r->line = 0;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        r->p += 3;
}

intel_lines_status_t intel_lines_next(intel_lines_t *r, const char **text, size_t *len,
                                      const char **why)
{
    if (r->p >= r->end)
        return INTEL_LINES_END;
    r->line++;
    size_t left = (size_t)(r->end - r->p);
    /* Look no further than a maximal line and its "\r\n": a line that has
     * no newline within that window is too long whatever follows. */
    size_t window = left < INTEL_LINE_MAX + 2 ? left : INTEL_LINE_MAX + 2;
    const char *nl = memchr(r->p, '\n', window);
    size_t n = nl ? (size_t)(nl - r->p) : left;
    size_t next = nl ? n + 1 : left;
    if (n > 0 && r->p[n - 1] == '\r')
        n--;
    if (n > INTEL_LINE_MAX) {
        *why = "line longer than 65536 bytes";
        r->p = r->end;
        return INTEL_LINES_BAD;
    }
    if (memchr(r->p, '\0', n) != NULL) {
        *why = "NUL byte in line";
        r->p = r->end;
        return INTEL_LINES_BAD;
    }
    *text = r->p;
    *len = n;
    r->p += next;
    return INTEL_LINES_OK;
}

const char *intel_lines_trim(const char *text, size_t *len)
{
    size_t n = *len;
    while (n > 0 && (*text == ' ' || *text == '\t')) {
        text++;
        n--;
    }
    while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\t'))
        n--;
    *len = n;
    return text;
}
