/*
 * lwip_device.c - vigil-lwip-device: an lwIP device (Debian's liblwip, the
 * tcpip thread, a tap interface) with libvigil attached through the lwIP
 * port adapter, a small workload on lwIP's raw API (workload.c), and its
 * reports handed to an outbox sink: --out FILE (outbox_sink.c) or --mqtt URL
 * (agent/port/linux/mqtt_uplink: libmosquitto on the host's sockets, with
 * the analyzer's end-to-end acks and its configuration).
 *
 * This file holds the options, the set-up of lwIP and libvigil, the poll
 * and the shutdown. The caller owns the network: the tap interface must
 * already exist (in the network namespace the device runs in); the device
 * never configures the host (Debian's tapif would run ifconfig on tap0
 * unless PRECONFIGURED_TAPIF names the tap, so --tap sets it, always).
 *
 * --netns NAME: the tap lives in the network namespace NAME while the
 * device starts in another (the host's, where the broker is): the MQTT
 * uplink's thread is started first and stays there; then the main thread
 * alone moves into NAME (network namespaces are per thread) before lwIP
 * starts, so the tap and lwIP's threads are in NAME.
 *
 * It must never lose a report it made: SIGINT/SIGTERM close the period and
 * hand the last report to the sink before exit (with --mqtt it then waits up
 * to --ack-timeout for the analyzer's ack). Exit 0 on a clean stop (with
 * --mqtt: every report acknowledged), 1 when the sink failed or reports
 * were left unacknowledged, 2 on bad usage or a set-up that failed.
 */
/* _DEFAULT_SOURCE comes from vigil_lwip; setns() needs _GNU_SOURCE. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/utsname.h>
#include <time.h>

#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/tcpip.h"
#include "lwip/timeouts.h"
#include "netif/tapif.h"

#include "vigil.h"
#include "vigil_lwip.h"

#include "mqtt_uplink.h"
#include "outbox_sink.h"
#include "workload.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define INTERVAL_MAX 3600u
#define POLL_MS 1000u
#define MAX_CONNECT_EVERY 3600u
#define ACK_TIMEOUT_DEFAULT 5u  /* seconds to wait for acks at start and stop */
#define PUMP_SLEEP_MS 100u

typedef struct {
    const char *tap;
    const char *device_id;
    const char *out_path;
    bool have_ip4;
    ip4_addr_t ip4, mask4, gw4;
    bool have_ip6;
    ip6_addr_t ip6;
    uint32_t interval;
    uint32_t connect_every;     /* seconds between client rounds */
    uint16_t listen_port;
    uint32_t boot_id;
    bool boot_id_given;
    workload_target_t targets[WORKLOAD_MAX_TARGETS];
    size_t target_count;
    const char *netns;
    const char *mqtt_url;
    const char *mqtt_user;
    const char *mqtt_password_file;
    const char *mqtt_client_id;
    const char *mqtt_cafile;
    const char *mqtt_cert;
    const char *mqtt_key;
    uint32_t resend;            /* 0: the uplink's default */
    uint32_t ack_timeout;
} options_t;

/* Everything the tcpip thread and main share; static because libvigil's
 * context is large. */
static struct {
    vigil_ctx_t ctx;
    vigil_lwip_t vl;
    vigil_lwip_netif_t slot;
    struct netif netif;
    workload_t workload;
    outbox_sink_t sink;
    report_file_t file;
    mqtt_uplink_t *uplink;
    uint32_t boot_id;
    struct utsname uts;
    vigil_sysinfo_t sysinfo;
    vigil_port_t port;
    volatile sig_atomic_t sink_failed;
} dev;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vigil-lwip-device --tap NAME --device-id ID (--out FILE | --mqtt URL)\n"
            "                         [--ip4 A/LEN [--gw4 G]] [--ip6 A/64] [options]\n"
            "\n"
            "  --tap NAME           an existing tap interface (ip tuntap add NAME mode tap)\n"
            "  --ip4 A/LEN          lwIP's IPv4 address and prefix length\n"
            "  --gw4 G              IPv4 gateway\n"
            "  --ip6 A/64           a global IPv6 address (lwIP 2.1 treats prefixes as /64)\n"
            "  --device-id ID       the device id carried in every report\n"
            "  --out FILE           write length-prefixed CBOR reports here ('-': stdout)\n"
            "  --interval S         report interval, 1..%u seconds (default 60)\n"
            "  --listen PORT        run a TCP echo server on PORT (IPv4 and IPv6)\n"
            "  --connect SPEC       tcp:ADDR:PORT, udp:ADDR:PORT or icmp:ADDR, every round\n"
            "                       (repeat, up to %d; IPv6 as ADDR or [ADDR])\n"
            "  --connect-every S    seconds between client rounds, 1..%u (default 1)\n"
            "  --boot-id N          boot id (default random)\n"
            "  --netns NAME         the tap is in network namespace NAME (/run/netns/NAME, or\n"
            "                       a path); MQTT stays in the namespace started in\n"
            "  --mqtt URL           publish to a broker instead of --out: mqtt://host[:port]\n"
            "                       or mqtts://host[:port]; reports are released only when\n"
            "                       the analyzer acknowledges them (proto/mqtt.md)\n"
            "  --mqtt-user U        user name\n"
            "  --mqtt-password-file F  the password is the first line of F\n"
            "  --mqtt-client-id ID  MQTT client id (default: the device id)\n"
            "  --mqtt-cafile F      mqtts: CA certificates (default: the system's)\n"
            "  --mqtt-cert F --mqtt-key F  mqtts: client certificate and key\n"
            "  --resend S           re-send unacknowledged reports after S seconds\n"
            "  --ack-timeout S      wait up to S s for the broker at start and for the last\n"
            "                       acks at stop (default %u)\n",
            INTERVAL_MAX, WORKLOAD_MAX_TARGETS, MAX_CONNECT_EVERY, ACK_TIMEOUT_DEFAULT);
}

static bool parse_u32(const char *text, uint32_t min, uint32_t max, uint32_t *out)
{
    if (!text || !*text || *text == '-' || *text == '+')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* "A/LEN": the address part into buf (bounded), the length into *len. */
static bool split_prefix(const char *text, char *buf, size_t buf_len, uint32_t max_len,
                         uint32_t *len)
{
    const char *slash = strchr(text, '/');
    if (!slash || (size_t)(slash - text) >= buf_len || slash == text)
        return false;
    memcpy(buf, text, (size_t)(slash - text));
    buf[slash - text] = '\0';
    return parse_u32(slash + 1, 0, max_len, len);
}

static bool parse_ip4(const char *text, ip4_addr_t *out)
{
    ip_addr_t a;
    if (!workload_parse_addr(text, strlen(text), &a) || !IP_IS_V4_VAL(a))
        return false;
    ip4_addr_copy(*out, *ip_2_ip4(&a));
    return true;
}

static bool parse_ip6(const char *text, ip6_addr_t *out)
{
    ip_addr_t a;
    if (!workload_parse_addr(text, strlen(text), &a) || !IP_IS_V6_VAL(a))
        return false;
    ip6_addr_copy(*out, *ip_2_ip6(&a));
    return true;
}

static int parse_options(int argc, char **argv, options_t *o)
{
    enum { OPT_TAP = 256, OPT_IP4, OPT_GW4, OPT_IP6, OPT_ID, OPT_OUT, OPT_INTERVAL,
           OPT_LISTEN, OPT_CONNECT, OPT_EVERY, OPT_BOOT, OPT_NETNS, OPT_MQTT, OPT_MQTT_USER,
           OPT_MQTT_PWFILE, OPT_MQTT_CLIENT, OPT_MQTT_CAFILE, OPT_MQTT_CERT, OPT_MQTT_KEY,
           OPT_RESEND, OPT_ACK_TIMEOUT, OPT_HELP };
    static const struct option longopts[] = {
        {"tap", required_argument, NULL, OPT_TAP},
        {"ip4", required_argument, NULL, OPT_IP4},
        {"gw4", required_argument, NULL, OPT_GW4},
        {"ip6", required_argument, NULL, OPT_IP6},
        {"device-id", required_argument, NULL, OPT_ID},
        {"out", required_argument, NULL, OPT_OUT},
        {"interval", required_argument, NULL, OPT_INTERVAL},
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"connect", required_argument, NULL, OPT_CONNECT},
        {"connect-every", required_argument, NULL, OPT_EVERY},
        {"boot-id", required_argument, NULL, OPT_BOOT},
        {"netns", required_argument, NULL, OPT_NETNS},
        {"mqtt", required_argument, NULL, OPT_MQTT},
        {"mqtt-user", required_argument, NULL, OPT_MQTT_USER},
        {"mqtt-password-file", required_argument, NULL, OPT_MQTT_PWFILE},
        {"mqtt-client-id", required_argument, NULL, OPT_MQTT_CLIENT},
        {"mqtt-cafile", required_argument, NULL, OPT_MQTT_CAFILE},
        {"mqtt-cert", required_argument, NULL, OPT_MQTT_CERT},
        {"mqtt-key", required_argument, NULL, OPT_MQTT_KEY},
        {"resend", required_argument, NULL, OPT_RESEND},
        {"ack-timeout", required_argument, NULL, OPT_ACK_TIMEOUT},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->interval = 60;
    o->connect_every = 1;
    o->ack_timeout = ACK_TIMEOUT_DEFAULT;
    bool mqtt_only = false;     /* an option that means nothing without --mqtt */

    char buf[64], why[128];
    uint32_t v;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_TAP: o->tap = optarg; break;
        case OPT_NETNS: o->netns = optarg; break;
        case OPT_MQTT: o->mqtt_url = optarg; break;
        case OPT_MQTT_USER: o->mqtt_user = optarg; mqtt_only = true; break;
        case OPT_MQTT_PWFILE: o->mqtt_password_file = optarg; mqtt_only = true; break;
        case OPT_MQTT_CLIENT: o->mqtt_client_id = optarg; mqtt_only = true; break;
        case OPT_MQTT_CAFILE: o->mqtt_cafile = optarg; mqtt_only = true; break;
        case OPT_MQTT_CERT: o->mqtt_cert = optarg; mqtt_only = true; break;
        case OPT_MQTT_KEY: o->mqtt_key = optarg; mqtt_only = true; break;
        case OPT_RESEND:
            if (!parse_u32(optarg, 1, 3600, &o->resend)) {
                fprintf(stderr, "vigil-lwip-device: --resend must be 1..3600 seconds\n");
                return EXIT_USAGE;
            }
            mqtt_only = true;
            break;
        case OPT_ACK_TIMEOUT:
            if (!parse_u32(optarg, 1, 3600, &o->ack_timeout)) {
                fprintf(stderr, "vigil-lwip-device: --ack-timeout must be 1..3600 seconds\n");
                return EXIT_USAGE;
            }
            mqtt_only = true;
            break;
        case OPT_ID: o->device_id = optarg; break;
        case OPT_OUT: o->out_path = optarg; break;
        case OPT_IP4:
            if (!split_prefix(optarg, buf, sizeof buf, 32, &v) || !parse_ip4(buf, &o->ip4)) {
                fprintf(stderr, "vigil-lwip-device: --ip4 '%s': expected A.B.C.D/LEN\n", optarg);
                return EXIT_USAGE;
            }
            ip4_addr_set_u32(&o->mask4, v == 0 ? 0 : lwip_htonl(0xffffffffu << (32 - v)));
            o->have_ip4 = true;
            break;
        case OPT_GW4:
            if (!parse_ip4(optarg, &o->gw4)) {
                fprintf(stderr, "vigil-lwip-device: --gw4 '%s': expected A.B.C.D\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case OPT_IP6:
            if (!split_prefix(optarg, buf, sizeof buf, 128, &v) || !parse_ip6(buf, &o->ip6)) {
                fprintf(stderr, "vigil-lwip-device: --ip6 '%s': expected an IPv6 address/LEN\n",
                        optarg);
                return EXIT_USAGE;
            }
            if (v != 64) {
                fprintf(stderr, "vigil-lwip-device: --ip6 '%s': lwIP 2.1 puts every address "
                        "in a /64; give /64\n", optarg);
                return EXIT_USAGE;
            }
            if (ip6_addr_islinklocal(&o->ip6) || ip6_addr_ismulticast(&o->ip6) ||
                ip6_addr_isany(&o->ip6)) {
                fprintf(stderr, "vigil-lwip-device: --ip6 '%s': give a global unicast address "
                        "(the link-local one is made from the MAC)\n", optarg);
                return EXIT_USAGE;
            }
            o->have_ip6 = true;
            break;
        case OPT_INTERVAL:
            if (!parse_u32(optarg, 1, INTERVAL_MAX, &o->interval)) {
                fprintf(stderr, "vigil-lwip-device: --interval must be 1..%u\n", INTERVAL_MAX);
                return EXIT_USAGE;
            }
            break;
        case OPT_LISTEN:
            if (!parse_u32(optarg, 1, 65535, &v)) {
                fprintf(stderr, "vigil-lwip-device: --listen must be a port 1..65535\n");
                return EXIT_USAGE;
            }
            o->listen_port = (uint16_t)v;
            break;
        case OPT_CONNECT:
            if (o->target_count == WORKLOAD_MAX_TARGETS) {
                fprintf(stderr, "vigil-lwip-device: at most %d --connect options\n",
                        WORKLOAD_MAX_TARGETS);
                return EXIT_USAGE;
            }
            if (!workload_parse_target(optarg, &o->targets[o->target_count], why, sizeof why)) {
                fprintf(stderr, "vigil-lwip-device: --connect '%s': %s\n", optarg, why);
                return EXIT_USAGE;
            }
            o->target_count++;
            break;
        case OPT_EVERY:
            if (!parse_u32(optarg, 1, MAX_CONNECT_EVERY, &o->connect_every)) {
                fprintf(stderr, "vigil-lwip-device: --connect-every must be 1..%u\n",
                        MAX_CONNECT_EVERY);
                return EXIT_USAGE;
            }
            break;
        case OPT_BOOT:
            if (!parse_u32(optarg, 0, UINT32_MAX, &o->boot_id)) {
                fprintf(stderr, "vigil-lwip-device: --boot-id must be 0..4294967295\n");
                return EXIT_USAGE;
            }
            o->boot_id_given = true;
            break;
        case OPT_HELP:
            usage(stdout);
            exit(0);
        default:
            fprintf(stderr, "vigil-lwip-device: unknown or incomplete option '%s'\n",
                    argv[optind - 1]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vigil-lwip-device: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (!o->tap || !*o->tap || strlen(o->tap) >= 16) {
        fprintf(stderr, "vigil-lwip-device: --tap NAME is required (1..15 bytes)\n");
        return EXIT_USAGE;
    }
    if (!o->device_id || !*o->device_id || strlen(o->device_id) > VIGIL_DEVICE_ID_MAX) {
        fprintf(stderr, "vigil-lwip-device: --device-id is required (1..%d bytes)\n",
                VIGIL_DEVICE_ID_MAX);
        return EXIT_USAGE;
    }
    if (!o->out_path == !o->mqtt_url) {
        fprintf(stderr, "vigil-lwip-device: give exactly one of --out FILE ('-': stdout) and "
                "--mqtt URL\n");
        return EXIT_USAGE;
    }
    if (mqtt_only && !o->mqtt_url) {
        fprintf(stderr, "vigil-lwip-device: --mqtt-*, --resend and --ack-timeout need --mqtt "
                "URL\n");
        return EXIT_USAGE;
    }
    if (o->netns && (!*o->netns || strlen(o->netns) > 200)) {
        fprintf(stderr, "vigil-lwip-device: --netns needs a name or path (1..200 bytes)\n");
        return EXIT_USAGE;
    }
    if (!o->have_ip4 && !o->have_ip6) {
        fprintf(stderr, "vigil-lwip-device: give --ip4 and/or --ip6\n");
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < o->target_count; i++) {
        bool v6 = IP_IS_V6_VAL(o->targets[i].addr);
        if ((v6 && !o->have_ip6) || (!v6 && !o->have_ip4)) {
            fprintf(stderr, "vigil-lwip-device: --connect %zu is IPv%c but the device has no "
                    "such address\n", i + 1, v6 ? '6' : '4');
            return EXIT_USAGE;
        }
    }
    return 0;
}

/* The device clock: wall-clock seconds, as vigil-agent reports live. */
static uint32_t device_now(void)
{
    return (uint32_t)time(NULL);
}

static uint32_t random_boot_id(void)
{
    uint32_t v = 0;
    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v)
        v = (uint32_t)time(NULL) ^ ((uint32_t)clock() << 16);
    return v;
}

/* The --mqtt sink: publishes new reports, applies acks and configurations.
 * The pump only queues for libmosquitto's thread: it never waits. */
static bool mqtt_drain(void *user, vigil_ctx_t *ctx)
{
    (void)user;
    if (mqtt_uplink_pump(dev.uplink, ctx, dev.boot_id, mqtt_uplink_now()))
        return true;
    fprintf(stderr, "vigil-lwip-device: mqtt: the uplink failed for good\n");
    return false;
}

/*
 * The transport hook point: an outbox_sink_t per transport. The MQTT uplink
 * runs on the host's sockets in the namespace the device started in (see
 * --netns), not through lwIP (agent/port/lwip/README.md says why).
 */
static bool select_sink(const options_t *o)
{
    if (o->mqtt_url) {
        char err[256];
        mqtt_uplink_options_t mo;
        memset(&mo, 0, sizeof mo);
        mo.url = o->mqtt_url;
        mo.device_id = o->device_id;
        mo.client_id = o->mqtt_client_id;
        mo.username = o->mqtt_user;
        mo.password_file = o->mqtt_password_file;
        mo.cafile = o->mqtt_cafile;
        mo.certfile = o->mqtt_cert;
        mo.keyfile = o->mqtt_key;
        mo.resend_s = o->resend;
        /* The configuration start_device() gives libvigil. */
        vigil_config_default(&mo.config);
        mo.config.report_interval_s = o->interval;
        dev.uplink = mqtt_uplink_new(&mo, err, sizeof err);
        if (!dev.uplink) {
            fprintf(stderr, "vigil-lwip-device: --mqtt: %s\n", err);
            return false;
        }
        dev.sink.drain = mqtt_drain;
        dev.sink.user = NULL;
        return true;
    }
    if (!report_file_open(&dev.file, o->out_path)) {
        fprintf(stderr, "vigil-lwip-device: %s: %s\n", o->out_path, strerror(errno));
        return false;
    }
    dev.sink.drain = report_file_drain;
    dev.sink.user = &dev.file;
    return true;
}

/* Hands what waits in the outbox to the sink; under the adapter's lock. */
static void drain_outbox(void)
{
    vigil_lwip_lock(&dev.vl);
    bool ok = dev.sink.drain(dev.sink.user, &dev.ctx);
    vigil_lwip_unlock(&dev.vl);
    if (!ok)
        dev.sink_failed = 1;
}

/* Every second in the tcpip thread: close the period when due, drain. */
static void vigil_tick(void *arg)
{
    (void)arg;
    (void)vigil_lwip_poll(&dev.vl);
    drain_outbox();
    sys_timeout(POLL_MS, vigil_tick, NULL);
}

static void tcpip_ready(void *arg)
{
    sys_sem_signal((sys_sem_t *)arg);
}

static void fill_sysinfo(void)
{
    if (uname(&dev.uts) != 0)
        memset(&dev.uts, 0, sizeof dev.uts);
    dev.sysinfo.os_name = dev.uts.sysname[0] ? dev.uts.sysname : NULL;
    dev.sysinfo.os_version = dev.uts.release[0] ? dev.uts.release : NULL;
    dev.sysinfo.stack_name = "lwIP";
    dev.sysinfo.stack_version = LWIP_VERSION_STRING;
    dev.sysinfo.device_model = "vigil-lwip-device";
    dev.sysinfo.firmware_version = VIGIL_VERSION;
    dev.sysinfo.boot_time = device_now();
    dev.port.listener_at = vigil_lwip_listener_at;
    dev.port.sysinfo = &dev.sysinfo;
    dev.port.arg = NULL;
}

/* libvigil, the netif and the workload; with the tcpip core locked. */
static bool start_device(const options_t *o, uint32_t boot_id)
{
    char why[128];
    vigil_setup_t setup;
    memset(&setup, 0, sizeof setup);
    vigil_config_default(&setup.config);
    setup.config.report_interval_s = o->interval;
    setup.device_id = o->device_id;
    setup.boot_id = boot_id;
    setup.now = device_now();
    setup.port = &dev.port;
    if (vigil_init(&dev.ctx, &setup) != VIGIL_OK) {
        fprintf(stderr, "vigil-lwip-device: libvigil refused the set-up (device id not UTF-8?)\n");
        return false;
    }
    if (vigil_lwip_init(&dev.vl, &dev.ctx, device_now) != ERR_OK) {
        fprintf(stderr, "vigil-lwip-device: cannot make the adapter's mutex\n");
        return false;
    }
    /* tapif_init opens the tap (it exits the process if it cannot) and starts
     * its reader thread, which calls netif->input for every frame. */
    if (!netif_add(&dev.netif, o->have_ip4 ? &o->ip4 : NULL, o->have_ip4 ? &o->mask4 : NULL,
                   o->have_ip4 ? &o->gw4 : NULL, NULL, tapif_init, tcpip_input)) {
        fprintf(stderr, "vigil-lwip-device: netif_add on %s failed\n", o->tap);
        return false;
    }
    /* Before the netif is up, so the first packet is seen. */
    if (vigil_lwip_attach(&dev.vl, &dev.slot, &dev.netif) != ERR_OK) {
        fprintf(stderr, "vigil-lwip-device: cannot attach libvigil to the netif\n");
        return false;
    }
    if (o->have_ip6) {
        /* Both addresses preferred at once: the namespace is ours, so
         * duplicate address detection would only delay the first packets. */
        netif_create_ip6_linklocal_address(&dev.netif, 1);
        netif_ip6_addr_set_state(&dev.netif, 0, IP6_ADDR_PREFERRED);
        s8_t idx;
        if (netif_add_ip6_address(&dev.netif, &o->ip6, &idx) != ERR_OK) {
            fprintf(stderr, "vigil-lwip-device: cannot add the IPv6 address\n");
            return false;
        }
        netif_ip6_addr_set_state(&dev.netif, idx, IP6_ADDR_PREFERRED);
    }
    netif_set_default(&dev.netif);
    netif_set_up(&dev.netif);
    if (!workload_start(&dev.workload, o->listen_port, o->targets, o->target_count,
                        o->connect_every * 1000u, why, sizeof why)) {
        fprintf(stderr, "vigil-lwip-device: workload: %s\n", why);
        return false;
    }
    /* Half a round after the clients: a period then rarely closes between a
     * request and its reply, which would open the reply's period with an
     * inbound packet (libvigil judges the initiator per period). */
    sys_timeout(POLL_MS + POLL_MS / 2, vigil_tick, NULL);
    return true;
}

/* SIGINT/SIGTERM: stop the clients, close the period, hand over the last
 * report. The server keeps listening so the last report lists it. */
static void stop_device(void)
{
    LOCK_TCPIP_CORE();
    sys_untimeout(vigil_tick, NULL);
    workload_stop_clients(&dev.workload);
    vigil_lwip_lock(&dev.vl);
    (void)vigil_flush(&dev.ctx, device_now());
    vigil_lwip_unlock(&dev.vl);
    drain_outbox();
    UNLOCK_TCPIP_CORE();
}

/* Moves this thread (only) into the namespace that holds the tap. */
static bool enter_netns(const char *name)
{
    char path[256];
    if (strchr(name, '/'))
        snprintf(path, sizeof path, "%s", name);
    else
        snprintf(path, sizeof path, "/run/netns/%s", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "vigil-lwip-device: --netns %s: %s\n", path, strerror(errno));
        return false;
    }
    int rc = setns(fd, CLONE_NEWNET);
    int saved = errno;
    close(fd);
    if (rc != 0) {
        fprintf(stderr, "vigil-lwip-device: --netns %s: setns: %s\n", path, strerror(saved));
        return false;
    }
    return true;
}

/* --mqtt at stop: pump until every report is acknowledged or the time is up. */
static void wait_for_acks(uint32_t seconds)
{
    time_t deadline = mqtt_uplink_now() + (time_t)seconds;
    for (;;) {
        vigil_lwip_lock(&dev.vl);
        bool ok = mqtt_uplink_pump(dev.uplink, &dev.ctx, dev.boot_id, mqtt_uplink_now());
        size_t held = vigil_outbox_count(&dev.ctx);
        vigil_lwip_unlock(&dev.vl);
        if (!ok || held == 0 || mqtt_uplink_now() >= deadline)
            return;
        struct timespec pause = {0, (long)PUMP_SLEEP_MS * 1000000L};
        nanosleep(&pause, NULL);
    }
}

/* True when every report made was acknowledged. */
static bool mqtt_summary(void)
{
    mqtt_uplink_stats_t st;
    mqtt_uplink_stats(dev.uplink, &st);
    vigil_lwip_lock(&dev.vl);
    unsigned made = vigil_counter(&dev.ctx, VIGIL_CNT_REPORTS);
    unsigned dropped = vigil_counter(&dev.ctx, VIGIL_CNT_OUTBOX_DROPPED);
    size_t held = vigil_outbox_count(&dev.ctx);
    vigil_lwip_unlock(&dev.vl);
    fprintf(stderr,
            "vigil-lwip-device: mqtt: %u reports made, %llu published, %llu re-sent, "
            "%llu acknowledged, %zu still held, %u dropped; configurations: %llu applied, "
            "%llu rejected; %llu connections, %llu lost\n",
            made, st.published, st.republished, st.released, held, dropped,
            st.configs_applied, st.configs_rejected, st.connects, st.connection_losses);
    return held == 0 && dropped == 0;
}

static void print_summary(void)
{
    const workload_stats_t *s = &dev.workload.stats;
    fprintf(stderr,
            "vigil-lwip-device: tcp %llu attempts, %llu connected, %llu failed, %llu skipped; "
            "udp %llu sent, %llu failed, %llu received; icmp %llu sent, %llu failed, "
            "%llu replies; server %llu accepted, %llu bytes echoed\n",
            s->tcp_attempts, s->tcp_connected, s->tcp_failed, s->tcp_skipped, s->udp_sent,
            s->udp_failed, s->udp_received, s->pings_sent, s->pings_failed, s->pongs,
            s->accepted, s->echoed_bytes);
    if (!dev.uplink)
        fprintf(stderr, "vigil-lwip-device: %llu reports written to %s\n", dev.file.reports,
                dev.file.path);
}

int main(int argc, char **argv)
{
    static options_t o;
    signal(SIGPIPE, SIG_IGN);
    int rc = parse_options(argc, argv, &o);
    if (rc != 0)
        return rc;
    uint32_t boot_id = o.boot_id_given ? o.boot_id : random_boot_id();
    dev.boot_id = boot_id;

    /* Debian's tapif reads the tap's name from PRECONFIGURED_TAPIF; without
     * it, it would open tap0 and run ifconfig on it. */
    if (setenv("PRECONFIGURED_TAPIF", o.tap, 1) != 0) {
        fprintf(stderr, "vigil-lwip-device: setenv: %s\n", strerror(errno));
        return EXIT_USAGE;
    }
    /* Signals are taken by sigtimedwait() in this thread only: block them
     * before libmosquitto and lwIP start their threads, which inherit the mask. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

    if (!select_sink(&o))
        return EXIT_USAGE;
    if (dev.uplink && !mqtt_uplink_wait_ready(dev.uplink, o.ack_timeout * 1000u))
        fprintf(stderr, "vigil-lwip-device: %s not reached within %u s: reports wait in the "
                "outbox meanwhile\n", o.mqtt_url, (unsigned)o.ack_timeout);
    /* After the uplink's thread started: it stays in this namespace. */
    if (o.netns && !enter_netns(o.netns)) {
        mqtt_uplink_free(dev.uplink);
        return EXIT_USAGE;
    }
    /* tapif's TUNSETIFF would quietly make a new, unconfigured tap. */
    if (if_nametoindex(o.tap) == 0) {
        fprintf(stderr, "vigil-lwip-device: no interface %s in this network namespace (make it "
                "with: ip tuntap add dev %s mode tap)\n", o.tap, o.tap);
        report_file_close(&dev.file);
        mqtt_uplink_free(dev.uplink);
        return EXIT_USAGE;
    }
    fill_sysinfo();

    sys_sem_t ready;
    if (sys_sem_new(&ready, 0) != ERR_OK) {
        fprintf(stderr, "vigil-lwip-device: cannot make a semaphore\n");
        return EXIT_USAGE;
    }
    tcpip_init(tcpip_ready, &ready);
    sys_sem_wait(&ready);
    sys_sem_free(&ready);

    LOCK_TCPIP_CORE();
    bool started = start_device(&o, boot_id);
    UNLOCK_TCPIP_CORE();
    if (!started) {
        report_file_close(&dev.file);
        mqtt_uplink_free(dev.uplink);
        return EXIT_USAGE;
    }
    fprintf(stderr, "vigil-lwip-device: %s up on %s (lwIP %s), boot id %u\n", o.device_id, o.tap,
            LWIP_VERSION_STRING, (unsigned)boot_id);

    const struct timespec second = {1, 0};
    for (;;) {
        int sig = sigtimedwait(&stop_signals, NULL, &second);
        if (sig == SIGINT || sig == SIGTERM)
            break;
        if (dev.sink_failed)
            break;
    }
    stop_device();
    rc = dev.sink_failed ? EXIT_FAILED : 0;
    if (dev.uplink) {
        wait_for_acks(o.ack_timeout);
        print_summary();
        if (!mqtt_summary())
            rc = EXIT_FAILED;
        mqtt_uplink_free(dev.uplink);
        return rc;
    }
    if (!report_file_close(&dev.file))
        rc = EXIT_FAILED;
    print_summary();
    /* lwIP's threads never return; exit() ends them with the process. */
    return rc;
}
