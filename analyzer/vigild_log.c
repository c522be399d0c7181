/*
 * vigild_log.c - vigild's log lines (vigild_log.h).
 *
 * What it must never do: allocate, or write a partial line.
 */
#define _POSIX_C_SOURCE 200809L
#include "vigild_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static vigild_log_level_t max_level = VIGILD_LOG_NOTICE;

void vigild_log_set_level(vigild_log_level_t level)
{
    max_level = level;
}

static void emit(const char *label, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void emit(const char *label, const char *fmt, va_list ap)
{
    char line[2048];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    int n = (int)strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    n += snprintf(line + n, sizeof line - (size_t)n, ".%03ldZ vigild %s: ", ts.tv_nsec / 1000000L, label);
    if (n < (int)sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    fprintf(stderr, "%s\n", line);
}

void vigild_log(vigild_log_level_t level, const char *fmt, ...)
{
    if (level > max_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    emit(vigild_log_level_name(level), fmt, ap);
    va_end(ap);
}

void vigild_log_always(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit("notice", fmt, ap);
    va_end(ap);
}
