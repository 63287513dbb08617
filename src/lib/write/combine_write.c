/* Building the combined Model from the plan, and writing it.
 *
 * One source function at a time: its package's model is unpacked once more as a
 * private, mutable copy (the opened package's own is never edited); the plan is
 * applied to the function (weights that share another's encoding get that encoding's
 * Values, deep copies remembered as living in the other package), iOS16-form
 * constexpr ops are rewritten into the iOS18 form, and every blob Value is resolved
 * to its source bytes and deduplicated by (dtype, shape, padding, bytes): each
 * distinct blob is written once, in order of first use, so its offset in the output
 * is known at once. The function is then packed (protobuf-c packs a map entry by
 * entry: see mld__model_splice) and its copy freed, so the write holds two parsed
 * models at most (this one's and the next one's, parsed ahead), whatever the number
 * of functions. Its packed entry goes to a scratch file in the output's temp tree
 * (unlinked at once: it never outlives the process, nor lands in the package), and
 * model.mlmodel is written as the bytes before the functions, the scratch file's
 * ranges in source order, and the bytes after: no more than one packed function is
 * in memory either. */
#include "../core/hash.h"
#include "../core/par.h"
#include "../core/strmap.h"
#include "../io/blobfile.h"
#include "combine_write.h"
#include "../core/dtype.h"
#include "ios18.h"
#include "pbfree.h"
#include "outstamp.h"
#include "pkgwrite.h"
#include "zipwrite.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

typedef CoreML__Specification__FunctionDescription fn_desc;
typedef CoreML__Specification__MILSpec__Program__FunctionsEntry fn_entry;

typedef struct owner_map { /* Value pointer -> package index (+1), for swapped Values */
	mld__strmap m;
	char **keys;
	size_t n, cap;
} owner_map;

static int owner_put(owner_map *o, const void *v, size_t pkg)
{
	char k[32];
	snprintf(k, sizeof k, "%p", v);
	if (mld__strmap_get(&o->m, k))
		return mld__strmap_put(&o->m, k, (void *)(intptr_t)(pkg + 1));
	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 64;
		char **p = mld__realloc(o->keys, o->cap * sizeof *p);
		if (!p)
			return MLD_ENOMEM;
		o->keys = p;
	}
	if (!(o->keys[o->n] = mld__strdup(k)))
		return MLD_ENOMEM;
	return mld__strmap_put(&o->m, o->keys[o->n++], (void *)(intptr_t)(pkg + 1));
}

static long owner_get(owner_map *o, const void *v)
{
	char k[32];
	snprintf(k, sizeof k, "%p", v);
	return (long)(intptr_t)mld__strmap_get(&o->m, k) - 1;
}

static void owner_free(owner_map *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->keys[i]);
	free(o->keys);
	mld__strmap_free(&o->m);
}

static void *msg_clone(const ProtobufCMessage *m) { return mil_clone(m, NULL); }

static mil_value *value_clone(const mil_value *v) { return msg_clone(&v->base); }
static mil_op *op_clone(const mil_op *op) { return msg_clone(&op->base); }

/* Every op of a block (recursively) by output name. */
static int index_ops(mld__strmap *m, mil_block *b)
{
	for (size_t i = 0; i < b->n_operations; i++) {
		mil_op *op = b->operations[i];
		for (size_t k = 0; k < op->n_outputs; k++)
			if (mld__strmap_put(m, op->outputs[k]->name, op))
				return MLD_ENOMEM;
		for (size_t k = 0; k < op->n_blocks; k++)
			if (index_ops(m, op->blocks[k]))
				return MLD_ENOMEM;
	}
	return 0;
}

/* Pointer to the slot holding param `key` of op (input binding value or attribute). */
static mil_value **param_slot(mil_op *op, const char *key)
{
	for (size_t i = 0; i < op->n_inputs; i++)
		if (!strcmp(op->inputs[i]->key, key) && op->inputs[i]->value &&
		    op->inputs[i]->value->n_arguments == 1 &&
		    op->inputs[i]->value->arguments[0]->binding_case == MIL_BINDING_VALUE)
			return &op->inputs[i]->value->arguments[0]->value;
	for (size_t i = 0; i < op->n_attributes; i++)
		if (!strcmp(op->attributes[i]->key, key))
			return &op->attributes[i]->value;
	return NULL;
}

/* Same layout: give each param Value of `dst` a copy of the matching Value of `src`. */
static int swap_params(mil_op *dst, const mil_op *src, size_t src_pkg, owner_map *own)
{
	for (size_t i = 0; i < src->n_attributes + src->n_inputs; i++) {
		const char *key =
			i < src->n_attributes ? src->attributes[i]->key : src->inputs[i - src->n_attributes]->key;
		if (!strcmp(key, "name"))
			continue;
		const mil_value *sv;
		const char *ref;
		if (!mil_op_param(src, key, &sv, &ref) || !sv)
			continue; /* references to other chain ops keep their names */
		mil_value **slot = param_slot(dst, key);
		if (!slot)
			return mld__err(MLD_EFORMAT, "%s: parameter \"%s\" missing from the swapped op", dst->type,
			                key);
		mil_value *c = value_clone(sv);
		if (!c)
			return MLD_ENOMEM;
		core_ml__specification__milspec__value__free_unpacked(*slot, &mld__pb_any);
		*slot = c;
		if (c->value_case == MIL_VALUE_BLOB && owner_put(own, c, src_pkg))
			return MLD_ENOMEM;
	}
	return 0;
}

/* One-op chains of different structure: the op takes the other's type and
 * parameters, keeping its own name and output. */
static int swap_op(mil_op *dst, const mil_op *src, size_t src_pkg, owner_map *own)
{
	mil_op *c = op_clone(src);
	if (!c)
		return MLD_ENOMEM;
	/* keep dst's name attribute and outputs */
	const mil_value *name = mil_op_attr(dst, "name");
	for (size_t i = 0; i < c->n_attributes; i++)
		if (!strcmp(c->attributes[i]->key, "name") && name) {
			mil_value *nv = value_clone(name);
			if (!nv) {
				core_ml__specification__milspec__operation__free_unpacked(c, &mld__pb_any);
				return MLD_ENOMEM;
			}
			core_ml__specification__milspec__value__free_unpacked(c->attributes[i]->value, &mld__pb_any);
			c->attributes[i]->value = nv;
		}
	/* exchange type, inputs and attributes; outputs stay */
	char *t = dst->type;
	dst->type = c->type;
	c->type = t;
	size_t n;
	void *p;
	n = dst->n_inputs, p = dst->inputs;
	dst->n_inputs = c->n_inputs, dst->inputs = c->inputs;
	c->n_inputs = n, c->inputs = p;
	n = dst->n_attributes, p = dst->attributes;
	dst->n_attributes = c->n_attributes, dst->attributes = c->attributes;
	c->n_attributes = n, c->attributes = p;
	core_ml__specification__milspec__operation__free_unpacked(c, &mld__pb_any);
	for (size_t i = 0; i < dst->n_attributes; i++)
		if (dst->attributes[i]->value && dst->attributes[i]->value->value_case == MIL_VALUE_BLOB &&
		    owner_put(own, dst->attributes[i]->value, src_pkg))
			return MLD_ENOMEM;
	for (size_t i = 0; i < dst->n_inputs; i++) {
		mil_argument *a = dst->inputs[i]->value;
		for (size_t j = 0; a && j < a->n_arguments; j++)
			if (a->arguments[j]->binding_case == MIL_BINDING_VALUE &&
			    a->arguments[j]->value->value_case == MIL_VALUE_BLOB &&
			    owner_put(own, a->arguments[j]->value, src_pkg))
				return MLD_ENOMEM;
	}
	return 0;
}

typedef CoreML__Specification__Metadata md_meta;
typedef CoreML__Specification__Metadata__UserDefinedEntry md_entry;

static mil_function *find_function(mil_model *m, const char *name)
{
	for (size_t i = 0; i < m->mlprogram->n_functions; i++)
		if (!strcmp(m->mlprogram->functions[i]->key, name))
			return m->mlprogram->functions[i]->value;
	return NULL;
}

/* The plan applied to source s's function in a private copy, its ops indexed by output
 * name in `ops`: each op of a weight that takes another's encoding gets its values
 * (read from the weight records, which stay as read). */
static int apply_plan(const cb_ctx *cb, size_t s, mld__strmap *ops, owner_map *own)
{
	const cb_source *src = &cb->srcs[s];
	for (size_t k = 0; k < src->n_weights; k++) {
		const cb_weight *cw = &cb->ws[src->first_weight + k];
		if (cw->reason != MLD_R_DEQ_IDENTICAL && cw->reason != MLD_R_DEQ_CLOSE)
			continue; /* identical bytes are shared by the blob dedup below */
		const cb_weight *pw = &cb->ws[cw->placed];
		size_t ppkg = cb->srcs[pw->src].pkg;
		bool same = !strcmp(pw->layout, cw->layout) && pw->w->n_ops == cw->w->n_ops;
		for (size_t i = 0; i < cw->w->n_ops; i++) {
			const char *oname = cw->w->ops[i]->outputs[0]->name;
			mil_op *dst = mld__strmap_get(ops, oname);
			if (!dst)
				return mld__err(MLD_ERROR, "function \"%s\": op \"%s\" vanished", src->name, oname);
			int rc = same ? swap_params(dst, pw->w->ops[i], ppkg, own)
			              : swap_op(dst, pw->w->ops[0], ppkg, own);
			if (rc)
				return mld__err_prefix("function \"%s\", weight \"%s\"", src->name, cw->w->name);
			if (!same)
				break;
		}
	}
	return 0;
}

static const char *opset_for(int spec) { return spec >= 10 ? "CoreML9" : "CoreML8"; }

/* Point the function at one block specialization under the output opset. */
static int set_opset(mil_function *fn, const char *opset)
{
	const mil_block *active = mil_function_block(fn);
	for (size_t i = 0; i < fn->n_block_specializations; i++) {
		CoreML__Specification__MILSpec__Function__BlockSpecializationsEntry *e = fn->block_specializations[i];
		if (e->value != active)
			continue;
		char *k = mld__strdup(opset);
		if (!k)
			return MLD_ENOMEM;
		mld__free(e->key);
		e->key = k;
		/* drop the inactive ones */
		for (size_t j = 0; j < fn->n_block_specializations; j++)
			if (j != i)
				protobuf_c_message_free_unpacked(&fn->block_specializations[j]->base, &mld__pb_any);
		fn->block_specializations[0] = e;
		fn->n_block_specializations = 1;
		break;
	}
	char *o = mld__strdup(opset);
	if (!o)
		return MLD_ENOMEM;
	if (fn->opset != protobuf_c_empty_string)
		mld__free(fn->opset);
	fn->opset = o;
	return 0;
}

static fn_desc *describe(const mil_model *copy, const char *src_fn, const char *target)
{
	fn_desc *d = mld__calloc(1, sizeof *d);
	if (!d)
		return NULL;
	core_ml__specification__function_description__init(d);
	const mil_model_desc *md = copy->description;
	if (md && md->n_functions) {
		for (size_t i = 0; i < md->n_functions; i++)
			if (!strcmp(md->functions[i]->name, src_fn))
				*d = *md->functions[i]; /* borrow its arrays */
	} else if (md) {
		d->n_input = md->n_input, d->input = md->input;
		d->n_output = md->n_output, d->output = md->output;
		d->n_state = md->n_state, d->state = md->state;
		d->predictedfeaturename = md->predictedfeaturename;
		d->predictedprobabilitiesname = md->predictedprobabilitiesname;
	}
	d->base.unknown_fields = NULL;
	d->base.n_unknown_fields = 0;
	d->name = (char *)target;
	return d;
}

/* ---- blobs ------------------------------------------------------------------------- */

typedef struct blobdedup {
	mld__strmap m; /* hex(XXH3-128 of dtype|padding|shape|blob digest|size) -> entry index + 1 */
	char **keys;
	mld__wblob *b;      /* the blobs to write, in file order: each its first occurrence's bytes */
	cb_loc *loc;        /* its first occurrence */
	mld_digest *digest; /* its blob digest */
	bool *claimed;      /* ... as the store claims it: checked against the bytes written */
	size_t n, cap;
	uint64_t end; /* the canonical layout's size so far */
} blobdedup;

static int dd_grow(blobdedup *dd)
{
	if (dd->n < dd->cap)
		return 0;
	size_t cap = dd->cap ? dd->cap * 2 : 256;
	char **k = mld__realloc(dd->keys, cap * sizeof *k);
	if (k)
		dd->keys = k;
	mld__wblob *b = mld__realloc(dd->b, cap * sizeof *b);
	if (b)
		dd->b = b;
	cb_loc *l = mld__realloc(dd->loc, cap * sizeof *l);
	if (l)
		dd->loc = l;
	mld_digest *g = mld__realloc(dd->digest, cap * sizeof *g);
	if (g)
		dd->digest = g;
	bool *c = mld__realloc(dd->claimed, cap * sizeof *c);
	if (c)
		dd->claimed = c;
	if (!k || !b || !l || !g || !c)
		return MLD_ENOMEM;
	dd->cap = cap;
	return 0;
}

static const char *stable_file(const mld_package *pkg, const char *file)
{
	for (size_t f = 0; f < pkg->n_blob_files; f++)
		if (!strcmp(pkg->blob_files[f], file))
			return pkg->blob_files[f];
	return file;
}

/* One blob Value: its bytes, deduplicated by (dtype, shape, padding, bytes) with the
 * bytes known by their blob digest (claims.c): nothing is read but the blob's
 * metadata where the digest and the pair's equality are known. */
static int resolve(cb_ctx *cb, blobdedup *dd, mil_value *v, size_t pkg_i, size_t *entry)
{
	const mld_package *pkg = cb->pkgs[pkg_i];
	mld_dtype dt;
	unsigned rank;
	uint64_t shape[MLD_MAX_RANK], count;
	char *disp = NULL;
	mld__blob_view bv;
	cb_loc loc = {pkg_i, stable_file(pkg, v->blobfilevalue->filename), v->blobfilevalue->offset};
	int rc = mil_tensor_shape(v->type, &dt, &rank, shape, &count, "blob value");
	if (!rc)
		rc = cb_blob_view(cb, &loc, &bv); /* a weight's blob: nothing of the package is read */
	if (rc)
		return rc;
	uint32_t pad = bv.padding_bits;
	if (bv.dtype != dt) {
		/* an iOS16 packed uint8 stream now typed as uintN (see ios18.c) */
		unsigned bits = mld_dtype_bits(dt);
		uint64_t need = (count * bits + 7) / 8;
		if (bv.dtype != MLD_DT_UINT8 || bits >= 8 || need != bv.size) {
			char *rel = NULL;
			disp = mld__package_blob_rel(pkg, v->blobfilevalue->filename, &rel)
			               ? NULL
			               : mld__source_display(pkg->src, rel);
			mld__err_clear();
			rc = mld__err(MLD_EFORMAT, "%s: blob at offset %llu is %s, cannot serve as %s",
			              disp ? disp : "?", (unsigned long long)v->blobfilevalue->offset,
			              mld_dtype_name(bv.dtype), mld_dtype_name(dt));
			free(rel);
			free(disp);
			return rc;
		}
		pad = (uint32_t)(need * 8 - count * bits);
	}
	mld_digest raw;
	bool claimed;
	if ((rc = cb_blob_digest(cb, &loc, &raw, &claimed)))
		return rc;
	/* The key is (dtype, shape, padding, bytes): whether Core ML accepts one blob
	 * behind constants of different shapes is untested, and coremltools never does it. */
	mld__hash st;
	mld__hash_reset(&st);
	uint8_t hdr[8];
	mld__wr32(hdr, (uint32_t)dt);
	mld__wr32(hdr + 4, pad);
	mld__hash_update(&st, hdr, 8);
	for (unsigned d = 0; d < rank; d++) {
		uint8_t dim[8];
		mld__wr64(dim, shape[d]);
		mld__hash_update(&st, dim, 8);
	}
	uint8_t size[8];
	mld__wr64(size, bv.size);
	mld__hash_update(&st, raw.bytes, 16);
	mld__hash_update(&st, size, 8);
	mld_digest h;
	mld__hash_digest(h.bytes, &st);
	char key[40]; /* hex of the key: high 64 bits, then low */
	mld_digest_hex(key, &h);
	long e = (long)(intptr_t)mld__strmap_get(&dd->m, key) - 1;
	if (e >= 0) {
		bool same = false;
		if (dd->b[e].size != bv.size || (rc = cb_blob_same(cb, &dd->loc[e], &loc, &same)))
			return rc ? rc : mld__err(MLD_ERROR, "blob key collision between blobs of different sizes");
		if (!same && cb->lie)
			return mld__err(MLD_ERROR, "a store row lied about blob bytes");
		if (!same)
			return mld__err(MLD_ERROR,
			                "XXH3-128 collision between two different blobs: refusing to share them");
	} else {
		if ((rc = dd_grow(dd)))
			return rc;
		e = (long)dd->n;
		if (!(dd->keys[e] = mld__strdup(key)))
			return MLD_ENOMEM;
		/* written in order of first use: its place is known now */
		dd->b[e] = (mld__wblob){bv.data, bv.size, mld__wblob_offset(dd->end), pad, dt};
		dd->loc[e] = loc;
		dd->digest[e] = raw;
		dd->claimed[e] = claimed;
		dd->n++;
		if (mld__strmap_put(&dd->m, dd->keys[e], (void *)(intptr_t)(e + 1)))
			return MLD_ENOMEM;
		dd->end = dd->b[e].offset + 64 + bv.size;
	}
	/* every occurrence is written from the first one's bytes: those the write checks */
	*entry = (size_t)e;
	return 0;
}

/* After the write, before the commit: each blob written whose digest a store row
 * gave hashes to that digest, else the row lied (claims.c). */
static int check_written(cb_ctx *cb, const blobdedup *dd, const mld_digest *written)
{
	for (size_t e = 0; e < dd->n; e++) {
		if (!dd->claimed[e] || !memcmp(dd->digest[e].bytes, written[e].bytes, 16))
			continue;
		char what[200];
		snprintf(what, sizeof what, "the blob at offset %llu does not hash to its recorded digest",
		         (unsigned long long)dd->loc[e].offset);
		cb_claim_lied(cb, dd->loc[e].pkg, what);
	}
	return cb->lie ? mld__err(MLD_ERROR, "a store row lied about blob bytes") : 0;
}

static void dd_free(blobdedup *dd)
{
	for (size_t i = 0; i < dd->n; i++)
		free(dd->keys[i]);
	free(dd->keys);
	free(dd->b);
	free(dd->loc);
	free(dd->digest);
	free(dd->claimed);
	mld__strmap_free(&dd->m);
}

/* Every blob Value of source s's function `fn` (in a copy parsed into arena `ar`)
 * resolved into the dedup and pointed at its place in the output. */
static int place_blobs(cb_ctx *cb, blobdedup *dd, size_t s, mil_function *fn, owner_map *own, mld__arena *ar)
{
	mil_value **vals;
	size_t nv;
	char *file = mld__arena_alloc(ar, sizeof MLD_WEIGHT_FILE_NAME); /* goes with the copy */
	int rc = file ? mld__function_blob_values(&vals, &nv, fn) : MLD_ENOMEM;
	if (rc)
		return rc;
	memcpy(file, MLD_WEIGHT_FILE_NAME, sizeof MLD_WEIGHT_FILE_NAME);
	for (size_t i = 0; i < nv && !rc; i++) {
		mil_value *v = vals[i];
		long owner = owner_get(own, v);
		size_t e;
		if ((rc = resolve(cb, dd, v, owner >= 0 ? (size_t)owner : cb->srcs[s].pkg, &e))) {
			mld__err_prefix("function \"%s\"", cb->srcs[s].name);
			break;
		}
		if (v->blobfilevalue->filename != protobuf_c_empty_string)
			mld__free(v->blobfilevalue->filename); /* a swapped Value's is malloc'd */
		v->blobfilevalue->filename = file;
		v->blobfilevalue->offset = dd->b[e].offset;
	}
	free(vals);
	return rc;
}

/* ---- model copies ------------------------------------------------------------------- */

/* A private copy of package p's model, parsed into its own arena: freeing it is freeing
 * the arena and the few malloc'd pieces edits put into it (pbfree.h). */
typedef struct copy {
	mil_model *m;
	mld__arena *ar;
} copy;

/* A package's model bytes as read when it was opened (mld__package_model_read: the
 * combine lets them go after the open), to parse a copy from. */
typedef struct mbytes {
	const uint8_t *b;
	size_t n;
	uint8_t *owned;
} mbytes;

/* May run on another thread, whose messages stay there: copy_check reports. */
static void copy_parse(copy *c, const mbytes *mb)
{
	c->m = NULL;
	if (!(c->ar = mld__arena_new()))
		return;
	ProtobufCAllocator al = mld__pb_arena(c->ar);
	/* the bytes are those depth-checked when the package was opened */
	c->m = core_ml__specification__model__unpack(&al, mb->n, mb->b);
}

/* A copy of package pkg's model, parsed here. */
static int copy_read_parse(copy *c, const mld_package *pkg)
{
	mbytes mb;
	c->m = NULL;
	c->ar = NULL;
	int rc = mld__package_model_read(pkg, &mb.b, &mb.n, &mb.owned);
	if (!rc)
		copy_parse(c, &mb);
	free(mb.owned);
	return rc;
}

static int copy_check(const copy *c, const mld_package *pkg)
{
	return c->m && c->m->mlprogram ? 0
	                               : mld__err(MLD_EFORMAT, "%s: cannot re-read the model", mld_package_path(pkg));
}

/* The malloc'd pieces the edits put into the copy (the walk leaves the arena's alone),
 * then the arena. */
static void copy_free(copy *c)
{
	if (c->m) {
		ProtobufCAllocator al = mld__pb_arena(c->ar);
		core_ml__specification__model__free_unpacked(c->m, &al);
	}
	mld__arena_free(c->ar);
	c->m = NULL;
	c->ar = NULL;
}

/* ---- the combined package, one function at a time ----------------------------------- */

typedef struct stream {
	cb_ctx *cb;
	const char *opset; /* the output's */
	int spec;
	bool pack; /* not a dry run: the model is packed */
	blobdedup dd;
	mld__buf pre, post; /* model.mlmodel's bytes before and after the functions */
	mld__buf packed;    /* the entry just packed, until it is spilled (then reused) */
	mld__piece *ents;   /* per source: its Program.functions entry, a range of the spill */
	uint64_t ents_len;  /* the spill's length: every entry, in the order packed */
	int spill_fd;       /* the scratch file (unlinked) the entries go to; -1: none */
	char *spill_name;   /* its path, for messages */
	fn_desc **fdescs;   /* per source: its FunctionDescription (a malloc'd copy) */
	md_meta **metas;    /* per source (aliases: NULL): its package's metadata (a malloc'd copy) */
	mil_program *rest;  /* version and the anchor's attributes (buildInfo and friends) */
	cb_stamp *stamp;
	md_meta meta; /* the merged metadata (strings borrowed from metas) */
	md_entry *meta_ents;
	md_entry **meta_ptrs;
	char *meta_desc; /* an ANEMLL description made here, or NULL */
} stream;

static bool nonempty(const char *s) { return s && *s; }

/* ANEMLL's part name in a short description: "Anemll Model (FFN) converted ..." -> FFN. */
static bool desc_part(const char *d, const char **start, size_t *len)
{
	const char *a = d ? strchr(d, '(') : NULL, *b = a ? strchr(a, ')') : NULL;
	if (!b || b == a + 1)
		return false;
	*start = a + 1;
	*len = (size_t)(b - a - 1);
	return true;
}

/* The metadata of the combined package: every source's metadata merged, source by
 * source (an alias adds nothing), the first non-empty value of each field and each
 * user-defined key winning; a key whose values are all empty is kept, empty. When a
 * source carries com.anemll.* keys, the short description is ANEMLL's
 * "Anemll Model: Multifunction A+B" of the sources' "(A)" parts ("... Combined" when
 * none has one), as ANEMLL's own combine writes it. */
static int merge_metadata(stream *B)
{
	const cb_ctx *cb = B->cb;
	core_ml__specification__metadata__init(&B->meta);
	size_t cap = 0;
	for (size_t s = 0; s < cb->n_srcs; s++)
		cap += B->metas[s] ? B->metas[s]->n_userdefined : 0;
	if (cap && (!(B->meta_ents = mld__calloc(cap, sizeof *B->meta_ents)) ||
	            !(B->meta_ptrs = mld__calloc(cap, sizeof *B->meta_ptrs))))
		return MLD_ENOMEM;
	bool anemll = false;
	size_t n = 0;
	for (size_t s = 0; s < cb->n_srcs; s++) {
		const md_meta *m = B->metas[s];
		if (!m)
			continue;
		if (!nonempty(B->meta.shortdescription) && nonempty(m->shortdescription))
			B->meta.shortdescription = m->shortdescription;
		if (!nonempty(B->meta.versionstring) && nonempty(m->versionstring))
			B->meta.versionstring = m->versionstring;
		if (!nonempty(B->meta.author) && nonempty(m->author))
			B->meta.author = m->author;
		if (!nonempty(B->meta.license) && nonempty(m->license))
			B->meta.license = m->license;
		for (size_t k = 0; k < m->n_userdefined; k++) {
			const md_entry *e = m->userdefined[k];
			anemll |= !strncmp(e->key, "com.anemll.", 11);
			size_t i = 0;
			while (i < n && strcmp(B->meta_ents[i].key, e->key))
				i++;
			if (i == n) {
				core_ml__specification__metadata__user_defined_entry__init(&B->meta_ents[n]);
				B->meta_ents[n].key = e->key;
				B->meta_ents[n++].value = e->value;
			} else if (!nonempty(B->meta_ents[i].value) && nonempty(e->value)) {
				B->meta_ents[i].value = e->value;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		B->meta_ptrs[i] = &B->meta_ents[i];
	B->meta.n_userdefined = n;
	B->meta.userdefined = B->meta_ptrs;
	if (!anemll)
		return 0;
	/* ANEMLL's description: the parts in source order */
	size_t len = 64;
	for (size_t s = 0; s < cb->n_srcs; s++)
		if (B->metas[s] && B->metas[s]->shortdescription)
			len += strlen(B->metas[s]->shortdescription) + 1;
	if (!(B->meta_desc = mld__malloc(len)))
		return MLD_ENOMEM;
	size_t at = (size_t)snprintf(B->meta_desc, len, "Anemll Model: Multifunction ");
	bool any = false;
	for (size_t s = 0; s < cb->n_srcs; s++) {
		const char *p;
		size_t pl;
		if (B->metas[s] && desc_part(B->metas[s]->shortdescription, &p, &pl)) {
			at += (size_t)snprintf(B->meta_desc + at, len - at, "%s%.*s", any ? "+" : "", (int)pl, p);
			any = true;
		}
	}
	if (!any)
		snprintf(B->meta_desc + at, len - at, "Combined");
	B->meta.shortdescription = B->meta_desc;
	return 0;
}

/* Source t's packed entry appended to the scratch file: the memory it took is the next
 * entry's, so the entries held never grow with the number of functions. */
static int spill(stream *S, size_t t)
{
	uint64_t len = S->packed.len;
	if (mld__pwrite_all(S->spill_fd, S->packed.data, S->packed.len, S->ents_len) != 0)
		return mld__err(MLD_EIO, "%s: the packed functions' scratch file: write failed: %s", S->spill_name,
		                strerror(errno));
	S->ents[t] = (mld__piece){.len = len, .fd = S->spill_fd, .off = S->ents_len, .name = S->spill_name};
	S->ents_len += len;
	return 0;
}

/* Source s (not an alias) from `c`, a private copy of its package's model: the plan
 * applied, placed, and what the output keeps of it copied out or packed - for s and
 * each later alias of it - before the copy goes. */
static int stream_one(stream *S, size_t s, copy *c)
{
	cb_ctx *cb = S->cb;
	const cb_source *src = &cb->srcs[s];
	const char *src_fn = cb->pkgs[src->pkg]->fns[src->fn].name;
	mil_function *fn = find_function(c->m, src_fn);
	mld__strmap ops = {0};
	owner_map own = {0};
	bool rewritten = false;
	int rc = fn ? index_ops(&ops, (mil_block *)mil_function_block(fn))
	            : mld__err(MLD_EFORMAT, "%s: function \"%s\" is missing on re-reading the model",
	                       mld_package_path(cb->pkgs[src->pkg]), src_fn);
	if (!rc)
		rc = apply_plan(cb, s, &ops, &own);
	if (!rc && (c->m->specificationversion < 9 || strcmp(fn->opset, S->opset))) {
		rewritten = true;
		if (!(rc = mld__function_to_ios18(fn, src->name)))
			rc = set_opset(fn, S->opset);
	}
	for (size_t t = s; t < cb->n_srcs && !rc; t++) {
		if (t != s && cb->srcs[t].alias_of != (int)s)
			continue;
		fn_desc *d = describe(c->m, src_fn, cb->srcs[t].name); /* borrows the copy's arrays */
		if (!d || !(S->fdescs[t] = msg_clone(&d->base)))
			rc = MLD_ENOMEM;
		free(d);
	}
	const mil_model_desc *md = c->m->description;
	if (!rc && md && md->metadata && !(S->metas[s] = msg_clone(&md->metadata->base)))
		rc = MLD_ENOMEM;
	if (!rc && s == 0) { /* the anchor */
		mil_program p;
		core_ml__specification__milspec__program__init(&p);
		p.n_attributes = c->m->mlprogram->n_attributes;
		p.attributes = c->m->mlprogram->attributes;
		if (!(S->rest = msg_clone(&p.base)))
			rc = MLD_ENOMEM;
		else
			S->rest->version = 1;
	}
	if (!rc)
		rc = place_blobs(cb, &S->dd, s, fn, &own, c->ar);
	if (!rc && S->stamp)
		rc = cb_stamp_function(S->stamp, s, &ops, rewritten, S->dd.b, S->dd.n);
	/* an alias's entry is its original's function under its own name: packed now, while
	 * the function lives, and spilled like any other */
	for (size_t t = s; t < cb->n_srcs && !rc && S->pack; t++)
		if (t == s || cb->srcs[t].alias_of == (int)s) {
			S->packed.len = 0;
			if (!(rc = mld__program_entry_pack(&S->packed, cb->srcs[t].name, fn)))
				rc = spill(S, t);
		}
	cb_release_all(cb); /* the pages its spot checks read: held for every function, they
	                     * grew the peak by the function */
	mld__strmap_free(&ops);
	owner_free(&own);
	return rc;
}

/* The Model's bytes around the packed functions: its description and the program's
 * version and attributes. */
static int stream_model(stream *S)
{
	cb_ctx *cb = S->cb;
	int rc = merge_metadata(S);
	if (rc)
		return rc;
	mil_model head;
	mil_model_desc desc;
	core_ml__specification__model__init(&head);
	core_ml__specification__model_description__init(&desc);
	head.specificationversion = S->spec;
	head.description = &desc;
	desc.n_functions = cb->n_srcs;
	desc.functions = S->fdescs;
	desc.defaultfunctionname = (char *)cb->srcs[cb->default_src].name;
	desc.metadata = &S->meta;
	return mld__model_splice(&S->pre, &S->post, &head, S->rest, S->ents_len);
}

static void stream_free(stream *S)
{
	const cb_ctx *cb = S->cb;
	mld__buf_free(&S->pre);
	mld__buf_free(&S->post);
	mld__buf_free(&S->packed);
	if (S->spill_fd >= 0)
		close(S->spill_fd);
	free(S->spill_name);
	free(S->ents);
	for (size_t s = 0; s < cb->n_srcs; s++) {
		if (S->fdescs && S->fdescs[s])
			protobuf_c_message_free_unpacked(&S->fdescs[s]->base, NULL);
		if (S->metas && S->metas[s])
			protobuf_c_message_free_unpacked(&S->metas[s]->base, NULL);
	}
	free(S->fdescs);
	free(S->metas);
	if (S->rest)
		protobuf_c_message_free_unpacked(&S->rest->base, NULL);
	cb_stamp_free(S->stamp);
	dd_free(&S->dd);
	free(S->meta_ents);
	free(S->meta_ptrs);
	free(S->meta_desc);
}

/* The copy of the next source's package, parsed on another thread. */
typedef struct ahead {
	pthread_t th;
	const mld_package *pkg;
	mbytes mb; /* read on the caller's thread, which owns the package's source */
	copy c;
} ahead;

static void *parse_ahead(void *arg)
{
	ahead *a = arg;
	copy_parse(&a->c, &a->mb);
	return NULL;
}

/* Every source in order, each from a copy of its own: the next one's is parsed on
 * another thread while this one is edited and packed (4-5% off a warm combine's wall
 * time; two copies live at most). */
static int stream_all(stream *S)
{
	cb_ctx *cb = S->cb;
	int rc = 0;
	copy cur;
	if ((rc = copy_read_parse(&cur, cb->pkgs[cb->srcs[0].pkg]))) /* the anchor: never an alias */
		return rc;
	for (size_t s = 0, next; s < cb->n_srcs; s = next) {
		for (next = s + 1; next < cb->n_srcs && cb->srcs[next].alias_of >= 0; next++)
			; /* an alias is packed with its original */
		ahead a = {.pkg = next < cb->n_srcs ? cb->pkgs[cb->srcs[next].pkg] : NULL};
		int rc_next = a.pkg ? mld__package_model_read(a.pkg, &a.mb.b, &a.mb.n, &a.mb.owned) : 0;
		bool bg = a.pkg && !rc_next && mld__thread_start(&a.th, parse_ahead, &a);
		if (!(rc = copy_check(&cur, cb->pkgs[cb->srcs[s].pkg])))
			rc = stream_one(S, s, &cur);
		copy_free(&cur);
		if (bg)
			pthread_join(a.th, NULL);
		else if (a.pkg && !rc && !rc_next)
			copy_parse(&a.c, &a.mb); /* no thread: parsed here */
		free(a.mb.owned);
		cur = a.c;
		if (!rc)
			rc = rc_next; /* the next model's bytes could not be read again */
		if (rc)
			break;
	}
	copy_free(&cur);
	return rc;
}

/* ---- writing ------------------------------------------------------------------------- */

typedef struct wctx {
	cb_ctx *cb;
	const blobdedup *dd;
	cb_stamp *stamp;   /* NULL: none asked for */
	mld__adir *tree;   /* where the package is built (OUT's temp tree, or the zip's scratch tree) */
	char *dir;         /* the package's directory in it: "" or "<OUT stem>.mlpackage" */
	mld__piece *model; /* in pieces: before the functions, each function's entry, after */
	size_t n_model;
	int *spill_fd; /* closed once the model is written (the scratch is gone before the commit) */
	mld__write_info info;
	char *stamp_text;
} wctx;

static void written(void *ctx, const uint8_t *data, uint64_t size)
{
	const wctx *w = ctx;
	cb_release(w->cb, data, size); /* done with the source's pages */
}

/* After the write, before the commit: the claims check, then the stamp (if asked for). */
static int before_commit(wctx *w)
{
	int rc = check_written(w->cb, w->dd, w->info.digests);
	if (!rc && w->stamp)
		rc = cb_stamp_finish(w->stamp, &w->stamp_text, w->dd->b, w->dd->n, &w->info);
	return rc;
}

/* The tree the package is built in, opened before the functions are packed, as their
 * scratch file lives in it. OUT.mlpackage: OUT's temp tree, committed in its place.
 * OUT.zip: a scratch tree beside it (an atomic tree that is never committed, so a
 * signal or an error removes it), holding the package as "<OUT stem>.mlpackage" to be
 * zipped into an atomic file. */
static int open_tree(wctx *w, const char *out_path)
{
	size_t len = strlen(out_path);
	if (w->cb->opts->zip) {
		if (len < 5 || strcmp(out_path + len - 4, ".zip"))
			return mld__err(MLD_EUSAGE, "%s: with --zip the output must end in .zip", out_path);
		const char *base = strrchr(out_path, '/');
		base = base ? base + 1 : out_path;
		w->dir = mld__sprintf("%.*s.mlpackage", (int)(strlen(base) - 4), base);
	} else {
		while (len > 1 && out_path[len - 1] == '/')
			len--;
		if (len < 10 || strncmp(out_path + len - 10, ".mlpackage", 10))
			return mld__err(MLD_EUSAGE, "%s: the output must end in .mlpackage", out_path);
		w->dir = mld__strdup("");
	}
	return w->dir ? mld__adir_open(&w->tree, out_path) : MLD_ENOMEM;
}

/* The package into the tree: weight.bin, model.mlmodel, Manifest.json. The scratch
 * file is closed as soon as model.mlmodel holds its bytes. */
static int write_pkg(wctx *w, const char *out_path)
{
	int rc = mld__write_packed_into(w->tree, w->dir, w->model, w->n_model, w->dd->b, w->dd->n, out_path, &w->info);
	if (*w->spill_fd >= 0 && close(*w->spill_fd) != 0 && !rc)
		rc = mld__err(MLD_EIO, "%s: the packed functions' scratch file: close failed: %s", out_path,
		              strerror(errno));
	*w->spill_fd = -1;
	return rc ? rc : before_commit(w);
}

/* OUT.zip: the package built in the scratch tree, zipped. */
static int write_zipped(wctx *w, const char *out_path)
{
	char *pkg = mld__sprintf("%s/%s", mld__adir_temp(w->tree), w->dir);
	int rc = pkg ? write_pkg(w, out_path) : MLD_ENOMEM;
	if (!rc)
		rc = mld__zip_tree(pkg, w->dir, out_path);
	free(pkg);
	return rc;
}

static int write_dir(wctx *w, const char *out_path)
{
	int rc = write_pkg(w, out_path);
	return rc ? rc : mld__adir_commit(w->tree, w->cb->opts->replace);
}

#define SPILL_REL ".functions.spill"

int cb_write(cb_ctx *cb, const char *out_path)
{
	stream S = {.cb = cb, .spec = 9, .pack = !cb->opts->dry_run, .spill_fd = -1};
	wctx w = {.cb = cb, .dd = &S.dd, .spill_fd = &S.spill_fd};
	for (size_t p = 0; p < cb->n_pkgs; p++)
		if (mld_package_spec_version(cb->pkgs[p]) > S.spec)
			S.spec = mld_package_spec_version(cb->pkgs[p]);
	S.opset = opset_for(S.spec);
	size_t ns = cb->n_srcs ? cb->n_srcs : 1;
	int rc = 0;
	if (!(S.ents = mld__calloc(ns, sizeof *S.ents)) || !(S.fdescs = mld__calloc(ns, sizeof *S.fdescs)) ||
	    !(S.metas = mld__calloc(ns, sizeof *S.metas)))
		rc = MLD_ENOMEM;
	/* the output's tree first, for the scratch file the packed functions go to */
	if (!rc && S.pack && !(rc = open_tree(&w, out_path)) &&
	    !(S.spill_name = mld__sprintf("%s/" SPILL_REL, mld__adir_temp(w.tree))))
		rc = MLD_ENOMEM;
	if (!rc && S.pack)
		rc = mld__adir_scratch(w.tree, SPILL_REL, &S.spill_fd);
	if (!rc && cb->opts->stamp_path)
		rc = cb_stamp_new(&S.stamp, cb);
	if (rc || (rc = stream_all(&S)))
		goto out;
	cb->stats->bytes_after = S.dd.n ? S.dd.end : 0;
	cb->stats->large_warning = cb->stats->bytes_after > (UINT64_C(1) << 30);
	if (cb->stats->bytes_after > (UINT64_C(2) << 30) && !cb->opts->allow_large) {
		rc = mld__err(
			MLD_ERROR,
			"%s: the combined weight.bin would be %.2f GB, above the 2 GB that Core ML is known to load;"
			" pass --allow-large to write it anyway",
			out_path, (double)cb->stats->bytes_after / 1e9);
		goto out;
	}
	if (cb->opts->dry_run || (rc = stream_model(&S)))
		goto out;
	w.stamp = S.stamp;
	/* never in one piece: written piece by piece, the entries copied from the spill */
	if (!(w.model = mld__calloc(cb->n_srcs + 2, sizeof *w.model))) {
		rc = MLD_ENOMEM;
		goto out;
	}
	w.n_model = cb->n_srcs + 2;
	w.model[0] = (mld__piece){.data = S.pre.data, .len = S.pre.len};
	memcpy(w.model + 1, S.ents, cb->n_srcs * sizeof *w.model);
	w.model[cb->n_srcs + 1] = (mld__piece){.data = S.post.data, .len = S.post.len};
	w.info.written = written;
	w.info.ctx = &w;
	if (!(w.info.digests = mld__calloc(S.dd.n ? S.dd.n : 1, sizeof *w.info.digests))) {
		rc = MLD_ENOMEM;
		goto out;
	}
	rc = cb->opts->zip ? write_zipped(&w, out_path) : write_dir(&w, out_path);
	/* the output is in place: a stamp that cannot be written is an error, not the output */
	if (!rc && w.stamp_text && mld_write_if_changed(cb->opts->stamp_path, w.stamp_text, strlen(w.stamp_text)) < 0)
		rc = mld__err_prefix("%s: stamp", cb->opts->stamp_path);
out:
	free(w.stamp_text);
	free(w.info.digests);
	free(w.model);
	stream_free(&S);
	mld__adir_free(w.tree); /* removes the tree unless committed: the zip's always */
	free(w.dir);
	return rc;
}

/* ---- align: each source its own package ------------------------------------------- */

/* Private copies of every package's model, each function found and indexed, and the
 * plan applied. */
typedef struct build {
	cb_ctx *cb;
	copy *copies;       /* per package */
	mil_function **fns; /* per source: the function in its package's copy */
	mld__strmap *ops;   /* per source: output name -> op in the copy */
	owner_map own;
} build;

static void build_free(build *B)
{
	cb_ctx *cb = B->cb;
	for (size_t s = 0; B->ops && s < cb->n_srcs; s++)
		mld__strmap_free(&B->ops[s]);
	free(B->ops);
	free(B->fns);
	for (size_t p = 0; B->copies && p < cb->n_pkgs; p++)
		copy_free(&B->copies[p]);
	free(B->copies);
	owner_free(&B->own);
}

static int build_init(build *B, cb_ctx *cb)
{
	B->cb = cb;
	if (!(B->copies = mld__calloc(cb->n_pkgs ? cb->n_pkgs : 1, sizeof *B->copies)) ||
	    !(B->fns = mld__calloc(cb->n_srcs, sizeof *B->fns)) || !(B->ops = mld__calloc(cb->n_srcs, sizeof *B->ops)))
		return MLD_ENOMEM;
	int rc = 0;
	for (size_t p = 0; p < cb->n_pkgs && !rc; p++) {
		if (!(rc = copy_read_parse(&B->copies[p], cb->pkgs[p])))
			rc = copy_check(&B->copies[p], cb->pkgs[p]);
	}
	for (size_t s = 0; s < cb->n_srcs && !rc; s++) {
		const cb_source *src = &cb->srcs[s];
		if (src->alias_of >= 0) {
			B->fns[s] = B->fns[src->alias_of]; /* shares the function object of its original */
			continue;
		}
		const char *name = cb->pkgs[src->pkg]->fns[src->fn].name;
		if (!(B->fns[s] = find_function(B->copies[src->pkg].m, name)))
			return mld__err(MLD_EFORMAT, "%s: function \"%s\" is missing on re-reading the model",
			                mld_package_path(cb->pkgs[src->pkg]), name);
		if (!(rc = index_ops(&B->ops[s], (mil_block *)mil_function_block(B->fns[s]))))
			rc = apply_plan(cb, s, &B->ops[s], &B->own);
	}
	return rc;
}

/* Source s alone, as a single-function package of its own model (description,
 * metadata, program attributes), its shared weights carrying the placed bytes. The
 * bytes written are checked against the store's claims before the package is in
 * place, as cb_write does. */
static int write_aligned(build *B, size_t s, const char *out_path, mld__adir **tree)
{
	cb_ctx *cb = B->cb;
	const cb_source *src = &cb->srcs[s];
	if (src->alias_of >= 0)
		return mld__err(MLD_EUSAGE, "source %s is the same function of the same package as %s: align it once",
		                src->name, cb->srcs[src->alias_of].name);
	copy *c = &B->copies[src->pkg];
	const char *src_fn = cb->pkgs[src->pkg]->fns[src->fn].name;
	mil_model out = *c->m;
	mil_program prog = *c->m->mlprogram;
	fn_entry entry, *entries = &entry;
	core_ml__specification__milspec__program__functions_entry__init(&entry);
	entry.key = (char *)src_fn;
	entry.value = B->fns[s];
	prog.n_functions = 1;
	prog.functions = &entries;
	out.mlprogram = &prog;
	if (c->m->specificationversion < 9) { /* as combine does: the iOS18 op set */
		int rc = mld__function_to_ios18(B->fns[s], src->name);
		if (!rc)
			rc = set_opset(B->fns[s], opset_for(9));
		if (rc)
			return rc;
		out.specificationversion = 9;
	}
	mil_model_desc desc;
	fn_desc *fd = NULL;
	if (c->m->description) {
		desc = *c->m->description;
		if (desc.n_functions) { /* a multifunction source: only this function's description */
			if (!(fd = describe(c->m, src_fn, src_fn)))
				return MLD_ENOMEM;
			desc.n_functions = 1;
			desc.functions = &fd;
			desc.defaultfunctionname = (char *)src_fn;
		}
		out.description = &desc;
	}
	blobdedup dd = {0};
	wctx w = {.cb = cb, .dd = &dd};
	w.info.written = written;
	w.info.ctx = &w;
	uint8_t *model = NULL;
	int rc = place_blobs(cb, &dd, s, B->fns[s], &B->own, c->ar);
	cb_release_all(cb);
	if (!rc && !(w.info.digests = mld__calloc(dd.n ? dd.n : 1, sizeof *w.info.digests)))
		rc = MLD_ENOMEM;
	size_t plen = strlen(out_path);
	while (plen > 1 && out_path[plen - 1] == '/')
		plen--;
	if (!rc && (plen < 10 || strncmp(out_path + plen - 10, ".mlpackage", 10)))
		rc = mld__err(MLD_EUSAGE, "%s: the output must end in .mlpackage", out_path);
	struct stat st;
	if (!rc && !cb->opts->replace && lstat(out_path, &st) == 0)
		rc = mld__err(MLD_EEXISTS, "%s: already exists (not replaced)", out_path);
	size_t mlen = rc ? 0 : core_ml__specification__model__get_packed_size(&out);
	if (!rc && !(model = mld__malloc(mlen ? mlen : 1)))
		rc = MLD_ENOMEM;
	if (!rc)
		core_ml__specification__model__pack(&out, model);
	/* written beside its place, checked, and committed only once every source's is */
	if (!rc)
		rc = mld__adir_open(tree, out_path);
	if (!rc)
		rc = mld__write_packed_into(*tree, "", &(mld__piece){.data = model, .len = mlen}, 1, dd.b, dd.n,
		                            out_path, &w.info);
	if (!rc)
		rc = check_written(cb, &dd, w.info.digests);
	if (!rc)
		cb->stats->bytes_after += dd.n ? dd.end : 0;
	free(model);
	free(w.info.digests);
	dd_free(&dd);
	free(fd);
	return rc;
}

int cb_write_aligned(cb_ctx *cb, const char *const *out_paths)
{
	build B = {0};
	mld__adir **trees = mld__calloc(cb->n_srcs ? cb->n_srcs : 1, sizeof *trees);
	int rc = trees ? build_init(&B, cb) : MLD_ENOMEM;
	for (size_t s = 0; s < cb->n_srcs && !rc; s++)
		if (out_paths[s])
			rc = write_aligned(&B, s, out_paths[s], &trees[s]);
	/* every package is written and its bytes checked (a store row found to lie sends
	 * the driver back to decide afresh): only now does any take its place */
	for (size_t s = 0; s < cb->n_srcs && !rc; s++)
		if (trees[s])
			rc = mld__adir_commit(trees[s], cb->opts->replace);
	for (size_t s = 0; trees && s < cb->n_srcs; s++)
		mld__adir_free(trees[s]); /* removes the temp trees not committed */
	free(trees);
	if (trees)
		build_free(&B);
	return rc;
}
