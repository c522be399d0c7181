/*
 * test_continuity.c - the analyzer repairs the initiator of flows that
 * outlive their report period, and only those (analyzer/continuity.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "continuity.h"

#define MAX_TEST_FLOWS 4096

typedef struct {
    report_t r;
    report_flow_t flows[MAX_TEST_FLOWS];
    report_listener_t listeners[4];
} test_report_t;

static test_report_t *new_report(const char *device, uint32_t start, uint32_t end)
{
    test_report_t *t = calloc(1, sizeof *t);
    assert_non_null(t);
    strcpy(t->r.device_id, device);
    t->r.period_start = start;
    t->r.period_end = end;
    t->r.flows = t->flows;
    t->r.listeners = t->listeners;
    return t;
}

static report_flow_t *add_flow(test_report_t *t, uint8_t proto, uint16_t local_port,
                               uint16_t remote_port, uint8_t remote_last, bool remote_initiated,
                               uint8_t tcp_flags)
{
    report_flow_t *f = &t->flows[t->r.flow_count++];
    f->family = 4;
    f->proto = proto;
    f->local_addr[0] = 10, f->local_addr[3] = 2;
    f->remote_addr[0] = 192, f->remote_addr[1] = 0, f->remote_addr[2] = 2;
    f->remote_addr[3] = remote_last;
    f->local_port = local_port;
    f->remote_port = remote_port;
    f->remote_initiated = remote_initiated;
    f->tcp_flags = tcp_flags;
    f->packets_in = f->packets_out = 1;
    f->first_seen = t->r.period_start;
    f->last_seen = t->r.period_end;
    return f;
}

static void listen_tcp(test_report_t *t, uint16_t port)
{
    t->r.has_listeners = true;
    report_listener_t *l = &t->listeners[t->r.listener_count++];
    l->proto = REPORT_PROTO_TCP;
    l->family = 4;
    l->port = port;
    l->any = true;
}

static void test_a_session_outliving_its_period_keeps_its_opener(void **state)
{
    (void)state;
    continuity_t *c = continuity_new(1000, 600);
    test_report_t *p1 = new_report("dev", 0, 60);
    add_flow(p1, REPORT_PROTO_TCP, 40000, 8883, 7, false, REPORT_TCP_SYN | REPORT_TCP_SYNACK);
    continuity_apply(c, &p1->r);
    assert_false(p1->flows[0].remote_initiated);

    /* The next period opens with the broker's PUBLISH: the device says "remote". */
    test_report_t *p2 = new_report("dev", 60, 120);
    add_flow(p2, REPORT_PROTO_TCP, 40000, 8883, 7, true, 0);
    continuity_apply(c, &p2->r);
    assert_false(p2->flows[0].remote_initiated);

    continuity_stats_t st;
    continuity_get_stats(c, &st);
    assert_int_equal(st.repaired, 1);
    assert_int_equal(st.remembered, 1);
    free(p1), free(p2);
    continuity_free(c);
}

static void test_a_syn_in_its_own_period_is_never_overridden(void **state)
{
    (void)state;
    continuity_t *c = continuity_new(1000, 600);
    test_report_t *p1 = new_report("dev", 0, 60);
    add_flow(p1, REPORT_PROTO_TCP, 40000, 80, 7, false, REPORT_TCP_SYN);
    continuity_apply(c, &p1->r);
    /* The same 5-tuple reused, this time opened by the remote. */
    test_report_t *p2 = new_report("dev", 60, 120);
    add_flow(p2, REPORT_PROTO_TCP, 40000, 80, 7, true, REPORT_TCP_SYN);
    continuity_apply(c, &p2->r);
    assert_true(p2->flows[0].remote_initiated);
    /* ...and that is what a later SYN-less period inherits. */
    test_report_t *p3 = new_report("dev", 120, 180);
    add_flow(p3, REPORT_PROTO_TCP, 40000, 80, 7, false, 0);
    continuity_apply(c, &p3->r);
    assert_true(p3->flows[0].remote_initiated);
    free(p1), free(p2), free(p3);
    continuity_free(c);
}

static void test_unknown_tcp_without_syn_is_judged_by_the_listeners(void **state)
{
    (void)state;
    continuity_t *c = continuity_new(1000, 600);
    test_report_t *p = new_report("dev", 0, 60);
    listen_tcp(p, 502);
    add_flow(p, REPORT_PROTO_TCP, 502, 51000, 7, false, 0);   /* accepted on Modbus */
    add_flow(p, REPORT_PROTO_TCP, 41000, 443, 8, true, 0);    /* opened by the device */
    continuity_apply(c, &p->r);
    assert_true(p->flows[0].remote_initiated);
    assert_false(p->flows[1].remote_initiated);
    free(p);
    continuity_free(c);
}

static void test_without_a_listener_list_the_device_answer_stands(void **state)
{
    (void)state;
    continuity_t *c = continuity_new(1000, 600);
    test_report_t *p = new_report("dev", 0, 60);
    add_flow(p, REPORT_PROTO_TCP, 41000, 443, 8, true, 0);
    add_flow(p, REPORT_PROTO_UDP, 5353, 53, 9, true, 0);
    continuity_apply(c, &p->r);
    assert_true(p->flows[0].remote_initiated);
    assert_true(p->flows[1].remote_initiated);
    free(p);
    continuity_free(c);
}

static void test_udp_keeps_the_direction_of_its_first_period(void **state)
{
    (void)state;
    continuity_t *c = continuity_new(1000, 600);
    test_report_t *p1 = new_report("dev", 0, 60);
    add_flow(p1, REPORT_PROTO_UDP, 5683, 40001, 9, true, 0);
    continuity_apply(c, &p1->r);
    test_report_t *p2 = new_report("dev", 60, 120);
    add_flow(p2, REPORT_PROTO_UDP, 5683, 40001, 9, false, 0);
    continuity_apply(c, &p2->r);
    assert_true(p2->flows[0].remote_initiated);
    free(p1), free(p2);
    continuity_free(c);
}

static void test_devices_do_not_share_memory(void **state)
{
    (void)state;
    continuity_t *c = continuity_new(1000, 600);
    test_report_t *a = new_report("dev-a", 0, 60);
    add_flow(a, REPORT_PROTO_UDP, 5683, 40001, 9, true, 0);
    continuity_apply(c, &a->r);
    test_report_t *b = new_report("dev-b", 60, 120);
    add_flow(b, REPORT_PROTO_UDP, 5683, 40001, 9, false, 0);
    continuity_apply(c, &b->r);
    assert_false(b->flows[0].remote_initiated);
    free(a), free(b);
    continuity_free(c);
}

static void test_a_flow_is_forgotten_after_its_ttl(void **state)
{
    (void)state;
    continuity_t *c = continuity_new(1000, 300);
    test_report_t *p1 = new_report("dev", 0, 60);
    add_flow(p1, REPORT_PROTO_UDP, 5683, 40001, 9, true, 0);
    continuity_apply(c, &p1->r);
    /* Last seen at 60; the device's clock reads 350 at this period's end:
     * 290 s, within the ttl. */
    test_report_t *p2 = new_report("dev", 300, 350);
    add_flow(p2, REPORT_PROTO_UDP, 5683, 40001, 9, false, 0);
    p2->flows[0].first_seen = p2->flows[0].last_seen = 300;
    continuity_apply(c, &p2->r);
    assert_true(p2->flows[0].remote_initiated);

    test_report_t *p3 = new_report("dev", 601, 660);
    add_flow(p3, REPORT_PROTO_UDP, 5683, 40001, 9, false, 0);
    continuity_apply(c, &p3->r);
    assert_false(p3->flows[0].remote_initiated); /* 360 s after its last sighting */
    free(p1), free(p2), free(p3);
    continuity_free(c);
}

static void test_a_full_table_stops_remembering_and_counts(void **state)
{
    (void)state;
    continuity_t *c = continuity_new(100, 600);
    test_report_t *p1 = new_report("dev", 0, 60);
    for (unsigned i = 0; i < 150; i++)
        add_flow(p1, REPORT_PROTO_UDP, (uint16_t)(1000 + i), 53, 9, true, 0);
    continuity_apply(c, &p1->r);
    continuity_stats_t st;
    continuity_get_stats(c, &st);
    assert_int_equal(st.remembered, 100);
    assert_int_equal(st.full, 50);

    test_report_t *p2 = new_report("dev", 60, 120);
    for (unsigned i = 0; i < 150; i++)
        add_flow(p2, REPORT_PROTO_UDP, (uint16_t)(1000 + i), 53, 9, false, 0);
    continuity_apply(c, &p2->r);
    for (unsigned i = 0; i < 150; i++)
        assert_int_equal(p2->flows[i].remote_initiated, i < 100);
    free(p1), free(p2);
    continuity_free(c);
}

static void test_expired_flows_make_room_in_a_full_table(void **state)
{
    (void)state;
    continuity_t *c = continuity_new(100, 60);
    test_report_t *p1 = new_report("dev", 0, 60);
    for (unsigned i = 0; i < 100; i++)
        add_flow(p1, REPORT_PROTO_UDP, (uint16_t)(1000 + i), 53, 9, true, 0);
    continuity_apply(c, &p1->r);
    test_report_t *p2 = new_report("dev", 1000, 1060);
    for (unsigned i = 0; i < 100; i++)
        add_flow(p2, REPORT_PROTO_UDP, (uint16_t)(2000 + i), 53, 9, true, 0);
    continuity_apply(c, &p2->r);
    continuity_stats_t st;
    continuity_get_stats(c, &st);
    /* Refused only until the amortised purge: the 25th refusal (a quarter
     * of the table) purges, and that flow is the first remembered. */
    assert_int_equal(st.full, 24);
    assert_int_equal(st.remembered, 76);

    test_report_t *p3 = new_report("dev", 1060, 1120);
    for (unsigned i = 0; i < 100; i++)
        add_flow(p3, REPORT_PROTO_UDP, (uint16_t)(2000 + i), 53, 9, false, 0);
    continuity_apply(c, &p3->r);
    unsigned kept = 0;
    for (unsigned i = 0; i < 100; i++)
        kept += p3->flows[i].remote_initiated;
    assert_int_equal(kept, 100 - st.full);
    free(p1), free(p2), free(p3);
    continuity_free(c);
}

static void test_thousands_of_flows_survive_table_growth(void **state)
{
    (void)state;
    continuity_t *c = continuity_new(100000, 600);
    test_report_t *p1 = new_report("dev", 0, 60);
    for (unsigned i = 0; i < MAX_TEST_FLOWS; i++)
        add_flow(p1, REPORT_PROTO_UDP, (uint16_t)(1000 + i), 53, (uint8_t)i, (i % 3) == 0, 0);
    continuity_apply(c, &p1->r);
    test_report_t *p2 = new_report("dev", 60, 120);
    for (unsigned i = 0; i < MAX_TEST_FLOWS; i++)
        add_flow(p2, REPORT_PROTO_UDP, (uint16_t)(1000 + i), 53, (uint8_t)i, false, 0);
    continuity_apply(c, &p2->r);
    for (unsigned i = 0; i < MAX_TEST_FLOWS; i++)
        assert_int_equal(p2->flows[i].remote_initiated, (i % 3) == 0);
    free(p1), free(p2);
    continuity_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_session_outliving_its_period_keeps_its_opener),
        cmocka_unit_test(test_a_syn_in_its_own_period_is_never_overridden),
        cmocka_unit_test(test_unknown_tcp_without_syn_is_judged_by_the_listeners),
        cmocka_unit_test(test_without_a_listener_list_the_device_answer_stands),
        cmocka_unit_test(test_udp_keeps_the_direction_of_its_first_period),
        cmocka_unit_test(test_devices_do_not_share_memory),
        cmocka_unit_test(test_a_flow_is_forgotten_after_its_ttl),
        cmocka_unit_test(test_a_full_table_stops_remembering_and_counts),
        cmocka_unit_test(test_expired_flows_make_room_in_a_full_table),
        cmocka_unit_test(test_thousands_of_flows_survive_table_growth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
