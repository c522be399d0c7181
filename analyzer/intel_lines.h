/*
 * intel_lines.h - the one line reader of the text feed formats (plain and
 * CSV). Private to the intel module.
 *
 * It hands out lines as (pointer, length) into the caller's buffer, without
 * their "\n" or "\r\n", and refuses what no feed line may hold: a NUL byte,
 * or more than INTEL_LINE_MAX bytes. A UTF-8 byte order mark at the start is
 * skipped; a last line without a newline is still a line.
 */
#ifndef VIGIL_ANALYZER_INTEL_LINES_H
#define VIGIL_ANALYZER_INTEL_LINES_H

#include <stdbool.h>
#include <stddef.h>

#define INTEL_LINE_MAX 65536

typedef struct {
    const char *p, *end;
    size_t line;               /* 1-based number of the line last returned (or refused) */
} intel_lines_t;

typedef enum {
    INTEL_LINES_END = 0,       /* no more lines */
    INTEL_LINES_OK,            /* a line in *text, *len */
    INTEL_LINES_BAD            /* line r->line is refused; *why says why; reading stops */
} intel_lines_status_t;

void intel_lines_init(intel_lines_t *r, const char *data, size_t len);
intel_lines_status_t intel_lines_next(intel_lines_t *r, const char **text, size_t *len,
                                      const char **why);

/* Blanks (space, tab) off both ends of text[0..*len). */
const char *intel_lines_trim(const char *text, size_t *len);

#endif
