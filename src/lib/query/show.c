/* One content (`show`), duplicate groups (`dupes`) and one weight of a combined
 * package (`explain`). */
#include "query.h"

#include <stdlib.h>
#include <unistd.h>

/* "PKG:FUNC:NAME" of the first weight with content `d` (an SQL expression). */
#define EXAMPLE_OF(d) "(SELECT " Q_WEIGHT_LABEL Q_WEIGHTS_FROM " WHERE w.content_digest = " d " ORDER BY 1 LIMIT 1)"

/* The digests `sql` yields for the range lo..hi: *n is 0, 1 or 2 (ambiguous). */
static int range_match(mld_digest *out, int *n, mld_store *st, const char *sql, const mld_digest *lo,
                       const mld_digest *hi)
{
	sqlite3_stmt *s;
	int rc = q_prepare(&s, st, sql, "dd", lo, hi), step = SQLITE_DONE;
	for (*n = 0; !rc && *n < 2 && (step = sqlite3_step(s)) == SQLITE_ROW; ++*n)
		if (sqlite3_column_bytes(s, 0) == 16)
			memcpy(out->bytes, sqlite3_column_blob(s, 0), 16);
	if (!rc && *n < 2 && step != SQLITE_DONE)
		rc = mld__store_err(st, "look up digest");
	sqlite3_finalize(s);
	return rc;
}

/* A content digest, or a unique prefix (>= 8 hex digits) of a content's or an
 * encoding's digest. */
static int resolve_digest(mld_digest *out, mld_store *st, const char *hex)
{
	size_t n = strlen(hex);
	char lo_hex[33], hi_hex[33];
	mld_digest lo, hi;
	if (n < 8 || n > 32 || strspn(hex, "0123456789abcdefABCDEF") != n)
		return mld__err(MLD_EUSAGE, "'%s' is neither a digest (8 to 32 hex digits) nor PKG:FUNC:NAME", hex);
	memcpy(lo_hex, hex, n);
	memcpy(hi_hex, hex, n);
	memset(lo_hex + n, '0', 32 - n);
	memset(hi_hex + n, 'f', 32 - n);
	lo_hex[32] = hi_hex[32] = 0;
	mld_digest_from_hex(&lo, lo_hex);
	mld_digest_from_hex(&hi, hi_hex);
	int k, rc = range_match(out, &k, st, "SELECT digest FROM contents WHERE digest BETWEEN ?1 AND ?2 LIMIT 2", &lo,
	                        &hi);
	if (!rc && k == 0)
		rc = range_match(out, &k, st,
		                 "SELECT DISTINCT content_digest FROM encodings WHERE digest BETWEEN ?1 AND ?2"
		                 " AND content_digest IS NOT NULL LIMIT 2",
		                 &lo, &hi);
	if (!rc && k != 1)
		rc = k ? mld__err(MLD_EUSAGE, "digest prefix %s is ambiguous: give more digits", hex)
		       : mld__err(MLD_ENOTFOUND, "no content or encoding %s in the store", hex);
	return rc;
}

/* PKG:FUNC:NAME (PKG may hold ':' itself) or a digest. */
static int resolve(mld_digest *out, mld_store *st, const char *what)
{
	const char *name = strrchr(what, ':');
	const char *fn = name ? name : what;
	while (fn > what && fn[-1] != ':')
		fn--;
	if (!name || fn == what)
		return resolve_digest(out, st, what);
	char *pkg = mld__sprintf("%.*s", (int)(fn - 1 - what), what);
	char *func = mld__sprintf("%.*s", (int)(name - fn), fn);
	sqlite3_int64 id;
	sqlite3_stmt *s = NULL;
	int rc = !pkg || !func ? MLD_ENOMEM : q_package(&id, st, pkg);
	if (!rc)
		rc = q_prepare(
			&s, st,
			"SELECT w.content_digest, w.error FROM weights w JOIN functions f ON f.id = w.function_id"
			" WHERE f.package_id = ?1 AND f.name = ?2 AND w.name = ?3",
			"itt", (int64_t)id, func, name + 1);
	if (!rc) {
		int step = sqlite3_step(s);
		if (step == SQLITE_DONE)
			rc = mld__err(MLD_ENOTFOUND, "%s has no weight %s:%s", pkg, func, name + 1);
		else if (step != SQLITE_ROW)
			rc = mld__store_err(st, "look up weight");
		else if (sqlite3_column_bytes(s, 0) != 16)
			rc = mld__err(MLD_EUNSUPPORTED, "%s: no content: %s", what,
			              (const char *)sqlite3_column_text(s, 1));
		else
			memcpy(out->bytes, sqlite3_column_blob(s, 0), 16);
	}
	sqlite3_finalize(s);
	free(pkg);
	free(func);
	return rc;
}

/* The other content of a decision about ?1. */
#define OTHER "CASE WHEN a = ?1 THEN b ELSE a END"

int mld_query_show(json_t **out, mld_store *st, const char *what)
{
	static const struct {
		const char *key, *sql;
	} parts[] = {
		{"occurrences", "SELECT p.path AS package, f.name AS function, w.name, w.chain, w.encoded_bytes,"
	                        " w.encoding_digest" Q_WEIGHTS_FROM " WHERE w.content_digest = ?1 ORDER BY 1, 2, 3"},
		{"encodings", "SELECT encoding_digest AS digest, chain, encoded_bytes, count(*) AS weights FROM weights"
	                      " WHERE content_digest = ?1 GROUP BY encoding_digest ORDER BY encoded_bytes, 1"},
		{"decisions", "SELECT CASE WHEN a = ?1 THEN 'a' ELSE 'b' END AS role, " OTHER " AS other,"
	                      " " EXAMPLE_OF(OTHER) " AS other_weight, cos, max_abs, mean_abs, mode, outcome,"
	                                            " " Q_TIME("decided_at") " AS decided"
	                                                                     " FROM decisions WHERE a = ?1 OR b = ?1 "
	                                                                     "ORDER BY decided_at, other"},
		{"outputs", "SELECT o.path AS output, w.function, w.name, w.reason FROM output_weights w"
	                    " JOIN outputs o ON o.id = w.output_id WHERE w.content_digest = ?1 ORDER BY 1, 2, 3"},
	};
	mld_digest d;
	json_t *rows = NULL;
	int rc = resolve(&d, st, what);
	if (!rc)
		rc = q_all(&rows, st,
		           "SELECT digest, dtype, shape, elements, dense_bytes FROM contents WHERE digest = ?1", "d",
		           &d);
	if (!rc && !json_array_size(rows)) {
		char hex[33];
		mld_digest_hex(hex, &d);
		rc = mld__err(MLD_ENOTFOUND, "content %s has weights but no contents row (see 'mldedup fsck')", hex);
	}
	json_t *c = rc ? NULL : json_incref(json_array_get(rows, 0));
	json_decref(rows);
	for (size_t i = 0; !rc && i < sizeof parts / sizeof *parts; i++)
		if (!(rc = q_all(&rows, st, parts[i].sql, "d", &d)))
			json_object_set_new(c, parts[i].key, rows);
	if (rc)
		json_decref(c);
	else
		*out = c;
	return rc;
}

int mld_query_dupes(json_t **out, mld_store *st, mld_across across, uint64_t min_bytes)
{
	static const char *const span[] = {"count(*)", "count(DISTINCT f.id)", "count(DISTINCT f.package_id)"};
	/* One row per weight of a group, groups by savings; folded into groups below. */
	char *sql = mld__sprintf(
		"WITH g AS (SELECT w.content_digest AS d, count(*) AS occurrences, count(DISTINCT w.encoding_digest)"
		" AS encodings, count(DISTINCT f.id) AS functions, count(DISTINCT f.package_id) AS packages,"
		" min(w.encoded_bytes) AS copy_bytes, sum(w.encoded_bytes) - min(w.encoded_bytes) AS savings"
		" FROM weights w JOIN functions f ON f.id = w.function_id WHERE w.content_digest IS NOT NULL"
		" GROUP BY w.content_digest HAVING %s > 1 AND savings >= ?1)"
		" SELECT g.d AS digest, c.dtype, c.shape, g.occurrences, g.encodings, g.functions, g.packages,"
		" g.copy_bytes, g.savings, p.path AS package, f.name AS function, w.name, w.encoding_digest,"
		" w.encoded_bytes FROM g JOIN weights w ON w.content_digest = g.d JOIN functions f ON f.id = "
		"w.function_id"
		" JOIN packages p ON p.id = f.package_id LEFT JOIN contents c ON c.digest = g.d"
		" ORDER BY g.savings DESC, g.d, p.path, f.name, w.name",
		span[across]);
	json_t *near = NULL, *groups = json_array(), *weights = NULL;
	json_int_t savings = 0, near_savings = 0;
	sqlite3_stmt *s = NULL;
	uint8_t digest[16];
	int rc = sql ? q_prepare(&s, st, sql, "i", (int64_t)min_bytes) : MLD_ENOMEM, step = SQLITE_DONE;
	free(sql);
	/* Columns 0-8 describe the group (repeated on each of its rows), 9-13 a weight. */
	while (!rc && (step = sqlite3_step(s)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(s, 0) != 16) {
			rc = mld__err(MLD_ESTORE, "store %s: a content digest is not 16 bytes (see 'mldedup fsck')",
			              st->path);
			break;
		}
		if (!weights || memcmp(digest, sqlite3_column_blob(s, 0), 16)) {
			memcpy(digest, sqlite3_column_blob(s, 0), 16);
			json_t *group = q_row(s, 0, 9);
			json_object_set_new(group, "weights", weights = json_array());
			json_array_append_new(groups, group);
			savings += sqlite3_column_int64(s, 8);
		}
		json_array_append_new(weights, q_row(s, 9, 14));
	}
	if (!rc && step != SQLITE_DONE)
		rc = mld__store_err(st, "dupes");
	sqlite3_finalize(s);
	if (!rc)
		rc = q_all(&near, st,
		           "SELECT * FROM (SELECT a, b, cos, max_abs, mean_abs, mode,"
		           " (SELECT min(encoded_bytes) FROM weights WHERE content_digest = d.b) AS savings,"
		           " " EXAMPLE_OF("d.a") " AS a_weight, " EXAMPLE_OF(
				   "d.b") " AS b_weight"
		                          " FROM decisions d WHERE outcome = 'deq_close')"
		                          " WHERE a_weight IS NOT NULL AND savings >= ?1 ORDER BY savings DESC, a, b",
		           "i", (int64_t)min_bytes);
	size_t i;
	json_t *row;
	json_array_foreach(near, i, row) near_savings += json_integer_value(json_object_get(row, "savings"));
	if (!rc)
		*out = json_pack("{s:o,s:O,s:I,s:I}", "groups", groups, "near", near, "savings", savings,
		                 "near_savings", near_savings);
	else
		json_decref(groups);
	json_decref(near);
	return rc;
}

static const char *const reason_text[][2] = {
	{"anchor", "a weight of the anchor (first) function: placed as is"},
	{"own", "nothing to share with: placed as is"},
	{"identical", "the same encoding (bytes equal) as the shared weight: uses its blobs"},
	{"deq_identical", "the same dense values as the shared weight in another encoding: uses its encoding"},
	{"deq_close", "verified within the thresholds against the shared weight: uses its encoding"},
	{"rejected_threshold", "compared, but outside the thresholds: keeps its own encoding"},
	{"rejected_shape", "a same-named weight has another shape or layout: keeps its own encoding"},
	{"unsupported", "its form cannot be decoded: placed as is"},
};

static char *absolute(const char *path)
{
	char *abs = realpath(path, NULL), cwd[4096];
	if (abs || path[0] == '/')
		return abs ? abs : mld__strdup(path);
	return getcwd(cwd, sizeof cwd) ? mld__sprintf("%s/%s", cwd, path) : mld__strdup(path);
}

int mld_query_explain(json_t **out, mld_store *st, const char *output, const char *function, const char *name)
{
	char *abs = absolute(output);
	json_t *rows = NULL;
	int rc =
		abs ? q_all(&rows, st,
	                    "SELECT o.path AS output, o.mode, o.cos_min, o.mean_abs_max, o.max_abs_max,"
	                    " " Q_TIME(
				    "o.written_at") " AS written,"
	                                            " w.function, w.name, w.reason, w.shared_function, w.shared_name, "
	                                            "w.compared_function,"
	                                            " w.compared_name, w.cos, w.max_abs, w.mean_abs, w.content_digest, "
	                                            "w.encoded_bytes,"
	                                            " f.source_package, f.source_function,"
	                                            /* which thresholds the metrics fail */
	                                            " json_array(CASE WHEN w.cos < o.cos_min THEN 'cos' END,"
	                                            " CASE WHEN w.mean_abs > o.mean_abs_max THEN 'mean_abs' END,"
	                                            " CASE WHEN w.max_abs > o.max_abs_max THEN 'max_abs' END) AS failed"
	                                            " FROM outputs o LEFT JOIN output_weights w ON w.output_id = o.id "
	                                            "AND w.function = ?2"
	                                            " AND w.name = ?3 LEFT JOIN output_functions f ON f.output_id = "
	                                            "o.id AND f.name = ?2"
	                                            " WHERE o.path = ?1",
	                    "ttt", abs, function, name)
		    : MLD_ENOMEM;
	json_t *row = json_array_get(rows, 0);
	if (rc) {
	} else if (!row) {
		rc = mld__err(MLD_ENOTFOUND, "no combine that wrote %s is recorded in store %s", abs, st->path);
	} else if (json_is_null(json_object_get(row, "reason"))) {
		rc = json_is_null(json_object_get(row, "source_package"))
		             ? mld__err(MLD_ENOTFOUND, "%s has no function '%s'", abs, function)
		             : mld__err(MLD_ENOTFOUND, "function '%s' of %s has no weight '%s'", function, abs, name);
	} else {
		/* json_array() of NULLs keeps them: drop the passing ones. */
		json_t *failed = json_loads(json_string_value(json_object_get(row, "failed")), 0, NULL),
		       *f = json_array();
		size_t i;
		json_t *v;
		json_array_foreach(failed, i, v) if (json_is_string(v)) json_array_append(f, v);
		json_decref(failed);
		json_object_set_new(row, "failed", f);
		const char *reason = json_string_value(json_object_get(row, "reason"));
		for (size_t r = 0; r < sizeof reason_text / sizeof *reason_text; r++)
			if (!strcmp(reason, reason_text[r][0]))
				json_object_set_new(row, "description", json_string(reason_text[r][1]));
		*out = json_incref(row);
	}
	json_decref(rows);
	free(abs);
	return rc;
}
