/*
 * vigil_lwip.h - attaches libvigil to lwIP (2.1) without changing lwIP.
 *
 * Packets: vigil_lwip_attach() interposes a netif's `input` (everything the
 * driver receives: an Ethernet frame, VLAN tags allowed, or an IP packet on
 * netifs without Ethernet) and, on Ethernet netifs, `linkoutput` (every
 * frame the driver sends, once). On netifs without Ethernet (PPP, SLIP...)
 * it interposes `output` (IPv4 packets the stack sends) and `output_ip6`
 * (IPv6) instead; on Ethernet those would see a packet twice when neighbour
 * discovery queues it and re-sends it through output_ip6. Each interposed
 * function copies the first
 * VIGIL_LWIP_CAPTURE bytes of the IP packet out of the pbuf chain
 * (pbuf_copy_partial), calls vigil_observe_headers() with the pbuf's total
 * length, and hands the untouched pbuf to the netif's own function. ARP and
 * other non-IP frames pass through unobserved.
 *
 * Listening sockets: vigil_lwip_listener_at() is the vigil_port_t callback;
 * it walks lwIP's TCP listen PCBs (tcp_listen_pcbs) and unconnected UDP PCBs
 * (udp_pcbs). It reads lwIP's PCB lists, so vigil_poll() must run where lwIP
 * may be touched: in the tcpip thread (a sys_timeout() callback, or
 * tcpip_callback()) or with LOCK_TCPIP_CORE() held; vigil_lwip_poll() does
 * the rest.
 *
 * Threads (NO_SYS=0): a driver usually calls netif->input (tcpip_input)
 * from its own thread, while output runs in the tcpip thread. libvigil is
 * not thread-safe, so every libvigil call the adapter makes is serialised by
 * a mutex of its own (never held while calling into lwIP). Call libvigil
 * yourself only through vigil_lwip_poll() or between vigil_lwip_lock() and
 * vigil_lwip_unlock(), e.g. to read and release the outbox. With NO_SYS=1
 * everything runs in one context and the lock compiles to nothing.
 *
 * Never: modify, drop, delay or keep a pbuf; allocate; call libvigil from an
 * interrupt handler.
 */
#ifndef VIGIL_LWIP_H
#define VIGIL_LWIP_H

#include "lwip/opt.h"
#include "lwip/err.h"
#include "lwip/netif.h"
#include "lwip/sys.h"

#include "vigil.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * VIGIL_LWIP_CAPTURE: bytes of each IP packet copied for libvigil, on the
 * stack of the thread that sends or receives. 96 holds an IPv6 header, a
 * fragment header and a TCP header with 28 bytes of options; longer header
 * chains are counted by libvigil as truncated, never read past.
 */
#ifndef VIGIL_LWIP_CAPTURE
#define VIGIL_LWIP_CAPTURE 96
#endif

/* One per libvigil context: the clock and the lock shared by its netifs. */
typedef struct vigil_lwip {
    vigil_ctx_t *ctx;
    uint32_t (*now)(void);  /* seconds; NULL = sys_now() / 1000 */
#if !NO_SYS
    sys_mutex_t lock;
#endif
} vigil_lwip_t;

/* One per attached netif: the netif's own functions, restored by detach. */
typedef struct vigil_lwip_netif {
    vigil_lwip_t *vl;
    struct netif *netif;
    netif_input_fn input;
    netif_linkoutput_fn linkoutput;  /* NULL unless interposed (Ethernet) */
#if LWIP_IPV4
    netif_output_fn output;
#endif
#if LWIP_IPV6
    netif_output_ip6_fn output_ip6;
#endif
    struct vigil_lwip_netif *next;
} vigil_lwip_netif_t;

/* Prepares vl for an initialised ctx. ERR_MEM if the mutex cannot be made. */
err_t vigil_lwip_init(vigil_lwip_t *vl, vigil_ctx_t *ctx, uint32_t (*now)(void));

/* Frees vl's mutex; detach its netifs first. */
void vigil_lwip_deinit(vigil_lwip_t *vl);

/*
 * Interposes the netif's input/output functions; `slot` is caller-owned
 * memory kept until vigil_lwip_detach(). Call after netif_add() (which sets
 * the functions) and before the netif is up, from the tcpip thread or with
 * the core locked. ERR_ARG if the netif is already attached.
 */
err_t vigil_lwip_attach(vigil_lwip_t *vl, vigil_lwip_netif_t *slot, struct netif *netif);

/* Restores the netif's own functions (same thread rules as attach). */
void vigil_lwip_detach(vigil_lwip_netif_t *slot);

/*
 * The vigil_port_t listener callback: `arg` is unused (NULL). A PCB bound to
 * IPADDR_TYPE_ANY (dual stack) is reported twice, for IPv4 and IPv6.
 */
bool vigil_lwip_listener_at(void *arg, size_t index, vigil_listener_t *out);

/* vigil_poll() at vl's clock, under vl's lock; from the tcpip thread. */
vigil_err_t vigil_lwip_poll(vigil_lwip_t *vl);

/* Serialise your own libvigil calls (outbox access) with the hooks. */
void vigil_lwip_lock(vigil_lwip_t *vl);
void vigil_lwip_unlock(vigil_lwip_t *vl);

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_LWIP_H */
