unsigned divide(unsigned a, unsigned b) { return a / b; }
long long mul64(long long a, long long b) { return a * b; }
