/*
 * semihost.c - the two semihosting operations the sample firmware needs.
 * The operation number goes in r0, its argument in r1, and `bkpt 0xab`
 * traps to the host (Arm's "Semihosting for AArch32 and AArch64", M-profile).
 */
#include "semihost.h"

#include <stdint.h>

#define SYS_WRITE0 0x04u
#define SYS_EXIT 0x18u
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u
#define ADP_STOPPED_RUNTIME_ERROR_UNKNOWN 0x20023u

static uint32_t semihost_call(uint32_t op, uintptr_t arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register uintptr_t r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void semihost_write0(const char *text)
{
    (void)semihost_call(SYS_WRITE0, (uintptr_t)text);
}

void semihost_exit(bool ok)
{
    /* On AArch32 the reason is passed directly, not in a parameter block. */
    (void)semihost_call(SYS_EXIT, ok ? ADP_STOPPED_APPLICATION_EXIT
                                     : ADP_STOPPED_RUNTIME_ERROR_UNKNOWN);
    for (;;) {
    }
}
