/*
 * flashwrite fixture: two interrupt handlers.
 *  - IRQ_SAFE (high priority) may fire during flash operations, so it is a
 *    flash-disabled root in ITCM.  It averages "sensor samples" with an
 *    explicit __aeabi_uidiv and clears its ring with memset.
 *  - IRQ_DEFERRED (low priority) is masked by BASEPRI during flash
 *    operations and stays in flash like ordinary code.
 */
#include <string.h>
#include "flash.h"
#include "hotlink_fw.h"

extern unsigned __aeabi_uidiv(unsigned num, unsigned den);

#define RING 16u

volatile uint32_t safe_irq_count, safe_irq_during_op, safe_irq_average;
volatile uint32_t deferred_irq_count, deferred_irq_during_op;

static uint32_t ring[RING];
static uint32_t ring_fill;
static uint32_t sample_state = 12345u;

void sensor_reset(void)
{
    memset(ring, 0, sizeof ring);
    ring_fill = 0;
}

void HOTLINK_RAMFUNC(IRQ20_Handler)(void)
{
    safe_irq_count++;
    if (flash_busy)
        safe_irq_during_op++;
    sample_state = sample_state * 1103515245u + 12345u;
    ring[ring_fill++] = (sample_state >> 16) & 0x3ffu;
    if (ring_fill == RING) {
        uint32_t sum = 0;
        for (uint32_t i = 0; i < RING; i++)
            sum += ring[i];
        safe_irq_average = __aeabi_uidiv(sum, ring_fill);
        memset(ring, 0, ring_fill * sizeof ring[0]); /* runtime size: a real memset call */
        ring_fill = 0;
    }
}

void IRQ21_Handler(void)
{
    deferred_irq_count++;
    if (flash_busy)
        deferred_irq_during_op++;
}
