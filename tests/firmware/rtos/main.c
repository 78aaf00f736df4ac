/*
 * rtos fixture: five tasks under the preemptive kernel.
 *  - two integer tasks bump a shared counter with LDREX/STREX atomics and hash
 *    their own work;
 *  - two floating-point tasks run long single/double precision recurrences that
 *    keep values in many FP registers across preemption;
 *  - a supervisor task waits for them and checks every result against a
 *    reference computed by main() before the scheduler started.
 * The results do not depend on where the time slices fall.
 */
#include "hotlink_fw.h"
#include "kernel.h"

#define INT_ROUNDS 3000u
#define FP_ROUNDS 1500u
#define YIELD_EVERY 97u
#define TICK_CYCLES 4000u

static volatile uint32_t shared_counter;
static uint32_t int_result[2], int_reference[2];
static uint64_t fp_result[2], fp_reference[2];

static uint32_t int_work(uint32_t seed, int yield)
{
    uint32_t h = seed;
    for (uint32_t i = 0; i < INT_ROUNDS; i++) {
        h = (h ^ i) * 0x9E3779B1u;
        h ^= h >> 15;
        if (yield) {
            __atomic_fetch_add(&shared_counter, (i & 3u) + 1u, __ATOMIC_RELAXED);
            if (i % YIELD_EVERY == 0)
                task_yield();
        }
    }
    return h;
}

/* Mixed float/double recurrences; the many live values spread over s0-s31/d0-d15. */
static uint64_t fp_work(uint32_t seed, int yield)
{
    float a = 1.0f + (float)seed * 0.125f, b = 0.5f, c = 0.25f, d = 2.0f;
    double x = (double)seed, y = 1.0, z = 0.001, w = 3.0;
    for (uint32_t i = 0; i < FP_ROUNDS; i++) {
        a = __builtin_fmaf(a, 0.999f, b * 0.001f);
        b = b * 0.75f + c * 0.25f + (float)(i & 7u);
        c = __builtin_sqrtf(c * c + 1.0f) - 0.5f;
        d = d * 0.5f + a / (1.0f + b * b);
        x = __builtin_fma(x, 0.9999, y * 1e-4);
        y = y * 0.5 + z + (double)d;
        z = z * 0.999 + 1e-6 * (double)i;
        w = w - (w * w - 2.0) / (2.0 * w) + (double)c * 1e-9;
        if (yield && i % YIELD_EVERY == 0)
            task_yield();
    }
    union { double d; uint64_t u; } r = { x + y + z + w + (double)(a + b + c + d) };
    return r.u;
}

static void int_task(uint32_t which)
{
    int_result[which] = int_work(0x1234u + which, 1);
    task_exit();
}

static void fp_task(uint32_t which)
{
    fp_result[which] = fp_work(7u + which, 1);
    task_exit();
}

static void check(int ok, const char *what, uint32_t detail)
{
    if (!ok)
        fw_fail(what, detail);
}

static void supervisor_task(uint32_t workers)
{
    for (;;) {
        uint32_t done = 0;
        for (uint32_t i = 0; i < workers; i++)
            done += kernel_task(i)->done;
        if (done == workers)
            break;
        task_yield();
    }
    /* QEMU's SysTick runs on host time: give it a bounded while to tick if the work
     * finished first, so the interrupt path is always exercised. */
    for (uint32_t spin = 0; kernel_ticks() < 2u && spin < 20000000u; spin++)
        __asm__ volatile("" ::: "memory");
    uint32_t per_task = 0;
    for (uint32_t i = 0; i < INT_ROUNDS; i++)
        per_task += (i & 3u) + 1u;
    for (uint32_t i = 0; i < 2u; i++) {
        check(int_result[i] == int_reference[i], "rtos: integer task result", i);
        check(fp_result[i] == fp_reference[i], "rtos: floating-point task result", i);
    }
    check(shared_counter == 2u * per_task, "rtos: atomic counter", shared_counter);
    check(kernel_fp_saves() > 0, "rtos: no FP context was ever saved", 0);
    check(kernel_ticks() >= 2u, "rtos: SysTick never fired", kernel_ticks());
    for (uint32_t i = 0; i < workers; i++)
        check(kernel_task(i)->switches_in > 1u, "rtos: a task ran without being switched out", i);

    uint32_t checksum = int_result[0] ^ int_result[1] * 3u ^ (uint32_t)fp_result[0] ^
                        (uint32_t)(fp_result[1] >> 32) ^ shared_counter;
    sh_puts("rtos: ok");
    sh_put_kv("tasks", kernel_task_count());
    sh_put_kv("counter", shared_counter);
    sh_put_kx("checksum", checksum);
    sh_putc('\n');
    sh_exit(0);
}

int main(void)
{
    for (uint32_t i = 0; i < 2u; i++) {
        int_reference[i] = int_work(0x1234u + i, 0);
        fp_reference[i] = fp_work(7u + i, 0);
    }
    kernel_add_task(int_task, 0, "int0");
    kernel_add_task(fp_task, 0, "fp0");
    kernel_add_task(int_task, 1, "int1");
    kernel_add_task(fp_task, 1, "fp1");
    kernel_add_task(supervisor_task, 4, "supervisor");
    kernel_start(TICK_CYCLES);
}
