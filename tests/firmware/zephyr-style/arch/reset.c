/*
 * zephyr-style fixture: reset and early C setup in the order Zephyr's Cortex-M
 * port uses (own code, Zephyr's names): the vector table in rom_start, then
 * z_prep_c zeroes .bss (and the relocated BSS, bss_zeroing_relocation), copies
 * .data and the relocated sections (data_copy_xip_relocation, generated next to
 * linker_relocate.ld), and only then starts the kernel and main.
 */
#include <stddef.h>

#include "hotlink_fw.h"

int main(void);
void z_arm_reset(void);
void z_arm_fault(void);
void data_copy_xip_relocation(void);
void bss_zeroing_relocation(void);

extern uint32_t __data_region_start[], __data_region_end[], __data_region_load_start[];
extern uint32_t __bss_start[], __bss_end[];
extern uint32_t z_main_stack_top[];

typedef void (*vector_fn)(void);

__attribute__((section(".exc_vector_table"), used)) const vector_fn _vector_table[16] = {
    (vector_fn)(uintptr_t)z_main_stack_top,
    z_arm_reset,
    z_arm_fault, z_arm_fault, z_arm_fault, z_arm_fault, z_arm_fault,
    0, 0, 0, 0,
    z_arm_fault, z_arm_fault, 0, z_arm_fault, z_arm_fault,
};

/* Word loops through volatile pointers: never turned into memcpy/memset calls. */
void arch_early_memcpy(void *dst, const void *src, size_t n)
{
    volatile uint32_t *d = dst;
    const uint32_t *s = src;
    for (size_t i = 0; i < n / 4; i++)
        d[i] = s[i];
}

void arch_early_memset(void *dst, int c, size_t n)
{
    volatile uint32_t *d = dst;
    uint32_t v = (uint8_t)c * 0x01010101u;
    for (size_t i = 0; i < n / 4; i++)
        d[i] = v;
}

static void z_bss_zero(void)
{
    arch_early_memset(__bss_start, 0, (size_t)((char *)__bss_end - (char *)__bss_start));
    bss_zeroing_relocation();
}

static void z_data_copy(void)
{
    arch_early_memcpy(__data_region_start, __data_region_load_start,
                      (size_t)((char *)__data_region_end - (char *)__data_region_start));
    data_copy_xip_relocation();
}

__attribute__((noreturn, used)) void z_prep_c(void)
{
    SCB_VTOR = (uint32_t)(uintptr_t)_vector_table;
    SCB_CPACR |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    z_bss_zero();
    z_data_copy();
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    sh_exit(main());
}

__attribute__((naked)) void z_arm_reset(void)
{
    __asm__ volatile("ldr r0, =z_main_stack_top\n\t"
                     "mov sp, r0\n\t"
                     "b z_prep_c\n\t"
                     ".ltorg");
}

void z_arm_fault(void)
{
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    sh_puts("FAULT:");
    sh_put_kv("ipsr", ipsr);
    sh_put_kx("cfsr", SCB_CFSR);
    sh_putc('\n');
    sh_exit(100);
}
