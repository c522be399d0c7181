/*
 * capture_agent.c - libvigil over a capture file or a live interface (see
 * capture_agent.h). Shared by vigil-agent and `vigil scan`, so that a scan
 * sees exactly the reports vigil-agent would write.
 *
 * It must never decide a report's fate (that is the outbox hook's) and
 * never classify a packet it could not read the addresses of as a flow.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "capture_agent.h"

#define DROP_CHECK_S 1u

void capture_agent_init(capture_agent_t *agent, const capture_agent_options_t *options,
                        bool live, bool device_is_host, const char *model, const char *firmware)
{
    memset(agent, 0, sizeof *agent);
    agent->options = *options;
    listeners_init(&agent->listeners, device_is_host ? LISTENERS_FROM_PROC : LISTENERS_FROM_TRAFFIC,
                   NULL);
    if (live)
        sysinfo_from_host(&agent->sysinfo, "", (uint32_t)time(NULL));
    else
        sysinfo_for_capture(&agent->sysinfo, model, firmware);
    agent->port.listener_at = listeners_at;
    agent->port.arg = &agent->listeners;
    agent->port.sysinfo = &agent->sysinfo.info;
}

static bool start(capture_agent_t *agent, uint32_t now)
{
    const capture_agent_options_t *o = &agent->options;
    vigil_setup_t setup;
    memset(&setup, 0, sizeof setup);
    setup.device_id = o->device_id;
    setup.boot_id = o->boot_id;
    setup.now = now;
    setup.port = &agent->port;
    vigil_config_default(&setup.config);
    setup.config.report_interval_s = o->interval;
    setup.config.max_message_size = o->max_message;
    if (vigil_init(&agent->ctx, &setup) != VIGIL_OK)
        return false;
    agent->started = true;
    return true;
}

static void hand_over(capture_agent_t *agent)
{
    if (!agent->stopped && !agent->options.on_outbox(agent->options.user, &agent->ctx))
        agent->stopped = true;
}

static void poll_at(capture_agent_t *agent, uint32_t now)
{
    (void)vigil_poll(&agent->ctx, now);
    hand_over(agent);
}

static void flush_at(capture_agent_t *agent, uint32_t now)
{
    (void)vigil_flush(&agent->ctx, now);
    hand_over(agent);
}

static void handle_packet(capture_agent_t *agent, const link_packet_t *pkt, uint32_t now)
{
    capture_stats_t *s = &agent->stats;
    s->read++;
    if (pkt->kind == LINK_NON_IP) {
        s->non_ip++;
        return;
    }
    if (pkt->kind == LINK_TRUNCATED) {
        s->link_truncated++;
        return;
    }
    vigil_dir_t dir;
    switch (device_addrs_classify(agent->options.addrs, pkt->ip, pkt->captured)) {
    case PACKET_OUTBOUND:
        s->outbound++;
        dir = VIGIL_DIR_OUT;
        break;
    case PACKET_INBOUND:
        s->inbound++;
        dir = VIGIL_DIR_IN;
        break;
    case PACKET_FOREIGN:
        s->foreign++;
        vigil_count(&agent->ctx, VIGIL_CNT_FOREIGN_PACKET);
        return;
    default:
        /* Too short or not IP at all: libvigil counts it by its reason. */
        s->unreadable++;
        vigil_observe_headers(&agent->ctx, VIGIL_DIR_IN, pkt->ip, pkt->captured, pkt->length, now);
        return;
    }
    listeners_learn(&agent->listeners, dir == VIGIL_DIR_OUT, pkt->ip, pkt->captured);
    vigil_observe_headers(&agent->ctx, dir, pkt->ip, pkt->captured, pkt->length, now);
}

capture_result_t capture_agent_run_file(capture_agent_t *agent, pcap_source_t *src,
                                        char *err, size_t err_len)
{
    capture_result_t result = CAPTURE_DONE;
    uint32_t last = 0;
    link_packet_t pkt;
    source_status_t st;
    while ((st = pcap_source_next(src, &pkt)) == SOURCE_PACKET) {
        if (!agent->started && !start(agent, pkt.ts))
            return CAPTURE_REFUSED;
        /* Close a period that ended before this packet first, so that after
         * a silence in the capture the packet starts the next period rather
         * than stretching the old one past its interval. */
        poll_at(agent, pkt.ts);
        handle_packet(agent, &pkt, pkt.ts);
        last = pkt.ts;
        poll_at(agent, pkt.ts);
        if (agent->stopped)
            return CAPTURE_STOPPED;
    }
    if (st == SOURCE_ERROR) {
        snprintf(err, err_len, "capture unreadable after %llu packets: %s", agent->stats.read,
                 pcap_source_error(src));
        result = CAPTURE_READ_ERROR;
    }
    if (!agent->started && !start(agent, 0))
        return CAPTURE_REFUSED;
    flush_at(agent, last);
    return agent->stopped ? CAPTURE_STOPPED : result;
}

static void count_drops(capture_agent_t *agent, pcap_source_t *src)
{
    for (uint64_t n = pcap_source_take_dropped(src); n > 0; n--)
        vigil_count(&agent->ctx, VIGIL_CNT_CAPTURE_DROPPED);
}

capture_result_t capture_agent_run_live(capture_agent_t *agent, pcap_source_t *src,
                                        volatile sig_atomic_t *stop, uint32_t duration,
                                        char *err, size_t err_len)
{
    uint32_t began = (uint32_t)time(NULL);
    if (!start(agent, began))
        return CAPTURE_REFUSED;
    capture_result_t result = CAPTURE_DONE;
    uint32_t last_drop_check = began;
    while (!*stop) {
        link_packet_t pkt;
        source_status_t st = pcap_source_next(src, &pkt);
        uint32_t now = (uint32_t)time(NULL);
        if (st == SOURCE_PACKET) {
            handle_packet(agent, &pkt, now);
        } else if (st == SOURCE_END) {
            break;
        } else if (st == SOURCE_ERROR) {
            snprintf(err, err_len, "capture failed: %s", pcap_source_error(src));
            result = CAPTURE_READ_ERROR;
            break;
        }
        if (now - last_drop_check >= DROP_CHECK_S) {
            count_drops(agent, src);
            last_drop_check = now;
        }
        poll_at(agent, now);
        if (agent->stopped)
            break;
        if (duration && now - began >= duration)
            break;
    }
    count_drops(agent, src);
    flush_at(agent, (uint32_t)time(NULL));
    return agent->stopped ? CAPTURE_STOPPED : result;
}
