/*
 * fuzz_intel_stix.c - libFuzzer harness for the STIX bundle parser and,
 * on the same bytes, its pattern parser (see fuzz_intel.h for what every
 * input must satisfy).
 */
#include "fuzz_intel.h"
#include "intel_feed_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_intel_parse(INTEL_FORMAT_STIX, NULL, data, size);
    /* Patterns sit deep inside valid JSON: reach their parser directly too. */
    char *pattern = malloc(size + 1);
    if (!pattern)
        return 0;
    memcpy(pattern, data, size);
    pattern[size] = '\0';
    intel_net_t *nets = NULL;
    size_t cap = 0, count = 0;
    if (intel_feed__stix_pattern(pattern, &nets, &cap, &count) && (count == 0 || count > cap))
        abort();
    free(nets);
    free(pattern);
    return 0;
}
