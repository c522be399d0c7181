/*
 * mqtt_uplink.c - libvigil's outbox over MQTT with end-to-end acks (see
 * mqtt_uplink.h and proto/mqtt.md).
 *
 * Two threads meet here. libmosquitto's loop thread runs the callbacks:
 * they decode acks and configurations (libcbor, no libvigil) and queue the
 * results under `lock`. The capture thread runs mqtt_uplink_pump(): it takes
 * the queues under `lock`, then works on the context and publishes without
 * it. Every field below `lock` in struct mqtt_uplink is guarded by it; the
 * rest belongs to the capture thread.
 *
 * It must never call libvigil from a callback, never block the pump on the
 * network, and never trust the length or content of an inbound message.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cbor.h>
#include <mosquitto.h>

#include "mqtt_uplink.h"

#define TOPIC_MAX (16 + VIGIL_DEVICE_ID_MAX)
#define PASSWORD_MAX 256
#define ACK_QUEUE 32            /* acks of one boot coalesce, so this rarely fills */
#define CONFIG_QUEUE 16
#define TRACK_MAX 256           /* reports followed at once; more wait for the next pump */
#define RETAINED_GRACE_MS 300   /* after SUBACK, time for a retained config to arrive */
#define DEFAULT_KEEPALIVE 30
#define DEFAULT_RESEND 30

/* A configuration message as the loop thread saw it: decoded later, on the
 * capture thread, against the configuration running then. */
typedef struct {
    uint8_t bytes[MQTT_UPLINK_MAX_INBOUND];
    size_t len;
    bool too_large;
} queued_config_t;

typedef struct {
    uint32_t boot_id;
    uint32_t seq;
    unsigned long long messages;    /* acks merged into this one */
} queued_ack_t;

/* A report of the outbox as this uplink last sent it. */
typedef struct {
    uint32_t seq;
    unsigned long generation;   /* connection it was last published on; 0 = never */
    time_t sent_at;
} tracked_t;

struct mqtt_uplink {
    struct mosquitto *mosq;
    char report_topic[TOPIC_MAX];
    char ack_topic[TOPIC_MAX];
    char config_topic[TOPIC_MAX];
    char *password;
    unsigned resend_s;
    bool loop_started;
    vigil_config_t config;          /* what the context runs with */

    tracked_t tracked[TRACK_MAX];   /* ordered like the outbox */
    size_t tracked_count;
    queued_config_t taken[CONFIG_QUEUE];  /* configs moved out of the queue */

    pthread_mutex_t lock;
    pthread_cond_t ready_cond;
    bool connected;
    unsigned long generation;       /* +1 per successful connection */
    int subscribed;                 /* SUBACKs of this connection */
    int ack_mid, config_mid;
    queued_ack_t acks[ACK_QUEUE];
    size_t ack_head, ack_count;
    queued_config_t configs[CONFIG_QUEUE];
    size_t config_head, config_count;
    mqtt_uplink_stats_t stats;
};

static void uplink__log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void uplink__log(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "vigil-agent: mqtt: %s\n", line);
}

time_t mqtt_uplink_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* ---- strict decoding of proto/transport.cddl ---------------------------- */

static void uplink__why(char *why, size_t why_len, const char *text)
{
    if (why && why_len)
        snprintf(why, why_len, "%s", text);
}

/*
 * The messages are read with libcbor's streaming decoder, item by item:
 * unlike cbor_load(), it allocates nothing, so a header announcing a
 * billion-element array costs nothing (cbor_load() would try to allocate it).
 * The grammar is tiny: one map, definite or indefinite, of unsigned keys to
 * unsigned values, spanning the whole message. Each pair goes to a pair_fn;
 * a key seen twice is rejected.
 */
typedef bool (*pair_fn)(void *arg, uint64_t key, uint64_t value, char *why, size_t why_len);

typedef enum { WANT_MAP, WANT_KEY, WANT_VALUE, MAP_DONE } map_state_t;

typedef struct {
    map_state_t state;
    bool indefinite;
    bool failed;
    uint64_t remaining;     /* definite map: pairs still to come */
    uint64_t key;
    uint64_t seen;          /* keys 0..63 seen; larger keys are unknown anyway */
    pair_fn take;
    void *arg;
    char *why;
    size_t why_len;
} map_reader_t;

static void reader__fail(map_reader_t *r, const char *text)
{
    if (!r->failed)
        uplink__why(r->why, r->why_len, text);
    r->failed = true;
}

/* Any item that is not an unsigned integer or the map itself. */
static void reader__unexpected(map_reader_t *r)
{
    switch (r->state) {
    case WANT_MAP: reader__fail(r, "not a map"); break;
    case WANT_KEY: reader__fail(r, "a key that is not an unsigned integer"); break;
    case WANT_VALUE: reader__fail(r, "a value that is not an unsigned integer"); break;
    case MAP_DONE: reader__fail(r, "trailing bytes after the map"); break;
    }
}

static void reader__uint(map_reader_t *r, uint64_t v)
{
    if (r->failed)
        return;
    if (r->state == WANT_KEY) {
        r->key = v;
        r->state = WANT_VALUE;
        return;
    }
    if (r->state != WANT_VALUE) {
        reader__unexpected(r);
        return;
    }
    if (r->key < 64 && (r->seen & (1ull << r->key))) {
        reader__fail(r, "a duplicate key");
        return;
    }
    if (r->key < 64)
        r->seen |= 1ull << r->key;
    if (!r->take(r->arg, r->key, v, r->why, r->why_len)) {
        r->failed = true;
        return;
    }
    r->state = !r->indefinite && --r->remaining == 0 ? MAP_DONE : WANT_KEY;
}

static void reader__u8(void *c, uint8_t v) { reader__uint(c, v); }
static void reader__u16(void *c, uint16_t v) { reader__uint(c, v); }
static void reader__u32(void *c, uint32_t v) { reader__uint(c, v); }
static void reader__u64(void *c, uint64_t v) { reader__uint(c, v); }

static void reader__map(void *c, size_t size)
{
    map_reader_t *r = c;
    if (r->state != WANT_MAP) {
        reader__unexpected(r);
        return;
    }
    r->remaining = size;
    r->state = size == 0 ? MAP_DONE : WANT_KEY;
}

static void reader__indef_map(void *c)
{
    map_reader_t *r = c;
    if (r->state != WANT_MAP) {
        reader__unexpected(r);
        return;
    }
    r->indefinite = true;
    r->state = WANT_KEY;
}

static void reader__break(void *c)
{
    map_reader_t *r = c;
    if (r->indefinite && r->state == WANT_KEY)
        r->state = MAP_DONE;
    else
        reader__unexpected(r);
}

static void reader__other(void *c) { reader__unexpected(c); }
static void reader__other_u8(void *c, uint8_t v) { (void)v; reader__unexpected(c); }
static void reader__other_u16(void *c, uint16_t v) { (void)v; reader__unexpected(c); }
static void reader__other_u32(void *c, uint32_t v) { (void)v; reader__unexpected(c); }
static void reader__other_u64(void *c, uint64_t v) { (void)v; reader__unexpected(c); }
static void reader__other_str(void *c, cbor_data d, size_t n) { (void)d; (void)n; reader__unexpected(c); }
static void reader__other_coll(void *c, size_t n) { (void)n; reader__unexpected(c); }
static void reader__other_f(void *c, float v) { (void)v; reader__unexpected(c); }
static void reader__other_d(void *c, double v) { (void)v; reader__unexpected(c); }
static void reader__other_b(void *c, bool v) { (void)v; reader__unexpected(c); }

static const struct cbor_callbacks reader_callbacks = {
    .uint8 = reader__u8,
    .uint16 = reader__u16,
    .uint32 = reader__u32,
    .uint64 = reader__u64,
    .negint64 = reader__other_u64,
    .negint32 = reader__other_u32,
    .negint16 = reader__other_u16,
    .negint8 = reader__other_u8,
    .byte_string_start = reader__other,
    .byte_string = reader__other_str,
    .string = reader__other_str,
    .string_start = reader__other,
    .indef_array_start = reader__other,
    .array_start = reader__other_coll,
    .indef_map_start = reader__indef_map,
    .map_start = reader__map,
    .tag = reader__other_u64,
    .float2 = reader__other_f,
    .float4 = reader__other_f,
    .float8 = reader__other_d,
    .undefined = reader__other,
    .null = reader__other,
    .boolean = reader__other_b,
    .indef_break = reader__break,
};

static bool uplink__decode_map(const uint8_t *msg, size_t len, pair_fn take, void *arg,
                               char *why, size_t why_len)
{
    if (!msg || len == 0) {
        uplink__why(why, why_len, "empty message");
        return false;
    }
    if (len > MQTT_UPLINK_MAX_INBOUND) {
        uplink__why(why, why_len, "message too large");
        return false;
    }
    map_reader_t r;
    memset(&r, 0, sizeof r);
    r.take = take;
    r.arg = arg;
    r.why = why;
    r.why_len = why_len;
    size_t off = 0;
    /* Each call reads one item head (or a whole definite string), so this
     * runs at most `len` times. */
    while (off < len && !r.failed && r.state != MAP_DONE) {
        struct cbor_decoder_result res =
            cbor_stream_decode(msg + off, len - off, &reader_callbacks, &r);
        if (res.status == CBOR_DECODER_NEDATA) {
            reader__fail(&r, "truncated");
        } else if (res.status != CBOR_DECODER_FINISHED || res.read == 0) {
            reader__fail(&r, "not well-formed CBOR");
        }
        off += res.read;
    }
    if (r.failed)
        return false;
    if (r.state != MAP_DONE) {
        uplink__why(why, why_len, "truncated");
        return false;
    }
    if (off != len) {
        uplink__why(why, why_len, "trailing bytes after the map");
        return false;
    }
    return true;
}

typedef struct {
    bool has_version, has_boot, has_seq;
    uint32_t boot_id, seq;
} ack_fields_t;

static bool uplink__ack_pair(void *arg, uint64_t key, uint64_t value, char *why, size_t why_len)
{
    ack_fields_t *a = arg;
    switch (key) {
    case 0:
        if (value != 1) {
            uplink__why(why, why_len, "unknown version");
            return false;
        }
        a->has_version = true;
        return true;
    case 1:
    case 2:
        if (value > UINT32_MAX) {
            uplink__why(why, why_len, key == 1 ? "boot_id over 32 bits" : "seq over 32 bits");
            return false;
        }
        if (key == 1) {
            a->boot_id = (uint32_t)value;
            a->has_boot = true;
        } else {
            a->seq = (uint32_t)value;
            a->has_seq = true;
        }
        return true;
    default:
        uplink__why(why, why_len, "unknown key");
        return false;
    }
}

bool mqtt_uplink_decode_ack(const uint8_t *msg, size_t len, uint32_t *boot_id, uint32_t *seq,
                            char *why, size_t why_len)
{
    ack_fields_t a;
    memset(&a, 0, sizeof a);
    if (!uplink__decode_map(msg, len, uplink__ack_pair, &a, why, why_len))
        return false;
    if (!a.has_version || !a.has_boot || !a.has_seq) {
        uplink__why(why, why_len, !a.has_version ? "no version" : !a.has_boot ? "no boot_id"
                                                                               : "no seq");
        return false;
    }
    *boot_id = a.boot_id;
    *seq = a.seq;
    return true;
}

typedef struct {
    bool has_version;
    vigil_config_t c;
} config_fields_t;

static bool uplink__in(uint64_t v, uint64_t lo, uint64_t hi, const char *name, char *why,
                       size_t why_len)
{
    if (v >= lo && v <= hi)
        return true;
    if (why && why_len)
        snprintf(why, why_len, "%s %llu out of range %llu..%llu", name, (unsigned long long)v,
                 (unsigned long long)lo, (unsigned long long)hi);
    return false;
}

static bool uplink__config_pair(void *arg, uint64_t key, uint64_t value, char *why,
                                size_t why_len)
{
    config_fields_t *f = arg;
    switch (key) {
    case 0:
        if (value != 1) {
            uplink__why(why, why_len, "unknown version");
            return false;
        }
        f->has_version = true;
        return true;
    case 1:
        if (!uplink__in(value, 1, 3600, "report_interval_s", why, why_len))
            return false;
        f->c.report_interval_s = (uint32_t)value;
        return true;
    case 2:
        if (!uplink__in(value, 0, 7, "collectors", why, why_len))
            return false;
        f->c.collectors = (uint32_t)value;
        return true;
    case 3:
        if (!uplink__in(value, 1, 1000, "sysinfo_every", why, why_len))
            return false;
        f->c.sysinfo_every = (uint32_t)value;
        return true;
    case 4:
        if (!uplink__in(value, 512, 65535, "max_message_size", why, why_len))
            return false;
        /* transport.cddl: capped by what this device was built for. */
        f->c.max_message_size =
            value > VIGIL_MAX_MESSAGE_SIZE ? VIGIL_MAX_MESSAGE_SIZE : (uint32_t)value;
        return true;
    default:
        uplink__why(why, why_len, "unknown key");
        return false;
    }
}

bool mqtt_uplink_decode_config(const uint8_t *msg, size_t len, vigil_config_t *inout,
                               char *why, size_t why_len)
{
    config_fields_t f;
    memset(&f, 0, sizeof f);
    f.c = *inout;
    if (!uplink__decode_map(msg, len, uplink__config_pair, &f, why, why_len))
        return false;
    if (!f.has_version) {
        uplink__why(why, why_len, "no version");
        return false;
    }
    *inout = f.c;
    return true;
}

/* ---- libmosquitto callbacks: the loop thread ------------------------------ */

static void uplink__on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    mqtt_uplink_t *u = obj;
    if (rc != 0) {
        uplink__log("broker refused the connection: %s", mosquitto_connack_string(rc));
        return;
    }
    pthread_mutex_lock(&u->lock);
    u->connected = true;
    u->generation++;
    u->subscribed = 0;
    u->stats.connects++;
    pthread_mutex_unlock(&u->lock);
    /* Subscribed again on every connection: the session is clean, so a
     * restarted broker has forgotten us. */
    int ack_mid = 0, config_mid = 0;
    int r1 = mosquitto_subscribe(mosq, &ack_mid, u->ack_topic, 1);
    int r2 = mosquitto_subscribe(mosq, &config_mid, u->config_topic, 1);
    if (r1 != MOSQ_ERR_SUCCESS || r2 != MOSQ_ERR_SUCCESS)
        uplink__log("subscribing failed: %s", mosquitto_strerror(r1 ? r1 : r2));
    pthread_mutex_lock(&u->lock);
    u->ack_mid = ack_mid;
    u->config_mid = config_mid;
    pthread_mutex_unlock(&u->lock);
    uplink__log("connected (connection %lu)", u->generation);
}

static void uplink__on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    (void)mosq;
    mqtt_uplink_t *u = obj;
    pthread_mutex_lock(&u->lock);
    bool was = u->connected;
    u->connected = false;
    if (rc != 0 && was)
        u->stats.connection_losses++;
    pthread_mutex_unlock(&u->lock);
    if (rc != 0 && was)
        uplink__log("connection lost (%s); reconnecting with backoff", mosquitto_strerror(rc));
    else if (rc != 0)
        uplink__log("connection attempt failed (%s); retrying with backoff",
                    mosquitto_strerror(rc));
}

/* libmosquitto's own errors (TLS verification, DNS...) say why a connection
 * fails; its notices and debug lines are left out. */
static void uplink__on_log(struct mosquitto *mosq, void *obj, int level, const char *text)
{
    (void)mosq;
    (void)obj;
    if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING))
        uplink__log("libmosquitto: %s", text);
}

static void uplink__on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
                                 const int *granted_qos)
{
    (void)mosq;
    mqtt_uplink_t *u = obj;
    bool refused = qos_count < 1 || granted_qos[0] > 2;
    if (refused)
        uplink__log("the broker refused a subscription (mid %d): acks or configs will not "
                    "arrive", mid);
    pthread_mutex_lock(&u->lock);
    if (!refused && (mid == u->ack_mid || mid == u->config_mid))
        u->subscribed++;
    pthread_cond_broadcast(&u->ready_cond);
    pthread_mutex_unlock(&u->lock);
}

static void uplink__take_ack(mqtt_uplink_t *u, const struct mosquitto_message *m)
{
    uint32_t boot_id, seq;
    char why[96];
    if (m->payloadlen < 0 ||
        !mqtt_uplink_decode_ack(m->payload, (size_t)m->payloadlen, &boot_id, &seq, why,
                                sizeof why)) {
        pthread_mutex_lock(&u->lock);
        u->stats.acks_malformed++;
        pthread_mutex_unlock(&u->lock);
        uplink__log("malformed ack on %s (%d bytes) ignored: %s", m->topic, m->payloadlen, why);
        return;
    }
    pthread_mutex_lock(&u->lock);
    /* Acks are cumulative: a newer one of the same boot replaces the last. */
    size_t last = (u->ack_head + u->ack_count + ACK_QUEUE - 1) % ACK_QUEUE;
    if (u->ack_count > 0 && u->acks[last].boot_id == boot_id) {
        if (seq > u->acks[last].seq)
            u->acks[last].seq = seq;
        u->acks[last].messages++;
    } else {
        if (u->ack_count == ACK_QUEUE) {
            u->ack_head = (u->ack_head + 1) % ACK_QUEUE;
            u->ack_count--;
            u->stats.inbound_lost++;
        }
        queued_ack_t *a = &u->acks[(u->ack_head + u->ack_count) % ACK_QUEUE];
        a->boot_id = boot_id;
        a->seq = seq;
        a->messages = 1;
        u->ack_count++;
    }
    pthread_mutex_unlock(&u->lock);
}

static void uplink__take_config(mqtt_uplink_t *u, const struct mosquitto_message *m)
{
    pthread_mutex_lock(&u->lock);
    if (u->config_count == CONFIG_QUEUE) {
        u->config_head = (u->config_head + 1) % CONFIG_QUEUE;
        u->config_count--;
        u->stats.inbound_lost++;
    }
    queued_config_t *c = &u->configs[(u->config_head + u->config_count) % CONFIG_QUEUE];
    c->too_large = m->payloadlen < 0 || (size_t)m->payloadlen > sizeof c->bytes;
    c->len = c->too_large ? 0 : (size_t)m->payloadlen;
    if (c->len)
        memcpy(c->bytes, m->payload, c->len);
    u->config_count++;
    pthread_mutex_unlock(&u->lock);
}

static void uplink__on_message(struct mosquitto *mosq, void *obj,
                               const struct mosquitto_message *m)
{
    (void)mosq;
    mqtt_uplink_t *u = obj;
    if (!m || !m->topic)
        return;
    if (strcmp(m->topic, u->ack_topic) == 0)
        uplink__take_ack(u, m);
    else if (strcmp(m->topic, u->config_topic) == 0)
        uplink__take_config(u, m);
}

/* ---- set-up -------------------------------------------------------------- */

static bool uplink__parse_url(const char *url, char *host, size_t host_len, int *port,
                              bool *tls, char *err, size_t n)
{
    const char *rest;
    if (strncmp(url, "mqtt://", 7) == 0) {
        rest = url + 7;
        *tls = false;
        *port = 1883;
    } else if (strncmp(url, "mqtts://", 8) == 0) {
        rest = url + 8;
        *tls = true;
        *port = 8883;
    } else {
        snprintf(err, n, "URL '%s': must start with mqtt:// or mqtts://", url);
        return false;
    }
    const char *host_start = rest, *host_end;
    const char *after;
    if (*rest == '[') {  /* [IPv6]:port */
        host_start = rest + 1;
        host_end = strchr(host_start, ']');
        if (!host_end) {
            snprintf(err, n, "URL '%s': unclosed '['", url);
            return false;
        }
        after = host_end + 1;
    } else {
        host_end = rest + strcspn(rest, ":/");
        after = host_end;
    }
    size_t hl = (size_t)(host_end - host_start);
    if (hl == 0 || hl >= host_len) {
        snprintf(err, n, "URL '%s': no host or a host too long", url);
        return false;
    }
    memcpy(host, host_start, hl);
    host[hl] = '\0';
    if (*after == ':') {
        char *end;
        errno = 0;
        long p = strtol(after + 1, &end, 10);
        if (errno || end == after + 1 || p < 1 || p > 65535 || (*end && strcmp(end, "/") != 0)) {
            snprintf(err, n, "URL '%s': bad port", url);
            return false;
        }
        *port = (int)p;
    } else if (*after && strcmp(after, "/") != 0) {
        snprintf(err, n, "URL '%s': unexpected '%s' after the host", url, after);
        return false;
    }
    return true;
}

/* The password is the file's first line; bounded, and never echoed. */
static char *uplink__read_password(const char *path, char *err, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, n, "password file %s: %s", path, strerror(errno));
        return NULL;
    }
    char buf[PASSWORD_MAX + 2];
    char *line = fgets(buf, sizeof buf, f);
    fclose(f);
    if (!line) {
        snprintf(err, n, "password file %s: empty", path);
        return NULL;
    }
    size_t len = strcspn(buf, "\r\n");
    if (len == strlen(buf) && len > PASSWORD_MAX) {
        snprintf(err, n, "password file %s: first line longer than %d bytes", path,
                 PASSWORD_MAX);
        return NULL;
    }
    buf[len] = '\0';
    if (len == 0) {
        snprintf(err, n, "password file %s: the first line is empty", path);
        return NULL;
    }
    char *pw = strdup(buf);
    explicit_bzero(buf, sizeof buf);  /* memset of a dead buffer may be optimised away */
    if (!pw)
        snprintf(err, n, "out of memory");
    return pw;
}

static bool uplink__check_id(const char *id, char *err, size_t n)
{
    size_t len = id ? strlen(id) : 0;
    if (len == 0 || len > VIGIL_DEVICE_ID_MAX) {
        snprintf(err, n, "device id must be 1..%d bytes", VIGIL_DEVICE_ID_MAX);
        return false;
    }
    if (strpbrk(id, "/+#") || mosquitto_validate_utf8(id, (int)len) != MOSQ_ERR_SUCCESS) {
        snprintf(err, n, "device id '%s' cannot name an MQTT topic (UTF-8, no '/', '+', '#')",
                 id);
        return false;
    }
    return true;
}

static void uplink__free_parts(mqtt_uplink_t *u)
{
    if (u->mosq)
        mosquitto_destroy(u->mosq);
    if (u->password) {
        explicit_bzero(u->password, strlen(u->password));
        free(u->password);
    }
    pthread_cond_destroy(&u->ready_cond);
    pthread_mutex_destroy(&u->lock);
    free(u);
    mosquitto_lib_cleanup();
}

mqtt_uplink_t *mqtt_uplink_new(const mqtt_uplink_options_t *o, char *err, size_t n)
{
    char host[256];
    int port;
    bool tls;
    if (!o || !o->url) {
        snprintf(err, n, "no broker URL");
        return NULL;
    }
    if (!uplink__parse_url(o->url, host, sizeof host, &port, &tls, err, n) ||
        !uplink__check_id(o->device_id, err, n))
        return NULL;
    if (o->password_file && !o->username) {
        snprintf(err, n, "a password file needs a user name");
        return NULL;
    }
    if (!o->certfile != !o->keyfile) {
        snprintf(err, n, "a client certificate and its key go together");
        return NULL;
    }
    if (!tls && (o->cafile || o->certfile)) {
        snprintf(err, n, "TLS files given for a plain mqtt:// URL (use mqtts://)");
        return NULL;
    }

    mqtt_uplink_t *u = calloc(1, sizeof *u);
    if (!u) {
        snprintf(err, n, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&u->lock, NULL);
    pthread_cond_init(&u->ready_cond, NULL);
    mosquitto_lib_init();
    u->resend_s = o->resend_s ? o->resend_s : DEFAULT_RESEND;
    u->config = o->config;
    snprintf(u->report_topic, sizeof u->report_topic, "vigil/v1/%s/report", o->device_id);
    snprintf(u->ack_topic, sizeof u->ack_topic, "vigil/v1/%s/ack", o->device_id);
    snprintf(u->config_topic, sizeof u->config_topic, "vigil/v1/%s/config", o->device_id);

    if (o->password_file && !(u->password = uplink__read_password(o->password_file, err, n)))
        goto fail;
    u->mosq = mosquitto_new(o->client_id ? o->client_id : o->device_id, true, u);
    if (!u->mosq) {
        snprintf(err, n, "mosquitto_new: %s", strerror(errno));
        goto fail;
    }
    int rc = MOSQ_ERR_SUCCESS;
    if (o->username)
        rc = mosquitto_username_pw_set(u->mosq, o->username, u->password);
    if (rc == MOSQ_ERR_SUCCESS && tls) {
        if (o->cafile)
            rc = mosquitto_tls_set(u->mosq, o->cafile, NULL, o->certfile, o->keyfile, NULL);
        else {
            rc = mosquitto_int_option(u->mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
            if (rc == MOSQ_ERR_SUCCESS && o->certfile)
                rc = mosquitto_tls_set(u->mosq, NULL, "/etc/ssl/certs", o->certfile, o->keyfile,
                                       NULL);
        }
    }
    if (rc != MOSQ_ERR_SUCCESS) {
        snprintf(err, n, "MQTT credentials or TLS files: %s", mosquitto_strerror(rc));
        goto fail;
    }
    mosquitto_connect_callback_set(u->mosq, uplink__on_connect);
    mosquitto_disconnect_callback_set(u->mosq, uplink__on_disconnect);
    mosquitto_subscribe_callback_set(u->mosq, uplink__on_subscribe);
    mosquitto_message_callback_set(u->mosq, uplink__on_message);
    mosquitto_log_callback_set(u->mosq, uplink__on_log);
    mosquitto_reconnect_delay_set(u->mosq, 1, 30, true);
    rc = mosquitto_loop_start(u->mosq);
    if (rc != MOSQ_ERR_SUCCESS) {
        snprintf(err, n, "mosquitto_loop_start: %s", mosquitto_strerror(rc));
        goto fail;
    }
    u->loop_started = true;
    unsigned keepalive = o->keepalive_s ? o->keepalive_s : DEFAULT_KEEPALIVE;
    rc = mosquitto_connect_async(u->mosq, host, port, (int)keepalive);
    if (rc == MOSQ_ERR_INVAL) {
        snprintf(err, n, "cannot connect to %s:%d: %s", host, port, mosquitto_strerror(rc));
        goto fail;
    }
    /* A broker that is down now is reached later: the loop thread retries. */
    if (rc != MOSQ_ERR_SUCCESS)
        uplink__log("%s:%d not reachable yet (%s); retrying in the background", host, port,
                    rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
    return u;

fail:
    if (u->loop_started)
        mosquitto_loop_stop(u->mosq, true);
    uplink__free_parts(u);
    return NULL;
}

void mqtt_uplink_free(mqtt_uplink_t *u)
{
    if (!u)
        return;
    mosquitto_disconnect(u->mosq);
    if (u->loop_started)
        mosquitto_loop_stop(u->mosq, false);
    uplink__free_parts(u);
}

bool mqtt_uplink_wait_ready(mqtt_uplink_t *u, unsigned timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&u->lock);
    while (!(u->connected && u->subscribed >= 2)) {
        if (pthread_cond_timedwait(&u->ready_cond, &u->lock, &deadline) == ETIMEDOUT)
            break;
    }
    bool ready = u->connected && u->subscribed >= 2;
    bool connected = u->connected;
    pthread_mutex_unlock(&u->lock);
    /* The broker sends retained messages after its SUBACK. */
    if (ready) {
        struct timespec grace = {0, RETAINED_GRACE_MS * 1000000L};
        nanosleep(&grace, NULL);
    }
    return connected;
}

bool mqtt_uplink_connected(mqtt_uplink_t *u)
{
    pthread_mutex_lock(&u->lock);
    bool c = u->connected;
    pthread_mutex_unlock(&u->lock);
    return c;
}

void mqtt_uplink_stats(mqtt_uplink_t *u, mqtt_uplink_stats_t *out)
{
    pthread_mutex_lock(&u->lock);
    *out = u->stats;
    pthread_mutex_unlock(&u->lock);
}

/* ---- the pump: the capture thread ---------------------------------------- */

static void uplink__apply_config(mqtt_uplink_t *u, vigil_ctx_t *ctx, const queued_config_t *c)
{
    char why[96];
    vigil_config_t next = u->config;
    bool ok;
    if (c->too_large) {
        snprintf(why, sizeof why, "larger than %u bytes", MQTT_UPLINK_MAX_INBOUND);
        ok = false;
    } else {
        ok = mqtt_uplink_decode_config(c->bytes, c->len, &next, why, sizeof why);
    }
    if (!ok) {
        vigil_count(ctx, VIGIL_CNT_CONFIG_REJECTED);
    } else if (vigil_configure(ctx, &next) != VIGIL_OK) {
        /* vigil_configure() counted it already. */
        snprintf(why, sizeof why, "libvigil refused it");
        ok = false;
    }
    pthread_mutex_lock(&u->lock);
    if (ok)
        u->stats.configs_applied++;
    else
        u->stats.configs_rejected++;
    pthread_mutex_unlock(&u->lock);
    if (!ok) {
        uplink__log("configuration rejected, the running one stays: %s", why);
        return;
    }
    u->config = next;
    uplink__log("configuration applied: interval %u s, collectors %u, sysinfo every %u, "
                "max message %u", (unsigned)next.report_interval_s, (unsigned)next.collectors,
                (unsigned)next.sysinfo_every, (unsigned)next.max_message_size);
}

/* Takes the queues under the lock, then applies them without it. */
static void uplink__drain_inbound(mqtt_uplink_t *u, vigil_ctx_t *ctx, uint32_t boot_id)
{
    queued_ack_t acks[ACK_QUEUE];
    queued_config_t *configs = u->taken;
    size_t nacks, nconfigs;
    pthread_mutex_lock(&u->lock);
    nacks = u->ack_count;
    for (size_t i = 0; i < nacks; i++)
        acks[i] = u->acks[(u->ack_head + i) % ACK_QUEUE];
    u->ack_head = u->ack_count = 0;
    nconfigs = u->config_count;
    for (size_t i = 0; i < nconfigs; i++)
        configs[i] = u->configs[(u->config_head + i) % CONFIG_QUEUE];
    u->config_head = u->config_count = 0;
    pthread_mutex_unlock(&u->lock);

    for (size_t i = 0; i < nconfigs; i++)
        uplink__apply_config(u, ctx, &configs[i]);

    unsigned long long received = 0, ignored = 0, released = 0;
    for (size_t i = 0; i < nacks; i++) {
        if (acks[i].boot_id != boot_id) {
            ignored += acks[i].messages;
            uplink__log("ack for boot %u ignored (this boot is %u)", (unsigned)acks[i].boot_id,
                        (unsigned)boot_id);
            continue;
        }
        received += acks[i].messages;
        released += vigil_outbox_release(ctx, acks[i].seq);
    }
    if (nacks) {
        pthread_mutex_lock(&u->lock);
        u->stats.acks_received += received;
        u->stats.acks_ignored += ignored;
        u->stats.released += released;
        pthread_mutex_unlock(&u->lock);
    }
}

bool mqtt_uplink_pump(mqtt_uplink_t *u, vigil_ctx_t *ctx, uint32_t boot_id, time_t now)
{
    uplink__drain_inbound(u, ctx, boot_id);

    pthread_mutex_lock(&u->lock);
    bool connected = u->connected;
    unsigned long generation = u->generation;
    pthread_mutex_unlock(&u->lock);

    /* Follow the outbox: both lists are in sequence order, so one merge pass
     * carries each report's state over and forgets the released ones. */
    tracked_t next[TRACK_MAX];
    size_t count = vigil_outbox_count(ctx);
    if (count > TRACK_MAX)
        count = TRACK_MAX;
    size_t j = 0, kept = 0;
    bool ok = true;
    unsigned long long published = 0, republished = 0;
    for (size_t i = 0; i < count; i++) {
        const uint8_t *msg;
        size_t len;
        uint32_t seq;
        if (vigil_outbox_get(ctx, i, &msg, &len, &seq) != VIGIL_OK)
            break;
        tracked_t t = {seq, 0, 0};
        while (j < u->tracked_count && u->tracked[j].seq != seq)
            j++;
        if (j < u->tracked_count)
            t = u->tracked[j];
        else
            j = 0;  /* not followed yet: a new report */
        bool never = t.generation == 0;
        bool due = never || t.generation != generation ||
                   (now >= t.sent_at && (unsigned long long)(now - t.sent_at) >= u->resend_s) ||
                   now < t.sent_at;
        if (connected && ok && due) {
            int rc = mosquitto_publish(u->mosq, NULL, u->report_topic, (int)len, msg, 1, false);
            if (rc == MOSQ_ERR_SUCCESS) {
                t.generation = generation;
                t.sent_at = now;
                if (never)
                    published++;
                else
                    republished++;
            } else if (rc == MOSQ_ERR_NOMEM || rc == MOSQ_ERR_PAYLOAD_SIZE ||
                       rc == MOSQ_ERR_INVAL) {
                uplink__log("publishing report %u failed: %s", (unsigned)seq,
                            mosquitto_strerror(rc));
                ok = false;
            } else {
                /* Not connected after all: left for the next connection. */
                connected = false;
            }
        }
        next[kept++] = t;
    }
    memcpy(u->tracked, next, kept * sizeof next[0]);
    u->tracked_count = kept;
    if (published || republished) {
        pthread_mutex_lock(&u->lock);
        u->stats.published += published;
        u->stats.republished += republished;
        pthread_mutex_unlock(&u->lock);
    }
    return ok;
}
