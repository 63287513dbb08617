/* fsck: SQLite's integrity check, the schema, the store's own invariants and, with
 * --deep, the digests of every indexed package still on disk. */
#include "../tensor/tensor.h"
#include "query.h"

#include "store_sql.h"

#include <stdarg.h>
#include <stdlib.h>

#define MAX_PER_CHECK 100

/* Each yields one message per problem. */
static const struct {
	const char *check, *sql;
} checks[] = {
	{"integrity", "SELECT integrity_check FROM pragma_integrity_check WHERE integrity_check <> 'ok'"},
	{"references", "SELECT 'row ' || rowid || ' of ' || \"table\" || ' references a missing ' || parent || ' row'"
                       " FROM pragma_foreign_key_check"},
	{"weights", "SELECT 'weight ' || " Q_WEIGHT_LABEL " || ': content ' || lower(hex(w.content_digest)) ||"
                    " ' has no contents row'" Q_WEIGHTS_FROM " WHERE w.content_digest IS NOT NULL"
                    " AND NOT EXISTS (SELECT 1 FROM contents c WHERE c.digest = w.content_digest)"},
	{"weights", "SELECT 'weight ' || " Q_WEIGHT_LABEL " || ': encoding ' || lower(hex(w.encoding_digest)) ||"
                    " ' has no encodings row'" Q_WEIGHTS_FROM
                    " WHERE NOT EXISTS (SELECT 1 FROM encodings e WHERE e.digest = w.encoding_digest)"},
	{"weights",
         "SELECT 'weight ' || " Q_WEIGHT_LABEL " || ': content ' || coalesce(lower(hex(w.content_digest)), 'NULL')"
         " || ' but its encoding decodes to ' || coalesce(lower(hex(e.content_digest)), 'NULL')" Q_WEIGHTS_FROM
         " JOIN encodings e ON e.digest = w.encoding_digest WHERE e.content_digest IS NOT w.content_digest"},
	{"weights",
         "SELECT 'weight ' || " Q_WEIGHT_LABEL " || ': ' || w.dtype || ' ' || w.shape || ' but its content is '"
         " || c.dtype || ' ' || c.shape" Q_WEIGHTS_FROM " JOIN contents c ON c.digest = w.content_digest"
         " WHERE c.dtype <> w.dtype OR c.shape <> w.shape"},
	{"weights",
         "SELECT 'weight ' || " Q_WEIGHT_LABEL " || CASE WHEN w.error IS NULL THEN ': no content and no error'"
         " ELSE ': both a content and an error' END" Q_WEIGHTS_FROM
         " WHERE (w.content_digest IS NULL) = (w.error IS NULL)"},
	{"encodings", "SELECT 'encoding ' || lower(hex(digest)) || ': content ' || lower(hex(content_digest)) ||"
                      " ' has no contents row' FROM encodings e WHERE content_digest IS NOT NULL"
                      " AND NOT EXISTS (SELECT 1 FROM contents c WHERE c.digest = e.content_digest)"},
	{"decisions", "SELECT 'decision ' || lower(hex(a)) || ' ~ ' || lower(hex(b)) || ': ' || CASE"
                      " WHEN " Q_ORPHAN_DECISIONS " THEN 'references an unknown content'"
                      " ELSE 'mode ' || quote(mode) || ', outcome ' || quote(outcome) END FROM decisions"
                      " WHERE " Q_ORPHAN_DECISIONS " OR mode NOT IN ('relaxed', 'strict')"
                      " OR outcome NOT IN ('deq_close', 'rejected_threshold')"},
	{"value_matches",
         "SELECT 'value match ' || lower(hex(a)) || ' = ' || lower(hex(b)) || ': references an unknown encoding'"
         " FROM value_matches WHERE " Q_ORPHAN_VALUE_MATCHES},
	{"digests",
         "SELECT t || ' has a digest of ' || n || ' bytes, not 16' FROM ("
         " SELECT 'contents row ' || lower(hex(digest)) AS t, length(digest) AS n FROM contents"
         " UNION ALL SELECT 'encodings row ' || lower(hex(digest)), length(digest) FROM encodings"
         " UNION ALL SELECT 'weight ' || id, length(encoding_digest) FROM weights"
         " UNION ALL SELECT 'weight ' || id, coalesce(length(content_digest), 16) FROM weights) WHERE n <> 16"},
	{"outputs", "SELECT 'output ' || o.path || ': weight ' || w.function || ':' || w.name || ' has reason ' ||"
                    " quote(w.reason) FROM output_weights w JOIN outputs o ON o.id = w.output_id WHERE w.reason NOT IN"
                    " ('anchor', 'own', 'identical', 'deq_identical', 'deq_close', 'rejected_threshold',"
                    " 'rejected_shape', 'unsupported')"},
};

static void problem(json_t *problems, const char *check, const char *fmt, ...) MLD_PRINTF(3, 4);
static void problem(json_t *problems, const char *check, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_array_append_new(problems, json_pack("{s:s,s:o}", "check", check, "message", q_string(msg)));
}

/* Run one check; a failing query (a corrupt page, say) is a problem too. */
static void run_check(json_t *problems, mld_store *st, const char *check, const char *sql)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		problem(problems, check, "cannot check: %s", sqlite3_errmsg(st->db));
		return;
	}
	int n = 0, step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW && n++ < MAX_PER_CHECK)
		problem(problems, check, "%s", (const char *)sqlite3_column_text(s, 0));
	if (step == SQLITE_ROW)
		problem(problems, check, "(more problems of this kind are not listed)");
	else if (step != SQLITE_DONE)
		problem(problems, check, "cannot check: %s", sqlite3_errmsg(st->db));
	sqlite3_finalize(s);
}

/* The schema objects must be exactly those the migrations create. */
static void check_schema(json_t *problems, mld_store *st)
{
	int v = mld_store_schema_version(st);
	if (v != MLD_STORE_SCHEMA_VERSION)
		problem(problems, "schema", "schema version %d, expected %d", v, MLD_STORE_SCHEMA_VERSION);
	sqlite3 *ref;
	sqlite3_stmt *s = NULL, *q = NULL;
	if (sqlite3_open(":memory:", &ref) != SQLITE_OK) {
		sqlite3_close(ref);
		return;
	}
	for (int i = 0; i < MLD_STORE_SCHEMA_VERSION; i++)
		sqlite3_exec(ref, mld__store_migrations[i], NULL, NULL, NULL);
	const char *list = "SELECT type, name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY name";
	if (sqlite3_prepare_v2(ref, list, -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db, "SELECT sql FROM sqlite_schema WHERE type = ?1 AND name = ?2", -1, &q, NULL) !=
	            SQLITE_OK) {
		problem(problems, "schema", "cannot check: %s", sqlite3_errmsg(st->db));
	} else {
		while (sqlite3_step(s) == SQLITE_ROW) {
			const char *type = (const char *)sqlite3_column_text(s, 0),
				   *name = (const char *)sqlite3_column_text(s, 1);
			const char *sql = (const char *)sqlite3_column_text(s, 2);
			sqlite3_bind_text(q, 1, type, -1, SQLITE_STATIC);
			sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
			if (sqlite3_step(q) != SQLITE_ROW)
				problem(problems, "schema", "%s %s is missing", type, name);
			else if (sql &&
			         (!sqlite3_column_text(q, 0) || strcmp(sql, (const char *)sqlite3_column_text(q, 0))))
				problem(problems, "schema", "%s %s is not as its migration created it", type, name);
			sqlite3_reset(q);
		}
	}
	sqlite3_finalize(s);
	sqlite3_finalize(q);
	sqlite3_close(ref);
}

/* Re-read one package and compare every weight's digests with the store's. */
static void deep_package(json_t *problems, mld_store *st, sqlite3_int64 id, const char *path, uint64_t *weights)
{
	mld_package *pkg;
	sqlite3_stmt *s = NULL, *b = NULL;
	if (mld_package_open(&pkg, path)) {
		problem(problems, "deep", "%s", mld_error_last());
		return;
	}
	size_t n = 0;
	if (q_prepare(&s, st,
	              "SELECT f.name, w.name, w.encoding_digest, w.content_digest, w.id FROM weights w"
	              " JOIN functions f ON f.id = w.function_id WHERE f.package_id = ?1",
	              "i", (int64_t)id) ||
	    q_prepare(&b, st, "SELECT seq, digest FROM weight_blobs WHERE weight_id = ?1 AND digest IS NOT NULL", "i",
	              (int64_t)0)) {
		problem(problems, "deep", "%s", mld_error_last());
		goto out;
	}
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *fn = (const char *)sqlite3_column_text(s, 0),
			   *name = (const char *)sqlite3_column_text(s, 1);
		const mld_weight *w;
		mld_digest enc, content;
		mld_tensor *t;
		n++;
		if (mld_package_find_weight(&w, pkg, fn, name)) {
			problem(problems, "deep", "%s:%s:%s is in the store, not in the package", path, fn, name);
			continue;
		}
		mld_digest *blobs = mld__calloc(w->n_blobs ? w->n_blobs : 1, sizeof *blobs);
		if (blobs && mld__weight_encoding_digest_blobs(&enc, blobs, pkg, w) == 0) {
			if (sqlite3_column_bytes(s, 2) != 16 || memcmp(enc.bytes, sqlite3_column_blob(s, 2), 16))
				problem(problems, "deep", "%s:%s:%s: encoding digest differs from the store's", path,
				        fn, name);
			/* each blob's own digest (what combine shares blobs by) */
			sqlite3_reset(b);
			sqlite3_bind_int64(b, 1, sqlite3_column_int64(s, 4));
			while (sqlite3_step(b) == SQLITE_ROW) {
				sqlite3_int64 seq = sqlite3_column_int64(b, 0);
				if (seq < 0 || (size_t)seq >= w->n_blobs || sqlite3_column_bytes(b, 1) != 16 ||
				    memcmp(blobs[seq].bytes, sqlite3_column_blob(b, 1), 16))
					problem(problems, "deep", "%s:%s:%s: blob %lld digest differs from the store's",
					        path, fn, name, (long long)seq);
			}
		}
		free(blobs);
		if (sqlite3_column_bytes(s, 3) == 16 && mld_weight_decode(&t, pkg, w) == 0) {
			mld_tensor_digest(&content, t);
			mld_tensor_free(t);
			if (memcmp(content.bytes, sqlite3_column_blob(s, 3), 16))
				problem(problems, "deep", "%s:%s:%s: content digest differs from the store's", path, fn,
				        name);
		}
		if (mld_error_code())
			problem(problems, "deep", "%s:%s:%s: %s", path, fn, name, mld_error_last());
		mld__err_clear();
	}
	if (n != mld_package_weight_count(pkg))
		problem(problems, "deep", "%s: %zu weights in the package, %zu in the store", path,
		        mld_package_weight_count(pkg), n);
	*weights += n;
out:
	sqlite3_finalize(s);
	sqlite3_finalize(b);
	mld_package_free(pkg);
}

int mld_store_fsck(json_t **out, mld_store *st, int deep)
{
	json_t *problems = json_array(), *pkgs = NULL, *skipped = json_array();
	uint64_t weights = 0;
	size_t checked = 0;
	sqlite3_stmt *q = NULL;
	bool empty = mld_store_schema_version(st) == 0 &&
	             sqlite3_prepare_v2(st->db, "SELECT count(*) FROM sqlite_schema", -1, &q, NULL) == SQLITE_OK &&
	             sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int(q, 0) == 0;
	sqlite3_finalize(q);
	if (empty) /* one true problem, not one per missing table and check */
		problem(problems, "schema",
		        "the store has no schema (version 0, no tables): not an mldedup store, or one "
		        "whose first index never committed; remove it, and the next 'mldedup index' creates it anew");
	else {
		check_schema(problems, st);
		for (size_t i = 0; i < sizeof checks / sizeof *checks; i++)
			run_check(problems, st, checks[i].check, checks[i].sql);
	}
	int rc = 0;
	if (deep && !(rc = q_register(st)))
		rc = q_all(&pkgs, st,
		           "SELECT id, path, mld_package_status(path, identity) AS status FROM packages ORDER BY path",
		           NULL);
	size_t i;
	json_t *p;
	json_array_foreach(pkgs, i, p)
	{
		const char *path = json_string_value(json_object_get(p, "path"));
		if (strcmp(json_string_value(json_object_get(p, "status")), "ok")) {
			json_array_append(skipped, p); /* changed or gone since indexed: not the store's fault */
			continue;
		}
		deep_package(problems, st, json_integer_value(json_object_get(p, "id")), path, &weights);
		checked++;
	}
	json_decref(pkgs);
	if (rc) {
		json_decref(problems);
		json_decref(skipped);
		return rc;
	}
	*out = json_pack("{s:o,s:o,s:I,s:I}", "problems", problems, "skipped", skipped, "packages_checked",
	                 (json_int_t)checked, "weights_checked", (json_int_t)weights);
	return 0;
}
