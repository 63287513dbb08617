/* The public API's promises: version macros and mld_version agree, every error code
 * has a name, and a zeroed (or INIT, or NULL) options struct never replaces,
 * deletes or forgets anything; a struct from a newer library is refused. And that
 * combine's scratch file never shows, whether the combine succeeds or fails. */
#include "testutil.h"

#include "mldedup.h"
#include "mldedup_query.h"
#include "core/atomic.h"
#include "write/pkgwrite.h"

#include <errno.h>

#include <stddef.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define WEIGHT_FILE "@model_path/weights/weight.bin"

/* A one-function package with one fp16 const blob. */
static char *make_package(const char *dir, const char *name)
{
	mil_op *ops[1] = {tu_const_op("w", tu_blob_value(MLD_DT_FP16, 1, (uint64_t[]){4}, WEIGHT_FILE, 64))};
	mil_function *fn = tu_function("CoreML8", tu_block(ops, 1, "w"));
	const char *names[1] = {"main"};
	mil_model *arena = tu_ml_program(9, 1, names, &fn);
	size_t n = core_ml__specification__model__get_packed_size(arena);
	uint8_t *buf = malloc(n);
	core_ml__specification__model__pack(arena, buf);
	mil_model *m = core_ml__specification__model__unpack(NULL, n, buf);
	free(buf);
	tu_arena_free();
	mil_value **vals;
	size_t nv;
	assert_ok(mld__model_blob_values(&vals, &nv, m));
	assert_int_equal(nv, 1);
	mld__blob_item it = {vals[0], 0, 1, tu_example_fp16_data, 8, 0, MLD_DT_FP16};
	char *path = tu_fmt("%s/%s", dir, name);
	assert_ok(mld__write_package(m, &it, 1, path, 0));
	free(vals);
	core_ml__specification__model__free_unpacked(m, NULL);
	return path;
}

static void test_version(void **state)
{
	(void)state;
	int a = -1, b = -1, c = -1;
	const char *v = mld_version(&a, &b, &c);
	assert_string_equal(v, MLD_VERSION);
	assert_int_equal(a, MLD_VERSION_MAJOR);
	assert_int_equal(b, MLD_VERSION_MINOR);
	assert_int_equal(c, MLD_VERSION_PATCH);
	char *s = tu_fmt("%d.%d.%d", a, b, c);
	assert_string_equal(s, MLD_VERSION);
	free(s);
	assert_int_equal(MLD_VERSION_NUMBER, a * 10000 + b * 100 + c);
	assert_non_null(mld_version(NULL, NULL, NULL));
}

static void test_error_names(void **state)
{
	(void)state;
	static const int codes[] = {MLD_OK,           MLD_ERROR,    MLD_ENOTFOUND, MLD_EFORMAT, MLD_EIO,
	                            MLD_EUNSUPPORTED, MLD_ENOMEM,   MLD_ESTORE,    MLD_EUSAGE,  MLD_EEXISTS,
	                            MLD_EBUSY,        MLD_EREFUSED, MLD_EOVERLAP};
	for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
		assert_string_not_equal(mld_error_name(codes[i]), "?");
		for (size_t j = 0; j < i; j++) /* distinct codes, distinct names */
			assert_string_not_equal(mld_error_name(codes[i]), mld_error_name(codes[j]));
	}
	assert_string_equal(mld_error_name(MLD_EEXISTS), "EEXISTS");
	assert_string_equal(mld_error_name(-99), "?");
	assert_string_equal(mld_error_name(5), "?");
}

static void test_zeroed_combine_opts_replace_nothing(void **state)
{
	(void)state;
	char *dir = tu_tempdir(), *a = make_package(dir, "a.mlpackage"), *b = make_package(dir, "b.mlpackage");
	char *out = tu_fmt("%s/out.mlpackage", dir), *marker = tu_fmt("%s/out.mlpackage/keep", dir);
	mld_source_spec src[2] = {{"infer", a, NULL}, {"prefill", b, NULL}};
	mld_combine_stats st;
	mld_combine_opts zero;
	memset(&zero, 0, sizeof zero);
	assert_ok(mld_combine(&st, src, 2, out, &zero)); /* a new output is fine */
	assert_int_equal(st.functions, 2);
	tu_write_file(marker, "x", 1);
	/* an existing output is never replaced by default: zeroed, INIT or NULL options */
	assert_mld_err(mld_combine(&st, src, 2, out, &zero), MLD_EEXISTS, out);
	mld_combine_opts init = MLD_COMBINE_OPTS_INIT;
	assert_mld_err(mld_combine(&st, src, 2, out, &init), MLD_EEXISTS, out);
	assert_mld_err(mld_combine(&st, src, 2, out, NULL), MLD_EEXISTS, out);
	assert_true(tu_exists(marker));
	init.replace = 1;
	assert_ok(mld_combine(&st, src, 2, out, &init));
	assert_false(tu_exists(marker));
	/* options from a newer library are refused before anything happens */
	init.version = MLD_COMBINE_OPTS_VERSION + 1;
	assert_mld_err(mld_combine(&st, src, 2, out, &init), MLD_EUSAGE, "newer");
	/* a version-1 struct (it ends at `replace`) is read as one */
	struct {
		mld_combine_opts o;
		char poison[64];
	} v1;
	memset(&v1, 0x7f, sizeof v1);
	memset(&v1.o, 0, offsetof(mld_combine_opts, replace) + sizeof v1.o.replace);
	v1.o.version = 1;
	v1.o.replace = 1;
	assert_ok(mld_combine(&st, src, 2, out, &v1.o));
	/* a version-2 struct (it ends at `max_abs_max`) too: whatever follows is not read */
	struct {
		mld_combine_opts o;
		char poison[64];
	} v2;
	memset(&v2, 0x7f, sizeof v2);
	memset(&v2.o, 0, offsetof(mld_combine_opts, max_abs_max) + sizeof v2.o.max_abs_max);
	v2.o.version = 2;
	v2.o.replace = 1;
	assert_ok(mld_combine(&st, src, 2, out, &v2.o));
	/* align: the same defaults; an existing output is never replaced */
	const char *outs[2] = {NULL, out};
	uint64_t rew[2] = {9, 9};
	assert_mld_err(mld_align(&st, rew, src, 2, outs, &zero), MLD_EEXISTS, out);
	assert_mld_err(mld_align(&st, rew, src, 2, outs, NULL), MLD_EEXISTS, out);
	char *aligned = tu_fmt("%s/aligned.mlpackage", dir);
	outs[1] = aligned;
	assert_ok(mld_align(&st, rew, src, 2, outs, NULL));
	assert_int_equal(rew[0], 0);
	assert_int_equal(rew[1], 0); /* equal bytes: shared as they are, nothing rewritten */
	assert_true(tu_exists(aligned));
	init.version = MLD_COMBINE_OPTS_VERSION;
	init.dry_run = 1; /* align writes packages: options that do not are refused */
	assert_mld_err(mld_align(&st, rew, src, 2, outs, &init), MLD_EUSAGE, "align");
	outs[1] = a; /* an output that would replace its source */
	init.dry_run = 0;
	assert_mld_err(mld_align(&st, rew, src, 2, outs, &init), MLD_EOVERLAP, "source"); /* before reading it */
	free(aligned);
	init.version = MLD_COMBINE_OPTS_VERSION + 1;
	/* verify: zeroed and NULL options are the defaults */
	mld_verify_stats vs;
	mld_verify_opts vz;
	memset(&vz, 0, sizeof vz);
	assert_ok(mld_verify(&vs, out, src, 2, &vz));
	assert_int_equal(vs.failures, 0);
	assert_int_equal(vs.weights, 2);
	assert_ok(mld_verify(&vs, out, src, 2, NULL));
	assert_int_equal(vs.failures, 0);
	tu_rmtree(dir);
	free(a);
	free(b);
	free(out);
	free(marker);
	free(dir);
}

/* An output (or report) that is, holds or lies inside a source is refused before
 * anything is read, with or without replace, and the source stays as it was. */
static void test_output_overlapping_a_source(void **state)
{
	(void)state;
	char *dir = tu_tempdir(), *a = make_package(dir, "a.mlpackage"), *b = make_package(dir, "b.mlpackage");
	char *wbin = tu_fmt("%s/Data/com.apple.CoreML/weights/weight.bin", a);
	struct stat before, after;
	assert_int_equal(stat(wbin, &before), 0);
	mld_source_spec src[2] = {{"infer", a, NULL}, {"prefill", b, NULL}};
	mld_combine_stats st;
	mld_combine_opts o = MLD_COMBINE_OPTS_INIT;
	o.replace = 1;
	char *dot = tu_fmt("%s/./a.mlpackage/", dir), *inside = tu_fmt("%s/Data/x.mlpackage", a);
	char *link = tu_fmt("%s/link.mlpackage", dir);
	assert_int_equal(symlink(a, link), 0);
	const char *outs[] = {a, b, dot, inside, link};
	for (size_t i = 0; i < sizeof outs / sizeof *outs; i++)
		assert_mld_err(mld_combine(&st, src, 2, outs[i], &o), MLD_EOVERLAP, "it would overwrite it");
	o.dry_run = 1; /* a dry run writes only the report */
	o.report_path = tu_fmt("%s/report.json", a);
	assert_mld_err(mld_combine(&st, src, 2, "x.mlpackage", &o), MLD_EOVERLAP, "the report lies inside");
	free((char *)o.report_path);
	assert_int_equal(stat(wbin, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_int_equal(before.st_size, after.st_size);
	tu_rmtree(dir);
	free(a);
	free(b);
	free(wbin);
	free(dot);
	free(inside);
	free(link);
	free(dir);
}

/* ---- the packed functions' scratch file ---------------------------------------------- */

/* The scratch file is the only unlinked file combine writes or reads back: these fail
 * on it alone. */
static bool unlinked(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && st.st_nlink == 0;
}
static ssize_t spill_pwrite_fails(int fd, const void *b, size_t n, off_t off)
{
	if (unlinked(fd)) {
		errno = ENOSPC;
		return -1;
	}
	return pwrite(fd, b, n, off);
}
static ssize_t spill_pread_fails(int fd, void *b, size_t n, off_t off)
{
	if (unlinked(fd)) {
		errno = EIO;
		return -1;
	}
	return pread(fd, b, n, off);
}

/* Only these entries in dir: the sources, and `out` if given (no temp, no scratch). */
static void only(const char *dir, const char *out)
{
	assert_int_equal(tu_count_entries(dir, ".mldtmp-"), 0);
	assert_int_equal(tu_count_entries(dir, "spill"), 0);
	assert_int_equal(tu_count_entries(dir, ""), out ? 3 : 2);
	if (out)
		assert_true(tu_exists(out));
}

/* combine packs each function into a scratch file in the output's temp tree: the
 * package it writes holds nothing else (an alias after another source, whose entry is
 * packed with its original's, keeps its place); a failing write to the scratch file
 * or read back from it fails the combine, naming the file, and leaves nothing, for a
 * package as for a zip. */
static void test_combine_spill(void **state)
{
	(void)state;
	char *dir = tu_tempdir(), *a = make_package(dir, "a.mlpackage"), *b = make_package(dir, "b.mlpackage");
	char *out = tu_fmt("%s/out.mlpackage", dir), *zip = tu_fmt("%s/out.zip", dir);
	mld_source_spec src[3] = {{"infer", a, NULL}, {"prefill", b, NULL}, {"again", a, NULL}};
	mld_combine_stats st;
	mld_combine_opts o = MLD_COMBINE_OPTS_INIT;
	assert_ok(mld_combine(&st, src, 3, out, &o));
	only(dir, out);
	assert_int_equal(tu_count_entries(out, ""), 2); /* Manifest.json, Data */
	char *cml = tu_fmt("%s/Data/com.apple.CoreML", out);
	assert_int_equal(tu_count_entries(cml, ""), 2); /* model.mlmodel, weights */
	mld_package *pkg;
	assert_ok(mld_package_open(&pkg, out));
	assert_int_equal(mld_package_function_count(pkg), 3);
	assert_string_equal(mld_package_function_name(pkg, 0), "infer");
	assert_string_equal(mld_package_function_name(pkg, 1), "prefill");
	assert_string_equal(mld_package_function_name(pkg, 2), "again");
	mld_package_free(pkg);
	tu_rmtree(out);

	mld__sys_io real = mld__sys;
	for (int zipped = 0; zipped < 2; zipped++) {
		o.zip = zipped;
		const char *to = zipped ? zip : out;
		mld__sys.pwrite = spill_pwrite_fails;
		int rc = mld_combine(&st, src, 3, to, &o);
		mld__sys = real;
		assert_int_equal(rc, MLD_EIO);
		assert_non_null(strstr(mld_error_last(), ".functions.spill"));
		assert_non_null(strstr(mld_error_last(), "scratch file: write failed"));
		only(dir, NULL);
		mld__sys.pread = spill_pread_fails;
		rc = mld_combine(&st, src, 3, to, &o);
		mld__sys = real;
		assert_int_equal(rc, MLD_EIO);
		assert_non_null(strstr(mld_error_last(), "cannot read back"));
		assert_non_null(strstr(mld_error_last(), ".functions.spill"));
		only(dir, NULL);
		assert_ok(mld_combine(&st, src, 3, to, &o));
		only(dir, to);
		tu_rmtree(to);
	}
	tu_rmtree(dir);
	free(cml);
	free(a);
	free(b);
	free(out);
	free(zip);
	free(dir);
}

static size_t packages_in(mld_store *st)
{
	json_t *rows;
	assert_ok(mld_query_packages(&rows, st));
	size_t n = json_array_size(rows);
	json_decref(rows);
	return n;
}

static void test_zeroed_gc_opts_forget_nothing(void **state)
{
	(void)state;
	char *dir = tu_tempdir(), *a = make_package(dir, "a.mlpackage"), *db = tu_fmt("%s/s.db", dir);
	mld_store *st;
	assert_ok(mld_store_open(&st, db));
	mld_index_stats is = {0};
	assert_ok(mld_store_index(st, a, &is, NULL, NULL));
	assert_int_equal(packages_in(st), 1);
	mld_gc_opts zero;
	memset(&zero, 0, sizeof zero);
	json_t *r;
	assert_ok(mld_store_gc(&r, st, &zero));
	assert_int_equal(json_array_size(json_object_get(r, "packages")), 0);
	json_decref(r);
	assert_ok(mld_store_gc(&r, st, NULL));
	json_decref(r);
	mld_gc_opts init = MLD_GC_OPTS_INIT;
	assert_ok(mld_store_gc(&r, st, &init));
	json_decref(r);
	assert_int_equal(packages_in(st), 1);
	/* asking for it needs a valid duration */
	init.forget_old = 1;
	init.older_than = -1;
	assert_mld_err(mld_store_gc(&r, st, &init), MLD_EUSAGE, "older_than");
	init.older_than = 0;
	assert_ok(mld_store_gc(&r, st, &init));
	json_decref(r);
	init.version = 99;
	assert_mld_err(mld_store_gc(&r, st, &init), MLD_EUSAGE, "newer");
	mld_store_free(st);
	tu_rmtree(dir);
	free(a);
	free(db);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_error_names),
		cmocka_unit_test(test_zeroed_combine_opts_replace_nothing),
		cmocka_unit_test(test_zeroed_gc_opts_forget_nothing),
		cmocka_unit_test(test_output_overlapping_a_source),
		cmocka_unit_test(test_combine_spill),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
