/*
 * test_vigil_lwip.c - the lwIP adapter against Debian's liblwip, no network:
 * pbufs go through the interposed netif functions of fake netifs (one with
 * only IP-level output functions, one with an Ethernet driver), and the
 * reports of that context must equal, byte for byte, those of a second
 * context fed the same IP packets directly with vigil_observe(). Listening
 * sockets come from real lwIP PCBs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/init.h"
#include "lwip/udp.h"
#include "vigil_lwip.h"

static vigil_ctx_t adapted, direct;
static vigil_lwip_t vl;
static vigil_lwip_netif_t slot;
static struct netif nif;
static uint32_t clock_s = 1000;
static struct pbuf *last_in, *last_out;
static int inputs, outputs, outputs6;

static uint32_t test_now(void)
{
    return clock_s;
}

static err_t fake_input(struct pbuf *p, struct netif *inp)
{
    assert_ptr_equal(inp, &nif);
    last_in = p;
    inputs++;
    return ERR_OK;
}

static err_t fake_output(struct netif *netif, struct pbuf *p, const ip4_addr_t *addr)
{
    (void)addr;
    assert_ptr_equal(netif, &nif);
    last_out = p;
    outputs++;
    return ERR_RTE; /* distinctive: the hook must return what the netif returns */
}

static err_t fake_output_ip6(struct netif *netif, struct pbuf *p, const ip6_addr_t *addr)
{
    (void)addr;
    assert_ptr_equal(netif, &nif);
    last_out = p;
    outputs6++;
    return ERR_OK;
}

/* An IPv4 TCP segment of `total` bytes, 192.168.0.2:40000 -> 192.168.0.1:80. */
static size_t ipv4_tcp(uint8_t *b, uint16_t total, uint8_t flags)
{
    static const uint8_t h[40] = {
        0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 6, 0, 0, 192, 168, 0, 2, 192, 168, 0, 1,
        0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0, 0x20, 0, 0, 0, 0, 0};
    memset(b, 0x61, total);
    memcpy(b, h, sizeof h);
    b[2] = (uint8_t)(total >> 8);
    b[3] = (uint8_t)total;
    b[33] = flags;
    return total;
}

/* An IPv6 UDP datagram, 2001:db8::1:53 -> 2001:db8::2:5353, 8 payload bytes. */
static size_t ipv6_udp(uint8_t *b)
{
    static const uint8_t h[56] = {
        0x60, 0, 0, 0, 0, 16, 17, 64,
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
        0, 53, 0x14, 0xe9, 0, 16, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8};
    memcpy(b, h, sizeof h);
    return sizeof h;
}

/* A pbuf chain holding `data`, split after `split` bytes (0: one pbuf). */
static struct pbuf *chain(const uint8_t *data, size_t len, size_t split)
{
    if (split == 0 || split >= len)
        split = len;
    struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)split, PBUF_RAM);
    assert_non_null(p);
    memcpy(p->payload, data, split);
    if (split < len) {
        struct pbuf *q = pbuf_alloc(PBUF_RAW, (u16_t)(len - split), PBUF_RAM);
        assert_non_null(q);
        memcpy(q->payload, data + split, len - split);
        pbuf_cat(p, q);
    }
    return p;
}

/* An Ethernet frame around `ip`, with `vlan_tags` 802.1Q tags. */
static size_t ethernet(uint8_t *frame, const uint8_t *ip, size_t len, uint16_t type, int vlan_tags)
{
    size_t at = 12;
    memset(frame, 0xee, 12);
    for (int i = 0; i < vlan_tags; i++) {
        frame[at] = 0x81;
        frame[at + 1] = 0x00;
        frame[at + 2] = 0;
        frame[at + 3] = 42;
        at += 4;
    }
    frame[at] = (uint8_t)(type >> 8);
    frame[at + 1] = (uint8_t)type;
    memcpy(frame + at + 2, ip, len);
    return at + 2 + len;
}

static void init_contexts(void)
{
    static const vigil_port_t port = { vigil_lwip_listener_at, NULL, NULL };
    vigil_setup_t setup;
    memset(&setup, 0, sizeof setup);
    vigil_config_default(&setup.config);
    setup.device_id = "lwip-test";
    setup.boot_id = 7;
    setup.now = clock_s;
    setup.port = &port;
    assert_int_equal(vigil_init(&adapted, &setup), VIGIL_OK);
    assert_int_equal(vigil_init(&direct, &setup), VIGIL_OK);
}

static int setup_netif(void **state)
{
    (void)state;
    memset(&nif, 0, sizeof nif);
    nif.input = fake_input;
    nif.output = fake_output;
    nif.output_ip6 = fake_output_ip6;
    nif.flags = NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
    inputs = outputs = outputs6 = 0;
    init_contexts();
    assert_int_equal(vigil_lwip_init(&vl, &adapted, test_now), ERR_OK);
    assert_int_equal(vigil_lwip_attach(&vl, &slot, &nif), ERR_OK);
    return 0;
}

static int teardown_netif(void **state)
{
    (void)state;
    vigil_lwip_detach(&slot);
    vigil_lwip_deinit(&vl);
    return 0;
}

/* Both contexts closed at the same time must hold the same reports. */
static void assert_same_reports(void)
{
    assert_int_equal(vigil_flush(&adapted, clock_s + 60), VIGIL_OK);
    assert_int_equal(vigil_flush(&direct, clock_s + 60), VIGIL_OK);
    assert_int_equal(vigil_outbox_count(&adapted), vigil_outbox_count(&direct));
    assert_true(vigil_outbox_count(&direct) > 0);
    for (size_t i = 0; i < vigil_outbox_count(&direct); i++) {
        const uint8_t *a, *d;
        size_t alen, dlen;
        uint32_t aseq, dseq;
        assert_int_equal(vigil_outbox_get(&adapted, i, &a, &alen, &aseq), VIGIL_OK);
        assert_int_equal(vigil_outbox_get(&direct, i, &d, &dlen, &dseq), VIGIL_OK);
        assert_int_equal(alen, dlen);
        assert_memory_equal(a, d, dlen);
    }
}

static void test_lwip_inbound_frames_are_observed_as_their_ip_packets(void **state)
{
    (void)state;
    uint8_t ip[1600], frame[1700];
    size_t len = ipv4_tcp(ip, 60, 0x02);
    size_t flen = ethernet(frame, ip, len, 0x0800, 0);
    struct pbuf *p = chain(frame, flen, 20); /* split inside the IP header */
    assert_int_equal(nif.input(p, &nif), ERR_OK);
    assert_ptr_equal(last_in, p);
    pbuf_free(p);
    vigil_observe(&direct, VIGIL_DIR_IN, ip, len, clock_s);

    len = ipv6_udp(ip);
    flen = ethernet(frame, ip, len, 0x86dd, 2); /* two VLAN tags */
    p = chain(frame, flen, 0);
    assert_int_equal(nif.input(p, &nif), ERR_OK);
    pbuf_free(p);
    vigil_observe(&direct, VIGIL_DIR_IN, ip, len, clock_s);

    static const uint8_t arp[28] = { 0, 1, 8, 0, 6, 4, 0, 1 };
    flen = ethernet(frame, arp, sizeof arp, 0x0806, 0);
    p = chain(frame, flen, 0);
    assert_int_equal(nif.input(p, &nif), ERR_OK); /* passed on, not observed */
    pbuf_free(p);

    assert_int_equal(inputs, 3);
    assert_int_equal(vigil_counter(&adapted, VIGIL_CNT_IP_BAD_VERSION), 0);
    assert_same_reports();
}

static void test_lwip_outbound_packets_count_whole_datagrams_from_headers(void **state)
{
    (void)state;
    uint8_t ip[1600];
    size_t len = ipv4_tcp(ip, 1400, 0x18); /* only the first 96 bytes are copied */
    struct pbuf *p = chain(ip, len, 700);
    ip4_addr_t next_hop;
    IP4_ADDR(&next_hop, 192, 168, 0, 2);
    assert_int_equal(nif.output(&nif, p, &next_hop), ERR_RTE);
    assert_ptr_equal(last_out, p);
    assert_int_equal(p->tot_len, 1400); /* untouched */
    pbuf_free(p);
    vigil_observe(&direct, VIGIL_DIR_OUT, ip, len, clock_s);

    len = ipv6_udp(ip);
    p = chain(ip, len, 0);
    ip6_addr_t hop6;
    memset(&hop6, 0, sizeof hop6);
    assert_int_equal(nif.output_ip6(&nif, p, &hop6), ERR_OK);
    pbuf_free(p);
    vigil_observe(&direct, VIGIL_DIR_OUT, ip, len, clock_s);

    assert_int_equal(outputs, 1);
    assert_int_equal(outputs6, 1);
    assert_same_reports();
}

static void test_lwip_detach_restores_the_netif_functions(void **state)
{
    (void)state;
    assert_ptr_not_equal(nif.input, fake_input);
    vigil_lwip_detach(&slot);
    assert_ptr_equal(nif.input, fake_input);
    assert_ptr_equal(nif.output, fake_output);
    assert_ptr_equal(nif.output_ip6, fake_output_ip6);
    assert_int_equal(vigil_lwip_attach(&vl, &slot, &nif), ERR_OK); /* for teardown */
    assert_int_equal(vigil_lwip_attach(&vl, &slot, &nif), ERR_ARG); /* twice: refused */
}

/* ---- Ethernet netifs with a driver: the frames sent are observed ---- */

static int linkoutputs;
static struct pbuf *nd_queued;  /* what the fake neighbour discovery holds */

static err_t fake_linkoutput(struct netif *netif, struct pbuf *p)
{
    assert_ptr_equal(netif, &nif);
    last_out = p;
    linkoutputs++;
    return ERR_WOULDBLOCK; /* distinctive: the hook must return what the driver returns */
}

/* Behaves like lwIP's ethip6_output with an unresolved neighbour: the first
 * call queues the packet, the second (nd6_send_q, once the neighbour
 * answered) frames it and hands it to linkoutput. */
static err_t fake_nd_output_ip6(struct netif *netif, struct pbuf *p, const ip6_addr_t *addr)
{
    (void)addr;
    outputs6++;
    if (!nd_queued) {
        pbuf_ref(p);
        nd_queued = p;
        return ERR_OK;
    }
    uint8_t ip[1600], frame[1700];
    u16_t len = pbuf_copy_partial(p, ip, sizeof ip, 0);
    size_t flen = ethernet(frame, ip, len, 0x86dd, 0);
    struct pbuf *f = chain(frame, flen, 0);
    err_t err = netif->linkoutput(netif, f);
    pbuf_free(f);
    return err;
}

static int setup_ethernet_driver(void **state)
{
    (void)state;
    memset(&nif, 0, sizeof nif);
    nif.input = fake_input;
    nif.output = fake_output;
    nif.output_ip6 = fake_nd_output_ip6;
    nif.linkoutput = fake_linkoutput;
    nif.flags = NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
    inputs = outputs = outputs6 = linkoutputs = 0;
    nd_queued = NULL;
    init_contexts();
    assert_int_equal(vigil_lwip_init(&vl, &adapted, test_now), ERR_OK);
    assert_int_equal(vigil_lwip_attach(&vl, &slot, &nif), ERR_OK);
    return 0;
}

static void test_lwip_ipv6_packet_requeued_by_neighbour_discovery_is_observed_once(void **state)
{
    (void)state;
    uint8_t ip[1600], frame[1700];
    size_t len = ipv6_udp(ip);
    struct pbuf *p = chain(ip, len, 0);
    ip6_addr_t hop6;
    memset(&hop6, 0, sizeof hop6);
    assert_int_equal(nif.output_ip6(&nif, p, &hop6), ERR_OK);       /* queued */
    assert_int_equal(nif.output_ip6(&nif, nd_queued, &hop6), ERR_WOULDBLOCK); /* re-sent */
    pbuf_free(nd_queued);
    pbuf_free(p);
    vigil_observe(&direct, VIGIL_DIR_OUT, ip, len, clock_s);

    /* An IPv4 frame behind a VLAN tag, and ARP, which passes unobserved. */
    len = ipv4_tcp(ip, 1400, 0x18);
    size_t flen = ethernet(frame, ip, len, 0x0800, 1);
    p = chain(frame, flen, 30);
    assert_int_equal(nif.linkoutput(&nif, p), ERR_WOULDBLOCK);
    assert_ptr_equal(last_out, p);
    pbuf_free(p);
    vigil_observe(&direct, VIGIL_DIR_OUT, ip, len, clock_s);
    static const uint8_t arp[28] = { 0, 1, 8, 0, 6, 4, 0, 2 };
    flen = ethernet(frame, arp, sizeof arp, 0x0806, 0);
    p = chain(frame, flen, 0);
    assert_int_equal(nif.linkoutput(&nif, p), ERR_WOULDBLOCK);
    pbuf_free(p);

    assert_int_equal(outputs6, 2);
    assert_int_equal(linkoutputs, 3);
    assert_same_reports();
}

static void test_lwip_detach_restores_the_driver_linkoutput(void **state)
{
    (void)state;
    assert_ptr_not_equal(nif.linkoutput, fake_linkoutput);
    assert_ptr_equal(nif.output_ip6, fake_nd_output_ip6); /* not interposed on Ethernet */
    vigil_lwip_detach(&slot);
    assert_ptr_equal(nif.linkoutput, fake_linkoutput);
    assert_ptr_equal(nif.input, fake_input);
    assert_int_equal(vigil_lwip_attach(&vl, &slot, &nif), ERR_OK); /* for teardown */
}

static void test_lwip_listeners_come_from_listen_and_unconnected_udp_pcbs(void **state)
{
    (void)state;
    struct tcp_pcb *t = tcp_new_ip_type(IPADDR_TYPE_ANY);
    assert_non_null(t);
    assert_int_equal(tcp_bind(t, IP_ANY_TYPE, 8080), ERR_OK);
    struct tcp_pcb *listening = tcp_listen(t);
    assert_non_null(listening);

    struct udp_pcb *u = udp_new_ip_type(IPADDR_TYPE_V4);
    ip_addr_t addr;
    IP_ADDR4(&addr, 192, 168, 0, 1);
    assert_int_equal(udp_bind(u, &addr, 5683), ERR_OK);
    struct udp_pcb *client = udp_new_ip_type(IPADDR_TYPE_V4);
    ip_addr_t server;
    IP_ADDR4(&server, 192, 168, 0, 9);
    assert_int_equal(udp_connect(client, &server, 53), ERR_OK); /* not a listener */

    vigil_listener_t l[4];
    size_t n = 0;
    while (n < 4 && vigil_lwip_listener_at(NULL, n, &l[n]))
        n++;
    tcp_close(listening);
    udp_remove(u);
    udp_remove(client);

    static const uint8_t zeros[16], v4[16] = { 192, 168, 0, 1 };
    assert_int_equal(n, 3);
    assert_int_equal(l[0].proto, VIGIL_PROTO_TCP);
    assert_int_equal(l[0].family, 4);
    assert_int_equal(l[0].port, 8080);
    assert_memory_equal(l[0].addr, zeros, 16);
    assert_int_equal(l[1].proto, VIGIL_PROTO_TCP);
    assert_int_equal(l[1].family, 6);
    assert_int_equal(l[1].port, 8080);
    assert_int_equal(l[2].proto, VIGIL_PROTO_UDP);
    assert_int_equal(l[2].family, 4);
    assert_int_equal(l[2].port, 5683);
    assert_memory_equal(l[2].addr, v4, 16);
}

int main(void)
{
    /* lwIP without its tcpip thread: this test is the only thread, so it may
     * touch PCBs directly (a firmware would be in the tcpip thread). */
    lwip_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lwip_inbound_frames_are_observed_as_their_ip_packets,
                                        setup_netif, teardown_netif),
        cmocka_unit_test_setup_teardown(test_lwip_outbound_packets_count_whole_datagrams_from_headers,
                                        setup_netif, teardown_netif),
        cmocka_unit_test_setup_teardown(test_lwip_detach_restores_the_netif_functions,
                                        setup_netif, teardown_netif),
        cmocka_unit_test_setup_teardown(
            test_lwip_ipv6_packet_requeued_by_neighbour_discovery_is_observed_once,
            setup_ethernet_driver, teardown_netif),
        cmocka_unit_test_setup_teardown(test_lwip_detach_restores_the_driver_linkoutput,
                                        setup_ethernet_driver, teardown_netif),
        cmocka_unit_test(test_lwip_listeners_come_from_listen_and_unconnected_udp_pcbs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
