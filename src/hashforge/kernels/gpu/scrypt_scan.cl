/* scrypt(N=1024, r=1, p=1) nonce scan (Litecoin proof of work): one work-item per nonce, its
 * V array (128 KiB, or 128 KiB / LOOKUP_GAP) in global memory at V + gid * V_WORDS.
 *
 * Host side precomputes, per version, a record of SREC_WORDS words:
 *   [0..7]  SHA-256 state after the header's first 64 bytes (for the HMAC key SHA256(header))
 *   [8]     header word 0 (the version) as SHA-256 reads it
 * params: [1..18] header words 1-18 (big-endian, as SHA-256 reads them),
 *         [24..31] the target as little-endian words.
 * With LOOKUP_GAP = g only every g-th V entry is stored and the others are recomputed on
 * demand: 1/g of the memory for about (g - 1) / 2 extra BlockMix calls per lookup. */

#ifndef LOOKUP_GAP
#define LOOKUP_GAP 1
#endif
#define SCRYPT_N 1024
#define SREC_WORDS 12
#define V_ENTRIES ((SCRYPT_N + LOOKUP_GAP - 1) / LOOKUP_GAP)
#define V_WORDS (32 * V_ENTRIES)

/* B = Salsa20/8(B ^ Bx), the scrypt BlockMix half-step (cpuminer's xor_salsa8). */
DEVICE_FN void xor_salsa8(uint *B, const uint *Bx)
{
    uint x00, x01, x02, x03, x04, x05, x06, x07, x08, x09, x10, x11, x12, x13, x14, x15;
    x00 = (B[0] ^= Bx[0]); x01 = (B[1] ^= Bx[1]); x02 = (B[2] ^= Bx[2]); x03 = (B[3] ^= Bx[3]);
    x04 = (B[4] ^= Bx[4]); x05 = (B[5] ^= Bx[5]); x06 = (B[6] ^= Bx[6]); x07 = (B[7] ^= Bx[7]);
    x08 = (B[8] ^= Bx[8]); x09 = (B[9] ^= Bx[9]); x10 = (B[10] ^= Bx[10]); x11 = (B[11] ^= Bx[11]);
    x12 = (B[12] ^= Bx[12]); x13 = (B[13] ^= Bx[13]); x14 = (B[14] ^= Bx[14]); x15 = (B[15] ^= Bx[15]);
#pragma unroll
    for (int i = 0; i < 4; i++) {
        /* columns */
        x04 ^= ROTL32(x00 + x12, 7);  x08 ^= ROTL32(x04 + x00, 9);
        x12 ^= ROTL32(x08 + x04, 13); x00 ^= ROTL32(x12 + x08, 18);
        x09 ^= ROTL32(x05 + x01, 7);  x13 ^= ROTL32(x09 + x05, 9);
        x01 ^= ROTL32(x13 + x09, 13); x05 ^= ROTL32(x01 + x13, 18);
        x14 ^= ROTL32(x10 + x06, 7);  x02 ^= ROTL32(x14 + x10, 9);
        x06 ^= ROTL32(x02 + x14, 13); x10 ^= ROTL32(x06 + x02, 18);
        x03 ^= ROTL32(x15 + x11, 7);  x07 ^= ROTL32(x03 + x15, 9);
        x11 ^= ROTL32(x07 + x03, 13); x15 ^= ROTL32(x11 + x07, 18);
        /* rows */
        x01 ^= ROTL32(x00 + x03, 7);  x02 ^= ROTL32(x01 + x00, 9);
        x03 ^= ROTL32(x02 + x01, 13); x00 ^= ROTL32(x03 + x02, 18);
        x06 ^= ROTL32(x05 + x04, 7);  x07 ^= ROTL32(x06 + x05, 9);
        x04 ^= ROTL32(x07 + x06, 13); x05 ^= ROTL32(x04 + x07, 18);
        x11 ^= ROTL32(x10 + x09, 7);  x08 ^= ROTL32(x11 + x10, 9);
        x09 ^= ROTL32(x08 + x11, 13); x10 ^= ROTL32(x09 + x08, 18);
        x12 ^= ROTL32(x15 + x14, 7);  x13 ^= ROTL32(x12 + x15, 9);
        x14 ^= ROTL32(x13 + x12, 13); x15 ^= ROTL32(x14 + x13, 18);
    }
    B[0] += x00; B[1] += x01; B[2] += x02; B[3] += x03; B[4] += x04; B[5] += x05; B[6] += x06;
    B[7] += x07; B[8] += x08; B[9] += x09; B[10] += x10; B[11] += x11; B[12] += x12;
    B[13] += x13; B[14] += x14; B[15] += x15;
}

DEVICE_FN void block_mix(uint *X)
{
    xor_salsa8(X, X + 16);
    xor_salsa8(X + 16, X);
}

/* s = state after one more block of 8 digest words + SHA padding for a 96-byte message (HMAC outer). */
DEVICE_FN void hmac_outer(uint *s, const uint *digest)
{
    uint w[16];
    for (int k = 0; k < 8; k++) w[k] = digest[k];
    w[8] = 0x80000000u;
    for (int k = 9; k < 15; k++) w[k] = 0;
    w[15] = 768u;
    sha256_block(s, w);
}

KERNEL void scrypt_scan(GLOBAL const uint *recs, const uint nversions, GLOBAL const uint *params,
                        const uint base, const uint count, GLOBAL uint *out, const uint capacity,
                        GLOBAL uint *V)
{
    const uint gid = GLOBAL_ID();
    if (gid >= count) return;
    const uint nonce = base + gid;
    const uint nonce_be = BSWAP32(nonce);
    GLOBAL uint *v = V + (INDEX_T)gid * V_WORDS;

    for (uint vi = 0; vi < nversions; vi++) {
        GLOBAL const uint *r = recs + vi * SREC_WORDS;
        uint w[16], key[8], istate[8], ostate[8], inner[8], t[8], X[32];

        /* HMAC key: the header is longer than a block, so key = SHA256(header) */
        for (int k = 0; k < 8; k++) key[k] = r[k];
        w[0] = params[16]; w[1] = params[17]; w[2] = params[18]; w[3] = nonce_be;
        w[4] = 0x80000000u;
        for (int k = 5; k < 15; k++) w[k] = 0;
        w[15] = 640u;
        sha256_block(key, w);

        sha256_init(istate);
        sha256_init(ostate);
        for (int k = 0; k < 8; k++) w[k] = key[k] ^ 0x36363636u;
        for (int k = 8; k < 16; k++) w[k] = 0x36363636u;
        sha256_block(istate, w);
        for (int k = 0; k < 8; k++) w[k] = key[k] ^ 0x5c5c5c5cu;
        for (int k = 8; k < 16; k++) w[k] = 0x5c5c5c5cu;
        sha256_block(ostate, w);

        /* PBKDF2(header, header, 1, 128): four HMAC blocks over header || INT(i) */
        for (int k = 0; k < 8; k++) inner[k] = istate[k];
        w[0] = r[8];
        for (int k = 1; k < 16; k++) w[k] = params[k];
        sha256_block(inner, w);
        for (uint i = 0; i < 4; i++) {
            for (int k = 0; k < 8; k++) t[k] = inner[k];
            w[0] = params[16]; w[1] = params[17]; w[2] = params[18]; w[3] = nonce_be;
            w[4] = i + 1; w[5] = 0x80000000u;
            for (int k = 6; k < 15; k++) w[k] = 0;
            w[15] = (64 + 84) * 8;
            sha256_block(t, w);
            uint o[8];
            for (int k = 0; k < 8; k++) o[k] = ostate[k];
            hmac_outer(o, t);
            for (int k = 0; k < 8; k++) X[8 * i + k] = BSWAP32(o[k]);
        }

        /* ROMix */
        for (uint i = 0; i < SCRYPT_N; i++) {
#if LOOKUP_GAP > 1
            if (i % LOOKUP_GAP == 0)
#endif
            {
                GLOBAL uint *d = v + (i / LOOKUP_GAP) * 32;
                for (int k = 0; k < 32; k++) d[k] = X[k];
            }
            block_mix(X);
        }
        for (uint i = 0; i < SCRYPT_N; i++) {
            const uint j = X[16] & (SCRYPT_N - 1);
            GLOBAL const uint *s = v + (j / LOOKUP_GAP) * 32;
#if LOOKUP_GAP > 1
            uint Y[32];
            for (int k = 0; k < 32; k++) Y[k] = s[k];
            for (uint m = j % LOOKUP_GAP; m > 0; m--) block_mix(Y);
            for (int k = 0; k < 32; k++) X[k] ^= Y[k];
#else
            for (int k = 0; k < 32; k++) X[k] ^= s[k];
#endif
            block_mix(X);
        }

        /* PBKDF2(header, X, 1, 32): one HMAC over X || INT(1) (132 bytes) */
        for (int k = 0; k < 8; k++) t[k] = istate[k];
        for (int k = 0; k < 16; k++) w[k] = BSWAP32(X[k]);
        sha256_block(t, w);
        for (int k = 0; k < 16; k++) w[k] = BSWAP32(X[16 + k]);
        sha256_block(t, w);
        w[0] = 1; w[1] = 0x80000000u;
        for (int k = 2; k < 15; k++) w[k] = 0;
        w[15] = (64 + 132) * 8;
        sha256_block(t, w);
        uint o[8], le[8];
        for (int k = 0; k < 8; k++) o[k] = ostate[k];
        hmac_outer(o, t);
        for (int k = 0; k < 8; k++) le[k] = BSWAP32(o[k]);
        if (le256_at_most(le, params + 24)) report_hit(out, capacity, nonce, vi);
    }
}
