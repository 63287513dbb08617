/* Package sources: directory and zip, path confinement, and a whole package read
 * from a zip. */
#include "testutil.h"

#include "core/fsutil.h"
#include "io/source.h"
#include "write/pkgwrite.h"

#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

static void test_check_rel(void **state)
{
	(void)state;
	char *dir = tu_tempdir();
	mld__source *src = NULL;
	assert_ok(mld__source_open(&src, dir));
	assert_false(mld__source_is_zip(src));
	assert_string_equal(mld__source_path(src), dir);
	static const char *bad[] = {"", "/etc/passwd", "..", "../x", "a/../b", "a/..", "a//b", "//a"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_mld_err(mld__source_check_rel(src, bad[i]), MLD_EFORMAT, dir);
		assert_false(mld__source_exists(src, bad[i]));
	}
	static const char *good[] = {"a", "a/b", "./a", "..a", "a..", "a/...", "Data/com.apple.CoreML/model.mlmodel"};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		assert_ok(mld__source_check_rel(src, good[i]));
	mld__source_free(src);
	mld__source_free(NULL);
	tu_rmtree(dir);
	free(dir);
}

static void test_directory_source(void **state)
{
	(void)state;
	char *dir = tu_tempdir();
	char *pkg = tu_fmt("%s/p.mlpackage", dir);
	char *sub = tu_fmt("%s/Data", pkg);
	assert_ok(mld__mkdirs(sub, 0755));
	char *f = tu_fmt("%s/blob.bin", sub);
	tu_write_file(f, "0123456789", 10);
	char *outside = tu_fmt("%s/secret.bin", dir);
	tu_write_file(outside, "secret", 6);
	char *link = tu_fmt("%s/escape.bin", sub);
	assert_int_equal(symlink(outside, link), 0);
	char *link_in = tu_fmt("%s/alias.bin", sub);
	assert_int_equal(symlink("blob.bin", link_in), 0);

	mld__source *src = NULL;
	assert_ok(mld__source_open(&src, pkg));
	assert_true(mld__source_exists(src, "Data"));
	assert_true(mld__source_exists(src, "Data/blob.bin"));
	assert_false(mld__source_exists(src, "Data/nope.bin"));
	assert_false(mld__source_exists(src, "Data/escape.bin")); /* resolves outside */

	uint8_t *data = NULL;
	size_t len = 0;
	assert_ok(mld__source_read(src, "Data/blob.bin", &data, &len));
	assert_int_equal(len, 10);
	assert_memory_equal(data, "0123456789", 10);
	free(data);
	const uint8_t *map = NULL, *map2 = NULL;
	uint64_t mlen = 0;
	assert_ok(mld__source_map(src, "Data/blob.bin", &map, &mlen));
	assert_int_equal(mlen, 10);
	assert_memory_equal(map, "0123456789", 10);
	assert_ok(mld__source_map(src, "Data/blob.bin", &map2, &mlen)); /* cached */
	assert_ptr_equal(map, map2);
	/* a symlink inside the package that stays inside is fine */
	assert_ok(mld__source_map(src, "Data/alias.bin", &map2, &mlen));
	assert_memory_equal(map2, "0123456789", 10);

	/* confinement: symlinks out of the package and '..' are refused */
	assert_mld_err(mld__source_read(src, "Data/escape.bin", &data, &len), MLD_EFORMAT, "outside the package");
	assert_mld_err(mld__source_map(src, "Data/escape.bin", &map2, &mlen), MLD_EFORMAT, "outside the package");
	assert_mld_err(mld__source_map(src, "../secret.bin", &map2, &mlen), MLD_EFORMAT, "outside the package");
	/* missing files and directories */
	assert_mld_err(mld__source_map(src, "Data/nope.bin", &map2, &mlen), MLD_ENOTFOUND, "Data/nope.bin");
	assert_mld_err(mld__source_map(src, "Data", &map2, &mlen), MLD_EFORMAT, "not a regular file");

	mld__file_id id;
	assert_ok(mld__source_stat(src, "Data/blob.bin", &id));
	assert_int_equal(id.size, 10);
	assert_true(id.inode != 0);
	char *disp = mld__source_display(src, "Data/blob.bin");
	assert_string_equal(disp, f);
	free(disp);
	mld__source_free(src);

	/* a trailing slash on the package path does not double up in messages */
	char *pkg_slash = tu_fmt("%s/", pkg);
	assert_ok(mld__source_open(&src, pkg_slash));
	disp = mld__source_display(src, "Data/blob.bin");
	assert_string_equal(disp, f);
	free(disp);
	mld__source_free(src);

	/* a path that does not exist, and a file that is not a zip */
	char *nope = tu_fmt("%s/nope.mlpackage", dir);
	src = NULL;
	assert_mld_err(mld__source_open(&src, nope), MLD_ENOTFOUND, nope);
	assert_mld_err(mld__source_open(&src, outside), MLD_EFORMAT, outside);
	assert_null(src);

	free(nope);
	free(pkg_slash);
	tu_rmtree(dir);
	free(link_in);
	free(link);
	free(outside);
	free(f);
	free(sub);
	free(pkg);
	free(dir);
}

/* Write a zip at `path` with (name, content) entries; content NULL = directory. */
static void make_zip(const char *path, const char *const *names, const char *const *contents, size_t n)
{
	int err = 0;
	zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
	assert_non_null(z);
	for (size_t i = 0; i < n; i++) {
		if (!contents[i]) {
			assert_true(zip_dir_add(z, names[i], ZIP_FL_ENC_UTF_8) >= 0);
			continue;
		}
		zip_source_t *s = zip_source_buffer(z, contents[i], strlen(contents[i]), 0);
		assert_non_null(s);
		assert_true(zip_file_add(z, names[i], s, ZIP_FL_ENC_UTF_8) >= 0);
	}
	assert_int_equal(zip_close(z), 0);
}

static void test_zip_source(void **state)
{
	(void)state;
	char *dir = tu_tempdir();
	char *zpath = tu_fmt("%s/model.zip", dir);
	const char *names[] = {"__MACOSX/X.mlpackage/Manifest.json", "out/X.mlpackage/Manifest.json",
	                       "out/X.mlpackage/Data/w/weight.bin",
	                       "out/X.mlpackage/Data/w/inner.mlpackage/Manifest.json"};
	const char *contents[] = {"shadow", "{}", "WEIGHTS", "nested"};
	make_zip(zpath, names, contents, 4);

	mld__source *src = NULL;
	assert_ok(mld__source_open(&src, zpath));
	assert_true(mld__source_is_zip(src));
	uint8_t *data = NULL;
	size_t len = 0;
	assert_ok(mld__source_read(src, "Manifest.json", &data, &len));
	assert_int_equal(len, 2);
	assert_memory_equal(data, "{}", 2);
	free(data);
	const uint8_t *map = NULL;
	uint64_t mlen = 0;
	assert_ok(mld__source_map(src, "Data/w/weight.bin", &map, &mlen));
	assert_int_equal(mlen, 7);
	assert_memory_equal(map, "WEIGHTS", 7);
	/* directories exist even without directory entries */
	assert_true(mld__source_exists(src, "Data"));
	assert_true(mld__source_exists(src, "Data/w"));
	assert_false(mld__source_exists(src, "Data/x"));
	assert_false(mld__source_exists(src, "../X.mlpackage/Manifest.json"));
	assert_mld_err(mld__source_map(src, "Data/missing.bin", &map, &mlen), MLD_ENOTFOUND, "Data/missing.bin");
	char *disp = mld__source_display(src, "Data/w/weight.bin");
	char *want = tu_fmt("%s:out/X.mlpackage/Data/w/weight.bin", zpath);
	assert_string_equal(disp, want);
	free(want);
	free(disp);
	mld__file_id id;
	assert_ok(mld__source_stat(src, "Data/w/weight.bin", &id));
	assert_int_equal(id.size, 7);
	mld__source_free(src);

	/* two packages side by side, or none at all */
	const char *two[] = {"A.mlpackage/Manifest.json", "B.mlpackage/Manifest.json"};
	const char *two_c[] = {"{}", "{}"};
	make_zip(zpath, two, two_c, 2);
	src = NULL;
	assert_mld_err(mld__source_open(&src, zpath), MLD_EFORMAT, "2 .mlpackage");
	const char *none[] = {"readme.txt"};
	const char *none_c[] = {"hi"};
	make_zip(zpath, none, none_c, 1);
	assert_mld_err(mld__source_open(&src, zpath), MLD_EFORMAT, "no .mlpackage");
	assert_null(src);

	tu_rmtree(dir);
	free(zpath);
	free(dir);
}

/* Add the three files of a written package at `base` to the zip under `prefix`. */
static void zip_tree(zip_t *z, const char *base, const char *prefix)
{
	static const char *files[] = {"Manifest.json", "Data/com.apple.CoreML/model.mlmodel",
	                              "Data/com.apple.CoreML/weights/weight.bin"};
	for (size_t i = 0; i < 3; i++) {
		char *path = tu_fmt("%s/%s", base, files[i]);
		char *name = tu_fmt("%s/%s", prefix, files[i]);
		zip_source_t *s = zip_source_file(z, path, 0, -1);
		assert_non_null(s);
		assert_true(zip_file_add(z, name, s, 0) >= 0);
		free(path);
		free(name);
	}
}

static void test_package_from_zip(void **state)
{
	(void)state;
	char *dir = tu_tempdir();
	/* a package written by the writer, then zipped without directory entries */
	mil_op *ops[2] = {
		tu_const_op("w", tu_blob_value(MLD_DT_FP16, 1, (uint64_t[]){4}, "@model_path/weights/weight.bin", 0)),
		tu_const_op("q", tu_blob_value(MLD_DT_UINT4, 1, (uint64_t[]){5}, "@model_path/weights/weight.bin", 0)),
	};
	mil_function *fn = tu_function("CoreML8", tu_block(ops, 2, "w"));
	const char *names[1] = {"main"};
	mil_model *am = tu_ml_program(9, 1, names, &fn);
	size_t n = core_ml__specification__model__get_packed_size(am);
	uint8_t *buf = malloc(n);
	core_ml__specification__model__pack(am, buf);
	tu_arena_free();
	mil_model *m = core_ml__specification__model__unpack(NULL, n, buf);
	free(buf);
	mil_value **vals = NULL;
	size_t nv = 0;
	assert_ok(mld__model_blob_values(&vals, &nv, m));
	assert_int_equal(nv, 2);
	mld__blob_item items[2] = {
		{vals[0], 0, 1, tu_example_fp16_data, 8, 0, MLD_DT_FP16},
		{vals[1], 0, 2, tu_example_uint4_data, 3, 4, MLD_DT_UINT4},
	};
	char *pkg = tu_fmt("%s/m.mlpackage", dir);
	assert_ok(mld__write_package(m, items, 2, pkg, 0));
	free(vals);
	core_ml__specification__model__free_unpacked(m, NULL);

	char *zpath = tu_fmt("%s/m.zip", dir);
	int err = 0;
	zip_t *z = zip_open(zpath, ZIP_CREATE | ZIP_TRUNCATE, &err);
	assert_non_null(z);
	zip_tree(z, pkg, "export/m.mlpackage");
	assert_int_equal(zip_close(z), 0);

	mld_package *p = NULL;
	assert_ok(mld_package_open(&p, zpath));
	assert_int_equal(mld_package_weight_count(p), 2);
	const mld_weight *w = NULL;
	assert_ok(mld_package_find_weight(&w, p, "main", "q"));
	assert_int_equal(mld_weight_blob(w, 0)->offset, 192);
	mld_tensor *t = NULL;
	assert_ok(mld_weight_decode(&t, p, w));
	tu_assert_values(t, (double[]){1, 2, 3, 15, 7}, 5);
	mld_tensor_free(t);
	assert_ok(mld_package_find_weight(&w, p, "main", "w"));
	assert_ok(mld_weight_decode(&t, p, w));
	tu_assert_values(t, (double[]){1, 2, -0.5, 0}, 4);
	/* the same content digest as from the directory */
	mld_digest dz, dd;
	mld_tensor_digest(&dz, t);
	mld_tensor_free(t);
	mld_package *pd = NULL;
	assert_ok(mld_package_open(&pd, pkg));
	assert_ok(mld_package_find_weight(&w, pd, "main", "w"));
	assert_ok(mld_weight_decode(&t, pd, w));
	mld_tensor_digest(&dd, t);
	mld_tensor_free(t);
	assert_memory_equal(dz.bytes, dd.bytes, 16);
	uint64_t sz = 0, sd = 0;
	assert_ok(mld_package_weights_digest(&dz, &sz, p));
	assert_ok(mld_package_weights_digest(&dd, &sd, pd));
	assert_int_equal(sz, 259);
	assert_int_equal(sd, 259);
	assert_memory_equal(dz.bytes, dd.bytes, 16);
	mld_package_free(pd);
	mld_package_free(p);

	tu_rmtree(dir);
	free(zpath);
	free(pkg);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_rel),
		cmocka_unit_test(test_directory_source),
		cmocka_unit_test(test_zip_source),
		cmocka_unit_test(test_package_from_zip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
