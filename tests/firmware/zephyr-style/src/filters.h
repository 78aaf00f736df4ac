/* zephyr-style fixture: the application's signal chain. */
#ifndef ZS_FILTERS_H
#define ZS_FILTERS_H

#include <stdint.h>

#define BLOCK 64

int32_t fir_q15(const int16_t *x, int n, int16_t *y);
int16_t median3(int16_t a, int16_t b, int16_t c);
void median_block(const int16_t *x, int n, int16_t *y);
uint32_t energy(const int16_t *x, int n);
uint16_t crc16_ccitt(uint16_t crc, const void *data, uint32_t len);
void report_result(uint32_t checksum, uint32_t blocks);
__attribute__((noreturn)) void report_failure(const char *what, uint32_t value);

#endif
