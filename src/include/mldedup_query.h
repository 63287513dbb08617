/*
 * mldedup_query.h - asking the store questions (libmldedup's query API).
 *
 * Results are jansson values (<jansson.h>): rows are objects keyed by column name
 * in column order, digests 32 lowercase hex digits, times unix seconds, shapes JSON
 * text. The caller owns them (json_decref). A program that uses this header links
 * jansson too (pkg-config mldedup gives both).
 */
#ifndef MLDEDUP_QUERY_H
#define MLDEDUP_QUERY_H

#include "mldedup.h"

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/* Statistics: [{id, label, value, unit}], unit "count", "bytes", "percent" or "text". */
int mld_query_stats(json_t **out, mld_store *st);
/* Indexed packages with counts and `status`: "ok", "stale" (files changed since they
 * were indexed), "missing" or "unreadable". */
int mld_query_packages(json_t **out, mld_store *st);
/* Functions of package `pkg` (its id, path, or a unique ending of its path; NULL: all). */
int mld_query_functions(json_t **out, mld_store *st, const char *pkg);
/* One content, by digest (or a unique prefix of >= 8 hex digits) or PKG:FUNC:NAME:
 * {digest, dtype, ..., occurrences[], encodings[], decisions[], outputs[]}. */
int mld_query_show(json_t **out, mld_store *st, const char *what);

typedef enum mld_across { MLD_ACROSS_WEIGHTS, MLD_ACROSS_FUNCTIONS, MLD_ACROSS_PACKAGES } mld_across;
/* {groups[], near[], savings, near_savings}: weights with the same content that span
 * more than one weight/function/package, largest savings first (savings = their
 * encoded bytes less one smallest copy, at least `min_bytes`), and the verified
 * near-duplicate pairs (decisions with outcome deq_close). */
int mld_query_dupes(json_t **out, mld_store *st, mld_across across, uint64_t min_bytes);
/* Why weight `function`:`name` of the combined package `output` has its encoding,
 * as recorded by the last combine that wrote it. */
int mld_query_explain(json_t **out, mld_store *st, const char *output, const char *function, const char *name);
/* Run one read-only SQL statement: its column names and rows. */
int mld_query_sql(json_t **columns, json_t **rows, mld_store *st, const char *sql);

#define MLD_GC_OPTS_VERSION 1
typedef struct mld_gc_opts {
	unsigned version;   /* MLD_GC_OPTS_VERSION (0: a zeroed struct, the defaults) */
	int dry_run;        /* count, then roll back */
	int missing;        /* forget packages and outputs that no longer exist */
	int forget_old;     /* forget packages not indexed or seen for `older_than` seconds */
	int64_t older_than; /* seconds (>= 0), used only with forget_old */
} mld_gc_opts;
/* The defaults forget no package: gc then removes only rows that nothing uses. */
#define MLD_GC_OPTS_INIT                                                                                               \
	{                                                                                                              \
		.version = MLD_GC_OPTS_VERSION                                                                         \
	}
/* Forget packages (and outputs) as asked, then every content, encoding and decision no
 * weight references, in one exclusive transaction on a store from mld_store_open
 * (`opts` may be NULL: the defaults):
 * {dry_run, packages[], outputs[], removed[] (statistics as above)}. */
int mld_store_gc(json_t **out, mld_store *st, const mld_gc_opts *opts);
/* Check the store: integrity, schema, its invariants; `deep` re-reads every indexed
 * package still on disk and compares digests. {problems[{check, message}], ...}. */
int mld_store_fsck(json_t **out, mld_store *st, int deep);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif
#ifdef __cplusplus
}
#endif
#endif
