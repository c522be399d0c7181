/*
 * ingest_mqtt.c - MQTT ingest, end-to-end acks and configuration push
 * (ingest_mqtt.h).
 *
 * What it must never do: publish an ack before the commit of the batch that
 * stored the report; drop a message while running (a full queue blocks the
 * network thread instead); touch the pipeline or store from a thread other
 * than the ingest thread.
 *
 * Locks: `lock` guards the queue, the flags and the published stats
 * snapshot; it is never held across the pipeline or a publish. The device
 * table (ack state per device) belongs to the ingest thread alone.
 */
#define _POSIX_C_SOURCE 200809L
#include "ingest_mqtt.h"

#include <cbor.h>
#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hygiene.h"
#include "report.h"
#include "vigild_log.h"

#define TOPIC_PREFIX "vigil/v1/"
#define TOPIC_REPORT "/report"
#define TICK_EVERY_MS 10000u   /* silent devices, gaps, open windows above their max */
#define STOP_WAIT_MS 5000u

/* At most LOG_BURST lines per second about refused input, so a hostile
 * client cannot flood the log; the counters still count everything. */
#define LOG_BURST 20u

typedef struct {
    uint64_t second;
    unsigned lines;
    uint64_t suppressed;
} log_limit_t;

typedef struct msg {
    struct msg *next;
    size_t len;
    char device[STORE_MAX_DEVICE_ID + 1];
    uint8_t data[];
} msg_t;

/* Ack state of one device, owned by the ingest thread. */
typedef struct dev {
    struct dev *next;           /* hash chain */
    char id[STORE_MAX_DEVICE_ID + 1];
    uint32_t boot;              /* the latest boot a stored or re-sent report had */
    bool pending;               /* an ack is owed (listed in `pending`) */
    bool config_sent;           /* its configuration was published by this process */
    uint64_t last_ack_ms;
    uint64_t hold_since_ms;     /* when its run was first seen not starting at seq 0 (this boot) */
    uint64_t touched_batch;     /* the batch that last touched it (dedup) */
} device_ack_t;

struct ingest_mqtt {
    vigild_config_t cfg;
    pipeline_t *pipeline;
    store_t *store;
    struct mosquitto *mosq;
    char subscription[160];

    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full, published;
    msg_t *head, *tail;
    size_t count;
    bool closing;               /* shutdown began: on_message drops */
    bool reload_policy, push_configs, connected;
    bool thread_started, net_started;
    bool net_stop;              /* disconnecting: the network thread must not reconnect */
    bool socket_up;             /* the initial connect succeeded (read by the network thread at start) */
    uint64_t net_stop_ms;
    pthread_t net_thread;
    uint64_t publishes_pending; /* QoS 1 publishes the broker has not acknowledged */
    ingest_stats_t stats;       /* the snapshot ingest_mqtt_get_stats returns */
    ingest_stats_t own;         /* the ingest thread's counters, copied into stats under lock */
    pthread_t thread;

    log_limit_t topic_limit;    /* under `lock` */

    /* ingest thread only */
    log_limit_t reject_limit;
    device_ack_t **buckets;
    size_t bucket_count, dev_count;
    device_ack_t **pending;
    size_t pending_count, pending_cap;
    device_ack_t **touched;
    msg_t **batch;
    uint64_t batch_no;
    uint64_t last_tick_ms;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* An absolute CLOCK_REALTIME deadline `ms` from now, for pthread_cond_timedwait. */
static struct timespec deadline_in(uint64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(ms / 1000u);
    ts.tv_nsec += (long)(ms % 1000u) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Once the second of a limiter is over: says how many lines it suppressed
 * and opens the next second. The ingest loop calls it too, so the note
 * comes even when the flood has stopped. */
static void log_limit_flush(log_limit_t *l, bool final)
{
    uint64_t second = now_ms() / 1000u;
    if (second == l->second && !final)
        return;
    if (l->suppressed)
        vigild_log(VIGILD_LOG_WARNING, "%llu more lines about refused messages suppressed",
                   (unsigned long long)l->suppressed);
    l->second = second;
    l->lines = 0;
    l->suppressed = 0;
}

/* Whether one more line about refused input may be logged now. */
static bool log_limit_allow(log_limit_t *l)
{
    log_limit_flush(l, false);
    if (l->lines < LOG_BURST) {
        l->lines++;
        return true;
    }
    l->suppressed++;
    return false;
}

/* ---- wire formats ---- */

size_t ingest_encode_ack(uint32_t boot_id, uint32_t seq, uint8_t *out, size_t size)
{
    size_t n = cbor_encode_map_start(3, out, size);
    const uint64_t kv[6] = { 0, 1, 1, boot_id, 2, seq };
    for (size_t i = 0; n && i < 6; i++) {
        size_t k = cbor_encode_uint(kv[i], out + n, size - n);
        n = k ? n + k : 0;
    }
    return n;
}

size_t ingest_encode_config(unsigned report_interval_s, uint8_t *out, size_t size)
{
    size_t n = cbor_encode_map_start(2, out, size);
    const uint64_t kv[4] = { 0, 1, 1, report_interval_s };
    for (size_t i = 0; n && i < 4; i++) {
        size_t k = cbor_encode_uint(kv[i], out + n, size - n);
        n = k ? n + k : 0;
    }
    return n;
}

size_t ingest_encode_device_config(const policy_device_t *d, uint8_t *out, size_t size)
{
    size_t n = cbor_encode_map_start(4, out, size);
    const uint64_t kv[8] = { 0, 1, 1, d->report_interval, 2, d->collectors, 3, d->sysinfo_every };
    for (size_t i = 0; n && i < 8; i++) {
        size_t k = cbor_encode_uint(kv[i], out + n, size - n);
        n = k ? n + k : 0;
    }
    return n;
}

bool ingest_topic_device(const char *topic, char *out, size_t size)
{
    size_t plen = sizeof TOPIC_PREFIX - 1, slen = sizeof TOPIC_REPORT - 1;
    size_t len = strlen(topic);
    if (len <= plen + slen || strncmp(topic, TOPIC_PREFIX, plen) != 0 ||
        strcmp(topic + len - slen, TOPIC_REPORT) != 0)
        return false;
    size_t idlen = len - plen - slen;
    if (idlen > STORE_MAX_DEVICE_ID || idlen + 1 > size || memchr(topic + plen, '/', idlen))
        return false;
    memcpy(out, topic + plen, idlen);
    out[idlen] = '\0';
    return true;
}

/* ---- the network thread's side ---- */

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m)
{
    (void)mosq;
    ingest_mqtt_t *in = obj;
    char device[STORE_MAX_DEVICE_ID + 1];
    bool topic_ok = ingest_topic_device(m->topic, device, sizeof device);
    size_t len = m->payloadlen > 0 ? (size_t)m->payloadlen : 0;
    if (!topic_ok || len > REPORT_MAX_BYTES) {
        pthread_mutex_lock(&in->lock);
        in->stats.messages++;
        if (!topic_ok)
            in->stats.bad_topic++;
        else
            in->stats.oversize++;
        if (log_limit_allow(&in->topic_limit))
            vigild_log(VIGILD_LOG_WARNING, "refused message on '%.200s' (%zu bytes): %s", m->topic, len,
                       topic_ok ? "larger than a report may be" : "not a report topic");
        pthread_mutex_unlock(&in->lock);
        return;
    }
    msg_t *copy = malloc(sizeof *copy + len);
    while (!copy) {
        /* Out of memory: waiting is back-pressure, dropping would lose a
         * report the broker believes delivered. */
        struct timespec pause = { 0, 10000000L };
        nanosleep(&pause, NULL);
        copy = malloc(sizeof *copy + len);
    }
    copy->next = NULL;
    copy->len = len;
    memcpy(copy->device, device, sizeof device);
    if (len)
        memcpy(copy->data, m->payload, len);

    pthread_mutex_lock(&in->lock);
    in->stats.messages++;
    while (in->count >= in->cfg.queue_max && !in->closing)
        pthread_cond_wait(&in->not_full, &in->lock);
    if (in->closing) {
        in->stats.dropped_closing++;
        pthread_mutex_unlock(&in->lock);
        free(copy);
        return;
    }
    if (in->tail)
        in->tail->next = copy;
    else
        in->head = copy;
    in->tail = copy;
    in->count++;
    if (in->count > in->stats.queue_high_water)
        in->stats.queue_high_water = in->count;
    pthread_cond_signal(&in->not_empty);
    pthread_mutex_unlock(&in->lock);
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags, const mosquitto_property *props)
{
    (void)props;
    ingest_mqtt_t *in = obj;
    if (rc != 0) {
        vigild_log(VIGILD_LOG_ERROR, "broker %s:%u refused the connection: %s", in->cfg.mqtt_host,
                   in->cfg.mqtt_port, mosquitto_reason_string(rc));
        return;
    }
    vigild_log(VIGILD_LOG_NOTICE, "connected to %s:%u as %s (session %s)", in->cfg.mqtt_host, in->cfg.mqtt_port,
               in->cfg.mqtt_client_id, (flags & 1) ? "resumed" : "new");
    int s = mosquitto_subscribe_v5(mosq, NULL, in->subscription, 1, 0, NULL);
    if (s != MOSQ_ERR_SUCCESS)
        vigild_log(VIGILD_LOG_ERROR, "subscribe %s: %s", in->subscription, mosquitto_strerror(s));
    pthread_mutex_lock(&in->lock);
    in->connected = true;
    pthread_cond_signal(&in->not_empty);
    pthread_mutex_unlock(&in->lock);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc, const mosquitto_property *props)
{
    (void)mosq;
    (void)props;
    ingest_mqtt_t *in = obj;
    pthread_mutex_lock(&in->lock);
    in->connected = false;
    bool closing = in->closing;
    pthread_mutex_unlock(&in->lock);
    if (rc != 0 || !closing)
        vigild_log(VIGILD_LOG_WARNING, "disconnected from %s:%u (%s); reconnecting", in->cfg.mqtt_host,
                   in->cfg.mqtt_port, rc ? mosquitto_strerror(rc) : "by request");
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int count, const int *granted,
                         const mosquitto_property *props)
{
    (void)mosq;
    (void)mid;
    (void)props;
    ingest_mqtt_t *in = obj;
    for (int i = 0; i < count; i++) {
        if (granted[i] > 2)
            vigild_log(VIGILD_LOG_ERROR, "subscription %s refused: %s", in->subscription,
                       mosquitto_reason_string(granted[i]));
        else
            vigild_log(VIGILD_LOG_INFO, "subscribed to %s (QoS %d)", in->subscription, granted[i]);
    }
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int reason, const mosquitto_property *props)
{
    (void)mosq;
    (void)mid;
    (void)props;
    ingest_mqtt_t *in = obj;
    if (reason > 0x7f)
        vigild_log(VIGILD_LOG_WARNING, "broker refused a publish: %s", mosquitto_reason_string(reason));
    pthread_mutex_lock(&in->lock);
    if (in->publishes_pending)
        in->publishes_pending--;
    pthread_cond_broadcast(&in->published);
    pthread_mutex_unlock(&in->lock);
}

static void on_log(struct mosquitto *mosq, void *obj, int level, const char *text)
{
    (void)mosq;
    (void)obj;
    if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING))
        vigild_log(VIGILD_LOG_WARNING, "mqtt: %s", text);
    else if (level & MOSQ_LOG_DEBUG)
        vigild_log(VIGILD_LOG_DEBUG, "mqtt: %s", text);
}

/* ---- the device table (ingest thread) ---- */

static size_t hash_id(const char *s)
{
    size_t h = 1469598103934665603ull & (size_t)-1;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * (size_t)1099511628211ull;
    return h;
}

static bool devtab_grow(ingest_mqtt_t *in)
{
    size_t n = in->bucket_count ? in->bucket_count * 2 : 1024;
    device_ack_t **b = calloc(n, sizeof *b);
    if (!b)
        return false;
    for (size_t i = 0; i < in->bucket_count; i++)
        for (device_ack_t *d = in->buckets[i], *next; d; d = next) {
            next = d->next;
            size_t h = hash_id(d->id) & (n - 1);
            d->next = b[h];
            b[h] = d;
        }
    free(in->buckets);
    in->buckets = b;
    in->bucket_count = n;
    return true;
}

/* The device's entry, made when missing; NULL when memory runs out. */
static device_ack_t *devtab_get(ingest_mqtt_t *in, const char *id)
{
    if (in->bucket_count) {
        for (device_ack_t *d = in->buckets[hash_id(id) & (in->bucket_count - 1)]; d; d = d->next)
            if (strcmp(d->id, id) == 0)
                return d;
    }
    if (in->dev_count >= in->bucket_count && !devtab_grow(in))
        return NULL;
    device_ack_t *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    snprintf(d->id, sizeof d->id, "%s", id);
    size_t h = hash_id(id) & (in->bucket_count - 1);
    d->next = in->buckets[h];
    in->buckets[h] = d;
    in->dev_count++;
    return d;
}

static void devtab_free(ingest_mqtt_t *in)
{
    for (size_t i = 0; i < in->bucket_count; i++)
        for (device_ack_t *d = in->buckets[i], *next; d; d = next) {
            next = d->next;
            free(d);
        }
    free(in->buckets);
    in->buckets = NULL;
    in->bucket_count = in->dev_count = 0;
}

/* ---- publishing (ingest thread) ---- */

static bool publish(ingest_mqtt_t *in, const char *topic, const uint8_t *payload, size_t len, bool retain)
{
    pthread_mutex_lock(&in->lock);
    in->publishes_pending++;
    pthread_mutex_unlock(&in->lock);
    int rc = mosquitto_publish(in->mosq, NULL, topic, (int)len, payload, 1, retain);
    if (rc == MOSQ_ERR_SUCCESS)
        return true;
    pthread_mutex_lock(&in->lock);
    in->publishes_pending--;
    pthread_mutex_unlock(&in->lock);
    vigild_log(VIGILD_LOG_WARNING, "publish %s: %s", topic, mosquitto_strerror(rc));
    return false;
}

/*
 * The device's group's `device:` section of the policy; with no policy file,
 * the defaults and the config file's device_report_interval.
 */
static void send_config(ingest_mqtt_t *in, device_ack_t *d)
{
    uint8_t buf[32];
    char topic[sizeof TOPIC_PREFIX + STORE_MAX_DEVICE_ID + 16];
    store_device_t sd;
    const char *group = store_get_device(in->store, d->id, &sd) ? sd.group : POLICY_DEFAULT_GROUP;
    policy_device_t dev = *policy_device(pipeline_policy(in->pipeline), group);
    if (!in->cfg.policy[0])
        dev.report_interval = in->cfg.device_report_interval;
    size_t n = ingest_encode_device_config(&dev, buf, sizeof buf);
    snprintf(topic, sizeof topic, TOPIC_PREFIX "%s/config", d->id);
    if (n && publish(in, topic, buf, n, true)) {
        d->config_sent = true;
        in->own.configs_sent++;
    }
}

typedef struct {
    ingest_mqtt_t *in;
    size_t sent;
} push_ctx_t;

static void push_one(void *u, const store_device_t *sd)
{
    push_ctx_t *c = u;
    device_ack_t *d = devtab_get(c->in, sd->id);
    if (d) {
        send_config(c->in, d);
        c->sent++;
    }
}

static void push_configs(ingest_mqtt_t *in)
{
    push_ctx_t c = { in, 0 };
    if (!store_list_devices(in->store, push_one, &c))
        vigild_log(VIGILD_LOG_ERROR, "cannot list devices for their configuration: %s",
                   store_last_error(in->store));
    vigild_log(VIGILD_LOG_NOTICE, "configuration (the policy's device section) published to %zu devices", c.sent);
}

/* Sends the acks that are due (all when `all`); returns the ms until the
 * next one is due (UINT64_MAX when none is pending). */
static uint64_t flush_acks(ingest_mqtt_t *in, bool all)
{
    uint64_t now = now_ms(), next = UINT64_MAX;
    size_t keep = 0;
    for (size_t i = 0; i < in->pending_count; i++) {
        device_ack_t *d = in->pending[i];
        uint64_t due = d->last_ack_ms + in->cfg.ack_interval_ms;
        if (!all && d->last_ack_ms && due > now) {
            if (due - now < next)
                next = due - now;
            in->pending[keep++] = d;
            continue;
        }
        uint32_t low, seq;
        if (!store_stream_run(in->store, d->id, d->boot, &low, &seq)) {
            /* Nothing stored for this boot (every report of it failed), or
             * the store failed: no ack; the device re-sends. */
            if (store_last_error(in->store)[0])
                vigild_log(VIGILD_LOG_ERROR, "ack point of device %s: %s", d->id, store_last_error(in->store));
            d->pending = false;
            continue;
        }
        if (low > 0 && in->cfg.ack_hold_ms) {
            /* Seqs start at 0 with each boot. A run starting above 0 may
             * mean reports below it were taken by a vigild that died before
             * committing them: the device still holds them, and an ack now
             * would release them unstored. Wait for its re-sends; if none
             * comes within ack_hold_ms, the device dropped them (a full
             * outbox) and the run is acknowledged as it is. */
            if (!d->hold_since_ms) {
                d->hold_since_ms = now ? now : 1;
                in->own.acks_held++;
                vigild_log(VIGILD_LOG_INFO, "device %s boot %u: reports below seq %u missing; ack held up to %u ms",
                           d->id, d->boot, low, in->cfg.ack_hold_ms);
            }
            uint64_t until = d->hold_since_ms + in->cfg.ack_hold_ms;
            if (until > now) {
                if (until - now < next)
                    next = until - now;
                in->pending[keep++] = d;
                continue;
            }
        }
        uint8_t buf[32];
        char topic[sizeof TOPIC_PREFIX + STORE_MAX_DEVICE_ID + 16];
        size_t n = ingest_encode_ack(d->boot, seq, buf, sizeof buf);
        snprintf(topic, sizeof topic, TOPIC_PREFIX "%s/ack", d->id);
        if (n && publish(in, topic, buf, n, false)) {
            in->own.acks_sent++;
            d->pending = false;
            d->last_ack_ms = now;
            vigild_log(VIGILD_LOG_DEBUG, "ack device %s: boot %u seq %u", d->id, d->boot, seq);
        } else {
            in->own.ack_failures++;
            in->pending[keep++] = d;   /* tried again on the next pass */
            if (in->cfg.ack_interval_ms < next)
                next = in->cfg.ack_interval_ms ? in->cfg.ack_interval_ms : 100;
        }
    }
    in->pending_count = keep;
    return next;
}

static bool mark_pending(ingest_mqtt_t *in, device_ack_t *d)
{
    if (d->pending)
        return true;
    if (in->pending_count == in->pending_cap) {
        size_t cap = in->pending_cap ? in->pending_cap * 2 : 256;
        device_ack_t **p = realloc(in->pending, cap * sizeof *p);
        if (!p)
            return false;
        in->pending = p;
        in->pending_cap = cap;
    }
    in->pending[in->pending_count++] = d;
    d->pending = true;
    return true;
}

/* ---- the ingest thread ---- */

void ingest_log_finding(void *user, const alert_t *a)
{
    (void)user;
    vigild_log(a->kind == ALERT_KIND_ALERT ? VIGILD_LOG_WARNING : VIGILD_LOG_NOTICE, "%s %s %s device %s: %s",
               a->kind == ALERT_KIND_ALERT ? "alert" : "recommendation", alert_severity_name(a->severity), a->type,
               a->device, a->message);
}

static void reload_policy(ingest_mqtt_t *in)
{
    if (!in->cfg.policy[0]) {
        vigild_log(VIGILD_LOG_NOTICE, "no policy file configured: keeping the default policy");
        return;
    }
    policy_error_t err;
    policy_t *p = policy_load_file(in->cfg.policy, &err);
    if (!p) {
        in->own.policy_failures++;
        if (err.line)
            vigild_log(VIGILD_LOG_ERROR, "policy %s:%zu:%zu: %s; keeping the running policy", err.file, err.line,
                       err.column, err.reason);
        else
            vigild_log(VIGILD_LOG_ERROR, "policy %s: %s; keeping the running policy", err.file, err.reason);
        return;
    }
    pipeline_set_policy(in->pipeline, p);
    in->own.policy_reloads++;
    vigild_log(VIGILD_LOG_NOTICE, "policy %s reloaded", in->cfg.policy);
}

static void process_batch(ingest_mqtt_t *in, size_t n)
{
    in->batch_no++;
    int64_t received_at = (int64_t)time(NULL);
    if (!pipeline_batch_begin(in->pipeline)) {
        in->own.lost_batches++;
        in->own.lost_reports += n;
        vigild_log(VIGILD_LOG_ERROR, "cannot begin a transaction (%s): %zu reports not stored, their devices re-send",
                   store_last_error(in->store), n);
        return;
    }
    size_t touched = 0;
    char why[256];
    for (size_t i = 0; i < n; i++) {
        msg_t *m = in->batch[i];
        why[0] = '\0';
        pipeline_result_t r =
            pipeline_ingest(in->pipeline, m->device, m->data, m->len, received_at, why, sizeof why);
        uint32_t boot, seq;
        if (r == PIPELINE_REJECTED) {
            if (log_limit_allow(&in->reject_limit))
                vigild_log(VIGILD_LOG_WARNING, "rejected report from device %s: %s", m->device, why);
            continue;
        }
        if (r == PIPELINE_ERROR) {
            vigild_log(VIGILD_LOG_ERROR, "report from device %s not stored: %s", m->device, why);
            continue;
        }
        if (r == PIPELINE_REPLAY)
            vigild_log(VIGILD_LOG_WARNING, "device %s re-sent a stored report with other content (replay)",
                       m->device);
        if (!pipeline_last_report(in->pipeline, &boot, &seq))
            continue;
        device_ack_t *d = devtab_get(in, m->device);
        if (!d) {
            vigild_log(VIGILD_LOG_ERROR, "out of memory: device %s will not be acknowledged", m->device);
            continue;
        }
        if (d->touched_batch != in->batch_no) {
            d->touched_batch = in->batch_no;
            in->touched[touched++] = d;
        }
        if (d->boot != boot)
            d->hold_since_ms = 0;
        d->boot = boot;
    }
    double t0 = now_s();
    bool ok = pipeline_batch_commit(in->pipeline);
    double dt = now_s() - t0;
    in->own.batches++;
    if (!ok) {
        in->own.lost_batches++;
        in->own.lost_reports += n;
        vigild_log(VIGILD_LOG_ERROR, "commit failed (%s): %zu reports not stored, their devices re-send",
                   store_last_error(in->store), n);
        return;
    }
    in->own.commits++;
    in->own.commit_seconds_total += dt;
    if (dt > in->own.commit_seconds_max)
        in->own.commit_seconds_max = dt;
    for (size_t i = 0; i < touched; i++) {
        device_ack_t *d = in->touched[i];
        if (!d->config_sent)
            send_config(in, d);
        if (!mark_pending(in, d))
            vigild_log(VIGILD_LOG_ERROR, "out of memory: device %s will not be acknowledged", d->id);
    }
}

/* Copies the thread's counters into the shared snapshot. Called with the
 * lock held. */
static void publish_stats(ingest_mqtt_t *in, const ingest_stats_t *mine)
{
    ingest_stats_t *s = &in->stats;
    s->lost_batches = mine->lost_batches;
    s->lost_reports = mine->lost_reports;
    s->batches = mine->batches;
    s->commits = mine->commits;
    s->commit_seconds_total = mine->commit_seconds_total;
    s->commit_seconds_max = mine->commit_seconds_max;
    s->acks_sent = mine->acks_sent;
    s->ack_failures = mine->ack_failures;
    s->acks_held = mine->acks_held;
    s->configs_sent = mine->configs_sent;
    s->policy_reloads = mine->policy_reloads;
    s->policy_failures = mine->policy_failures;
    s->pipeline = mine->pipeline;
}

static void *ingest_main(void *arg)
{
    ingest_mqtt_t *in = arg;
    in->last_tick_ms = now_ms();
    uint64_t wait_ms = 0;
    for (;;) {
        pthread_mutex_lock(&in->lock);
        if (!in->head && !in->closing && !in->reload_policy && !(in->push_configs && in->connected)) {
            uint64_t w = wait_ms > 1000 ? 1000 : wait_ms;
            struct timespec dl = deadline_in(w ? w : 1);
            pthread_cond_timedwait(&in->not_empty, &in->lock, &dl);
        }
        if (in->head && in->count < in->cfg.batch_max && !in->closing && in->cfg.batch_ms) {
            /* Let a batch fill for batch_ms: one commit for many reports is
             * what makes durable storage fast. */
            struct timespec dl = deadline_in(in->cfg.batch_ms);
            while (in->count < in->cfg.batch_max && !in->closing)
                if (pthread_cond_timedwait(&in->not_empty, &in->lock, &dl) == ETIMEDOUT)
                    break;
        }
        size_t n = 0;
        while (in->head && n < in->cfg.batch_max) {
            in->batch[n++] = in->head;
            in->head = in->head->next;
        }
        if (!in->head)
            in->tail = NULL;
        in->count -= n;
        if (n)
            pthread_cond_broadcast(&in->not_full);
        bool closing = in->closing && !in->head;
        bool reload = in->reload_policy;
        bool push = in->push_configs && in->connected;
        in->reload_policy = false;
        if (push)
            in->push_configs = false;
        pthread_mutex_unlock(&in->lock);

        /* Policy and configuration first: a batch taken at the same time
         * is then judged under the new policy, and the push after a
         * (re)connect reaches the devices stored before it. */
        if (reload) {
            reload_policy(in);
            push = true;
        }
        if (push)
            push_configs(in);
        if (n) {
            process_batch(in, n);
            for (size_t i = 0; i < n; i++)
                free(in->batch[i]);
        }
        uint64_t now = now_ms();
        if (now - in->last_tick_ms >= TICK_EVERY_MS) {
            in->last_tick_ms = now;
            if (!pipeline_tick(in->pipeline, (int64_t)time(NULL), false))
                vigild_log(VIGILD_LOG_ERROR, "periodic checks failed: %s", store_last_error(in->store));
        }
        wait_ms = flush_acks(in, closing);
        log_limit_flush(&in->reject_limit, closing);
        pthread_mutex_lock(&in->lock);
        log_limit_flush(&in->topic_limit, closing);
        pipeline_get_stats(in->pipeline, &in->own.pipeline);
        publish_stats(in, &in->own);
        pthread_mutex_unlock(&in->lock);
        if (closing)
            break;
    }
    return NULL;
}

/* ---- life cycle ---- */

static bool read_password(const char *path, char *out, size_t size, char *err, size_t err_size)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, err_size, "mqtt_password_file %s: %s", path, strerror(errno));
        return false;
    }
    bool ok = fgets(out, (int)size, f) != NULL;
    fclose(f);
    if (!ok) {
        snprintf(err, err_size, "mqtt_password_file %s: empty", path);
        return false;
    }
    size_t n = strcspn(out, "\r\n");
    if (out[n] == '\0' && n == size - 1) {
        snprintf(err, err_size, "mqtt_password_file %s: first line longer than %zu bytes", path, size - 2);
        return false;
    }
    out[n] = '\0';
    return true;
}

ingest_mqtt_t *ingest_mqtt_new(const vigild_config_t *cfg, pipeline_t *pipeline, store_t *store, char *err,
                               size_t err_size)
{
    ingest_mqtt_t *in = calloc(1, sizeof *in);
    if (!in) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    in->cfg = *cfg;
    in->pipeline = pipeline;
    in->store = store;
    in->push_configs = true;
    snprintf(in->subscription, sizeof in->subscription, "$share/%s/" TOPIC_PREFIX "+/report", cfg->share_group);
    pthread_mutex_init(&in->lock, NULL);
    pthread_cond_init(&in->not_empty, NULL);
    pthread_cond_init(&in->not_full, NULL);
    pthread_cond_init(&in->published, NULL);
    in->batch = calloc(cfg->batch_max, sizeof *in->batch);
    in->touched = calloc(cfg->batch_max, sizeof *in->touched);
    if (!in->batch || !in->touched) {
        snprintf(err, err_size, "out of memory");
        ingest_mqtt_free(in);
        return NULL;
    }
    in->mosq = mosquitto_new(cfg->mqtt_client_id, false, in);
    if (!in->mosq) {
        snprintf(err, err_size, "mosquitto_new: %s", strerror(errno));
        ingest_mqtt_free(in);
        return NULL;
    }
    mosquitto_int_option(in->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_connect_v5_callback_set(in->mosq, on_connect);
    mosquitto_disconnect_v5_callback_set(in->mosq, on_disconnect);
    mosquitto_subscribe_v5_callback_set(in->mosq, on_subscribe);
    mosquitto_publish_v5_callback_set(in->mosq, on_publish);
    mosquitto_message_callback_set(in->mosq, on_message);
    mosquitto_log_callback_set(in->mosq, on_log);
    /* Our own network thread (network_main), so libmosquitto must not
     * write from the publishing thread. */
    mosquitto_threaded_set(in->mosq, true);
    int rc = MOSQ_ERR_SUCCESS;
    if (cfg->mqtt_username[0]) {
        char password[512] = "";
        if (cfg->mqtt_password_file[0] && !read_password(cfg->mqtt_password_file, password, sizeof password, err,
                                                         err_size)) {
            ingest_mqtt_free(in);
            return NULL;
        }
        rc = mosquitto_username_pw_set(in->mosq, cfg->mqtt_username, cfg->mqtt_password_file[0] ? password : NULL);
        memset(password, 0, sizeof password);
    }
    if (rc == MOSQ_ERR_SUCCESS && cfg->mqtt_cafile[0])
        rc = mosquitto_tls_set(in->mosq, cfg->mqtt_cafile, NULL, cfg->mqtt_certfile[0] ? cfg->mqtt_certfile : NULL,
                               cfg->mqtt_keyfile[0] ? cfg->mqtt_keyfile : NULL, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        snprintf(err, err_size, "mqtt credentials or TLS: %s", mosquitto_strerror(rc));
        ingest_mqtt_free(in);
        return NULL;
    }
    return in;
}

/* Connects with the session expiry on every attempt: libmosquitto's own
 * reconnect (mosquitto_loop_start) sends CONNECT without the properties of
 * the first one, and a session whose latest CONNECT carried no expiry ends
 * with its connection, so the broker would stop keeping reports for us
 * after the first network blip. */
static int connect_v5(ingest_mqtt_t *in)
{
    mosquitto_property *props = NULL;
    int rc = mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, in->cfg.session_expiry);
    if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_connect_bind_v5(in->mosq, in->cfg.mqtt_host, (int)in->cfg.mqtt_port,
                                       (int)in->cfg.mqtt_keepalive, NULL, props);
    mosquitto_property_free_all(&props);
    return rc;
}

static bool net_stopping(ingest_mqtt_t *in, uint64_t *since)
{
    pthread_mutex_lock(&in->lock);
    bool stop = in->net_stop;
    *since = in->net_stop_ms;
    pthread_mutex_unlock(&in->lock);
    return stop;
}

/* The network thread: runs libmosquitto's loop and reconnects with a
 * backoff of 1 s doubling to 30 s, until ingest_mqtt_stop disconnects. */
static void *network_main(void *arg)
{
    ingest_mqtt_t *in = arg;
    bool up = in->socket_up;
    unsigned backoff_ms = 0;
    uint64_t since;
    for (;;) {
        if (up) {
            int rc = mosquitto_loop(in->mosq, 200, 1);
            bool stop = net_stopping(in, &since);
            if (rc == MOSQ_ERR_SUCCESS && !(stop && now_ms() - since > 2000u)) {
                backoff_ms = 0;
                continue;
            }
            if (stop)
                break;
            up = false;
        }
        backoff_ms = backoff_ms ? (backoff_ms >= 15000u ? 30000u : backoff_ms * 2u) : 1000u;
        for (unsigned waited = 0; waited < backoff_ms && !net_stopping(in, &since); waited += 100u) {
            struct timespec pause = { 0, 100000000L };
            nanosleep(&pause, NULL);
        }
        if (net_stopping(in, &since))
            break;
        int rc = connect_v5(in);
        if (rc == MOSQ_ERR_SUCCESS)
            up = true;
        else
            vigild_log(VIGILD_LOG_WARNING, "connect %s:%u: %s; retrying in %u s", in->cfg.mqtt_host,
                       in->cfg.mqtt_port, rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc),
                       (backoff_ms >= 15000u ? 30000u : backoff_ms * 2u) / 1000u);
    }
    return NULL;
}

bool ingest_mqtt_start(ingest_mqtt_t *in, char *err, size_t err_size)
{
    int rc = connect_v5(in);
    if (rc == MOSQ_ERR_INVAL || rc == MOSQ_ERR_NOMEM) {
        snprintf(err, err_size, "connect %s:%u: %s", in->cfg.mqtt_host, in->cfg.mqtt_port, mosquitto_strerror(rc));
        return false;
    }
    in->socket_up = rc == MOSQ_ERR_SUCCESS;
    if (!in->socket_up)
        /* The network thread retries: a broker that starts after vigild is
         * normal at boot. */
        vigild_log(VIGILD_LOG_WARNING, "connect %s:%u: %s; retrying", in->cfg.mqtt_host, in->cfg.mqtt_port,
                   rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
    if (pthread_create(&in->thread, NULL, ingest_main, in) != 0) {
        snprintf(err, err_size, "cannot start the ingest thread");
        return false;
    }
    in->thread_started = true;
    if (pthread_create(&in->net_thread, NULL, network_main, in) != 0) {
        snprintf(err, err_size, "cannot start the network thread");
        return false;
    }
    in->net_started = true;
    return true;
}

void ingest_mqtt_request_policy_reload(ingest_mqtt_t *in)
{
    pthread_mutex_lock(&in->lock);
    in->reload_policy = true;
    pthread_cond_signal(&in->not_empty);
    pthread_mutex_unlock(&in->lock);
}

void ingest_mqtt_stop(ingest_mqtt_t *in)
{
    if (!in)
        return;
    pthread_mutex_lock(&in->lock);
    in->closing = true;
    pthread_cond_broadcast(&in->not_empty);
    pthread_cond_broadcast(&in->not_full);
    pthread_mutex_unlock(&in->lock);
    if (in->thread_started) {
        pthread_join(in->thread, NULL);
        in->thread_started = false;
    }
    if (in->net_started) {
        /* Give the broker the acks just published before leaving. */
        pthread_mutex_lock(&in->lock);
        struct timespec dl = deadline_in(STOP_WAIT_MS);
        while (in->publishes_pending && in->connected)
            if (pthread_cond_timedwait(&in->published, &in->lock, &dl) == ETIMEDOUT)
                break;
        uint64_t left = in->publishes_pending;
        in->net_stop = true;
        in->net_stop_ms = now_ms();
        pthread_mutex_unlock(&in->lock);
        if (left)
            vigild_log(VIGILD_LOG_WARNING, "%llu acks or configurations not confirmed by the broker at exit",
                       (unsigned long long)left);
        /* The DISCONNECT keeps the session (its expiry came with CONNECT);
         * the network thread writes it and ends. */
        mosquitto_disconnect_v5(in->mosq, MQTT_RC_NORMAL_DISCONNECTION, NULL);
        pthread_join(in->net_thread, NULL);
        in->net_started = false;
    }
}

void ingest_mqtt_free(ingest_mqtt_t *in)
{
    if (!in)
        return;
    ingest_mqtt_stop(in);
    if (in->mosq)
        mosquitto_destroy(in->mosq);
    for (msg_t *m = in->head, *next; m; m = next) {
        next = m->next;
        free(m);
    }
    devtab_free(in);
    free(in->pending);
    free(in->touched);
    free(in->batch);
    pthread_cond_destroy(&in->not_empty);
    pthread_cond_destroy(&in->not_full);
    pthread_cond_destroy(&in->published);
    pthread_mutex_destroy(&in->lock);
    free(in);
}

void ingest_mqtt_get_stats(ingest_mqtt_t *in, ingest_stats_t *out)
{
    pthread_mutex_lock(&in->lock);
    *out = in->stats;
    pthread_mutex_unlock(&in->lock);
}

void ingest_stats_format(const ingest_stats_t *s, char *out, size_t size)
{
    const pipeline_stats_t *p = &s->pipeline;
    int n = snprintf(out, size,
                     "counters: messages %llu received %llu stored %llu duplicates %llu replays %llu rejected %llu"
                     " rejected_topic_mismatch %llu rejected_bad_topic %llu rejected_oversize %llu",
                     (unsigned long long)s->messages, (unsigned long long)p->received, (unsigned long long)p->stored,
                     (unsigned long long)p->duplicates, (unsigned long long)p->replays,
                     (unsigned long long)(p->rejected + s->bad_topic + s->oversize),
                     (unsigned long long)p->topic_mismatch, (unsigned long long)s->bad_topic,
                     (unsigned long long)s->oversize);
    for (int r = 1; r < REPORT_ERR__COUNT && n > 0 && (size_t)n < size; r++)
        if (p->rejected_by_reason[r])
            n += snprintf(out + n, size - (size_t)n, " rejected_%s %llu", report_reject_name((report_reject_t)r),
                          (unsigned long long)p->rejected_by_reason[r]);
    if (n > 0 && (size_t)n < size)
        snprintf(out + n, size - (size_t)n,
                 " store_errors %llu lost_batches %llu lost_reports %llu dropped_closing %llu alerts %llu"
                 " recommendations %llu acks_sent %llu ack_failures %llu acks_held %llu configs_sent %llu batches %llu"
                 " commit_ms_avg %.3f commit_ms_max %.3f queue_high_water %zu policy_reloads %llu"
                 " policy_failures %llu",
                 (unsigned long long)p->errors, (unsigned long long)s->lost_batches,
                 (unsigned long long)s->lost_reports, (unsigned long long)s->dropped_closing,
                 (unsigned long long)p->alerts, (unsigned long long)p->recommendations,
                 (unsigned long long)s->acks_sent, (unsigned long long)s->ack_failures,
                 (unsigned long long)s->acks_held,
                 (unsigned long long)s->configs_sent, (unsigned long long)s->batches,
                 s->commits ? s->commit_seconds_total * 1000.0 / (double)s->commits : 0.0,
                 s->commit_seconds_max * 1000.0, s->queue_high_water, (unsigned long long)s->policy_reloads,
                 (unsigned long long)s->policy_failures);
}
