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
#define V_BSWAP(x) _mm256_shuffle_epi8(x, _mm256_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3))

/* 8 x 8 transpose of 32-bit words: r[i] word k <-> r[k] word i; 24 shuffles. */
static inline TGT void transpose8(__m256i r[8])
{
    __m256i t[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; i++) {
        r[4 * i] = _mm256_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        r[4 * i + 1] = _mm256_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        r[4 * i + 2] = _mm256_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        r[4 * i + 3] = _mm256_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    /* r[4i + w], 128-bit half c, holds word 4c + w of rows 4i..4i+3. */
    for (int w = 0; w < 4; w++) {
        t[w] = _mm256_permute2x128_si256(r[w], r[4 + w], 0x20);
        t[4 + w] = _mm256_permute2x128_si256(r[w], r[4 + w], 0x31);
    }
    for (int i = 0; i < 8; i++)
        r[i] = t[i];
}
#define HF_SCRYPT_TRANSPOSE(r) transpose8(r)



#include "sha256_lanes.h"
#include "scrypt_lanes.h"
#endif
