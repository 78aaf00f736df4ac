/* zephyr-style fixture: the small "kernel" the application uses (own code, Zephyr-like names). */
#ifndef ZS_KERNEL_H
#define ZS_KERNEL_H

#include <stdint.h>

struct k_work;
typedef void (*k_work_handler_t)(struct k_work *work);

struct k_work {
    k_work_handler_t handler;
    struct k_work *next;
    uint32_t arg;
    uint32_t runs;
};

struct k_sem {
    uint32_t count;
    uint32_t limit;
    uint32_t gives;
};

void k_work_init(struct k_work *work, k_work_handler_t handler, uint32_t arg);
int k_work_submit(struct k_work *work);
uint32_t k_work_queue_drain(void);

void k_sem_init(struct k_sem *sem, uint32_t initial, uint32_t limit);
void k_sem_give(struct k_sem *sem);
int k_sem_take(struct k_sem *sem);

#endif
