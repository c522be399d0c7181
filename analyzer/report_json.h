/*
 * report_json.h - a decoded report as the JSON object `vigil decode` prints
 * (one per line; keys documented in README and proto/vigil.cddl).
 */
#ifndef VIGIL_ANALYZER_REPORT_JSON_H
#define VIGIL_ANALYZER_REPORT_JSON_H

#include <stdbool.h>

#include <jansson.h>

#include "report.h"

/*
 * A new JSON object for the report (NULL when out of memory). Flow objects
 * have exactly the keys proto, local_addr, remote_addr, local_port,
 * remote_port, bytes_in, bytes_out, packets_in, packets_out, initiator; with
 * `full` also first_seen, last_seen and tcp_flags.
 */
json_t *report_to_json(const report_t *report, bool full);

#endif
