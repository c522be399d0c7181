/*
 * test_agent_tool.c - unit tests of vigil-agent's parts: link-layer
 * stripping, capture files that are corrupt, the inbound/outbound decision,
 * /proc/net parsing, listeners inferred from traffic and os-release parsing.
 *
 * Tests write their capture files to a temporary directory and never touch
 * the network.
 */
#define _DEFAULT_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include "device_addrs.h"
#include "listeners.h"
#include "pcap_source.h"
#include "sysinfo.h"

/* ---- helpers ---------------------------------------------------------- */

static const uint8_t ipv4_udp[28] = {
    0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0,
    192, 0, 2, 10,  192, 0, 2, 20,
    0x1f, 0x90, 0x00, 0x35, 0, 8, 0, 0};

static size_t ether_frame(uint8_t *out, const uint16_t *types, size_t n_types,
                          const uint8_t *payload, size_t len)
{
    memset(out, 0xaa, 12);
    size_t off = 12;
    for (size_t i = 0; i < n_types; i++) {
        out[off] = (uint8_t)(types[i] >> 8);
        out[off + 1] = (uint8_t)types[i];
        off += 2;
        if (i + 1 < n_types) {  /* a VLAN tag's TCI */
            out[off] = 0;
            out[off + 1] = 100;
            off += 2;
        }
    }
    memcpy(out + off, payload, len);
    return off + len;
}

/* Writes a classic pcap file of `n` records of link type dlt. */
static void write_pcap(const char *path, int dlt, const uint8_t *const *frames,
                       const size_t *lens, size_t n)
{
    pcap_t *dead = pcap_open_dead(dlt, 65535);
    assert_non_null(dead);
    pcap_dumper_t *d = pcap_dump_open(dead, path);
    assert_non_null(d);
    for (size_t i = 0; i < n; i++) {
        struct pcap_pkthdr h;
        memset(&h, 0, sizeof h);
        h.ts.tv_sec = 1700000000 + (time_t)i;
        h.caplen = (bpf_u_int32)lens[i];
        h.len = (bpf_u_int32)lens[i];
        pcap_dump((u_char *)d, &h, frames[i]);
    }
    pcap_dump_close(d);
    pcap_close(dead);
}

static char tmpdir[64];

static int make_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/vigil-agent-test-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void tmp_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", tmpdir, name);
}

/* ---- link layer -------------------------------------------------------- */

static void test_ethernet_ip_starts_after_14_bytes(void **state)
{
    (void)state;
    uint8_t f[128];
    uint16_t types[] = {0x0800};
    size_t n = ether_frame(f, types, 1, ipv4_udp, sizeof ipv4_udp);
    link_packet_t p;
    link_strip(DLT_EN10MB, f, n, n + 4, &p);
    assert_int_equal(p.kind, LINK_IP);
    assert_ptr_equal(p.ip, f + 14);
    assert_int_equal(p.captured, sizeof ipv4_udp);
    assert_int_equal(p.length, sizeof ipv4_udp + 4);
}

static void test_ethernet_vlan_and_qinq_tags_are_skipped(void **state)
{
    (void)state;
    uint8_t f[128];
    uint16_t qinq[] = {0x88a8, 0x8100, 0x86dd};
    size_t n = ether_frame(f, qinq, 3, ipv4_udp, sizeof ipv4_udp);
    link_packet_t p;
    link_strip(DLT_EN10MB, f, n, n, &p);
    assert_int_equal(p.kind, LINK_IP);
    assert_ptr_equal(p.ip, f + 22);
}

static void test_ethernet_arp_is_not_ip(void **state)
{
    (void)state;
    uint8_t f[128];
    uint16_t arp[] = {0x8100, 0x0806};
    size_t n = ether_frame(f, arp, 2, ipv4_udp, sizeof ipv4_udp);
    link_packet_t p;
    link_strip(DLT_EN10MB, f, n, n, &p);
    assert_int_equal(p.kind, LINK_NON_IP);
}

static void test_ethernet_cut_inside_its_tags_is_truncated(void **state)
{
    (void)state;
    uint8_t f[128];
    uint16_t tags[] = {0x8100, 0x0800};
    ether_frame(f, tags, 2, ipv4_udp, sizeof ipv4_udp);
    link_packet_t p;
    link_strip(DLT_EN10MB, f, 15, 60, &p);
    assert_int_equal(p.kind, LINK_TRUNCATED);
    link_strip(DLT_EN10MB, f, 5, 60, &p);
    assert_int_equal(p.kind, LINK_TRUNCATED);
}

static void test_linux_cooked_v1_and_v2(void **state)
{
    (void)state;
    uint8_t f[128];
    memset(f, 0, sizeof f);
    f[14] = 0x08;  /* SLL: protocol at 14 */
    memcpy(f + 16, ipv4_udp, sizeof ipv4_udp);
    link_packet_t p;
    link_strip(DLT_LINUX_SLL, f, 16 + sizeof ipv4_udp, 16 + sizeof ipv4_udp, &p);
    assert_int_equal(p.kind, LINK_IP);
    assert_ptr_equal(p.ip, f + 16);

    memset(f, 0, sizeof f);
    f[0] = 0x86;   /* SLL2: protocol at 0 */
    f[1] = 0xdd;
    memcpy(f + 20, ipv4_udp, sizeof ipv4_udp);
    link_strip(DLT_LINUX_SLL2, f, 20 + sizeof ipv4_udp, 20 + sizeof ipv4_udp, &p);
    assert_int_equal(p.kind, LINK_IP);
    assert_ptr_equal(p.ip, f + 20);

    f[0] = 0x08;
    f[1] = 0x06;   /* ARP */
    link_strip(DLT_LINUX_SLL2, f, 40, 40, &p);
    assert_int_equal(p.kind, LINK_NON_IP);
    link_strip(DLT_LINUX_SLL2, f, 19, 40, &p);
    assert_int_equal(p.kind, LINK_TRUNCATED);
}

static void test_raw_ip_and_bsd_loopback(void **state)
{
    (void)state;
    link_packet_t p;
    link_strip(DLT_RAW, ipv4_udp, sizeof ipv4_udp, sizeof ipv4_udp, &p);
    assert_int_equal(p.kind, LINK_IP);
    assert_ptr_equal(p.ip, ipv4_udp);

    uint8_t f[64];
    f[0] = 2; f[1] = 0; f[2] = 0; f[3] = 0;   /* AF_INET, little-endian writer */
    memcpy(f + 4, ipv4_udp, sizeof ipv4_udp);
    link_strip(DLT_NULL, f, 4 + sizeof ipv4_udp, 4 + sizeof ipv4_udp, &p);
    assert_int_equal(p.kind, LINK_IP);
    assert_ptr_equal(p.ip, f + 4);
    f[0] = 0; f[3] = 30;                        /* AF_INET6 (Darwin), network order */
    link_strip(DLT_LOOP, f, 4 + sizeof ipv4_udp, 4 + sizeof ipv4_udp, &p);
    assert_int_equal(p.kind, LINK_IP);
    f[3] = 7;
    link_strip(DLT_LOOP, f, 4 + sizeof ipv4_udp, 4 + sizeof ipv4_udp, &p);
    assert_int_equal(p.kind, LINK_NON_IP);
}

static void test_record_claiming_less_on_the_wire_than_captured(void **state)
{
    (void)state;
    uint8_t f[128];
    uint16_t types[] = {0x0800};
    size_t n = ether_frame(f, types, 1, ipv4_udp, sizeof ipv4_udp);
    link_packet_t p;
    link_strip(DLT_EN10MB, f, n, 3, &p);  /* corrupt: len < caplen < header */
    assert_int_equal(p.kind, LINK_IP);
    assert_int_equal(p.captured, sizeof ipv4_udp);
    assert_int_equal(p.length, sizeof ipv4_udp);
}

/* ---- capture files ----------------------------------------------------- */

static void test_capture_file_packets_come_out_in_order(void **state)
{
    (void)state;
    char path[128];
    tmp_path(path, sizeof path, "two.pcap");
    const uint8_t *frames[] = {ipv4_udp, ipv4_udp};
    size_t lens[] = {sizeof ipv4_udp, 10};
    write_pcap(path, DLT_RAW, frames, lens, 2);

    char err[256];
    pcap_source_t *src = pcap_source_open_file(path, err, sizeof err);
    assert_non_null(src);
    link_packet_t p;
    assert_int_equal(pcap_source_next(src, &p), SOURCE_PACKET);
    assert_int_equal(p.ts, 1700000000u);
    assert_int_equal(p.captured, sizeof ipv4_udp);
    assert_int_equal(pcap_source_next(src, &p), SOURCE_PACKET);
    assert_int_equal(p.ts, 1700000001u);
    assert_int_equal(p.captured, 10);
    assert_int_equal(pcap_source_next(src, &p), SOURCE_END);
    assert_int_equal(pcap_source_take_dropped(src), 0);
    pcap_source_close(src);
}

static void test_unsupported_link_type_is_refused_by_name(void **state)
{
    (void)state;
    char path[128];
    tmp_path(path, sizeof path, "ieee80211.pcap");
    const uint8_t *frames[] = {ipv4_udp};
    size_t lens[] = {sizeof ipv4_udp};
    write_pcap(path, DLT_IEEE802_11, frames, lens, 1);
    char err[256] = "";
    assert_null(pcap_source_open_file(path, err, sizeof err));
    assert_non_null(strstr(err, "unsupported link type"));
    assert_non_null(strstr(err, "IEEE802_11"));
}

static void test_garbage_and_missing_files_give_an_error(void **state)
{
    (void)state;
    char path[128];
    tmp_path(path, sizeof path, "garbage.pcap");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("this is not a capture file at all", f);
    fclose(f);
    char err[256] = "";
    assert_null(pcap_source_open_file(path, err, sizeof err));
    assert_true(strlen(err) > 0);
    err[0] = '\0';
    tmp_path(path, sizeof path, "does-not-exist.pcap");
    assert_null(pcap_source_open_file(path, err, sizeof err));
    assert_true(strlen(err) > 0);
}

static void test_capture_cut_inside_a_record_is_a_read_error(void **state)
{
    (void)state;
    char path[128];
    tmp_path(path, sizeof path, "cut.pcap");
    const uint8_t *frames[] = {ipv4_udp, ipv4_udp};
    size_t lens[] = {sizeof ipv4_udp, sizeof ipv4_udp};
    write_pcap(path, DLT_RAW, frames, lens, 2);
    assert_int_equal(truncate(path, 24 + 16 + 28 + 16 + 5), 0);

    char err[256];
    pcap_source_t *src = pcap_source_open_file(path, err, sizeof err);
    assert_non_null(src);
    link_packet_t p;
    assert_int_equal(pcap_source_next(src, &p), SOURCE_PACKET);
    assert_int_equal(pcap_source_next(src, &p), SOURCE_ERROR);
    assert_true(strlen(pcap_source_error(src)) > 0);
    pcap_source_close(src);
}

/* ---- device addresses --------------------------------------------------- */

static void test_direction_follows_the_device_addresses(void **state)
{
    (void)state;
    device_addrs_t set;
    memset(&set, 0, sizeof set);
    assert_true(device_addrs_add_text(&set, "192.0.2.10"));
    assert_true(device_addrs_add_text(&set, "2001:db8::10"));
    assert_true(device_addrs_add_text(&set, "192.0.2.10"));  /* duplicate */
    assert_int_equal(set.count, 2);
    assert_false(device_addrs_add_text(&set, "not-an-address"));

    assert_int_equal(device_addrs_classify(&set, ipv4_udp, sizeof ipv4_udp), PACKET_OUTBOUND);
    uint8_t in[28];
    memcpy(in, ipv4_udp, sizeof in);
    memcpy(in + 12, ipv4_udp + 16, 4);
    memcpy(in + 16, ipv4_udp + 12, 4);
    assert_int_equal(device_addrs_classify(&set, in, sizeof in), PACKET_INBOUND);
    in[15] = 99;
    in[19] = 98;
    assert_int_equal(device_addrs_classify(&set, in, sizeof in), PACKET_FOREIGN);
    assert_int_equal(device_addrs_classify(&set, ipv4_udp, 19), PACKET_UNREADABLE);
    assert_int_equal(device_addrs_classify(&set, ipv4_udp, 0), PACKET_UNREADABLE);
    uint8_t v6[40] = {0x60};
    assert_int_equal(device_addrs_classify(&set, v6, 39), PACKET_UNREADABLE);
    assert_int_equal(device_addrs_classify(&set, v6, 40), PACKET_FOREIGN);
}

/* ---- listeners ---------------------------------------------------------- */

static void test_proc_tcp_listen_line_gives_a_listener(void **state)
{
    (void)state;
    vigil_listener_t l;
    const char *listen = "   0: 0100007F:0277 00000000:0000 0A 00000000:00000000 00:00000000 "
                         "00000000     0        0 12345 1 0000000000000000 100 0 0 10 0\n";
    assert_true(listeners_parse_proc_line(listen, VIGIL_PROTO_TCP, 4, &l));
    assert_int_equal(l.port, 631);
    assert_int_equal(l.family, 4);
    /* The kernel prints the address word in host order: 127.0.0.1 here. */
    uint32_t word = 0x0100007Fu;
    assert_memory_equal(l.addr, &word, 4);
    const char *established = "   1: 0100007F:0277 0100007F:D431 01 00000000:00000000 00:00000000 "
                              "00000000     0        0 1 1\n";
    assert_false(listeners_parse_proc_line(established, VIGIL_PROTO_TCP, 4, &l));
}

static void test_proc_udp6_unconnected_socket_is_a_listener(void **state)
{
    (void)state;
    vigil_listener_t l;
    const char *any = "  5: 00000000000000000000000000000000:14E9 "
                      "00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 "
                      "00000000   108        0 2 2 0000000000000000 0\n";
    assert_true(listeners_parse_proc_line(any, VIGIL_PROTO_UDP, 6, &l));
    assert_int_equal(l.port, 5353);
    static const uint8_t zero[16];
    assert_memory_equal(l.addr, zero, 16);
    const char *connected = "  6: 00000000000000000000000000000000:14E9 "
                            "0000000000000000000000000100007F:0035 01 0:0 0:0 0 0 0 3 2\n";
    assert_false(listeners_parse_proc_line(connected, VIGIL_PROTO_UDP, 6, &l));
}

static void test_proc_garbage_lines_are_refused(void **state)
{
    (void)state;
    vigil_listener_t l;
    assert_false(listeners_parse_proc_line("", VIGIL_PROTO_TCP, 4, &l));
    assert_false(listeners_parse_proc_line("  sl  local_address rem_address   st", VIGIL_PROTO_TCP, 4, &l));
    assert_false(listeners_parse_proc_line("0: 0100007F:02", VIGIL_PROTO_TCP, 4, &l));
    assert_false(listeners_parse_proc_line("0: 0100007Z:0277 00000000:0000 0A", VIGIL_PROTO_TCP, 4, &l));
    assert_false(listeners_parse_proc_line("0: 0100007F:0277 00000000:0000", VIGIL_PROTO_TCP, 4, &l));
}

static void test_proc_files_are_read_from_the_given_directory(void **state)
{
    (void)state;
    char path[128];
    tmp_path(path, sizeof path, "tcp");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("  sl  local_address rem_address   st tx_queue rx_queue\n"
          "   0: 00000000:0016 00000000:0000 0A 0:0 0:0 0 0 0 1 1\n"
          "   1: 00000000:0016 00000000:0000 0A 0:0 0:0 0 0 0 1 1\n"  /* duplicate */
          "   2: 0A00000A:0016 0B00000A:C350 01 0:0 0:0 0 0 0 1 1\n", f);
    fclose(f);
    static listeners_t ls;
    listeners_init(&ls, LISTENERS_FROM_PROC, tmpdir);
    vigil_listener_t l;
    assert_true(listeners_at(&ls, 0, &l));
    assert_int_equal(l.port, 22);
    assert_int_equal(l.proto, VIGIL_PROTO_TCP);
    assert_false(listeners_at(&ls, 1, &l));
}

static void ipv4_packet(uint8_t *p, const char *src_last, uint8_t proto, uint16_t sport,
                        uint16_t dport, uint8_t tcp_flags)
{
    memset(p, 0, 40);
    p[0] = 0x45;
    p[3] = 40;
    p[9] = proto;
    uint8_t dev[4] = {192, 0, 2, 10}, peer[4] = {192, 0, 2, 20};
    bool from_dev = strcmp(src_last, "dev") == 0;
    memcpy(p + 12, from_dev ? dev : peer, 4);
    memcpy(p + 16, from_dev ? peer : dev, 4);
    p[20] = (uint8_t)(sport >> 8);
    p[21] = (uint8_t)sport;
    p[22] = (uint8_t)(dport >> 8);
    p[23] = (uint8_t)dport;
    p[33] = tcp_flags;
}

static void test_listeners_inferred_from_syn_ack_and_answered_udp(void **state)
{
    (void)state;
    static listeners_t ls;
    listeners_init(&ls, LISTENERS_FROM_TRAFFIC, NULL);
    uint8_t p[40];
    vigil_listener_t l;

    /* The device opens a TCP connection: no listener. Accepts one: listener. */
    ipv4_packet(p, "dev", 6, 40000, 443, 0x02);
    listeners_learn(&ls, true, p, sizeof p);
    ipv4_packet(p, "peer", 6, 443, 40000, 0x12);
    listeners_learn(&ls, false, p, sizeof p);
    assert_false(listeners_at(&ls, 0, &l));
    ipv4_packet(p, "dev", 6, 22, 50000, 0x12);
    listeners_learn(&ls, true, p, sizeof p);
    assert_true(listeners_at(&ls, 0, &l));
    assert_int_equal(l.proto, VIGIL_PROTO_TCP);
    assert_int_equal(l.port, 22);

    /* A UDP client asking twice from one port is no server... */
    ipv4_packet(p, "dev", 17, 41000, 53, 0);
    listeners_learn(&ls, true, p, sizeof p);
    ipv4_packet(p, "peer", 17, 53, 41000, 0);
    listeners_learn(&ls, false, p, sizeof p);
    ipv4_packet(p, "dev", 17, 41000, 53, 0);
    listeners_learn(&ls, true, p, sizeof p);
    assert_false(listeners_at(&ls, 1, &l));
    /* ...but answering a datagram from the port it came to is. */
    ipv4_packet(p, "peer", 17, 50001, 161, 0);
    listeners_learn(&ls, false, p, sizeof p);
    assert_false(listeners_at(&ls, 1, &l));
    ipv4_packet(p, "dev", 17, 161, 50001, 0);
    listeners_learn(&ls, true, p, sizeof p);
    assert_true(listeners_at(&ls, 1, &l));
    assert_int_equal(l.proto, VIGIL_PROTO_UDP);
    assert_int_equal(l.port, 161);

    /* Cut packets teach nothing and are never read past their end. */
    listeners_learn(&ls, true, p, 21);
    listeners_learn(&ls, true, p, 0);
    assert_false(listeners_at(&ls, 2, &l));
}

/* ---- sysinfo ------------------------------------------------------------ */

static void test_os_release_values_are_unquoted(void **state)
{
    (void)state;
    char v[64];
    const char *text = "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
                       "ID=debian\nVERSION_ID='12'";
    sysinfo_os_release_value(text, "PRETTY_NAME", v, sizeof v);
    assert_string_equal(v, "Debian GNU/Linux 12 (bookworm)");
    sysinfo_os_release_value(text, "ID", v, sizeof v);
    assert_string_equal(v, "debian");
    sysinfo_os_release_value(text, "VERSION_ID", v, sizeof v);
    assert_string_equal(v, "12");
    sysinfo_os_release_value(text, "MISSING", v, sizeof v);
    assert_string_equal(v, "");
    char small[5];
    sysinfo_os_release_value(text, "PRETTY_NAME", small, sizeof small);
    assert_string_equal(small, "Debi");
}

static void test_sysinfo_for_a_capture_says_capture(void **state)
{
    (void)state;
    static agent_sysinfo_t s;
    sysinfo_for_capture(&s, "Sensor X", NULL);
    assert_string_equal(s.info.os_name, "capture");
    assert_string_equal(s.info.device_model, "Sensor X");
    assert_null(s.info.firmware_version);
    sysinfo_from_host(&s, "/nonexistent-root", 1000);
    assert_string_equal(s.info.stack_name, "linux");
    assert_non_null(s.info.os_name);
    assert_null(s.info.device_model);
    assert_int_equal(s.info.boot_time, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ethernet_ip_starts_after_14_bytes),
        cmocka_unit_test(test_ethernet_vlan_and_qinq_tags_are_skipped),
        cmocka_unit_test(test_ethernet_arp_is_not_ip),
        cmocka_unit_test(test_ethernet_cut_inside_its_tags_is_truncated),
        cmocka_unit_test(test_linux_cooked_v1_and_v2),
        cmocka_unit_test(test_raw_ip_and_bsd_loopback),
        cmocka_unit_test(test_record_claiming_less_on_the_wire_than_captured),
        cmocka_unit_test(test_capture_file_packets_come_out_in_order),
        cmocka_unit_test(test_unsupported_link_type_is_refused_by_name),
        cmocka_unit_test(test_garbage_and_missing_files_give_an_error),
        cmocka_unit_test(test_capture_cut_inside_a_record_is_a_read_error),
        cmocka_unit_test(test_direction_follows_the_device_addresses),
        cmocka_unit_test(test_proc_tcp_listen_line_gives_a_listener),
        cmocka_unit_test(test_proc_udp6_unconnected_socket_is_a_listener),
        cmocka_unit_test(test_proc_garbage_lines_are_refused),
        cmocka_unit_test(test_proc_files_are_read_from_the_given_directory),
        cmocka_unit_test(test_listeners_inferred_from_syn_ack_and_answered_udp),
        cmocka_unit_test(test_os_release_values_are_unquoted),
        cmocka_unit_test(test_sysinfo_for_a_capture_says_capture),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
