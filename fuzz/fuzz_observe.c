/*
 * fuzz_observe.c - libFuzzer harness for the packet hook and everything it
 * feeds: parser, flow table, fragments, period close, encoder and outbox.
 *
 * Input: one configuration byte, then records
 *   [op:1][captured:2 BE][length:2 BE if op bit 2][bytes:captured]
 * op bit 0: direction, bit 1: poll after the packet, bit 2: headers-only
 * (declared datagram length follows), bits 3-7: seconds the clock advances.
 * Each packet is copied into a buffer of exactly `captured` bytes so that
 * ASan sees any read past it. Checks what must always hold: every report
 * fits the configured message size and is a CBOR map of the right version.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "vigil.h"

static vigil_ctx_t ctx;

static bool listener_at(void *arg, size_t index, vigil_listener_t *out)
{
    (void)arg;
    if (index >= 3)
        return false;
    out->proto = (uint8_t)(index & 1u);
    out->family = index == 2 ? 6 : 4;
    out->port = (uint16_t)(1000 + index);
    return true;
}

static const vigil_sysinfo_t sysinfo = {"os", "1", "stack", "2", "model", "fw", 1};
static const vigil_port_t port = {listener_at, &sysinfo, NULL};

static void check_and_release(uint32_t max_message)
{
    const uint8_t *msg;
    size_t len;
    uint32_t seq = 0;
    size_t count = vigil_outbox_count(&ctx);
    for (size_t i = 0; i < count; i++) {
        if (vigil_outbox_get(&ctx, i, &msg, &len, &seq) != VIGIL_OK)
            abort();
        /* A map head (major type 5), then key 0 => version 1. */
        if (len > max_message || len < 3 || (msg[0] >> 5) != 5 || msg[1] != 0 ||
            msg[2] != VIGIL_WIRE_VERSION)
            abort();
    }
    if (count > 0 && vigil_outbox_release(&ctx, seq) != count)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    vigil_setup_t setup;
    memset(&setup, 0, sizeof setup);
    vigil_config_default(&setup.config);
    setup.config.report_interval_s = 1u + (data[0] & 63u);
    setup.config.max_message_size = 512u + (uint32_t)(data[0] >> 6) * 128u;
    setup.device_id = "fuzz-device";
    setup.boot_id = 1;
    setup.now = 1000;
    setup.port = &port;
    if (vigil_init(&ctx, &setup) != VIGIL_OK)
        abort();

    uint32_t now = 1000;
    size_t pos = 1;
    while (pos + 3 <= size) {
        uint8_t op = data[pos];
        size_t captured = ((size_t)data[pos + 1] << 8) | data[pos + 2];
        pos += 3;
        size_t length = captured;
        if (op & 4u) {
            if (pos + 2 > size)
                break;
            length = ((size_t)data[pos] << 8) | data[pos + 1];
            pos += 2;
        }
        if (captured > size - pos)
            captured = size - pos;
        uint8_t *packet = malloc(captured ? captured : 1);
        if (!packet)
            abort();
        memcpy(packet, data + pos, captured);
        pos += captured;
        now += op >> 3;
        vigil_observe_headers(&ctx, (op & 1u) ? VIGIL_DIR_OUT : VIGIL_DIR_IN, packet, captured,
                              length, now);
        free(packet);
        if (op & 2u) {
            if (vigil_poll(&ctx, now) != VIGIL_OK)
                abort();
            check_and_release(setup.config.max_message_size);
        }
    }
    if (vigil_flush(&ctx, now + 1) != VIGIL_OK)
        abort();
    check_and_release(setup.config.max_message_size);
    return 0;
}
