/* sdk fixture: results of the workload, printed by host_expect.c (see there). */
#define EXPECT_COREMARK_CRC 0xc0a1u
#define EXPECT_KERNEL_RING 0x553f096bu
