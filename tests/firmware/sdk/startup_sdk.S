/*
 * sdk fixture: vector table and reset handler, in the shape of the MCUXpresso
 * SDK's GCC startup files (our own code).
 *
 * The ROM enters at the IVT's entry, which is this vector table: it loads SP and
 * PC from its first two words. Reset_Handler masks interrupts, points VTOR at the
 * table, calls SystemInit (watchdogs, FPU, caches; no RAM initialised yet), copies
 * .data, the ITCM code of .ram_function and the initialised non-cacheable data
 * from flash, zeroes the rest of the non-cacheable area and .bss, and calls main;
 * main's return value goes to exit().
 *
 * HardFault_Handler and DefaultISR loop forever, as the SDK's do: a fault leaves
 * the core spinning where a debugger (or the virtual board) can see it.
 */
    .syntax unified
    .arch armv7e-m
    .thumb

    .section .isr_vector, "a"
    .align 2
    .globl __isr_vector
__isr_vector:
    .long __StackTop
    .long Reset_Handler
    .long NMI_Handler
    .long HardFault_Handler
    .long MemManage_Handler
    .long BusFault_Handler
    .long UsageFault_Handler
    .long 0, 0, 0, 0
    .long SVC_Handler
    .long DebugMon_Handler
    .long 0
    .long PendSV_Handler
    .long SysTick_Handler
    /* IRQ 0..159: the ones the SDK names for this fixture's peripherals, the rest default. */
    .rept 20
    .long DefaultISR
    .endr
    .long LPUART1_IRQHandler        /* IRQ 20 */
    .rept 79
    .long DefaultISR
    .endr
    .long GPT1_IRQHandler           /* IRQ 100 */
    .rept 21
    .long DefaultISR
    .endr
    .long PIT_IRQHandler            /* IRQ 122 */
    .rept 37
    .long DefaultISR
    .endr
    .size __isr_vector, . - __isr_vector

    .text
    .thumb_func
    .align 2
    .globl Reset_Handler
    .type Reset_Handler, %function
Reset_Handler:
    cpsid i
    ldr r0, =0xE000ED08
    ldr r1, =__isr_vector
    str r1, [r0]
    ldr r2, [r1]
    msr msp, r2
    ldr r0, =SystemInit
    blx r0

    /* .data: __DATA_ROM -> __data_start__ .. __data_end__ */
    ldr r1, =__DATA_ROM
    ldr r2, =__data_start__
    ldr r3, =__data_end__
    bl copy_words
    /* ITCM code: __ram_function_flash_start -> __ram_function_start__ .. __ram_function_end__ */
    ldr r1, =__ram_function_flash_start
    ldr r2, =__ram_function_start__
    ldr r3, =__ram_function_end__
    bl copy_words
    /* non-cacheable initialised data */
    ldr r1, =__NDATA_ROM
    ldr r2, =__noncachedata_start__
    ldr r3, =__noncachedata_init_end__
    bl copy_words
    /* the rest of the non-cacheable area, then .bss */
    ldr r1, =__noncachedata_init_end__
    ldr r2, =__noncachedata_end__
    bl zero_words
    ldr r1, =__bss_start__
    ldr r2, =__bss_end__
    bl zero_words

    cpsie i
    bl main
    bl exit
    .pool
    .size Reset_Handler, . - Reset_Handler

/* r1 = source, r2 = destination, r3 = destination end; clobbers r0. */
    .thumb_func
    .type copy_words, %function
copy_words:
    cmp r2, r3
    ittt lt
    ldrlt r0, [r1], #4
    strlt r0, [r2], #4
    blt copy_words
    bx lr
    .size copy_words, . - copy_words

/* r1 = start, r2 = end; clobbers r0. */
    .thumb_func
    .type zero_words, %function
zero_words:
    movs r0, #0
1:  cmp r1, r2
    itt lt
    strlt r0, [r1], #4
    blt 1b
    bx lr
    .size zero_words, . - zero_words

    .thumb_func
    .weak HardFault_Handler
    .type HardFault_Handler, %function
HardFault_Handler:
    ldr r0, =HardFault_Handler
    bx r0
    .pool
    .size HardFault_Handler, . - HardFault_Handler

    .thumb_func
    .weak DefaultISR
    .type DefaultISR, %function
DefaultISR:
    ldr r0, =DefaultISR
    bx r0
    .pool
    .size DefaultISR, . - DefaultISR

    .macro weak_handler name
    .weak \name
    .thumb_set \name, DefaultISR
    .endm

    weak_handler NMI_Handler
    weak_handler MemManage_Handler
    weak_handler BusFault_Handler
    weak_handler UsageFault_Handler
    weak_handler SVC_Handler
    weak_handler DebugMon_Handler
    weak_handler PendSV_Handler
    weak_handler SysTick_Handler
    weak_handler LPUART1_IRQHandler
    weak_handler GPT1_IRQHandler
    weak_handler PIT_IRQHandler
    .end
