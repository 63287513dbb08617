/* Internal helpers shared by every module of libmldedup. */
#ifndef MLD_COMMON_H
#define MLD_COMMON_H

#include "mldedup.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if defined(__GNUC__)
#define MLD_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MLD_PRINTF(a, b)
#endif

/* Set the thread's last error and return `code` (so callers can `return mld__err(...)`). */
int mld__err(int code, const char *fmt, ...) MLD_PRINTF(2, 3);
/* Prefix the current message with "<prefix>: " keeping its code; returns the code. */
int mld__err_prefix(const char *fmt, ...) MLD_PRINTF(1, 2);
void mld__err_clear(void);

void *mld__malloc(size_t n); /* NULL + MLD_ENOMEM message on failure */
void *mld__calloc(size_t n, size_t size);
void *mld__realloc(void *p, size_t n);
char *mld__strdup(const char *s);
char *mld__sprintf(const char *fmt, ...) MLD_PRINTF(1, 2);

/* Overflow-checked arithmetic: false when the result does not fit. */
static inline bool mld__mul_u64(uint64_t a, uint64_t b, uint64_t *out) { return !__builtin_mul_overflow(a, b, out); }
static inline bool mld__add_u64(uint64_t a, uint64_t b, uint64_t *out) { return !__builtin_add_overflow(a, b, out); }

static inline uint16_t mld__rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t mld__rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t mld__rd64(const uint8_t *p) { return (uint64_t)mld__rd32(p) | (uint64_t)mld__rd32(p + 4) << 32; }
static inline void mld__wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void mld__wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void mld__wr64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t mld__align64(uint64_t x) { return (x + 63) & ~(uint64_t)63; }

/* A growable byte buffer. */
typedef struct mld__buf {
	uint8_t *data;
	size_t len, cap;
} mld__buf;
int mld__buf_append(mld__buf *b, const void *p, size_t n);
void mld__buf_free(mld__buf *b);

#endif
