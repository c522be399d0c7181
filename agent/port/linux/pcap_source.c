/*
 * pcap_source.c - opens a capture (pcap or pcapng file, or a live interface)
 * with libpcap, iterates its packets and strips the link-layer header
 * (Ethernet with 802.1Q/802.1ad tags, raw IP, Linux cooked v1 and v2, BSD
 * loopback), so that each packet handed on starts at its IP header.
 *
 * It must never read past the captured bytes of a frame, whatever the file
 * claims, and never interpret anything above the link layer: IP is
 * libvigil's business.
 */
#define _DEFAULT_SOURCE
#include "pcap_source.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Live capture needs headers only: Ethernet + two VLAN tags + IPv6 with a
 * few extension headers + TCP fit in 256 bytes. */
#define LIVE_SNAPLEN 256
#define LIVE_TIMEOUT_MS 500

#define ETHERTYPE_IPV4 0x0800u
#define ETHERTYPE_IPV6 0x86ddu
#define ETHERTYPE_VLAN 0x8100u
#define ETHERTYPE_QINQ 0x88a8u
#define ETHERTYPE_QINQ_OLD 0x9100u
#define ETH_HEADER 14u
#define VLAN_TAG 4u
#define MAX_VLAN_TAGS 4u
#define SLL_HEADER 16u
#define SLL_OFF_PROTO 14u
#define SLL2_HEADER 20u
#define SLL2_OFF_PROTO 0u
#define NULL_HEADER 4u

/* BSD loopback address families: AF_INET is 2 everywhere, AF_INET6
 * differs between the systems that write such captures. */
#define BSD_AF_INET 2u
#define BSD_AF_INET6_BSD 24u
#define BSD_AF_INET6_FREEBSD 28u
#define BSD_AF_INET6_DARWIN 30u
#define BSD_AF_INET6_LINUX 10u

struct pcap_source {
    pcap_t *pcap;
    int dlt;
    bool live;
    unsigned long long last_drop;
    char error[PCAP_ERRBUF_SIZE + 64];
};

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)(p[0] << 8) | p[1]);
}

bool link_type_supported(int dlt)
{
    switch (dlt) {
    case DLT_EN10MB:
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
    case DLT_LINUX_SLL:
    case DLT_LINUX_SLL2:
    case DLT_NULL:
    case DLT_LOOP:
        return true;
    default:
        return false;
    }
}

const char *link_type_name(int dlt)
{
    const char *name = pcap_datalink_val_to_name(dlt);
    return name ? name : "unknown";
}

static bool ethertype_is_ip(uint16_t type)
{
    return type == ETHERTYPE_IPV4 || type == ETHERTYPE_IPV6;
}

/* Offset of the IP header in an Ethernet frame, 0 if not IP, SIZE_MAX if cut. */
static size_t ethernet_ip_offset(const uint8_t *frame, size_t caplen)
{
    size_t off = ETH_HEADER - 2u;  /* the ethertype of the untagged frame */
    for (unsigned tags = 0;; tags++) {
        if (off + 2u > caplen)
            return SIZE_MAX;
        uint16_t type = be16(frame + off);
        if (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ || type == ETHERTYPE_QINQ_OLD) {
            if (tags == MAX_VLAN_TAGS)
                return 0;
            off += VLAN_TAG;
            continue;
        }
        return ethertype_is_ip(type) ? off + 2u : 0;
    }
}

static bool bsd_family_is_ip(uint32_t family)
{
    return family == BSD_AF_INET || family == BSD_AF_INET6_BSD ||
           family == BSD_AF_INET6_FREEBSD || family == BSD_AF_INET6_DARWIN ||
           family == BSD_AF_INET6_LINUX;
}

void link_strip(int dlt, const uint8_t *frame, size_t caplen, size_t wire_len,
                link_packet_t *out)
{
    size_t off = 0;
    bool is_ip = true;

    switch (dlt) {
    case DLT_EN10MB:
        off = ethernet_ip_offset(frame, caplen);
        if (off == 0)
            is_ip = false;
        break;
    case DLT_LINUX_SLL:
        off = SLL_HEADER;
        if (caplen >= SLL_HEADER)
            is_ip = ethertype_is_ip(be16(frame + SLL_OFF_PROTO));
        break;
    case DLT_LINUX_SLL2:
        off = SLL2_HEADER;
        if (caplen >= SLL2_HEADER)
            is_ip = ethertype_is_ip(be16(frame + SLL2_OFF_PROTO));
        break;
    case DLT_NULL:
    case DLT_LOOP:
        off = NULL_HEADER;
        if (caplen >= NULL_HEADER) {
            /* DLT_LOOP is network order; DLT_NULL is the writer's host
             * order, so accept either byte order of the family. */
            uint32_t be = ((uint32_t)frame[0] << 24) | ((uint32_t)frame[1] << 16) |
                          ((uint32_t)frame[2] << 8) | frame[3];
            uint32_t le = ((uint32_t)frame[3] << 24) | ((uint32_t)frame[2] << 16) |
                          ((uint32_t)frame[1] << 8) | frame[0];
            is_ip = bsd_family_is_ip(be) || (dlt == DLT_NULL && bsd_family_is_ip(le));
        }
        break;
    default: /* DLT_RAW, DLT_IPV4, DLT_IPV6: the frame is the packet */
        off = 0;
        break;
    }

    /* A corrupt record may claim fewer bytes on the wire than captured. */
    if (wire_len < caplen)
        wire_len = caplen;
    if (off == SIZE_MAX || off > caplen) {
        out->kind = LINK_TRUNCATED;
        out->ip = frame;
        out->captured = 0;
        out->length = 0;
        return;
    }
    out->kind = is_ip ? LINK_IP : LINK_NON_IP;
    out->ip = frame + off;
    out->captured = caplen - off;
    out->length = wire_len - off;
}

static pcap_source_t *source_new(pcap_t *p, bool live, char *err, size_t err_len)
{
    int dlt = pcap_datalink(p);
    if (!link_type_supported(dlt)) {
        snprintf(err, err_len, "unsupported link type %d (%s); supported: EN10MB, RAW, "
                 "IPV4, IPV6, LINUX_SLL, LINUX_SLL2, NULL, LOOP", dlt, link_type_name(dlt));
        pcap_close(p);
        return NULL;
    }
    pcap_source_t *src = calloc(1, sizeof *src);
    if (!src) {
        snprintf(err, err_len, "out of memory");
        pcap_close(p);
        return NULL;
    }
    src->pcap = p;
    src->dlt = dlt;
    src->live = live;
    return src;
}

pcap_source_t *pcap_source_open_file(const char *path, char *err, size_t err_len)
{
    char pcap_err[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_open_offline(path, pcap_err);
    if (!p) {
        snprintf(err, err_len, "%s", pcap_err);
        return NULL;
    }
    return source_new(p, false, err, err_len);
}

static pcap_source_t *live_failed(pcap_t *p, const char *what, int rc, char *err, size_t err_len)
{
    snprintf(err, err_len, "%s: %s (%s)", what, pcap_statustostr(rc), pcap_geterr(p));
    pcap_close(p);
    return NULL;
}

pcap_source_t *pcap_source_open_live(const char *iface, char *err, size_t err_len)
{
    char pcap_err[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_create(iface, pcap_err);
    if (!p) {
        snprintf(err, err_len, "%s", pcap_err);
        return NULL;
    }
    int rc;
    if ((rc = pcap_set_snaplen(p, LIVE_SNAPLEN)) != 0)
        return live_failed(p, "snaplen", rc, err, err_len);
    if ((rc = pcap_set_immediate_mode(p, 1)) != 0)
        return live_failed(p, "immediate mode", rc, err, err_len);
    if ((rc = pcap_set_timeout(p, LIVE_TIMEOUT_MS)) != 0)
        return live_failed(p, "timeout", rc, err, err_len);
    rc = pcap_activate(p);
    if (rc < 0)
        return live_failed(p, "activate", rc, err, err_len);
    /* libpcap's read timeout does not fire in immediate mode on Linux, so
     * the source waits with poll() itself and reads without blocking. */
    if (pcap_get_selectable_fd(p) < 0 || pcap_setnonblock(p, 1, pcap_err) != 0) {
        snprintf(err, err_len, "%s: cannot wait for packets without blocking", iface);
        pcap_close(p);
        return NULL;
    }
    return source_new(p, true, err, err_len);
}

int pcap_source_link_type(const pcap_source_t *src)
{
    return src->dlt;
}

source_status_t pcap_source_next(pcap_source_t *src, link_packet_t *pkt)
{
    struct pcap_pkthdr *hdr;
    const u_char *data;
    int rc = pcap_next_ex(src->pcap, &hdr, &data);
    if (rc == 0 && src->live) {
        /* Nothing waiting: sleep until a packet, the timeout or a signal. */
        struct pollfd pfd = {.fd = pcap_get_selectable_fd(src->pcap), .events = POLLIN};
        int ready = poll(&pfd, 1, LIVE_TIMEOUT_MS);
        if (ready < 0 && errno != EINTR) {
            snprintf(src->error, sizeof src->error, "poll: %s", strerror(errno));
            return SOURCE_ERROR;
        }
        if (ready <= 0)
            return SOURCE_TIMEOUT;
        rc = pcap_next_ex(src->pcap, &hdr, &data);
    }
    switch (rc) {
    case 1:
        pkt->ts = (uint32_t)hdr->ts.tv_sec;
        link_strip(src->dlt, data, hdr->caplen, hdr->len, pkt);
        return SOURCE_PACKET;
    case 0:
        return SOURCE_TIMEOUT;
    case PCAP_ERROR_BREAK:
        return SOURCE_END;
    default:
        snprintf(src->error, sizeof src->error, "%s", pcap_geterr(src->pcap));
        return SOURCE_ERROR;
    }
}

const char *pcap_source_error(const pcap_source_t *src)
{
    return src->error;
}

uint64_t pcap_source_take_dropped(pcap_source_t *src)
{
    struct pcap_stat st;
    if (!src->live || pcap_stats(src->pcap, &st) != 0)
        return 0;
    /* ps_drop is a 32-bit counter that may wrap. */
    unsigned long long now = st.ps_drop;
    unsigned long long delta = (uint32_t)(now - src->last_drop);
    src->last_drop = now;
    return delta;
}

void pcap_source_break(pcap_source_t *src)
{
    if (src)
        pcap_breakloop(src->pcap);
}

void pcap_source_close(pcap_source_t *src)
{
    if (!src)
        return;
    pcap_close(src->pcap);
    free(src);
}
