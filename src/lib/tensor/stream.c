/* Streaming content digests: the digest of mld_tensor_digest() without holding a
 * weight's dense values in memory. Two fast forms cover nearly every byte of a
 * palettized export: plain consts of whole-byte types (the stored bytes are the
 * dense values) and iOS18 scalar-palette constexpr_lut_to_dense (decoded a block
 * at a time). Anything else is decoded whole, then hashed. */
#include "../core/hash.h"
#include "../io/blobfile.h"
#include "../core/dtype.h"
#include "lutkern.h"
#include "subbyte.h"
#include "tensor.h"

#include <math.h>
#include <stdlib.h>

#define BLOCK 16384 /* elements per block: a multiple of 8 keeps sub-byte offsets byte-aligned */

typedef struct sketcher {
	uint64_t count, step, n;
	double sum, sq;
	float *out;
} sketcher;

static void sk_init(sketcher *s, float *out, uint64_t count)
{
	*s = (sketcher){count, count > 65536 ? count / 65536 : 1, 0, 0, 0, out};
	if (out)
		memset(out, 0, MLD_SKETCH_LEN * sizeof *out);
}

/* Feed elements [first, first + n) of the tensor, whose values are at `data`.
 * Must visit the same samples as mld_tensor_sketch(). */
static void sk_feed(sketcher *s, mld_dtype dt, const void *data, uint64_t first, uint64_t n)
{
	if (!s->out || !n)
		return;
	const float *h = mld__half_table();
	for (uint64_t i = (first + s->step - 1) / s->step * s->step; i < first + n; i += s->step) {
		/* data may be a blob at any offset the file gives: read it unaligned */
		double x = dt == MLD_DT_FP16 ? h[mld__rd16((const uint8_t *)data + 2 * (i - first))] : mld__dense_get(dt, data, i - first);
		s->sum += x;
		s->sq += x * x;
		s->n++;
	}
	for (int k = 2; k < MLD_SKETCH_LEN; k++) {
		uint64_t pos = ((uint64_t)k * UINT64_C(0x9E3779B97F4A7C15)) % s->count;
		if (pos >= first && pos < first + n)
			s->out[k] = mld__sketch_value(mld__dense_get(dt, data, pos - first));
	}
}

static void sk_finish(sketcher *s)
{
	if (!s->out)
		return;
	s->out[0] = s->n ? mld__sketch_value(s->sum / (double)s->n) : 0;
	s->out[1] = s->n ? mld__sketch_value(sqrt(s->sq / (double)s->n)) : 0;
}

static void hash_header(mld__hash *st, mld_dtype dt, unsigned rank, const uint64_t *shape)
{
	uint8_t b[8];
	mld__hash_reset(st);
	mld__hash_update(st, "mldc1", 5);
	mld__wr64(b, (uint64_t)dt);
	mld__hash_update(st, b, 8);
	mld__wr64(b, rank);
	mld__hash_update(st, b, 8);
	for (unsigned d = 0; d < rank; d++) {
		mld__wr64(b, shape[d]);
		mld__hash_update(st, b, 8);
	}
}

/* A blob Value's checked bytes. */
static int blob_of(mld__blob_view *bv, const mld_package *pkg, const mil_value *v, mld_dtype want)
{
	const uint8_t *map;
	uint64_t len;
	char *disp = NULL;
	int rc = mld__package_blobfile(pkg, v->blobfilevalue->filename, &map, &len, &disp);
	if (!rc)
		rc = mld__blobfile_read(bv, map, len, v->blobfilevalue->offset, want, disp);
	free(disp);
	return rc;
}

static bool is_blob(const mil_value *v) { return v && v->value_case == MIL_VALUE_BLOB && v->blobfilevalue; }

/* const with a whole-byte blob: the stored bytes are the dense values. */
static int stream_const(mld__hash *st, sketcher *sk, const mld_package *pkg, const mld_weight *w, bool *done)
{
	const mil_value *v = mil_op_attr(w->op, "val");
	if (!is_blob(v) || mld_dtype_bits(w->dtype) < 8)
		return 0;
	mld__blob_view bv;
	int rc = blob_of(&bv, pkg, v, w->dtype);
	if (rc)
		return rc;
	if (bv.count != w->count)
		return mld__err(MLD_EFORMAT, "blob holds %llu elements, the type declares %llu", (unsigned long long)bv.count,
		               (unsigned long long)w->count);
	mld__hash_update(st, bv.data, bv.size);
	sk_feed(sk, w->dtype, bv.data, 0, w->count);
	*done = true;
	return 0;
}

/* iOS18 lut_to_dense, scalar palette, blob indices and lut, fp16/fp32/int8/uint8 lut. */
static int stream_lut(mld__hash *st, sketcher *sk, const mld_package *pkg, const mld_weight *w, bool *done)
{
	const mil_op *op = w->op;
	const mil_value *iv, *lv, *vv;
	const char *ref;
	if (mil_op_attr(op, "shape") || !mil_op_param(op, "indices", &iv, &ref) || !is_blob(iv) ||
	    !mil_op_param(op, "lut", &lv, &ref) || !is_blob(lv) || mil_op_param(op, "vector_axis", &vv, &ref))
		return 0;
	mld_dtype idt, ldt;
	unsigned irank, lrank;
	uint64_t ishape[MLD_MAX_RANK], lshape[MLD_MAX_RANK], icount, lcount;
	if (mil_tensor_shape(iv->type, &idt, &irank, ishape, &icount, "indices") ||
	    mil_tensor_shape(lv->type, &ldt, &lrank, lshape, &lcount, "lut")) {
		mld__err_clear();
		return 0;
	}
	unsigned bits = mld_dtype_bits(idt), lw = mld_dtype_dense_width(ldt);
	/* anything unusual goes the general way, which reports the precise error */
	if (lrank != irank + 2 || irank < 1 || lshape[irank + 1] != 1 || lshape[irank] != (UINT64_C(1) << bits) ||
	    idt == MLD_DT_INT4 || bits > 8 || !lw || ldt != w->dtype || icount != w->count || irank != w->rank ||
	    memcmp(ishape, w->shape, irank * sizeof *ishape))
		return 0;
	uint64_t bs[MLD_MAX_RANK], gstr[MLD_MAX_RANK];
	for (unsigned d = 0; d < irank; d++) {
		if (!lshape[d] || ishape[d] % lshape[d])
			return 0;
		bs[d] = ishape[d] / lshape[d];
	}
	gstr[irank - 1] = 1;
	for (unsigned d = irank - 1; d > 0; d--)
		gstr[d - 1] = gstr[d] * lshape[d];
	mld__blob_view ib, lb;
	int rc = blob_of(&ib, pkg, iv, idt);
	if (!rc)
		rc = blob_of(&lb, pkg, lv, ldt);
	if (rc)
		return rc;
	if (ib.count != icount || lb.count != lcount)
		return 0;
	unsigned s = irank; /* the ungrouped suffix, as in mld__deq_lut_ios18 */
	while (s > 0 && lshape[s - 1] == 1)
		s--;
	uint64_t run = 1;
	for (unsigned d = s; d < irank; d++)
		run *= ishape[d];
	uint64_t P = lshape[irank], row = P * lw;
	uint8_t *idx = malloc(BLOCK), *out = malloc((size_t)BLOCK * lw);
	if (!idx || !out) {
		free(idx);
		free(out);
		return mld__err(MLD_ENOMEM, "out of memory");
	}
	uint64_t cur_run = UINT64_MAX;
	const uint8_t *pal = NULL;
	uint16_t pal16[256] = {0}; /* zero past P: the b64 kernel reads 64 entries */
	const mld__lutkern *kern = mld__lutkern_get();
	/* fp16 palettes whose runs keep whole index bytes decode straight from the packed
	 * stream (4 per 3 bytes for uint6, 2 per byte for uint4): no unpacking pass */
	bool fused = lw == 2 && ((bits == 6 && run % 4 == 0) || (bits == 4 && run % 2 == 0) || bits == 8);
	for (uint64_t b = 0; b < icount; b += BLOCK) {
		uint64_t n = icount - b < BLOCK ? icount - b : BLOCK;
		const uint8_t *src = ib.data + b * bits / 8; /* BLOCK is a multiple of 8: byte-aligned */
		if (!fused)
			mld__unpack(idx, src, n, bits, false);
		uint16_t *o16 = (uint16_t *)(void *)out;
		for (uint64_t j = 0; j < n;) {
			uint64_t i = b + j, r = i / run, end = (r + 1) * run - b;
			if (end > n)
				end = n;
			if (r != cur_run) {
				uint64_t rem = r, g = 0;
				for (unsigned d = s; d-- > 0;) {
					g += ((rem % ishape[d]) / bs[d]) * gstr[d];
					rem /= ishape[d];
				}
				pal = lb.data + g * row;
				if (lw == 2)
					memcpy(pal16, pal, (size_t)P * 2);
				cur_run = r;
			}
			/* a run's elements [j, end) start on a whole byte in every fused case */
			if (fused && bits == 6)
				kern->u6(o16 + j, src + j / 4 * 3, (size_t)(end - j), pal16);
			else if (fused && bits == 4)
				kern->u4(o16 + j, src + j / 2, (size_t)(end - j), pal16);
			else if (fused)
				kern->u8(o16 + j, src + j, (size_t)(end - j), pal16);
			else if (lw == 2) /* bits < 8 here: indices below P <= 64 */
				kern->b64(o16 + j, idx + j, (size_t)(end - j), pal16);
			else
				for (uint64_t k = j; k < end; k++)
					memcpy(out + k * lw, pal + (uint64_t)idx[k] * lw, lw);
			j = end;
		}
		mld__hash_update(st, out, (size_t)n * lw);
		sk_feed(sk, ldt, out, b, n);
	}
	free(idx);
	free(out);
	*done = true;
	return 0;
}

int mld_weight_content_digest(mld_digest *out, float *sketch, uint64_t *dense_bytes, const mld_package *pkg,
                              const mld_weight *w)
{
	mld__hash st;
	sketcher sk;
	bool done = false;
	int rc = 0;
	unsigned width = mld_dtype_dense_width(w->dtype);
	if (width && w->n_ops == 1 && w->out_index == 0) {
		hash_header(&st, w->dtype, w->rank, w->shape);
		sk_init(&sk, sketch, w->count);
		if (mil_is_const(w->op))
			rc = stream_const(&st, &sk, pkg, w, &done);
		else if (!strcmp(w->op->type, "constexpr_lut_to_dense"))
			rc = stream_lut(&st, &sk, pkg, w, &done);
		if (rc)
			return mld__err_prefix("%s: function \"%s\", weight \"%s\" (%s)", mld_package_path(pkg), w->function,
			                      w->name, w->chain);
	}
	if (done) {
		mld__hash_digest(out->bytes, &st);
		sk_finish(&sk);
		*dense_bytes = w->count * width;
		return 0;
	}
	mld_tensor *t;
	if ((rc = mld_weight_decode(&t, pkg, w)))
		return rc;
	mld_tensor_digest(out, t);
	if (sketch)
		mld_tensor_sketch(sketch, t);
	*dense_bytes = t->nbytes;
	mld_tensor_free(t);
	return 0;
}
