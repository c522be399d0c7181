/*
 * cmd_decode.c - `vigil decode [--full] FILE...`: prints each report of the
 * files vigil-agent writes (records of a 4-byte big-endian length and one
 * CBOR report) as one JSON object per line.
 *
 * A record that does not decode is reported on stderr with its file, index
 * and reason, and the next record is read: exit 1 at the end. Exit 2 when a
 * file cannot be read or ends inside a record.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "report.h"
#include "report_json.h"

enum { DECODE_OK = 0, DECODE_BAD_RECORD = 1, DECODE_IO = 2 };

static int print_report(const uint8_t *buf, size_t len, bool full, const char *path,
                        unsigned long index)
{
    report_t *report;
    report_error_t err;
    if (report_decode(buf, len, &report, &err) != REPORT_OK) {
        fprintf(stderr, "vigil decode: %s: record %lu: %s (%s)\n", path, index, err.message,
                report_reject_name(err.code));
        return DECODE_BAD_RECORD;
    }
    json_t *json = report_to_json(report, full);
    report_free(report);
    char *text = json ? json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(json);
    if (!text) {
        fprintf(stderr, "vigil decode: out of memory\n");
        return DECODE_IO;
    }
    puts(text);
    free(text);
    return DECODE_OK;
}

static int decode_stream(FILE *in, const char *path, bool full)
{
    static uint8_t buf[REPORT_MAX_BYTES];
    int status = DECODE_OK;
    for (unsigned long index = 0;; index++) {
        uint8_t prefix[4];
        size_t got = fread(prefix, 1, sizeof prefix, in);
        if (got == 0 && feof(in))
            return status;
        if (got != sizeof prefix) {
            fprintf(stderr, "vigil decode: %s: record %lu: file ends inside a length prefix\n",
                    path, index);
            return DECODE_IO;
        }
        size_t len = ((size_t)prefix[0] << 24) | ((size_t)prefix[1] << 16) |
                     ((size_t)prefix[2] << 8) | prefix[3];
        if (len > sizeof buf) {
            fprintf(stderr, "vigil decode: %s: record %lu: length %zu is over %u bytes\n", path,
                    index, len, REPORT_MAX_BYTES);
            return DECODE_IO;
        }
        if (fread(buf, 1, len, in) != len) {
            fprintf(stderr, "vigil decode: %s: record %lu: file ends inside the record\n", path,
                    index);
            return DECODE_IO;
        }
        int rc = print_report(buf, len, full, path, index);
        if (rc == DECODE_IO)
            return rc;
        if (rc != DECODE_OK)
            status = rc;
    }
}

static void usage(FILE *out)
{
    fprintf(out, "usage: vigil decode [--full] FILE... ('-' reads standard input)\n"
                 "  prints each report as one JSON object per line\n"
                 "  --full  flows also carry first_seen, last_seen and tcp_flags\n");
}

int cmd_decode(int argc, char **argv)
{
    bool full = false;
    int first = 1;
    for (; first < argc && argv[first][0] == '-' && argv[first][1] != '\0'; first++) {
        if (strcmp(argv[first], "--full") == 0) {
            full = true;
        } else if (strcmp(argv[first], "-h") == 0 || strcmp(argv[first], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "vigil decode: unknown option '%s'\n", argv[first]);
            usage(stderr);
            return 2;
        }
    }
    if (first == argc) {
        usage(stderr);
        return 2;
    }
    int status = DECODE_OK;
    for (int i = first; i < argc; i++) {
        FILE *in = strcmp(argv[i], "-") == 0 ? stdin : fopen(argv[i], "rb");
        if (!in) {
            fprintf(stderr, "vigil decode: %s: %s\n", argv[i], strerror(errno));
            return DECODE_IO;
        }
        int rc = decode_stream(in, argv[i], full);
        if (in != stdin)
            fclose(in);
        if (rc == DECODE_IO)
            return rc;
        if (rc != DECODE_OK)
            status = rc;
    }
    fflush(stdout);
    return status;
}
