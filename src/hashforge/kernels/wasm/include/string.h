/* Freestanding wasm32 stand-in for <string.h> (memcpy/memset, defined in hf_wasm.c). */
#ifndef HF_WASM_STRING_H
#define HF_WASM_STRING_H
#include <stddef.h>
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memset(void *dst, int c, size_t n);
#endif
