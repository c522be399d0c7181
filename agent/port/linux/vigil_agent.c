/*
 * vigil_agent.c - vigil-agent: runs libvigil over a capture file or a live
 * interface and writes its reports to a file or publishes them over MQTT.
 * This file holds the options, the report file and the MQTT run's policy
 * (when to wait, when to give up) only: feeding libvigil is capture_agent.c,
 * capture reading pcap_source.c, the device's addresses device_addrs.c,
 * listening sockets listeners.c, system information sysinfo.c, the MQTT
 * transport mqtt_uplink.c.
 *
 * --out: a sequence of records, each a 4-byte big-endian length followed by
 * one CBOR report, exactly what `vigil decode FILE` reads.
 * --mqtt: reports go to vigil/v1/<id>/report and stay in the outbox until the
 * analyzer acknowledges them (proto/mqtt.md). Replaying a capture, the agent
 * waits for acks when the outbox is nearly full rather than let it overflow:
 * a file is read faster than any analyzer answers.
 *
 * It must never drop a report itself (--out drains the outbox after every
 * poll; --mqtt releases only acknowledged reports), and never exit on bad
 * input without saying why: exit 0 done (with --mqtt: and every report
 * acknowledged), 1 the capture or the output failed part-way (what was read
 * is still reported) or reports were left unacknowledged, 2 bad usage or a
 * capture that cannot be opened.
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
#include "mqtt_uplink.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define INTERVAL_MAX 3600u
#define RESEND_DEFAULT 30u
#define ACK_TIMEOUT_DEFAULT 30u
#define SHUTDOWN_DRAIN_S 5u     /* on a signal: time left to get the rest acknowledged */
#define PUMP_SLEEP_MS 10

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
    const char *mqtt_url;
    const char *mqtt_user;
    const char *mqtt_password_file;
    const char *mqtt_client_id;
    const char *mqtt_cafile;
    const char *mqtt_cert;
    const char *mqtt_key;
    uint32_t resend;
    uint32_t ack_timeout;
} options_t;

/* The MQTT run: the uplink, and whether replay may still wait for acks. */
typedef struct {
    mqtt_uplink_t *uplink;
    uint32_t boot_id;
    uint32_t max_message;
    uint32_t ack_timeout;
    bool replay;            /* --pcap: throttle on a nearly full outbox */
    bool gave_up_waiting;   /* an ack wait timed out: stop waiting, let it overflow */
} mqtt_run_t;

typedef struct {
    FILE *out;
    bool out_failed;
    unsigned long long unflushed;   /* reports written since the last flush */
    unsigned long long reports;     /* written and flushed */
} report_file_t;

/* Static: libvigil's context and the listener tables are large. */
static capture_agent_t agent;
static report_file_t file;
static mqtt_run_t mqtt;
static pcap_source_t *volatile signal_source;
static volatile sig_atomic_t stop_requested;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vigil-agent (--pcap FILE | --iface NAME) --device-id ID\n"
            "                   (--out FILE | --mqtt URL) [options]\n"
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
            "  --firmware TEXT      pcap: the firmware version to report\n"
            "\n"
            "  --mqtt URL           publish to a broker instead: mqtt://host[:port] or\n"
            "                       mqtts://host[:port]; reports are released only when the\n"
            "                       analyzer acknowledges them (proto/mqtt.md)\n"
            "  --mqtt-user U        user name\n"
            "  --mqtt-password-file F  the password is the first line of F (never argv)\n"
            "  --mqtt-client-id ID  MQTT client id (default: the device id)\n"
            "  --mqtt-cafile F      mqtts: CA certificates (default: the system's)\n"
            "  --mqtt-cert F --mqtt-key F  mqtts: client certificate and key\n"
            "  --resend S           re-send a report unacknowledged for S seconds (default %u)\n"
            "  --ack-timeout S      pcap: after the capture, wait at most S seconds for the\n"
            "                       last acks (default %u); exit 1 if some are missing\n",
            INTERVAL_MAX, (unsigned)VIGIL_MAX_MESSAGE_SIZE, RESEND_DEFAULT, ACK_TIMEOUT_DEFAULT);
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
           OPT_MAXMSG, OPT_DURATION, OPT_MODEL, OPT_FIRMWARE, OPT_HELP, OPT_MQTT, OPT_MQTT_USER,
           OPT_MQTT_PWFILE, OPT_MQTT_CLIENT, OPT_MQTT_CAFILE, OPT_MQTT_CERT, OPT_MQTT_KEY,
           OPT_RESEND, OPT_ACK_TIMEOUT };
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
        {"mqtt", required_argument, NULL, OPT_MQTT},
        {"mqtt-user", required_argument, NULL, OPT_MQTT_USER},
        {"mqtt-password-file", required_argument, NULL, OPT_MQTT_PWFILE},
        {"mqtt-client-id", required_argument, NULL, OPT_MQTT_CLIENT},
        {"mqtt-cafile", required_argument, NULL, OPT_MQTT_CAFILE},
        {"mqtt-cert", required_argument, NULL, OPT_MQTT_CERT},
        {"mqtt-key", required_argument, NULL, OPT_MQTT_KEY},
        {"resend", required_argument, NULL, OPT_RESEND},
        {"ack-timeout", required_argument, NULL, OPT_ACK_TIMEOUT},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->interval = 60;
    o->max_message = VIGIL_MAX_MESSAGE_SIZE;
    o->resend = RESEND_DEFAULT;
    o->ack_timeout = ACK_TIMEOUT_DEFAULT;
    bool mqtt_only = false;     /* an option that means nothing without --mqtt */

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
        case OPT_MQTT: o->mqtt_url = optarg; break;
        case OPT_MQTT_USER: o->mqtt_user = optarg; mqtt_only = true; break;
        case OPT_MQTT_PWFILE: o->mqtt_password_file = optarg; mqtt_only = true; break;
        case OPT_MQTT_CLIENT: o->mqtt_client_id = optarg; mqtt_only = true; break;
        case OPT_MQTT_CAFILE: o->mqtt_cafile = optarg; mqtt_only = true; break;
        case OPT_MQTT_CERT: o->mqtt_cert = optarg; mqtt_only = true; break;
        case OPT_MQTT_KEY: o->mqtt_key = optarg; mqtt_only = true; break;
        case OPT_RESEND:
            if (!parse_u32(optarg, 1, INTERVAL_MAX, &o->resend)) {
                fprintf(stderr, "vigil-agent: --resend must be 1..%u seconds\n", INTERVAL_MAX);
                return EXIT_USAGE;
            }
            mqtt_only = true;
            break;
        case OPT_ACK_TIMEOUT:
            if (!parse_u32(optarg, 0, 86400, &o->ack_timeout)) {
                fprintf(stderr, "vigil-agent: --ack-timeout must be 0..86400 seconds\n");
                return EXIT_USAGE;
            }
            mqtt_only = true;
            break;
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
    if (!o->out_path == !o->mqtt_url) {
        fprintf(stderr, "vigil-agent: give exactly one of --out FILE ('-' for stdout) and "
                "--mqtt URL\n");
        return EXIT_USAGE;
    }
    if (mqtt_only && !o->mqtt_url) {
        fprintf(stderr, "vigil-agent: --mqtt-*, --resend and --ack-timeout need --mqtt URL\n");
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

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Whether two more full reports fit in the outbox. Its slots have a small
 * header (8 bytes is above it), and the ring may waste its tail, which is why
 * two reports' room is kept and not one. */
static bool outbox_has_room(const vigil_ctx_t *ctx, uint32_t max_message)
{
    size_t n = vigil_outbox_count(ctx), used = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *msg;
        size_t len;
        uint32_t seq;
        if (vigil_outbox_get(ctx, i, &msg, &len, &seq) == VIGIL_OK)
            used += len + 8;
    }
    return n == 0 || used + 2 * ((size_t)max_message + 8) <= VIGIL_OUTBOX_SIZE;
}

/*
 * The outbox hook with --mqtt. Live, it only pumps: the capture never waits
 * for the network. Replaying a file, it also waits (pumping) while the
 * outbox is nearly full, up to --ack-timeout once; after that the replay
 * runs on and a full outbox drops its oldest report, counted.
 */
static bool publish_outbox(void *user, vigil_ctx_t *ctx)
{
    mqtt_run_t *m = user;
    if (!mqtt_uplink_pump(m->uplink, ctx, m->boot_id, mqtt_uplink_now()))
        return false;
    if (!m->replay)
        return true;
    time_t began = mqtt_uplink_now();
    while (!m->gave_up_waiting && !outbox_has_room(ctx, m->max_message)) {
        if (stop_requested)
            return false;
        if (mqtt_uplink_now() - began >= (time_t)m->ack_timeout) {
            fprintf(stderr, "vigil-agent: no ack for %u s with the outbox full: the replay "
                    "goes on and the oldest reports will be dropped\n", (unsigned)m->ack_timeout);
            m->gave_up_waiting = true;
            break;
        }
        sleep_ms(PUMP_SLEEP_MS);
        if (!mqtt_uplink_pump(m->uplink, ctx, m->boot_id, mqtt_uplink_now()))
            return false;
    }
    return !stop_requested;
}

/* Pumps until every report is acknowledged or `seconds` passed; a signal
 * meanwhile cuts the wait to SHUTDOWN_DRAIN_S. */
static void drain_acks(vigil_ctx_t *ctx, uint32_t seconds)
{
    time_t deadline = mqtt_uplink_now() + (time_t)seconds;
    bool signalled = false;
    for (;;) {
        time_t now = mqtt_uplink_now();
        if (!mqtt_uplink_pump(mqtt.uplink, ctx, mqtt.boot_id, now) ||
            vigil_outbox_count(ctx) == 0)
            break;
        if (stop_requested && !signalled) {
            signalled = true;
            if (deadline > now + (time_t)SHUTDOWN_DRAIN_S)
                deadline = now + (time_t)SHUTDOWN_DRAIN_S;
        }
        if (now >= deadline)
            break;
        sleep_ms(PUMP_SLEEP_MS);
    }
}

/* Prints what happened to the reports; true when every one was acknowledged. */
static bool mqtt_summary(const vigil_ctx_t *ctx)
{
    mqtt_uplink_stats_t st;
    mqtt_uplink_stats(mqtt.uplink, &st);
    unsigned made = vigil_counter(ctx, VIGIL_CNT_REPORTS);
    unsigned dropped = vigil_counter(ctx, VIGIL_CNT_OUTBOX_DROPPED);
    size_t held = vigil_outbox_count(ctx);
    fprintf(stderr,
            "vigil-agent: mqtt: %u reports made, %llu published, %llu re-sent, "
            "%llu acknowledged, %zu still held, %u dropped; acks: %llu of this boot, "
            "%llu of another boot ignored, %llu malformed; configurations: %llu applied, "
            "%llu rejected; %llu connections, %llu lost\n",
            made, st.published, st.republished, st.released, held, dropped, st.acks_received,
            st.acks_ignored, st.acks_malformed, st.configs_applied, st.configs_rejected,
            st.connects, st.connection_losses);
    if (held == 0 && dropped == 0) {
        fprintf(stderr, "vigil-agent: mqtt: all %u reports acknowledged\n", made);
        return true;
    }
    fprintf(stderr, "vigil-agent: mqtt: %zu reports not acknowledged (%zu still held, %u "
            "dropped)\n", held + dropped, held, dropped);
    return false;
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
            "%llu non-IP, %llu unreadable",
            s->read, s->inbound, s->outbound, s->foreign, s->non_ip + s->link_truncated,
            s->unreadable);
    if (file.out)
        fprintf(stderr, ", %llu reports written", file.reports);
    fputc('\n', stderr);
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

    if (o.mqtt_url) {
        mqtt_uplink_options_t mo = {
            .url = o.mqtt_url,
            .device_id = o.device_id,
            .client_id = o.mqtt_client_id,
            .username = o.mqtt_user,
            .password_file = o.mqtt_password_file,
            .cafile = o.mqtt_cafile,
            .certfile = o.mqtt_cert,
            .keyfile = o.mqtt_key,
            .resend_s = o.resend,
        };
        /* The configuration capture_agent starts libvigil with. */
        vigil_config_default(&mo.config);
        mo.config.report_interval_s = o.interval;
        mo.config.max_message_size = o.max_message;
        mqtt.uplink = mqtt_uplink_new(&mo, err, sizeof err);
        if (!mqtt.uplink) {
            fprintf(stderr, "vigil-agent: --mqtt: %s\n", err);
            pcap_source_close(src);
            return EXIT_USAGE;
        }
        mqtt.boot_id = o.boot_id;
        mqtt.max_message = o.max_message;
        mqtt.ack_timeout = o.ack_timeout;
        mqtt.replay = o.pcap_path != NULL;
    } else if (strcmp(o.out_path, "-") == 0) {
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
        .on_outbox = mqtt.uplink ? publish_outbox : drain_outbox,
        .user = mqtt.uplink ? &mqtt : NULL,
    };
    /* Listening sockets: this host's when the device is this host (live, with
     * addresses all local), otherwise inferred from what the device accepted. */
    bool device_is_host = o.iface && device_addrs_all_local(&o.addrs);
    capture_agent_init(&agent, &ao, o.iface != NULL, device_is_host, o.model, o.firmware);

    const char *source_name = o.pcap_path ? o.pcap_path : o.iface;
    capture_result_t result;
    uint32_t drain_s = o.ack_timeout;
    if (o.pcap_path) {
        if (mqtt.uplink) {
            signal_source = src;
            install_signals();
            /* A replayed device boots connected, so that a retained
             * configuration applies from its first period. */
            if (!mqtt_uplink_wait_ready(mqtt.uplink, o.ack_timeout * 1000u)) {
                fprintf(stderr, "vigil-agent: %s not reached within %u s: nothing can be "
                        "acknowledged\n", o.mqtt_url, (unsigned)o.ack_timeout);
                mqtt.gave_up_waiting = true;
                drain_s = 0;
            }
        }
        result = capture_agent_run_file(&agent, src, err, sizeof err);
        signal_source = NULL;
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

    if (mqtt.uplink) {
        /* Live, the run ends on a signal or --duration: a short wait only. */
        if (agent.started)
            drain_acks(&agent.ctx, o.pcap_path && !stop_requested ? drain_s
                                                                  : SHUTDOWN_DRAIN_S);
        print_summary();
        if (!mqtt_summary(&agent.ctx) && rc == 0)
            rc = EXIT_FAILED;
        mqtt_uplink_free(mqtt.uplink);
        return rc;
    }

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
