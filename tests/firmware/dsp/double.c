/* dsp fixture: double-precision biquad (RBJ low-pass), Hann window, dot product. */
#include <math.h>
#include "dsp.h"

#define PI_D 3.14159265358979323846

void biquad_lowpass_design(biquad_f64 *q, double fc_over_fs, double qfactor)
{
    double w0 = 2.0 * PI_D * fc_over_fs;
    double alpha = sin(w0) / (2.0 * qfactor);
    double c = cos(w0);
    double a0 = 1.0 + alpha;
    q->b0 = (1.0 - c) / 2.0 / a0;
    q->b1 = (1.0 - c) / a0;
    q->b2 = q->b0;
    q->a1 = -2.0 * c / a0;
    q->a2 = (1.0 - alpha) / a0;
    q->z1 = 0.0;
    q->z2 = 0.0;
}

/* Transposed direct form II; input is single precision, state and output double. */
void biquad_run(biquad_f64 *q, const float *in, double *out, uint32_t n)
{
    double z1 = q->z1, z2 = q->z2;
    for (uint32_t i = 0; i < n; i++) {
        double x = (double)in[i];
        double y = fma(q->b0, x, z1);
        z1 = fma(q->b1, x, z2) - q->a1 * y;
        z2 = q->b2 * x - q->a2 * y;
        out[i] = y;
    }
    q->z1 = z1;
    q->z2 = z2;
}

void hann_window_f64(double *w, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        w[i] = 0.5 - 0.5 * cos(2.0 * PI_D * (double)i / (double)(n - 1u));
}

double dot_f64(const double *a, const double *b, uint32_t n)
{
    double acc = 0.0;
    for (uint32_t i = 0; i < n; i++)
        acc = fma(a[i], b[i], acc);
    return acc;
}
