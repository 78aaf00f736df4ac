/*
 * zephyr-style fixture: a Zephyr-shaped application. A "sensor" work item
 * produces blocks of samples, a "filter" work item runs the signal chain on
 * them and a "log" work item folds the results into a CRC; a semaphore hands
 * blocks from one to the next. The final checksum is compared with the value
 * the same sources give on the host (integer arithmetic only).
 */
#include "filters.h"
#include "kernel.h"

#define BLOCKS 160
#define EXPECTED_CHECKSUM 0x2cd1af4eu

static int16_t samples[BLOCK], filtered[BLOCK], smoothed[BLOCK];
static uint32_t lfsr = 0xACE1u, produced, checksum, peak_sum;
static struct k_sem block_ready, block_done;
static struct k_work sensor_work, filter_work, log_work;

static void sensor_handler(struct k_work *work)
{
    for (int i = 0; i < BLOCK; i++) {
        lfsr = (lfsr >> 1) ^ (0xB400u & -(lfsr & 1u));
        int32_t tone = ((int32_t)((produced * BLOCK + (uint32_t)i) * 523u) & 0x3FF) - 0x200;
        samples[i] = (int16_t)(tone * 24 + (int32_t)(lfsr & 0x7FF) - 0x400);
    }
    produced++;
    (void)work;
    k_sem_give(&block_ready);
    k_work_submit(&filter_work);
}

static void filter_handler(struct k_work *work)
{
    if (k_sem_take(&block_ready) != 0)
        report_failure("filter ran without a block", work->runs);
    peak_sum += (uint32_t)fir_q15(samples, BLOCK, filtered);
    median_block(filtered, BLOCK, smoothed);
    k_sem_give(&block_done);
    k_work_submit(&log_work);
}

static void log_handler(struct k_work *work)
{
    if (k_sem_take(&block_done) != 0)
        report_failure("log ran without a result", work->runs);
    uint32_t e = energy(smoothed, BLOCK);
    checksum = crc16_ccitt((uint16_t)checksum, smoothed, sizeof smoothed) ^ (e << 16);
}

int main(void)
{
    k_sem_init(&block_ready, 0, 1);
    k_sem_init(&block_done, 0, 1);
    k_work_init(&sensor_work, sensor_handler, 0);
    k_work_init(&filter_work, filter_handler, 1);
    k_work_init(&log_work, log_handler, 2);
    uint32_t ran = 0;
    for (int b = 0; b < BLOCKS; b++) {
        k_work_submit(&sensor_work);
        ran += k_work_queue_drain();
    }
    checksum ^= peak_sum;
    report_result(checksum, produced);
    if (ran != 3 * BLOCKS || log_work.runs != BLOCKS)
        report_failure("work items run", ran);
    if (checksum != EXPECTED_CHECKSUM)
        report_failure("checksum", checksum);
    return 0;
}
