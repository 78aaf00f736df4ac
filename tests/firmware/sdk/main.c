/*
 * sdk fixture: an MCUXpresso-SDK-style application for the i.MX RT1060 EVK,
 * booted by the ROM from FlexSPI NOR (see boot_header.c).
 *
 * main: MPU, clocks to 600 MHz, the LPUART1 console, a SysTick delay, then the
 * workload; results are checked against the host-computed constants and printed
 * with newlib-nano's printf. Exit status 0 when everything is right (exit() ends
 * in semihosting SYS_EXIT_EXTENDED). Output does not depend on timing.
 */
#include <stdio.h>
#include <stdlib.h>

#include "expected.h"
#include "rt1062.h"
#include "workload.h"

/* A transmit log in the non-cacheable area, as DMA buffers are in the SDK. */
__attribute__((section("NonCacheable,\"aw\",%nobits @"))) static char tx_log[64];
/* Initialised non-cacheable data. */
__attribute__((section("NonCacheable.init"))) static uint32_t ncache_magic = 0x5AFEC0DEu;

static int failures;

static void check(const char *what, uint32_t got, uint32_t want)
{
    if (got != want) {
        printf("FAIL: %s = 0x%08lx, expected 0x%08lx\r\n", what, (unsigned long)got,
               (unsigned long)want);
        failures++;
    }
}

#ifdef SDK_FOREVER
/* The never-exiting variant (tests build it with -DSDK_FOREVER): a shipped application's
 * main loop, measured between entering loop_iteration and entering loop_idle. */
volatile uint32_t loop_result;

__attribute__((noinline)) void loop_iteration(uint32_t n)
{
    loop_result = coremark_like(WORKLOAD_SEED + n, 1u) ^ workload_run(1u);
}

__attribute__((noinline)) void loop_idle(void)
{
    __asm volatile("nop" ::: "memory");
}
#endif

int main(void)
{
    BOARD_ConfigMPU();
    BOARD_BootClockRUN();
    console_init(80000000u, 115200u);
    printf("hello from the sdk fixture: core %lu MHz\n", (unsigned long)(SystemCoreClock / 1000000u));

    check("MPU regions", (MPU_TYPE >> 8) & 0xFFu, 16u);
    check("ARM PLL locked", ANALOG_PLL_ARM & PLL_LOCK, PLL_LOCK);
    check("non-cacheable init data", ncache_magic, 0x5AFEC0DEu);
    check("non-cacheable area zeroed", (uint32_t)tx_log[0] | (uint32_t)tx_log[63], 0u);
    check("caches on", SCB_CCR & (SCB_CCR_IC | SCB_CCR_DC), SCB_CCR_IC | SCB_CCR_DC);

    systick_start(SystemCoreClock);
    uint32_t t0 = millis();
    delay_ms(3u);
    uint32_t waited = millis() - t0;
    check("SysTick delay", waited >= 3u && waited <= 4u, 1u);

    uint32_t crc = coremark_like(WORKLOAD_SEED, COREMARK_ITERATIONS);
    check("coremark-like crc", crc, EXPECT_COREMARK_CRC);
    uint32_t ring = workload_run(KERNEL_ROUNDS);
    check("kernel ring", ring, EXPECT_KERNEL_RING);

    snprintf(tx_log, sizeof tx_log, "crc=0x%04lx ring=0x%08lx", (unsigned long)crc,
             (unsigned long)ring);
    printf("%s %s\n", tx_log, failures ? "FAIL" : "OK");
#ifdef SDK_FOREVER
    for (uint32_t n = 0;; n++) {
        loop_iteration(n);
        loop_idle();
    }
#endif
    exit(failures ? 1 : 0);
}
