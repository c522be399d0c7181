/*
 * vigil_lwip.c - the lwIP port of libvigil: netif interposition for packets,
 * lwIP's PCB lists for listening sockets (see vigil_lwip.h for the rules).
 *
 * It must never change what lwIP does: every pbuf goes on to the netif's own
 * function unmodified, and whatever that function returns is returned.
 */
#include "vigil_lwip.h"

#include <string.h>

#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"
#include "lwip/priv/tcp_priv.h" /* tcp_listen_pcbs: lwIP has no public iterator */

/* The attached netifs (caller-owned slots). Changed only by attach and
 * detach, which run before the netif is up / after it is down. */
static vigil_lwip_netif_t *attached;

static vigil_lwip_netif_t *slot_of(const struct netif *netif)
{
    for (vigil_lwip_netif_t *s = attached; s; s = s->next)
        if (s->netif == netif)
            return s;
    return NULL;
}

void vigil_lwip_lock(vigil_lwip_t *vl)
{
#if !NO_SYS
    sys_mutex_lock(&vl->lock);
#else
    (void)vl;
#endif
}

void vigil_lwip_unlock(vigil_lwip_t *vl)
{
#if !NO_SYS
    sys_mutex_unlock(&vl->lock);
#else
    (void)vl;
#endif
}

static uint32_t now_of(const vigil_lwip_t *vl)
{
    return vl->now ? vl->now() : (uint32_t)(sys_now() / 1000u);
}

/* Copies the first bytes of the IP packet at `offset` in p and observes it. */
static void observe(vigil_lwip_t *vl, vigil_dir_t dir, struct pbuf *p, u16_t offset)
{
    uint8_t head[VIGIL_LWIP_CAPTURE];
    if (p->tot_len <= offset)
        return;
    u16_t copied = pbuf_copy_partial(p, head, sizeof head, offset);
    size_t length = (size_t)(p->tot_len - offset);
    uint32_t now = now_of(vl);
    vigil_lwip_lock(vl);
    vigil_observe_headers(vl->ctx, dir, head, copied, length, now);
    vigil_lwip_unlock(vl);
}

/*
 * Where the IP packet starts in a received frame: 0 on netifs without
 * Ethernet, else after the Ethernet header and up to two VLAN tags (802.1Q,
 * 802.1ad). False for frames that carry no IP (ARP, PPPoE...).
 */
static bool ip_offset(const struct netif *netif, const struct pbuf *p, u16_t *offset)
{
    if (!(netif->flags & (NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET))) {
        *offset = 0;
        return true;
    }
    u16_t at = (u16_t)(ETH_PAD_SIZE + 12); /* destination and source MAC */
    for (int tags = 0; tags <= 2; tags++) {
        uint8_t type[2];
        if (pbuf_copy_partial(p, type, 2, at) != 2)
            return false;
        unsigned ethertype = (unsigned)type[0] << 8 | type[1];
        if (ethertype == 0x0800u || ethertype == 0x86ddu) {
            *offset = (u16_t)(at + 2);
            return true;
        }
        if (ethertype != 0x8100u && ethertype != 0x88a8u)
            return false;
        at = (u16_t)(at + 4);
    }
    return false;
}

static err_t hook_input(struct pbuf *p, struct netif *inp)
{
    vigil_lwip_netif_t *s = slot_of(inp);
    if (!s)
        return ERR_IF; /* detached meanwhile: the caller frees p */
    u16_t offset;
    if (p && ip_offset(inp, p, &offset))
        observe(s->vl, VIGIL_DIR_IN, p, offset);
    return s->input(p, inp);
}

/* Ethernet netifs: every frame that leaves, once. The IP-level functions
 * are not interposed there: lwIP's neighbour discovery re-sends the packets
 * it queued while resolving through output_ip6 (nd6_send_q), which counted
 * the first packets to each IPv6 neighbour twice. */
static err_t hook_linkoutput(struct netif *netif, struct pbuf *p)
{
    vigil_lwip_netif_t *s = slot_of(netif);
    if (!s)
        return ERR_IF;
    u16_t offset;
    if (p && ip_offset(netif, p, &offset))
        observe(s->vl, VIGIL_DIR_OUT, p, offset);
    return s->linkoutput(netif, p);
}

#if LWIP_IPV4
static err_t hook_output(struct netif *netif, struct pbuf *p, const ip4_addr_t *ipaddr)
{
    vigil_lwip_netif_t *s = slot_of(netif);
    if (!s)
        return ERR_IF;
    observe(s->vl, VIGIL_DIR_OUT, p, 0);
    return s->output(netif, p, ipaddr);
}
#endif

#if LWIP_IPV6
static err_t hook_output_ip6(struct netif *netif, struct pbuf *p, const ip6_addr_t *ipaddr)
{
    vigil_lwip_netif_t *s = slot_of(netif);
    if (!s)
        return ERR_IF;
    observe(s->vl, VIGIL_DIR_OUT, p, 0);
    return s->output_ip6(netif, p, ipaddr);
}
#endif

err_t vigil_lwip_init(vigil_lwip_t *vl, vigil_ctx_t *ctx, uint32_t (*now)(void))
{
    if (!vl || !ctx)
        return ERR_ARG;
    memset(vl, 0, sizeof *vl);
    vl->ctx = ctx;
    vl->now = now;
#if !NO_SYS
    if (sys_mutex_new(&vl->lock) != ERR_OK)
        return ERR_MEM;
#endif
    return ERR_OK;
}

void vigil_lwip_deinit(vigil_lwip_t *vl)
{
#if !NO_SYS
    sys_mutex_free(&vl->lock);
#else
    (void)vl;
#endif
}

err_t vigil_lwip_attach(vigil_lwip_t *vl, vigil_lwip_netif_t *slot, struct netif *netif)
{
    if (!vl || !slot || !netif || !netif->input || slot_of(netif))
        return ERR_ARG;
    memset(slot, 0, sizeof *slot);
    slot->vl = vl;
    slot->netif = netif;
    slot->input = netif->input;
#if LWIP_IPV4
    slot->output = netif->output;
#endif
#if LWIP_IPV6
    slot->output_ip6 = netif->output_ip6;
#endif
    slot->next = attached;
    attached = slot;
    netif->input = hook_input;
    if ((netif->flags & (NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET)) && netif->linkoutput) {
        slot->linkoutput = netif->linkoutput;
        netif->linkoutput = hook_linkoutput;
        return ERR_OK;
    }
#if LWIP_IPV4
    if (slot->output)
        netif->output = hook_output;
#endif
#if LWIP_IPV6
    if (slot->output_ip6)
        netif->output_ip6 = hook_output_ip6;
#endif
    return ERR_OK;
}

void vigil_lwip_detach(vigil_lwip_netif_t *slot)
{
    struct netif *netif = slot->netif;
    netif->input = slot->input;
    if (slot->linkoutput)
        netif->linkoutput = slot->linkoutput;
#if LWIP_IPV4
    netif->output = slot->output;
#endif
#if LWIP_IPV6
    netif->output_ip6 = slot->output_ip6;
#endif
    for (vigil_lwip_netif_t **link = &attached; *link; link = &(*link)->next) {
        if (*link == slot) {
            *link = slot->next;
            break;
        }
    }
}

/*
 * Fills `out` for a socket bound to `addr`:`port`; `family` picks the half
 * of a dual-stack (IPADDR_TYPE_ANY) binding.
 */
static void fill_listener(vigil_listener_t *out, uint8_t proto, uint8_t family,
                          const ip_addr_t *addr, u16_t port)
{
    memset(out, 0, sizeof *out);
    out->proto = proto;
    out->family = family;
    out->port = port;
#if LWIP_IPV4 && LWIP_IPV6
    if (IP_IS_ANY_TYPE_VAL(*addr))
        return; /* any address of either family: zeros */
#endif
#if LWIP_IPV6
    if (family == 6) {
        memcpy(out->addr, ip_2_ip6(addr)->addr, 16); /* network byte order */
        return;
    }
#endif
#if LWIP_IPV4
    memcpy(out->addr, &ip_2_ip4(addr)->addr, 4);
#endif
}

/* The families a binding covers: 4, 6, or both for IPADDR_TYPE_ANY. */
static unsigned families_of(const ip_addr_t *addr, uint8_t families[2])
{
#if LWIP_IPV4 && LWIP_IPV6
    if (IP_IS_ANY_TYPE_VAL(*addr)) {
        families[0] = 4;
        families[1] = 6;
        return 2;
    }
    families[0] = IP_IS_V6_VAL(*addr) ? 6 : 4;
#elif LWIP_IPV6
    (void)addr;
    families[0] = 6;
#else
    (void)addr;
    families[0] = 4;
#endif
    return 1;
}

bool vigil_lwip_listener_at(void *arg, size_t index, vigil_listener_t *out)
{
    (void)arg;
    size_t k = 0;
    uint8_t families[2];
#if LWIP_TCP
    for (struct tcp_pcb_listen *l = tcp_listen_pcbs.listen_pcbs; l; l = l->next) {
        unsigned n = families_of(&l->local_ip, families);
        for (unsigned i = 0; i < n; i++, k++) {
            if (k == index) {
                fill_listener(out, VIGIL_PROTO_TCP, families[i], &l->local_ip, l->local_port);
                return true;
            }
        }
    }
#endif
#if LWIP_UDP
    for (struct udp_pcb *u = udp_pcbs; u; u = u->next) {
        if (u->local_port == 0 || (u->flags & UDP_FLAGS_CONNECTED))
            continue; /* not bound yet, or a client talking to one peer */
        unsigned n = families_of(&u->local_ip, families);
        for (unsigned i = 0; i < n; i++, k++) {
            if (k == index) {
                fill_listener(out, VIGIL_PROTO_UDP, families[i], &u->local_ip, u->local_port);
                return true;
            }
        }
    }
#endif
    return false;
}

vigil_err_t vigil_lwip_poll(vigil_lwip_t *vl)
{
    uint32_t now = now_of(vl);
    vigil_lwip_lock(vl);
    vigil_err_t err = vigil_poll(vl->ctx, now);
    vigil_lwip_unlock(vl);
    return err;
}
