/* zephyr-style fixture: counting semaphores without blocking (built into libkernel.a). */
#include "kernel.h"

void k_sem_init(struct k_sem *sem, uint32_t initial, uint32_t limit)
{
    sem->count = initial;
    sem->limit = limit;
    sem->gives = 0;
}

__attribute__((noinline)) void k_sem_give(struct k_sem *sem)
{
    sem->gives++;
    if (sem->count < sem->limit)
        sem->count++;
}

__attribute__((noinline)) int k_sem_take(struct k_sem *sem)
{
    if (sem->count == 0)
        return -1;
    sem->count--;
    return 0;
}
