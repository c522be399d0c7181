/*
 * intel_net.c - the one address/CIDR parser and formatter shared by every
 * feed format and by the policy's CIDR lists.
 *
 * It reads only the `len` bytes it is given (feed lines are not
 * NUL-terminated) and never accepts something it would print differently
 * in a way that changes its meaning: octets with leading zeros are refused,
 * because other tools read them as octal.
 */
#include "intel_priv.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static bool parse_decimal(const char *s, size_t len, unsigned max, unsigned *out)
{
    if (len == 0 || len > 3)
        return false;
    if (len > 1 && s[0] == '0')
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10u + (unsigned)(s[i] - '0');
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_ipv4(const char *s, size_t len, uint8_t out[4])
{
    size_t start = 0;
    int octet = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.')
            continue;
        unsigned v;
        if (octet > 3 || !parse_decimal(s + start, i - start, 255, &v))
            return false;
        out[octet++] = (uint8_t)v;
        start = i + 1;
    }
    return octet == 4;
}

static void clear_host_bits(uint8_t *addr, unsigned bytes, unsigned prefix)
{
    for (unsigned i = 0; i < bytes; i++) {
        unsigned bit = i * 8u;
        if (bit >= prefix)
            addr[i] = 0;
        else if (prefix - bit < 8u)
            addr[i] &= (uint8_t)(0xffu << (8u - (prefix - bit)));
    }
}

bool intel_net_parse(const char *text, size_t len, intel_net_t *out, const char **why)
{
    const char *reason = NULL;
    if (len == 0) {
        reason = "empty address";
        goto fail;
    }
    if (memchr(text, '\0', len) != NULL) {
        reason = "NUL byte in address";
        goto fail;
    }
    size_t addr_len = len;
    const char *slash = memchr(text, '/', len);
    bool has_prefix = slash != NULL;
    if (has_prefix)
        addr_len = (size_t)(slash - text);

    memset(out, 0, sizeof *out);
    unsigned max_prefix;
    if (memchr(text, ':', addr_len) != NULL) {
        char buf[INET6_ADDRSTRLEN];
        if (addr_len >= sizeof buf) {
            reason = "IPv6 address too long";
            goto fail;
        }
        memcpy(buf, text, addr_len);
        buf[addr_len] = '\0';
        uint8_t a[16];
        if (inet_pton(AF_INET6, buf, a) != 1) {
            reason = "not an IPv6 address";
            goto fail;
        }
        out->family = 6;
        memcpy(out->addr, a, 16);
        max_prefix = 128;
    } else {
        if (!parse_ipv4(text, addr_len, out->addr)) {
            reason = "not an IPv4 address";
            goto fail;
        }
        out->family = 4;
        max_prefix = 32;
    }

    unsigned prefix = max_prefix;
    if (has_prefix) {
        const char *p = slash + 1;
        if (!parse_decimal(p, len - addr_len - 1, max_prefix, &prefix)) {
            reason = "bad prefix length";
            goto fail;
        }
    }

    /* ::ffff:a.b.c.d/104 and the like are IPv4 networks written as IPv6. */
    if (out->family == 6 && intel_is_v4_mapped(out->addr) && prefix >= 96) {
        memmove(out->addr, out->addr + 12, 4);
        memset(out->addr + 4, 0, 12);
        out->family = 4;
        prefix -= 96;
    }
    out->prefix = (uint8_t)prefix;
    clear_host_bits(out->addr, out->family == 4 ? 4u : 16u, prefix);
    return true;

fail:
    if (why)
        *why = reason;
    return false;
}

void intel_net_format(const intel_net_t *net, char *out, size_t size)
{
    char addr[INET6_ADDRSTRLEN] = "?";
    if (net->family == 4)
        inet_ntop(AF_INET, net->addr, addr, sizeof addr);
    else if (net->family == 6)
        inet_ntop(AF_INET6, net->addr, addr, sizeof addr);
    unsigned full = net->family == 4 ? 32u : 128u;
    if (net->prefix == full)
        snprintf(out, size, "%s", addr);
    else
        snprintf(out, size, "%s/%u", addr, (unsigned)net->prefix);
}
