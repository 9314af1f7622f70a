/* Runtime CPU feature detection: which kernels this machine can run. */
#include "hf_kernels.h"
#if HF_X86
#include <cpuid.h>

/* CPUID leaf 7, EBX bit 29; read directly because older GCCs lack a "sha" name. */
static int hf_cpu_has_sha(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return 0;
    return (b >> 29) & 1;
}
#endif

unsigned hf_cpu_features(void)
{
    unsigned f = 0;
#if HF_X86
    /* GCC's detection also checks that the OS saves the AVX/AVX-512 register state. */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse2")) f |= HF_CPU_SSE2;
    if (__builtin_cpu_supports("ssse3")) f |= HF_CPU_SSSE3;
    if (__builtin_cpu_supports("sse4.1")) f |= HF_CPU_SSE41;
    if (__builtin_cpu_supports("avx")) f |= HF_CPU_AVX;
    if (__builtin_cpu_supports("avx2")) f |= HF_CPU_AVX2;
    if (__builtin_cpu_supports("avx512f")) f |= HF_CPU_AVX512F;
    if (__builtin_cpu_supports("avx512vl")) f |= HF_CPU_AVX512VL;
    if (__builtin_cpu_supports("avx512bw")) f |= HF_CPU_AVX512BW;
    if (hf_cpu_has_sha()) f |= HF_CPU_SHA;
#endif
    return f;
}

void hf_init(void)
{
#if HF_X86
    unsigned f = hf_cpu_features();
    if ((f & HF_CPU_SHA) && (f & HF_CPU_SSE41))
        hf_sha256_compress = hf_sha256_compress_shani;
#endif
}
