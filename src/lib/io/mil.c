#include "mil.h"

#include "../tensor/dtype.h"

const mil_block *mil_function_block(const mil_function *fn)
{
	for (size_t i = 0; i < fn->n_block_specializations; i++)
		if (!strcmp(fn->block_specializations[i]->key, fn->opset))
			return fn->block_specializations[i]->value;
	return NULL;
}

const mil_value *mil_op_attr(const mil_op *op, const char *key)
{
	for (size_t i = 0; i < op->n_attributes; i++)
		if (!strcmp(op->attributes[i]->key, key))
			return op->attributes[i]->value;
	return NULL;
}

const mil_binding *mil_op_input(const mil_op *op, const char *key)
{
	for (size_t i = 0; i < op->n_inputs; i++)
		if (!strcmp(op->inputs[i]->key, key)) {
			const mil_argument *a = op->inputs[i]->value;
			return a && a->n_arguments == 1 ? a->arguments[0] : NULL;
		}
	return NULL;
}

bool mil_op_param(const mil_op *op, const char *key, const mil_value **value, const char **name)
{
	*value = NULL;
	*name = NULL;
	const mil_binding *b = mil_op_input(op, key);
	if (b) {
		if (b->binding_case == MIL_BINDING_NAME)
			*name = b->name;
		else if (b->binding_case == MIL_BINDING_VALUE)
			*value = b->value;
		return *name || *value;
	}
	*value = mil_op_attr(op, key);
	return *value != NULL;
}

int mil_tensor_shape(const mil_value_type *vt, mld_dtype *dt, unsigned *rank, uint64_t *shape,
                     uint64_t *count, const char *what)
{
	if (!vt || vt->type_case != MIL_TYPE_TENSOR || !vt->tensortype)
		return mld__err(MLD_EUNSUPPORTED, "%s: not a tensor type", what);
	const mil_tensor_type *tt = vt->tensortype;
	if (tt->rank < 0 || (size_t)tt->rank != tt->n_dimensions)
		return mld__err(MLD_EFORMAT, "%s: rank %lld does not match its %zu dimensions", what,
		               (long long)tt->rank, tt->n_dimensions);
	if (tt->n_dimensions > MLD_MAX_RANK)
		return mld__err(MLD_EUNSUPPORTED, "%s: rank %zu exceeds the supported %d", what,
		               tt->n_dimensions, MLD_MAX_RANK);
	uint64_t n = 1;
	for (size_t d = 0; d < tt->n_dimensions; d++) {
		const CoreML__Specification__MILSpec__Dimension *dim = tt->dimensions[d];
		if (!dim || dim->dimension_case != MIL_DIM_CONSTANT || !dim->constant)
			return mld__err(MLD_EUNSUPPORTED, "%s: dimension %zu is not a constant", what, d);
		shape[d] = dim->constant->size;
		if (!mld__mul_u64(n, shape[d], &n) || n > (UINT64_C(1) << 48))
			return mld__err(MLD_EFORMAT, "%s: shape element count overflows", what);
	}
	*dt = (mld_dtype)tt->datatype;
	if (mld_dtype_bits(*dt) == 0 && *dt != MLD_DT_STRING)
		return mld__err(MLD_EFORMAT, "%s: unknown dtype %d", what, (int)tt->datatype);
	*rank = (unsigned)tt->n_dimensions;
	*count = n;
	return 0;
}
