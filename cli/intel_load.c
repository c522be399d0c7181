/*
 * intel_load.c - one forced load of every feed through the feed manager, so
 * that a command sees feeds exactly as the analyzer service would.
 */
#define _POSIX_C_SOURCE 200809L
#include "intel_load.h"

#include <stdio.h>
#include <time.h>

static void log_failure(void *arg, const char *message)
{
    fprintf(stderr, "%s: %s\n", (const char *)arg, message);
}

bool intel_load_specs(intel_t *engine, const char *const *specs, size_t count, const char *prog)
{
    intel_feeds_t *feeds = intel_feeds_new(engine);
    if (!feeds) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return false;
    }
    intel_feeds_set_log(feeds, log_failure, (void *)prog);
    bool ok = true;
    for (size_t i = 0; i < count && ok; i++) {
        intel_spec_t spec;
        char err[256];
        intel_feed_error_t ferr;
        if (!intel_spec_parse(specs[i], &spec, err, sizeof err)) {
            fprintf(stderr, "%s: --intel %s: %s\n", prog, specs[i], err);
            ok = false;
        } else if (!intel_feeds_add(feeds, &spec, 0, &ferr)) {
            char text[512];
            intel_feed_error_format(&ferr, text, sizeof text);
            fprintf(stderr, "%s: --intel %s: %s\n", prog, specs[i], text);
            ok = false;
        }
    }
    if (ok && intel_feeds_refresh(feeds, true, (int64_t)time(NULL)) != 0)
        ok = false;            /* each failure was logged with its feed, line and reason */
    intel_feeds_free(feeds);
    return ok;
}
