/* zephyr-style fixture: a FIFO work queue (built into libkernel.a, as Zephyr's kernel library). */
#include "kernel.h"

static struct k_work *queue_head, *queue_tail;
static uint32_t queue_depth, queue_max_depth;

void k_work_init(struct k_work *work, k_work_handler_t handler, uint32_t arg)
{
    work->handler = handler;
    work->next = 0;
    work->arg = arg;
    work->runs = 0;
}

__attribute__((noinline)) int k_work_submit(struct k_work *work)
{
    for (struct k_work *w = queue_head; w; w = w->next)
        if (w == work)
            return 0; /* already pending */
    work->next = 0;
    if (queue_tail)
        queue_tail->next = work;
    else
        queue_head = work;
    queue_tail = work;
    if (++queue_depth > queue_max_depth)
        queue_max_depth = queue_depth;
    return 1;
}

__attribute__((noinline)) static struct k_work *queue_pop(void)
{
    struct k_work *w = queue_head;
    if (w) {
        queue_head = w->next;
        if (!queue_head)
            queue_tail = 0;
        queue_depth--;
    }
    return w;
}

uint32_t k_work_queue_drain(void)
{
    uint32_t ran = 0;
    for (struct k_work *w; (w = queue_pop()) != 0; ran++) {
        w->runs++;
        w->handler(w);
    }
    return ran;
}
