/* Dense tensors: allocation, decoding a MIL Value (immediate or blob) into one,
 * and evaluating constexpr ops (dequant.c). */
#ifndef MLD_TENSOR_H
#define MLD_TENSOR_H

#include "../io/blobfile.h"
#include "../io/package.h"

/* A new zero-filled tensor of dtype/shape; fails cleanly on hostile sizes. */
int mld__tensor_new(mld_tensor **out, mld_dtype dt, unsigned rank, const uint64_t *shape);

/* The encoding digest (mld_weight_encoding_digest) of any chain of ops, wherever its
 * ops and blobs live: a package being read, or the model combine is writing. */
typedef struct mld__enc_chain {
	const mil_op *const *ops; /* the chain, producers first */
	size_t n_ops;
	unsigned out_index; /* which output of the last op is the weight */
	/* the op producing `name` and which of its outputs it is; false when none does */
	bool (*ref)(void *ctx, const char *name, const mil_op **op, unsigned *out_index);
	/* a blob Value's checked bytes (data, size, padding_bits) */
	int (*blob)(void *ctx, const mil_value *v, mld__blob_view *bv);
	/* optional: each blob's own digest (XXH3-128 of its stored bytes), from the same pass */
	void (*blob_digest)(void *ctx, const mil_value *v, const mld_digest *d);
	void *ctx;
} mld__enc_chain;
int mld__encoding_digest(mld_digest *out, const mld__enc_chain *c);
/* mld_weight_encoding_digest, and (blob_digests non-NULL) each of w->blobs[]'s own
 * digest in the same pass over the bytes. */
int mld__weight_encoding_digest_blobs(mld_digest *out, mld_digest *blob_digests, const mld_package *pkg,
                                      const mld_weight *w);

/* Verification: weight wa of pa compared with each of n weights (same shape), every
 * one decoded a block at a time and compared as it is (wa once for all the members
 * whose form streams); b[i].m gets the metrics of mld_tensor_compare. *decoded counts
 * the weights decoded. */
typedef struct mld__cmp_member {
	const mld_package *pkg;
	const mld_weight *w;
	mld_metrics m;
} mld__cmp_member;
int mld__compare_group(const mld_package *pa, const mld_weight *wa, mld__cmp_member *b, size_t n, uint64_t *decoded);

/* The mean and rms of a sketch (mld_tensor_sketch): over every step-th element
 * (step = count / 65536, at least 1), sample j summed in lane j % 4, the lanes added
 * in one order; fed a block at a time or all at once, the same bits. */
typedef struct mld__sketchacc {
	uint64_t step, next, n; /* next: the element index of the next sample */
	double sum[4], sq[4];
} mld__sketchacc;
void mld__sketch_init(mld__sketchacc *a, uint64_t count);
/* Elements [first, first + n) of the tensor, at `data` (dtype dt). */
void mld__sketch_feed(mld__sketchacc *a, mld_dtype dt, const void *data, uint64_t first, uint64_t n);
void mld__sketch_finish(const mld__sketchacc *a, float *mean, float *rms);

/* Decode a Value into a dense tensor. `what` names it in messages. */
int mld__value_decode(mld_tensor **out, const mld_package *pkg, const mil_value *v, const char *what);
/* A scalar string immediate (constexpr_cast's output_dtype). */
int mld__value_string(const char **out, const mil_value *v, const char *what);

/* Evaluate op output `out_index` of `op`, an op of weight w's chain (recursing into
 * the producers, which are the chain's other ops). */
int mld__eval_output(mld_tensor **out, const mld_package *pkg, const mld_weight *w, const mil_op *op,
                     unsigned out_index);
/* The op of w's chain with output `name`, and which output it is; false if none. */
bool mld__chain_find(const mld_weight *w, const char *name, const mil_op **op, unsigned *out_index);

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
static inline float mld__sketch_value(double v) { return v != v ? __builtin_nanf("") : (float)v; }

#endif
