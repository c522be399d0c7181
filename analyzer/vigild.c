/*
 * vigild.c - the analyzer service: `vigild --config FILE`. Reads the
 * configuration, opens the store, starts the threat-intel feed manager and
 * the MQTT ingest (ingest_mqtt.h), and turns signals into actions:
 * SIGHUP reloads feeds and policy, SIGUSR1 prints the counters,
 * SIGTERM/SIGINT shut down cleanly.
 *
 * What it must never do: handle a signal asynchronously (every signal is
 * blocked in every thread and taken here by sigwait), or start with a
 * configuration, policy or database it could not read.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ingest_mqtt.h"
#include "intel.h"
#include "pipeline.h"
#include "policy.h"
#include "store.h"
#include "vigild_config.h"
#include "vigild_log.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: vigild --config FILE [--check]\n"
               "  --config FILE  the configuration (docs/vigild.md)\n"
               "  --check        check the configuration and the policy, then exit\n"
               "exit: 0 clean shutdown, 1 runtime failure, 2 bad usage or configuration\n");
}

static void log_feed_failure(void *arg, const char *message)
{
    (void)arg;
    vigild_log(VIGILD_LOG_ERROR, "threat intel: %s; keeping its last good indicators", message);
}

static policy_t *load_policy(const char *path)
{
    if (!path[0])
        return policy_default();
    policy_error_t err;
    policy_t *p = policy_load_file(path, &err);
    if (!p) {
        if (err.line)
            vigild_log(VIGILD_LOG_ERROR, "policy %s:%zu:%zu: %s", err.file, err.line, err.column, err.reason);
        else
            vigild_log(VIGILD_LOG_ERROR, "policy %s: %s", err.file, err.reason);
    }
    return p;
}

static bool add_feeds(intel_feeds_t *feeds, const vigild_config_t *cfg)
{
    for (size_t i = 0; i < cfg->feed_count; i++) {
        intel_spec_t spec;
        char why[256];
        intel_feed_error_t ferr;
        if (!intel_spec_parse(cfg->feeds[i].spec, &spec, why, sizeof why)) {
            vigild_log(VIGILD_LOG_ERROR, "feed %s: %s", cfg->feeds[i].spec, why);
            return false;
        }
        if (!intel_feeds_add(feeds, &spec, cfg->feeds[i].refresh_seconds, &ferr)) {
            char text[512];
            intel_feed_error_format(&ferr, text, sizeof text);
            vigild_log(VIGILD_LOG_ERROR, "%s", text);
            return false;
        }
    }
    return true;
}

static void print_counters(ingest_mqtt_t *in)
{
    ingest_stats_t s;
    ingest_mqtt_get_stats(in, &s);
    char line[2048];
    ingest_stats_format(&s, line, sizeof line);
    vigild_log_always("%s", line);
}

static bool write_pid_file(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
        vigild_log(VIGILD_LOG_ERROR, "pid_file %s: %s", path, strerror(errno));
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    const char *config_path = NULL;
    bool check = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config_path = argv[++i];
        else if (strcmp(argv[i], "--check") == 0)
            check = true;
        else if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!config_path) {
        usage(stderr);
        return 2;
    }
    static vigild_config_t cfg;
    char err[1024];
    if (!vigild_config_load(config_path, &cfg, err, sizeof err)) {
        fprintf(stderr, "vigild: %s\n", err);
        return 2;
    }
    vigild_log_set_level(cfg.log_level);

    /* Every thread started from here on inherits this mask: signals are
     * taken by sigwait below and nowhere else. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    policy_t *policy = load_policy(cfg.policy);
    if (!policy)
        return 2;
    if (check) {
        policy_free(policy);
        printf("vigild: %s: configuration OK\n", config_path);
        return 0;
    }
    int code = 1;
    store_t *store = NULL;
    intel_t *intel = NULL;
    intel_feeds_t *feeds = NULL;
    pipeline_t *pipeline = NULL;
    ingest_mqtt_t *in = NULL;
    bool pid_written = false;

    store = store_open(cfg.database, err, sizeof err);
    if (!store) {
        vigild_log(VIGILD_LOG_ERROR, "database %s: %s", cfg.database, err);
        policy_free(policy);
        return 1;
    }
    intel = intel_new();
    feeds = intel ? intel_feeds_new(intel) : NULL;
    if (!feeds) {
        vigild_log(VIGILD_LOG_ERROR, "out of memory");
        policy_free(policy);
        goto out;
    }
    intel_feeds_set_log(feeds, log_feed_failure, NULL);
    if (!add_feeds(feeds, &cfg)) {
        code = 2;
        policy_free(policy);
        goto out;
    }
    /* Load every feed before the first report, so that nothing is judged
     * without the indicators the operator configured. */
    size_t failed = intel_feeds_refresh(feeds, true, (int64_t)time(NULL));
    if (failed)
        vigild_log(VIGILD_LOG_WARNING, "%zu of %zu feeds failed to load; retrying in the background", failed,
                   cfg.feed_count);
    if (cfg.feed_count && !intel_feeds_start(feeds)) {
        vigild_log(VIGILD_LOG_ERROR, "cannot start the feed thread");
        policy_free(policy);
        goto out;
    }
    pipeline = pipeline_new(store, intel, policy, ingest_log_finding, NULL);
    if (!pipeline) {
        vigild_log(VIGILD_LOG_ERROR, "out of memory");
        goto out;
    }
    in = ingest_mqtt_new(&cfg, pipeline, store, err, sizeof err);
    if (!in) {
        vigild_log(VIGILD_LOG_ERROR, "%s", err);
        goto out;
    }
    if (cfg.pid_file[0]) {
        if (!write_pid_file(cfg.pid_file))
            goto out;
        pid_written = true;
    }
    if (!ingest_mqtt_start(in, err, sizeof err)) {
        vigild_log(VIGILD_LOG_ERROR, "%s", err);
        goto out;
    }
    vigild_log(VIGILD_LOG_NOTICE, "started: database %s, %zu feeds, policy %s, subscription $share/%s/vigil/v1/+/report",
               cfg.database, cfg.feed_count, cfg.policy[0] ? cfg.policy : "(default)", cfg.share_group);

    for (;;) {
        int sig = 0;
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            vigild_log(VIGILD_LOG_NOTICE, "SIGHUP: reloading threat-intel feeds and the policy");
            intel_feeds_request_reload(feeds);
            ingest_mqtt_request_policy_reload(in);
        } else if (sig == SIGUSR1) {
            print_counters(in);
        } else {
            vigild_log(VIGILD_LOG_NOTICE, "%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
            break;
        }
    }
    ingest_mqtt_stop(in);
    print_counters(in);
    code = 0;
out:
    ingest_mqtt_free(in);
    if (feeds)
        intel_feeds_stop(feeds);
    intel_feeds_free(feeds);
    pipeline_free(pipeline);
    intel_free(intel);
    store_close(store);
    if (pid_written)
        unlink(cfg.pid_file);
    if (code == 0)
        vigild_log(VIGILD_LOG_NOTICE, "stopped");
    return code;
}
