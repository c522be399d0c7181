/*
 * mqtt_uplink.h - the transport between one libvigil context and an MQTT
 * broker (proto/mqtt.md): publishes the outbox's reports on
 * vigil/v1/<id>/report (QoS 1), releases them only when the analyzer's own
 * ack (vigil/v1/<id>/ack, proto/transport.cddl) covers them, re-sends the
 * others after a timeout or a reconnect, and applies the configuration the
 * analyzer publishes on vigil/v1/<id>/config.
 *
 * Threads: libmosquitto runs its network loop in its own thread
 * (mosquitto_loop_start). libvigil is not thread-safe, so that thread never
 * touches the context: its callbacks only decode and queue acks and
 * configurations under a mutex, and mqtt_uplink_pump(), called on the
 * capture thread from the outbox hook, applies them. The pump never waits
 * for the network: publishing only queues a message for the loop thread.
 *
 * It must never release a report that the analyzer did not acknowledge for
 * this boot, and never apply part of a configuration.
 */
#ifndef VIGIL_AGENT_MQTT_UPLINK_H
#define VIGIL_AGENT_MQTT_UPLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "vigil.h"

/* Bounds on what the broker may hand us: a valid ack or config is under 40
 * bytes, so anything larger is malformed without being decoded. */
#define MQTT_UPLINK_MAX_INBOUND 256u

typedef struct {
    const char *url;            /* mqtt://host[:port] (1883) or mqtts://host[:port] (8883) */
    const char *device_id;      /* names the topics; no '/', '+' or '#' */
    const char *client_id;      /* NULL: the device id */
    const char *username;       /* NULL: none */
    const char *password_file;  /* first line is the password; needs username */
    const char *cafile;         /* mqtts: NULL = the system's CAs */
    const char *certfile;       /* client certificate (with keyfile) */
    const char *keyfile;
    unsigned keepalive_s;       /* 0: 30 */
    unsigned resend_s;          /* re-send what is unacknowledged after this; 0: 30 */
    vigil_config_t config;      /* the configuration the context runs with now:
                                   absent keys of a received config keep these */
} mqtt_uplink_options_t;

typedef struct {
    unsigned long long published;        /* first publications */
    unsigned long long republished;      /* re-sends (timeout or reconnect) */
    unsigned long long released;         /* reports released by acks */
    unsigned long long acks_received;    /* well-formed acks of this boot */
    unsigned long long acks_ignored;     /* well-formed acks of another boot */
    unsigned long long acks_malformed;
    unsigned long long configs_applied;
    unsigned long long configs_rejected;
    unsigned long long inbound_lost;     /* queued acks/configs dropped: queue full */
    unsigned long long connects;         /* successful connections */
    unsigned long long connection_losses;
} mqtt_uplink_stats_t;

typedef struct mqtt_uplink mqtt_uplink_t;

/*
 * Validates the options, reads the password file, and starts connecting in
 * the background (it keeps retrying with backoff 1..30 s; an unreachable
 * broker is not an error here). NULL with a message in err on bad options.
 */
mqtt_uplink_t *mqtt_uplink_new(const mqtt_uplink_options_t *o, char *err, size_t n);

/* Disconnects, stops the network thread and frees everything. NULL is fine. */
void mqtt_uplink_free(mqtt_uplink_t *u);

/*
 * On the context's thread: applies queued configurations (a malformed one
 * is counted with VIGIL_CNT_CONFIG_REJECTED and logged), releases reports
 * acknowledged for `boot_id`, publishes every outbox report not yet
 * published on this connection, and re-publishes those unacknowledged for
 * the re-send timeout. `now` is in seconds on a clock that never jumps
 * (CLOCK_MONOTONIC). Returns false only when libmosquitto fails for a
 * reason a retry cannot fix (out of memory, a message too large).
 */
bool mqtt_uplink_pump(mqtt_uplink_t *u, vigil_ctx_t *ctx, uint32_t boot_id, time_t now);

/*
 * Waits up to timeout_ms until the uplink is connected and subscribed to
 * its ack and config topics, then a little longer so that a retained
 * configuration arrives. Returns whether it got connected.
 */
bool mqtt_uplink_wait_ready(mqtt_uplink_t *u, unsigned timeout_ms);

bool mqtt_uplink_connected(mqtt_uplink_t *u);

void mqtt_uplink_stats(mqtt_uplink_t *u, mqtt_uplink_stats_t *out);

/* Seconds on CLOCK_MONOTONIC, for mqtt_uplink_pump()'s `now`. */
time_t mqtt_uplink_now(void);

/*
 * The strict decoders of proto/transport.cddl, exposed for tests and the
 * fuzzer. Both reject anything that is not exactly the message: trailing
 * bytes, unknown or duplicate keys, wrong types, values out of range.
 * mqtt_uplink_decode_config() starts from *inout (the running configuration)
 * and writes the result there only when the whole message is valid.
 */
bool mqtt_uplink_decode_ack(const uint8_t *msg, size_t len, uint32_t *boot_id, uint32_t *seq,
                            char *why, size_t why_len);
bool mqtt_uplink_decode_config(const uint8_t *msg, size_t len, vigil_config_t *inout,
                               char *why, size_t why_len);

#endif
