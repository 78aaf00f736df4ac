/* Minimal Cortex-M7 startup for the linker's differential tests. */
#include <stdint.h>
#include <string.h>

extern uint32_t __StackTop, __data_load, __data_start, __data_end, __bss_start, __bss_end;
extern uint32_t __itcm_load, __itcm_start, __itcm_end;
int main(void);
void Reset_Handler(void);
void Default_Handler(void) { for (;;) {} }
void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));

__attribute__((section(".isr_vector"), used))
const void *const vectors[16] = {
    &__StackTop, Reset_Handler, NMI_Handler, Default_Handler, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    SysTick_Handler,
};

static void semihost_exit(int code) {
    uint32_t block[2] = {0x20026, (uint32_t)code};
    register uint32_t r0 __asm__("r0") = 0x20;
    register uint32_t r1 __asm__("r1") = (uint32_t)block;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
}

void Reset_Handler(void) {
    memcpy(&__data_start, &__data_load, (char *)&__data_end - (char *)&__data_start);
    memcpy(&__itcm_start, &__itcm_load, (char *)&__itcm_end - (char *)&__itcm_start);
    memset(&__bss_start, 0, (char *)&__bss_end - (char *)&__bss_start);
    semihost_exit(main());
}
