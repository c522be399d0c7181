/*
 * fuzz_alert_json.c - libFuzzer harness for alert_to_json: any bytes laid
 * over an alert_t (unterminated text, bad UTF-8, enums out of range) must
 * print one valid JSON object with exactly alert.h's keys in order, and the
 * size contract must hold (-1 one byte short, the same text when it fits).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "fuzz.h"

static const char *const keys[] = { "kind", "type", "severity", "device", "time", "remote_addr",
                                    "remote_port", "local_port", "proto", "direction", "indicator",
                                    "count", "message" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    alert_t a;
    memset(&a, 0, sizeof a);
    memcpy(&a, data, size < sizeof a ? size : sizeof a);
    bool has_indicator = size > 0 && (data[0] & 1);    /* a bool must hold 0 or 1 */
    memcpy(&a.has_indicator, &has_indicator, sizeof has_indicator);

    static char out[8192], again[8192];
    int n = alert_to_json(&a, out, sizeof out);
    if (n <= 0 || (size_t)n != strlen(out))
        abort();
    json_error_t err;
    json_t *o = json_loads(out, JSON_REJECT_DUPLICATES, &err);
    if (!o || !json_is_object(o) || json_object_size(o) != sizeof keys / sizeof keys[0])
        abort();
    json_decref(o);
    /* key order: each key appears after the previous one */
    const char *p = out;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char quoted[32];
        size_t len = strlen(keys[i]);
        quoted[0] = '"';
        memcpy(quoted + 1, keys[i], len);
        memcpy(quoted + 1 + len, "\":", 3);
        p = strstr(p, quoted);
        if (!p)
            abort();
    }
    if (alert_to_json(&a, again, (size_t)n) != -1 || again[0] != '\0')
        abort();
    if (alert_to_json(&a, again, (size_t)n + 1) != n || strcmp(again, out) != 0)
        abort();
    return 0;
}
