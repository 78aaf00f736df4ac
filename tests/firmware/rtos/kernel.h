/*
 * rtos fixture: a small preemptive round-robin kernel.  SysTick ends a time
 * slice, PendSV switches context (saving s16-s31 only for tasks with an
 * active FP context, per EXC_RETURN bit 4), SVC starts the first task and
 * yields.
 */
#ifndef KERNEL_H
#define KERNEL_H

#include <stdint.h>

#define MAX_TASKS 6u
#define TASK_STACK_WORDS 512u

typedef void (*task_fn)(uint32_t arg);

typedef struct Tcb {
    uint32_t *sp;     /* saved PSP; first member, PendSV relies on it */
    uint32_t done;
    uint32_t switches_in;
    const char *name;
} Tcb;

void kernel_add_task(task_fn fn, uint32_t arg, const char *name);
__attribute__((noreturn)) void kernel_start(uint32_t tick_cycles);
void task_yield(void);
void task_exit(void);
uint32_t kernel_ticks(void);
uint32_t kernel_switches(void);
uint32_t kernel_fp_saves(void);
uint32_t kernel_task_count(void);
const Tcb *kernel_task(uint32_t i);

#endif
