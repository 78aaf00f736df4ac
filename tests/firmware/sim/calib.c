/* Calibration workloads for the virtual board's timing model (docs/sim-model.md,
   "Calibration"). Each measured function is self-contained (no calls), so that a profiler
   counting the cycles and instructions retired inside it measures exactly the workload:

   - chase_flash / chase_dtcm: a dependent chain of loads at pseudo-random word addresses,
     from 4 MiB of XIP flash (far beyond the 32 KiB D-cache: nearly every load misses) and
     from DTCM (every load single-cycle). The difference per load is the cost of a random
     cache-missing XIP read.
   - mix_itcm / mix_xip / mix_ocram: the same integer mix (list walk, CRC, a byte-code state
     machine, small matrix multiply, compare-and-swap sorting) placed in ITCM, XIP flash and
     OCRAM. An independent workload in the spirit of CoreMark's kernels, not its source. */
#include <stdint.h>
#include "rt.h"

#define CHASE_MASK 0x000FFFFFu /* word index within 4 MiB */

__attribute__((noinline)) uint32_t chase_flash(uint32_t n)
{
    const volatile uint32_t *base = (const volatile uint32_t *)0x60100000u;
    uint32_t i = 12345u;
    for (uint32_t k = 0; k < n; k++)
        i = (i * 1664525u + 1013904223u + base[i & CHASE_MASK]);
    return i;
}

__attribute__((noinline, section(".itcm.chase_dtcm"))) uint32_t chase_dtcm(uint32_t n)
{
    const volatile uint32_t *base = (const volatile uint32_t *)0x20010000u;
    uint32_t i = 12345u;
    for (uint32_t k = 0; k < n; k++)
        i = (i * 1664525u + 1013904223u + base[i & 0xFFFu]);
    return i;
}

struct node {
    struct node *next;
    int32_t value;
};

static struct node nodes[64];
static int32_t mat_a[8][8], mat_b[8][8], mat_c[8][8];
static uint8_t program[64];
static int32_t keys[32];

/* The integer mix, one definition placed three times. */
#define MIX_BODY                                                                        \
    {                                                                                   \
        uint32_t crc = 0xFFFFFFFFu, acc = 0;                                            \
        for (uint32_t round = 0; round < rounds; round++) {                             \
            /* Linked list walk with a data-dependent update. */                       \
            for (struct node *p = &nodes[0]; p; p = p->next) {                          \
                acc += (uint32_t)p->value;                                              \
                p->value = (int32_t)((uint32_t)p->value * 5u + acc) >> 1;               \
            }                                                                           \
            /* Bitwise CRC-32 of the accumulator. */                                   \
            for (int b = 0; b < 32; b++) {                                              \
                uint32_t bit = (crc ^ (acc >> b)) & 1u;                                 \
                crc = (crc >> 1) ^ (bit ? 0xEDB88320u : 0u);                            \
            }                                                                           \
            /* A byte-code state machine. */                                           \
            int32_t reg = (int32_t)round;                                               \
            for (int pc = 0; pc < 64; pc++) {                                           \
                switch (program[pc] & 7u) {                                             \
                case 0: reg += 3; break;                                                \
                case 1: reg ^= (int32_t)crc; break;                                     \
                case 2: reg = reg < 0 ? -reg : reg + 1; break;                          \
                case 3: reg <<= 1; break;                                               \
                case 4: reg -= (int32_t)acc; break;                                     \
                case 5: reg = (reg >> 2) | 1; break;                                    \
                case 6: if (reg & 1) pc++; break;                                       \
                default: reg += program[pc]; break;                                     \
                }                                                                       \
            }                                                                           \
            acc += (uint32_t)reg;                                                       \
            /* 8x8 integer matrix multiply. */                                         \
            for (int i = 0; i < 8; i++)                                                 \
                for (int j = 0; j < 8; j++) {                                           \
                    int32_t s = 0;                                                      \
                    for (int k = 0; k < 8; k++)                                         \
                        s += mat_a[i][k] * mat_b[k][j];                                 \
                    mat_c[i][j] = s + (int32_t)round;                                   \
                }                                                                       \
            acc += (uint32_t)mat_c[round & 7][(round >> 3) & 7];                        \
            /* One insertion-sort pass over perturbed keys. */                         \
            keys[round & 31] ^= (int32_t)(acc & 0xFFFu);                                \
            for (int i = 1; i < 32; i++) {                                              \
                int32_t v = keys[i];                                                    \
                int j = i - 1;                                                          \
                while (j >= 0 && keys[j] > v) {                                         \
                    keys[j + 1] = keys[j];                                              \
                    j--;                                                                \
                }                                                                       \
                keys[j + 1] = v;                                                        \
            }                                                                           \
        }                                                                               \
        return crc ^ acc;                                                               \
    }

__attribute__((noinline, section(".itcm.mix_itcm"))) uint32_t mix_itcm(uint32_t rounds) MIX_BODY
__attribute__((noinline)) uint32_t mix_xip(uint32_t rounds) MIX_BODY
__attribute__((noinline, section(".ocram.mix_ocram"))) uint32_t mix_ocram(uint32_t rounds) MIX_BODY

static volatile uint32_t sink;
extern uint32_t __ocram_start[], __ocram_end[], __ocram_load[];

static void reset_data(void)
{
    for (int i = 0; i < 64; i++) {
        nodes[i].next = i < 63 ? &nodes[(i * 37 + 1) & 63] : 0;
        nodes[i].value = i * 7 - 100;
        program[i] = (uint8_t)(i * 13 + 5);
        mat_a[i >> 3][i & 7] = i - 20;
        mat_b[i >> 3][i & 7] = 3 * i + 1;
    }
    for (int i = 0; i < 32; i++)
        keys[i] = (i * 7919) & 1023;
}

int main(void)
{
    for (uint32_t *s = __ocram_load, *d = __ocram_start; d < __ocram_end;)
        *d++ = *s++;
    uint32_t check = chase_flash(2000) ^ chase_dtcm(2000);
    reset_data();
    uint32_t a = mix_itcm(40);
    reset_data();
    uint32_t b = mix_xip(40);
    reset_data();
    uint32_t c = mix_ocram(40);
    if (a != b || b != c)
        sh_exit(1);
    sink = check ^ a;
    return 0;
}
