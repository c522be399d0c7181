/*
 * bench_ingest - load generator for vigild (run.sh): many MQTT client
 * connections publish reports libvigil made (about 20 flows each) at QoS 1.
 *
 *   bench_ingest ingest HOST PORT DEVICES REPORTS CLIENTS
 *       counts a report only when vigild's ack (vigil/v1/<id>/ack) covers it:
 *       stored durably and acknowledged end to end
 *   bench_ingest plain HOST PORT DEVICES REPORTS CLIENTS
 *       the same messages to a plain subscriber that only counts them
 *
 * Prints `sent N`, `counted N`, `seconds S`, `per_s R` and asserts nothing
 * about speed. What it must never do: count a report before its ack (or,
 * plain, its delivery) arrived.
 */
#define _DEFAULT_SOURCE
#include <mosquitto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vigil.h"

#include "bench_util.h"

#define FLOWS_PER_REPORT 20
#define INTERVAL 60
#define TIMEOUT_S 120

typedef struct {
    uint8_t *data;
    size_t len;
} blob_t;

static int devices, per_device, clients;
static blob_t *reports;                 /* [device * per_device + k] */
static uint32_t *first_seq;             /* per device */
static uint32_t *acked;                 /* per device: reports covered by acks */
static const char *host;
static int port;
static bool plain;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t counted;

static uint64_t rng = 0x9e3779b97f4a7c15ull;   /* bench_rand state */

static void generate(void)
{
    static vigil_ctx_t ctx;
    static uint8_t packet[40 + 1400];
    for (int d = 0; d < devices; d++) {
        char id[32];
        snprintf(id, sizeof id, "bench-%05d", d);
        vigil_setup_t s;
        memset(&s, 0, sizeof s);
        vigil_config_default(&s.config);
        s.config.report_interval_s = INTERVAL;
        s.device_id = id;
        s.boot_id = (uint32_t)(5000 + d);
        s.now = 1700000000u;
        if (vigil_init(&ctx, &s) != VIGIL_OK)
            exit(2);
        uint32_t device = 0x0a010000u | (uint32_t)d;
        int made = 0;
        for (int p = 0; made < per_device; p++) {
            uint32_t t = s.now + (uint32_t)(p * INTERVAL);
            for (int f = 0; f < FLOWS_PER_REPORT; f++) {
                uint64_t r = bench_rand(&rng);
                uint32_t remote = r % 10 == 1 ? (uint32_t)(r >> 32) : 0x0a000000u | (uint32_t)((r >> 32) & 0xffffff);
                uint16_t sport = (uint16_t)(40000 + f);
                bench_tcp_packet(packet, device, remote, sport, 443, 0x02, 0, true);
                vigil_observe(&ctx, VIGIL_DIR_OUT, packet, 40, t + 1);
                bench_tcp_packet(packet, device, remote, sport, 443, 0x12, 0, false);
                vigil_observe(&ctx, VIGIL_DIR_IN, packet, 40, t + 1);
                bench_tcp_packet(packet, device, remote, sport, 443, 0x18, 1200, true);
                vigil_observe(&ctx, VIGIL_DIR_OUT, packet, 1240, t + 2);
            }
            if (vigil_poll(&ctx, t + INTERVAL) != VIGIL_OK)
                exit(2);
            while (vigil_outbox_count(&ctx) > 0 && made < per_device) {
                const uint8_t *msg;
                size_t len;
                uint32_t seq;
                if (vigil_outbox_get(&ctx, 0, &msg, &len, &seq) != VIGIL_OK)
                    exit(2);
                if (made == 0)
                    first_seq[d] = seq;
                blob_t *b = &reports[(size_t)d * (size_t)per_device + (size_t)made++];
                b->data = malloc(len);
                if (!b->data)
                    exit(2);
                memcpy(b->data, msg, len);
                b->len = len;
                vigil_outbox_release(&ctx, seq);
            }
        }
    }
}

/* The uint at map key `key` of a small CBOR map of uints; false otherwise. */
static bool cbor_small_map_uint(const uint8_t *p, size_t len, unsigned key, uint64_t *out)
{
    if (len < 1 || (p[0] & 0xe0) != 0xa0)
        return false;
    size_t n = p[0] & 0x1f, pos = 1;
    if (n > 23)
        return false;
    for (size_t i = 0; i < 2 * n; i++) {
        if (pos >= len || (p[pos] >> 5) != 0)
            return false;
        uint8_t ai = p[pos] & 0x1f;
        uint64_t v;
        size_t extra = ai < 24 ? 0 : ai == 24 ? 1 : ai == 25 ? 2 : ai == 26 ? 4 : ai == 27 ? 8 : 99;
        if (extra == 99 || pos + 1 + extra > len)
            return false;
        if (extra == 0)
            v = ai;
        else {
            v = 0;
            for (size_t b = 0; b < extra; b++)
                v = (v << 8) | p[pos + 1 + b];
        }
        pos += 1 + extra;
        if (i % 2 == 1 && *out == key + 0x100000000ull) {
            *out = v;
            return true;
        }
        if (i % 2 == 0 && v == key)
            *out = key + 0x100000000ull;   /* the next value is the one */
    }
    return false;
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
    (void)m;
    (void)obj;
    if (plain) {
        pthread_mutex_lock(&lock);
        counted++;
        pthread_mutex_unlock(&lock);
        return;
    }
    int d;
    if (sscanf(msg->topic, "vigil/v1/bench-%d/ack", &d) != 1 || d < 0 || d >= devices)
        return;
    uint64_t seq = UINT64_MAX;
    if (!cbor_small_map_uint(msg->payload, (size_t)msg->payloadlen, 2, &seq) || seq < first_seq[d])
        return;
    uint64_t covered = seq - first_seq[d] + 1;
    if (covered > (uint64_t)per_device)
        covered = (uint64_t)per_device;
    pthread_mutex_lock(&lock);
    if (covered > acked[d]) {
        counted += covered - acked[d];
        acked[d] = (uint32_t)covered;
    }
    pthread_mutex_unlock(&lock);
}

static struct mosquitto *client(const char *id)
{
    struct mosquitto *m = mosquitto_new(id, true, NULL);
    if (!m)
        exit(2);
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    if (mosquitto_connect(m, host, port, 60) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "bench_ingest: cannot connect to %s:%d\n", host, port);
        exit(2);
    }
    mosquitto_loop_start(m);
    return m;
}

typedef struct {
    int index;
    struct mosquitto *m;
} publisher_t;

static void *publish_main(void *arg)
{
    publisher_t *p = arg;
    char topic[64];
    for (int k = 0; k < per_device; k++)
        for (int d = p->index; d < devices; d += clients) {
            snprintf(topic, sizeof topic, "vigil/v1/bench-%05d/report", d);
            blob_t *b = &reports[(size_t)d * (size_t)per_device + (size_t)k];
            int rc;
            while ((rc = mosquitto_publish(p->m, NULL, topic, (int)b->len, b->data, 1, false)) != MOSQ_ERR_SUCCESS) {
                if (rc != MOSQ_ERR_NO_CONN && rc != MOSQ_ERR_OVERSIZE_PACKET)
                    break;
                usleep(1000);
            }
        }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 7 || (strcmp(argv[1], "ingest") != 0 && strcmp(argv[1], "plain") != 0)) {
        fprintf(stderr, "usage: bench_ingest ingest|plain HOST PORT DEVICES REPORTS_PER_DEVICE CLIENTS\n");
        return 2;
    }
    plain = strcmp(argv[1], "plain") == 0;
    host = argv[2];
    port = atoi(argv[3]);
    devices = atoi(argv[4]);
    per_device = atoi(argv[5]);
    clients = atoi(argv[6]);
    if (devices < 1 || devices > 99999 || per_device < 1 || clients < 1 || clients > 256)
        return 2;
    reports = calloc((size_t)devices * (size_t)per_device, sizeof *reports);
    first_seq = calloc((size_t)devices, sizeof *first_seq);
    acked = calloc((size_t)devices, sizeof *acked);
    if (!reports || !first_seq || !acked)
        return 2;
    generate();
    size_t bytes = 0, total = (size_t)devices * (size_t)per_device;
    for (size_t i = 0; i < total; i++)
        bytes += reports[i].len;
    printf("reports %zu, mean %zu bytes, %d flows each, %d devices over %d connections\n", total, bytes / total,
           FLOWS_PER_REPORT, devices, clients);

    mosquitto_lib_init();
    struct mosquitto *sub = client(plain ? "bench-plain-sub" : "bench-ack-sub");
    mosquitto_message_callback_set(sub, on_message);
    mosquitto_subscribe(sub, NULL, plain ? "vigil/v1/+/report" : "vigil/v1/+/ack", 1);
    usleep(300000);   /* the subscription is in place before the first publish */

    publisher_t *pubs = calloc((size_t)clients, sizeof *pubs);
    pthread_t *threads = calloc((size_t)clients, sizeof *threads);
    for (int c = 0; c < clients; c++) {
        char id[32];
        snprintf(id, sizeof id, "bench-pub-%d", c);
        pubs[c].index = c;
        pubs[c].m = client(id);
    }
    double t0 = bench_now_s();
    for (int c = 0; c < clients; c++)
        pthread_create(&threads[c], NULL, publish_main, &pubs[c]);
    for (int c = 0; c < clients; c++)
        pthread_join(threads[c], NULL);
    double published = bench_now_s() - t0;
    uint64_t got = 0;
    while (bench_now_s() - t0 < TIMEOUT_S) {
        pthread_mutex_lock(&lock);
        got = counted;
        pthread_mutex_unlock(&lock);
        if (got >= total)
            break;
        usleep(1000);
    }
    double elapsed = bench_now_s() - t0;
    printf("sent %zu\ncounted %llu\npublish_seconds %.3f\nseconds %.3f\nper_s %.0f\n", total,
           (unsigned long long)got, published, elapsed, (double)got / elapsed);
    for (int c = 0; c < clients; c++) {
        mosquitto_disconnect(pubs[c].m);
        mosquitto_loop_stop(pubs[c].m, false);
        mosquitto_destroy(pubs[c].m);
    }
    mosquitto_disconnect(sub);
    mosquitto_loop_stop(sub, false);
    mosquitto_destroy(sub);
    mosquitto_lib_cleanup();
    for (size_t i = 0; i < total; i++)
        free(reports[i].data);
    free(reports);
    free(first_seq);
    free(acked);
    free(pubs);
    free(threads);
    return got >= total ? 0 : 1;
}
