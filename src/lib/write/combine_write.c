/* Building the combined Model from the plan, and writing it.
 *
 * Each source package's model is unpacked once more as a private, mutable copy.
 * The output Model borrows functions, descriptions and metadata from those
 * copies; weights that share another's encoding get that encoding's Values
 * (deep copies, remembered as living in the other package). iOS16-form constexpr
 * ops are rewritten into the iOS18 form. Every blob Value is then resolved to its
 * source bytes and deduplicated by (dtype, padding, bytes): each distinct blob is
 * written once, in order of first use. */
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

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>

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

/* A deep copy of any message, through its wire form. */
static void *msg_clone(const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = mld__malloc(n);
	if (!buf)
		return NULL;
	protobuf_c_message_pack(m, buf);
	ProtobufCMessage *c = protobuf_c_message_unpack(m->descriptor, NULL, n, buf);
	free(buf);
	if (!c)
		mld__err(MLD_ENOMEM, "cannot copy a %s", m->descriptor->short_name);
	return c;
}

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

/* Private copies of the sources' models, each parsed into its own arena: freeing one is
 * freeing its arena and the few malloc'd pieces the edits put into it (pbfree.h). */
typedef struct copyset {
	mil_model **m; /* per package; NULL where parsing failed (cb_write says so) */
	mld__arena **ar;
} copyset;

static void copyset_free(copyset *cs, size_t n);

typedef struct build {
	cb_ctx *cb;
	md_meta meta; /* the merged metadata (strings borrowed from the copies) */
	md_entry *meta_ents;
	md_entry **meta_ptrs;
	char *meta_desc;    /* an ANEMLL description made here, or NULL */
	mil_model **copies; /* per package: its own model, or B->cs.m's copy */
	copyset cs;         /* private copies, where the plan cannot edit in place */
	mil_function **fns; /* per source: the function in its package's copy */
	mld__strmap *ops;   /* per source: output name -> op in the copy */
	owner_map own;
	mil_model out;
	mil_model_desc desc;
	mil_program prog;
	fn_desc **fdescs;
	fn_entry **entries;
	bool *rewritten; /* per source: its function was rewritten into the iOS18 form */
} build;

static mil_function *find_function(mil_model *m, const char *name)
{
	for (size_t i = 0; i < m->mlprogram->n_functions; i++)
		if (!strcmp(m->mlprogram->functions[i]->key, name))
			return m->mlprogram->functions[i]->value;
	return NULL;
}

static int apply_plan(build *B)
{
	cb_ctx *cb = B->cb;
	for (size_t s = 0; s < cb->n_srcs; s++) {
		const cb_source *src = &cb->srcs[s];
		if (src->alias_of >= 0)
			continue; /* shares the function object of its original */
		for (size_t k = 0; k < src->n_weights; k++) {
			const cb_weight *cw = &cb->ws[src->first_weight + k];
			if (cw->reason != MLD_R_DEQ_IDENTICAL && cw->reason != MLD_R_DEQ_CLOSE)
				continue; /* identical bytes are shared by the blob dedup below */
			const cb_weight *pw = &cb->ws[cw->placed];
			size_t ppkg = cb->srcs[pw->src].pkg;
			bool same = !strcmp(pw->layout, cw->layout) && pw->w->n_ops == cw->w->n_ops;
			for (size_t i = 0; i < cw->w->n_ops; i++) {
				const char *oname = cw->w->ops[i]->outputs[0]->name;
				mil_op *dst = mld__strmap_get(&B->ops[s], oname);
				if (!dst)
					return mld__err(MLD_ERROR, "function \"%s\": op \"%s\" vanished", src->name,
					                oname);
				int rc = same ? swap_params(dst, pw->w->ops[i], ppkg, &B->own)
				              : swap_op(dst, pw->w->ops[0], ppkg, &B->own);
				if (rc)
					return mld__err_prefix("function \"%s\", weight \"%s\"", src->name,
					                       cw->w->name);
				if (!same)
					break;
			}
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

/* ---- blob items -------------------------------------------------------------------- */

typedef struct blobdedup {
	mld__strmap m; /* hex(XXH3-128 of dtype|padding|shape|blob digest|size) -> entry index + 1 */
	char **keys;
	const uint8_t **data; /* the bytes written for the entry: its first occurrence's */
	uint64_t *size;
	cb_loc *loc;        /* its first occurrence */
	mld_digest *digest; /* its blob digest */
	bool *claimed;      /* ... as the store claims it: checked against the bytes written */
	size_t n, cap;
	uint64_t end; /* simulated canonical layout size */
} blobdedup;

static int dd_grow(blobdedup *dd)
{
	if (dd->n < dd->cap)
		return 0;
	size_t cap = dd->cap ? dd->cap * 2 : 256;
	char **k = mld__realloc(dd->keys, cap * sizeof *k);
	if (k)
		dd->keys = k;
	const uint8_t **d = mld__realloc(dd->data, cap * sizeof *d);
	if (d)
		dd->data = d;
	uint64_t *s = mld__realloc(dd->size, cap * sizeof *s);
	if (s)
		dd->size = s;
	cb_loc *l = mld__realloc(dd->loc, cap * sizeof *l);
	if (l)
		dd->loc = l;
	mld_digest *g = mld__realloc(dd->digest, cap * sizeof *g);
	if (g)
		dd->digest = g;
	bool *c = mld__realloc(dd->claimed, cap * sizeof *c);
	if (c)
		dd->claimed = c;
	if (!k || !d || !s || !l || !g || !c)
		return MLD_ENOMEM;
	dd->cap = cap;
	return 0;
}

/* The package's own spelling of a blob file name, which lives as long as the
 * package (the Value's lives in a model copy freed after the write). */
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
static int resolve(build *B, blobdedup *dd, mld__blob_item *it, mil_value *v, size_t pkg_i)
{
	cb_ctx *cb = B->cb;
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
		if (dd->size[e] != bv.size || (rc = cb_blob_same(cb, &dd->loc[e], &loc, &same)))
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
		dd->data[e] = bv.data;
		dd->size[e] = bv.size;
		dd->loc[e] = loc;
		dd->digest[e] = raw;
		dd->claimed[e] = claimed;
		dd->n++;
		if (mld__strmap_put(&dd->m, dd->keys[e], (void *)(intptr_t)(e + 1)))
			return MLD_ENOMEM;
		dd->end = mld__align64(dd->end ? dd->end : 64) + 64 + bv.size;
	}
	/* every occurrence is written from the first one's bytes: those the write checks */
	*it = (mld__blob_item){v, (uint64_t)e, 0, dd->data[e], bv.size, pad, dt};
	return 0;
}

/* After the write, before the commit: each blob written whose digest a store row
 * gave hashes to that digest, else the row lied (claims.c). */
static int check_written(build *B, const blobdedup *dd, const mld__blob_item *items, size_t n,
                         const mld_digest *written)
{
	for (size_t i = 0; i < n; i++) {
		size_t e = (size_t)items[i].key_hi;
		if (!dd->claimed[e] || !memcmp(dd->digest[e].bytes, written[i].bytes, 16))
			continue;
		char what[200];
		snprintf(what, sizeof what, "the blob at offset %llu does not hash to its recorded digest",
		         (unsigned long long)dd->loc[e].offset);
		cb_claim_lied(B->cb, dd->loc[e].pkg, what);
	}
	return B->cb->lie ? mld__err(MLD_ERROR, "a store row lied about blob bytes") : 0;
}

static void dd_free(blobdedup *dd)
{
	for (size_t i = 0; i < dd->n; i++)
		free(dd->keys[i]);
	free(dd->keys);
	free(dd->data);
	free(dd->size);
	free(dd->loc);
	free(dd->digest);
	free(dd->claimed);
	mld__strmap_free(&dd->m);
}

/* The blob items of every function (only = SIZE_MAX) or of source `only`. */
static int collect_items(build *B, size_t only, blobdedup *dd, mld__blob_item **items_out, size_t *n_out,
                         uint64_t *size_out)
{
	cb_ctx *cb = B->cb;
	mld__blob_item *items = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	for (size_t s = 0; s < cb->n_srcs && !rc; s++) {
		if (only != SIZE_MAX ? s != only : cb->srcs[s].alias_of >= 0)
			continue;
		mil_value **vals;
		size_t nv;
		if ((rc = mld__function_blob_values(&vals, &nv, B->fns[s])))
			break;
		for (size_t i = 0; i < nv && !rc; i++) {
			if (n == cap) {
				cap = cap ? cap * 2 : 1024;
				mld__blob_item *p = mld__realloc(items, cap * sizeof *p);
				if (!p) {
					rc = MLD_ENOMEM;
					break;
				}
				items = p;
			}
			long owner = owner_get(&B->own, vals[i]);
			rc = resolve(B, dd, &items[n], vals[i], owner >= 0 ? (size_t)owner : cb->srcs[s].pkg);
			if (rc)
				mld__err_prefix("function \"%s\"", cb->srcs[s].name);
			else
				n++;
		}
		free(vals);
		cb_release_all(cb); /* the pages its spot checks read: held for every function, they
		                     * grew the peak by the function */
	}
	if (rc) {
		free(items);
		return rc;
	}
	*items_out = items;
	*n_out = n;
	*size_out = dd->n ? dd->end : 0;
	return 0;
}

/* ---- the output model ------------------------------------------------------------- */

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
static int merge_metadata(build *B)
{
	cb_ctx *cb = B->cb;
	core_ml__specification__metadata__init(&B->meta);
	size_t cap = 0;
	for (size_t s = 0; s < cb->n_srcs; s++) {
		const mil_model_desc *d = B->copies[cb->srcs[s].pkg]->description;
		if (cb->srcs[s].alias_of < 0 && d && d->metadata)
			cap += d->metadata->n_userdefined;
	}
	if (cap && (!(B->meta_ents = mld__calloc(cap, sizeof *B->meta_ents)) ||
	            !(B->meta_ptrs = mld__calloc(cap, sizeof *B->meta_ptrs))))
		return MLD_ENOMEM;
	bool anemll = false;
	size_t n = 0;
	for (size_t s = 0; s < cb->n_srcs; s++) {
		const mil_model_desc *d = B->copies[cb->srcs[s].pkg]->description;
		const md_meta *m = d ? d->metadata : NULL;
		if (cb->srcs[s].alias_of >= 0 || !m)
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
	for (size_t s = 0; s < cb->n_srcs; s++) {
		const mil_model_desc *d = B->copies[cb->srcs[s].pkg]->description;
		if (d && d->metadata && d->metadata->shortdescription)
			len += strlen(d->metadata->shortdescription) + 1;
	}
	if (!(B->meta_desc = mld__malloc(len)))
		return MLD_ENOMEM;
	size_t at = (size_t)snprintf(B->meta_desc, len, "Anemll Model: Multifunction ");
	bool any = false;
	for (size_t s = 0; s < cb->n_srcs; s++) {
		const mil_model_desc *d = B->copies[cb->srcs[s].pkg]->description;
		const char *p;
		size_t pl;
		if (cb->srcs[s].alias_of < 0 && d && d->metadata && desc_part(d->metadata->shortdescription, &p, &pl)) {
			at += (size_t)snprintf(B->meta_desc + at, len - at, "%s%.*s", any ? "+" : "", (int)pl, p);
			any = true;
		}
	}
	if (!any)
		snprintf(B->meta_desc + at, len - at, "Combined");
	B->meta.shortdescription = B->meta_desc;
	return 0;
}

static int assemble(build *B, int spec)
{
	cb_ctx *cb = B->cb;
	const char *opset = opset_for(spec);
	if (!(B->fdescs = mld__calloc(cb->n_srcs, sizeof *B->fdescs)) ||
	    !(B->entries = mld__calloc(cb->n_srcs, sizeof *B->entries)))
		return MLD_ENOMEM;
	for (size_t s = 0; s < cb->n_srcs; s++) {
		const cb_source *src = &cb->srcs[s];
		mil_model *copy = B->copies[src->pkg];
		const char *src_fn = cb->pkgs[src->pkg]->fns[src->fn].name;
		if (src->alias_of < 0) {
			if (copy->specificationversion < 9 || strcmp(B->fns[s]->opset, opset)) {
				B->rewritten[s] = true;
				int rc = mld__function_to_ios18(B->fns[s], src->name);
				if (!rc)
					rc = set_opset(B->fns[s], opset);
				if (rc)
					return rc;
			}
		}
		if (!(B->fdescs[s] = describe(copy, src_fn, src->name)) ||
		    !(B->entries[s] = mld__calloc(1, sizeof(fn_entry))))
			return MLD_ENOMEM;
		core_ml__specification__milspec__program__functions_entry__init(B->entries[s]);
		B->entries[s]->key = (char *)src->name;
		B->entries[s]->value = B->fns[s];
	}
	const mil_model *anchor = B->copies[cb->srcs[0].pkg];
	core_ml__specification__model__init(&B->out);
	core_ml__specification__model_description__init(&B->desc);
	core_ml__specification__milspec__program__init(&B->prog);
	B->out.specificationversion = spec;
	B->out.description = &B->desc;
	B->out.type_case = CORE_ML__SPECIFICATION__MODEL__TYPE_ML_PROGRAM;
	B->out.mlprogram = &B->prog;
	B->desc.n_functions = cb->n_srcs;
	B->desc.functions = B->fdescs;
	B->desc.defaultfunctionname = (char *)cb->srcs[cb->default_src].name;
	int rc = merge_metadata(B);
	if (rc)
		return rc;
	B->desc.metadata = &B->meta;
	B->prog.version = 1;
	B->prog.n_functions = cb->n_srcs;
	B->prog.functions = B->entries;
	B->prog.n_attributes = anchor->mlprogram->n_attributes; /* buildInfo and friends */
	B->prog.attributes = anchor->mlprogram->attributes;
	return 0;
}

static void build_free(build *B)
{
	cb_ctx *cb = B->cb;
	free(B->meta_ents);
	free(B->meta_ptrs);
	free(B->meta_desc);
	for (size_t s = 0; B->ops && s < cb->n_srcs; s++)
		mld__strmap_free(&B->ops[s]);
	free(B->ops);
	for (size_t s = 0; B->fdescs && s < cb->n_srcs; s++)
		free(B->fdescs[s]);
	for (size_t s = 0; B->entries && s < cb->n_srcs; s++)
		free(B->entries[s]);
	free(B->fdescs);
	free(B->entries);
	free(B->fns);
	free(B->rewritten);
	copyset_free(&B->cs, cb->n_pkgs);
	free(B->copies);
	for (size_t i = 0; i < B->own.n; i++)
		free(B->own.keys[i]);
	free(B->own.keys);
	mld__strmap_free(&B->own.m);
}

/* After the write, before the commit: the claims check, then the stamp (if asked for). */
typedef struct wctx {
	build *B;
	const blobdedup *dd;
	mld__blob_item *items;
	size_t n;
	mld__write_info info;
	char *stamp;
} wctx;

static void written(void *ctx, const mld__blob_item *it)
{
	const wctx *w = ctx;
	cb_release(w->B->cb, it->data, it->size); /* done with the source's pages */
}

static void reap_copies(cb_ctx *cb, copyset *cs);

/* The claims check and the stamp; then the copies are no longer needed. */
static int before_commit(wctx *w)
{
	int rc = check_written(w->B, w->dd, w->items, w->n, w->info.digests);
	if (!rc && w->B->cb->opts->stamp_path)
		rc = cb_out_stamp(&w->stamp, w->B->cb, w->B->ops, w->B->rewritten, w->items, w->n, &w->info);
	if (!rc)
		reap_copies(w->B->cb, &w->B->cs);
	return rc;
}

/* OUT.zip: the package is built in a scratch tree beside it (an atomic tree that is
 * never committed, so a signal or an error removes it), then zipped as
 * "<OUT stem>.mlpackage/..." into an atomic file. */
static int write_zipped(wctx *w, const char *out_path)
{
	size_t len = strlen(out_path);
	if (len < 5 || strcmp(out_path + len - 4, ".zip"))
		return mld__err(MLD_EUSAGE, "%s: with --zip the output must end in .zip", out_path);
	const char *base = strrchr(out_path, '/');
	base = base ? base + 1 : out_path;
	char *prefix = mld__sprintf("%.*s.mlpackage", (int)(strlen(base) - 4), base), *pkg = NULL;
	mld__adir *scratch = NULL;
	int rc = prefix ? mld__adir_open(&scratch, out_path) : MLD_ENOMEM;
	if (!rc && !(pkg = mld__sprintf("%s/%s", mld__adir_temp(scratch), prefix)))
		rc = MLD_ENOMEM;
	if (!rc)
		rc = mld__write_package_into(scratch, prefix, &w->B->out, w->items, w->n, out_path, &w->info);
	if (!rc)
		rc = before_commit(w);
	if (!rc)
		rc = mld__zip_tree(pkg, prefix, out_path);
	mld__adir_free(scratch);
	free(pkg);
	free(prefix);
	return rc;
}

static int write_dir(wctx *w, const char *out_path)
{
	size_t plen = strlen(out_path);
	while (plen > 1 && out_path[plen - 1] == '/')
		plen--;
	if (plen < 10 || strncmp(out_path + plen - 10, ".mlpackage", 10))
		return mld__err(MLD_EUSAGE, "%s: the output must end in .mlpackage", out_path);
	mld__adir *d = NULL;
	int rc = mld__adir_open(&d, out_path);
	if (!rc)
		rc = mld__write_package_into(d, "", &w->B->out, w->items, w->n, out_path, &w->info);
	if (!rc)
		rc = before_commit(w);
	if (!rc)
		rc = mld__adir_commit(d, w->B->cb->opts->replace);
	mld__adir_free(d); /* removes the temp tree unless committed */
	return rc;
}

/* ---- the models the plan is applied to ----------------------------------------------
 *
 * Normally the opened packages' own models: the plan is applied to them in place once
 * it is made, which parses nothing more and holds no second model per function. Where
 * an op the plan edits is one it reads values from (a weight sharing an op with one it
 * is shared with), private copies are made, as the reads must see the values as read. */

static void copy_one(copyset *cs, const cb_ctx *cb, size_t p)
{
	if (!(cs->ar[p] = mld__arena_new()))
		return;
	ProtobufCAllocator al = mld__pb_arena(cs->ar[p]);
	cs->m[p] = core_ml__specification__model__unpack(&al, cb->pkgs[p]->model_len, cb->pkgs[p]->model_bytes);
}

static bool copyset_new(copyset *cs, size_t n)
{
	cs->m = mld__calloc(n ? n : 1, sizeof *cs->m);
	cs->ar = mld__calloc(n ? n : 1, sizeof *cs->ar);
	if (cs->m && cs->ar)
		return true;
	free(cs->m);
	free(cs->ar);
	cs->m = NULL;
	cs->ar = NULL;
	return false;
}

/* Only the malloc'd pieces the edits put into a model parsed into arena `ar`: the
 * arena's go with it. */
static void free_edits(mil_model *m, mld__arena *ar)
{
	ProtobufCAllocator al = mld__pb_arena(ar);
	core_ml__specification__model__free_unpacked(m, &al);
}

static void copyset_free(copyset *cs, size_t n)
{
	for (size_t p = 0; cs->m && p < n; p++) {
		if (cs->m[p])
			free_edits(cs->m[p], cs->ar[p]);
		mld__arena_free(cs->ar[p]);
	}
	free(cs->m);
	free(cs->ar);
	cs->m = NULL;
	cs->ar = NULL;
}

static bool swapped(const cb_weight *cw) { return cw->reason == MLD_R_DEQ_IDENTICAL || cw->reason == MLD_R_DEQ_CLOSE; }

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (const void *const *)a, y = (uintptr_t) * (const void *const *)b;
	return x < y ? -1 : x > y;
}

/* A weight whose ops apply_plan edits (a swapped weight of a function of its own). */
static bool edited_weight(const cb_ctx *cb, const cb_weight *cw)
{
	return swapped(cw) && cb->srcs[cw->src].alias_of < 0;
}

/* Whether apply_plan may edit the packages' own models: no op it edits (a swapped
 * weight's) is one it reads (the weight it is swapped with). */
static bool inplace_safe(const cb_ctx *cb)
{
	size_t n = 0, k = 0;
	for (size_t i = 0; i < cb->n_ws; i++)
		n += edited_weight(cb, &cb->ws[i]) ? cb->ws[i].w->n_ops : 0;
	if (!n)
		return true;
	const void **edited = mld__malloc(n * sizeof *edited);
	if (!edited) {
		mld__err_clear();
		return false;
	}
	for (size_t i = 0; i < cb->n_ws; i++)
		for (size_t j = 0; edited_weight(cb, &cb->ws[i]) && j < cb->ws[i].w->n_ops; j++)
			edited[k++] = cb->ws[i].w->ops[j];
	qsort(edited, n, sizeof *edited, cmp_ptr);
	bool safe = true;
	for (size_t i = 0; i < cb->n_ws && safe; i++) {
		const mld_weight *pw = edited_weight(cb, &cb->ws[i]) ? cb->ws[cb->ws[i].placed].w : NULL;
		for (size_t j = 0; pw && j < pw->n_ops && safe; j++)
			safe = !bsearch(&pw->ops[j], edited, n, sizeof *edited, cmp_ptr);
	}
	free(edited);
	return safe;
}

struct cb_copies {
	pthread_t th;
	const cb_ctx *cb;
	copyset cs;
};

static void *reap(void *arg)
{
	struct cb_copies *c = arg;
	copyset_free(&c->cs, c->cb->n_pkgs);
	return NULL;
}

/* Free private copies on another thread while the output is committed and the combine
 * recorded; cb_write_discard waits for it. */
static void reap_copies(cb_ctx *cb, copyset *cs)
{
	if (!cs->m)
		return; /* the packages' own models: cb_write_discard */
	struct cb_copies *c = cb->reaper ? NULL : mld__calloc(1, sizeof *c);
	if (c) {
		c->cb = cb;
		c->cs = *cs;
	}
	if (!c || !mld__thread_start(&c->th, reap, c)) {
		mld__err_clear();
		free(c);
		copyset_free(cs, cb->n_pkgs);
		return;
	}
	cb->reaper = c;
	cs->m = NULL;
	cs->ar = NULL;
}

/* The packages' own models as parsed: their edits freed, parsed again. */
static int unedit(cb_ctx *cb, bool reparse)
{
	int rc = 0;
	if (!cb->models_edited)
		return 0;
	for (size_t p = 0; p < cb->n_pkgs; p++) {
		mld_package *pkg = cb->pkgs[p];
		if (pkg->model)
			free_edits(pkg->model, pkg->model_arena);
		pkg->model = NULL; /* its arena's pieces stay until it is freed or parsed again */
		if (reparse && !rc)
			rc = mld__package_reparse(pkg);
	}
	cb->models_edited = false;
	return rc;
}

int cb_write_restore(cb_ctx *cb) { return unedit(cb, true); }

void cb_write_discard(cb_ctx *cb)
{
	if (cb->reaper) {
		pthread_join(cb->reaper->th, NULL);
		free(cb->reaper);
		cb->reaper = NULL;
	}
	unedit(cb, false);
}

/* The models the plan is applied to (the packages' own, or private copies), each
 * function found and indexed, and the plan applied; *spec gets the highest
 * specification version (at least 9). */
static int build_init(build *B, cb_ctx *cb, int *spec)
{
	B->cb = cb;
	*spec = 9;
	bool inplace = inplace_safe(cb);
	for (size_t p = 0; p < cb->n_pkgs; p++)
		inplace &= cb->pkgs[p]->model != NULL; /* an opened package holds no model (package.h) */
	if ((!inplace && !copyset_new(&B->cs, cb->n_pkgs)) ||
	    !(B->copies = mld__calloc(cb->n_pkgs, sizeof *B->copies)) ||
	    !(B->fns = mld__calloc(cb->n_srcs, sizeof *B->fns)) ||
	    !(B->ops = mld__calloc(cb->n_srcs, sizeof *B->ops)) ||
	    !(B->rewritten = mld__calloc(cb->n_srcs, sizeof *B->rewritten)))
		return MLD_ENOMEM;
	for (size_t p = 0; p < cb->n_pkgs; p++) {
		const mld_package *pkg = cb->pkgs[p];
		if (inplace) {
			B->copies[p] = pkg->model;
		} else {
			copy_one(&B->cs, cb, p); /* the bytes were depth-checked when the package was opened */
			if (!(B->copies[p] = B->cs.m[p]))
				return mld__err(MLD_EFORMAT, "%s: cannot re-read the model", mld_package_path(pkg));
		}
		if (pkg->spec_version > *spec)
			*spec = pkg->spec_version;
	}
	cb->models_edited |= inplace;
	for (size_t s = 0; s < cb->n_srcs; s++) {
		const cb_source *src = &cb->srcs[s];
		size_t from = src->alias_of >= 0 ? (size_t)src->alias_of : s;
		B->fns[s] = src->alias_of >= 0
		                    ? B->fns[from]
		                    : find_function(B->copies[src->pkg], cb->pkgs[src->pkg]->fns[src->fn].name);
		int rc = src->alias_of < 0 ? index_ops(&B->ops[s], (mil_block *)mil_function_block(B->fns[s])) : 0;
		if (rc)
			return rc;
	}
	return apply_plan(B);
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
	mil_model *copy = B->copies[src->pkg];
	const char *src_fn = cb->pkgs[src->pkg]->fns[src->fn].name;
	mil_model out = *copy;
	mil_program prog = *copy->mlprogram;
	fn_entry entry, *entries = &entry;
	core_ml__specification__milspec__program__functions_entry__init(&entry);
	entry.key = (char *)src_fn;
	entry.value = B->fns[s];
	prog.n_functions = 1;
	prog.functions = &entries;
	out.mlprogram = &prog;
	if (copy->specificationversion < 9) { /* as combine does: the iOS18 op set */
		int rc = mld__function_to_ios18(B->fns[s], src->name);
		if (!rc)
			rc = set_opset(B->fns[s], opset_for(9));
		if (rc)
			return rc;
		out.specificationversion = 9;
	}
	mil_model_desc desc;
	fn_desc *fd = NULL;
	if (copy->description) {
		desc = *copy->description;
		if (desc.n_functions) { /* a multifunction source: only this function's description */
			if (!(fd = describe(copy, src_fn, src_fn)))
				return MLD_ENOMEM;
			desc.n_functions = 1;
			desc.functions = &fd;
			desc.defaultfunctionname = (char *)src_fn;
		}
		out.description = &desc;
	}
	blobdedup dd = {0};
	wctx w = {B, &dd, NULL, 0, {0}, NULL};
	w.info.written = written;
	w.info.ctx = &w;
	uint64_t size = 0;
	int rc = collect_items(B, s, &dd, &w.items, &w.n, &size);
	if (!rc && !(w.info.digests = mld__calloc(w.n ? w.n : 1, sizeof *w.info.digests)))
		rc = MLD_ENOMEM;
	size_t plen = strlen(out_path);
	while (plen > 1 && out_path[plen - 1] == '/')
		plen--;
	if (!rc && (plen < 10 || strncmp(out_path + plen - 10, ".mlpackage", 10)))
		rc = mld__err(MLD_EUSAGE, "%s: the output must end in .mlpackage", out_path);
	struct stat st;
	if (!rc && !cb->opts->replace && lstat(out_path, &st) == 0)
		rc = mld__err(MLD_EEXISTS, "%s: already exists (not replaced)", out_path);
	/* written beside its place, checked, and committed only once every source's is */
	if (!rc)
		rc = mld__adir_open(tree, out_path);
	if (!rc)
		rc = mld__write_package_into(*tree, "", &out, w.items, w.n, out_path, &w.info);
	if (!rc)
		rc = check_written(B, &dd, w.items, w.n, w.info.digests);
	if (!rc)
		cb->stats->bytes_after += size;
	free(w.info.digests);
	free(w.items);
	dd_free(&dd);
	free(fd);
	return rc;
}

int cb_write_aligned(cb_ctx *cb, const char *const *out_paths)
{
	build B = {0};
	mld__adir **trees = mld__calloc(cb->n_srcs ? cb->n_srcs : 1, sizeof *trees);
	int spec, rc = trees ? build_init(&B, cb, &spec) : MLD_ENOMEM;
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
	build_free(&B);
	return rc;
}

int cb_write(cb_ctx *cb, const char *out_path)
{
	build B = {0};
	blobdedup dd = {0};
	wctx w = {&B, &dd, NULL, 0, {0}, NULL};
	int spec, rc = build_init(&B, cb, &spec);
	if (rc || (rc = assemble(&B, spec)) ||
	    (rc = collect_items(&B, SIZE_MAX, &dd, &w.items, &w.n, &cb->stats->bytes_after)))
		goto out;
	cb->stats->large_warning = cb->stats->bytes_after > (UINT64_C(1) << 30);
	if (cb->stats->bytes_after > (UINT64_C(2) << 30) && !cb->opts->allow_large) {
		rc = mld__err(
			MLD_ERROR,
			"%s: the combined weight.bin would be %.2f GB, above the 2 GB that Core ML is known to load;"
			" pass --allow-large to write it anyway",
			out_path, (double)cb->stats->bytes_after / 1e9);
		goto out;
	}
	if (!cb->opts->dry_run) {
		w.info.written = written;
		w.info.ctx = &w;
		if (!(w.info.digests = mld__calloc(w.n ? w.n : 1, sizeof *w.info.digests))) {
			rc = MLD_ENOMEM;
			goto out;
		}
		rc = cb->opts->zip ? write_zipped(&w, out_path) : write_dir(&w, out_path);
		/* the output is in place: a stamp that cannot be written is an error, not the output */
		if (!rc && w.stamp && mld_write_if_changed(cb->opts->stamp_path, w.stamp, strlen(w.stamp)) < 0)
			rc = mld__err_prefix("%s: stamp", cb->opts->stamp_path);
	}
out:
	free(w.stamp);
	free(w.info.digests);
	free(w.items);
	dd_free(&dd);
	build_free(&B);
	return rc;
}
