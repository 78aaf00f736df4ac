/*
 * sdk fixture: the debug console on LPUART1 (what printf writes through
 * newlib-nano's _write), the SysTick millisecond tick, and the semihosting exit
 * that newlib's exit() ends in (_exit), so that a test harness sees the status.
 */
#include <errno.h>
#include <sys/stat.h>

#include "rt1062.h"

void console_init(uint32_t uart_clock_hz, uint32_t baud)
{
    /* Pins (the DCD muxed them already; the SDK's pin_mux.c does it again). */
    IOMUXC_MUX_GPIO_AD_B0_12 = 2u;
    IOMUXC_MUX_GPIO_AD_B0_13 = 2u;
    IOMUXC_PAD_GPIO_AD_B0_12 = 0x10B0u;
    IOMUXC_PAD_GPIO_AD_B0_13 = 0x10B0u;

    LPUART_GLOBAL(LPUART1_BASE) |= LPUART_GLOBAL_RST;
    LPUART_GLOBAL(LPUART1_BASE) &= ~LPUART_GLOBAL_RST;
    const uint32_t osr = 16u;
    uint32_t sbr = (uart_clock_hz + baud * osr / 2u) / (baud * osr);
    LPUART_BAUD(LPUART1_BASE) = ((osr - 1u) << LPUART_BAUD_OSR_SHIFT) | (sbr & LPUART_BAUD_SBR_MASK);
    LPUART_CTRL(LPUART1_BASE) = LPUART_CTRL_TE | LPUART_CTRL_RE;
}

static void console_putc(char c)
{
    while ((LPUART_STAT(LPUART1_BASE) & LPUART_STAT_TDRE) == 0) {
    }
    LPUART_DATA(LPUART1_BASE) = (uint8_t)c;
}

static void console_flush(void)
{
    while ((LPUART_STAT(LPUART1_BASE) & LPUART_STAT_TC) == 0) {
    }
}

int _write(int fd, const char *buf, int len)
{
    if (fd != 1 && fd != 2) {
        errno = EBADF;
        return -1;
    }
    for (int i = 0; i < len; i++) {
        if (buf[i] == '\n')
            console_putc('\r');
        console_putc(buf[i]);
    }
    return len;
}

/* stdout is a terminal: newlib then line-buffers it. */
int _isatty(int fd)
{
    return fd <= 2;
}

int _fstat(int fd, struct stat *st)
{
    (void)fd;
    st->st_mode = S_IFCHR;
    return 0;
}

/* exit() ends here: report the status through semihosting SYS_EXIT_EXTENDED. */
void _exit(int status)
{
    console_flush();
    uint32_t block[2] = {0x20026u /* ADP_Stopped_ApplicationExit */, (uint32_t)status};
    register uint32_t r0 __asm__("r0") = 0x20u;
    register uint32_t *r1 __asm__("r1") = block;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    for (;;) {
    }
}

/* ---- SysTick: 1 kHz tick ----------------------------------------------- */

static volatile uint32_t g_ticks;

/* The tick handler runs from ITCM (.ram_function), as latency-critical SDK code does. */
__attribute__((section("CodeQuickAccess"), used)) void SysTick_Handler(void)
{
    g_ticks++;
}

void systick_start(uint32_t core_hz)
{
    SYST_CSR = 0;
    SYST_RVR = core_hz / 1000u - 1u;
    SYST_CVR = 0;
    SYST_CSR = 7u; /* core clock, interrupt, enable */
}

uint32_t millis(void)
{
    return g_ticks;
}

void delay_ms(uint32_t ms)
{
    uint32_t start = g_ticks;
    while (g_ticks - start < ms) {
        __asm__ volatile("wfi");
    }
}
