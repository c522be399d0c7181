/*
 * vigild_log.h - vigild's log: one line per event on stderr, with the time
 * and the level, so an operator (or journald) sees what happened and to
 * which device.
 *
 * What it must never do: block on anything but stderr, or interleave two
 * lines (each line is written by one fputs under stdio's own lock).
 */
#ifndef VIGIL_ANALYZER_VIGILD_LOG_H
#define VIGIL_ANALYZER_VIGILD_LOG_H

#include "vigild_config.h"

/* Lines above `level` are dropped. Set once before threads start. */
void vigild_log_set_level(vigild_log_level_t level);
void vigild_log(vigild_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A line the operator asked for (the counters): printed whatever the level. */
void vigild_log_always(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
