/*
 * Teensy-style fixture: registers, linker-script symbols and the small
 * runtime (console, millis, exit) shared by the C startup and the C++ code.
 */
#ifndef TEENSY_FIXTURE_H
#define TEENSY_FIXTURE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define REG32(addr) (*(volatile uint32_t *)(addr))

/* IOMUXC general-purpose registers: FlexRAM bank split (i.MX RT1060 RM, IOMUXC_GPR). */
#define IOMUXC_GPR14 REG32(0x400AC038u) /* CM7_CFGITCMSZ [19:16], CM7_CFGDTCMSZ [23:20] */
#define IOMUXC_GPR16 REG32(0x400AC040u) /* bit 2 FLEXRAM_BANK_CFG_SEL: use GPR17, not fuses */
#define IOMUXC_GPR17 REG32(0x400AC044u) /* 2 bits per 32 KB bank: 1 OCRAM, 2 DTCM, 3 ITCM */

/* CCM_ANALOG PLL_USB1 (480 MHz USB PLL) and its set alias. */
#define CCM_ANALOG_PLL_USB1 REG32(0x400D8010u)
#define CCM_ANALOG_PLL_USB1_SET REG32(0x400D8014u)
#define PLL_USB1_LOCK (1u << 31)
#define PLL_USB1_ENABLE (1u << 13)
#define PLL_USB1_POWER (1u << 12)
#define PLL_USB1_EN_USB_CLKS (1u << 6)

/* LPUART1. */
#define LPUART1_BAUD REG32(0x40184010u)
#define LPUART1_STAT REG32(0x40184014u)
#define LPUART1_CTRL REG32(0x40184018u)
#define LPUART1_DATA REG32(0x4018401Cu)
#define LPUART_STAT_TDRE (1u << 23)
#define LPUART_CTRL_TE (1u << 19)

/* Cortex-M7 system registers. */
#define SCB_VTOR REG32(0xE000ED08u)
#define SCB_CPACR REG32(0xE000ED88u)
#define SYST_CSR REG32(0xE000E010u)
#define SYST_RVR REG32(0xE000E014u)
#define SYST_CVR REG32(0xE000E018u)

#define F_CPU 600000000u

/* Linker-script symbols (teensy.ld). */
extern uint32_t _stext[], _etext[], _stextload[];
extern uint32_t _sdata[], _edata[], _sdataload[];
extern uint32_t _sbss[], _ebss[];
extern char _heap_start[], _heap_end[];
extern uint32_t _estack[], _flexram_bank_config[], _itcm_block_count[];
extern uint32_t _flashimagelen[];

/* Runtime (startup.c). */
uint32_t millis(void);
void console_putc(char c);
void console_puts(const char *s);
void console_put_u32(uint32_t v);
void console_put_hex(uint32_t v);
__attribute__((noreturn)) void fixture_exit(int status);
__attribute__((noreturn)) void fixture_fail(const char *what, uint32_t detail);

/* Set by the prioritised constructor; GNU ld leaves its .init_array.NNNNN orphan out. */
extern volatile uint32_t early_ctor_ran;

#ifdef __cplusplus
}
#endif

#endif
