/*
 * demo_check.c - prints the alerts a policy raises over a file of reports
 * (vigil-agent's length-prefixed CBOR), one line each, sorted by the caller:
 * how test_policy_demo.sh proves that data/policy.yaml on
 * data/scan-demo.pcapng raises exactly the alerts the demo promises.
 * Initiators are repaired (continuity.h) as the pipeline does; open windows
 * are flushed at the end as an offline scan does.
 *
 * Usage: demo_check POLICY REPORTS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "continuity.h"
#include "policy.h"

static void print_alert(void *user, const alert_t *a)
{
    static const char *const directions[] = { "-", "outbound", "inbound" };
    (void)user;
    printf("%s %s severity=%d direction=%s time=%lld\n", a->type, a->key, (int)a->severity,
           directions[a->direction], (long long)a->time);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: demo_check POLICY REPORTS\n");
        return 2;
    }
    policy_error_t err;
    policy_t *p = policy_load_file(argv[1], &err);
    if (!p) {
        fprintf(stderr, "%s:%zu:%zu: %s\n", err.file, err.line, err.column, err.reason);
        return 2;
    }
    FILE *f = fopen(argv[2], "rb");
    policy_eval_t *e = policy_eval_new();
    continuity_t *c = continuity_new(10000, 600);
    static uint8_t buf[REPORT_MAX_BYTES];
    uint8_t prefix[4];
    int status = f && e && c ? 0 : 2;
    while (status == 0 && fread(prefix, 1, sizeof prefix, f) == sizeof prefix) {
        size_t len = ((size_t)prefix[0] << 24) | ((size_t)prefix[1] << 16) |
                     ((size_t)prefix[2] << 8) | prefix[3];
        report_t *r;
        report_error_t rerr;
        if (len > sizeof buf || fread(buf, 1, len, f) != len ||
            report_decode(buf, len, &r, &rerr) != REPORT_OK) {
            fprintf(stderr, "demo_check: a report cannot be read\n");
            status = 2;
            break;
        }
        continuity_apply(c, r);
        const char *group = policy_group_for(p, r->device_id, NULL, 0);
        policy_eval_report(e, p, r->device_id, group, r, print_alert, NULL);
        report_free(r);
    }
    if (status == 0)
        policy_eval_flush(e, p, print_alert, NULL);
    if (f)
        fclose(f);
    continuity_free(c);
    policy_eval_free(e);
    policy_free(p);
    return status;
}
