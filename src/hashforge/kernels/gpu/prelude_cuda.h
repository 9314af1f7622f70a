/* hashforge GPU kernels: the CUDA C++ spelling of the portable macros (compiled by NVRTC). */
typedef unsigned int uint;
#define KERNEL extern "C" __global__
#define GLOBAL
#define CONSTANT_DATA __constant__
#define DEVICE_FN __device__ __forceinline__
#define GLOBAL_ID() (blockIdx.x * blockDim.x + threadIdx.x)
#define ROTR32(x, n) __funnelshift_r((uint)(x), (uint)(x), (n))
#define ROTL32(x, n) __funnelshift_l((uint)(x), (uint)(x), (n))
#define BSWAP32(x) __byte_perm((uint)(x), 0u, 0x0123u)
#define BITSELECT(a, b, c) ((((uint)(a)) & ~((uint)(c))) | (((uint)(b)) & ((uint)(c))))
#define ATOMIC_INC(p) atomicAdd((p), 1u)
#define INDEX_T unsigned long long /* NVRTC has no <stddef.h> */
