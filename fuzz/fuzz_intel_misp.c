/*
 * fuzz_intel_misp.c - libFuzzer harness for the misp feed parser (see
 * fuzz_intel.h for what every input must satisfy).
 */
#include "fuzz_intel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_intel_parse(INTEL_FORMAT_MISP, NULL, data, size);
    return 0;
}
