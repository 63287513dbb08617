/* XXH3-128, the digest of every mldedup store and stamp, built from the system's
 * xxHash headers once per instruction set (hash.c: the compiler's baseline, SSE2
 * on x86-64 and NEON on AArch64; hash_avx2.c; hash_avx512.c) and chosen once for
 * this CPU. XXH3 is defined to give the same value on every path; Debian's
 * libxxhash is built for SSE2 only. */
#ifndef MLD_HASH_H
#define MLD_HASH_H

#include "cpu.h"

#include <stddef.h>
#include <stdint.h>

/* A streaming state: an XXH3_state_t (checked in hash.c). */
typedef struct mld__hash {
	_Alignas(64) unsigned char opaque[640];
} mld__hash;

void mld__hash_reset(mld__hash *h);
void mld__hash_update(mld__hash *h, const void *data, size_t len);
/* The XXH3-128 of everything fed so far, canonical (big-endian) bytes: an
 * mld_digest's. The state may be fed further. */
void mld__hash_digest(uint8_t out[16], const mld__hash *h);
/* reset + update + digest */
void mld__hash128(uint8_t out[16], const void *data, size_t len);

/* One build of the above, for tests and benchmarks. */
typedef struct mld__hash_impl {
	mld__isa isa;
	const char *name;
	void (*reset)(mld__hash *h);
	void (*update)(mld__hash *h, const void *data, size_t len);
	void (*digest)(uint8_t out[16], const mld__hash *h);
	void (*oneshot)(uint8_t out[16], const void *data, size_t len);
} mld__hash_impl;

/* The build of the best ISA at or below `cap` that this CPU runs. */
const mld__hash_impl *mld__hash_impl_for(mld__isa cap);
/* The build in use: mld__hash_impl_for(mld__cpu_cap()), chosen once. */
const mld__hash_impl *mld__hash_active(void);

/* The per-ISA builds; update is NULL where not built. */
extern const mld__hash_impl mld__hash_base, mld__hash_avx2, mld__hash_avx512;

#endif
