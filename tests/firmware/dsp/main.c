/*
 * dsp fixture: runs every kernel on a synthetic three-tone signal and checks
 * the results against properties that hold only if the arithmetic is right
 * (spectral peaks, FFT round trip, Parseval, filter gains, Q15 versus float,
 * saturation).  Prints a checksum of the bit patterns of the outputs.
 */
#include <math.h>
#include "dsp.h"
#include "hotlink_fw.h"

#define SIG_N 1024u
#define FIR_TAPS 63u
#define TWO_PI_F 6.28318530717959f

static float signal_f32[SIG_N];
static float fir_out[SIG_N];
static double biquad_out[SIG_N];
static cfloat spectrum[FFT_N];
static cfloat twiddles[FFT_N / 2u];
static float fir_coef[FIR_TAPS];
static int16_t coef_q15[FIR_TAPS];
static int16_t signal_q15[SIG_N];
static int16_t fir_out_q15[SIG_N];
static double window[FFT_N];
static int32_t q31_a[64], q31_b[64];

static uint32_t checksum = 2166136261u;

static void mix(uint32_t v)
{
    checksum = (checksum ^ v) * 16777619u;
}

static void mix_f32(float f)
{
    union { float f; uint32_t u; } x = { f };
    mix(x.u);
}

static void check(int ok, const char *what, float value)
{
    if (!ok) {
        union { float f; uint32_t u; } x = { value };
        fw_fail(what, x.u);
    }
}

static void make_signal(float amp)
{
    for (uint32_t i = 0; i < SIG_N; i++) {
        float t = (float)i / (float)FFT_N;
        signal_f32[i] = amp * (0.5f * sinf(TWO_PI_F * 5.0f * t) + 0.25f * sinf(TWO_PI_F * 60.0f * t) +
                               0.1f * cosf(TWO_PI_F * 17.0f * t));
    }
}

/* Spectrum of 256 samples starting at `from`; returns the largest bin magnitude outside `skip`. */
static void spectrum_of(const float *x)
{
    for (uint32_t i = 0; i < FFT_N; i++) {
        spectrum[i].re = x[i];
        spectrum[i].im = 0.0f;
    }
    fft_f32(spectrum, twiddles, FFT_N, FFT_LOG2N, 0);
}

static float bin(uint32_t k)
{
    return magnitude_f32(spectrum[k]);
}

static void test_fft(float amp)
{
    spectrum_of(signal_f32);
    float energy_t = 0.0f, energy_f = 0.0f, leak = 0.0f;
    for (uint32_t i = 0; i < FFT_N; i++)
        energy_t = fmaf(signal_f32[i], signal_f32[i], energy_t);
    for (uint32_t k = 0; k < FFT_N; k++) {
        float m = bin(k);
        energy_f = fmaf(m, m, energy_f);
        uint32_t kk = k <= FFT_N / 2u ? k : FFT_N - k;
        if (kk != 5u && kk != 17u && kk != 60u && m > leak)
            leak = m;
    }
    check(fabsf(bin(5) - 64.0f * amp) < 1e-3f * amp * 64.0f, "dsp: FFT bin 5", bin(5));
    check(fabsf(bin(60) - 32.0f * amp) < 1e-3f * amp * 32.0f, "dsp: FFT bin 60", bin(60));
    check(fabsf(bin(17) - 12.8f * amp) < 1e-3f * amp * 12.8f, "dsp: FFT bin 17", bin(17));
    check(leak < 1e-3f * amp * 64.0f, "dsp: FFT leakage", leak);
    check(fabsf(energy_f / (float)FFT_N - energy_t) < 1e-4f * energy_t, "dsp: Parseval", energy_f);

    fft_f32(spectrum, twiddles, FFT_N, FFT_LOG2N, 1);
    float err = 0.0f;
    for (uint32_t i = 0; i < FFT_N; i++) {
        err = fmaxf(err, fabsf(spectrum[i].re - signal_f32[i]));
        err = fmaxf(err, fabsf(spectrum[i].im));
        mix_f32(spectrum[i].re);
    }
    check(err < 1e-5f * amp, "dsp: FFT round trip", err);
}

static void test_fir(float amp)
{
    fir_f32(fir_coef, FIR_TAPS, signal_f32, fir_out, SIG_N);
    spectrum_of(fir_out + SIG_N - FFT_N);
    /* Pass band (bins 5, 17 of 256; cutoff 0.1 fs = bin 25.6) kept, bin 60 stopped. */
    check(fabsf(bin(5) - 64.0f * amp) < 0.01f * 64.0f * amp, "dsp: FIR pass band", bin(5));
    check(bin(60) < 1e-3f * 32.0f * amp, "dsp: FIR stop band", bin(60));
    for (uint32_t i = 0; i < SIG_N; i += 7u)
        mix_f32(fir_out[i]);
}

static void test_fir_q15(float amp)
{
    float_to_q15(fir_coef, coef_q15, FIR_TAPS);
    float_to_q15(signal_f32, signal_q15, SIG_N);
    fir_q15(coef_q15, FIR_TAPS, signal_q15, fir_out_q15, SIG_N);
    float err = 0.0f;
    for (uint32_t i = 0; i < SIG_N; i++) {
        err = fmaxf(err, fabsf((float)fir_out_q15[i] / 32768.0f - fir_out[i]));
        mix((uint32_t)(uint16_t)fir_out_q15[i]);
    }
    check(err < 3e-3f, "dsp: Q15 FIR vs float", err);
    (void)amp;
}

static void test_biquad(void)
{
    biquad_f64 q;
    biquad_lowpass_design(&q, 0.05, 0.7071067811865476);
    static float step[SIG_N];
    for (uint32_t i = 0; i < SIG_N; i++)
        step[i] = 1.0f;
    biquad_run(&q, step, biquad_out, SIG_N);
    check(fabs(biquad_out[SIG_N - 1u] - 1.0) < 1e-9, "dsp: biquad DC gain", (float)biquad_out[SIG_N - 1u]);
    double overshoot = 0.0;
    for (uint32_t i = 0; i < SIG_N; i++)
        overshoot = fmax(overshoot, biquad_out[i]);
    /* A Butterworth (Q = 1/sqrt 2) step response overshoots by about 4.3 %. */
    check(overshoot > 1.03 && overshoot < 1.06, "dsp: biquad overshoot", (float)overshoot);

    biquad_lowpass_design(&q, 0.05, 0.7071067811865476);
    biquad_run(&q, signal_f32, biquad_out, SIG_N);
    static float tail[FFT_N];
    for (uint32_t i = 0; i < FFT_N; i++)
        tail[i] = (float)biquad_out[SIG_N - FFT_N + i];
    spectrum_of(tail);
    /* Second order at 0.05 fs: bin 60 (0.234 fs) is about 27 dB down. */
    check(bin(60) < 0.06f * 32.0f, "dsp: biquad stop band", bin(60));
    check(bin(5) > 0.9f * 64.0f, "dsp: biquad pass band", bin(5));
    for (uint32_t i = 0; i < SIG_N; i += 5u) {
        union { double d; uint32_t u[2]; } x = { biquad_out[i] };
        mix(x.u[0] ^ x.u[1]);
    }
}

static void test_window(void)
{
    hann_window_f64(window, FFT_N);
    double ones[FFT_N];
    for (uint32_t i = 0; i < FFT_N; i++)
        ones[i] = 1.0;
    double sum = dot_f64(window, ones, FFT_N);
    double power = dot_f64(window, window, FFT_N);
    /* Symmetric Hann of n points: sum = (n-1)/2, sum of squares = 3(n-1)/8. */
    check(fabs(sum - 127.5) < 1e-9, "dsp: Hann sum", (float)sum);
    check(fabs(power - 3.0 * 255.0 / 8.0) < 1e-9, "dsp: Hann power", (float)power);
    mix((uint32_t)(sum * 1e6));
    mix((uint32_t)(power * 1e6));
}

static void test_saturation(void)
{
    int16_t a[5] = { 30000, -30000, 1000, -1, 32767 };
    int16_t b[5] = { 30000, -30000, -2000, 1, 1 };
    int16_t s[5];
    vec_add_q15(a, b, s, 5);
    check(s[0] == 32767 && s[1] == -32768 && s[2] == -1000 && s[3] == 0 && s[4] == 32767,
          "dsp: Q15 saturating add", (float)s[0]);

    for (uint32_t i = 0; i < 64u; i++) {
        q31_a[i] = (int32_t)(i * 0x01000000u) - 0x20000000;
        q31_b[i] = 0x40000000 - (int32_t)(i * 0x00800000u);
    }
    double ref = 0.0;
    for (uint32_t i = 0; i < 64u; i++)
        ref += ((double)q31_a[i] / 2147483648.0) * ((double)q31_b[i] / 2147483648.0);
    int32_t d = dot_q31(q31_a, q31_b, 64);
    check(fabs((double)d / 2147483648.0 - ref) < 1e-9, "dsp: Q31 dot", (float)d);
    /* The saturating accumulator clips at -1.0 on the way (the running sum dips below it). */
    double sat_ref = 0.0;
    for (uint32_t i = 0; i < 64u; i++) {
        sat_ref += ((double)q31_a[i] / 2147483648.0) * ((double)q31_b[i] / 2147483648.0);
        sat_ref = fmin(fmax(sat_ref, -1.0), 2147483647.0 / 2147483648.0);
    }
    int32_t m = mac_sat_q31(q31_a, q31_b, 64);
    check(fabs((double)m / 2147483648.0 - sat_ref) < 64.0 / 2147483648.0, "dsp: Q31 MAC", (float)m);
    check(fabs(sat_ref - ref) > 0.5, "dsp: Q31 MAC test data never saturates", (float)sat_ref);
    for (uint32_t i = 0; i < 64u; i++)
        q31_a[i] = q31_b[i] = 0x7fffffff;
    check(mac_sat_q31(q31_a, q31_b, 64) == INT32_MAX, "dsp: Q31 MAC saturation", 0.0f);
    mix((uint32_t)d);
    mix((uint32_t)m);
}

int main(void)
{
    fft_twiddles(twiddles, FFT_N);
    design_lowpass_f32(fir_coef, FIR_TAPS, 0.1f);
    static const float amps[] = { 1.0f, 0.5f, 1.5f };
    for (uint32_t r = 0; r < sizeof amps / sizeof amps[0]; r++) {
        make_signal(amps[r]);
        test_fft(amps[r]);
        test_fir(amps[r]);
        if (amps[r] <= 1.0f) /* Q15 holds |x| < 1 only */
            test_fir_q15(amps[r]);
    }
    test_biquad();
    test_window();
    test_saturation();

    sh_puts("dsp: ok");
    sh_put_kv("fft", FFT_N);
    sh_put_kv("fir_taps", FIR_TAPS);
    sh_put_kv("samples", SIG_N);
    sh_put_kx("checksum", checksum);
    sh_putc('\n');
    return 0;
}
