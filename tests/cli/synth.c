#include "synth.h"

#include "io/mil.h"
#include "core/dtype.h"
#include "write/pkgwrite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- an arena: every message of the model is allocated here, freed at once -------- */

typedef struct arena {
	void **p;
	size_t n, cap;
} arena;

static arena A;

static void *anew(size_t size)
{
	if (A.n == A.cap) {
		A.cap = A.cap ? A.cap * 2 : 256;
		void **p = realloc(A.p, A.cap * sizeof *p);
		if (!p)
			abort();
		A.p = p;
	}
	void *m = calloc(1, size ? size : 1);
	if (!m)
		abort();
	return A.p[A.n++] = m;
}

static char *astr(const char *s)
{
	char *p = anew(strlen(s) + 1);
	memcpy(p, s, strlen(s) + 1);
	return p;
}

static void afree(void)
{
	for (size_t i = 0; i < A.n; i++)
		free(A.p[i]);
	free(A.p);
	memset(&A, 0, sizeof A);
}

/* Append to a protobuf-c repeated field (n_x, x); arrays are reallocated by copy. */
#define PUSH(n, arr, item)                                                                                             \
	do {                                                                                                           \
		void *grown_ = anew(((n) + 1) * sizeof *(arr));                                                        \
		if (n)                                                                                                 \
			memcpy(grown_, (arr), (n) * sizeof *(arr));                                                    \
		(arr) = grown_;                                                                                        \
		(arr)[(n)++] = (item);                                                                                 \
	} while (0)

/* ---- deterministic values --------------------------------------------------------- */

static uint32_t rng;
static uint32_t rnd(void)
{
	rng = rng * 1664525u + 1013904223u;
	return rng >> 8;
}

/* A finite fp16 of magnitude ~[2^-5, 2) and random sign. */
static uint16_t rnd_half(void)
{
	uint32_t r = rnd();
	return (uint16_t)(((r & 1) << 15) | ((10 + (r >> 1) % 6) << 10) | ((r >> 4) & 0x3ff));
}

static uint8_t *rnd_bytes(size_t n)
{
	uint8_t *p = anew(n);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
	return p;
}

static uint8_t *rnd_halves(size_t n)
{
	uint8_t *p = anew(2 * n);
	for (size_t i = 0; i < n; i++) {
		uint16_t h = rnd_half();
		p[2 * i] = (uint8_t)h;
		p[2 * i + 1] = (uint8_t)(h >> 8);
	}
	return p;
}

/* Packed sub-byte stream of n random `bits`-wide elements; *pad gets the unused bits. */
static uint8_t *rnd_packed(size_t n, unsigned bits, size_t *len, uint32_t *pad)
{
	size_t nbits = n * bits;
	*len = (nbits + 7) / 8;
	*pad = (uint32_t)((8 - nbits % 8) % 8);
	uint8_t *p = anew(*len);
	for (size_t i = 0; i < n; i++) {
		unsigned v = rnd() & ((1u << bits) - 1);
		for (unsigned b = 0; b < bits; b++)
			if (v >> b & 1)
				p[(i * bits + b) / 8] |= (uint8_t)(1u << ((i * bits + b) % 8));
	}
	return p;
}

/* ---- message builders ------------------------------------------------------------- */

static mil_value_type *ttype(mld_dtype dt, unsigned rank, const uint64_t *dims)
{
	mil_tensor_type *tt = anew(sizeof *tt);
	core_ml__specification__milspec__tensor_type__init(tt);
	tt->datatype = (CoreML__Specification__MILSpec__DataType)dt;
	tt->rank = rank;
	for (unsigned d = 0; d < rank; d++) {
		CoreML__Specification__MILSpec__Dimension *dim = anew(sizeof *dim);
		CoreML__Specification__MILSpec__Dimension__ConstantDimension *c = anew(sizeof *c);
		core_ml__specification__milspec__dimension__init(dim);
		core_ml__specification__milspec__dimension__constant_dimension__init(c);
		c->size = dims[d];
		dim->dimension_case = MIL_DIM_CONSTANT;
		dim->constant = c;
		PUSH(tt->n_dimensions, tt->dimensions, dim);
	}
	mil_value_type *vt = anew(sizeof *vt);
	core_ml__specification__milspec__value_type__init(vt);
	vt->type_case = MIL_TYPE_TENSOR;
	vt->tensortype = tt;
	return vt;
}

typedef struct items {
	mld__blob_item v[64];
	size_t n;
	uint64_t next_key;
} items;

static items IT;

/* A blob-valued Value holding `data`; `share` (non-zero) reuses that blob key. */
static mil_value *v_blob(mld_dtype dt, unsigned rank, const uint64_t *dims, const uint8_t *data, uint64_t size,
                         uint32_t pad, uint64_t share, uint64_t *key_out)
{
	mil_value *v = anew(sizeof *v);
	CoreML__Specification__MILSpec__Value__BlobFileValue *b = anew(sizeof *b);
	core_ml__specification__milspec__value__init(v);
	core_ml__specification__milspec__value__blob_file_value__init(b);
	v->type = ttype(dt, rank, dims);
	v->value_case = MIL_VALUE_BLOB;
	v->blobfilevalue = b; /* fileName and offset are filled in by the writer */
	uint64_t key = share ? share : ++IT.next_key;
	if (IT.n == sizeof IT.v / sizeof IT.v[0])
		abort();
	IT.v[IT.n++] = (mld__blob_item){v, 0, key, data, size, pad, dt};
	if (key_out)
		*key_out = key;
	return v;
}

static CoreML__Specification__MILSpec__TensorValue *tval(void)
{
	CoreML__Specification__MILSpec__TensorValue *tv = anew(sizeof *tv);
	core_ml__specification__milspec__tensor_value__init(tv);
	return tv;
}

static mil_value *v_imm(mil_value_type *type, CoreML__Specification__MILSpec__TensorValue *tv)
{
	mil_value *v = anew(sizeof *v);
	CoreML__Specification__MILSpec__Value__ImmediateValue *iv = anew(sizeof *iv);
	core_ml__specification__milspec__value__init(v);
	core_ml__specification__milspec__value__immediate_value__init(iv);
	iv->value_case = MIL_IMM_TENSOR;
	iv->tensor = tv;
	v->type = type;
	v->value_case = MIL_VALUE_IMMEDIATE;
	v->immediatevalue = iv;
	return v;
}

static mil_value *v_bytes(mld_dtype dt, unsigned rank, const uint64_t *dims, const uint8_t *data, size_t len)
{
	CoreML__Specification__MILSpec__TensorValue *tv = tval();
	CoreML__Specification__MILSpec__TensorValue__RepeatedBytes *rb = anew(sizeof *rb);
	core_ml__specification__milspec__tensor_value__repeated_bytes__init(rb);
	rb->values.data = (uint8_t *)data;
	rb->values.len = len;
	tv->value_case = CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_BYTES;
	tv->bytes = rb;
	return v_imm(ttype(dt, rank, dims), tv);
}

static mil_value *v_string(const char *s)
{
	CoreML__Specification__MILSpec__TensorValue *tv = tval();
	CoreML__Specification__MILSpec__TensorValue__RepeatedStrings *rs = anew(sizeof *rs);
	core_ml__specification__milspec__tensor_value__repeated_strings__init(rs);
	PUSH(rs->n_values, rs->values, astr(s));
	tv->value_case = CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_STRINGS;
	tv->strings = rs;
	return v_imm(ttype(MLD_DT_STRING, 0, NULL), tv);
}

static mil_value *v_int32(int32_t x)
{
	CoreML__Specification__MILSpec__TensorValue *tv = tval();
	CoreML__Specification__MILSpec__TensorValue__RepeatedInts *ri = anew(sizeof *ri);
	core_ml__specification__milspec__tensor_value__repeated_ints__init(ri);
	PUSH(ri->n_values, ri->values, x);
	tv->value_case = CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_INTS;
	tv->ints = ri;
	return v_imm(ttype(MLD_DT_INT32, 0, NULL), tv);
}

static void op_attr(mil_op *op, const char *key, mil_value *v)
{
	CoreML__Specification__MILSpec__Operation__AttributesEntry *e = anew(sizeof *e);
	core_ml__specification__milspec__operation__attributes_entry__init(e);
	e->key = astr(key);
	e->value = v;
	PUSH(op->n_attributes, op->attributes, e);
}

static mil_op *op_new(mil_block *blk, const char *type, const char *name, mil_value_type *out_type)
{
	mil_op *op = anew(sizeof *op);
	core_ml__specification__milspec__operation__init(op);
	op->type = astr(type);
	op_attr(op, "name", v_string(name));
	mil_named_type *o = anew(sizeof *o);
	core_ml__specification__milspec__named_value_type__init(o);
	o->name = astr(name);
	o->type = out_type;
	PUSH(op->n_outputs, op->outputs, o);
	PUSH(blk->n_operations, blk->operations, op);
	return op;
}

static void op_input(mil_op *op, const char *key, mil_value *value, const char *name)
{
	mil_binding *b = anew(sizeof *b);
	core_ml__specification__milspec__argument__binding__init(b);
	if (value) {
		b->binding_case = MIL_BINDING_VALUE;
		b->value = value;
	} else {
		b->binding_case = MIL_BINDING_NAME;
		b->name = astr(name);
	}
	mil_argument *a = anew(sizeof *a);
	core_ml__specification__milspec__argument__init(a);
	PUSH(a->n_arguments, a->arguments, b);
	CoreML__Specification__MILSpec__Operation__InputsEntry *e = anew(sizeof *e);
	core_ml__specification__milspec__operation__inputs_entry__init(e);
	e->key = astr(key);
	e->value = a;
	PUSH(op->n_inputs, op->inputs, e);
}

static void const_op(mil_block *blk, const char *name, mil_value *val)
{
	mil_op *op = op_new(blk, "const", name, val->type);
	op_attr(op, "val", val);
}

static CoreML__Specification__FeatureDescription *feature(const char *name, int64_t d0, int64_t d1)
{
	CoreML__Specification__FeatureDescription *f = anew(sizeof *f);
	CoreML__Specification__FeatureType *ft = anew(sizeof *ft);
	CoreML__Specification__ArrayFeatureType *at = anew(sizeof *at);
	core_ml__specification__feature_description__init(f);
	core_ml__specification__feature_type__init(ft);
	core_ml__specification__array_feature_type__init(at);
	PUSH(at->n_shape, at->shape, d0);
	PUSH(at->n_shape, at->shape, d1);
	at->datatype = CORE_ML__SPECIFICATION__ARRAY_DATA_TYPE__FLOAT16;
	ft->type_case = CORE_ML__SPECIFICATION__FEATURE_TYPE__TYPE_MULTI_ARRAY_TYPE;
	ft->multiarraytype = at;
	f->name = astr(name);
	f->type = ft;
	return f;
}

/* ---- the program ------------------------------------------------------------------ */

static void op_out(mil_op *op, const char *name, mil_value_type *type)
{
	mil_named_type *o = anew(sizeof *o);
	core_ml__specification__milspec__named_value_type__init(o);
	o->name = astr(name);
	o->type = type;
	PUSH(op->n_outputs, op->outputs, o);
}

/* A random uint1 mask of n elements, packed; *ones gets its popcount (at least 1). */
static uint8_t *rnd_mask(size_t n, size_t *len, uint32_t *pad, uint64_t *ones)
{
	uint8_t *m = rnd_packed(n, 1, len, pad);
	m[0] |= 1;
	*ones = 0;
	for (size_t i = 0; i < n; i++)
		*ones += m[i / 8] >> (i % 8) & 1;
	return m;
}

/* One weight of every remaining constexpr form, for the fuzzer's seeds and the
 * expected-output test. Shapes are small: [4, 8] outputs. */
static void add_all_ops(mil_block *blk)
{
	static const uint64_t d48[] = {4, 8}, d4[] = {4}, d2[] = {2}, d16[] = {16}, lut4[] = {1, 1, 4, 1},
			      d41[] = {4, 1};
	size_t len;
	uint32_t pad;
	uint64_t k, dk[1];

	/* iOS16 sparse_to_dense: attributes nonzero_data, packed uint8 mask, uint32 shape */
	mil_op *s16 = op_new(blk, "constexpr_sparse_to_dense", "w_sparse16", ttype(MLD_DT_FP16, 2, d48));
	uint8_t *mask = rnd_mask(32, &len, &pad, &k);
	dk[0] = k;
	op_attr(s16, "nonzero_data", v_blob(MLD_DT_FP16, 1, dk, rnd_halves(k), 2 * k, 0, 0, NULL));
	op_attr(s16, "mask", v_blob(MLD_DT_UINT8, 1, d4, mask, 4, 0, 0, NULL));
	static const uint8_t shape48[] = {4, 0, 0, 0, 8, 0, 0, 0};
	op_attr(s16, "shape", v_bytes(MLD_DT_UINT32, 1, d2, shape48, 8));

	/* iOS18 sparse_to_dense: inputs nonzero_data and a uint1 mask of the output shape */
	mil_op *s18 = op_new(blk, "constexpr_sparse_to_dense", "w_sparse18", ttype(MLD_DT_FP16, 2, d48));
	mask = rnd_mask(32, &len, &pad, &k);
	dk[0] = k;
	op_input(s18, "nonzero_data", v_blob(MLD_DT_FP16, 1, dk, rnd_halves(k), 2 * k, 0, 0, NULL), NULL);
	op_input(s18, "mask", v_blob(MLD_DT_UINT1, 2, d48, mask, len, pad, 0, NULL), NULL);

	/* affine_dequantize: uint8 data, per-row uint8 zero point and fp16 scale, axis 0 */
	mil_op *af = op_new(blk, "constexpr_affine_dequantize", "w_affine", ttype(MLD_DT_FP16, 2, d48));
	op_attr(af, "quantized_data", v_blob(MLD_DT_UINT8, 2, d48, rnd_bytes(32), 32, 0, 0, NULL));
	op_attr(af, "zero_point", v_bytes(MLD_DT_UINT8, 1, d4, rnd_bytes(4), 4));
	op_attr(af, "scale", v_bytes(MLD_DT_FP16, 1, d4, rnd_halves(4), 8));
	op_attr(af, "axis", v_int32(0));

	/* cast: fp16 source to fp32 */
	mil_op *cs = op_new(blk, "constexpr_cast", "w_cast", ttype(MLD_DT_FP32, 1, d16));
	op_attr(cs, "source_val", v_blob(MLD_DT_FP16, 1, d16, rnd_halves(16), 32, 0, 0, NULL));
	op_attr(cs, "output_dtype", v_string("fp32"));

	/* lut_to_sparse (mask + 2-bit indices of the set positions + palette) feeding
	 * sparse_to_dense by name: a two-op chain */
	mil_op *ls = op_new(blk, "constexpr_lut_to_sparse", "w_ls_mask", ttype(MLD_DT_UINT1, 2, d48));
	mask = rnd_mask(32, &len, &pad, &k);
	dk[0] = k;
	op_out(ls, "w_ls_nz", ttype(MLD_DT_FP16, 1, dk));
	op_input(ls, "indices_mask", v_blob(MLD_DT_UINT1, 2, d48, mask, len, pad, 0, NULL), NULL);
	uint8_t *idx = rnd_packed(k, 2, &len, &pad);
	op_input(ls, "indices_nonzero_data", v_blob(MLD_DT_UINT2, 1, dk, idx, len, pad, 0, NULL), NULL);
	op_input(ls, "lut", v_blob(MLD_DT_FP16, 4, lut4, rnd_halves(4), 8, 0, 0, NULL), NULL);
	mil_op *lsd = op_new(blk, "constexpr_sparse_to_dense", "w_lut_sparse", ttype(MLD_DT_FP16, 2, d48));
	op_input(lsd, "nonzero_data", NULL, "w_ls_nz");
	op_input(lsd, "mask", NULL, "w_ls_mask");

	/* sparse_blockwise_shift_scale (mask + int8 values + per-row scale and offset)
	 * feeding sparse_to_dense */
	mil_op *ss = op_new(blk, "constexpr_sparse_blockwise_shift_scale", "w_ss_mask", ttype(MLD_DT_UINT1, 2, d48));
	mask = rnd_mask(32, &len, &pad, &k);
	dk[0] = k;
	op_out(ss, "w_ss_nz", ttype(MLD_DT_FP16, 1, dk));
	op_input(ss, "data_mask", v_blob(MLD_DT_UINT1, 2, d48, mask, len, pad, 0, NULL), NULL);
	op_input(ss, "nonzero_data", v_blob(MLD_DT_INT8, 1, dk, rnd_bytes(k), k, 0, 0, NULL), NULL);
	op_input(ss, "scale", v_blob(MLD_DT_FP16, 2, d41, rnd_halves(4), 8, 0, 0, NULL), NULL);
	op_input(ss, "offset", v_blob(MLD_DT_INT8, 2, d41, rnd_bytes(4), 4, 0, 0, NULL), NULL);
	mil_op *ssd = op_new(blk, "constexpr_sparse_to_dense", "w_sparse_q", ttype(MLD_DT_FP16, 2, d48));
	op_input(ssd, "nonzero_data", NULL, "w_ss_nz");
	op_input(ssd, "mask", NULL, "w_ss_mask");
}
typedef struct shared {
	uint64_t dense, lut_idx, lut_pal;
} shared;

static mil_function *build_function(const synth_opts *o, bool second, shared *sh)
{
	mil_block *blk = anew(sizeof *blk);
	core_ml__specification__milspec__block__init(blk);
	static const uint64_t d88[] = {8, 8}, d16[] = {16}, lutg[] = {2, 1, 16, 1}, d82[] = {8, 2}, d68[] = {6, 8},
			      d12[] = {12}, d4[] = {4}, d2[] = {2}, d53[] = {5, 3}, lut8[] = {1, 1, 8, 1},
			      d18[] = {1, 8}, huge[] = {UINT64_C(1) << 40, UINT64_C(1) << 40},
			      dhuge[] = {UINT64_C(1) << 39};
	size_t len;
	uint32_t pad;

	/* w_dense: fp16 const; w_dense_copy: a second const on the same blob */
	if (!second) {
		const_op(blk, "w_dense", v_blob(MLD_DT_FP16, 2, d88, rnd_halves(64), 128, 0, 0, &sh->dense));
		const_op(blk, "w_dense_copy",
		         v_blob(MLD_DT_FP16, 2, d88, IT.v[IT.n - 1].data, 128, 0, sh->dense, NULL));
	} else {
		const_op(blk, "w_dense", v_blob(MLD_DT_FP16, 2, d88, IT.v[0].data, 128, 0, sh->dense, NULL));
	}

	/* w_lut: iOS18 LUT, 4-bit indices, two palettes grouped along axis 0 */
	mil_op *lut = op_new(blk, "constexpr_lut_to_dense", "w_lut", ttype(MLD_DT_FP16, 2, d88));
	if (!second) {
		uint8_t *idx = rnd_packed(64, 4, &len, &pad);
		op_input(lut, "indices", v_blob(MLD_DT_UINT4, 2, d88, idx, len, pad, 0, &sh->lut_idx), NULL);
		op_input(lut, "lut", v_blob(MLD_DT_FP16, 4, lutg, rnd_halves(32), 64, 0, 0, &sh->lut_pal), NULL);
	} else { /* the prefill copy shares the indices but has its own palette */
		const mld__blob_item *ix = NULL;
		for (size_t i = 0; i < IT.n; i++)
			if (IT.v[i].key_lo == sh->lut_idx)
				ix = &IT.v[i];
		op_input(lut, "indices",
		         v_blob(MLD_DT_UINT4, 2, d88, ix->data, ix->size, ix->padding_bits, sh->lut_idx, NULL), NULL);
		op_input(lut, "lut", v_blob(MLD_DT_FP16, 4, lutg, rnd_halves(32), 64, 0, 0, NULL), NULL);
	}

	if (!second) {
		/* w_q: int4 data, fp16 scale per block of 4 columns, int4 offset */
		mil_op *q = op_new(blk, "constexpr_blockwise_shift_scale", "w_q", ttype(MLD_DT_FP16, 2, d88));
		uint8_t *data = rnd_packed(64, 4, &len, &pad);
		op_input(q, "data", v_blob(MLD_DT_INT4, 2, d88, data, len, pad, 0, NULL), NULL);
		op_input(q, "scale", v_blob(MLD_DT_FP16, 2, d82, rnd_halves(16), 32, 0, 0, NULL), NULL);
		uint8_t *off = rnd_packed(16, 4, &len, &pad);
		op_input(q, "offset", v_blob(MLD_DT_INT4, 2, d82, off, len, pad, 0, NULL), NULL);

		/* w_lut16: iOS16 form, every parameter an attribute: packed 2-bit indices in a
		 * uint8 blob, a 4-entry immediate palette, an immediate uint32 shape */
		mil_op *l16 = op_new(blk, "constexpr_lut_to_dense", "w_lut16", ttype(MLD_DT_FP16, 2, d68));
		op_attr(l16, "indices", v_blob(MLD_DT_UINT8, 1, d12, rnd_bytes(12), 12, 0, 0, NULL));
		op_attr(l16, "lut", v_bytes(MLD_DT_FP16, 1, o->huge_immediate ? dhuge : d4, rnd_halves(4), 8));
		static const uint8_t shape68[] = {6, 0, 0, 0, 8, 0, 0, 0};
		op_attr(l16, "shape", v_bytes(MLD_DT_UINT32, 1, d2, shape68, 8));

		/* w_u3: iOS18 LUT with uint3 indices (straddling bytes, 3 padding bits) */
		mil_op *u3 = op_new(blk, "constexpr_lut_to_dense", "w_u3", ttype(MLD_DT_FP16, 2, d53));
		uint8_t *i3 = rnd_packed(15, 3, &len, &pad);
		op_input(u3, "indices", v_blob(MLD_DT_UINT3, 2, d53, i3, len, pad, 0, NULL), NULL);
		op_input(u3, "lut", v_blob(MLD_DT_FP16, 4, lut8, rnd_halves(8), 16, 0, 0, NULL), NULL);
		op_input(u3, "vector_axis", v_int32(0), NULL); /* optional; unused with vector size 1 */

		/* w_f32: a plain fp32 const */
		uint8_t *f = anew(64);
		for (int i = 0; i < 16; i++) {
			float x = (float)(int)(rnd() % 2001 - 1000) / 256.0f;
			memcpy(f + 4 * i, &x, 4);
		}
		const_op(blk, "w_f32", v_blob(MLD_DT_FP32, 1, d16, f, 64, 0, 0, NULL));

		if (o->huge_shape)
			const_op(blk, "w_huge", v_blob(MLD_DT_FP16, 2, huge, rnd_halves(4), 8, 0, 0, NULL));
		if (o->all_ops)
			add_all_ops(blk);
		static const uint64_t d8[] = {8};
		if (o->cycle == 1) { /* cast(source_val = itself) */
			mil_op *c = op_new(blk, "constexpr_cast", "w_cyc", ttype(MLD_DT_FP32, 1, d8));
			op_input(c, "source_val", NULL, "w_cyc");
			op_input(c, "output_dtype", v_string("fp32"), NULL);
		} else if (o->cycle == 2) { /* a = cast(b), b = cast(a) */
			mil_op *a = op_new(blk, "constexpr_cast", "w_cyc_a", ttype(MLD_DT_FP32, 1, d8));
			op_input(a, "source_val", NULL, "w_cyc_b");
			op_input(a, "output_dtype", v_string("fp32"), NULL);
			mil_op *b = op_new(blk, "constexpr_cast", "w_cyc_b", ttype(MLD_DT_FP16, 1, d8));
			op_input(b, "source_val", NULL, "w_cyc_a");
			op_input(b, "output_dtype", v_string("fp16"), NULL);
		}
	}

	/* y = linear(x, w_lut): an ordinary op consuming a weight */
	mil_op *lin = op_new(blk, "linear", "y", ttype(MLD_DT_FP16, 2, d18));
	op_input(lin, "x", NULL, "x");
	op_input(lin, "weight", NULL, "w_lut");
	PUSH(blk->n_outputs, blk->outputs, astr("y"));

	mil_function *fn = anew(sizeof *fn);
	core_ml__specification__milspec__function__init(fn);
	mil_named_type *in = anew(sizeof *in);
	core_ml__specification__milspec__named_value_type__init(in);
	in->name = astr("x");
	in->type = ttype(MLD_DT_FP16, 2, d18);
	PUSH(fn->n_inputs, fn->inputs, in);
	fn->opset = astr("CoreML8");
	CoreML__Specification__MILSpec__Function__BlockSpecializationsEntry *be = anew(sizeof *be);
	core_ml__specification__milspec__function__block_specializations_entry__init(be);
	be->key = astr("CoreML8");
	be->value = blk;
	PUSH(fn->n_block_specializations, fn->block_specializations, be);
	return fn;
}

/* ---- an iOS16 program --------------------------------------------------------------- */

static mil_value *v_fp16(float x)
{
	uint8_t *b = anew(2);
	mld__wr16(b, mld__float_to_half(x));
	return v_bytes(MLD_DT_FP16, 0, NULL, b, 2);
}

static mil_value *v_ints(mld_dtype dt, const int32_t *x, size_t n)
{
	CoreML__Specification__MILSpec__TensorValue *tv = tval();
	CoreML__Specification__MILSpec__TensorValue__RepeatedInts *ri = anew(sizeof *ri);
	core_ml__specification__milspec__tensor_value__repeated_ints__init(ri);
	for (size_t i = 0; i < n; i++)
		PUSH(ri->n_values, ri->values, x[i]);
	tv->value_case = CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_INTS;
	tv->ints = ri;
	uint64_t d = n;
	return v_imm(ttype(dt, 1, &d), tv);
}

static void fn_input(mil_function *fn, const char *name, mil_value_type *t)
{
	mil_named_type *in = anew(sizeof *in);
	core_ml__specification__milspec__named_value_type__init(in);
	in->name = astr(name);
	in->type = t;
	PUSH(fn->n_inputs, fn->inputs, in);
}

/* A tensor type with one dimension of unknown size. */
static mil_value_type *ttype_unknown0(mld_dtype dt, uint64_t d1)
{
	mil_value_type *vt = ttype(dt, 2, (const uint64_t[]){1, d1});
	CoreML__Specification__MILSpec__Dimension *dim = vt->tensortype->dimensions[0];
	CoreML__Specification__MILSpec__Dimension__UnknownDimension *u = anew(sizeof *u);
	core_ml__specification__milspec__dimension__unknown_dimension__init(u);
	dim->dimension_case = CORE_ML__SPECIFICATION__MILSPEC__DIMENSION__DIMENSION_UNKNOWN;
	dim->unknown = u;
	return vt;
}

unsigned synth_ios16_case(const char *name)
{
	static const struct {
		const char *name;
		unsigned bit;
	} cases[] = {{"crop_resize", SYNTH_IOS16_CROP_RESIZE},     {"nms", SYNTH_IOS16_NMS},
	             {"clip_equal", SYNTH_IOS16_CLIP_EQUAL},       {"idx_const_pos", SYNTH_IOS16_IDX_CONST_POS},
	             {"idx_const_neg", SYNTH_IOS16_IDX_CONST_NEG}, {"idx_uint16", SYNTH_IOS16_IDX_UINT16},
	             {"idx_int16", SYNTH_IOS16_IDX_INT16},         {"idx_symbolic", SYNTH_IOS16_IDX_SYMBOLIC},
	             {"untyped_mask", SYNTH_IOS16_UNTYPED_MASK},   {"shape_mismatch", SYNTH_IOS16_SHAPE_MISMATCH}};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		if (!strcmp(name, cases[i].name))
			return cases[i].bit;
	return 0;
}

/* Function "main" of an iOS16 program: constexpr ops in their iOS16 (attribute)
 * form, and one op of each kind whose meaning or inputs changed by iOS18. */
static mil_function *build_ios16_function(const synth_opts *o)
{
	mil_block *blk = anew(sizeof *blk);
	core_ml__specification__milspec__block__init(blk);
	mil_function *fn = anew(sizeof *fn);
	core_ml__specification__milspec__function__init(fn);
	static const uint64_t d88[] = {8, 8}, d68[] = {6, 8}, d12[] = {12}, d4[] = {4}, d2[] = {2}, d18[] = {1, 8},
			      d16[] = {16}, d64[] = {6, 4}, d24[] = {2, 4}, d21[] = {2, 1}, d16x[] = {1, 6};
	uint64_t k, dk[1];
	size_t len;
	uint32_t pad;
	fn_input(fn, "x", ttype(MLD_DT_FP16, 2, d18));
	fn_input(fn, "ids", ttype(MLD_DT_INT32, 1, d2));
	fn_input(fn, "ids2", ttype(MLD_DT_INT32, 2, d24));
	fn_input(fn, "idsnd", ttype(MLD_DT_INT32, 2, d21));

	const_op(blk, "w_dense", v_blob(MLD_DT_FP16, 2, d88, rnd_halves(64), 128, 0, 0, NULL));
	mil_op *l16 = op_new(blk, "constexpr_lut_to_dense", "w_lut16", ttype(MLD_DT_FP16, 2, d68));
	op_attr(l16, "indices", v_blob(MLD_DT_UINT8, 1, d12, rnd_bytes(12), 12, 0, 0, NULL));
	op_attr(l16, "lut", v_bytes(MLD_DT_FP16, 1, d4, rnd_halves(4), 8));
	static const uint8_t shape68[] = {6, 0, 0, 0, 8, 0, 0, 0}, shape48[] = {4, 0, 0, 0, 8, 0, 0, 0};
	op_attr(l16, "shape", v_bytes(MLD_DT_UINT32, 1, d2, shape68, 8));
	mil_op *s16 =
		op_new(blk, "constexpr_sparse_to_dense", "w_sparse16", ttype(MLD_DT_FP16, 2, (const uint64_t[]){4, 8}));
	uint8_t *mask = rnd_mask(32, &len, &pad, &k);
	dk[0] = k;
	op_attr(s16, "nonzero_data", v_blob(MLD_DT_FP16, 1, dk, rnd_halves(k), 2 * k, 0, 0, NULL));
	if (o->ios16_cases & SYNTH_IOS16_UNTYPED_MASK) {
		mil_value *mv = v_bytes(MLD_DT_UINT8, 1, d4, mask, 4);
		mv->type = NULL;
		op_attr(s16, "mask", mv);
	} else {
		op_attr(s16, "mask", v_blob(MLD_DT_UINT8, 1, d4, mask, 4, 0, 0, NULL));
	}
	static const uint8_t shape4k[] = {4, 0, 0, 0, 0, 16, 0, 0};
	op_attr(s16, "shape",
	        v_bytes(MLD_DT_UINT32, 1, d2, o->ios16_cases & SYNTH_IOS16_SHAPE_MISMATCH ? shape4k : shape48, 8));
	mil_op *af =
		op_new(blk, "constexpr_affine_dequantize", "w_affine", ttype(MLD_DT_FP16, 2, (const uint64_t[]){4, 8}));
	op_attr(af, "quantized_data", v_blob(MLD_DT_UINT8, 2, (const uint64_t[]){4, 8}, rnd_bytes(32), 32, 0, 0, NULL));
	op_attr(af, "zero_point", v_bytes(MLD_DT_UINT8, 1, d4, rnd_bytes(4), 4));
	op_attr(af, "scale", v_bytes(MLD_DT_FP16, 1, d4, rnd_halves(4), 8));
	op_attr(af, "axis", v_int32(0));
	mil_op *cs = op_new(blk, "constexpr_cast", "w_cast", ttype(MLD_DT_FP32, 1, d16));
	op_attr(cs, "source_val", v_blob(MLD_DT_FP16, 1, d16, rnd_halves(16), 32, 0, 0, NULL));
	op_attr(cs, "output_dtype", v_string("fp32"));

	/* the gather and scatter families over a const table, indexed by inputs */
	const_op(blk, "w_table", v_blob(MLD_DT_FP16, 2, d64, rnd_halves(24), 48, 0, 0, NULL));
	const_op(blk, "axis0", v_int32(0));
	mil_op *g = op_new(blk, "gather", "g", ttype(MLD_DT_FP16, 2, d24));
	op_input(g, "x", NULL, "w_table");
	op_input(g, "indices", NULL, "ids");
	op_input(g, "axis", NULL, "axis0");
	mil_op *ga = op_new(blk, "gather_along_axis", "ga", ttype(MLD_DT_FP16, 2, d24));
	op_input(ga, "x", NULL, "w_table");
	op_input(ga, "indices", NULL, "ids2");
	op_input(ga, "axis", NULL, "axis0");
	mil_op *gn = op_new(blk, "gather_nd", "gn", ttype(MLD_DT_FP16, 2, d24));
	op_input(gn, "x", NULL, "w_table");
	op_input(gn, "indices", NULL, "idsnd");
	mil_op *sc = op_new(blk, "scatter", "sc", ttype(MLD_DT_FP16, 2, d64));
	op_input(sc, "data", NULL, "w_table");
	op_input(sc, "indices", NULL, "ids");
	op_input(sc, "updates", NULL, "g");
	op_input(sc, "axis", NULL, "axis0");
	op_input(sc, "mode", v_string("update"), NULL);
	mil_op *sa = op_new(blk, "scatter_along_axis", "sa", ttype(MLD_DT_FP16, 2, d64));
	op_input(sa, "data", NULL, "sc");
	op_input(sa, "indices", NULL, "ids2");
	op_input(sa, "updates", NULL, "ga");
	op_input(sa, "axis", NULL, "axis0");
	mil_op *sn = op_new(blk, "scatter_nd", "sn", ttype(MLD_DT_FP16, 2, d64));
	op_input(sn, "data", NULL, "sa");
	op_input(sn, "indices", NULL, "idsnd");
	op_input(sn, "updates", NULL, "gn");
	bool equal = o->ios16_cases & SYNTH_IOS16_CLIP_EQUAL;
	const_op(blk, "clip_lo", v_fp16(equal ? 1.0f : -1.0f));
	const_op(blk, "clip_hi", v_fp16(1.0f));
	mil_op *cl = op_new(blk, "clip", "cl", ttype(MLD_DT_FP16, 2, d64));
	op_input(cl, "x", NULL, "sn");
	op_input(cl, "alpha", NULL, "clip_lo");
	op_input(cl, "beta", NULL, "clip_hi");
	static const int32_t shp[] = {0, -1};
	const_op(blk, "rshape", v_ints(MLD_DT_INT32, shp, 2));
	mil_op *rs = op_new(blk, "reshape", "rs", ttype(MLD_DT_FP16, 2, d64));
	op_input(rs, "x", NULL, "cl");
	op_input(rs, "shape", NULL, "rshape");
	PUSH(blk->n_outputs, blk->outputs, astr("rs"));

	/* the cases a test asks for */
	if (o->ios16_cases & (SYNTH_IOS16_IDX_CONST_POS | SYNTH_IOS16_IDX_CONST_NEG)) {
		static const int32_t pos[] = {0, 5}, neg[] = {-1, 2};
		const_op(blk, "cidx", v_ints(MLD_DT_INT32, o->ios16_cases & SYNTH_IOS16_IDX_CONST_NEG ? neg : pos, 2));
		mil_op *c = op_new(blk, "gather", "gc", ttype(MLD_DT_FP16, 2, d24));
		op_input(c, "x", NULL, "w_table");
		op_input(c, "indices", NULL, "cidx");
		PUSH(blk->n_outputs, blk->outputs, astr("gc"));
	}
	if (o->ios16_cases & (SYNTH_IOS16_IDX_UINT16 | SYNTH_IOS16_IDX_INT16)) {
		fn_input(fn, "ids16",
		         ttype(o->ios16_cases & SYNTH_IOS16_IDX_INT16 ? MLD_DT_INT16 : MLD_DT_UINT16, 1, d2));
		mil_op *c = op_new(blk, "gather", "g16", ttype(MLD_DT_FP16, 2, d24));
		op_input(c, "x", NULL, "w_table");
		op_input(c, "indices", NULL, "ids16");
		PUSH(blk->n_outputs, blk->outputs, astr("g16"));
	}
	if (o->ios16_cases & SYNTH_IOS16_IDX_SYMBOLIC) {
		fn_input(fn, "seq", ttype_unknown0(MLD_DT_FP16, 4));
		mil_op *c = op_new(blk, "gather", "gs", ttype(MLD_DT_FP16, 2, d24));
		op_input(c, "x", NULL, "seq");
		op_input(c, "indices", NULL, "ids");
		PUSH(blk->n_outputs, blk->outputs, astr("gs"));
	}
	if (o->ios16_cases & SYNTH_IOS16_CROP_RESIZE) {
		fn_input(fn, "roi", ttype(MLD_DT_FP16, 5, (const uint64_t[]){1, 1, 5, 1, 1}));
		mil_op *c =
			op_new(blk, "crop_resize", "crop", ttype(MLD_DT_FP16, 5, (const uint64_t[]){1, 1, 1, 2, 2}));
		op_input(c, "x", NULL, "x");
		op_input(c, "roi", NULL, "roi");
		PUSH(blk->n_outputs, blk->outputs, astr("crop"));
	}
	if (o->ios16_cases & SYNTH_IOS16_NMS) {
		mil_op *c = op_new(blk, "non_maximum_suppression", "nms",
		                   ttype(MLD_DT_FP16, 3, (const uint64_t[]){1, 2, 4}));
		op_input(c, "boxes", NULL, "x");
		op_input(c, "scores", NULL, "x");
		op_input(c, "iou_threshold", v_fp16(0.5f), NULL);
		op_input(c, "score_threshold", v_fp16(0.1f), NULL);
		op_input(c, "max_boxes", v_int32(2), NULL);
		PUSH(blk->n_outputs, blk->outputs, astr("nms"));
	}

	/* y = linear(x, w_lut16^T...): an ordinary op consuming a weight */
	mil_op *lin = op_new(blk, "linear", "y", ttype(MLD_DT_FP16, 2, d16x));
	op_input(lin, "x", NULL, "x");
	op_input(lin, "weight", NULL, "w_lut16");
	PUSH(blk->n_outputs, blk->outputs, astr("y"));

	char opset[24];
	snprintf(opset, sizeof opset, "CoreML%u", o->ios16_opset ? o->ios16_opset : 6);
	fn->opset = astr(opset);
	CoreML__Specification__MILSpec__Function__BlockSpecializationsEntry *be = anew(sizeof *be);
	core_ml__specification__milspec__function__block_specializations_entry__init(be);
	be->key = astr(opset);
	be->value = blk;
	PUSH(fn->n_block_specializations, fn->block_specializations, be);
	return fn;
}

static mil_model *build_model(const synth_opts *o)
{
	memset(&IT, 0, sizeof IT);
	rng = 0x9e3779b9u ^ (o->seed * 2654435761u);
	mil_model *m = anew(sizeof *m);
	core_ml__specification__model__init(m);
	m->specificationversion = o->ios16 ? (int32_t)(o->ios16_opset ? o->ios16_opset : 6) + 1 : 9;
	mil_model_desc *desc = anew(sizeof *desc);
	core_ml__specification__model_description__init(desc);
	m->description = desc;
	mil_program *prog = anew(sizeof *prog);
	core_ml__specification__milspec__program__init(prog);
	prog->version = 1;
	m->type_case = CORE_ML__SPECIFICATION__MODEL__TYPE_ML_PROGRAM;
	m->mlprogram = prog;
	if (o->ios16) {
		CoreML__Specification__MILSpec__Program__FunctionsEntry *fe = anew(sizeof *fe);
		core_ml__specification__milspec__program__functions_entry__init(fe);
		fe->key = astr("main");
		fe->value = build_ios16_function(o);
		PUSH(prog->n_functions, prog->functions, fe);
		PUSH(desc->n_input, desc->input, feature("x", 1, 8));
		PUSH(desc->n_output, desc->output, feature("y", 1, 6));
		return m;
	}
	shared sh = {0};
	const char *names[2] = {"main", "prefill"};
	for (int f = 0; f < (o->second_fn ? 2 : 1); f++) {
		CoreML__Specification__MILSpec__Program__FunctionsEntry *fe = anew(sizeof *fe);
		core_ml__specification__milspec__program__functions_entry__init(fe);
		fe->key = astr(names[f]);
		fe->value = build_function(o, f == 1, &sh);
		PUSH(prog->n_functions, prog->functions, fe);
		if (o->second_fn) {
			CoreML__Specification__FunctionDescription *fd = anew(sizeof *fd);
			core_ml__specification__function_description__init(fd);
			fd->name = astr(names[f]);
			PUSH(fd->n_input, fd->input, feature("x", 1, 8));
			PUSH(fd->n_output, fd->output, feature("y", 1, 8));
			PUSH(desc->n_functions, desc->functions, fd);
		}
	}
	if (o->second_fn) {
		desc->defaultfunctionname = astr("main");
	} else {
		PUSH(desc->n_input, desc->input, feature("x", 1, 8));
		PUSH(desc->n_output, desc->output, feature("y", 1, 8));
	}
	return m;
}

/* The writer gave each blob Value a malloc'd fileName; then free everything. */
static void done(void)
{
	for (size_t i = 0; i < IT.n; i++) {
		mil_value *v = IT.v[i].v;
		if (v->blobfilevalue->filename && v->blobfilevalue->filename != protobuf_c_empty_string)
			free(v->blobfilevalue->filename);
		v->blobfilevalue->filename = (char *)protobuf_c_empty_string;
	}
	afree();
}

int synth_write_mem(struct mld__pkgmem *out, const synth_opts *o)
{
	mil_model *m = build_model(o);
	int rc = mld__write_package_mem(m, IT.v, IT.n, "synthetic", out);
	done();
	return rc;
}

int synth_write(const char *path, const synth_opts *o)
{
	mil_model *m = build_model(o);
	int rc = mld__write_package(m, IT.v, IT.n, path, MLD_WRITE_REPLACE);
	done();
	return rc;
}
