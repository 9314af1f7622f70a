/*
 * AVX-512 (16 lanes) SHA-256d and scrypt scanners. AVX-512F alone is enough: it has
 * the 32-bit rotate (vprord) and the three-input logic op (vpternlogd) that turn
 * SHA-256's Ch, Maj and three-way XORs into one instruction each.
 */
#include "hf_kernels.h"
#if HF_X86
#include <stdlib.h>
#include <string.h>
#include <immintrin.h>

typedef __m512i vec;
#define LANES 16
#define SFX avx512
#define TGT __attribute__((target("avx512f")))
#define HF_SCRYPT_SHIFT 9 /* log2(32 * LANES) */
#define HF_SCRYPT_LANE_MAJOR 1

/* vpternlogd truth tables, operand bits (a, b, c) = (4, 2, 1). */
#define TL_XOR3 0x96
#define TL_CH 0xCA  /* a ? b : c */
#define TL_MAJ 0xE8 /* at least two of a, b, c */

#define V_ADD(a, b) _mm512_add_epi32(a, b)
#define V_XOR(a, b) _mm512_xor_si512(a, b)
#define V_AND(a, b) _mm512_and_si512(a, b)
#define V_XOR3(a, b, c) _mm512_ternarylogic_epi32(a, b, c, TL_XOR3)
#define V_CH(e, f, g) _mm512_ternarylogic_epi32(e, f, g, TL_CH)
#define V_MAJ(a, b, c) _mm512_ternarylogic_epi32(a, b, c, TL_MAJ)
#define V_ROTR(x, n) _mm512_ror_epi32(x, n)
#define V_SHR(x, n) _mm512_srli_epi32(x, n)
#define V_SHL(x, n) _mm512_slli_epi32(x, n)
#define V_SET1(x) _mm512_set1_epi32((int)(x))
#define V_LOADU(p) _mm512_loadu_si512((const void *)(p))
#define V_STOREU(p, v) _mm512_storeu_si512((void *)(p), v)
#define V_ZERO_MASK(v) _mm512_cmpeq_epi32_mask(v, _mm512_setzero_si512())
#define V_LANE_IDS _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define V_GATHER(base, idx) _mm512_i32gather_epi32(idx, (const void *)(base), 4)

#define V_SCATTER(base, idx, v) _mm512_i32scatter_epi32((void *)(base), idx, v, 4)

#include "sha256_lanes.h"
#include "scrypt_lanes.h"
#endif
