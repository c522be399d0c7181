/*
 * fuzz.h - the entry point every libFuzzer harness defines; replay_main.c
 * calls it for gcc builds, libFuzzer for clang builds.
 */
#ifndef VIGIL_FUZZ_H
#define VIGIL_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
