/*
 * device_addrs.h - the device's own IP addresses, and which way a packet
 * goes relative to them.
 */
#ifndef VIGIL_AGENT_DEVICE_ADDRS_H
#define VIGIL_AGENT_DEVICE_ADDRS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEVICE_ADDRS_MAX 32

typedef struct {
    uint8_t family;     /* 4 or 6 */
    uint8_t addr[16];   /* first 4 bytes for IPv4 */
} device_addr_t;

typedef struct {
    size_t count;
    device_addr_t addrs[DEVICE_ADDRS_MAX];
} device_addrs_t;

typedef enum {
    PACKET_INBOUND,     /* destination is the device's */
    PACKET_OUTBOUND,    /* source is the device's */
    PACKET_FOREIGN,     /* neither: another host's traffic */
    PACKET_UNREADABLE   /* no IPv4/IPv6 addresses could be read */
} packet_way_t;

/* Adds a textual IPv4 or IPv6 address; false if it does not parse or the set
 * is full. A duplicate is accepted and not added twice. */
bool device_addrs_add_text(device_addrs_t *set, const char *text);

/* Adds one address given as 4 or 16 bytes. */
bool device_addrs_add(device_addrs_t *set, uint8_t family, const uint8_t *addr);

bool device_addrs_contains(const device_addrs_t *set, uint8_t family, const uint8_t *addr);

/* Adds the addresses of interface `iface` (getifaddrs; NULL: of every
 * interface); false on error or when it has none. */
bool device_addrs_add_interface(device_addrs_t *set, const char *iface);

/* Whether every address of the set belongs to some interface of this host
 * (that is, of this network namespace). */
bool device_addrs_all_local(const device_addrs_t *set);

/*
 * Which way the IP packet at ip (captured bytes readable) goes. A packet
 * whose source is the device's is outbound, even when its destination is
 * the device's too (loopback).
 */
packet_way_t device_addrs_classify(const device_addrs_t *set, const uint8_t *ip, size_t captured);

/* Formats one address for messages. */
void device_addr_format(const device_addr_t *a, char *buf, size_t len);

#endif
