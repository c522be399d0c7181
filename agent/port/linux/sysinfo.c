/*
 * sysinfo.c - fills vigil_sysinfo_t: from uname(2), /sys and /etc/os-release
 * for this host, or from the operator's options for a captured device.
 *
 * Files are read with a size bound and their text is cleaned (newlines,
 * quotes, NULs); a missing file means "unknown", never an error. It must
 * never fail the agent.
 */
#define _DEFAULT_SOURCE
#include "sysinfo.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#define FILE_MAX 4096

/* Reads at most len-1 bytes of a file as a string; false if unreadable. */
static bool read_small_file(const char *root, const char *path, char *buf, size_t len)
{
    char full[512];
    snprintf(full, sizeof full, "%s%s", root, path);
    FILE *f = fopen(full, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = '\0';
    return true;
}

/* Cuts a string at its first NUL, CR or LF and trims spaces at the end. */
static void clean_line(char *s)
{
    s[strcspn(s, "\r\n")] = '\0';
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
}

static void copy_string(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src);
}

void sysinfo_os_release_value(const char *text, const char *key, char *out, size_t out_len)
{
    size_t key_len = strlen(key);
    out[0] = '\0';
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t line_len = end ? (size_t)(end - line) : strlen(line);
        if (line_len > key_len && strncmp(line, key, key_len) == 0 && line[key_len] == '=') {
            const char *v = line + key_len + 1;
            size_t v_len = line_len - key_len - 1;
            if (v_len >= 2 && (v[0] == '"' || v[0] == '\'') && v[v_len - 1] == v[0]) {
                v++;
                v_len -= 2;
            }
            if (v_len >= out_len)
                v_len = out_len - 1;
            memcpy(out, v, v_len);
            out[v_len] = '\0';
            return;
        }
        line = end ? end + 1 : NULL;
    }
}

static uint32_t boot_time(const char *root, uint32_t now)
{
    char buf[128];
    if (!read_small_file(root, "/proc/uptime", buf, sizeof buf))
        return 0;
    double up = 0;
    if (sscanf(buf, "%lf", &up) != 1 || up < 0 || up > (double)now)
        return 0;
    return now - (uint32_t)up;
}

void sysinfo_from_host(agent_sysinfo_t *s, const char *root, uint32_t now)
{
    memset(s, 0, sizeof *s);
    struct utsname u;
    if (uname(&u) == 0) {
        copy_string(s->os_name, sizeof s->os_name, u.sysname);
        copy_string(s->os_version, sizeof s->os_version, u.release);
        copy_string(s->stack_version, sizeof s->stack_version, u.release);
        s->info.os_name = s->os_name;
        s->info.os_version = s->os_version;
        s->info.stack_version = s->stack_version;
    }
    s->info.stack_name = "linux";

    char buf[FILE_MAX];
    if ((read_small_file(root, "/sys/firmware/devicetree/base/model", buf, sizeof buf) ||
         read_small_file(root, "/sys/class/dmi/id/product_name", buf, sizeof buf))) {
        clean_line(buf);
        if (buf[0]) {
            copy_string(s->model, sizeof s->model, buf);
            s->info.device_model = s->model;
        }
    }
    if (read_small_file(root, "/etc/os-release", buf, sizeof buf)) {
        sysinfo_os_release_value(buf, "PRETTY_NAME", s->firmware, sizeof s->firmware);
        if (s->firmware[0])
            s->info.firmware_version = s->firmware;
    }
    s->info.boot_time = boot_time(root, now);
}

void sysinfo_for_capture(agent_sysinfo_t *s, const char *model, const char *firmware)
{
    memset(s, 0, sizeof *s);
    s->info.os_name = "capture";
    if (model) {
        copy_string(s->model, sizeof s->model, model);
        s->info.device_model = s->model;
    }
    if (firmware) {
        copy_string(s->firmware, sizeof s->firmware, firmware);
        s->info.firmware_version = s->firmware;
    }
}
