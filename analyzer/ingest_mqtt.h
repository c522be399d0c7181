/*
 * ingest_mqtt.h - reports from MQTT into the pipeline, and acknowledgements
 * and configuration back to the devices (proto/mqtt.md, transport.cddl).
 *
 * Two threads: libmosquitto's network thread copies each report into a
 * bounded queue (when it is full, the network thread waits: back-pressure
 * the broker absorbs, never a drop); the ingest thread takes up to
 * batch_max reports or what arrived in batch_ms, runs them through the
 * pipeline in one store transaction, commits, and only then acknowledges
 * each (device, boot) it touched with the store's ack point, at most one
 * ack per device per ack_interval_ms, and not before ack_hold_ms for a
 * stream whose stored run does not start at seq 0 (its first reports may
 * still be on their way: an ack would release them unstored). The pipeline, its store and every
 * publish of acks and configuration belong to the ingest thread.
 *
 * What it must never do: acknowledge a report before the transaction that
 * holds it has committed, or store a report under a device other than its
 * topic's.
 */
#ifndef VIGIL_ANALYZER_INGEST_MQTT_H
#define VIGIL_ANALYZER_INGEST_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pipeline.h"
#include "policy.h"
#include "store.h"
#include "vigild_config.h"

typedef struct ingest_mqtt ingest_mqtt_t;

typedef struct {
    uint64_t messages;          /* taken from the broker */
    uint64_t bad_topic;         /* not vigil/v1/<id>/report with a usable id: refused */
    uint64_t oversize;          /* larger than REPORT_MAX_BYTES: refused before decoding */
    uint64_t dropped_closing;   /* arrived after shutdown began: not stored, not acked (re-sent) */
    uint64_t lost_batches;      /* batches whose transaction failed: nothing acked, devices re-send */
    uint64_t lost_reports;      /* the reports of those batches */
    uint64_t batches, commits;
    double commit_seconds_total, commit_seconds_max;
    uint64_t acks_sent, ack_failures, configs_sent;
    uint64_t acks_held;         /* streams not starting at seq 0 whose ack waited (ack_hold_ms) */
    uint64_t policy_reloads, policy_failures;
    size_t queue_high_water;
    pipeline_stats_t pipeline;  /* received, stored, duplicates (re-sends), rejected by reason... */
} ingest_stats_t;

/* `pipeline` and `store` (the pipeline's) stay the caller's and must
 * outlive the ingest; from ingest_mqtt_start to ingest_mqtt_stop only the
 * ingest thread uses them. Needs mosquitto_lib_init() first. */
ingest_mqtt_t *ingest_mqtt_new(const vigild_config_t *cfg, pipeline_t *pipeline, store_t *store, char *err,
                               size_t err_size);

/* Connects (retrying in the background when the broker is not there yet),
 * subscribes to $share/<group>/vigil/v1/+/report and starts the threads. */
bool ingest_mqtt_start(ingest_mqtt_t *in, char *err, size_t err_size);

/* Asks the ingest thread to reload the policy file (a broken one is logged
 * with file:line and the running one stays) and then push every device's
 * configuration. Not async-signal-safe. */
void ingest_mqtt_request_policy_reload(ingest_mqtt_t *in);

/*
 * Clean shutdown: stops taking messages (later ones are counted in
 * dropped_closing; the broker already had them acknowledged by libmosquitto,
 * so their devices re-send them), commits what was taken, sends its acks,
 * waits up to 5 s for the broker to have them, and disconnects.
 */
void ingest_mqtt_stop(ingest_mqtt_t *in);
void ingest_mqtt_free(ingest_mqtt_t *in);

void ingest_mqtt_get_stats(ingest_mqtt_t *in, ingest_stats_t *out);
/* The counters as `name value` pairs on one line, prefixed "counters:". */
void ingest_stats_format(const ingest_stats_t *s, char *out, size_t size);

/* An alert_sink_fn for pipeline_new: logs each finding as one line, "alert
 * high threat_intel device X: message". */
void ingest_log_finding(void *user, const alert_t *a);

/* CBOR encodings of the transport messages (transport.cddl); return the
 * length, 0 when `size` is too small. */
size_t ingest_encode_ack(uint32_t boot_id, uint32_t seq, uint8_t *out, size_t size);
size_t ingest_encode_config(unsigned report_interval_s, uint8_t *out, size_t size);
/* The whole configuration message of proto/transport.cddl: interval, collectors, sysinfo_every. */
size_t ingest_encode_device_config(const policy_device_t *d, uint8_t *out, size_t size);

/* The device id of a report topic "vigil/v1/<id>/report" into out (size
 * STORE_MAX_DEVICE_ID + 1); false for any other topic or an id of 0 or
 * more than STORE_MAX_DEVICE_ID bytes. */
bool ingest_topic_device(const char *topic, char *out, size_t size);

#endif
