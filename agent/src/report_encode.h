/*
 * report_encode.h - encodes the closing period into reports (proto/vigil.cddl),
 * one message per call, into a caller buffer. Private to libvigil.
 */
#ifndef VIGIL_REPORT_ENCODE_H
#define VIGIL_REPORT_ENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil.h"

/* Where the next part of a period resumes. Zero it for a new period. */
typedef struct {
    uint16_t slot4;     /* next IPv4 table slot to consider */
    uint16_t slot6;
    uint16_t listener;  /* next listener index */
    uint16_t part;      /* index of the next part */
    bool done;          /* every part written */
} report_cursor_t;

/*
 * Writes the next report of the period ending at `period_end` with sequence
 * number `seq` into buf (at most `capacity` bytes) and advances the cursor.
 * VIGIL_ERR_NOSPACE when not even the report's fixed part and one item fit.
 */
vigil_err_t report_encode_part(vigil_ctx_t *ctx, report_cursor_t *cursor, uint32_t period_end,
                               uint32_t seq, uint8_t *buf, size_t capacity, size_t *length);

/* The length of the longest prefix of s (at most max bytes) that is whole,
 * valid UTF-8: what may go into a CBOR text string. */
size_t report_utf8_prefix(const char *s, size_t max);

#endif
