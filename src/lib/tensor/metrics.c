/* Numeric closeness of dense tensors (the verification fallback of combine) and
 * the cheap sketch used to find candidates for it. */
#include "../core/dtype.h"
#include "cmpkern.h"
#include "tensor.h"

#include <math.h>

int mld_tensor_compare(mld_metrics *out, const mld_tensor *a, const mld_tensor *b)
{
	if (a->count != b->count || a->rank != b->rank || memcmp(a->shape, b->shape, a->rank * sizeof *a->shape))
		return mld__err(MLD_EFORMAT, "cannot compare tensors of different shapes");
	/* the kernels' sums: the same bits as verification's streamed comparison */
	mld__cmpacc acc;
	mld__cmpacc_init(&acc);
	mld__cmpacc_feed(&acc, mld__cmpkern_get(), a->dtype, a->data, b->dtype, b->data, a->count);
	mld__cmpacc_result(&acc, out);
	return 0;
}

void mld_tensor_sketch(float out[MLD_SKETCH_LEN], const mld_tensor *t)
{
	/* mean and rms over an even subsample: a fingerprint, not a statistic */
	double sum = 0, sq = 0;
	uint64_t step = t->count > 65536 ? t->count / 65536 : 1, n = 0;
	const float *h = mld__half_table();
	for (uint64_t i = 0; i < t->count; i += step, n++) {
		double x = t->dtype == MLD_DT_FP16 ? h[((const uint16_t *)t->data)[i]] : mld__dense_get(t->dtype, t->data, i);
		sum += x;
		sq += x * x;
	}
	out[0] = n ? (float)(sum / (double)n) : 0;
	out[1] = n ? (float)sqrt(sq / (double)n) : 0;
	for (int k = 2; k < MLD_SKETCH_LEN; k++) {
		/* fixed pseudo-random positions: the same for every tensor of a shape */
		uint64_t pos = t->count ? ((uint64_t)k * UINT64_C(0x9E3779B97F4A7C15)) % t->count : 0;
		out[k] = t->count ? (float)mld__dense_get(t->dtype, t->data, pos) : 0;
	}
}

int mld_sketch_close(const float a[MLD_SKETCH_LEN], const float b[MLD_SKETCH_LEN])
{
	double rms = fmax(fabs(a[1]), fabs(b[1]));
	if (fabs(a[1] - b[1]) > 0.01 * rms + 1e-12)
		return 0;
	double d = 0, n = 0;
	for (int k = 2; k < MLD_SKETCH_LEN; k++) {
		d += ((double)a[k] - b[k]) * ((double)a[k] - b[k]);
		n += (double)a[k] * a[k];
	}
	return d <= 0.01 * n + 1e-12;
}
