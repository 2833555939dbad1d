#ifndef CBENCHMARKCASES_H
#define CBENCHMARKCASES_H

#include <stdint.h>
#include <stdbool.h>

/// The C function the benchmarks' C function pointer points at: the same arithmetic as the Swift
/// `work(_:)`, compiled by clang, so that the pointer is a genuine C function pointer.
intptr_t cstaticbench_work(intptr_t x);

/// `__builtin_cpu_supports("avx2")`: the CPU feature the end-to-end workload selects its checksum by,
/// as a program selects a SIMD variant at start-up. Swift has no CPUID intrinsic.
bool cstaticbench_cpu_has_avx2(void);

#endif
