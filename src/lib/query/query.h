/* Store queries (stats, packages, show, dupes, explain, sql, gc, fsck): helpers
 * shared by them. Results are jansson values; see mldedup_query.h. */
#ifndef MLD_QUERY_H
#define MLD_QUERY_H

#include "../store/store.h"

#include "mldedup_query.h"

#include <jansson.h>

/* What gc removes and stats counts as reclaimable: rows no weight references. */
#define Q_ORPHAN_CONTENTS "digest NOT IN (SELECT content_digest FROM weights WHERE content_digest IS NOT NULL)"
#define Q_ORPHAN_ENCODINGS "digest NOT IN (SELECT encoding_digest FROM weights)"
#define Q_ORPHAN_DECISIONS "a NOT IN (SELECT digest FROM contents) OR b NOT IN (SELECT digest FROM contents)"
#define Q_ORPHAN_VALUE_MATCHES "a NOT IN (SELECT digest FROM encodings) OR b NOT IN (SELECT digest FROM encodings)"

/* Weights with their function and package; a weight's "PKG:FUNC:NAME" (what `show`
 * takes), "?" standing for a missing parent row. */
#define Q_WEIGHTS_FROM                                                                                                 \
	" FROM weights w LEFT JOIN functions f ON f.id = w.function_id LEFT JOIN packages p ON p.id = f.package_id"
#define Q_WEIGHT_LABEL "(coalesce(p.path, '?') || ':' || coalesce(f.name, '?') || ':' || w.name)"

/* A unix time as ISO 8601 UTC text. */
#define Q_TIME(t) "strftime('%Y-%m-%dT%H:%M:%SZ', " t ", 'unixepoch')"

/* Prepare `sql`, binding ?1, ?2, ... from `fmt`: 'd' a const mld_digest * (NULL binds
 * NULL), 't' a const char * (NULL binds NULL), 'i' an int64_t. */
int q_prepare(sqlite3_stmt **out, mld_store *st, const char *sql, const char *fmt, ...);
/* Columns from..to-1 of the current row of `s` as an object. */
json_t *q_row(sqlite3_stmt *s, int from, int to);
/* Step `s` to the end, appending each row as an object to `rows`; finalizes `s`. */
int q_rows(json_t *rows, mld_store *st, sqlite3_stmt *s);
/* Prepare, bind and run: every row as a new array. */
int q_all(json_t **out, mld_store *st, const char *sql, const char *fmt, ...);
/* Column `i` as JSON: blobs (digests) as lowercase hex. */
json_t *q_value(sqlite3_stmt *s, int i);
/* A JSON string even for bytes that are not UTF-8 (replaced by '?'). */
json_t *q_string(const char *s);

/* A statistic: `sql` is a scalar query, or "=EXPR" over the ids of earlier ones. */
typedef struct q_stat {
	const char *id, *label, *unit, *sql;
} q_stat;
/* Evaluate a table of statistics in one statement: [{id, label, value, unit}]. */
int q_measure(json_t **out, mld_store *st, const q_stat *defs, size_t n);

/* Define mld_package_status(path, identity) on the connection: 'ok', 'stale',
 * 'missing' or 'unreadable' (identity NULL: 'missing' or not). */
int q_register(mld_store *st);
/* The package named by `arg`: its id, its path, or a unique ending of its path. */
int q_package(sqlite3_int64 *id, mld_store *st, const char *arg);

#endif
