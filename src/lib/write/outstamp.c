/* The build stamp of a combined package, from what combine already knows: the
 * digests of the plan and the layout it has just written. Nothing of the output is
 * read back and nothing is decoded.
 *
 * The stamp must equal the one mld_package_stamp computes from the written package
 * (see store/stamp.c), so everything here mirrors what index would find there:
 *
 *  - the weights, in package order: the output functions in order (an alias repeats
 *    its original's weights), each function's weights in its source's order - a
 *    combine changes which values an op holds, never which ops exist or their order;
 *  - a weight's encoding digest: its own (anchor, own, identical, rejected_*), or
 *    that of the weight whose values it took (deq_identical, deq_close) - the op
 *    holds exact copies of those values. Where that does not hold - a function
 *    rewritten into the iOS18 form, a multi-op chain that took another's values, or
 *    an op shared with such a chain - the digest is computed over the output's ops,
 *    with the bytes of the blobs just written (a hash, no decode);
 *  - its content digest: that of the values it holds, i.e. of the same weight (the
 *    iOS18 rewrite keeps values bit-identical);
 *  - its blobs: the blob Values of its ops in the output, in the order index lists
 *    them, at the offsets the writer gave them;
 *  - the weights identity: the spans of those blobs and the bytes between them,
 *    which are the writer's own header, metadata records and zero fill. */
#include "outstamp.h"

#include "../io/blobfile.h"
#include "../tensor/tensor.h"
#include "../core/dtype.h"

#include <stdlib.h>

typedef mld__wblob wblob; /* a blob as written: its metadata record at ->offset */

typedef struct layout { /* the blobs written, in file order */
	const wblob *b;
	size_t n;
	uint64_t len;
} layout;

static const wblob *find_blob(const layout *L, uint64_t moff)
{
	size_t lo = 0, hi = L->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (L->b[mid].offset < moff)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < L->n && L->b[lo].offset == moff ? &L->b[lo] : NULL;
}

/* Bytes [off, off + len) of the written weight.bin: header, metadata records, data
 * and the zero fill between them, regenerated. */
static int layout_gap(void *ctx, size_t file, uint64_t off, uint64_t len, mld__hash *h)
{
	const layout *L = ctx;
	static const uint8_t zeros[64];
	uint64_t end = off + len;
	uint8_t hdr[64];
	mld__blobfile_header_bytes(hdr, (uint32_t)L->n);
	if (off < 64) {
		uint64_t e = end < 64 ? end : 64;
		mld__hash_update(h, hdr + off, (size_t)(e - off));
		off = e;
	}
	/* the first blob whose data ends after off */
	size_t lo = 0, hi = L->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (L->b[mid].offset + 64 + L->b[mid].size <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; off < end; i++) {
		uint64_t moff = i < L->n ? L->b[i].offset : end;
		while (off < end && off < moff) { /* zero fill */
			uint64_t k = moff - off < end - off ? moff - off : end - off;
			if (k > sizeof zeros)
				k = sizeof zeros;
			mld__hash_update(h, zeros, (size_t)k);
			off += k;
		}
		if (i >= L->n || off >= end)
			break;
		const wblob *b = &L->b[i];
		if (off < moff + 64) {
			uint8_t meta[64];
			if (mld__blobfile_meta_bytes(meta, b->dtype, b->size, moff + 64, b->padding_bits))
				return mld__err(MLD_EUNSUPPORTED, "%s has no blob storage code",
				                mld_dtype_name(b->dtype));
			uint64_t e = end < moff + 64 ? end : moff + 64;
			mld__hash_update(h, meta + (off - moff), (size_t)(e - off));
			off = e;
		}
		if (off < end && off < moff + 64 + b->size) {
			uint64_t e = end < moff + 64 + b->size ? end : moff + 64 + b->size;
			mld__hash_update(h, b->data + (off - moff - 64), (size_t)(e - off));
			off = e;
		}
	}
	(void)file;
	return 0;
}

/* The blob Values of an op, in the order weight discovery lists them (mil_op_params). */
static size_t op_blob_values(const mil_op *op, const mil_value **out, size_t cap)
{
	const mil_value *vals[MIL_MAX_PARAMS];
	const char *names[MIL_MAX_PARAMS];
	size_t n = mil_op_params(op, vals, names), k = 0;
	for (size_t i = 0; i < n; i++)
		if (vals[i] && vals[i]->value_case == MIL_VALUE_BLOB && vals[i]->blobfilevalue && k < cap)
			out[k++] = vals[i];
	return k;
}

/* ---- encoding digests over the output's ops ------------------------------------------- */

typedef struct out_chain {
	const mld__strmap *ops; /* output name -> op, of the output function */
	const layout *L;
} out_chain;

static bool out_ref(void *ctx, const char *name, const mil_op **op, unsigned *out_index)
{
	const out_chain *oc = ctx;
	const mil_op *p = mld__strmap_get(oc->ops, name);
	if (!p)
		return false;
	for (size_t k = 0; k < p->n_outputs; k++)
		if (!strcmp(p->outputs[k]->name, name)) {
			*op = p;
			*out_index = (unsigned)k;
			return true;
		}
	return false;
}

static int out_blob(void *ctx, const mil_value *v, mld__blob_view *bv)
{
	const out_chain *oc = ctx;
	const wblob *b = find_blob(oc->L, v->blobfilevalue->offset);
	if (!b)
		return mld__err(MLD_ERROR, "blob at offset %llu was not written",
		                (unsigned long long)v->blobfilevalue->offset);
	uint32_t pad = mld__dtype_is_subbyte(b->dtype) ? b->padding_bits : 0;
	*bv = (mld__blob_view){b->data, b->size, b->offset + 64, pad, b->dtype, 0};
	return 0;
}

/* ---- the stamp ---------------------------------------------------------------------------- */

static bool swapped(const cb_weight *cw) { return cw->reason == MLD_R_DEQ_IDENTICAL || cw->reason == MLD_R_DEQ_CLOSE; }

/* Names of the ops that took another weight's values in a chain of several ops:
 * a weight with any of them in its chain gets its digest computed. */
static int multi_op_swaps(mld__strmap *out, const cb_ctx *cb, const cb_source *src)
{
	for (size_t k = 0; k < src->n_weights; k++) {
		const cb_weight *cw = &cb->ws[src->first_weight + k];
		if (!swapped(cw))
			continue;
		const cb_weight *pw = &cb->ws[cw->placed];
		if (cw->w->n_ops == 1 && pw->w->n_ops == 1 && cw->w->out_index == pw->w->out_index)
			continue;
		for (size_t i = 0; i < cw->w->n_ops; i++)
			if (mld__strmap_put(out, cw->w->ops[i]->outputs[0]->name, (void *)1))
				return MLD_ENOMEM;
	}
	return 0;
}

static mld__wspan *grow(mld__wspan *p, size_t *cap)
{
	mld__wspan *q = mld__realloc(p, 2 * *cap * sizeof *q);
	if (!q) {
		free(p);
		return NULL;
	}
	*cap *= 2;
	return q;
}

static bool touches(const mld__strmap *m, const mld_weight *w)
{
	for (size_t i = 0; m->len && i < w->n_ops; i++)
		if (mld__strmap_get(m, w->ops[i]->outputs[0]->name))
			return true;
	return false;
}

struct cb_stamp {
	const cb_ctx *cb;
	mld__stamp_line *lines; /* per weight of the output, in package order */
	mld_digest *encs;
	size_t nw, *base; /* base[s]: source s's first line */
	mld__wspan *spans;
	size_t n, cap;
	size_t *span0, *spans_n; /* per source: its spans */
};

int cb_stamp_new(cb_stamp **out, const cb_ctx *cb)
{
	cb_stamp *st = mld__calloc(1, sizeof *st);
	if (!st)
		return MLD_ENOMEM;
	*out = st;
	st->cb = cb;
	st->cap = 64;
	for (size_t s = 0; s < cb->n_srcs; s++)
		st->nw += cb->srcs[s].n_weights;
	for (size_t i = 0; i < cb->n_ws; i++)
		st->cap += 2 * cb->ws[i].w->n_blobs;
	size_t ns = cb->n_srcs ? cb->n_srcs : 1;
	if (!(st->lines = mld__calloc(st->nw ? st->nw : 1, sizeof *st->lines)) ||
	    !(st->encs = mld__calloc(st->nw ? st->nw : 1, sizeof *st->encs)) ||
	    !(st->spans = mld__malloc(st->cap * sizeof *st->spans)) ||
	    !(st->base = mld__calloc(ns, sizeof *st->base)) || !(st->span0 = mld__calloc(ns, sizeof *st->span0)) ||
	    !(st->spans_n = mld__calloc(ns, sizeof *st->spans_n)))
		return MLD_ENOMEM;
	for (size_t s = 1; s < cb->n_srcs; s++) /* an alias has as many weights as its original */
		st->base[s] = st->base[s - 1] + cb->srcs[s - 1].n_weights;
	return 0;
}

void cb_stamp_free(cb_stamp *st)
{
	if (!st)
		return;
	free(st->lines);
	free(st->encs);
	free(st->spans);
	free(st->base);
	free(st->span0);
	free(st->spans_n);
	free(st);
}

static int add_span(cb_stamp *st, mld__wspan sp)
{
	if (st->n == st->cap && !(st->spans = grow(st->spans, &st->cap)))
		return MLD_ENOMEM;
	st->spans[st->n++] = sp;
	return 0;
}

int cb_stamp_function(cb_stamp *st, size_t s, const mld__strmap *ops, bool rewritten, const mld__wblob *blobs,
                      size_t n_blobs)
{
	const cb_ctx *cb = st->cb;
	const cb_source *src = &cb->srcs[s];
	const layout L = {blobs, n_blobs, 0};
	mld__strmap shared = {0};
	size_t wi = st->base[s];
	st->span0[s] = st->n;
	int rc = multi_op_swaps(&shared, cb, src);
	for (size_t k = 0; k < src->n_weights && !rc; k++, wi++) {
		const cb_weight *cw = &cb->ws[src->first_weight + k];
		const cb_weight *eo = swapped(cw) ? &cb->ws[cw->placed] : cw; /* whose values it holds */
		mld__stamp_line *l = &st->lines[wi];
		*l = (mld__stamp_line){src->name,    cw->w->name, cw->w->dtype, cw->w->rank,
		                       cw->w->shape, eo->enc,     eo->content,  eo->has_content};
		/* the op chain in the output */
		const mil_op *chain[64];
		size_t n_ops = cw->w->n_ops < 64 ? cw->w->n_ops : 64;
		for (size_t i = 0; i < n_ops && !rc; i++)
			if (!(chain[i] = mld__strmap_get(ops, cw->w->ops[i]->outputs[0]->name)))
				rc = mld__err(MLD_ERROR, "function \"%s\": op \"%s\" is not in the output", src->name,
				              cw->w->ops[i]->outputs[0]->name);
		for (size_t i = 0; i < n_ops && !rc; i++) {
			const mil_value *vals[64];
			size_t nv = op_blob_values(chain[i], vals, 64);
			for (size_t j = 0; j < nv && !rc; j++) {
				const wblob *b = find_blob(&L, vals[j]->blobfilevalue->offset);
				rc = b ? add_span(st, (mld__wspan){b->offset + 64, b->size, wi})
				       : mld__err(MLD_ERROR, "function \"%s\", weight \"%s\": a blob was not written",
				                  src->name, cw->w->name);
			}
		}
		if (!rc && (rewritten || touches(&shared, cw->w))) {
			out_chain oc = {ops, &L};
			mld__enc_chain c = {chain, n_ops, cw->w->out_index, out_ref, out_blob, NULL, &oc};
			if ((rc = mld__encoding_digest(&l->enc, &c)))
				mld__err_prefix("function \"%s\", weight \"%s\"", src->name, cw->w->name);
		}
		st->encs[wi] = l->enc;
	}
	st->spans_n[s] = st->n - st->span0[s];
	mld__strmap_free(&shared);
	return rc;
}

int cb_stamp_finish(cb_stamp *st, char **text, const mld__wblob *blobs, size_t n_blobs, const mld__write_info *info)
{
	const cb_ctx *cb = st->cb;
	int rc = 0;
	/* an alias is its original's function under another name: its original's lines,
	 * digests and spans */
	for (size_t s = 0; s < cb->n_srcs && !rc; s++) {
		const cb_source *src = &cb->srcs[s];
		if (src->alias_of < 0)
			continue;
		size_t o = (size_t)src->alias_of, shift = st->base[s] - st->base[o];
		for (size_t k = 0; k < src->n_weights; k++) {
			st->lines[st->base[s] + k] = st->lines[st->base[o] + k];
			st->lines[st->base[s] + k].function = src->name;
			st->encs[st->base[s] + k] = st->encs[st->base[o] + k];
		}
		for (size_t i = 0; i < st->spans_n[o] && !rc; i++) {
			mld__wspan sp = st->spans[st->span0[o] + i];
			sp.w += shift;
			rc = add_span(st, sp);
		}
	}
	const layout L = {blobs, n_blobs, info->weights_len};
	mld_digest wd;
	if (!rc) {
		mld__wspan *sp[1] = {st->spans};
		size_t ns[1] = {st->n};
		uint64_t lens[1] = {L.len};
		rc = mld__weights_identity(&wd, st->n ? 1 : 0, lens, sp, ns, st->encs, layout_gap, (void *)&L);
	}
	if (!rc)
		rc = mld__stamp_text(text, &info->model, &wd, st->n ? L.len : 0, st->lines, st->nw);
	return rc;
}
