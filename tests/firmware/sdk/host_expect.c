/*
 * Prints the constants main.c checks: the workload compiled for the host.
 *   cc -O1 -I. host_expect.c workload.c -o /tmp/expect && /tmp/expect
 */
#include <stdio.h>

#include "workload.h"

int main(void)
{
    printf("#define EXPECT_COREMARK_CRC 0x%04xu\n", (unsigned)coremark_like(WORKLOAD_SEED, COREMARK_ITERATIONS));
    printf("#define EXPECT_KERNEL_RING 0x%08xu\n", (unsigned)workload_run(KERNEL_ROUNDS));
    return 0;
}
