// Teensy-style fixture: static constructors, heap objects deleted through
// base pointers (virtual destructors, sized operator delete from libstdc++),
// a global with a destructor (registered with __aeabi_atexit), SysTick millis()
// and a result line over LPUART1. Exits through semihosting with status 0
// when every check holds.
#include <stdlib.h>
#include <new>
#include "shapes.h"
#include "teensy.h"

Registry registry;

namespace {
struct Banner {
    Banner() { registry.add("main"); }
    ~Banner() { registry.count = -1; }
};
Banner banner;       // non-trivial destructor: __aeabi_atexit at construction
Square global_square(100, 7);
} // namespace

// The heap allocator Teensy's core provides itself (libstdc++'s would throw).
void *operator new(size_t size)
{
    void *p = malloc(size);
    if (!p)
        fixture_fail("out of memory", size);
    return p;
}

extern "C" void __cxa_pure_virtual(void)
{
    fixture_fail("pure virtual call", 0);
}

static void check(bool ok, const char *what, uint32_t detail)
{
    if (!ok)
        fixture_fail(what, detail);
}

int main(void)
{
    check(registry.count == 2, "static constructors", registry.count);
    check(global_square.area() == 49, "global object", global_square.area());

    constexpr int n = 12;
    Shape *shapes[n];
    for (int i = 0; i < n; i++)
        shapes[i] = make_shape(i, i);
    check(Shape::live() == n + 1, "live shapes", Shape::live());
    uint32_t areas = sum_areas(shapes, n);
    uint32_t names = 0;
    for (int i = 0; i < n; i++)
        names = mix<uint32_t>(names, shapes[i]->name()[0]);
    for (int i = 0; i < n; i++)
        delete shapes[i];
    check(Shape::live() == 1, "virtual destructors", Shape::live());
    check(Square::squares_destroyed == 4, "square destructors", Square::squares_destroyed);

    uint32_t start = millis();
    while (millis() < start + 2) {
    }

    console_puts("teensy: ok shapes=");
    console_put_u32(n);
    console_puts(" destroyed_area=");
    console_put_u32(Rect::destroyed_area);
    console_puts(" itcm_banks=");
    console_put_u32((uint32_t)(uintptr_t)_itcm_block_count);
    console_puts(" checksum=");
    console_put_hex(mix<uint32_t>(areas, names));
    console_putc('\n');
    return 0;
}
