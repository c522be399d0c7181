/*
 * vigild_config.h - the configuration file of `vigild`, Mosquitto style: one
 * `option value` per line, `#` starts a comment, blank lines are ignored
 * (docs/vigild.md documents every option).
 *
 * What it must never do: accept a file it did not understand in full. An
 * unknown option, a missing or malformed value, a value out of range, a
 * repeated single-valued option or an over-long line refuses the whole file,
 * naming file:line and the reason; a refused file changes nothing.
 */
#ifndef VIGIL_ANALYZER_VIGILD_CONFIG_H
#define VIGIL_ANALYZER_VIGILD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIGILD_CONFIG_MAX_BYTES (256u * 1024u)   /* larger files are refused */
#define VIGILD_CONFIG_MAX_LINE 4096u             /* bytes of one line, without the newline */
#define VIGILD_MAX_FEEDS 64u
#define VIGILD_PATH_MAX 1024u

typedef enum {
    VIGILD_LOG_ERROR = 0,
    VIGILD_LOG_WARNING,
    VIGILD_LOG_NOTICE,
    VIGILD_LOG_INFO,
    VIGILD_LOG_DEBUG
} vigild_log_level_t;

typedef struct {
    char spec[VIGILD_PATH_MAX + 16];   /* an intel SPEC (intel.h), checked by intel_spec_parse */
    unsigned refresh_seconds;          /* 0: only on SIGHUP */
} vigild_feed_t;

typedef struct {
    char mqtt_host[256];               /* default "localhost" */
    unsigned mqtt_port;                /* default 1883, 8883 when mqtt_cafile is set */
    char mqtt_client_id[24];           /* MQTT 5 allows longer; 23 is what every broker takes.
                                        * Default "" = "vigild-" + host name, cut to 23 */
    char mqtt_username[256];
    char mqtt_password_file[VIGILD_PATH_MAX];
    char mqtt_cafile[VIGILD_PATH_MAX];
    char mqtt_certfile[VIGILD_PATH_MAX];
    char mqtt_keyfile[VIGILD_PATH_MAX];
    unsigned mqtt_keepalive;           /* seconds, default 60 */
    uint32_t session_expiry;           /* seconds the broker keeps our session, default 86400 */
    char share_group[64];              /* default "vigild" */
    char database[VIGILD_PATH_MAX];    /* required */
    char policy[VIGILD_PATH_MAX];      /* "": policy_default() */
    vigild_feed_t feeds[VIGILD_MAX_FEEDS];
    size_t feed_count;
    unsigned ack_interval_ms;          /* default 200 */
    unsigned ack_hold_ms;              /* default 60000: see docs/vigild.md */
    unsigned batch_max;                /* default 1000 */
    unsigned batch_ms;                 /* default 50 */
    unsigned queue_max;                /* messages held between network and ingest thread, default 4 * batch_max */
    unsigned device_report_interval;   /* seconds, pushed in each device's config, default 60 */
    vigild_log_level_t log_level;      /* default notice */
    char pid_file[VIGILD_PATH_MAX];
} vigild_config_t;

/* The defaults (every option unset). */
void vigild_config_default(vigild_config_t *cfg);

/*
 * Parses `len` bytes of configuration text into *cfg (which starts from the
 * defaults). `name` stands for the file in errors. False with "name:line:
 * reason" (or "name: reason") in err on the first error.
 */
bool vigild_config_parse(const char *name, const char *text, size_t len, vigild_config_t *cfg, char *err,
                         size_t err_size);

/* Reads and parses a file (at most VIGILD_CONFIG_MAX_BYTES). */
bool vigild_config_load(const char *path, vigild_config_t *cfg, char *err, size_t err_size);

const char *vigild_log_level_name(vigild_log_level_t level);

#endif
