/*
 * vm fixture: a tiny assembler with labels, the script (five byte-code
 * functions) and main(), which runs the script and checks every result
 * against the same computation done natively in C.
 */
#include "hotlink_fw.h"
#include "vm.h"

#define CODE_BYTES 2048u
#define MAX_LABELS 16u
#define MAX_FIXUPS 32u

typedef struct Asm {
    uint8_t *code;
    uint32_t len;
    uint32_t label_at[MAX_LABELS];
    uint32_t nlabels;
    uint32_t fix_at[MAX_FIXUPS];
    uint32_t fix_label[MAX_FIXUPS];
    uint32_t nfix;
} Asm;

static uint8_t code_mem[CODE_BYTES];
static uint32_t code_used;

static void emit(Asm *a, uint32_t byte)
{
    if (code_used + a->len >= CODE_BYTES)
        fw_fail("vm: code buffer full", a->len);
    a->code[a->len++] = (uint8_t)byte;
}

static void op(Asm *a, uint32_t o)
{
    emit(a, o);
}

static void op_u8(Asm *a, uint32_t o, uint32_t x)
{
    emit(a, o);
    emit(a, x);
}

static void op_u16(Asm *a, uint32_t o, uint32_t x)
{
    emit(a, o);
    emit(a, x & 0xffu);
    emit(a, (x >> 8) & 0xffu);
}

static void push_int(Asm *a, int32_t x)
{
    op_u16(a, OP_PUSH_INT, (uint32_t)x & 0xffffu);
}

static void push_str(Asm *a, const char *s)
{
    op_u16(a, OP_PUSH_STR, intern_cstr(s));
}

static void load_global(Asm *a, const char *s)
{
    op_u16(a, OP_LOAD_GLOBAL, intern_cstr(s));
}

static void store_global(Asm *a, const char *s)
{
    op_u16(a, OP_STORE_GLOBAL, intern_cstr(s));
}

static void call(Asm *a, uint32_t f, uint32_t nargs)
{
    emit(a, OP_CALL);
    emit(a, f);
    emit(a, nargs);
}

static uint32_t new_label(Asm *a)
{
    a->label_at[a->nlabels] = UINT32_MAX;
    return a->nlabels++;
}

static void bind(Asm *a, uint32_t label)
{
    a->label_at[label] = a->len;
}

static void jump(Asm *a, uint32_t o, uint32_t label)
{
    emit(a, o);
    a->fix_at[a->nfix] = a->len;
    a->fix_label[a->nfix++] = label;
    emit(a, 0);
    emit(a, 0);
}

/* local[li] = local[li] + 1 */
static void inc_local(Asm *a, uint32_t li)
{
    op_u8(a, OP_LOAD_LOCAL, li);
    push_int(a, 1);
    op(a, OP_ADD);
    op_u8(a, OP_STORE_LOCAL, li);
}

static void set_local_int(Asm *a, uint32_t li, int32_t v)
{
    push_int(a, v);
    op_u8(a, OP_STORE_LOCAL, li);
}

/* if not (local[li] < local[lim]) goto exit */
static void exit_unless_lt_local(Asm *a, uint32_t li, uint32_t lim, uint32_t exit)
{
    op_u8(a, OP_LOAD_LOCAL, li);
    op_u8(a, OP_LOAD_LOCAL, lim);
    op(a, OP_LT);
    jump(a, OP_JZ, exit);
}

/* if not (local[li] < k) goto exit */
static void exit_unless_lt_int(Asm *a, uint32_t li, int32_t k, uint32_t exit)
{
    op_u8(a, OP_LOAD_LOCAL, li);
    push_int(a, k);
    op(a, OP_LT);
    jump(a, OP_JZ, exit);
}

static void asm_begin(Asm *a)
{
    a->code = code_mem + code_used;
    a->len = 0;
    a->nlabels = 0;
    a->nfix = 0;
}

static const uint8_t *asm_end(Asm *a)
{
    for (uint32_t i = 0; i < a->nfix; i++) {
        uint32_t at = a->fix_at[i];
        int32_t rel = (int32_t)a->label_at[a->fix_label[i]] - (int32_t)(at + 2u);
        a->code[at] = (uint8_t)((uint32_t)rel & 0xffu);
        a->code[at + 1] = (uint8_t)(((uint32_t)rel >> 8) & 0xffu);
    }
    code_used += a->len;
    return a->code;
}

enum { F_MAIN, F_FIB, F_BUILD_DICT, F_DICT_SUM, F_CHURN, F_SIEVE, F_COUNT };

/* Script parameters. */
#define FIB_N 17
#define DICT_N 400
#define DICT_KEYS 37
#define CHURN_ROUNDS 150
#define CHURN_LEN 20
#define SIEVE_N 1000

static Func funcs[F_COUNT];

/* fib(n): if n < 2: return n; return fib(n-1) + fib(n-2) */
static void build_fib(Asm *a)
{
    uint32_t recurse = new_label(a);
    exit_unless_lt_int(a, 0, 2, recurse);
    op_u8(a, OP_LOAD_LOCAL, 0);
    op(a, OP_RET);
    bind(a, recurse);
    op_u8(a, OP_LOAD_LOCAL, 0);
    push_int(a, 1);
    op(a, OP_SUB);
    call(a, F_FIB, 1);
    op_u8(a, OP_LOAD_LOCAL, 0);
    push_int(a, 2);
    op(a, OP_SUB);
    call(a, F_FIB, 1);
    op(a, OP_ADD);
    op(a, OP_RET);
}

/* Emit: "k" + str(i % DICT_KEYS) with i in local `li`. */
static void key_of(Asm *a, uint32_t li)
{
    push_str(a, "k");
    op_u8(a, OP_LOAD_LOCAL, li);
    push_int(a, DICT_KEYS);
    op(a, OP_MOD);
    op(a, OP_STR_CAT_INT);
}

/* build_dict(n): d = {}; for i in range(n): d[key(i)] = d.get(key(i), 0) + i; return d */
static void build_build_dict(Asm *a)
{
    uint32_t top = new_label(a), end = new_label(a);
    op(a, OP_NEW_DICT);
    op_u8(a, OP_STORE_LOCAL, 2);
    set_local_int(a, 1, 0);
    bind(a, top);
    exit_unless_lt_local(a, 1, 0, end);
    op_u8(a, OP_LOAD_LOCAL, 2);
    key_of(a, 1);
    op_u8(a, OP_LOAD_LOCAL, 2);
    key_of(a, 1);
    push_int(a, 0);
    op(a, OP_DICT_GET_DEF);
    op_u8(a, OP_LOAD_LOCAL, 1);
    op(a, OP_ADD);
    op(a, OP_DICT_SET);
    op(a, OP_POP);
    inc_local(a, 1);
    jump(a, OP_JMP, top);
    bind(a, end);
    op_u8(a, OP_LOAD_LOCAL, 2);
    op(a, OP_RET);
}

/* dict_sum(d): for j in range(KEYS): acc = acc + d["k"+str(j)] * (j + 1)  (acc is a global) */
static void build_dict_sum(Asm *a)
{
    uint32_t top = new_label(a), end = new_label(a);
    push_int(a, 0);
    store_global(a, "acc");
    set_local_int(a, 1, 0);
    bind(a, top);
    exit_unless_lt_int(a, 1, DICT_KEYS, end);
    load_global(a, "acc");
    op_u8(a, OP_LOAD_LOCAL, 0);
    push_str(a, "k");
    op_u8(a, OP_LOAD_LOCAL, 1);
    op(a, OP_STR_CAT_INT);
    op(a, OP_DICT_GET);
    op_u8(a, OP_LOAD_LOCAL, 1);
    push_int(a, 1);
    op(a, OP_ADD);
    op(a, OP_MUL);
    op(a, OP_ADD);
    store_global(a, "acc");
    inc_local(a, 1);
    jump(a, OP_JMP, top);
    bind(a, end);
    load_global(a, "acc");
    op(a, OP_RET);
}

/*
 * churn(rounds): total = 0
 *   for r in range(rounds):
 *     lst = []; for j in range(LEN): lst.append(r * j % 101)
 *     tmp = {"r": r}
 *     total = total + lst[r % LEN] + len(lst) + tmp["r"]
 *   return total
 * Locals: 0 rounds, 1 r, 2 j, 3 lst, 4 total, 5 tmp.  Garbage on every round.
 */
static void build_churn(Asm *a)
{
    uint32_t outer = new_label(a), outer_end = new_label(a);
    uint32_t inner = new_label(a), inner_end = new_label(a);
    set_local_int(a, 4, 0);
    set_local_int(a, 1, 0);
    bind(a, outer);
    exit_unless_lt_local(a, 1, 0, outer_end);
    op(a, OP_NEW_LIST);
    op_u8(a, OP_STORE_LOCAL, 3);
    set_local_int(a, 2, 0);
    bind(a, inner);
    exit_unless_lt_int(a, 2, CHURN_LEN, inner_end);
    op_u8(a, OP_LOAD_LOCAL, 3);
    op_u8(a, OP_LOAD_LOCAL, 1);
    op_u8(a, OP_LOAD_LOCAL, 2);
    op(a, OP_MUL);
    push_int(a, 101);
    op(a, OP_MOD);
    op(a, OP_LIST_APPEND);
    op(a, OP_POP);
    inc_local(a, 2);
    jump(a, OP_JMP, inner);
    bind(a, inner_end);
    op(a, OP_NEW_DICT);
    push_str(a, "r");
    op_u8(a, OP_LOAD_LOCAL, 1);
    op(a, OP_DICT_SET);
    op_u8(a, OP_STORE_LOCAL, 5);
    op_u8(a, OP_LOAD_LOCAL, 4);
    op_u8(a, OP_LOAD_LOCAL, 3);
    op_u8(a, OP_LOAD_LOCAL, 1);
    push_int(a, CHURN_LEN);
    op(a, OP_MOD);
    op(a, OP_LIST_GET);
    op(a, OP_ADD);
    op_u8(a, OP_LOAD_LOCAL, 3);
    op(a, OP_LIST_LEN);
    op(a, OP_ADD);
    op_u8(a, OP_LOAD_LOCAL, 5);
    push_str(a, "r");
    op(a, OP_DICT_GET);
    op(a, OP_ADD);
    op_u8(a, OP_STORE_LOCAL, 4);
    inc_local(a, 1);
    jump(a, OP_JMP, outer);
    bind(a, outer_end);
    op_u8(a, OP_LOAD_LOCAL, 4);
    op(a, OP_RET);
}

/*
 * sieve(n): flags = [1] * n (by appends); count = 0
 *   for i in range(2, n): if flags[i]: count += 1; j = i * i; while j < n: flags[j] = 0; j += i
 * Locals: 0 n, 1 flags, 2 i, 3 j, 4 count.
 */
static void build_sieve(Asm *a)
{
    uint32_t fill = new_label(a), fill_end = new_label(a);
    uint32_t outer = new_label(a), outer_next = new_label(a), outer_end = new_label(a);
    uint32_t inner = new_label(a);
    op(a, OP_NEW_LIST);
    op_u8(a, OP_STORE_LOCAL, 1);
    set_local_int(a, 2, 0);
    bind(a, fill);
    exit_unless_lt_local(a, 2, 0, fill_end);
    op_u8(a, OP_LOAD_LOCAL, 1);
    push_int(a, 1);
    op(a, OP_LIST_APPEND);
    op(a, OP_POP);
    inc_local(a, 2);
    jump(a, OP_JMP, fill);
    bind(a, fill_end);
    set_local_int(a, 4, 0);
    set_local_int(a, 2, 2);
    bind(a, outer);
    exit_unless_lt_local(a, 2, 0, outer_end);
    op_u8(a, OP_LOAD_LOCAL, 1);
    op_u8(a, OP_LOAD_LOCAL, 2);
    op(a, OP_LIST_GET);
    jump(a, OP_JZ, outer_next);
    inc_local(a, 4);
    op_u8(a, OP_LOAD_LOCAL, 2);
    op_u8(a, OP_LOAD_LOCAL, 2);
    op(a, OP_MUL);
    op_u8(a, OP_STORE_LOCAL, 3);
    bind(a, inner);
    exit_unless_lt_local(a, 3, 0, outer_next);
    op_u8(a, OP_LOAD_LOCAL, 1);
    op_u8(a, OP_LOAD_LOCAL, 3);
    push_int(a, 0);
    op(a, OP_LIST_SET);
    op_u8(a, OP_LOAD_LOCAL, 3);
    op_u8(a, OP_LOAD_LOCAL, 2);
    op(a, OP_ADD);
    op_u8(a, OP_STORE_LOCAL, 3);
    jump(a, OP_JMP, inner);
    bind(a, outer_next);
    inc_local(a, 2);
    jump(a, OP_JMP, outer);
    bind(a, outer_end);
    op_u8(a, OP_LOAD_LOCAL, 4);
    op(a, OP_RET);
}

/* main(): runs each part and stores its result in a global. */
static void build_main(Asm *a)
{
    push_int(a, FIB_N);
    call(a, F_FIB, 1);
    store_global(a, "fib");
    push_int(a, DICT_N);
    call(a, F_BUILD_DICT, 1);
    op(a, OP_DUP);
    store_global(a, "d");
    call(a, F_DICT_SUM, 1);
    store_global(a, "dsum");
    push_int(a, CHURN_ROUNDS);
    call(a, F_CHURN, 1);
    store_global(a, "churn");
    push_int(a, SIEVE_N);
    call(a, F_SIEVE, 1);
    store_global(a, "primes");
    push_int(a, 0);
    op(a, OP_HALT);
}

static void define(uint32_t idx, void (*build)(Asm *), uint8_t nargs, uint8_t nlocals)
{
    Asm a;
    asm_begin(&a);
    build(&a);
    funcs[idx].code = asm_end(&a);
    funcs[idx].nargs = nargs;
    funcs[idx].nlocals = nlocals;
}

/* Native reference implementations of the script. */
static int32_t fib_native(int32_t n)
{
    return n < 2 ? n : fib_native(n - 1) + fib_native(n - 2);
}

static int32_t dict_sum_native(void)
{
    int32_t d[DICT_KEYS] = { 0 };
    for (int32_t i = 0; i < DICT_N; i++)
        d[i % DICT_KEYS] += i;
    int32_t acc = 0;
    for (int32_t j = 0; j < DICT_KEYS; j++)
        acc += d[j] * (j + 1);
    return acc;
}

static int32_t churn_native(void)
{
    int32_t total = 0;
    for (int32_t r = 0; r < CHURN_ROUNDS; r++)
        total += (r * (r % CHURN_LEN)) % 101 + CHURN_LEN + r;
    return total;
}

static int32_t primes_native(void)
{
    int32_t count = 0;
    for (int32_t i = 2; i < SIEVE_N; i++) {
        int32_t prime = 1;
        for (int32_t k = 2; k * k <= i; k++)
            if (i % k == 0) {
                prime = 0;
                break;
            }
        count += prime;
    }
    return count;
}

static void expect(const char *name, int32_t want)
{
    Value v = vm_global(name);
    if (!IS_INT(v) || INT_OF(v) != want) {
        sh_puts("vm: ");
        sh_puts(name);
        sh_put_kx("got", v);
        sh_put_kx("want", (uint32_t)want);
        sh_putc('\n');
        fw_fail("vm: wrong result", (uint32_t)want);
    }
}

int main(void)
{
    define(F_FIB, build_fib, 1, 1);
    define(F_BUILD_DICT, build_build_dict, 1, 3);
    define(F_DICT_SUM, build_dict_sum, 1, 2);
    define(F_CHURN, build_churn, 1, 6);
    define(F_SIEVE, build_sieve, 1, 5);
    define(F_MAIN, build_main, 0, 0);
    vm_init(funcs, F_COUNT);

    vm_call(F_MAIN, 0, 0);

    int32_t fib = fib_native(FIB_N), dsum = dict_sum_native();
    int32_t churn = churn_native(), primes = primes_native();
    expect("fib", fib);
    expect("dsum", dsum);
    expect("churn", churn);
    expect("primes", primes);
    if (gc_runs() == 0)
        fw_fail("vm: the script never collected garbage", gc_freed_total());

    uint32_t checksum = (uint32_t)fib * 2654435761u ^ (uint32_t)dsum * 40503u ^
                        (uint32_t)churn * 97u ^ (uint32_t)primes ^ intern_count() << 24;
    sh_puts("vm: ok");
    sh_put_kv("fib", (uint32_t)fib);
    sh_put_kv("dsum", (uint32_t)dsum);
    sh_put_kv("churn", (uint32_t)churn);
    sh_put_kv("primes", (uint32_t)primes);
    sh_put_kv("gc", gc_runs());
    sh_put_kv("freed", gc_freed_total());
    sh_put_kv("ops", vm_ops_executed());
    sh_put_kx("checksum", checksum);
    sh_putc('\n');
    return 0;
}
