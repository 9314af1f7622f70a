/* Freestanding wasm32 stand-in for <stdlib.h>: the scalar kernels need malloc/realloc/free only.
 * Implemented in hf_wasm.c as a bump allocator that each exported call resets. */
#ifndef HF_WASM_STDLIB_H
#define HF_WASM_STDLIB_H
#include <stddef.h>
void *malloc(size_t n);
void *realloc(void *p, size_t n);
void free(void *p);
#endif
