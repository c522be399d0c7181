/*
 * cmd_analyze.c - `vigil analyze [--intel SPEC ...] [--policy FILE] [--db FILE]
 * [--json] REPORT_FILE ...`: runs the analyzer over report files written by
 * vigil-agent (records of a 4-byte big-endian length and one CBOR report)
 * and prints what it found.
 *
 * A report the decoder refuses is named on stderr (file, record, reason) and
 * the run goes on; the exit code is then 2, because "nothing found" must not
 * be claimed about reports that were not analysed.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "commands.h"
#include "hygiene.h"
#include "report.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: vigil analyze [--intel SPEC ...] [--policy FILE] [--db FILE] [--json] REPORT_FILE ...\n"
               "  --intel SPEC   a threat-intelligence feed: [plain:|csv:COLUMN:|stix:|misp:]PATH_OR_URL\n"
               "  --policy FILE  security groups and custom alert rules (YAML, docs/policy.md)\n"
               "  --db FILE      keep devices, reports and findings in this SQLite file (default: memory)\n"
               "  --json         one JSON object per finding\n"
               "exit: 0 nothing found, 1 findings, 2 error\n");
}

/* Feeds one file's records; false when it could not be read to its end. */
static bool analyze_file(analysis_t *a, const char *prog, const char *path, bool *rejected)
{
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!in) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        return false;
    }
    static uint8_t buf[REPORT_MAX_BYTES];
    bool ok = true;
    for (unsigned long index = 0;; index++) {
        uint8_t prefix[4];
        size_t got = fread(prefix, 1, sizeof prefix, in);
        if (got == 0 && feof(in))
            break;
        if (got != sizeof prefix) {
            fprintf(stderr, "%s: %s: record %lu: file ends inside a length prefix\n", prog, path, index);
            ok = false;
            break;
        }
        size_t len = (size_t)prefix[0] << 24 | (size_t)prefix[1] << 16 | (size_t)prefix[2] << 8 | prefix[3];
        if (len > REPORT_MAX_BYTES) {
            fprintf(stderr, "%s: %s: record %lu: %zu bytes, more than a report may have\n", prog, path, index, len);
            ok = false;
            break;
        }
        if (fread(buf, 1, len, in) != len) {
            fprintf(stderr, "%s: %s: record %lu: file ends inside the record\n", prog, path, index);
            ok = false;
            break;
        }
        char why[256];
        pipeline_result_t r = pipeline_ingest(a->pipeline, NULL, buf, len, HYGIENE_TIME_UNKNOWN, why, sizeof why);
        if (r == PIPELINE_REJECTED) {
            fprintf(stderr, "%s: %s: record %lu: rejected: %s\n", prog, path, index, why);
            *rejected = true;
        } else if (r == PIPELINE_ERROR) {
            fprintf(stderr, "%s: %s: record %lu: %s\n", prog, path, index, why);
            ok = false;
            break;
        }
    }
    if (ferror(in)) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        ok = false;
    }
    if (in != stdin)
        fclose(in);
    return ok;
}

int cmd_analyze(int argc, char **argv)
{
    enum { OPT_INTEL = 256, OPT_POLICY, OPT_DB, OPT_JSON, OPT_HELP };
    static const struct option longopts[] = {
        {"intel", required_argument, NULL, OPT_INTEL},
        {"policy", required_argument, NULL, OPT_POLICY},
        {"db", required_argument, NULL, OPT_DB},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    analysis_options_t o;
    memset(&o, 0, sizeof o);
    o.prog = "vigil analyze";
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_INTEL:
            if (!analysis_add_intel(&o, optarg))
                return 2;
            break;
        case OPT_POLICY: o.policy_path = optarg; break;
        case OPT_DB: o.db_path = optarg; break;
        case OPT_JSON: o.json = true; break;
        case OPT_HELP: usage(stdout); return 0;
        default:
            fprintf(stderr, "vigil analyze: unknown or incomplete option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "vigil analyze: no report file given\n");
        usage(stderr);
        return 2;
    }
    analysis_t a;
    if (!analysis_open(&a, &o))
        return 2;
    bool failed = false, rejected = false;
    for (int i = optind; i < argc; i++)
        if (!analyze_file(&a, o.prog, argv[i], &rejected))
            failed = true;
    int rc = analysis_finish(&a, &o, failed || rejected);
    analysis_close(&a);
    return rc;
}
