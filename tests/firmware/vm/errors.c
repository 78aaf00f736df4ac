/* vm fixture: error reporting.  None of these run when the script is correct. */
#include "vm.h"
#include "hotlink_fw.h"

static void put_value(Value v)
{
    if (v == V_NONE) {
        sh_puts("None");
    } else if (IS_INT(v)) {
        sh_put_i32(INT_OF(v));
    } else if (IS_STR(v)) {
        uint32_t len;
        const char *s = qstr_chars(STR_OF(v), &len);
        sh_putc('\'');
        for (uint32_t i = 0; i < len; i++)
            sh_putc(s[i]);
        sh_putc('\'');
    } else {
        sh_puts("<object ");
        sh_put_hex(v);
        sh_putc('>');
    }
}

static __attribute__((noreturn)) void vm_die(const char *kind)
{
    sh_putc('\n');
    fw_fail(kind, vm_ops_executed());
}

void vm_error_type(const char *op, Value a, Value b)
{
    sh_puts("TypeError: unsupported operands for ");
    sh_puts(op);
    sh_puts(": ");
    put_value(a);
    sh_puts(", ");
    put_value(b);
    vm_die("vm TypeError");
}

void vm_error_key(Value key)
{
    sh_puts("KeyError: ");
    put_value(key);
    vm_die("vm KeyError");
}

void vm_error_index(int32_t idx, uint32_t len)
{
    sh_puts("IndexError: index ");
    sh_put_i32(idx);
    sh_puts(" out of range for length ");
    sh_put_u32(len);
    vm_die("vm IndexError");
}

void vm_error_oom(uint32_t words)
{
    sh_puts("MemoryError: cannot allocate ");
    sh_put_u32(words * 4u);
    sh_puts(" bytes");
    vm_die("vm MemoryError");
}

void vm_error_stack(const char *which)
{
    sh_puts("RuntimeError: ");
    sh_puts(which);
    sh_puts(" overflow");
    vm_die("vm RuntimeError");
}

void vm_error_opcode(uint32_t op, uint32_t pc)
{
    sh_puts("SystemError: bad opcode ");
    sh_put_u32(op);
    sh_puts(" at ");
    sh_put_u32(pc);
    vm_die("vm SystemError");
}

void vm_error_intern_full(uint32_t len)
{
    sh_puts("MemoryError: string pool full interning ");
    sh_put_u32(len);
    sh_puts(" chars");
    vm_die("vm MemoryError");
}
