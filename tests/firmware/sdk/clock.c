/*
 * sdk fixture: the clock tree set-up for 600 MHz, in the order the SDK's
 * BOARD_BootClockRUN uses (our own code; register facts from the RT1060 manual).
 *
 *  1. start the 24 MHz crystal oscillator and wait for XTALOSC24M to report it
 *     powered up, then for the analog block's OSC_XTALOK;
 *  2. raise VDD_SOC through the DCDC and wait for its DC_OK;
 *  3. run the core from the oscillator (periph_clk2) while the ARM PLL changes,
 *     waiting for each CCM divider/mux handshake (CDHIPR);
 *  4. ARM PLL to 1200 MHz (24 MHz x 100 / 2), wait LOCK; ARM_PODF /2 -> 600 MHz;
 *     AHB /1, IPG /4 (150 MHz); back to the PLL;
 *  5. system PLL 528 MHz and USB1 PLL 480 MHz with their PFDs, wait LOCK;
 *  6. UART root = pll3_80m / 1 = 80 MHz, PERCLK = 24 MHz oscillator;
 *  7. the trace clock as the SDK's generated clock code leaves it: gate CCGR0
 *     CG11 off, TRACE_PODF /4, TRACE_CLK_SEL = system PLL (132 MHz when on).
 *     A debugger that wants SWO must turn the gate back on and mux the pad.
 * The XIP (FlexSPI) root clock the ROM set up is left alone, as the SDK does
 * when it runs from that flash.
 */
#include "rt1062.h"

uint32_t SystemCoreClock = 396000000u; /* what the ROM leaves */

static void wait_set(volatile uint32_t *reg, uint32_t bits)
{
    while ((*reg & bits) != bits) {
    }
}

static void wait_clear(volatile uint32_t *reg, uint32_t bits)
{
    while (*reg & bits) {
    }
}

static void init_external_clock(void)
{
    ANALOG_MISC0_CLR = MISC0_XTAL_24M_PWD;
    wait_set(&XTALOSC24M_LOWPWR_CTRL, LOWPWR_CTRL_XTALOSC_PWRUP_STAT);
    ANALOG_MISC0_SET = MISC0_OSC_XTALOK_EN;
    wait_set(&ANALOG_MISC0, MISC0_OSC_XTALOK);
    ANALOG_MISC0_CLR = MISC0_OSC_XTALOK_EN;
}

static void set_vdd_soc(uint32_t trg)
{
    DCDC_REG3 = (DCDC_REG3 & ~0x1Fu) | (trg & 0x1Fu);
    wait_set(&DCDC_REG0, DCDC_REG0_STS_DC_OK);
}

static void set_core_from_osc(void)
{
    /* periph_clk2 <- oscillator, then periph_clk <- periph_clk2 */
    CCM_CBCMR = (CCM_CBCMR & ~(3u << CCM_CBCMR_PERIPH_CLK2_SEL_SHIFT)) |
                (1u << CCM_CBCMR_PERIPH_CLK2_SEL_SHIFT);
    CCM_CBCDR |= CCM_CBCDR_PERIPH_CLK_SEL;
    wait_clear(&CCM_CDHIPR, CCM_CDHIPR_PERIPH_CLK_SEL_BUSY);
}

static void init_arm_pll(uint32_t div_select)
{
    ANALOG_PLL_ARM = (ANALOG_PLL_ARM & ~(PLL_DIV_SELECT_MASK | PLL_POWERDOWN | PLL_BYPASS)) |
                     PLL_ENABLE | (div_select & PLL_DIV_SELECT_MASK);
    wait_set(&ANALOG_PLL_ARM, PLL_LOCK);
}

static void set_dividers(void)
{
    CCM_CACRR = 1u; /* ARM_PODF: /2 */
    wait_clear(&CCM_CDHIPR, CCM_CDHIPR_ARM_PODF_BUSY);
    CCM_CBCDR = (CCM_CBCDR & ~((7u << CCM_CBCDR_AHB_PODF_SHIFT) | (3u << CCM_CBCDR_IPG_PODF_SHIFT))) |
                (0u << CCM_CBCDR_AHB_PODF_SHIFT) | (3u << CCM_CBCDR_IPG_PODF_SHIFT);
    wait_clear(&CCM_CDHIPR, CCM_CDHIPR_AHB_PODF_BUSY);
}

static void set_core_from_pll(void)
{
    /* pre_periph_clk <- ARM PLL (3), then periph_clk <- pre_periph_clk */
    CCM_CBCMR = (CCM_CBCMR & ~(3u << CCM_CBCMR_PRE_PERIPH_CLK_SEL_SHIFT)) |
                (3u << CCM_CBCMR_PRE_PERIPH_CLK_SEL_SHIFT);
    CCM_CBCDR &= ~CCM_CBCDR_PERIPH_CLK_SEL;
    wait_clear(&CCM_CDHIPR, CCM_CDHIPR_PERIPH_CLK_SEL_BUSY);
}

static void init_sys_and_usb_plls(void)
{
    ANALOG_PLL_SYS = (ANALOG_PLL_SYS & ~(PLL_POWERDOWN | PLL_BYPASS | 1u)) | PLL_ENABLE | 1u;
    wait_set(&ANALOG_PLL_SYS, PLL_LOCK);
    /* PFD0..3 of the 528 MHz PLL: 27, 16, 24, 32 (fractions of 18/n) */
    ANALOG_PFD_528 = (27u << 0) | (16u << 8) | (24u << 16) | (32u << 24);

    ANALOG_PLL_USB1 = (ANALOG_PLL_USB1 & ~(PLL_BYPASS | 3u)) | PLL_USB_POWER | PLL_ENABLE |
                      PLL_USB_EN_USB_CLKS;
    wait_set(&ANALOG_PLL_USB1, PLL_LOCK);
    /* PFD0 feeds the FlexSPI clock we execute from: keep the ROM's value, as SDK XIP builds do. */
    ANALOG_PFD_480 = (ANALOG_PFD_480 & 0xFFu) | (16u << 8) | (17u << 16) | (19u << 24);
}

static void set_peripheral_roots(void)
{
    /* UART: pll3_80m, /1 */
    CCM_CSCDR1 = CCM_CSCDR1 & ~(CCM_CSCDR1_UART_CLK_SEL | 0x3Fu);
    /* PERCLK: oscillator, /1 */
    CCM_CSCMR1 = (CCM_CSCMR1 & ~0x3Fu) | CCM_CSCMR1_PERCLK_CLK_SEL;
    /* gates: LPUART1 (CCGR5 CG12), GPT1 (CCGR1 CG10/CG11), PIT (CCGR1 CG6) */
    CCM_CCGR(5) |= 3u << 24;
    CCM_CCGR(1) |= (3u << 20) | (3u << 22) | (3u << 12);
}

static void set_trace_clock(void)
{
    CCM_CCGR(0) &= ~CCM_CCGR0_CG11_TRACE;
    CCM_CSCDR1 = (CCM_CSCDR1 & ~(3u << CCM_CSCDR1_TRACE_PODF_SHIFT)) |
                 (3u << CCM_CSCDR1_TRACE_PODF_SHIFT);
    CCM_CBCMR = CCM_CBCMR & ~(3u << CCM_CBCMR_TRACE_CLK_SEL_SHIFT);
}

void BOARD_BootClockRUN(void)
{
    init_external_clock();
    set_vdd_soc(0x13u); /* 1.275 V */
    set_core_from_osc();
    init_arm_pll(100u);
    set_dividers();
    set_core_from_pll();
    init_sys_and_usb_plls();
    set_peripheral_roots();
    set_trace_clock();
    SystemCoreClock = 600000000u;
}
