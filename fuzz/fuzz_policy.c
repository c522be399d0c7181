/*
 * fuzz_policy.c - libFuzzer harness for the policy file: any input must be
 * refused with a place and a reason, or load into a policy whose groups can
 * be looked up and whose rules judge a report (every kind of flow, listeners,
 * overflow) and flush without leaks, bad reads or unterminated text.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "policy.h"

static void check_alert(void *user, const alert_t *a)
{
    (void)user;
    if (memchr(a->type, '\0', sizeof a->type) == NULL || memchr(a->key, '\0', sizeof a->key) == NULL ||
        memchr(a->message, '\0', sizeof a->message) == NULL || a->type[0] == '\0' || a->count != 1)
        abort();
}

static void add_flow(report_t *r, uint8_t family, uint8_t proto, uint8_t last, bool remote,
                     uint8_t flags)
{
    report_flow_t *f = &r->flows[r->flow_count++];
    memset(f, 0, sizeof *f);
    f->family = family;
    f->proto = proto;
    f->remote_initiated = remote;
    f->tcp_flags = flags;
    if (family == 4) {
        f->remote_addr[0] = 198, f->remote_addr[1] = 51, f->remote_addr[2] = 100;
        f->remote_addr[3] = last;
    } else {
        f->remote_addr[0] = 0x20, f->remote_addr[1] = 0x01, f->remote_addr[2] = 0x0d;
        f->remote_addr[3] = 0xb8, f->remote_addr[15] = last;
    }
    f->local_port = (uint16_t)(1000u + last);
    f->remote_port = 443;
    f->bytes_in = f->bytes_out = 1000u * last;
    f->packets_in = f->packets_out = last;
    f->first_seen = r->period_start;
    f->last_seen = r->period_end;
}

static void judge(policy_eval_t *e, const policy_t *p, const char *group, uint32_t start)
{
    report_flow_t flows[8];
    report_listener_t listeners[2] = { { 0, 4, 23, true, { 0 } }, { 1, 6, 5683, true, { 0 } } };
    report_overflow_t overflow[1] = { { 0, 1, 10, 10000 } };
    report_t r;
    memset(&r, 0, sizeof r);
    strcpy(r.device_id, "sensor-1");
    r.period_start = start;
    r.period_end = start + 60;
    r.flows = flows;
    r.listeners = listeners;
    r.listener_count = 2;
    r.has_listeners = true;
    r.overflow = overflow;
    r.overflow_count = 1;
    add_flow(&r, 4, 0, 20, false, 0x03);
    add_flow(&r, 4, 0, 77, false, 0x01);
    add_flow(&r, 6, 1, 5, true, 0);
    add_flow(&r, 4, 0, 99, true, 0x01);
    add_flow(&r, 6, 2, 1, false, 0);
    policy_eval_report(e, p, "sensor-1", group, &r, check_alert, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    policy_error_t err;
    policy_t *p = policy_load_string("fuzz.yaml", (const char *)data, size, &err);
    if (!p) {
        if (err.reason[0] == '\0' || memchr(err.reason, '\0', sizeof err.reason) == NULL)
            abort();
        return 0;
    }
    const char *tags[] = { "sensor", "gateway" };
    const char *group = policy_group_for(p, "sensor-1", tags, 2);
    if (!group || !policy_hygiene(p, group))
        abort();
    policy_eval_t *e = policy_eval_new();
    if (!e)
        abort();
    for (size_t i = 0; i <= policy_group_count(p) && i < 64; i++) {
        const char *g = i < policy_group_count(p) ? policy_group_name(p, i) : POLICY_DEFAULT_GROUP;
        judge(e, p, g, 0);
        judge(e, p, g, 3600);
    }
    judge(e, p, group, 7200);
    policy_eval_flush(e, p, check_alert, NULL);
    policy_eval_free(e);
    policy_free(p);
    return 0;
}
