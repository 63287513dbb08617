/* Read-only access to the store: the connection, rows as JSON, statistics,
 * packages, functions and ad-hoc SQL. */
#include "query.h"

#include "store_sql.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

json_t *q_string(const char *s)
{
	json_t *j = json_string(s);
	if (j || !s)
		return j ? j : json_null();
	char *copy = mld__strdup(s);
	for (char *c = copy; c && *c; c++)
		if ((unsigned char)*c >= 0x80)
			*c = '?';
	j = json_string(copy ? copy : "");
	free(copy);
	return j;
}

json_t *q_value(sqlite3_stmt *s, int i)
{
	switch (sqlite3_column_type(s, i)) {
	case SQLITE_INTEGER: return json_integer(sqlite3_column_int64(s, i));
	case SQLITE_FLOAT: {
		double v = sqlite3_column_double(s, i);
		return isfinite(v) ? json_real(v) : json_null();
	}
	case SQLITE_TEXT: return q_string((const char *)sqlite3_column_text(s, i));
	case SQLITE_BLOB: {
		static const char hx[] = "0123456789abcdef";
		const uint8_t *b = sqlite3_column_blob(s, i);
		size_t n = (size_t)sqlite3_column_bytes(s, i);
		char *h = mld__malloc(2 * n + 1);
		if (!h)
			return NULL;
		for (size_t k = 0; k < n; k++) {
			h[2 * k] = hx[b[k] >> 4];
			h[2 * k + 1] = hx[b[k] & 15];
		}
		h[2 * n] = 0;
		json_t *j = json_string(h);
		free(h);
		return j;
	}
	default: return json_null();
	}
}

static int vprepare(sqlite3_stmt **out, mld_store *st, const char *sql, const char *fmt, va_list ap)
{
	int rc = mld__store_prepare(st, out, sql);
	for (int i = 1; !rc && fmt && fmt[i - 1]; i++) {
		if (fmt[i - 1] == 'd') {
			const mld_digest *d = va_arg(ap, const mld_digest *);
			if (d)
				sqlite3_bind_blob(*out, i, d->bytes, 16, SQLITE_TRANSIENT);
		} else if (fmt[i - 1] == 't') {
			sqlite3_bind_text(*out, i, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
		} else {
			sqlite3_bind_int64(*out, i, (sqlite3_int64)va_arg(ap, int64_t));
		}
	}
	return rc;
}

int q_prepare(sqlite3_stmt **out, mld_store *st, const char *sql, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = vprepare(out, st, sql, fmt, ap);
	va_end(ap);
	return rc;
}

json_t *q_row(sqlite3_stmt *s, int from, int to)
{
	json_t *o = json_object();
	for (int i = from; i < to; i++) {
		/* Keep every column of "SELECT a.id, b.id": later duplicates get a suffix. */
		const char *name = sqlite3_column_name(s, i);
		char alt[96];
		if (json_object_get(o, name)) {
			snprintf(alt, sizeof alt, "%.80s_%d", name, i + 1);
			name = alt;
		}
		json_object_set_new(o, name, q_value(s, i));
	}
	return o;
}

int q_rows(json_t *rows, mld_store *st, sqlite3_stmt *s)
{
	int n = sqlite3_column_count(s), step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		if (json_array_append_new(rows, q_row(s, 0, n))) {
			sqlite3_finalize(s);
			return mld__err(MLD_ENOMEM, "out of memory");
		}
	}
	int rc = step == SQLITE_DONE ? 0 : mld__store_err(st, "query");
	sqlite3_finalize(s);
	return rc;
}

int q_all(json_t **out, mld_store *st, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *s;
	va_list ap;
	va_start(ap, fmt);
	int rc = vprepare(&s, st, sql, fmt, ap);
	va_end(ap);
	if (rc)
		return rc;
	*out = json_array();
	if ((rc = q_rows(*out, st, s))) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

/* Append a and b; true on failure. */
static bool cat(mld__buf *buf, const char *a, const char *b)
{
	return mld__buf_append(buf, a, strlen(a)) || mld__buf_append(buf, b, strlen(b));
}

int q_measure(json_t **out, mld_store *st, const q_stat *defs, size_t n)
{
	/* One statement: SELECT <id or EXPR>, ... FROM (SELECT (<sql>) AS <id>, ...) */
	mld__buf outer = {0}, inner = {0};
	bool oom = false;
	for (size_t i = 0; i < n; i++) {
		bool derived = defs[i].sql[0] == '=';
		oom |= cat(&outer, i ? ", " : "SELECT ", derived ? defs[i].sql + 1 : defs[i].id);
		if (!derived)
			oom |= cat(&inner, inner.len ? ", (" : " FROM (SELECT (", defs[i].sql) ||
			       cat(&inner, ") AS ", defs[i].id);
	}
	oom |= cat(&inner, ")", "") || mld__buf_append(&outer, inner.data, inner.len) || mld__buf_append(&outer, "", 1);
	sqlite3_stmt *s = NULL;
	int rc = oom ? mld__err(MLD_ENOMEM, "out of memory") : mld__store_prepare(st, &s, (const char *)outer.data);
	if (!rc && sqlite3_step(s) != SQLITE_ROW)
		rc = mld__store_err(st, "statistics");
	if (!rc) {
		*out = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(*out,
			                      json_pack("{s:s,s:s,s:o,s:s}", "id", defs[i].id, "label", defs[i].label,
			                                "value", q_value(s, (int)i), "unit", defs[i].unit));
	}
	sqlite3_finalize(s);
	mld__buf_free(&outer);
	mld__buf_free(&inner);
	return rc;
}

static void status_fn(sqlite3_context *c, int argc, sqlite3_value **v)
{
	const char *path = (const char *)sqlite3_value_text(v[0]);
	const char *identity = (const char *)sqlite3_value_text(v[1]);
	const char *status = "stale";
	struct stat sb;
	char *now = NULL;
	if (!path || stat(path, &sb) != 0)
		status = !path || errno == ENOENT || errno == ENOTDIR ? "missing" : "unreadable";
	else if (identity && mld__identity_redo(&now, path, identity) == 0 && !strcmp(now, identity))
		status = "ok";
	free(now);
	mld__err_clear(); /* a vanished file inside the package just means stale */
	sqlite3_result_text(c, status, -1, SQLITE_STATIC);
}

int q_register(mld_store *st)
{
	if (sqlite3_create_function(st->db, "mld_package_status", 2, SQLITE_UTF8, NULL, status_fn, NULL, NULL) !=
	    SQLITE_OK)
		return mld__store_err(st, "register functions");
	return 0;
}

static int open_ro(mld_store **out, const char *path)
{
	mld_store *st = mld__calloc(1, sizeof *st);
	if (!st || !(st->path = mld__strdup(path))) {
		free(st);
		return MLD_ENOMEM;
	}
	int rc = 0;
	st->readonly = 1;
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		rc = st->db ? mld__store_err(st, "open") : mld__err(MLD_ESTORE, "store %s: cannot open", path);
	} else {
		sqlite3_busy_timeout(st->db, 60000); /* a writer may be checkpointing */
		sqlite3_extended_result_codes(st->db, 1);
		/* Queries join weights in digest order: read pages once, sort in memory. */
		rc = mld__store_exec(st, "PRAGMA mmap_size = 1073741824; PRAGMA temp_store = MEMORY");
		if (!rc)
			rc = q_register(st);
	}
	if (rc)
		mld_store_free(st);
	else
		*out = st;
	return rc;
}

int mld_store_open_readonly(mld_store **out, const char *path, int migrate)
{
	mld__err_clear();
	struct stat sb;
	if (stat(path, &sb) != 0)
		return mld__err(errno == ENOENT ? MLD_ENOTFOUND : MLD_EIO, "store %s: %s%s", path, strerror(errno),
		                errno == ENOENT ? " ('mldedup index' creates it)" : "");
	int rc0 = mld__store_check_files(path);
	if (rc0)
		return rc0;
	mld_store *st, *rw;
	int rc = open_ro(&st, path);
	int v = rc ? 0 : mld_store_schema_version(st);
	if (rc)
		return rc;
	if (v < 0 && (sqlite3_extended_errcode(st->db) & 0xff) == SQLITE_READONLY && access(path, W_OK) == 0) {
		/* A writer killed mid-write left a hot journal (or a WAL without its index) that a
		 * read-only connection may not repair: a read-write one does, on its first read. */
		sqlite3 *db = NULL;
		if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) == SQLITE_OK) {
			sqlite3_busy_timeout(db, 60000);
			sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
		}
		sqlite3_close(db);
		mld_store_free(st);
		if ((rc = open_ro(&st, path)))
			return rc;
		v = mld_store_schema_version(st);
	}
	if (v < 0 || v > MLD_STORE_SCHEMA_VERSION) {
		rc = v < 0 && mld_error_code() ? MLD_ESTORE
		     : v < 0                   ? mld__err(MLD_ESTORE,
		                                          "store %s: schema version %d is not one mldedup writes: not a usable mldedup "
		                                                            "store",
		                                          path, v)
		                               : mld__err(MLD_ESTORE,
		                                          "store %s: schema version %d is newer than this mldedup understands (%d)", path,
		                                          v, MLD_STORE_SCHEMA_VERSION);
	} else if (v < MLD_STORE_SCHEMA_VERSION && migrate) {
		/* Older: a normal open migrates it; then read it again. */
		mld_store_free(st);
		st = NULL;
		if (!(rc = mld_store_open(&rw, path))) {
			mld_store_free(rw);
			rc = open_ro(&st, path);
		}
	}
	/* One snapshot for the whole command, whatever writers commit meanwhile. */
	if (!rc && sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		rc = mld__store_err(st, "begin a read");
	if (rc)
		mld_store_free(st);
	else
		*out = st;
	return rc;
}

static const q_stat store_stats[] = {
	{"store", "store", "text", "SELECT file FROM pragma_database_list WHERE name = 'main'"},
	{"store_bytes", "store size", "bytes",
         "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size"},
	{"schema_version", "schema version", "count", "SELECT user_version FROM pragma_user_version"},
	{"packages", "packages", "count", "SELECT count(*) FROM packages"},
	{"functions", "functions", "count", "SELECT count(*) FROM functions"},
	{"weights", "weights", "count", "SELECT count(*) FROM weights"},
	{"unsupported", "weights in a form mldedup cannot decode", "count",
         "SELECT count(*) FROM weights WHERE content_digest IS NULL"},
	{"contents", "distinct contents", "count", "SELECT count(DISTINCT content_digest) FROM weights"},
	{"encodings", "distinct encodings", "count", "SELECT count(DISTINCT encoding_digest) FROM weights"},
	{"weight_file_bytes", "weight files of the sources", "bytes",
         "SELECT coalesce(sum(weights_size), 0) FROM packages"},
	{"weight_bytes", "weights as stored, every occurrence", "bytes",
         "SELECT coalesce(sum(encoded_bytes), 0) FROM weights"},
	{"encoding_bytes", "one copy per encoding", "bytes",
         "SELECT coalesce(sum(b), 0) FROM (SELECT min(encoded_bytes) AS b FROM weights GROUP BY encoding_digest)"},
	/* Undecodable weights count once per encoding. */
	{"content_bytes", "one copy per content", "bytes",
         "SELECT coalesce(sum(b), 0) FROM (SELECT min(encoded_bytes) AS b FROM weights"
         " GROUP BY coalesce(content_digest, encoding_digest))"},
	{"savings", "dedup potential", "bytes", "=weight_bytes - content_bytes"},
	{"savings_percent", "dedup potential, of every occurrence", "percent",
         "=round(100.0 * (weight_bytes - content_bytes) / max(weight_bytes, 1), 1)"},
	{"decisions", "decisions", "count", "SELECT count(*) FROM decisions"},
	{"decisions_deq_close", "decisions: deq_close (shared)", "count",
         "SELECT count(*) FROM decisions WHERE outcome = 'deq_close'"},
	{"decisions_rejected", "decisions: rejected_threshold", "count",
         "SELECT count(*) FROM decisions WHERE outcome = 'rejected_threshold'"},
	{"outputs", "combined packages recorded", "count", "SELECT count(*) FROM outputs"},
	{"unreferenced_contents", "contents no weight references (gc)", "count",
         "SELECT count(*) FROM contents WHERE " Q_ORPHAN_CONTENTS},
	{"unreferenced_encodings", "encodings no weight references (gc)", "count",
         "SELECT count(*) FROM encodings WHERE " Q_ORPHAN_ENCODINGS},
};

int mld_query_stats(json_t **out, mld_store *st)
{
	return q_measure(out, st, store_stats, sizeof store_stats / sizeof *store_stats);
}

int mld_query_packages(json_t **out, mld_store *st)
{
	int rc = q_register(st); /* any store, not only a read-only one, can answer this */
	if (rc)
		return rc;
	return q_all(out, st,
	             "SELECT q.id, q.path, q.kind, q.spec_version, q.functions, q.weights, q.weight_bytes,"
	             " q.weight_file_bytes, " Q_TIME(
			     "q.indexed_at") " AS indexed,"
	                                     " mld_package_status(p.path, p.identity) AS status"
	                                     " FROM q1_packages q JOIN packages p ON p.id = q.id ORDER BY q.path",
	             NULL);
}

int q_package(sqlite3_int64 *id, mld_store *st, const char *arg)
{
	size_t n = strlen(arg);
	while (n > 1 && arg[n - 1] == '/')
		n--;
	char *name = mld__sprintf("%.*s", (int)n, arg), *abs = realpath(arg, NULL);
	json_t *rows = NULL;
	int rc = name ? q_all(&rows, st,
	                      "SELECT id, path, path IN (?1, ?2) OR CAST(id AS TEXT) = ?1 AS exact FROM packages"
	                      " WHERE exact OR substr(path, -length(?1) - 1) = '/' || ?1 ORDER BY exact DESC, path "
	                      "LIMIT 6",
	                      "tt", name, abs)
	              : MLD_ENOMEM;
	size_t k = rows ? json_array_size(rows) : 0;
	json_t *first = json_array_get(rows, 0);
	if (rc) {
	} else if (k == 0) {
		rc = mld__err(MLD_ENOTFOUND, "no indexed package is '%s' (see 'mldedup packages')", name);
	} else if (k == 1 || json_integer_value(json_object_get(first, "exact"))) {
		*id = json_integer_value(json_object_get(first, "id"));
	} else {
		char list[1024] = "";
		for (size_t i = 0; i < k && i < 5; i++)
			snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : " ",
			         json_string_value(json_object_get(json_array_get(rows, i), "path")));
		rc = mld__err(MLD_EUSAGE, "'%s' matches several packages:%s%s", name, list, k > 5 ? ", ..." : "");
	}
	json_decref(rows);
	free(name);
	free(abs);
	return rc;
}

int mld_query_functions(json_t **out, mld_store *st, const char *pkg)
{
	sqlite3_int64 id = 0;
	int rc = pkg ? q_package(&id, st, pkg) : 0;
	if (rc)
		return rc;
	return q_all(
		out, st,
		"SELECT q.package, q.function, q.weights, q.weight_bytes, q.contents,"
		" (SELECT count(*) FROM weights w WHERE w.function_id = q.id AND w.content_digest IS NULL)"
		" AS unsupported FROM q1_functions q WHERE ?1 = 0 OR q.package_id = ?1 ORDER BY q.package, q.function",
		"i", (int64_t)id);
}

int mld_query_sql(json_t **columns, json_t **rows, mld_store *st, const char *sql)
{
	sqlite3_stmt *s;
	const char *tail;
	mld__err_clear();
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, &tail) != SQLITE_OK)
		return mld__err(MLD_EUSAGE, "%s", sqlite3_errmsg(st->db));
	while (tail && (isspace((unsigned char)*tail) || *tail == ';'))
		tail++;
	int rc = 0;
	if (!s)
		rc = mld__err(MLD_EUSAGE, "no SQL statement given");
	else if (tail && *tail)
		rc = mld__err(MLD_EUSAGE, "one statement at a time (left over: %.40s)", tail);
	else if (!sqlite3_stmt_readonly(s))
		rc = mld__err(MLD_EUSAGE, "the store is read-only here: only statements that read are allowed");
	if (rc) {
		sqlite3_finalize(s);
		return rc;
	}
	*columns = json_array();
	for (int i = 0; i < sqlite3_column_count(s); i++)
		json_array_append_new(*columns, q_string(sqlite3_column_name(s, i)));
	*rows = json_array();
	if ((rc = q_rows(*rows, st, s))) {
		json_decref(*columns);
		json_decref(*rows);
		*columns = *rows = NULL; /* nothing dangles on failure */
	}
	return rc;
}
