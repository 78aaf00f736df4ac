/*
 * dsp fixture: signal-processing kernels in single and double precision
 * (FPv5-D16) and in Q15/Q31 fixed point with saturating arithmetic.
 */
#ifndef DSP_H
#define DSP_H

#include <stdint.h>

#define FFT_N 256u
#define FFT_LOG2N 8u

typedef struct { float re, im; } cfloat;

/* Float kernels (float.c). */
void fir_f32(const float *coef, uint32_t ntaps, const float *in, float *out, uint32_t n);
void design_lowpass_f32(float *coef, uint32_t ntaps, float cutoff);
void fft_twiddles(cfloat *tw, uint32_t n);
void fft_f32(cfloat *x, const cfloat *tw, uint32_t n, uint32_t log2n, int inverse);
float magnitude_f32(cfloat c);

/* Double kernels (double.c). */
typedef struct { double b0, b1, b2, a1, a2; double z1, z2; } biquad_f64;
void biquad_lowpass_design(biquad_f64 *q, double fc_over_fs, double qfactor);
void biquad_run(biquad_f64 *q, const float *in, double *out, uint32_t n);
void hann_window_f64(double *w, uint32_t n);
double dot_f64(const double *a, const double *b, uint32_t n);

/* Fixed point (fixed.c). */
void float_to_q15(const float *in, int16_t *out, uint32_t n);
void fir_q15(const int16_t *coef, uint32_t ntaps, const int16_t *in, int16_t *out, uint32_t n);
void vec_add_q15(const int16_t *a, const int16_t *b, int16_t *out, uint32_t n);
int32_t dot_q31(const int32_t *a, const int32_t *b, uint32_t n);
int32_t mac_sat_q31(const int32_t *a, const int32_t *b, uint32_t n);

#endif
