/*
 * sdk fixture: the benchmark workload.
 *
 * coremark_like(): list sorting, a small integer matrix product and a number
 * parser state machine, each folded into a CRC-16, in the spirit of CoreMark
 * (our own code, not CoreMark's).
 *
 * workload_run(): 64 straight-line kernels of about 600 bytes each (about 38 KB
 * of hot code, more than the 32 KB instruction cache) called in a ring, so that
 * running them from XIP flash misses the cache on every line of every round:
 * where the code is placed decides how fast this runs.
 *
 * Everything is exact 32-bit integer arithmetic: main.c checks the results
 * against constants computed by compiling this file for the host.
 */
#include <stdint.h>

#include "workload.h"

/* ---- CRC-16 (polynomial 0x1021, bitwise) ------------------------------------ */

uint16_t crc16_update(uint16_t crc, uint32_t value, int bytes)
{
    for (int b = 0; b < bytes; b++) {
        crc ^= (uint16_t)((value >> (8 * b)) & 0xFFu) << 8;
        for (int i = 0; i < 8; i++)
            crc = (crc & 0x8000u) ? (uint16_t)((crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
    }
    return crc;
}

/* ---- linked list ------------------------------------------------------------- */

#define LIST_NODES 48

struct node {
    struct node *next;
    int32_t value;
    uint32_t index;
};

static struct node list_pool[LIST_NODES];

static struct node *list_build(uint32_t seed)
{
    struct node *head = 0;
    for (uint32_t i = 0; i < LIST_NODES; i++) {
        seed = seed * 1103515245u + 12345u;
        list_pool[i].value = (int32_t)(seed >> 8) % 1000;
        list_pool[i].index = i;
        list_pool[i].next = head;
        head = &list_pool[i];
    }
    return head;
}

static struct node *list_merge(struct node *a, struct node *b)
{
    struct node dummy;
    struct node *tail = &dummy;
    while (a && b) {
        if (a->value < b->value || (a->value == b->value && a->index < b->index)) {
            tail->next = a;
            a = a->next;
        } else {
            tail->next = b;
            b = b->next;
        }
        tail = tail->next;
    }
    tail->next = a ? a : b;
    return dummy.next;
}

static struct node *list_sort(struct node *head)
{
    if (!head || !head->next)
        return head;
    struct node *slow = head, *fast = head->next;
    while (fast && fast->next) {
        slow = slow->next;
        fast = fast->next->next;
    }
    struct node *second = slow->next;
    slow->next = 0;
    return list_merge(list_sort(head), list_sort(second));
}

static struct node *list_reverse(struct node *head)
{
    struct node *prev = 0;
    while (head) {
        struct node *next = head->next;
        head->next = prev;
        prev = head;
        head = next;
    }
    return prev;
}

static uint16_t list_bench(uint32_t seed, uint16_t crc)
{
    struct node *head = list_sort(list_build(seed));
    for (struct node *n = head; n; n = n->next)
        crc = crc16_update(crc, (uint32_t)n->value ^ (n->index << 16), 4);
    head = list_reverse(head);
    crc = crc16_update(crc, (uint32_t)head->value, 2);
    return crc;
}

/* ---- matrix ------------------------------------------------------------------ */

#define MAT_N 12

static int16_t mat_a[MAT_N][MAT_N], mat_b[MAT_N][MAT_N];
static int32_t mat_c[MAT_N][MAT_N];

static uint16_t matrix_bench(uint32_t seed, uint16_t crc)
{
    for (int i = 0; i < MAT_N; i++)
        for (int j = 0; j < MAT_N; j++) {
            seed = seed * 1664525u + 1013904223u;
            mat_a[i][j] = (int16_t)((seed >> 16) & 0xFF) - 128;
            mat_b[i][j] = (int16_t)((seed >> 24) & 0x7F) - 64;
        }
    for (int i = 0; i < MAT_N; i++)
        for (int j = 0; j < MAT_N; j++) {
            int32_t acc = 0;
            for (int k = 0; k < MAT_N; k++)
                acc += (int32_t)mat_a[i][k] * mat_b[k][j];
            mat_c[i][j] = acc;
        }
    int32_t sum = 0, max = INT32_MIN;
    for (int i = 0; i < MAT_N; i++)
        for (int j = 0; j < MAT_N; j++) {
            sum += mat_c[i][j];
            if (mat_c[i][j] > max)
                max = mat_c[i][j];
        }
    crc = crc16_update(crc, (uint32_t)sum, 4);
    return crc16_update(crc, (uint32_t)max, 4);
}

/* ---- state machine: classify comma-separated tokens --------------------------- */

enum token_state { ST_START, ST_INT, ST_FLOAT, ST_EXP, ST_INVALID, ST_COUNT };

static char sm_text[160];

static void sm_fill(uint32_t seed)
{
    static const char *const pieces[] = {"123", "-4.5", "6e7", "+0.25", "x1", "98", "1.e", "7E-2"};
    uint32_t pos = 0;
    while (pos + 8 < sizeof sm_text) {
        seed = seed * 22695477u + 1u;
        const char *p = pieces[(seed >> 16) & 7u];
        while (*p)
            sm_text[pos++] = *p++;
        sm_text[pos++] = ',';
    }
    sm_text[pos] = 0;
}

static enum token_state sm_step(enum token_state s, char c)
{
    int digit = c >= '0' && c <= '9';
    switch (s) {
    case ST_START:
        return (digit || c == '+' || c == '-') ? ST_INT : (c == '.' ? ST_FLOAT : ST_INVALID);
    case ST_INT:
        return digit ? ST_INT : (c == '.' ? ST_FLOAT : ((c == 'e' || c == 'E') ? ST_EXP : ST_INVALID));
    case ST_FLOAT:
        return digit ? ST_FLOAT : ((c == 'e' || c == 'E') ? ST_EXP : ST_INVALID);
    case ST_EXP:
        return (digit || c == '-' || c == '+') ? ST_EXP : ST_INVALID;
    default:
        return ST_INVALID;
    }
}

static uint16_t state_bench(uint32_t seed, uint16_t crc)
{
    uint32_t counts[ST_COUNT] = {0};
    sm_fill(seed);
    enum token_state s = ST_START;
    for (const char *p = sm_text; *p; p++) {
        if (*p == ',') {
            counts[s]++;
            s = ST_START;
        } else {
            s = sm_step(s, *p);
        }
    }
    for (int i = 0; i < ST_COUNT; i++)
        crc = crc16_update(crc, counts[i], 2);
    return crc;
}

uint32_t coremark_like(uint32_t seed, uint32_t iterations)
{
    uint16_t crc = 0;
    for (uint32_t i = 0; i < iterations; i++) {
        crc = list_bench(seed + i, crc);
        crc = matrix_bench(seed ^ (i * 0x9E3779B9u), crc);
        crc = state_bench(seed + 7u * i, crc);
    }
    return crc;
}

/* ---- the cache-thrashing ring of kernels ----------------------------------- */

#define STEP(k, i) x = (x ^ (x >> ((i) % 13u + 3u))) * 0x9E3779B1u + ((k) * 0x10001u + (i));
#define STEP8(k, i) STEP(k, i) STEP(k, i + 1) STEP(k, i + 2) STEP(k, i + 3) \
                    STEP(k, i + 4) STEP(k, i + 5) STEP(k, i + 6) STEP(k, i + 7)
#define KERNEL(k)                                                                  \
    __attribute__((noinline)) uint32_t kernel_##k(uint32_t x)                      \
    {                                                                              \
        STEP8(k, 0) STEP8(k, 8) STEP8(k, 16) STEP8(k, 24) STEP8(k, 32) STEP8(k, 40) \
        return x;                                                                  \
    }
#define KERNEL8(t) KERNEL(t##0) KERNEL(t##1) KERNEL(t##2) KERNEL(t##3) \
                   KERNEL(t##4) KERNEL(t##5) KERNEL(t##6) KERNEL(t##7)

KERNEL8(1) KERNEL8(2) KERNEL8(3) KERNEL8(4) KERNEL8(5) KERNEL8(6) KERNEL8(7) KERNEL8(8)

#define CALL(k) x = kernel_##k(x);
#define CALL8(t) CALL(t##0) CALL(t##1) CALL(t##2) CALL(t##3) \
                 CALL(t##4) CALL(t##5) CALL(t##6) CALL(t##7)

__attribute__((noinline)) static uint32_t kernel_ring(uint32_t x)
{
    CALL8(1) CALL8(2) CALL8(3) CALL8(4) CALL8(5) CALL8(6) CALL8(7) CALL8(8)
    return x;
}

uint32_t workload_run(uint32_t rounds)
{
    uint32_t x = 0x12345678u;
    for (uint32_t r = 0; r < rounds; r++)
        x = kernel_ring(x + r);
    return x;
}
