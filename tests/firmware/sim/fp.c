/* FPv5 single and double: libm, fused multiply-add, conversions, rounding, min/max, sqrt;
   results printed as bit patterns so any difference shows. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "rt.h"

static uint32_t fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static uint64_t dbits(double f) { uint64_t u; memcpy(&u, &f, 8); return u; }

volatile float fin[] = {0.5f, -1.25f, 3.0e7f, 1.0e-40f, 2.5f, -0.0f, 7.75f, 100.0f};
volatile double din[] = {0.1, -2.5, 1.0e300, 3.5, 1.0e-310, 12345.678};

int main(void)
{
    char buf[160];
    uint32_t hf = 0;
    uint64_t hd = 0;
    for (int i = 0; i < 8; i++) {
        float a = fin[i], b = fin[(i + 3) % 8];
        float r[] = {a + b, a - b, a * b, a / (b + 1.0f), fmaf(a, b, 1.0f), sqrtf(fabsf(a)),
                     fminf(a, b), fmaxf(a, b), rintf(a), floorf(a), ceilf(a), truncf(a),
                     roundf(a), sinf(a), expf(a / 1e7f), logf(fabsf(a) + 1.0f), (float)(int)a,
                     (float)(unsigned)(a > 0 ? a : 0), a > b ? a : b};
        for (unsigned k = 0; k < sizeof r / sizeof r[0]; k++)
            hf = hf * 31 + fbits(r[k]);
    }
    for (int i = 0; i < 6; i++) {
        double a = din[i], b = din[(i + 1) % 6];
        double r[] = {a + b, a - b, a * b, a / b, fma(a, b, 0.5), sqrt(fabs(a)), fmin(a, b),
                      fmax(a, b), rint(a), floor(a), cos(a / 1e299), exp(a / 1e300),
                      log(fabs(a)), pow(fabs(a), 0.3), (double)(long long)(a / 1e290),
                      (double)(float)a, atan2(a, b)};
        for (unsigned k = 0; k < sizeof r / sizeof r[0]; k++)
            hd = hd * 1000003 + dbits(r[k]);
    }
    snprintf(buf, sizeof buf, "fp: f=%08lx d=%016llx pi=%.12f\n", (unsigned long)hf,
             (unsigned long long)hd, 4.0 * atan(1.0));
    sh_puts(buf);
    return 0;
}
