/*
 * A plain newlib program that ends by calling exit() (as test suites such as
 * Embench and CoreMark do), linked through the gcc driver with the
 * toolchain's crt0/crti/crtbegin/crtend/crtn, --specs=nano.specs
 * --specs=nosys.specs and --gc-sections.
 *
 * crt0 zeroes .bss, registers __libc_fini_array with atexit, runs the
 * constructors and main. main calls exit(0) from a nested call; exit runs the
 * atexit handler, then the destructors, then _exit, which this program
 * provides (semihosting exit) instead of libnosys's endless loop. The result
 * line is printed by the destructor, so it appears only if the whole exit
 * path ran in the right order.
 */
#include <stdlib.h>
#include <string.h>
#include "hotlink_fw.h"

static int constructed;
static int handler_ran;
static int destructed;
static uint32_t checksum;

__attribute__((constructor)) static void construct(void)
{
    constructed++;
}

static void at_exit_handler(void)
{
    /* Runs before the destructors (registered after crt0's __libc_fini_array). */
    if (destructed == 0)
        handler_ran++;
}

__attribute__((destructor)) static void destruct(void)
{
    destructed++;
    if (constructed != 1 || handler_ran != 1)
        fw_fail("exit order", (uint32_t)(constructed << 8 | handler_ran));
    sh_puts("newlib-exit: ok");
    sh_put_kx("checksum", checksum);
    sh_putc('\n');
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

__attribute__((noinline)) static void finish(void)
{
    exit(0);
}

int main(void)
{
    static uint32_t values[64];
    uint32_t x = 12345;
    for (int i = 0; i < 64; i++) {
        x = x * 1103515245u + 12345u;
        values[i] = x >> 8;
    }
    qsort(values, 64, sizeof values[0], cmp_u32);
    for (int i = 1; i < 64; i++) {
        if (values[i - 1] > values[i])
            fw_fail("qsort", (uint32_t)i);
    }
    char text[32];
    strcpy(text, "0x7fff1234");
    checksum = values[0] ^ values[63] ^ (uint32_t)strtoul(text, NULL, 16) ^ (uint32_t)strlen(text);
    if (atexit(at_exit_handler) != 0)
        fw_fail("atexit", 0);
    finish();
    return 1;
}

/* Replaces libnosys's _exit (an endless loop): exit status to the debugger. */
void _exit(int status)
{
    sh_exit(status == 0 && destructed == 1 ? 0 : (status ? status : 1));
}
