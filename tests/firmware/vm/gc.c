/*
 * vm fixture: a first-fit free-list heap with a mark-sweep collector.
 * Roots are the interpreter's value stack and its globals dict.
 */
#include "vm.h"

#define HEAP_WORDS 6144u
#define MARK_STACK 128u

typedef struct FreeBlock {
    Hdr h;
    struct FreeBlock *next;
} FreeBlock;

static uint32_t heap[HEAP_WORDS];
static FreeBlock *free_list;
static Value *root_stack;
static Value **root_sp;
static Value *root_globals;
static uint32_t runs;
static uint32_t freed_total;

static Hdr *mark_stack[MARK_STACK];
static uint32_t mark_top;

void heap_init(void)
{
    free_list = (FreeBlock *)heap;
    free_list->h.words = (uint16_t)HEAP_WORDS;
    free_list->h.type = T_FREE;
    free_list->h.mark = 0;
    free_list->next = 0;
}

void gc_set_roots(Value *stack, Value **sp, Value *globals)
{
    root_stack = stack;
    root_sp = sp;
    root_globals = globals;
}

static void *alloc_from_free_list(uint32_t words, uint8_t type)
{
    FreeBlock **link = &free_list;
    for (FreeBlock *b = free_list; b; link = &b->next, b = b->next) {
        uint32_t have = b->h.words;
        if (have < words)
            continue;
        if (have - words >= 2u) {
            FreeBlock *rest = (FreeBlock *)((uint32_t *)b + words);
            rest->h.words = (uint16_t)(have - words);
            rest->h.type = T_FREE;
            rest->h.mark = 0;
            rest->next = b->next;
            *link = rest;
        } else {
            words = have;
            *link = b->next;
        }
        uint32_t *p = (uint32_t *)b;
        for (uint32_t i = 1; i < words; i++)
            p[i] = 0;
        b->h.words = (uint16_t)words;
        b->h.type = type;
        b->h.mark = 0;
        return b;
    }
    return 0;
}

void *heap_alloc(uint32_t words, uint8_t type)
{
    if (words < 2u)
        words = 2u;
    void *p = alloc_from_free_list(words, type);
    if (!p) {
        gc_collect();
        p = alloc_from_free_list(words, type);
        if (!p)
            vm_error_oom(words);
    }
    return p;
}

static void mark_value(Value v)
{
    if (!IS_OBJ(v))
        return;
    Hdr *h = (Hdr *)(uintptr_t)v;
    if (h->mark)
        return;
    h->mark = 1;
    if (mark_top == MARK_STACK)
        vm_error_stack("GC mark stack");
    mark_stack[mark_top++] = h;
}

static void mark_children(Hdr *h)
{
    switch (h->type) {
    case T_ARRAY: {
        Array *a = (Array *)h;
        for (uint32_t i = 0; i < a->n; i++)
            mark_value(a->v[i]);
        break;
    }
    case T_LIST:
        mark_value((Value)(uintptr_t)((List *)h)->items);
        break;
    case T_DICT:
        mark_value((Value)(uintptr_t)((Dict *)h)->slots);
        break;
    default:
        break;
    }
}

static void sweep(void)
{
    FreeBlock *head = 0;
    FreeBlock **tail = &head;
    uint32_t *p = heap;
    uint32_t *end = heap + HEAP_WORDS;
    while (p < end) {
        Hdr *h = (Hdr *)p;
        uint32_t words = h->words;
        if (h->type != T_FREE && h->mark) {
            h->mark = 0;
            p += words;
            continue;
        }
        if (h->type != T_FREE)
            freed_total++;
        /* Coalesce this block with every following free or dead block. */
        uint32_t *q = p + words;
        while (q < end) {
            Hdr *n = (Hdr *)q;
            if (n->type != T_FREE && n->mark)
                break;
            if (n->type != T_FREE)
                freed_total++;
            q += n->words;
        }
        FreeBlock *b = (FreeBlock *)p;
        b->h.words = (uint16_t)(q - p);
        b->h.type = T_FREE;
        b->h.mark = 0;
        b->next = 0;
        *tail = b;
        tail = &b->next;
        p = q;
    }
    free_list = head;
}

void gc_collect(void)
{
    runs++;
    mark_top = 0;
    mark_value(*root_globals);
    for (Value *v = root_stack; v < *root_sp; v++) {
        mark_value(*v);
        while (mark_top)
            mark_children(mark_stack[--mark_top]);
    }
    while (mark_top)
        mark_children(mark_stack[--mark_top]);
    sweep();
}

uint32_t gc_runs(void)
{
    return runs;
}

uint32_t gc_freed_total(void)
{
    return freed_total;
}
