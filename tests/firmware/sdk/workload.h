/* sdk fixture: the benchmark workload (workload.c); also compiled for the host. */
#ifndef SDK_WORKLOAD_H
#define SDK_WORKLOAD_H

#include <stdint.h>

uint16_t crc16_update(uint16_t crc, uint32_t value, int bytes);
uint32_t coremark_like(uint32_t seed, uint32_t iterations);
uint32_t workload_run(uint32_t rounds);

#define WORKLOAD_SEED 0x3415u
#define COREMARK_ITERATIONS 12u
#define KERNEL_ROUNDS 150u

#endif
