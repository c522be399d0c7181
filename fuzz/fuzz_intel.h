/*
 * fuzz_intel.h - what the four feed-parser harnesses share: parse the
 * input in one format and check the parser's promises (a set exactly when
 * there is no error, counts that add up). Never accepts a crash, a leak or
 * a read past the input as an answer.
 */
#ifndef VIGIL_FUZZ_INTEL_H
#define VIGIL_FUZZ_INTEL_H

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "intel.h"

static inline void fuzz_intel_parse(intel_format_t format, const char *column_name,
                                    const uint8_t *data, size_t size)
{
    intel_spec_t spec;
    memset(&spec, 0, sizeof spec);
    spec.format = format;
    spec.confidence = -1;
    strcpy(spec.feed, "fuzz");
    strcpy(spec.location, "fuzz.txt");
    if (column_name)
        strcpy(spec.csv_column_name, column_name);
    intel_feed_error_t err;
    intel_parse_stats_t st;
    intel_set_t *set = intel_feed_parse(&spec, (const char *)data, size, 0, &err, &st);
    if (!set) {
        if (err.reason[0] == '\0' || strcmp(err.feed, "fuzz") != 0)
            abort();
        return;
    }
    if (err.reason[0] != '\0' || st.indicators != intel_set_count(set) ||
        st.ipv4_exact + st.ipv4_prefix + st.ipv6_exact + st.ipv6_prefix != st.indicators ||
        st.skipped > st.records || st.bytes != size || st.format == INTEL_FORMAT_AUTO ||
        (format != INTEL_FORMAT_AUTO && st.format != format))
        abort();
    intel_set_free(set);
}

#endif
