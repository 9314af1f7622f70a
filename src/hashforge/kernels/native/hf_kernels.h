/*
 * hashforge native kernels: shared declarations.
 *
 * Every scanner has the same contract (see scan_fn):
 *   - it hashes the 80-byte header with version versions[v] and nonce n for every
 *     n in [start, end) and every v in [0, nversions), nonce-major: all versions of
 *     nonce n are done before nonce n + 1;
 *   - a (version, nonce) pair is reported when the hash, read as a 256-bit
 *     little-endian integer, is at or below the target;
 *   - pairs are appended to `hits` in that nonce-major, version-minor order, so every
 *     backend returns exactly the same list as the pure-Python oracle.
 * SIMD code only filters: each candidate is re-hashed by the portable C code and
 * compared with the full 256-bit target before it is reported (hf_confirm_*), so a
 * vector-path bug can lose a hit (tests catch that) but never invent one.
 *
 * No function here touches Python objects; module.c calls them with the GIL released.
 */
#ifndef HF_KERNELS_H
#define HF_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#define HF_X86 1
#else
#define HF_X86 0
#endif

#define HF_HEADER_BYTES 80
#define HF_SCRYPT_N 1024

typedef struct {
    uint32_t version;
    uint32_t nonce;
} hf_hit;

/* A growable list of hits; `oom` is set (and the list stops growing) if malloc fails. */
typedef struct {
    hf_hit *items;
    size_t len;
    size_t cap;
    int oom;
} hf_hits;

void hf_hits_push(hf_hits *hits, uint32_t version, uint32_t nonce);

/* Everything a scanner needs, in the form the kernels use. */
typedef struct {
    uint8_t header[HF_HEADER_BYTES]; /* bytes 0..3 (version) and 76..79 (nonce) are overwritten */
    const uint32_t *versions;
    size_t nversions;
    uint32_t target[8]; /* little-endian 32-bit limbs, target[7] most significant */
    uint64_t start;     /* first nonce */
    uint64_t end;       /* one past the last nonce, at most 2^32 */
} hf_scan_args;

/* Returns 0, or -1 if memory ran out (hits->oom is then set too). */
typedef int (*scan_fn)(const hf_scan_args *args, hf_hits *hits);

/* ---- portable SHA-256 (sha256_scalar.c) ---- */
extern const uint32_t hf_sha256_k[64];
extern const uint32_t hf_sha256_iv[8];

static inline uint32_t hf_rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
static inline uint32_t hf_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint32_t hf_le32(const uint8_t *p)
{
    return ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
}
static inline void hf_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void hf_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t hf_bswap32(uint32_t v) { return __builtin_bswap32(v); }

/* One compression of a 64-byte block given as 16 big-endian message words. */
void hf_sha256_compress_c(uint32_t state[8], const uint32_t w[16]);
/* The fastest compression this CPU has (SHA-NI or the C one); set by hf_init(). */
extern void (*hf_sha256_compress)(uint32_t state[8], const uint32_t w[16]);

/* Midstate of header bytes 0..63 with the version word replaced. */
void hf_midstate(const uint8_t header[HF_HEADER_BYTES], uint32_t version, uint32_t out[8]);
/* Full SHA-256d of the header with version and nonce replaced, portable C only. */
void hf_sha256d_header(const uint8_t header[HF_HEADER_BYTES], uint32_t version, uint32_t nonce,
                       uint8_t out[32]);
/* 1 if the 32 hash bytes, read as a little-endian integer, are <= target. */
int hf_hash_le_target(const uint8_t hash[32], const uint32_t target[8]);
/* Re-hash (version, nonce) with portable C and record it if it truly meets the target. */
void hf_confirm_sha256d(const hf_scan_args *args, uint32_t version, uint32_t nonce, hf_hits *hits);

/*
 * Block 2 of the first hash (header bytes 64..79 + padding) starts with three words
 * that do not depend on the nonce, so rounds 0..2 and most of round 3 are done once
 * per midstate; round 3 then only adds K[3] + W[3] (W[3] is the byte-swapped nonce):
 *   new e = pre_e + K[3] + W[3],  new a = pre_a + K[3] + W[3].
 */
typedef struct {
    uint32_t st[8]; /* state before round 3 */
    uint32_t pre_e; /* d + T1 of round 3 without K[3] + W[3] */
    uint32_t pre_a; /* T1 + T2 of round 3 without K[3] + W[3] */
} hf_block2_start;
void hf_block2_start_init(const uint32_t mid[8], const uint8_t header[HF_HEADER_BYTES],
                          hf_block2_start *out);
/* The 64 message words of block 2 for one nonce (its schedule; shared by all versions). */
void hf_block2_schedule(const uint8_t header[HF_HEADER_BYTES], uint32_t nonce, uint32_t w[64]);

/* ---- scrypt(1024, 1, 1) (scrypt_scalar.c) ---- */
/* PBKDF2-HMAC-SHA256(header, header, 1, 128) as 32 little-endian words (scrypt's B). */
void hf_scrypt_pbkdf2_in(const uint8_t header[HF_HEADER_BYTES], uint32_t x[32]);
/* PBKDF2-HMAC-SHA256(header, B, 1, 32): the PoW hash bytes from the mixed B. */
void hf_scrypt_pbkdf2_out(const uint8_t header[HF_HEADER_BYTES], const uint32_t x[32], uint8_t out[32]);
/* The whole scrypt PoW hash of an 80-byte header, portable C only (scratch: 128 KiB). */
void hf_scrypt_header(const uint8_t header[HF_HEADER_BYTES], uint32_t *scratch, uint8_t out[32]);
void hf_confirm_scrypt(const hf_scan_args *args, uint32_t version, uint32_t nonce, uint32_t *scratch,
                       hf_hits *hits);

/* ---- backends ---- */
int hf_sha256d_scan_scalar(const hf_scan_args *args, hf_hits *hits);
int hf_scrypt_scan_scalar(const hf_scan_args *args, hf_hits *hits);
#if HF_X86
int hf_sha256d_scan_sse2(const hf_scan_args *args, hf_hits *hits);
int hf_sha256d_scan_avx2(const hf_scan_args *args, hf_hits *hits);
int hf_sha256d_scan_avx512(const hf_scan_args *args, hf_hits *hits);
int hf_sha256d_scan_shani(const hf_scan_args *args, hf_hits *hits);
int hf_scrypt_scan_sse2(const hf_scan_args *args, hf_hits *hits);
int hf_scrypt_scan_avx2(const hf_scan_args *args, hf_hits *hits);
int hf_scrypt_scan_avx512(const hf_scan_args *args, hf_hits *hits);
void hf_sha256_compress_shani(uint32_t state[8], const uint32_t w[16]);
#endif

/* ---- CPU features (cpu.c) ---- */
enum {
    HF_CPU_SSE2 = 1 << 0,
    HF_CPU_SSSE3 = 1 << 1,
    HF_CPU_SSE41 = 1 << 2,
    HF_CPU_AVX = 1 << 3,
    HF_CPU_AVX2 = 1 << 4,
    HF_CPU_AVX512F = 1 << 5,
    HF_CPU_AVX512VL = 1 << 6,
    HF_CPU_AVX512BW = 1 << 7,
    HF_CPU_SHA = 1 << 8,
};
unsigned hf_cpu_features(void);
void hf_init(void);

#endif
