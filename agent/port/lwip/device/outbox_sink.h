/*
 * outbox_sink.h - where vigil-lwip-device's reports go: the pluggable hook
 * it calls after every poll and at shutdown, and the file sink behind
 * --out FILE (records of a 4-byte big-endian length and one CBOR report,
 * exactly what `vigil decode FILE` and vigil-agent's --out use).
 *
 * The hook runs in lwIP's tcpip thread with the adapter's libvigil lock
 * held (vigil_lwip_lock), so it may read and release the outbox; it must
 * never call into lwIP (the lock is not held while lwIP runs, and lwIP's
 * hooks take it). A transport that talks through the host's sockets, such
 * as an MQTT uplink on libmosquitto's own thread, fits: it queues here and
 * releases on the analyzer's acknowledgement.
 *
 * The file sink never drops a report: it writes and releases oldest first,
 * and on a write error keeps the rest in the outbox and says so.
 */
#ifndef VIGIL_LWIP_DEVICE_OUTBOX_SINK_H
#define VIGIL_LWIP_DEVICE_OUTBOX_SINK_H

#include <stdbool.h>
#include <stdio.h>

#include "vigil.h"

/* Returns false when the transport failed for good (the device then stops). */
typedef bool (*outbox_sink_fn)(void *user, vigil_ctx_t *ctx);

typedef struct {
    outbox_sink_fn drain;
    void *user;
} outbox_sink_t;

typedef struct {
    FILE *out;
    const char *path;           /* for messages */
    bool failed;
    unsigned long long reports; /* written, flushed and released */
} report_file_t;

/* Opens (truncates) path, "-" for stdout. False with errno set on failure. */
bool report_file_open(report_file_t *f, const char *path);

/* The outbox_sink_fn of a report_file_t (user = the report_file_t). */
bool report_file_drain(void *user, vigil_ctx_t *ctx);

/* Closes the file; false if anything written was lost. */
bool report_file_close(report_file_t *f);

#endif /* VIGIL_LWIP_DEVICE_OUTBOX_SINK_H */
