/* Constexpr evaluation: the exact semantics of every constexpr_* form, with the
 * same float rounding as coremltools' numpy reference (fp16 ops are computed in
 * fp32 and rounded to fp16 after every operation, as numpy's float16 does). */
#include "../core/dtype.h"
#include "lutkern.h"
#include "subbyte.h"
#include "tensor.h"

#include <stdlib.h>

static bool is_index_dtype(mld_dtype dt)
{
	return dt == MLD_DT_UINT1 || dt == MLD_DT_UINT2 || dt == MLD_DT_UINT3 || dt == MLD_DT_UINT4 ||
	       dt == MLD_DT_UINT6 || dt == MLD_DT_UINT8;
}

static bool is_lut_dtype(mld_dtype dt)
{
	return dt == MLD_DT_INT8 || dt == MLD_DT_UINT8 || dt == MLD_DT_FP16 || dt == MLD_DT_FP32;
}

static const char *shape_str(char *buf, size_t n, const mld_tensor *t)
{
	size_t k = (size_t)snprintf(buf, n, "[");
	for (unsigned d = 0; d < t->rank && k < n; d++)
		k += (size_t)snprintf(buf + k, n - k, "%s%llu", d ? "," : "", (unsigned long long)t->shape[d]);
	if (k < n)
		snprintf(buf + k, n - k, "]");
	return buf;
}

int mld__deq_lut_ios18(mld_tensor **out, const mld_tensor *idx, const mld_tensor *lut, int64_t vaxis, bool has_vaxis)
{
	char s1[128], s2[128];
	if (!is_index_dtype(idx->dtype))
		return mld__err(MLD_EFORMAT, "constexpr_lut_to_dense: indices must be uint1/2/3/4/6/8, not %s",
		                mld_dtype_name(idx->dtype));
	if (!is_lut_dtype(lut->dtype))
		return mld__err(MLD_EFORMAT, "constexpr_lut_to_dense: lut dtype %s is not int8/uint8/fp16/fp32",
		                mld_dtype_name(lut->dtype));
	unsigned K = idx->rank;
	if (K < 1 || lut->rank != K + 2)
		return mld__err(MLD_EFORMAT, "constexpr_lut_to_dense: lut shape %s needs rank %u for indices %s",
		                shape_str(s1, sizeof s1, lut), K + 2, shape_str(s2, sizeof s2, idx));
	unsigned nbits = mld_dtype_bits(idx->dtype);
	uint64_t P = lut->shape[K], VS = lut->shape[K + 1];
	if (P != (UINT64_C(1) << nbits))
		return mld__err(MLD_EFORMAT,
		                "constexpr_lut_to_dense: %s indices need a palette of %llu entries, lut has %llu",
		                mld_dtype_name(idx->dtype), 1ull << nbits, (unsigned long long)P);
	if (VS < 1)
		return mld__err(MLD_EFORMAT, "constexpr_lut_to_dense: vector size 0");
	int64_t a = 0;
	if (VS > 1) {
		if (!has_vaxis)
			return mld__err(MLD_EFORMAT,
			                "constexpr_lut_to_dense: vector palette (size %llu) without vector_axis",
			                (unsigned long long)VS);
		a = vaxis < 0 ? vaxis + (int64_t)K : vaxis;
		if (a < 0 || a >= (int64_t)K)
			return mld__err(MLD_EFORMAT,
			                "constexpr_lut_to_dense: vector_axis %lld out of range for rank %u",
			                (long long)vaxis, K);
	}
	uint64_t bs[MLD_MAX_RANK], oshape[MLD_MAX_RANK], ostr[MLD_MAX_RANK], istr_o[MLD_MAX_RANK], gstr[MLD_MAX_RANK];
	for (unsigned d = 0; d < K; d++) {
		if (lut->shape[d] == 0 || idx->shape[d] % lut->shape[d])
			return mld__err(
				MLD_EFORMAT,
				"constexpr_lut_to_dense: indices dim %u (%llu) is not a multiple of the lut's %llu", d,
				(unsigned long long)idx->shape[d], (unsigned long long)lut->shape[d]);
		bs[d] = idx->shape[d] / lut->shape[d];
		oshape[d] = idx->shape[d];
	}
	if (VS > 1 && !mld__mul_u64(oshape[a], VS, &oshape[a]))
		return mld__err(MLD_EFORMAT, "constexpr_lut_to_dense: output shape overflows");
	mld_tensor *t;
	int rc = mld__tensor_new(&t, lut->dtype, K, oshape);
	if (rc)
		return rc;
	/* strides: output, output-per-index-step (vector axis scaled by VS), group */
	ostr[K - 1] = 1;
	gstr[K - 1] = 1;
	for (unsigned d = K - 1; d > 0; d--) {
		ostr[d - 1] = ostr[d] * oshape[d];
		gstr[d - 1] = gstr[d] * lut->shape[d];
	}
	for (unsigned d = 0; d < K; d++)
		istr_o[d] = ostr[d] * (VS > 1 && (int64_t)d == a ? VS : 1);
	unsigned w = mld_dtype_dense_width(lut->dtype);
	const uint8_t *ix = idx->data, *L = lut->data;
	uint8_t *o = t->data;
	/* Split the index dims into an outer part and the longest ungrouped suffix
	 * (lut dim 1, not the vector axis): within the suffix one palette serves a
	 * contiguous run, so the hot loop is a plain table lookup. */
	unsigned s = K;
	while (s > 0 && lut->shape[s - 1] == 1 && !(VS > 1 && (int64_t)(s - 1) == a))
		s--;
	uint64_t run = 1;
	for (unsigned d = s; d < K; d++)
		run *= idx->shape[d];
	uint64_t runs = run ? idx->count / run : 0, row_stride = P * VS * w, kstep = VS > 1 ? ostr[a] : 0;
	uint16_t pal16[256] = {0}; /* zero past P: the b64 kernel reads 64 entries */
	const mld__lutkern *kern = mld__lutkern_get();
	for (uint64_t r = 0; r < runs; r++) {
		uint64_t rem = r, g = 0, obase = 0;
		for (unsigned d = s; d-- > 0;) {
			uint64_t c = rem % idx->shape[d];
			rem /= idx->shape[d];
			g += (c / bs[d]) * gstr[d];
			obase += c * istr_o[d];
		}
		const uint8_t *irow = ix + r * run, *pal = L + g * row_stride;
		if (VS == 1 && w == 2) { /* the hot path: scalar fp16 palettes, output contiguous */
			memcpy(pal16, pal, (size_t)P * 2);
			/* the indices are unpacked, one per byte and below P */
			(P <= 64 ? kern->b64 : kern->u8)((uint16_t *)(void *)(o + obase * 2), irow, (size_t)run, pal16);
			continue;
		}
		for (uint64_t j = 0; j < run; j++) {
			/* output position of index element j of this run: strides of the suffix dims */
			uint64_t ob = obase, rj = j;
			for (unsigned d = K; d-- > s;) {
				ob += (rj % idx->shape[d]) * istr_o[d];
				rj /= idx->shape[d];
			}
			const uint8_t *src = pal + (uint64_t)irow[j] * VS * w;
			for (uint64_t k = 0; k < VS; k++)
				memcpy(o + (ob + k * kstep) * w, src + k * w, w);
		}
	}
	*out = t;
	return 0;
}

static int shape_from_tensor(uint64_t *shape, unsigned *rank, uint64_t *count, const mld_tensor *s, const char *op)
{
	if (s->rank != 1 || (s->dtype != MLD_DT_UINT32 && s->dtype != MLD_DT_INT32) || s->count > MLD_MAX_RANK)
		return mld__err(MLD_EFORMAT, "%s: shape must be a rank-1 uint32 tensor of at most %d values", op,
		                MLD_MAX_RANK);
	uint64_t n = 1;
	for (uint64_t d = 0; d < s->count; d++) {
		shape[d] = mld__rd32((const uint8_t *)s->data + 4 * d);
		if (!mld__mul_u64(n, shape[d], &n))
			return mld__err(MLD_EFORMAT, "%s: shape element count overflows", op);
	}
	*rank = (unsigned)s->count;
	*count = n;
	return 0;
}

int mld__deq_lut_ios16(mld_tensor **out, const mld_tensor *idx, const mld_tensor *lut, const mld_tensor *shp)
{
	static const char op[] = "constexpr_lut_to_dense (iOS16)";
	uint64_t shape[MLD_MAX_RANK], n, need;
	unsigned rank;
	int rc = shape_from_tensor(shape, &rank, &n, shp, op);
	if (rc)
		return rc;
	if (idx->dtype != MLD_DT_UINT8 || idx->rank != 1)
		return mld__err(MLD_EFORMAT, "%s: indices must be a rank-1 uint8 tensor", op);
	if (!is_lut_dtype(lut->dtype) || lut->rank != 1)
		return mld__err(MLD_EFORMAT, "%s: lut must be a rank-1 int8/uint8/fp16/fp32 tensor", op);
	unsigned nbits = 0;
	while (nbits < 9 && (UINT64_C(1) << nbits) != lut->count)
		nbits++;
	if (nbits != 1 && nbits != 2 && nbits != 4 && nbits != 6 && nbits != 8)
		return mld__err(MLD_EFORMAT, "%s: lut of %llu entries (need 2, 4, 16, 64 or 256)", op,
		                (unsigned long long)lut->count);
	if (!mld__mul_u64(n, nbits, &need) || (need + 7) / 8 != idx->count)
		return mld__err(MLD_EFORMAT, "%s: %llu packed index bytes for %llu %u-bit indices (need %llu)", op,
		                (unsigned long long)idx->count, (unsigned long long)n, nbits,
		                (unsigned long long)((need + 7) / 8));
	mld_tensor *t;
	if ((rc = mld__tensor_new(&t, lut->dtype, rank, shape)))
		return rc;
	unsigned w = mld_dtype_dense_width(lut->dtype);
	const uint8_t *ix = idx->data, *L = lut->data;
	uint8_t *o = t->data;
	for (uint64_t j = 0; j < n; j++)
		memcpy(o + j * w, L + (uint64_t)mld__packed_get(ix, j, nbits) * w, w);
	*out = t;
	return 0;
}

/* Store a float result in a float tensor of dtype dt (rounding as numpy does). */
static inline void put_float(uint8_t *o, uint64_t i, mld_dtype dt, float v)
{
	if (dt == MLD_DT_FP16)
		mld__wr16(o + 2 * i, mld__float_to_half(v));
	else
		memcpy(o + 4 * i, &v, 4);
}

static inline float round_to(mld_dtype dt, float v)
{
	return dt == MLD_DT_FP16 ? mld__half_to_float(mld__float_to_half(v)) : v;
}

/* Block coordinate offset of flat position i: row-major index into T. */
static uint64_t block_index(uint64_t i, const mld_tensor *data, const mld_tensor *blk)
{
	uint64_t b = 0, stride = 1;
	for (unsigned d = data->rank; d-- > 0;) {
		uint64_t c = i % data->shape[d];
		i /= data->shape[d];
		uint64_t B = data->shape[d] / blk->shape[d];
		b += (c / B) * stride;
		stride *= blk->shape[d];
	}
	return b;
}

int mld__deq_shift_scale(mld_tensor **out, const mld_tensor *data, const mld_tensor *scale, const mld_tensor *offset)
{
	static const char op[] = "constexpr_blockwise_shift_scale";
	char s1[128], s2[128];
	if (scale->dtype != MLD_DT_FP16 && scale->dtype != MLD_DT_FP32)
		return mld__err(MLD_EFORMAT, "%s: scale must be fp16 or fp32, not %s", op,
		                mld_dtype_name(scale->dtype));
	mld_dtype ddt = data->dtype;
	if (ddt != MLD_DT_INT4 && ddt != MLD_DT_UINT4 && ddt != MLD_DT_INT8 && ddt != MLD_DT_UINT8 &&
	    ddt != MLD_DT_FP16 && ddt != MLD_DT_FP32)
		return mld__err(MLD_EFORMAT, "%s: data dtype %s is not int4/uint4/int8/uint8/fp16/fp32", op,
		                mld_dtype_name(ddt));
	if (data->rank < 1 || scale->rank != data->rank)
		return mld__err(MLD_EFORMAT, "%s: scale %s must have the rank of data %s", op,
		                shape_str(s1, sizeof s1, scale), shape_str(s2, sizeof s2, data));
	for (unsigned d = 0; d < data->rank; d++)
		if (scale->shape[d] == 0 || data->shape[d] % scale->shape[d])
			return mld__err(MLD_EFORMAT, "%s: data %s is not divisible into blocks of scale %s", op,
			                shape_str(s2, sizeof s2, data), shape_str(s1, sizeof s1, scale));
	if (offset) {
		if (offset->rank != scale->rank || memcmp(offset->shape, scale->shape, scale->rank * sizeof(uint64_t)))
			return mld__err(MLD_EFORMAT, "%s: offset %s must have the shape of scale %s", op,
			                shape_str(s1, sizeof s1, offset), shape_str(s2, sizeof s2, scale));
		if (!mld__dtype_is_float(offset->dtype) && offset->dtype != ddt)
			return mld__err(MLD_EFORMAT, "%s: integer offset (%s) must have the dtype of data (%s)", op,
			                mld_dtype_name(offset->dtype), mld_dtype_name(ddt));
	}
	mld_dtype odt = scale->dtype;
	mld_tensor *t;
	int rc = mld__tensor_new(&t, odt, data->rank, data->shape);
	if (rc)
		return rc;
	/* The innermost block run shares one scale/offset: walk it without re-deriving. */
	uint64_t inner = data->shape[data->rank - 1];
	uint64_t B = inner / scale->shape[data->rank - 1];
	for (uint64_t r = 0; r < data->count / (inner ? inner : 1); r++) {
		uint64_t base = r * inner, b0 = block_index(base, data, scale);
		for (uint64_t j = 0; j < inner; j++) {
			uint64_t b = b0 + j / B;
			float x = round_to(
				odt, (float)mld__dense_get(ddt, data->data, base + j)); /* data.astype(scale dtype) */
			if (offset)
				x = round_to(odt,
				             x - round_to(odt, (float)mld__dense_get(offset->dtype, offset->data, b)));
			put_float(t->data, base + j, odt, x * (float)mld__dense_get(odt, scale->data, b));
		}
	}
	*out = t;
	return 0;
}

int mld__deq_affine(mld_tensor **out, const mld_tensor *q, const mld_tensor *zp, const mld_tensor *scale, int64_t axis)
{
	static const char op[] = "constexpr_affine_dequantize";
	if (q->dtype != MLD_DT_UINT8 && q->dtype != MLD_DT_INT8)
		return mld__err(MLD_EFORMAT, "%s: quantized_data must be uint8 or int8, not %s", op,
		                mld_dtype_name(q->dtype));
	if (scale->dtype != MLD_DT_FP16 && scale->dtype != MLD_DT_FP32)
		return mld__err(MLD_EFORMAT, "%s: scale must be fp16 or fp32", op);
	if (zp->dtype != MLD_DT_UINT8 && zp->dtype != MLD_DT_INT8 && zp->dtype != MLD_DT_FP32)
		return mld__err(MLD_EFORMAT, "%s: zero_point must be uint8, int8 or fp32", op);
	if (q->rank < 1)
		return mld__err(MLD_EFORMAT, "%s: quantized_data must have rank >= 1", op);
	int64_t a = axis < 0 ? axis + (int64_t)q->rank : axis;
	if (a < 0 || a >= (int64_t)q->rank)
		return mld__err(MLD_EFORMAT, "%s: axis %lld out of range for rank %u", op, (long long)axis, q->rank);
	const mld_tensor *pv[2] = {zp, scale};
	for (int k = 0; k < 2; k++)
		if (!(pv[k]->rank == 0 || (pv[k]->rank == 1 && pv[k]->count == q->shape[a])))
			return mld__err(MLD_EFORMAT, "%s: %s must be a scalar or a vector of length %llu", op,
			                k ? "scale" : "zero_point", (unsigned long long)q->shape[a]);
	mld_tensor *t;
	int rc = mld__tensor_new(&t, scale->dtype, q->rank, q->shape);
	if (rc)
		return rc;
	uint64_t inner = 1;
	for (unsigned d = (unsigned)a + 1; d < q->rank; d++)
		inner *= q->shape[d];
	for (uint64_t i = 0; i < q->count; i++) {
		uint64_t c = (i / inner) % q->shape[a];
		float s = (float)mld__dense_get(scale->dtype, scale->data, scale->rank ? c : 0);
		float z = (float)mld__dense_get(zp->dtype, zp->data, zp->rank ? c : 0);
		/* coremltools: scale * (q.astype(fp32) - zp.astype(fp32)), then astype(scale dtype) */
		put_float(t->data, i, scale->dtype, s * ((float)mld__dense_get(q->dtype, q->data, i) - z));
	}
	*out = t;
	return 0;
}

static int scatter(mld_tensor **out, const mld_tensor *nz, const uint8_t *mask, uint64_t n, unsigned rank,
                   const uint64_t *shape, const char *op)
{
	if (nz->rank != 1)
		return mld__err(MLD_EFORMAT, "%s: nonzero_data must have rank 1", op);
	uint64_t ones = 0;
	for (uint64_t i = 0; i < n; i++)
		ones += mask[i] != 0;
	if (ones != nz->count)
		return mld__err(MLD_EFORMAT, "%s: mask has %llu set bits but nonzero_data holds %llu values", op,
		                (unsigned long long)ones, (unsigned long long)nz->count);
	mld_tensor *t;
	int rc = mld__tensor_new(&t, nz->dtype, rank, shape);
	if (rc)
		return rc;
	unsigned w = mld_dtype_dense_width(nz->dtype);
	const uint8_t *src = nz->data;
	uint8_t *o = t->data;
	for (uint64_t i = 0, k = 0; i < n; i++)
		if (mask[i])
			memcpy(o + i * w, src + (k++) * w, w);
	*out = t;
	return 0;
}

int mld__deq_sparse_ios18(mld_tensor **out, const mld_tensor *nz, const mld_tensor *mask)
{
	if (mask->dtype != MLD_DT_UINT1)
		return mld__err(MLD_EFORMAT, "constexpr_sparse_to_dense: mask must be uint1, not %s",
		                mld_dtype_name(mask->dtype));
	return scatter(out, nz, mask->data, mask->count, mask->rank, mask->shape, "constexpr_sparse_to_dense");
}

int mld__deq_sparse_ios16(mld_tensor **out, const mld_tensor *nz, const mld_tensor *mask, const mld_tensor *shp)
{
	static const char op[] = "constexpr_sparse_to_dense (iOS16)";
	uint64_t shape[MLD_MAX_RANK], n;
	unsigned rank;
	int rc = shape_from_tensor(shape, &rank, &n, shp, op);
	if (rc)
		return rc;
	if (mask->dtype != MLD_DT_UINT8 || mask->rank != 1 || mask->count != n / 8 + (n % 8 != 0))
		return mld__err(MLD_EFORMAT, "%s: mask must be a rank-1 uint8 tensor of %llu bytes", op,
		                (unsigned long long)(n / 8 + (n % 8 != 0)));
	const uint8_t *m = mask->data;
	for (uint64_t j = n; j < mask->count * 8; j++)
		if (m[j >> 3] >> (j & 7) & 1)
			return mld__err(MLD_EFORMAT, "%s: mask bit %llu is set beyond the %llu elements", op,
			                (unsigned long long)j, (unsigned long long)n);
	uint8_t *bits = mld__malloc(n ? (size_t)n : 1);
	if (!bits)
		return MLD_ENOMEM;
	for (uint64_t j = 0; j < n; j++)
		bits[j] = m[j >> 3] >> (j & 7) & 1;
	rc = scatter(out, nz, bits, n, rank, shape, op);
	free(bits);
	return rc;
}

int mld__deq_cast(mld_tensor **out, const mld_tensor *src, const char *name)
{
	mld_dtype to = mld__dtype_from_name(name);
	if (!((src->dtype == MLD_DT_FP16 && to == MLD_DT_FP32) || (src->dtype == MLD_DT_FP32 && to == MLD_DT_FP16)))
		return mld__err(MLD_EUNSUPPORTED,
		                "constexpr_cast from %s to \"%s\" is not supported (only fp16 <-> fp32)",
		                mld_dtype_name(src->dtype), name);
	mld_tensor *t;
	int rc = mld__tensor_new(&t, to, src->rank, src->shape);
	if (rc)
		return rc;
	for (uint64_t i = 0; i < src->count; i++)
		put_float(t->data, i, to, (float)mld__dense_get(src->dtype, src->data, i));
	*out = t;
	return 0;
}

/* Repeat each element of a uint1 mask VS times along axis a. */
static int expand_mask(mld_tensor **out, const mld_tensor *mask, uint64_t VS, unsigned a)
{
	uint64_t shape[MLD_MAX_RANK];
	memcpy(shape, mask->shape, mask->rank * sizeof *shape);
	if (!mld__mul_u64(shape[a], VS, &shape[a]))
		return mld__err(MLD_EFORMAT, "constexpr_lut_to_sparse: mask shape overflows");
	mld_tensor *t;
	int rc = mld__tensor_new(&t, MLD_DT_UINT1, mask->rank, shape);
	if (rc)
		return rc;
	uint64_t inner = 1;
	for (unsigned d = a + 1; d < mask->rank; d++)
		inner *= mask->shape[d];
	const uint8_t *m = mask->data;
	uint8_t *o = t->data;
	uint64_t span = inner * mask->shape[a], outer = span ? mask->count / span : 0;
	for (uint64_t p = 0; p < outer; p++)
		for (uint64_t c = 0; c < mask->shape[a]; c++)
			for (uint64_t k = 0; k < VS; k++)
				memcpy(o + ((p * shape[a]) + c * VS + k) * inner, m + (p * mask->shape[a] + c) * inner,
				       inner);
	*out = t;
	return 0;
}

static int gather(mld_tensor **out, const mld_tensor *dense, const mld_tensor *mask)
{
	uint64_t ones = 0;
	const uint8_t *m = mask->data;
	for (uint64_t i = 0; i < mask->count; i++)
		ones += m[i] != 0;
	mld_tensor *t;
	int rc = mld__tensor_new(&t, dense->dtype, 1, &ones);
	if (rc)
		return rc;
	unsigned w = mld_dtype_dense_width(dense->dtype);
	for (uint64_t i = 0, k = 0; i < mask->count; i++)
		if (m[i])
			memcpy((uint8_t *)t->data + (k++) * w, (const uint8_t *)dense->data + i * w, w);
	*out = t;
	return 0;
}

int mld__deq_lut_to_sparse(mld_tensor *out[2], const mld_tensor *mask, const mld_tensor *nzi, const mld_tensor *lut,
                           int64_t vaxis, bool has_vaxis)
{
	if (mask->dtype != MLD_DT_UINT1)
		return mld__err(MLD_EFORMAT, "constexpr_lut_to_sparse: indices_mask must be uint1");
	mld_tensor *dense_idx = NULL, *vals = NULL, *omask = NULL;
	/* indices: scatter the nonzero indices into the mask's positions (0 elsewhere) */
	int rc = scatter(&dense_idx, nzi, mask->data, mask->count, mask->rank, mask->shape, "constexpr_lut_to_sparse");
	if (!rc)
		rc = mld__deq_lut_ios18(&vals, dense_idx, lut, vaxis, has_vaxis);
	uint64_t VS = lut->rank >= 2 ? lut->shape[lut->rank - 1] : 1;
	unsigned a = 0;
	if (!rc && VS > 1)
		a = (unsigned)(vaxis < 0 ? vaxis + (int64_t)mask->rank : vaxis);
	if (!rc)
		rc = VS > 1 ? expand_mask(&omask, mask, VS, a)
		            : mld__tensor_new(&omask, MLD_DT_UINT1, mask->rank, mask->shape);
	if (!rc && VS == 1)
		memcpy(omask->data, mask->data, mask->nbytes);
	if (!rc)
		rc = gather(&out[1], vals, omask);
	mld_tensor_free(dense_idx);
	mld_tensor_free(vals);
	if (rc) {
		mld_tensor_free(omask);
		return rc;
	}
	out[0] = omask;
	return 0;
}

int mld__deq_sparse_shift_scale(mld_tensor *out[2], const mld_tensor *mask, const mld_tensor *nz,
                                const mld_tensor *scale, const mld_tensor *offset)
{
	if (mask->dtype != MLD_DT_UINT1)
		return mld__err(MLD_EFORMAT, "constexpr_sparse_blockwise_shift_scale: data_mask must be uint1");
	mld_tensor *dense = NULL, *deq = NULL, *omask = NULL;
	int rc = scatter(&dense, nz, mask->data, mask->count, mask->rank, mask->shape,
	                 "constexpr_sparse_blockwise_shift_scale");
	if (!rc)
		rc = mld__deq_shift_scale(&deq, dense, scale, offset);
	if (!rc)
		rc = mld__tensor_new(&omask, MLD_DT_UINT1, mask->rank, mask->shape);
	if (!rc) {
		memcpy(omask->data, mask->data, mask->nbytes);
		rc = gather(&out[1], deq, omask);
	}
	mld_tensor_free(dense);
	mld_tensor_free(deq);
	if (rc) {
		mld_tensor_free(omask);
		return rc;
	}
	out[0] = omask;
	return 0;
}
