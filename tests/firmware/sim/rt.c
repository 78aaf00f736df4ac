/* Minimal runtime for the simulator's test programs: vector table, reset (FPU on, .data and
   .itcm copied from flash, .bss zeroed), semihosting output and exit, a heap for newlib. */
#include <stddef.h>
#include <stdint.h>
#include "rt.h"

extern uint32_t __data_start[], __data_end[], __data_load[], __bss_start[], __bss_end[];
extern uint32_t __itcm_start[], __itcm_end[], __itcm_load[], __stack_top[], __heap_start[];
int main(void);
void reset(void);

__attribute__((weak)) void handler_svc(void) { sh_exit(90); }
__attribute__((weak)) void handler_pendsv(void) { sh_exit(91); }
__attribute__((weak)) void handler_systick(void) { sh_exit(92); }
__attribute__((weak)) void handler_fault(void) { sh_exit(93); }
__attribute__((weak)) void handler_irq(void) { sh_exit(94); }

__attribute__((section(".vectors"), used)) void (*const vectors[32])(void) = {
    (void (*)(void))__stack_top, reset, handler_fault, handler_fault, handler_fault,
    handler_fault, handler_fault, 0, 0, 0, 0, handler_svc, 0, 0, handler_pendsv,
    handler_systick, handler_irq, handler_irq, handler_irq, handler_irq,
};

long sh_call(long op, const void *arg)
{
    register long r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void sh_puts(const char *s) { sh_call(0x04, s); }

void sh_write(const void *p, size_t n)
{
    const uintptr_t block[3] = {1, (uintptr_t)p, n};
    sh_call(0x05, block);
}

void sh_exit(int status)
{
    const uintptr_t block[2] = {0x20026, (uintptr_t)status};
    sh_call(0x20, block);
    for (;;) {
    }
}

void *_sbrk(ptrdiff_t incr)
{
    static char *brk = (char *)__heap_start;
    char *old = brk;
    brk += incr;
    return old;
}

void reset(void)
{
    *(volatile uint32_t *)0xE000ED88 |= 0xFu << 20; /* CPACR: CP10/CP11 full access */
    __asm__ volatile("dsb\n\tisb");
    for (uint32_t *s = __data_load, *d = __data_start; d < __data_end;)
        *d++ = *s++;
    for (uint32_t *s = __itcm_load, *d = __itcm_start; d < __itcm_end;)
        *d++ = *s++;
    for (uint32_t *d = __bss_start; d < __bss_end;)
        *d++ = 0;
    sh_exit(main());
}

/* newlib's reentrant syscall layer, reached from abort() and stdio; the tests only need exit. */
void _exit(int status) { sh_exit(status); }
int _kill(int pid, int sig) { (void)pid; sh_exit(128 + sig); }
int _getpid(void) { return 1; }
int _write(int fd, const char *p, int n) { (void)fd; sh_write(p, (size_t)n); return n; }
int _close(int fd) { (void)fd; return -1; }
int _read(int fd, char *p, int n) { (void)fd; (void)p; (void)n; return 0; }
int _lseek(int fd, int off, int whence) { (void)fd; (void)off; (void)whence; return 0; }
int _isatty(int fd) { (void)fd; return 1; }
struct stat;
int _fstat(int fd, struct stat *st) { (void)fd; (void)st; return -1; }
