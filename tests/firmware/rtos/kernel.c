/* rtos fixture: the kernel (see kernel.h). */
#include "hotlink_fw.h"
#include "kernel.h"

#define EXC_RETURN_THREAD_PSP 0xFFFFFFFDu
#define XPSR_THUMB 0x01000000u
#define SVC_START 0
#define SVC_YIELD 1

static Tcb tasks[MAX_TASKS];
static uint32_t stacks[MAX_TASKS][TASK_STACK_WORDS] __attribute__((aligned(8)));
static uint32_t ntasks;
Tcb *current_task; /* used by the PendSV and SVC assembly */
static uint32_t current_index;
static volatile uint32_t ticks;
static volatile uint32_t switches;
volatile uint32_t fp_saves; /* incremented by PendSV when it saves s16-s31 */

static __attribute__((noreturn)) void task_returned(void)
{
    fw_fail("rtos: a task returned instead of calling task_exit", current_index);
}

void kernel_add_task(task_fn fn, uint32_t arg, const char *name)
{
    if (ntasks == MAX_TASKS)
        fw_fail("rtos: too many tasks", ntasks);
    Tcb *t = &tasks[ntasks];
    uint32_t *sp = &stacks[ntasks][TASK_STACK_WORDS];
    /* Hardware frame, as an exception entry would have stacked it. */
    *--sp = XPSR_THUMB;
    *--sp = (uint32_t)(uintptr_t)fn;            /* PC */
    *--sp = (uint32_t)(uintptr_t)task_returned; /* LR */
    *--sp = 0;                                  /* R12 */
    *--sp = 0;                                  /* R3 */
    *--sp = 0;                                  /* R2 */
    *--sp = 0;                                  /* R1 */
    *--sp = arg;                                /* R0 */
    /* Software frame: EXC_RETURN then r4-r11 (popped as {r4-r11, lr}). */
    *--sp = EXC_RETURN_THREAD_PSP;
    for (int r = 11; r >= 4; r--)
        *--sp = 0x04040404u * (uint32_t)r;
    t->sp = sp;
    t->name = name;
    ntasks++;
}

/* Round robin over the tasks that have not finished; called by PendSV with IRQs masked. */
__attribute__((used)) void kernel_pick_next(void)
{
    for (uint32_t n = 1; n <= ntasks; n++) {
        uint32_t i = (current_index + n) % ntasks;
        if (!tasks[i].done) {
            if (i != current_index)
                switches++;
            current_index = i;
            current_task = &tasks[i];
            current_task->switches_in++;
            return;
        }
    }
    fw_fail("rtos: no runnable task", ticks);
}

void kernel_start(uint32_t tick_cycles)
{
    /* PendSV, SysTick and SVC all at the lowest priority: they never nest. */
    SCB_SHPR2 = 0xFFu << 24;              /* SVCall */
    SCB_SHPR3 = (0xFFu << 24) | (0xFFu << 16); /* SysTick, PendSV */
    current_index = 0;
    current_task = &tasks[0];
    tasks[0].switches_in = 1;
    SYST_RVR = tick_cycles - 1u;
    SYST_CVR = 0;
    /* SysTick is enabled by the SVC start path, once PSP holds a task's stack: a
     * tick taken here, on MSP, would make PendSV save a context to PSP = 0. */
    __asm__ volatile("cpsie i\n\tsvc %0" ::"i"(SVC_START) : "memory");
    fw_fail("rtos: SVC start returned", 0);
}

void task_yield(void)
{
    __asm__ volatile("svc %0" ::"i"(SVC_YIELD) : "memory");
}

void task_exit(void)
{
    current_task->done = 1;
    for (;;)
        task_yield();
}

void SysTick_Handler(void)
{
    ticks++;
    SCB_ICSR = 1u << 28; /* PENDSVSET */
}

/* SVC 0 starts SysTick and the first task, SVC 1 yields (pends PendSV). */
__attribute__((naked)) void SVC_Handler(void)
{
    __asm__ volatile(
        "tst lr, #4\n\t"
        "ite eq\n\t"
        "mrseq r0, msp\n\t"
        "mrsne r0, psp\n\t"
        "ldr r1, [r0, #24]\n\t"     /* stacked PC */
        "ldrb r1, [r1, #-2]\n\t"    /* SVC immediate */
        "cbz r1, 1f\n\t"
        "ldr r0, =0xE000ED04\n\t"
        "mov r1, #(1 << 28)\n\t"
        "str r1, [r0]\n\t"
        "bx lr\n"
        "1:\n\t"
        "ldr r0, =0xE000E010\n\t" /* SYST_CSR: processor clock, interrupt, enable */
        "movs r1, #7\n\t"
        "str r1, [r0]\n\t"
        "ldr r0, =current_task\n\t"
        "ldr r0, [r0]\n\t"
        "ldr r0, [r0]\n\t"          /* task sp */
        "ldmia r0!, {r4-r11, lr}\n\t"
        "msr psp, r0\n\t"
        "isb\n\t"
        "bx lr\n\t"
        ".ltorg");
}

__attribute__((naked)) void PendSV_Handler(void)
{
    __asm__ volatile(
        "mrs r0, psp\n\t"
        "tst lr, #0x10\n\t"         /* EXC_RETURN bit 4 clear: the task has an FP frame */
        "bne 1f\n\t"
        "vstmdb r0!, {s16-s31}\n\t" /* also triggers the lazy save of s0-s15/FPSCR */
        "ldr r1, =fp_saves\n\t"
        "ldr r2, [r1]\n\t"
        "adds r2, #1\n\t"
        "str r2, [r1]\n"
        "1:\n\t"
        "stmdb r0!, {r4-r11, lr}\n\t"
        "ldr r1, =current_task\n\t"
        "ldr r2, [r1]\n\t"
        "str r0, [r2]\n\t"
        "cpsid i\n\t"
        "bl kernel_pick_next\n\t"
        "cpsie i\n\t"
        "ldr r1, =current_task\n\t"
        "ldr r2, [r1]\n\t"
        "ldr r0, [r2]\n\t"
        "ldmia r0!, {r4-r11, lr}\n\t"
        "tst lr, #0x10\n\t"
        "it eq\n\t"
        "vldmiaeq r0!, {s16-s31}\n\t"
        "msr psp, r0\n\t"
        "isb\n\t"
        "bx lr\n\t"
        ".ltorg");
}

uint32_t kernel_ticks(void)
{
    return ticks;
}

uint32_t kernel_switches(void)
{
    return switches;
}

uint32_t kernel_fp_saves(void)
{
    return fp_saves;
}

uint32_t kernel_task_count(void)
{
    return ntasks;
}

const Tcb *kernel_task(uint32_t i)
{
    return &tasks[i];
}
