/*
 * cmd_scan.c - `vigil scan --pcap FILE --device-addr ADDR [...] [--device-id ID]
 * [--intel SPEC ...] [--policy FILE] [--db FILE] [--json]`: libvigil over a
 * capture and the analyzer over its reports, in one process, with nothing
 * in between but the outbox: the reports analysed are the very bytes a
 * device would have sent.
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "capture_agent.h"
#include "commands.h"
#include "hygiene.h"

typedef struct {
    analysis_t *analysis;
    const char *prog;
    bool rejected;
    bool failed;
} scan_t;

/* Static: libvigil's context and the listener tables are large. */
static capture_agent_t agent;

static bool analyse_outbox(void *user, vigil_ctx_t *ctx)
{
    scan_t *s = user;
    while (vigil_outbox_count(ctx) > 0) {
        const uint8_t *msg;
        size_t len;
        uint32_t seq;
        if (vigil_outbox_get(ctx, 0, &msg, &len, &seq) != VIGIL_OK)
            break;
        char why[256];
        pipeline_result_t r = pipeline_ingest(s->analysis->pipeline, NULL, msg, len, HYGIENE_TIME_UNKNOWN,
                                              why, sizeof why);
        if (r == PIPELINE_ERROR) {
            fprintf(stderr, "%s: report %u: %s\n", s->prog, (unsigned)seq, why);
            s->failed = true;
            return false;      /* not released: nothing is lost silently */
        }
        if (r == PIPELINE_REJECTED) {
            fprintf(stderr, "%s: report %u rejected: %s\n", s->prog, (unsigned)seq, why);
            s->rejected = true;
        }
        if (vigil_outbox_release(ctx, seq) == 0)
            break;
    }
    return true;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: vigil scan --pcap FILE --device-addr ADDR [--device-addr ADDR ...] [--device-id ID]\n"
               "                  [--intel SPEC ...] [--policy FILE] [--db FILE] [--json]\n"
               "  --pcap FILE         a capture (pcap or pcapng); its timestamps are the device's clock\n"
               "  --device-addr ADDR  an address of the device (repeat for several)\n"
               "  --device-id ID      the device's id (default: the capture's file name)\n"
               "  --intel SPEC        a threat-intelligence feed: [plain:|csv:COLUMN:|stix:|misp:]PATH_OR_URL\n"
               "  --policy FILE       security groups and custom alert rules (YAML, docs/policy.md)\n"
               "  --db FILE           keep devices, reports and findings in this SQLite file\n"
               "  --interval S        report interval, 1..3600 seconds (default 60)\n"
               "  --model TEXT, --firmware TEXT   system information the device reports\n"
               "  --json              one JSON object per finding\n"
               "exit: 0 nothing found, 1 findings, 2 error\n");
}

static void default_device_id(const char *path, char *out, size_t size)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(out, size, "%s", base);
    char *dot = strrchr(out, '.');
    if (dot && dot != out)
        *dot = '\0';
}

int cmd_scan(int argc, char **argv)
{
    enum { OPT_PCAP = 256, OPT_ADDR, OPT_ID, OPT_INTEL, OPT_POLICY, OPT_DB, OPT_JSON, OPT_INTERVAL,
           OPT_MODEL, OPT_FIRMWARE, OPT_HELP };
    static const struct option longopts[] = {
        {"pcap", required_argument, NULL, OPT_PCAP},
        {"device-addr", required_argument, NULL, OPT_ADDR},
        {"device-id", required_argument, NULL, OPT_ID},
        {"intel", required_argument, NULL, OPT_INTEL},
        {"policy", required_argument, NULL, OPT_POLICY},
        {"db", required_argument, NULL, OPT_DB},
        {"json", no_argument, NULL, OPT_JSON},
        {"interval", required_argument, NULL, OPT_INTERVAL},
        {"model", required_argument, NULL, OPT_MODEL},
        {"firmware", required_argument, NULL, OPT_FIRMWARE},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    analysis_options_t o;
    memset(&o, 0, sizeof o);
    o.prog = "vigil scan";
    static device_addrs_t addrs;
    memset(&addrs, 0, sizeof addrs);
    const char *pcap_path = NULL, *device_id = NULL, *model = NULL, *firmware = NULL;
    unsigned long interval = 60;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_PCAP: pcap_path = optarg; break;
        case OPT_ID: device_id = optarg; break;
        case OPT_MODEL: model = optarg; break;
        case OPT_FIRMWARE: firmware = optarg; break;
        case OPT_POLICY: o.policy_path = optarg; break;
        case OPT_DB: o.db_path = optarg; break;
        case OPT_JSON: o.json = true; break;
        case OPT_ADDR:
            if (!device_addrs_add_text(&addrs, optarg)) {
                fprintf(stderr, "vigil scan: --device-addr '%s': not an IPv4/IPv6 address (or more than %d)\n",
                        optarg, DEVICE_ADDRS_MAX);
                return 2;
            }
            break;
        case OPT_INTEL:
            if (!analysis_add_intel(&o, optarg))
                return 2;
            break;
        case OPT_INTERVAL: {
            char *end;
            interval = strtoul(optarg, &end, 10);
            if (*optarg < '0' || *optarg > '9' || *end || interval < 1 || interval > 3600) {
                fprintf(stderr, "vigil scan: --interval must be 1..3600\n");
                return 2;
            }
            break;
        }
        case OPT_HELP: usage(stdout); return 0;
        default:
            fprintf(stderr, "vigil scan: unknown or incomplete option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vigil scan: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!pcap_path || addrs.count == 0) {
        fprintf(stderr, "vigil scan: --pcap FILE and at least one --device-addr are required\n");
        usage(stderr);
        return 2;
    }
    char id[VIGIL_DEVICE_ID_MAX + 1];
    if (device_id)
        snprintf(id, sizeof id, "%s", device_id);
    else
        default_device_id(pcap_path, id, sizeof id);
    if (!*id || (device_id && strlen(device_id) > VIGIL_DEVICE_ID_MAX)) {
        fprintf(stderr, "vigil scan: --device-id must be 1..%d bytes\n", VIGIL_DEVICE_ID_MAX);
        return 2;
    }

    char err[512];
    pcap_source_t *src = pcap_source_open_file(pcap_path, err, sizeof err);
    if (!src) {
        fprintf(stderr, "vigil scan: %s: %s\n", pcap_path, err);
        return 2;
    }
    analysis_t a;
    if (!analysis_open(&a, &o)) {
        pcap_source_close(src);
        return 2;
    }
    scan_t scan = { &a, o.prog, false, false };
    /* The boot id follows the device id, so a scan is reproducible. */
    uint32_t boot = 2166136261u;
    for (const char *p = id; *p; p++)
        boot = (boot ^ (uint8_t)*p) * 16777619u;
    capture_agent_options_t ao = {
        .device_id = id,
        .boot_id = boot,
        .interval = (uint32_t)interval,
        .max_message = VIGIL_MAX_MESSAGE_SIZE,
        .addrs = &addrs,
        .on_outbox = analyse_outbox,
        .user = &scan,
    };
    capture_agent_init(&agent, &ao, false, false, model, firmware);
    capture_result_t result = capture_agent_run_file(&agent, src, err, sizeof err);
    pcap_source_close(src);
    bool failed = scan.failed;
    if (result == CAPTURE_READ_ERROR) {
        fprintf(stderr, "vigil scan: %s: %s\n", pcap_path, err);
        failed = true;
    } else if (result == CAPTURE_REFUSED) {
        fprintf(stderr, "vigil scan: libvigil refused the set-up (device id not UTF-8?)\n");
        failed = true;
    }
    const capture_stats_t *st = &agent.stats;
    fprintf(stderr, "vigil scan: %s: %llu packets, %llu inbound, %llu outbound, %llu of other hosts\n", pcap_path,
            st->read, st->inbound, st->outbound, st->foreign);
    int rc = analysis_finish(&a, &o, failed || scan.rejected);
    analysis_close(&a);
    return rc;
}
