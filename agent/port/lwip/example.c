/*
 * example.c - libvigil on an lwIP device, as docs/embedding.md shows it:
 * one context, the lwIP port attached to the Ethernet netif, a poll every
 * second from the tcpip thread, and the reports published over lwIP's MQTT
 * client. Built (not run) by agent/port/lwip/CMakeLists.txt so that the
 * documented code keeps compiling against the real lwIP headers.
 */
#include <stdio.h>

#include "lwip/apps/mqtt.h"
#include "lwip/init.h"
#include "lwip/timeouts.h"
#include "vigil_lwip.h"

#include "example.h"

static vigil_ctx_t vigil;                 /* all of libvigil's memory */
static vigil_lwip_t vigil_lwip;
static vigil_lwip_netif_t vigil_eth0;
static char report_topic[96];

static const vigil_sysinfo_t sysinfo = {
    "FreeRTOS", "10.5.1", "lwIP", LWIP_VERSION_STRING, "VG-THERMO-2", "1.4.2", 0
};
static const vigil_port_t port = { vigil_lwip_listener_at, &sysinfo, NULL };

/* Every second, in the tcpip thread: close the period when it is due, then
 * hand new reports to MQTT. They stay in the outbox until the analyzer
 * acknowledges them on vigil/v1/<device-id>/ack (example_vigil_acked); a real
 * transport also re-sends the waiting ones after a reconnect. */
static void vigil_tick(void *arg)
{
    static uint32_t next_seq;  /* the first report not handed to MQTT yet */
    mqtt_client_t *mqtt = arg;
    (void)vigil_lwip_poll(&vigil_lwip);

    /* Only this thread changes the outbox (poll, release), so the messages
     * stay valid after unlocking; never call lwIP with the lock held. */
    const uint8_t *msg[4];
    size_t len[4], n = 0;
    uint32_t seq[4];
    vigil_lwip_lock(&vigil_lwip);
    for (size_t i = 0; n < 4 && vigil_outbox_get(&vigil, i, &msg[n], &len[n], &seq[n]) == VIGIL_OK; i++)
        if (seq[n] >= next_seq)
            n++;
    vigil_lwip_unlock(&vigil_lwip);
    for (size_t i = 0; i < n && mqtt_client_is_connected(mqtt); i++)
        if (mqtt_publish(mqtt, report_topic, msg[i], (u16_t)len[i], 1, 0, NULL, NULL) == ERR_OK)
            next_seq = seq[i] + 1;

    sys_timeout(1000, vigil_tick, mqtt);
}

/* Call in the tcpip thread after netif_add(eth0, ...), before netif_set_up. */
int example_vigil_start(struct netif *eth0, mqtt_client_t *mqtt, const char *device_id,
                        uint32_t boot_id, uint32_t now_s)
{
    vigil_setup_t setup = { 0 };
    vigil_config_default(&setup.config);
    setup.device_id = device_id;
    setup.boot_id = boot_id;  /* random per boot */
    setup.now = now_s;
    setup.port = &port;
    if (vigil_init(&vigil, &setup) != VIGIL_OK ||
        vigil_lwip_init(&vigil_lwip, &vigil, NULL) != ERR_OK ||  /* NULL: sys_now() / 1000 */
        vigil_lwip_attach(&vigil_lwip, &vigil_eth0, eth0) != ERR_OK)
        return -1;
    snprintf(report_topic, sizeof report_topic, "vigil/v1/%s/report", device_id);
    sys_timeout(1000, vigil_tick, mqtt);
    return 0;
}

/* The analyzer stored every report up to `seq`: free them (tcpip thread). */
void example_vigil_acked(uint32_t seq)
{
    vigil_lwip_lock(&vigil_lwip);
    (void)vigil_outbox_release(&vigil, seq);
    vigil_lwip_unlock(&vigil_lwip);
}
