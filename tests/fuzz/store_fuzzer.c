/* Fuzz target "store": the input is an mldedup store (an SQLite file), loaded into
 * memory with sqlite3_deserialize and used as mld_store_open would: migrated, then
 * every query (stats, packages, functions, show, dupes, explain, sql views, fsck,
 * gc dry run), an index of a package into it, and a combine (dry run) that reads
 * its facts and verification decisions from it and records into it. Every failure
 * must say what went wrong; nothing may crash, hang or leak.
 *
 * The packages indexed and combined are written once per process to a temp
 * directory (index identifies packages by their files' stat): nothing is written
 * per input, and the database never leaves memory. */
#define _GNU_SOURCE
#include "fuzz.h"

#include "mldedup_query.h"
#include "query/query.h"
#include "store/store.h"
#include "../cli/synth.h"

#include <ftw.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *dir, *pkg_a, *pkg_b;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void cleanup(void)
{
	if (dir)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	const char *t = getenv("TMPDIR");
	if (asprintf(&dir, "%s/mld-fuzz-store-XXXXXX", t && *t ? t : "/tmp") < 0 || !mkdtemp(dir))
		abort();
	atexit(cleanup);
	if (asprintf(&pkg_a, "%s/a.mlpackage", dir) < 0 || asprintf(&pkg_b, "%s/b.mlpackage", dir) < 0)
		abort();
	synth_opts a = {.all_ops = true}, b = {.second_fn = true, .seed = 3};
	if (synth_write(pkg_a, &a) || synth_write(pkg_b, &b))
		fz_fail(__FILE__, __LINE__, "cannot write the packages: %s", mld_error_last());
	return 0;
}

/* A query's result: freed; a failure must say why. */
static void q(int rc, json_t **j)
{
	if (rc)
		fz_check_error(rc, NULL);
	json_decref(*j);
	*j = NULL;
}

static void queries(mld_store *st)
{
	json_t *j = NULL, *c = NULL, *r = NULL;
	int rc = mld_query_stats(&j, st);
	q(rc, &j);
	rc = mld_query_packages(&j, st);
	q(rc, &j);
	rc = mld_query_functions(&j, st, NULL);
	q(rc, &j);
	rc = mld_query_functions(&j, st, pkg_a);
	q(rc, &j);
	rc = mld_query_show(&j, st, "b1059914efaad28c3864c1b55c18d75c");
	q(rc, &j);
	char what[4200];
	snprintf(what, sizeof what, "%s:main:w_dense", pkg_a);
	rc = mld_query_show(&j, st, what);
	q(rc, &j);
	rc = mld_query_dupes(&j, st, MLD_ACROSS_WEIGHTS, 0);
	q(rc, &j);
	rc = mld_query_explain(&j, st, "out.mlpackage", "a", "w_lut");
	q(rc, &j);
	rc = mld_query_sql(&c, &r, st, "SELECT * FROM q1_weights");
	if (rc)
		fz_check_error(rc, NULL);
	else
		json_decref(c), json_decref(r);
	rc = mld_store_fsck(&j, st, 0);
	q(rc, &j);
	mld_gc_opts g = MLD_GC_OPTS_INIT;
	g.dry_run = 1;
	rc = mld_store_gc(&j, st, &g);
	q(rc, &j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir)
		LLVMFuzzerInitialize(NULL, NULL);
	sqlite3 *db;
	if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
		abort();
	unsigned char *copy = sqlite3_malloc64(size ? size : 1);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	if (sqlite3_deserialize(db, "main", copy, (sqlite3_int64)size, (sqlite3_int64)size,
	                        SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE) != SQLITE_OK) {
		sqlite3_close_v2(db);
		return 0;
	}
	mld_store *st;
	int rc = mld__store_attach(&st, db, "fuzz.db");
	if (rc) {
		fz_check_error(rc, "fuzz.db");
		return 0;
	}
	FZ_ASSERT(!q_register(st), "cannot register the query functions: %s", mld_error_last());
	queries(st);
	/* An index of a package into it, and a combine with the store's facts and
	 * decisions, for some inputs only (by size, so an input always does the same):
	 * they take most of the time. */
	mld_index_stats is = {0};
	if (size % 4 == 0) {
		rc = mld_store_index(st, pkg_a, &is, NULL, NULL);
		if (rc)
			fz_check_error(rc, NULL);
		rc = mld_store_index(st, pkg_a, &is, NULL, NULL); /* again: now "unchanged" (or stale rows) */
		if (rc)
			fz_check_error(rc, NULL);
	}
	if (size % 8 == 0) {
		mld_source_spec src[3] = {{"a", pkg_a, NULL}, {"b", pkg_b, "main"}, {"c", pkg_b, "prefill"}};
		mld_combine_opts o = MLD_COMBINE_OPTS_INIT;
		o.dry_run = 1;
		o.store = st;
		mld_combine_stats cs;
		char out[4200];
		snprintf(out, sizeof out, "%s/out.mlpackage", dir);
		rc = mld_combine(&cs, src, 3, out, &o);
		if (rc)
			fz_check_error(rc, NULL);
		queries(st);
	}
	mld_store_free(st);
	return 0;
}
