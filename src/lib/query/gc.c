/* gc: forget packages that are gone or old, then every row only they referenced.
 * Everything happens in one BEGIN IMMEDIATE transaction, so a gc excludes every
 * other writer (index, combine, another gc) and is all or nothing; a dry run is
 * the same transaction rolled back, so it counts exactly what a real run removes. */
#include "query.h"

#include <time.h>

/* Counted before and after; the difference is what gc removed. */
static const q_stat measures[] = {
	{"packages", "packages", "count", "SELECT count(*) FROM packages"},
	{"functions", "functions", "count", "SELECT count(*) FROM functions"},
	{"weights", "weights", "count", "SELECT count(*) FROM weights"},
	{"weight_bytes", "their stored weight bytes", "bytes", "SELECT coalesce(sum(encoded_bytes), 0) FROM weights"},
	{"contents", "contents", "count", "SELECT count(*) FROM contents"},
	{"dense_bytes", "their dense bytes", "bytes", "SELECT coalesce(sum(dense_bytes), 0) FROM contents"},
	{"encodings", "encodings", "count", "SELECT count(*) FROM encodings"},
	{"decisions", "decisions", "count", "SELECT count(*) FROM decisions"},
	{"outputs", "combined packages recorded", "count", "SELECT count(*) FROM outputs"},
	{"store_bytes", "store space in use (freed pages are reused)", "bytes",
         "SELECT (page_count - freelist_count) * page_size FROM pragma_page_count, pragma_freelist_count,"
         " pragma_page_size"},
};
#define N_MEASURES (sizeof measures / sizeof *measures)

int mld_store_gc(json_t **out, mld_store *st, const mld_gc_opts *o)
{
	json_t *before = NULL, *after = NULL, *pkgs = NULL, *outs = NULL;
	mld_gc_opts defaults = MLD_GC_OPTS_INIT;
	if (!o)
		o = &defaults;
	if (o->version > MLD_GC_OPTS_VERSION)
		return mld__err(MLD_EUSAGE, "mld_gc_opts version %u is newer than this library's %d", o->version,
		                MLD_GC_OPTS_VERSION);
	if (o->forget_old && o->older_than < 0)
		return mld__err(MLD_EUSAGE, "gc: older_than must be >= 0 seconds");
	int64_t cutoff = o->forget_old ? (int64_t)time(NULL) - o->older_than : 0;
	int rc = q_register(st);
	if (rc || (rc = mld__store_begin(st)))
		return rc;
	/* Cascades take functions, weights and blobs with their package. */
	if ((rc = q_measure(&before, st, measures, N_MEASURES)) ||
	    (rc = q_all(&pkgs, st,
	                "DELETE FROM packages WHERE (?1 AND mld_package_status(path, identity) = 'missing')"
	                " OR (?2 AND indexed_at < ?3) RETURNING path",
	                "iii", (int64_t)o->missing, (int64_t)(o->forget_old != 0), cutoff)) ||
	    (rc = q_all(&outs, st,
	                "DELETE FROM outputs WHERE ?1 AND mld_package_status(path, NULL) = 'missing' RETURNING path",
	                "i", (int64_t)o->missing)) ||
	    (rc = mld__store_exec(st, "DELETE FROM encodings WHERE " Q_ORPHAN_ENCODINGS ";"
	                              "DELETE FROM contents WHERE " Q_ORPHAN_CONTENTS ";"
	                              "DELETE FROM decisions WHERE " Q_ORPHAN_DECISIONS ";"
	                              "DELETE FROM value_matches WHERE " Q_ORPHAN_VALUE_MATCHES ";")) ||
	    (rc = q_measure(&after, st, measures, N_MEASURES)))
		goto fail;
	if (o->dry_run)
		mld__store_rollback(st);
	else if ((rc = mld__store_commit(st)))
		goto out;
	for (size_t i = 0; i < N_MEASURES; i++) {
		json_t *b = json_object_get(json_array_get(before, i), "value");
		json_t *a = json_object_get(json_array_get(after, i), "value");
		json_object_set_new(json_array_get(before, i), "value",
		                    json_integer(json_integer_value(b) - json_integer_value(a)));
	}
	*out = json_pack("{s:b,s:O,s:O,s:O}", "dry_run", o->dry_run, "packages", pkgs, "outputs", outs, "removed",
	                 before);
	goto out;
fail:
	mld__store_rollback(st);
out:
	json_decref(before);
	json_decref(after);
	json_decref(pkgs);
	json_decref(outs);
	return rc;
}
