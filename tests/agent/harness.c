/*
 * harness.c - the shared set-up and look-ups of harness.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "harness.h"

vigil_ctx_t *h_new(void)
{
    vigil_ctx_t *ctx = calloc(1, sizeof *ctx);
    assert_non_null(ctx);
    return ctx;
}

void h_init(vigil_ctx_t *ctx, uint32_t now, const vigil_config_t *config,
            const vigil_port_t *port)
{
    vigil_setup_t s;
    memset(&s, 0, sizeof s);
    s.device_id = H_DEVICE_ID;
    s.boot_id = H_BOOT_ID;
    s.now = now;
    s.port = port;
    if (config)
        s.config = *config;
    else
        vigil_config_default(&s.config);
    assert_int_equal(vigil_init(ctx, &s), VIGIL_OK);
}

vigil_ctx_t *h_ready(void)
{
    vigil_ctx_t *ctx = h_new();
    h_init(ctx, H_T0, NULL, NULL);
    return ctx;
}

void h_out(vigil_ctx_t *ctx, const pkt_t *p, uint32_t now)
{
    vigil_observe(ctx, VIGIL_DIR_OUT, p->data, p->len, now);
}

void h_in(vigil_ctx_t *ctx, const pkt_t *p, uint32_t now)
{
    vigil_observe(ctx, VIGIL_DIR_IN, p->data, p->len, now);
}

bool h_flow(vigil_ctx_t *ctx, uint8_t family, uint8_t proto, const uint8_t *remote,
            uint16_t lport, uint16_t rport, flow_view_t *out)
{
    size_t len = family == 4 ? 4u : 16u;
    bool found = false;
    flow_view_t f;
    for (unsigned s = 0; s < flow_table_capacity(family); s++) {
        if (!flow_table_get(ctx, family, s, &f))
            continue;
        if ((f.flags & FLOW_FLAG_PROTO_MASK) == proto && f.local_port == lport &&
            f.remote_port == rport && memcmp(f.remote, remote, len) == 0) {
            assert_false(found); /* one key, one flow */
            found = true;
            *out = f;
        }
    }
    return found;
}

unsigned h_flow_count(vigil_ctx_t *ctx, uint8_t family)
{
    unsigned n = 0;
    for (unsigned s = 0; s < flow_table_capacity(family); s++)
        n += flow_table_is_flow(ctx, family, s);
    return n;
}

size_t h_reports(vigil_ctx_t *ctx, dr_report_t **out, size_t max)
{
    size_t n = vigil_outbox_count(ctx);
    assert_true(n <= max);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *msg = NULL;
        size_t len = 0;
        uint32_t seq = 0;
        assert_int_equal(vigil_outbox_get(ctx, i, &msg, &len, &seq), VIGIL_OK);
        assert_true(len <= ctx->config.max_message_size);
        out[i] = dr_decode(msg, len);
        assert_int_equal(out[i]->seq, seq);
        assert_string_equal(out[i]->device_id, H_DEVICE_ID);
        assert_int_equal(out[i]->boot_id, H_BOOT_ID);
    }
    return n;
}

void h_free_reports(dr_report_t **r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(r[i]);
}

dr_report_t *h_flush_one(vigil_ctx_t *ctx, uint32_t now)
{
    assert_int_equal(vigil_outbox_count(ctx), 0);
    assert_int_equal(vigil_flush(ctx, now), VIGIL_OK);
    dr_report_t *r[1];
    assert_int_equal(h_reports(ctx, r, 1), 1);
    assert_int_equal(vigil_outbox_release(ctx, (uint32_t)r[0]->seq), 1);
    return r[0];
}

const dr_flow_t *h_find(dr_report_t *const *r, size_t n, uint8_t family, uint8_t proto,
                        const uint8_t *remote, uint64_t lport, uint64_t rport, size_t *count)
{
    const dr_flow_t *found = NULL;
    size_t len = family == 4 ? 4u : 16u;
    *count = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < r[i]->n_flows; j++) {
            const dr_flow_t *f = &r[i]->flows[j];
            if (f->family == family && (f->kind & 3u) == proto && f->local_port == lport &&
                f->remote_port == rport && memcmp(f->remote, remote, len) == 0) {
                if (!found)
                    found = f;
                (*count)++;
            }
        }
    }
    return found;
}
