/*
 * scrypt(1024, 1, 1) scanner, LANES independent hashes per vector ("vertical" lanes):
 * a template included by simd_*.c after sha256_lanes.h (it reuses FN, vec, V_ADD...).
 *
 * Salsa20/8 has no cross-lane operations when word k of every lane sits in vector k, so
 * the mix runs LANES hashes at the cost of one. Every lane reads its own V[j], so the
 * scratchpad is lane-major, V[i][lane][32 words]: each lane's 128-byte block is
 * contiguous and is written and read with 32 / LANES whole-vector moves, turned to and
 * from the word-per-vector form of the mix by in-register LANES x LANES transposes
 * (HF_SCRYPT_TRANSPOSE). No gather and no scatter. Measured on a Xeon with AVX-512
 * (one thread, same run): the earlier scatter + gather version did 27.9 kH/s, this one
 * 41-42 kH/s; AVX2 gathers -> transposes 19.2 -> 21.0 kH/s; SSE2 10.96 -> 11.2 kH/s.
 * (Tried and dropped, no gain or a loss there: two lane groups with interleaved
 * Salsa steps (spills), software prefetch of the next V[j], huge pages.)
 * PBKDF2 before and after is scalar per lane (about 4% of the work) via hf_sha256_compress.
 *
 * Extra ISA macros: V_XOR, V_AND, V_SHL, V_LANE_IDS (0, 1, ..., LANES-1),
 * HF_SCRYPT_SHIFT (log2(32 * LANES)) and HF_SCRYPT_TRANSPOSE(r): r[i] word k <-> r[k] word i
 * for r[0..LANES-1].
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

/* V[i][lane] = lane's 32 words of X: 32 / LANES transposes, then whole-vector stores. */
static inline TGT void FN(romix_store)(uint32_t *Vi, const vec X[32])
{
    vec t[LANES];
    for (int q = 0; q < 32 / LANES; q++) {
        for (int k = 0; k < LANES; k++)
            t[k] = X[LANES * q + k];
        HF_SCRYPT_TRANSPOSE(t);
        for (int l = 0; l < LANES; l++)
            V_STOREU(Vi + 32 * l + LANES * q, t[l]);
    }
}

/* X ^= V[j_lane][lane] for every lane; off[l] is that block's word offset in V. */
static inline TGT void FN(romix_xor)(vec X[32], const uint32_t *V, const uint32_t *off)
{
    vec t[LANES];
    for (int q = 0; q < 32 / LANES; q++) {
        for (int l = 0; l < LANES; l++)
            t[l] = V_LOADU(V + off[l] + LANES * q);
        HF_SCRYPT_TRANSPOSE(t);
        for (int k = 0; k < LANES; k++)
            X[LANES * q + k] = V_XOR(X[LANES * q + k], t[k]);
    }
}

/* Word offsets of each lane's block V[j][lane], j = Integerify(X) mod N = X16 mod N. */
static inline TGT void FN(romix_offsets)(const vec X16, uint32_t *off)
{
    const vec lane_off = V_SHL(V_LANE_IDS, 5);
    V_STOREU(off, V_ADD(V_SHL(V_AND(X16, V_SET1(HF_SCRYPT_N - 1)), HF_SCRYPT_SHIFT), lane_off));
}

static TGT void FN(romix)(vec X[32], uint32_t *V)
{
    for (int i = 0; i < HF_SCRYPT_N; i++) {
        FN(romix_store)(V + (size_t)i * 32 * LANES, X);
        FN(salsa8)(X, X + 16);
        FN(salsa8)(X + 16, X);
    }
    uint32_t off[LANES] __attribute__((aligned(64)));
    FN(romix_offsets)(X[16], off);
    for (int i = 0; i < HF_SCRYPT_N; i++) {
        FN(romix_xor)(X, V, off);
        FN(salsa8)(X, X + 16);
        FN(salsa8)(X + 16, X);
        FN(romix_offsets)(X[16], off);
    }
}

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
