/* dsp fixture: single-precision FIR, windowed-sinc design and a radix-2 FFT. */
#include <math.h>
#include "dsp.h"

#define PI_F 3.14159265358979f

void fir_f32(const float *coef, uint32_t ntaps, const float *in, float *out, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        float acc = 0.0f;
        uint32_t k_max = i + 1u < ntaps ? i + 1u : ntaps;
        for (uint32_t k = 0; k < k_max; k++)
            acc = fmaf(coef[k], in[i - k], acc);
        out[i] = acc;
    }
}

void design_lowpass_f32(float *coef, uint32_t ntaps, float cutoff)
{
    float sum = 0.0f;
    float mid = (float)(ntaps - 1u) * 0.5f;
    for (uint32_t k = 0; k < ntaps; k++) {
        float t = (float)k - mid;
        float sinc = t == 0.0f ? 2.0f * cutoff : sinf(2.0f * PI_F * cutoff * t) / (PI_F * t);
        float window = 0.54f - 0.46f * cosf(2.0f * PI_F * (float)k / (float)(ntaps - 1u));
        coef[k] = sinc * window;
        sum += coef[k];
    }
    for (uint32_t k = 0; k < ntaps; k++)
        coef[k] /= sum; /* unity gain at DC */
}

void fft_twiddles(cfloat *tw, uint32_t n)
{
    for (uint32_t k = 0; k < n / 2u; k++) {
        float a = -2.0f * PI_F * (float)k / (float)n;
        tw[k].re = cosf(a);
        tw[k].im = sinf(a);
    }
}

static uint32_t bit_reverse(uint32_t x, uint32_t bits)
{
    uint32_t r;
    __asm__("rbit %0, %1" : "=r"(r) : "r"(x));
    return r >> (32u - bits);
}

void fft_f32(cfloat *x, const cfloat *tw, uint32_t n, uint32_t log2n, int inverse)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t j = bit_reverse(i, log2n);
        if (j > i) {
            cfloat t = x[i];
            x[i] = x[j];
            x[j] = t;
        }
    }
    for (uint32_t half = 1; half < n; half <<= 1) {
        uint32_t step = n / (2u * half);
        for (uint32_t start = 0; start < n; start += 2u * half) {
            for (uint32_t k = 0; k < half; k++) {
                cfloat w = tw[k * step];
                if (inverse)
                    w.im = -w.im;
                cfloat *a = &x[start + k], *b = &x[start + k + half];
                float tr = fmaf(b->re, w.re, -b->im * w.im);
                float ti = fmaf(b->re, w.im, b->im * w.re);
                b->re = a->re - tr;
                b->im = a->im - ti;
                a->re += tr;
                a->im += ti;
            }
        }
    }
    if (inverse) {
        float scale = 1.0f / (float)n;
        for (uint32_t i = 0; i < n; i++) {
            x[i].re *= scale;
            x[i].im *= scale;
        }
    }
}

float magnitude_f32(cfloat c)
{
    return sqrtf(c.re * c.re + c.im * c.im);
}
