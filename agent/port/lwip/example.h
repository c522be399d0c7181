/* example.h - the entry points of the lwIP integration example (example.c). */
#ifndef VIGIL_LWIP_EXAMPLE_H
#define VIGIL_LWIP_EXAMPLE_H

#include <stdint.h>

#include "lwip/apps/mqtt.h"
#include "lwip/netif.h"

int example_vigil_start(struct netif *eth0, mqtt_client_t *mqtt, const char *device_id,
                        uint32_t boot_id, uint32_t now_s);
void example_vigil_acked(uint32_t seq);

#endif /* VIGIL_LWIP_EXAMPLE_H */
