/*
 * A minimal Arm semihosting layer (BKPT 0xAB), written for the fixtures so
 * that no newlib syscall stubs (rdimon) are linked in.
 */
#include "hotlink_fw.h"

enum {
    SYS_WRITEC = 0x03,
    SYS_WRITE0 = 0x04,
    SYS_EXIT = 0x18,
    SYS_EXIT_EXTENDED = 0x20,
};

#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

static inline uint32_t semihost_call(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void sh_putc(char c)
{
    semihost_call(SYS_WRITEC, &c);
}

void sh_puts(const char *s)
{
    semihost_call(SYS_WRITE0, s);
}

void sh_put_u32(uint32_t v)
{
    char buf[11];
    int i = 10;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    sh_puts(&buf[i]);
}

void sh_put_i32(int32_t v)
{
    if (v < 0) {
        sh_putc('-');
        sh_put_u32(0u - (uint32_t)v);
    } else {
        sh_put_u32((uint32_t)v);
    }
}

void sh_put_hex(uint32_t v)
{
    static const char digits[] = "0123456789abcdef";
    char buf[11];
    buf[0] = '0';
    buf[1] = 'x';
    for (int i = 0; i < 8; i++)
        buf[2 + i] = digits[(v >> (28 - 4 * i)) & 0xfu];
    buf[10] = 0;
    sh_puts(buf);
}

void sh_put_kv(const char *key, uint32_t v)
{
    sh_putc(' ');
    sh_puts(key);
    sh_putc('=');
    sh_put_u32(v);
}

void sh_put_kx(const char *key, uint32_t v)
{
    sh_putc(' ');
    sh_puts(key);
    sh_putc('=');
    sh_put_hex(v);
}

void sh_exit(int status)
{
    /* SYS_EXIT_EXTENDED carries the status; plain SYS_EXIT is the fallback. */
    uint32_t block[2] = { ADP_STOPPED_APPLICATION_EXIT, (uint32_t)status };
    semihost_call(SYS_EXIT_EXTENDED, block);
    semihost_call(SYS_EXIT, (const void *)(uintptr_t)ADP_STOPPED_APPLICATION_EXIT);
    for (;;)
        __asm__ volatile("wfi");
}

void fw_fail(const char *what, uint32_t detail)
{
    sh_puts("FAIL: ");
    sh_puts(what);
    sh_put_kx("detail", detail);
    sh_putc('\n');
    sh_exit(1);
}
