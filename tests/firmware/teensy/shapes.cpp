// Teensy-style fixture: shape factory (a second user of every inline in shapes.h).
#include "shapes.h"

namespace {
struct RegisterShapes {
    RegisterShapes() { registry.add("shapes"); }
};
RegisterShapes register_shapes;
} // namespace

// Kept in flash on purpose (Teensy's FLASHMEM): a cold factory.
__attribute__((section(".flashmem.make_shape"))) Shape *make_shape(uint32_t kind, uint32_t id)
{
    switch (kind % 3) {
    case 0:
        return new Rect(id, 3 + id, 4 + id);
    case 1:
        return new Square(id, 5 + id);
    default:
        return new Triangle(id, 6 + id, 8 + id);
    }
}

uint32_t sum_areas(Shape *const *shapes, int n)
{
    uint32_t acc = 0;
    for (int i = 0; i < n; i++)
        acc = mix<uint32_t>(acc, shapes[i]->area());
    return acc;
}
