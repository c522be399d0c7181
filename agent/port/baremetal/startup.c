/*
 * startup.c - reset and exception handling for the Cortex-M sample
 * firmware: the vector table, a reset handler that copies .data and clears
 * .bss (symbols from the linker script) before calling main(), and fault
 * handlers that end the run with a failure instead of hanging.
 * Written for this project; no CMSIS or vendor code.
 */
#include <stdint.h>
#include <string.h>

#include "semihost.h"

/* From the linker script (mps2-an385.ld). */
extern uint32_t __data_load[], __data_start[], __data_end[];
extern uint32_t __bss_start[], __bss_end[];
extern uint32_t __stack_top[];

int main(void);
void reset_handler(void);

typedef void (*vector_t)(void);

static void fault_handler(void)
{
    semihost_write0("FAULT: exception taken, stopping\n");
    semihost_exit(false);
}

void reset_handler(void)
{
    memcpy(__data_start, __data_load, (size_t)((uintptr_t)__data_end - (uintptr_t)__data_start));
    memset(__bss_start, 0, (size_t)((uintptr_t)__bss_end - (uintptr_t)__bss_start));
    semihost_exit(main() == 0);
}

/* The first 16 entries (the core's exceptions); the sample enables no IRQ. */
__attribute__((section(".vectors"), used))
static const vector_t vector_table[16] = {
    (vector_t)(uintptr_t)__stack_top, /* initial stack pointer */
    reset_handler,
    fault_handler, /* NMI */
    fault_handler, /* HardFault */
    fault_handler, /* MemManage */
    fault_handler, /* BusFault */
    fault_handler, /* UsageFault */
    0, 0, 0, 0,
    fault_handler, /* SVCall */
    fault_handler, /* DebugMonitor */
    0,
    fault_handler, /* PendSV */
    fault_handler, /* SysTick */
};
