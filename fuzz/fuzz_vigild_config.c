/*
 * fuzz_vigild_config.c - libFuzzer harness for vigild's configuration file:
 * any input is refused with "name:line: reason" (or "name: reason"), or
 * parses into a configuration whose every text field is terminated and
 * every number within its documented range.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "vigild_config.h"

#define TERMINATED(field) (memchr((field), '\0', sizeof(field)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static vigild_config_t cfg;
    char err[512];
    err[0] = '\0';
    if (!vigild_config_parse("fuzz.conf", (const char *)data, size, &cfg, err, sizeof err)) {
        if (strncmp(err, "fuzz.conf:", 10) != 0 || err[10] == '\0')
            abort();
        return 0;
    }
    if (!TERMINATED(cfg.mqtt_host) || !TERMINATED(cfg.mqtt_client_id) || !TERMINATED(cfg.database) ||
        !TERMINATED(cfg.policy) || !TERMINATED(cfg.share_group) || !TERMINATED(cfg.pid_file) ||
        cfg.database[0] == '\0' || cfg.feed_count > VIGILD_MAX_FEEDS)
        abort();
    for (size_t i = 0; i < cfg.feed_count; i++)
        if (!TERMINATED(cfg.feeds[i].spec) || cfg.feeds[i].spec[0] == '\0')
            abort();
    if (cfg.mqtt_port < 1 || cfg.mqtt_port > 65535 || cfg.batch_max < 1 || cfg.queue_max < cfg.batch_max ||
        cfg.device_report_interval < 1 || cfg.device_report_interval > 3600 || cfg.log_level > VIGILD_LOG_DEBUG)
        abort();
    return 0;
}
