#include "pkgwrite.h"
#include "pbfree.h"

#include "../core/atomic.h"
#include "../core/hash.h"
#include "../io/blobfile.h"
#include "../io/package.h"

#include <jansson.h>
#include <stdlib.h>
#include <sys/stat.h>

#define WEIGHT_FILE_NAME MLD_WEIGHT_FILE_NAME
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

/* The paths of a package written as `dir` in a tree; wname names its weight file in
 * messages. */
typedef struct ppaths {
	char *weights, *wbin, *model, *manifest, *wname;
} ppaths;

static void paths_free(ppaths *p)
{
	free(p->weights);
	free(p->wbin);
	free(p->model);
	free(p->manifest);
	free(p->wname);
}

/* The paths, and (into a tree) the weights directory. */
static int paths_new(ppaths *p, sink *k, const char *dir, const char *display)
{
	const char *slash = *dir ? "/" : "";
	p->weights = mld__sprintf("%s%sData/com.apple.CoreML/weights", dir, slash);
	p->wbin = mld__sprintf("%s%s" WEIGHT_REL, dir, slash);
	p->model = mld__sprintf("%s%sData/com.apple.CoreML/model.mlmodel", dir, slash);
	p->manifest = mld__sprintf("%s%sManifest.json", dir, slash);
	p->wname = mld__sprintf("%s/" WEIGHT_REL, display);
	if (!p->weights || !p->wbin || !p->model || !p->manifest || !p->wname)
		return MLD_ENOMEM;
	return k->mem ? 0 : mld__adir_mkdirs(k->d, p->weights);
}

static int open_weights(sink *k, const ppaths *p, mld__blobwriter **bw)
{
	int fd, rc;
	if (k->mem) {
		k->mem->has_weights = true;
		return mld__blobwriter_open_mem(bw, &k->mem->weights, p->wname);
	}
	return (rc = mld__adir_create(k->d, p->wbin, &fd)) ? rc : mld__blobwriter_open(bw, fd, p->wname);
}

/* One distinct blob appended (its digest into *dig, if dig) and reported written. */
static int add_one(mld__blobwriter *bw, uint64_t *off, mld_dtype dt, const uint8_t *data, uint64_t size, uint32_t pad,
                   mld_digest *dig, mld__write_info *info)
{
	int rc = dig ? mld__blobwriter_add_hashed(bw, off, dt, data, size, pad, dig)
	             : mld__blobwriter_add(bw, off, dt, data, size, pad);
	if (!rc && info && info->written)
		info->written(info->ctx, data, size);
	return rc;
}

static void hash_seen(void *ctx, const void *data, size_t len) { mld__hash_update(ctx, data, len); }

/* model.mlmodel, its bytes in n pieces, and Manifest.json, once weight.bin is written.
 * The digest is of the bytes as they are written: a scratch file's are only ever in
 * memory a chunk at a time. Into memory, every piece is in memory. */
static int write_model(sink *k, const ppaths *p, const mld__piece *model, size_t n, mld__write_info *info)
{
	int rc = 0;
	mld__hash h;
	mld__hash_reset(&h);
	if (!k->mem)
		rc = mld__adir_write_pieces(k->d, p->model, model, n, info ? hash_seen : NULL, &h);
	for (size_t i = 0; k->mem && i < n && !rc; i++)
		rc = model[i].data ? mld__buf_append(&k->mem->model, model[i].data, (size_t)model[i].len)
		                   : mld__err(MLD_ERROR, "internal: a scratch file's piece written into memory");
	if (!rc && info)
		mld__hash_digest(info->model.bytes, &h);
	return rc ? rc : write_manifest(k, p->manifest);
}

static int write_to(sink *k, const char *dir, mil_model *model, mld__blob_item *items, size_t n_items,
                    const char *display)
{
	mld__blob_item **order = NULL;
	mld__blobwriter *bw = NULL;
	uint8_t *mbytes = NULL;
	ppaths p = {0};
	int rc = paths_new(&p, k, dir, display);
	if (rc)
		goto out;
	if (n_items) {
		if (!(order = mld__malloc(n_items * sizeof *order))) {
			rc = MLD_ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < n_items; i++)
			order[i] = &items[i];
		qsort(order, n_items, sizeof *order, cmp_item);
		if ((rc = open_weights(k, &p, &bw)))
			goto out;
		uint64_t off = 0;
		for (size_t i = 0; i < n_items; i++) {
			mld__blob_item *it = order[i];
			if ((i == 0 || cmp_item(&order[i - 1], &order[i]) != 0) &&
			    (rc = add_one(bw, &off, it->dtype, it->data, it->size, it->padding_bits, NULL, NULL)))
				goto out;
			mil_value *v = it->v;
			if (v->blobfilevalue->filename != protobuf_c_empty_string)
				mld__free(v->blobfilevalue->filename); /* a copy's may be in its arena */
			if (!(v->blobfilevalue->filename = mld__strdup(WEIGHT_FILE_NAME))) {
				rc = MLD_ENOMEM;
				goto out;
			}
			v->blobfilevalue->offset = off;
		}
		if ((rc = mld__blobwriter_finish(bw)))
			goto out;
	}
	size_t mlen = core_ml__specification__model__get_packed_size(model);
	if (!(mbytes = mld__malloc(mlen))) {
		rc = MLD_ENOMEM;
		goto out;
	}
	core_ml__specification__model__pack(model, mbytes);
	rc = write_model(k, &p, &(mld__piece){.data = mbytes, .len = mlen}, 1, NULL);
out:
	mld__blobwriter_free(bw);
	free(order);
	free(mbytes);
	paths_free(&p);
	return rc;
}

int mld__write_packed_into(mld__adir *d, const char *dir, const mld__piece *model, size_t n_model,
                           const mld__wblob *blobs, size_t n_blobs, const char *display, mld__write_info *info)
{
	sink k = {d, NULL};
	mld__blobwriter *bw = NULL;
	ppaths p = {0};
	int rc = paths_new(&p, &k, dir, display);
	if (!rc && n_blobs)
		rc = open_weights(&k, &p, &bw);
	for (size_t i = 0; i < n_blobs && !rc; i++) {
		const mld__wblob *b = &blobs[i];
		uint64_t off;
		rc = add_one(bw, &off, b->dtype, b->data, b->size, b->padding_bits,
		             info && info->digests ? &info->digests[i] : NULL, info);
		if (!rc && off != b->offset)
			rc = mld__err(MLD_ERROR, "%s: blob %zu written at offset %llu, but the model says %llu",
			              p.wname, i, (unsigned long long)off, (unsigned long long)b->offset);
	}
	if (!rc && n_blobs) {
		if (info)
			info->weights_len = mld__blobwriter_size(bw);
		rc = mld__blobwriter_finish(bw);
	}
	if (!rc)
		rc = write_model(&k, &p, model, n_model, info);
	mld__blobwriter_free(bw);
	paths_free(&p);
	return rc;
}

/* ---- a Model packed a piece at a time ---------------------------------------------- */

typedef CoreML__Specification__MILSpec__Program__FunctionsEntry fn_entry;

static void put_varint(uint8_t *b, size_t *n, uint64_t v)
{
	for (; v >= 0x80; v >>= 7)
		b[(*n)++] = (uint8_t)(v | 0x80);
	b[(*n)++] = (uint8_t)v;
}

/* n more bytes at the end of *b, for the caller to fill. */
static uint8_t *buf_grow(mld__buf *b, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap * 2 > b->len + n ? b->cap * 2 : b->len + n;
		uint8_t *d = mld__realloc(b->data, cap);
		if (!d)
			return NULL;
		b->data = d;
		b->cap = cap;
	}
	b->len += n;
	return b->data + b->len - n;
}

int mld__program_entry_pack(mld__buf *out, const char *key, const mil_function *fn)
{
	fn_entry e;
	core_ml__specification__milspec__program__functions_entry__init(&e);
	e.key = (char *)key;
	e.value = (mil_function *)fn;
	size_t len = protobuf_c_message_get_packed_size(&e.base), h = 0;
	uint8_t hdr[11];
	hdr[h++] = 2 << 3 | PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED; /* Program.functions */
	put_varint(hdr, &h, len);
	uint8_t *p = buf_grow(out, h + len);
	if (!p)
		return MLD_ENOMEM;
	memcpy(p, hdr, h);
	protobuf_c_message_pack(&e.base, p + h);
	return 0;
}

static bool ascending(const ProtobufCMessageDescriptor *d)
{
	for (unsigned i = 1; i < d->n_fields; i++)
		if (d->fields[i].id <= d->fields[i - 1].id)
			return false;
	return true;
}

/* What the splice rests on: fields packed in ascending number, mlProgram the Model's
 * last field, and the Program's version and functions its first two. */
static bool splice_valid(void)
{
	const ProtobufCMessageDescriptor *m = &core_ml__specification__model__descriptor,
					 *p = &core_ml__specification__milspec__program__descriptor;
	return ascending(m) && ascending(p) && m->fields[m->n_fields - 1].id == 502 &&
	       !strcmp(m->fields[m->n_fields - 1].name, "mlProgram") && p->n_fields >= 2 && p->fields[0].id == 1 &&
	       !strcmp(p->fields[0].name, "version") && p->fields[1].id == 2 && !strcmp(p->fields[1].name, "functions");
}

int mld__model_splice(mld__buf *pre, mld__buf *post, const mil_model *head, const mil_program *rest,
                      uint64_t entries_len)
{
	if (!splice_valid() || head->type_case != CORE_ML__SPECIFICATION__MODEL__TYPE__NOT_SET ||
	    head->base.n_unknown_fields || rest->n_functions || rest->base.n_unknown_fields)
		return mld__err(MLD_ERROR, "internal: this Model cannot be packed a piece at a time");
	mil_program ver, tail = *rest;
	core_ml__specification__milspec__program__init(&ver);
	ver.version = rest->version;
	tail.version = 0; /* proto3: a zero is not packed */
	size_t lv = core_ml__specification__milspec__program__get_packed_size(&ver),
	       lt = core_ml__specification__milspec__program__get_packed_size(&tail),
	       lh = core_ml__specification__model__get_packed_size(head), h = 0;
	uint64_t lp = lv + lt + entries_len;
	uint8_t hdr[20];
	put_varint(hdr, &h, 502 << 3 | PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED); /* Model.mlProgram */
	put_varint(hdr, &h, lp);
	uint8_t *o = buf_grow(pre, lh + h + lv), *t = o && lt ? buf_grow(post, lt) : NULL;
	if (!o || (lt && !t))
		return MLD_ENOMEM;
	o += core_ml__specification__model__pack(head, o);
	memcpy(o, hdr, h);
	core_ml__specification__milspec__program__pack(&ver, o + h);
	if (lt) /* nothing after the functions: no attributes, no docString */
		core_ml__specification__milspec__program__pack(&tail, t);
	return 0;
}

int mld__write_package_mem(mil_model *model, mld__blob_item *items, size_t n_items, const char *display,
                           mld__pkgmem *out)
{
	memset(out, 0, sizeof *out);
	sink k = {NULL, out};
	int rc = write_to(&k, "", model, items, n_items, display);
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
	sink k = {d, NULL};
	if (!rc && !(rc = write_to(&k, "", model, items, n_items, path)))
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
