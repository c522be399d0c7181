/*
 * device_addrs.c - the set of addresses that are the device's, filled from
 * the command line or from an interface, and the inbound/outbound/foreign
 * decision for each packet.
 *
 * It reads only the IP version and the two address fields of a packet, each
 * after checking it was captured; it must never decide anything else about
 * a packet (that is libvigil's parser's job).
 */
#define _DEFAULT_SOURCE
#include "device_addrs.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define IP4_OFF_SRC 12u
#define IP4_OFF_DST 16u
#define IP6_OFF_SRC 8u
#define IP6_OFF_DST 24u

static size_t addr_len(uint8_t family)
{
    return family == 4 ? 4u : 16u;
}

bool device_addrs_contains(const device_addrs_t *set, uint8_t family, const uint8_t *addr)
{
    for (size_t i = 0; i < set->count; i++)
        if (set->addrs[i].family == family &&
            memcmp(set->addrs[i].addr, addr, addr_len(family)) == 0)
            return true;
    return false;
}

bool device_addrs_add(device_addrs_t *set, uint8_t family, const uint8_t *addr)
{
    if (family != 4 && family != 6)
        return false;
    if (device_addrs_contains(set, family, addr))
        return true;
    if (set->count == DEVICE_ADDRS_MAX)
        return false;
    device_addr_t *a = &set->addrs[set->count++];
    memset(a, 0, sizeof *a);
    a->family = family;
    memcpy(a->addr, addr, addr_len(family));
    return true;
}

bool device_addrs_add_text(device_addrs_t *set, const char *text)
{
    uint8_t buf[16];
    if (inet_pton(AF_INET, text, buf) == 1)
        return device_addrs_add(set, 4, buf);
    if (inet_pton(AF_INET6, text, buf) == 1)
        return device_addrs_add(set, 6, buf);
    return false;
}

/* Calls fn for every IPv4/IPv6 address of interface iface (NULL = all). */
static bool each_interface_addr(const char *iface,
                                bool (*fn)(void *arg, uint8_t family, const uint8_t *addr),
                                void *arg)
{
    struct ifaddrs *list;
    if (getifaddrs(&list) != 0)
        return false;
    bool ok = true;
    for (struct ifaddrs *ifa = list; ifa && ok; ifa = ifa->ifa_next) {
        if (!ifa->ifa_addr || (iface && strcmp(ifa->ifa_name, iface) != 0))
            continue;
        if (ifa->ifa_addr->sa_family == AF_INET) {
            const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)ifa->ifa_addr;
            ok = fn(arg, 4, (const uint8_t *)&sin->sin_addr);
        } else if (ifa->ifa_addr->sa_family == AF_INET6) {
            const struct sockaddr_in6 *sin6 =
                (const struct sockaddr_in6 *)(const void *)ifa->ifa_addr;
            ok = fn(arg, 6, sin6->sin6_addr.s6_addr);
        }
    }
    freeifaddrs(list);
    return ok;
}

static bool add_cb(void *arg, uint8_t family, const uint8_t *addr)
{
    return device_addrs_add(arg, family, addr);
}

bool device_addrs_add_interface(device_addrs_t *set, const char *iface)
{
    size_t before = set->count;
    return each_interface_addr(iface, add_cb, set) && set->count > before;
}

bool device_addrs_all_local(const device_addrs_t *set)
{
    device_addrs_t local;
    memset(&local, 0, sizeof local);
    /* A host with more addresses than the set holds: compare what fits. */
    each_interface_addr(NULL, add_cb, &local);
    for (size_t i = 0; i < set->count; i++)
        if (!device_addrs_contains(&local, set->addrs[i].family, set->addrs[i].addr))
            return false;
    return true;
}

packet_way_t device_addrs_classify(const device_addrs_t *set, const uint8_t *ip, size_t captured)
{
    if (captured < 1)
        return PACKET_UNREADABLE;
    uint8_t version = (uint8_t)(ip[0] >> 4);
    const uint8_t *src, *dst;
    if (version == 4 && captured >= IP4_OFF_DST + 4u) {
        src = ip + IP4_OFF_SRC;
        dst = ip + IP4_OFF_DST;
    } else if (version == 6 && captured >= IP6_OFF_DST + 16u) {
        src = ip + IP6_OFF_SRC;
        dst = ip + IP6_OFF_DST;
    } else {
        return PACKET_UNREADABLE;
    }
    if (device_addrs_contains(set, version, src))
        return PACKET_OUTBOUND;
    if (device_addrs_contains(set, version, dst))
        return PACKET_INBOUND;
    return PACKET_FOREIGN;
}

void device_addr_format(const device_addr_t *a, char *buf, size_t len)
{
    if (!inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->addr, buf, (socklen_t)len))
        snprintf(buf, len, "?");
}
