/*
 * registry.c - device records between the pipeline and the store.
 *
 * Every report reads its device from the store and writes it back in the
 * caller's transaction: several analyzer processes (and `vigil devices tag`)
 * change the same records, so a cache here would serve stale tags and
 * counts. A primary-key read through a prepared statement costs a few
 * microseconds, small beside a report's processing.
 */
#define _POSIX_C_SOURCE 200809L
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct registry {
    store_t *store;
    store_device_t device;     /* the record being updated */
};

registry_t *registry_new(store_t *store)
{
    registry_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->store = store;
    return r;
}

void registry_free(registry_t *r)
{
    free(r);
}

/* The device's record from the store, or a new one. */
static store_device_t *lookup(registry_t *r, const char *id, int64_t seen_at)
{
    store_device_t *d = &r->device;
    if (!store_get_device(r->store, id, d)) {
        memset(d, 0, sizeof *d);
        snprintf(d->id, sizeof d->id, "%s", id);
        snprintf(d->group, sizeof d->group, "%s", POLICY_DEFAULT_GROUP);
        d->first_seen = seen_at;
        d->last_seen = seen_at;
    }
    return d;
}

size_t registry_split_tags(const char *tags, char *buf, size_t buf_size, const char **out)
{
    snprintf(buf, buf_size, "%s", tags);
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t && n < REGISTRY_MAX_TAGS; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        size_t len = strlen(t);
        while (len > 0 && t[len - 1] == ' ')
            t[--len] = '\0';
        if (len)
            out[n++] = t;
    }
    return n;
}

static void copy_version(char *dst, size_t size, const char *src)
{
    if (src)
        snprintf(dst, size, "%s", src);
}

const store_device_t *registry_observe(registry_t *r, const policy_t *policy, const report_t *report,
                                       int64_t seen_at)
{
    store_device_t *d = lookup(r, report->device_id, seen_at);
    if (seen_at < d->first_seen)
        d->first_seen = seen_at;
    if (seen_at > d->last_seen)
        d->last_seen = seen_at;
    /* A new boot stream, or progress in the current one; late reports of a
     * stream do not move the device back. */
    if (d->reports == 0 || report->boot_id != d->boot_id || report->seq > d->last_seq) {
        d->boot_id = report->boot_id;
        d->last_seq = report->seq;
    }
    if (report->has_system) {
        copy_version(d->agent_version, sizeof d->agent_version, report->system.agent_version);
        copy_version(d->os_name, sizeof d->os_name, report->system.os_name);
        copy_version(d->os_version, sizeof d->os_version, report->system.os_version);
        copy_version(d->firmware_version, sizeof d->firmware_version, report->system.firmware_version);
        copy_version(d->device_model, sizeof d->device_model, report->system.device_model);
    }
    d->reports++;

    char buf[sizeof d->tags];
    const char *tags[REGISTRY_MAX_TAGS];
    size_t ntags = registry_split_tags(d->tags, buf, sizeof buf, tags);
    snprintf(d->group, sizeof d->group, "%s", policy_group_for(policy, d->id, tags, ntags));

    return store_put_device(r->store, d) == STORE_OK ? d : NULL;
}

bool registry_count_rejected(registry_t *r, const char *device, int64_t seen_at)
{
    store_device_t *d = lookup(r, device, seen_at);
    d->rejected++;
    if (seen_at > d->last_seen)
        d->last_seen = seen_at;
    return store_put_device(r->store, d) == STORE_OK;
}
