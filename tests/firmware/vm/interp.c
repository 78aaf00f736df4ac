/*
 * vm fixture: the interpreter.  One switch-dispatched loop over a byte code,
 * a value stack shared by all frames, and a globals dict.
 */
#include "vm.h"

#define STACK_VALUES 512u
#define MAX_FRAMES 48u

typedef struct Frame {
    const uint8_t *ret_pc;
    Value *bp;
    const Func *func;
} Frame;

static Value stack[STACK_VALUES];
static Value *sp;
static Value globals;
static Frame frames[MAX_FRAMES];
static const Func *func_table;
static uint32_t func_count;
static uint32_t ops_executed;

void vm_init(const Func *funcs, uint32_t nfuncs)
{
    func_table = funcs;
    func_count = nfuncs;
    sp = stack;
    heap_init();
    gc_set_roots(stack, &sp, &globals);
    globals = V_NONE;
    globals = dict_new();
}

uint32_t vm_ops_executed(void)
{
    return ops_executed;
}

Value vm_global(const char *name)
{
    return dict_get(globals, MK_STR(intern_cstr(name)));
}

static inline uint32_t rd_u16(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8);
}

static inline int32_t rd_i16(const uint8_t *p)
{
    return (int16_t)rd_u16(p);
}

static Value arith(uint32_t op, Value a, Value b)
{
    static const char *const names[] = { "+", "-", "*", "%", "<", "==" };
    if (op == OP_EQ)
        return MK_INT(a == b);
    if (!IS_INT(a) || !IS_INT(b))
        vm_error_type(names[op - OP_ADD], a, b);
    int32_t x = INT_OF(a), y = INT_OF(b);
    switch (op) {
    case OP_ADD:
        return MK_INT(x + y);
    case OP_SUB:
        return MK_INT(x - y);
    case OP_MUL:
        return MK_INT(x * y);
    case OP_MOD:
        if (y == 0)
            vm_error_type("% by zero", a, b);
        return MK_INT(((x % y) + y) % y);
    default:
        return MK_INT(x < y);
    }
}

static void push_checked(Value v)
{
    if (sp == stack + STACK_VALUES)
        vm_error_stack("value stack");
    *sp++ = v;
}

Value vm_call(uint32_t func, const Value *args, uint32_t nargs)
{
    uint32_t depth = 0;
    const Func *f = &func_table[func];
    Value *bp = sp;
    for (uint32_t i = 0; i < nargs; i++)
        push_checked(args[i]);
    for (uint32_t i = nargs; i < f->nlocals; i++)
        push_checked(V_NONE);
    const uint8_t *pc = f->code;

    for (;;) {
        uint32_t op = *pc++;
        ops_executed++;
        switch (op) {
        case OP_HALT: {
            Value r = sp > bp ? sp[-1] : V_NONE;
            sp = bp;
            return r;
        }
        case OP_PUSH_INT:
            push_checked(MK_INT(rd_i16(pc)));
            pc += 2;
            break;
        case OP_PUSH_STR:
            push_checked(MK_STR(rd_u16(pc)));
            pc += 2;
            break;
        case OP_PUSH_NONE:
            push_checked(V_NONE);
            break;
        case OP_POP:
            sp--;
            break;
        case OP_DUP:
            push_checked(sp[-1]);
            break;
        case OP_LOAD_LOCAL:
            push_checked(bp[*pc++]);
            break;
        case OP_STORE_LOCAL:
            bp[*pc++] = *--sp;
            break;
        case OP_LOAD_GLOBAL:
            push_checked(dict_get(globals, MK_STR(rd_u16(pc))));
            pc += 2;
            break;
        case OP_STORE_GLOBAL:
            dict_set(globals, MK_STR(rd_u16(pc)), sp[-1]);
            sp--;
            pc += 2;
            break;
        case OP_ADD:
            if (IS_INT(sp[-2]) && IS_INT(sp[-1])) { /* fast path */
                sp[-2] = MK_INT(INT_OF(sp[-2]) + INT_OF(sp[-1]));
                sp--;
                break;
            }
            /* fall through */
        case OP_SUB:
        case OP_MUL:
        case OP_MOD:
        case OP_LT:
        case OP_EQ:
            sp[-2] = arith(op, sp[-2], sp[-1]);
            sp--;
            break;
        case OP_JMP:
            pc += 2 + rd_i16(pc);
            break;
        case OP_JZ: {
            Value c = *--sp;
            if (c == MK_INT(0) || c == V_NONE)
                pc += 2 + rd_i16(pc);
            else
                pc += 2;
            break;
        }
        case OP_CALL: {
            uint32_t callee = pc[0], n = pc[1];
            if (callee >= func_count)
                vm_error_opcode(op, (uint32_t)(pc - f->code));
            if (depth == MAX_FRAMES)
                vm_error_stack("call stack");
            frames[depth].ret_pc = pc + 2;
            frames[depth].bp = bp;
            frames[depth].func = f;
            depth++;
            f = &func_table[callee];
            bp = sp - n;
            for (uint32_t i = n; i < f->nlocals; i++)
                push_checked(V_NONE);
            pc = f->code;
            break;
        }
        case OP_RET: {
            Value r = sp[-1];
            if (depth == 0) {
                sp = bp;
                return r;
            }
            depth--;
            sp = bp;
            *sp++ = r;
            pc = frames[depth].ret_pc;
            bp = frames[depth].bp;
            f = frames[depth].func;
            break;
        }
        case OP_NEW_LIST:
            push_checked(V_NONE);
            sp[-1] = list_new();
            break;
        case OP_LIST_APPEND:
            list_append(sp[-2], sp[-1]);
            sp--;
            break;
        case OP_LIST_GET:
            sp[-2] = list_get(sp[-2], sp[-1]);
            sp--;
            break;
        case OP_LIST_SET:
            list_set(sp[-3], sp[-2], sp[-1]);
            sp -= 3;
            break;
        case OP_LIST_LEN:
            sp[-1] = MK_INT(list_len(sp[-1]));
            break;
        case OP_NEW_DICT:
            push_checked(V_NONE);
            sp[-1] = dict_new();
            break;
        case OP_DICT_SET:
            dict_set(sp[-3], sp[-2], sp[-1]);
            sp -= 2;
            break;
        case OP_DICT_GET:
            sp[-2] = dict_get(sp[-2], sp[-1]);
            sp--;
            break;
        case OP_DICT_GET_DEF: {
            Value v;
            if (dict_lookup(sp[-3], sp[-2], &v))
                sp[-3] = v;
            else
                sp[-3] = sp[-1];
            sp -= 2;
            break;
        }
        case OP_STR_CAT_INT:
            sp[-2] = str_cat_int(sp[-2], sp[-1]);
            sp--;
            break;
        default:
            vm_error_opcode(op, (uint32_t)(pc - 1 - f->code));
        }
    }
}
