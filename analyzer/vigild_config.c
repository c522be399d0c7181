/*
 * vigild_config.c - reads vigild's configuration file (vigild_config.h).
 *
 * What it must never do: read past the text it was given, accept a value it
 * did not check, or half-apply a file: it parses into a local copy and hands
 * it over only when every line was understood. Options are a table, so each
 * one is named, typed and bounded in one place.
 */
#define _POSIX_C_SOURCE 200809L
#include "vigild_config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum { OPT_TEXT, OPT_UINT, OPT_FEED, OPT_LEVEL } opt_kind_t;

typedef struct {
    const char *name;
    opt_kind_t kind;
    size_t offset;         /* into vigild_config_t */
    size_t size;           /* OPT_TEXT: the field's size */
    unsigned long min, max; /* OPT_UINT */
} opt_t;

#define TEXT(field) OPT_TEXT, offsetof(vigild_config_t, field), sizeof(((vigild_config_t *)0)->field), 0, 0
#define UINT(field, lo, hi) OPT_UINT, offsetof(vigild_config_t, field), sizeof(((vigild_config_t *)0)->field), lo, hi

static const opt_t options[] = {
    { "mqtt_host", TEXT(mqtt_host) },
    { "mqtt_port", UINT(mqtt_port, 1, 65535) },
    { "mqtt_client_id", TEXT(mqtt_client_id) },
    { "mqtt_username", TEXT(mqtt_username) },
    { "mqtt_password_file", TEXT(mqtt_password_file) },
    { "mqtt_cafile", TEXT(mqtt_cafile) },
    { "mqtt_certfile", TEXT(mqtt_certfile) },
    { "mqtt_keyfile", TEXT(mqtt_keyfile) },
    { "mqtt_keepalive", UINT(mqtt_keepalive, 5, 65535) },
    { "session_expiry", UINT(session_expiry, 0, 4294967295ul) },
    { "share_group", TEXT(share_group) },
    { "database", TEXT(database) },
    { "policy", TEXT(policy) },
    { "feed", OPT_FEED, 0, 0, 0, 0 },
    { "ack_interval_ms", UINT(ack_interval_ms, 0, 60000) },
    { "ack_hold_ms", UINT(ack_hold_ms, 0, 3600000) },
    { "batch_max", UINT(batch_max, 1, 100000) },
    { "batch_ms", UINT(batch_ms, 0, 10000) },
    { "queue_max", UINT(queue_max, 1, 10000000) },
    { "device_report_interval", UINT(device_report_interval, 1, 3600) },
    { "log_level", OPT_LEVEL, offsetof(vigild_config_t, log_level), 0, 0, 0 },
    { "pid_file", TEXT(pid_file) },
};

#define OPTION_COUNT (sizeof options / sizeof options[0])

static const char *const level_names[] = { "error", "warning", "notice", "info", "debug" };

const char *vigild_log_level_name(vigild_log_level_t level)
{
    return (unsigned)level < sizeof level_names / sizeof level_names[0] ? level_names[level] : "?";
}

void vigild_config_default(vigild_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->mqtt_host, sizeof cfg->mqtt_host, "localhost");
    snprintf(cfg->share_group, sizeof cfg->share_group, "vigild");
    cfg->mqtt_keepalive = 60;
    cfg->session_expiry = 86400;
    cfg->ack_interval_ms = 200;
    cfg->ack_hold_ms = 60000;
    cfg->batch_max = 1000;
    cfg->batch_ms = 50;
    cfg->device_report_interval = 60;
    cfg->log_level = VIGILD_LOG_NOTICE;
}

static bool fail(char *err, size_t size, const char *name, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static bool fail(char *err, size_t size, const char *name, size_t line, const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (err && size) {
        if (line)
            snprintf(err, size, "%s:%zu: %s", name, line, reason);
        else
            snprintf(err, size, "%s: %s", name, reason);
    }
    return false;
}

static bool parse_uint(const char *text, unsigned long min, unsigned long max, unsigned long *out)
{
    if (*text < '0' || *text > '9')
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = (unsigned long)v;
    return true;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* One line, already without its newline and NUL-terminated. `seen` marks
 * single-valued options already given. */
static bool parse_line(char *line, const char *name, size_t lineno, vigild_config_t *cfg, bool *seen,
                       char *err, size_t err_size)
{
    char *p = line;
    while (is_space(*p))
        p++;
    if (*p == '\0' || *p == '#')
        return true;
    char *key = p;
    while (*p && !is_space(*p))
        p++;
    char *value = p;
    if (*p) {
        *p = '\0';
        value = p + 1;
        while (is_space(*value))
            value++;
    }
    /* Trailing blanks are not part of a value (a path with a trailing space
     * would be a trap nobody sees). */
    size_t vlen = strlen(value);
    while (vlen && is_space(value[vlen - 1]))
        value[--vlen] = '\0';

    const opt_t *opt = NULL;
    size_t index = 0;
    for (; index < OPTION_COUNT; index++)
        if (strcmp(options[index].name, key) == 0) {
            opt = &options[index];
            break;
        }
    if (!opt)
        return fail(err, err_size, name, lineno, "unknown option '%.64s'", key);
    if (vlen == 0)
        return fail(err, err_size, name, lineno, "%s needs a value", opt->name);
    if (opt->kind != OPT_FEED) {
        if (seen[index])
            return fail(err, err_size, name, lineno, "%s given twice", opt->name);
        seen[index] = true;
    }

    char *base = (char *)cfg;
    switch (opt->kind) {
    case OPT_TEXT:
        if (vlen >= opt->size)
            return fail(err, err_size, name, lineno, "%s is longer than %zu bytes", opt->name, opt->size - 1);
        if (strchr(value, ' ') || strchr(value, '\t'))
            return fail(err, err_size, name, lineno, "%s takes one value without blanks", opt->name);
        memcpy(base + opt->offset, value, vlen + 1);
        return true;
    case OPT_UINT: {
        unsigned long v;
        if (!parse_uint(value, opt->min, opt->max, &v))
            return fail(err, err_size, name, lineno, "%s must be an integer in %lu..%lu, not '%.64s'", opt->name,
                        opt->min, opt->max, value);
        if (opt->size == sizeof(uint32_t))
            *(uint32_t *)(void *)(base + opt->offset) = (uint32_t)v;
        else
            *(unsigned *)(void *)(base + opt->offset) = (unsigned)v;
        return true;
    }
    case OPT_LEVEL:
        for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
            if (strcmp(value, level_names[i]) == 0) {
                cfg->log_level = (vigild_log_level_t)i;
                return true;
            }
        return fail(err, err_size, name, lineno,
                    "log_level must be error, warning, notice, info or debug, not '%.64s'", value);
    case OPT_FEED: {
        if (cfg->feed_count == VIGILD_MAX_FEEDS)
            return fail(err, err_size, name, lineno, "more than %u feeds", VIGILD_MAX_FEEDS);
        vigild_feed_t *f = &cfg->feeds[cfg->feed_count];
        char *spec = value, *rest = value;
        while (*rest && !is_space(*rest))
            rest++;
        size_t slen = (size_t)(rest - spec);
        while (is_space(*rest))
            *rest++ = '\0';
        if (slen >= sizeof f->spec)
            return fail(err, err_size, name, lineno, "feed SPEC is longer than %zu bytes", sizeof f->spec - 1);
        unsigned long refresh = 0;
        if (*rest) {
            if (strchr(rest, ' ') || strchr(rest, '\t'))
                return fail(err, err_size, name, lineno, "feed takes SPEC [refresh_seconds]");
            if (!parse_uint(rest, 0, 30ul * 86400ul, &refresh))
                return fail(err, err_size, name, lineno, "feed refresh_seconds must be in 0..%lu, not '%.64s'",
                            30ul * 86400ul, rest);
        }
        memcpy(f->spec, spec, slen);
        f->spec[slen] = '\0';
        f->refresh_seconds = (unsigned)refresh;
        cfg->feed_count++;
        return true;
    }
    }
    return fail(err, err_size, name, lineno, "internal: option kind");
}

bool vigild_config_parse(const char *name, const char *text, size_t len, vigild_config_t *out, char *err,
                         size_t err_size)
{
    if (len > VIGILD_CONFIG_MAX_BYTES)
        return fail(err, err_size, name, 0, "larger than %u bytes", VIGILD_CONFIG_MAX_BYTES);
    vigild_config_t *cfg = malloc(sizeof *cfg);
    char *line = malloc(VIGILD_CONFIG_MAX_LINE + 1);
    bool seen[OPTION_COUNT] = { false };
    bool ok = cfg && line;
    if (!ok)
        fail(err, err_size, name, 0, "out of memory");
    else
        vigild_config_default(cfg);
    size_t pos = 0, lineno = 0;
    while (ok && pos < len) {
        lineno++;
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        if (n > VIGILD_CONFIG_MAX_LINE) {
            ok = fail(err, err_size, name, lineno, "line longer than %u bytes", VIGILD_CONFIG_MAX_LINE);
            break;
        }
        if (memchr(text + pos, '\0', n)) {
            ok = fail(err, err_size, name, lineno, "NUL byte in the line");
            break;
        }
        memcpy(line, text + pos, n);
        line[n] = '\0';
        ok = parse_line(line, name, lineno, cfg, seen, err, err_size);
        pos += n + (nl ? 1 : 0);
    }
    if (ok && cfg->database[0] == '\0')
        ok = fail(err, err_size, name, 0, "database is required (the SQLite file of the store)");
    if (ok && cfg->mqtt_certfile[0] != cfg->mqtt_keyfile[0] && (!cfg->mqtt_certfile[0] || !cfg->mqtt_keyfile[0]))
        ok = fail(err, err_size, name, 0, "mqtt_certfile and mqtt_keyfile go together");
    if (ok && cfg->mqtt_certfile[0] && !cfg->mqtt_cafile[0])
        ok = fail(err, err_size, name, 0, "mqtt_certfile needs mqtt_cafile (TLS)");
    if (ok && strpbrk(cfg->share_group, "/+#"))
        ok = fail(err, err_size, name, 0, "share_group must not contain '/', '+' or '#'");
    if (ok) {
        if (cfg->mqtt_port == 0)
            cfg->mqtt_port = cfg->mqtt_cafile[0] ? 8883 : 1883;
        if (cfg->queue_max == 0)
            cfg->queue_max = cfg->batch_max * 4u;
        if (cfg->queue_max < cfg->batch_max)
            ok = fail(err, err_size, name, 0, "queue_max (%u) must be at least batch_max (%u)", cfg->queue_max,
                      cfg->batch_max);
    }
    if (ok && cfg->mqtt_client_id[0] == '\0') {
        /* A persistent session needs an id that survives restarts: the
         * host name does, and two hosts do not collide. */
        char host[256] = "";
        gethostname(host, sizeof host - 1);
        snprintf(cfg->mqtt_client_id, sizeof cfg->mqtt_client_id, "vigild-%.16s", host[0] ? host : "local");
    }
    if (ok)
        *out = *cfg;
    free(cfg);
    free(line);
    return ok;
}

bool vigild_config_load(const char *path, vigild_config_t *cfg, char *err, size_t err_size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(err, err_size, path, 0, "cannot open: %s", strerror(errno));
    char *buf = malloc(VIGILD_CONFIG_MAX_BYTES + 1);
    if (!buf) {
        fclose(f);
        return fail(err, err_size, path, 0, "out of memory");
    }
    size_t n = fread(buf, 1, VIGILD_CONFIG_MAX_BYTES + 1, f);
    bool read_error = ferror(f);
    fclose(f);
    bool ok;
    if (read_error)
        ok = fail(err, err_size, path, 0, "read error");
    else
        ok = vigild_config_parse(path, buf, n, cfg, err, err_size);
    free(buf);
    return ok;
}
