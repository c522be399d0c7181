/*
 * vigil_opts.h - every compile-time option of libvigil, with its default.
 *
 * Integrators override any option in their own header and name it with
 * -DVIGIL_OPTS_FILE="my_vigil_opts.h" (the lwIP/mbedTLS pattern). All memory
 * libvigil uses is sized here: there is no allocation at run time.
 *
 * This file must never contain code, only options and the checks that turn
 * an impossible combination into a compile error naming the options.
 */
#ifndef VIGIL_OPTS_H
#define VIGIL_OPTS_H

#ifdef VIGIL_OPTS_FILE
#include VIGIL_OPTS_FILE
#endif

/*
 * VIGIL_MAX_FLOWS_V4, VIGIL_MAX_FLOWS_V6: flow records per report period.
 * A record costs 24 bytes (IPv4) or 36 bytes (IPv6). When the table is full,
 * traffic of new flows is still counted in per-protocol, per-direction
 * overflow counters; tracked flows keep counting. A flow whose 24-bit byte or
 * 16-bit packet counter would wrap within one period takes a second record.
 * At most 254 each (records are linked by 8-bit indices). 0 disables a family.
 */
#ifndef VIGIL_MAX_FLOWS_V4
#define VIGIL_MAX_FLOWS_V4 64
#endif
#ifndef VIGIL_MAX_FLOWS_V6
#define VIGIL_MAX_FLOWS_V6 64
#endif

/*
 * VIGIL_MAX_LOCAL_ADDRS_V4, VIGIL_MAX_LOCAL_ADDRS_V6: the device's own
 * addresses, learned from traffic, per report period. Flow records refer to
 * them by index, which is why a record does not carry its local address.
 * Multicast and broadcast groups the device receives on count too (mDNS,
 * SSDP, all-nodes), so leave room for them beside the unicast addresses.
 * Traffic of a further local address is counted (local_addr_full) and goes
 * to overflow.
 */
#ifndef VIGIL_MAX_LOCAL_ADDRS_V4
#define VIGIL_MAX_LOCAL_ADDRS_V4 4
#endif
#ifndef VIGIL_MAX_LOCAL_ADDRS_V6
#define VIGIL_MAX_LOCAL_ADDRS_V6 6
#endif

/*
 * VIGIL_MAX_FRAGMENTS: fragmented datagrams followed at once, so that their
 * later fragments (which carry no ports) are attributed to the first
 * fragment's flow. A later fragment with no followed datagram is counted
 * (fragment_unattributed) and not made into a flow.
 */
#ifndef VIGIL_MAX_FRAGMENTS
#define VIGIL_MAX_FRAGMENTS 4
#endif

/*
 * VIGIL_OUTBOX_SIZE: bytes of the outbox holding encoded reports until the
 * transport acknowledges them. Size it to hold at least one full period
 * (roughly 20 bytes per flow plus 120 bytes per report). When a new report
 * does not fit, the oldest is dropped and counted (outbox_dropped).
 * Requires: at least VIGIL_MAX_MESSAGE_SIZE + 8.
 */
#ifndef VIGIL_OUTBOX_SIZE
#define VIGIL_OUTBOX_SIZE 4096
#endif

/*
 * VIGIL_MAX_MESSAGE_SIZE: the largest report message, in bytes (the
 * transport's limit). A period that does not fit is split into several
 * reports. The run-time configuration may lower it, never raise it.
 * Requires: at least 512, and room for the report header with the longest
 * device id and all local addresses plus the system information with the
 * longest strings (checked below).
 */
#ifndef VIGIL_MAX_MESSAGE_SIZE
#define VIGIL_MAX_MESSAGE_SIZE 1024
#endif

/* VIGIL_DEVICE_ID_MAX: longest device id, in bytes. */
#ifndef VIGIL_DEVICE_ID_MAX
#define VIGIL_DEVICE_ID_MAX 64
#endif

/*
 * VIGIL_MAX_LISTENERS: listening sockets reported per period. More are
 * counted (listeners_truncated).
 */
#ifndef VIGIL_MAX_LISTENERS
#define VIGIL_MAX_LISTENERS 32
#endif

/*
 * VIGIL_MAX_EXT_HEADERS: IPv6 extension headers walked before the packet is
 * counted as ipv6_ext_chain_too_long. Bounds the work per packet.
 */
#ifndef VIGIL_MAX_EXT_HEADERS
#define VIGIL_MAX_EXT_HEADERS 8
#endif

/* VIGIL_MAX_STRING: longest system-information string sent, in bytes. */
#ifndef VIGIL_MAX_STRING
#define VIGIL_MAX_STRING 32
#endif

/*
 * VIGIL_FAST_PATH: a shortcut for IPv4 TCP/UDP packets of flows already in
 * the table (most packets), about twice as fast as the general path and with
 * the same results. Set to 0 to save its code (about 300 bytes on Cortex-M).
 */
#ifndef VIGIL_FAST_PATH
#define VIGIL_FAST_PATH 1
#endif

/* ---- checks: an impossible combination fails here, naming the options ---- */

#if VIGIL_MAX_FLOWS_V4 < 0 || VIGIL_MAX_FLOWS_V4 > 254
#error "VIGIL_MAX_FLOWS_V4 must be 0..254"
#endif
#if VIGIL_MAX_FLOWS_V6 < 0 || VIGIL_MAX_FLOWS_V6 > 254
#error "VIGIL_MAX_FLOWS_V6 must be 0..254"
#endif
#if VIGIL_MAX_LOCAL_ADDRS_V4 < 1 || VIGIL_MAX_LOCAL_ADDRS_V4 > 8
#error "VIGIL_MAX_LOCAL_ADDRS_V4 must be 1..8"
#endif
#if VIGIL_MAX_LOCAL_ADDRS_V6 < 1 || VIGIL_MAX_LOCAL_ADDRS_V6 > 8
#error "VIGIL_MAX_LOCAL_ADDRS_V6 must be 1..8"
#endif
#if VIGIL_MAX_FRAGMENTS < 1 || VIGIL_MAX_FRAGMENTS > 64
#error "VIGIL_MAX_FRAGMENTS must be 1..64"
#endif
#if VIGIL_MAX_MESSAGE_SIZE < 512 || VIGIL_MAX_MESSAGE_SIZE > 65535
#error "VIGIL_MAX_MESSAGE_SIZE must be 512..65535"
#endif
#if VIGIL_OUTBOX_SIZE > 65535
#error "VIGIL_OUTBOX_SIZE must be at most 65535"
#endif
#if VIGIL_OUTBOX_SIZE < VIGIL_MAX_MESSAGE_SIZE + 8
#error "VIGIL_OUTBOX_SIZE must be at least VIGIL_MAX_MESSAGE_SIZE + 8 (one report and its slot header)"
#endif
#if VIGIL_DEVICE_ID_MAX < 1 || VIGIL_DEVICE_ID_MAX > 128
#error "VIGIL_DEVICE_ID_MAX must be 1..128"
#endif
#if VIGIL_MAX_STRING < 8 || VIGIL_MAX_STRING > 64
#error "VIGIL_MAX_STRING must be 8..64"
#endif
/* Worst-case fixed part of a report: header fields, device id, local
 * addresses, system information, counters, overflow and 4 listeners. */
#define VIGIL_REPORT_FIXED_WORST (VIGIL_DEVICE_ID_MAX + 6 * (VIGIL_MAX_STRING + 3) \
    + 5 * VIGIL_MAX_LOCAL_ADDRS_V4 + 17 * VIGIL_MAX_LOCAL_ADDRS_V6 + 230)
#if VIGIL_REPORT_FIXED_WORST + 96 > VIGIL_MAX_MESSAGE_SIZE
#error "VIGIL_MAX_MESSAGE_SIZE is too small for VIGIL_DEVICE_ID_MAX, VIGIL_MAX_STRING and the VIGIL_MAX_LOCAL_ADDRS_* options"
#endif
#if VIGIL_MAX_LISTENERS < 0 || VIGIL_MAX_LISTENERS > 1024
#error "VIGIL_MAX_LISTENERS must be 0..1024"
#endif
#if VIGIL_MAX_EXT_HEADERS < 1 || VIGIL_MAX_EXT_HEADERS > 32
#error "VIGIL_MAX_EXT_HEADERS must be 1..32"
#endif

#endif /* VIGIL_OPTS_H */
