/*
 * vm fixture: a small stack-based bytecode interpreter with interned strings,
 * lists, dicts and a mark-sweep garbage collector.  It stands for the
 * MicroPython/CircuitPython runtimes: a hot dispatch loop, hash lookups, an
 * allocator with GC, and many cold error paths.
 */
#ifndef VM_H
#define VM_H

#include <stdint.h>

/* Tagged values: small ints end in 1, interned strings in 10, heap objects in 00. */
typedef uint32_t Value;
#define V_NONE 0u
#define IS_INT(v) (((v) & 1u) != 0u)
#define MK_INT(i) ((((uint32_t)(i)) << 1) | 1u)
#define INT_OF(v) (((int32_t)(v)) >> 1)
#define IS_STR(v) (((v) & 3u) == 2u)
#define MK_STR(q) ((((uint32_t)(q)) << 2) | 2u)
#define STR_OF(v) ((v) >> 2)
#define IS_OBJ(v) ((v) != V_NONE && ((v) & 3u) == 0u)

enum obj_type { T_FREE = 0, T_ARRAY, T_LIST, T_DICT };

typedef struct Hdr {
    uint16_t words; /* block size in words, header included */
    uint8_t type;
    uint8_t mark;
} Hdr;

typedef struct Array {
    Hdr h;
    uint32_t n;
    Value v[];
} Array;

typedef struct List {
    Hdr h;
    uint32_t len;
    Array *items;
} List;

typedef struct Dict {
    Hdr h;
    uint32_t count;
    uint32_t cap; /* power of two; slots holds cap key/value pairs */
    Array *slots;
} Dict;

/* Interned strings (obj.c). */
uint32_t intern(const char *s, uint32_t len);
uint32_t intern_cstr(const char *s);
const char *qstr_chars(uint32_t q, uint32_t *len);
uint32_t qstr_hash(uint32_t q);
uint32_t intern_count(void);

/* Heap and GC (gc.c). */
void heap_init(void);
void *heap_alloc(uint32_t words, uint8_t type);
void gc_collect(void);
void gc_set_roots(Value *stack, Value **sp, Value *globals);
uint32_t gc_runs(void);
uint32_t gc_freed_total(void);

/* Objects (obj.c). */
Value list_new(void);
void list_append(Value list, Value v);
Value list_get(Value list, Value idx);
void list_set(Value list, Value idx, Value v);
uint32_t list_len(Value list);
Value dict_new(void);
void dict_set(Value dict, Value key, Value v);
int dict_lookup(Value dict, Value key, Value *out);
Value dict_get(Value dict, Value key);
Value str_cat_int(Value s, Value i);

/* Interpreter (interp.c). */
enum opcode {
    OP_HALT,
    OP_PUSH_INT,    /* i16 */
    OP_PUSH_STR,    /* u16 qstr */
    OP_PUSH_NONE,
    OP_POP,
    OP_DUP,
    OP_LOAD_LOCAL,  /* u8 */
    OP_STORE_LOCAL, /* u8 */
    OP_LOAD_GLOBAL, /* u16 qstr */
    OP_STORE_GLOBAL,/* u16 qstr */
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_MOD,
    OP_LT,
    OP_EQ,
    OP_JMP,         /* i16 relative to the next instruction */
    OP_JZ,          /* i16 */
    OP_CALL,        /* u8 function index, u8 argument count */
    OP_RET,
    OP_NEW_LIST,
    OP_LIST_APPEND, /* list v -- list */
    OP_LIST_GET,    /* list i -- v */
    OP_LIST_SET,    /* list i v -- */
    OP_LIST_LEN,    /* list -- n */
    OP_NEW_DICT,
    OP_DICT_SET,    /* dict k v -- dict */
    OP_DICT_GET,    /* dict k -- v (KeyError if missing) */
    OP_DICT_GET_DEF,/* dict k default -- v */
    OP_STR_CAT_INT, /* s i -- s' */
    OP_COUNT
};

typedef struct Func {
    const uint8_t *code;
    uint8_t nargs;
    uint8_t nlocals;
} Func;

void vm_init(const Func *funcs, uint32_t nfuncs);
Value vm_call(uint32_t func, const Value *args, uint32_t nargs);
Value vm_global(const char *name);
uint32_t vm_ops_executed(void);

/* Cold error paths (errors.c): report and stop. */
__attribute__((noreturn, cold)) void vm_error_type(const char *op, Value a, Value b);
__attribute__((noreturn, cold)) void vm_error_key(Value key);
__attribute__((noreturn, cold)) void vm_error_index(int32_t idx, uint32_t len);
__attribute__((noreturn, cold)) void vm_error_oom(uint32_t words);
__attribute__((noreturn, cold)) void vm_error_stack(const char *which);
__attribute__((noreturn, cold)) void vm_error_opcode(uint32_t op, uint32_t pc);
__attribute__((noreturn, cold)) void vm_error_intern_full(uint32_t len);

#endif
