/* The SQLite content-addressed store, shared by parallel build jobs:
 * WAL, a busy timeout, short BEGIN IMMEDIATE transactions. */
#ifndef MLD_STORE_H
#define MLD_STORE_H

#include "../core/common.h"

#include <sqlite3.h>

struct mld_store {
	sqlite3 *db;
	char *path;
	int readonly; /* opened read-only (the query commands) */
};

/* Run `sql` (no results); errors name the store file. */
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

#endif
