/* Code that runs from ITCM: calls back into flash (needs veneers both ways). */
unsigned divide(unsigned a, unsigned b);
__attribute__((section(".itcm.hot_kernel"), noinline)) int hot_kernel(int x) {
    return x + (int)divide((unsigned)x, 3u);
}
