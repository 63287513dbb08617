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

typedef struct wblob { /* a blob as written */
	uint64_t moff, size;
	uint32_t pad;
	mld_dtype dtype;
	const uint8_t *data;
} wblob;

typedef struct layout {
	wblob *b;
	size_t n;
	uint64_t len;
} layout;

static int cmp_wblob(const void *a, const void *b)
{
	const wblob *x = a, *y = b;
	return x->moff < y->moff ? -1 : x->moff > y->moff;
}

static const wblob *find_blob(const layout *L, uint64_t moff)
{
	size_t lo = 0, hi = L->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (L->b[mid].moff < moff)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < L->n && L->b[lo].moff == moff ? &L->b[lo] : NULL;
}

static int layout_of(layout *L, const mld__blob_item *items, size_t n, uint64_t len)
{
	L->len = len;
	if (!(L->b = mld__malloc((n ? n : 1) * sizeof *L->b)))
		return MLD_ENOMEM;
	for (size_t i = 0; i < n; i++)
		L->b[i] = (wblob){items[i].v->blobfilevalue->offset, items[i].size,
		                  mld__dtype_is_subbyte(items[i].dtype) ? items[i].padding_bits : 0, items[i].dtype,
		                  items[i].data};
	qsort(L->b, n, sizeof *L->b, cmp_wblob);
	for (size_t i = 0; i < n; i++)
		if (!L->n || L->b[L->n - 1].moff != L->b[i].moff)
			L->b[L->n++] = L->b[i];
	return 0;
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
		if (L->b[mid].moff + 64 + L->b[mid].size <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; off < end; i++) {
		uint64_t moff = i < L->n ? L->b[i].moff : end;
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
			if (mld__blobfile_meta_bytes(meta, b->dtype, b->size, moff + 64, b->pad))
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
	*bv = (mld__blob_view){b->data, b->size, b->moff + 64, b->pad, b->dtype, 0};
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

int cb_out_stamp(char **text, const cb_ctx *cb, const mld__strmap *ops, const bool *rewritten,
                 const mld__blob_item *items, size_t n_items, const mld__write_info *info)
{
	size_t nw = 0, cap = 64, n = 0;
	for (size_t s = 0; s < cb->n_srcs; s++)
		nw += cb->srcs[s].n_weights;
	for (size_t i = 0; i < cb->n_ws; i++)
		cap += 2 * cb->ws[i].w->n_blobs;
	layout L = {0};
	mld__stamp_line *lines = mld__calloc(nw ? nw : 1, sizeof *lines);
	mld_digest *encs = mld__calloc(nw ? nw : 1, sizeof *encs);
	mld__wspan *spans = mld__malloc(cap * sizeof *spans);
	int rc = !lines || !encs || !spans ? MLD_ENOMEM : layout_of(&L, items, n_items, info->weights_len);
	size_t wi = 0;
	for (size_t s = 0; s < cb->n_srcs && !rc; s++) {
		const cb_source *src = &cb->srcs[s];
		size_t from = src->alias_of >= 0 ? (size_t)src->alias_of : s;
		const cb_source *orig = &cb->srcs[from];
		mld__strmap shared = {0};
		rc = multi_op_swaps(&shared, cb, orig);
		for (size_t k = 0; k < orig->n_weights && !rc; k++, wi++) {
			const cb_weight *cw = &cb->ws[orig->first_weight + k];
			const cb_weight *eo = swapped(cw) ? &cb->ws[cw->placed] : cw; /* whose values it holds */
			mld__stamp_line *l = &lines[wi];
			*l = (mld__stamp_line){src->name,    cw->w->name, cw->w->dtype, cw->w->rank,
			                       cw->w->shape, eo->enc,     eo->content,  eo->has_content};
			/* the op chain in the output */
			const mil_op *chain[64];
			size_t n_ops = cw->w->n_ops < 64 ? cw->w->n_ops : 64;
			for (size_t i = 0; i < n_ops && !rc; i++)
				if (!(chain[i] = mld__strmap_get(&ops[from], cw->w->ops[i]->outputs[0]->name)))
					rc = mld__err(MLD_ERROR, "function \"%s\": op \"%s\" is not in the output",
					              src->name, cw->w->ops[i]->outputs[0]->name);
			for (size_t i = 0; i < n_ops && !rc; i++) {
				const mil_value *vals[64];
				size_t nv = op_blob_values(chain[i], vals, 64);
				for (size_t j = 0; j < nv && !rc; j++) {
					const wblob *b = find_blob(&L, vals[j]->blobfilevalue->offset);
					if (!b)
						rc = mld__err(MLD_ERROR,
						              "function \"%s\", weight \"%s\": a blob was not written",
						              src->name, cw->w->name);
					else if (n == cap && !(spans = grow(spans, &cap)))
						rc = MLD_ENOMEM;
					if (!rc)
						spans[n++] = (mld__wspan){b->moff + 64, b->size, wi};
				}
			}
			if (!rc && (rewritten[from] || touches(&shared, cw->w))) {
				out_chain oc = {&ops[from], &L};
				mld__enc_chain c = {chain, n_ops, cw->w->out_index, out_ref, out_blob, NULL, &oc};
				if ((rc = mld__encoding_digest(&l->enc, &c)))
					mld__err_prefix("function \"%s\", weight \"%s\"", src->name, cw->w->name);
			}
			encs[wi] = l->enc;
		}
		mld__strmap_free(&shared);
	}
	mld_digest wd;
	if (!rc) {
		mld__wspan *sp[1] = {spans};
		size_t ns[1] = {n};
		uint64_t lens[1] = {L.len};
		rc = mld__weights_identity(&wd, n ? 1 : 0, lens, sp, ns, encs, layout_gap, &L);
	}
	if (!rc)
		rc = mld__stamp_text(text, &info->model, &wd, n ? L.len : 0, lines, nw);
	free(L.b);
	free(lines);
	free(encs);
	free(spans);
	return rc;
}
