#include "pkgwrite.h"
#include "pbfree.h"

#include "../core/atomic.h"
#include "../core/hash.h"
#include "../io/blobfile.h"
#include "../io/package.h"

#include <jansson.h>
#include <stdlib.h>
#include <sys/stat.h>

#define WEIGHT_FILE_NAME "@model_path/weights/weight.bin"
#define WEIGHT_REL "Data/com.apple.CoreML/weights/weight.bin"

typedef struct vlist {
	mil_value **v;
	size_t n, cap;
} vlist;

static int vpush(vlist *l, mil_value *v)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		mil_value **p = mld__realloc(l->v, cap * sizeof *p);
		if (!p)
			return MLD_ENOMEM;
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = v;
	return 0;
}

static int walk_block(vlist *l, mil_block *b)
{
	int rc = 0;
	if (!b) /* a block_specializations entry without a value (only the opset's block must exist) */
		return 0;
	for (size_t i = 0; i < b->n_operations && !rc; i++) {
		mil_op *op = b->operations[i];
		for (size_t k = 0; k < op->n_attributes && !rc; k++) {
			mil_value *v = op->attributes[k]->value;
			if (v && v->value_case == MIL_VALUE_BLOB)
				rc = vpush(l, v);
		}
		for (size_t k = 0; k < op->n_inputs && !rc; k++) {
			mil_argument *a = op->inputs[k]->value;
			for (size_t j = 0; a && j < a->n_arguments && !rc; j++)
				if (a->arguments[j]->binding_case == MIL_BINDING_VALUE && a->arguments[j]->value &&
				    a->arguments[j]->value->value_case == MIL_VALUE_BLOB)
					rc = vpush(l, a->arguments[j]->value);
		}
		for (size_t k = 0; k < op->n_blocks && !rc; k++)
			rc = walk_block(l, op->blocks[k]);
	}
	return rc;
}

static int function_values(vlist *l, mil_function *fn)
{
	int rc = 0;
	for (size_t b = 0; fn && b < fn->n_block_specializations && !rc; b++)
		rc = walk_block(l, fn->block_specializations[b]->value);
	return rc;
}

/* Hand the list over, or free it on error. */
static int vlist_out(vlist *l, int rc, mil_value ***out, size_t *n)
{
	if (rc) {
		free(l->v);
		return rc;
	}
	*out = l->v;
	*n = l->n;
	return 0;
}

int mld__model_blob_values(mil_value ***out, size_t *n, mil_model *model)
{
	vlist l = {0};
	int rc = 0;
	if (model->type_case == CORE_ML__SPECIFICATION__MODEL__TYPE_ML_PROGRAM && model->mlprogram)
		for (size_t f = 0; f < model->mlprogram->n_functions && !rc; f++)
			rc = function_values(&l, model->mlprogram->functions[f]->value);
	return vlist_out(&l, rc, out, n);
}

int mld__function_blob_values(mil_value ***out, size_t *n, mil_function *fn)
{
	vlist l = {0};
	return vlist_out(&l, function_values(&l, fn), out, n);
}

static int cmp_item(const void *a, const void *b)
{
	const mld__blob_item *x = *(const mld__blob_item *const *)a, *y = *(const mld__blob_item *const *)b;
	if (x->key_hi != y->key_hi)
		return x->key_hi < y->key_hi ? -1 : 1;
	if (x->key_lo != y->key_lo)
		return x->key_lo < y->key_lo ? -1 : 1;
	return 0;
}

/* A UUID-shaped identifier derived from the item path, so output is reproducible. */
static void item_id(char out[37], const char *seed)
{
	uint8_t d[16]; /* canonical: the high 64 bits first, big-endian */
	mld__hash128(d, seed, strlen(seed));
	uint64_t high64 = 0, low64 = 0;
	for (int i = 0; i < 8; i++) {
		high64 = high64 << 8 | d[i];
		low64 = low64 << 8 | d[8 + i];
	}
	snprintf(out, 37, "%08X-%04X-%04X-%04X-%012llX", (unsigned)(high64 >> 32), (unsigned)(high64 >> 16) & 0xffff,
	         (unsigned)high64 & 0xffff, (unsigned)(low64 >> 48), (unsigned long long)(low64 & 0xffffffffffffULL));
}

/* Where a package is written: a tree being built, or memory. */
typedef struct sink {
	mld__adir *d;
	mld__pkgmem *mem;
} sink;

static int sink_file(sink *k, const char *rel, mld__buf *mem_buf, const void *data, size_t len)
{
	if (!k->mem)
		return mld__adir_write_file(k->d, rel, data, len);
	mem_buf->len = 0;
	return mld__buf_append(mem_buf, data, len);
}

static int write_manifest(sink *k, const char *rel)
{
	char mid[37], wid[37];
	item_id(mid, "com.apple.CoreML/model.mlmodel");
	item_id(wid, "com.apple.CoreML/weights");
	json_t *root = json_pack("{s:s, s:{s:{s:s,s:s,s:s,s:s}, s:{s:s,s:s,s:s,s:s}}, s:s}", "fileFormatVersion",
	                         "1.0.0", "itemInfoEntries", mid, "author", "com.apple.CoreML", "description",
	                         "CoreML Model Specification", "name", "model.mlmodel", "path",
	                         "com.apple.CoreML/model.mlmodel", wid, "author", "com.apple.CoreML", "description",
	                         "CoreML Model Weights", "name", "weights", "path", "com.apple.CoreML/weights",
	                         "rootModelIdentifier", mid);
	if (!root)
		return mld__err(MLD_ENOMEM, "cannot build Manifest.json");
	char *text = json_dumps(root, JSON_INDENT(4) | JSON_SORT_KEYS);
	json_decref(root);
	int rc = text ? sink_file(k, rel, k->mem ? &k->mem->manifest : NULL, text, strlen(text)) : MLD_ENOMEM;
	free(text);
	return rc;
}

static int write_to(sink *k, const char *dir, mil_model *model, mld__blob_item *items, size_t n_items,
                    const char *display, mld__write_info *info)
{
	mld__blob_item **order = NULL;
	mld__blobwriter *bw = NULL;
	uint8_t *mbytes = NULL;
	const char *slash = *dir ? "/" : "";
	char *weights = mld__sprintf("%s%sData/com.apple.CoreML/weights", dir, slash);
	char *wbin = mld__sprintf("%s%s" WEIGHT_REL, dir, slash);
	char *model_rel = mld__sprintf("%s%sData/com.apple.CoreML/model.mlmodel", dir, slash);
	char *manifest = mld__sprintf("%s%sManifest.json", dir, slash);
	char *wname = mld__sprintf("%s/" WEIGHT_REL, display);
	int rc = !weights || !wbin || !model_rel || !manifest || !wname ? MLD_ENOMEM : 0;
	if (rc || (!k->mem && (rc = mld__adir_mkdirs(k->d, weights))))
		goto out;
	if (n_items) {
		if (!(order = mld__malloc(n_items * sizeof *order))) {
			rc = MLD_ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < n_items; i++)
			order[i] = &items[i];
		qsort(order, n_items, sizeof *order, cmp_item);
		int fd;
		if (k->mem ? (rc = mld__blobwriter_open_mem(&bw, &k->mem->weights, wname))
		           : ((rc = mld__adir_create(k->d, wbin, &fd)) || (rc = mld__blobwriter_open(&bw, fd, wname))))
			goto out;
		if (k->mem)
			k->mem->has_weights = true;
		uint64_t off = 0;
		mld_digest *dig = info ? info->digests : NULL, last = {{0}};
		for (size_t i = 0; i < n_items; i++) {
			mld__blob_item *it = order[i];
			if (i == 0 || cmp_item(&order[i - 1], &order[i]) != 0) {
				rc = dig ? mld__blobwriter_add_hashed(bw, &off, it->dtype, it->data, it->size,
				                                      it->padding_bits, &last)
				         : mld__blobwriter_add(bw, &off, it->dtype, it->data, it->size,
				                               it->padding_bits);
				if (rc)
					goto out;
				if (info && info->written)
					info->written(info->ctx, it);
			}
			if (dig)
				dig[it - items] = last;
			mil_value *v = it->v;
			if (v->blobfilevalue->filename != protobuf_c_empty_string)
				mld__free(v->blobfilevalue->filename); /* a copy's may be in its arena */
			if (!(v->blobfilevalue->filename = mld__strdup(WEIGHT_FILE_NAME))) {
				rc = MLD_ENOMEM;
				goto out;
			}
			v->blobfilevalue->offset = off;
		}
		if (info)
			info->weights_len = mld__blobwriter_size(bw);
		if ((rc = mld__blobwriter_finish(bw)))
			goto out;
	}
	size_t mlen = core_ml__specification__model__get_packed_size(model);
	if (!(mbytes = mld__malloc(mlen))) {
		rc = MLD_ENOMEM;
		goto out;
	}
	core_ml__specification__model__pack(model, mbytes);
	if (info)
		mld__hash128(info->model.bytes, mbytes, mlen);
	if (!(rc = sink_file(k, model_rel, k->mem ? &k->mem->model : NULL, mbytes, mlen)))
		rc = write_manifest(k, manifest);
out:
	mld__blobwriter_free(bw);
	free(order);
	free(mbytes);
	free(weights);
	free(wbin);
	free(model_rel);
	free(manifest);
	free(wname);
	return rc;
}

int mld__write_package_into(mld__adir *d, const char *dir, mil_model *model, mld__blob_item *items, size_t n_items,
                            const char *display, mld__write_info *info)
{
	sink k = {d, NULL};
	return write_to(&k, dir, model, items, n_items, display, info);
}

int mld__write_package_mem(mil_model *model, mld__blob_item *items, size_t n_items, const char *display,
                           mld__pkgmem *out)
{
	memset(out, 0, sizeof *out);
	sink k = {NULL, out};
	int rc = write_to(&k, "", model, items, n_items, display, NULL);
	if (rc)
		mld__pkgmem_free(out);
	return rc;
}

void mld__pkgmem_free(mld__pkgmem *m)
{
	mld__buf_free(&m->model);
	mld__buf_free(&m->weights);
	mld__buf_free(&m->manifest);
	m->has_weights = false;
}

int mld__write_package(mil_model *model, mld__blob_item *items, size_t n_items, const char *path, unsigned flags)
{
	size_t plen = strlen(path);
	while (plen > 1 && path[plen - 1] == '/')
		plen--;
	if (plen < 10 || strncmp(path + plen - 10, ".mlpackage", 10))
		return mld__err(MLD_EUSAGE, "%s: the output must end in .mlpackage", path);
	struct stat st;
	if (!(flags & MLD_WRITE_REPLACE) && lstat(path, &st) == 0) /* before any work */
		return mld__err(MLD_EEXISTS, "%s: already exists (not replaced)", path);
	mld__adir *d = NULL;
	int rc = mld__adir_open(&d, path);
	if (!rc && !(rc = mld__write_package_into(d, "", model, items, n_items, path, NULL)))
		rc = mld__adir_commit(d, flags & MLD_WRITE_REPLACE);
	mld__adir_free(d); /* removes the temp tree unless committed: nothing half-written stays */
	return rc;
}

/* ---- round trip of an opened package ------------------------------------------- */

static int package_write(const mld_package *pkg, const char *path, unsigned flags, mld__pkgmem *mem)
{
	mil_model *copy = NULL;
	if (mil_model_unpack(&copy, pkg->model_bytes, pkg->model_len, mld_package_path(pkg)))
		return mld__err_prefix("cannot re-read the model");
	mil_value **vals = NULL;
	size_t n = 0;
	mld__blob_item *items = NULL;
	char **files = NULL;
	size_t n_files = 0;
	int rc = mld__model_blob_values(&vals, &n, copy);
	if (rc)
		goto out;
	if (n && (!(items = mld__calloc(n, sizeof *items)) || !(files = mld__calloc(n, sizeof *files)))) {
		rc = MLD_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		mil_value *v = vals[i];
		const uint8_t *map;
		uint64_t len;
		char *disp = NULL;
		mld__blob_view bv;
		mld_dtype dt;
		unsigned rank;
		uint64_t shape[MLD_MAX_RANK], count;
		if ((rc = mil_tensor_shape(v->type, &dt, &rank, shape, &count, "blob value")) ||
		    (rc = mld__package_blobfile(pkg, v->blobfilevalue->filename, &map, &len, &disp)))
			goto out;
		rc = mld__blobfile_read(&bv, map, len, v->blobfilevalue->offset, dt, disp);
		free(disp);
		if (rc)
			goto out;
		/* Key: (source file, offset) keeps distinct source blobs distinct and in source order. */
		size_t f = 0;
		while (f < n_files && strcmp(files[f], v->blobfilevalue->filename))
			f++;
		if (f == n_files)
			files[n_files++] = v->blobfilevalue->filename;
		items[i] =
			(mld__blob_item){v, f, v->blobfilevalue->offset, bv.data, bv.size, bv.padding_bits, bv.dtype};
	}
	rc = mem ? mld__write_package_mem(copy, items, n, mld_package_path(pkg), mem)
	         : mld__write_package(copy, items, n, path, flags);
out:
	free(items);
	free(vals);
	free(files);
	core_ml__specification__model__free_unpacked(copy, NULL);
	return rc;
}

int mld_package_write(const mld_package *pkg, const char *path, unsigned flags)
{
	mld__err_clear();
	return package_write(pkg, path, flags, NULL);
}

int mld__package_write_mem(const mld_package *pkg, mld__pkgmem *out)
{
	mld__err_clear();
	return package_write(pkg, NULL, 0, out);
}
