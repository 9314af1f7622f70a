/* hashforge GPU kernels: the OpenCL C spelling of the portable macros.
 * Rotations, byte swaps and bit selects are written as plain shifts and masks: every GPU
 * compiler turns them into its rotate / bit-align / BFI instructions, while PoCL's CPU
 * device runs its rotate() and bitselect() builtins as out-of-line calls (4-8x slower). */
#define KERNEL __kernel
#define GLOBAL __global
#define CONSTANT_DATA __constant
#define DEVICE_FN
#define GLOBAL_ID() ((uint)get_global_id(0))
#define ROTR32(x, n) (((uint)(x) >> (n)) | ((uint)(x) << (32 - (n))))
#define ROTL32(x, n) (((uint)(x) << (n)) | ((uint)(x) >> (32 - (n))))
#define BSWAP32(x) ((ROTR32((uint)(x), 8) & 0xff00ff00u) | (ROTR32((uint)(x), 24) & 0x00ff00ffu))
#define BITSELECT(a, b, c) ((((uint)(a)) & ~((uint)(c))) | (((uint)(b)) & ((uint)(c))))
#define ATOMIC_INC(p) atomic_inc(p)
#define INDEX_T size_t
