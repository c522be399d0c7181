/*
 * fuzz_intel_csv.c - libFuzzer harness for the csv feed parser, with the
 * address column found automatically and by the header name "ip" (see
 * fuzz_intel.h for what every input must satisfy).
 */
#include "fuzz_intel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_intel_parse(INTEL_FORMAT_CSV, NULL, data, size);
    fuzz_intel_parse(INTEL_FORMAT_CSV, "ip", data, size);
    return 0;
}
