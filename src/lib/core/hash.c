/* XXH3 for the compiler's baseline (SSE2 on x86-64, NEON on AArch64), and the
 * dispatcher over the per-ISA builds. */
#include "hash_impl.h"

#include <stdatomic.h>

#if XXH_VECTOR == XXH_SSE2
#define BASE_NAME "sse2"
#elif XXH_VECTOR == XXH_NEON
#define BASE_NAME "neon"
#else
#define BASE_NAME "scalar"
#endif

const mld__hash_impl mld__hash_base = {MLD_ISA_SCALAR, BASE_NAME, h_reset, h_update, h_digest, h_oneshot};

const mld__hash_impl *mld__hash_impl_for(mld__isa cap)
{
	if (cap >= MLD_ISA_AVX512 && mld__hash_avx512.update && mld__cpu_has(MLD_ISA_AVX512))
		return &mld__hash_avx512;
	if (cap >= MLD_ISA_AVX2 && mld__hash_avx2.update && mld__cpu_has(MLD_ISA_AVX2))
		return &mld__hash_avx2;
	return &mld__hash_base;
}

const mld__hash_impl *mld__hash_active(void)
{
	static _Atomic(const mld__hash_impl *) active;
	const mld__hash_impl *h = atomic_load_explicit(&active, memory_order_acquire);
	if (!h) { /* racing threads pick the same build */
		h = mld__hash_impl_for(mld__cpu_cap());
		atomic_store_explicit(&active, h, memory_order_release);
	}
	return h;
}

/* All through one build: a state is then never handled by two. */
void mld__hash_reset(mld__hash *h) { mld__hash_active()->reset(h); }
void mld__hash_update(mld__hash *h, const void *data, size_t len) { mld__hash_active()->update(h, data, len); }
void mld__hash_digest(uint8_t out[16], const mld__hash *h) { mld__hash_active()->digest(out, h); }
void mld__hash128(uint8_t out[16], const void *data, size_t len) { mld__hash_active()->oneshot(out, data, len); }
