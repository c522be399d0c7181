/*
 * findings.h - how `vigil` prints alerts and recommendations: a table for
 * people, or one JSON object per line (alert_to_json) for tools.
 */
#ifndef VIGIL_CLI_FINDINGS_H
#define VIGIL_CLI_FINDINGS_H

#include <stdbool.h>
#include <stdio.h>

#include "alert.h"

/* Sorts for output: alerts before recommendations, then by first time,
 * type, device and key, so a run prints the same lines every time. */
void findings_sort(alert_t *findings, size_t count);

/* "2026-11-25 03:24:02Z" (UTC), or the number when it is no time. */
void findings_format_time(int64_t t, char *out, size_t size);

/* Prints the findings; false when writing failed. */
bool findings_print(FILE *out, const alert_t *findings, size_t count, bool json);

#endif
