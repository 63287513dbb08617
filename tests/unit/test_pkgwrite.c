/* The package writer: a model with two blobs written through mld__write_package(),
 * read back with mld_package_open(), and the atomic-output rules; a model packed a
 * piece at a time (mld__model_splice) and written with its blobs already placed
 * (mld__write_packed_into). */
#include "testutil.h"

#include "core/hash.h"
#include "write/pkgwrite.h"

#include <jansson.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#define WEIGHT_FILE "@model_path/weights/weight.bin"

typedef struct fixture {
	char *dir;        /* temp dir holding the outputs */
	mil_model *model; /* protobuf-c allocated (unpacked), as the writer expects */
	mil_value **vals;
	size_t n_vals;
	mld__blob_item items[8];
} fixture;

/* Pack an arena-built model, append Model field 900 (varint 42) as an unknown field,
 * and unpack it with the protobuf-c allocator. */
static mil_model *to_heap(const mil_model *m)
{
	size_t n = core_ml__specification__model__get_packed_size(m);
	uint8_t *buf = malloc(n + 3);
	core_ml__specification__model__pack(m, buf);
	memcpy(buf + n, "\xA0\x38\x2A", 3);
	mil_model *out = core_ml__specification__model__unpack(NULL, n + 3, buf);
	assert_non_null(out);
	free(buf);
	tu_arena_free();
	return out;
}

/* f_a: const w (fp16 [4]), const q (uint4 [5]); f_b: const w (fp16 [4]), the same
 * blob as f_a's w. The blob values point at stale names and offsets on purpose:
 * the writer must assign the canonical ones. */
static mil_model *two_blob_model(void)
{
	mil_op *a_ops[2] = {
		tu_const_op("w", tu_blob_value(MLD_DT_FP16, 1, (uint64_t[]){4}, "@model_path/weights/old.bin", 4096)),
		tu_const_op("q", tu_blob_value(MLD_DT_UINT4, 1, (uint64_t[]){5}, "@model_path/weights/old.bin", 7)),
	};
	mil_op *b_ops[1] = {
		tu_const_op("w", tu_blob_value(MLD_DT_FP16, 1, (uint64_t[]){4}, "@model_path/weights/other.bin", 64)),
	};
	mil_function *fns[2] = {tu_function("CoreML8", tu_block(a_ops, 2, "w")),
	                        tu_function("CoreML8", tu_block(b_ops, 1, "w"))};
	const char *names[2] = {"f_a", "f_b"};
	return to_heap(tu_ml_program(9, 2, names, fns));
}

/* Items for every blob value: fp16 ones are blob A (key 1), uint4 ones blob B (key 2). */
static void make_items(fixture *f, mld_dtype bad_dtype)
{
	free(f->vals);
	assert_ok(mld__model_blob_values(&f->vals, &f->n_vals, f->model));
	assert_true(f->n_vals <= 8);
	for (size_t i = 0; i < f->n_vals; i++) {
		mil_value *v = f->vals[i];
		assert_int_equal(v->value_case, MIL_VALUE_BLOB);
		mld_dtype dt = (mld_dtype)v->type->tensortype->datatype;
		if (dt == MLD_DT_FP16)
			f->items[i] = (mld__blob_item){v, 0, 1, tu_example_fp16_data, 8, 0, MLD_DT_FP16};
		else
			f->items[i] =
				(mld__blob_item){v, 0, 2, tu_example_uint4_data, 3, 4, bad_dtype ? bad_dtype : dt};
	}
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	f->dir = tu_tempdir();
	f->model = two_blob_model();
	make_items(f, MLD_DT_INVALID);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	tu_rmtree(f->dir);
	free(f->dir);
	free(f->vals);
	core_ml__specification__model__free_unpacked(f->model, NULL);
	free(f);
	tu_arena_free();
	return 0;
}

static char *child(const char *dir, const char *rel) { return tu_fmt("%s/%s", dir, rel); }

static void assert_file_equals(const char *path, const uint8_t *want, size_t len)
{
	size_t n;
	uint8_t *got = tu_read_file(path, &n);
	assert_int_equal(n, len);
	assert_memory_equal(got, want, len);
	free(got);
}

static void check_manifest(const char *pkg)
{
	char *path = child(pkg, "Manifest.json");
	json_error_t je;
	json_t *root = json_load_file(path, 0, &je);
	if (!root)
		fail_msg("%s: %s", path, je.text);
	assert_string_equal(json_string_value(json_object_get(root, "fileFormatVersion")), "1.0.0");
	json_t *items = json_object_get(root, "itemInfoEntries");
	assert_true(json_is_object(items));
	assert_int_equal(json_object_size(items), 2);
	const char *root_id = json_string_value(json_object_get(root, "rootModelIdentifier"));
	assert_non_null(root_id);
	const char *key;
	json_t *it;
	int seen_model = 0, seen_weights = 0;
	json_object_foreach(items, key, it)
	{
		assert_int_equal(strlen(key), 36); /* UUID-shaped */
		assert_string_equal(json_string_value(json_object_get(it, "author")), "com.apple.CoreML");
		const char *name = json_string_value(json_object_get(it, "name"));
		if (!strcmp(name, "model.mlmodel")) {
			seen_model++;
			assert_string_equal(key, root_id);
			assert_string_equal(json_string_value(json_object_get(it, "path")),
			                    "com.apple.CoreML/model.mlmodel");
			assert_string_equal(json_string_value(json_object_get(it, "description")),
			                    "CoreML Model Specification");
		} else if (!strcmp(name, "weights")) {
			seen_weights++;
			assert_string_not_equal(key, root_id);
			assert_string_equal(json_string_value(json_object_get(it, "path")), "com.apple.CoreML/weights");
			assert_string_equal(json_string_value(json_object_get(it, "description")),
			                    "CoreML Model Weights");
		} else {
			fail_msg("unexpected manifest item \"%s\"", name);
		}
	}
	assert_int_equal(seen_model, 1);
	assert_int_equal(seen_weights, 1);
	json_decref(root);
	free(path);
}

static void check_weight(const mld_package *pkg, const char *fn, const char *name, mld_dtype dt, uint64_t n,
                         uint64_t offset, const double *values)
{
	const mld_weight *w = NULL;
	assert_ok(mld_package_find_weight(&w, pkg, fn, name));
	assert_string_equal(mld_weight_function(w), fn);
	assert_string_equal(mld_weight_name(w), name);
	assert_string_equal(mld_weight_chain(w), "const");
	assert_int_equal(mld_weight_dtype(w), dt);
	assert_int_equal(mld_weight_rank(w), 1);
	assert_int_equal(mld_weight_shape(w)[0], n);
	assert_int_equal(mld_weight_element_count(w), n);
	assert_int_equal(mld_weight_blob_count(w), 1);
	const mld_blob_ref *b = mld_weight_blob(w, 0);
	assert_string_equal(b->param, "val");
	assert_string_equal(b->op, "const");
	assert_string_equal(b->file, WEIGHT_FILE);
	assert_int_equal(b->offset, offset);
	assert_int_equal(b->data_offset, offset + 64);
	assert_int_equal(b->dtype, dt);
	assert_int_equal(mld_weight_encoded_bytes(w), b->size);
	mld_tensor *t = NULL;
	assert_ok(mld_weight_decode(&t, pkg, w));
	tu_assert_shape(t, dt, 1, (uint64_t[]){n});
	tu_assert_values(t, values, n);
	mld_tensor_free(t);
}

static void test_write_and_read_back(void **state)
{
	fixture *f = *state;
	char *out = child(f->dir, "model.mlpackage");
	assert_int_equal(f->n_vals, 3);
	assert_ok(mld__write_package(f->model, f->items, f->n_vals, out, 0));

	/* blob values now carry the standard file name and their canonical offsets */
	for (size_t i = 0; i < f->n_vals; i++) {
		assert_string_equal(f->vals[i]->blobfilevalue->filename, WEIGHT_FILE);
		assert_int_equal(f->vals[i]->blobfilevalue->offset, f->items[i].key_lo == 1 ? 64 : 192);
	}

	/* weight.bin: the §3.7 file exactly; A stored once though two functions use it */
	char *wbin = child(out, "Data/com.apple.CoreML/weights/weight.bin");
	assert_file_equals(wbin, tu_example_blobfile, sizeof tu_example_blobfile);

	/* model.mlmodel: the updated model, with the unknown field still at the end */
	size_t mlen = core_ml__specification__model__get_packed_size(f->model);
	uint8_t *mbytes = malloc(mlen);
	core_ml__specification__model__pack(f->model, mbytes);
	char *mfile = child(out, "Data/com.apple.CoreML/model.mlmodel");
	assert_file_equals(mfile, mbytes, mlen);
	assert_memory_equal(mbytes + mlen - 3, "\xA0\x38\x2A", 3);
	free(mbytes);

	check_manifest(out);
	/* nothing else beside the output */
	assert_int_equal(tu_count_entries(f->dir, ".mldtmp-"), 0);
	assert_int_equal(tu_count_entries(f->dir, ""), 1);

	/* read it back */
	mld_package *pkg = NULL;
	assert_ok(mld_package_open(&pkg, out));
	assert_string_equal(mld_package_path(pkg), out);
	assert_int_equal(mld_package_spec_version(pkg), 9);
	assert_int_equal(mld_package_function_count(pkg), 2);
	const char *n0 = mld_package_function_name(pkg, 0), *n1 = mld_package_function_name(pkg, 1);
	assert_true((!strcmp(n0, "f_a") && !strcmp(n1, "f_b")) || (!strcmp(n0, "f_b") && !strcmp(n1, "f_a")));
	assert_null(mld_package_function_name(pkg, 2));
	assert_int_equal(mld_package_weight_count(pkg), 3);
	assert_null(mld_package_weight(pkg, 3));

	check_weight(pkg, "f_a", "w", MLD_DT_FP16, 4, 64, (double[]){1, 2, -0.5, 0});
	check_weight(pkg, "f_a", "q", MLD_DT_UINT4, 5, 192, (double[]){1, 2, 3, 15, 7});
	check_weight(pkg, "f_b", "w", MLD_DT_FP16, 4, 64, (double[]){1, 2, -0.5, 0});
	const mld_weight *q = NULL;
	assert_ok(mld_package_find_weight(&q, pkg, "f_a", "q"));
	assert_int_equal(mld_weight_blob(q, 0)->padding_bits, 4);
	assert_int_equal(mld_weight_blob(q, 0)->size, 3);

	/* the shared blob: equal content and encoding digests in both functions */
	const mld_weight *wa = NULL, *wb = NULL;
	assert_ok(mld_package_find_weight(&wa, pkg, "f_a", "w"));
	assert_ok(mld_package_find_weight(&wb, pkg, "f_b", "w"));
	mld_digest ea, eb, eq;
	assert_ok(mld_weight_encoding_digest(&ea, pkg, wa));
	assert_ok(mld_weight_encoding_digest(&eb, pkg, wb));
	assert_ok(mld_weight_encoding_digest(&eq, pkg, q));
	assert_memory_equal(ea.bytes, eb.bytes, 16);
	assert_memory_not_equal(ea.bytes, eq.bytes, 16);

	/* lookups that must fail */
	const mld_weight *none = NULL;
	assert_mld_err(mld_package_find_weight(&none, pkg, "f_b", "q"), MLD_ENOTFOUND, "\"q\"");
	assert_mld_err(mld_package_find_weight(&none, pkg, "nope", "w"), MLD_ENOTFOUND, "f_a");
	assert_null(none);

	uint64_t size = 0;
	mld_digest wd;
	assert_ok(mld_package_weights_digest(&wd, &size, pkg));
	assert_int_equal(size, 259);

	/* an opened package writes back byte for byte */
	char *out2 = child(f->dir, "copy.mlpackage");
	assert_ok(mld_package_write(pkg, out2, 0));
	char *wbin2 = child(out2, "Data/com.apple.CoreML/weights/weight.bin");
	char *mfile2 = child(out2, "Data/com.apple.CoreML/model.mlmodel");
	size_t l1, l2;
	uint8_t *m1 = tu_read_file(mfile, &l1), *m2 = tu_read_file(mfile2, &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(m1, m2, l1);
	free(m1);
	free(m2);
	assert_file_equals(wbin2, tu_example_blobfile, sizeof tu_example_blobfile);
	check_manifest(out2);
	mld_package_free(pkg);
	mld_package_free(NULL);

	free(wbin2);
	free(mfile2);
	free(out2);
	free(mfile);
	free(wbin);
	free(out);
}

static void test_replace_rules(void **state)
{
	fixture *f = *state;
	char *out = child(f->dir, "model.mlpackage");
	char *wbin = child(out, "Data/com.apple.CoreML/weights/weight.bin");
	assert_ok(mld__write_package(f->model, f->items, f->n_vals, out, 0));

	/* an existing output is not replaced without MLD_WRITE_REPLACE */
	assert_mld_err(mld__write_package(f->model, f->items, f->n_vals, out, 0), MLD_EEXISTS, out);
	assert_non_null(strstr(mld_error_last(), "exists"));
	assert_file_equals(wbin, tu_example_blobfile, sizeof tu_example_blobfile);
	assert_int_equal(tu_count_entries(f->dir, ".mldtmp-"), 0);
	assert_int_equal(tu_count_entries(f->dir, ""), 1);

	/* an existing regular file in the way counts too */
	char *file = child(f->dir, "file.mlpackage");
	tu_write_file(file, "x", 1);
	assert_mld_err(mld__write_package(f->model, f->items, f->n_vals, file, 0), MLD_EEXISTS, file);
	assert_int_equal(tu_count_entries(f->dir, ".mldtmp-"), 0);

	/* with MLD_WRITE_REPLACE: a different, single-function model takes its place */
	mil_op *ops[1] = {
		tu_const_op("q", tu_blob_value(MLD_DT_UINT4, 1, (uint64_t[]){5}, WEIGHT_FILE, 192)),
	};
	mil_function *fn = tu_function("CoreML8", tu_block(ops, 1, "q"));
	const char *names[1] = {"main"};
	core_ml__specification__model__free_unpacked(f->model, NULL);
	f->model = to_heap(tu_ml_program(9, 1, names, &fn));
	make_items(f, MLD_DT_INVALID);
	assert_int_equal(f->n_vals, 1);
	assert_ok(mld__write_package(f->model, f->items, f->n_vals, out, MLD_WRITE_REPLACE));
	assert_int_equal(f->vals[0]->blobfilevalue->offset, 64);
	mld_package *pkg = NULL;
	assert_ok(mld_package_open(&pkg, out));
	assert_int_equal(mld_package_function_count(pkg), 1);
	assert_string_equal(mld_package_function_name(pkg, 0), "main");
	assert_int_equal(mld_package_weight_count(pkg), 1);
	mld_package_free(pkg);
	size_t n;
	uint8_t *w = tu_read_file(wbin, &n);
	assert_int_equal(n, 64 + 64 + 3);
	assert_int_equal(mld__rd32(w), 1);
	assert_memory_equal(w + 128, tu_example_uint4_data, 3);
	free(w);
	/* a replaced file, too */
	assert_ok(mld__write_package(f->model, f->items, f->n_vals, file, MLD_WRITE_REPLACE));
	assert_ok(mld_package_open(&pkg, file));
	mld_package_free(pkg);
	/* no temp or set-aside directories remain */
	assert_int_equal(tu_count_entries(f->dir, ".mldtmp-"), 0);
	assert_int_equal(tu_count_entries(f->dir, "-old"), 0);
	assert_int_equal(tu_count_entries(f->dir, ""), 2);
	free(file);
	free(wbin);
	free(out);
}

static void test_failed_writes_leave_nothing(void **state)
{
	fixture *f = *state;
	/* the output's parent does not exist */
	char *missing = child(f->dir, "no/such/parent");
	char *out = tu_fmt("%s/model.mlpackage", missing);
	int rc = mld__write_package(f->model, f->items, f->n_vals, out, 0);
	assert_int_not_equal(rc, 0);
	assert_non_null(strstr(mld_error_last(), "no/such/parent"));
	assert_false(tu_exists(missing));
	assert_int_equal(tu_count_entries(f->dir, ""), 0);
	free(out);

	/* a read-only parent (permissions do not bind root, so only checked otherwise) */
	if (geteuid() != 0) {
		char *ro = child(f->dir, "ro");
		assert_int_equal(mkdir(ro, 0555), 0);
		out = tu_fmt("%s/model.mlpackage", ro);
		assert_mld_err(mld__write_package(f->model, f->items, f->n_vals, out, 0), MLD_EIO, ro);
		assert_int_equal(tu_count_entries(ro, ""), 0);
		assert_int_equal(chmod(ro, 0755), 0);
		assert_int_equal(rmdir(ro), 0);
		free(out);
		free(ro);
	}

	/* not an .mlpackage name */
	out = child(f->dir, "model.pkg");
	assert_mld_err(mld__write_package(f->model, f->items, f->n_vals, out, 0), MLD_EUSAGE, ".mlpackage");
	assert_false(tu_exists(out));
	free(out);

	/* a failure after the temp directory exists (a blob dtype with no blob code):
	 * the temp directory is removed and the error is kept */
	make_items(f, MLD_DT_BOOL);
	out = child(f->dir, "model.mlpackage");
	assert_mld_err(mld__write_package(f->model, f->items, f->n_vals, out, 0), MLD_EUNSUPPORTED, "bool");
	assert_false(tu_exists(out));
	assert_int_equal(tu_count_entries(f->dir, ""), 0);

	/* the same failure while replacing keeps the old output intact */
	make_items(f, MLD_DT_INVALID);
	assert_ok(mld__write_package(f->model, f->items, f->n_vals, out, 0));
	make_items(f, MLD_DT_BOOL);
	assert_mld_err(mld__write_package(f->model, f->items, f->n_vals, out, MLD_WRITE_REPLACE), MLD_EUNSUPPORTED,
	               NULL);
	char *wbin = child(out, "Data/com.apple.CoreML/weights/weight.bin");
	assert_file_equals(wbin, tu_example_blobfile, sizeof tu_example_blobfile);
	assert_int_equal(tu_count_entries(f->dir, ""), 1);
	free(wbin);
	free(out);
	free(missing);
}

/* packages.weights_digest as mld_store_index records it for `pkg` in a new store,
 * and the build stamps with and without that store, which must agree. */
static void index_identity(uint8_t out[16], const char *dir, const char *pkg, int k)
{
	char *db = tu_fmt("%s/identity%d.db", dir, k);
	mld_store *st = NULL;
	assert_ok(mld_store_open(&st, db));
	mld_index_stats stats = {0};
	assert_ok(mld_store_index(st, pkg, &stats, NULL, NULL));
	char *with = NULL, *without = NULL;
	assert_ok(mld_package_stamp(&with, NULL, pkg, st));
	assert_ok(mld_package_stamp(&without, NULL, pkg, NULL));
	assert_string_equal(with, without);
	free(with);
	free(without);
	mld_store_free(st);
	sqlite3 *h = NULL;
	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *s = NULL;
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT weights_digest FROM packages", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_bytes(s, 0), 16);
	memcpy(out, sqlite3_column_blob(s, 0), 16);
	sqlite3_finalize(s);
	sqlite3_close(h);
	free(db);
}

/* Indexing hashes each stored byte once, so the weights identity it records comes
 * from the weights' encoding digests plus the bytes no blob holds: a change of any
 * byte of weight.bin - blob data, header, metadata, fill - still changes it. */
static void test_index_identity_sees_every_byte(void **state)
{
	fixture *f = *state;
	char *out = child(f->dir, "model.mlpackage");
	assert_ok(mld__write_package(f->model, f->items, f->n_vals, out, 0));
	char *wbin = child(out, "Data/com.apple.CoreML/weights/weight.bin");
	/* header reserved, A's metadata reserved, A's data, the fill after A, B's
	 * metadata reserved, B's data */
	const size_t flips[] = {0x30, 0x70, 0x81, 0x90, 0xE8, 0x100};
	enum { N = sizeof flips / sizeof *flips };
	uint8_t ids[N + 2][16];
	index_identity(ids[0], f->dir, out, 0);
	for (size_t k = 0; k < N; k++) {
		uint8_t bin[sizeof tu_example_blobfile];
		memcpy(bin, tu_example_blobfile, sizeof bin);
		bin[flips[k]] ^= 0x01;
		tu_write_file(wbin, bin, sizeof bin);
		index_identity(ids[k + 1], f->dir, out, (int)k + 1);
		for (size_t j = 0; j <= k; j++)
			if (!memcmp(ids[k + 1], ids[j], 16))
				fail_msg("flipping byte %#zx of weight.bin left the identity as in case %zu", flips[k],
				         j);
	}
	tu_write_file(wbin, tu_example_blobfile, sizeof tu_example_blobfile);
	index_identity(ids[N + 1], f->dir, out, N + 1);
	assert_memory_equal(ids[N + 1], ids[0], 16);
	free(wbin);
	free(out);
}

static void test_model_without_blobs(void **state)
{
	fixture *f = *state;
	mil_op *ops[1] = {tu_const_op("s", tu_string_value("hello"))};
	mil_function *fn = tu_function("CoreML8", tu_block(ops, 1, NULL));
	const char *names[1] = {"main"};
	mil_model *m = to_heap(tu_ml_program(9, 1, names, &fn));
	char *out = child(f->dir, "empty.mlpackage");
	assert_ok(mld__write_package(m, NULL, 0, out, 0));
	char *wdir = child(out, "Data/com.apple.CoreML/weights");
	char *wbin = child(out, "Data/com.apple.CoreML/weights/weight.bin");
	assert_true(tu_exists(wdir)); /* the weights item exists even with no blobs */
	assert_false(tu_exists(wbin));
	check_manifest(out);
	mld_package *pkg = NULL;
	assert_ok(mld_package_open(&pkg, out));
	assert_int_equal(mld_package_weight_count(pkg), 0);
	mld_package_free(pkg);
	core_ml__specification__model__free_unpacked(m, NULL);
	free(wbin);
	free(wdir);
	free(out);
}

/* ---- a model packed a piece at a time ------------------------------------------------ */

typedef CoreML__Specification__MILSpec__Program__AttributesEntry prog_attr;
typedef CoreML__Specification__MILSpec__Function__AttributesEntry fn_attr;

static prog_attr *prog_attr_new(const char *key, const char *value)
{
	prog_attr *e = tu_alloc(sizeof *e);
	core_ml__specification__milspec__program__attributes_entry__init(e);
	e->key = tu_str(key);
	e->value = tu_string_value(value);
	return e;
}

/* f_a (a blob), f_b, and f_c: f_a's function object under another key, as combine
 * writes an alias; from level 1 metadata and program attributes; at level 2 a program
 * docString and function attributes too. */
static mil_model *splice_model(int level)
{
	mil_op *a_ops[1] = {tu_const_op("w", tu_blob_value(MLD_DT_FP16, 1, (uint64_t[]){4}, WEIGHT_FILE, 64))};
	mil_op *b_ops[1] = {tu_const_op("s", tu_string_value("hello"))};
	mil_function *fns[3] = {tu_function("CoreML8", tu_block(a_ops, 1, "w")),
	                        tu_function("CoreML8", tu_block(b_ops, 1, NULL)), NULL};
	fns[2] = fns[0];
	const char *names[3] = {"f_a", "f_b", "f_c"};
	mil_model *m = tu_ml_program(9, 3, names, fns);
	mil_program *p = m->mlprogram;
	if (!level)
		return m; /* nothing after the functions */
	p->n_attributes = 2;
	p->attributes = tu_alloc(2 * sizeof *p->attributes);
	p->attributes[0] = prog_attr_new("buildInfo", "{\"coremltools-version\": \"8.0\"}");
	p->attributes[1] = prog_attr_new("zz", "last");
	CoreML__Specification__Metadata *md = tu_alloc(sizeof *md);
	core_ml__specification__metadata__init(md);
	md->shortdescription = tu_str("a model");
	md->author = tu_str("someone");
	m->description->metadata = md;
	if (level > 1) {
		p->docstring = tu_str("a program");
		for (size_t i = 0; i < 2; i++) {
			fns[i]->n_attributes = 1;
			fns[i]->attributes = tu_alloc(sizeof *fns[i]->attributes);
			fn_attr *e = tu_alloc(sizeof *e);
			core_ml__specification__milspec__function__attributes_entry__init(e);
			e->key = tu_str("note");
			e->value = tu_string_value(i ? "b" : "a");
			fns[i]->attributes[0] = e;
		}
	}
	return m;
}

/* m packed whole (*len bytes, the caller frees them), and the two parts a splice packs
 * it from: the Model without its program, the program without its functions. */
static uint8_t *split_model(const mil_model *m, size_t *len, mil_model *head, mil_program *rest)
{
	*len = core_ml__specification__model__get_packed_size(m);
	uint8_t *want = malloc(*len);
	assert_non_null(want);
	core_ml__specification__model__pack(m, want);
	*head = *m;
	head->type_case = CORE_ML__SPECIFICATION__MODEL__TYPE__NOT_SET;
	head->mlprogram = NULL;
	*rest = *m->mlprogram;
	rest->n_functions = 0;
	rest->functions = NULL;
	return want;
}

/* The Model without its program, the program without its functions, and the entries
 * packed one by one into two pieces (the first `split` in the first): spliced, the
 * bytes of the whole Model packed at once. */
static void check_splice(const mil_model *m, size_t split)
{
	size_t len;
	mil_model head;
	mil_program rest;
	uint8_t *want = split_model(m, &len, &head, &rest);
	mld__buf ents[2] = {{0}}, pre = {0}, post = {0}, got = {0};
	for (size_t i = 0; i < m->mlprogram->n_functions; i++)
		assert_ok(mld__program_entry_pack(&ents[i < split ? 0 : 1], m->mlprogram->functions[i]->key,
		                                  m->mlprogram->functions[i]->value));
	assert_ok(mld__model_splice(&pre, &post, &head, &rest, ents[0].len + ents[1].len));
	assert_ok(mld__buf_append(&got, pre.data, pre.len));
	assert_ok(mld__buf_append(&got, ents[0].data, ents[0].len));
	assert_ok(mld__buf_append(&got, ents[1].data, ents[1].len));
	assert_ok(mld__buf_append(&got, post.data, post.len));
	assert_int_equal(got.len, len);
	assert_memory_equal(got.data, want, len);
	/* what it cannot splice: a program left in the head, functions left in the rest */
	mld__buf bad = {0};
	assert_mld_err(mld__model_splice(&bad, &bad, m, &rest, 0), MLD_ERROR, "a piece at a time");
	assert_mld_err(mld__model_splice(&bad, &bad, &head, m->mlprogram, 0), MLD_ERROR, "a piece at a time");
	assert_int_equal(bad.len, 0);
	mld__buf_free(&ents[0]);
	mld__buf_free(&ents[1]);
	mld__buf_free(&pre);
	mld__buf_free(&post);
	mld__buf_free(&got);
	free(want);
}

static void test_splice_equals_whole_pack(void **state)
{
	(void)state;
	for (int level = 0; level < 3; level++) {
		mil_model *m = splice_model(level);
		for (size_t split = 0; split <= 3; split++)
			check_splice(m, split);
		tu_arena_free();
	}
}

/* Write the model with its entries packed into `pieces` (pre, 3 entries, post) as the
 * package `out`, committed; its model digest into *dig. */
static void write_model_pieces(const char *out, const mld__piece *pieces, mld_digest *dig)
{
	mld__write_info info = {0};
	mld__adir *d = NULL;
	assert_ok(mld__adir_open(&d, out));
	assert_ok(mld__write_packed_into(d, "", pieces, 5, NULL, 0, out, &info));
	assert_ok(mld__adir_commit(d, false));
	mld__adir_free(d);
	*dig = info.model;
}

/* As combine writes a model: each entry packed, then appended to a scratch file of the
 * output's tree in the order packed (an alias's right after its original's, not in
 * source order), and model.mlmodel written from the scratch's ranges in source order.
 * The package equals the one written with the entries in memory, and the whole Model
 * packed at once; the digest is of those bytes; the scratch file is not in the tree. */
static void test_spilled_model_write(void **state)
{
	fixture *f = *state;
	for (int level = 0; level < 3; level++) {
		mil_model *m = splice_model(level);
		size_t len;
		mil_model head;
		mil_program rest;
		uint8_t *want = split_model(m, &len, &head, &rest);
		char *spilled = tu_fmt("%s/spilled%d.mlpackage", f->dir, level),
		     *inmem = tu_fmt("%s/inmem%d.mlpackage", f->dir, level);
		mld__adir *d = NULL;
		int fd;
		assert_ok(mld__adir_open(&d, spilled));
		assert_ok(mld__adir_scratch(d, ".functions.spill", &fd));
		mld__buf ents[3] = {{0}}, pre = {0}, post = {0}, one = {0};
		mld__piece sp[5] = {{0}}, mp[5] = {{0}};
		uint64_t at = 0;
		static const size_t order[3] = {0, 2, 1}; /* f_c is f_a's alias */
		for (size_t i = 0; i < 3; i++) {
			size_t t = order[i];
			one.len = 0;
			assert_ok(mld__program_entry_pack(&one, m->mlprogram->functions[t]->key,
			                                  m->mlprogram->functions[t]->value));
			assert_int_equal(mld__pwrite_all(fd, one.data, one.len, at), 0);
			assert_ok(mld__buf_append(&ents[t], one.data, one.len));
			sp[1 + t] = (mld__piece){.len = one.len, .fd = fd, .off = at, .name = "scratch"};
			mp[1 + t] = (mld__piece){.data = ents[t].data, .len = ents[t].len};
			at += one.len;
		}
		assert_ok(mld__model_splice(&pre, &post, &head, &rest, at));
		sp[0] = mp[0] = (mld__piece){.data = pre.data, .len = pre.len};
		sp[4] = mp[4] = (mld__piece){.data = post.data, .len = post.len};
		mld__write_info info = {0};
		assert_ok(mld__write_packed_into(d, "", sp, 5, NULL, 0, spilled, &info));
		close(fd);
		assert_ok(mld__adir_commit(d, false));
		mld__adir_free(d);
		mld_digest dig;
		write_model_pieces(inmem, mp, &dig);

		char *a = child(spilled, "Data/com.apple.CoreML/model.mlmodel"),
		     *b = child(inmem, "Data/com.apple.CoreML/model.mlmodel");
		assert_file_equals(a, want, len);
		assert_file_equals(b, want, len);
		uint8_t h[16];
		mld__hash128(h, want, len);
		assert_memory_equal(info.model.bytes, h, 16);
		assert_memory_equal(dig.bytes, h, 16);
		assert_int_equal(tu_count_entries(spilled, ""), 2); /* Manifest.json, Data */
		assert_int_equal(tu_count_entries(spilled, "spill"), 0);
		char *sd = child(spilled, "Data/com.apple.CoreML"), *md = child(inmem, "Data/com.apple.CoreML");
		assert_int_equal(tu_count_entries(sd, ""), tu_count_entries(md, ""));
		assert_int_equal(tu_count_entries(f->dir, ".mldtmp-"), 0);
		free(sd);
		free(md);
		free(a);
		free(b);
		for (size_t i = 0; i < 3; i++)
			mld__buf_free(&ents[i]);
		mld__buf_free(&one);
		mld__buf_free(&pre);
		mld__buf_free(&post);
		free(spilled);
		free(inmem);
		free(want);
		tu_arena_free();
	}
}

typedef struct seen {
	size_t n;
	uint64_t bytes;
} seen;

static void count_written(void *ctx, const uint8_t *data, uint64_t size)
{
	seen *s = ctx;
	s->n++;
	s->bytes += size;
	(void)data;
}

/* The blobs of the example file, placed by the caller: the same file, byte for byte;
 * each blob's digest as written; the model bytes as given, in pieces (an empty one
 * among them). A blob whose place the
 * model got wrong fails the write, and nothing is left. */
static void test_packed_write(void **state)
{
	fixture *f = *state;
	static const uint8_t model[] = {0x08, 0x09}; /* specificationVersion 9: any bytes will do */
	mld__piece pieces[3] = {{.data = model, .len = 1}, {.data = model, .len = 0}, {.data = model + 1, .len = 1}};
	mld__wblob blobs[2] = {{tu_example_fp16_data, 8, mld__wblob_offset(0), 0, MLD_DT_FP16},
	                       {tu_example_uint4_data, 3, 0, 4, MLD_DT_UINT4}};
	blobs[1].offset = mld__wblob_offset(blobs[0].offset + 64 + blobs[0].size);
	assert_int_equal(blobs[1].offset, 192);
	char *out = child(f->dir, "packed.mlpackage");
	mld_digest dig[2];
	seen s = {0};
	mld__write_info info = {count_written, &s, dig, {{0}}, 0};
	mld__adir *d = NULL;
	assert_ok(mld__adir_open(&d, out));
	assert_ok(mld__write_packed_into(d, "", pieces, 3, blobs, 2, out, &info));
	assert_ok(mld__adir_commit(d, false));
	mld__adir_free(d);
	char *wbin = child(out, "Data/com.apple.CoreML/weights/weight.bin");
	char *mfile = child(out, "Data/com.apple.CoreML/model.mlmodel");
	assert_file_equals(wbin, tu_example_blobfile, sizeof tu_example_blobfile);
	assert_file_equals(mfile, model, sizeof model);
	check_manifest(out);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.bytes, 11);
	assert_int_equal(info.weights_len, sizeof tu_example_blobfile);
	uint8_t h[16];
	mld__hash128(h, tu_example_fp16_data, 8);
	assert_memory_equal(dig[0].bytes, h, 16);
	mld__hash128(h, tu_example_uint4_data, 3);
	assert_memory_equal(dig[1].bytes, h, 16);
	mld__hash128(h, model, sizeof model);
	assert_memory_equal(info.model.bytes, h, 16);

	char *bad = child(f->dir, "misplaced.mlpackage");
	blobs[1].offset = 128;
	assert_ok(mld__adir_open(&d, bad));
	assert_mld_err(mld__write_packed_into(d, "", pieces, 3, blobs, 2, bad, NULL), MLD_ERROR,
	               "written at offset 192, but the model says 128");
	mld__adir_free(d);
	assert_false(tu_exists(bad));
	assert_int_equal(tu_count_entries(f->dir, ".mldtmp-"), 0);
	free(bad);
	free(wbin);
	free(mfile);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_and_read_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_writes_leave_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_model_without_blobs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_identity_sees_every_byte, setup, teardown),
		cmocka_unit_test(test_splice_equals_whole_pack),
		cmocka_unit_test_setup_teardown(test_packed_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spilled_model_write, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
