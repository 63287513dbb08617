/* The scalar comparison kernel (the reference every other path must equal), the
 * generic path for other dtypes, and the dispatcher. */
#include "cmpkern.h"

#include "../core/dtype.h"

#include <math.h>
#include <stdatomic.h>

static inline void lane(mld__cmpacc *acc, int l, double x, double y)
{
	double d = fabs(x - y);
	acc->dot[l] += x * y;
	acc->na[l] += x * x;
	acc->nb[l] += y * y;
	acc->sd[l] += d;
	if (d != d)
		acc->nan = 1;
	else if (d > acc->mx[l])
		acc->mx[l] = d;
}

static void f16_scalar(mld__cmpacc *acc, const uint16_t *a, const uint16_t *b, size_t n)
{
	const float *h = mld__half_table();
	for (size_t i = 0; i < n; i += MLD_CMP_LANES)
		for (int l = 0; l < MLD_CMP_LANES; l++)
			lane(acc, l, h[a[i + l]], h[b[i + l]]);
}

const mld__cmpkern mld__cmpkern_scalar = {MLD_ISA_SCALAR, "scalar", f16_scalar};

void mld__cmpacc_init(mld__cmpacc *acc) { memset(acc, 0, sizeof *acc); }

void mld__cmpacc_feed(mld__cmpacc *acc, const mld__cmpkern *k, mld_dtype da, const void *a, mld_dtype db, const void *b,
                      uint64_t n)
{
	uint64_t i = 0;
	if (da == MLD_DT_FP16 && db == MLD_DT_FP16) {
		i = n - n % MLD_CMP_LANES;
		if (i)
			k->f16(acc, a, b, (size_t)i);
	}
	for (; i < n; i++)
		lane(acc, (int)(i % MLD_CMP_LANES), mld__dense_get(da, a, i), mld__dense_get(db, b, i));
	acc->count += n;
}

static double total(const double *v) { return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7])); }

void mld__cmpacc_result(const mld__cmpacc *acc, mld_metrics *m)
{
	double dot = total(acc->dot), na = total(acc->na), nb = total(acc->nb), sd = total(acc->sd), mx = 0;
	for (int l = 0; l < MLD_CMP_LANES; l++)
		if (acc->mx[l] > mx)
			mx = acc->mx[l];
	if (na == 0 && nb == 0)
		m->cos = 1;
	else if (na == 0 || nb == 0)
		m->cos = 0;
	else
		m->cos = dot / (sqrt(na) * sqrt(nb));
	m->max_abs = acc->nan ? NAN : mx;
	m->mean_abs = acc->count ? sd / (double)acc->count : 0;
}

const mld__cmpkern *mld__cmpkern_for(mld__isa cap)
{
	if (cap >= MLD_ISA_AVX2 && mld__cmpkern_avx2.f16 && mld__cpu_has(MLD_ISA_AVX2) && mld__cpu_has_f16c())
		return &mld__cmpkern_avx2; /* the AVX-512 level too: the sums are bound by latency, not width */
	if (cap >= MLD_ISA_NEON && mld__cmpkern_neon.f16 && mld__cpu_has(MLD_ISA_NEON))
		return &mld__cmpkern_neon;
	return &mld__cmpkern_scalar;
}

const mld__cmpkern *mld__cmpkern_get(void)
{
	static _Atomic(const mld__cmpkern *) active;
	const mld__cmpkern *k = atomic_load_explicit(&active, memory_order_acquire);
	if (!k) {
		k = mld__cmpkern_for(mld__cpu_cap());
		atomic_store_explicit(&active, k, memory_order_release);
	}
	return k;
}
