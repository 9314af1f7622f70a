/* AVX2 (8 lanes) SHA-256d and scrypt scanners. */
#include "hf_kernels.h"
#if HF_X86
#include <stdlib.h>
#include <string.h>
#include <immintrin.h>

typedef __m256i vec;
#define LANES 8
#define SFX avx2
#define TGT __attribute__((target("avx2")))
#define HF_SCRYPT_SHIFT 8 /* log2(32 * LANES) */
#define HF_SCRYPT_LANE_MAJOR 0

#define V_ADD(a, b) _mm256_add_epi32(a, b)
#define V_XOR(a, b) _mm256_xor_si256(a, b)
#define V_AND(a, b) _mm256_and_si256(a, b)
#define V_XOR3(a, b, c) _mm256_xor_si256(_mm256_xor_si256(a, b), c)
#define V_CH(e, f, g) _mm256_xor_si256(g, _mm256_and_si256(e, _mm256_xor_si256(f, g)))
#define V_MAJ(a, b, c) _mm256_or_si256(_mm256_and_si256(a, b), _mm256_and_si256(c, _mm256_or_si256(a, b)))
#define V_ROTR(x, n) _mm256_or_si256(_mm256_srli_epi32(x, n), _mm256_slli_epi32(x, 32 - (n)))
#define V_SHR(x, n) _mm256_srli_epi32(x, n)
#define V_SHL(x, n) _mm256_slli_epi32(x, n)
#define V_SET1(x) _mm256_set1_epi32((int)(x))
#define V_LOADU(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define V_STOREU(p, v) _mm256_storeu_si256((__m256i *)(void *)(p), v)
#define V_ZERO_MASK(v) _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(v, _mm256_setzero_si256())))
#define V_LANE_IDS _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0)
#define V_GATHER(base, idx) _mm256_i32gather_epi32((const int *)(const void *)(base), idx, 4)



#include "sha256_lanes.h"
#include "scrypt_lanes.h"
#endif
