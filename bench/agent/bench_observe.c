/*
 * bench_observe.c - measures libvigil's cost per packet and memory per flow.
 *
 *   bench_observe ram               table bytes per tracked flow, from the
 *                                   compiled context layout
 *   bench_observe existing N        N packets of one established TCP flow
 *   bench_observe new N             N packets each opening a new flow (the
 *                                   table is flushed whenever it is 3/4 full)
 *   bench_observe time              ns per packet for both, wall clock
 *
 * Under `valgrind --tool=callgrind --toggle-collect=vigil_observe` the
 * `existing` and `new` modes give instructions per call (callees included).
 * Never asserts a time.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vigil.h"

static vigil_ctx_t ctx;

/* An IPv4 TCP ACK from 192.0.2.1:49152 to 192.0.2.10:443 with 100 bytes of data. */
static uint8_t packet[140] = {
    0x45, 0x00, 0x00, 0x8c, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00,
    192,  0,    2,    1,    192,  0,    2,    10,
    0xc0, 0x00, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0,
};

static void setup(void)
{
    vigil_setup_t s;
    memset(&s, 0, sizeof s);
    vigil_config_default(&s.config);
    s.config.report_interval_s = 3600;
    s.device_id = "bench";
    s.boot_id = 42;
    s.now = 1000;
    if (vigil_init(&ctx, &s) != VIGIL_OK)
        exit(1);
}

static void drain(void)
{
    const uint8_t *m;
    size_t len;
    uint32_t seq;
    size_t n = vigil_outbox_count(&ctx);
    if (n > 0 && vigil_outbox_get(&ctx, n - 1, &m, &len, &seq) == VIGIL_OK)
        vigil_outbox_release(&ctx, seq);
}

/* Not inlined, so callgrind can count inside them alone (--toggle-collect). */
#if defined(__GNUC__)
#define BENCH_NOINLINE __attribute__((noinline))
#else
#define BENCH_NOINLINE
#endif

BENCH_NOINLINE void run_existing(unsigned long n);
BENCH_NOINLINE void run_new_batch(unsigned long first, unsigned long n);

void run_existing(unsigned long n)
{
    for (unsigned long i = 0; i < n; i++)
        vigil_observe(&ctx, VIGIL_DIR_OUT, packet, sizeof packet, 1000);
}

void run_new_batch(unsigned long first, unsigned long n)
{
    for (unsigned long i = first; i < first + n; i++) {
        /* A new remote address and port each time. */
        packet[18] = (uint8_t)(i >> 8);
        packet[19] = (uint8_t)i;
        packet[22] = (uint8_t)(i >> 3);
        vigil_observe(&ctx, VIGIL_DIR_OUT, packet, sizeof packet, 1000);
    }
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Fills the table to 3/4 over and over; the flush between batches is neither
 * counted by callgrind (it is outside run_new_batch) nor timed. Returns the
 * seconds spent in the batches.
 */
static double run_new(unsigned long n)
{
    const unsigned long batch = VIGIL_MAX_FLOWS_V4 * 3 / 4;
    double spent = 0;
    for (unsigned long done = 0; done < n; done += batch) {
        double t0 = seconds();
        run_new_batch(done, n - done < batch ? n - done : batch);
        spent += seconds() - t0;
        vigil_flush(&ctx, 1000);
        drain();
    }
    return spent;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_observe ram|existing N|new N|time\n");
        return 2;
    }
    setup();
    if (strcmp(argv[1], "ram") == 0) {
        /* Everything per flow: the records, their remote addresses and chain
         * links (inside the records); no bucket array exists. */
        double v4 = (double)(sizeof ctx.flows4 + sizeof ctx.remote4) / VIGIL_MAX_FLOWS_V4;
        double v6 = (double)(sizeof ctx.flows6 + sizeof ctx.remote6) / VIGIL_MAX_FLOWS_V6;
        printf("BENCH ram_per_ipv4_flow %.1f B\n", v4);
        printf("BENCH ram_per_ipv6_flow %.1f B\n", v6);
        printf("BENCH ram_context_default %zu B\n", sizeof ctx);
        return 0;
    }
    if (strcmp(argv[1], "time") == 0) {
        const unsigned long n = 20000000;
        run_existing(1000);
        double t0 = seconds();
        run_existing(n);
        double t1 = seconds();
        double spent_new = run_new(n / 4);
        printf("BENCH observe_ns_existing_flow %.2f ns\n", (t1 - t0) * 1e9 / (double)n);
        printf("BENCH observe_ns_new_flow %.2f ns\n", spent_new * 1e9 / (double)(n / 4));
        return 0;
    }
    if (argc != 3)
        return 2;
    unsigned long n = strtoul(argv[2], NULL, 10);
    if (strcmp(argv[1], "existing") == 0) {
        run_existing(1); /* the flow exists before measuring starts */
        run_existing(n);
    } else if (strcmp(argv[1], "new") == 0) {
        run_new(n);
    } else {
        return 2;
    }
    return 0;
}
