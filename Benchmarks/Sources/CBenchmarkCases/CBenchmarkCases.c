#include "CBenchmarkCases.h"

__attribute__((noinline)) intptr_t cstaticbench_work(intptr_t x) { return x * 3 + 1; }

bool cstaticbench_cpu_has_avx2(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
#else
    return false;
#endif
}
