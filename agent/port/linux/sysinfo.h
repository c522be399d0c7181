/*
 * sysinfo.h - the system information vigil-agent reports: this host's (live)
 * or what the operator said about a captured device (pcap).
 */
#ifndef VIGIL_AGENT_SYSINFO_H
#define VIGIL_AGENT_SYSINFO_H

#include <stddef.h>
#include <stdint.h>

#include "vigil.h"

#define SYSINFO_STRING 128

/* Owns the strings a vigil_sysinfo_t points at. */
typedef struct {
    char os_name[SYSINFO_STRING];
    char os_version[SYSINFO_STRING];
    char stack_version[SYSINFO_STRING];
    char model[SYSINFO_STRING];
    char firmware[SYSINFO_STRING];
    vigil_sysinfo_t info;
} agent_sysinfo_t;

/*
 * This host: uname(2) for the OS and the "linux" stack, the device-tree or
 * DMI model, /etc/os-release PRETTY_NAME as firmware, boot time from
 * /proc/uptime against `now`. `root` prefixes every file path ("" normally;
 * tests point it at a fake tree).
 */
void sysinfo_from_host(agent_sysinfo_t *s, const char *root, uint32_t now);

/* A captured device: os "capture"; model and firmware as given (NULL = unknown). */
void sysinfo_for_capture(agent_sysinfo_t *s, const char *model, const char *firmware);

/* The value of KEY=VALUE in an os-release file's text, unquoted, into out;
 * empty when absent. */
void sysinfo_os_release_value(const char *text, const char *key, char *out, size_t out_len);

#endif
