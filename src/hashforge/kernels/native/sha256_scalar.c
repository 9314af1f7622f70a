/*
 * Portable SHA-256 (FIPS 180-4) and the scalar SHA-256d scanner.
 *
 * This file is the native reference: every SIMD candidate is confirmed here, so it is
 * kept deliberately plain (no precomputation tricks beyond the midstate).
 */
#include <stdlib.h>
#include <string.h>

#include "hf_kernels.h"

const uint32_t hf_sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

const uint32_t hf_sha256_iv[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

void (*hf_sha256_compress)(uint32_t state[8], const uint32_t w[16]) = hf_sha256_compress_c;

void hf_sha256_compress_c(uint32_t state[8], const uint32_t block[16])
{
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = block[t];
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = hf_rotr(w[t - 15], 7) ^ hf_rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = hf_rotr(w[t - 2], 17) ^ hf_rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int t = 0; t < 64; t++) {
        uint32_t t1 = h + (hf_rotr(e, 6) ^ hf_rotr(e, 11) ^ hf_rotr(e, 25)) + ((e & f) ^ (~e & g)) +
                      hf_sha256_k[t] + w[t];
        uint32_t t2 = (hf_rotr(a, 2) ^ hf_rotr(a, 13) ^ hf_rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }
    state[0] += a; state[1] += b; state[2] += c; state[3] += d;
    state[4] += e; state[5] += f; state[6] += g; state[7] += h;
}

void hf_hits_push(hf_hits *hits, uint32_t version, uint32_t nonce)
{
    if (hits->oom)
        return;
    if (hits->len == hits->cap) {
        size_t cap = hits->cap ? hits->cap * 2 : 64;
        hf_hit *grown = realloc(hits->items, cap * sizeof *grown);
        if (!grown) {
            hits->oom = 1;
            return;
        }
        hits->items = grown;
        hits->cap = cap;
    }
    hits->items[hits->len].version = version;
    hits->items[hits->len].nonce = nonce;
    hits->len++;
}

void hf_midstate(const uint8_t header[HF_HEADER_BYTES], uint32_t version, uint32_t out[8])
{
    uint32_t w[16];
    w[0] = hf_bswap32(version); /* the header stores the version little-endian */
    for (int i = 1; i < 16; i++)
        w[i] = hf_be32(header + 4 * i);
    memcpy(out, hf_sha256_iv, sizeof hf_sha256_iv);
    hf_sha256_compress_c(out, w);
}

/* Second SHA-256 of a 32-byte digest held as 8 state words: one padded block. */
static void sha256_of_digest(const uint32_t digest[8], uint32_t out[8])
{
    uint32_t w[16] = {0};
    memcpy(w, digest, 8 * sizeof(uint32_t));
    w[8] = 0x80000000;
    w[15] = 256;
    memcpy(out, hf_sha256_iv, sizeof hf_sha256_iv);
    hf_sha256_compress_c(out, w);
}

void hf_sha256d_header(const uint8_t header[HF_HEADER_BYTES], uint32_t version, uint32_t nonce,
                       uint8_t out[32])
{
    uint32_t st[8], w[16] = {0}, h2[8];
    hf_midstate(header, version, st);
    w[0] = hf_be32(header + 64);
    w[1] = hf_be32(header + 68);
    w[2] = hf_be32(header + 72);
    w[3] = hf_bswap32(nonce);
    w[4] = 0x80000000;
    w[15] = 640; /* 80 bytes, in bits */
    hf_sha256_compress_c(st, w);
    sha256_of_digest(st, h2);
    for (int i = 0; i < 8; i++)
        hf_put_be32(out + 4 * i, h2[i]);
}

int hf_hash_le_target(const uint8_t hash[32], const uint32_t target[8])
{
    for (int i = 7; i >= 0; i--) {
        uint32_t limb = hf_le32(hash + 4 * i);
        if (limb != target[i])
            return limb < target[i];
    }
    return 1;
}

void hf_confirm_sha256d(const hf_scan_args *args, uint32_t version, uint32_t nonce, hf_hits *hits)
{
    uint8_t hash[32];
    hf_sha256d_header(args->header, version, nonce, hash);
    if (hf_hash_le_target(hash, args->target))
        hf_hits_push(hits, version, nonce);
}

/* The scalar backend: midstate per version, then two plain compressions per nonce. */
int hf_sha256d_scan_scalar(const hf_scan_args *args, hf_hits *hits)
{
    uint32_t(*mid)[8] = malloc((args->nversions ? args->nversions : 1) * sizeof *mid);
    if (!mid) {
        hits->oom = 1;
        return -1;
    }
    for (size_t v = 0; v < args->nversions; v++)
        hf_midstate(args->header, args->versions[v], mid[v]);

    uint32_t w[16] = {0};
    w[0] = hf_be32(args->header + 64);
    w[1] = hf_be32(args->header + 68);
    w[2] = hf_be32(args->header + 72);
    w[4] = 0x80000000;
    w[15] = 640;
    for (uint64_t n = args->start; n < args->end; n++) {
        w[3] = hf_bswap32((uint32_t)n);
        for (size_t v = 0; v < args->nversions; v++) {
            uint32_t st[8], h2[8];
            memcpy(st, mid[v], sizeof st);
            hf_sha256_compress_c(st, w);
            sha256_of_digest(st, h2);
            /* Early rejection on the most significant limb; the rest is confirmed in full. */
            if (hf_bswap32(h2[7]) <= args->target[7])
                hf_confirm_sha256d(args, args->versions[v], (uint32_t)n, hits);
        }
    }
    free(mid);
    return hits->oom ? -1 : 0;
}

void hf_block2_start_init(const uint32_t mid[8], const uint8_t header[HF_HEADER_BYTES],
                          hf_block2_start *out)
{
    uint32_t a = mid[0], b = mid[1], c = mid[2], d = mid[3];
    uint32_t e = mid[4], f = mid[5], g = mid[6], h = mid[7];
    for (int t = 0; t < 3; t++) {
        uint32_t t1 = h + (hf_rotr(e, 6) ^ hf_rotr(e, 11) ^ hf_rotr(e, 25)) + ((e & f) ^ (~e & g)) +
                      hf_sha256_k[t] + hf_be32(header + 64 + 4 * t);
        uint32_t t2 = (hf_rotr(a, 2) ^ hf_rotr(a, 13) ^ hf_rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }
    uint32_t st[8] = {a, b, c, d, e, f, g, h};
    memcpy(out->st, st, sizeof st);
    uint32_t t1 = h + (hf_rotr(e, 6) ^ hf_rotr(e, 11) ^ hf_rotr(e, 25)) + ((e & f) ^ (~e & g));
    uint32_t t2 = (hf_rotr(a, 2) ^ hf_rotr(a, 13) ^ hf_rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    out->pre_e = d + t1;
    out->pre_a = t1 + t2;
}

void hf_block2_schedule(const uint8_t header[HF_HEADER_BYTES], uint32_t nonce, uint32_t w[64])
{
    w[0] = hf_be32(header + 64);
    w[1] = hf_be32(header + 68);
    w[2] = hf_be32(header + 72);
    w[3] = hf_bswap32(nonce);
    w[4] = 0x80000000;
    for (int t = 5; t < 15; t++)
        w[t] = 0;
    w[15] = 640;
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = hf_rotr(w[t - 15], 7) ^ hf_rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = hf_rotr(w[t - 2], 17) ^ hf_rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
}
