/* Dense tensors: allocation, decoding a MIL Value (immediate or blob) into one,
 * and evaluating constexpr ops (dequant.c). */
#ifndef MLD_TENSOR_H
#define MLD_TENSOR_H

#include "../io/package.h"

/* A new zero-filled tensor of dtype/shape; fails cleanly on hostile sizes. */
int mld__tensor_new(mld_tensor **out, mld_dtype dt, unsigned rank, const uint64_t *shape);

/* Decode a Value into a dense tensor. `what` names it in messages. */
int mld__value_decode(mld_tensor **out, const mld_package *pkg, const mil_value *v, const char *what);
/* A scalar string immediate (constexpr_cast's output_dtype). */
int mld__value_string(const char **out, const mil_value *v, const char *what);

/* Evaluate op output `out_index` of `op` in function `fn` (recursing into producers). */
int mld__eval_output(mld_tensor **out, const mld_package *pkg, const mld__function *fn, const mil_op *op,
                    unsigned out_index);

/* The constexpr evaluators, exposed for unit tests. Inputs are dense tensors. */
int mld__deq_lut_ios18(mld_tensor **out, const mld_tensor *indices, const mld_tensor *lut, int64_t vector_axis,
                      bool has_vector_axis);
int mld__deq_lut_ios16(mld_tensor **out, const mld_tensor *indices, const mld_tensor *lut, const mld_tensor *shape);
int mld__deq_shift_scale(mld_tensor **out, const mld_tensor *data, const mld_tensor *scale, const mld_tensor *offset);
int mld__deq_affine(mld_tensor **out, const mld_tensor *q, const mld_tensor *zp, const mld_tensor *scale, int64_t axis);
int mld__deq_sparse_ios18(mld_tensor **out, const mld_tensor *nonzero, const mld_tensor *mask);
int mld__deq_sparse_ios16(mld_tensor **out, const mld_tensor *nonzero, const mld_tensor *mask, const mld_tensor *shape);
int mld__deq_cast(mld_tensor **out, const mld_tensor *src, const char *dtype_name);
/* Two-output ops: out[0] = mask (uint1), out[1] = nonzero values. */
int mld__deq_lut_to_sparse(mld_tensor *out[2], const mld_tensor *mask, const mld_tensor *nz_indices,
                          const mld_tensor *lut, int64_t vector_axis, bool has_vector_axis);
int mld__deq_sparse_shift_scale(mld_tensor *out[2], const mld_tensor *mask, const mld_tensor *nonzero,
                               const mld_tensor *scale, const mld_tensor *offset);

/* A sketch entry: v as a float, every NaN the one quiet NaN. A NaN's payload
 * depends on the order the compiler adds in, and a sketch must be the same bytes
 * from the streaming digest and from the full decode. */
static inline float mld__sketch_value(double v)
{
	return v != v ? __builtin_nanf("") : (float)v;
}

#endif
