/* simd.h — private to net/: how hot kernels get the CPU's vector units in a
 * portable build (-march=x86-64-v2 by default).
 *
 * HOT_KERNEL marks a function written in plain C whose loops vectorize: on
 * x86-64 the compiler builds it three times (AVX-512, AVX2 + FMA, baseline)
 * and the loader picks the best for the CPU at run time. Hand-written
 * kernels with intrinsics use __attribute__((target(...))) and ask
 * cpu_has_avx512 / cpu_has_avx2 which one to call.
 */
#ifndef SYNTH_NET_SIMD_H
#define SYNTH_NET_SIMD_H

#include <stdbool.h>

#if defined(__x86_64__)
#define NET_X86 1
#define HOT_KERNEL __attribute__((target_clones("arch=skylake-avx512", "arch=haswell", "default")))
static inline bool cpu_has_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}
static inline bool cpu_has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
#define NET_X86 0
#define HOT_KERNEL
static inline bool cpu_has_avx512(void) { return false; }
static inline bool cpu_has_avx2(void) { return false; }
#endif

#endif
