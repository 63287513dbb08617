/* Evaluating a weight: walk its constexpr chain from the final op, decoding each
 * parameter (blob, immediate, or another constexpr's output) and applying the op. */
#include "../core/dtype.h"
#include "tensor.h"

#include <stdlib.h>

bool mld__chain_find(const mld_weight *w, const char *name, const mil_op **op, unsigned *out_index)
{
	for (size_t i = 0; i < w->n_ops; i++)
		for (size_t k = 0; k < w->ops[i]->n_outputs; k++)
			if (!strcmp(w->ops[i]->outputs[k]->name, name)) {
				*op = w->ops[i];
				*out_index = (unsigned)k;
				return true;
			}
	return false;
}

typedef struct param {
	mld_tensor *t;
	bool present;
} param;

/* Fetch parameter `key` of `op` as a tensor (NULL + present=false if absent). */
static int get_param(param *p, const mld_package *pkg, const mld_weight *w, const mil_op *op, const char *key,
                     bool required)
{
	const mil_value *v;
	const char *name;
	p->t = NULL;
	p->present = mil_op_param(op, key, &v, &name);
	if (!p->present)
		return required ? mld__err(MLD_EFORMAT, "%s: required parameter \"%s\" is missing", op->type, key) : 0;
	if (v) {
		char what[160];
		snprintf(what, sizeof what, "%s parameter \"%s\"", op->type, key);
		return mld__value_decode(&p->t, pkg, v, what);
	}
	const mil_op *prod;
	unsigned k;
	if (!mld__chain_find(w, name, &prod, &k))
		return mld__err(MLD_EFORMAT, "%s parameter \"%s\" names \"%s\", which is not a constant", op->type, key,
		                name);
	return mld__eval_output(&p->t, pkg, w, prod, k);
}

static int get_int_scalar(int64_t *out, bool *present, const mld_package *pkg, const mld_weight *w, const mil_op *op,
                          const char *key)
{
	param p;
	int rc = get_param(&p, pkg, w, op, key, false);
	if (rc || !p.present) {
		*present = false;
		return rc;
	}
	*present = true;
	if (p.t->count != 1 || mld__dtype_is_float(p.t->dtype))
		rc = mld__err(MLD_EFORMAT, "%s: \"%s\" must be an integer scalar", op->type, key);
	else
		*out = (int64_t)mld__dense_get(p.t->dtype, p.t->data, 0);
	mld_tensor_free(p.t);
	return rc;
}

/* Check a result against the op's declared output type. */
static int check_output(const mil_op *op, unsigned k, const mld_tensor *t)
{
	mld_dtype dt;
	unsigned rank;
	uint64_t shape[MLD_MAX_RANK], count;
	const mil_named_type *o = op->outputs[k];
	int rc = mil_tensor_shape(o->type, &dt, &rank, shape, &count, o->name);
	if (rc)
		return rc;
	if (dt != t->dtype || rank != t->rank || memcmp(shape, t->shape, rank * sizeof *shape))
		return mld__err(MLD_EFORMAT,
		                "%s \"%s\": declared output %s of rank %u does not match the computed %s of rank %u"
		                " (or its shape)",
		                op->type, o->name, mld_dtype_name(dt), rank, mld_dtype_name(t->dtype), t->rank);
	return 0;
}

static int eval_op(mld_tensor *res[2], const mld_package *pkg, const mld_weight *w, const mil_op *op)
{
	const char *ty = op->type;
	param a = {0}, b = {0}, c = {0};
	int64_t axis = 0;
	bool has_axis = false;
	int rc;
	bool ios16 = mil_op_attr(op, "shape") != NULL; /* the iOS16 forms carry an explicit output shape */
	if (!strcmp(ty, "const")) {
		const mil_value *v = mil_op_attr(op, "val");
		if (!v)
			return mld__err(MLD_EFORMAT, "const \"%s\" has no \"val\"",
			                op->n_outputs ? op->outputs[0]->name : "?");
		return mld__value_decode(&res[0], pkg, v, "const val");
	} else if (!strcmp(ty, "constexpr_lut_to_dense")) {
		if (!(rc = get_param(&a, pkg, w, op, "indices", true)) &&
		    !(rc = get_param(&b, pkg, w, op, "lut", true))) {
			if (ios16) {
				if (!(rc = get_param(&c, pkg, w, op, "shape", true)))
					rc = mld__deq_lut_ios16(&res[0], a.t, b.t, c.t);
			} else if (!(rc = get_int_scalar(&axis, &has_axis, pkg, w, op, "vector_axis"))) {
				rc = mld__deq_lut_ios18(&res[0], a.t, b.t, axis, has_axis);
			}
		}
	} else if (!strcmp(ty, "constexpr_blockwise_shift_scale")) {
		if (!(rc = get_param(&a, pkg, w, op, "data", true)) &&
		    !(rc = get_param(&b, pkg, w, op, "scale", true)) &&
		    !(rc = get_param(&c, pkg, w, op, "offset", false)))
			rc = mld__deq_shift_scale(&res[0], a.t, b.t, c.t);
	} else if (!strcmp(ty, "constexpr_affine_dequantize")) {
		if (!(rc = get_param(&a, pkg, w, op, "quantized_data", true)) &&
		    !(rc = get_param(&b, pkg, w, op, "zero_point", true)) &&
		    !(rc = get_param(&c, pkg, w, op, "scale", true)) &&
		    !(rc = get_int_scalar(&axis, &has_axis, pkg, w, op, "axis"))) {
			if (!has_axis)
				rc = mld__err(MLD_EFORMAT, "%s: required parameter \"axis\" is missing", ty);
			else
				rc = mld__deq_affine(&res[0], a.t, b.t, c.t, axis);
		}
	} else if (!strcmp(ty, "constexpr_sparse_to_dense")) {
		if (!(rc = get_param(&a, pkg, w, op, "nonzero_data", true)) &&
		    !(rc = get_param(&b, pkg, w, op, "mask", true))) {
			if (ios16) {
				if (!(rc = get_param(&c, pkg, w, op, "shape", true)))
					rc = mld__deq_sparse_ios16(&res[0], a.t, b.t, c.t);
			} else {
				rc = mld__deq_sparse_ios18(&res[0], a.t, b.t);
			}
		}
	} else if (!strcmp(ty, "constexpr_cast")) {
		const mil_value *v;
		const char *name, *to;
		if (!(rc = get_param(&a, pkg, w, op, "source_val", true))) {
			if (!mil_op_param(op, "output_dtype", &v, &name) || !v)
				rc = mld__err(MLD_EFORMAT, "%s: \"output_dtype\" must be a string constant", ty);
			else if (!(rc = mld__value_string(&to, v, "constexpr_cast output_dtype")))
				rc = mld__deq_cast(&res[0], a.t, to);
		}
	} else if (!strcmp(ty, "constexpr_lut_to_sparse")) {
		if (!(rc = get_param(&a, pkg, w, op, "indices_mask", true)) &&
		    !(rc = get_param(&b, pkg, w, op, "indices_nonzero_data", true)) &&
		    !(rc = get_param(&c, pkg, w, op, "lut", true)) &&
		    !(rc = get_int_scalar(&axis, &has_axis, pkg, w, op, "vector_axis")))
			rc = mld__deq_lut_to_sparse(res, a.t, b.t, c.t, axis, has_axis);
	} else if (!strcmp(ty, "constexpr_sparse_blockwise_shift_scale")) {
		param d = {0};
		if (!(rc = get_param(&a, pkg, w, op, "data_mask", true)) &&
		    !(rc = get_param(&b, pkg, w, op, "nonzero_data", true)) &&
		    !(rc = get_param(&c, pkg, w, op, "scale", true)) &&
		    !(rc = get_param(&d, pkg, w, op, "offset", false)))
			rc = mld__deq_sparse_shift_scale(res, a.t, b.t, c.t, d.t);
		mld_tensor_free(d.t);
	} else {
		rc = mld__err(MLD_EUNSUPPORTED, "op type \"%s\" cannot be decoded by mldedup %s", ty, MLD_VERSION);
	}
	mld_tensor_free(a.t);
	mld_tensor_free(b.t);
	mld_tensor_free(c.t);
	return rc;
}

int mld__eval_output(mld_tensor **out, const mld_package *pkg, const mld_weight *w, const mil_op *op,
                     unsigned out_index)
{
	mld_tensor *res[2] = {NULL, NULL};
	int rc = eval_op(res, pkg, w, op);
	if (!rc && (out_index > 1 || !res[out_index] || out_index >= op->n_outputs))
		rc = mld__err(MLD_EFORMAT, "%s: output %u does not exist", op->type, out_index);
	for (unsigned k = 0; !rc && k < 2 && k < op->n_outputs; k++)
		if (res[k])
			rc = check_output(op, k, res[k]);
	if (rc) {
		mld_tensor_free(res[0]);
		mld_tensor_free(res[1]);
		return rc;
	}
	*out = res[out_index];
	mld_tensor_free(res[1 - out_index]);
	return 0;
}

int mld_weight_decode(mld_tensor **out, const mld_package *pkg, const mld_weight *w)
{
	int rc = mld__eval_output(out, pkg, w, w->op, w->out_index);
	if (rc)
		return mld__err_prefix("%s: function \"%s\", weight \"%s\" (%s)", mld_package_path(pkg), w->function,
		                       w->name, w->chain);
	return 0;
}
