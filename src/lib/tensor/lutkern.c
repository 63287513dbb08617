/* The scalar kernels (the reference every other path must equal) and the dispatcher. */
#include "lutkern.h"

#include <stdatomic.h>

static void u4_scalar(uint16_t *dst, const uint8_t *src, size_t n, const uint16_t *pal)
{
	for (size_t j = 0; j < n; j += 2) {
		uint8_t x = src[j / 2];
		dst[j] = pal[x & 15];
		dst[j + 1] = pal[x >> 4];
	}
}

static void u6_scalar(uint16_t *dst, const uint8_t *src, size_t n, const uint16_t *pal)
{
	for (size_t j = 0; j < n; j += 4) {
		const uint8_t *q = src + j / 4 * 3;
		uint32_t v = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16;
		dst[j] = pal[v & 63];
		dst[j + 1] = pal[(v >> 6) & 63];
		dst[j + 2] = pal[(v >> 12) & 63];
		dst[j + 3] = pal[v >> 18];
	}
}

static void u8_scalar(uint16_t *dst, const uint8_t *src, size_t n, const uint16_t *pal)
{
	for (size_t j = 0; j < n; j++)
		dst[j] = pal[src[j]];
}

static void b64_scalar(uint16_t *dst, const uint8_t *src, size_t n, const uint16_t *pal)
{
	for (size_t j = 0; j < n; j++)
		dst[j] = pal[src[j] & 63];
}

const mld__lutkern mld__lutkern_scalar = {MLD_ISA_SCALAR, "scalar", u4_scalar, u6_scalar, u8_scalar, b64_scalar};

const mld__lutkern *mld__lutkern_for(mld__isa cap)
{
	const mld__lutkern *all[MLD_ISA_COUNT] = {&mld__lutkern_scalar, &mld__lutkern_neon, &mld__lutkern_avx2,
	                                          &mld__lutkern_avx512};
	for (int i = cap < MLD_ISA_COUNT ? (int)cap : MLD_ISA_COUNT - 1; i > 0; i--)
		if (all[i]->u6 && mld__cpu_has((mld__isa)i))
			return all[i];
	return &mld__lutkern_scalar;
}

const mld__lutkern *mld__lutkern_get(void)
{
	static _Atomic(const mld__lutkern *) active;
	const mld__lutkern *k = atomic_load_explicit(&active, memory_order_acquire);
	if (!k) { /* racing threads pick the same table */
		k = mld__lutkern_for(mld__cpu_cap());
		atomic_store_explicit(&active, k, memory_order_release);
	}
	return k;
}
