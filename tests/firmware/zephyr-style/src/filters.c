/* zephyr-style fixture: Q15 FIR, median and energy over sample blocks (the hot code). */
#include "filters.h"

static const int16_t taps[16] = { -120, -340, 210, 1400, 3100, 4800, 6200, 6900,
                                  6900, 6200, 4800, 3100, 1400, 210, -340, -120 };

__attribute__((noinline)) int32_t fir_q15(const int16_t *x, int n, int16_t *y)
{
    int32_t peak = 0;
    for (int i = 0; i < n; i++) {
        int32_t acc = 0;
        for (int t = 0; t < 16; t++) {
            int idx = i - t;
            acc += (int32_t)taps[t] * (idx >= 0 ? x[idx] : 0);
        }
        acc >>= 15;
        if (acc > 32767)
            acc = 32767;
        if (acc < -32768)
            acc = -32768;
        y[i] = (int16_t)acc;
        if (acc > peak)
            peak = acc;
    }
    return peak;
}

__attribute__((noinline)) int16_t median3(int16_t a, int16_t b, int16_t c)
{
    if (a > b) {
        int16_t t = a;
        a = b;
        b = t;
    }
    if (b > c)
        b = c;
    return a > b ? a : b;
}

__attribute__((noinline)) void median_block(const int16_t *x, int n, int16_t *y)
{
    y[0] = x[0];
    for (int i = 1; i + 1 < n; i++)
        y[i] = median3(x[i - 1], x[i], x[i + 1]);
    y[n - 1] = x[n - 1];
}

__attribute__((noinline)) uint32_t energy(const int16_t *x, int n)
{
    uint32_t e = 0;
    for (int i = 0; i < n; i++)
        e += (uint32_t)((int32_t)x[i] * x[i]) >> 8;
    return e;
}
