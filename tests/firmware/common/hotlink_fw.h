/*
 * hotlink firmware fixtures: shared declarations.
 *
 * Semihosting output/exit, the flash-disabled root convention and the
 * linker-script symbols that the startup code and the fixtures use.
 */
#ifndef HOTLINK_FW_H
#define HOTLINK_FW_H

#include <stdint.h>

/*
 * Flash-disabled roots.  A function whose input section name starts with
 * ".ramfunc" must run while the XIP flash is unavailable (flash driver, ISRs
 * allowed to fire during erase/program).  hotlink reads this convention: every
 * function reachable from such a root must be placed outside flash as well.
 * The baseline linker script puts *(.ramfunc*) into the .itcm output section.
 */
#define HOTLINK_RAMFUNC(fn) __attribute__((section(".ramfunc." #fn), noinline)) fn

/* Explicit placement requests (not roots): code the programmer wants in ITCM / OCRAM. */
#define HOTLINK_ITCM(fn) __attribute__((section(".itcm." #fn), noinline)) fn
#define HOTLINK_OCRAM(fn) __attribute__((section(".ocram.text." #fn), noinline)) fn

/* Semihosting (common/semihost.c). */
void sh_putc(char c);
void sh_puts(const char *s);           /* no newline added */
void sh_put_u32(uint32_t v);           /* decimal */
void sh_put_i32(int32_t v);            /* decimal, signed */
void sh_put_hex(uint32_t v);           /* 0x%08x */
void sh_put_kv(const char *key, uint32_t v);       /* " key=decimal" */
void sh_put_kx(const char *key, uint32_t v);       /* " key=0x%08x" */
__attribute__((noreturn)) void sh_exit(int status);
__attribute__((noreturn, cold)) void fw_fail(const char *what, uint32_t detail);

/* Linker-script symbols (see common/imxrt1062.ld). */
extern uint32_t __itcm_start__[], __itcm_end__[], __itcm_load__[];
extern uint32_t __ocram_start__[], __ocram_end__[], __ocram_load__[];
extern uint32_t __data_start__[], __data_end__[], __data_load__[];
extern uint32_t __bss_start__[], __bss_end__[];
extern uint32_t __StackTop[], __StackLimit[];
extern uint32_t __HeapBase[], __HeapLimit[];
extern uint32_t __flash_start__[], __flash_end__[];
extern uint32_t __flash_store_start__[], __flash_store_end__[];
extern uint32_t __VECTOR_TABLE[];

/* Cortex-M system registers used by the fixtures. */
#define REG32(addr) (*(volatile uint32_t *)(addr))
#define SCB_ICSR REG32(0xE000ED04u)
#define SCB_VTOR REG32(0xE000ED08u)
#define SCB_SHPR2 REG32(0xE000ED1Cu)
#define SCB_SHPR3 REG32(0xE000ED20u)
#define SCB_CFSR REG32(0xE000ED28u)
#define SCB_HFSR REG32(0xE000ED2Cu)
#define SCB_CPACR REG32(0xE000ED88u)
#define FPU_FPCCR REG32(0xE000EF34u)
#define SYST_CSR REG32(0xE000E010u)
#define SYST_RVR REG32(0xE000E014u)
#define SYST_CVR REG32(0xE000E018u)
#define NVIC_ISER(n) REG32(0xE000E100u + 4u * (n))
#define NVIC_ICER(n) REG32(0xE000E180u + 4u * (n))
#define NVIC_ISPR(n) REG32(0xE000E200u + 4u * (n))
#define NVIC_ICPR(n) REG32(0xE000E280u + 4u * (n))
#define NVIC_IPR8(n) (*(volatile uint8_t *)(0xE000E400u + (n)))

#endif
