/*
 * sdk fixture: the i.MX RT1062 registers this firmware touches.
 *
 * Addresses and bit positions are facts from the i.MX RT1060 reference manual
 * (IMXRT1060RM); the names follow the manual, the layout of this header is ours.
 */
#ifndef SDK_RT1062_H
#define SDK_RT1062_H

#include <stdint.h>

#define REG32(a) (*(volatile uint32_t *)(a))
#define REG16(a) (*(volatile uint16_t *)(a))

/* ---- watchdogs ---------------------------------------------------------- */
#define WDOG1_BASE 0x400B8000u
#define WDOG2_BASE 0x400D0000u
#define WDOG_WCR(b) REG16((b) + 0x0u)
#define WDOG_WCR_WDE (1u << 2)
#define WDOG_WMCR(b) REG16((b) + 0x8u)
#define WDOG_WMCR_PDE (1u << 0)

#define RTWDOG_BASE 0x400BC000u
#define RTWDOG_CS REG32(RTWDOG_BASE + 0x0u)
#define RTWDOG_CNT REG32(RTWDOG_BASE + 0x4u)
#define RTWDOG_TOVAL REG32(RTWDOG_BASE + 0x8u)
#define RTWDOG_CS_EN (1u << 7)
#define RTWDOG_CS_UPDATE (1u << 5)
#define RTWDOG_CS_CMD32EN (1u << 13)
#define RTWDOG_CS_ULK (1u << 11)
#define RTWDOG_CS_RCS (1u << 10)
#define RTWDOG_UNLOCK_KEY 0xD928C520u

/* ---- clock controller (CCM) --------------------------------------------- */
#define CCM_BASE 0x400FC000u
#define CCM_CCSR REG32(CCM_BASE + 0x0Cu)
#define CCM_CACRR REG32(CCM_BASE + 0x10u)
#define CCM_CBCDR REG32(CCM_BASE + 0x14u)
#define CCM_CBCMR REG32(CCM_BASE + 0x18u)
#define CCM_CSCMR1 REG32(CCM_BASE + 0x1Cu)
#define CCM_CSCDR1 REG32(CCM_BASE + 0x24u)
#define CCM_CDHIPR REG32(CCM_BASE + 0x48u)
#define CCM_CCGR(n) REG32(CCM_BASE + 0x68u + 4u * (n))

#define CCM_CBCDR_PERIPH_CLK_SEL (1u << 25)
#define CCM_CBCDR_AHB_PODF_SHIFT 10
#define CCM_CBCDR_IPG_PODF_SHIFT 8
#define CCM_CBCMR_PRE_PERIPH_CLK_SEL_SHIFT 18
#define CCM_CBCMR_PERIPH_CLK2_SEL_SHIFT 12
#define CCM_CSCMR1_PERCLK_PODF_SHIFT 0
#define CCM_CSCMR1_PERCLK_CLK_SEL (1u << 6)
#define CCM_CSCMR1_FLEXSPI_PODF_SHIFT 23
#define CCM_CSCMR1_FLEXSPI_CLK_SEL_SHIFT 29
#define CCM_CSCDR1_UART_CLK_PODF_SHIFT 0
#define CCM_CSCDR1_UART_CLK_SEL (1u << 6)
#define CCM_CSCDR1_TRACE_PODF_SHIFT 25
#define CCM_CBCMR_TRACE_CLK_SEL_SHIFT 14
#define CCM_CCGR0_CG11_TRACE (3u << 22)
#define CCM_CDHIPR_AHB_PODF_BUSY (1u << 1)
#define CCM_CDHIPR_PERIPH_CLK_SEL_BUSY (1u << 5)
#define CCM_CDHIPR_ARM_PODF_BUSY (1u << 16)

/* ---- analog: PLLs, PFDs, 24 MHz oscillator ------------------------------ */
#define ANALOG_BASE 0x400D8000u
#define ANALOG_PLL_ARM REG32(ANALOG_BASE + 0x000u)
#define ANALOG_PLL_USB1 REG32(ANALOG_BASE + 0x010u)
#define ANALOG_PLL_SYS REG32(ANALOG_BASE + 0x030u)
#define ANALOG_PFD_480 REG32(ANALOG_BASE + 0x0F0u)
#define ANALOG_PFD_528 REG32(ANALOG_BASE + 0x100u)
#define ANALOG_MISC0 REG32(ANALOG_BASE + 0x150u)
#define ANALOG_MISC0_SET REG32(ANALOG_BASE + 0x154u)
#define ANALOG_MISC0_CLR REG32(ANALOG_BASE + 0x158u)
#define XTALOSC24M_LOWPWR_CTRL REG32(ANALOG_BASE + 0x270u)

#define PLL_DIV_SELECT_MASK 0x7Fu
#define PLL_POWERDOWN (1u << 12)
#define PLL_ENABLE (1u << 13)
#define PLL_BYPASS (1u << 16)
#define PLL_LOCK (1u << 31)
#define PLL_USB_POWER (1u << 12)
#define PLL_USB_EN_USB_CLKS (1u << 6)
#define MISC0_XTAL_24M_PWD (1u << 30)
#define MISC0_OSC_XTALOK_EN (1u << 16)
#define MISC0_OSC_XTALOK (1u << 15)
#define LOWPWR_CTRL_XTALOSC_PWRUP_STAT (1u << 16)

/* ---- DCDC --------------------------------------------------------------- */
#define DCDC_REG0 REG32(0x40080000u)
#define DCDC_REG3 REG32(0x4008000Cu)
#define DCDC_REG0_STS_DC_OK (1u << 31)

/* ---- pin mux ------------------------------------------------------------ */
#define IOMUXC_BASE 0x401F8000u
#define IOMUXC_MUX_GPIO_AD_B0_12 REG32(IOMUXC_BASE + 0x0BCu)
#define IOMUXC_MUX_GPIO_AD_B0_13 REG32(IOMUXC_BASE + 0x0C0u)
#define IOMUXC_PAD_GPIO_AD_B0_12 REG32(IOMUXC_BASE + 0x2ACu)
#define IOMUXC_PAD_GPIO_AD_B0_13 REG32(IOMUXC_BASE + 0x2B0u)

/* ---- LPUART1 ------------------------------------------------------------ */
#define LPUART1_BASE 0x40184000u
#define LPUART_GLOBAL(b) REG32((b) + 0x08u)
#define LPUART_BAUD(b) REG32((b) + 0x10u)
#define LPUART_STAT(b) REG32((b) + 0x14u)
#define LPUART_CTRL(b) REG32((b) + 0x18u)
#define LPUART_DATA(b) REG32((b) + 0x1Cu)
#define LPUART_GLOBAL_RST (1u << 1)
#define LPUART_STAT_TDRE (1u << 23)
#define LPUART_STAT_TC (1u << 22)
#define LPUART_CTRL_TE (1u << 19)
#define LPUART_CTRL_RE (1u << 18)
#define LPUART_BAUD_OSR_SHIFT 24
#define LPUART_BAUD_SBR_MASK 0x1FFFu

/* ---- Cortex-M7 system control space ------------------------------------- */
#define SCB_VTOR REG32(0xE000ED08u)
#define SCB_CCR REG32(0xE000ED14u)
#define SCB_SHCSR REG32(0xE000ED24u)
#define SCB_CCSIDR REG32(0xE000ED80u)
#define SCB_CSSELR REG32(0xE000ED84u)
#define SCB_CPACR REG32(0xE000ED88u)
#define SCB_ICIALLU REG32(0xE000EF50u)
#define SCB_DCISW REG32(0xE000EF60u)
#define SCB_CCR_IC (1u << 17)
#define SCB_CCR_DC (1u << 16)
#define SCB_SHCSR_MEMFAULTENA (1u << 16)

#define MPU_TYPE REG32(0xE000ED90u)
#define MPU_CTRL REG32(0xE000ED94u)
#define MPU_RNR REG32(0xE000ED98u)
#define MPU_RBAR REG32(0xE000ED9Cu)
#define MPU_RASR REG32(0xE000EDA0u)
#define MPU_CTRL_ENABLE (1u << 0)
#define MPU_CTRL_PRIVDEFENA (1u << 2)

#define SYST_CSR REG32(0xE000E010u)
#define SYST_RVR REG32(0xE000E014u)
#define SYST_CVR REG32(0xE000E018u)

static inline void barrier(void)
{
    __asm__ volatile("dsb\n\tisb" ::: "memory");
}

/* Fixture-wide declarations. */
extern uint32_t SystemCoreClock;
void SystemInit(void);
void BOARD_ConfigMPU(void);
void BOARD_BootClockRUN(void);
void console_init(uint32_t uart_clock_hz, uint32_t baud);
void delay_ms(uint32_t ms);
uint32_t millis(void);
void systick_start(uint32_t core_hz);

#endif
