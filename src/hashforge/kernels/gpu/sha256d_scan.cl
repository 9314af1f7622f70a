/* SHA-256d nonce scan: one work-item per nonce, looping over the rolled versions.
 *
 * Host side (hashforge.kernels.gpu._host) precomputes, per version, a record of REC_WORDS words:
 *   [0..7]   midstate: SHA-256 state after the header's first 64 bytes
 *   [8..15]  state a..h after rounds 0-2 of the second block (merkle tail, time, bits: no nonce)
 *   [16]     round 3's T1 without its message word: h + S1(e) + Ch(e,f,g) + K[3]
 *   [17]     round 3's T2: S0(a) + Maj(a,b,c)
 * params: [0..2] the second block's words 0-2, [8..15] the target as little-endian words.
 * The second hash runs on the fixed-length 32-byte digest; after round 60 the top word of the
 * result is known (H7 = IV7 + e), so most nonces are rejected three rounds early. */

#define REC_WORDS 20

KERNEL void sha256d_scan(GLOBAL const uint *recs, const uint nversions, GLOBAL const uint *params,
                         const uint base, const uint count, GLOBAL uint *out, const uint capacity)
{
    const uint gid = GLOBAL_ID();
    if (gid >= count) return;
    const uint nonce = base + gid;
    const uint target_top = params[15];

    for (uint vi = 0; vi < nversions; vi++) {
        GLOBAL const uint *r = recs + vi * REC_WORDS;
        /* second block of the header: merkle tail, time, bits, nonce, then padding (80 bytes) */
        uint w0 = params[0], w1 = params[1], w2 = params[2], w3 = BSWAP32(nonce);
        uint w4 = 0x80000000u, w5 = 0, w6 = 0, w7 = 0, w8 = 0, w9 = 0, w10 = 0, w11 = 0;
        uint w12 = 0, w13 = 0, w14 = 0, w15 = 640u;
        uint a = r[8], b = r[9], c = r[10], d = r[11], e = r[12], f = r[13], g = r[14], h = r[15];
        {   /* round 3: only the nonce word is new */
            uint t1_ = r[16] + w3;
            h = g; g = f; f = e; e = d + t1_; d = c; c = b; b = a; a = t1_ + r[17];
        }
        RND(4, w4); RND(5, w5); RND(6, w6); RND(7, w7); RND(8, w8); RND(9, w9);
        RND(10, w10); RND(11, w11); RND(12, w12); RND(13, w13); RND(14, w14); RND(15, w15);
        RND16_SCHED(16)
        RND16_SCHED(32)
        RND16_SCHED(48)
        /* the first hash is the second hash's whole message (fixed length: 32 bytes) */
        w0 = r[0] + a; w1 = r[1] + b; w2 = r[2] + c; w3 = r[3] + d;
        w4 = r[4] + e; w5 = r[5] + f; w6 = r[6] + g; w7 = r[7] + h;
        w8 = 0x80000000u; w9 = 0; w10 = 0; w11 = 0; w12 = 0; w13 = 0; w14 = 0; w15 = 256u;
        a = SHA_IV0; b = SHA_IV1; c = SHA_IV2; d = SHA_IV3;
        e = SHA_IV4; f = SHA_IV5; g = SHA_IV6; h = SHA_IV7;
        RND(0, w0); RND(1, w1); RND(2, w2); RND(3, w3); RND(4, w4); RND(5, w5); RND(6, w6);
        RND(7, w7); RND(8, w8); RND(9, w9); RND(10, w10); RND(11, w11); RND(12, w12);
        RND(13, w13); RND(14, w14); RND(15, w15);
        RND16_SCHED(16)
        RND16_SCHED(32)
        SCHED(w0, w14, w9, w1);   RND(48, w0);
        SCHED(w1, w15, w10, w2);  RND(49, w1);
        SCHED(w2, w0, w11, w3);   RND(50, w2);
        SCHED(w3, w1, w12, w4);   RND(51, w3);
        SCHED(w4, w2, w13, w5);   RND(52, w4);
        SCHED(w5, w3, w14, w6);   RND(53, w5);
        SCHED(w6, w4, w15, w7);   RND(54, w6);
        SCHED(w7, w5, w0, w8);    RND(55, w7);
        SCHED(w8, w6, w1, w9);    RND(56, w8);
        SCHED(w9, w7, w2, w10);   RND(57, w9);
        SCHED(w10, w8, w3, w11);  RND(58, w10);
        SCHED(w11, w9, w4, w12);  RND(59, w11);
        SCHED(w12, w10, w5, w13); RND(60, w12);
        /* e is now what h will be after round 63: the hash's most significant LE word */
        if (BSWAP32(SHA_IV7 + e) > target_top) continue;
        SCHED(w13, w11, w6, w14); RND(61, w13);
        SCHED(w14, w12, w7, w15); RND(62, w14);
        SCHED(w15, w13, w8, w0);  RND(63, w15);
        uint le[8];
        le[0] = BSWAP32(SHA_IV0 + a); le[1] = BSWAP32(SHA_IV1 + b);
        le[2] = BSWAP32(SHA_IV2 + c); le[3] = BSWAP32(SHA_IV3 + d);
        le[4] = BSWAP32(SHA_IV4 + e); le[5] = BSWAP32(SHA_IV5 + f);
        le[6] = BSWAP32(SHA_IV6 + g); le[7] = BSWAP32(SHA_IV7 + h);
        if (le256_at_most(le, params + 8)) report_hit(out, capacity, nonce, vi);
    }
}
