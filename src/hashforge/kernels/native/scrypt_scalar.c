/*
 * scrypt(N=1024, r=1, p=1, dkLen=32) of an 80-byte header salted with itself
 * (RFC 7914; Litecoin's proof of work), portable C, and the scalar scrypt scanner.
 *
 * The SHA-256 work (PBKDF2-HMAC-SHA256 before and after the memory-hard mix) goes
 * through hf_sha256_compress, which is SHA-NI where the CPU has it; the mix itself is
 * Salsa20/8 here and in the SIMD lanes of scrypt_lanes.h.
 */
#include <stdlib.h>
#include <string.h>

#include "hf_kernels.h"

/* HMAC-SHA256 keyed with the header: the states after the ipad and opad blocks. */
static void hmac_states(const uint8_t header[HF_HEADER_BYTES], uint32_t istate[8], uint32_t ostate[8])
{
    uint32_t key[8], w[16] = {0};
    /* An 80-byte key is longer than SHA-256's 64-byte block, so HMAC uses SHA256(key). */
    memcpy(key, hf_sha256_iv, sizeof key);
    for (int i = 0; i < 16; i++)
        w[i] = hf_be32(header + 4 * i);
    hf_sha256_compress(key, w);
    memset(w, 0, sizeof w);
    for (int i = 0; i < 4; i++)
        w[i] = hf_be32(header + 64 + 4 * i);
    w[4] = 0x80000000;
    w[15] = 80 * 8;
    hf_sha256_compress(key, w);

    uint32_t ipad[16], opad[16];
    for (int i = 0; i < 16; i++) {
        uint32_t k = i < 8 ? key[i] : 0;
        ipad[i] = k ^ 0x36363636;
        opad[i] = k ^ 0x5c5c5c5c;
    }
    memcpy(istate, hf_sha256_iv, 8 * sizeof(uint32_t));
    memcpy(ostate, hf_sha256_iv, 8 * sizeof(uint32_t));
    hf_sha256_compress(istate, ipad);
    hf_sha256_compress(ostate, opad);
}

/* HMAC's outer hash of a 32-byte inner digest: one padded block after the opad state. */
static void hmac_outer(const uint32_t ostate[8], const uint32_t inner[8], uint32_t out[8])
{
    uint32_t w[16] = {0};
    memcpy(w, inner, 8 * sizeof(uint32_t));
    w[8] = 0x80000000;
    w[15] = (64 + 32) * 8;
    memcpy(out, ostate, 8 * sizeof(uint32_t));
    hf_sha256_compress(out, w);
}

void hf_scrypt_pbkdf2_in(const uint8_t header[HF_HEADER_BYTES], uint32_t x[32])
{
    uint32_t istate[8], ostate[8], first[8], w[16];
    hmac_states(header, istate, ostate);
    /* The salt's first 64 bytes are the same for all four output blocks. */
    memcpy(first, istate, sizeof first);
    for (int i = 0; i < 16; i++)
        w[i] = hf_be32(header + 4 * i);
    hf_sha256_compress(first, w);
    for (uint32_t blk = 1; blk <= 4; blk++) {
        uint32_t inner[8], t[8];
        memset(w, 0, sizeof w);
        for (int i = 0; i < 4; i++)
            w[i] = hf_be32(header + 64 + 4 * i);
        w[4] = blk; /* INT(i), big-endian */
        w[5] = 0x80000000;
        w[15] = (64 + 80 + 4) * 8;
        memcpy(inner, first, sizeof inner);
        hf_sha256_compress(inner, w);
        hmac_outer(ostate, inner, t);
        /* scrypt reads B as little-endian words; SHA-256 wrote big-endian ones. */
        for (int k = 0; k < 8; k++)
            x[8 * (blk - 1) + k] = hf_bswap32(t[k]);
    }
}

void hf_scrypt_pbkdf2_out(const uint8_t header[HF_HEADER_BYTES], const uint32_t x[32], uint8_t out[32])
{
    uint32_t istate[8], ostate[8], inner[8], t[8], w[16];
    hmac_states(header, istate, ostate);
    memcpy(inner, istate, sizeof inner);
    for (int half = 0; half < 2; half++) {
        for (int i = 0; i < 16; i++)
            w[i] = hf_bswap32(x[16 * half + i]);
        hf_sha256_compress(inner, w);
    }
    memset(w, 0, sizeof w);
    w[0] = 1; /* INT(1) */
    w[1] = 0x80000000;
    w[15] = (64 + 128 + 4) * 8;
    hf_sha256_compress(inner, w);
    hmac_outer(ostate, inner, t);
    for (int k = 0; k < 8; k++)
        hf_put_be32(out + 4 * k, t[k]);
}

static inline uint32_t rotl(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

/* B = Salsa20/8(B ^ Bx), the core of scrypt's BlockMix. */
static void salsa20_8(uint32_t B[16], const uint32_t Bx[16])
{
    uint32_t x[16];
    for (int i = 0; i < 16; i++)
        x[i] = B[i] ^= Bx[i];
    for (int r = 0; r < 8; r += 2) {
        /* column round */
        x[4] ^= rotl(x[0] + x[12], 7);   x[8] ^= rotl(x[4] + x[0], 9);
        x[12] ^= rotl(x[8] + x[4], 13);  x[0] ^= rotl(x[12] + x[8], 18);
        x[9] ^= rotl(x[5] + x[1], 7);    x[13] ^= rotl(x[9] + x[5], 9);
        x[1] ^= rotl(x[13] + x[9], 13);  x[5] ^= rotl(x[1] + x[13], 18);
        x[14] ^= rotl(x[10] + x[6], 7);  x[2] ^= rotl(x[14] + x[10], 9);
        x[6] ^= rotl(x[2] + x[14], 13);  x[10] ^= rotl(x[6] + x[2], 18);
        x[3] ^= rotl(x[15] + x[11], 7);  x[7] ^= rotl(x[3] + x[15], 9);
        x[11] ^= rotl(x[7] + x[3], 13);  x[15] ^= rotl(x[11] + x[7], 18);
        /* row round */
        x[1] ^= rotl(x[0] + x[3], 7);    x[2] ^= rotl(x[1] + x[0], 9);
        x[3] ^= rotl(x[2] + x[1], 13);   x[0] ^= rotl(x[3] + x[2], 18);
        x[6] ^= rotl(x[5] + x[4], 7);    x[7] ^= rotl(x[6] + x[5], 9);
        x[4] ^= rotl(x[7] + x[6], 13);   x[5] ^= rotl(x[4] + x[7], 18);
        x[11] ^= rotl(x[10] + x[9], 7);  x[8] ^= rotl(x[11] + x[10], 9);
        x[9] ^= rotl(x[8] + x[11], 13);  x[10] ^= rotl(x[9] + x[8], 18);
        x[12] ^= rotl(x[15] + x[14], 7); x[13] ^= rotl(x[12] + x[15], 9);
        x[14] ^= rotl(x[13] + x[12], 13); x[15] ^= rotl(x[14] + x[13], 18);
    }
    for (int i = 0; i < 16; i++)
        B[i] += x[i];
}

/* ROMix with r = 1: BlockMix is two Salsa20/8 calls on the two 64-byte halves. */
static void romix(uint32_t X[32], uint32_t *V)
{
    for (int i = 0; i < HF_SCRYPT_N; i++) {
        memcpy(V + 32 * i, X, 32 * sizeof(uint32_t));
        salsa20_8(X, X + 16);
        salsa20_8(X + 16, X);
    }
    for (int i = 0; i < HF_SCRYPT_N; i++) {
        const uint32_t *Vj = V + 32 * (X[16] & (HF_SCRYPT_N - 1)); /* Integerify mod N */
        for (int k = 0; k < 32; k++)
            X[k] ^= Vj[k];
        salsa20_8(X, X + 16);
        salsa20_8(X + 16, X);
    }
}

void hf_scrypt_header(const uint8_t header[HF_HEADER_BYTES], uint32_t *scratch, uint8_t out[32])
{
    uint32_t X[32];
    hf_scrypt_pbkdf2_in(header, X);
    romix(X, scratch);
    hf_scrypt_pbkdf2_out(header, X, out);
}

void hf_confirm_scrypt(const hf_scan_args *args, uint32_t version, uint32_t nonce, uint32_t *scratch,
                       hf_hits *hits)
{
    uint8_t header[HF_HEADER_BYTES], hash[32];
    memcpy(header, args->header, sizeof header);
    hf_put_le32(header, version);
    hf_put_le32(header + 76, nonce);
    hf_scrypt_header(header, scratch, hash);
    if (hf_hash_le_target(hash, args->target))
        hf_hits_push(hits, version, nonce);
}

int hf_scrypt_scan_scalar(const hf_scan_args *args, hf_hits *hits)
{
    uint32_t *scratch = malloc(HF_SCRYPT_N * 32 * sizeof(uint32_t));
    if (!scratch) {
        hits->oom = 1;
        return -1;
    }
    uint8_t header[HF_HEADER_BYTES], hash[32];
    memcpy(header, args->header, sizeof header);
    for (uint64_t n = args->start; n < args->end; n++) {
        hf_put_le32(header + 76, (uint32_t)n);
        for (size_t v = 0; v < args->nversions; v++) {
            hf_put_le32(header, args->versions[v]);
            hf_scrypt_header(header, scratch, hash);
            if (hf_hash_le_target(hash, args->target))
                hf_hits_push(hits, args->versions[v], (uint32_t)n);
        }
    }
    free(scratch);
    return hits->oom ? -1 : 0;
}
