/*
 * SHA-256d nonce scanners, LANES hashes per vector: a template included by simd_*.c.
 *
 * The includer defines: vec, LANES, TGT (target attribute), SFX (name suffix), and
 *   V_ADD V_XOR3 V_CH V_MAJ V_ROTR V_SHR V_SET1 V_LOADU V_STOREU V_ZERO_MASK V_BSWAP V_LANE_IDS
 * (V_ZERO_MASK returns a bit per lane that is zero). Everything else is shared, so
 * the SSE2, AVX2 and AVX-512 scanners are the same algorithm at different widths.
 *
 * Two kernels:
 *  - plain: lanes carry LANES consecutive nonces of one version. Block 2's first
 *    three rounds and every message word that does not depend on the nonce are
 *    scalars computed once per scan (uniform words are broadcast, never recomputed).
 *  - rolled (overt AsicBoost, BIP310): lanes carry LANES versions with one nonce.
 *    The versions change only the midstate; block 2 is identical in every lane, so its
 *    whole message schedule and the K + W sums are scalars computed once per nonce and
 *    broadcast, which removes the block-2 schedule from the vector work.
 * Both then run the second SHA-256 on the 32-byte digest, whose padding words are
 * constant, stop after round 60 (enough to know H7, the most significant limb of the
 * hash as a little-endian number) and hand surviving lanes to hf_confirm_sha256d().
 */

#define HF_CAT_(a, b) a##_##b
#define HF_CAT(a, b) HF_CAT_(a, b)
#define FN(name) HF_CAT(name, SFX)

#define BSIG0(x) V_XOR3(V_ROTR(x, 2), V_ROTR(x, 13), V_ROTR(x, 22))
#define BSIG1(x) V_XOR3(V_ROTR(x, 6), V_ROTR(x, 11), V_ROTR(x, 25))
#define SSIG0(x) V_XOR3(V_ROTR(x, 7), V_ROTR(x, 18), V_SHR(x, 3))
#define SSIG1(x) V_XOR3(V_ROTR(x, 17), V_ROTR(x, 19), V_SHR(x, 10))

/* One round; the caller rotates the variable names instead of moving eight registers. */
#define RND(a, b, c, d, e, f, g, h, kw)                                        \
    do {                                                                       \
        vec t1_ = V_ADD(V_ADD(h, kw), V_ADD(BSIG1(e), V_CH(e, f, g)));       \
        d = V_ADD(d, t1_);                                                     \
        h = V_ADD(t1_, V_ADD(BSIG0(a), V_MAJ(a, b, c)));                     \
    } while (0)
/* Rounds 57..60 of the second hash: only the new e matters for H7. */
#define RND_E(a, b, c, d, e, f, g, h, kw)                                      \
    do {                                                                       \
        d = V_ADD(d, V_ADD(V_ADD(h, kw), V_ADD(BSIG1(e), V_CH(e, f, g))));   \
    } while (0)

#define RI0(kw) RND(a, b, c, d, e, f, g, h, kw)
#define RI1(kw) RND(h, a, b, c, d, e, f, g, kw)
#define RI2(kw) RND(g, h, a, b, c, d, e, f, kw)
#define RI3(kw) RND(f, g, h, a, b, c, d, e, kw)
#define RI4(kw) RND(e, f, g, h, a, b, c, d, kw)
#define RI5(kw) RND(d, e, f, g, h, a, b, c, kw)
#define RI6(kw) RND(c, d, e, f, g, h, a, b, kw)
#define RI7(kw) RND(b, c, d, e, f, g, h, a, kw)
#define ROUNDS8(t, KW)                                                         \
    RI0(KW(t)); RI1(KW((t) + 1)); RI2(KW((t) + 2)); RI3(KW((t) + 3));          \
    RI4(KW((t) + 4)); RI5(KW((t) + 5)); RI6(KW((t) + 6)); RI7(KW((t) + 7))

#define SCHED(W, t) W[t] = V_ADD(V_ADD(SSIG1(W[(t) - 2]), W[(t) - 7]), V_ADD(SSIG0(W[(t) - 15]), W[(t) - 16]))

#define KW_VEC(t) V_ADD(W[t], V_SET1(hf_sha256_k[t]))
#define KW_UNI(t) V_SET1(kwu[t])

/* Scalar helpers (no vector code, so no target attribute needed). */
static inline uint32_t FN(ssig0)(uint32_t x) { return hf_rotr(x, 7) ^ hf_rotr(x, 18) ^ (x >> 3); }
static inline uint32_t FN(ssig1)(uint32_t x) { return hf_rotr(x, 17) ^ hf_rotr(x, 19) ^ (x >> 10); }

/* Block-2 words of the plain kernel that do not depend on the nonce. */
typedef struct {
    uint32_t kw[18]; /* K[t] + W[t] for t = 4..17 (uniform rounds) */
    uint32_t c18, c19, c30, c31, c32, w17; /* constant parts of W18, W19, W30..W33 */
} FN(plain_consts);

static void FN(plain_consts_init)(const uint8_t *header, FN(plain_consts) *pc)
{
    uint32_t w[18] = {0};
    w[0] = hf_be32(header + 64);
    w[1] = hf_be32(header + 68);
    w[2] = hf_be32(header + 72);
    w[4] = 0x80000000;
    w[15] = 640;
    w[16] = FN(ssig0)(w[1]) + w[0];
    w[17] = FN(ssig1)(w[15]) + FN(ssig0)(w[2]) + w[1];
    for (int t = 4; t < 18; t++)
        pc->kw[t] = hf_sha256_k[t] + w[t];
    pc->c18 = FN(ssig1)(w[16]) + w[2];            /* W18 = c18 + s0(W3) */
    pc->c19 = FN(ssig1)(w[17]) + FN(ssig0)(w[4]); /* W19 = c19 + W3 */
    pc->c30 = FN(ssig0)(w[15]);
    pc->c31 = FN(ssig0)(w[16]) + w[15];
    pc->c32 = FN(ssig0)(w[17]) + w[16];
    pc->w17 = w[17];
}

/* Second SHA-256 over the digest H (8 vectors), up to H7; returns H7 (with IV7 added). */
static inline TGT vec FN(second_hash_h7)(const vec H[8])
{
    static const uint32_t pad_kw[16] = {
        0, 0, 0, 0, 0, 0, 0, 0,
        0x80000000 + 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
        0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 256 + 0xc19bf174,
    };
    const uint32_t *iv = hf_sha256_iv;
    /* Round 0 from the IV is constant except for W0. */
    uint32_t t1c = iv[7] + (hf_rotr(iv[4], 6) ^ hf_rotr(iv[4], 11) ^ hf_rotr(iv[4], 25)) +
                   ((iv[4] & iv[5]) ^ (~iv[4] & iv[6])) + hf_sha256_k[0];
    uint32_t t2c = (hf_rotr(iv[0], 2) ^ hf_rotr(iv[0], 13) ^ hf_rotr(iv[0], 22)) +
                   ((iv[0] & iv[1]) ^ (iv[0] & iv[2]) ^ (iv[1] & iv[2]));
    vec W[64];
    for (int i = 0; i < 8; i++)
        W[i] = H[i];
    vec a = V_SET1(iv[0]), b = V_SET1(iv[1]), c = V_SET1(iv[2]);
    vec d = V_ADD(V_SET1(iv[3] + t1c), W[0]);
    vec e = V_SET1(iv[4]), f = V_SET1(iv[5]), g = V_SET1(iv[6]);
    vec h = V_ADD(V_SET1(t1c + t2c), W[0]);
    RI1(KW_VEC(1)); RI2(KW_VEC(2)); RI3(KW_VEC(3));
    RI4(KW_VEC(4)); RI5(KW_VEC(5)); RI6(KW_VEC(6)); RI7(KW_VEC(7));
#define KW_PAD(t) V_SET1(pad_kw[t])
    ROUNDS8(8, KW_PAD);
#undef KW_PAD
    /* Schedule: W8..W15 are the padding 0x80000000, 0 x 6, 256. */
    const vec w15 = V_SET1(256);
    W[16] = V_ADD(SSIG0(W[1]), W[0]);
    W[17] = V_ADD(V_ADD(SSIG0(W[2]), W[1]), V_SET1(FN(ssig1)(256)));
    W[18] = V_ADD(V_ADD(SSIG1(W[16]), SSIG0(W[3])), W[2]);
    W[19] = V_ADD(V_ADD(SSIG1(W[17]), SSIG0(W[4])), W[3]);
    W[20] = V_ADD(V_ADD(SSIG1(W[18]), SSIG0(W[5])), W[4]);
    W[21] = V_ADD(V_ADD(SSIG1(W[19]), SSIG0(W[6])), W[5]);
    W[22] = V_ADD(V_ADD(SSIG1(W[20]), SSIG0(W[7])), V_ADD(W[6], w15));
    W[23] = V_ADD(V_ADD(SSIG1(W[21]), W[16]), V_ADD(W[7], V_SET1(FN(ssig0)(0x80000000))));
    W[24] = V_ADD(V_ADD(SSIG1(W[22]), W[17]), V_SET1(0x80000000));
    W[25] = V_ADD(SSIG1(W[23]), W[18]);
    W[26] = V_ADD(SSIG1(W[24]), W[19]);
    W[27] = V_ADD(SSIG1(W[25]), W[20]);
    W[28] = V_ADD(SSIG1(W[26]), W[21]);
    W[29] = V_ADD(SSIG1(W[27]), W[22]);
    W[30] = V_ADD(V_ADD(SSIG1(W[28]), W[23]), V_SET1(FN(ssig0)(256)));
    W[31] = V_ADD(V_ADD(SSIG1(W[29]), W[24]), V_ADD(SSIG0(W[16]), w15));
    for (int t = 32; t < 61; t++)
        SCHED(W, t);
    ROUNDS8(16, KW_VEC);
    ROUNDS8(24, KW_VEC);
    ROUNDS8(32, KW_VEC);
    ROUNDS8(40, KW_VEC);
    ROUNDS8(48, KW_VEC);
    RI0(KW_VEC(56));
    RND_E(h, a, b, c, d, e, f, g, KW_VEC(57));
    RND_E(g, h, a, b, c, d, e, f, KW_VEC(58));
    RND_E(f, g, h, a, b, c, d, e, KW_VEC(59));
    RND_E(e, f, g, h, a, b, c, d, KW_VEC(60));
    return V_ADD(h, V_SET1(iv[7]));
}

/* Hand lanes whose H7 could meet the target to the scalar confirmation; lane i has
 * version versions[i] and nonce nonce0 + i * nonce_step. */
static inline TGT void FN(check_lanes)(const hf_scan_args *args, vec h7, unsigned live,
                                       const uint32_t *versions, uint32_t nonce0,
                                       uint32_t nonce_step, hf_hits *hits)
{
    uint32_t t7 = args->target[7];
    if (t7 == 0) {
        /* The usual mining case: the top limb must be zero; one vector compare. */
        unsigned m = (unsigned)V_ZERO_MASK(h7) & live;
        while (m) {
            int i = __builtin_ctz(m);
            hf_confirm_sha256d(args, versions[i], nonce0 + (uint32_t)i * nonce_step, hits);
            m &= m - 1;
        }
        return;
    }
    uint32_t lane[LANES] __attribute__((aligned(64)));
    V_STOREU(lane, h7);
    for (int i = 0; i < LANES; i++)
        if (((live >> i) & 1) && hf_bswap32(lane[i]) <= t7)
            hf_confirm_sha256d(args, versions[i], nonce0 + (uint32_t)i * nonce_step, hits);
}

/* Plain kernel: one version, LANES consecutive nonces per step. */
static TGT void FN(scan_plain)(const hf_scan_args *args, hf_hits *hits)
{
    uint32_t version = args->versions[0];
    uint32_t mid[8];
    hf_block2_start s3;
    FN(plain_consts) pc;
    hf_midstate(args->header, version, mid);
    hf_block2_start_init(mid, args->header, &s3);
    FN(plain_consts_init)(args->header, &pc);
    const uint32_t *kwu = pc.kw;

    uint32_t versions[LANES];
    for (int i = 0; i < LANES; i++)
        versions[i] = version;
    for (uint64_t n0 = args->start; n0 < args->end; n0 += LANES) {
        uint64_t left = args->end - n0;
        unsigned live = left >= LANES ? (unsigned)((1ull << LANES) - 1) : (unsigned)((1ull << left) - 1);
        /* W3 is the byte-swapped nonce, built in vector registers (was a scalar loop: 1-3%). */
        vec W[64];
        W[3] = V_BSWAP(V_ADD(V_SET1((uint32_t)n0), V_LANE_IDS));
        /* Round 3 finishes the precomputed state; see hf_block2_start. */
        vec f = V_SET1(s3.st[0]), g = V_SET1(s3.st[1]), h = V_SET1(s3.st[2]);
        vec b = V_SET1(s3.st[4]), c = V_SET1(s3.st[5]), d = V_SET1(s3.st[6]);
        vec a = V_ADD(V_SET1(s3.pre_e + hf_sha256_k[3]), W[3]);
        vec e = V_ADD(V_SET1(s3.pre_a + hf_sha256_k[3]), W[3]);
        RI4(KW_UNI(4)); RI5(KW_UNI(5)); RI6(KW_UNI(6)); RI7(KW_UNI(7));
        ROUNDS8(8, KW_UNI);
        /* Schedule: W4..W17 are uniform; only terms reached by W3 are vectors. */
        W[18] = V_ADD(V_SET1(pc.c18), SSIG0(W[3]));
        W[19] = V_ADD(V_SET1(pc.c19), W[3]);
        W[20] = V_ADD(SSIG1(W[18]), V_SET1(0x80000000));
        W[21] = SSIG1(W[19]);
        W[22] = V_ADD(SSIG1(W[20]), V_SET1(640));
        W[23] = V_ADD(SSIG1(W[21]), V_SET1(pc.kw[16] - hf_sha256_k[16]));
        W[24] = V_ADD(SSIG1(W[22]), V_SET1(pc.w17));
        for (int t = 25; t < 30; t++)
            W[t] = V_ADD(SSIG1(W[t - 2]), W[t - 7]);
        W[30] = V_ADD(V_ADD(SSIG1(W[28]), W[23]), V_SET1(pc.c30));
        W[31] = V_ADD(V_ADD(SSIG1(W[29]), W[24]), V_SET1(pc.c31));
        W[32] = V_ADD(V_ADD(SSIG1(W[30]), W[25]), V_SET1(pc.c32));
        W[33] = V_ADD(V_ADD(SSIG1(W[31]), W[26]), V_ADD(SSIG0(W[18]), V_SET1(pc.w17)));
        for (int t = 34; t < 64; t++)
            SCHED(W, t);
        RI0(KW_UNI(16)); RI1(KW_UNI(17));
        RI2(KW_VEC(18)); RI3(KW_VEC(19)); RI4(KW_VEC(20)); RI5(KW_VEC(21));
        RI6(KW_VEC(22)); RI7(KW_VEC(23));
        ROUNDS8(24, KW_VEC);
        ROUNDS8(32, KW_VEC);
        ROUNDS8(40, KW_VEC);
        ROUNDS8(48, KW_VEC);
        ROUNDS8(56, KW_VEC);
        vec H[8] = {
            V_ADD(a, V_SET1(mid[0])), V_ADD(b, V_SET1(mid[1])), V_ADD(c, V_SET1(mid[2])),
            V_ADD(d, V_SET1(mid[3])), V_ADD(e, V_SET1(mid[4])), V_ADD(f, V_SET1(mid[5])),
            V_ADD(g, V_SET1(mid[6])), V_ADD(h, V_SET1(mid[7])),
        };
        FN(check_lanes)(args, FN(second_hash_h7)(H), live, versions, (uint32_t)n0, 1, hits);
    }
}

/* Per group of LANES versions: the lane-wise midstate and the state before round 3. */
typedef struct {
    vec mid[8];
    vec st[8];
    vec pre_e, pre_a;
    uint32_t versions[LANES];
    unsigned live;
} FN(version_group);

static TGT void FN(version_group_init)(const hf_scan_args *args, size_t first, FN(version_group) *vg)
{
    uint32_t mid[8][LANES] __attribute__((aligned(64)));
    uint32_t st[8][LANES] __attribute__((aligned(64)));
    uint32_t pe[LANES] __attribute__((aligned(64))), pa[LANES] __attribute__((aligned(64)));
    vg->live = 0;
    for (int i = 0; i < LANES; i++) {
        /* Pad a short last group with its first version; padded lanes are never reported. */
        size_t v = first + (size_t)i < args->nversions ? first + (size_t)i : first;
        if (first + (size_t)i < args->nversions)
            vg->live |= 1u << i;
        uint32_t m[8];
        hf_block2_start s3;
        vg->versions[i] = args->versions[v];
        hf_midstate(args->header, args->versions[v], m);
        hf_block2_start_init(m, args->header, &s3);
        for (int k = 0; k < 8; k++) {
            mid[k][i] = m[k];
            st[k][i] = s3.st[k];
        }
        pe[i] = s3.pre_e;
        pa[i] = s3.pre_a;
    }
    for (int k = 0; k < 8; k++) {
        vg->mid[k] = V_LOADU(mid[k]);
        vg->st[k] = V_LOADU(st[k]);
    }
    vg->pre_e = V_LOADU(pe);
    vg->pre_a = V_LOADU(pa);
}

/* Rolled kernel: LANES versions of one nonce per step, block-2 schedule shared. */
static TGT int FN(scan_rolled)(const hf_scan_args *args, hf_hits *hits)
{
    size_t ngroups = (args->nversions + LANES - 1) / LANES;
    size_t bytes = (ngroups * sizeof(FN(version_group)) + 63) & ~(size_t)63;
    FN(version_group) *groups = aligned_alloc(64, bytes);
    if (!groups) {
        hits->oom = 1;
        return -1;
    }
    for (size_t gi = 0; gi < ngroups; gi++)
        FN(version_group_init)(args, gi * LANES, &groups[gi]);

    for (uint64_t n = args->start; n < args->end; n++) {
        uint32_t w[64], kwu[64];
        hf_block2_schedule(args->header, (uint32_t)n, w);
        for (int t = 0; t < 64; t++)
            kwu[t] = hf_sha256_k[t] + w[t];
        for (size_t gi = 0; gi < ngroups; gi++) {
            const FN(version_group) *vg = &groups[gi];
            vec f = vg->st[0], g = vg->st[1], h = vg->st[2];
            vec b = vg->st[4], c = vg->st[5], d = vg->st[6];
            vec a = V_ADD(vg->pre_e, V_SET1(kwu[3]));
            vec e = V_ADD(vg->pre_a, V_SET1(kwu[3]));
            RI4(KW_UNI(4)); RI5(KW_UNI(5)); RI6(KW_UNI(6)); RI7(KW_UNI(7));
            ROUNDS8(8, KW_UNI);
            ROUNDS8(16, KW_UNI);
            ROUNDS8(24, KW_UNI);
            ROUNDS8(32, KW_UNI);
            ROUNDS8(40, KW_UNI);
            ROUNDS8(48, KW_UNI);
            ROUNDS8(56, KW_UNI);
            vec H[8] = {
                V_ADD(a, vg->mid[0]), V_ADD(b, vg->mid[1]), V_ADD(c, vg->mid[2]),
                V_ADD(d, vg->mid[3]), V_ADD(e, vg->mid[4]), V_ADD(f, vg->mid[5]),
                V_ADD(g, vg->mid[6]), V_ADD(h, vg->mid[7]),
            };
            FN(check_lanes)(args, FN(second_hash_h7)(H), vg->live, vg->versions, (uint32_t)n, 0, hits);
        }
    }
    free(groups);
    return hits->oom ? -1 : 0;
}

TGT int FN(hf_sha256d_scan)(const hf_scan_args *args, hf_hits *hits)
{
    if (args->nversions == 1) {
        FN(scan_plain)(args, hits);
        return hits->oom ? -1 : 0;
    }
    return FN(scan_rolled)(args, hits);
}

#undef KW_VEC
#undef KW_UNI
