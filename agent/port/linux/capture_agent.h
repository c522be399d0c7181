/*
 * capture_agent.h - libvigil driven by a capture: packets of a pcap source
 * are classified by the device's addresses, fed to vigil_observe_headers()
 * with the capture's clock (files) or the host's (live), and periods are
 * closed on time. What happens to the reports is the transport's business:
 * after every poll the agent calls the caller's outbox hook, which may write
 * them to a file (vigil-agent --out), hand them to the analyzer in the same
 * process (vigil scan) or publish them and release them on acknowledgement.
 *
 * It never drops a report itself and never reads past a captured length.
 */
#ifndef VIGIL_AGENT_CAPTURE_AGENT_H
#define VIGIL_AGENT_CAPTURE_AGENT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "vigil.h"

#include "device_addrs.h"
#include "listeners.h"
#include "pcap_source.h"
#include "sysinfo.h"

/* Called after every vigil_poll()/vigil_flush() with reports possibly waiting
 * in the outbox. Returns false to stop the run (the transport failed). */
typedef bool (*capture_outbox_fn)(void *user, vigil_ctx_t *ctx);

typedef struct {
    const char *device_id;
    uint32_t boot_id;
    uint32_t interval;          /* report interval, seconds */
    uint32_t max_message;       /* 512..VIGIL_MAX_MESSAGE_SIZE */
    const device_addrs_t *addrs;
    capture_outbox_fn on_outbox;
    void *user;
} capture_agent_options_t;

typedef struct {
    unsigned long long read;
    unsigned long long inbound;
    unsigned long long outbound;
    unsigned long long foreign;
    unsigned long long non_ip;
    unsigned long long unreadable;  /* IP too short to tell its addresses */
    unsigned long long link_truncated;
} capture_stats_t;

/* Large (libvigil's context, listener tables): allocate statically or on the heap. */
typedef struct {
    capture_agent_options_t options;
    capture_stats_t stats;
    vigil_ctx_t ctx;
    bool started;
    bool stopped;               /* the outbox hook asked to stop */
    listeners_t listeners;
    agent_sysinfo_t sysinfo;
    vigil_port_t port;
} capture_agent_t;

typedef enum {
    CAPTURE_DONE = 0,           /* the whole capture was read, the last period flushed */
    CAPTURE_READ_ERROR,         /* the capture failed part-way; what was read is reported */
    CAPTURE_STOPPED,            /* the outbox hook returned false */
    CAPTURE_REFUSED             /* libvigil refused the set-up */
} capture_result_t;

/*
 * Sets the agent up. Listening sockets come from /proc when `device_is_host`
 * (live capture of this host's own addresses), otherwise from what the device
 * was seen to accept. For a capture file, model and firmware (may be NULL)
 * are reported as its system information; live, the host's.
 */
void capture_agent_init(capture_agent_t *agent, const capture_agent_options_t *options,
                        bool live, bool device_is_host, const char *model, const char *firmware);

/* Reads a capture file to its end with its timestamps as the clock. An empty
 * capture still gives one (empty) report at time 0. */
capture_result_t capture_agent_run_file(capture_agent_t *agent, pcap_source_t *src,
                                        char *err, size_t err_len);

/* Captures until *stop is set or `duration` seconds passed (0: no limit). */
capture_result_t capture_agent_run_live(capture_agent_t *agent, pcap_source_t *src,
                                        volatile sig_atomic_t *stop, uint32_t duration,
                                        char *err, size_t err_len);

#endif
