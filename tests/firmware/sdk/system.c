/*
 * sdk fixture: SystemInit and the MPU set-up, as SDK applications do them.
 *
 * SystemInit runs before .data and .bss exist, so it touches no variable: it
 * enables the FPU, stops WDOG1/WDOG2 and the RTWDOG (whose registers need the
 * unlock key and a wait for CS.ULK, then a wait for CS.RCS after the new
 * configuration), stops a SysTick the ROM may have left running and turns on the
 * instruction and data caches (off out of reset).
 */
#include "rt1062.h"

static void rtwdog_disable(void)
{
    if (RTWDOG_CS & RTWDOG_CS_CMD32EN) {
        RTWDOG_CNT = RTWDOG_UNLOCK_KEY;
    } else {
        REG16(RTWDOG_BASE + 0x4u) = (uint16_t)RTWDOG_UNLOCK_KEY;
        REG16(RTWDOG_BASE + 0x4u) = (uint16_t)(RTWDOG_UNLOCK_KEY >> 16);
    }
    while ((RTWDOG_CS & RTWDOG_CS_ULK) == 0) {
    }
    RTWDOG_TOVAL = 0xFFFFu;
    RTWDOG_CS = (RTWDOG_CS & ~RTWDOG_CS_EN) | RTWDOG_CS_UPDATE;
    while ((RTWDOG_CS & RTWDOG_CS_RCS) == 0) {
    }
}

static void icache_enable(void)
{
    barrier();
    SCB_ICIALLU = 0;
    barrier();
    SCB_CCR |= SCB_CCR_IC;
    barrier();
}

/* Invalidate every set and way of the L1 data cache, then enable it. */
static void dcache_enable(void)
{
    SCB_CSSELR = 0; /* level 1 data cache */
    barrier();
    uint32_t ccsidr = SCB_CCSIDR;
    uint32_t sets = ((ccsidr >> 13) & 0x7FFFu) + 1u;
    uint32_t ways = ((ccsidr >> 3) & 0x3FFu) + 1u;
    for (uint32_t set = 0; set < sets; set++)
        for (uint32_t way = 0; way < ways; way++)
            SCB_DCISW = (way << 30) | (set << 5);
    barrier();
    SCB_CCR |= SCB_CCR_DC;
    barrier();
}

void SystemInit(void)
{
    SCB_CPACR |= (3u << 20) | (3u << 22); /* CP10, CP11 full access */

    if (WDOG_WCR(WDOG1_BASE) & WDOG_WCR_WDE)
        WDOG_WCR(WDOG1_BASE) &= (uint16_t)~WDOG_WCR_WDE;
    if (WDOG_WCR(WDOG2_BASE) & WDOG_WCR_WDE)
        WDOG_WCR(WDOG2_BASE) &= (uint16_t)~WDOG_WCR_WDE;
    WDOG_WMCR(WDOG1_BASE) &= (uint16_t)~WDOG_WMCR_PDE;
    rtwdog_disable();

    SYST_CSR &= ~1u;

    icache_enable();
    dcache_enable();
}

/* RASR fields. */
#define RASR_XN (1u << 28)
#define RASR_AP(x) ((uint32_t)(x) << 24)
#define RASR_TEX(x) ((uint32_t)(x) << 19)
#define RASR_S (1u << 18)
#define RASR_C (1u << 17)
#define RASR_B (1u << 16)
#define RASR_SIZE(log2) ((uint32_t)((log2) - 1u) << 1)
#define RASR_ENABLE 1u
#define AP_FULL 3u
#define AP_RO 6u

#define ATTR_DEVICE (RASR_TEX(0) | RASR_B | RASR_S)
#define ATTR_NORMAL_WB (RASR_TEX(0) | RASR_C | RASR_B)
#define ATTR_NORMAL_NC (RASR_TEX(1))

extern uint8_t __NCACHE_REGION_START[];

struct mpu_region {
    uint32_t base;
    uint32_t rasr;
};

/*
 * Regions in priority order (a higher number wins where they overlap), all 16
 * programmed: the ones past the table are disabled.
 */
static const struct mpu_region mpu_regions[] = {
    /* 0: the peripheral space, device, no execution */
    {0x40000000u, RASR_XN | RASR_AP(AP_FULL) | ATTR_DEVICE | RASR_SIZE(29) | RASR_ENABLE},
    /* 1: the PPB and above, device, no execution */
    {0xE0000000u, RASR_XN | RASR_AP(AP_FULL) | ATTR_DEVICE | RASR_SIZE(28) | RASR_ENABLE},
    /* 2: FlexSPI XIP window, read-only normal memory, cacheable */
    {0x60000000u, RASR_AP(AP_RO) | ATTR_NORMAL_WB | RASR_SIZE(23) | RASR_ENABLE},
    /* 3: ITCM */
    {0x00000000u, RASR_AP(AP_FULL) | ATTR_NORMAL_NC | RASR_SIZE(17) | RASR_ENABLE},
    /* 4: DTCM */
    {0x20000000u, RASR_AP(AP_FULL) | ATTR_NORMAL_NC | RASR_SIZE(17) | RASR_ENABLE},
    /* 5: OCRAM2 + FlexRAM OCRAM, write-back */
    {0x20200000u, RASR_AP(AP_FULL) | ATTR_NORMAL_WB | RASR_SIZE(20) | RASR_ENABLE},
    /* 6: the first 32 KB of OCRAM2: non-cacheable (DMA buffers) */
    {0x20200000u, RASR_XN | RASR_AP(AP_FULL) | ATTR_NORMAL_NC | RASR_SIZE(15) | RASR_ENABLE},
    /* 7: SEMC SDRAM, write-back */
    {0x80000000u, RASR_AP(AP_FULL) | ATTR_NORMAL_WB | RASR_SIZE(25) | RASR_ENABLE},
};

void BOARD_ConfigMPU(void)
{
    barrier();
    SCB_SHCSR &= ~SCB_SHCSR_MEMFAULTENA;
    MPU_CTRL = 0;
    uint32_t count = (MPU_TYPE >> 8) & 0xFFu;
    const uint32_t n = sizeof mpu_regions / sizeof mpu_regions[0];
    for (uint32_t i = 0; i < count; i++) {
        MPU_RNR = i;
        if (i < n) {
            MPU_RBAR = mpu_regions[i].base;
            MPU_RASR = mpu_regions[i].rasr;
        } else {
            MPU_RBAR = 0;
            MPU_RASR = 0;
        }
    }
    MPU_CTRL = MPU_CTRL_ENABLE | MPU_CTRL_PRIVDEFENA;
    SCB_SHCSR |= SCB_SHCSR_MEMFAULTENA;
    barrier();
}
