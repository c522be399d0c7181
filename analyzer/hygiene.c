/*
 * hygiene.c - recommendations per device, raised when a cause appears and
 * withdrawn when it goes (see hygiene.h for the list).
 *
 * State per device is a fixed-size record in a hash table: the two most
 * recent boot streams (for gaps, replays and shared identities), the keys
 * raised so far (so a recommendation is raised once, and withdrawn once), a
 * few clocks. It must never grow with the traffic a device sends.
 */
#define _POSIX_C_SOURCE 200809L
#include "hygiene.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEQ_WINDOW 1024u           /* sequence numbers remembered per stream */
#define MAX_KEYS 32                /* raised listener / outbound keys per device */

typedef struct {
    bool used;
    uint32_t boot_id;
    uint32_t lowest, highest;      /* seq range seen */
    uint8_t seen[SEQ_WINDOW / 8];  /* bit (seq % SEQ_WINDOW) for seq in (highest - SEQ_WINDOW, highest] */
    uint64_t lost;                 /* seqs that left the window unseen */
    bool gap_raised;
    bool seeded;                   /* made by hygiene_seed: no seqs seen here yet */
} stream_t;

typedef struct {
    char key[16];
} raised_key_t;

typedef struct device {
    char id[REPORT_MAX_STRING + 1];
    stream_t streams[2];           /* [0] the most recently started */
    uint32_t last_boot;
    bool have_last_boot;
    bool shared_raised;
    raised_key_t listeners[MAX_KEYS];
    size_t listener_count;
    raised_key_t outbound[MAX_KEYS];
    size_t outbound_count;
    bool outdated_raised[3];
    bool overflow_raised, outbox_raised;
    int64_t last_received;
    uint32_t interval;
    int64_t last_period_end;
    bool silent_raised;
    int negative_skew_run;
    bool skew_raised;
} device_t;

struct hygiene {
    device_t **slots;
    size_t mask, count;
};

/* ---- the service tables ---- */

typedef struct {
    uint8_t proto;
    uint16_t port;
    const char *name;
    alert_severity_t severity;
    const char *remediation;
} service_t;

static const service_t insecure_services[] = {
    { REPORT_PROTO_TCP, 23, "telnet", ALERT_SEVERITY_HIGH,
      "Disable the telnet server; use SSH with keys, or remove remote shells from production firmware." },
    { REPORT_PROTO_TCP, 2323, "telnet (alternate port)", ALERT_SEVERITY_HIGH,
      "Disable the telnet server on 2323, a port botnets such as Mirai scan for." },
    { REPORT_PROTO_TCP, 21, "ftp", ALERT_SEVERITY_HIGH,
      "Disable FTP; transfer files over SFTP or HTTPS with authentication." },
    { REPORT_PROTO_UDP, 69, "tftp", ALERT_SEVERITY_HIGH,
      "Disable TFTP outside provisioning: it has no authentication at all." },
    { REPORT_PROTO_TCP, 80, "http", ALERT_SEVERITY_MEDIUM,
      "Serve the interface over HTTPS only and close port 80 (or only redirect from it)." },
    { REPORT_PROTO_TCP, 8080, "http (alternate port)", ALERT_SEVERITY_MEDIUM,
      "Serve the interface over HTTPS only and close port 8080." },
    { REPORT_PROTO_TCP, 1883, "plaintext MQTT", ALERT_SEVERITY_HIGH,
      "Use MQTT over TLS (8883) with client authentication and close 1883." },
    { REPORT_PROTO_UDP, 5683, "CoAP without DTLS", ALERT_SEVERITY_MEDIUM,
      "Use CoAP over DTLS (5684) or OSCORE, and close 5683." },
    { REPORT_PROTO_TCP, 502, "Modbus/TCP", ALERT_SEVERITY_HIGH,
      "Modbus/TCP has no authentication: keep it on a segmented control network or close it." },
    { REPORT_PROTO_TCP, 20000, "DNP3", ALERT_SEVERITY_HIGH,
      "Keep DNP3 on a segmented control network, or use DNP3 Secure Authentication." },
    { REPORT_PROTO_UDP, 47808, "BACnet/IP", ALERT_SEVERITY_MEDIUM,
      "Keep BACnet/IP on a segmented building network, or use BACnet Secure Connect." },
    { REPORT_PROTO_UDP, 161, "SNMP", ALERT_SEVERITY_MEDIUM,
      "Use SNMPv3 with authPriv and disable the v1/v2c communities." },
    { REPORT_PROTO_UDP, 1900, "SSDP/UPnP", ALERT_SEVERITY_MEDIUM,
      "Disable UPnP discovery; it is a common reflection and exposure vector." },
    { REPORT_PROTO_TCP, 5900, "VNC", ALERT_SEVERITY_HIGH,
      "Disable VNC or tunnel it over SSH/TLS with strong authentication." },
    { REPORT_PROTO_TCP, 512, "rexec", ALERT_SEVERITY_CRITICAL, "Disable rexec; use SSH." },
    { REPORT_PROTO_TCP, 513, "rlogin", ALERT_SEVERITY_CRITICAL, "Disable rlogin; use SSH." },
    { REPORT_PROTO_TCP, 514, "rsh", ALERT_SEVERITY_CRITICAL, "Disable rsh; use SSH." },
};

static const service_t plaintext_outbound[] = {
    { REPORT_PROTO_TCP, 23, "telnet", ALERT_SEVERITY_HIGH,
      "Replace outbound telnet with SSH; credentials cross the network in clear." },
    { REPORT_PROTO_TCP, 21, "ftp", ALERT_SEVERITY_MEDIUM,
      "Fetch and upload over HTTPS or SFTP instead of FTP." },
    { REPORT_PROTO_UDP, 69, "tftp", ALERT_SEVERITY_MEDIUM,
      "Fetch firmware and configuration over HTTPS with signature checks instead of TFTP." },
    { REPORT_PROTO_TCP, 80, "http", ALERT_SEVERITY_MEDIUM,
      "Use HTTPS with certificate validation for every outbound request." },
    { REPORT_PROTO_TCP, 1883, "plaintext MQTT", ALERT_SEVERITY_HIGH,
      "Connect to the broker over TLS (8883) and authenticate with a client certificate." },
    { REPORT_PROTO_UDP, 5683, "CoAP without DTLS", ALERT_SEVERITY_MEDIUM,
      "Use CoAP over DTLS (5684) or OSCORE." },
    { REPORT_PROTO_TCP, 110, "POP3", ALERT_SEVERITY_MEDIUM, "Use POP3 over TLS (995)." },
    { REPORT_PROTO_TCP, 143, "IMAP", ALERT_SEVERITY_MEDIUM, "Use IMAP over TLS (993)." },
    { REPORT_PROTO_TCP, 502, "Modbus/TCP", ALERT_SEVERITY_MEDIUM,
      "Keep Modbus/TCP inside a segmented control network." },
};

static const service_t *find_service(const service_t *table, size_t n, uint8_t proto, uint16_t port)
{
    for (size_t i = 0; i < n; i++)
        if (table[i].proto == proto && table[i].port == port)
            return &table[i];
    return NULL;
}

/* ---- devices ---- */

static uint64_t hash_string(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

hygiene_t *hygiene_new(void)
{
    hygiene_t *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->mask = 63;
    h->slots = calloc(h->mask + 1, sizeof *h->slots);
    if (!h->slots) {
        free(h);
        return NULL;
    }
    return h;
}

void hygiene_free(hygiene_t *h)
{
    if (!h)
        return;
    for (size_t i = 0; i <= h->mask; i++)
        free(h->slots[i]);
    free(h->slots);
    free(h);
}

static bool grow(hygiene_t *h)
{
    size_t size = (h->mask + 1) * 2;
    device_t **slots = calloc(size, sizeof *slots);
    if (!slots)
        return false;
    for (size_t i = 0; i <= h->mask; i++) {
        device_t *d = h->slots[i];
        if (!d)
            continue;
        size_t s = (size_t)hash_string(d->id) & (size - 1);
        while (slots[s])
            s = (s + 1) & (size - 1);
        slots[s] = d;
    }
    free(h->slots);
    h->slots = slots;
    h->mask = size - 1;
    return true;
}

static device_t *device_get(hygiene_t *h, const char *id)
{
    if ((h->count + 1) * 2 > h->mask + 1 && !grow(h))
        return NULL;
    size_t s = (size_t)hash_string(id) & h->mask;
    while (h->slots[s]) {
        if (strcmp(h->slots[s]->id, id) == 0)
            return h->slots[s];
        s = (s + 1) & h->mask;
    }
    device_t *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    snprintf(d->id, sizeof d->id, "%s", id);
    d->last_received = HYGIENE_TIME_UNKNOWN;
    h->slots[s] = d;
    h->count++;
    return d;
}

/* ---- raising and withdrawing ---- */

static void raise_rec(const hygiene_out_t *out, const char *device, const char *type, const char *key,
                      alert_severity_t severity, int64_t time, const char *remediation,
                      const char *fmt, ...) __attribute__((format(printf, 8, 9)));

static void raise_rec(const hygiene_out_t *out, const char *device, const char *type, const char *key,
                      alert_severity_t severity, int64_t time, const char *remediation,
                      const char *fmt, ...)
{
    alert_t a;
    memset(&a, 0, sizeof a);
    a.kind = ALERT_KIND_RECOMMENDATION;
    snprintf(a.type, sizeof a.type, "%s", type);
    a.severity = severity;
    snprintf(a.device, sizeof a.device, "%s", device);
    a.time = a.first_time = time;
    a.proto = ALERT_PROTO_NONE;
    snprintf(a.key, sizeof a.key, "%s", key);
    a.count = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a.message, sizeof a.message, fmt, ap);
    va_end(ap);
    snprintf(a.remediation, sizeof a.remediation, "%s", remediation);
    if (out->raise)
        out->raise(out->user, &a);
}

static void clear_rec(const hygiene_out_t *out, const char *device, const char *type, const char *key)
{
    if (out->clear)
        out->clear(out->user, device, type, key);
}

static const char *proto_name(uint8_t proto)
{
    return proto == REPORT_PROTO_TCP ? "tcp" : proto == REPORT_PROTO_UDP ? "udp" : "icmp";
}

static bool keys_has(const raised_key_t *keys, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i].key, key) == 0)
            return true;
    return false;
}

/* ---- checks ---- */

static void check_listeners(device_t *d, const report_t *r, const hygiene_out_t *out)
{
    if (!r->has_listeners)
        return;
    raised_key_t present[MAX_KEYS];
    size_t present_count = 0;
    for (size_t i = 0; i < r->listener_count; i++) {
        const report_listener_t *l = &r->listeners[i];
        const service_t *svc = find_service(insecure_services, sizeof insecure_services / sizeof insecure_services[0],
                                            l->proto, l->port);
        if (!svc || present_count == MAX_KEYS)
            continue;
        char key[16];
        snprintf(key, sizeof key, "%s:%u", proto_name(l->proto), (unsigned)l->port);
        if (keys_has(present, present_count, key))
            continue;              /* the same port on IPv4 and IPv6 */
        snprintf(present[present_count++].key, sizeof present[0].key, "%s", key);
        if (keys_has(d->listeners, d->listener_count, key) || d->listener_count == MAX_KEYS)
            continue;
        snprintf(d->listeners[d->listener_count++].key, sizeof d->listeners[0].key, "%s", key);
        raise_rec(out, d->id, "insecure_listener", key, svc->severity, r->period_end, svc->remediation,
                  "%s listens on %s port %u (%s).", d->id, proto_name(l->proto), (unsigned)l->port, svc->name);
    }
    for (size_t i = 0; i < d->listener_count;) {
        if (keys_has(present, present_count, d->listeners[i].key)) {
            i++;
            continue;
        }
        clear_rec(out, d->id, "insecure_listener", d->listeners[i].key);
        d->listeners[i] = d->listeners[--d->listener_count];
    }
}

static void check_outbound(device_t *d, const report_t *r, const hygiene_out_t *out)
{
    for (size_t i = 0; i < r->flow_count; i++) {
        const report_flow_t *f = &r->flows[i];
        if (f->remote_initiated || f->proto == REPORT_PROTO_ICMP)
            continue;
        const service_t *svc = find_service(plaintext_outbound, sizeof plaintext_outbound / sizeof plaintext_outbound[0],
                                            f->proto, f->remote_port);
        if (!svc)
            continue;
        char key[16];
        snprintf(key, sizeof key, "%s:%u", proto_name(f->proto), (unsigned)f->remote_port);
        if (keys_has(d->outbound, d->outbound_count, key) || d->outbound_count == MAX_KEYS)
            continue;
        snprintf(d->outbound[d->outbound_count++].key, sizeof d->outbound[0].key, "%s", key);
        char remote[64];
        report_format_addr(f->family, f->remote_addr, remote, sizeof remote);
        raise_rec(out, d->id, "plaintext_outbound", key, svc->severity, (int64_t)f->last_seen, svc->remediation,
                  "%s sends %s in plaintext to %s port %u.", d->id, svc->name, remote, (unsigned)f->remote_port);
    }
}

int hygiene_version_compare(const char *a, const char *b)
{
    while (*a || *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            while (*a == '0' && isdigit((unsigned char)a[1]))
                a++;
            while (*b == '0' && isdigit((unsigned char)b[1]))
                b++;
            size_t la = 0, lb = 0;
            while (isdigit((unsigned char)a[la]))
                la++;
            while (isdigit((unsigned char)b[lb]))
                lb++;
            if (la != lb)
                return la < lb ? -1 : 1;
            int c = strncmp(a, b, la);
            if (c)
                return c < 0 ? -1 : 1;
            a += la;
            b += lb;
            continue;
        }
        /* A missing component counts as lower: "1.2" < "1.2.1". */
        if (!*a)
            return -1;
        if (!*b)
            return 1;
        if (*a != *b)
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++;
        b++;
    }
    return 0;
}

static void check_versions(device_t *d, const hygiene_settings_t *s, const report_t *r, const hygiene_out_t *out)
{
    if (!r->has_system)
        return;
    static const char *const types[3] = { "outdated_agent", "outdated_os", "outdated_firmware" };
    static const char *const what[3] = { "security agent", "operating system", "firmware" };
    static const char *const fixes[3] = {
        "Update the Vigil agent in the firmware to the group's minimum version or later.",
        "Update the device's RTOS to the group's minimum version or later.",
        "Deploy a firmware update of at least the group's minimum version.",
    };
    const char *have[3] = { r->system.agent_version, r->system.os_version, r->system.firmware_version };
    const char *min[3] = { s->min_agent_version, s->min_os_version, s->min_firmware_version };
    for (int i = 0; i < 3; i++) {
        if (!have[i])
            continue;          /* not reported this time: keep what was decided */
        bool below = min[i][0] && hygiene_version_compare(have[i], min[i]) < 0;
        if (below && !d->outdated_raised[i]) {
            raise_rec(out, d->id, types[i], "", ALERT_SEVERITY_MEDIUM, r->period_end, fixes[i],
                      "%s runs %s %s, below the minimum %s.", d->id, what[i], have[i], min[i]);
            d->outdated_raised[i] = true;
        } else if (!below && d->outdated_raised[i]) {
            clear_rec(out, d->id, types[i], "");
            d->outdated_raised[i] = false;
        }
    }
}

static uint32_t counter_value(const report_t *r, const char *name)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < r->counter_count; i++) {
        const char *n = report_counter_name(r->counters[i].id);
        if (n && strcmp(n, name) == 0)
            sum += r->counters[i].value;
    }
    return sum;
}

static void check_capacity(device_t *d, const report_t *r, const hygiene_out_t *out)
{
    uint64_t packets = 0;
    for (size_t i = 0; i < r->overflow_count; i++)
        packets += r->overflow[i].packets;
    uint32_t full = counter_value(r, "flow_table_full");
    if ((packets || full) && !d->overflow_raised) {
        raise_rec(out, d->id, "flow_table_overflow", "", ALERT_SEVERITY_MEDIUM, r->period_end,
                  "Raise VIGIL_MAX_FLOWS_V4 / VIGIL_MAX_FLOWS_V6 in vigil_opts.h, or shorten the report interval.",
                  "%s could not track every flow: %u new flows found its table full (%llu packets counted "
                  "only in totals).", d->id, (unsigned)full, (unsigned long long)packets);
        d->overflow_raised = true;
    }
    uint32_t dropped = counter_value(r, "outbox_dropped");
    if (dropped && !d->outbox_raised) {
        raise_rec(out, d->id, "outbox_overflow", "", ALERT_SEVERITY_HIGH, r->period_end,
                  "Check the device's uplink; raise VIGIL_OUTBOX_SLOTS or the report interval.",
                  "%s dropped %u reports before it could send them.", d->id, (unsigned)dropped);
        d->outbox_raised = true;
    }
}

static bool bit_get(const stream_t *s, uint32_t seq)
{
    uint32_t b = seq % SEQ_WINDOW;
    return s->seen[b / 8] >> (b % 8) & 1u;
}

static void bit_set(stream_t *s, uint32_t seq, bool on)
{
    uint32_t b = seq % SEQ_WINDOW;
    if (on)
        s->seen[b / 8] |= (uint8_t)(1u << (b % 8));
    else
        s->seen[b / 8] &= (uint8_t)~(1u << (b % 8));
}

/* Records seq in its stream; seqs pushed out of the window unseen are lost. */
static void stream_note(stream_t *s, uint32_t seq)
{
    if (seq <= s->highest && s->highest - seq >= SEQ_WINDOW)
        return;                /* older than the window: its slot holds a newer seq */
    if (seq > s->highest) {
        uint64_t advance = (uint64_t)seq - s->highest;
        for (uint64_t i = 1; i <= advance && i <= SEQ_WINDOW; i++) {
            uint64_t leaving = (uint64_t)s->highest + i;
            /* The slot is about to hold `leaving`; what it held was leaving - WINDOW. */
            if (leaving >= SEQ_WINDOW && leaving - SEQ_WINDOW >= s->lowest && !bit_get(s, (uint32_t)leaving))
                s->lost++;
            bit_set(s, (uint32_t)leaving, false);
        }
        if (advance > SEQ_WINDOW)
            s->lost += advance - SEQ_WINDOW;
        s->highest = seq;
    } else if (seq < s->lowest) {
        for (uint32_t q = seq + 1; q < s->lowest; q++)
            bit_set(s, q, false);
        s->lowest = seq;
    }
    bit_set(s, seq, true);
}

static uint64_t stream_missing(const stream_t *s)
{
    uint64_t missing = s->lost;
    uint32_t from = s->highest - s->lowest >= SEQ_WINDOW ? s->highest - SEQ_WINDOW + 1 : s->lowest;
    for (uint32_t q = from;; q++) {
        if (!bit_get(s, q))
            missing++;
        if (q == s->highest)
            break;
    }
    return missing;
}

static stream_t *stream_for(device_t *d, uint32_t boot_id, uint32_t seq, bool *is_new)
{
    *is_new = false;
    for (int i = 0; i < 2; i++)
        if (d->streams[i].used && d->streams[i].boot_id == boot_id)
            return &d->streams[i];
    d->streams[1] = d->streams[0];
    memset(&d->streams[0], 0, sizeof d->streams[0]);
    d->streams[0].used = true;
    d->streams[0].boot_id = boot_id;
    d->streams[0].lowest = d->streams[0].highest = seq;
    *is_new = true;
    return &d->streams[0];
}

static void check_streams(device_t *d, const report_t *r, const hygiene_out_t *out)
{
    bool is_new;
    stream_t *s = stream_for(d, r->boot_id, r->seq, &is_new);
    if (s->seeded) {
        s->seeded = false;
        s->lowest = s->highest = r->seq;
        memset(s->seen, 0, sizeof s->seen);
        is_new = true;         /* for shared identity: first seen in this process */
    }
    bool advances = is_new || r->seq > s->highest;
    stream_note(s, r->seq);

    /* Going back to an older boot stream with new reports: two devices share the id. */
    if (advances && !is_new && d->have_last_boot && d->last_boot != r->boot_id && !d->shared_raised) {
        raise_rec(out, d->id, "shared_identity", "", ALERT_SEVERITY_HIGH, r->period_end,
                  "Give every device its own identity and credentials; revoke the shared ones.",
                  "%s reports from two boot streams at once (boot %08x and %08x): two devices share its "
                  "identity, or one was cloned.", d->id, (unsigned)d->last_boot, (unsigned)r->boot_id);
        d->shared_raised = true;
    }
    if (advances) {
        d->last_boot = r->boot_id;
        d->have_last_boot = true;
    }
}

static void check_skew(device_t *d, const hygiene_settings_t *s, const report_t *r, int64_t received_at,
                       const hygiene_out_t *out)
{
    if (received_at == HYGIENE_TIME_UNKNOWN || s->clock_skew_max == 0)
        return;
    int64_t skew = (int64_t)r->period_end - received_at;
    int64_t max = s->clock_skew_max;
    /* A device ahead of the analyzer is skewed at once; one behind may only
     * be a report that waited in a queue, so it must stay behind for three
     * reports in a row. */
    d->negative_skew_run = skew < -max ? d->negative_skew_run + 1 : 0;
    bool skewed = skew > max || d->negative_skew_run >= 3;
    if (skewed && !d->skew_raised) {
        raise_rec(out, d->id, "clock_skew", "", ALERT_SEVERITY_LOW, r->period_end,
                  "Synchronise the device clock (SNTP) so that report times and certificates validate.",
                  "%s's clock is %lld s %s the analyzer's.", d->id, (long long)(skew < 0 ? -skew : skew),
                  skew < 0 ? "behind" : "ahead of");
        d->skew_raised = true;
    } else if (!skewed && d->skew_raised && skew >= -max && skew <= max) {
        clear_rec(out, d->id, "clock_skew", "");
        d->skew_raised = false;
    }
}

void hygiene_report(hygiene_t *h, const hygiene_settings_t *settings, const report_t *r,
                    int64_t received_at, const hygiene_out_t *out)
{
    device_t *d = device_get(h, r->device_id);
    if (!d)
        return;
    check_streams(d, r, out);
    check_listeners(d, r, out);
    check_outbound(d, r, out);
    check_versions(d, settings, r, out);
    check_capacity(d, r, out);
    check_skew(d, settings, r, received_at, out);
    if (received_at != HYGIENE_TIME_UNKNOWN) {
        d->last_received = received_at;
        if (d->silent_raised) {
            clear_rec(out, d->id, "device_silent", "");
            d->silent_raised = false;
        }
    }
    d->interval = r->interval;
    if ((int64_t)r->period_end > d->last_period_end)
        d->last_period_end = r->period_end;
}

void hygiene_replayed(hygiene_t *h, const report_t *r, const hygiene_out_t *out)
{
    device_t *d = device_get(h, r->device_id);
    if (!d)
        return;
    char key[48];
    snprintf(key, sizeof key, "boot:%08x:seq:%u", (unsigned)r->boot_id, (unsigned)r->seq);
    raise_rec(out, d->id, "replayed_report", key, ALERT_SEVERITY_HIGH, r->period_end,
              "Check for a cloned device or a replaying intermediary; rotate the device's credentials.",
              "%s sent report %u of boot %08x twice with different content.", d->id, (unsigned)r->seq,
              (unsigned)r->boot_id);
}

static device_t *device_find(const hygiene_t *h, const char *id)
{
    size_t s = (size_t)hash_string(id) & h->mask;
    while (h->slots[s]) {
        if (strcmp(h->slots[s]->id, id) == 0)
            return h->slots[s];
        s = (s + 1) & h->mask;
    }
    return NULL;
}

bool hygiene_has_device(const hygiene_t *h, const char *device)
{
    return device_find(h, device) != NULL;
}

static void keys_add(raised_key_t *keys, size_t *n, const char *key)
{
    if (*n < MAX_KEYS && !keys_has(keys, *n, key))
        snprintf(keys[(*n)++].key, sizeof keys[0].key, "%s", key);
}

void hygiene_seed(hygiene_t *h, const char *device, const char *type, const char *key)
{
    device_t *d = device_get(h, device);
    if (!d)
        return;
    if (strcmp(type, "insecure_listener") == 0) {
        keys_add(d->listeners, &d->listener_count, key);
    } else if (strcmp(type, "plaintext_outbound") == 0) {
        keys_add(d->outbound, &d->outbound_count, key);
    } else if (strcmp(type, "outdated_agent") == 0) {
        d->outdated_raised[0] = true;
    } else if (strcmp(type, "outdated_os") == 0) {
        d->outdated_raised[1] = true;
    } else if (strcmp(type, "outdated_firmware") == 0) {
        d->outdated_raised[2] = true;
    } else if (strcmp(type, "flow_table_overflow") == 0) {
        d->overflow_raised = true;
    } else if (strcmp(type, "outbox_overflow") == 0) {
        d->outbox_raised = true;
    } else if (strcmp(type, "shared_identity") == 0) {
        d->shared_raised = true;
    } else if (strcmp(type, "clock_skew") == 0) {
        d->skew_raised = true;
    } else if (strcmp(type, "device_silent") == 0) {
        d->silent_raised = true;
    } else if (strcmp(type, "sequence_gap") == 0) {
        unsigned boot;
        char tail;
        if (sscanf(key, "boot:%8x%c", &boot, &tail) != 1)
            return;
        bool is_new;
        stream_t *st = stream_for(d, (uint32_t)boot, 0, &is_new);
        st->gap_raised = true;
        if (is_new)
            st->seeded = true;     /* its seqs are known only to the store */
    }
}

void hygiene_tick(hygiene_t *h, int64_t now, const hygiene_tick_t *how, const hygiene_out_t *out)
{
    for (size_t i = 0; i <= h->mask; i++) {
        device_t *d = h->slots[i];
        if (!d)
            continue;
        for (int k = 0; k < 2; k++) {
            stream_t *s = &d->streams[k];
            if (!s->used)
                continue;
            uint64_t missing;
            uint32_t low = s->lowest, high = s->highest;
            if (how->missing) {
                if (!how->missing(how->user, d->id, s->boot_id, &low, &high, &missing))
                    continue;
            } else if (s->seeded) {
                continue;
            } else {
                missing = stream_missing(s);
            }
            char key[24];
            snprintf(key, sizeof key, "boot:%08x", (unsigned)s->boot_id);
            if (missing && !s->gap_raised) {
                raise_rec(out, d->id, "sequence_gap", key, ALERT_SEVERITY_MEDIUM, d->last_period_end,
                          "Check the device's uplink and broker persistence; lost reports hide activity.",
                          "%s: %llu reports of boot %08x between seq %u and %u never arrived.", d->id,
                          (unsigned long long)missing, (unsigned)s->boot_id, (unsigned)low, (unsigned)high);
                s->gap_raised = true;
            } else if (!missing && s->gap_raised) {
                clear_rec(out, d->id, "sequence_gap", key);
                s->gap_raised = false;
            }
        }
        if (now == HYGIENE_TIME_UNKNOWN || d->last_received == HYGIENE_TIME_UNKNOWN || d->silent_raised ||
            d->interval == 0)
            continue;
        int64_t quiet = now - d->last_received;
        /* A device heard from within one interval is silent under no
         * setting (silent_intervals >= 1): its group's settings - a store
         * read in the service - are not needed. */
        if (quiet <= (int64_t)d->interval)
            continue;
        const hygiene_settings_t *s = how->settings_for ? how->settings_for(how->user, d->id) : NULL;
        if (!s || s->silent_intervals == 0)
            continue;
        if (quiet > (int64_t)s->silent_intervals * d->interval) {
            raise_rec(out, d->id, "device_silent", "", ALERT_SEVERITY_MEDIUM, now,
                      "Check the device's power, network and agent; a silenced agent can hide a compromise.",
                      "%s has sent no report for %lld s (%u report intervals).", d->id, (long long)quiet,
                      (unsigned)(quiet / d->interval));
            d->silent_raised = true;
        }
    }
}
