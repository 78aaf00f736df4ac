/* zephyr-style fixture: CRC of the results (hot) and the console reports (cold). */
#include "filters.h"
#include "hotlink_fw.h"

__attribute__((noinline)) uint16_t crc16_ccitt(uint16_t crc, const void *data, uint32_t len)
{
    const uint8_t *p = data;
    while (len--) {
        crc ^= (uint16_t)(*p++ << 8);
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000u) ? (uint16_t)((crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
    }
    return crc;
}

__attribute__((cold)) void report_result(uint32_t checksum, uint32_t blocks)
{
    sh_puts("zephyr-style");
    sh_put_kx("checksum", checksum);
    sh_put_kv("blocks", blocks);
    sh_putc('\n');
}

__attribute__((cold, noreturn)) void report_failure(const char *what, uint32_t value)
{
    sh_puts("FAIL: ");
    sh_puts(what);
    sh_put_kx("value", value);
    sh_putc('\n');
    sh_exit(2);
}
