/*
 * policy.h - security groups and their custom alert rules: the policy file
 * (YAML, docs/policy.md) and the evaluation of device reports against it.
 *
 * Two halves:
 *  - policy.c / policy_yaml.c load a policy file into an immutable policy_t,
 *    or refuse it with file, line, column and reason. A policy is never
 *    half-loaded: a service keeps its running policy until a new one loads.
 *  - policy_eval.c judges reports against a policy and raises alerts through
 *    an alert_sink_fn (alert.h). Its state (the open time windows of every
 *    device) is keyed by device id and rule identity (metric and window
 *    length), never by pointers into a policy_t, so the caller may swap
 *    policies between two calls: load the new one, and only on success free
 *    the old one. Windows then carry on under the new policy's bounds.
 *
 * Invariants:
 *  - Every text of a policy file is bounded (document 1 MiB, names, lists) and
 *    every error names its place; nothing in a file can make loading or
 *    evaluation unbounded in time or memory.
 *  - A device belongs to exactly one group: the first group (file order) that
 *    claims it by id glob or tag, else "default". A group named "default" in
 *    the file holds the rules for devices no other group claims.
 *  - Disabled rules raise nothing and keep no state.
 *
 * Not thread-safe: one policy_eval_t per thread (or a lock around it). A
 * policy_t is immutable once loaded and may be read from any thread.
 */
#ifndef VIGIL_ANALYZER_POLICY_H
#define VIGIL_ANALYZER_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "report.h"

#define POLICY_MAX_BYTES (1024u * 1024u)   /* larger documents are refused */
#define POLICY_DEFAULT_GROUP "default"

typedef struct policy policy_t;

/*
 * Where and why a policy was refused. `file` is the path (or the name given
 * to policy_load_string), truncated. `line` and `column` are 1-based; line 0
 * means the error concerns the whole file (cannot be read, too large).
 */
typedef struct {
    char file[256];
    size_t line, column;
    char reason[200];
} policy_error_t;

/* A new policy, or NULL with *err filled (err may be NULL). */
policy_t *policy_load_file(const char *path, policy_error_t *err);

/* The same for `len` bytes of text (need not be NUL-terminated); `name`
 * stands for the file name in errors. */
policy_t *policy_load_string(const char *name, const char *text, size_t len, policy_error_t *err);

/* The policy used when there is no file: group "default", no rules, default
 * hygiene. NULL only when memory runs out. */
policy_t *policy_default(void);

void policy_free(policy_t *p);

/*
 * The group of a device: the first group (file order) whose members.ids glob
 * (fnmatch, no flags) matches `device_id` or whose members.tags contains one
 * of `tags`; else "default". The string lives as long as the policy.
 */
const char *policy_group_for(const policy_t *p, const char *device_id, const char *const *tags,
                             size_t ntags);

/* The groups of the file, in file order (for listings and the registry). */
size_t policy_group_count(const policy_t *p);
const char *policy_group_name(const policy_t *p, size_t index);

/* Hygiene settings: top-level `hygiene:`, each field overridable per group. */
typedef struct {
    char min_agent_version[32], min_os_version[32], min_firmware_version[32]; /* "" = no minimum */
    uint32_t silent_intervals;   /* default 3, at least 1 */
    uint32_t clock_skew_max;     /* seconds, default 300 */
    uint32_t alert_window;       /* dedup window seconds, default 3600 */
} policy_hygiene_t;

/* The settings of `group` (the top-level ones for NULL or a group the file
 * does not define). Never NULL. */
const policy_hygiene_t *policy_hygiene(const policy_t *p, const char *group);

/*
 * The run-time configuration the analyzer publishes to a group's devices
 * (proto/transport.cddl `config`): top-level `device:`, each field
 * overridable per group. Defaults: libvigil's (60 s, every collector,
 * system information every 10 periods).
 */
#define POLICY_COLLECT_NETWORK 0x01u
#define POLICY_COLLECT_LISTENERS 0x02u
#define POLICY_COLLECT_SYSTEM 0x04u

typedef struct {
    uint32_t report_interval;    /* 1..3600 seconds */
    uint32_t collectors;         /* POLICY_COLLECT_* */
    uint32_t sysinfo_every;      /* 1..1000 periods */
} policy_device_t;

/* The device configuration of `group` (top level for NULL or an unknown group). Never NULL. */
const policy_device_t *policy_device(const policy_t *p, const char *group);

/*
 * Metrics of range rules, counted per device and per window. Windows are
 * aligned to multiples of their length on the device clock; everything a
 * report carries is counted in the window of its period_start.
 */
typedef enum {
    POLICY_METRIC_ACTIVE_CONNECTIONS = 0, /* distinct flows seen */
    POLICY_METRIC_DISTINCT_REMOTES,       /* distinct remote addresses */
    POLICY_METRIC_BYTES_IN,               /* flows plus untracked (overflow) traffic */
    POLICY_METRIC_BYTES_OUT,
    POLICY_METRIC_PACKETS_IN,
    POLICY_METRIC_PACKETS_OUT,
    POLICY_METRIC_FAILED_OUTBOUND_TCP,    /* distinct device-initiated TCP flows, SYN without SYN-ACK */
    POLICY_METRIC_INBOUND_ATTEMPTS,       /* distinct remote-initiated TCP flows with SYN, and UDP flows */
    POLICY_METRIC_REPORTS,                /* reports received */
    POLICY_METRIC__COUNT
} policy_metric_t;

/* "active_connections", ...; NULL for values out of range. */
const char *policy_metric_name(policy_metric_t metric);

/* ---- evaluation ---- */

typedef struct policy_eval policy_eval_t;   /* the window state of every device */

typedef struct {
    uint64_t reports;          /* reports evaluated */
    uint64_t alerts;           /* alerts passed to the sink */
    uint64_t windows_closed;   /* windows judged on their min and max bounds */
    uint64_t late_reports;     /* reports of a window already closed: not counted in it */
    uint64_t estimated;        /* windows whose distinct count became an estimate */
    uint64_t nomem;            /* state not kept for lack of memory (counts may be low) */
    size_t devices;            /* devices with state */
    size_t windows_open;
} policy_eval_stats_t;

/* NULL when out of memory. */
policy_eval_t *policy_eval_new(void);
void policy_eval_free(policy_eval_t *e);

/*
 * Judges one report of `device`, a member of `group` (policy_group_for), and
 * passes every alert to `sink` (kind ALERT_KIND_ALERT, count 1, severity of
 * the rule). The caller has already repaired initiators (continuity.h) and
 * dropped duplicate reports; deduplication over time is the alert store's.
 * Alerts raised:
 *  - remote_not_allowed: a flow whose remote address is outside the group's
 *    remote_cidrs_allowed (IPv4-mapped remotes are checked, and reported, as
 *    IPv4); key "<proto>:<remote address>"; time: the flow's last_seen.
 *    Not judged: multicast, 255.255.255.255 and link-local remotes, and
 *    ICMPv6 neighbour discovery and MLD (types 130-137, 143) - the link's
 *    own plumbing, not conversations with remote hosts.
 *  - listener_not_allowed: a listener (when the report carries listeners)
 *    not in listening_ports_allowed; key "<proto>:<port>"; time: period_end.
 *  - range_<metric>: when a window closes because a report of a later window
 *    arrives, its value below min or above max (a value equal to a bound is
 *    allowed); key "<window>s:min" or "<window>s:max"; time: window end.
 * What is not judged: windows in which the device sent nothing (no data:
 * silence is the hygiene check's business); the min of a device's first
 * window for a range when its first report started after the window did
 * (the analyzer was not there for the start); a report of a window earlier
 * than the open one (counted in late_reports, added to no window).
 * Distinct metrics (connections, remotes, failed and inbound attempts) are
 * exact up to 256 items per window, then a HyperLogLog estimate (about 3%
 * error) so a device's state stays within a few KiB; the alert then says
 * "about".
 */
void policy_eval_report(policy_eval_t *e, const policy_t *p, const char *device, const char *group,
                        const report_t *r, alert_sink_fn sink, void *user);

/*
 * Judges every open window against its max bound only (a partial window can
 * already exceed a max, but not yet prove a min), for example at the end of
 * an offline scan. Windows stay open; a max raised here is not raised again
 * when the window closes.
 */
void policy_eval_flush(policy_eval_t *e, const policy_t *p, alert_sink_fn sink, void *user);

/* Drops the state of one device (removed from the registry). */
void policy_eval_forget(policy_eval_t *e, const char *device);

void policy_eval_get_stats(const policy_eval_t *e, policy_eval_stats_t *stats);

#endif
