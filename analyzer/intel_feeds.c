/*
 * intel_feeds.c - the feed manager: which feeds exist, when each is due,
 * loading them (source, parser, engine), their status, and the thread
 * that does it in the background.
 *
 * What it must never do: replace a feed in the engine with anything but a
 * set that loaded in full. A failed fetch or parse changes the feed's
 * status and nothing else, so the last good indicators keep matching.
 *
 * Locks: `lock` guards the feed list, every status, the options and the log
 * callback, and is never held across a fetch or parse; `refresh_lock` lets
 * one refresh run at a time. Reload requests are a flag and a byte on a
 * pipe, so a signal handler may make them.
 */
#define _DEFAULT_SOURCE
#include "intel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RETRY_AFTER_FAILURE_S 300
#define MAX_SLEEP_MS 3600000

typedef struct {
    intel_spec_t spec;
    intel_feed_status_t status;
} feed_t;

struct intel_feeds {
    intel_t *engine;
    pthread_mutex_t lock, refresh_lock;
    feed_t **feeds;
    size_t count, cap;
    intel_fetch_options_t options;
    void (*log)(void *arg, const char *message);
    void *log_arg;
    pthread_t thread;
    bool running;
    int wake[2];                /* read end polled by the thread, write end by requests */
    int reload, stop;           /* touched with __atomic builtins only */
};

intel_feeds_t *intel_feeds_new(intel_t *engine)
{
    intel_feeds_t *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->engine = engine;
    if (pipe(f->wake) != 0) {
        free(f);
        return NULL;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(f->wake[i], F_SETFL, fcntl(f->wake[i], F_GETFL) | O_NONBLOCK);
        fcntl(f->wake[i], F_SETFD, FD_CLOEXEC);
    }
    pthread_mutex_init(&f->lock, NULL);
    pthread_mutex_init(&f->refresh_lock, NULL);
    return f;
}

void intel_feeds_free(intel_feeds_t *feeds)
{
    if (!feeds)
        return;
    intel_feeds_stop(feeds);
    for (size_t i = 0; i < feeds->count; i++)
        free(feeds->feeds[i]);
    free(feeds->feeds);
    close(feeds->wake[0]);
    close(feeds->wake[1]);
    pthread_mutex_destroy(&feeds->lock);
    pthread_mutex_destroy(&feeds->refresh_lock);
    free(feeds);
}

void intel_feeds_set_options(intel_feeds_t *feeds, const intel_fetch_options_t *options)
{
    pthread_mutex_lock(&feeds->lock);
    if (options)
        feeds->options = *options;
    else
        memset(&feeds->options, 0, sizeof feeds->options);
    pthread_mutex_unlock(&feeds->lock);
}

void intel_feeds_set_log(intel_feeds_t *feeds, void (*log)(void *arg, const char *message),
                         void *arg)
{
    pthread_mutex_lock(&feeds->lock);
    feeds->log = log;
    feeds->log_arg = arg;
    pthread_mutex_unlock(&feeds->lock);
}

static void add_fail(intel_feed_error_t *err, const intel_spec_t *spec, const char *reason)
{
    if (!err)
        return;
    memset(err, 0, sizeof *err);
    snprintf(err->feed, sizeof err->feed, "%s", spec->feed);
    snprintf(err->reason, sizeof err->reason, "%s", reason);
}

bool intel_feeds_add(intel_feeds_t *feeds, const intel_spec_t *spec, unsigned refresh_seconds,
                     intel_feed_error_t *err)
{
    if (!spec->feed[0] || !spec->location[0]) {
        add_fail(err, spec, "a feed needs a name and a location");
        return false;
    }
    feed_t *f = calloc(1, sizeof *f);
    if (!f) {
        add_fail(err, spec, "out of memory");
        return false;
    }
    f->spec = *spec;
    snprintf(f->status.feed, sizeof f->status.feed, "%s", spec->feed);
    snprintf(f->status.location, sizeof f->status.location, "%s", spec->location);
    f->status.format = spec->format;
    f->status.refresh_seconds = refresh_seconds;

    pthread_mutex_lock(&feeds->lock);
    const char *reason = NULL;
    for (size_t i = 0; i < feeds->count && !reason; i++)
        if (strcmp(feeds->feeds[i]->spec.feed, spec->feed) == 0)
            reason = "another feed has this name (name feeds by distinct file names)";
    if (!reason && feeds->count == feeds->cap) {
        size_t next = feeds->cap ? feeds->cap * 2 : 8;
        feed_t **grown = realloc(feeds->feeds, next * sizeof *grown);
        if (grown) {
            feeds->feeds = grown;
            feeds->cap = next;
        } else {
            reason = "out of memory";
        }
    }
    if (!reason)
        feeds->feeds[feeds->count++] = f;
    pthread_mutex_unlock(&feeds->lock);
    if (reason) {
        add_fail(err, spec, reason);
        free(f);
        return false;
    }
    return true;
}

/* When a feed is next due; INT64_MAX for never. Under lock. */
static int64_t due_at(const feed_t *f)
{
    const intel_feed_status_t *s = &f->status;
    if (s->last_attempt == 0)
        return 0;
    if (s->refresh_seconds == 0)
        return INT64_MAX;
    int64_t interval = s->refresh_seconds;
    if (s->failing && interval > RETRY_AFTER_FAILURE_S)
        interval = RETRY_AFTER_FAILURE_S;
    return s->last_attempt + interval;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void record_failure(intel_feeds_t *feeds, feed_t *f, int64_t now,
                           const intel_feed_error_t *err)
{
    char message[sizeof f->status.last_error];
    intel_feed_error_format(err, message, sizeof message);
    pthread_mutex_lock(&feeds->lock);
    f->status.last_attempt = now;
    f->status.failing = true;
    f->status.failures++;
    memcpy(f->status.last_error, message, sizeof message);
    void (*log)(void *, const char *) = feeds->log;
    void *arg = feeds->log_arg;
    pthread_mutex_unlock(&feeds->lock);
    if (log)
        log(arg, message);
}

/* One feed: fetch, parse, apply. Called without `lock`. */
static bool load(intel_feeds_t *feeds, feed_t *f, int64_t now,
                 const intel_validators_t *previous, const intel_fetch_options_t *options)
{
    intel_feed_error_t err;
    intel_fetched_t fetched;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    intel_fetch_status_t st = intel_source_fetch(&f->spec, options, previous, &fetched, &err);
    double fetch_s = seconds_since(&t0);
    if (st == INTEL_FETCH_FAILED) {
        record_failure(feeds, f, now, &err);
        return false;
    }
    if (st == INTEL_FETCH_NOT_MODIFIED) {
        pthread_mutex_lock(&feeds->lock);
        f->status.last_attempt = f->status.last_success = now;
        f->status.failing = false;
        f->status.not_modified++;
        pthread_mutex_unlock(&feeds->lock);
        return true;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    intel_parse_stats_t stats;
    intel_set_t *set = intel_feed_parse(&f->spec, fetched.data, fetched.len, now, &err, &stats);
    double parse_s = seconds_since(&t0);
    const char *why = NULL;
    if (set && f->spec.format == INTEL_FORMAT_AUTO &&
        !intel_content_type_ok(stats.format, fetched.content_type, &why)) {
        /* Only now is the format known that the content type must suit. */
        intel_set_free(set);
        set = NULL;
        memset(&err, 0, sizeof err);
        snprintf(err.feed, sizeof err.feed, "%s", f->spec.feed);
        snprintf(err.reason, sizeof err.reason, "%s for a %s feed", why,
                 intel_format_name(stats.format));
    }
    intel_fetched_free(&fetched);
    if (!set) {
        record_failure(feeds, f, now, &err);
        return false;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!intel_replace_feed(feeds->engine, set)) {
        memset(&err, 0, sizeof err);
        snprintf(err.feed, sizeof err.feed, "%s", f->spec.feed);
        snprintf(err.reason, sizeof err.reason,
                 "out of memory building the matcher; the previous indicators stay");
        record_failure(feeds, f, now, &err);
        return false;
    }
    double apply_s = seconds_since(&t0);
    pthread_mutex_lock(&feeds->lock);
    intel_feed_status_t *s = &f->status;
    s->last_attempt = s->last_success = s->last_change = now;
    s->failing = false;
    s->loads++;
    s->indicators = stats.indicators;
    s->parse = stats;
    s->fetch_seconds = fetch_s;
    s->parse_seconds = parse_s;
    s->apply_seconds = apply_s;
    s->validators = fetched.validators;
    pthread_mutex_unlock(&feeds->lock);
    return true;
}

size_t intel_feeds_refresh(intel_feeds_t *feeds, bool force, int64_t now)
{
    size_t failures = 0;
    pthread_mutex_lock(&feeds->refresh_lock);
    pthread_mutex_lock(&feeds->lock);
    size_t count = feeds->count;
    pthread_mutex_unlock(&feeds->lock);
    for (size_t i = 0; i < count; i++) {
        pthread_mutex_lock(&feeds->lock);
        feed_t *f = feeds->feeds[i];
        bool due = force || now >= due_at(f);
        intel_validators_t previous = f->status.validators;
        intel_fetch_options_t options = feeds->options;
        pthread_mutex_unlock(&feeds->lock);
        if (due && !load(feeds, f, now, &previous, &options))
            failures++;
    }
    pthread_mutex_unlock(&feeds->refresh_lock);
    return failures;
}

size_t intel_feeds_status(intel_feeds_t *feeds, intel_feed_status_t *out, size_t max)
{
    pthread_mutex_lock(&feeds->lock);
    size_t count = feeds->count;
    for (size_t i = 0; i < count && i < max; i++)
        out[i] = feeds->feeds[i]->status;
    pthread_mutex_unlock(&feeds->lock);
    return count;
}

/* ---- the background thread ---- */

static void drain(int fd)
{
    char buf[64];
    while (read(fd, buf, sizeof buf) > 0)
        ;
}

static void *refresher(void *arg)
{
    intel_feeds_t *feeds = arg;
    while (!__atomic_load_n(&feeds->stop, __ATOMIC_ACQUIRE)) {
        bool force = __atomic_exchange_n(&feeds->reload, 0, __ATOMIC_ACQ_REL) != 0;
        intel_feeds_refresh(feeds, force, (int64_t)time(NULL));

        int64_t next = INT64_MAX;
        pthread_mutex_lock(&feeds->lock);
        for (size_t i = 0; i < feeds->count; i++) {
            int64_t due = due_at(feeds->feeds[i]);
            if (due < next)
                next = due;
        }
        pthread_mutex_unlock(&feeds->lock);
        int64_t now = (int64_t)time(NULL);
        int timeout = MAX_SLEEP_MS;
        if (next <= now)
            timeout = 0;
        else if (next - now < MAX_SLEEP_MS / 1000)
            timeout = (int)(next - now) * 1000;
        if (__atomic_load_n(&feeds->reload, __ATOMIC_ACQUIRE) ||
            __atomic_load_n(&feeds->stop, __ATOMIC_ACQUIRE))
            timeout = 0;
        struct pollfd pfd = { feeds->wake[0], POLLIN, 0 };
        if (timeout > 0 && poll(&pfd, 1, timeout) < 0 && errno != EINTR)
            break;
        drain(feeds->wake[0]);
    }
    return NULL;
}

bool intel_feeds_start(intel_feeds_t *feeds)
{
    if (feeds->running)
        return false;
    __atomic_store_n(&feeds->stop, 0, __ATOMIC_RELEASE);
    if (pthread_create(&feeds->thread, NULL, refresher, feeds) != 0)
        return false;
    feeds->running = true;
    return true;
}

static void wake(intel_feeds_t *feeds)
{
    int saved = errno;
    char b = 1;
    ssize_t r = write(feeds->wake[1], &b, 1);   /* full pipe: a wake-up is pending anyway */
    (void)r;
    errno = saved;
}

void intel_feeds_request_reload(intel_feeds_t *feeds)
{
    __atomic_store_n(&feeds->reload, 1, __ATOMIC_RELEASE);
    wake(feeds);
}

void intel_feeds_stop(intel_feeds_t *feeds)
{
    if (!feeds->running)
        return;
    __atomic_store_n(&feeds->stop, 1, __ATOMIC_RELEASE);
    wake(feeds);
    pthread_join(feeds->thread, NULL);
    feeds->running = false;
    drain(feeds->wake[0]);
}
