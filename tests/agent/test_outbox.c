/*
 * test_outbox.c - the outbox: reports wait, oldest first, until released by
 * sequence number (with serial-number comparison across the 2^32 wrap);
 * argument errors of vigil_outbox_get. The full-outbox policy is tested in
 * test_limits.c against both option sets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "harness.h"

static uint8_t L4[4], R4[4];

static int setup(void **state)
{
    (void)state;
    addr4(L4, 10, 0, 0, 2);
    addr4(R4, 93, 184, 216, 34);
    return 0;
}

static uint32_t seq_at(const vigil_ctx_t *ctx, size_t index)
{
    const uint8_t *msg;
    size_t len;
    uint32_t seq = 0;
    assert_int_equal(vigil_outbox_get(ctx, index, &msg, &len, &seq), VIGIL_OK);
    dr_report_t *r = dr_decode(msg, len);
    assert_int_equal(r->seq, seq);
    free(r);
    return seq;
}

static void test_reports_stay_until_released_oldest_first(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    pkt_t p;
    uint8_t copy[3][VIGIL_MAX_MESSAGE_SIZE];
    size_t copy_len[3];
    for (uint32_t k = 0; k < 3; k++) {
        /* Periods of different sizes: 0, 1 and 2 flows. */
        for (uint32_t f = 0; f < k; f++) {
            mk_udp4(&p, L4, R4, (uint16_t)(100 + f), 53, 0);
            h_out(ctx, &p, H_T0 + 60 * k);
        }
        assert_int_equal(vigil_flush(ctx, H_T0 + 60 * (k + 1)), VIGIL_OK);
        const uint8_t *msg;
        assert_int_equal(vigil_outbox_get(ctx, k, &msg, &copy_len[k], NULL), VIGIL_OK);
        memcpy(copy[k], msg, copy_len[k]);
    }
    assert_int_equal(vigil_outbox_count(ctx), 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(seq_at(ctx, i), i);

    /* Releasing one keeps the others, byte for byte. */
    assert_int_equal(vigil_outbox_release(ctx, 0), 1);
    assert_int_equal(vigil_outbox_count(ctx), 2);
    assert_int_equal(vigil_outbox_release(ctx, 0), 0);
    for (size_t i = 0; i < 2; i++) {
        const uint8_t *msg;
        size_t len;
        uint32_t seq;
        assert_int_equal(vigil_outbox_get(ctx, i, &msg, &len, &seq), VIGIL_OK);
        assert_int_equal(seq, i + 1);
        assert_int_equal(len, copy_len[i + 1]);
        assert_memory_equal(msg, copy[i + 1], len);
    }
    /* A new report joins behind the waiting ones. */
    assert_int_equal(vigil_flush(ctx, H_T0 + 240), VIGIL_OK);
    assert_int_equal(vigil_outbox_count(ctx), 3);
    assert_int_equal(seq_at(ctx, 2), 3);
    /* Releasing up to a later seq releases everything before it too. */
    assert_int_equal(vigil_outbox_release(ctx, 2), 2);
    assert_int_equal(seq_at(ctx, 0), 3);
    assert_int_equal(vigil_outbox_release(ctx, 1000), 1);
    assert_int_equal(vigil_outbox_count(ctx), 0);
    assert_int_equal(vigil_outbox_release(ctx, 1000), 0);
    free(ctx);
}

static void test_outbox_get_reports_empty_and_bad_arguments(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    const uint8_t *msg = NULL;
    size_t len = 0;
    uint32_t seq = 0;
    assert_int_equal(vigil_outbox_get(ctx, 0, &msg, &len, &seq), VIGIL_ERR_EMPTY);
    assert_int_equal(vigil_flush(ctx, H_T0 + 1), VIGIL_OK);
    assert_int_equal(vigil_outbox_get(ctx, 1, &msg, &len, &seq), VIGIL_ERR_EMPTY);
    assert_int_equal(vigil_outbox_get(ctx, SIZE_MAX, &msg, &len, &seq), VIGIL_ERR_EMPTY);
    assert_int_equal(vigil_outbox_get(NULL, 0, &msg, &len, &seq), VIGIL_ERR_ARG);
    assert_int_equal(vigil_outbox_get(ctx, 0, NULL, &len, &seq), VIGIL_ERR_ARG);
    assert_int_equal(vigil_outbox_get(ctx, 0, &msg, NULL, &seq), VIGIL_ERR_ARG);
    /* The sequence number is optional. */
    assert_int_equal(vigil_outbox_get(ctx, 0, &msg, &len, NULL), VIGIL_OK);
    assert_true(len > 0);
    assert_int_equal(vigil_outbox_count(NULL), 0);
    assert_int_equal(vigil_outbox_release(NULL, 0), 0);
    assert_int_equal(vigil_outbox_count(ctx), 1);
    free(ctx);
}

static void test_release_compares_sequence_numbers_across_the_wrap(void **state)
{
    (void)state;
    vigil_ctx_t *ctx = h_ready();
    ctx->next_seq = 0xfffffffeu; /* as after 2^32 - 2 reports */
    for (uint32_t k = 0; k < 4; k++)
        assert_int_equal(vigil_flush(ctx, H_T0 + 60 * (k + 1)), VIGIL_OK);
    assert_int_equal(seq_at(ctx, 0), 0xfffffffeu);
    assert_int_equal(seq_at(ctx, 1), 0xffffffffu);
    assert_int_equal(seq_at(ctx, 2), 0);
    assert_int_equal(seq_at(ctx, 3), 1);
    /* 0xfffffff0 is before all of them; 0xfffffffe only the first. */
    assert_int_equal(vigil_outbox_release(ctx, 0xfffffff0u), 0);
    assert_int_equal(vigil_outbox_release(ctx, 0xfffffffeu), 1);
    /* 0 comes after 0xffffffff: both go. */
    assert_int_equal(vigil_outbox_release(ctx, 0), 2);
    assert_int_equal(vigil_outbox_count(ctx), 1);
    assert_int_equal(seq_at(ctx, 0), 1);
    assert_int_equal(vigil_outbox_release(ctx, 0xffffffffu), 0);
    assert_int_equal(vigil_outbox_release(ctx, 1), 1);
    free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reports_stay_until_released_oldest_first),
        cmocka_unit_test(test_outbox_get_reports_empty_and_bad_arguments),
        cmocka_unit_test(test_release_compares_sequence_numbers_across_the_wrap),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
