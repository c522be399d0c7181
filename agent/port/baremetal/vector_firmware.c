/*
 * vector_firmware.c - bare-metal sample firmware for Cortex-M (qemu's
 * mps2-an385): it replays every shared test vector through libvigil, the
 * way tests/encoder/vector_runner.c does on the host, and writes each
 * report in lowercase hex over semihosting, so that the host can compare the
 * bytes with proto/vectors/NAME.hex. It also measures how much stack
 * vigil_observe() and vigil_poll()/vigil_flush() really use on this core.
 *
 * Output, one item per line:
 *   vector NAME / HEX... (one line per report) / end NAME
 *   stack vigil_observe BYTES, stack vigil_poll BYTES
 *   error NAME: WHY (then exit status 1)
 *   done COUNT
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "semihost.h"
#include "vector_data.h"
#include "vigil.h"

static vigil_ctx_t ctx;
static vigil_port_t port;
static vigil_listener_t listeners[128];
static size_t listener_count;
static char line[2 * VIGIL_MAX_MESSAGE_SIZE + 2];

/* ---- stack measurement: paint below the stack pointer, call, look ---- */

#define PAINT 0x5aa55aa5u
#define PAINT_WORDS 1024u /* 4 KB below the caller's stack pointer */

static inline __attribute__((always_inline)) uintptr_t stack_pointer(void)
{
    uintptr_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    return sp;
}

/* Inlined so that it needs no stack of its own below `sp`. */
static inline __attribute__((always_inline)) void stack_paint(uintptr_t sp)
{
    volatile uint32_t *p = (volatile uint32_t *)(sp & ~(uintptr_t)3u);
    for (uint32_t i = 1; i <= PAINT_WORDS; i++)
        p[-(int32_t)i] = PAINT;
}

/* Bytes below `sp` that no longer hold the paint. */
static uint32_t stack_used(uintptr_t sp)
{
    const volatile uint32_t *p = (const volatile uint32_t *)(sp & ~(uintptr_t)3u);
    uint32_t untouched = 0;
    while (untouched < PAINT_WORDS && p[-(int32_t)(PAINT_WORDS - untouched)] == PAINT)
        untouched++;
    return (PAINT_WORDS - untouched) * 4u;
}

static uint32_t max_stack_observe, max_stack_poll;

/* ---- replay ---- */

static bool listener_at(void *arg, size_t index, vigil_listener_t *out)
{
    (void)arg;
    if (index >= listener_count)
        return false;
    *out = listeners[index];
    return true;
}

static void put(const char *a, const char *b, const char *c)
{
    semihost_write0(a);
    semihost_write0(b);
    semihost_write0(c);
}

static void put_u32(const char *label, uint32_t v)
{
    char digits[11];
    size_t i = sizeof digits - 1;
    digits[i] = '\0';
    do {
        digits[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v && i > 0);
    put(label, digits + i, "\n");
}

/* Writes every report the outbox holds, then releases them all. */
static bool drain(void)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *msg;
    size_t len;
    uint32_t seq = 0;
    size_t count = vigil_outbox_count(&ctx);
    for (size_t i = 0; i < count; i++) {
        if (vigil_outbox_get(&ctx, i, &msg, &len, &seq) != VIGIL_OK || 2 * len + 2 > sizeof line)
            return false;
        for (size_t j = 0; j < len; j++) {
            line[2 * j] = hex[msg[j] >> 4];
            line[2 * j + 1] = hex[msg[j] & 15u];
        }
        line[2 * len] = '\n';
        line[2 * len + 1] = '\0';
        semihost_write0(line);
    }
    if (count > 0)
        (void)vigil_outbox_release(&ctx, seq);
    return true;
}

static const char *run_step(const vec_step_t *s)
{
    const uint8_t *bytes = vec_bytes + s->offset;
    uintptr_t sp = stack_pointer();
    uint32_t used;

    switch ((vec_op_t)s->op) {
    case VEC_SETUP: {
        const vec_setup_t *v = s->ref;
        vigil_setup_t setup;
        memset(&setup, 0, sizeof setup);
        vigil_config_default(&setup.config);
        setup.device_id = v->device_id;
        setup.boot_id = v->boot_id;
        setup.now = v->now;
        setup.config.report_interval_s = v->interval_s;
        setup.config.max_message_size = v->max_message_size;
        setup.port = &port;
        return vigil_init(&ctx, &setup) == VIGIL_OK ? NULL : "vigil_init refused the setup";
    }
    case VEC_SYSINFO:
        port.sysinfo = s->ref;
        return NULL;
    case VEC_LISTENER:
        if (listener_count == sizeof listeners / sizeof listeners[0])
            return "too many listeners";
        listeners[listener_count++] = *(const vigil_listener_t *)s->ref;
        return NULL;
    case VEC_IN:
    case VEC_OUT:
        stack_paint(sp);
        vigil_observe(&ctx, s->op == VEC_IN ? VIGIL_DIR_IN : VIGIL_DIR_OUT, bytes, s->size, s->now);
        used = stack_used(sp);
        break;
    case VEC_HEADERS_IN:
    case VEC_HEADERS_OUT:
        stack_paint(sp);
        vigil_observe_headers(&ctx, s->op == VEC_HEADERS_IN ? VIGIL_DIR_IN : VIGIL_DIR_OUT,
                              bytes, s->size, s->length, s->now);
        used = stack_used(sp);
        break;
    case VEC_POLL:
    case VEC_FLUSH: {
        stack_paint(sp);
        vigil_err_t err = s->op == VEC_POLL ? vigil_poll(&ctx, s->now) : vigil_flush(&ctx, s->now);
        used = stack_used(sp);
        if (used > max_stack_poll)
            max_stack_poll = used;
        if (err != VIGIL_OK)
            return "encoding failed";
        return drain() ? NULL : "outbox read failed";
    }
    default:
        return "unknown step";
    }
    if (used > max_stack_observe)
        max_stack_observe = used;
    return NULL;
}

int main(void)
{
    port.listener_at = listener_at;
    for (size_t v = 0; v < vec_vector_count; v++) {
        const vec_vector_t *vec = &vec_vectors[v];
        memset(&ctx, 0, sizeof ctx);
        port.sysinfo = NULL;
        listener_count = 0;
        put("vector ", vec->name, "\n");
        for (size_t i = 0; i < vec->step_count; i++) {
            const char *why = run_step(&vec->steps[i]);
            if (why) {
                put("error ", vec->name, ": ");
                put(why, "\n", "");
                return 1;
            }
        }
        put("end ", vec->name, "\n");
    }
    put_u32("stack vigil_observe ", max_stack_observe);
    put_u32("stack vigil_poll ", max_stack_poll);
    if (max_stack_observe >= PAINT_WORDS * 4u || max_stack_poll >= PAINT_WORDS * 4u) {
        put("error stack: more than the painted area used", "\n", "");
        return 1;
    }
    put_u32("done ", (uint32_t)vec_vector_count);
    return 0;
}
