/*
 * bench_util.h - what the benchmark programs share: a seeded generator (so a
 * run is reproducible), a monotonic clock, and the TCP/IPv4 segments the
 * synthetic devices send. Benchmarks only; nothing here is for production.
 */
#ifndef VIGIL_BENCH_UTIL_H
#define VIGIL_BENCH_UTIL_H

#include <stdbool.h>
#include <stdint.h>

/* splitmix64: *state advances; the same seed gives the same sequence. */
uint64_t bench_rand(uint64_t *state);

/* Seconds on CLOCK_MONOTONIC. */
double bench_now_s(void);

/*
 * A 40-byte TCP/IPv4 header between `device` (sport) and `remote` (dport),
 * in the direction given, with `payload` bytes counted in its total length
 * (the caller's buffer holds them). Addresses are host-order IPv4.
 */
void bench_tcp_packet(uint8_t *p, uint32_t device, uint32_t remote, uint16_t sport, uint16_t dport,
                      uint8_t flags, uint16_t payload, bool outbound);

#endif
