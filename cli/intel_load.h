/*
 * intel_load.h - loads --intel SPEC feeds into an engine once, for commands
 * that analyse and exit (scan, analyze). A feed that fails to load fails the
 * command: it must not report "nothing found" without its indicators.
 */
#ifndef VIGIL_CLI_INTEL_LOAD_H
#define VIGIL_CLI_INTEL_LOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "intel.h"

/* False (errors printed, prefixed with prog) when a SPEC is bad or a feed failed. */
bool intel_load_specs(intel_t *engine, const char *const *specs, size_t count, const char *prog);

#endif
