/*
 * pcap_source.h - packets from a capture file or a live interface, with the
 * link-layer header stripped so that each starts at its IP header.
 */
#ifndef VIGIL_AGENT_PCAP_SOURCE_H
#define VIGIL_AGENT_PCAP_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    LINK_IP = 0,        /* an IPv4 or IPv6 packet (or what claims to be one) */
    LINK_NON_IP,        /* ARP, LLDP, any other ethertype or family */
    LINK_TRUNCATED      /* the link-layer header itself was not captured */
} link_kind_t;

typedef struct {
    uint32_t ts;            /* capture timestamp, whole seconds */
    const uint8_t *ip;      /* first byte after the link-layer header */
    size_t captured;        /* bytes readable at ip */
    size_t length;          /* bytes the datagram had on the wire from ip on */
    link_kind_t kind;
} link_packet_t;

typedef struct pcap_source pcap_source_t;

typedef enum {
    SOURCE_PACKET = 0,  /* *pkt is filled */
    SOURCE_TIMEOUT,     /* live only: no packet within the read timeout */
    SOURCE_END,         /* end of file, or pcap_source_break() was called */
    SOURCE_ERROR        /* read error: see pcap_source_error() */
} source_status_t;

/* Whether vigil-agent can strip this DLT_* link type. */
bool link_type_supported(int dlt);

/* A name for a link type, for messages ("EN10MB"...). */
const char *link_type_name(int dlt);

/*
 * Strips the link-layer header of one frame of link type dlt (which must be
 * supported): `caplen` bytes were captured of a frame of `wire_len` bytes.
 * Fills out->ip, captured, length and kind; never reads past caplen.
 */
void link_strip(int dlt, const uint8_t *frame, size_t caplen, size_t wire_len,
                link_packet_t *out);

/* Opens a capture file (pcap or pcapng). NULL on failure, with err filled. */
pcap_source_t *pcap_source_open_file(const char *path, char *err, size_t err_len);

/* Opens an interface for live capture in immediate mode, reading headers
 * only. NULL on failure, with err filled. */
pcap_source_t *pcap_source_open_live(const char *iface, char *err, size_t err_len);

/* The link type of an open source. */
int pcap_source_link_type(const pcap_source_t *src);

/* The next packet; *pkt points into the source's buffer until the next call. */
source_status_t pcap_source_next(pcap_source_t *src, link_packet_t *pkt);

/* The last error message. */
const char *pcap_source_error(const pcap_source_t *src);

/* Live: packets the kernel dropped since the last call (0 for files). */
uint64_t pcap_source_take_dropped(pcap_source_t *src);

/* Makes a blocked pcap_source_next() return SOURCE_END; async-signal-safe. */
void pcap_source_break(pcap_source_t *src);

void pcap_source_close(pcap_source_t *src);

#endif
