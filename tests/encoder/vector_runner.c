/*
 * vector_runner.c - runs a test vector's steps (proto/vectors/NAME.vec)
 * through libvigil and prints every report the outbox holds after each poll
 * or flush as one line of lowercase hex. The encoder's test compares this
 * with NAME.hex; the qemu firmware runs the same steps on Cortex-M.
 *
 * Vector lines (`#` starts a comment):
 *   setup DEVICE_ID BOOT_ID START_NOW INTERVAL_S MAX_MESSAGE_SIZE   (first)
 *   sysinfo KEY=VALUE ...        os_name os_version stack_name stack_version
 *                                device_model firmware_version boot_time
 *   listener tcp|udp 4|6 PORT [ADDR_HEX]
 *   in|out NOW HEX               vigil_observe
 *   headers in|out NOW LENGTH HEX  vigil_observe_headers (captured = HEX bytes)
 *   poll NOW | flush NOW
 * A malformed line is an error naming the line: exit 2.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil.h"

#define MAX_LINE 8192
#define MAX_LISTENERS 128
#define MAX_STRINGS 6

static vigil_ctx_t ctx;
static vigil_listener_t listeners[MAX_LISTENERS];
static size_t listener_count;
static vigil_sysinfo_t sysinfo;
static char sysinfo_strings[MAX_STRINGS][128];
static vigil_port_t port;

static bool listener_at(void *arg, size_t index, vigil_listener_t *out)
{
    (void)arg;
    if (index >= listener_count)
        return false;
    *out = listeners[index];
    return true;
}

static int fail(const char *path, unsigned line, const char *why)
{
    fprintf(stderr, "%s:%u: %s\n", path, line, why);
    return 2;
}

static bool parse_u32(const char *s, uint32_t *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > 0xffffffffUL)
        return false;
    *out = (uint32_t)v;
    return true;
}

static size_t parse_hex(const char *s, uint8_t *out, size_t max, bool *ok)
{
    size_t n = strlen(s);
    *ok = n % 2 == 0 && n / 2 <= max;
    for (size_t i = 0; *ok && i < n / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            *ok = false;
        out[i] = (uint8_t)v;
    }
    return n / 2;
}

static void drain(void)
{
    const uint8_t *msg;
    size_t len;
    uint32_t seq = 0;
    for (size_t i = 0; i < vigil_outbox_count(&ctx); i++) {
        if (vigil_outbox_get(&ctx, i, &msg, &len, &seq) != VIGIL_OK)
            abort();
        for (size_t j = 0; j < len; j++)
            printf("%02x", msg[j]);
        printf("\n");
    }
    if (vigil_outbox_count(&ctx) > 0)
        vigil_outbox_release(&ctx, seq);
}

static bool set_sysinfo(char *kv, unsigned *strings_used)
{
    char *eq = strchr(kv, '=');
    if (!eq)
        return false;
    *eq = '\0';
    const char *key = kv, *value = eq + 1;
    if (strcmp(key, "boot_time") == 0)
        return parse_u32(value, &sysinfo.boot_time);
    if (*strings_used >= MAX_STRINGS)
        return false;
    char *copy = sysinfo_strings[(*strings_used)++];
    snprintf(copy, sizeof sysinfo_strings[0], "%s", value);
    if (strcmp(key, "os_name") == 0)
        sysinfo.os_name = copy;
    else if (strcmp(key, "os_version") == 0)
        sysinfo.os_version = copy;
    else if (strcmp(key, "stack_name") == 0)
        sysinfo.stack_name = copy;
    else if (strcmp(key, "stack_version") == 0)
        sysinfo.stack_version = copy;
    else if (strcmp(key, "device_model") == 0)
        sysinfo.device_model = copy;
    else if (strcmp(key, "firmware_version") == 0)
        sysinfo.firmware_version = copy;
    else
        return false;
    return true;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: vector_runner FILE.vec\n");
        return 2;
    }
    const char *path = argv[1];
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return 2;
    }
    static char line[MAX_LINE];
    static uint8_t packet[4096];
    unsigned lineno = 0, strings_used = 0;
    bool initialised = false;
    port.listener_at = listener_at;

    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *words[16];
        size_t n = 0;
        for (char *w = strtok(line, " \t\r\n"); w && n < 16; w = strtok(NULL, " \t\r\n"))
            words[n++] = w;
        if (n == 0)
            continue;
        const char *op = words[0];
        uint32_t now = 0;
        if (strcmp(op, "setup") == 0) {
            vigil_setup_t setup;
            memset(&setup, 0, sizeof setup);
            vigil_config_default(&setup.config);
            if (n != 6 || initialised || !parse_u32(words[2], &setup.boot_id) ||
                !parse_u32(words[3], &setup.now) ||
                !parse_u32(words[4], &setup.config.report_interval_s) ||
                !parse_u32(words[5], &setup.config.max_message_size))
                return fail(path, lineno, "bad setup line");
            setup.device_id = words[1];
            setup.port = &port;
            if (vigil_init(&ctx, &setup) != VIGIL_OK)
                return fail(path, lineno, "vigil_init refused the setup");
            initialised = true;
            continue;
        }
        if (strcmp(op, "sysinfo") == 0) {
            for (size_t i = 1; i < n; i++)
                if (!set_sysinfo(words[i], &strings_used))
                    return fail(path, lineno, "bad sysinfo field");
            port.sysinfo = &sysinfo;
            continue;
        }
        if (strcmp(op, "listener") == 0) {
            uint32_t family, portnum;
            if (n < 4 || n > 5 || listener_count == MAX_LISTENERS ||
                !parse_u32(words[2], &family) || (family != 4 && family != 6) ||
                !parse_u32(words[3], &portnum) || portnum > 65535)
                return fail(path, lineno, "bad listener line");
            vigil_listener_t *l = &listeners[listener_count++];
            memset(l, 0, sizeof *l);
            l->proto = strcmp(words[1], "udp") == 0 ? VIGIL_PROTO_UDP : VIGIL_PROTO_TCP;
            l->family = (uint8_t)family;
            l->port = (uint16_t)portnum;
            if (n == 5) {
                bool ok;
                if (parse_hex(words[4], l->addr, 16, &ok) != (family == 4 ? 4u : 16u) || !ok)
                    return fail(path, lineno, "bad listener address");
            }
            continue;
        }
        if (!initialised)
            return fail(path, lineno, "first line must be setup");
        if ((strcmp(op, "in") == 0 || strcmp(op, "out") == 0) && n == 3) {
            bool ok;
            if (!parse_u32(words[1], &now))
                return fail(path, lineno, "bad time");
            size_t len = parse_hex(words[2], packet, sizeof packet, &ok);
            if (!ok)
                return fail(path, lineno, "bad packet hex");
            vigil_observe(&ctx, op[0] == 'i' ? VIGIL_DIR_IN : VIGIL_DIR_OUT, packet, len, now);
        } else if (strcmp(op, "headers") == 0 && n == 5) {
            bool ok;
            uint32_t length;
            if (!parse_u32(words[2], &now) || !parse_u32(words[3], &length))
                return fail(path, lineno, "bad headers line");
            size_t len = parse_hex(words[4], packet, sizeof packet, &ok);
            if (!ok)
                return fail(path, lineno, "bad packet hex");
            vigil_observe_headers(&ctx, strcmp(words[1], "in") == 0 ? VIGIL_DIR_IN : VIGIL_DIR_OUT,
                                  packet, len, length, now);
        } else if ((strcmp(op, "poll") == 0 || strcmp(op, "flush") == 0) && n == 2) {
            if (!parse_u32(words[1], &now))
                return fail(path, lineno, "bad time");
            vigil_err_t err = op[0] == 'p' ? vigil_poll(&ctx, now) : vigil_flush(&ctx, now);
            if (err != VIGIL_OK)
                return fail(path, lineno, "encoding failed");
            drain();
        } else {
            return fail(path, lineno, "unknown step");
        }
    }
    fclose(f);
    return 0;
}
