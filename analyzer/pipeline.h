/*
 * pipeline.h - one report through every stage of the analyzer:
 *
 *   decode (report.h) -> store the report once (store.h) -> registry
 *   -> continuity (initiators) -> threat intel (intel.h) -> custom rules
 *   of the device's group (policy.h) -> hygiene (hygiene.h)
 *   -> findings into the store, deduplicated there.
 *
 * A report is processed in one store transaction: either everything it
 * causes is stored, or nothing is and the caller may hand it in again
 * (`vigild` then does not acknowledge it to the device). Feeding the same
 * report twice changes nothing: the second is a duplicate. The same
 * (device, boot, seq) with different bytes is a replay: counted, recorded
 * as a recommendation, and not analysed.
 *
 * Not thread-safe: one pipeline per thread, each with its own store
 * connection; the intel engine may be shared.
 */
#ifndef VIGIL_ANALYZER_PIPELINE_H
#define VIGIL_ANALYZER_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "intel.h"
#include "policy.h"
#include "report.h"
#include "store.h"

typedef enum {
    PIPELINE_STORED = 0,       /* new report, analysed and committed */
    PIPELINE_DUPLICATE,        /* already stored: nothing changed */
    PIPELINE_REPLAY,           /* same (device, boot, seq), other bytes: recorded, not analysed */
    PIPELINE_REJECTED,         /* refused (decoder, topic mismatch): counted */
    PIPELINE_ERROR             /* the store failed: nothing changed, try again */
} pipeline_result_t;

typedef struct {
    uint64_t received;
    uint64_t stored, duplicates, replays, rejected, errors;
    uint64_t rejected_by_reason[REPORT_ERR__COUNT];
    uint64_t topic_mismatch;   /* device id in the report differs from the topic's */
    uint64_t flows;
    uint64_t intel_matches;    /* flows whose remote matched an indicator */
    uint64_t alerts, recommendations, cleared;
} pipeline_stats_t;

typedef struct pipeline pipeline_t;

/*
 * `store` is required and stays the caller's; `intel` may be NULL (no threat
 * intelligence) and may be shared with other threads; `policy` is taken
 * over (NULL: policy_default()). `on_finding`, when set, sees every finding
 * as it is raised, before deduplication (for logs).
 */
pipeline_t *pipeline_new(store_t *store, intel_t *intel, policy_t *policy, alert_sink_fn on_finding,
                         void *user);
void pipeline_free(pipeline_t *p);

/* Replaces the policy (taken over); the old one is freed. */
void pipeline_set_policy(pipeline_t *p, policy_t *policy);
const policy_t *pipeline_policy(const pipeline_t *p);

/*
 * Processes one encoded report. `topic_device`, when not NULL, is the device
 * id the transport vouches for (the MQTT topic); a report naming another is
 * rejected. `received_at` is the analyzer's clock, or HYGIENE_TIME_UNKNOWN
 * (hygiene.h) for reports read from files. On PIPELINE_REJECTED and
 * PIPELINE_ERROR, `why` (if not NULL) says why.
 */
pipeline_result_t pipeline_ingest(pipeline_t *p, const char *topic_device, const uint8_t *buf, size_t len,
                                  int64_t received_at, char *why, size_t why_size);

/*
 * Batches: several reports in one store transaction (one durable commit for
 * all), each report a unit of its own that fails alone. Between
 * pipeline_batch_begin and pipeline_batch_commit, pipeline_ingest's
 * PIPELINE_STORED means "stored if the batch commits". A failed commit
 * loses the whole batch (its reports must not be acknowledged; their
 * senders re-send). In-memory stage state (continuity, windows, hygiene) is
 * not rolled back with a failed unit or batch.
 */
bool pipeline_batch_begin(pipeline_t *p);
bool pipeline_batch_commit(pipeline_t *p);
void pipeline_batch_rollback(pipeline_t *p);

/* The ack point of (device, boot): the highest seq stored without a gap,
 * as committed (call after pipeline_batch_commit). */
bool pipeline_ack_point(pipeline_t *p, const char *device, uint32_t boot_id, uint32_t *seq);

/* The boot id and seq of the report the last pipeline_ingest handled, when
 * it was not rejected (stored, duplicate, replay or a store error): what a
 * transport needs to acknowledge it without decoding it again. False after
 * a rejection. */
bool pipeline_last_report(const pipeline_t *p, uint32_t *boot_id, uint32_t *seq);

/*
 * Periodic checks (silent devices, sequence gaps) at analyzer time `now`,
 * and open rule windows judged against their max bounds (raised once per
 * window, as soon as exceeded). At the end of an offline run pass
 * HYGIENE_TIME_UNKNOWN and set `final` (no report will follow).
 */
bool pipeline_tick(pipeline_t *p, int64_t now, bool final);

/* The findings this pipeline stored or updated, in first-touch order (for
 * printing what one run found): returns how many there are and, when index
 * is below that, the index-th one's kind and row (store_get_alert). */
size_t pipeline_touched(const pipeline_t *p, size_t index, alert_kind_t *kind, int64_t *row);

void pipeline_get_stats(const pipeline_t *p, pipeline_stats_t *stats);

#endif
