/*
 * vigil_agent.c - vigil-agent: runs libvigil over a capture file or a live
 * interface and writes its reports to a file. This file holds the options
 * and the report file only: feeding libvigil is capture_agent.c, capture
 * reading pcap_source.c, the device's addresses device_addrs.c, listening
 * sockets listeners.c, system information sysinfo.c.
 *
 * Output: a sequence of records, each a 4-byte big-endian length followed by
 * one CBOR report, exactly what `vigil decode FILE` reads.
 *
 * It must never drop a report (the outbox is drained after every poll), and
 * never exit on bad input without saying why: exit 0 done, 1 the capture or
 * the output failed part-way (what was read is still reported), 2 bad usage
 * or a capture that cannot be opened.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "vigil.h"

#include "capture_agent.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define INTERVAL_MAX 3600u

typedef struct {
    const char *pcap_path;
    const char *iface;
    const char *device_id;
    const char *out_path;
    const char *model;
    const char *firmware;
    uint32_t interval;
    uint32_t boot_id;
    bool boot_id_given;
    uint32_t max_message;
    uint32_t duration;      /* live: 0 = until a signal */
    device_addrs_t addrs;
} options_t;

typedef struct {
    FILE *out;
    bool out_failed;
    unsigned long long unflushed;   /* reports written since the last flush */
    unsigned long long reports;     /* written and flushed */
} report_file_t;

/* Static: libvigil's context and the listener tables are large. */
static capture_agent_t agent;
static report_file_t file;
static pcap_source_t *volatile signal_source;
static volatile sig_atomic_t stop_requested;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vigil-agent (--pcap FILE | --iface NAME) --device-id ID --out FILE [options]\n"
            "\n"
            "  --pcap FILE          read a capture (pcap or pcapng; Ethernet, raw IP, Linux\n"
            "                       cooked v1/v2, BSD loopback); its timestamps are the clock\n"
            "  --iface NAME         capture live on an interface until SIGINT/SIGTERM\n"
            "  --device-addr ADDR   an address of the device (repeat for several); live\n"
            "                       default: the interface's own addresses\n"
            "  --device-id ID       the device id carried in every report\n"
            "  --out FILE           write length-prefixed CBOR reports here ('-': stdout)\n"
            "  --interval S         report interval, 1..%u seconds (default 60)\n"
            "  --boot-id N          boot id (default: from the device id for --pcap,\n"
            "                       random for --iface)\n"
            "  --max-message N      largest report in bytes, 512..%u\n"
            "  --duration S         live: stop after S seconds\n"
            "  --model TEXT         pcap: the device model to report\n"
            "  --firmware TEXT      pcap: the firmware version to report\n",
            INTERVAL_MAX, (unsigned)VIGIL_MAX_MESSAGE_SIZE);
}

static bool parse_u32(const char *text, uint32_t min, uint32_t max, uint32_t *out)
{
    if (!text || !*text || *text == '-' || *text == '+')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 0);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* Returns 0 when the options are usable, else EXIT_USAGE (message printed). */
static int parse_options(int argc, char **argv, options_t *o)
{
    enum { OPT_PCAP = 256, OPT_IFACE, OPT_ADDR, OPT_ID, OPT_OUT, OPT_INTERVAL, OPT_BOOT,
           OPT_MAXMSG, OPT_DURATION, OPT_MODEL, OPT_FIRMWARE, OPT_HELP };
    static const struct option longopts[] = {
        {"pcap", required_argument, NULL, OPT_PCAP},
        {"iface", required_argument, NULL, OPT_IFACE},
        {"device-addr", required_argument, NULL, OPT_ADDR},
        {"device-id", required_argument, NULL, OPT_ID},
        {"out", required_argument, NULL, OPT_OUT},
        {"interval", required_argument, NULL, OPT_INTERVAL},
        {"boot-id", required_argument, NULL, OPT_BOOT},
        {"max-message", required_argument, NULL, OPT_MAXMSG},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"model", required_argument, NULL, OPT_MODEL},
        {"firmware", required_argument, NULL, OPT_FIRMWARE},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->interval = 60;
    o->max_message = VIGIL_MAX_MESSAGE_SIZE;

    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_PCAP: o->pcap_path = optarg; break;
        case OPT_IFACE: o->iface = optarg; break;
        case OPT_ID: o->device_id = optarg; break;
        case OPT_OUT: o->out_path = optarg; break;
        case OPT_MODEL: o->model = optarg; break;
        case OPT_FIRMWARE: o->firmware = optarg; break;
        case OPT_ADDR:
            if (!device_addrs_add_text(&o->addrs, optarg)) {
                fprintf(stderr, "vigil-agent: --device-addr '%s': not an IPv4/IPv6 address "
                        "(or more than %d)\n", optarg, DEVICE_ADDRS_MAX);
                return EXIT_USAGE;
            }
            break;
        case OPT_INTERVAL:
            if (!parse_u32(optarg, 1, INTERVAL_MAX, &o->interval)) {
                fprintf(stderr, "vigil-agent: --interval must be 1..%u\n", INTERVAL_MAX);
                return EXIT_USAGE;
            }
            break;
        case OPT_BOOT:
            if (!parse_u32(optarg, 0, UINT32_MAX, &o->boot_id)) {
                fprintf(stderr, "vigil-agent: --boot-id must be 0..4294967295\n");
                return EXIT_USAGE;
            }
            o->boot_id_given = true;
            break;
        case OPT_MAXMSG:
            if (!parse_u32(optarg, 512, VIGIL_MAX_MESSAGE_SIZE, &o->max_message)) {
                fprintf(stderr, "vigil-agent: --max-message must be 512..%u\n",
                        (unsigned)VIGIL_MAX_MESSAGE_SIZE);
                return EXIT_USAGE;
            }
            break;
        case OPT_DURATION:
            if (!parse_u32(optarg, 1, UINT32_MAX, &o->duration)) {
                fprintf(stderr, "vigil-agent: --duration must be a positive number\n");
                return EXIT_USAGE;
            }
            break;
        case OPT_HELP:
            usage(stdout);
            exit(0);
        default:
            fprintf(stderr, "vigil-agent: unknown or incomplete option '%s'\n",
                    argv[optind - 1]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vigil-agent: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (!o->pcap_path == !o->iface) {
        fprintf(stderr, "vigil-agent: give exactly one of --pcap FILE and --iface NAME\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!o->device_id || !*o->device_id || strlen(o->device_id) > VIGIL_DEVICE_ID_MAX) {
        fprintf(stderr, "vigil-agent: --device-id is required (1..%d bytes)\n",
                VIGIL_DEVICE_ID_MAX);
        return EXIT_USAGE;
    }
    if (!o->out_path) {
        fprintf(stderr, "vigil-agent: --out FILE is required ('-' for stdout)\n");
        return EXIT_USAGE;
    }
    if (o->pcap_path && o->addrs.count == 0) {
        fprintf(stderr, "vigil-agent: --pcap needs at least one --device-addr\n");
        return EXIT_USAGE;
    }
    /* "any" captures every interface: the device is then every address. */
    if (o->iface && o->addrs.count == 0 &&
        !device_addrs_add_interface(&o->addrs, strcmp(o->iface, "any") == 0 ? NULL : o->iface)) {
        fprintf(stderr, "vigil-agent: interface %s has no IP address; give --device-addr\n",
                o->iface);
        return EXIT_USAGE;
    }
    return 0;
}

/* FNV-1a of the device id: the same capture and id give the same output. */
static uint32_t boot_id_from_device_id(const char *id)
{
    uint32_t h = 2166136261u;
    for (const char *p = id; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return h;
}

static uint32_t random_boot_id(void)
{
    uint32_t v = 0;
    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v)
        v = (uint32_t)time(NULL) ^ ((uint32_t)clock() << 16);
    return v;
}

static void write_record(const uint8_t *msg, size_t len)
{
    uint8_t prefix[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                         (uint8_t)len};
    if (file.out_failed)
        return;
    if (fwrite(prefix, 1, sizeof prefix, file.out) != sizeof prefix ||
        fwrite(msg, 1, len, file.out) != len) {
        fprintf(stderr, "vigil-agent: writing the reports failed: %s\n", strerror(errno));
        file.out_failed = true;
        return;
    }
    file.unflushed++;
}

/* The outbox hook: writes every waiting report and releases it, oldest first. */
static bool drain_outbox(void *user, vigil_ctx_t *ctx)
{
    (void)user;
    while (vigil_outbox_count(ctx) > 0) {
        const uint8_t *msg;
        size_t len;
        uint32_t seq;
        if (vigil_outbox_get(ctx, 0, &msg, &len, &seq) != VIGIL_OK)
            break;
        write_record(msg, len);
        if (vigil_outbox_release(ctx, seq) == 0)
            break;
    }
    if (!file.out_failed && fflush(file.out) != 0) {
        fprintf(stderr, "vigil-agent: writing the reports failed: %s\n", strerror(errno));
        file.out_failed = true;
    }
    if (!file.out_failed)
        file.reports += file.unflushed;
    file.unflushed = 0;
    return !file.out_failed;
}

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
    pcap_source_break(signal_source);
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);   /* no SA_RESTART: a blocked read returns */
    sigaction(SIGTERM, &sa, NULL);
}

static void print_summary(void)
{
    const capture_stats_t *s = &agent.stats;
    fprintf(stderr,
            "vigil-agent: %llu packets read, %llu inbound, %llu outbound, %llu foreign, "
            "%llu non-IP, %llu unreadable, %llu reports written\n",
            s->read, s->inbound, s->outbound, s->foreign, s->non_ip + s->link_truncated,
            s->unreadable, file.reports);
}

int main(int argc, char **argv)
{
    static options_t o;
    /* A closed reader of --out - is a write error to report, not a silent death. */
    signal(SIGPIPE, SIG_IGN);
    int rc = parse_options(argc, argv, &o);
    if (rc != 0)
        return rc;
    if (!o.boot_id_given)
        o.boot_id = o.pcap_path ? boot_id_from_device_id(o.device_id) : random_boot_id();

    char err[512];
    pcap_source_t *src = o.pcap_path ? pcap_source_open_file(o.pcap_path, err, sizeof err)
                                     : pcap_source_open_live(o.iface, err, sizeof err);
    if (!src) {
        fprintf(stderr, "vigil-agent: %s: %s\n", o.pcap_path ? o.pcap_path : o.iface, err);
        return EXIT_USAGE;
    }

    if (strcmp(o.out_path, "-") == 0) {
        file.out = stdout;
    } else if (!(file.out = fopen(o.out_path, "wb"))) {
        fprintf(stderr, "vigil-agent: %s: %s\n", o.out_path, strerror(errno));
        pcap_source_close(src);
        return EXIT_USAGE;
    }

    capture_agent_options_t ao = {
        .device_id = o.device_id,
        .boot_id = o.boot_id,
        .interval = o.interval,
        .max_message = o.max_message,
        .addrs = &o.addrs,
        .on_outbox = drain_outbox,
        .user = NULL,
    };
    /* Listening sockets: this host's when the device is this host (live, with
     * addresses all local), otherwise inferred from what the device accepted. */
    bool device_is_host = o.iface && device_addrs_all_local(&o.addrs);
    capture_agent_init(&agent, &ao, o.iface != NULL, device_is_host, o.model, o.firmware);

    const char *source_name = o.pcap_path ? o.pcap_path : o.iface;
    capture_result_t result;
    if (o.pcap_path) {
        result = capture_agent_run_file(&agent, src, err, sizeof err);
    } else {
        signal_source = src;
        install_signals();
        result = capture_agent_run_live(&agent, src, &stop_requested, o.duration, err, sizeof err);
        signal_source = NULL;
    }
    pcap_source_close(src);
    if (result == CAPTURE_READ_ERROR)
        fprintf(stderr, "vigil-agent: %s: %s\n", source_name, err);
    else if (result == CAPTURE_REFUSED)
        fprintf(stderr, "vigil-agent: libvigil refused the set-up (device id not UTF-8?)\n");
    rc = result == CAPTURE_DONE ? 0 : EXIT_FAILED;

    if (file.out != stdout) {
        if (fclose(file.out) != 0 && !file.out_failed) {
            fprintf(stderr, "vigil-agent: %s: %s\n", o.out_path, strerror(errno));
            file.out_failed = true;
        }
    } else if (fflush(stdout) != 0) {
        file.out_failed = true;
    }
    print_summary();
    if (file.out_failed && rc == 0)
        rc = EXIT_FAILED;
    return rc;
}
