/*
 * bench_util.c - the helpers every benchmark program shares (bench_util.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "bench_util.h"

#include <string.h>
#include <time.h>

uint64_t bench_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_tcp_packet(uint8_t *p, uint32_t device, uint32_t remote, uint16_t sport, uint16_t dport,
                      uint8_t flags, uint16_t payload, bool outbound)
{
    uint16_t total = (uint16_t)(40 + payload);
    memset(p, 0, 40);
    p[0] = 0x45;
    p[2] = (uint8_t)(total >> 8);
    p[3] = (uint8_t)total;
    p[8] = 64;
    p[9] = 6;
    uint32_t src = outbound ? device : remote, dst = outbound ? remote : device;
    uint16_t s = outbound ? sport : dport, d = outbound ? dport : sport;
    for (int i = 0; i < 4; i++) {
        p[12 + i] = (uint8_t)(src >> (24 - 8 * i));
        p[16 + i] = (uint8_t)(dst >> (24 - 8 * i));
    }
    p[20] = (uint8_t)(s >> 8);
    p[21] = (uint8_t)s;
    p[22] = (uint8_t)(d >> 8);
    p[23] = (uint8_t)d;
    p[32] = 0x50;
    p[33] = flags;
}
