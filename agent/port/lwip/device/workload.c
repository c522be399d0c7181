/*
 * workload.c - vigil-lwip-device's traffic on lwIP's raw API (see
 * workload.h): a TCP echo server and periodic TCP, UDP and ICMP clients.
 *
 * It runs only in the tcpip thread. It must never block, never touch a PCB
 * after lwIP freed it (the err callback clears our pointer first), and never
 * eat an incoming packet that is not an echo reply to us (raw PCBs see
 * neighbour discovery too).
 */
#include "workload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/inet_chksum.h"
#include "lwip/pbuf.h"
#include "lwip/prot/ip.h"
#include "lwip/prot/ip6.h"
#include "lwip/timeouts.h"

static void set_why(char *why, size_t why_len, const char *text, const char *detail)
{
    if (why && why_len)
        snprintf(why, why_len, "%s%s%s", text, detail ? ": " : "", detail ? detail : "");
}

static bool parse_port(const char *text, uint16_t *out)
{
    if (!*text || *text == '-' || *text == '+' || strlen(text) > 5)
        return false;
    char *end;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno || *end || v == 0 || v > 65535)
        return false;
    *out = (uint16_t)v;
    return true;
}

/* Longest address text we accept: a full IPv6 address. */
#define ADDR_TEXT_MAX 40

/* Four decimal parts 0..255 without leading zeros: lwIP's ip4addr_aton
 * (like inet_aton) also takes "192.0.2" or hex and octal parts. */
static bool strict_ip4(const char *t)
{
    for (int part = 0; part < 4; part++) {
        if (part && *t++ != '.')
            return false;
        unsigned v = 0, digits = 0;
        const char *start = t;
        while (*t >= '0' && *t <= '9' && digits < 4) {
            v = v * 10u + (unsigned)(*t++ - '0');
            digits++;
        }
        if (digits == 0 || digits > 3 || v > 255 || (digits > 1 && *start == '0'))
            return false;
    }
    return *t == '\0';
}

/* Hex groups of 1..4 digits separated by ':', at most one "::", 8 groups
 * without it: lwIP's ip6addr_aton is lenient about all of these. */
static bool strict_ip6(const char *t)
{
    unsigned groups = 0, digits = 0;
    bool gap = false;
    if (t[0] == ':' && t[1] != ':')
        return false;
    for (const char *p = t; ; p++) {
        bool hex = (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F');
        if (hex) {
            if (++digits > 4)
                return false;
            continue;
        }
        if (*p != ':' && *p != '\0')
            return false;
        if (digits)
            groups++;
        else if (p != t && p[-1] != ':' && *p == '\0')
            return false;
        if (*p == '\0')
            break;
        if (p[1] == ':') {
            if (gap || p[2] == ':')
                return false;
            gap = true;
            p++;
        } else if (digits == 0) {
            return false; /* a lone ':' with no group before it */
        } else if (p[1] == '\0') {
            return false; /* trailing single ':' */
        }
        digits = 0;
    }
    return gap ? groups <= 7 : groups == 8;
}

bool workload_parse_addr(const char *text, size_t len, ip_addr_t *out)
{
    char buf[ADDR_TEXT_MAX + 1];
    if (len == 0 || len > ADDR_TEXT_MAX)
        return false;
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (memchr(buf, ':', len)) {
        if (!strict_ip6(buf))
            return false;
    } else if (!strict_ip4(buf)) {
        return false;
    }
    return ipaddr_aton(buf, out) != 0;
}

bool workload_parse_target(const char *text, workload_target_t *out, char *why, size_t why_len)
{
    memset(out, 0, sizeof *out);
    const char *rest;
    if (strncmp(text, "tcp:", 4) == 0) {
        out->kind = TARGET_TCP;
        rest = text + 4;
    } else if (strncmp(text, "udp:", 4) == 0) {
        out->kind = TARGET_UDP;
        rest = text + 4;
    } else if (strncmp(text, "icmp:", 5) == 0) {
        out->kind = TARGET_ICMP;
        rest = text + 5;
    } else {
        set_why(why, why_len, "expected tcp:ADDR:PORT, udp:ADDR:PORT or icmp:ADDR", NULL);
        return false;
    }

    if (out->kind == TARGET_ICMP) {
        size_t len = strlen(rest);
        if (len >= 2 && rest[0] == '[' && rest[len - 1] == ']') {
            rest++;
            len -= 2;
        }
        if (!workload_parse_addr(rest, len, &out->addr)) {
            set_why(why, why_len, "not an IPv4 or IPv6 address", rest);
            return false;
        }
        return true;
    }

    const char *addr = rest, *port;
    size_t addr_len;
    if (rest[0] == '[') {
        const char *close = strchr(rest, ']');
        if (!close || close[1] != ':') {
            set_why(why, why_len, "expected [IPV6]:PORT", rest);
            return false;
        }
        addr = rest + 1;
        addr_len = (size_t)(close - addr);
        port = close + 2;
    } else {
        const char *colon = strrchr(rest, ':');
        if (!colon) {
            set_why(why, why_len, "missing :PORT", rest);
            return false;
        }
        addr_len = (size_t)(colon - rest);
        port = colon + 1;
    }
    if (!workload_parse_addr(addr, addr_len, &out->addr)) {
        set_why(why, why_len, "not an IPv4 or IPv6 address", rest);
        return false;
    }
    if (!parse_port(port, &out->port)) {
        set_why(why, why_len, "port must be 1..65535", port);
        return false;
    }
    return true;
}

/* ---- TCP echo server ------------------------------------------------- */

/* ERR_ABRT when the PCB had to be aborted: a callback must then return it. */
static err_t server_close(struct tcp_pcb *pcb)
{
    tcp_arg(pcb, NULL);
    tcp_recv(pcb, NULL);
    tcp_err(pcb, NULL);
    if (tcp_close(pcb) != ERR_OK) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    return ERR_OK;
}

/* Echoes what arrives. Data that does not fit the send buffer is refused
 * (not freed) and lwIP offers it again later: nothing is lost or buffered
 * by us. */
static err_t server_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    workload_t *w = arg;
    if (!p || err != ERR_OK) {
        if (p)
            pbuf_free(p);
        return server_close(pcb);
    }
    if (tcp_sndbuf(pcb) < p->tot_len)
        return ERR_MEM;
    for (struct pbuf *q = p; q; q = q->next) {
        if (tcp_write(pcb, q->payload, q->len, TCP_WRITE_FLAG_COPY) != ERR_OK)
            return ERR_MEM; /* nothing queued past this point: offered again */
    }
    if (w)
        w->stats.echoed_bytes += p->tot_len;
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    (void)tcp_output(pcb);
    return ERR_OK;
}

static err_t server_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    workload_t *w = arg;
    if (err != ERR_OK || !pcb)
        return ERR_VAL;
    w->stats.accepted++;
    tcp_arg(pcb, w);
    tcp_recv(pcb, server_recv);
    return ERR_OK;
}

/* ---- TCP client -------------------------------------------------------- */

static const char tcp_message_head[] = "vigil-lwip-device tcp probe\n";

static err_t client_close(workload_slot_t *s, struct tcp_pcb *pcb)
{
    s->tcp = NULL;
    tcp_arg(pcb, NULL);
    tcp_recv(pcb, NULL); /* lwIP's default then frees what the peer still sends */
    tcp_sent(pcb, NULL);
    tcp_err(pcb, NULL);
    if (tcp_close(pcb) != ERR_OK) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    return ERR_OK;
}

static void client_err(void *arg, err_t err)
{
    workload_slot_t *s = arg;
    (void)err;
    if (!s)
        return;
    s->tcp = NULL; /* lwIP has freed the PCB */
    s->owner->stats.tcp_failed++;
}

static err_t client_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    workload_slot_t *s = arg;
    if (!s)
        return ERR_OK;
    s->tcp_unacked = len >= s->tcp_unacked ? 0 : (u16_t)(s->tcp_unacked - len);
    if (s->tcp_unacked == 0)
        return client_close(s, pcb);
    return ERR_OK;
}

static err_t client_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    workload_slot_t *s = arg;
    (void)err;
    if (p) {
        tcp_recved(pcb, p->tot_len);
        pbuf_free(p);
        return ERR_OK;
    }
    if (s)
        return client_close(s, pcb);
    return ERR_OK;
}

static err_t client_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    workload_slot_t *s = arg;
    uint8_t msg[WORKLOAD_TCP_MESSAGE];
    (void)err;
    if (!s)
        return ERR_OK;
    s->owner->stats.tcp_connected++;
    memset(msg, '.', sizeof msg);
    memcpy(msg, tcp_message_head, sizeof tcp_message_head - 1);
    msg[sizeof msg - 1] = '\n';
    if (tcp_write(pcb, msg, sizeof msg, TCP_WRITE_FLAG_COPY) != ERR_OK) {
        s->owner->stats.tcp_failed++;
        return client_close(s, pcb);
    }
    s->tcp_unacked = sizeof msg;
    (void)tcp_output(pcb);
    return ERR_OK;
}

static void client_round_tcp(workload_slot_t *s)
{
    workload_stats_t *st = &s->owner->stats;
    if (s->tcp) {
        if (++s->tcp_age < WORKLOAD_TCP_MAX_AGE) {
            st->tcp_skipped++;
            return;
        }
        tcp_abort(s->tcp); /* calls client_err, which clears s->tcp and counts */
    }
    st->tcp_attempts++;
    struct tcp_pcb *pcb = tcp_new_ip_type(IP_GET_TYPE(&s->target.addr));
    if (!pcb) {
        st->tcp_failed++;
        return;
    }
    tcp_arg(pcb, s);
    tcp_err(pcb, client_err);
    tcp_recv(pcb, client_recv);
    tcp_sent(pcb, client_sent);
    s->tcp = pcb;
    s->tcp_age = 0;
    s->tcp_unacked = 0;
    if (tcp_connect(pcb, &s->target.addr, s->target.port, client_connected) != ERR_OK) {
        st->tcp_failed++;
        s->tcp = NULL;
        tcp_arg(pcb, NULL);
        tcp_err(pcb, NULL);
        tcp_abort(pcb);
    }
}

/* ---- UDP client -------------------------------------------------------- */

static void udp_reply(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
                      u16_t port)
{
    workload_slot_t *s = arg;
    (void)pcb;
    (void)addr;
    (void)port;
    s->owner->stats.udp_received++;
    pbuf_free(p);
}

static void client_round_udp(workload_slot_t *s)
{
    workload_stats_t *st = &s->owner->stats;
    struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, WORKLOAD_UDP_PAYLOAD, PBUF_RAM);
    if (!p) {
        st->udp_failed++;
        return;
    }
    memset(p->payload, 'u', WORKLOAD_UDP_PAYLOAD);
    if (udp_send(s->udp, p) == ERR_OK)
        st->udp_sent++;
    else
        st->udp_failed++;
    pbuf_free(p);
}

/* ---- ICMP / ICMPv6 echo -------------------------------------------------- */

/* Reads a big-endian u16 at `at` of the chain; false past its end. */
static bool read_u16(const struct pbuf *p, u16_t at, u16_t *out)
{
    uint8_t b[2];
    if (pbuf_copy_partial(p, b, 2, at) != 2)
        return false;
    *out = (u16_t)(b[0] << 8 | b[1]);
    return true;
}

/*
 * Raw PCBs get every ICMP packet with its IP header; eat (return 1) only
 * echo replies carrying our identifier, so lwIP still handles the rest
 * (neighbour discovery, errors, requests to us).
 */
static u8_t ping_recv(void *arg, struct raw_pcb *pcb, struct pbuf *p, const ip_addr_t *addr)
{
    workload_slot_t *s = arg;
    (void)pcb;
    (void)addr;
    uint8_t first;
    if (pbuf_copy_partial(p, &first, 1, 0) != 1)
        return 0;
    u16_t at;
    uint8_t reply_type;
    if ((first >> 4) == 4) {
        at = (u16_t)((first & 0x0f) * 4);
        reply_type = 0;
    } else if ((first >> 4) == 6) {
        uint8_t next;
        if (pbuf_copy_partial(p, &next, 1, 6) != 1 || next != IP6_NEXTH_ICMP6)
            return 0; /* extension headers: not a reply we sent for */
        at = IP6_HLEN;
        reply_type = 129;
    } else {
        return 0;
    }
    uint8_t type;
    u16_t id;
    if (pbuf_copy_partial(p, &type, 1, at) != 1 || type != reply_type ||
        !read_u16(p, (u16_t)(at + 4), &id) || id != WORKLOAD_ICMP_ID)
        return 0;
    s->owner->stats.pongs++;
    pbuf_free(p);
    return 1;
}

static void client_round_icmp(workload_slot_t *s)
{
    workload_stats_t *st = &s->owner->stats;
    const u16_t len = 8 + WORKLOAD_ICMP_PAYLOAD;
    struct pbuf *p = pbuf_alloc(PBUF_IP, len, PBUF_RAM);
    if (!p) {
        st->pings_failed++;
        return;
    }
    uint8_t *m = p->payload;
    bool v6 = IP_IS_V6_VAL(s->target.addr);
    s->ping_seq++;
    m[0] = v6 ? 128 : 8;    /* echo request */
    m[1] = 0;
    m[2] = m[3] = 0;        /* checksum, below (IPv6: by lwIP, see workload_start) */
    m[4] = (uint8_t)(WORKLOAD_ICMP_ID >> 8);
    m[5] = (uint8_t)WORKLOAD_ICMP_ID;
    m[6] = (uint8_t)(s->ping_seq >> 8);
    m[7] = (uint8_t)s->ping_seq;
    memset(m + 8, 'p', WORKLOAD_ICMP_PAYLOAD);
    if (!v6) {
        /* inet_chksum sums the bytes as they lie; store its result as it lies. */
        u16_t sum = inet_chksum(m, len);
        memcpy(m + 2, &sum, 2);
    }
    if (raw_sendto(s->raw, p, &s->target.addr) == ERR_OK)
        st->pings_sent++;
    else
        st->pings_failed++;
    pbuf_free(p);
}

/* ---- rounds ---------------------------------------------------------------- */

static void workload_tick(void *arg)
{
    workload_t *w = arg;
    if (!w->running)
        return;
    for (size_t i = 0; i < w->count; i++) {
        workload_slot_t *s = &w->slots[i];
        switch (s->target.kind) {
        case TARGET_TCP: client_round_tcp(s); break;
        case TARGET_UDP: client_round_udp(s); break;
        case TARGET_ICMP: client_round_icmp(s); break;
        }
    }
    sys_timeout(w->every_ms, workload_tick, w);
}

static void workload_release(workload_t *w)
{
    for (size_t i = 0; i < w->count; i++) {
        workload_slot_t *s = &w->slots[i];
        if (s->udp)
            udp_remove(s->udp);
        if (s->raw)
            raw_remove(s->raw);
        s->udp = NULL;
        s->raw = NULL;
    }
    if (w->server)
        tcp_close(w->server);
    w->server = NULL;
}

bool workload_start(workload_t *w, uint16_t listen_port, const workload_target_t *targets,
                     size_t count, uint32_t every_ms, char *why, size_t why_len)
{
    if (count > WORKLOAD_MAX_TARGETS || every_ms == 0) {
        set_why(why, why_len, "too many targets or a zero interval", NULL);
        return false;
    }
    memset(w, 0, sizeof *w);
    w->every_ms = every_ms;
    w->count = count;
    char detail[64];
    for (size_t i = 0; i < count; i++) {
        workload_slot_t *s = &w->slots[i];
        s->owner = w;
        s->target = targets[i];
        u8_t type = (u8_t)IP_GET_TYPE(&s->target.addr);
        if (s->target.kind == TARGET_UDP) {
            /* Connected: the datagrams of one target form one flow, and the
             * PCB is not mistaken for a listening socket. */
            s->udp = udp_new_ip_type(type);
            if (!s->udp || udp_connect(s->udp, &s->target.addr, s->target.port) != ERR_OK) {
                snprintf(detail, sizeof detail, "target %zu", i + 1);
                set_why(why, why_len, "cannot make the UDP PCB", detail);
                workload_release(w);
                return false;
            }
            udp_recv(s->udp, udp_reply, s);
        } else if (s->target.kind == TARGET_ICMP) {
            bool v6 = type == IPADDR_TYPE_V6;
            s->raw = raw_new_ip_type(type, v6 ? IP6_NEXTH_ICMP6 : IP_PROTO_ICMP);
            if (!s->raw) {
                set_why(why, why_len, "cannot make the raw ICMP PCB", NULL);
                workload_release(w);
                return false;
            }
            if (v6) {
                /* ICMPv6's checksum covers a pseudo-header of addresses lwIP
                 * picks at send time: let it fill the field at offset 2, as
                 * its own sockets layer does for IPPROTO_ICMPV6. */
                s->raw->chksum_reqd = 1;
                s->raw->chksum_offset = 2;
            }
            raw_recv(s->raw, ping_recv, s);
        }
    }
    if (listen_port) {
        struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_ANY);
        if (!pcb) {
            set_why(why, why_len, "cannot make the server PCB", NULL);
            workload_release(w);
            return false;
        }
        if (tcp_bind(pcb, IP_ANY_TYPE, listen_port) != ERR_OK) {
            tcp_close(pcb);
            snprintf(detail, sizeof detail, "port %u", (unsigned)listen_port);
            set_why(why, why_len, "cannot bind the server", detail);
            workload_release(w);
            return false;
        }
        struct tcp_pcb *listening = tcp_listen(pcb);
        if (!listening) {
            tcp_close(pcb);
            set_why(why, why_len, "cannot listen", NULL);
            workload_release(w);
            return false;
        }
        w->server = listening;
        tcp_arg(listening, w);
        tcp_accept(listening, server_accept);
    }
    w->running = true;
    if (count)
        sys_timeout(every_ms, workload_tick, w);
    return true;
}

void workload_stop_clients(workload_t *w)
{
    if (!w->running)
        return;
    w->running = false;
    sys_untimeout(workload_tick, w);
}
