/*
 * fuzz_mqtt_decode.c - libFuzzer harness for vigil-agent's strict decoders of
 * the ack and config messages (proto/transport.cddl, mqtt_uplink.c). The
 * first byte picks the decoder; the rest is the message. A config that is
 * accepted must be within every range libvigil accepts, and a rejected one
 * must leave the running configuration exactly as it was; a rejected ack
 * must leave its outputs untouched.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mqtt_uplink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *msg = data + 1;
    size_t len = size - 1;
    char why[96];
    if (data[0] & 1) {
        uint32_t boot = 0xa5a5a5a5u, seq = 0x5a5a5a5au;
        if (!mqtt_uplink_decode_ack(msg, len, &boot, &seq, why, sizeof why) &&
            (boot != 0xa5a5a5a5u || seq != 0x5a5a5a5au || why[0] == '\0'))
            abort();
        return 0;
    }
    const vigil_config_t running = {60, VIGIL_COLLECT_ALL, 10, 1024};
    vigil_config_t c = running;
    if (mqtt_uplink_decode_config(msg, len, &c, why, sizeof why)) {
        if (c.report_interval_s < 1 || c.report_interval_s > 3600 ||
            (c.collectors & ~VIGIL_COLLECT_ALL) != 0 || c.sysinfo_every < 1 ||
            c.sysinfo_every > 1000 || c.max_message_size < 512 ||
            c.max_message_size > VIGIL_MAX_MESSAGE_SIZE)
            abort();
    } else if (memcmp(&c, &running, sizeof c) != 0 || why[0] == '\0') {
        abort();
    }
    return 0;
}
