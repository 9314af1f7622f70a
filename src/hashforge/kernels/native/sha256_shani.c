/*
 * SHA-256d scanner with the x86 SHA extensions (SHA-NI).
 *
 * sha256rnds2 does two rounds on a state split as ABEF / CDGH; it has a latency of
 * several cycles, so the scanner runs STREAMS independent hashes in lockstep to keep
 * the unit busy. Plain mode: streams are consecutive nonces. Rolled mode (BIP310): the
 * K + W sums of block 2 are computed once per nonce and shared by all versions.
 */
#include "hf_kernels.h"
#if HF_X86
#include <stdlib.h>
#include <string.h>
#include <immintrin.h>

#define TGT __attribute__((target("sha,sse4.1")))
#define STREAMS 2

/* (a..h) in memory order -> ABEF, CDGH registers. */
static inline TGT void to_shani(const uint32_t s[8], __m128i *abef, __m128i *cdgh)
{
    __m128i badc = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)s), 0xB1);
    __m128i hgfe = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)(s + 4)), 0x1B);
    *abef = _mm_alignr_epi8(badc, hgfe, 8);
    *cdgh = _mm_blend_epi16(hgfe, badc, 0xF0);
}

/* ABEF, CDGH -> (a, b, c, d), (e, f, g, h): exactly the next hash's W0..W3, W4..W7. */
static inline TGT void from_shani(__m128i abef, __m128i cdgh, __m128i *abcd, __m128i *efgh)
{
    __m128i abef_r = _mm_shuffle_epi32(abef, 0x1B);
    __m128i ghcd = _mm_shuffle_epi32(cdgh, 0xB1);
    *abcd = _mm_blend_epi16(abef_r, ghcd, 0xF0);
    *efgh = _mm_alignr_epi8(ghcd, abef_r, 8);
}

static inline TGT __m128i kvec(int g)
{
    return _mm_loadu_si128((const __m128i *)(const void *)(hf_sha256_k + 4 * g));
}

/* Four rounds with K + W already summed in kw. */
static inline TGT void rounds4(__m128i *abef, __m128i *cdgh, __m128i kw)
{
    *cdgh = _mm_sha256rnds2_epu32(*cdgh, *abef, kw);
    *abef = _mm_sha256rnds2_epu32(*abef, *cdgh, _mm_shuffle_epi32(kw, 0x0E));
}

/* W[t..t+3] from W[t-16..], W[t-12..], W[t-8..], W[t-4..]. */
static inline TGT __m128i sched4(__m128i m0, __m128i m1, __m128i m2, __m128i m3)
{
    __m128i x = _mm_add_epi32(_mm_sha256msg1_epu32(m0, m1), _mm_alignr_epi8(m3, m2, 4));
    return _mm_sha256msg2_epu32(x, m3);
}

/*
 * STREAMS compressions in lockstep; m holds each stream's 16 words and is consumed.
 * sha256rnds2 issues only every few cycles on the Intel cores we measured (more streams
 * gave nothing), so the scanners save whole instructions instead:
 *  - from_round2: rounds 0 and 1 are done; as rounds4() leaves them half-way, abef holds
 *    the state's CDGH (= the old ABEF) and cdgh its ABEF (the scanners compute this once:
 *    block 2's W0, W1 do not depend on the nonce);
 *  - stop_at_62: skip rounds 62 and 63; the caller then reads e after round 60, which
 *    is F of the ABEF state after round 61, left in cdgh[] (see second_hash).
 */
static inline TGT void compress_n(__m128i abef[STREAMS], __m128i cdgh[STREAMS], __m128i m[STREAMS][4],
                                  int from_round2, int stop_at_62)
{
#pragma GCC unroll 16
    for (int g = 0; g < 16; g++) {
        __m128i k = kvec(g);
#pragma GCC unroll 4
        for (int j = 0; j < STREAMS; j++) {
            if (g >= 4)
                m[j][g & 3] = sched4(m[j][g & 3], m[j][(g + 1) & 3], m[j][(g + 2) & 3], m[j][(g + 3) & 3]);
            __m128i kw = _mm_add_epi32(m[j][g & 3], k);
            if (g == 0 && from_round2) /* second half of rounds4(): rounds 2 and 3 */
                abef[j] = _mm_sha256rnds2_epu32(abef[j], cdgh[j], _mm_shuffle_epi32(kw, 0x0E));
            else if (g == 15 && stop_at_62) /* rounds 60 and 61 only */
                cdgh[j] = _mm_sha256rnds2_epu32(cdgh[j], abef[j], kw);
            else
                rounds4(&abef[j], &cdgh[j], kw);
        }
    }
}

void TGT hf_sha256_compress_shani(uint32_t state[8], const uint32_t w[16])
{
    __m128i abef[1], cdgh[1], m[1][4];
    to_shani(state, &abef[0], &cdgh[0]);
    __m128i abef0 = abef[0], cdgh0 = cdgh[0];
    for (int i = 0; i < 4; i++)
        m[0][i] = _mm_loadu_si128((const __m128i *)(const void *)(w + 4 * i));
#pragma GCC unroll 16
    for (int g = 0; g < 16; g++) {
        if (g >= 4)
            m[0][g & 3] = sched4(m[0][g & 3], m[0][(g + 1) & 3], m[0][(g + 2) & 3], m[0][(g + 3) & 3]);
        rounds4(&abef[0], &cdgh[0], _mm_add_epi32(m[0][g & 3], kvec(g)));
    }
    abef[0] = _mm_add_epi32(abef[0], abef0);
    cdgh[0] = _mm_add_epi32(cdgh[0], cdgh0);
    __m128i lo, hi;
    from_shani(abef[0], cdgh[0], &lo, &hi);
    _mm_storeu_si128((__m128i *)(void *)state, lo);
    _mm_storeu_si128((__m128i *)(void *)(state + 4), hi);
}

/* The second SHA-256 of each stream's block-2 result; returns each stream's H7. */
static inline TGT void second_hash(const __m128i abef1[STREAMS], const __m128i cdgh1[STREAMS],
                                   uint32_t h7[STREAMS])
{
    static const uint32_t iv[8] = {
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    };
    __m128i iv_abef, iv_cdgh, m[STREAMS][4], abef[STREAMS], cdgh[STREAMS];
    to_shani(iv, &iv_abef, &iv_cdgh);
    const __m128i pad0 = _mm_set_epi32(0, 0, 0, (int)0x80000000), pad1 = _mm_set_epi32(256, 0, 0, 0);
    for (int j = 0; j < STREAMS; j++) {
        from_shani(abef1[j], cdgh1[j], &m[j][0], &m[j][1]);
        m[j][2] = pad0;
        m[j][3] = pad1;
        abef[j] = iv_abef;
        cdgh[j] = iv_cdgh;
    }
    compress_n(abef, cdgh, m, 0, 1);
    /* H7 = IV7 + h after round 63 = IV7 + e after round 60 = IV7 + F after round 61,
     * lane 0 of the ABEF state that compress_n left in cdgh. */
    for (int j = 0; j < STREAMS; j++)
        h7[j] = (uint32_t)_mm_cvtsi128_si32(cdgh[j]) + iv[7];
}

static inline void check(const hf_scan_args *args, const uint32_t h7[STREAMS], const uint32_t v[STREAMS],
                         const uint32_t n[STREAMS], int live, hf_hits *hits)
{
    for (int j = 0; j < live; j++)
        if (hf_bswap32(h7[j]) <= args->target[7])
            hf_confirm_sha256d(args, v[j], n[j], hits);
}

static TGT void scan_plain(const hf_scan_args *args, hf_hits *hits)
{
    uint32_t mid[8], version = args->versions[0];
    __m128i mid_abef, mid_cdgh;
    hf_midstate(args->header, version, mid);
    to_shani(mid, &mid_abef, &mid_cdgh);
    const uint32_t w0 = hf_be32(args->header + 64), w1 = hf_be32(args->header + 68),
                   w2 = hf_be32(args->header + 72);
    const __m128i m1 = _mm_set_epi32(0, 0, 0, (int)0x80000000), m2 = _mm_setzero_si128(),
                  m3 = _mm_set_epi32(640, 0, 0, 0);
    /* Rounds 0 and 1 (W0, W1 fixed) once per scan; see compress_n's from_round2. */
    const __m128i pre01 = _mm_sha256rnds2_epu32(
        mid_cdgh, mid_abef, _mm_add_epi32(_mm_set_epi32(0, 0, (int)w1, (int)w0), kvec(0)));
    uint32_t versions[STREAMS], nonces[STREAMS], h7[STREAMS];
    for (int j = 0; j < STREAMS; j++)
        versions[j] = version;
    for (uint64_t n0 = args->start; n0 < args->end; n0 += STREAMS) {
        __m128i m[STREAMS][4], abef[STREAMS], cdgh[STREAMS];
        int live = args->end - n0 >= STREAMS ? STREAMS : (int)(args->end - n0);
        for (int j = 0; j < STREAMS; j++) {
            nonces[j] = (uint32_t)(n0 + (uint64_t)j);
            m[j][0] = _mm_set_epi32((int)hf_bswap32(nonces[j]), (int)w2, (int)w1, (int)w0);
            m[j][1] = m1;
            m[j][2] = m2;
            m[j][3] = m3;
            abef[j] = mid_abef;
            cdgh[j] = pre01;
        }
        compress_n(abef, cdgh, m, 1, 0);
        for (int j = 0; j < STREAMS; j++) {
            abef[j] = _mm_add_epi32(abef[j], mid_abef);
            cdgh[j] = _mm_add_epi32(cdgh[j], mid_cdgh);
        }
        second_hash(abef, cdgh, h7);
        check(args, h7, versions, nonces, live, hits);
    }
}

static TGT int scan_rolled(const hf_scan_args *args, hf_hits *hits)
{
    size_t nv = args->nversions;
    /* Per version: midstate ABEF, CDGH, and the ABEF after rounds 0-1 (W0, W1 fixed). */
    __m128i *mids = malloc(3 * nv * sizeof *mids);
    if (!mids) {
        hits->oom = 1;
        return -1;
    }
    const __m128i kw01 = _mm_add_epi32(
        _mm_set_epi32(0, 0, (int)hf_be32(args->header + 68), (int)hf_be32(args->header + 64)), kvec(0));
    for (size_t v = 0; v < nv; v++) {
        uint32_t mid[8];
        hf_midstate(args->header, args->versions[v], mid);
        to_shani(mid, &mids[3 * v], &mids[3 * v + 1]);
        mids[3 * v + 2] = _mm_sha256rnds2_epu32(mids[3 * v + 1], mids[3 * v], kw01);
    }
    uint32_t versions[STREAMS], nonces[STREAMS], h7[STREAMS];
    for (uint64_t n = args->start; n < args->end; n++) {
        uint32_t w[64];
        __m128i kw[16];
        hf_block2_schedule(args->header, (uint32_t)n, w);
        for (int g = 0; g < 16; g++)
            kw[g] = _mm_add_epi32(_mm_loadu_si128((const __m128i *)(const void *)(w + 4 * g)), kvec(g));
        for (size_t v0 = 0; v0 < nv; v0 += STREAMS) {
            __m128i abef[STREAMS], cdgh[STREAMS];
            int live = nv - v0 >= STREAMS ? STREAMS : (int)(nv - v0);
            for (int j = 0; j < STREAMS; j++) {
                size_t v = v0 + (size_t)(j < live ? j : 0);
                versions[j] = args->versions[v];
                nonces[j] = (uint32_t)n;
                abef[j] = mids[3 * v];     /* rounds 0-1 done: see compress_n */
                cdgh[j] = mids[3 * v + 2];
            }
#pragma GCC unroll 4
            for (int j = 0; j < STREAMS; j++)
                abef[j] = _mm_sha256rnds2_epu32(abef[j], cdgh[j], _mm_shuffle_epi32(kw[0], 0x0E));
#pragma GCC unroll 16
            for (int g = 1; g < 16; g++)
#pragma GCC unroll 4
                for (int j = 0; j < STREAMS; j++)
                    rounds4(&abef[j], &cdgh[j], kw[g]);
            for (int j = 0; j < STREAMS; j++) {
                size_t v = v0 + (size_t)(j < live ? j : 0);
                abef[j] = _mm_add_epi32(abef[j], mids[3 * v]);
                cdgh[j] = _mm_add_epi32(cdgh[j], mids[3 * v + 1]);
            }
            second_hash(abef, cdgh, h7);
            check(args, h7, versions, nonces, live, hits);
        }
    }
    free(mids);
    return hits->oom ? -1 : 0;
}

TGT int hf_sha256d_scan_shani(const hf_scan_args *args, hf_hits *hits)
{
    if (args->nversions == 1) {
        scan_plain(args, hits);
        return hits->oom ? -1 : 0;
    }
    return scan_rolled(args, hits);
}
#endif
