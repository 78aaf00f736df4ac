/*
 * px4-style fixture: vector table and reset, laid out as PX4's NXP boards
 * (fmu-v6xrt) do it: the functions named in itcm_functions_includes.ld are
 * linked into the .itcmfunc output section (ITCM, loaded from flash right
 * after the vectors), and the reset code copies that section from
 * _fitcmfuncs to _sitcmfuncs.._eitcmfuncs before anything in it can run.
 */
#include "hotlink_fw.h"

int main(void);
void Reset_Handler(void);
void Fault_Handler(void);

extern uint32_t _sitcmfuncs[], _eitcmfuncs[], _fitcmfuncs[];
extern uint32_t _sdata[], _edata[], _fdata[];
extern uint32_t _sbss[], _ebss[];
extern uint32_t _estack[];

typedef void (*vector_fn)(void);

__attribute__((section(".vectors"), used)) const vector_fn px4_vectors[16] = {
    (vector_fn)(uintptr_t)_estack,
    Reset_Handler,
    Fault_Handler, /* NMI */
    Fault_Handler, /* HardFault */
    Fault_Handler, /* MemManage */
    Fault_Handler, /* BusFault */
    Fault_Handler, /* UsageFault */
    0, 0, 0, 0,
    Fault_Handler, /* SVC */
    Fault_Handler, /* DebugMon */
    0,
    Fault_Handler, /* PendSV */
    Fault_Handler, /* SysTick */
};

/* volatile: GCC must not turn the loops into memcpy/memset calls, which could
 * themselves be among the functions being copied. */
static void copy_section(volatile uint32_t *dst, const uint32_t *src, const uint32_t *end)
{
    while (dst < (volatile uint32_t *)end)
        *dst++ = *src++;
}

__attribute__((noreturn, used)) static void px4_start(void)
{
    SCB_VTOR = (uint32_t)(uintptr_t)px4_vectors;
    SCB_CPACR |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    copy_section(_sitcmfuncs, _fitcmfuncs, _eitcmfuncs);
    copy_section(_sdata, _fdata, _edata);
    for (volatile uint32_t *p = _sbss; p < (volatile uint32_t *)_ebss; p++)
        *p = 0;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    sh_exit(main());
}

__attribute__((naked)) void Reset_Handler(void)
{
    __asm__ volatile("ldr r0, =_estack\n\t"
                     "mov sp, r0\n\t"
                     "b px4_start\n\t"
                     ".ltorg");
}

void Fault_Handler(void)
{
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    sh_puts("FAULT:");
    sh_put_kv("ipsr", ipsr);
    sh_put_kx("cfsr", SCB_CFSR);
    sh_putc('\n');
    sh_exit(100);
}
