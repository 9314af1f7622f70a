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
/* SSE2 has no byte shuffle: swap the 16-bit halves, then the bytes within them. */
#define V_BSWAP(x) bswap_sse2(x)
static inline TGT __m128i bswap_sse2(__m128i x)
{
    x = _mm_or_si128(_mm_slli_epi32(x, 16), _mm_srli_epi32(x, 16));
    return _mm_or_si128(_mm_slli_epi16(x, 8), _mm_srli_epi16(x, 8));
}

/* 4 x 4 transpose of 32-bit words: r[i] word k <-> r[k] word i; 8 shuffles. */
static inline TGT void transpose4(__m128i r[4])
{
    __m128i t0 = _mm_unpacklo_epi32(r[0], r[1]), t1 = _mm_unpackhi_epi32(r[0], r[1]);
    __m128i t2 = _mm_unpacklo_epi32(r[2], r[3]), t3 = _mm_unpackhi_epi32(r[2], r[3]);
    r[0] = _mm_unpacklo_epi64(t0, t2);
    r[1] = _mm_unpackhi_epi64(t0, t2);
    r[2] = _mm_unpacklo_epi64(t1, t3);
    r[3] = _mm_unpackhi_epi64(t1, t3);
}
#define HF_SCRYPT_TRANSPOSE(r) transpose4(r)



#include "sha256_lanes.h"
#include "scrypt_lanes.h"
#endif
