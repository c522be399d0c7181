/*
 * semihost.h - Arm semihosting for Cortex-M: the debugger or emulator (here
 * qemu -semihosting) services a `bkpt 0xab`. Only for test and sample
 * firmware: on a board without a debugger attached, a semihosting call
 * stops the core with a HardFault.
 */
#ifndef SEMIHOST_H
#define SEMIHOST_H

#include <stdbool.h>

/* Writes a NUL-terminated string to the host's console (SYS_WRITE0). */
void semihost_write0(const char *text);

/* Ends the program (SYS_EXIT): qemu exits with status 0 when ok, else 1. */
void semihost_exit(bool ok) __attribute__((noreturn));

#endif /* SEMIHOST_H */
