/*
 * flashwrite fixture: a NOR flash driver for the XIP data store and the
 * interrupt handlers that may run while the flash is busy.
 */
#ifndef FLASH_H
#define FLASH_H

#include <stdint.h>

#define FLASH_SECTOR_SIZE 4096u
#define FLASH_PAGE_SIZE 256u

/* IRQ lines (i.MX RT numbers are irrelevant here; both exist on QEMU's mps2-an500 NVIC). */
#define IRQ_SAFE 20u      /* priority 0x20: allowed during flash operations, runs from ITCM */
#define IRQ_DEFERRED 21u  /* priority 0x80: masked during flash operations, lives in flash */
#define FLASH_OP_BASEPRI 0x40u

enum flash_status { FLASH_OK = 0, FLASH_ERR_ALIGN, FLASH_ERR_RANGE, FLASH_ERR_VERIFY };

int flash_erase_sector(uint32_t addr);
int flash_program_page(uint32_t addr, const uint8_t *src, uint32_t len);

/* State shared with the ISRs (RAM). */
extern volatile uint32_t flash_busy;
extern volatile uint32_t flash_ops;
extern volatile uint32_t flash_busy_polls;
extern volatile uint64_t flash_busy_time_ns;

/* ISR bookkeeping (isr.c). */
extern volatile uint32_t safe_irq_count, safe_irq_during_op, safe_irq_average;
extern volatile uint32_t deferred_irq_count, deferred_irq_during_op;
void sensor_reset(void);
void IRQ20_Handler(void); /* IRQ_SAFE, a flash-disabled root */
void IRQ21_Handler(void); /* IRQ_DEFERRED */

#endif
