/*
 * registry.h - the devices the analyzer knows: identity, security group,
 * tags, first and last seen, boot stream, versions, report counts.
 *
 * The store holds the truth (so several analyzer processes agree); the
 * registry keeps the records it touched in memory and writes every change
 * back within the caller's transaction. Tags are set by operators
 * (`vigil devices tag`); the group follows from tags and id through the
 * policy, and is recomputed whenever a report arrives, so a policy change
 * regroups devices as they report.
 */
#ifndef VIGIL_ANALYZER_REGISTRY_H
#define VIGIL_ANALYZER_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "policy.h"
#include "report.h"
#include "store.h"

#define REGISTRY_MAX_TAGS 16

typedef struct registry registry_t;

registry_t *registry_new(store_t *store);
void registry_free(registry_t *r);

/*
 * Updates the device from one new report (not a duplicate): last seen at
 * `seen_at` (analyzer clock, or the period end for files), boot id and
 * sequence, versions from the system information, the group under
 * `policy`. Writes the record to the store. Returns the record, valid until
 * the next registry call, or NULL when the store failed.
 */
const store_device_t *registry_observe(registry_t *r, const policy_t *policy, const report_t *report,
                                       int64_t seen_at);

/* Counts a report of `device` the decoder refused (the device may be new). */
bool registry_count_rejected(registry_t *r, const char *device, int64_t seen_at);

/* Splits a comma-separated tag list into at most REGISTRY_MAX_TAGS tags
 * (pointers into `buf`, which receives a copy); returns the count. */
size_t registry_split_tags(const char *tags, char *buf, size_t buf_size, const char **out);

#endif
