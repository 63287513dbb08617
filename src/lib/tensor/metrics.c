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

void mld__sketch_init(mld__sketchacc *a, uint64_t count)
{
	memset(a, 0, sizeof *a);
	a->step = count > 65536 ? count / 65536 : 1;
}

void mld__sketch_feed(mld__sketchacc *a, mld_dtype dt, const void *data, uint64_t first, uint64_t n)
{
	const float *h = mld__half_table();
	const uint8_t *d8 = data;
	uint64_t i = a->next, end = first + n, step = a->step;
	unsigned l = (unsigned)(a->n & 3);
	/* four independent sums: the samples are not summed one after another */
	for (; i < end; i += step, l = (l + 1) & 3) {
		/* data may be a blob at any offset the file gives: read it unaligned */
		double x = dt == MLD_DT_FP16 ? h[mld__rd16(d8 + 2 * (i - first))] : mld__dense_get(dt, data, i - first);
		a->sum[l] += x;
		a->sq[l] += x * x;
		a->n++;
	}
	a->next = i;
}

void mld__sketch_finish(const mld__sketchacc *a, float *mean, float *rms)
{
	double sum = (a->sum[0] + a->sum[1]) + (a->sum[2] + a->sum[3]),
	       sq = (a->sq[0] + a->sq[1]) + (a->sq[2] + a->sq[3]);
	*mean = a->n ? mld__sketch_value(sum / (double)a->n) : 0;
	*rms = a->n ? mld__sketch_value(sqrt(sq / (double)a->n)) : 0;
}

void mld_tensor_sketch(float out[MLD_SKETCH_LEN], const mld_tensor *t)
{
	/* mean and rms over an even subsample: a fingerprint, not a statistic */
	mld__sketchacc a;
	mld__sketch_init(&a, t->count);
	mld__sketch_feed(&a, t->dtype, t->data, 0, t->count);
	mld__sketch_finish(&a, &out[0], &out[1]);
	for (int k = 2; k < MLD_SKETCH_LEN; k++) {
		/* fixed pseudo-random positions: the same for every tensor of a shape */
		uint64_t pos = t->count ? ((uint64_t)k * UINT64_C(0x9E3779B97F4A7C15)) % t->count : 0;
		out[k] = t->count ? mld__sketch_value(mld__dense_get(t->dtype, t->data, pos)) : 0;
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
