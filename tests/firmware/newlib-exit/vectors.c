/*
 * Vector table and reset for the newlib-exit fixture. Reset_Handler enables
 * the FPU, copies .data from flash and hands over to newlib's crt0 (_start),
 * which does everything else a hosted-style C program expects.
 */
#include "hotlink_fw.h"

extern uint32_t __stack[];
void _start(void);
void Reset_Handler(void);

static void fault(void)
{
    sh_puts("FAULT: unexpected exception\n");
    sh_exit(99);
}

typedef void (*vector_fn)(void);

__attribute__((section(".isr_vector"), used)) const vector_fn vectors[16] = {
    (vector_fn)(uintptr_t)__stack, Reset_Handler, fault, fault, fault, fault, fault, 0, 0, 0, 0,
    fault, fault, 0, fault, fault,
};

void Reset_Handler(void)
{
    SCB_VTOR = (uint32_t)(uintptr_t)vectors;
    SCB_CPACR |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    volatile uint32_t *dst = __data_start__;
    const uint32_t *src = __data_load__;
    while (dst < (volatile uint32_t *)__data_end__)
        *dst++ = *src++;
    _start();
}
