/*
 * Startup for the hotlink fixtures (Cortex-M7, i.MX RT memory map).
 *
 * The vector table lives at the start of flash (section .isr_vector, placed by
 * the .interrupts output section).  Reset_Handler sets the stack pointer (the
 * RT11xx boot ROM does not), points VTOR at the table, enables the FPU, copies
 * .data, .itcm and .ocram from their load addresses in flash, zeroes .bss and
 * calls main().  main's return value becomes the semihosting exit status.
 */
#include "hotlink_fw.h"

int main(void);
void Reset_Handler(void);
void Default_Handler(void);
void NMI_Handler(void);
void HardFault_Handler(void);
void MemManage_Handler(void);
void BusFault_Handler(void);
void UsageFault_Handler(void);
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void DebugMon_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));

/* IRQ0_Handler .. IRQ159_Handler: weak, a fixture overrides the ones it uses. */
#define WEAK_IRQ(n) void IRQ##n##_Handler(void) __attribute__((weak, alias("Default_Handler")));
#define WEAK_IRQ10(t)                                                                      \
    WEAK_IRQ(t##0) WEAK_IRQ(t##1) WEAK_IRQ(t##2) WEAK_IRQ(t##3) WEAK_IRQ(t##4)             \
    WEAK_IRQ(t##5) WEAK_IRQ(t##6) WEAK_IRQ(t##7) WEAK_IRQ(t##8) WEAK_IRQ(t##9)
#define FOR_EACH_DECADE(X)                                                                 \
    X() X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
FOR_EACH_DECADE(WEAK_IRQ10)

#define IRQ_ENTRY(n) IRQ##n##_Handler,
#define IRQ_ENTRY10(t)                                                                     \
    IRQ_ENTRY(t##0) IRQ_ENTRY(t##1) IRQ_ENTRY(t##2) IRQ_ENTRY(t##3) IRQ_ENTRY(t##4)        \
    IRQ_ENTRY(t##5) IRQ_ENTRY(t##6) IRQ_ENTRY(t##7) IRQ_ENTRY(t##8) IRQ_ENTRY(t##9)

typedef void (*vector_fn)(void);

__attribute__((section(".isr_vector"), used)) const vector_fn __isr_vector[16 + 160] = {
    (vector_fn)(uintptr_t)__StackTop,
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    MemManage_Handler,
    BusFault_Handler,
    UsageFault_Handler,
    0,
    0,
    0,
    0,
    SVC_Handler,
    DebugMon_Handler,
    0,
    PendSV_Handler,
    SysTick_Handler,
    FOR_EACH_DECADE(IRQ_ENTRY10)
};

static void copy_words(volatile uint32_t *dst, const uint32_t *src, const uint32_t *dst_end)
{
    /* volatile: keeps GCC from turning the loop into a memcpy call, which may
     * itself live in one of the sections being copied. */
    while (dst < (volatile uint32_t *)dst_end)
        *dst++ = *src++;
}

__attribute__((noreturn, used)) static void reset_c(void)
{
    SCB_VTOR = (uint32_t)(uintptr_t)__isr_vector;
    /* CP10/CP11 full access before any floating-point instruction. */
    SCB_CPACR |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");

    copy_words(__data_start__, __data_load__, __data_end__);
    copy_words(__itcm_start__, __itcm_load__, __itcm_end__);
    copy_words(__ocram_start__, __ocram_load__, __ocram_end__);
    for (volatile uint32_t *p = __bss_start__; p < (volatile uint32_t *)__bss_end__; p++)
        *p = 0;
    __asm__ volatile("dsb\n\tisb" ::: "memory");

    sh_exit(main());
}

__attribute__((naked)) void Reset_Handler(void)
{
    __asm__ volatile("ldr r0, =__StackTop\n\t"
                     "mov sp, r0\n\t"
                     "b reset_c\n\t"
                     ".ltorg");
}

/* Fault reporting: kind, stacked PC and LR, and the fault status registers. */
__attribute__((noreturn, used, cold)) static void fault_report(const uint32_t *frame, uint32_t kind)
{
    static const char *const names[] = { "NMI", "HardFault", "MemManage", "BusFault", "UsageFault" };
    sh_puts("FAULT: ");
    sh_puts(names[kind]);
    sh_put_kx("pc", frame[6]);
    sh_put_kx("lr", frame[5]);
    sh_put_kx("cfsr", SCB_CFSR);
    sh_put_kx("hfsr", SCB_HFSR);
    sh_putc('\n');
    sh_exit(100 + (int)kind);
}

#define FAULT_STUB(name, kind)                                                             \
    __attribute__((naked)) void name(void)                                                 \
    {                                                                                      \
        __asm__ volatile("tst lr, #4\n\t"                                                  \
                         "ite eq\n\t"                                                      \
                         "mrseq r0, msp\n\t"                                               \
                         "mrsne r0, psp\n\t"                                               \
                         "movs r1, #" #kind "\n\t"                                         \
                         "b fault_report");                                                \
    }

FAULT_STUB(NMI_Handler, 0)
FAULT_STUB(HardFault_Handler, 1)
FAULT_STUB(MemManage_Handler, 2)
FAULT_STUB(BusFault_Handler, 3)
FAULT_STUB(UsageFault_Handler, 4)

/* Any exception without its own handler: report which one and stop. */
void Default_Handler(void)
{
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    sh_puts("FAULT: unexpected exception");
    sh_put_kv("ipsr", ipsr);
    sh_putc('\n');
    sh_exit(99);
}
