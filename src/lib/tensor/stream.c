/* Reading a weight's dense values a block at a time (wread.h), and the streaming
 * content digest built on it: the digest of mld_tensor_digest() without holding a
 * weight's dense values in memory. Two fast forms cover nearly every byte of a
 * palettized export: plain consts of whole-byte types (the stored bytes are the
 * dense values) and iOS18 scalar-palette constexpr_lut_to_dense (decoded a block
 * at a time with the dispatched palette kernels). Anything else is decoded whole
 * and then handed out block by block. */
#include "../core/hash.h"
#include "../io/blobfile.h"
#include "../core/dtype.h"
#include "lutkern.h"
#include "subbyte.h"
#include "tensor.h"
#include "wread.h"

#include <math.h>
#include <stdlib.h>

#define BLOCK MLD_WREAD_BLOCK /* a multiple of 8 keeps sub-byte offsets byte-aligned */

typedef struct sketcher {
	uint64_t count;
	mld__sketchacc acc;
	float *out;
} sketcher;

static void sk_init(sketcher *s, float *out, uint64_t count)
{
	s->count = count;
	s->out = out;
	mld__sketch_init(&s->acc, count);
	if (out)
		memset(out, 0, MLD_SKETCH_LEN * sizeof *out);
}

/* Feed elements [first, first + n) of the tensor, whose values are at `data`.
 * Must visit the same samples as mld_tensor_sketch(). */
static void sk_feed(sketcher *s, mld_dtype dt, const void *data, uint64_t first, uint64_t n)
{
	if (!s->out || !n)
		return;
	mld__sketch_feed(&s->acc, dt, data, first, n);
	for (int k = 2; k < MLD_SKETCH_LEN; k++) {
		uint64_t pos = ((uint64_t)k * UINT64_C(0x9E3779B97F4A7C15)) % s->count;
		if (pos >= first && pos < first + n)
			s->out[k] = mld__sketch_value(mld__dense_get(dt, data, pos - first));
	}
}

static void sk_finish(sketcher *s)
{
	if (s->out)
		mld__sketch_finish(&s->acc, &s->out[0], &s->out[1]);
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

/* ---- the reader ---------------------------------------------------------------------- */

enum { WR_NONE, WR_CONST, WR_LUT, WR_WHOLE };

/* const with a whole-byte blob: the stored bytes are the dense values. */
static int open_const(mld__wread *r, const mld_package *pkg, const mld_weight *w)
{
	const mil_value *v = mil_op_attr(w->op, "val");
	if (!is_blob(v) || mld_dtype_bits(w->dtype) < 8)
		return 0;
	mld__blob_view bv;
	int rc = blob_of(&bv, pkg, v, w->dtype);
	if (rc)
		return rc;
	if (bv.count != w->count)
		return mld__err(MLD_EFORMAT, "blob holds %llu elements, the type declares %llu",
		                (unsigned long long)bv.count, (unsigned long long)w->count);
	r->kind = WR_CONST;
	r->src = bv.data;
	r->src_len = bv.size;
	return 0;
}

/* iOS18 lut_to_dense, scalar palette, blob indices and lut, fp16/fp32/int8/uint8 lut. */
static int open_lut(mld__wread *r, const mld_package *pkg, const mld_weight *w)
{
	const mil_op *op = w->op;
	const mil_value *iv, *lv, *vv;
	const char *ref;
	if (mil_op_attr(op, "shape") || !mil_op_param(op, "indices", &iv, &ref) || !is_blob(iv) ||
	    !mil_op_param(op, "lut", &lv, &ref) || !is_blob(lv) || mil_op_param(op, "vector_axis", &vv, &ref))
		return 0;
	mld_dtype idt, ldt;
	unsigned irank, lrank;
	uint64_t lshape[MLD_MAX_RANK], icount, lcount;
	if (mil_tensor_shape(iv->type, &idt, &irank, r->ishape, &icount, "indices") ||
	    mil_tensor_shape(lv->type, &ldt, &lrank, lshape, &lcount, "lut")) {
		mld__err_clear();
		return 0;
	}
	unsigned bits = mld_dtype_bits(idt), lw = mld_dtype_dense_width(ldt);
	/* anything unusual goes the general way, which reports the precise error */
	if (lrank != irank + 2 || irank < 1 || lshape[irank + 1] != 1 || lshape[irank] != (UINT64_C(1) << bits) ||
	    idt == MLD_DT_INT4 || bits > 8 || !lw || ldt != w->dtype || icount != w->count || irank != w->rank ||
	    memcmp(r->ishape, w->shape, irank * sizeof *r->ishape))
		return 0;
	for (unsigned d = 0; d < irank; d++) {
		if (!lshape[d] || r->ishape[d] % lshape[d])
			return 0;
		r->bs[d] = r->ishape[d] / lshape[d];
	}
	r->gstr[irank - 1] = 1;
	for (unsigned d = irank - 1; d > 0; d--)
		r->gstr[d - 1] = r->gstr[d] * lshape[d];
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
		run *= r->ishape[d];
	r->idx = malloc(BLOCK);
	r->buf = malloc((size_t)BLOCK * lw);
	if (!r->idx || !r->buf)
		return mld__err(MLD_ENOMEM, "out of memory");
	r->kind = WR_LUT;
	r->src = ib.data;
	r->src_len = ib.size;
	r->lut = lb.data;
	r->lut_len = lb.size;
	r->bits = bits;
	r->lw = lw;
	r->P = lshape[irank];
	r->irank = irank;
	r->s = s;
	r->run = run;
	r->cur_run = UINT64_MAX;
	r->kern = mld__lutkern_get();
	/* fp16 palettes whose runs keep whole index bytes decode straight from the packed
	 * stream (4 per 3 bytes for uint6, 2 per byte for uint4): no unpacking pass */
	r->fused = lw == 2 && ((bits == 6 && run % 4 == 0) || (bits == 4 && run % 2 == 0) || bits == 8);
	return 0;
}

/* src is the block's packed indices (BLOCK is a multiple of 8: byte-aligned). */
static void lut_block(mld__wread *r, const uint8_t *src, uint64_t b, uint64_t n)
{
	unsigned bits = r->bits, lw = r->lw;
	if (!r->fused)
		mld__unpack(r->idx, src, n, bits, false);
	uint16_t *o16 = (uint16_t *)(void *)r->buf;
	const mld__lutkern *kern = r->kern;
	for (uint64_t j = 0; j < n;) {
		uint64_t i = b + j, q = i / r->run, end = (q + 1) * r->run - b;
		if (end > n)
			end = n;
		if (q != r->cur_run) {
			uint64_t rem = q, g = 0;
			for (unsigned d = r->s; d-- > 0;) {
				g += ((rem % r->ishape[d]) / r->bs[d]) * r->gstr[d];
				rem /= r->ishape[d];
			}
			r->pal = r->lut + g * r->P * lw;
			if (lw == 2) /* zero past P since the open: the b64 kernel reads 64 entries */
				memcpy(r->pal16, r->pal, (size_t)r->P * 2);
			r->cur_run = q;
		}
		/* a run's elements [j, end) start on a whole byte in every fused case */
		if (r->fused && bits == 6)
			kern->u6(o16 + j, src + j / 4 * 3, (size_t)(end - j), r->pal16);
		else if (r->fused && bits == 4)
			kern->u4(o16 + j, src + j / 2, (size_t)(end - j), r->pal16);
		else if (r->fused)
			kern->u8(o16 + j, src + j, (size_t)(end - j), r->pal16);
		else if (lw == 2) /* bits < 8 here: indices below P <= 64 */
			kern->b64(o16 + j, r->idx + j, (size_t)(end - j), r->pal16);
		else
			for (uint64_t k = j; k < end; k++)
				memcpy(r->buf + k * lw, r->pal + (uint64_t)r->idx[k] * lw, lw);
		j = end;
	}
}

int mld__wread_open(mld__wread *r, const mld_package *pkg, const mld_weight *w, bool whole)
{
	memset(r, 0, sizeof *r);
	r->pkg = pkg;
	r->w = w;
	r->dtype = w->dtype;
	r->count = w->count;
	r->width = mld_dtype_dense_width(w->dtype);
	int rc = 0;
	if (r->width && w->n_ops == 1 && w->out_index == 0) {
		if (mil_is_const(w->op))
			rc = open_const(r, pkg, w);
		else if (!strcmp(w->op->type, "constexpr_lut_to_dense"))
			rc = open_lut(r, pkg, w);
		if (rc) {
			mld__wread_close(r);
			return mld__err_prefix("%s: function \"%s\", weight \"%s\" (%s)", mld_package_path(pkg),
			                       w->function, w->name, w->chain);
		}
	}
	if (r->kind == WR_NONE && whole) {
		if ((rc = mld_weight_decode(&r->t, pkg, w)))
			return rc;
		r->kind = WR_WHOLE;
		r->dtype = r->t->dtype;
		r->count = r->t->count;
		r->width = mld_dtype_dense_width(r->t->dtype);
		r->src = r->t->data;
	}
	return 0;
}

bool mld__wread_streams(const mld__wread *r) { return r->kind == WR_CONST || r->kind == WR_LUT; }

/* Let the source pages before byte `upto` of src go, a MiB at a time, in whole 64 KiB
 * units (a multiple of every page size) so that no page of what is still read goes. */
#define LET_GO_STEP (1u << 20)
#define LET_GO_UNIT ((uintptr_t)64 << 10)
static void let_go(mld__wread *r, uint64_t upto)
{
	if (upto < r->let_go + LET_GO_STEP)
		return;
	uintptr_t lo = ((uintptr_t)(r->src + r->let_go) + LET_GO_UNIT - 1) & ~(LET_GO_UNIT - 1),
		  hi = (uintptr_t)(r->src + upto) & ~(LET_GO_UNIT - 1);
	if (hi > lo)
		mld__source_release(r->pkg->src, (const void *)lo, hi - lo);
	r->let_go = upto;
}

#define CHUNK ((uint64_t)256 << 10)

int mld__wread_buffer(mld__wread *r)
{
	if (!mld__wread_streams(r) || r->chunk)
		return 0;
	if (!(r->chunk = malloc(CHUNK)))
		return mld__err(MLD_ENOMEM, "out of memory");
	r->clen = 0;
	if (r->kind == WR_LUT) { /* the palettes, small: copied once */
		if (!(r->lut_copy = malloc(r->lut_len ? (size_t)r->lut_len : 1)))
			return mld__err(MLD_ENOMEM, "out of memory");
		int rc = mld__source_copy(r->pkg->src, r->lut_copy, r->lut, (size_t)r->lut_len);
		if (rc)
			return rc;
		r->lut = r->lut_copy;
	}
	/* opening read the blobs' metadata through the mapping, which mapped the folios
	 * around it; from here on nothing is read through it */
	mld__weight_release(r->pkg, r->w);
	return 0;
}

/* Bytes [off, off + n) of src: in place, or (buffered) from the chunk, refilled from
 * off when they are not all in it. n is at most a block's bytes, below CHUNK. */
static int src_at(mld__wread *r, uint64_t off, uint64_t n, const uint8_t **p)
{
	if (!r->chunk) {
		*p = r->src + off;
		return 0;
	}
	if (off < r->c0 || off + n > r->c0 + r->clen) {
		r->c0 = off;
		r->clen = r->src_len - off < CHUNK ? r->src_len - off : CHUNK;
		int rc = mld__source_copy(r->pkg->src, r->chunk, r->src + off, (size_t)r->clen);
		if (rc) {
			r->clen = 0;
			return rc;
		}
	}
	*p = r->chunk + (off - r->c0);
	return 0;
}

int mld__wread_next(mld__wread *r, const void **data, uint64_t *n)
{
	uint64_t b = r->at, k = r->count - b < BLOCK ? r->count - b : BLOCK;
	if (r->kind == WR_CONST && !r->chunk)
		let_go(r, b * r->width);
	else if (r->kind == WR_LUT && !r->chunk)
		let_go(r, b * r->bits / 8);
	*n = k;
	*data = NULL;
	if (!k)
		return 0;
	const uint8_t *p;
	int rc;
	if (r->kind == WR_WHOLE) {
		*data = r->src + b * r->width;
	} else if (r->kind == WR_CONST) {
		if ((rc = src_at(r, b * r->width, k * r->width, &p)))
			return rc;
		*data = p;
	} else if (r->kind == WR_LUT) {
		if ((rc = src_at(r, b * r->bits / 8, (k * r->bits + 7) / 8, &p)))
			return rc;
		lut_block(r, p, b, k);
		*data = r->buf;
	} else {
		return mld__err(MLD_EUSAGE, "no values to read");
	}
	r->at += k;
	return 0;
}

void mld__wread_close(mld__wread *r)
{
	free(r->idx);
	free(r->buf);
	free(r->chunk);
	free(r->lut_copy);
	mld_tensor_free(r->t);
	if (r->pkg && r->w)
		mld__weight_release(r->pkg, r->w);
	memset(r, 0, sizeof *r);
}

/* ---- the streaming content digest ----------------------------------------------------- */

int mld_weight_content_digest(mld_digest *out, float *sketch, uint64_t *dense_bytes, const mld_package *pkg,
                              const mld_weight *w)
{
	mld__wread r;
	int rc = mld__wread_open(&r, pkg, w, false);
	if (rc)
		return rc;
	if (mld__wread_streams(&r)) {
		mld__hash st;
		sketcher sk;
		hash_header(&st, w->dtype, w->rank, w->shape);
		sk_init(&sk, sketch, w->count);
		const void *data;
		uint64_t n;
		for (uint64_t at = 0; !(rc = mld__wread_next(&r, &data, &n)) && n; at += n) {
			mld__hash_update(&st, data, (size_t)n * r.width);
			sk_feed(&sk, w->dtype, data, at, n);
		}
		mld__wread_close(&r);
		if (rc)
			return rc;
		mld__hash_digest(out->bytes, &st);
		sk_finish(&sk);
		*dense_bytes = w->count * mld_dtype_dense_width(w->dtype);
		return 0;
	}
	mld__wread_close(&r);
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
