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
/* Byte swap of each 32-bit word with AVX-512F only (vpshufb would need AVX-512BW). */
#define V_BSWAP(x) _mm512_ternarylogic_epi32(_mm512_ror_epi32(x, 8), _mm512_rol_epi32(x, 8), _mm512_set1_epi32((int)0xFF00FF00), 0xE4)

/* 16 x 16 transpose of 32-bit words: r[i] word k <-> r[k] word i; 64 shuffles. */
static inline TGT void transpose16(__m512i r[16])
{
    __m512i t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        r[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        r[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        r[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        r[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    /* r[4i + w], 128-bit chunk c, holds word 4c + w of rows 4i..4i+3. */
    for (int w = 0; w < 4; w++) {
        __m512i a = _mm512_shuffle_i32x4(r[w], r[4 + w], 0x88);
        __m512i b = _mm512_shuffle_i32x4(r[w], r[4 + w], 0xDD);
        __m512i c = _mm512_shuffle_i32x4(r[8 + w], r[12 + w], 0x88);
        __m512i d = _mm512_shuffle_i32x4(r[8 + w], r[12 + w], 0xDD);
        t[w] = _mm512_shuffle_i32x4(a, c, 0x88);
        t[8 + w] = _mm512_shuffle_i32x4(a, c, 0xDD);
        t[4 + w] = _mm512_shuffle_i32x4(b, d, 0x88);
        t[12 + w] = _mm512_shuffle_i32x4(b, d, 0xDD);
    }
    for (int i = 0; i < 16; i++)
        r[i] = t[i];
}
#define HF_SCRYPT_TRANSPOSE(r) transpose16(r)

#include "sha256_lanes.h"
#include "scrypt_lanes.h"
#endif
