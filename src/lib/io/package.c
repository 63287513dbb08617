/* Opening a package: manifest -> root model protobuf -> functions -> weights. */
#include "package.h"

#include "../core/hash.h"
#include "../core/arena.h"

#include <stdlib.h>

/* pkg->model from pkg->model_bytes */
static int parse_model(mld_package *pkg)
{
	char *disp = mld__source_display(pkg->src, pkg->model_rel);
	/* the model is only read: parsed into an arena, freed at once (tens of thousands of
	 * small pieces cost more to free one by one than to parse) */
	if (!disp || !(pkg->model_arena = mld__arena_new())) {
		free(disp);
		return MLD_ENOMEM;
	}
	ProtobufCAllocator al = mld__pb_arena(pkg->model_arena);
	int rc = mil_unpack_with((ProtobufCMessage **)&pkg->model, &core_ml__specification__model__descriptor, &al,
	                         pkg->model_bytes, pkg->model_len, disp, "CoreML Model");
	if (!rc && (pkg->model->type_case != CORE_ML__SPECIFICATION__MODEL__TYPE_ML_PROGRAM || !pkg->model->mlprogram))
		rc = mld__err(
			MLD_EUNSUPPORTED,
			"%s: not an ML Program (specification version %d); only mlProgram models hold weight blobs",
			disp, pkg->model->specificationversion);
	free(disp);
	return rc;
}

static int load_model(mld_package *pkg)
{
	int rc = mld__source_read(pkg->src, pkg->model_rel, &pkg->model_bytes, &pkg->model_len);
	return rc ? rc : parse_model(pkg);
}

static int load_functions(mld_package *pkg)
{
	const mil_program *prog = pkg->model->mlprogram;
	pkg->fns = mld__calloc(prog->n_functions, sizeof *pkg->fns);
	if (!pkg->fns)
		return MLD_ENOMEM;
	for (size_t i = 0; i < prog->n_functions; i++) {
		const CoreML__Specification__MILSpec__Program__FunctionsEntry *e = prog->functions[i];
		for (size_t j = 0; j < i; j++)
			if (!strcmp(prog->functions[j]->key, e->key))
				return mld__err(MLD_EFORMAT, "%s: function \"%s\" is defined twice",
				                mld__source_path(pkg->src), e->key);
		mld__function *f = &pkg->fns[pkg->n_fns++];
		if (!(f->name = mld__strdup(e->key)))
			return MLD_ENOMEM;
		f->fn = e->value;
		if (!f->fn || !(f->block = mil_function_block(f->fn)))
			return mld__err(MLD_EFORMAT, "%s: function \"%s\" has no block for its opset \"%s\"",
			                mld__source_path(pkg->src), e->key, f->fn ? f->fn->opset : "?");
	}
	return 0;
}

void mld__package_drop_model_bytes(mld_package *pkg)
{
	if (!pkg->model_bytes)
		return;
	mld__hash128(pkg->model_digest, pkg->model_bytes, pkg->model_len);
	free(pkg->model_bytes);
	pkg->model_bytes = NULL;
}

int mld__package_model_read(const mld_package *pkg, const uint8_t **bytes, size_t *len, uint8_t **owned)
{
	*owned = NULL;
	if (pkg->model_bytes) {
		*bytes = pkg->model_bytes;
		*len = pkg->model_len;
		return 0;
	}
	uint8_t *b, d[16];
	size_t n;
	int rc = mld__source_read(pkg->src, pkg->model_rel, &b, &n);
	if (rc)
		return rc;
	mld__hash128(d, b, n);
	if (n != pkg->model_len || memcmp(d, pkg->model_digest, 16)) {
		free(b);
		char *disp = mld__source_display(pkg->src, pkg->model_rel);
		rc = mld__err(MLD_ERROR, "%s: changed while it was being read; run again",
		              disp ? disp : pkg->model_rel);
		free(disp);
		return rc;
	}
	*bytes = *owned = b;
	*len = n;
	return 0;
}

/* Small chunks: a package keeps a few hundred KB here, and many packages are open at once. */
struct mld__arena *mld__package_keep_arena(mld_package *pkg)
{
	if (!pkg->chain_arena)
		pkg->chain_arena = mld__arena_new_chunked(64u << 10);
	return pkg->chain_arena;
}

/* What is asked of the model after the open (versions, the description), kept in
 * chain_arena, and then the model freed: see package.h. */
static int keep_summary(mld_package *pkg)
{
	pkg->spec_version = pkg->model->specificationversion;
	pkg->program_version = pkg->model->mlprogram->version;
	const mil_model_desc *d = pkg->model->description;
	if (!d)
		return 0;
	mld__arena *ar = mld__package_keep_arena(pkg);
	if (!ar)
		return MLD_ENOMEM;
	ProtobufCAllocator al = mld__pb_arena(ar);
	pkg->desc = mil_clone(&d->base, &al);
	return pkg->desc ? 0 : mld__err_prefix("%s: the model description", mld_package_path(pkg));
}

/* The parsed model and what points into it (the functions' ops and producer maps);
 * the weights and the summary stay. */
static void drop_model(mld_package *pkg)
{
	for (size_t i = 0; i < pkg->n_fns; i++) {
		mld__function *f = &pkg->fns[i];
		mld__strmap_free(&f->producers);
		free(f->prods);
		free(f->copies);
		f->prods = NULL;
		f->copies = NULL;
		f->n_prods = f->n_nodes = 0;
		f->fn = NULL;
		f->block = NULL;
	}
	mld__arena_free(pkg->model_arena); /* pkg->model with it */
	pkg->model_arena = NULL;
	pkg->model = NULL;
}

int mld_package_open(mld_package **out, const char *path)
{
	mld__err_clear();
	mld_package *pkg = mld__calloc(1, sizeof *pkg);
	if (!pkg)
		return MLD_ENOMEM;
	int rc;
	if ((rc = mld__source_open(&pkg->src, path)) || (rc = mld__manifest_load(pkg)) || (rc = load_model(pkg)) ||
	    (rc = load_functions(pkg)) || (rc = mld__weights_discover(pkg)) || (rc = keep_summary(pkg))) {
		mld_package_free(pkg);
		return rc;
	}
	drop_model(pkg);
	*out = pkg;
	return 0;
}

/* The model, its functions and weights, as parsed */
static void free_model(mld_package *pkg)
{
	drop_model(pkg);
	mld__weights_free(pkg);
	for (size_t i = 0; i < pkg->n_fns; i++)
		free(pkg->fns[i].name);
	free(pkg->fns);
	pkg->fns = NULL;
	pkg->n_fns = 0;
	mld__arena_free(pkg->chain_arena); /* the weights' ops and names with it */
	pkg->chain_arena = NULL;
	pkg->desc = NULL;
	pkg->n_blob_files = 0; /* their names were the copies' */
}

void mld_package_free(mld_package *pkg)
{
	if (!pkg)
		return;
	free_model(pkg);
	free(pkg->model_bytes);
	free(pkg->model_rel);
	free(pkg->model_dir);
	free(pkg->weights_rel);
	mld__source_free(pkg->src);
	free(pkg);
}

const char *mld_package_path(const mld_package *pkg) { return mld__source_path(pkg->src); }
int mld_package_spec_version(const mld_package *pkg) { return pkg->spec_version; }
size_t mld_package_function_count(const mld_package *pkg) { return pkg->n_fns; }
const char *mld_package_function_name(const mld_package *pkg, size_t i)
{
	return i < pkg->n_fns ? pkg->fns[i].name : NULL;
}
size_t mld_package_weight_count(const mld_package *pkg) { return pkg->n_weights; }
const mld_weight *mld_package_weight(const mld_package *pkg, size_t i)
{
	return i < pkg->n_weights ? &pkg->weights[i] : NULL;
}

int mld_package_find_weight(const mld_weight **out, const mld_package *pkg, const char *function, const char *name)
{
	bool fn_found = false;
	for (size_t i = 0; i < pkg->n_fns; i++)
		fn_found |= !strcmp(pkg->fns[i].name, function);
	if (!fn_found) {
		mld__buf names = {0};
		for (size_t i = 0; i < pkg->n_fns; i++) {
			if (i)
				mld__buf_append(&names, ", ", 2);
			mld__buf_append(&names, pkg->fns[i].name, strlen(pkg->fns[i].name));
		}
		mld__buf_append(&names, "", 1);
		int rc = mld__err(MLD_ENOTFOUND, "%s: no function \"%s\" (functions: %s)", mld_package_path(pkg),
		                  function, names.data ? (char *)names.data : "");
		mld__buf_free(&names);
		return rc;
	}
	for (size_t i = 0; i < pkg->n_weights; i++)
		if (!strcmp(pkg->weights[i].function, function) && !strcmp(pkg->weights[i].name, name)) {
			*out = &pkg->weights[i];
			return 0;
		}
	return mld__err(MLD_ENOTFOUND, "%s: function \"%s\" has no weight \"%s\"", mld_package_path(pkg), function,
	                name);
}

const char *mld_weight_function(const mld_weight *w) { return w->function; }
const char *mld_weight_name(const mld_weight *w) { return w->name; }
const char *mld_weight_chain(const mld_weight *w) { return w->chain; }
mld_dtype mld_weight_dtype(const mld_weight *w) { return w->dtype; }
unsigned mld_weight_rank(const mld_weight *w) { return w->rank; }
const uint64_t *mld_weight_shape(const mld_weight *w) { return w->shape; }
uint64_t mld_weight_element_count(const mld_weight *w) { return w->count; }
uint64_t mld_weight_encoded_bytes(const mld_weight *w) { return w->encoded_bytes; }
size_t mld_weight_blob_count(const mld_weight *w) { return w->n_blobs; }
const mld_blob_ref *mld_weight_blob(const mld_weight *w, size_t i) { return i < w->n_blobs ? &w->blobs[i] : NULL; }

int mld__package_blob_rel(const mld_package *pkg, const char *file_name, char **rel)
{
	static const char prefix[] = "@model_path/";
	if (strncmp(file_name, prefix, sizeof prefix - 1))
		return mld__err(MLD_EUNSUPPORTED, "%s: blob file name \"%s\" does not start with @model_path/",
		                mld_package_path(pkg), file_name);
	*rel = mld__sprintf("%s/%s", pkg->model_dir, file_name + sizeof prefix - 1);
	if (!*rel)
		return MLD_ENOMEM;
	int rc = mld__source_check_rel(pkg->src, *rel);
	if (rc) {
		free(*rel);
		*rel = NULL;
	}
	return rc;
}

int mld__package_blobfile(const mld_package *pkg, const char *file_name, const uint8_t **data, uint64_t *len,
                          char **display)
{
	char *rel = NULL;
	int rc = mld__package_blob_rel(pkg, file_name, &rel);
	if (rc)
		return rc;
	rc = mld__source_map(pkg->src, rel, data, len);
	if (!rc && display)
		*display = mld__source_display(pkg->src, rel);
	free(rel);
	return rc;
}

void mld__package_hash_mapped(const mld_package *pkg, mld__hash *h, const uint8_t *p, uint64_t n)
{
	while (n) {
		size_t k = n < MLD_HASH_PIECE ? (size_t)n : MLD_HASH_PIECE;
		mld__hash_update(h, p, k);
		mld__source_release(pkg->src, p, k);
		p += k;
		n -= k;
	}
}

void mld__weight_release(const mld_package *pkg, const mld_weight *w)
{
	for (size_t b = 0; b < w->n_blobs; b++) {
		const uint8_t *map;
		uint64_t len;
		if (mld__package_blobfile(pkg, w->blobs[b].file, &map, &len, NULL)) {
			mld__err_clear();
			continue;
		}
		if (w->blobs[b].data_offset < len)
			mld__source_release_wide(pkg->src, map + w->blobs[b].data_offset, w->blobs[b].size);
	}
}
