/*
 * scrypt(1024, 1, 1) scanner, LANES independent hashes per vector ("vertical" lanes):
 * a template included by simd_*.c after sha256_lanes.h (it reuses FN, vec, V_ADD...).
 *
 * Salsa20/8 has no cross-lane operations when word k of every lane sits in vector k, so
 * the mix runs LANES hashes at the cost of one. Reading V[j] is a gather, because every
 * lane picks its own j. Two scratchpad layouts (HF_SCRYPT_LANE_MAJOR, set per ISA):
 *  - lane-major V[i][lane][word] (AVX-512): each lane's 128-byte block is two cache
 *    lines, so a gather round touches 2 lines per lane instead of one per word and lane
 *    (16x fewer); writing it needs a scatter, which AVX-512 has. Measured: +20%.
 *  - word-major V[i][word][lane] (SSE2, AVX2): whole-vector stores; without a hardware
 *    scatter, the store side would cost more than the cache lines save.
 * PBKDF2 before and after is scalar per lane (about 2% of the work) via hf_sha256_compress.
 *
 * Extra ISA macros: V_XOR, V_AND, V_SHL, V_GATHER(base, idx) (idx in 32-bit words),
 * V_LANE_IDS (0, 1, ..., LANES-1), HF_SCRYPT_SHIFT, HF_SCRYPT_LANE_MAJOR and, for the
 * lane-major layout, V_SCATTER(base, idx, v).
 */

#define SQR(x, a, b, c, n) x[a] = V_XOR(x[a], V_ROTR(V_ADD(x[b], x[c]), 32 - (n)))

static inline TGT void FN(salsa8)(vec B[16], const vec Bx[16])
{
    vec x[16];
    for (int i = 0; i < 16; i++)
        x[i] = B[i] = V_XOR(B[i], Bx[i]);
    for (int r = 0; r < 8; r += 2) {
        SQR(x, 4, 0, 12, 7);  SQR(x, 9, 5, 1, 7);   SQR(x, 14, 10, 6, 7);  SQR(x, 3, 15, 11, 7);
        SQR(x, 8, 4, 0, 9);   SQR(x, 13, 9, 5, 9);  SQR(x, 2, 14, 10, 9);  SQR(x, 7, 3, 15, 9);
        SQR(x, 12, 8, 4, 13); SQR(x, 1, 13, 9, 13); SQR(x, 6, 2, 14, 13);  SQR(x, 11, 7, 3, 13);
        SQR(x, 0, 12, 8, 18); SQR(x, 5, 1, 13, 18); SQR(x, 10, 6, 2, 18);  SQR(x, 15, 11, 7, 18);

        SQR(x, 1, 0, 3, 7);   SQR(x, 6, 5, 4, 7);   SQR(x, 11, 10, 9, 7);  SQR(x, 12, 15, 14, 7);
        SQR(x, 2, 1, 0, 9);   SQR(x, 7, 6, 5, 9);   SQR(x, 8, 11, 10, 9);  SQR(x, 13, 12, 15, 9);
        SQR(x, 3, 2, 1, 13);  SQR(x, 4, 7, 6, 13);  SQR(x, 9, 8, 11, 13);  SQR(x, 14, 13, 12, 13);
        SQR(x, 0, 3, 2, 18);  SQR(x, 5, 4, 7, 18);  SQR(x, 10, 9, 8, 18);  SQR(x, 15, 14, 13, 18);
    }
    for (int i = 0; i < 16; i++)
        B[i] = V_ADD(B[i], x[i]);
}

#if HF_SCRYPT_LANE_MAJOR
/* V[i][lane][word]: lane l's block at word offset (i * LANES + l) * 32. */
#define ROMIX_BLOCK(j) V_ADD(V_SHL(j, HF_SCRYPT_SHIFT), lane_off)
#define ROMIX_LANE_OFF V_SHL(V_LANE_IDS, 5)
#define ROMIX_STORE(Vi, k, x) V_SCATTER((Vi) + (k), lane_off, x)
#define ROMIX_WORD(k) (k)
#else
/* V[i][word][lane]: lane l's word k at word offset (i * 32 + k) * LANES + l. */
#define ROMIX_BLOCK(j) V_ADD(V_SHL(j, HF_SCRYPT_SHIFT), lane_off)
#define ROMIX_LANE_OFF V_LANE_IDS
#define ROMIX_STORE(Vi, k, x) V_STOREU((Vi) + (k) * LANES, x)
#define ROMIX_WORD(k) ((k) * LANES)
#endif

static TGT void FN(romix)(vec X[32], uint32_t *V)
{
    const vec lane_off = ROMIX_LANE_OFF;
    for (int i = 0; i < HF_SCRYPT_N; i++) {
        uint32_t *Vi = V + (size_t)i * 32 * LANES;
        for (int k = 0; k < 32; k++)
            ROMIX_STORE(Vi, k, X[k]);
        FN(salsa8)(X, X + 16);
        FN(salsa8)(X + 16, X);
    }
    const vec jmask = V_SET1(HF_SCRYPT_N - 1);
    for (int i = 0; i < HF_SCRYPT_N; i++) {
        vec idx = ROMIX_BLOCK(V_AND(X[16], jmask)); /* Integerify(X) mod N, per lane */
        for (int k = 0; k < 32; k++)
            X[k] = V_XOR(X[k], V_GATHER(V + ROMIX_WORD(k), idx));
        FN(salsa8)(X, X + 16);
        FN(salsa8)(X + 16, X);
    }
}

#undef ROMIX_BLOCK
#undef ROMIX_LANE_OFF
#undef ROMIX_STORE
#undef ROMIX_WORD

TGT int FN(hf_scrypt_scan)(const hf_scan_args *args, hf_hits *hits)
{
    size_t scratch_bytes = (size_t)HF_SCRYPT_N * 32 * sizeof(vec);
    uint32_t *V = aligned_alloc(64, scratch_bytes);
    uint32_t *confirm_scratch = malloc(HF_SCRYPT_N * 32 * sizeof(uint32_t));
    if (!V || !confirm_scratch) {
        free(V);
        free(confirm_scratch);
        hits->oom = 1;
        return -1;
    }
    /* Lanes take (nonce, version) pairs in nonce-major order, LANES at a time. */
    uint64_t total = (args->end - args->start) * (uint64_t)args->nversions;
    uint8_t header[HF_HEADER_BYTES];
    memcpy(header, args->header, sizeof header);
    for (uint64_t k0 = 0; k0 < total; k0 += LANES) {
        uint32_t xs[32][LANES] __attribute__((aligned(64)));
        uint32_t versions[LANES], nonces[LANES];
        int live = total - k0 >= LANES ? LANES : (int)(total - k0);
        for (int l = 0; l < LANES; l++) {
            uint64_t k = k0 + (uint64_t)(l < live ? l : 0); /* idle lanes redo lane 0 */
            nonces[l] = (uint32_t)(args->start + k / args->nversions);
            versions[l] = args->versions[k % args->nversions];
            uint32_t x[32];
            hf_put_le32(header, versions[l]);
            hf_put_le32(header + 76, nonces[l]);
            hf_scrypt_pbkdf2_in(header, x);
            for (int w = 0; w < 32; w++)
                xs[w][l] = x[w];
        }
        vec X[32];
        for (int w = 0; w < 32; w++)
            X[w] = V_LOADU(xs[w]);
        FN(romix)(X, V);
        for (int w = 0; w < 32; w++)
            V_STOREU(xs[w], X[w]);
        for (int l = 0; l < live; l++) {
            uint32_t x[32];
            uint8_t hash[32];
            for (int w = 0; w < 32; w++)
                x[w] = xs[w][l];
            hf_put_le32(header, versions[l]);
            hf_put_le32(header + 76, nonces[l]);
            hf_scrypt_pbkdf2_out(header, x, hash);
            if (hf_hash_le_target(hash, args->target))
                hf_confirm_scrypt(args, versions[l], nonces[l], confirm_scratch, hits);
        }
    }
    free(V);
    free(confirm_scratch);
    return hits->oom ? -1 : 0;
}

#undef SQR
