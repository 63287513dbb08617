/* Raising a function to the iOS18 op set (CoreML8) for a multifunction program.
 *
 * Core ML reads every op of a function by the definition its op set gives it, so
 * relabelling an iOS15/16/17 function CoreML8 is only right for ops whose iOS18
 * definition means the same for the inputs they have. From coremltools' op
 * definitions (coremltools/converters/mil/mil/ops/defs/iOS16, iOS17, iOS18), every op
 * redefined after iOS15, and what the upgrade does with it:
 *
 * | op (redefined in)                                  | what changed                                   | decision |
 * |----------------------------------------------------|------------------------------------------------|----------|
 * | constexpr_lut_to_dense, constexpr_sparse_to_dense  | iOS18: inputs, not attributes; uintN indices   | rewrite to the iOS18 form, bit-identical values |
 * |   (iOS18)                                          |   and a uint1 mask of the output shape, no     |          |
 * |                                                    |   `shape`                                      |          |
 * | constexpr_cast (iOS18)                             | iOS18: inputs, not attributes                  | rewrite (attributes -> inputs) |
 * | constexpr_affine_dequantize (iOS16 only)           | none: still an iOS18 op, attribute form        | keep |
 * | gather, gather_along_axis, gather_nd (iOS16, 17);  | iOS17: a negative index is out of bounds       | from CoreML5/6, signed int32 indices become |
 * |   scatter, scatter_along_axis, scatter_nd (iOS17)  |   (undefined result) where iOS15/16 read i as  |   select(i >= 0, i, i + D) first, as coremltools |
 * |                                                    |   i + D; new validate_indices (default false); |   converts for iOS17+; unsigned or constant |
 * |                                                    |   iOS16 batch_dims (default 0), more dtypes    |   non-negative indices kept; other signed types, |
 * |                                                    |                                                |   or D not a fixed size: refused |
 * | crop_resize (iOS16, iOS17)                         | iOS16 pad_value (default 0); iOS17: `roi`      | from CoreML5/6 with `roi`: refused |
 * |                                                    |   replaced by boxes + box_indices, output      |          |
 * |                                                    |   loses its B dimension                        |          |
 * | non_maximum_suppression (iOS17)                    | score_threshold and the 4th output removed,    | from CoreML5/6: refused |
 * |                                                    |   boxes/scores transposed                      |          |
 * | clip (iOS17)                                       | alpha < beta now enforced                      | constant alpha >= beta: refused; else keep |
 * | reshape (iOS17)                                    | a 0 in shape matches from the right, and       | keep: iOS15/16 required len(shape) == rank, |
 * |                                                    |   len(shape) may differ from rank              |   where both readings agree |
 * | upsample_bilinear (iOS16)                          | half_pixel_centers, default !align_corners     | keep: that default is iOS15's behaviour |
 * | topk (iOS16, iOS17)                                | sort, return_indices (default true),           | keep (defaults are the old behaviour) |
 * |                                                    |   output_indices_dtype (default int32)         |          |
 * | reduce_argmax, reduce_argmin (iOS17)               | output_dtype (default int32)                   | keep |
 * | resample (iOS16, 17), cast, slice_by_index,        | more dtypes only                               | keep |
 * |   slice_by_size, reshape_like, expand_dims,        |                                                |          |
 * |   squeeze, reverse, reverse_sequence,              |                                                |          |
 * |   sliding_windows, transpose (iOS17)               |                                                |          |
 * | activations with alpha/beta, conv, conv_transpose, | parameters may have another dtype than x       | keep |
 * |   linear, matmul, the norms, inverse, log, rsqrt   |                                                |          |
 * |   (iOS17)                                          |                                                |          |
 * | gru, lstm, rnn (iOS17); gru (iOS18)                | fp16; iOS18 gru reset_after, input_bias        | keep (defaults are the old behaviour) |
 * |                                                    |   (defaults false, 0)                          |          |
 * | fill_like, reshape_like, pixel_unshuffle (iOS16);  | new ops: cannot appear in an older op set      | keep |
 * |   resize, quantize, dequantize (iOS17); the iOS18  |                                                |          |
 * |   compression, state, slice_update and sdpa ops    |                                                |          |
 *
 * A refusal (MLD_EREFUSED) names the function, the op and the way out: convert the
 * source with minimum_deployment_target=iOS18. CoreML7 (iOS17) functions already
 * have the iOS17 meanings and only get the constexpr rewrites. */
#include "ios18.h"

#include "../core/dtype.h"
#include "../core/strmap.h"
#include "pbfree.h"

#include <stdlib.h>

typedef CoreML__Specification__MILSpec__Operation__InputsEntry inputs_entry;
typedef CoreML__Specification__MILSpec__Operation__AttributesEntry attr_entry;
typedef CoreML__Specification__MILSpec__Dimension mil_dim;

/* Detach attribute `key` from the op and return its Value (NULL if absent). */
static mil_value *take_attr(mil_op *op, const char *key)
{
	for (size_t i = 0; i < op->n_attributes; i++) {
		attr_entry *e = op->attributes[i];
		if (strcmp(e->key, key))
			continue;
		mil_value *v = e->value;
		e->value = NULL;
		protobuf_c_message_free_unpacked(&e->base, &mld__pb_any);
		memmove(&op->attributes[i], &op->attributes[i + 1],
		        (op->n_attributes - i - 1) * sizeof *op->attributes);
		op->n_attributes--;
		return v;
	}
	return NULL;
}

static int add_input(mil_op *op, const char *key, mil_value *v)
{
	inputs_entry *e = malloc(sizeof *e);
	mil_argument *a = malloc(sizeof *a);
	mil_binding *b = malloc(sizeof *b);
	mil_binding **arr = malloc(sizeof *arr);
	char *k = mld__strdup(key);
	/* the array may be a model copy's, in its arena: a new one, the old let go */
	inputs_entry **ins = malloc((op->n_inputs + 1) * sizeof *ins);
	if (!e || !a || !b || !arr || !k || !ins) {
		free(e), free(a), free(b), free(arr), free(k), free(ins);
		return mld__err(MLD_ENOMEM, "out of memory rewriting a constexpr op");
	}
	if (op->n_inputs)
		memcpy(ins, op->inputs, op->n_inputs * sizeof *ins);
	mld__free(op->inputs);
	op->inputs = ins;
	core_ml__specification__milspec__operation__inputs_entry__init(e);
	core_ml__specification__milspec__argument__init(a);
	core_ml__specification__milspec__argument__binding__init(b);
	b->binding_case = MIL_BINDING_VALUE;
	b->value = v;
	arr[0] = b;
	a->n_arguments = 1;
	a->arguments = arr;
	e->key = k;
	e->value = a;
	op->inputs[op->n_inputs++] = e;
	return 0;
}

/* Give a Value's tensor type a new dtype and shape. */
static int retype(mil_value *v, mld_dtype dt, unsigned rank, const uint64_t *shape, const char *what)
{
	if (!v->type || v->type->type_case != MIL_TYPE_TENSOR || !v->type->tensortype)
		return mld__err(MLD_EFORMAT, "%s: a parameter has no tensor type", what);
	mil_tensor_type *tt = v->type->tensortype;
	mil_dim **dims = malloc((rank ? rank : 1) * sizeof *dims);
	if (!dims)
		return mld__err(MLD_ENOMEM, "out of memory");
	for (unsigned d = 0; d < rank; d++) {
		mil_dim *dim = malloc(sizeof *dim);
		CoreML__Specification__MILSpec__Dimension__ConstantDimension *c = malloc(sizeof *c);
		if (!dim || !c) {
			free(dim), free(c);
			for (unsigned k = 0; k < d; k++)
				core_ml__specification__milspec__dimension__free_unpacked(dims[k], &mld__pb_any);
			free(dims);
			return mld__err(MLD_ENOMEM, "out of memory");
		}
		core_ml__specification__milspec__dimension__init(dim);
		core_ml__specification__milspec__dimension__constant_dimension__init(c);
		c->size = shape[d];
		dim->dimension_case = MIL_DIM_CONSTANT;
		dim->constant = c;
		dims[d] = dim;
	}
	for (size_t d = 0; d < tt->n_dimensions; d++)
		core_ml__specification__milspec__dimension__free_unpacked(tt->dimensions[d], &mld__pb_any);
	mld__free(tt->dimensions);
	tt->dimensions = dims;
	tt->n_dimensions = rank;
	tt->rank = rank;
	tt->datatype = (CoreML__Specification__MILSpec__DataType)dt;
	return 0;
}

/* The iOS16 `shape` parameter (uint32 immediate, as bytes or ints). */
static int read_shape(uint64_t *shape, unsigned *rank, const mil_value *v, const char *what)
{
	mld_dtype dt;
	unsigned r;
	uint64_t s[MLD_MAX_RANK], count;
	int rc = mil_tensor_shape(v->type, &dt, &r, s, &count, what);
	if (rc)
		return rc;
	if (v->value_case != MIL_VALUE_IMMEDIATE || !v->immediatevalue || !v->immediatevalue->tensor || r != 1 ||
	    count > MLD_MAX_RANK)
		return mld__err(MLD_EUNSUPPORTED, "%s: shape must be a small rank-1 immediate", what);
	const mil_tensor_value *tv = v->immediatevalue->tensor;
	for (uint64_t i = 0; i < count; i++) {
		if (tv->value_case == CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_BYTES &&
		    tv->bytes->values.len == 4 * count)
			shape[i] = mld__rd32(tv->bytes->values.data + 4 * i);
		else if (tv->value_case == CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_INTS &&
		         tv->ints->n_values == count)
			shape[i] = (uint32_t)tv->ints->values[i];
		else
			return mld__err(MLD_EUNSUPPORTED, "%s: unreadable shape immediate", what);
	}
	*rank = (unsigned)count;
	return 0;
}

static mld_dtype uint_of_bits(unsigned bits)
{
	switch (bits) {
	case 1: return MLD_DT_UINT1;
	case 2: return MLD_DT_UINT2;
	case 3: return MLD_DT_UINT3;
	case 4: return MLD_DT_UINT4;
	case 6: return MLD_DT_UINT6;
	case 8: return MLD_DT_UINT8;
	default: return MLD_DT_INVALID;
	}
}

/* The iOS16 packed stream v (uint8) holds exactly the `bits`-bit elements of
 * `shape`, as the iOS18 type it is given must: else the rewrite would declare what
 * the bytes are not. */
static int packed_fits(const mil_value *v, const uint64_t *shape, unsigned rank, unsigned bits, const char *what,
                       const char *name)
{
	uint64_t count = 1, need;
	for (unsigned d = 0; d < rank; d++)
		if (!mld__mul_u64(count, shape[d], &count) || count > (UINT64_C(1) << 48))
			return mld__err(MLD_EFORMAT, "%s: its iOS16 shape has too many elements", what);
	need = (count * bits + 7) / 8;
	mld_dtype dt;
	unsigned r;
	uint64_t s[MLD_MAX_RANK], n;
	int rc = mil_tensor_shape(v->type, &dt, &r, s, &n, what);
	if (!rc && (dt != MLD_DT_UINT8 || n != need))
		rc = mld__err(MLD_EFORMAT, "%s: its %s holds %llu %s elements; its iOS16 shape needs %llu bytes", what,
		              name, (unsigned long long)n, mld_dtype_name(dt), (unsigned long long)need);
	return rc;
}

static int lut_to_ios18(mil_op *op, const char *what)
{
	mil_value *shape_v = take_attr(op, "shape"), *idx = take_attr(op, "indices"), *lut = take_attr(op, "lut");
	uint64_t shape[MLD_MAX_RANK], lshape[MLD_MAX_RANK + 2], lcount, icount;
	unsigned rank = 0, lrank;
	mld_dtype ldt, idt;
	int rc = !shape_v || !idx || !lut
	                 ? mld__err(MLD_EFORMAT, "%s: iOS16 lut_to_dense lacks indices, lut or shape", what)
	                 : 0;
	if (!rc)
		rc = read_shape(shape, &rank, shape_v, what);
	if (!rc)
		rc = mil_tensor_shape(lut->type, &ldt, &lrank, lshape, &lcount, what);
	if (!rc)
		rc = mil_tensor_shape(idx->type, &idt, &lrank, lshape + 2, &icount, what); /* only the dtype matters */
	unsigned bits = 0;
	while (!rc && bits < 9 && (UINT64_C(1) << bits) != lcount)
		bits++;
	if (!rc && (uint_of_bits(bits) == MLD_DT_INVALID || bits == 3 || rank + 2 > MLD_MAX_RANK))
		rc = mld__err(MLD_EFORMAT, "%s: a %llu-entry palette has no iOS18 index type", what,
		              (unsigned long long)lcount);
	if (!rc) {
		for (unsigned d = 0; d < rank; d++)
			lshape[d] = 1;
		lshape[rank] = lcount;
		lshape[rank + 1] = 1;
		rc = retype(lut, ldt, rank + 2, lshape, what);
	}
	if (!rc)
		rc = packed_fits(idx, shape, rank, bits, what, "indices");
	if (!rc)
		rc = retype(idx, uint_of_bits(bits), rank, shape, what);
	if (!rc && !(rc = add_input(op, "indices", idx))) {
		idx = NULL;
		if (!(rc = add_input(op, "lut", lut)))
			lut = NULL;
	}
	core_ml__specification__milspec__value__free_unpacked(shape_v, &mld__pb_any);
	if (idx)
		core_ml__specification__milspec__value__free_unpacked(idx, &mld__pb_any);
	if (lut)
		core_ml__specification__milspec__value__free_unpacked(lut, &mld__pb_any);
	return rc;
}

static int sparse_to_ios18(mil_op *op, const char *what)
{
	mil_value *shape_v = take_attr(op, "shape"), *mask = take_attr(op, "mask"), *nz = take_attr(op, "nonzero_data");
	uint64_t shape[MLD_MAX_RANK];
	unsigned rank = 0;
	int rc = !shape_v || !mask || !nz
	                 ? mld__err(MLD_EFORMAT, "%s: iOS16 sparse_to_dense lacks mask, nonzero_data or shape", what)
	                 : 0;
	if (!rc)
		rc = read_shape(shape, &rank, shape_v, what);
	if (!rc)
		rc = packed_fits(mask, shape, rank, 1, what, "mask");
	if (!rc)
		rc = retype(mask, MLD_DT_UINT1, rank, shape, what);
	if (!rc && !(rc = add_input(op, "nonzero_data", nz))) {
		nz = NULL;
		if (!(rc = add_input(op, "mask", mask)))
			mask = NULL;
	}
	core_ml__specification__milspec__value__free_unpacked(shape_v, &mld__pb_any);
	if (mask)
		core_ml__specification__milspec__value__free_unpacked(mask, &mld__pb_any);
	if (nz)
		core_ml__specification__milspec__value__free_unpacked(nz, &mld__pb_any);
	return rc;
}

static int attrs_to_inputs(mil_op *op, const char *const *keys, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		mil_value *v = take_attr(op, keys[i]);
		if (v && add_input(op, keys[i], v)) {
			core_ml__specification__milspec__value__free_unpacked(v, &mld__pb_any);
			return MLD_ENOMEM;
		}
	}
	return 0;
}

/* ---- ops whose meaning changed between the iOS15/16 and iOS17/18 op sets ------------ */

/* What the upgrade needs to know about a function: the type of every named value
 * (function inputs, block inputs, op outputs) and the const op behind a name. */
typedef struct fnctx {
	const char *fn_name;
	mld__strmap types;  /* name -> mil_value_type* */
	mld__strmap consts; /* name -> mil_op* (const) */
	unsigned serial;
} fnctx;

static int index_block(fnctx *c, const mil_block *b)
{
	if (!b)
		return 0;
	for (size_t i = 0; i < b->n_inputs; i++)
		if (b->inputs[i]->name && mld__strmap_put(&c->types, b->inputs[i]->name, b->inputs[i]->type))
			return MLD_ENOMEM;
	for (size_t i = 0; i < b->n_operations; i++) {
		mil_op *op = b->operations[i];
		for (size_t k = 0; k < op->n_outputs; k++)
			if (op->outputs[k]->name &&
			    mld__strmap_put(&c->types, op->outputs[k]->name, op->outputs[k]->type))
				return MLD_ENOMEM;
		if (mil_is_const(op) && op->n_outputs && op->outputs[0]->name &&
		    mld__strmap_put(&c->consts, op->outputs[0]->name, op))
			return MLD_ENOMEM;
		for (size_t k = 0; k < op->n_blocks; k++)
			if (index_block(c, op->blocks[k]))
				return MLD_ENOMEM;
	}
	return 0;
}

/* An op parameter's Value: an immediate binding, or the immediate `val` of the const
 * op it names. *name gets the bound name, if any. NULL when it is absent or not a
 * constant. */
static const mil_value *const_param(const fnctx *c, const mil_op *op, const char *key, const char **name, bool *present)
{
	const mil_value *v;
	const char *n;
	*present = mil_op_param(op, key, &v, &n);
	if (name)
		*name = n;
	if (n) {
		const mil_op *k = mld__strmap_get(&c->consts, n);
		v = k ? mil_op_attr(k, "val") : NULL;
	}
	return v && v->value_case == MIL_VALUE_IMMEDIATE && v->immediatevalue && v->immediatevalue->tensor ? v : NULL;
}

/* The integers of an immediate (ints, long ints, or little-endian int32 bytes). */
static bool imm_ints(const mil_value *v, int64_t *out, size_t max, size_t *n)
{
	const mil_tensor_value *tv = v->immediatevalue->tensor;
	if (tv->value_case == CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_INTS && tv->ints) {
		*n = tv->ints->n_values;
		for (size_t i = 0; i < *n && i < max; i++)
			out[i] = tv->ints->values[i];
	} else if (tv->value_case == CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_LONG_INTS && tv->longints) {
		*n = tv->longints->n_values;
		for (size_t i = 0; i < *n && i < max; i++)
			out[i] = tv->longints->values[i];
	} else if (tv->value_case == CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_BYTES && tv->bytes &&
	           v->type && v->type->tensortype && v->type->tensortype->datatype == (int)MLD_DT_INT32 &&
	           tv->bytes->values.len % 4 == 0) {
		*n = tv->bytes->values.len / 4;
		for (size_t i = 0; i < *n && i < max; i++)
			out[i] = (int32_t)mld__rd32(tv->bytes->values.data + 4 * i);
	} else {
		return false;
	}
	return *n <= max;
}

/* A scalar float immediate (floats, doubles, or fp16/fp32 bytes). */
static bool imm_float(const mil_value *v, double *out)
{
	const mil_tensor_value *tv = v->immediatevalue->tensor;
	int dt = v->type && v->type->tensortype ? v->type->tensortype->datatype : 0;
	if (tv->value_case == CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_FLOATS && tv->floats &&
	    tv->floats->n_values == 1)
		*out = tv->floats->values[0];
	else if (tv->value_case == CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_DOUBLES && tv->doubles &&
	         tv->doubles->n_values == 1)
		*out = tv->doubles->values[0];
	else if (tv->value_case == CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_BYTES && tv->bytes &&
	         dt == (int)MLD_DT_FP16 && tv->bytes->values.len == 2)
		*out = mld__half_to_float(mld__rd16(tv->bytes->values.data));
	else if (tv->value_case == CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_BYTES && tv->bytes &&
	         dt == (int)MLD_DT_FP32 && tv->bytes->values.len == 4) {
		float f;
		uint32_t u = mld__rd32(tv->bytes->values.data);
		memcpy(&f, &u, 4);
		*out = f;
	} else
		return false;
	return true;
}

/* A tensor type's dtype, rank and dims; dims[d] = -1 where unknown. */
static bool type_dims(const mil_value_type *vt, int *dt, size_t *rank, int64_t *dims, size_t max)
{
	if (!vt || vt->type_case != MIL_TYPE_TENSOR || !vt->tensortype)
		return false;
	const mil_tensor_type *tt = vt->tensortype;
	*dt = tt->datatype;
	*rank = tt->n_dimensions;
	if (*rank > max || tt->rank != (int64_t)tt->n_dimensions)
		return false;
	for (size_t d = 0; d < *rank; d++) {
		const mil_dim *dim = tt->dimensions[d];
		dims[d] = dim && dim->dimension_case == MIL_DIM_CONSTANT && dim->constant &&
		                          dim->constant->size <= INT32_MAX
		                  ? (int64_t)dim->constant->size
		                  : -1;
	}
	return true;
}

static void *pmalloc(size_t n, int *rc)
{
	void *p = *rc ? NULL : calloc(1, n ? n : 1);
	if (!p && !*rc)
		*rc = mld__err(MLD_ENOMEM, "out of memory rewriting an op");
	return p;
}

static char *pstrdup(const char *s, int *rc)
{
	char *p = pmalloc(strlen(s) + 1, rc);
	if (p)
		memcpy(p, s, strlen(s) + 1);
	return p;
}

/* A tensor ValueType of dtype over dims (-1: unknown), from protobuf-c's allocator. */
static mil_value_type *new_type(int dt, size_t rank, const int64_t *dims, int *rc)
{
	mil_value_type *vt = pmalloc(sizeof *vt, rc);
	mil_tensor_type *tt = pmalloc(sizeof *tt, rc);
	mil_dim **dv = pmalloc(rank * sizeof *dv, rc);
	if (*rc) {
		free(vt), free(tt), free(dv);
		return NULL;
	}
	core_ml__specification__milspec__value_type__init(vt);
	core_ml__specification__milspec__tensor_type__init(tt);
	vt->type_case = MIL_TYPE_TENSOR;
	vt->tensortype = tt;
	tt->datatype = (CoreML__Specification__MILSpec__DataType)dt;
	tt->rank = (int64_t)rank;
	tt->dimensions = dv;
	for (size_t d = 0; d < rank && !*rc; d++) {
		mil_dim *dim = pmalloc(sizeof *dim, rc);
		if (!dim)
			break;
		core_ml__specification__milspec__dimension__init(dim);
		if (dims[d] >= 0) {
			CoreML__Specification__MILSpec__Dimension__ConstantDimension *k = pmalloc(sizeof *k, rc);
			if (!k) {
				free(dim);
				break;
			}
			core_ml__specification__milspec__dimension__constant_dimension__init(k);
			k->size = (uint64_t)dims[d];
			dim->dimension_case = MIL_DIM_CONSTANT;
			dim->constant = k;
		} else {
			CoreML__Specification__MILSpec__Dimension__UnknownDimension *u = pmalloc(sizeof *u, rc);
			if (!u) {
				free(dim);
				break;
			}
			core_ml__specification__milspec__dimension__unknown_dimension__init(u);
			dim->dimension_case = CORE_ML__SPECIFICATION__MILSPEC__DIMENSION__DIMENSION_UNKNOWN;
			dim->unknown = u;
		}
		dv[tt->n_dimensions++] = dim;
	}
	if (*rc) {
		core_ml__specification__milspec__value_type__free_unpacked(vt, &mld__pb_any);
		return NULL;
	}
	return vt;
}

/* An immediate Value: int32 values over dims (a scalar when rank is 0), or a string. */
static mil_value *new_imm(int dt, size_t rank, const int64_t *dims, const int32_t *ints, size_t n, const char *str,
                          int *rc)
{
	mil_value *v = pmalloc(sizeof *v, rc);
	CoreML__Specification__MILSpec__Value__ImmediateValue *iv = pmalloc(sizeof *iv, rc);
	mil_tensor_value *tv = pmalloc(sizeof *tv, rc);
	if (*rc) {
		free(v), free(iv), free(tv);
		return NULL;
	}
	core_ml__specification__milspec__value__init(v);
	core_ml__specification__milspec__value__immediate_value__init(iv);
	core_ml__specification__milspec__tensor_value__init(tv);
	v->value_case = MIL_VALUE_IMMEDIATE;
	v->immediatevalue = iv;
	iv->value_case = MIL_IMM_TENSOR;
	iv->tensor = tv;
	if (str) {
		CoreML__Specification__MILSpec__TensorValue__RepeatedStrings *rs = pmalloc(sizeof *rs, rc);
		char **arr = pmalloc(sizeof *arr, rc);
		char *cp = pstrdup(str, rc);
		if (rs) {
			core_ml__specification__milspec__tensor_value__repeated_strings__init(rs);
			tv->value_case = CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_STRINGS;
			tv->strings = rs;
			if (arr && cp) {
				arr[0] = cp;
				rs->values = arr;
				rs->n_values = 1;
				arr = NULL, cp = NULL;
			}
		}
		free(arr), free(cp);
	} else {
		CoreML__Specification__MILSpec__TensorValue__RepeatedInts *ri = pmalloc(sizeof *ri, rc);
		int32_t *vals = pmalloc(n * sizeof *vals, rc);
		if (ri) {
			core_ml__specification__milspec__tensor_value__repeated_ints__init(ri);
			tv->value_case = CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_INTS;
			tv->ints = ri;
			if (vals) {
				memcpy(vals, ints, n * sizeof *vals);
				ri->values = vals;
				ri->n_values = n;
				vals = NULL;
			}
		}
		free(vals);
	}
	if (!*rc)
		v->type = new_type(dt, rank, dims, rc);
	if (*rc) {
		core_ml__specification__milspec__value__free_unpacked(v, &mld__pb_any);
		return NULL;
	}
	return v;
}

static int add_attr(mil_op *op, const char *key, mil_value *v)
{
	int rc = 0;
	attr_entry *e = pmalloc(sizeof *e, &rc);
	char *k = pstrdup(key, &rc);
	/* the array may be a model copy's, in its arena: a new one, the old let go */
	attr_entry **arr = rc ? NULL : malloc((op->n_attributes + 1) * sizeof *arr);
	if (!arr) {
		free(e), free(k);
		core_ml__specification__milspec__value__free_unpacked(v, &mld__pb_any);
		return rc ? rc : mld__err(MLD_ENOMEM, "out of memory rewriting an op");
	}
	if (op->n_attributes)
		memcpy(arr, op->attributes, op->n_attributes * sizeof *arr);
	mld__free(op->attributes);
	op->attributes = arr;
	core_ml__specification__milspec__operation__attributes_entry__init(e);
	e->key = k;
	e->value = v;
	op->attributes[op->n_attributes++] = e;
	return 0;
}

/* Bind input `key` of op to the value `name`. */
static int bind_name(mil_op *op, const char *key, const char *name)
{
	int rc = 0;
	mil_binding *b = pmalloc(sizeof *b, &rc);
	char *n = pstrdup(name, &rc);
	if (rc) {
		free(b), free(n);
		return rc;
	}
	core_ml__specification__milspec__argument__binding__init(b);
	b->binding_case = MIL_BINDING_NAME;
	b->name = n;
	/* add_input's entry, with this binding */
	if ((rc = add_input(op, key, NULL))) {
		free(b), free(n);
		return rc;
	}
	mil_argument *a = op->inputs[op->n_inputs - 1]->value;
	free(a->arguments[0]);
	a->arguments[0] = b;
	return 0;
}

/* A new op `type` named `name` with one output of type `out` (taken). */
static mil_op *new_op(const char *type, const char *name, mil_value_type *out, int *rc)
{
	mil_op *op = pmalloc(sizeof *op, rc);
	mil_named_type *o = pmalloc(sizeof *o, rc);
	mil_named_type **outs = pmalloc(sizeof *outs, rc);
	char *t = pstrdup(type, rc), *n = pstrdup(name, rc);
	if (*rc) {
		free(op), free(o), free(outs), free(t), free(n);
		core_ml__specification__milspec__value_type__free_unpacked(out, &mld__pb_any);
		return NULL;
	}
	core_ml__specification__milspec__operation__init(op);
	core_ml__specification__milspec__named_value_type__init(o);
	op->type = t;
	o->name = n;
	o->type = out;
	outs[0] = o;
	op->outputs = outs;
	op->n_outputs = 1;
	if ((*rc = add_attr(op, "name", new_imm(MLD_DT_STRING, 0, NULL, NULL, 0, name, rc)))) {
		core_ml__specification__milspec__operation__free_unpacked(op, &mld__pb_any);
		return NULL;
	}
	return op;
}

/* A name not yet used in the function: "<base>_<what>", numbered if taken. */
static char *fresh_name(fnctx *c, const char *base, const char *what)
{
	for (unsigned k = 0;; k++) {
		char *n = k ? mld__sprintf("%s_%s_%u", base, what, k) : mld__sprintf("%s_%s", base, what);
		if (!n || !mld__strmap_get(&c->types, n))
			return n;
		free(n);
	}
}

/* Insert ops before position *at of block b (advancing *at past them). */
static int insert_ops(mil_block *b, size_t *at, mil_op **ops, size_t n)
{
	/* the array may be a model copy's, in its arena: a new one, the old let go */
	mil_op **arr = malloc((b->n_operations + n) * sizeof *arr);
	if (!arr)
		return mld__err(MLD_ENOMEM, "out of memory rewriting a block");
	if (*at)
		memcpy(arr, b->operations, *at * sizeof *arr);
	memcpy(&arr[*at], ops, n * sizeof *ops);
	if (b->n_operations > *at)
		memcpy(&arr[*at + n], &b->operations[*at], (b->n_operations - *at) * sizeof *arr);
	mld__free(b->operations);
	b->operations = arr;
	b->n_operations += n;
	*at += n;
	return 0;
}

static const char *const way_out =
	"convert the source with minimum_deployment_target=iOS18 (coremltools) and combine that";

/* Indices of the gather and scatter ops: iOS15/16 read a negative index i as
 * i + D (the size of the axis it indexes); from iOS17 negative indices are out of
 * bounds and their result undefined. As coremltools does when it converts for
 * iOS17+, signed int32 indices become select(i >= 0, i, i + D) first: three ops
 * (greater_equal, add, select) and two consts before the op. Indices that cannot
 * be negative (unsigned, or constants all >= 0) are left alone; an immediate list
 * private to the op is corrected in place. Refused: other signed index types, and an
 * axis whose size is not a constant. */
static int fix_indices(fnctx *c, mil_block *b, size_t *at, mil_op *op, const char *what)
{
	bool nd = !strcmp(op->type, "gather_nd") || !strcmp(op->type, "scatter_nd");
	bool scatter = !strncmp(op->type, "scatter", 7);
	const mil_value *iv;
	const char *iname;
	bool present;
	const mil_value *cidx = const_param(c, op, "indices", &iname, &present);
	mil_op *self = op;
	if (!present)
		return 0; /* not this op set's form: Core ML will say so */
	mil_op_param(op, "indices", &iv, &iname);
	const mil_value_type *itype = iname ? mld__strmap_get(&c->types, iname) : iv ? iv->type : NULL;
	int idt;
	size_t irank, xrank;
	int64_t idims[MLD_MAX_RANK], xdims[MLD_MAX_RANK];
	if (!type_dims(itype, &idt, &irank, idims, MLD_MAX_RANK))
		return mld__err(MLD_EREFUSED,
		                "%s: the type of its indices is unknown, so whether they may be negative (which"
		                " iOS17 and later no longer wrap) cannot be told; %s",
		                what, way_out);
	if (idt == (int)MLD_DT_UINT8 || idt == (int)MLD_DT_UINT16 || idt == (int)MLD_DT_UINT32)
		return 0;
	int64_t vals[64];
	size_t nv = 0;
	bool known = cidx && imm_ints(cidx, vals, 64, &nv);
	bool negative = false;
	for (size_t i = 0; known && i < nv; i++)
		negative |= vals[i] < 0;
	if (known && !negative)
		return 0;
	if (idt != (int)MLD_DT_INT32)
		return mld__err(MLD_EREFUSED,
		                "%s: its %s indices may be negative, which iOS17 and later no longer wrap, and"
		                " mldedup rewrites int32 indices only; %s",
		                what, mld_dtype_name((mld_dtype)idt), way_out);
	/* the sizes the indices count in */
	const mil_value *xv;
	const char *xname;
	mil_op_param(op, scatter ? "data" : "x", &xv, &xname);
	const mil_value_type *xtype = xname ? mld__strmap_get(&c->types, xname) : xv ? xv->type : NULL;
	int xdt;
	if (!type_dims(xtype, &xdt, &xrank, xdims, MLD_MAX_RANK) || xrank == 0)
		return mld__err(MLD_EREFUSED, "%s: the shape of its %s is unknown; %s", what, scatter ? "data" : "x",
		                way_out);
	int32_t dims[MLD_MAX_RANK];
	size_t nd_k = 1;
	if (nd) {
		int64_t bd = 0;
		const mil_value *bv = const_param(c, op, "batch_dims", NULL, &present);
		size_t n1;
		if (present && (!bv || !imm_ints(bv, &bd, 1, &n1) || n1 != 1))
			return mld__err(MLD_EREFUSED, "%s: batch_dims is not a constant; %s", what, way_out);
		if (irank == 0 || idims[irank - 1] < 0 || bd < 0 || (size_t)bd + (size_t)idims[irank - 1] > xrank)
			return mld__err(MLD_EREFUSED,
			                "%s: the depth of its indices is unknown or larger than its input; %s", what,
			                way_out);
		nd_k = (size_t)idims[irank - 1];
		for (size_t k = 0; k < nd_k; k++) {
			if (xdims[bd + (int64_t)k] < 0)
				return mld__err(MLD_EREFUSED,
				                "%s: dimension %lld of its input has no fixed size, so a negative index"
				                " cannot be made positive; %s",
				                what, (long long)(bd + (int64_t)k), way_out);
			dims[k] = (int32_t)xdims[bd + (int64_t)k];
		}
	} else {
		int64_t axis = 0;
		const mil_value *av = const_param(c, op, "axis", NULL, &present);
		size_t n1;
		if (present && (!av || !imm_ints(av, &axis, 1, &n1) || n1 != 1))
			return mld__err(MLD_EREFUSED, "%s: its axis is not a constant; %s", what, way_out);
		if (axis < 0)
			axis += (int64_t)xrank;
		if (axis < 0 || axis >= (int64_t)xrank)
			return mld__err(MLD_EREFUSED, "%s: axis %lld is outside its input of rank %zu; %s", what,
			                (long long)axis, xrank, way_out);
		if (xdims[axis] < 0)
			return mld__err(MLD_EREFUSED,
			                "%s: the size of axis %lld of its input is not fixed, so a negative index"
			                " cannot be made positive; %s",
			                what, (long long)axis, way_out);
		dims[0] = (int32_t)xdims[axis];
	}
	if (!iname) { /* an immediate of this op alone: correct the values themselves */
		mil_binding *ib = (mil_binding *)mil_op_input(op, "indices");
		const mil_value *v = ib ? ib->value : NULL;
		mil_tensor_value *tv = v && v->immediatevalue ? v->immediatevalue->tensor : NULL;
		if (tv && tv->value_case == CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_INTS && tv->ints) {
			for (size_t i = 0; i < tv->ints->n_values; i++)
				if (tv->ints->values[i] < 0)
					tv->ints->values[i] += dims[nd ? i % nd_k : 0];
			return 0;
		}
		return mld__err(MLD_EREFUSED, "%s: its negative indices are in a form mldedup does not rewrite; %s",
		                what, way_out);
	}
	/* indices' = select(indices >= 0, indices, indices + D) */
	int rc = 0;
	const char *label = self->n_outputs && self->outputs[0]->name ? self->outputs[0]->name : "op";
	char *n_zero = fresh_name(c, label, "mld_zero"), *n_dim = fresh_name(c, label, "mld_dim"),
	     *n_ge = fresh_name(c, label, "mld_nonneg"), *n_add = fresh_name(c, label, "mld_wrapped"),
	     *n_sel = fresh_name(c, label, "mld_indices");
	int64_t kdim = (int64_t)nd_k;
	mil_op *ops[5] = {0};
	if (!n_zero || !n_dim || !n_ge || !n_add || !n_sel)
		rc = MLD_ENOMEM;
	int32_t zero = 0;
	if (!rc && (ops[0] = new_op("const", n_zero, new_type(MLD_DT_INT32, 0, NULL, &rc), &rc)))
		rc = add_attr(ops[0], "val", new_imm(MLD_DT_INT32, 0, NULL, &zero, 1, NULL, &rc));
	if (!rc && (ops[1] = new_op("const", n_dim, new_type(MLD_DT_INT32, nd ? 1 : 0, &kdim, &rc), &rc)))
		rc = add_attr(ops[1], "val", new_imm(MLD_DT_INT32, nd ? 1 : 0, &kdim, dims, nd_k, NULL, &rc));
	if (!rc && (ops[2] = new_op("greater_equal", n_ge, new_type(MLD_DT_BOOL, irank, idims, &rc), &rc)) &&
	    !(rc = bind_name(ops[2], "x", iname)))
		rc = bind_name(ops[2], "y", n_zero);
	if (!rc && (ops[3] = new_op("add", n_add, new_type(MLD_DT_INT32, irank, idims, &rc), &rc)) &&
	    !(rc = bind_name(ops[3], "x", iname)))
		rc = bind_name(ops[3], "y", n_dim);
	if (!rc && (ops[4] = new_op("select", n_sel, new_type(MLD_DT_INT32, irank, idims, &rc), &rc)) &&
	    !(rc = bind_name(ops[4], "cond", n_ge)) && !(rc = bind_name(ops[4], "a", iname)))
		rc = bind_name(ops[4], "b", n_add);
	if (!rc) { /* rebind the op's indices */
		mil_binding *ib = (mil_binding *)mil_op_input(op, "indices");
		char *nn = ib ? mld__strdup(n_sel) : NULL;
		if (!nn)
			rc = MLD_ENOMEM;
		else {
			if (ib->name != protobuf_c_empty_string)
				mld__free(ib->name);
			ib->name = nn;
		}
	}
	if (!rc)
		rc = insert_ops(b, at, ops, 5);
	if (!rc)
		for (int i = 0; i < 5 && !rc; i++) /* their names are taken now */
			rc = mld__strmap_put(&c->types, ops[i]->outputs[0]->name, ops[i]->outputs[0]->type);
	else
		for (int i = 0; i < 5; i++)
			if (ops[i])
				core_ml__specification__milspec__operation__free_unpacked(ops[i], &mld__pb_any);
	free(n_zero), free(n_dim), free(n_ge), free(n_add), free(n_sel);
	return rc;
}

/* One op of a function from an iOS15/16 op set (CoreML5, CoreML6). */
static int upgrade_op(fnctx *c, mil_block *b, size_t *at, mil_op *op, const char *what)
{
	static const char *const indexed[] = {"gather",  "gather_along_axis",  "gather_nd",
	                                      "scatter", "scatter_along_axis", "scatter_nd"};
	for (size_t i = 0; i < sizeof indexed / sizeof *indexed; i++)
		if (!strcmp(op->type, indexed[i]))
			return fix_indices(c, b, at, op, what);
	const mil_value *v;
	const char *n;
	if (!strcmp(op->type, "crop_resize") && mil_op_param(op, "roi", &v, &n))
		return mld__err(MLD_EREFUSED,
		                "%s: iOS17 replaced its input roi with boxes and box_indices and dropped the B"
		                " dimension of its output; %s",
		                what, way_out);
	if (!strcmp(op->type, "non_maximum_suppression"))
		return mld__err(MLD_EREFUSED,
		                "%s: iOS17 removed its input score_threshold and its fourth output and transposed"
		                " its boxes and scores; %s",
		                what, way_out);
	if (!strcmp(op->type, "clip")) {
		bool pa, pb;
		const mil_value *a = const_param(c, op, "alpha", NULL, &pa),
				*bv = const_param(c, op, "beta", NULL, &pb);
		double x, y;
		if (a && bv && imm_float(a, &x) && imm_float(bv, &y) && !(x < y))
			return mld__err(MLD_EREFUSED,
			                "%s: alpha %g is not below beta %g, which iOS17 and later refuse; %s", what, x,
			                y, way_out);
	}
	return 0;
}

/* The op-set version of "CoreML<N>" (5 = iOS15 ... 8 = iOS18); 0 if it is not one. */
static int opset_version(const char *opset)
{
	if (!opset || strncmp(opset, "CoreML", 6) || opset[6] < '1' || opset[6] > '9')
		return 0;
	char *end;
	long v = strtol(opset + 6, &end, 10);
	return *end || v > 1000 ? 0 : (int)v;
}

static int block_to_ios18(fnctx *c, mil_block *b, int from)
{
	for (size_t i = 0; i < b->n_operations; i++) {
		mil_op *op = b->operations[i];
		char what[300];
		snprintf(what, sizeof what, "function \"%s\", %s \"%s\"", c->fn_name, op->type,
		         op->n_outputs && op->outputs[0]->name ? op->outputs[0]->name : "?");
		int rc = 0;
		bool ios16 = mil_op_attr(op, "shape") != NULL;
		if (!strcmp(op->type, "constexpr_lut_to_dense") && ios16)
			rc = lut_to_ios18(op, what);
		else if (!strcmp(op->type, "constexpr_sparse_to_dense") && ios16)
			rc = sparse_to_ios18(op, what);
		else if (!strcmp(op->type, "constexpr_cast") && mil_op_attr(op, "source_val")) {
			static const char *const keys[] = {"source_val", "output_dtype"};
			rc = attrs_to_inputs(op, keys, 2);
		} else if (from < 7) { /* unknown op sets are treated as the oldest */
			size_t at = i;
			rc = upgrade_op(c, b, &at, op, what);
			i = at; /* past the ops inserted before it */
		}
		for (size_t k = 0; !rc && k < op->n_blocks; k++)
			rc = block_to_ios18(c, op->blocks[k], from);
		if (rc)
			return rc;
	}
	return 0;
}

int mld__function_to_ios18(mil_function *fn, const char *fn_name)
{
	mil_block *b = (mil_block *)mil_function_block(fn);
	if (!b)
		return 0;
	fnctx c = {fn_name, {0}, {0}, 0};
	int rc = 0;
	for (size_t i = 0; i < fn->n_inputs && !rc; i++)
		if (fn->inputs[i]->name && mld__strmap_put(&c.types, fn->inputs[i]->name, fn->inputs[i]->type))
			rc = MLD_ENOMEM;
	if (!rc)
		rc = index_block(&c, b);
	if (!rc)
		rc = block_to_ios18(&c, b, opset_version(fn->opset));
	mld__strmap_free(&c.types);
	mld__strmap_free(&c.consts);
	return rc;
}
