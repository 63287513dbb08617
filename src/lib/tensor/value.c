/* MIL Value -> dense tensor: immediates per coremltools' TensorValue encoding,
 * blobs through the checked blob-file reader. */
#include "../io/blobfile.h"
#include "../core/dtype.h"
#include "subbyte.h"
#include "tensor.h"

#include <stdlib.h>

/* Decoded tensors are capped so a hostile shape cannot ask for terabytes. */
#define MLD_MAX_TENSOR_BYTES (UINT64_C(1) << 40)

int mld__tensor_new(mld_tensor **out, mld_dtype dt, unsigned rank, const uint64_t *shape)
{
	unsigned w = mld_dtype_dense_width(dt);
	if (!w)
		return mld__err(MLD_EUNSUPPORTED, "no dense form for dtype %s", mld_dtype_name(dt));
	if (rank > MLD_MAX_RANK)
		return mld__err(MLD_EUNSUPPORTED, "rank %u exceeds %d", rank, MLD_MAX_RANK);
	uint64_t n = 1, bytes;
	for (unsigned d = 0; d < rank; d++)
		if (!mld__mul_u64(n, shape[d], &n))
			return mld__err(MLD_EFORMAT, "shape element count overflows");
	if (!mld__mul_u64(n, w, &bytes) || bytes > MLD_MAX_TENSOR_BYTES || bytes > SIZE_MAX)
		return mld__err(MLD_EFORMAT, "tensor of %llu elements is too large", (unsigned long long)n);
	mld_tensor *t = mld__calloc(1, sizeof *t);
	if (!t)
		return MLD_ENOMEM;
	t->data = calloc(bytes ? (size_t)bytes : 1, 1);
	if (!t->data) {
		free(t);
		return mld__err(MLD_ENOMEM, "out of memory for a %llu-byte tensor", (unsigned long long)bytes);
	}
	t->dtype = dt;
	t->rank = rank;
	memcpy(t->shape, shape, rank * sizeof *shape);
	t->count = n;
	t->nbytes = (size_t)bytes;
	*out = t;
	return 0;
}

void mld_tensor_free(mld_tensor *t)
{
	if (!t)
		return;
	free(t->data);
	free(t);
}

/* Fill from a packed or plain little-endian byte payload. */
static int fill_bytes(mld_tensor *t, const uint8_t *p, uint64_t len, const char *what)
{
	unsigned bits = mld_dtype_bits(t->dtype);
	uint64_t need;
	if (!mld__packed_size(t->count, bits, &need) || len != need)
		return mld__err(MLD_EFORMAT, "%s: %llu bytes for %llu %s elements (expected %llu)", what,
		                (unsigned long long)len, (unsigned long long)t->count, mld_dtype_name(t->dtype),
		                (unsigned long long)need);
	if (bits < 8)
		mld__unpack(t->data, p, t->count, bits, t->dtype == MLD_DT_INT4);
	else if (len)
		memcpy(t->data, p, (size_t)len); /* host is little-endian (checked at build time) */
	return 0;
}

static int count_mismatch(const mld_tensor *t, size_t n, const char *what)
{
	return mld__err(MLD_EFORMAT, "%s: immediate holds %zu values, shape needs %llu", what, n,
	                (unsigned long long)t->count);
}

static int fill_immediate(mld_tensor *t, const mil_tensor_value *tv, const char *what)
{
	uint8_t *d = t->data;
	switch (tv->value_case) {
	case CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_BYTES:
		return fill_bytes(t, tv->bytes->values.data, tv->bytes->values.len, what);
	case CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_FLOATS: {
		size_t n = tv->floats->n_values;
		if (n != t->count)
			return count_mismatch(t, n, what);
		for (size_t i = 0; i < n; i++) {
			float f = tv->floats->values[i];
			if (t->dtype == MLD_DT_FP32)
				memcpy(d + 4 * i, &f, 4);
			else if (t->dtype == MLD_DT_FP16)
				mld__wr16(d + 2 * i, mld__float_to_half(f));
			else
				return mld__err(MLD_EFORMAT, "%s: float values for a %s tensor", what,
				                mld_dtype_name(t->dtype));
		}
		return 0;
	}
	case CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_DOUBLES: {
		size_t n = tv->doubles->n_values;
		if (n != t->count)
			return count_mismatch(t, n, what);
		if (t->dtype != MLD_DT_FP64)
			return mld__err(MLD_EFORMAT, "%s: double values for a %s tensor", what,
			                mld_dtype_name(t->dtype));
		memcpy(d, tv->doubles->values, n * 8);
		return 0;
	}
	case CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_INTS:
	case CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_LONG_INTS:
	case CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_BOOLS: {
		bool isint = tv->value_case == CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_INTS;
		bool islong = tv->value_case == CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_LONG_INTS;
		size_t n = isint ? tv->ints->n_values : islong ? tv->longints->n_values : tv->bools->n_values;
		if (n != t->count)
			return count_mismatch(t, n, what);
		unsigned w = mld_dtype_dense_width(t->dtype);
		if (mld__dtype_is_float(t->dtype))
			return mld__err(MLD_EFORMAT, "%s: integer values for a %s tensor", what,
			                mld_dtype_name(t->dtype));
		/* Widened values must fit the dtype: a uint2 "index" of 200 would otherwise
		 * reach a 4-entry palette (and read past it). */
		unsigned bits = mld_dtype_bits(t->dtype);
		bool sgn = mld__dtype_is_signed_int(t->dtype);
		for (size_t i = 0; i < n; i++) {
			int64_t v = isint    ? tv->ints->values[i]
			            : islong ? tv->longints->values[i]
			                     : tv->bools->values[i];
			if (bits < 32 && (sgn ? v < -(INT64_C(1) << (bits - 1)) || v >= (INT64_C(1) << (bits - 1))
			                      : v < 0 || v >= (INT64_C(1) << bits)))
				return mld__err(MLD_EFORMAT, "%s: value %lld does not fit a %s tensor", what,
				                (long long)v, mld_dtype_name(t->dtype));
			for (unsigned k = 0; k < w; k++)
				d[i * w + k] = (uint8_t)((uint64_t)v >> (8 * k));
		}
		return 0;
	}
	default:
		return mld__err(MLD_EUNSUPPORTED, "%s: immediate tensor encoding %d is not supported", what,
		                (int)tv->value_case);
	}
}

/* Does an immediate's payload hold `count` elements? Checked before the tensor is
 * allocated, so a tiny immediate declaring a huge shape cannot ask for terabytes. */
static int immediate_fits(const mil_tensor_value *tv, mld_dtype dt, uint64_t count, const char *what)
{
	size_t n;
	switch (tv->value_case) {
	case CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_BYTES: {
		uint64_t need;
		if (!mld__packed_size(count, mld_dtype_bits(dt), &need) || tv->bytes->values.len != need)
			return mld__err(MLD_EFORMAT, "%s: %llu bytes for %llu %s elements (expected %llu)", what,
			                (unsigned long long)tv->bytes->values.len, (unsigned long long)count,
			                mld_dtype_name(dt), (unsigned long long)need);
		return 0;
	}
	case CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_FLOATS: n = tv->floats->n_values; break;
	case CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_DOUBLES: n = tv->doubles->n_values; break;
	case CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_INTS: n = tv->ints->n_values; break;
	case CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_LONG_INTS: n = tv->longints->n_values; break;
	case CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_BOOLS: n = tv->bools->n_values; break;
	default:
		return mld__err(MLD_EUNSUPPORTED, "%s: immediate tensor encoding %d is not supported", what,
		                (int)tv->value_case);
	}
	if (n != count)
		return mld__err(MLD_EFORMAT, "%s: immediate holds %zu values, shape needs %llu", what, n,
		                (unsigned long long)count);
	return 0;
}

int mld__value_decode(mld_tensor **out, const mld_package *pkg, const mil_value *v, const char *what)
{
	mld_dtype dt;
	unsigned rank;
	uint64_t shape[MLD_MAX_RANK], count;
	int rc = mil_tensor_shape(v->type, &dt, &rank, shape, &count, what);
	if (rc)
		return rc;
	if (dt == MLD_DT_STRING)
		return mld__err(MLD_EUNSUPPORTED, "%s: a string tensor has no dense numeric form", what);
	mld_tensor *t;
	if (v->value_case == MIL_VALUE_BLOB && v->blobfilevalue) {
		const uint8_t *map;
		uint64_t len;
		char *disp = NULL;
		mld__blob_view bv;
		if ((rc = mld__package_blobfile(pkg, v->blobfilevalue->filename, &map, &len, &disp)))
			return mld__err_prefix("%s", what);
		if ((rc = mld__blobfile_check_header(map, len, NULL, disp)) ||
		    (rc = mld__blobfile_read(&bv, map, len, v->blobfilevalue->offset, dt, disp))) {
			free(disp);
			return mld__err_prefix("%s", what);
		}
		if (bv.count != count) {
			rc = mld__err(MLD_EFORMAT,
			              "%s: %s: blob at offset %llu holds %llu elements, the type declares %llu", what,
			              disp, (unsigned long long)v->blobfilevalue->offset, (unsigned long long)bv.count,
			              (unsigned long long)count);
			free(disp);
			return rc;
		}
		free(disp);
		if ((rc = mld__tensor_new(&t, dt, rank, shape)))
			return mld__err_prefix("%s", what);
		if ((rc = fill_bytes(t, bv.data, bv.size, what))) {
			mld_tensor_free(t);
			return rc;
		}
	} else if (v->value_case == MIL_VALUE_IMMEDIATE && v->immediatevalue &&
	           v->immediatevalue->value_case == MIL_IMM_TENSOR && v->immediatevalue->tensor) {
		if ((rc = immediate_fits(v->immediatevalue->tensor, dt, count, what)))
			return rc;
		if ((rc = mld__tensor_new(&t, dt, rank, shape)))
			return mld__err_prefix("%s", what);
		if ((rc = fill_immediate(t, v->immediatevalue->tensor, what))) {
			mld_tensor_free(t);
			return rc;
		}
	} else {
		return mld__err(MLD_EUNSUPPORTED, "%s: value is neither a tensor immediate nor a blob", what);
	}
	*out = t;
	return 0;
}

int mld__value_string(const char **out, const mil_value *v, const char *what)
{
	if (v && v->value_case == MIL_VALUE_IMMEDIATE && v->immediatevalue &&
	    v->immediatevalue->value_case == MIL_IMM_TENSOR && v->immediatevalue->tensor &&
	    v->immediatevalue->tensor->value_case == CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_STRINGS &&
	    v->immediatevalue->tensor->strings->n_values == 1) {
		*out = v->immediatevalue->tensor->strings->values[0];
		return 0;
	}
	return mld__err(MLD_EFORMAT, "%s: expected a string scalar", what);
}
