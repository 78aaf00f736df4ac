// Teensy-style fixture: a small class hierarchy with virtual destructors.
//
// Everything defined in this header is inline, so GCC emits it in COMDAT
// groups (vtables, the D0/D1/D2 destructors under their D5 group signature,
// template instances) in every object that uses it; the linker keeps the first
// copy of each group and discards the others.
#ifndef TEENSY_SHAPES_H
#define TEENSY_SHAPES_H

#include <stdint.h>

class Shape {
public:
    explicit Shape(uint32_t id) : id_(id) { ++live_; }
    virtual ~Shape() { --live_; }
    virtual uint32_t area() const = 0;
    virtual const char *name() const = 0;
    uint32_t id() const { return id_; }
    static int live() { return live_; }

private:
    uint32_t id_;
    static inline int live_ = 0;
};

class Rect : public Shape {
public:
    Rect(uint32_t id, uint32_t w, uint32_t h) : Shape(id), w_(w), h_(h) {}
    ~Rect() override { destroyed_area += area(); }
    uint32_t area() const override { return w_ * h_; }
    const char *name() const override { return "rect"; }
    static inline uint32_t destroyed_area = 0;

private:
    uint32_t w_, h_;
};

class Square final : public Rect {
public:
    Square(uint32_t id, uint32_t side) : Rect(id, side, side) {}
    ~Square() override { ++squares_destroyed; }
    const char *name() const override { return "square"; }
    static inline uint32_t squares_destroyed = 0;
};

class Triangle : public Shape {
public:
    Triangle(uint32_t id, uint32_t base, uint32_t height) : Shape(id), b_(base), h_(height) {}
    ~Triangle() override = default;
    uint32_t area() const override { return b_ * h_ / 2; }
    const char *name() const override { return "triangle"; }

private:
    uint32_t b_, h_;
};

template <typename T> T mix(T acc, T v)
{
    acc ^= v + static_cast<T>(0x9e3779b9u) + (acc << 6) + (acc >> 2);
    return acc;
}

// A registry filled by static constructors in several translation units.
struct Registry {
    static constexpr int capacity = 8;
    const char *names[capacity];
    int count;
    void add(const char *n)
    {
        if (count < capacity)
            names[count++] = n;
    }
};
extern Registry registry;

// shapes.cpp
Shape *make_shape(uint32_t kind, uint32_t id);
uint32_t sum_areas(Shape *const *shapes, int n);

#endif
