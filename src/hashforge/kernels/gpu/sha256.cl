/* SHA-256 pieces shared by the hashforge GPU kernels (OpenCL C or CUDA, through a prelude).
 *
 * Words are big-endian as SHA-256 reads them; the callers byte-swap where a block header or
 * scrypt stores little-endian words. sha256_block() transforms `s` by one 64-byte block `w`
 * (`w` is only read). */

CONSTANT_DATA uint K256[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
    0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
    0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u};

#define SHA_IV0 0x6a09e667u
#define SHA_IV1 0xbb67ae85u
#define SHA_IV2 0x3c6ef372u
#define SHA_IV3 0xa54ff53au
#define SHA_IV4 0x510e527fu
#define SHA_IV5 0x9b05688cu
#define SHA_IV6 0x1f83d9abu
#define SHA_IV7 0x5be0cd19u

#define BSIG0(a) (ROTR32(a, 2) ^ ROTR32(a, 13) ^ ROTR32(a, 22))
#define BSIG1(e) (ROTR32(e, 6) ^ ROTR32(e, 11) ^ ROTR32(e, 25))
#define SSIG0(x) (ROTR32(x, 7) ^ ROTR32(x, 18) ^ ((x) >> 3))
#define SSIG1(x) (ROTR32(x, 17) ^ ROTR32(x, 19) ^ ((x) >> 10))
#define CH(e, f, g) BITSELECT(g, f, e)
#define MAJ(a, b, c) BITSELECT(a, b, (c) ^ (a))

/* The message schedule lives in sixteen scalars w0..w15 (a ring: w[i & 15]), so no compiler
 * has to prove an array promotable to registers. SCHED(wi, w[i-2], w[i-7], w[i-15]). */
#define SCHED(wi, wm2, wm7, wm15) wi += SSIG1(wm2) + (wm7) + SSIG0(wm15)

/* One round on the locals a..h, with the register rotation done by assignment. */
#define RND(i, wi)                                                      \
    {                                                                   \
        uint t1_ = h + BSIG1(e) + CH(e, f, g) + K256[i] + (wi);        \
        uint t2_ = BSIG0(a) + MAJ(a, b, c);                             \
        h = g; g = f; f = e; e = d + t1_; d = c; c = b; b = a; a = t1_ + t2_; \
    }

/* Rounds k..k+15 (k a multiple of 16, k >= 16), each extending the schedule first. */
#define RND16_SCHED(k)                                                  \
    SCHED(w0, w14, w9, w1);   RND((k) + 0, w0);                         \
    SCHED(w1, w15, w10, w2);  RND((k) + 1, w1);                         \
    SCHED(w2, w0, w11, w3);   RND((k) + 2, w2);                         \
    SCHED(w3, w1, w12, w4);   RND((k) + 3, w3);                         \
    SCHED(w4, w2, w13, w5);   RND((k) + 4, w4);                         \
    SCHED(w5, w3, w14, w6);   RND((k) + 5, w5);                         \
    SCHED(w6, w4, w15, w7);   RND((k) + 6, w6);                         \
    SCHED(w7, w5, w0, w8);    RND((k) + 7, w7);                         \
    SCHED(w8, w6, w1, w9);    RND((k) + 8, w8);                         \
    SCHED(w9, w7, w2, w10);   RND((k) + 9, w9);                         \
    SCHED(w10, w8, w3, w11);  RND((k) + 10, w10);                       \
    SCHED(w11, w9, w4, w12);  RND((k) + 11, w11);                       \
    SCHED(w12, w10, w5, w13); RND((k) + 12, w12);                       \
    SCHED(w13, w11, w6, w14); RND((k) + 13, w13);                       \
    SCHED(w14, w12, w7, w15); RND((k) + 14, w14);                       \
    SCHED(w15, w13, w8, w0);  RND((k) + 15, w15);

DEVICE_FN void sha256_init(uint *s)
{
    s[0] = SHA_IV0; s[1] = SHA_IV1; s[2] = SHA_IV2; s[3] = SHA_IV3;
    s[4] = SHA_IV4; s[5] = SHA_IV5; s[6] = SHA_IV6; s[7] = SHA_IV7;
}

/* s = SHA-256 compression of s with the block w[0..15] (w is only read). */
DEVICE_FN void sha256_block(uint *s, const uint *w)
{
    uint w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5], w6 = w[6], w7 = w[7];
    uint w8 = w[8], w9 = w[9], w10 = w[10], w11 = w[11], w12 = w[12], w13 = w[13], w14 = w[14];
    uint w15 = w[15];
    uint a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
    RND(0, w0); RND(1, w1); RND(2, w2); RND(3, w3); RND(4, w4); RND(5, w5); RND(6, w6);
    RND(7, w7); RND(8, w8); RND(9, w9); RND(10, w10); RND(11, w11); RND(12, w12);
    RND(13, w13); RND(14, w14); RND(15, w15);
    RND16_SCHED(16)
    RND16_SCHED(32)
    RND16_SCHED(48)
    s[0] += a; s[1] += b; s[2] += c; s[3] += d; s[4] += e; s[5] += f; s[6] += g; s[7] += h;
}

/* Is the 256-bit little-endian value `h` (h[7] most significant) <= target `t`? */
DEVICE_FN int le256_at_most(const uint *h, GLOBAL const uint *t)
{
    for (int k = 7; k >= 0; k--) {
        if (h[k] < t[k]) return 1;
        if (h[k] > t[k]) return 0;
    }
    return 1;
}

/* Report a qualifying (nonce, version index): an atomic slot in `out` (out[0] counts every hit,
 * even those past `capacity`, so the host can see the buffer was too small and rerun). */
DEVICE_FN void report_hit(GLOBAL uint *out, uint capacity, uint nonce, uint vi)
{
    uint slot = ATOMIC_INC(out);
    if (slot < capacity) {
        out[1 + 2 * slot] = nonce;
        out[2 + 2 * slot] = vi;
    }
}
