/* SSE2 (4 lanes) SHA-256d and scrypt scanners: the x86-64 baseline, so always usable. */
#include "hf_kernels.h"
#if HF_X86
#include <stdlib.h>
#include <string.h>
#include <immintrin.h>

typedef __m128i vec;
#define LANES 4
#define SFX sse2
#define TGT __attribute__((target("sse2")))
#define HF_SCRYPT_SHIFT 7 /* log2(32 * LANES) */
#define HF_SCRYPT_LANE_MAJOR 0

#define V_ADD(a, b) _mm_add_epi32(a, b)
#define V_XOR(a, b) _mm_xor_si128(a, b)
#define V_AND(a, b) _mm_and_si128(a, b)
#define V_XOR3(a, b, c) _mm_xor_si128(_mm_xor_si128(a, b), c)
#define V_CH(e, f, g) _mm_xor_si128(g, _mm_and_si128(e, _mm_xor_si128(f, g)))
#define V_MAJ(a, b, c) _mm_or_si128(_mm_and_si128(a, b), _mm_and_si128(c, _mm_or_si128(a, b)))
#define V_ROTR(x, n) _mm_or_si128(_mm_srli_epi32(x, n), _mm_slli_epi32(x, 32 - (n)))
#define V_SHR(x, n) _mm_srli_epi32(x, n)
#define V_SHL(x, n) _mm_slli_epi32(x, n)
#define V_SET1(x) _mm_set1_epi32((int)(x))
#define V_LOADU(p) _mm_loadu_si128((const __m128i *)(const void *)(p))
#define V_STOREU(p, v) _mm_storeu_si128((__m128i *)(void *)(p), v)
#define V_ZERO_MASK(v) _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(v, _mm_setzero_si128())))
#define V_LANE_IDS _mm_set_epi32(3, 2, 1, 0)
#define V_GATHER(base, idx) gather_sse2(base, idx)

/* SSE2 has no gather instruction; four scalar loads do the same. */
static inline TGT __m128i gather_sse2(const uint32_t *base, __m128i idx)
{
    uint32_t i[4];
    _mm_storeu_si128((__m128i *)(void *)i, idx);
    return _mm_set_epi32((int)base[i[3]], (int)base[i[2]], (int)base[i[1]], (int)base[i[0]]);
}



#include "sha256_lanes.h"
#include "scrypt_lanes.h"
#endif
