/*
 * vm fixture: interned strings (an open-addressing table over a character
 * pool), growable lists and open-addressing dicts keyed by ints or strings.
 */
#include <string.h>
#include "vm.h"

#define POOL_CHARS 8192u
#define MAX_QSTRS 512u
#define QTABLE 1024u /* power of two, > 2 * MAX_QSTRS */

typedef struct Qstr {
    uint16_t off;
    uint16_t len;
    uint32_t hash;
} Qstr;

static char pool[POOL_CHARS];
static uint32_t pool_used;
static Qstr qstrs[MAX_QSTRS];
static uint32_t nqstrs;
static uint16_t qtable[QTABLE]; /* qstr index + 1, 0 = empty */

static uint32_t hash_bytes(const char *s, uint32_t len)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < len; i++) {
        h ^= (uint8_t)s[i];
        h *= 16777619u;
    }
    return h;
}

uint32_t intern(const char *s, uint32_t len)
{
    uint32_t h = hash_bytes(s, len);
    uint32_t slot = h & (QTABLE - 1u);
    for (;;) {
        uint32_t e = qtable[slot];
        if (e == 0)
            break;
        const Qstr *q = &qstrs[e - 1u];
        if (q->hash == h && q->len == len && memcmp(pool + q->off, s, len) == 0)
            return e - 1u;
        slot = (slot + 1u) & (QTABLE - 1u);
    }
    if (nqstrs == MAX_QSTRS || pool_used + len > POOL_CHARS)
        vm_error_intern_full(len);
    Qstr *q = &qstrs[nqstrs];
    q->off = (uint16_t)pool_used;
    q->len = (uint16_t)len;
    q->hash = h;
    memcpy(pool + pool_used, s, len);
    pool_used += len;
    qtable[slot] = (uint16_t)(nqstrs + 1u);
    return nqstrs++;
}

uint32_t intern_cstr(const char *s)
{
    return intern(s, (uint32_t)strlen(s));
}

const char *qstr_chars(uint32_t q, uint32_t *len)
{
    *len = qstrs[q].len;
    return pool + qstrs[q].off;
}

uint32_t qstr_hash(uint32_t q)
{
    return qstrs[q].hash;
}

uint32_t intern_count(void)
{
    return nqstrs;
}

static Array *array_new(uint32_t n)
{
    Array *a = heap_alloc(2u + n, T_ARRAY);
    a->n = n;
    return a;
}

Value list_new(void)
{
    List *l = heap_alloc(3u, T_LIST);
    return (Value)(uintptr_t)l;
}

static List *as_list(Value v, const char *op)
{
    if (!IS_OBJ(v) || ((Hdr *)(uintptr_t)v)->type != T_LIST)
        vm_error_type(op, v, V_NONE);
    return (List *)(uintptr_t)v;
}

void list_append(Value list, Value v)
{
    List *l = as_list(list, "append");
    uint32_t cap = l->items ? l->items->n : 0u;
    if (l->len == cap) {
        uint32_t ncap = cap ? cap * 2u : 4u;
        Array *a = array_new(ncap); /* may collect: list is rooted by the caller */
        if (cap)
            memcpy(a->v, l->items->v, cap * sizeof(Value));
        l->items = a;
    }
    l->items->v[l->len++] = v;
}

static uint32_t list_index(List *l, Value idx)
{
    if (!IS_INT(idx))
        vm_error_type("subscript", (Value)(uintptr_t)l, idx);
    int32_t i = INT_OF(idx);
    if (i < 0)
        i += (int32_t)l->len;
    if (i < 0 || (uint32_t)i >= l->len)
        vm_error_index(INT_OF(idx), l->len);
    return (uint32_t)i;
}

Value list_get(Value list, Value idx)
{
    List *l = as_list(list, "subscript");
    return l->items->v[list_index(l, idx)];
}

void list_set(Value list, Value idx, Value v)
{
    List *l = as_list(list, "store subscript");
    l->items->v[list_index(l, idx)] = v;
}

uint32_t list_len(Value list)
{
    return as_list(list, "len")->len;
}

static uint32_t value_hash(Value k)
{
    if (IS_STR(k))
        return qstr_hash(STR_OF(k));
    if (IS_INT(k))
        return k * 2654435761u;
    vm_error_type("hash", k, V_NONE);
}

Value dict_new(void)
{
    Dict *d = heap_alloc(4u, T_DICT);
    Value dv = (Value)(uintptr_t)d;
    d->cap = 0;
    return dv;
}

static Dict *as_dict(Value v, const char *op)
{
    if (!IS_OBJ(v) || ((Hdr *)(uintptr_t)v)->type != T_DICT)
        vm_error_type(op, v, V_NONE);
    return (Dict *)(uintptr_t)v;
}

/* Slot index of key, or of the empty slot where it would go. */
static uint32_t dict_probe(const Dict *d, Value key, uint32_t h)
{
    uint32_t mask = d->cap - 1u;
    uint32_t i = h & mask;
    for (;;) {
        Value k = d->slots->v[2u * i];
        if (k == V_NONE || k == key)
            return i;
        i = (i + 1u) & mask;
    }
}

static void dict_grow(Dict *d)
{
    uint32_t old_cap = d->cap;
    uint32_t ncap = old_cap ? old_cap * 2u : 8u;
    Array *a = array_new(2u * ncap); /* may collect: the dict is rooted by the caller */
    Array *old = d->slots;
    d->slots = a;
    d->cap = ncap;
    for (uint32_t i = 0; i < old_cap; i++) {
        Value k = old->v[2u * i];
        if (k == V_NONE)
            continue;
        uint32_t j = dict_probe(d, k, value_hash(k));
        a->v[2u * j] = k;
        a->v[2u * j + 1u] = old->v[2u * i + 1u];
    }
}

void dict_set(Value dict, Value key, Value v)
{
    Dict *d = as_dict(dict, "store item");
    uint32_t h = value_hash(key);
    if (4u * (d->count + 1u) > 3u * d->cap)
        dict_grow(d);
    uint32_t i = dict_probe(d, key, h);
    if (d->slots->v[2u * i] == V_NONE) {
        d->slots->v[2u * i] = key;
        d->count++;
    }
    d->slots->v[2u * i + 1u] = v;
}

int dict_lookup(Value dict, Value key, Value *out)
{
    Dict *d = as_dict(dict, "item");
    if (d->cap == 0)
        return 0;
    uint32_t i = dict_probe(d, key, value_hash(key));
    if (d->slots->v[2u * i] == V_NONE)
        return 0;
    *out = d->slots->v[2u * i + 1u];
    return 1;
}

Value dict_get(Value dict, Value key)
{
    Value v;
    if (!dict_lookup(dict, key, &v))
        vm_error_key(key);
    return v;
}

Value str_cat_int(Value s, Value i)
{
    if (!IS_STR(s) || !IS_INT(i))
        vm_error_type("+", s, i);
    char buf[64];
    uint32_t len;
    const char *chars = qstr_chars(STR_OF(s), &len);
    if (len > sizeof buf - 12u)
        vm_error_intern_full(len);
    memcpy(buf, chars, len);
    int32_t n = INT_OF(i);
    uint32_t u = n < 0 ? 0u - (uint32_t)n : (uint32_t)n;
    char digits[11];
    uint32_t nd = 0;
    do {
        digits[nd++] = (char)('0' + u % 10u);
        u /= 10u;
    } while (u);
    if (n < 0)
        buf[len++] = '-';
    while (nd)
        buf[len++] = digits[--nd];
    return MK_STR(intern(buf, len));
}
