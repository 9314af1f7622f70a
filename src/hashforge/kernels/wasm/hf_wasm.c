/*
 * The browser miner's kernel: the project's own portable C scanners (native/sha256_scalar.c,
 * native/scrypt_scalar.c) compiled unchanged to WebAssembly, with a tiny freestanding runtime.
 *
 * JS writes the 80-byte header (version and nonce fields included) and the 256-bit target
 * (8 little-endian 32-bit limbs, limb 7 most significant) into the buffers below, then calls
 * hf_scan(algo, start, count); hits land in hf_hits_ptr() as (version, nonce) pairs.
 */
#include <stddef.h>
#include <stdint.h>

#include "../native/sha256_scalar.c"
#include "../native/scrypt_scalar.c"

#define HF_EXPORT(name) __attribute__((export_name(#name)))
#define HF_MAX_HITS 64

/* ---- runtime: memcpy/memset and a bump allocator over the heap ---- */
extern unsigned char __heap_base;
static uintptr_t heap_top;

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

static void heap_reset(void) { heap_top = (uintptr_t)&__heap_base; }

void *malloc(size_t n)
{
    if (!heap_top)
        heap_reset();
    uintptr_t p = (heap_top + 15) & ~(uintptr_t)15;
    uintptr_t end = p + sizeof(size_t) + n;
    size_t have = __builtin_wasm_memory_size(0) * 65536;
    if (end > have && __builtin_wasm_memory_grow(0, (end - have + 65535) / 65536) == (size_t)-1)
        return NULL;
    *(size_t *)p = n; /* remembered for realloc */
    heap_top = end;
    return (void *)(p + sizeof(size_t));
}

void *realloc(void *old, size_t n)
{
    void *p = malloc(n);
    if (p && old) {
        size_t was = *((size_t *)old - 1);
        memcpy(p, old, was < n ? was : n);
    }
    return p;
}

void free(void *p) { (void)p; } /* everything is released by the next call's heap_reset */

/* ---- exported API ---- */
static uint8_t header_buf[HF_HEADER_BYTES];
static uint32_t target_buf[8];
static uint8_t hash_buf[32];
static uint32_t hits_buf[2 * HF_MAX_HITS];
static uint32_t scrypt_scratch[HF_SCRYPT_N * 32];

HF_EXPORT(hf_header_ptr) uint8_t *hf_header_ptr(void) { return header_buf; }
HF_EXPORT(hf_target_ptr) uint32_t *hf_target_ptr(void) { return target_buf; }
HF_EXPORT(hf_hash_ptr) uint8_t *hf_hash_ptr(void) { return hash_buf; }
HF_EXPORT(hf_hits_ptr) uint32_t *hf_hits_ptr(void) { return hits_buf; }

/* The PoW hash of the header as it is in the buffer (algo 0: SHA-256d, 1: scrypt) into hash_buf. */
HF_EXPORT(hf_hash) void hf_hash(int algo)
{
    if (algo == 1)
        hf_scrypt_header(header_buf, scrypt_scratch, hash_buf);
    else
        hf_sha256d_header(header_buf, hf_le32(header_buf), hf_le32(header_buf + 76), hash_buf);
}

/* Scans nonces [start, start + count) with the header's own version; returns the number of hits
 * (at most HF_MAX_HITS are copied out), or -1 if memory ran out. */
HF_EXPORT(hf_scan) int hf_scan(int algo, uint32_t start, uint32_t count)
{
    heap_reset();
    uint32_t version = hf_le32(header_buf);
    hf_scan_args args;
    memcpy(args.header, header_buf, HF_HEADER_BYTES);
    args.versions = &version;
    args.nversions = 1;
    memcpy(args.target, target_buf, sizeof target_buf);
    args.start = start;
    args.end = (uint64_t)start + count;
    if (args.end > ((uint64_t)1 << 32))
        args.end = (uint64_t)1 << 32;
    hf_hits hits = {0};
    int rc = algo == 1 ? hf_scrypt_scan_scalar(&args, &hits) : hf_sha256d_scan_scalar(&args, &hits);
    if (rc != 0)
        return -1;
    size_t n = hits.len < HF_MAX_HITS ? hits.len : HF_MAX_HITS;
    for (size_t i = 0; i < n; i++) {
        hits_buf[2 * i] = hits.items[i].version;
        hits_buf[2 * i + 1] = hits.items[i].nonce;
    }
    return (int)hits.len;
}
