/*
 * Teensy-style startup (written for hotlink's tests).
 *
 * The ROM jumps to ResetHandler (the IVT entry) with the fuse FlexRAM split.
 * ResetHandler first re-splits FlexRAM (GPR17 from the script's
 * _flexram_bank_config, GPR16 to select it, GPR14 to size the TCMs) and moves
 * the stack to the top of the resized DTCM; only then may anything touch the
 * stack. startup_c copies the ITCM code and .data from flash, zeroes .bss,
 * builds the vector table in DTCM, starts SysTick (millis) and the USB PLL,
 * runs the constructors and calls main. Everything here runs from flash
 * (section .startup), because ITCM is empty until the copy is done.
 */
#include <stddef.h>
#include <errno.h>
#include "teensy.h"

#define STARTUP __attribute__((section(".startup"), used, noinline))

void __libc_init_array(void);
int main(void);
void startup_c(void);

__attribute__((section(".startup"), naked, noreturn, used)) void ResetHandler(void)
{
    __asm__ volatile(
        "ldr r0, =0x400AC044\n\t" /* IOMUXC_GPR17: bank split */
        "ldr r1, =_flexram_bank_config\n\t"
        "str r1, [r0]\n\t"
        "ldr r0, =0x400AC040\n\t" /* IOMUXC_GPR16: FLEXRAM_BANK_CFG_SEL + TCM enables */
        "ldr r1, =0x00200007\n\t"
        "str r1, [r0]\n\t"
        "ldr r0, =0x400AC038\n\t" /* IOMUXC_GPR14: ITCM and DTCM seen as 512 KB */
        "ldr r1, =0x00AA0000\n\t"
        "str r1, [r0]\n\t"
        "ldr r0, =_estack\n\t"
        "mov sp, r0\n\t"
        "b startup_c\n\t"
        ".ltorg\n\t");
}

typedef void (*isr_fn)(void);

/* The vector table in DTCM (KEEP(*(.vectorsram)) in the script); VTOR needs 1 KB alignment here. */
__attribute__((section(".vectorsram"), aligned(1024), used)) isr_fn _VectorsRam[16 + 160];

static volatile uint32_t systick_millis_count;

static void systick_isr(void)
{
    systick_millis_count++;
}

static void unused_interrupt(void)
{
    fixture_fail("unexpected interrupt", SCB_VTOR);
}

uint32_t millis(void)
{
    return systick_millis_count;
}

static STARTUP void copy_words(uint32_t *dst, const uint32_t *src, const uint32_t *end)
{
    volatile uint32_t *d = dst;
    while (d < (volatile uint32_t *)end)
        *d++ = *src++;
}

static STARTUP void usb_pll_start(void)
{
    CCM_ANALOG_PLL_USB1_SET = PLL_USB1_POWER | PLL_USB1_ENABLE | PLL_USB1_EN_USB_CLKS;
    for (uint32_t i = 0; i < 1000000u; i++) {
        if (CCM_ANALOG_PLL_USB1 & PLL_USB1_LOCK)
            return;
    }
    fixture_fail("USB PLL did not lock", CCM_ANALOG_PLL_USB1);
}

STARTUP void startup_c(void)
{
    /* CP10/CP11 full access before any floating-point instruction. */
    SCB_CPACR |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    copy_words(_stext, _stextload, _etext);
    copy_words(_sdata, _sdataload, _edata);
    for (volatile uint32_t *p = _sbss; p < (volatile uint32_t *)_ebss; p++)
        *p = 0;
    for (unsigned i = 0; i < 16 + 160; i++)
        _VectorsRam[i] = unused_interrupt;
    _VectorsRam[15] = systick_isr;
    SCB_VTOR = (uint32_t)(uintptr_t)_VectorsRam;
    __asm__ volatile("dsb\n\tisb" ::: "memory");

    SYST_RVR = F_CPU / 1000u - 1u;
    SYST_CVR = 0;
    SYST_CSR = 7; /* processor clock, interrupt, enable */

    LPUART1_CTRL |= LPUART_CTRL_TE;
    usb_pll_start();
    __libc_init_array();
    fixture_exit(main());
}

/* newlib's malloc grows the heap here: OCRAM after .bss.dma. */
void *_sbrk(ptrdiff_t incr)
{
    static char *brk = _heap_start;
    char *prev = brk;
    if (incr < 0 || (size_t)(_heap_end - brk) < (size_t)incr) {
        errno = ENOMEM;
        return (void *)-1;
    }
    brk += incr;
    return prev;
}

void console_putc(char c)
{
    while (!(LPUART1_STAT & LPUART_STAT_TDRE)) {
    }
    LPUART1_DATA = (uint8_t)c;
}

void console_puts(const char *s)
{
    while (*s)
        console_putc(*s++);
}

void console_put_u32(uint32_t v)
{
    char buf[11];
    int i = 10;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    console_puts(&buf[i]);
}

void console_put_hex(uint32_t v)
{
    static const char digits[] = "0123456789abcdef";
    console_puts("0x");
    for (int shift = 28; shift >= 0; shift -= 4)
        console_putc(digits[(v >> shift) & 0xFu]);
}

/* Semihosting SYS_EXIT_EXTENDED: the status reaches the debugger / virtual board. */
void fixture_exit(int status)
{
    uint32_t block[2] = {0x20026u, (uint32_t)status};
    register uint32_t r0 __asm__("r0") = 0x20;
    register uint32_t *r1 __asm__("r1") = block;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    for (;;) {
    }
}

__attribute__((section(".progmem.fixture_fail"))) void fixture_fail(const char *what,
                                                                    uint32_t detail)
{
    console_puts("FAIL: ");
    console_puts(what);
    console_putc(' ');
    console_put_hex(detail);
    console_putc('\n');
    fixture_exit(1);
}

volatile uint32_t early_ctor_ran;

/* Prioritised constructor: lands in .init_array.00101, which teensy.ld does not name. */
__attribute__((constructor(101))) static void early_ctor(void)
{
    early_ctor_ran = 1;
}
