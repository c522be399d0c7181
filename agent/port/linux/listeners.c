/*
 * listeners.c - listening sockets for libvigil's listener_at() callback:
 * parsed from /proc/net (the kernel's table of this host's sockets) or
 * inferred from a device's traffic (who accepted a TCP connection, who
 * answered a UDP datagram from the port it was sent to).
 *
 * Memory is fixed (LISTENERS_MAX listeners, LISTENERS_CONVERSATIONS UDP
 * conversations, forgotten by overwriting). It must never trust a /proc
 * line's or a packet's lengths: every field is checked before it is read.
 */
#define _DEFAULT_SOURCE
#include "listeners.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TCP_STATE_LISTEN 0x0Au
#define TCP_FLAG_SYN 0x02u
#define TCP_FLAG_ACK 0x10u
#define IPPROTO_NUM_TCP 6u
#define IPPROTO_NUM_UDP 17u
#define MAX_EXT_HEADERS 8u

void listeners_init(listeners_t *l, listeners_mode_t mode, const char *proc_dir)
{
    memset(l, 0, sizeof *l);
    l->mode = mode;
    l->proc_dir = proc_dir ? proc_dir : "/proc/net";
}

bool listeners_add(listeners_t *l, const vigil_listener_t *item)
{
    for (size_t i = 0; i < l->count; i++) {
        const vigil_listener_t *have = &l->items[i];
        if (have->proto == item->proto && have->family == item->family &&
            have->port == item->port && memcmp(have->addr, item->addr, 16) == 0)
            return true;
    }
    if (l->count == LISTENERS_MAX)
        return false;
    l->items[l->count++] = *item;
    return true;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads exactly n hex digits at *p into *value and advances *p. */
static bool read_hex(const char **p, unsigned n, uint32_t *value)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < n; i++) {
        int d = hex_value((*p)[i]);
        if (d < 0)
            return false;
        v = (v << 4) | (uint32_t)d;
    }
    *p += n;
    *value = v;
    return true;
}

/*
 * An "ADDR:PORT" field: the address is the kernel's 32-bit words printed
 * with %08X in host byte order, so each word's bytes come back by storing
 * the word in host order.
 */
static bool read_endpoint(const char **p, uint8_t family, uint8_t addr[16], uint16_t *port)
{
    unsigned words = family == 4 ? 1u : 4u;
    memset(addr, 0, 16);
    for (unsigned w = 0; w < words; w++) {
        uint32_t word;
        if (!read_hex(p, 8, &word))
            return false;
        memcpy(addr + 4u * w, &word, 4);
    }
    uint32_t port_value;
    if (**p != ':')
        return false;
    (*p)++;
    if (!read_hex(p, 4, &port_value))
        return false;
    *port = (uint16_t)port_value;
    return true;
}

static const char *skip_spaces(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

bool listeners_parse_proc_line(const char *line, uint8_t proto, uint8_t family,
                               vigil_listener_t *out)
{
    /* "  12: 0100007F:0277 00000000:0000 0A ..." */
    const char *p = skip_spaces(line);
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p != ':')
        return false;
    p = skip_spaces(p + 1);

    uint8_t local[16], remote[16];
    uint16_t local_port, remote_port;
    uint32_t state;
    if (!read_endpoint(&p, family, local, &local_port) || *p != ' ')
        return false;
    p = skip_spaces(p);
    if (!read_endpoint(&p, family, remote, &remote_port) || *p != ' ')
        return false;
    p = skip_spaces(p);
    if (!read_hex(&p, 2, &state))
        return false;

    if (proto == VIGIL_PROTO_TCP) {
        if (state != TCP_STATE_LISTEN)
            return false;
    } else {
        static const uint8_t zero[16];
        if (remote_port != 0 || memcmp(remote, zero, 16) != 0 || local_port == 0)
            return false;
    }
    memset(out, 0, sizeof *out);
    out->proto = proto;
    out->family = family;
    out->port = local_port;
    memcpy(out->addr, local, family == 4 ? 4u : 16u);
    return true;
}

static void load_proc_file(listeners_t *l, const char *name, uint8_t proto, uint8_t family)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", l->proc_dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    bool header = true;
    while (fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        bool whole = len > 0 && line[len - 1] == '\n';
        if (!header) {
            vigil_listener_t item;
            if (listeners_parse_proc_line(line, proto, family, &item))
                listeners_add(l, &item);
        }
        header = false;
        /* Skip the rest of an over-long line. */
        while (!whole && fgets(line, sizeof line, f)) {
            len = strlen(line);
            whole = len > 0 && line[len - 1] == '\n';
        }
    }
    fclose(f);
}

void listeners_load_proc(listeners_t *l)
{
    l->count = 0;
    load_proc_file(l, "tcp", VIGIL_PROTO_TCP, 4);
    load_proc_file(l, "tcp6", VIGIL_PROTO_TCP, 6);
    load_proc_file(l, "udp", VIGIL_PROTO_UDP, 4);
    load_proc_file(l, "udp6", VIGIL_PROTO_UDP, 6);
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)(p[0] << 8) | p[1]);
}

typedef struct {
    uint8_t family;
    uint8_t proto;            /* IP protocol number */
    const uint8_t *src;
    const uint8_t *dst;
    const uint8_t *transport; /* NULL for a later fragment */
    size_t transport_len;     /* readable bytes at transport */
} headers_t;

/* Finds the addresses and the transport header of a packet, or false. */
static bool find_headers(const uint8_t *ip, size_t captured, headers_t *h)
{
    if (captured < 1)
        return false;
    if (ip[0] >> 4 == 4) {
        if (captured < 20)
            return false;
        size_t ihl = (size_t)(ip[0] & 0x0fu) * 4u;
        if (ihl < 20 || ihl > captured)
            return false;
        h->family = 4;
        h->proto = ip[9];
        h->src = ip + 12;
        h->dst = ip + 16;
        if ((be16(ip + 6) & 0x1fffu) != 0)
            return false;
        h->transport = ip + ihl;
        h->transport_len = captured - ihl;
        return true;
    }
    if (ip[0] >> 4 != 6 || captured < 40)
        return false;
    h->family = 6;
    h->src = ip + 8;
    h->dst = ip + 24;
    uint8_t next = ip[6];
    size_t off = 40;
    for (unsigned i = 0; i < MAX_EXT_HEADERS; i++) {
        switch (next) {
        case 0:   /* hop-by-hop */
        case 43:  /* routing */
        case 60:  /* destination options */
        case 51:  /* AH */
            if (off + 2 > captured)
                return false;
            {
                size_t len = next == 51 ? ((size_t)ip[off + 1] + 2u) * 4u
                                        : ((size_t)ip[off + 1] + 1u) * 8u;
                next = ip[off];
                off += len;
            }
            break;
        case 44:  /* fragment: only the first carries the transport header */
            if (off + 8 > captured || (be16(ip + off + 2) & 0xfff8u) != 0)
                return false;
            next = ip[off];
            off += 8;
            break;
        default:
            if (off > captured)
                return false;
            h->proto = next;
            h->transport = ip + off;
            h->transport_len = captured - off;
            return true;
        }
    }
    return false;
}

static uint32_t conversation_hash(const headers_t *h, const uint8_t *local, const uint8_t *remote,
                                  uint16_t local_port, uint16_t remote_port)
{
    size_t alen = h->family == 4 ? 4u : 16u;
    uint32_t x = 2166136261u;
    for (size_t i = 0; i < alen; i++)
        x = (x ^ local[i]) * 16777619u;
    for (size_t i = 0; i < alen; i++)
        x = (x ^ remote[i]) * 16777619u;
    x = (x ^ local_port) * 16777619u;
    x = (x ^ remote_port) * 16777619u;
    return x;
}

static void learn_udp(listeners_t *l, bool outbound, const headers_t *h)
{
    const uint8_t *local = outbound ? h->src : h->dst;
    const uint8_t *remote = outbound ? h->dst : h->src;
    uint16_t sport = be16(h->transport), dport = be16(h->transport + 2);
    uint16_t local_port = outbound ? sport : dport;
    uint16_t remote_port = outbound ? dport : sport;
    size_t alen = h->family == 4 ? 4u : 16u;

    udp_conversation_t *c = &l->conversations[conversation_hash(h, local, remote, local_port,
                                                                remote_port) %
                                              LISTENERS_CONVERSATIONS];
    bool same = c->used && c->family == h->family && c->local_port == local_port &&
                c->remote_port == remote_port && memcmp(c->local, local, alen) == 0 &&
                memcmp(c->remote, remote, alen) == 0;
    if (!same) {
        /* A new conversation (or a collision: the older one is forgotten). */
        memset(c, 0, sizeof *c);
        c->used = true;
        c->family = h->family;
        memcpy(c->local, local, alen);
        memcpy(c->remote, remote, alen);
        c->local_port = local_port;
        c->remote_port = remote_port;
        c->remote_started = !outbound;
        return;
    }
    if (outbound && c->remote_started) {
        vigil_listener_t item;
        memset(&item, 0, sizeof item);
        item.proto = VIGIL_PROTO_UDP;
        item.family = h->family;
        item.port = local_port;
        memcpy(item.addr, local, alen);
        listeners_add(l, &item);
    }
}

void listeners_learn(listeners_t *l, bool outbound, const uint8_t *ip, size_t captured)
{
    if (l->mode != LISTENERS_FROM_TRAFFIC)
        return;
    headers_t h;
    if (!find_headers(ip, captured, &h))
        return;
    if (h.proto == IPPROTO_NUM_TCP && h.transport_len >= 14) {
        uint8_t flags = h.transport[13];
        if (outbound && (flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == (TCP_FLAG_SYN | TCP_FLAG_ACK)) {
            vigil_listener_t item;
            memset(&item, 0, sizeof item);
            item.proto = VIGIL_PROTO_TCP;
            item.family = h.family;
            item.port = be16(h.transport);
            memcpy(item.addr, h.src, h.family == 4 ? 4u : 16u);
            listeners_add(l, &item);
        }
    } else if (h.proto == IPPROTO_NUM_UDP && h.transport_len >= 8) {
        learn_udp(l, outbound, &h);
    }
}

bool listeners_at(void *arg, size_t index, vigil_listener_t *out)
{
    listeners_t *l = arg;
    if (l->mode == LISTENERS_FROM_PROC && index == 0)
        listeners_load_proc(l);
    if (index >= l->count)
        return false;
    *out = l->items[index];
    return true;
}
