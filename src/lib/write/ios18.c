#include "ios18.h"

#include "../core/dtype.h"
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
		memmove(&op->attributes[i], &op->attributes[i + 1], (op->n_attributes - i - 1) * sizeof *op->attributes);
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
static int retype(mil_value *v, mld_dtype dt, unsigned rank, const uint64_t *shape)
{
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
		if (tv->value_case == CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_BYTES && tv->bytes->values.len == 4 * count)
			shape[i] = mld__rd32(tv->bytes->values.data + 4 * i);
		else if (tv->value_case == CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_INTS && tv->ints->n_values == count)
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

static int lut_to_ios18(mil_op *op, const char *what)
{
	mil_value *shape_v = take_attr(op, "shape"), *idx = take_attr(op, "indices"), *lut = take_attr(op, "lut");
	uint64_t shape[MLD_MAX_RANK], lshape[MLD_MAX_RANK + 2], lcount, icount;
	unsigned rank = 0, lrank;
	mld_dtype ldt, idt;
	int rc = !shape_v || !idx || !lut ? mld__err(MLD_EFORMAT, "%s: iOS16 lut_to_dense lacks indices, lut or shape", what) : 0;
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
		rc = mld__err(MLD_EFORMAT, "%s: a %llu-entry palette has no iOS18 index type", what, (unsigned long long)lcount);
	if (!rc) {
		for (unsigned d = 0; d < rank; d++)
			lshape[d] = 1;
		lshape[rank] = lcount;
		lshape[rank + 1] = 1;
		rc = retype(lut, ldt, rank + 2, lshape);
	}
	if (!rc)
		rc = retype(idx, uint_of_bits(bits), rank, shape);
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
	int rc = !shape_v || !mask || !nz ? mld__err(MLD_EFORMAT, "%s: iOS16 sparse_to_dense lacks mask, nonzero_data or shape", what) : 0;
	if (!rc)
		rc = read_shape(shape, &rank, shape_v, what);
	if (!rc)
		rc = retype(mask, MLD_DT_UINT1, rank, shape);
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

int mld__block_to_ios18(mil_block *b, const char *fn_name)
{
	for (size_t i = 0; i < b->n_operations; i++) {
		mil_op *op = b->operations[i];
		char what[300];
		snprintf(what, sizeof what, "function \"%s\", %s \"%s\"", fn_name, op->type,
		         op->n_outputs ? op->outputs[0]->name : "?");
		int rc = 0;
		bool ios16 = mil_op_attr(op, "shape") != NULL;
		if (!strcmp(op->type, "constexpr_lut_to_dense") && ios16)
			rc = lut_to_ios18(op, what);
		else if (!strcmp(op->type, "constexpr_sparse_to_dense") && ios16)
			rc = sparse_to_ios18(op, what);
		else if (!strcmp(op->type, "constexpr_cast") && mil_op_attr(op, "source_val")) {
			static const char *const keys[] = {"source_val", "output_dtype"};
			rc = attrs_to_inputs(op, keys, 2);
		}
		for (size_t k = 0; !rc && k < op->n_blocks; k++)
			rc = mld__block_to_ios18(op->blocks[k], fn_name);
		if (rc)
			return rc;
	}
	return 0;
}
