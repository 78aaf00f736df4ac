/* Integer, libgcc and newlib code paths: 64-bit arithmetic, division, string functions,
   snprintf (integers and doubles), qsort, a function running from ITCM. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rt.h"

static int cmp(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

__attribute__((section(".itcm.crc"), noinline)) uint32_t crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    while (n--) {
        c ^= *p++;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & -(c & 1));
    }
    return ~c;
}

int main(void)
{
    char buf[256];
    int32_t v[64];
    uint64_t x = 0x123456789ABCDEFull;
    for (int i = 0; i < 64; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        v[i] = (int32_t)(x >> 33) - (1 << 29);
    }
    qsort(v, 64, sizeof v[0], cmp);
    int64_t acc = 0;
    for (int i = 0; i < 64; i++)
        acc += (int64_t)v[i] * (i + 1) / 7 - (uint64_t)x % (uint32_t)(i + 3);
    double d = 0;
    for (int i = 1; i < 50; i++)
        d += 1.0 / (i * (double)i) - (float)i / 3.0f;
    snprintf(buf, sizeof buf, "mix: min=%ld max=%ld acc=%lld d=%.9g crc=%08lx len=%u\n", (long)v[0],
             (long)v[63], (long long)acc, d, (unsigned long)crc32((const uint8_t *)v, sizeof v),
             (unsigned)strlen("hello, simulator"));
    sh_puts(buf);
    return v[0] < v[63] ? 0 : 1;
}
