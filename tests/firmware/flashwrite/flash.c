/*
 * flashwrite fixture: erase/program routines for the data store at the end of
 * the XIP flash (__flash_store_start__).  While they run the flash cannot be
 * read, so they are flash-disabled roots: HOTLINK_RAMFUNC puts them in a
 * .ramfunc.* section.  They call libc/libgcc helpers (memset, memcpy,
 * __aeabi_uidiv, __aeabi_uldivmod) which the baseline script leaves in flash:
 * the hazard hotlink is meant to find and fix.
 *
 * NOR semantics are modelled: erase sets bytes to 0xFF, programming can only
 * clear bits (new = old & data), and each operation "polls" a status register
 * for a time derived from the size programmed.
 */
#include <string.h>
#include "flash.h"
#include "hotlink_fw.h"

extern unsigned __aeabi_uidiv(unsigned num, unsigned den); /* libgcc, called explicitly */

volatile uint32_t flash_busy;
volatile uint32_t flash_ops;
volatile uint32_t flash_busy_polls;
volatile uint64_t flash_busy_time_ns;

/* Timing parameters of the part, kept in RAM (the driver must not read flash). */
static volatile uint32_t flash_bytes_per_poll = 64u;
static volatile uint32_t flash_program_rate_bps = 1200000u; /* bytes/s */
static volatile uint32_t flash_erase_rate_bps = 90000u;

static uint32_t page_buffer[FLASH_PAGE_SIZE / 4u]; /* FlexSPI TX staging buffer */

static inline void mask_low_priority_irqs(void)
{
    __asm__ volatile("msr basepri, %0\n\tisb" ::"r"(FLASH_OP_BASEPRI) : "memory");
}

static inline void unmask_irqs(void)
{
    __asm__ volatile("msr basepri, %0\n\tisb" ::"r"(0u) : "memory");
}

/* Busy-wait on the (modelled) status register; the wait is bytes / bytes-per-poll polls. */
static inline void wait_ready(uint32_t bytes, uint32_t rate_bps)
{
    uint32_t polls = __aeabi_uidiv(bytes, flash_bytes_per_poll);
    for (uint32_t i = 0; i < polls; i++) {
        flash_busy_polls++;
        __asm__ volatile("nop");
    }
    flash_busy_time_ns += (uint64_t)bytes * 1000000000ull / rate_bps;
}

static int in_store(uint32_t addr, uint32_t len)
{
    uint32_t start = (uint32_t)(uintptr_t)__flash_store_start__;
    uint32_t end = (uint32_t)(uintptr_t)__flash_store_end__;
    return addr >= start && addr <= end && len <= end - addr;
}

int HOTLINK_RAMFUNC(flash_erase_sector)(uint32_t addr)
{
    if (addr & (FLASH_SECTOR_SIZE - 1u))
        return FLASH_ERR_ALIGN;
    if (!in_store(addr, FLASH_SECTOR_SIZE))
        return FLASH_ERR_RANGE;
    mask_low_priority_irqs();
    flash_busy = 1;
    memset((void *)(uintptr_t)addr, 0xFF, FLASH_SECTOR_SIZE);
    wait_ready(FLASH_SECTOR_SIZE, flash_erase_rate_bps);
    int status = FLASH_OK;
    const volatile uint32_t *p = (const volatile uint32_t *)(uintptr_t)addr;
    for (uint32_t i = 0; i < FLASH_SECTOR_SIZE / 4u; i++)
        if (p[i] != 0xFFFFFFFFu)
            status = FLASH_ERR_VERIFY;
    flash_ops++;
    flash_busy = 0;
    __asm__ volatile("dsb" ::: "memory");
    unmask_irqs();
    return status;
}

int HOTLINK_RAMFUNC(flash_program_page)(uint32_t addr, const uint8_t *src, uint32_t len)
{
    if ((addr & 3u) || (len & 3u) || len > FLASH_PAGE_SIZE ||
        (addr & (FLASH_PAGE_SIZE - 1u)) + len > FLASH_PAGE_SIZE)
        return FLASH_ERR_ALIGN;
    if (!in_store(addr, len))
        return FLASH_ERR_RANGE;
    mask_low_priority_irqs();
    flash_busy = 1;
    memcpy(page_buffer, src, len);
    volatile uint32_t *dst = (volatile uint32_t *)(uintptr_t)addr;
    uint32_t words = len / 4u;
    for (uint32_t i = 0; i < words; i++) {
        dst[i] &= page_buffer[i]; /* NOR: programming only clears bits */
        if (i == words / 2u) {
            /* A sensor interrupt and a low-priority one arrive mid-page. */
            NVIC_ISPR(IRQ_SAFE / 32u) = 1u << (IRQ_SAFE % 32u);
            NVIC_ISPR(IRQ_DEFERRED / 32u) = 1u << (IRQ_DEFERRED % 32u);
            __asm__ volatile("dsb\n\tisb" ::: "memory");
        }
    }
    wait_ready(len, flash_program_rate_bps);
    flash_ops++;
    flash_busy = 0;
    __asm__ volatile("dsb" ::: "memory");
    unmask_irqs();
    return FLASH_OK;
}
