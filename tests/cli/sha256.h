/* A small SHA-256 (FIPS 180-4) for the test harnesses: the fixtures' answer files
 * give SHA-256 digests of dense values. Not used by the library. */
#ifndef MLD_TEST_SHA256_H
#define MLD_TEST_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha256_ctx {
	uint32_t h[8];
	uint64_t len; /* bytes hashed so far */
	uint8_t buf[64];
	size_t fill;
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t n);
void sha256_final(sha256_ctx *c, uint8_t out[32]);
/* One-shot digest as 64 lowercase hex digits + NUL. */
void sha256_hex(char out[65], const void *data, size_t n);
void sha256_to_hex(char out[65], const uint8_t d[32]);

#endif
