/* Exceptions without timers: SVC, PendSV, a software-pended NVIC interrupt with priorities,
   lazy FP stacking (the handler uses FP while the thread has live FP registers), BASEPRI
   masking, and faults the handler recovers from (UDF, divide by zero). */
#include <stdint.h>
#include <stdio.h>
#include "rt.h"

#define REG(a) (*(volatile uint32_t *)(a))
#define ICSR REG(0xE000ED04)
#define CCR REG(0xE000ED14)
#define SHCSR REG(0xE000ED24)
#define CFSR REG(0xE000ED28)
#define NVIC_ISER0 REG(0xE000E100)
#define NVIC_ISPR0 REG(0xE000E200)
#define STIR REG(0xE000EF00)
#define NVIC_IPR ((volatile uint8_t *)0xE000E400)

static volatile uint32_t log_[32];
static volatile unsigned n_log;
static volatile float fshared = 1.5f;
static void note(uint32_t v) { log_[n_log++ & 31] = v; }

void handler_svc(void) { note(0x5C); }

void handler_pendsv(void)
{
    volatile float x = fshared;
    for (int i = 0; i < 4; i++)
        x = x * 1.25f + 0.5f;
    fshared = x;
    note(0x9E);
}

void handler_irq(void)
{
    note(0x100 + (ICSR & 0x1FF));
    if ((ICSR & 0x1FF) == 16)
        STIR = 1; /* IRQ1: higher priority number, runs after this one returns */
}

__attribute__((naked)) void handler_fault(void)
{
    __asm__ volatile("tst lr, #4\n\t"
                     "ite eq\n\t"
                     "mrseq r0, msp\n\t"
                     "mrsne r0, psp\n\t"
                     "b fault_c");
}

void __attribute__((used)) fault_c(uint32_t *frame)
{
    note(0xF000 | (CFSR >> 16) | ((CFSR & 0xFF00) >> 4));
    CFSR = CFSR;
    /* Skip the faulting instruction (all the faulting ones here are 16-bit or 32-bit). */
    uint16_t hw = *(uint16_t *)frame[6];
    frame[6] += (hw >> 11) >= 0x1D ? 4 : 2;
}

int main(void)
{
    char buf[200];
    register float live __asm__("s16") = 3.25f;
    __asm__ volatile("vadd.f32 %0, %0, %0" : "+t"(live));
    __asm__ volatile("svc #1");
    ICSR = 1u << 28; /* PendSV */
    __asm__ volatile("dsb\n\tisb");
    __asm__ volatile("vadd.f32 %0, %0, %0" : "+t"(live));
    NVIC_IPR[0] = 0x40;
    NVIC_IPR[1] = 0x80;
    NVIC_ISER0 = 3;
    __asm__ volatile("msr basepri, %0" ::"r"(0x40));
    NVIC_ISPR0 = 1; /* masked by BASEPRI until it is cleared */
    note(0xBA5E);
    __asm__ volatile("msr basepri, %0\n\tisb" ::"r"(0));
    SHCSR |= 7u << 16; /* MemManage, BusFault, UsageFault enabled */
    __asm__ volatile("udf #7");
    CCR |= 1u << 4;
    volatile int zero = 0, q = 7;
    q = q / zero;
    int pos = snprintf(buf, sizeof buf, "exceptions: live=%g shared=%g q=%d log=", (double)live,
                       (double)fshared, q);
    for (unsigned i = 0; i < n_log && pos < 180; i++)
        pos += snprintf(buf + pos, sizeof buf - pos, "%lx ", (unsigned long)log_[i]);
    buf[pos++] = '\n';
    buf[pos] = 0;
    sh_puts(buf);
    return 0;
}
