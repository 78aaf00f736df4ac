/*
 * flashwrite fixture: erases and programs the XIP data store through the
 * driver while interrupts arrive, then verifies contents, NOR semantics,
 * error returns and which interrupts ran during the operations.  It also
 * reports how many helpers of the flash-disabled roots still live in flash
 * (the baseline leaves all four there; a correct hotlink placement moves them).
 */
#include <string.h>
#include "flash.h"
#include "hotlink_fw.h"

extern unsigned __aeabi_uidiv(unsigned num, unsigned den);
/* Returns quotient and remainder in r0-r3, which C cannot declare: only its address is taken. */
extern void __aeabi_uldivmod(void);

#define SECTORS 4u
#define PASSES 4u

static uint8_t data[FLASH_SECTOR_SIZE];
static uint32_t rng = 0x2545F491u;

static uint32_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static uint32_t crc32(const volatile uint8_t *p, uint32_t len, uint32_t crc)
{
    crc = ~crc;
    for (uint32_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static int in_flash(const void *p)
{
    uintptr_t a = (uintptr_t)p & ~(uintptr_t)1u;
    return a >= (uintptr_t)__flash_start__ && a < (uintptr_t)__flash_end__;
}

static void expect(int ok, const char *what, uint32_t detail)
{
    if (!ok)
        fw_fail(what, detail);
}

int main(void)
{
    /* The roots must not execute from flash, whatever the placement. */
    expect(!in_flash((const void *)flash_erase_sector), "flashwrite: erase routine in flash",
           (uint32_t)(uintptr_t)flash_erase_sector);
    expect(!in_flash((const void *)flash_program_page), "flashwrite: program routine in flash",
           (uint32_t)(uintptr_t)flash_program_page);
    expect(!in_flash((const void *)IRQ20_Handler), "flashwrite: safe ISR in flash",
           (uint32_t)(uintptr_t)IRQ20_Handler);

    NVIC_IPR8(IRQ_SAFE) = 0x20u;
    NVIC_IPR8(IRQ_DEFERRED) = 0x80u;
    NVIC_ISER(IRQ_SAFE / 32u) = 1u << (IRQ_SAFE % 32u);
    NVIC_ISER(IRQ_DEFERRED / 32u) = 1u << (IRQ_DEFERRED % 32u);
    __asm__ volatile("cpsie i" ::: "memory");
    sensor_reset();

    const uint32_t store = (uint32_t)(uintptr_t)__flash_store_start__;
    uint32_t crc_all = 0, pages = 0, bytes_erased = 0, bytes_programmed = 0;
    for (uint32_t pass = 0; pass < PASSES; pass++) {
        for (uint32_t s = 0; s < SECTORS; s++) {
            uint32_t sector = store + (pass * SECTORS + s) % 16u * FLASH_SECTOR_SIZE;
            expect(flash_erase_sector(sector) == FLASH_OK, "flashwrite: erase", sector);
            bytes_erased += FLASH_SECTOR_SIZE;
            for (uint32_t i = 0; i < FLASH_SECTOR_SIZE; i += 4u) {
                uint32_t r = next_random();
                memcpy(&data[i], &r, 4);
            }
            for (uint32_t off = 0; off < FLASH_SECTOR_SIZE; off += FLASH_PAGE_SIZE) {
                expect(flash_program_page(sector + off, &data[off], FLASH_PAGE_SIZE) == FLASH_OK,
                       "flashwrite: program", sector + off);
                pages++;
                bytes_programmed += FLASH_PAGE_SIZE;
            }
            const volatile uint8_t *flash = (const volatile uint8_t *)(uintptr_t)sector;
            for (uint32_t i = 0; i < FLASH_SECTOR_SIZE; i++)
                expect(flash[i] == data[i], "flashwrite: verify", sector + i);
            crc_all = crc32(flash, FLASH_SECTOR_SIZE, crc_all);
        }
    }

    /* Programming over programmed data can only clear bits. */
    volatile uint32_t *w = (volatile uint32_t *)(uintptr_t)store;
    uint32_t before = w[0];
    static const uint8_t mask[4] = { 0x0F, 0xF0, 0x3C, 0xA5 };
    uint8_t mask_ram[4];
    memcpy(mask_ram, mask, 4);
    expect(flash_program_page(store, mask_ram, 4) == FLASH_OK, "flashwrite: reprogram", store);
    pages++;
    bytes_programmed += 4u;
    uint32_t mask_word;
    memcpy(&mask_word, mask, 4);
    expect(w[0] == (before & mask_word), "flashwrite: NOR AND semantics", w[0]);

    /* Bad requests are refused without touching the flash. */
    expect(flash_erase_sector(store + 8u) == FLASH_ERR_ALIGN, "flashwrite: misaligned erase", 0);
    expect(flash_erase_sector((uint32_t)(uintptr_t)__flash_start__) == FLASH_ERR_RANGE,
           "flashwrite: erase outside the store", 0);
    expect(flash_program_page(store + 250u, data, 8) == FLASH_ERR_ALIGN, "flashwrite: page crossing", 0);

    /* Every program call pended both IRQs mid-page: the safe one ran during the
     * operation, the deferred one only after BASEPRI was lowered again. */
    expect(safe_irq_count == pages, "flashwrite: safe IRQ count", safe_irq_count);
    expect(safe_irq_during_op == pages, "flashwrite: safe IRQ ran during the operation", safe_irq_during_op);
    expect(deferred_irq_count == pages, "flashwrite: deferred IRQ count", deferred_irq_count);
    expect(deferred_irq_during_op == 0, "flashwrite: deferred IRQ ran during the operation",
           deferred_irq_during_op);
    expect(safe_irq_average > 0 && safe_irq_average < 1024u, "flashwrite: sensor average", safe_irq_average);
    expect(flash_ops == SECTORS * PASSES + pages, "flashwrite: operation count", flash_ops);

    /* Modelled busy time, recomputed here with the same rates. */
    volatile uint32_t erase_rate = 90000u, program_rate = 1200000u; /* runtime divisors */
    uint64_t want_ns = 0;
    want_ns += (uint64_t)SECTORS * PASSES * (FLASH_SECTOR_SIZE * 1000000000ull / erase_rate);
    want_ns += (uint64_t)(pages - 1u) * (FLASH_PAGE_SIZE * 1000000000ull / program_rate);
    want_ns += 4ull * 1000000000ull / program_rate;
    expect(flash_busy_time_ns == want_ns, "flashwrite: busy time", (uint32_t)flash_busy_time_ns);
    uint32_t want_polls = SECTORS * PASSES * __aeabi_uidiv(FLASH_SECTOR_SIZE, 64u) +
                          (pages - 1u) * __aeabi_uidiv(FLASH_PAGE_SIZE, 64u);
    expect(flash_busy_polls == want_polls, "flashwrite: busy polls", flash_busy_polls);

    /* Helpers the roots call that still execute from flash (a hazard on hardware). */
    const void *helpers[] = { (const void *)memcpy, (const void *)memset, (const void *)__aeabi_uidiv,
                              (const void *)__aeabi_uldivmod };
    uint32_t in_flash_helpers = 0;
    for (uint32_t i = 0; i < sizeof helpers / sizeof helpers[0]; i++)
        in_flash_helpers += (uint32_t)in_flash(helpers[i]);

    sh_puts("flashwrite: ok");
    sh_put_kv("erased", bytes_erased);
    sh_put_kv("programmed", bytes_programmed);
    sh_put_kv("irqs", safe_irq_count);
    sh_put_kx("crc", crc_all);
    sh_put_kv("busy_us", (uint32_t)(flash_busy_time_ns / 1000u));
    sh_put_kv("helpers_in_flash", in_flash_helpers);
    sh_putc('\n');
    return 0;
}
