/*
 * analysis.h - what `vigil scan` and `vigil analyze` share: the store, the
 * threat-intel feeds, the policy and the pipeline set up from options, and
 * the printing of what one run found.
 */
#ifndef VIGIL_CLI_ANALYSIS_H
#define VIGIL_CLI_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>

#include "intel.h"
#include "pipeline.h"
#include "store.h"

#define ANALYSIS_MAX_FEEDS 64

typedef struct {
    const char *prog;                  /* "vigil scan" */
    const char *db_path;               /* NULL: in memory */
    const char *policy_path;           /* NULL: policy_default() */
    const char *intel_specs[ANALYSIS_MAX_FEEDS];
    size_t intel_count;
    bool json;
} analysis_options_t;

typedef struct {
    store_t *store;
    intel_t *intel;
    pipeline_t *pipeline;
} analysis_t;

/* Adds one --intel SPEC; false (message printed) when there are too many. */
bool analysis_add_intel(analysis_options_t *o, const char *spec);

/* Opens everything; false with the reason printed (exit 2). */
bool analysis_open(analysis_t *a, const analysis_options_t *o);

/*
 * Closes the run (final tick: open windows, sequence gaps), prints the
 * findings it stored or updated and a summary on stderr. Returns the exit
 * code: 0 nothing found, 1 something found, 2 error.
 */
int analysis_finish(analysis_t *a, const analysis_options_t *o, bool had_errors);

void analysis_close(analysis_t *a);

#endif
