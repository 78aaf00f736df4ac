/*
 * dsp fixture: Q15/Q31 fixed point.  The ACLE intrinsics make GCC emit the
 * Cortex-M7 DSP instructions (SSAT, QADD, QADD16, SMLABB, SMLAL, ...).
 */
#include <arm_acle.h>
#include "dsp.h"

void float_to_q15(const float *in, int16_t *out, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        int32_t v = (int32_t)(in[i] * 32768.0f); /* VCVT, truncating */
        out[i] = (int16_t)__ssat(v, 16);
    }
}

void fir_q15(const int16_t *coef, uint32_t ntaps, const int16_t *in, int16_t *out, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        int32_t acc = 1 << 14; /* rounding */
        uint32_t k_max = i + 1u < ntaps ? i + 1u : ntaps;
        for (uint32_t k = 0; k < k_max; k++)
            acc = __smlabb((int32_t)coef[k], (int32_t)in[i - k], acc);
        out[i] = (int16_t)__ssat(acc >> 15, 16);
    }
}

void vec_add_q15(const int16_t *a, const int16_t *b, int16_t *out, uint32_t n)
{
    uint32_t i = 0;
    for (; i + 2u <= n; i += 2u) {
        int16x2_t x = (int16x2_t)((uint16_t)a[i] | ((uint32_t)(uint16_t)a[i + 1u] << 16));
        int16x2_t y = (int16x2_t)((uint16_t)b[i] | ((uint32_t)(uint16_t)b[i + 1u] << 16));
        int16x2_t s = __qadd16(x, y);
        out[i] = (int16_t)(s & 0xffff);
        out[i + 1u] = (int16_t)((uint32_t)s >> 16);
    }
    for (; i < n; i++)
        out[i] = (int16_t)__ssat((int32_t)a[i] + b[i], 16);
}

/* Q31 dot product with a 64-bit accumulator (SMLAL), rounded back to Q31 with saturation. */
int32_t dot_q31(const int32_t *a, const int32_t *b, uint32_t n)
{
    int64_t acc = 0;
    for (uint32_t i = 0; i < n; i++)
        acc += (int64_t)a[i] * b[i];
    acc = (acc + (1ll << 30)) >> 31;
    if (acc > INT32_MAX)
        return INT32_MAX;
    if (acc < INT32_MIN)
        return INT32_MIN;
    return (int32_t)acc;
}

/* Q31 multiply-accumulate with a saturating 32-bit accumulator (SMMULR + QADD). */
int32_t mac_sat_q31(const int32_t *a, const int32_t *b, uint32_t n)
{
    int32_t acc = 0;
    for (uint32_t i = 0; i < n; i++) {
        int32_t p = (int32_t)(((int64_t)a[i] * b[i] + (1ll << 30)) >> 31);
        acc = __qadd(acc, p);
    }
    return acc;
}
