/*
 * fuzz_report_decode.c - libFuzzer harness for the analyzer's report
 * decoder and its JSON rendering: any input must either be rejected with a
 * reason or decode into a report that renders, without leaks or bad reads.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "report.h"
#include "report_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    report_t *report;
    report_error_t err;
    if (report_decode(data, size, &report, &err) != REPORT_OK) {
        if (report != NULL || err.code == REPORT_OK || err.message[0] == '\0')
            abort();
        return 0;
    }
    json_t *json = report_to_json(report, true);
    if (!json)
        abort();
    char *text = json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text)
        abort();
    free(text);
    json_decref(json);
    report_free(report);
    return 0;
}
