/*
 * hygiene.h - security-hygiene recommendations per device, kept current as
 * reports arrive.
 *
 * A recommendation is raised once per (device, type, key) and stays until
 * what caused it goes away; then the `clear` callback withdraws it (a closed
 * insecure listener, a filled sequence gap, an upgraded firmware). Types:
 *
 *   insecure_listener     a listening service that speaks plaintext or is
 *                         commonly abused (telnet, ftp, tftp, http, MQTT
 *                         1883, CoAP 5683, Modbus 502, ...); key "tcp:23"
 *   plaintext_outbound    the device opened such a protocol itself; key "tcp:80"
 *   outdated_agent, outdated_os, outdated_firmware
 *                         version below the group's minimum; key ""
 *   device_silent         no report for silent_intervals report intervals
 *                         (analyzer clock; only with hygiene_tick)
 *   sequence_gap          reports of a boot stream that never arrived; key "boot:<id>"
 *   replayed_report       a (boot, seq) seen before with different content
 *   clock_skew            device clock off the analyzer's by more than the maximum
 *   flow_table_overflow   flows the device could not track (table too small)
 *   outbox_overflow       reports the device dropped before sending them
 *   shared_identity       one device id reporting from two boot streams at once
 *
 * Times in raised findings are device-clock period ends, except
 * device_silent (analyzer clock). Memory per device is bounded.
 */
#ifndef VIGIL_ANALYZER_HYGIENE_H
#define VIGIL_ANALYZER_HYGIENE_H

#include <stdbool.h>
#include <stdint.h>

#include "alert.h"
#include "report.h"

typedef struct {
    char min_agent_version[32];     /* "" = no minimum */
    char min_os_version[32];
    char min_firmware_version[32];
    uint32_t silent_intervals;      /* 0 = never */
    uint32_t clock_skew_max;        /* seconds; 0 = never */
} hygiene_settings_t;

#define HYGIENE_TIME_UNKNOWN INT64_MIN

/* Withdraws a recommendation raised earlier. */
typedef void (*hygiene_clear_fn)(void *user, const char *device, const char *type, const char *key);

typedef struct {
    alert_sink_fn raise;
    hygiene_clear_fn clear;
    void *user;
} hygiene_out_t;

typedef struct hygiene hygiene_t;

hygiene_t *hygiene_new(void);
void hygiene_free(hygiene_t *h);

/*
 * One decoded report, once per (device, boot, seq): the caller drops
 * redeliveries before this. `received_at` is the analyzer's clock, or
 * HYGIENE_TIME_UNKNOWN for reports read from files (no skew, no silence).
 */
void hygiene_report(hygiene_t *h, const hygiene_settings_t *settings, const report_t *r,
                    int64_t received_at, const hygiene_out_t *out);

/* The same (device, boot, seq) arrived again with different bytes. */
void hygiene_replayed(hygiene_t *h, const report_t *r, const hygiene_out_t *out);

/*
 * Whether the device has state here. A process that meets a device for the
 * first time seeds it (hygiene_seed) with the recommendations the store
 * already holds for it, so that another process's findings are withdrawn
 * when their cause goes and not raised again.
 */
bool hygiene_has_device(const hygiene_t *h, const char *device);
void hygiene_seed(hygiene_t *h, const char *device, const char *type, const char *key);

/*
 * Missing reports of a boot stream, from wherever they are known best (the
 * store, shared by every analyzer process): the lowest and highest seq seen
 * and how many in between are missing. False: unknown.
 */
typedef bool (*hygiene_missing_fn)(void *user, const char *device, uint32_t boot_id, uint32_t *low,
                                   uint32_t *high, uint64_t *missing);

typedef struct {
    const hygiene_settings_t *(*settings_for)(void *user, const char *device);
    hygiene_missing_fn missing;    /* NULL: this process's own record of the stream */
    void *user;
} hygiene_tick_t;

/*
 * Periodic checks at analyzer time `now` (device_silent, sequence gaps that
 * stayed open). With now == HYGIENE_TIME_UNKNOWN (end of a file or capture)
 * only gaps are checked.
 */
void hygiene_tick(hygiene_t *h, int64_t now, const hygiene_tick_t *how, const hygiene_out_t *out);

/* Compares dotted versions numerically ("1.10.0" > "1.9.2"); <0, 0, >0. */
int hygiene_version_compare(const char *a, const char *b);

#endif
