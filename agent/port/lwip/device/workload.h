/*
 * workload.h - the traffic vigil-lwip-device makes on lwIP's raw API, so
 * that libvigil has something real to report: a TCP echo server on one
 * port, and every tick one round of clients (a TCP connection that sends a
 * fixed message and closes, a UDP datagram, an ICMP/ICMPv6 echo request) to
 * each configured target, IPv4 or IPv6.
 *
 * Everything here runs in lwIP's tcpip thread (or with the core locked):
 * the raw API is not thread-safe. It must never block, never keep a pbuf it
 * was not given, and never let one target's failure stop the others; it
 * keeps at most one TCP connection in flight per target, so a silent peer
 * cannot make it pile up PCBs.
 */
#ifndef VIGIL_LWIP_DEVICE_WORKLOAD_H
#define VIGIL_LWIP_DEVICE_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lwip/ip_addr.h"
#include "lwip/raw.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"

#define WORKLOAD_MAX_TARGETS 16

/* Payload sizes, fixed so that a test can tell plausible byte counts. */
#define WORKLOAD_TCP_MESSAGE 100u   /* bytes a TCP client sends per connection */
#define WORKLOAD_UDP_PAYLOAD 48u    /* bytes of each UDP datagram */
#define WORKLOAD_ICMP_PAYLOAD 32u   /* bytes after the 8-byte echo header */
#define WORKLOAD_ICMP_ID 0x5647u    /* identifier of our echo requests ("VG") */

/* A TCP connection still open after this many ticks is aborted. */
#define WORKLOAD_TCP_MAX_AGE 5u

typedef enum { TARGET_TCP, TARGET_UDP, TARGET_ICMP } target_kind_t;

typedef struct {
    target_kind_t kind;
    ip_addr_t addr;
    uint16_t port;      /* 0 for ICMP */
} workload_target_t;

typedef struct {
    unsigned long long tcp_attempts;
    unsigned long long tcp_connected;
    unsigned long long tcp_failed;      /* refused, reset, timed out or no memory */
    unsigned long long tcp_skipped;     /* the previous connection still in flight */
    unsigned long long udp_sent;
    unsigned long long udp_failed;
    unsigned long long udp_received;
    unsigned long long pings_sent;
    unsigned long long pings_failed;
    unsigned long long pongs;           /* echo replies to our identifier */
    unsigned long long accepted;        /* connections to the server */
    unsigned long long echoed_bytes;
} workload_stats_t;

typedef struct workload workload_t;

/* One configured target and what it has in flight. */
typedef struct {
    workload_t *owner;
    workload_target_t target;
    struct tcp_pcb *tcp;    /* the connection in flight, or NULL */
    unsigned tcp_age;       /* ticks it has been in flight */
    u16_t tcp_unacked;      /* bytes written and not yet acknowledged */
    struct udp_pcb *udp;
    struct raw_pcb *raw;
    u16_t ping_seq;
} workload_slot_t;

struct workload {
    workload_slot_t slots[WORKLOAD_MAX_TARGETS];
    size_t count;
    struct tcp_pcb *server;     /* the listening PCB, or NULL */
    uint32_t every_ms;
    bool running;
    workload_stats_t stats;
};

/*
 * Parses the len bytes at text as one IPv4 address (four decimal parts) or
 * IPv6 address (hex groups, at most one "::"; no embedded IPv4), strictly:
 * lwIP's own parsers accept abbreviated, hex and octal forms.
 */
bool workload_parse_addr(const char *text, size_t len, ip_addr_t *out);

/*
 * Parses "tcp:ADDR:PORT", "udp:ADDR:PORT" or "icmp:ADDR"; an IPv6 ADDR may
 * be written bare (the port follows the last colon) or in brackets. False
 * with a reason in why on anything else (port 0, trailing text...).
 */
bool workload_parse_target(const char *text, workload_target_t *out, char *why, size_t why_len);

/*
 * Starts the server (listen_port 0: none) and the client rounds every
 * every_ms; call in the tcpip thread. False with a reason when a PCB cannot
 * be made or the port cannot be bound; what was started is stopped again.
 */
bool workload_start(workload_t *w, uint16_t listen_port, const workload_target_t *targets,
                     size_t count, uint32_t every_ms, char *why, size_t why_len);

/* Stops the client rounds (the server keeps listening, so that the last
 * report still lists it); tcpip thread. */
void workload_stop_clients(workload_t *w);

#endif /* VIGIL_LWIP_DEVICE_WORKLOAD_H */
