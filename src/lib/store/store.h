/* The SQLite content-addressed store, shared by parallel build jobs:
 * WAL, a busy timeout, short BEGIN IMMEDIATE transactions. */
#ifndef MLD_STORE_H
#define MLD_STORE_H

#include "../core/common.h"
#include "../core/hash.h"

#include <sqlite3.h>

struct mld_store {
	sqlite3 *db;
	char *path;
	int readonly; /* opened read-only (the query commands) */
};

/* Run `sql` (no results); errors name the store file. */
/* The store file and SQLite's files beside it (-wal, -shm, -journal) are not FIFOs,
 * sockets or devices: SQLite would block forever on a FIFO. */
int mld__store_check_files(const char *path);
/* A store over a connection opened elsewhere (the fuzzers' in-memory databases):
 * configured and migrated as mld_store_open does; `name` stands for its path in
 * messages. The store owns db from here on, even on failure. */
int mld__store_attach(mld_store **out, sqlite3 *db, const char *name);
int mld__store_exec(mld_store *st, const char *sql);
int mld__store_prepare(mld_store *st, sqlite3_stmt **out, const char *sql);
/* Turn the connection's current SQLite error into an mldedup error. */
int mld__store_err(mld_store *st, const char *what);
/* BEGIN IMMEDIATE, retrying while another writer holds the lock. */
int mld__store_begin(mld_store *st);
int mld__store_commit(mld_store *st);
void mld__store_rollback(mld_store *st);

/* Packages are recorded with an identity: "rel\tsize\tmtime_ns\tinode\n" per file read.
 * Recompute it for the files listed in `old`, under the package root `root`. */
int mld__identity_redo(char **out, const char *root, const char *old);

/* ---- the weights identity (index.c) ------------------------------------------------
 * packages.weights_digest and a build stamp's "weights" line: a digest of a
 * package's weight files that changes with any of their bytes yet reads only the
 * bytes no weight's encoding digest covers. */

/* A blob a weight reads: its data range in its file, and the weight (package order). */
typedef struct mld__wspan {
	uint64_t off, size;
	size_t w;
} mld__wspan;
/* Feed bytes [off, off + len) of blob file `file` to h. */
typedef int (*mld__wgap_fn)(void *ctx, size_t file, uint64_t off, uint64_t len, mld__hash *h);
/* The identity of n_files blob files of lengths lens[], read by the spans (sorted
 * here, in place) of weights whose encoding digests are encs[w]; the bytes outside
 * every span come from `gap`. */
int mld__weights_identity(mld_digest *out, size_t n_files, const uint64_t *lens, mld__wspan *const *spans,
                          const size_t *n_spans, const mld_digest *encs, mld__wgap_fn gap, void *ctx);
/* The identity of an opened package's weight files given its weights' encoding
 * digests (package order); *size gets the files' total length. */
int mld__package_weights_identity(mld_digest *out, uint64_t *size, const mld_package *pkg, const mld_digest *encs);

/* ---- build stamps (stamp.c) ------------------------------------------------------------ */

/* One weight of a stamp (see stamp.c for the format). */
typedef struct mld__stamp_line {
	const char *function, *name;
	mld_dtype dtype;
	unsigned rank;
	const uint64_t *shape;
	mld_digest enc, content;
	bool has_content; /* false: "-", a form mldedup cannot decode */
} mld__stamp_line;
/* The stamp text of a package (lines are sorted here, in place). */
int mld__stamp_text(char **out, const mld_digest *model, const mld_digest *weights, uint64_t weights_size,
                    mld__stamp_line *lines, size_t n);
/* "[d0,d1,...]", as the store and stamps write shapes. */
void mld__shape_text(char *buf, size_t n, unsigned rank, const uint64_t *shape);

#endif
