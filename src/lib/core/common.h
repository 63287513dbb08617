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

/* Set the thread's last error and return `code` (so callers can `return mld_err(...)`). */
int mld_err(int code, const char *fmt, ...) MLD_PRINTF(2, 3);
/* Prefix the current message with "<prefix>: " keeping its code; returns the code. */
int mld_err_prefix(const char *fmt, ...) MLD_PRINTF(1, 2);
void mld_err_clear(void);

void *mld_malloc(size_t n);              /* NULL + MLD_ENOMEM message on failure */
void *mld_calloc(size_t n, size_t size);
void *mld_realloc(void *p, size_t n);
char *mld_strdup(const char *s);
char *mld_sprintf(const char *fmt, ...) MLD_PRINTF(1, 2);

/* Overflow-checked arithmetic: false when the result does not fit. */
static inline bool mld_mul_u64(uint64_t a, uint64_t b, uint64_t *out) { return !__builtin_mul_overflow(a, b, out); }
static inline bool mld_add_u64(uint64_t a, uint64_t b, uint64_t *out) { return !__builtin_add_overflow(a, b, out); }

static inline uint16_t mld_rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t mld_rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static inline uint64_t mld_rd64(const uint8_t *p) { return (uint64_t)mld_rd32(p) | (uint64_t)mld_rd32(p + 4) << 32; }
static inline void mld_wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void mld_wr32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static inline void mld_wr64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }

static inline uint64_t mld_align64(uint64_t x) { return (x + 63) & ~(uint64_t)63; }

/* A growable byte buffer. */
typedef struct mld_buf {
	uint8_t *data;
	size_t len, cap;
} mld_buf;
int mld_buf_append(mld_buf *b, const void *p, size_t n);
void mld_buf_free(mld_buf *b);

#endif
