#include <stdint.h>
#include <string.h>
#include <stdlib.h>

int counter = 5;                 /* .data */
static int scratch[16];          /* .bss */
const char greeting[] = "hotlink";
int shared_common;               /* COMMON with -fcommon */
extern int weak_missing(int) __attribute__((weak));
int hot_kernel(int x);           /* in ITCM */
unsigned divide(unsigned a, unsigned b);
long long mul64(long long a, long long b);

typedef int (*op_fn)(int);
static int twice(int x) { return 2 * x; }
static int thrice(int x) { return 3 * x; }
op_fn table[] = {twice, thrice};

static int compare(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
#define EXPECTED 572

__attribute__((noinline)) int unused_function(int x) { return x * 7 + counter; }

int main(void) {
    int acc = 0;
    for (int i = 0; i < 16; i++) scratch[i] = table[i & 1](i);
    for (int i = 0; i < 16; i++) acc += hot_kernel(scratch[i]);
    acc += (int)divide(1000u, 7u);
    acc += (int)mul64(3, 5);
    if (weak_missing) acc += weak_missing(1);
    acc += (int)strlen(greeting) + counter + shared_common;
    qsort(scratch, 16, sizeof scratch[0], compare);
    return (acc == EXPECTED && scratch[0] == 0 && scratch[15] == 45 && strcmp(greeting, "hotlink") == 0) ? 0 : 1;
}
